/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

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
import org.deepspg.testing.Tensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Retinex kernels (float32) vs the stock-op expressions of spec §3, forward and gradients. */
class RetinexParityTest {
  /**
   * Spec §3: "fp32 exact to 1 ulp-level tolerance (≤1e−6)". Elementwise ops whose only difference from the oracle is
   * operation order (I·(1+M) vs I·M + I; (a+b+c)/3 vs mean): a few ulp of values of magnitude ≤ ~10.
   */
  static final double TOL = 1e-6;

  @BeforeAll
  static void load() {
    NativeLibrary.ensureLoaded();
  }

  static Stream<Arguments> shapes() {
    List<Arguments> c = new ArrayList<>();
    for (int b : new int[] {1, 2})
      for (long[] hw : new long[][] {{1, 1}, {7, 9}, {64, 96}})
        for (boolean permuted : new boolean[] {false, true}) c.add(Arguments.of(b, hw[0], hw[1], permuted));
    c.add(Arguments.of(1, 256L, 256L, false));
    return c.stream();
  }

  private static Tensor p(Tensor t, boolean permuted) {
    return permuted ? t.permute(0, 3, 1, 2) : t;
  }

  @ParameterizedTest(name = "B={0} H={1} W={2} permuted={3}")
  @MethodSource("shapes")
  void matchesOracles(int b, long h, long w, boolean permuted) {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(b * 31 + h * w);
      long[] shape = permuted ? new long[] {b, h, w, 3} : new long[] {b, 3, h, w};
      Tensor image = torch.rand(shape).requires_grad_(true);
      Tensor m = torch.randn(shape).requires_grad_(true);
      for (PriorMode mode : PriorMode.values()) {
        Parity.check("prior " + mode, t -> new Tensor[] {Retinex.prior(p(t[0], permuted), mode)},
            t -> new Tensor[] {Oracles.prior(p(t[0], permuted), mode)}, new Tensor[] {image}, TOL, TOL, 1);
      }
      Parity.check("lightUp", t -> new Tensor[] {Retinex.lightUp(p(t[0], permuted), p(t[1], permuted))},
          t -> new Tensor[] {Oracles.lightUp(p(t[0], permuted), p(t[1], permuted))}, new Tensor[] {image, m}, TOL,
          TOL, 2);
      // Illumination: keep 1 + M > 0.05 so 1/(1+M)^2 stays moderate (the clamp region is tested separately).
      Tensor mPos = torch.rand(shape).sub(new Scalar(0.95)).requires_grad_(true);
      Parity.check("illumination", t -> new Tensor[] {Retinex.illumination(p(t[0], permuted))},
          t -> new Tensor[] {Oracles.illumination(p(t[0], permuted))}, new Tensor[] {mPos}, TOL, TOL, 3, 0);
      Parity.check("decompose", t -> Retinex.decompose(p(t[0], permuted), p(t[1], permuted)),
          t -> new Tensor[] {Oracles.lightUp(p(t[0], permuted), p(t[1], permuted)),
              Oracles.illumination(p(t[1], permuted))},
          new Tensor[] {image, mPos}, TOL, TOL, 4, 0);
    }
  }

  /** Inside the 1e-4 guard X_l is the constant 1e4 and M gets no gradient (like clamp_min in the oracle). */
  @Test
  void maxPriorPropagatesANaNOfAnyChannelLikeAmax() {
    try (PointerScope scope = new PointerScope()) {
      for (torch.ScalarType dt : new torch.ScalarType[] {torch.ScalarType.Float, torch.ScalarType.Double}) {
        for (int c = 0; c < 3; c++) {
          Tensor img = torch.rand(1, 3, 2, 2).to(dt);
          img.select(1, c).select(1, 0).select(1, 0).fill_(new Scalar(Double.NaN));
          Tensor p = Retinex.prior(img, PriorMode.MAX).select(1, 3);
          Tensor want = img.amax(new long[] {1}, false);
          assertTrue(p.isnan().equal(want.isnan()), dt + ": NaN in channel " + c + " must propagate");
          assertTrue(p.nan_to_num().equal(want.nan_to_num()), dt + ": channel " + c + ", the other pixels");
        }
      }
    }
  }

  @Test
  void illuminationGuard() {
    try (PointerScope scope = new PointerScope()) {
      Tensor m = Tensors.fromDoubles(new double[] {-1.0, -2.0, -0.99995, 0.5, -0.5, 3.0}, 1, 3, 1, 2)
          .to(torch.ScalarType.Float).requires_grad_(true);
      Parity.check("illumination guard", t -> new Tensor[] {Retinex.illumination(t[0])},
          t -> new Tensor[] {Oracles.illumination(t[0])}, new Tensor[] {m}, TOL, TOL, 5, 0);
    }
  }

  /** Max prior with ties routes the gradient to the first maximal channel, like torch.max. */
  @Test
  void maxPriorTies() {
    try (PointerScope scope = new PointerScope()) {
      Tensor image = Tensors.fromDoubles(new double[] {0.5, 0.2, 0.5, 0.7, 0.5, 0.7}, 1, 3, 1, 2)
          .to(torch.ScalarType.Float).requires_grad_(true);
      Parity.check("max prior ties", t -> new Tensor[] {Retinex.prior(t[0], PriorMode.MAX)},
          t -> new Tensor[] {Oracles.prior(t[0], PriorMode.MAX)}, new Tensor[] {image}, 0, 0, 6);
    }
  }

  @Test
  void rejectsBadArguments() {
    try (PointerScope scope = new PointerScope()) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> Retinex.prior(torch.rand(1, 4, 2, 2), PriorMode.MEAN));
      assertTrue(e.getMessage().contains("[1, 4, 2, 2]"), e.getMessage());
      e = assertThrows(IllegalArgumentException.class,
          () -> Retinex.lightUp(torch.rand(1, 3, 2, 2), torch.rand(1, 3, 2, 3)));
      assertTrue(e.getMessage().contains("[1, 3, 2, 3]"), e.getMessage());
      assertThrows(IllegalArgumentException.class,
          () -> Retinex.lightUp(torch.rand(1, 3, 2, 2), torch.rand(1, 3, 2, 2).to(torch.ScalarType.Double)));
      assertThrows(IllegalArgumentException.class, () -> Retinex.illumination(torch.rand(3, 2, 2)));
    }
  }
}
