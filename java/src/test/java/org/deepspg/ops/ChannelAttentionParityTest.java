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
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.testing.Oracles;
import org.deepspg.testing.Parity;
import org.deepspg.testing.Tensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Fused channel attention (float32) vs the stock-op oracle over the spec §2.3 shape matrix, forward and gradients. */
class ChannelAttentionParityTest {
  /** Spec §2.3: fp32 forward max-abs error ≤ 1e-5·max(1, ‖O‖∞). */
  static final double FWD_TOL = 1e-5;
  /** Spec §2.3: fp32 gradients ≤ 1e-4 relative to max(1, ‖ref‖∞) (the fp32 oracle's own rounding dominates). */
  static final double GRAD_TOL = 1e-4;

  @BeforeAll
  static void load() {
    NativeLibrary.ensureLoaded();
  }

  /** B ∈ {1,2} × h ∈ {1,2,4} × c ∈ {1,5,20,40,64} × N ∈ {1, 37, 4096}, plus two N = 65536+13 cases. */
  static Stream<Arguments> matrix() {
    List<Arguments> cases = new ArrayList<>();
    long[][] hw = {{1, 1}, {1, 37}, {64, 64}};
    int k = 0;
    for (int b : new int[] {1, 2})
      for (int h : new int[] {1, 2, 4})
        for (int c : new int[] {1, 5, 20, 40, 64})
          for (long[] s : hw) {
            boolean gate = (k % 2) == 1; // every other case exercises the fused value gate
            boolean permuted = (k % 3) == 2; // every third case gets non-contiguous (channels-last) inputs
            cases.add(Arguments.of(b, h, c, s[0], s[1], gate, permuted));
            k++;
          }
    cases.add(Arguments.of(1, 2, 20, 11L, 5959L, true, false)); // N = 65549 = 65536 + 13
    cases.add(Arguments.of(2, 1, 40, 11L, 5959L, false, true));
    return cases.stream();
  }

