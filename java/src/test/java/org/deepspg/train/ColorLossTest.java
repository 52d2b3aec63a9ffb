/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.ops.Backends;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@link Losses#color}: its value against a plain-Java computation, what it punishes and what not, its gradient. */
class ColorLossTest {
  @BeforeAll
  static void init() {
    Backends.init();
  }

  /** L_over + L_chroma written out pixel by pixel in doubles, from the formulas in Losses#color's Javadoc. */
  private static double reference(double[] x, double[] y, int b, int hw) {
    double over = 0, chromaErr = 0, yEnergy = 0;
    double m = Losses.OVER_MARGIN;
    for (int n = 0; n < b; n++) {
      for (int p = 0; p < hw; p++) {
        double[] xc = new double[3], yc = new double[3];
        for (int c = 0; c < 3; c++) {
          int i = (n * 3 + c) * hw + p;
          if (y[i] < 1 - m) over += Math.max(0, x[i] - Math.max(y[i], 1 - m));
          xc[c] = x[i];
          yc[c] = y[i];
        }
        double mx = (xc[0] + xc[1] + xc[2]) / 3, my = (yc[0] + yc[1] + yc[2]) / 3;
        for (int c = 0; c < 3; c++) {
          double d = (xc[c] - mx) - (yc[c] - my);
          chromaErr += d * d;
          yEnergy += (yc[c] - my) * (yc[c] - my);
        }
      }
    }
    int pixels = b * hw;
    return over / (pixels * 3.0) + (chromaErr / pixels) / (yEnergy / pixels + Losses.CHROMA_FLOOR);
  }

  private static double[] values(Tensor t) {
    Tensor c = t.contiguous().to(torch.ScalarType.Double);
    double[] v = new double[(int) c.numel()];
    c.data_ptr_double().get(v);
    return v;
  }

  private static double color(Tensor x, Tensor y) {
    return Losses.color(x, y).item_double();
  }

