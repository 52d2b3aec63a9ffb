/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

/**
 * Geometric helpers on planar {@code [C, H, W]} float data: crop, area (box-filter) resize in linear light, and
 * fitting to a maximum side.
 */
public final class ImageOps {
  private ImageOps() {}

  /**
   * Crops a rectangle (alpha is cropped with it).
   *
   * @param img the image
   * @param x0 left column
   * @param y0 top row
   * @param w width
   * @param h height
   * @return the cropped image
   * @throws IllegalArgumentException when the rectangle leaves the image
   */
  public static Image crop(Image img, int x0, int y0, int w, int h) {
    if (x0 < 0 || y0 < 0 || w < 1 || h < 1 || x0 + w > img.width() || y0 + h > img.height()) {
      throw new IllegalArgumentException("crop [" + x0 + ", " + y0 + ", " + w + "x" + h + "] outside the "
          + img.width() + "x" + img.height() + " image");
    }
    float[] rgb = cropPlanes(img.rgb(), 3, img.width(), img.height(), x0, y0, w, h);
    float[] a = img.hasAlpha() ? cropPlanes(img.alpha(), 1, img.width(), img.height(), x0, y0, w, h) : null;
    return new Image(w, h, rgb, a, img.metadata());
  }

  static float[] cropPlanes(float[] src, int channels, int sw, int sh, int x0, int y0, int w, int h) {
    float[] out = new float[channels * w * h];
    for (int c = 0; c < channels; c++) {
      for (int y = 0; y < h; y++) {
        System.arraycopy(src, (c * sh + y0 + y) * sw + x0, out, (c * h + y) * w, w);
      }
    }
    return out;
  }

  /**
   * Downscales so that the longer side is at most {@code maxSide} (aspect ratio kept, sizes rounded), with
   * {@link #resizeArea}. Images already small enough are returned unchanged.
   *
   * @param img the image
   * @param maxSide the largest allowed side; 0 or negative = no limit
   * @return the image, possibly smaller
   */
  public static Image fitMaxSide(Image img, int maxSide) {
    int w = img.width(), h = img.height();
    if (maxSide <= 0 || Math.max(w, h) <= maxSide) return img;
    double s = (double) maxSide / Math.max(w, h);
    int nw = Math.max(1, (int) Math.round(w * s)), nh = Math.max(1, (int) Math.round(h * s));
    return resizeArea(img, nw, nh);
  }

  /**
   * Resizes with an exact area-averaging (box) filter, computed in linear light (sRGB decoded, averaged, encoded),
   * so that downscaling keeps the average luminance. Alpha is averaged as is. Intended for downscaling; for
   * upscaling it degenerates to nearest-neighbour-like box sampling.
   *
   * @param img the image
   * @param nw new width, at least 1
   * @param nh new height, at least 1
   * @return the resized image
   */
  public static Image resizeArea(Image img, int nw, int nh) {
    if (nw < 1 || nh < 1) throw new IllegalArgumentException("new size must be >= 1x1, got " + nw + "x" + nh);
    int w = img.width(), h = img.height();
    if (nw == w && nh == h) return img;
    float[] lin = Srgb.toLinear(img.rgb());
    float[] rgb = Srgb.fromLinear(resizePlanes(lin, 3, w, h, nw, nh));
    float[] a = img.hasAlpha() ? resizePlanes(img.alpha(), 1, w, h, nw, nh) : null;
    return new Image(nw, nh, rgb, a, img.metadata());
  }

  /** Separable box resampling: each output sample averages the input interval it covers, weighted by overlap. */
  static float[] resizePlanes(float[] src, int channels, int w, int h, int nw, int nh) {
    Weights wx = weights(w, nw), wy = weights(h, nh);
    float[] tmp = new float[channels * h * nw];
    for (int c = 0; c < channels; c++) {
      for (int y = 0; y < h; y++) {
        int row = (c * h + y) * w, orow = (c * h + y) * nw;
        for (int x = 0; x < nw; x++) {
          double acc = 0;
          for (int k = wx.start[x], j = 0; j < wx.w[x].length; k++, j++) acc += wx.w[x][j] * src[row + k];
          tmp[orow + x] = (float) acc;
        }
      }
    }
    float[] out = new float[channels * nh * nw];
    for (int c = 0; c < channels; c++) {
      for (int y = 0; y < nh; y++) {
        int orow = (c * nh + y) * nw;
        for (int j = 0, k = wy.start[y]; j < wy.w[y].length; j++, k++) {
          double wt = wy.w[y][j];
          int trow = (c * h + k) * nw;
          for (int x = 0; x < nw; x++) out[orow + x] += (float) (wt * tmp[trow + x]);
        }
      }
    }
    return out;
  }

  private record Weights(int[] start, double[][] w) {}

  private static Weights weights(int in, int out) {
    double scale = (double) in / out;
    int[] start = new int[out];
    double[][] w = new double[out][];
    for (int i = 0; i < out; i++) {
      double a = i * scale, b = (i + 1) * scale;
      int s = (int) Math.floor(a), e = Math.min(in, (int) Math.ceil(b));
      if (e <= s) e = Math.min(in, s + 1);
      s = Math.min(s, in - 1);
      start[i] = s;
      w[i] = new double[e - s];
      double sum = 0;
      for (int k = s; k < e; k++) {
        double ov = Math.min(b, k + 1) - Math.max(a, k);
        w[i][k - s] = Math.max(ov, 0);
        sum += w[i][k - s];
      }
      if (sum <= 0) { w[i][0] = 1; sum = 1; }
      for (int k = 0; k < w[i].length; k++) w[i][k] /= sum;
    }
    return new Weights(start, w);
  }
}
