/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Classical baselines: exact curves, oracle gamma recovery, CLAHE behaviour on a dark image. */
class BaselinesTest {
  /**
   * Gamma recovery: the synthetic target is exactly {@code (float) low^g}, so the MSE minimum lies within float32
   * rounding of g; golden-section stops at 1e-7 in log g. 1e-4 relative leaves room for the flat float32 optimum.
   */
  private static final double GAMMA_RTOL = 1e-4;

  @Test
  void identityIsAnExactCopy() {
    float[] low = {0f, 0.25f, 1f, 0.123456789f, -0.5f, 2f};
    float[] out = Baselines.identity(low);
    assertNotSame(low, out);
    assertArrayEquals(low, out);
  }

  @Test
  void gammaIsThePowerCurveOfTheClampedInput() {
    float[] low = {0f, 0.25f, 1f, 0.123456789f, -0.5f, 2f};
    float[] out = Baselines.gamma(low, 0.4);
    float[] expected = {
      0f, (float) Math.pow(0.25, 0.4), 1f, (float) Math.pow(0.123456789f, 0.4), 0f, 1f,
    };
    assertArrayEquals(expected, out);
    // g = 1 only clamps
    assertArrayEquals(new float[] {0f, 0.25f, 1f, 0.123456789f, 0f, 1f}, Baselines.gamma(low, 1.0));
    assertThrows(IllegalArgumentException.class, () -> Baselines.gamma(low, 0));
    assertThrows(IllegalArgumentException.class, () -> Baselines.gamma(low, Double.NaN));
  }

  @Test
  void bestGammaRecoversAKnownGamma() {
    float[] low = darkImage(40, 50, 11);
    for (double g : new double[] {0.45, 0.3, 1.7}) {
      float[] gt = Baselines.gamma(low, g);
      Baselines.GammaFit fit = Baselines.bestGamma(low, gt);
      assertEquals(g, fit.gamma(), GAMMA_RTOL * g, "true gamma " + g);
      assertTrue(fit.psnr() > 60, "near-exact reconstruction, got " + fit.psnr() + " dB");
      assertEquals(Metrics.psnr(fit.image(), gt), fit.psnr(), 1e-12);
      // it is the optimum: nearby exponents are worse
      assertTrue(Metrics.psnr(Baselines.gamma(low, g * 1.05), gt) < fit.psnr());
      assertTrue(Metrics.psnr(Baselines.gamma(low, g / 1.05), gt) < fit.psnr());
    }
  }

  @Test
  void bestGammaOnANoisyPairBeatsIdentity() {
    float[] low = darkImage(30, 40, 12);
    float[] gt = Baselines.gamma(low, 0.5);
    Random r = new Random(13);
    for (int i = 0; i < gt.length; i++) {
      gt[i] = Math.min(1f, Math.max(0f, gt[i] + 0.02f * (float) r.nextGaussian()));
    }
    Baselines.GammaFit fit = Baselines.bestGamma(low, gt);
    assertEquals(0.5, fit.gamma(), 0.05);
    assertTrue(fit.psnr() > Metrics.psnr(low, gt) + 5);
  }

  @Test
  void claheBrightensAndAddsContrastToADarkImage() {
    int h = 96;
    int w = 128;
    float[] low = darkImage(h, w, 14);
    float[] out = Baselines.clahe(low, h, w);
    assertEquals(low.length, out.length);
    double meanIn = mean(low);
    double meanOut = mean(out);
    assertTrue(meanOut > meanIn + 0.02, "mean " + meanIn + " -> " + meanOut);
    assertTrue(std(out) > std(low), "std " + std(low) + " -> " + std(out));
    for (float v : out) {
      assertTrue(v >= 0 && v <= 1);
      assertEquals(Math.rint(v * 255.0), v * 255.0, 1e-3, "8-bit quantised output");
    }
    // deterministic and size-preserving for a non-square, non-multiple-of-8 image
    float[] odd = darkImage(37, 53, 15);
    float[] o1 = Baselines.clahe(odd, 37, 53);
    assertArrayEquals(o1, Baselines.clahe(odd, 37, 53));
    assertEquals(3 * 37 * 53, o1.length);
  }

  @Test
  void claheRejectsWrongSizes() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Baselines.clahe(new float[10], 4, 4));
    assertTrue(e.getMessage().contains("3x4x4"), e.getMessage());
  }

  /** Smooth dark scene (values ≤ ~0.25) with a little texture, CHW. */
  private static float[] darkImage(int h, int w, long seed) {
    Random r = new Random(seed);
    float[] img = new float[3 * h * w];
    for (int c = 0; c < 3; c++) {
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          double base = 0.03 + 0.15 * x / w + 0.05 * y / h + 0.02 * c;
          double tex = 0.03 * Math.sin(x * 0.7) * Math.cos(y * 0.5);
          img[c * h * w + y * w + x] = (float) Math.max(0.0, base + tex + 0.005 * r.nextGaussian());
        }
      }
    }
    return img;
  }

  private static double mean(float[] a) {
    double s = 0;
    for (float v : a) {
      s += v;
    }
    return s / a.length;
  }

  private static double std(float[] a) {
    double m = mean(a);
    double s = 0;
    for (float v : a) {
      s += (v - m) * (v - m);
    }
    return Math.sqrt(s / a.length);
  }
}
