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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link AvgPool} against libtorch's own {@code avg_pool2d(x, 3, 2, 1, false, true)} and {@code adaptive_avg_pool2d}:
 * the same bits as its float32 CPU kernels (the order of the window's sums is the kernels' contract), within float
 * rounding of float64, at ESPNetv2's shapes and odd ones; the self-check's verdict; the fallback with autograd; bad
 * input.
 */
class AvgPoolTest {
  @ParameterizedTest(name = "{0}x{1}x{2}x{3}")
  @CsvSource({
    "1, 3, 416, 608", // ESPNetv2's pyramid: the network input at 608x416
    "1, 16, 208, 304", // level 1's maps (s = 0.5)
    "2, 5, 13, 19", // odd sides
    "1, 4, 1, 37", // one row
    "1, 4, 37, 1", // one column
    "3, 2, 1, 1",
    "1, 2, 2, 2"
  })
  void hasLibtorchsBits(int b, int c, int h, int w) {
    assertTrue(AvgPool.status().enabled(), AvgPool.status().describe());
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      torch.manual_seed(h * 31L + w);
      Tensor x = Tensors.randn(b, c, h, w);
      long before = AvgPool.calls();
      Tensor got = AvgPool.pool3x3s2(x);
      assertEquals(1, AvgPool.calls() - before, "the native kernel ran");
      Tensor want = AvgPool.reference(x);
      assertTrue(torch.equal(got, want), "libtorch's float32 bits; max |diff| "
          + got.sub(want).abs().max().item_double());
      Tensors.assertClose("vs float64", got.to(torch.ScalarType.Double),
          AvgPool.reference(x.to(torch.ScalarType.Double)), 1e-6, 1e-6);
    }
  }

  @ParameterizedTest(name = "{0}x{1}x{2}x{3} -> {4}x{5}")
  @CsvSource({
    "1, 20, 208, 304, 104, 152", // ESPNetv2's EPP at 608x416: scale 2 back down
    "1, 20, 156, 228, 104, 152", // scale 1.5 back down: overlapping windows
    "1, 20, 104, 152, 52, 76", // scale 0.5
    "1, 20, 104, 152, 11, 16", // scale 0.1
    "1, 64, 52, 76, 1, 2", // one row of windows (a 1x1 output is libtorch's mean: see globalPoolIsLibtorchsMean)
    "2, 3, 7, 9, 11, 13", // larger than the input
    "1, 2, 1, 37, 1, 5"
  })
  void adaptiveHasLibtorchsBits(int b, int c, int h, int w, int ho, int wo) {
    assertTrue(AvgPool.status().enabled(), AvgPool.status().describe());
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      torch.manual_seed(h * 37L + w + ho);
      Tensor x = Tensors.randn(b, c, h, w);
      long before = AvgPool.calls();
      Tensor got = AvgPool.adaptive(x, ho, wo);
      assertEquals(1, AvgPool.calls() - before, "the native kernel ran");
      Tensor want = AvgPool.adaptiveReference(x, ho, wo);
      assertTrue(torch.equal(got, want), "libtorch's float32 bits; max |diff| "
          + got.sub(want).abs().max().item_double());
      Tensors.assertClose("vs float64", got.to(torch.ScalarType.Double),
          AvgPool.adaptiveReference(x.to(torch.ScalarType.Double), ho, wo), 1e-6, 1e-6);
    }
  }

  /** The EPW's excitation (1×1 output) stays libtorch's op, which computes it as a mean. */
  @Test
  void globalPoolIsLibtorchsMean() {
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      Tensor x = Tensors.randn(1, 64, 52, 76);
      long before = AvgPool.calls();
      assertTrue(torch.equal(AvgPool.adaptive(x, 1, 1), AvgPool.adaptiveReference(x, 1, 1)));
      assertEquals(0, AvgPool.calls() - before, "libtorch's op");
    }
  }

  @Test
  void poolsNonContiguousInput() {
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      Tensor x = Tensors.randn(1, 9, 7, 4).transpose(2, 3); // [1, 9, 4, 7], strides swapped
      assertFalse(x.is_contiguous());
      assertTrue(torch.equal(AvgPool.pool3x3s2(x), AvgPool.reference(x)));
      assertTrue(torch.equal(AvgPool.adaptive(x, 3, 5), AvgPool.adaptiveReference(x, 3, 5)));
    }
  }

  @Test
  void selfCheckPassesAndInfoDescribesIt() {
    KernelStatus s = AvgPool.status();
    assertTrue(s.enabled(), s.describe());
    assertTrue(s.maxRelError() <= AvgPool.TOLERANCE, s.describe());
    assertTrue(s.describe().startsWith("average pooling: native"), s.describe());
  }

  @Test
  void recordsGradientsThroughLibtorch() {
    try (PointerScope scope = new PointerScope()) {
      Tensor xa = Tensors.randn(1, 2, 6, 8).requires_grad_(true);
      long calls = AvgPool.calls();
      AvgPool.adaptive(xa, 3, 4).sum().backward();
      assertEquals(0, AvgPool.calls() - calls, "libtorch's adaptive op, not the kernel");
      assertEquals(0.25, xa.grad().max().item_double(), 1e-7); // 2x2 windows, no overlap
      Tensor x = Tensors.randn(1, 2, 6, 8).requires_grad_(true);
      long before = AvgPool.calls();
      Tensor y = AvgPool.pool3x3s2(x);
      assertEquals(0, AvgPool.calls() - before, "libtorch's op, not the kernel");
      assertTrue(y.requires_grad());
      y.sum().backward();
      // each input pixel lies in the windows of 1 or 2 output rows and 1 or 2 output columns, each adding 1/9
      assertEquals(4.0 / 9, x.grad().select(2, 1).select(2, 1).max().item_double(), 1e-7);
    }
  }

  @Test
  void refusesBadInput() {
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      assertThrows(IllegalArgumentException.class, () -> AvgPool.pool3x3s2(Tensors.randn(2, 6, 8)), "3-d input");
      assertThrows(IllegalArgumentException.class, () -> AvgPool.adaptive(Tensors.randn(2, 6, 8), 2, 2), "3-d");
      assertThrows(IllegalArgumentException.class, () -> AvgPool.adaptive(Tensors.randn(1, 2, 6, 8), 0, 2),
          "empty output");
    }
  }
}