  @ParameterizedTest(name = "B={0} h={1} c={2} H={3} W={4} gate={5} permuted={6}")
  @MethodSource("matrix")
  void matchesOracle(int b, int heads, int c, long h, long w, boolean gate, boolean permuted) {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(1000L * b + 100L * heads + 7L * c + h * w);
      long d = (long) heads * c;
      long[] shape = permuted ? new long[] {b, h, w, d} : new long[] {b, d, h, w};
      Tensor[] leaves = {
        rows(shape, h * w).requires_grad_(true),
        rows(shape, h * w).requires_grad_(true),
        Tensors.randn(shape).requires_grad_(true),
        gate ? Tensors.randn(shape).requires_grad_(true) : null,
        torch.rand(heads, 1, 1).add(new Scalar(0.5)).requires_grad_(true)
      };
      Parity.check("attention", t -> new Tensor[] {ChannelAttention.apply(p(t[0], permuted), p(t[1], permuted),
              p(t[2], permuted), t[3] == null ? null : p(t[3], permuted), t[4], heads)},
          t -> new Tensor[] {Oracles.attention(p(t[0], permuted), p(t[1], permuted), p(t[2], permuted),
              t[3] == null ? null : p(t[3], permuted), t[4], heads)},
          leaves, FWD_TOL, GRAD_TOL, 11);
    }
  }

  /**
   * X and Y data. For N = 1 the fp32 gradient of normalize(x) is pure rounding amplified by 1/‖row‖ (the exact
   * gradient is 0 because x/|x| does not depend on |x|), so a row of norm 1e-3 turns 1e-7 rounding into 1e-4. There the
   * rows are kept at |x| ≥ 0.5 so the comparison measures the kernel rather than that conditioning; zero and tiny rows
   * are covered by {@link #edgeCases()} and by the float64 golden fixtures.
   */
  private static Tensor rows(long[] shape, long n) {
    Tensor r = Tensors.randn(shape);
    return n > 1 ? r : r.sign().mul(r.abs().add(new Scalar(0.5)));
  }

  private static Tensor p(Tensor t, boolean permuted) {
    return permuted ? t.permute(0, 3, 1, 2) : t;
  }

  /** An all-zero row under tau = 0 and under a large tau; softmax saturation with tau = 60. */
  @Test
  void edgeCases() {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(5);
      int heads = 2, c = 5;
      for (double[] taus : new double[][] {{0.0, 0.0}, {25.0, 60.0}, {0.0, 25.0}}) {
        Tensor x = Tensors.randn(2, heads * c, 7, 9);
        Tensor y = Tensors.randn(2, heads * c, 7, 9);
        x.select(0, 0).select(0, 3).zero_(); // batch 0, head 0, row 3 of X
        y.select(0, 1).select(0, 7).zero_(); // batch 1, head 1, row 2 of Y
        Tensor v = Tensors.randn(2, heads * c, 7, 9);
        Tensor tau = Tensors.fromDoubles(taus, heads, 1, 1).to(torch.ScalarType.Float);
        Tensor out = ChannelAttention.apply(x, y, v, null, tau, heads);
        assertTrue(out.isfinite().all().item_bool(), "output finite");
        // A zero row of X gives G row 0, hence a uniform softmax row: that output row is the mean of the V rows.
        Tensor expectRow = v.select(0, 0).narrow(0, 0, c).mean(new long[] {0}, false, new org.bytedeco.pytorch.ScalarTypeOptional());
        Tensors.assertClose("uniform row", out.select(0, 0).select(0, 3), expectRow, 0, 1e-5);
        // Gradients: the zero row of Y gets ~1/eps = 1e12-scale gradients in the oracle as well, so compare against
        // the oracle only on finite, moderate taus and with leaves that exclude the zero rows' huge values.
        Tensor[] leaves = {x.clone().requires_grad_(true), y.clone().requires_grad_(true),
            v.clone().requires_grad_(true), null, tau.clone().requires_grad_(true)};
        Parity.check("attention edge tau=" + taus[0] + "," + taus[1],
            t -> new Tensor[] {ChannelAttention.apply(t[0], t[1], t[2], null, t[4], heads)},
            t -> new Tensor[] {Oracles.attention(t[0], t[1], t[2], null, t[4], heads)},
            leaves, FWD_TOL, GRAD_TOL, 3);
      }
    }
  }

  @Test
  void emptyBatchGivesEmptyOutputAndZeroTauGradient() {
    try (PointerScope scope = new PointerScope()) {
      Tensor x = Tensors.randn(0, 4, 3, 3).requires_grad_(true);
      Tensor tau = torch.ones(2, 1, 1).requires_grad_(true);
      Tensor out = ChannelAttention.apply(x, x, x, null, tau, 2);
      assertEquals(0, out.numel());
      out.sum().backward();
      Tensors.assertClose(tau.grad(), torch.zeros(2, 1, 1), 0, 0);
      assertEquals(0, x.grad().numel());
    }
  }

  @Test
  void rejectsBadArguments() {
    try (PointerScope scope = new PointerScope()) {
      Tensor x = Tensors.randn(1, 8, 4, 4);
      Tensor tau = torch.ones(2);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> ChannelAttention.apply(x, Tensors.randn(1, 8, 4, 5), x, null, tau, 2));
      assertTrue(e.getMessage().contains("[1, 8, 4, 5]") && e.getMessage().contains("[1, 8, 4, 4]"), e.getMessage());
      e = assertThrows(IllegalArgumentException.class, () -> ChannelAttention.apply(x, x, x, null, tau, 3));
      assertTrue(e.getMessage().contains("heads=3"), e.getMessage());
      e = assertThrows(IllegalArgumentException.class, () -> ChannelAttention.apply(x, x, x, null, torch.ones(3), 2));
      assertTrue(e.getMessage().contains("tau"), e.getMessage());
      Tensor nanTau = Tensors.fromDoubles(new double[] {1, Double.NaN}, 2).to(torch.ScalarType.Float);
      e = assertThrows(IllegalArgumentException.class, () -> ChannelAttention.apply(x, x, x, null, nanTau, 2));
      assertTrue(e.getMessage().contains("finite") && e.getMessage().contains("[2]"), e.getMessage());
      Tensor infTau = Tensors.fromDoubles(new double[] {1, Double.POSITIVE_INFINITY}, 2).to(torch.ScalarType.Float);
      assertThrows(IllegalArgumentException.class, () -> ChannelAttention.apply(x, x, x, null, infTau, 2));
      e = assertThrows(IllegalArgumentException.class,
          () -> ChannelAttention.apply(x, x.to(torch.ScalarType.Double), x, null, tau, 2));
      assertTrue(e.getMessage().contains("float64"), e.getMessage());
      assertThrows(IllegalArgumentException.class,
          () -> ChannelAttention.apply(x.to(torch.ScalarType.Int), x, x, null, tau, 2));
      Tensor wide = Tensors.randn(1, 130, 2, 2);
      e = assertThrows(IllegalArgumentException.class, () -> ChannelAttention.apply(wide, wide, wide, null, tau, 2));
      assertTrue(e.getMessage().contains("c=65"), e.getMessage());
      assertThrows(IllegalArgumentException.class,
          () -> ChannelAttention.apply(Tensors.randn(8, 4, 4), Tensors.randn(8, 4, 4), Tensors.randn(8, 4, 4), null,
              tau, 2));
    }
  }

  /**
   * tau's finiteness is read in place on the CPU (ChannelAttention.allFinite): float32 and float64, a strided view
   * (only the viewed elements count), and dtypes it does not read (the stock ops answer); the CUDA path keeps the stock
   * ops (CudaParityTest).
   */
  @Test
  void tauFinitenessIsReadInPlace() {
    try (PointerScope scope = new PointerScope()) {
      assertTrue(ChannelAttention.allFinite(Tensors.fromDoubles(new double[] {1, -2.5, 1e30}, 3)));
      assertTrue(ChannelAttention.allFinite(Tensors.fromDoubles(new double[] {1, 3e38}, 2).to(torch.ScalarType.Float)));
      assertFalse(ChannelAttention.allFinite(Tensors.fromDoubles(new double[] {1, Double.NEGATIVE_INFINITY}, 2)));
      assertFalse(ChannelAttention.allFinite(Tensors.fromDoubles(new double[] {Double.NaN, 1}, 2)));
      // 1e39 overflows float32 to +inf
      Tensor overflow = Tensors.fromDoubles(new double[] {1, 1e39}, 2).to(torch.ScalarType.Float);
      assertFalse(ChannelAttention.allFinite(overflow));
      // every other element of [1, NaN, 2, NaN]: the view [1, 2] is finite, the view [NaN, NaN] is not
      Tensor storage = Tensors.fromDoubles(new double[] {1, Double.NaN, 2, Double.NaN}, 4).to(torch.ScalarType.Float);
      Tensor even = storage.as_strided(new long[] {2}, new long[] {2});
      Tensor odd = storage.as_strided(new long[] {2}, new long[] {2}, new LongOptional(1));
      assertFalse(even.is_contiguous());
      assertTrue(ChannelAttention.allFinite(even));
      assertFalse(ChannelAttention.allFinite(odd));
      assertTrue(ChannelAttention.allFinite(torch.ones(2).to(torch.ScalarType.Int)));
      assertTrue(ChannelAttention.allFinite(torch.ones(0)));
      // through the op: a float64 tau with -inf on float64 inputs, a strided float32 tau with NaN in view
      Tensor x = Tensors.randn(1, 8, 4, 4);
      Tensor xd = x.to(torch.ScalarType.Double);
      Tensor infTau = Tensors.fromDoubles(new double[] {1, Double.NEGATIVE_INFINITY}, 2);
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> ChannelAttention.apply(xd, xd, xd, null, infTau, 2));
      assertTrue(e.getMessage().contains("finite"), e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> ChannelAttention.apply(x, x, x, null, odd, 2));
      Tensors.assertClose(ChannelAttention.apply(x, x, x, null, even.contiguous(), 2),
          ChannelAttention.apply(x, x, x, null, even, 2), 0, 0);
    }
  }
}
