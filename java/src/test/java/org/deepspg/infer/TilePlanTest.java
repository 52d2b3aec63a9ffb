/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Tile layout and blending weights (pure Java). */
class TilePlanTest {
  /** Weights are float32 sums of a few cosines: exact to a few ulps. */
  private static final double WEIGHT_TOL = 1e-6;

  @Test
  void smallImageIsOneTile() {
    TilePlan p = TilePlan.of(300, 512, 64, 32);
    assertEquals(1, p.count());
    assertEquals(0, p.start(0));
    assertEquals(300, p.end(0));
    for (float w : p.weights(0)) assertEquals(1f, w);
  }

  @Test
  void tilesCoverAlignAndOverlap() {
    int[][] cases = {{513, 512, 64}, {1000, 512, 64}, {4000, 512, 64}, {6000, 512, 64}, {700, 128, 32},
        {129, 64, 0}, {1000, 96, 64}, {333, 64, 32}};
    for (int[] c : cases) {
      int size = c[0], tile = c[1], overlap = c[2];
      TilePlan p = TilePlan.of(size, tile, overlap, 32);
      String msg = p.toString();
      assertEquals(0, p.start(0), msg);
      assertEquals(size, p.end(p.count() - 1), msg);
      for (int i = 0; i < p.count(); i++) {
        assertEquals(0, p.start(i) % 32, "aligned start " + msg);
        assertTrue(p.end(i) - p.start(i) <= tile, "tile size " + msg);
        if (i > 0) {
          assertTrue(p.start(i) > p.start(i - 1), "increasing " + msg);
          assertTrue(p.end(i - 1) - p.start(i) >= overlap, "overlap " + msg);
        }
      }
      // Normalised weights form a partition of unity, and every pixel has weight.
      float[] sum = p.weightSum();
      double[] check = new double[size];
      for (int i = 0; i < p.count(); i++) {
        float[] w = p.weights(i);
        for (int k = 0; k < w.length; k++) check[p.start(i) + k] += w[k];
      }
      for (int x = 0; x < size; x++) {
        assertTrue(sum[x] > 0, "positive weight at " + x + " " + msg);
        assertEquals(check[x], sum[x], WEIGHT_TOL, msg);
      }
    }
  }

  /** Inside an overlap the two ramps are complementary raised cosines; away from tile edges the weight is 1. */
  @Test
  void raisedCosineRamps() {
    TilePlan p = TilePlan.of(1000, 512, 64, 32);
    float[] w0 = p.weights(0);
    assertEquals(1f, w0[0], WEIGHT_TOL);
    assertTrue(w0[w0.length - 1] < 0.01, "first tile fades out at its right edge");
    float[] w1 = p.weights(1);
    assertTrue(w1[0] < 0.01, "second tile fades in at its left edge");
    int ov = p.end(0) - p.start(1);
    for (int k = 0; k < ov; k++) {
      assertEquals(1.0, w0[p.start(1) - p.start(0) + k] + w1[k], WEIGHT_TOL, "complementary at " + k);
    }
  }

  @Test
  void rejectsBadArguments() {
    assertThrows(IllegalArgumentException.class, () -> TilePlan.of(100, 100, 10, 32));
    assertThrows(IllegalArgumentException.class, () -> TilePlan.of(100, 64, 48, 32));
    assertThrows(IllegalArgumentException.class, () -> TilePlan.of(0, 64, 0, 32));
  }
}
