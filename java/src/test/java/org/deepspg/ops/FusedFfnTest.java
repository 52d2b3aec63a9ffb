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
import org.deepspg.kernels.global.kernels;
import org.deepspg.testing.Tensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link FusedFfn} against libtorch's float64 composition of the same ops ({@link FusedFfn#reference}: LayerNorm,
 * 1×1 conv, GELU, depthwise conv, GELU or gate, 1×1 conv, residual) on every micro-kernel ISA this CPU has; the
 * self-check's verdict; bad arguments.
 */
class FusedFfnTest {
  /** float32 sums of ≤ 80 + 80 products through two GELUs: ~1e-6 of the output's magnitude. */
  static final double TOL = 2e-5;

  @BeforeAll
  static void load() {
    NativeLibrary.ensureLoaded();
  }

  @AfterAll
  static void restore() {
    DenseConvTest.restoreIsa();
  }

  @Test
  void onWhereverTheDirectConvolutionIs() {
    KernelStatus s = FusedFfn.status();
    assertEquals(DenseConv.status().enabled(), s.enabled(), s.describe());
    if (s.enabled()) assertTrue(s.maxRelError() <= DenseConv.TOLERANCE, s.describe());
  }

  @ParameterizedTest(name = "C={0} hidden={1} out={2} {3}x{4} gate={5} ln={6} res={7}")
  @CsvSource({
      "20, 80, 20, 70, 140, false, true, true", // IGAB at DeepSPG-S's L0: 3 strips of 62, 3 bands of 32
      "20, 80, 20, 9, 70, true, true, true", // SEM's GDFN (e = 2)
      "40, 106, 40, 33, 62, true, true, false", // GDFN e = 2.66 (hidden 2 x 53), one full strip
      "7, 13, 5, 5, 3, false, false, true", // hidden and out not multiples of the blocks, no LN
      "4, 8, 4, 1, 1, false, true, true"}) // a 1x1 image
  void matchesLibtorchOnEveryIsa(int c, int hidden, int out, int h, int w, boolean gate, boolean ln, boolean res) {
    FusedFfn.Mode mode = gate ? FusedFfn.Mode.DW_GATE : FusedFfn.Mode.GELU_DW_GELU;
    int mid = gate ? hidden / 2 : hidden;
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      Tensor x = Tensors.randn(2, c, h, w);
      Tensor g = ln ? Tensors.randn(c).mul(new Scalar(0.3)).add(new Scalar(1.0)) : null;
      Tensor b = ln ? Tensors.randn(c).mul(new Scalar(0.3)) : null;
      Tensor win = Tensors.randn(hidden, c, 1, 1).mul(new Scalar(0.3));
      Tensor wdw = Tensors.randn(hidden, 1, 3, 3).mul(new Scalar(0.3));
      Tensor wout = Tensors.randn(out, mid, 1, 1).mul(new Scalar(0.3));
      Tensor r = res ? Tensors.randn(2, out, h, w) : null;
      Tensor ref = FusedFfn.reference(f64(x), ln ? f64(g) : null, ln ? f64(b) : null, f64(win), f64(wdw), f64(wout),
          res ? f64(r) : null, mode);
      double scale = Math.max(1, ref.abs().max().item_double());
      for (int isa : DenseConvTest.isasOfThisCpu()) {
        assertEquals(kernels.DEEPSPG_OK, kernels.deepspg_conv2d_select_isa(isa));
        Tensor got;
        try (DenseConv.Packed pin = DenseConv.pack(win); DenseConv.Packed pout = DenseConv.pack(wout)) {
          assertEquals(isa, pin.isa());
          got = FusedFfn.forward(x, g, b, 1e-5, pin, wdw, pout, r, mode);
        }
        double err = f64(got).sub(ref).abs().max().item_double() / scale;
        assertTrue(err <= TOL, DenseConv.isaName(isa) + ": max error " + err + " of " + scale);
      }
      restore();
    }
  }

  @Test
  void refusesBadArguments() {
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard();
        DenseConv.Packed pin = DenseConv.pack(Tensors.randn(8, 4, 1, 1));
        DenseConv.Packed pout = DenseConv.pack(Tensors.randn(4, 8, 1, 1));
        DenseConv.Packed p3 = DenseConv.pack(Tensors.randn(8, 4, 3, 3))) {
      Tensor x = Tensors.randn(1, 4, 8, 8);
      Tensor dw = Tensors.randn(8, 1, 3, 3);
      Tensor g = Tensors.randn(4);
      FusedFfn.Mode m = FusedFfn.Mode.GELU_DW_GELU;
      assertThrows(IllegalArgumentException.class,
          () -> FusedFfn.forward(Tensors.randn(1, 5, 8, 8), g, g, 1e-5, pin, dw, pout, null, m), "channels");
      assertThrows(IllegalArgumentException.class,
          () -> FusedFfn.forward(x, g, g, 1e-5, p3, dw, pout, null, m), "a 3x3 W_in");
      assertThrows(IllegalArgumentException.class,
          () -> FusedFfn.forward(x, g, g, 1e-5, pin, dw, pout, null, FusedFfn.Mode.DW_GATE), "gate: W_out [out, 4]");
      assertThrows(IllegalArgumentException.class,
          () -> FusedFfn.forward(x, g, null, 1e-5, pin, dw, pout, null, m), "LN weight without bias");
      assertThrows(IllegalArgumentException.class,
          () -> FusedFfn.forward(x, g, g, 1e-5, pin, Tensors.randn(8, 1, 5, 5), pout, null, m), "5x5 depthwise");
      assertThrows(IllegalArgumentException.class,
          () -> FusedFfn.forward(x, g, g, 1e-5, pin, dw, pout, Tensors.randn(1, 4, 8, 7), m), "residual");
      assertThrows(IllegalArgumentException.class, () -> FusedFfn.forward(x.to(torch.ScalarType.Double), g, g, 1e-5,
          pin, dw, pout, null, m), "float64");
      assertEquals(4, FusedFfn.forward(x, g, g, 1e-5, pin, dw, pout, x, m).size(1), "the good call runs");
    }
  }

  private static Tensor f64(Tensor t) {
    return t.to(torch.ScalarType.Double);
  }
}
