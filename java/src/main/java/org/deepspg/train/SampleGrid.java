/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import java.util.List;
import org.deepspg.data.Image;

/**
 * A sample grid for visual inspection during training: one column per validation image, rows low-light input /
 * network output / ground truth, each cell scaled down (box filter) to at most {@code maxSide} pixels, separated by
 * 4-pixel white gutters.
 */
public final class SampleGrid {
  private static final int GUTTER = 4;

  private SampleGrid() {}

  /**
   * @param columns per column {low, output, target}, all three of one column the same size
   * @param maxSide longest cell side in pixels (≥ 8)
   * @return the grid image
   */
  public static Image compose(List<Image[]> columns, int maxSide) {
    if (columns.isEmpty()) throw new IllegalArgumentException("no images for the sample grid");
    if (maxSide < 8) throw new IllegalArgumentException("maxSide must be >= 8, got " + maxSide);
    int rows = columns.get(0).length;
    int cell = 0;
    Image[][] small = new Image[columns.size()][rows];
    for (int c = 0; c < columns.size(); c++) {
      for (int r = 0; r < rows; r++) {
        small[c][r] = shrink(columns.get(c)[r], maxSide);
        cell = Math.max(cell, Math.max(small[c][r].width(), small[c][r].height()));
      }
    }
    int w = columns.size() * (cell + GUTTER) + GUTTER, h = rows * (cell + GUTTER) + GUTTER;
    float[] rgb = new float[3 * w * h];
    java.util.Arrays.fill(rgb, 1f);
    for (int c = 0; c < small.length; c++) {
      for (int r = 0; r < rows; r++) {
        Image im = small[c][r];
        int x0 = GUTTER + c * (cell + GUTTER), y0 = GUTTER + r * (cell + GUTTER);
        float[] src = im.rgb();
        int iw = im.width(), ih = im.height();
        for (int ch = 0; ch < 3; ch++) {
          for (int y = 0; y < ih; y++) {
            for (int x = 0; x < iw; x++) {
              float v = src[ch * iw * ih + y * iw + x];
              rgb[ch * w * h + (y0 + y) * w + x0 + x] = Math.max(0f, Math.min(1f, v));
            }
          }
        }
      }
    }
    return Image.of(w, h, rgb);
  }

  /** Box-filter downscale by an integer factor so the longer side is at most maxSide. */
  static Image shrink(Image im, int maxSide) {
    int f = (Math.max(im.width(), im.height()) + maxSide - 1) / maxSide;
    int w = im.width() / Math.max(1, f), h = im.height() / Math.max(1, f), iw = im.width(), ih = im.height();
    if (f <= 1 || w < 1 || h < 1) return im;
    float[] src = im.rgb(), out = new float[3 * w * h];
    float norm = 1f / (f * f);
    for (int ch = 0; ch < 3; ch++) {
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          float s = 0;
          for (int dy = 0; dy < f; dy++) {
            for (int dx = 0; dx < f; dx++) s += src[ch * iw * ih + (y * f + dy) * iw + x * f + dx];
          }
          out[ch * w * h + y * w + x] = s * norm;
        }
      }
    }
    return Image.of(w, h, out);
  }
}
