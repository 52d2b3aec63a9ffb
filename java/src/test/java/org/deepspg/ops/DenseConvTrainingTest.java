/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.kernels.global.kernels;
import org.deepspg.testing.Tensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The differentiable layers of {@link DenseConv} — the 1×1 layer {@link DenseConv#pointwise} with its weight-gradient
 * kernel, and the stride-2 layer {@link DenseConv#downsample} (the training paths of the network's 1×1 convolutions
 * and of its 4×4 stride-2 pad-1 down-sampling) — against float64 stock ops on every micro-kernel ISA of this CPU:
 * output and the gradients of x, weight, bias and residual.
 */
class DenseConvTrainingTest {
  /**
   * float32 sums of ≤ 2,400 products per 1024-column tile, in double across tiles (1×1), ≤ 16·in products per output
   * and ≤ 4·out per input gradient (stride 2): ~1e-6 of the magnitude.
   */
  private static final double TOL = 2e-5;

  @AfterAll
  static void restore() {
    DenseConvTest.restoreIsa();
  }

  @ParameterizedTest(name = "1x1 B={0} in={1} out={2} {3}x{4} bias={5} residual={6} 4-d weight={7}")
  @CsvSource({
    "3, 7, 13, 5, 9, true, true, false", // block tails (5 x 5 Gram blocks, 6-channel micro-kernel)
    "2, 20, 80, 40, 30, false, false, true", // IGAB's d -> 4d; 1,200 columns: two tiles per item
    "1, 80, 20, 3, 4, true, false, true",
    "4, 6, 4, 33, 33, false, true, false" // 4 x 2 units over 8 chunks
  })
  void matchesFloat64StockOpsOnEveryIsa(int b, int in, int out, int h, int w, boolean bias, boolean residual,
      boolean fourD) {
    assumeTrue(DenseConv.status().enabled(), "direct convolution off: " + DenseConv.status().note());
    for (int isa : DenseConvTest.isasOfThisCpu()) {
      kernels.deepspg_conv2d_select_isa(isa);
      try (PointerScope scope = new PointerScope()) {
        Tensor x = Tensors.randn(b, in, h, w).requires_grad_(true);
        Tensor wt = (fourD ? Tensors.randn(out, in, 1, 1) : Tensors.randn(out, in)).requires_grad_(true);
        Tensor bs = bias ? Tensors.randn(out).requires_grad_(true) : null;
        Tensor rs = residual ? Tensors.randn(b, out, h, w).requires_grad_(true) : null;
        Tensor dy = Tensors.randn(b, out, h, w);
        Tensor y = DenseConv.pointwise(x, wt, bs, rs);
        y.backward(dy, new BoolOptional(), false, new TensorArrayRefOptional());

        Tensor x64 = f64(x).requires_grad_(true), w64 = f64(wt).requires_grad_(true);
        Tensor b64 = bias ? f64(bs).requires_grad_(true) : null, r64 = residual ? f64(rs).requires_grad_(true) : null;
        Tensor ref = w64.reshape(out, in).matmul(x64.reshape(b, in, (long) h * w)).reshape(b, out, h, w);
        if (bias) ref = ref.add(b64.reshape(1, out, 1, 1));
        if (residual) ref = ref.add(r64);
        ref.backward(f64(dy), new BoolOptional(), false, new TensorArrayRefOptional());

        String what = DenseConv.isaName(isa) + " ";
        closeAll(what, y, ref, x, x64, wt, w64, bs, b64);
        if (residual) close(what + "dresidual", rs.grad(), r64.grad());
      }
    }
  }

  @Test
  void computesOnlyTheGradientsAskedFor() {
    assumeTrue(DenseConv.status().enabled());
    try (PointerScope scope = new PointerScope()) {
      Tensor x = Tensors.randn(2, 5, 6, 7);
      Tensor wt = Tensors.randn(3, 5).requires_grad_(true);
      DenseConv.pointwise(x, wt, null, null).sum().backward();
      assertTrue(wt.grad().defined(), "weight gradient");
      assertFalse(x.grad().defined(), "no gradient for an input that does not require one");
      Tensor x2 = Tensors.randn(2, 5, 6, 7).requires_grad_(true);
      Tensor w2 = Tensors.randn(3, 5);
      DenseConv.pointwise(x2, w2, null, null).mul(new Scalar(2.0)).sum().backward();
      // d/dx sum(2 W x) = 2 W^T 1
      Tensor want = w2.sum(new long[] {0}, false, new org.bytedeco.pytorch.ScalarTypeOptional()).mul(new Scalar(2.0))
          .reshape(1, 5, 1, 1).expand(2, 5, 6, 7);
      Tensors.assertClose("dx", x2.grad(), want.contiguous(), TOL, TOL);
    }
  }

  @Test
  void weightGradientOfAnEmptyBatchIsZero() {
    assumeTrue(DenseConv.status().enabled());
    try (PointerScope scope = new PointerScope()) {
      Tensor dw = DenseConv.weightGrad1x1(torch.zeros(0, 3, 4, 4), torch.zeros(0, 2, 4, 4));
      assertTrue(dw.size(0) == 3 && dw.size(1) == 2 && dw.abs().sum().item_double() == 0, "zeros [3, 2]");
    }
  }

  @Test
  void trainableOnlyForFloat32CpuTensors() {
    try (PointerScope scope = new PointerScope()) {
      Tensor x = Tensors.randn(1, 4, 8, 8);
      assertFalse(DenseConv.trainable(x.to(torch.ScalarType.Double)), "float64");
      assertFalse(DenseConv.trainable(x, Tensors.randn(4, 4).to(torch.ScalarType.Double)), "float64 weight");
      assertFalse(DenseConv.trainable(Tensors.randn(1, 4, 0, 8)), "empty");
      assertTrue(DenseConv.trainable(x, Tensors.randn(4, 4).requires_grad_(true), null)
          == DenseConv.status().enabled(), "gradients allowed");
    }
  }

  @Test
  void refusesBadShapes() {
    assumeTrue(DenseConv.status().enabled());
    try (PointerScope scope = new PointerScope()) {
      Tensor x = Tensors.randn(1, 4, 8, 8);
      assertThrows(IllegalArgumentException.class, () -> DenseConv.pointwise(x, Tensors.randn(3, 5), null, null),
          "in channels");
      assertThrows(IllegalArgumentException.class,
          () -> DenseConv.pointwise(x, Tensors.randn(3, 4, 3, 3), null, null), "3x3 weight");
      assertThrows(IllegalArgumentException.class,
          () -> DenseConv.pointwise(x, Tensors.randn(3, 4), Tensors.randn(4), null), "bias");
      assertThrows(IllegalArgumentException.class,
          () -> DenseConv.weightGrad1x1(Tensors.randn(1, 3, 8, 7), x), "grid mismatch");
    }
  }

  @ParameterizedTest(name = "B={0} in={1} out={2} {3}x{4} k={5} pad={6} bias={7}")
  @CsvSource({
    "4, 20, 40, 32, 32, 4, 1, false", // DeepSPG-S level 0 -> 1, a quarter of the training crop
    "2, 40, 80, 16, 24, 4, 1, false", // level 1 -> 2, not square
    "3, 7, 13, 10, 14, 4, 1, true", // block tails, H/2 odd, bias
    "2, 5, 6, 8, 6, 2, 0, true", // k = 2: the input gradient's 1x1 (k/2 = 1) layer with no padding
    "1, 6, 9, 12, 10, 6, 2, false", // k = 6: 3x3 space-to-depth taps
    "2, 3, 4, 4, 4, 4, 3, true" // pad = k - 1: every output sees the padding
  })
  void downsampleMatchesFloat64ConvolutionOnEveryIsa(int b, int in, int out, int h, int w, int k, int pad,
      boolean bias) {
    assumeTrue(DenseConv.status().enabled(), "direct convolution off: " + DenseConv.status().note());
    for (int isa : DenseConvTest.isasOfThisCpu()) {
      kernels.deepspg_conv2d_select_isa(isa);
      try (PointerScope scope = new PointerScope()) {
        Tensor x = Tensors.randn(b, in, h, w).requires_grad_(true);
        Tensor wt = Tensors.randn(out, in, k, k).requires_grad_(true);
        Tensor bs = bias ? Tensors.randn(out).requires_grad_(true) : null;
        assertTrue(DenseConv.downsampleFits(x, wt, bs, pad), "fits");
        Tensor y = DenseConv.downsample(x, wt, bs, pad);
        Tensor dy = Tensors.randn(y.sizes().vec().get());
        y.backward(dy, new BoolOptional(), false, new TensorArrayRefOptional());

        Tensor x64 = f64(x).requires_grad_(true), w64 = f64(wt).requires_grad_(true);
        Tensor b64 = bias ? f64(bs).requires_grad_(true) : null;
        Tensor ref = torch.conv2d(x64, w64, bias ? new TensorOptional(b64) : new TensorOptional(),
            new long[] {2, 2}, new long[] {pad, pad}, new long[] {1, 1}, 1);
        ref.backward(f64(dy), new BoolOptional(), false, new TensorArrayRefOptional());

        closeAll(DenseConv.isaName(isa) + " ", y, ref, x, x64, wt, w64, bs, b64);
      }
    }
  }

  @Test
  void downsampleComputesOnlyTheGradientsAskedFor() {
    assumeTrue(DenseConv.status().enabled());
    try (PointerScope scope = new PointerScope()) {
      Tensor x = Tensors.randn(2, 4, 8, 8);
      Tensor wt = Tensors.randn(6, 4, 4, 4).requires_grad_(true);
      DenseConv.downsample(x, wt, null, 1).sum().backward();
      assertTrue(wt.grad().defined(), "weight gradient");
      assertFalse(x.grad().defined(), "no gradient for an input that does not require one");
      Tensor x2 = Tensors.randn(2, 4, 8, 8).requires_grad_(true);
      Tensor w2 = Tensors.randn(6, 4, 4, 4);
      DenseConv.downsample(x2, w2, null, 1).sum().backward();
      assertFalse(w2.grad().defined(), "no weight gradient");
      Tensor x64 = f64(x2).requires_grad_(true);
      torch.conv2d(x64, f64(w2), new TensorOptional(), new long[] {2, 2}, new long[] {1, 1}, new long[] {1, 1}, 1)
          .sum().backward();
      close("dx", x2.grad(), x64.grad());
    }
  }

  @Test
  void spaceToDepthWeightPutsEachTapWhereTheUnshuffledInputHasIt() {
    try (PointerScope scope = new PointerScope()) {
      Tensor w = torch.arange(new org.bytedeco.pytorch.Scalar(2 * 3 * 4 * 4)).to(torch.ScalarType.Float)
          .reshape(2, 3, 4, 4);
      Tensor ws = DenseConv.spaceToDepthWeight(w, 2, 3, 2);
      // W'[o, 4i + 2p + q, a, b] = W[o, i, 2a + p, 2b + q]
      for (int o = 0; o < 2; o++) {
        for (int i = 0; i < 3; i++) {
          for (int r = 0; r < 4; r++) {
            for (int c = 0; c < 4; c++) {
              float want = w.get(o).get(i).get(r).get(c).item_float();
              float got = ws.get(o).get(4 * i + 2 * (r % 2) + c % 2).get(r / 2).get(c / 2).item_float();
              assertEquals(want, got, "o=" + o + " i=" + i + " tap " + r + "," + c);
            }
          }
        }
      }
    }
  }

  @Test
  void downsampleFitsOnlyEvenKernelsAndGridsOnFloat32Cpu() {
    try (PointerScope scope = new PointerScope()) {
      Tensor x = Tensors.randn(1, 4, 8, 8);
      Tensor w4 = Tensors.randn(6, 4, 4, 4);
      boolean on = DenseConv.status().enabled();
      assertEquals(on, DenseConv.downsampleFits(x, w4, null, 1), "4x4 pad 1");
      assertFalse(DenseConv.downsampleFits(x, Tensors.randn(6, 4, 3, 3), null, 1), "odd kernel");
      assertFalse(DenseConv.downsampleFits(Tensors.randn(1, 4, 9, 8), w4, null, 1), "odd height");
      assertFalse(DenseConv.downsampleFits(Tensors.randn(1, 4, 8, 7), w4, null, 1), "odd width");
      assertFalse(DenseConv.downsampleFits(x, w4, null, 4), "pad = k");
      assertFalse(DenseConv.downsampleFits(x, Tensors.randn(6, 5, 4, 4), null, 1), "in channels");
      assertFalse(DenseConv.downsampleFits(x.to(torch.ScalarType.Double), w4.to(torch.ScalarType.Double), null, 1),
          "float64");
      assertFalse(DenseConv.downsampleFits(Tensors.randn(1, 4, 2, 2), Tensors.randn(6, 4, 6, 6), null, 1),
          "no output");
      assertThrows(IllegalArgumentException.class, () -> DenseConv.downsample(Tensors.randn(1, 4, 9, 8), w4, null, 1));
    }
  }

  /** The output and the gradients of x, weight and bias (when bias is non-null) against their float64 references. */
  private static void closeAll(String what, Tensor y, Tensor ref, Tensor x, Tensor x64, Tensor w, Tensor w64, Tensor b,
      Tensor b64) {
    close(what + "y", y, ref);
    close(what + "dx", x.grad(), x64.grad());
    close(what + "dweight", w.grad(), w64.grad());
    if (b != null) close(what + "dbias", b.grad(), b64.grad());
  }

  private static Tensor f64(Tensor t) {
    return t.detach().to(torch.ScalarType.Double);
  }

  /**
   * Relative to max(1, max |ref|), as the self-check measures ({@link OneDnn#relDiff}: NaN, so failing, on non-finite
   * values or a shape mismatch).
   */
  private static void close(String what, Tensor got, Tensor ref) {
    double err = OneDnn.relDiff(ref, got.to(torch.ScalarType.Double));
    assertTrue(err <= TOL, what + ": max error " + err + " relative to max(1, max |reference|)");
  }
}
