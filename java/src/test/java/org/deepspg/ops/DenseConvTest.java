/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.kernels.global.kernels;
import org.deepspg.testing.Tensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link DenseConv} against libtorch's {@code conv2d} (float64 reference of float32 inputs) on HRNet-W48's shape
 * classes and the illumination estimator's grouped 5×5, on every micro-kernel ISA this CPU has; the self-check's
 * verdict; when the op may be used.
 */
class DenseConvTest {
  /** float32 sums of ≤ 3,456 products (384 channels × 9 taps): ~1e-6 relative to the output's magnitude. */
  static final double TOL = 2e-5;

  @BeforeAll
  static void load() {
    NativeLibrary.ensureLoaded();
  }

  @AfterAll
  static void restore() {
    restoreIsa();
  }

  /** Back to the ISA the self-check accepted (also for {@link FusedFfnTest}). */
  static void restoreIsa() {
    // back to the ISA the self-check accepted, for the tests that run after this class in the same JVM
    kernels.deepspg_conv2d_select_isa(DenseConv.isaId(DenseConv.status().isa()));
  }

  /** @return the micro-kernel ISAs this CPU has, best first (also for {@link FusedFfnTest}) */
  static List<Integer> isasOfThisCpu() {
    List<Integer> out = new ArrayList<>();
    for (int isa : DenseConv.ISAS) { // best first
      if (kernels.deepspg_conv2d_select_isa(isa) == kernels.DEEPSPG_OK) out.add(isa);
    }
    restoreIsa();
    return out;
  }

  @Test
  void selfCheckAcceptsTheBestIsaOfThisCpu() {
    DenseConv.Status s = DenseConv.status();
    assertTrue(s.enabled(), s.describe());
    assertTrue(s.maxRelError() <= DenseConv.TOLERANCE, s.describe());
    List<Integer> isas = isasOfThisCpu();
    String best = DenseConv.isaName(isas.get(0));
    assertEquals(best, s.isa(), s.describe());
    assertTrue(s.describe().startsWith("direct conv: " + best), s.describe());
  }

