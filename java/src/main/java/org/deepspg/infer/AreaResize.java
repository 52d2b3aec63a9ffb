/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

/**
 * Area-averaging downscale of planar float images (each output pixel is the exact average of the input area it
 * covers, fractional coverage at the borders). Used for the context copy of tiled inference and for the bundled
 * samples. Separable: rows first, then columns; memory is the output plus one intermediate of {@code C·nh·w}.
 */
public final class AreaResize {
  private AreaResize() {}

  /**
   * Output size that fits {@code longSide}, keeping the aspect ratio (at least 1 pixel per side).
   *
   * @param h input height
   * @param w input width
   * @param longSide the largest allowed side
   * @return {@code {nh, nw}}; the input size when it already fits
   */
  public static int[] fit(int h, int w, int longSide) {
    int m = Math.max(h, w);
    if (m <= longSide) return new int[] {h, w};
    double s = longSide / (double) m;
    return new int[] {Math.max(1, (int) Math.round(h * s)), Math.max(1, (int) Math.round(w * s))};
  }

  /**
   * Output size whose padded area fits the padded square of {@code side}, keeping the aspect ratio: the largest scale
   * {@code s ≤ 1} (in steps of 1 %) for which {@code padded(round(h·s)) · padded(round(w·s)) ≤ padded(side)²} (at
   * least 1 pixel per side), so that an image whose long side is at most {@code side} is its own fit. A tiled
   * image's context copy is fitted so: the network's work and memory grow with the padded pixels, and fitting the
   * long side instead shrank a 3000×400 panorama 3.9× (to 768×102) where a square photo of the same pixels shrinks
   * 1.3× (tiled vs whole 29.7 dB against 42.5 with this fit; session 39).
   *
   * @param h input height
   * @param w input width
   * @param side the side of the square whose pixels the output may hold
   * @param multiple the padding multiple of the network (32)
   * @return {@code {nh, nw}}; the input size when it already fits
   */
  public static int[] fitPixels(int h, int w, int side, int multiple) {
    long budget = Padding.padded(side, multiple) * Padding.padded(side, multiple);
    double s = Math.min(1, side / Math.sqrt((double) h * w));
    while (true) {
      int nh = Math.max(1, (int) Math.round(h * s)), nw = Math.max(1, (int) Math.round(w * s));
      if (Padding.padded(nh, multiple) * Padding.padded(nw, multiple) <= budget || (nh == 1 && nw == 1)) {
        return new int[] {nh, nw};
      }
      s *= 0.99;
    }
  }

  /**
   * Downscales (or copies) a planar image.
   *
   * @param src {@code [C, H, W]} row-major
   * @param c channels
   * @param h input height
   * @param w input width
   * @param nh output height (1..h)
   * @param nw output width (1..w)
   * @return {@code [C, nh, nw]}
   */
  public static float[] resize(float[] src, int c, int h, int w, int nh, int nw) {
    if (src.length != (long) c * h * w) {
      throw new IllegalArgumentException("src has " + src.length + " values, expected " + c + "x" + h + "x" + w);
    }
    if (nh < 1 || nw < 1 || nh > h || nw > w) {
      throw new IllegalArgumentException("area resize only shrinks: " + h + "x" + w + " -> " + nh + "x" + nw);
    }
    Weights ry = weights(h, nh);
    Weights rx = weights(w, nw);
    float[] mid = new float[c * nh * w];
    for (int ch = 0; ch < c; ch++) {
      int so = ch * h * w;
      int mo = ch * nh * w;
      for (int oy = 0; oy < nh; oy++) {
        int row = mo + oy * w;
        for (int k = ry.start[oy]; k < ry.start[oy + 1]; k++) {
          int iy = ry.index[k];
          float wt = ry.weight[k];
          int in = so + iy * w;
          for (int x = 0; x < w; x++) mid[row + x] += wt * src[in + x];
        }
      }
    }
    float[] out = new float[c * nh * nw];
    for (int ch = 0; ch < c; ch++) {
      for (int oy = 0; oy < nh; oy++) {
        int in = ch * nh * w + oy * w;
        int o = ch * nh * nw + oy * nw;
        for (int ox = 0; ox < nw; ox++) {
          float s = 0;
          for (int k = rx.start[ox]; k < rx.start[ox + 1]; k++) s += rx.weight[k] * mid[in + rx.index[k]];
          out[o + ox] = s;
        }
      }
    }
    return out;
  }

  /** CSR list of (input index, weight) per output index; the weights of each output sum to 1. */
  private record Weights(int[] start, int[] index, float[] weight) {}

  private static Weights weights(int n, int m) {
    double scale = n / (double) m;
    int[] start = new int[m + 1];
    int cap = (int) Math.ceil(scale) + 2;
    int[] index = new int[m * cap];
    float[] weight = new float[m * cap];
    int k = 0;
    for (int o = 0; o < m; o++) {
      start[o] = k;
      double a = o * scale;
      double b = Math.min(n, (o + 1) * scale);
      for (int i = (int) Math.floor(a); i < n && i < b; i++) {
        double cover = Math.min(b, i + 1) - Math.max(a, i);
        if (cover <= 0) continue;
        index[k] = i;
        weight[k] = (float) (cover / scale);
        k++;
      }
    }
    start[m] = k;
    return new Weights(start, index, weight);
  }
}
