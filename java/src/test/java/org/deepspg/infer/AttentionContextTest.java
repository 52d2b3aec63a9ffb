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
import org.deepspg.model.DeepSPG;
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

  @Test
  void aScopeClosedFromAnotherThreadStaysOpenUntilItsOwnerClosesIt() throws Exception {
    torch.manual_seed(5);
    try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard();
        AttentionContext.Recording rec = new AttentionContext.Recording()) {
      Tensor x = torch.randn(1, 4, 3, 5);
      Tensor tau = torch.ones(2, 1, 1);
      try (AttentionContext.Scope r = AttentionContext.record(rec)) {
        ChannelAttention.apply(x, x, x, null, tau, 2);
      }
      AttentionContext.Scope replay = AttentionContext.replay(rec);
      AtomicReference<Throwable> thrown = new AtomicReference<>();
      Thread t = new Thread(() -> {
        try {
          replay.close();
        } catch (Throwable e) {
          thrown.set(e);
        }
      });
      t.start();
      t.join();
      assertTrue(thrown.get() instanceof IllegalStateException, String.valueOf(thrown.get()));
      assertEquals(AttentionContext.Mode.REPLAY, AttentionContext.current(), "the owner's scope is still open");
      ChannelAttention.apply(x, x, x, null, tau, 2); // the recorded call, replayed
      replay.close();
      assertNull(AttentionContext.current(), "the owner's close restores the previous mode");
    }
  }

  @Test
  void refinementSumsItsWindowsIntoTheWholeInputsMatrix() {
    torch.manual_seed(3);
    int heads = 2;
    try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard();
        AttentionContext.Recording exact = new AttentionContext.Recording();
        AttentionContext.Recording other = new AttentionContext.Recording()) {
      Tensor x = torch.randn(1, 10, 8, 12), y = torch.randn(1, 10, 8, 12), v = torch.randn(1, 10, 8, 12);
      Tensor tau = torch.ones(heads, 1, 1).mul_(new Scalar(4.0));
      try (AttentionContext.Scope r = AttentionContext.record(exact)) {
        ChannelAttention.apply(x, y, v, null, tau, heads);
      }
      try (AttentionContext.Scope r = AttentionContext.record(other)) {
        ChannelAttention.apply(torch.randn(1, 10, 3, 5), torch.randn(1, 10, 3, 5), v.narrow(2, 0, 3).narrow(3, 0, 5),
            null, tau, heads);
      }
      // Three windows of an input twice the maps' size (the maps at stride 2) that partition it, each pass replaying
      // another matrix: the output is the replay's, the sums are the whole input's.
      AttentionContext.Statistics st = new AttentionContext.Statistics();
      int[][] windows = {{0, 8, 0, 24}, {8, 16, 0, 10}, {8, 16, 10, 24}};
      for (int[] w : windows) {
        try (AttentionContext.Scope r = AttentionContext.refine(other, st,
            new AttentionContext.Window(w[0], w[1], w[2], w[3], 16, 24))) {
          assertEquals(AttentionContext.Mode.REFINE, AttentionContext.current());
          Tensor out = ChannelAttention.apply(x, y, v, null, tau, heads);
          Tensor replayed = matmul(other.matrix(0), v.reshape(1, heads, 5, 96)).reshape(1, 10, 8, 12);
          assertTrue(maxDiff(out, replayed) < TOL, "a refinement's output is the replayed matrix's");
        }
      }
      assertEquals(1, st.calls());
      try (AttentionContext.Recording next = st.toRecording()) {
        assertEquals(1, next.calls());
        double d = maxDiff(next.matrix(0), exact.matrix(0));
        assertTrue(d < 1e-5, "the windows' sums make the whole input's matrix: " + d);
        assertTrue(maxDiff(other.matrix(0), exact.matrix(0)) > 1e-2, "the replayed matrix was another");
      }
      // A window that does not fall on the map's cells, or a map that is not the input at a whole stride, is refused.
      assertThrows(IllegalStateException.class, () -> {
        try (AttentionContext.Scope r = AttentionContext.refine(other, new AttentionContext.Statistics(),
            new AttentionContext.Window(0, 7, 0, 24, 16, 24))) {
          ChannelAttention.apply(x, y, v, null, tau, heads);
        }
      });
      assertThrows(IllegalStateException.class, () -> {
        try (AttentionContext.Scope r = AttentionContext.refine(other, new AttentionContext.Statistics(),
            new AttentionContext.Window(0, 8, 0, 24, 16, 25))) {
          ChannelAttention.apply(x, y, v, null, tau, heads);
        }
      });
      assertThrows(IllegalArgumentException.class, () -> new AttentionContext.Window(0, 17, 0, 24, 16, 24));
      assertNull(AttentionContext.current());
    }
  }

  @Test
  void theExactMatricesAreTheRefinementsFixedPoint() {
    // Every attention of a network (the tiny baseline's folded IG-MSAs, a SEM model's SEMs) counts its rows and
    // columns: refining the whole image's own recording gives that recording back.
    DeepSPG sem = InferTestSupport.randomModel(InferTestSupport.tinyBaseline().withSemEnabled(true), 2,
        InferTestSupport.TEST_TAU);
    org.deepspg.model.hrnet.HRNet hr = EnhancerTest.smallW48LikeHrnet();
    try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      for (Pipeline p : new Pipeline[] {new Pipeline(InferTestSupport.sharedTiny(), null),
          new Pipeline(sem, org.deepspg.model.prior.HrnetPrior.borrow(hr))}) {
        for (boolean ensemble : new boolean[] {false, true}) {
          int nt = ensemble ? Pipeline.ENSEMBLE_SIZE : 1;
          torch.manual_seed(5);
          Tensor x = torch.rand(1, 3, 64, 96).mul(new Scalar(0.3));
          AttentionContext.Recording[] exact = new AttentionContext.Recording[nt];
          AttentionContext.Statistics[] st = new AttentionContext.Statistics[nt];
          for (int t = 0; t < nt; t++) {
            exact[t] = new AttentionContext.Recording();
            st[t] = new AttentionContext.Statistics();
          }
          p.record(x, exact);
          // two windows: the top 32 rows, then the rest; the prior runs on each transform's input, as it did in
          // the recording (given maps would be transformed instead, and the prior does not commute with turns)
          p.refine(x, exact, st, new AttentionContext.Window(0, 32, 0, 96, 64, 96), null);
          p.refine(x, exact, st, new AttentionContext.Window(32, 64, 0, 96, 64, 96), null);
          for (int t = 0; t < nt; t++) {
            assertEquals(exact[t].calls(), st[t].calls(), "every call counted");
            assertTrue(exact[t].calls() >= (p.prior() == null ? 3 : 6), exact[t].calls() + " calls");
            try (AttentionContext.Recording next = st[t].toRecording()) {
              for (int k = 0; k < next.calls(); k++) {
                double d = maxDiff(next.matrix(k), exact[t].matrix(k).to(next.matrix(k)));
                assertTrue(d < 1e-4, "transform " + t + ", call " + k + ": " + d);
              }
            }
            exact[t].close();
          }
        }
      }
    } finally {
      sem.close();
      hr.close();
    }
  }

  @Test
  void windowsFollowTheEnsembleTransforms() {
    try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      AttentionContext.Window w = new AttentionContext.Window(32, 64, 0, 96, 96, 160);
      Tensor mask = torch.zeros(1, 1, 96, 160);
      mask.narrow(2, 32, 32).narrow(3, 0, 96).fill_(new Scalar(1.0));
      for (int t = 0; t < Pipeline.ENSEMBLE_SIZE; t++) {
        AttentionContext.Window tw = Pipeline.transform(w, t);
        Tensor moved = Pipeline.transform(mask, t);
        assertEquals(moved.size(2), tw.height(), "transform " + t);
        assertEquals(moved.size(3), tw.width(), "transform " + t);
        Tensor want = torch.zeros(1, 1, tw.height(), tw.width());
        want.narrow(2, tw.top(), tw.bottom() - tw.top()).narrow(3, tw.left(), tw.right() - tw.left())
            .fill_(new Scalar(1.0));
        assertEquals(0.0, maxDiff(moved, want), "transform " + t + ": " + tw);
      }
    }
  }
}
