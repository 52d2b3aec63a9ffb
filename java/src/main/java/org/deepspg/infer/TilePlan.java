/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import java.util.Arrays;

/**
 * Tile layout along one axis and the raised-cosine blending weights.
 *
 * <p>Tiles of {@code tile} pixels start at multiples of {@code align} (32: the network's total stride including
 * HRNet, so every tile sees the same sampling phase as the whole image), spread evenly so that neighbours overlap by at
 * least {@code overlap} pixels; the last tile ends at the image edge (it may be shorter than {@code tile}). Inside the
 * overlap with a neighbour a tile's weight rises from ~0 at its edge to 1 as {@code ½ − ½·cos(π t)}; at image edges
 * it is 1. The 2-D weight of a tile is the product of its row and column weights, so the per-pixel normaliser is the
 * product of the 1-D sums ({@link #weightSum()}) and no weight plane has to be stored.
 */
public final class TilePlan {
  private final int size;
  private final int[] starts;
  private final int[] ends;
  private final float[][] weights;
  private final float[] sum;

  private TilePlan(int size, int[] starts, int[] ends) {
    this.size = size;
    this.starts = starts;
    this.ends = ends;
    int n = starts.length;
    this.weights = new float[n][];
    this.sum = new float[size];
    for (int i = 0; i < n; i++) {
      int len = ends[i] - starts[i];
      float[] w = new float[len];
      int left = i > 0 ? ends[i - 1] - starts[i] : 0;
      int right = i < n - 1 ? ends[i] - starts[i + 1] : 0;
      for (int p = 0; p < len; p++) {
        double v = 1;
        if (left > 0) v *= ramp((p + 0.5) / left);
        if (right > 0) v *= ramp((len - p - 0.5) / right);
        w[p] = (float) v;
        sum[starts[i] + p] += w[p];
      }
      weights[i] = w;
    }
  }

  private static double ramp(double t) {
    return t >= 1 ? 1 : 0.5 - 0.5 * Math.cos(Math.PI * t);
  }

  /**
   * Plans the tiles along one axis.
   *
   * @param size image side (≥ 1)
   * @param tile tile side (multiple of {@code align}, ≥ overlap + align)
   * @param overlap minimum overlap between neighbours (≥ 0)
   * @param align tile starts are multiples of this (≥ 1)
   * @return the plan; one tile covering everything when {@code size ≤ tile}
   */
  public static TilePlan of(int size, int tile, int overlap, int align) {
    int[][] se = layout(size, tile, overlap, align);
    return new TilePlan(size, se[0], se[1]);
  }

  /**
   * The tile starts and ends that {@link #of} plans, without the blending weights (cheap enough to compare many
   * layouts).
   *
   * @param size image side (≥ 1)
   * @param tile tile side (multiple of {@code align}, ≥ overlap + align)
   * @param overlap minimum overlap between neighbours (≥ 0)
   * @param align tile starts are multiples of this (≥ 1)
   * @return {starts, ends}
   */
  static int[][] layout(int size, int tile, int overlap, int align) {
    if (size < 1 || align < 1 || overlap < 0 || tile % align != 0 || tile - overlap < align) {
      throw new IllegalArgumentException("bad tile plan: size " + size + ", tile " + tile + ", overlap " + overlap
          + ", align " + align + " (tile must be a multiple of align and >= overlap + align)");
    }
    if (size <= tile) return new int[][] {{0}, {size}};
    int span = size - tile;
    // Evenly spread starts rounded to the alignment; add tiles until every neighbour overlap is >= overlap (rounding
    // moves a start by up to one alignment step, so the first guess can fall just short).
    int last = ceilTo(span, align);
    for (int n = 1 + (int) Math.ceil(span / (double) (tile - overlap)); n <= last / align; n++) {
      int[] s = new int[n];
      int[] e = new int[n];
      boolean ok = true;
      for (int i = 0; i < n && ok; i++) {
        double ideal = (double) span * i / (n - 1);
        int st = i == n - 1 ? last : (int) (Math.round(ideal / align) * align);
        s[i] = st;
        e[i] = Math.min(st + tile, size);
        if (i > 0 && (e[i - 1] - st < overlap || st <= s[i - 1])) ok = false;
      }
      if (ok) return new int[][] {s, e};
    }
    // Densest layout: a tile at every aligned position (overlap tile - align >= overlap by the precondition).
    int n = last / align + 1;
    int[] s = new int[n];
    int[] e = new int[n];
    for (int i = 0; i < n; i++) {
      s[i] = i * align;
      e[i] = Math.min(s[i] + tile, size);
    }
    return new int[][] {s, e};
  }

  private static int ceilTo(int v, int m) {
    return (v + m - 1) / m * m;
  }

  /** @return the number of tiles */
  public int count() {
    return starts.length;
  }

  /** @return the longest tile's length */
  public int maxLength() {
    int m = 0;
    for (int i = 0; i < starts.length; i++) m = Math.max(m, ends[i] - starts[i]);
    return m;
  }

  /**
   * @param i tile index
   * @return first pixel of tile i
   */
  public int start(int i) {
    return starts[i];
  }

  /**
   * @param i tile index
   * @return one past the last pixel of tile i
   */
  public int end(int i) {
    return ends[i];
  }

  /**
   * @param i tile index
   * @return blending weights of tile i's pixels (length {@code end(i) - start(i)}; do not modify)
   */
  public float[] weights(int i) {
    return weights[i];
  }

  /** @return per-pixel sum of all tiles' weights (length = image side, all &gt; 0; do not modify) */
  public float[] weightSum() {
    return sum;
  }

  /** @return the image side this plan covers */
  public int size() {
    return size;
  }

  @Override
  public String toString() {
    return "TilePlan(size=" + size + ", starts=" + Arrays.toString(starts) + ", ends=" + Arrays.toString(ends) + ")";
  }
}
