/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.data.Images;
import org.deepspg.model.DeepSPG;
import org.deepspg.model.DeepSPGConfig;
import org.junit.jupiter.api.Test;

/** {@link ScopedForward} computes exactly what {@link DeepSPG#forward} computes. */
class ScopedForwardTest {
  private static void check(DeepSPGConfig cfg, boolean sem) {
    DeepSPG net = InferTestSupport.randomModel(cfg, 3, InferTestSupport.TEST_TAU);
    try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      torch.manual_seed(4);
      Tensor x = torch.rand(2, 3, 32, 64);
      Tensor s0 = sem ? torch.rand(2, 48, 8, 16) : null;
      Tensor s1 = sem ? torch.rand(2, 96, 4, 8) : null;
      Tensor s2 = sem ? torch.rand(2, 192, 2, 4) : null;
      Tensor ref = sem ? net.forward(x, s0, s1, s2) : net.forward(x);
      Tensor got = new ScopedForward(net).forward(x, s0, s1, s2);
      // Same ops in the same order on the same data: bit-identical.
      assertArrayEquals(Images.floatsOf(ref), Images.floatsOf(got), 0f);
    } finally {
      net.close();
    }
  }

  @Test
  void baselineMatchesDeepSPGForward() {
    check(InferTestSupport.tinyBaseline(), false);
  }

  @Test
  void semModelMatchesDeepSPGForward() {
    check(InferTestSupport.tinyBaseline().withSemEnabled(true).withBlocks(1, 0, 2), true);
  }
}