  @Test
  void valueMatchesThePixelByPixelFormula() {
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(11);
      Tensor y = torch.rand(2, 3, 9, 7);
      Tensor x = y.mul(new Scalar(1.2)).add(torch.randn(2, 3, 9, 7).mul(new Scalar(0.1)));
      double want = reference(values(x), values(y), 2, 63);
      assertEquals(want, color(x, y), 1e-5 * want);
      assertTrue(want > 0.01, "a noisy, over-bright output costs something: " + want);
    }
  }

  @Test
  void zeroForTheTargetAndAnyShiftAlongTheGreyAxis() {
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(12);
      Tensor y = torch.rand(1, 3, 16, 16).mul(new Scalar(0.9));
      assertEquals(0, color(y, y), 1e-6);
      // the same colours lighter or darker by a grey offset: L_pix's business, not this term's
      assertEquals(0, color(y.add(new Scalar(0.05)), y), 1e-6);
      assertEquals(0, color(y.sub(new Scalar(0.3)), y), 1e-6);
      // a saturated target may be matched or exceeded (clamped later): nothing new is clipped
      Tensor white = torch.ones(1, 3, 4, 4);
      assertEquals(0, color(white.mul(new Scalar(1.3)), white), 1e-6);
    }
  }

  /**
   * The faults of the earlier forms: greying out must cost more the greyer it gets (the first hue term rewarded it),
   * and colour on a grey target (a cast) must cost something (the second one ignored it).
   */
  @Test
  void punishesGreyingOutAndCasts() {
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(14);
      Tensor y = torch.rand(1, 3, 16, 16).mul(new Scalar(0.9));
      Tensor grey = y.mean(new long[] {1}, true, new ScalarTypeOptional()).expand(1, 3, 16, 16);
      Tensor shifted = y.roll(new long[] {1}, new long[] {1}).mul(new Scalar(0.3)).add(y.mul(new Scalar(0.7)));
      double previous = color(shifted, y);
      for (double a : new double[] {0.25, 0.5, 0.75, 1.0}) {
        Tensor blend = shifted.mul(new Scalar(1 - a)).add(grey.mul(new Scalar(a)));
        double c = color(blend, y);
        assertTrue(c > previous, "blend " + a + " towards grey: " + c + " <= " + previous);
        previous = c;
      }
      assertEquals(1.0, previous, 0.01); // all grey: the target's whole chroma energy (the floor aside)
      // a grey scene rendered with a blue cast of 4/255: the floor keeps it finite, but it is not free
      Tensor greyScene = torch.full(new long[] {1, 3, 8, 8}, new Scalar(0.4));
      Tensor cast = greyScene.add(torch.tensor(new float[] {0f, 0f, 4f / 255}).reshape(1, 3, 1, 1));
      assertTrue(color(cast, greyScene) > 0.1, "a cast on a grey target: " + color(cast, greyScene));
    }
  }

  @Test
  void punishesHueShiftsMoreThanTheSameErrorAlongTheGreyAxis() {
    try (PointerScope s = new PointerScope()) {
      // an orange lamp (1.0, 0.55, 0.1)·0.6 turned yellow (1.0, 0.9, 0.1)·0.6 vs. the same L2 error as grey shift
      Tensor orange = torch.tensor(new float[] {0.6f, 0.33f, 0.06f}).reshape(1, 3, 1, 1);
      Tensor yellow = torch.tensor(new float[] {0.6f, 0.54f, 0.06f}).reshape(1, 3, 1, 1);
      double shift = yellow.sub(orange).norm().item_double() / Math.sqrt(3);
      Tensor brighter = orange.add(new Scalar(shift)); // same error norm, same chroma vector
      assertTrue(color(yellow, orange) > 0.05, "orange -> yellow " + color(yellow, orange));
      assertEquals(0, color(brighter, orange), 1e-6);
      // a dusk blue turned cyan
      Tensor blue = torch.tensor(new float[] {0.15f, 0.25f, 0.6f}).reshape(1, 3, 1, 1);
      Tensor cyan = torch.tensor(new float[] {0.15f, 0.55f, 0.6f}).reshape(1, 3, 1, 1);
      assertTrue(color(cyan, blue) > 0.05, "blue -> cyan " + color(cyan, blue));
    }
  }

  @Test
  void punishesNewlySaturatedHighlightsOnly() {
    try (PointerScope s = new PointerScope()) {
      Tensor sky = torch.full(new long[] {1, 3, 2, 2}, new Scalar(0.8)); // a bright grey sky, not clipped
      double blown = color(sky.add(new Scalar(0.4)), sky); // 1.2: clipped to white at output
      assertEquals(0.25, blown, 1e-6); // mean(relu(1.2 − max(0.8, 0.95)))
      assertEquals(0, color(sky.add(new Scalar(0.1)), sky), 1e-6); // 0.9: too bright but not saturated
    }
  }

  @Test
  void gradientMatchesCentralDifferences() {
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(13);
      Tensor y = torch.rand(1, 3, 3, 3).to(torch.ScalarType.Double);
      Tensor x = y.mul(new Scalar(1.1)).add(torch.randn(1, 3, 3, 3).to(torch.ScalarType.Double)
          .mul(new Scalar(0.2))).detach().requires_grad_(true);
      Tensor g = torch.grad(new TensorVector(Losses.color(x, y)), new TensorVector(x)).get(0);
      double[] gv = values(g);
      double[] xv = values(x.detach());
      double[] yv = values(y);
      double h = 1e-6;
      for (int i = 0; i < xv.length; i++) {
        double keep = xv[i];
        xv[i] = keep + h;
        double up = reference(xv, yv, 1, 9);
        xv[i] = keep - h;
        double down = reference(xv, yv, 1, 9);
        xv[i] = keep;
        assertEquals((up - down) / (2 * h), gv[i], 1e-5, "d/dx[" + i + "]");
      }
    }
  }
}
