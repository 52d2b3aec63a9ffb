/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The no-reference noise estimate on images whose noise is known. */
class NoiseLevelTest {
  private static final int H = 160, W = 200, N = H * W;

  /** A grey image {@code base(r, c)} (0–255) with Gaussian noise of σ {@code sigma} (8-bit units) on every channel. */
  private static float[] image(java.util.function.IntBinaryOperator base, double sigma, long seed) {
    Random rnd = new Random(seed);
    float[] a = new float[3 * N];
    for (int r = 0; r < H; r++) {
      for (int c = 0; c < W; c++) {
        float v = (float) ((base.applyAsInt(r, c) + sigma * rnd.nextGaussian()) / 255);
        a[r * W + c] = v;
        a[N + r * W + c] = v;
        a[2 * N + r * W + c] = v;
      }
    }
    return a;
  }

  @Test
  void findsTheNoiseOfAFlatImage() {
    for (double sigma : new double[] {2, 8, 20}) {
      double est = NoiseLevel.sigma(image((r, c) -> 100, sigma, 1), H, W);
      // Leaving out the strongest 10 % of gradients also drops some of the noise's largest responses: measured
      // 0.985 of the true σ at this size.
      assertEquals(sigma, est, 0.05 * sigma, "sigma " + sigma);
    }
  }

  @Test
  void ignoresRampsCurvesAndEdges() {
    // No noise: a linear ramp plus a quadratic bowl (the mask cancels both) and a hard step (left out as an edge).
    float[] clean = image((r, c) -> c / 2 + (r - 80) * (r - 80) / 64 + (c > 120 ? 60 : 0), 0, 0);
    assertTrue(NoiseLevel.sigma(clean, H, W) < 0.3, "noise-free image: " + NoiseLevel.sigma(clean, H, W));
    // The same scene with σ = 6 noise reads close to 6.
    float[] noisy = image((r, c) -> c / 2 + (r - 80) * (r - 80) / 64 + (c > 120 ? 60 : 0), 6, 2);
    assertEquals(6, NoiseLevel.sigma(noisy, H, W), 0.3); // measured 6.02
  }

  @Test
  void meanLumaWeighsTheChannels() {
    float[] a = new float[3 * N];
    java.util.Arrays.fill(a, 0, N, 1f); // pure red: 0.299 of white
    assertEquals(0.299 * 255, NoiseLevel.meanLuma(a), 1e-6);
  }

  @Test
  void refusesBadShapes() {
    assertThrows(IllegalArgumentException.class, () -> NoiseLevel.sigma(new float[3 * 4], 2, 2));
    assertThrows(IllegalArgumentException.class, () -> NoiseLevel.sigma(new float[3 * N - 1], H, W));
    assertThrows(IllegalArgumentException.class, () -> NoiseLevel.meanLuma(new float[4]));
  }
}