  @ParameterizedTest(name = "in={0} out={1} k={2} s={3} {4}x{5} bias={6} res={7} relu={8}")
  @CsvSource({
    "3, 64, 3, 2, 40, 56, true, false, true", // HRNet stem conv1
    "64, 64, 3, 2, 20, 28, true, false, true", // stem conv2
    "48, 48, 3, 1, 26, 38, true, true, true", // branch 1 BasicBlock conv2 + residual
    "384, 384, 3, 1, 3, 5, true, true, true", // branch 4, a grid shorter than one tile
    "256, 64, 1, 1, 13, 19, true, false, true", // Bottleneck 1x1
    "96, 48, 1, 1, 7, 9, true, false, false", // fuse 1x1
    "48, 96, 3, 2, 14, 19, true, false, false", // transition / fuse 3x3 stride 2, odd width
    "720, 7, 1, 1, 6, 11, true, false, false", // head, 7 classes
    "5, 13, 5, 1, 9, 12, false, true, false" // k = 5, no bias
  })
  void matchesConv2dOnEveryIsa(int in, int out, int k, int s, int h, int w, boolean bias, boolean res, boolean relu) {
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      torch.manual_seed(7);
      Tensor x = Tensors.randn(2, in, h, w);
      Tensor wt = Tensors.randn(out, in, k, k).mul(new org.bytedeco.pytorch.Scalar(1.0 / Math.sqrt(in * k * k)));
      Tensor b = bias ? Tensors.randn(out) : null;
      long ho = (h + 2 * (k / 2) - k) / s + 1, wo = (w + 2 * (k / 2) - k) / s + 1;
      Tensor r = res ? Tensors.randn(2, out, ho, wo) : null;
      Tensor ref = torch.conv2d(x.to(torch.ScalarType.Double), wt.to(torch.ScalarType.Double),
          b == null ? new TensorOptional() : new TensorOptional(b.to(torch.ScalarType.Double)), new long[] {s, s},
          new long[] {k / 2, k / 2}, new long[] {1, 1}, 1);
      if (r != null) ref = ref.add(r.to(torch.ScalarType.Double));
      if (relu) ref = ref.relu();
      for (int isa : isasOfThisCpu()) {
        assertEquals(kernels.DEEPSPG_OK, kernels.deepspg_conv2d_select_isa(isa));
        Tensor y = DenseConv.forward(x, wt, b, r, s, relu);
        Tensors.assertClose("isa " + isa, y.to(torch.ScalarType.Double), ref, TOL, TOL);
      }
      restoreIsa();
    }
  }

  @ParameterizedTest(name = "in={0} out={1} k={2} s={3} pad={4} {5}x{6} bias={7} res={8} act={9}")
  @CsvSource({
    "20, 40, 4, 2, 1, 26, 38, false, false, NONE", // DeepSPG-S's down-sampling 4x4 stride 2 pad 1
    "40, 80, 4, 2, 1, 13, 19, false, true, RELU", // odd sizes, residual
    "20, 80, 1, 1, 0, 17, 45, false, false, GELU", // IGAB's 1x1 d -> 4d with its GELU
    "6, 11, 3, 1, 0, 12, 20, true, true, GELU" // "valid" 3x3, GELU after bias and residual
  })
  void paddedAndGeluMatchConv2dOnEveryIsa(int in, int out, int k, int s, int pad, int h, int w, boolean bias,
      boolean res, String act) {
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      torch.manual_seed(13);
      Tensor x = Tensors.randn(2, in, h, w);
      Tensor wt = Tensors.randn(out, in, k, k).mul(new org.bytedeco.pytorch.Scalar(1.0 / Math.sqrt(in * k * k)));
      Tensor b = bias ? Tensors.randn(out) : null;
      long ho = (h + 2 * pad - k) / s + 1, wo = (w + 2 * pad - k) / s + 1;
      Tensor r = res ? Tensors.randn(2, out, ho, wo) : null;
      Tensor ref = torch.conv2d(x.to(torch.ScalarType.Double), wt.to(torch.ScalarType.Double),
          b == null ? new TensorOptional() : new TensorOptional(b.to(torch.ScalarType.Double)), new long[] {s, s},
          new long[] {pad, pad}, new long[] {1, 1}, 1);
      if (r != null) ref = ref.add(r.to(torch.ScalarType.Double));
      DenseConv.Act a = DenseConv.Act.valueOf(act);
      if (a == DenseConv.Act.RELU) ref = ref.relu();
      if (a == DenseConv.Act.GELU) ref = torch.gelu(ref);
      for (int isa : isasOfThisCpu()) {
        assertEquals(kernels.DEEPSPG_OK, kernels.deepspg_conv2d_select_isa(isa));
        try (DenseConv.Packed pw = DenseConv.pack(wt)) {
          Tensor y = DenseConv.forward(x, pw, b, r, s, pad, a);
          Tensors.assertClose("isa " + isa, y.to(torch.ScalarType.Double), ref, TOL, TOL);
        }
      }
      restoreIsa();
      try (DenseConv.Packed pw = DenseConv.pack(wt)) {
        assertThrows(IllegalArgumentException.class, () -> DenseConv.forward(x, pw, b, r, s, k, a), "pad >= k");
      }
    }
  }

  @Test
  void winogradSelfCheckedAndChosenByShape() {
    DenseConv.Status s = DenseConv.status();
    assertTrue(s.winograd(), s.describe());
    assertTrue(s.winogradError() <= DenseConv.TOLERANCE, s.describe());
    assertTrue(s.describe().contains("Winograd 3x3: on"), s.describe());
    assertTrue(DenseConv.winogradPays(48, 48, 104, 152), "HRNet-W48 branch 1 at 608x416: 988 tiles");
    assertTrue(DenseConv.winogradPays(96, 96, 52, 76), "branch 2: 247 tiles");
    assertFalse(DenseConv.winogradPays(48, 48, 40, 44), "110 tiles");
    // wide layers: AVX-512's 24 x 16 kernel from 16 tiles on, up to 384 * 384 pairs; other ISAs never
    boolean wide = "avx512".equals(s.isa());
    assertEquals(wide, DenseConv.winogradPays(192, 192, 26, 38), "branch 3: wide, 70 tiles");
    assertEquals(wide, DenseConv.winogradPays(384, 384, 13, 19), "branch 4: wide, 20 tiles");
    assertEquals(wide, DenseConv.winogradFits(384, 384), "branch 4 fits");
    assertFalse(DenseConv.winogradPays(192, 192, 7, 10), "wide, 6 tiles");
    assertFalse(DenseConv.winogradPays(385, 384, 1000, 1000), "too wide at any size");
  }

  @ParameterizedTest(name = "in={0} out={1} {2}x{3} bias={4} res={5} relu={6}")
  @CsvSource({
    "48, 48, 53, 75, true, true, true", // HRNet branch-1 BasicBlock, sizes not multiples of 4, 266 tiles
    "96, 13, 9, 7, false, false, false", // one tile row, outputs not a multiple of any block
    "3, 5, 1, 1, true, false, true", // a 1x1 image: one tile, mostly padding
    "192, 150, 26, 38, true, true, true", // wide (AVX-512's 24 x 16 kernel), HRNet branch 3's 70 tiles, a tail block
    "130, 136, 70, 75, false, false, false" // wide, 342 tiles: two runs of at most 256
  })
  void winogradMatchesConv2dOnEveryIsa(int in, int out, int h, int w, boolean bias, boolean res, boolean relu) {
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      torch.manual_seed(11);
      Tensor x = Tensors.randn(2, in, h, w);
      Tensor wt = Tensors.randn(out, in, 3, 3).mul(new org.bytedeco.pytorch.Scalar(1.0 / Math.sqrt(in * 9)));
      Tensor b = bias ? Tensors.randn(out) : null;
      Tensor r = res ? Tensors.randn(2, out, h, w) : null;
      Tensor ref = torch.conv2d(x.to(torch.ScalarType.Double), wt.to(torch.ScalarType.Double),
          b == null ? new TensorOptional() : new TensorOptional(b.to(torch.ScalarType.Double)), new long[] {1, 1},
          new long[] {1, 1}, new long[] {1, 1}, 1);
      if (r != null) ref = ref.add(r.to(torch.ScalarType.Double));
      if (relu) ref = ref.relu();
      for (int isa : isasOfThisCpu()) {
        assertEquals(kernels.DEEPSPG_OK, kernels.deepspg_conv2d_select_isa(isa));
        try (DenseConv.Packed pw = DenseConv.packWinograd(wt)) {
          assertTrue(pw.winograd());
          assertEquals(isa, pw.isa());
          Tensor y = DenseConv.forward(x, pw, b, r, 1, relu);
          // the transforms' constants (up to 8) cost a few times the direct path's rounding
          Tensors.assertClose("isa " + isa, y.to(torch.ScalarType.Double), ref, 4 * TOL, 4 * TOL);
        }
      }
      restoreIsa();
    }
  }

  @Test
  void winogradRefusesOtherKernelsAndStrides() {
    try (PointerScope scope = new PointerScope()) {
      assertThrows(IllegalArgumentException.class, () -> DenseConv.packWinograd(Tensors.randn(4, 4, 1, 1)), "1x1");
      assertThrows(IllegalArgumentException.class, () -> DenseConv.packWinograd(Tensors.randn(4, 4, 5, 5)), "5x5");
      try (DenseConv.Packed pw = DenseConv.packWinograd(Tensors.randn(4, 4, 3, 3))) {
        assertThrows(IllegalArgumentException.class,
            () -> DenseConv.forward(Tensors.randn(1, 4, 8, 8), pw, null, null, 2, false), "stride 2");
      }
    }
  }

  @ParameterizedTest(name = "in={0} out={1} groups={2} k={3} {4}x{5} bias={6} res={7}")
  @CsvSource({
    "20, 20, 4, 5, 26, 38, true, false", // DeepSPG-S's illumination estimator: 5x5, 4 groups of 5
    "40, 40, 4, 5, 13, 19, true, true", // DeepSPG-L's, with a residual
    "6, 14, 2, 3, 9, 70, false, false", // 3x3, 2 groups of 7 outputs, several chunks
    "5, 7, 1, 3, 8, 10, true, false" // groups = 1: the dense convolution
  })
  void groupedMatchesConv2dOnEveryIsa(int in, int out, int groups, int k, int h, int w, boolean bias, boolean res) {
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      torch.manual_seed(17);
      Tensor x = Tensors.randn(2, in, h, w);
      Tensor wt = Tensors.randn(out, in / groups, k, k)
          .mul(new org.bytedeco.pytorch.Scalar(1.0 / Math.sqrt(in / groups * k * k)));
      Tensor b = bias ? Tensors.randn(out) : null;
      Tensor r = res ? Tensors.randn(2, out, h, w) : null;
      Tensor ref = torch.conv2d(x.to(torch.ScalarType.Double), wt.to(torch.ScalarType.Double),
          b == null ? new TensorOptional() : new TensorOptional(b.to(torch.ScalarType.Double)), new long[] {1, 1},
          new long[] {k / 2, k / 2}, new long[] {1, 1}, groups);
      if (r != null) ref = ref.add(r.to(torch.ScalarType.Double));
      for (int isa : isasOfThisCpu()) {
        assertEquals(kernels.DEEPSPG_OK, kernels.deepspg_conv2d_select_isa(isa));
        Tensor y = DenseConv.grouped(x, wt, b, r, groups);
        Tensors.assertClose("isa " + isa, y.to(torch.ScalarType.Double), ref, TOL, TOL);
      }
      restoreIsa();
      assertThrows(IllegalArgumentException.class, () -> DenseConv.grouped(x, wt, b, r, groups + 1), "groups");
      assertThrows(IllegalArgumentException.class,
          () -> DenseConv.grouped(x, wt, Tensors.randn(out + 1), null, groups), "bias");
    }
  }

  @Test
  void usableOnlyWhenNoGradientIsNeeded() {
    try (PointerScope scope = new PointerScope()) {
      Tensor x = Tensors.randn(1, 4, 8, 8);
      Tensor w = Tensors.randn(4, 4, 3, 3);
      assertTrue(DenseConv.usable(x, w, null));
      Tensor wg = w.clone().requires_grad_(true);
      assertFalse(DenseConv.usable(x, wg, null), "a parameter that needs a gradient");
      Tensor xg = x.clone().requires_grad_(true);
      assertFalse(DenseConv.usable(xg, w, null), "an input that needs a gradient");
      try (NoGradGuard ng = new NoGradGuard()) {
        assertTrue(DenseConv.usable(xg, wg, null), "grad mode off");
      }
      assertFalse(DenseConv.usable(x.to(torch.ScalarType.Double), w, null), "float64");
    }
  }

  @Test
  void refusesBadShapes() {
    try (PointerScope scope = new PointerScope()) {
      Tensor x = Tensors.randn(1, 4, 8, 8);
      assertThrows(IllegalArgumentException.class,
          () -> DenseConv.forward(x, Tensors.randn(4, 3, 3, 3), null, null, 1, false), "in channels");
      assertThrows(IllegalArgumentException.class,
          () -> DenseConv.forward(x, Tensors.randn(4, 4, 2, 2), null, null, 1, false), "even k");
      assertThrows(IllegalArgumentException.class,
          () -> DenseConv.forward(x, Tensors.randn(4, 4, 3, 3), null, null, 3, false), "stride 3");
      assertThrows(IllegalArgumentException.class,
          () -> DenseConv.forward(x, Tensors.randn(4, 4, 3, 3), Tensors.randn(5), null, 1, false), "bias");
      assertThrows(IllegalArgumentException.class,
          () -> DenseConv.forward(x, Tensors.randn(4, 4, 3, 3), null, Tensors.randn(1, 4, 4, 4), 1, false),
          "residual");
      assertThrows(IllegalArgumentException.class, () -> DenseConv.forward(x.to(torch.ScalarType.Double),
          Tensors.randn(4, 4, 3, 3).to(torch.ScalarType.Double), null, null, 1, false), "float64");
      assertThrows(IllegalArgumentException.class,
          () -> DenseConv.forward(x, Tensors.randn(4, 4, 3, 3).to(torch.ScalarType.Double), null, null, 1, false),
          "weight dtype");
    }
  }
}
