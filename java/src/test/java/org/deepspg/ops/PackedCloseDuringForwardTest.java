/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.testing.Tensors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

/**
 * A {@link DenseConv.Packed} closed by another thread while a forward runs on it: the running call must finish on
 * intact memory (same result as without the close), the memory is freed when it returns, and a call starting after
 * the close is refused. The close is placed deterministically between the call's start and its kernel by the
 * {@link DenseConv#beforeKernel} hook (after the call took the packed data's address, as the kernel would); the
 * allocator is then churned with blocks of the packed weight's size filled with 1e30, so memory freed too early
 * would be reused and show in the result.
 */
@EnabledIf("org.deepspg.ops.PackedCloseDuringForwardTest#kernelOn")
class PackedCloseDuringForwardTest {
  @BeforeAll
  static void load() {
    NativeLibrary.ensureLoaded();
  }

  static boolean kernelOn() {
    NativeLibrary.ensureLoaded();
    return DenseConv.status().enabled();
  }

  @AfterEach
  void unhook() {
    DenseConv.beforeKernel = null;
  }

  /** Runs {@code r} on another thread and waits for it (a close "from another thread"). */
  private static void onOtherThread(Runnable r) {
    Thread t = new Thread(r);
    t.start();
    try {
      t.join();
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  /** Allocates and frees blocks of {@code floats} floats filled with 1e30, to reuse any block freed just before. */
  private static void churn(long floats) {
    for (int i = 0; i < 16; i++) {
      try (PointerScope s = new PointerScope()) {
        torch.empty(floats).fill_(new Scalar(1e30));
      }
    }
  }

  @Test
  void packedWeightClosedByAnotherThreadDuringForwardStaysValidUntilItReturns() {
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      Tensor x = Tensors.randn(1, 16, 9, 11);
      Tensor w = Tensors.randn(16, 16, 3, 3);
      long live = DenseConv.livePacked();
      DenseConv.Packed p = DenseConv.pack(w);
      Tensor want = DenseConv.forward(x, p, null, null, 1, false);
      long floats = p.data.numel();
      DenseConv.beforeKernel = packed -> {
        onOtherThread(packed::close);
        churn(floats);
      };
      Tensor got = DenseConv.forward(x, p, null, null, 1, false);
      DenseConv.beforeKernel = null;
      assertTrue(got.isfinite().all().item_bool(), "non-finite output: the packed memory was freed under the call");
      assertEquals(0.0, Tensors.maxAbs(got.sub(want)), "the call closed under must equal the unclosed result");
      assertEquals(live, DenseConv.livePacked(), "closed weights count as closed at once");
      IllegalStateException e =
          assertThrows(IllegalStateException.class, () -> DenseConv.forward(x, p, null, null, 1, false));
      assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }
  }

  @Test
  void weightPackReplacedDuringForwardKeepsTheRunningCallsPack() {
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      Tensor x = Tensors.randn(1, 16, 9, 11);
      Tensor w = Tensors.randn(16, 16, 3, 3);
      WeightPack cache = new WeightPack();
      DenseConv.Packed first = cache.get(() -> w, w);
      Tensor want = DenseConv.forward(x, first, null, null, 1, false);
      long floats = first.data.numel();
      DenseConv.beforeKernel = packed -> {
        onOtherThread(() -> {
          w.mul_(new Scalar(1.0)); // same values, new version: the next get repacks and closes the previous pack
          cache.get(() -> w, w);
        });
        churn(floats);
      };
      Tensor got = DenseConv.forward(x, first, null, null, 1, false);
      DenseConv.beforeKernel = null;
      assertEquals(0.0, Tensors.maxAbs(got.sub(want)), "a replaced pack must stay valid for the call running on it");
      assertThrows(IllegalStateException.class, () -> DenseConv.forward(x, first, null, null, 1, false));
      assertEquals(0.0, Tensors.maxAbs(DenseConv.forward(x, cache.get(() -> w, w), null, null, 1, false).sub(want)));
      cache.clear();
    }
  }
}
