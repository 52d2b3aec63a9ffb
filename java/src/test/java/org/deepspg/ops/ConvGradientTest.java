/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.bytedeco.pytorch.global.torch.conv2d;
import static org.bytedeco.pytorch.global.torch.im2col;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.deepspg.testing.Tensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Guards against the oneDNN defect of STYLE §0 (wrong float32 conv input gradients for out_channels &lt; 16 on AMD
 * EPYC/AVX-512 with libtorch 2.10.0-1.5.13): float32 {@code conv2d} input (and weight) gradients in the project's
 * configuration ({@link Backends#init()}) are compared with an independent float64 reference that does not use a
 * convolution kernel at all: im2col (unfold) + matmul, differentiated by libtorch autograd.
 *
 * <p>Run {@code mvn test -Dtest=ConvGradientTest -Ddeepspg.mkldnn=true} to run the same checks with oneDNN enabled.
 */
class ConvGradientTest {
  /**
   * float32 gradients vs the float64 reference, relative to max |ref|: each gradient element is a sum of
   * Cout·k² (≤ 500) products; float32 rounding gives ~1e-6 relative, a wrong kernel gives O(1).
   */
  static final double REL_TOL = 1e-5;

  @BeforeAll
  static void init() {
    Backends.init();
  }

  @Test
  void projectConfigurationDisablesOneDnn() {
    assertEquals(Boolean.getBoolean(Backends.MKLDNN_PROPERTY), Backends.mkldnnEnabled());
  }

  @ParameterizedTest(name = "B={0} {1}->{2} k={3} groups={4} {5}x{6}")
  @CsvSource({
    "1, 20, 3, 1, 1, 64, 96", // conv2 of the illumination estimator (out_channels 3)
    "2, 20, 3, 3, 1, 17, 19",
    "1, 3, 16, 3, 1, 32, 48",
    "1, 20, 20, 3, 1, 32, 32",
    "1, 20, 20, 5, 4, 32, 32", // grouped 5x5 of the estimator
    "2, 4, 20, 1, 1, 16, 16",
    "1, 40, 15, 3, 1, 16, 24"
  })
  void float32InputGradientMatchesFloat64Reference(int b, int cin, int cout, int k, int groups, int h, int w) {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(cin * 100 + cout);
      Tensor x = torch.randn(b, cin, h, w);
      Tensor weight = torch.randn(cout, cin / groups, k, k);
      Tensor up = torch.randn(b, cout, h, w);

      Tensor x32 = x.clone().requires_grad_(true), w32 = weight.clone().requires_grad_(true);
      conv2d(x32, w32, new TensorOptional(), new long[] {1, 1}, new long[] {k / 2, k / 2}, new long[] {1, 1}, groups)
          .mul(up).sum().backward();

      Tensor x64 = x.to(ScalarType.Double).requires_grad_(true);
      Tensor w64 = weight.to(ScalarType.Double).requires_grad_(true);
      referenceConv(x64, w64, k, groups, h, w).mul(up.to(ScalarType.Double)).sum().backward();

      check("input gradient", x32.grad(), x64.grad());
      check("weight gradient", w32.grad(), w64.grad());
    }
  }

  /** conv2d (stride 1, padding k/2) as per-group im2col + matmul. */
  private static Tensor referenceConv(Tensor x, Tensor weight, int k, int groups, int h, int w) {
    long b = x.size(0), cin = x.size(1), cout = weight.size(0);
    long cinG = cin / groups, coutG = cout / groups;
    Tensor[] outs = new Tensor[groups];
    for (int g = 0; g < groups; g++) {
      Tensor xg = x.narrow(1, g * cinG, cinG);
      Tensor cols = im2col(xg, new long[] {k, k}, new long[] {1, 1}, new long[] {k / 2, k / 2}, new long[] {1, 1});
      Tensor wg = weight.narrow(0, g * coutG, coutG).reshape(coutG, cinG * k * k);
      outs[g] = wg.matmul(cols).reshape(b, coutG, h, w); // [Cout_g, Cin_g·k²] x [B, Cin_g·k², H·W]
    }
    return groups == 1 ? outs[0] : torch.cat(new org.bytedeco.pytorch.TensorVector(outs), 1);
  }

  private static void check(String what, Tensor got32, Tensor ref64) {
    Tensors.assertClose(what, got32.to(ScalarType.Double), ref64, 0, REL_TOL * Tensors.maxAbs(ref64));
  }
}
