/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.bytedeco.pytorch.global.torch.upsample_bilinear2d;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.testing.Tensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link UpsampleSum} against libtorch's own {@code upsample_bilinear2d} (float32, the op it replaces, and float64)
 * with the adds in float64 (the kernel's reference is libtorch itself, not a copy of its formula): HRNet's head and
 * fuse shapes, odd sizes, both align_corners settings, down-sampling; the self-check's verdict; the fallback with
 * autograd; a new tensor when there are no maps; bad input.
 */
class UpsampleSumTest {
  private static final double TOL = 2e-6;

  @ParameterizedTest(name = "{0}x{1} <- {2}x{3}, {4}x{5} base={6} relu={7} align={8}")
  @CsvSource({
    "104, 152, 52, 76, 26, 38, false, false, true", // HRNet-W48's head at 608x416 (three maps: + 13x19 below)
    "104, 152, 52, 76, 26, 38, false, false, false",
    "18, 23, 9, 12, 5, 6, true, true, false", // a fuse layer at 70x90: branches rounded up
    "18, 23, 9, 12, 5, 6, true, true, true",
    "5, 4, 9, 11, 5, 4, true, false, false", // down-sampling, an identity map
    "1, 1, 3, 5, 1, 1, true, true, true" // a 1x1 output and a 1x1 map
  })
  void matchesLibtorch(int ho, int wo, int h1, int w1, int h2, int w2, boolean base, boolean relu, boolean align) {
    assertTrue(UpsampleSum.status().enabled(), UpsampleSum.status().describe());
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      torch.manual_seed(ho * 31L + wo);
      Tensor b = base ? Tensors.randn(2, 6, ho, wo) : null;
      Tensor[] zs = {Tensors.randn(2, 6, h1, w1), Tensors.randn(2, 6, h2, w2), Tensors.randn(2, 6, 13, 19)};
      Tensor b0 = b == null ? null : b.clone();
      long before = UpsampleSum.calls();
      Tensor got = UpsampleSum.forward(b, zs, ho, wo, align, relu);
      assertEquals(1, UpsampleSum.calls() - before, "the native kernel ran");
      // libtorch's float32 resize (indices and weights in float, as the kernel computes them), sums in float64
      Tensor ref = b == null ? null : b.to(torch.ScalarType.Double);
      Tensor ref64 = ref;
      for (Tensor z : zs) {
        Tensor up = upsample_bilinear2d(z, new long[] {ho, wo}, align).to(torch.ScalarType.Double);
        ref = ref == null ? up : ref.add(up);
        Tensor up64 = upsample_bilinear2d(z.to(torch.ScalarType.Double), new long[] {ho, wo}, align);
        ref64 = ref64 == null ? up64 : ref64.add(up64);
      }
      if (relu) {
        ref = ref.relu();
        ref64 = ref64.relu();
      }
      Tensors.assertClose("sum", got.to(torch.ScalarType.Double), ref, TOL, TOL);
      // float64 weights: float32's source coordinates differ by ~1e-7 relative (8x up-sampling: 1e-5 on the value)
      Tensors.assertClose("sum vs float64", got.to(torch.ScalarType.Double), ref64, 5e-5, 5e-5);
      if (b != null) assertTrue(torch.equal(b, b0), "the base is not modified");
    }
  }

  @Test
  void selfCheckPassesAndInfoDescribesIt() {
    KernelStatus s = UpsampleSum.status();
    assertTrue(s.enabled(), s.describe());
    assertTrue(s.maxRelError() <= UpsampleSum.TOLERANCE, s.describe());
    assertTrue(s.describe().startsWith("up-sampling sums: native"), s.describe());
  }

  @Test
  void recordsGradientsThroughLibtorch() {
    try (PointerScope scope = new PointerScope()) {
      Tensor z = Tensors.randn(1, 2, 3, 4).requires_grad_(true);
      Tensor b = Tensors.randn(1, 2, 6, 8);
      assertFalse(UpsampleSum.usable(b, z), "a map that requires grad");
      long before = UpsampleSum.calls();
      Tensor y = UpsampleSum.forward(b, new Tensor[] {z}, 6, 8, false, false);
      assertEquals(0, UpsampleSum.calls() - before, "libtorch's ops, not the kernel");
      y.sum().backward();
      // d/dz of sum(up(z)) = the column sums of the interpolation: 4 output pixels per input pixel (exact 2x)
      Tensors.assertClose("grad", z.grad(), torch.full(new long[] {1, 2, 3, 4},
          new org.bytedeco.pytorch.Scalar(4.0)), 1e-6, 1e-6);
    }
  }

  @Test
  void noMapsStillReturnsANewTensorOnLibtorchsPath() {
    try (PointerScope scope = new PointerScope()) {
      Tensor b64 = Tensors.randn(1, 2, 6, 8).to(torch.ScalarType.Double); // float64: libtorch's path
      Tensor y = UpsampleSum.forward(b64, new Tensor[0], 6, 8, false, false);
      assertTrue(y != b64, "not the base object");
      y.add_(new Scalar(1.0));
      assertEquals(1.0, Tensors.maxAbs(y.sub(b64)), 1e-12, "the base is not modified through the result");
      Tensor leaf = Tensors.randn(1, 2, 6, 8).requires_grad_(true); // requires grad: libtorch's path
      Tensor g = UpsampleSum.forward(leaf, new Tensor[0], 6, 8, false, false);
      assertTrue(g != leaf && g.grad_fn() != null, "a new tensor in the graph");
      g.sum().backward();
      Tensors.assertClose("grad", leaf.grad(), torch.ones(1, 2, 6, 8), 0, 0);
      Tensor ints = torch.ones(new long[] {1, 2, 6, 8}, new TensorOptions(torch.ScalarType.Int));
      assertThrows(IllegalArgumentException.class, () -> UpsampleSum.forward(ints, new Tensor[0], 6, 8, false,
          false), "an integer base");
    }
  }

  @Test
  void refusesBadInput() {
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      Tensor b = Tensors.randn(1, 2, 6, 8);
      assertThrows(IllegalArgumentException.class, () -> UpsampleSum.forward(null, new Tensor[0], 6, 8, false,
          false), "nothing to sum");
      assertThrows(IllegalArgumentException.class, () -> UpsampleSum.forward(b, new Tensor[0], 6, 9, false, false),
          "base of another size");
      assertThrows(IllegalArgumentException.class, () -> UpsampleSum.forward(b,
          new Tensor[] {Tensors.randn(1, 3, 3, 4)}, 6, 8, false, false), "another channel count");
      assertThrows(IllegalArgumentException.class, () -> UpsampleSum.forward(b,
          new Tensor[] {Tensors.randn(1, 2, 3, 4).to(torch.ScalarType.Double)}, 6, 8, false, false),
          "another dtype");
      // no maps: ReLU(base) through the kernel
      Tensor y = UpsampleSum.forward(b, new Tensor[0], 6, 8, false, true);
      Tensors.assertClose("relu", y, b.relu(), 0, 0);
    }
  }
}
