/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.eval;

import java.util.Arrays;

/**
 * The noise level of an image without a reference, so that the grain a method leaves in real dark photos (which have
 * no ground truth) can be compared between methods.
 *
 * <p>Immerkær's estimator (Fast noise variance estimation, CVIU 1996) of the standard deviation of additive white
 * noise: the luma {@code Y = 0.299 R + 0.587 G + 0.114 B} in 8-bit units is filtered with the difference of two
 * Laplacians {@code N = [1 -2 1; -2 4 -2; 1 -2 1]}, which cancels constant, linear and quadratic image content;
 * for Gaussian noise {@code E|Y*N| = sqrt(2/π) · 6σ}, hence {@code σ = sqrt(π/2) · mean|Y*N| / 6}. The mask also
 * answers to edges and texture, so, as Tai and Yang (ICALIP 2008) do, the {@value #EDGE_PERCENT} % of interior
 * pixels with the strongest Sobel gradient ({@code |Gx| + |Gy|}) are left out. What remains still counts fine
 * texture as noise: compare methods on the same images, not images with each other.
 *
 * <p>Images are planar {@code [3, H, W]} sRGB values in [0, 1].
 */
public final class NoiseLevel {
  /** Percent of interior pixels, those with the strongest gradient, that the estimate leaves out. */
  public static final int EDGE_PERCENT = 10;

  private NoiseLevel() {}

  /**
   * @param chw the image {@code [3, H, W]}, values in [0, 1]
   * @param h its height, at least 3
   * @param w its width, at least 3
   * @return the estimated noise standard deviation of the luma in 8-bit units (0–255 scale)
   */
  public static double sigma(float[] chw, int h, int w) {
    if (h < 3 || w < 3) throw new IllegalArgumentException("noise level needs at least 3x3 pixels, got " + w + "x" + h);
    int n = h * w;
    if (chw.length != 3 * n) {
      throw new IllegalArgumentException("image of " + chw.length + " values is not [3, " + h + ", " + w + "]");
    }
    float[] y = new float[n];
    for (int i = 0; i < n; i++) y[i] = 255f * (0.299f * chw[i] + 0.587f * chw[n + i] + 0.114f * chw[2 * n + i]);
    int m = (h - 2) * (w - 2);
    float[] lap = new float[m], grad = new float[m];
    int k = 0;
    for (int r = 1; r < h - 1; r++) {
      for (int c = 1; c < w - 1; c++, k++) {
        int o = r * w + c;
        float a = y[o - w - 1], b = y[o - w], cc = y[o - w + 1];
        float d = y[o - 1], e = y[o], f = y[o + 1];
        float g = y[o + w - 1], hh = y[o + w], ii = y[o + w + 1];
        lap[k] = Math.abs(a - 2 * b + cc - 2 * d + 4 * e - 2 * f + g - 2 * hh + ii);
        float gx = (cc + 2 * f + ii) - (a + 2 * d + g);
        float gy = (g + 2 * hh + ii) - (a + 2 * b + cc);
        grad[k] = Math.abs(gx) + Math.abs(gy);
      }
    }
    float[] sorted = grad.clone();
    Arrays.sort(sorted);
    // Keep the (100 - EDGE_PERCENT) % weakest gradients; ties at the threshold are kept (a flat image keeps all).
    float threshold = sorted[Math.max(0, (int) Math.ceil(m * ((100 - EDGE_PERCENT) / 100.0)) - 1)];
    double sum = 0;
    long count = 0;
    for (int i = 0; i < m; i++) {
      if (grad[i] <= threshold) {
        sum += lap[i];
        count++;
      }
    }
    return Math.sqrt(Math.PI / 2) * sum / (6.0 * count);
  }

  /**
   * @param chw the image {@code [3, H, W]}, values in [0, 1]
   * @return the mean luma {@code 0.299 R + 0.587 G + 0.114 B} of the sRGB values in 8-bit units
   */
  public static double meanLuma(float[] chw) {
    if (chw.length % 3 != 0) throw new IllegalArgumentException("image of " + chw.length + " values is not [3, H, W]");
    int n = chw.length / 3;
    double s = 0;
    for (int i = 0; i < n; i++) s += 0.299 * chw[i] + 0.587 * chw[n + i] + 0.114 * chw[2 * n + i];
    return n == 0 ? Double.NaN : 255 * s / n;
  }
}
