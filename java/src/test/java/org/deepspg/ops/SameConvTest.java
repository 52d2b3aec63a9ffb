/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.Stream;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.deepspg.testing.GradCheck;
import org.deepspg.testing.Parity;
import org.deepspg.testing.Tensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link SameConv} against the stock {@code F.conv2d(x, w, b, padding=k//2, groups=G)} (oneDNN off, see Backends):
 * float32 forward and gradients for the network's geometries (estimator 5×5 with 4 groups and bias, dense 3×3 3→C
 * and C→3) on contiguous and permuted inputs, float64 finite differences, argument checks, flat native memory.
 */
class SameConvTest {
  /** float32 forward: ≤ 125-term sums in another order than libtorch's (~1e-6 relative to max |y|). */
  static final double FWD_TOL = 2e-6;
  /**
   * float32 gradients: dx sums ≤ 125 terms; dweight/dbias sum B·H·W (≤ 8,000) products in float per row and in double
   * across rows, libtorch in float in its own order: ~1e-6 relative to the largest gradient; 1e-5 leaves a margin.
   */
  static final double GRAD_TOL = 1e-5;

  @BeforeAll
  static void load() {
    NativeLibrary.ensureLoaded();
  }

  static Tensor oracle(Tensor x, Tensor w, Tensor b, long groups) {
    long p = w.size(2) / 2;
    return torch.conv2d(x, w, b == null ? new TensorOptional() : new TensorOptional(b), new long[] {1, 1},
        new long[] {p, p}, new long[] {1, 1}, groups);
  }

  static Stream<Arguments> geometries() {
    // {B, in, out, groups, k, H, W, bias}
    long[][] g = {{2, 8, 8, 4, 5, 19, 23, 1}, {1, 20, 20, 4, 5, 40, 36, 1}, {1, 3, 20, 1, 3, 33, 17, 0},
        {2, 20, 3, 1, 3, 21, 18, 0}, {1, 4, 4, 1, 5, 1, 6, 1}, {1, 6, 6, 2, 3, 7, 1, 0}, {1, 4, 6, 2, 1, 5, 5, 1}};
    return Stream.of(g).flatMap(a -> Stream.of(Arguments.of(a, false), Arguments.of(a, true)));
  }

  @ParameterizedTest(name = "{0} permuted={1}")
  @MethodSource("geometries")
  void matchesStockConv(long[] g, boolean permuted) {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(g[1] * 7 + g[4] * 3 + g[5]);
      Tensor x = (permuted ? torch.randn(g[0], g[5], g[6], g[1]) : torch.randn(g[0], g[1], g[5], g[6]))
          .requires_grad_(true);
      Tensor w = torch.randn(g[2], g[1] / g[3], g[4], g[4]).mul(new Scalar(0.3)).requires_grad_(true);
      Tensor b = g[7] == 1 ? torch.randn(g[2]).requires_grad_(true) : null;
      long groups = g[3];
      Parity.check("conv_same permuted=" + permuted,
          t -> new Tensor[] {SameConv.apply(permuted ? t[0].permute(0, 3, 1, 2) : t[0], t[1], t[2], groups)},
          t -> new Tensor[] {oracle(permuted ? t[0].permute(0, 3, 1, 2) : t[0], t[1], t[2], groups)},
          new Tensor[] {x, w, b}, FWD_TOL, GRAD_TOL, 11);
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2})
  void gradCheckFloat64(long seed) {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(seed);
      Tensor x = torch.randn(2, 4, 5, 6).to(ScalarType.Double).requires_grad_(true);
      Tensor w = torch.randn(4, 2, 5, 5).to(ScalarType.Double).requires_grad_(true);
      Tensor b = torch.randn(4).to(ScalarType.Double).requires_grad_(true);
      GradCheck.check("conv_same 5x5 g2", t -> new Tensor[] {SameConv.apply(t[0], t[1], t[2], 2)},
          new Tensor[] {x, w, b}, seed);
      Tensor w3 = torch.randn(3, 4, 3, 3).to(ScalarType.Double).requires_grad_(true);
      GradCheck.check("conv_same 3x3 dense", t -> new Tensor[] {SameConv.apply(t[0], t[1], null, 1)},
          new Tensor[] {x, w3}, seed + 5);
    }
  }

  @Test
  void rejectsBadArguments() {
    try (PointerScope scope = new PointerScope()) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> SameConv.apply(torch.randn(1, 8, 4, 4), torch.randn(8, 3, 5, 5), null, 4));
      assertTrue(e.getMessage().contains("[8, 3, 5, 5]") && e.getMessage().contains("[1, 8, 4, 4]"), e.getMessage());
      assertThrows(IllegalArgumentException.class,
          () -> SameConv.apply(torch.randn(1, 4, 4, 4), torch.randn(4, 4, 4, 4), null, 1));
      e = assertThrows(IllegalArgumentException.class,
          () -> SameConv.apply(torch.randn(1, 4, 4, 4), torch.randn(4, 4, 3, 3), torch.randn(5), 1));
      assertTrue(e.getMessage().contains("[5]"), e.getMessage());
      assertThrows(IllegalArgumentException.class,
          () -> SameConv.apply(torch.randn(1, 4, 4, 4), torch.randn(4, 4, 3, 3).to(ScalarType.Double), null, 1));
    }
  }

  /** Method of DepthwiseConvTest: a graph leaked per call (saved x 8 KB + weight) would add over 12 MB. */
  @Test
  void manyCallsKeepNativeMemoryFlat() {
    Tensor x = torch.randn(1, 8, 16, 16).requires_grad_(true), w = torch.randn(8, 2, 5, 5).requires_grad_(true);
    Tensor b = torch.randn(8).requires_grad_(true);
    int before = NativeFunction.liveGraphs();
    long[] rss = new long[4];
    for (int r = 0; r < rss.length; r++) {
      for (int i = 0; i < 500; i++) {
        try (PointerScope s = new PointerScope()) {
          SameConv.apply(x, w, b, 4).sum().backward();
        }
      }
      System.gc();
      rss[r] = Pointer.physicalBytes();
    }
    assertEquals(before, NativeFunction.liveGraphs(), "graphs left alive");
    long growth = rss[rss.length - 1] - rss[0];
    assertTrue(growth < (16L << 20), "RSS grew by " + (growth >> 10) + " KiB");
  }

  @Test
  void float64MatchesStock() {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(3);
      Tensor x = torch.randn(2, 8, 13, 11).to(ScalarType.Double), w = torch.randn(8, 2, 5, 5).to(ScalarType.Double);
      Tensor b = torch.randn(8).to(ScalarType.Double);
      Tensors.assertClose("f64", SameConv.apply(x, w, b, 4), oracle(x, w, b, 4), 1e-12, 1e-12);
    }
  }
}
