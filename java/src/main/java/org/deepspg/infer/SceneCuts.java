/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import org.deepspg.data.Image;
import org.deepspg.data.Srgb;

/**
 * Cuts between consecutive frames of a sequence: a new scene, after which a locked exposure ({@link
 * Enhancer.Sequence}) no longer fits. A small bright object entering the view, motion, camera shake, noise and flicker
 * are not cuts, and neither is the same view under another light: a glow (headlights shining into the lens), a fade,
 * a lamp switched on.
 *
 * <p>A frame's signature has two parts. Its levels: for each cell of a {@value #GRID}×{@value #GRID} grid, log2 of
 * the mean linear luminance of the cell's pixels (decoded from sRGB; pixels with a non-finite sample or alpha 0 left
 * out), plus {@link #FLOOR}. Its structure: the same on a {@value #FINE}×{@value #FINE} grid (plus
 * {@link #FINE_FLOOR}), minus each fine cell's 5×5 neighbourhood mean. Two frames' {@linkplain #score score} is the
 * fraction of cells whose level moved by at least {@link #CELL_CHANGE} stops (the cell's light grew or fell by a
 * factor of 1.7 or more); their {@linkplain #structure structure} likeness the normalised correlation of the
 * structures, the best over shifts of up to {@value #SHIFT} fine cells. {@linkplain #isCut A cut} is a score of at
 * least the threshold (for example {@link #SUGGESTED_THRESHOLD}) with structures less alike than
 * {@link #SAME_STRUCTURE}: much of the view changed its light, and it is not the same view. The signature is
 * independent of the frame's size, so frames of different sizes compare.
 *
 * <p>What the grids and thresholds were chosen on, and what they cannot tell (a dissolve), is in docs/inference.md
 * ("Cuts relock, when asked").
 */
public final class SceneCuts {
  /** Cells per side of the grid. */
  public static final int GRID = 16;

  /** Fine cells per side of the structure's grid (3 per cell). */
  public static final int FINE = 48;

  /** Added to a fine cell's mean linear luminance before the log of the structure. */
  public static final double FINE_FLOOR = 1.0 / 1024;

  /**
   * Structures at least this alike ({@link #structure}) make no cut, however much the light changed: the same view
   * under a glow, after a change of light or a fade.
   */
  public static final double SAME_STRUCTURE = 0.2;

  /** The largest shift, in fine cells each way, under which structures are compared (motion: 6 % of the view). */
  public static final int SHIFT = 3;

  /** Added to a cell's mean linear luminance before the log, so that the noise of black cells is no change. */
  public static final double FLOOR = 1.0 / 4096;

  /** The change of a cell's level (log2 of its mean linear luminance), in stops, that counts the cell as changed. */
  public static final double CELL_CHANGE = 0.75;

  /** sRGB decoding ({@link Srgb#toLinear(double)}), sampled at 1/4096 steps of the encoded value. */
  private static final float[] LINEAR = new float[4097];

  static {
    for (int i = 0; i < LINEAR.length; i++) LINEAR[i] = (float) Srgb.toLinear(i / 4096.0);
  }

  /**
   * The threshold the grid and {@link #CELL_CHANGE} were chosen for: a cut needs at least this fraction of the cells
   * changed (and another structure). Not a default: cut detection is off unless asked for.
   */
  public static final double SUGGESTED_THRESHOLD = 0.35;

  /** A threshold that no score reaches: cut detection off. */
  public static final double OFF = Double.POSITIVE_INFINITY;

  private SceneCuts() {}

  /**
   * @param img a frame
   * @return its signature: {@value #GRID}² cell levels, row by row, NaN for a cell without pixels (or whose pixels
   *     all hold a non-finite sample or alpha 0), then the {@value #FINE}² values of its structure (NaN for a fine
   *     cell without such pixels)
   */
  public static float[] signature(Image img) {
    int h = img.height(), w = img.width();
    float[] rgb = img.rgb();
    float[] alpha = img.alpha();
    int plane = h * w;
    double[] sum = new double[FINE * FINE];
    long[] count = new long[FINE * FINE];
    int[] col = new int[w];
    for (int x = 0; x < w; x++) col[x] = (int) ((long) x * FINE / w);
    double[] line = new double[FINE]; // one row's sums per fine column
    int[] taken = new int[FINE]; // and its pixels that count
    for (int y = 0; y < h; y++) {
      int row = (int) ((long) y * FINE / h) * FINE;
      int base = y * w;
      java.util.Arrays.fill(line, 0);
      java.util.Arrays.fill(taken, 0);
      for (int x = 0; x < w; x++) {
        int i = base + x;
        float r = rgb[i], g = rgb[plane + i], b = rgb[2 * plane + i];
        // a NaN pixel is no light, a transparent one no part of the view (a cell of only such pixels is left out)
        if (!(Float.isFinite(r) && Float.isFinite(g) && Float.isFinite(b)) || (alpha != null && alpha[i] == 0)) {
          continue;
        }
        line[col[x]] += 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
        taken[col[x]]++;
      }
      for (int c = 0; c < FINE; c++) {
        sum[row + c] += line[c];
        count[row + c] += taken[c];
      }
    }
    float[] sig = new float[GRID * GRID + FINE * FINE];
    int k3 = FINE / GRID; // a cell is k3 × k3 fine cells (floor(floor(x·FINE/w) / k3) = floor(x·GRID/w))
    for (int cy = 0; cy < GRID; cy++) {
      for (int cx = 0; cx < GRID; cx++) {
        double s = 0;
        long n = 0;
        for (int fy = cy * k3; fy < (cy + 1) * k3; fy++) {
          for (int fx = cx * k3; fx < (cx + 1) * k3; fx++) {
            s += sum[fy * FINE + fx];
            n += count[fy * FINE + fx];
          }
        }
        sig[cy * GRID + cx] = n == 0 ? Float.NaN : (float) log2(s / n + FLOOR);
      }
    }
    structure(sum, count, sig, GRID * GRID);
    return sig;
  }

