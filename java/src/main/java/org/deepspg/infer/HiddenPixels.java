/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import org.deepspg.data.Image;

/**
 * Fully transparent pixels (alpha 0) are not content: their colour is whatever the encoder left there (black from a
 * premultiplied source, white from some editors), yet the network's channel attention is a whole-image statistic, so
 * that colour used to change the visible pixels (a transparent margin filled white instead of black moved them by
 * 43-45 levels on average; the API audit of session 39). Before enhancement they are filled from the visible pixels
 * alone, by push-pull: the visible pixels are averaged over a pyramid of 2×2 blocks, and each hidden pixel takes the
 * bilinear interpolation of the next coarser level where its own block holds nothing visible. The fill is smooth (no
 * edges for the convolutions to find at the rim of the visible area), it depends only on the visible pixels and
 * their positions, and visible pixels keep their values to the bit. Partly transparent pixels are visible (blended)
 * and kept. SceneCuts leaves transparent pixels out of its signature for the same reason.
 */
final class HiddenPixels {
  private HiddenPixels() {}

  /**
   * @param img an image; its alpha plane, when present, must hold values in [0, 1]
   * @return {@code img} itself when it has no fully transparent pixel, else a copy whose hidden pixels hold the fill
   *     (new rgb array; the alpha array is shared), black when no pixel is visible
   */
  static Image filled(Image img) {
    float[] a = img.alpha();
    if (a == null) return img;
    boolean hidden = false, visible = false;
    for (float v : a) {
      if (v > 0) visible = true;
      else hidden = true;
    }
    int w = img.width(), h = img.height();
    if (!hidden) return img;
    if (!visible) return new Image(w, h, new float[3 * a.length], a, img.metadata());
    float[] weight = new float[a.length];
    float[] sum = img.rgb().clone(); // colour times weight: visible pixels keep theirs, hidden ones hold 0
    int n = a.length;
    for (int i = 0; i < n; i++) {
      if (a[i] > 0) {
        weight[i] = 1;
      } else {
        sum[i] = sum[n + i] = sum[2 * n + i] = 0;
      }
    }
    fill(sum, weight, h, w);
    return new Image(w, h, sum, a, img.metadata());
  }

  /**
   * Replaces {@code sum} (3 planes of colour × weight) by the filled colour: where a pixel's weight is positive the
   * weighted mean (its own colour at full resolution), elsewhere the coarser level's fill, interpolated.
   */
  private static void fill(float[] sum, float[] weight, int h, int w) {
    if (h == 1 && w == 1) { // the whole image's visible mean (some pixel is visible)
      for (int c = 0; c < 3; c++) sum[c] /= weight[0];
      return;
    }
    int h2 = (h + 1) / 2, w2 = (w + 1) / 2, n = h * w, n2 = h2 * w2;
    float[] sum2 = new float[3 * n2], weight2 = new float[n2];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int i = y * w + x, j = (y / 2) * w2 + x / 2;
        weight2[j] += weight[i];
        for (int c = 0; c < 3; c++) sum2[c * n2 + j] += sum[c * n + i];
      }
    }
    fill(sum2, weight2, h2, w2); // sum2 now holds the coarser level's fill
    for (int y = 0; y < h; y++) {
      // the centre of pixel y on the coarser grid, clamped to its first and last rows
      float py = Math.min(Math.max((y + 0.5f) / 2 - 0.5f, 0), h2 - 1);
      int y0 = (int) py, y1 = Math.min(y0 + 1, h2 - 1);
      float fy = py - y0;
      for (int x = 0; x < w; x++) {
        int i = y * w + x;
        if (weight[i] > 0) {
          for (int c = 0; c < 3; c++) sum[c * n + i] /= weight[i];
          continue;
        }
        float px = Math.min(Math.max((x + 0.5f) / 2 - 0.5f, 0), w2 - 1);
        int x0 = (int) px, x1 = Math.min(x0 + 1, w2 - 1);
        float fx = px - x0;
        for (int c = 0; c < 3; c++) {
          int o = c * n2;
          float top = sum2[o + y0 * w2 + x0] * (1 - fx) + sum2[o + y0 * w2 + x1] * fx;
          float bottom = sum2[o + y1 * w2 + x0] * (1 - fx) + sum2[o + y1 * w2 + x1] * fx;
          sum[c * n + i] = top * (1 - fy) + bottom * fy;
        }
      }
    }
  }
}
