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
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.testing.Tensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link DepthwisePair}: the same bits as the chain of two {@link DepthwiseConv} calls and an add, the float64
 * composition within float rounding; the self-check's verdict; when it may be used; argument checks.
 */
class DepthwisePairTest {
  @BeforeAll
  static void load() {
    NativeLibrary.ensureLoaded();
  }

  @Test
  void selfCheckPasses() {
    KernelStatus s = DepthwisePair.status();
    assertTrue(s.enabled(), s.describe());
    assertTrue(s.maxRelError() <= DenseConv.TOLERANCE, s.describe());
    assertTrue(s.describe().startsWith("one pass: on (self-check passed"), s.describe());
  }

  @ParameterizedTest(name = "B={0} C={1} {2}x{3} residual={4}")
  @CsvSource({
    "1, 20, 70, 96, true", // DeepSPG-S's L0 width, three 32-row bands
    "2, 3, 33, 17, false",
    "1, 2, 1, 5, true",
    "1, 4, 64, 1, true"
  })
  void sameBitsAsTheChain(int b, int c, int h, int w, boolean res) {
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      torch.manual_seed(31);
      Tensor x = Tensors.randn(b, c, h, w);
      Tensor w1 = Tensors.randn(c, 1, 3, 3).mul(new Scalar(0.4));
      Tensor w2 = Tensors.randn(c, 1, 3, 3).mul(new Scalar(0.4));
      Tensor r = res ? Tensors.randn(b, c, h, w) : null;
      Tensor chain = DepthwiseConv.conv3x3(DepthwiseConv.conv3x3Gelu(x, w1), w2);
      if (r != null) chain = chain.add(r);
      long calls = DepthwisePair.calls();
      Tensor y = DepthwisePair.forward(x, w1, w2, r);
      assertEquals(calls + 1, DepthwisePair.calls());
      assertTrue(y.equal(chain), "the chain's bits");
      Tensor ref = DepthwisePair.reference(OpSupport.toDouble(x), OpSupport.toDouble(w1), OpSupport.toDouble(w2),
          r == null ? null : OpSupport.toDouble(r));
      Tensors.assertClose("vs float64", OpSupport.toDouble(y), ref, 1e-5, 1e-5);
    }
  }

  @Test
  void usableOnlyForFloat32CpuWithoutAGradient() {
    try (PointerScope scope = new PointerScope()) {
      Tensor x = Tensors.randn(1, 2, 5, 5);
      Tensor w = Tensors.randn(2, 1, 3, 3);
      assertTrue(DepthwisePair.usable(x, w, w, null));
      assertFalse(DepthwisePair.usable(x, w.clone().requires_grad_(true), w, null), "a weight that needs a gradient");
      assertFalse(DepthwisePair.usable(x.clone().requires_grad_(true), w, w, null), "an input that needs one");
      assertFalse(DepthwisePair.usable(x.to(torch.ScalarType.Double), w, w, null), "float64");
      try (NoGradGuard ng = new NoGradGuard()) {
        assertTrue(DepthwisePair.usable(x.clone().requires_grad_(true), w, w, null), "grad mode off");
      }
    }
  }

  @Test
  void refusesBadArguments() {
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      Tensor x = Tensors.randn(1, 2, 5, 5);
      Tensor w = Tensors.randn(2, 1, 3, 3);
      assertThrows(IllegalArgumentException.class, () -> DepthwisePair.forward(x, Tensors.randn(3, 1, 3, 3), w, null),
          "channels");
      assertThrows(IllegalArgumentException.class, () -> DepthwisePair.forward(x, w, Tensors.randn(2, 1, 5, 5), null),
          "kernel size");
      assertThrows(IllegalArgumentException.class,
          () -> DepthwisePair.forward(x, w, w, Tensors.randn(1, 2, 5, 4)), "residual shape");
      assertThrows(IllegalArgumentException.class, () -> DepthwisePair.forward(x.to(torch.ScalarType.Double),
          w.to(torch.ScalarType.Double), w.to(torch.ScalarType.Double), null), "float64");
    }
  }
}
