/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.deepspg.testing.Fixtures;
import org.deepspg.testing.Tensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The float64 golden fixtures of the attention op ({@code fixtures/deepspg/attn_*}, {@code attn_edge_*}; PyTorch
 * autograd of the spec's reference, see fixtures/README.md): x, y, v, dout [2, 10, 7, 9], heads = 2, c = 5,
 * temperature [2, 1, 1]. {@code attn_edge} has an all-zero X row under tau = 0 and an all-zero Y row under tau = 25,
 * whose Y gradient is ~1e13 (PyTorch divides by the clamped norm 1e-12).
 */
class ChannelAttentionGoldenTest {
  /** fixtures/README.md: the closed form matches these goldens to ≤ 9e-16 relative to max(1, max|ref|). */
  static final double REL_TOL = 1e-12;

  static final long[] SHAPE = {2, 10, 7, 9};
  static final long[] TAU_SHAPE = {2, 1, 1};

  @BeforeAll
  static void load() {
    NativeLibrary.ensureLoaded();
    Fixtures.assumePresent();
  }

  @ParameterizedTest
  @ValueSource(strings = {"attn", "attn_edge"})
  void matchesGoldens(String prefix) {
    try (PointerScope scope = new PointerScope()) {
      Tensor x = read(prefix + "_x", SHAPE).requires_grad_(true);
      Tensor y = read(prefix + "_y", SHAPE).requires_grad_(true);
      Tensor v = read(prefix + "_v", SHAPE).requires_grad_(true);
      Tensor tau = read(prefix + "_temperature", TAU_SHAPE).requires_grad_(true);
      Tensor dout = read(prefix + "_dout", SHAPE);
      Tensor out = ChannelAttention.apply(x, y, v, null, tau, 2);
      out.mul(dout).sum().backward();
      check(prefix + " out", out.detach(), read(prefix + "_out", SHAPE));
      check(prefix + " grad_x", x.grad(), read(prefix + "_grad_x", SHAPE));
      check(prefix + " grad_y", y.grad(), read(prefix + "_grad_y", SHAPE));
      check(prefix + " grad_v", v.grad(), read(prefix + "_grad_v", SHAPE));
      check(prefix + " grad_temperature", tau.grad(), read(prefix + "_grad_temperature", TAU_SHAPE));
      if (prefix.equals("attn_edge")) {
        // The fixture's defining feature: the zero Y row's gradient is ~1e13 and we reproduce it.
        assertTrue(Tensors.maxAbs(y.grad()) > 1e12, "zero-row gradient magnitude " + Tensors.maxAbs(y.grad()));
      }
    }
  }

  private static void check(String what, Tensor actual, Tensor expected) {
    Tensors.assertClose(what, actual, expected, 0, REL_TOL * Math.max(1, Tensors.maxAbs(expected)));
  }

  private static Tensor read(String name, long[] shape) {
    return Tensors.readFloat64(Fixtures.file("deepspg/" + name + ".bin"), shape);
  }
}
