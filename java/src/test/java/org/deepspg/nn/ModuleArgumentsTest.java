/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.nn;

import static org.bytedeco.pytorch.global.torch.randn;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.ops.PriorMode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The blocks' argument checks: alike in grad mode and under {@link NoGradGuard}; a closed module refuses to run
 * ({@link JavaModule#requireOpen}) instead of failing on its emptied parameters.
 */
class ModuleArgumentsTest {
  @BeforeAll
  static void backends() {
    org.deepspg.ops.Backends.init();
    torch.manual_seed(13);
  }

  @ParameterizedTest(name = "grad mode {0}")
  @ValueSource(booleans = {true, false})
  void igmsaRefusesAResidualUnlikeXInEveryMode(boolean grad) {
    try (PointerScope s = new PointerScope(); IGMSA m = new IGMSA(8, 2)) {
      Tensor x = randn(1, 8, 6, 6), illu = randn(1, 8, 6, 6);
      NoGradGuard ng = grad ? null : new NoGradGuard();
      try {
        assertThrows(IllegalArgumentException.class, () -> m.forward(x, illu, randn(2, 8, 6, 6)), "batch 2");
        assertThrows(IllegalArgumentException.class, () -> m.forward(x, illu, randn(1, 8, 1, 1)), "broadcast");
        assertThrows(IllegalArgumentException.class, () -> m.forward(x, illu, randn(8, 6, 6)), "3-D");
        assertThrows(IllegalArgumentException.class,
            () -> m.forward(x, illu, randn(1, 8, 6, 6).to(torch.ScalarType.Double)), "float64");
        m.forward(x, illu, randn(1, 8, 6, 6)); // a fitting residual is taken
      } finally {
        if (ng != null) ng.close();
      }
    }
  }

  @Test
  void forwardOnAClosedModuleThrowsIllegalState() {
    try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      Tensor x = randn(1, 8, 6, 6), illu = randn(1, 8, 6, 6), img = torch.rand(1, 3, 6, 6);
      IGMSA igmsa = new IGMSA(8, 2);
      SEM sem = new SEM(8, 4, 2, SEM.Options.defaults());
      GDFN gdfn = new GDFN(8, 2.0);
      IGAB igab = new IGAB(8, 2);
      ChannelLayerNorm ln = new ChannelLayerNorm(8);
      IlluminationEstimator est = new IlluminationEstimator(8, PriorMode.MAX);
      for (JavaModule m : new JavaModule[] {igmsa, sem, gdfn, igab, ln, est}) m.close();
      List<Executable> calls = List.of(() -> igmsa.forward(x, illu), () -> igmsa.forward(x, illu, x),
          () -> sem.forward(x, randn(1, 4, 6, 6)), () -> gdfn.forward(x), () -> gdfn.forward(x, x),
          () -> gdfn.forward(ln, x, x), () -> igab.forward(x, illu), () -> ln.forward(x), () -> est.forward(img));
      for (int i = 0; i < calls.size(); i++) {
        IllegalStateException e = assertThrows(IllegalStateException.class, calls.get(i), "call " + i);
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
      }
    }
  }

  @Test
  void gdfnRefusesAClosedNormInEveryMode() {
    try (PointerScope s = new PointerScope(); GDFN gdfn = new GDFN(8, 2.0)) {
      Tensor x = randn(1, 8, 6, 6);
      ChannelLayerNorm ln = new ChannelLayerNorm(8);
      ln.close();
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> gdfn.forward(ln, x, x), "grad mode");
      assertTrue(e.getMessage().contains("closed"), e.getMessage());
      try (NoGradGuard ng = new NoGradGuard()) {
        e = assertThrows(IllegalStateException.class, () -> gdfn.forward(ln, x, x), "inference (the fused pass)");
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
      }
    }
  }

  @Test
  void channelLayerNormRefusesANullInput() {
    try (ChannelLayerNorm ln = new ChannelLayerNorm(8)) {
      assertThrows(IllegalArgumentException.class, () -> ln.forward(null));
    }
  }
}
