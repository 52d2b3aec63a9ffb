/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import org.deepspg.data.Image;

/**
 * Cuts between consecutive frames of a sequence: a new scene, or a sudden change of light, after which a locked
 * exposure ({@link Enhancer.Sequence}) no longer fits. A small bright object entering the view, motion, noise and
 * flicker are not cuts; a wide glare (headlights shining into the lens) and the first frames of a fade from black
 * score as cuts too, which is why a sequence detects cuts only when asked ({@link Enhancer#sequence(double)}).
 *
 * <p>A frame's signature is the level of each cell of a {@value #GRID}×{@value #GRID} grid laid over it: log2 of the
 * mean linear luminance of the cell's pixels (decoded from sRGB; pixels with a non-finite sample or alpha 0 left
 * out), plus {@link #FLOOR}. Two frames' {@linkplain #score score} is the fraction of cells whose level moved by at least
 * {@link #CELL_CHANGE} stops (the cell's light grew or fell by a factor of 1.7 or more), over the cells that both
 * frames have (a frame below {@value #GRID} pixels on a side leaves some empty). A cut is a score of at least the
 * threshold, for example {@link #SUGGESTED_THRESHOLD}: a local object moves few cells, a new scene or a change of the
 * light most of them. The signature is independent of the frame's size, so frames of different sizes compare.
 *
 * <p>What the grid and threshold were chosen on, and what scores as a cut that should not, is in docs/inference.md
 * ("Cuts relock, when asked").
 */
public final class SceneCuts {
  /** Cells per side of the grid. */
  public static final int GRID = 16;

  /** Added to a cell's mean linear luminance before the log, so that the noise of black cells is no change. */
  public static final double FLOOR = 1.0 / 4096;

  /** The change of a cell's level (log2 of its mean linear luminance), in stops, that counts the cell as changed. */
  public static final double CELL_CHANGE = 0.75;

  /** sRGB decoding, sampled at 1/4096 steps of the encoded value. */
  private static final float[] LINEAR = new float[4097];

  static {
    for (int i = 0; i < LINEAR.length; i++) {
      double v = i / 4096.0;
      LINEAR[i] = (float) (v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4));
    }
  }

  /**
   * The threshold the grid and {@link #CELL_CHANGE} were chosen for: a cut when at least this fraction of the cells
   * changed. Not a default: cut detection is off unless asked for, because a wide glare and the first frames of a fade
   * score as cuts too (docs/inference.md).
   */
  public static final double SUGGESTED_THRESHOLD = 0.35;

  /** A threshold that no score reaches: cut detection off. */
  public static final double OFF = Double.POSITIVE_INFINITY;

  private SceneCuts() {}

  /**
   * @param img a frame
   * @return its signature: {@value #GRID}² cell levels, row by row, NaN for a cell without pixels (or whose pixels
   *     all hold a non-finite sample)
   */
  public static float[] signature(Image img) {
    int h = img.height(), w = img.width();
    float[] rgb = img.rgb();
    float[] alpha = img.alpha();
    int plane = h * w;
    double[] sum = new double[GRID * GRID];
    long[] count = new long[GRID * GRID];
    int[] col = new int[w];
    for (int x = 0; x < w; x++) col[x] = (int) ((long) x * GRID / w);
    double[] line = new double[GRID]; // one row's sums per cell column
    int[] taken = new int[GRID]; // and its pixels with finite samples
    for (int y = 0; y < h; y++) {
      int row = (int) ((long) y * GRID / h) * GRID;
      int base = y * w;
      java.util.Arrays.fill(line, 0);
      java.util.Arrays.fill(taken, 0);
      for (int x = 0; x < w; x++) {
        int i = base + x;
        float r = rgb[i], g = rgb[plane + i], b = rgb[2 * plane + i];
        // a NaN pixel is no light, a transparent one no part of the view (a cell of only such pixels is left out)
        if (!Float.isFinite(r + g + b) || (alpha != null && alpha[i] == 0)) continue;
        line[col[x]] += 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
        taken[col[x]]++;
      }
      for (int c = 0; c < GRID; c++) {
        sum[row + c] += line[c];
        count[row + c] += taken[c];
      }
    }
    float[] sig = new float[GRID * GRID];
    for (int k = 0; k < sig.length; k++) {
      sig[k] = count[k] == 0 ? Float.NaN : (float) (Math.log(sum[k] / count[k] + FLOOR) / Math.log(2));
    }
    return sig;
  }

  /** An encoded sample's linear value (from the table; samples outside [0, 1] clipped). */
  private static float linear(float v) {
    return LINEAR[Math.min(4096, Math.max(0, Math.round(v * 4096)))];
  }

  /**
   * @param a a frame's signature
   * @param b the next frame's
   * @return the fraction of the cells both have whose level moved by at least {@link #CELL_CHANGE} (0 when they
   *     share no cell)
   */
  public static double score(float[] a, float[] b) {
    if (a.length != GRID * GRID || b.length != GRID * GRID) {
      throw new IllegalArgumentException("signatures have " + GRID * GRID + " cells, got " + a.length + " and "
          + b.length);
    }
    int both = 0, changed = 0;
    for (int k = 0; k < a.length; k++) {
      if (Float.isNaN(a[k]) || Float.isNaN(b[k])) continue;
      both++;
      if (Math.abs(a[k] - b[k]) >= CELL_CHANGE) changed++;
    }
    return both == 0 ? 0 : (double) changed / both;
  }

  /**
   * @param threshold a cut threshold
   * @return it, checked: in (0, 1], or {@link #OFF}
   * @throws IllegalArgumentException otherwise
   */
  static double checkThreshold(double threshold) {
    if (threshold == OFF || (threshold > 0 && threshold <= 1)) return threshold;
    throw new IllegalArgumentException("a cut threshold is a fraction of the frame in (0, 1], or SceneCuts.OFF; got "
        + threshold);
  }
}
