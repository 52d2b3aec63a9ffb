/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.nn;

import static org.bytedeco.pytorch.global.torch.randn;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The blocks' argument checks hold alike in grad mode and under {@link NoGradGuard}. */
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
}
