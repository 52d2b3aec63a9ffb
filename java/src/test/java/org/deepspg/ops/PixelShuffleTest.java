/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.testing.Tensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@link PixelShuffle} against libtorch's {@code pixel_shuffle(x, 2)}, bit for bit; when it may be used. */
class PixelShuffleTest {
  @BeforeAll
  static void load() {
    NativeLibrary.ensureLoaded();
  }

  @ParameterizedTest(name = "B={0} 4C={1} {2}x{3}")
  @CsvSource({"1, 80, 17, 24", "2, 4, 1, 1", "1, 160, 9, 13", "2, 12, 31, 1"})
  void sameBitsAsLibtorch(int b, int c4, int h, int w) {
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      torch.manual_seed(5);
      Tensor x = Tensors.randn(b, c4, h, w);
      Tensor y = PixelShuffle.forward(x);
      assertEquals(4, y.dim());
      assertEquals(2L * h, y.size(2));
      assertTrue(y.equal(torch.pixel_shuffle(x, 2)));
      // a permuted (non-contiguous) input is copied first
      Tensor xp = Tensors.randn(b, h, w, c4).permute(0, 3, 1, 2);
      assertTrue(PixelShuffle.forward(xp).equal(torch.pixel_shuffle(xp, 2)));
    }
  }

  @Test
  void selfCheckedAndInferenceOnly() {
    assertTrue(PixelShuffle.enabled());
    try (PointerScope scope = new PointerScope()) {
      Tensor x = Tensors.randn(1, 8, 3, 3);
      assertTrue(PixelShuffle.usable(x));
      assertFalse(PixelShuffle.usable(x.clone().requires_grad_(true)), "a gradient to record");
      assertFalse(PixelShuffle.usable(x.to(torch.ScalarType.Double)), "float64");
      assertThrows(IllegalArgumentException.class, () -> PixelShuffle.forward(Tensors.randn(1, 6, 3, 3)), "6 channels");
      assertThrows(IllegalArgumentException.class, () -> PixelShuffle.forward(Tensors.randn(8, 3, 3)), "3-d");
    }
  }
}
