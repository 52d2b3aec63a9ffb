/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.data.ImageTensors;
import org.deepspg.model.DeepSPG;
import org.deepspg.model.DeepSPGConfig;
import org.junit.jupiter.api.Test;

/**
 * {@link DeepSPG#forward} without autograd runs every stage in its own scope and releases intermediates early (what
 * bounds inference memory); with autograd it keeps them all. Scoped passes must give the same bits inside a caller's
 * scope or without one, agree with the autograd pass (libtorch's ops instead of our inference kernels) to float
 * rounding, and the scoped result must outlive the stages.
 */
class InferenceScopesTest {
  private static void check(DeepSPGConfig cfg, boolean sem) {
    DeepSPG net = InferTestSupport.randomModel(cfg, 3, InferTestSupport.TEST_TAU);
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(4);
      Tensor x = torch.rand(2, 3, 32, 64);
      Tensor s0 = sem ? torch.rand(2, 48, 8, 16) : null;
      Tensor s1 = sem ? torch.rand(2, 96, 4, 8) : null;
      Tensor s2 = sem ? torch.rand(2, 192, 2, 4) : null;
      Tensor kept = sem ? net.forward(x, s0, s1, s2) : net.forward(x); // autograd on: unscoped
      float[] scopedInScope;
      float[] scopedNoScope;
      try (NoGradGuard g = new NoGradGuard()) {
        try (PointerScope inner = new PointerScope()) {
          scopedInScope = ImageTensors.floatsOf(sem ? net.forward(x, s0, s1, s2) : net.forward(x));
        }
        Tensor y = forwardWithoutScope(net, x, s0, s1, s2, sem); // the result belongs to the caller
        assertNotNull(y);
        scopedNoScope = ImageTensors.floatsOf(y);
        y.releaseReference();
      }
      // The two no-grad passes run the same ops in the same order on the same data: bit-identical. The autograd pass
      // runs libtorch's ops where inference runs our kernels (FastConv), so it agrees to float rounding.
      assertArrayEquals(scopedInScope, scopedNoScope, 0f);
      float[] ref = ImageTensors.floatsOf(kept.detach());
      assertArrayEquals(ref, scopedInScope, 1e-5f);
    } finally {
      net.close();
    }
  }

  /** Calls the network from a thread with no JavaCPP scope open. */
  private static Tensor forwardWithoutScope(DeepSPG net, Tensor x, Tensor s0, Tensor s1, Tensor s2, boolean sem) {
    Tensor[] out = new Tensor[1];
    Thread t = new Thread(() -> {
      try (NoGradGuard g = new NoGradGuard()) {
        out[0] = sem ? net.forward(x, s0, s1, s2) : net.forward(x);
      }
    });
    t.start();
    try {
      t.join();
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
    return out[0];
  }

  @Test
  void baselineScopedEqualsUnscoped() {
    check(InferTestSupport.tinyBaseline(), false);
  }

  @Test
  void semModelScopedEqualsUnscoped() {
    check(InferTestSupport.tinyBaseline().withSemEnabled(true).withBlocks(1, 0, 2), true);
  }
}
