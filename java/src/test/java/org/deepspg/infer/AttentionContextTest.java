/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import static org.bytedeco.pytorch.global.torch.matmul;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicReference;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.ops.AttentionContext;
import org.deepspg.ops.ChannelAttention;
import org.deepspg.ops.NativeLibrary;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Record/replay of the channel-attention matrices ({@link AttentionContext}). */
class AttentionContextTest {
  /** fp32 kernel vs stock matmul on the same A: reduction-order differences only (c = 5 terms). */
  private static final double TOL = 1e-5;

  @BeforeAll
  static void load() {
    NativeLibrary.ensureLoaded();
  }

  private static double maxDiff(Tensor a, Tensor b) {
    return a.sub(b).abs().max().item_double();
  }

  @Test
  void recordLeavesTheOutputUnchangedAndReplayReusesA() {
    torch.manual_seed(1);
    try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard();
        AttentionContext.Recording rec = new AttentionContext.Recording()) {
      int heads = 2;
      Tensor x = torch.randn(1, 10, 6, 7), y = torch.randn(1, 10, 6, 7), v = torch.randn(1, 10, 6, 7);
      Tensor gate = torch.rand(1, 10, 6, 7);
      Tensor tau = torch.ones(heads, 1, 1).mul_(new Scalar(3.0));
      Tensor plain = ChannelAttention.apply(x, y, v, gate, tau, heads);
      Tensor recorded;
      try (AttentionContext.Scope r = AttentionContext.record(rec)) {
        assertEquals(AttentionContext.Mode.RECORD, AttentionContext.current());
        recorded = ChannelAttention.apply(x, y, v, gate, tau, heads);
      }
      assertNull(AttentionContext.current());
      assertEquals(1, rec.calls());
      assertTrue(maxDiff(plain, recorded) == 0, "record mode runs the same kernel");
      Tensor a = rec.matrix(0);
      assertEquals(4, a.dim());
      assertEquals(5, a.size(2));
      // Rows of A are softmax rows.
      assertTrue(maxDiff(a.sum(new long[] {-1}, false, new org.bytedeco.pytorch.ScalarTypeOptional()),
          torch.ones(1, heads, 5)) < 1e-6);
      // Replay with other inputs on a different spatial size: output = A_recorded · (V ⊙ gate).
      Tensor x2 = torch.randn(1, 10, 3, 9), y2 = torch.randn(1, 10, 3, 9), v2 = torch.randn(1, 10, 3, 9);
      Tensor g2 = torch.rand(1, 10, 3, 9);
      Tensor replayed;
      try (AttentionContext.Scope r = AttentionContext.replay(rec)) {
        replayed = ChannelAttention.apply(x2, y2, v2, g2, tau, heads);
        assertEquals(1, r.calls());
      }
      Tensor expected = matmul(a, v2.mul(g2).reshape(1, heads, 5, 27)).reshape(1, 10, 3, 9);
      assertTrue(maxDiff(replayed, expected) < TOL, "replayed output is A_rec (V ⊙ gate)");
      Tensor own = ChannelAttention.apply(x2, y2, v2, g2, tau, heads);
      assertTrue(maxDiff(replayed, own) > 1e-3, "replay must differ from the tile's own attention");
    }
  }

  @Test
  void replayFailsLoudlyOnMismatch() {
    try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard();
        AttentionContext.Recording rec = new AttentionContext.Recording()) {
      Tensor x = torch.randn(1, 8, 4, 4);
      Tensor tau = torch.ones(2, 1, 1);
      try (AttentionContext.Scope r = AttentionContext.record(rec)) {
        ChannelAttention.apply(x, x, x, null, tau, 2);
      }
      // Different head split: shape mismatch.
      IllegalStateException e1 = assertThrows(IllegalStateException.class, () -> {
        try (AttentionContext.Scope r = AttentionContext.replay(rec)) {
          ChannelAttention.apply(x, x, x, null, torch.ones(4, 1, 1), 4);
        }
      });
      assertTrue(e1.getMessage().contains("recorded matrix"), e1.getMessage());
      // More calls than recorded.
      IllegalStateException e2 = assertThrows(IllegalStateException.class, () -> {
        try (AttentionContext.Scope r = AttentionContext.replay(rec)) {
          ChannelAttention.apply(x, x, x, null, tau, 2);
          ChannelAttention.apply(x, x, x, null, tau, 2);
        }
      });
      assertTrue(e2.getMessage().contains("no recorded matrix"), e2.getMessage());
      // Fewer calls than recorded: detected when the scope closes.
      try (AttentionContext.Recording two = new AttentionContext.Recording()) {
        try (AttentionContext.Scope r = AttentionContext.record(two)) {
          ChannelAttention.apply(x, x, x, null, tau, 2);
          ChannelAttention.apply(x, x, x, null, tau, 2);
        }
        IllegalStateException e3 = assertThrows(IllegalStateException.class, () -> {
          try (AttentionContext.Scope r = AttentionContext.replay(two)) {
            ChannelAttention.apply(x, x, x, null, tau, 2);
          }
        });
        assertTrue(e3.getMessage().contains("1 of 2"), e3.getMessage());
      }
      assertNull(AttentionContext.current(), "failed scopes still restore the thread's mode");
    }
  }

  @Test
  void modeIsThreadLocal() throws Exception {
    try (AttentionContext.Recording rec = new AttentionContext.Recording();
        AttentionContext.Scope r = AttentionContext.record(rec)) {
      AtomicReference<Object> other = new AtomicReference<>("unset");
      Thread t = new Thread(() -> other.set(AttentionContext.current()));
      t.start();
      t.join();
      assertNull(other.get(), "another thread sees no mode");
      assertEquals(AttentionContext.Mode.RECORD, AttentionContext.current());
    }
  }
}
