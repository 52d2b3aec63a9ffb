/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.testing.Oracles;
import org.deepspg.testing.Parity;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Edge and KL losses (float32) vs their stock-op oracles (spec §4.2, §4.3), value and gradients. */
class LossParityTest {
  /**
   * Relative to the reference's max magnitude (no floor: loss gradients are O(1/numel)). The kernels accumulate in
   * double; the float32 oracle's mean over up to ~10^5 terms carries ~1e-6 relative rounding.
   */
  static final double TOL = 1e-5;
  /**
   * Floor of the tolerance scale: TOL·1e-6 = 1e-11 absolute. Needed where the exact result is 0 and the float32 oracle
   * leaves rounding residue (Sobel of a 1x1 plane with replicate padding: oracle 2.4e-15, kernel exactly 0); far below
   * any real loss or gradient magnitude here (≥ 1e-6).
   */
  static final double SCALE_FLOOR = 1e-6;

  @BeforeAll
  static void load() {
    NativeLibrary.ensureLoaded();
  }

  static Stream<Arguments> edgeShapes() {
    List<Arguments> c = new ArrayList<>();
    long[][] shapes = {{2, 3, 1, 1}, {1, 3, 1, 7}, {1, 3, 6, 1}, {2, 3, 17, 19}, {1, 3, 64, 96}, {2, 1, 5, 4}};
    for (long[] s : shapes)
      for (EdgeOperator op : EdgeOperator.values())
        for (boolean permuted : new boolean[] {false, true}) c.add(Arguments.of(s, op, permuted));
    return c.stream();
  }

  @ParameterizedTest(name = "{0} {1} permuted={2}")
  @MethodSource("edgeShapes")
  void edgeMatchesOracle(long[] shape, EdgeOperator op, boolean permuted) {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(shape[2] * 100 + shape[3]);
      long[] s = permuted ? new long[] {shape[0], shape[2], shape[3], shape[1]} : shape;
      Tensor out = torch.rand(s).requires_grad_(true), gt = torch.rand(s).requires_grad_(true);
      Parity.check("edge " + op, t -> new Tensor[] {EdgeLoss.apply(p(t[0], permuted), p(t[1], permuted), op)},
          t -> new Tensor[] {Oracles.edge(p(t[0], permuted), p(t[1], permuted), op)}, new Tensor[] {out, gt}, TOL,
          TOL, 1, SCALE_FLOOR);
    }
  }

  static Stream<Arguments> klShapes() {
    return Stream.of(
        Arguments.of(new long[] {2, 150, 16, 24}, 1.0, false, false),
        Arguments.of(new long[] {2, 150, 16, 24}, 0.5, true, false),
        Arguments.of(new long[] {1, 5, 1, 1}, 1.0, true, true),
        Arguments.of(new long[] {3, 7, 9}, 2.0, false, true),
        Arguments.of(new long[] {1, 150, 64, 96}, 1.0, false, false));
  }

  @ParameterizedTest(name = "{0} T={1} gtGrad={2} permuted={3}")
  @MethodSource("klShapes")
  void klMatchesOracle(long[] shape, double temperature, boolean gtGrad, boolean permuted) {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(shape[1] + shape.length);
      Tensor zo = torch.randn(shape).mul(new Scalar(3.0)).requires_grad_(true);
      Tensor zg = torch.randn(shape).mul(new Scalar(3.0)).requires_grad_(gtGrad);
      Parity.check("kl", t -> new Tensor[] {KlLoss.apply(q(t[0], permuted), q(t[1], permuted), temperature)},
          t -> new Tensor[] {Oracles.kl(q(t[0], permuted), q(t[1], permuted), temperature)}, new Tensor[] {zo, zg},
          TOL, TOL, 2, SCALE_FLOOR);
    }
  }

  /** Non-contiguous but same shape: transpose the two trailing dims twice over a transposed copy. */
  private static Tensor q(Tensor t, boolean permuted) {
    return permuted ? t.transpose(-1, -2).contiguous().transpose(-1, -2) : t;
  }

  private static Tensor p(Tensor t, boolean permuted) {
    return permuted ? t.permute(0, 3, 1, 2) : t;
  }

  @Test
  void klTakesZeroLogZeroForANegativeInfiniteGroundTruthLogit() {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(41);
      Tensor zGt = torch.randn(2, 5, 3, 70); // 210 pixels: several CPU tiles with a rest
      zGt.select(1, 0).fill_(new Scalar(Double.NEGATIVE_INFINITY)); // class 0 impossible in the ground truth
      zGt.select(1, 3).select(2, 1).fill_(new Scalar(Double.NEGATIVE_INFINITY));
      Tensor zOut = torch.randn(2, 5, 3, 70);
      // the oracle with P_gt log P_gt := 0 where P_gt = 0, in float64
      Tensor lq = zGt.to(torch.ScalarType.Double).log_softmax(1);
      Tensor lp = zOut.to(torch.ScalarType.Double).log_softmax(1);
      Tensor terms = lq.exp().mul(lq.sub(lp));
      double want = torch.where(lq.isneginf(), torch.zeros_like(terms), terms).sum().item_double() / (2 * 3 * 70);
      for (torch.ScalarType dt : new torch.ScalarType[] {torch.ScalarType.Float, torch.ScalarType.Double}) {
        Tensor out = zOut.to(dt).detach().requires_grad_(true);
        Tensor loss = KlLoss.apply(out, zGt.to(dt), 1.0);
        assertEquals(want, loss.item_double(), 1e-5 * Math.abs(want), dt + " loss");
        loss.backward();
        assertTrue(out.grad().isfinite().all().item_bool(), dt + " gradient finite");
      }
    }
  }

  @Test
  void lossesAreScalarsWithGradientsOnlyWhereRequested() {
    try (PointerScope scope = new PointerScope()) {
      Tensor out = torch.rand(1, 3, 4, 4).requires_grad_(true), gt = torch.rand(1, 3, 4, 4);
      Tensor l = EdgeLoss.apply(out, gt, EdgeOperator.DIFF);
      assertEquals(0, l.dim());
      l.backward();
      assertTrue(out.grad().defined());
      assertFalse(gt.grad() != null && gt.grad().defined());
      Tensor zo = torch.randn(1, 4, 2, 2), zg = torch.randn(1, 4, 2, 2);
      Tensor k = KlLoss.apply(zo, zg, 1.0);
      assertEquals(0, k.dim());
      assertNull(k.grad_fn());
      assertEquals(0.0, KlLoss.apply(zo, zo, 1.0).item_double(), 1e-7, "KL of identical logits");
    }
  }

  @Test
  void rejectsBadArguments() {
    try (PointerScope scope = new PointerScope()) {
      Tensor a = torch.rand(1, 3, 4, 4);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> EdgeLoss.apply(a, torch.rand(1, 3, 4, 5), EdgeOperator.DIFF));
      assertTrue(e.getMessage().contains("[1, 3, 4, 5]"), e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> EdgeLoss.apply(torch.rand(3, 4, 4), torch.rand(3, 4, 4),
          EdgeOperator.DIFF));
      assertThrows(IllegalArgumentException.class, () -> KlLoss.apply(a, a, 0.0));
      assertThrows(IllegalArgumentException.class, () -> KlLoss.apply(a, a, Double.NaN));
      assertThrows(IllegalArgumentException.class, () -> KlLoss.apply(a, a.to(torch.ScalarType.Double), 1.0));
      assertThrows(IllegalArgumentException.class, () -> KlLoss.apply(torch.rand(5), torch.rand(5), 1.0));
    }
  }
}