  /**
   * The structure: log2 of each fine cell's mean (plus {@link #FINE_FLOOR}) minus the mean of its 5×5 neighbourhood
   * (the edge cells repeated; cells without pixels left out of both), so that a change of light by a factor and a
   * smooth glow both fall away. A cell without pixels is NaN.
   */
  private static void structure(double[] sum, long[] count, float[] out, int at) {
    double[] lv = new double[FINE * FINE];
    for (int k = 0; k < lv.length; k++) lv[k] = count[k] == 0 ? Double.NaN : log2(sum[k] / count[k] + FINE_FLOOR);
    for (int y = 0; y < FINE; y++) {
      for (int x = 0; x < FINE; x++) {
        double c = lv[y * FINE + x];
        if (Double.isNaN(c)) {
          out[at + y * FINE + x] = Float.NaN;
          continue;
        }
        double m = 0;
        int n = 0;
        for (int dy = -2; dy <= 2; dy++) {
          int yy = Math.min(FINE - 1, Math.max(0, y + dy));
          for (int dx = -2; dx <= 2; dx++) {
            double v = lv[yy * FINE + Math.min(FINE - 1, Math.max(0, x + dx))];
            if (!Double.isNaN(v)) {
              m += v;
              n++;
            }
          }
        }
        out[at + y * FINE + x] = (float) (c - m / n);
      }
    }
  }

  private static double log2(double v) {
    return Math.log(v) / Math.log(2);
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
    checkLength(a, b);
    int both = 0, changed = 0;
    for (int k = 0; k < GRID * GRID; k++) {
      if (Float.isNaN(a[k]) || Float.isNaN(b[k])) continue;
      both++;
      if (Math.abs(a[k] - b[k]) >= CELL_CHANGE) changed++;
    }
    return both == 0 ? 0 : (double) changed / both;
  }

  /**
   * @param a a frame's signature
   * @param b the next frame's
   * @return how alike their structures are: the largest normalised correlation of the two over shifts of up to
   *     {@value #SHIFT} fine cells each way (1 for the same view under another light or a glow; near 0 for another
   *     scene), over the fine cells with pixels in both; NaN when either frame has fewer than half its fine cells
   *     with pixels (a frame below about 24 px on a side) or no structure (black, or evenly lit): then the
   *     score alone decides
   */
  public static double structure(float[] a, float[] b) {
    checkLength(a, b);
    int at = GRID * GRID;
    if (!comparable(a, at) || !comparable(b, at)) return Double.NaN;
    double best = -1;
    for (int dy = -SHIFT; dy <= SHIFT; dy++) {
      for (int dx = -SHIFT; dx <= SHIFT; dx++) {
        double ab = 0, aa = 0, bb = 0;
        for (int y = Math.max(0, dy); y < FINE + Math.min(0, dy); y++) {
          for (int x = Math.max(0, dx); x < FINE + Math.min(0, dx); x++) {
            double u = a[at + y * FINE + x], v = b[at + (y - dy) * FINE + (x - dx)];
            if (Double.isNaN(u) || Double.isNaN(v)) continue; // cells without pixels in either frame
            ab += u * v;
            aa += u * u;
            bb += v * v;
          }
        }
        double d = Math.sqrt(aa * bb);
        best = Math.max(best, d < 1e-12 ? 0 : ab / d); // an overlap without structure shows no likeness
      }
    }
    return best;
  }

  /**
   * Whether a frame's structure can be compared: at least half of its fine cells have pixels, and they are not (about)
   * all zero, as in a black or evenly lit frame (their mean square at least 1e-6).
   */
  private static boolean comparable(float[] sig, int at) {
    double e = 0;
    int n = 0;
    for (int k = at; k < sig.length; k++) {
      if (Float.isNaN(sig[k])) continue;
      e += (double) sig[k] * sig[k];
      n++;
    }
    return n >= FINE * FINE / 2 && e >= 1e-6 * n;
  }

  /**
   * @param a a frame's signature
   * @param b the next frame's
   * @param threshold the cut threshold ({@link #score})
   * @return whether b is a cut after a: a score of at least the threshold, and structures less alike than
   *     {@link #SAME_STRUCTURE} (or without a structure to compare)
   */
  public static boolean isCut(float[] a, float[] b, double threshold) {
    return score(a, b) >= threshold && !(structure(a, b) >= SAME_STRUCTURE);
  }

  private static void checkLength(float[] a, float[] b) {
    int n = GRID * GRID + FINE * FINE;
    if (a.length != n || b.length != n) {
      throw new IllegalArgumentException("signatures have " + n + " values, got " + a.length + " and " + b.length);
    }
  }

  /**
   * @param threshold a cut threshold
   * @return it, checked: in (0, 1], or {@link #OFF}
   * @throws IllegalArgumentException otherwise
   */
  public static double checkThreshold(double threshold) {
    if (threshold == OFF || (threshold > 0 && threshold <= 1)) return threshold;
    throw new IllegalArgumentException("a cut threshold is a fraction of the frame in (0, 1], or SceneCuts.OFF; got "
        + threshold);
  }
}
