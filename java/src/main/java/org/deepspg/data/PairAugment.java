/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import java.util.SplittableRandom;

/**
 * The paired training augmentation of spec §4.5: one random square crop, then a random element of the dihedral
 * group (horizontal flip, vertical flip, transpose — together the 8 flips and 90° rotations, each with probability
 * 1/8), applied identically to the low-light input and the normal-light target.
 *
 * <p><b>Patch size</b> (spec §4.6): the requested patch {@code P} when the image is at least {@code P × P};
 * otherwise the largest multiple of 32 that fits in the shorter side. Images whose shorter side is below 32 are
 * rejected.
 *
 * <p>Stateless and thread-safe; randomness comes only from the generator passed to {@link #draw}.
 */
public final class PairAugment {
  /** Patch sizes must be multiples of this (HRNet strides and the U-Net's three downsamplings). */
  public static final int MULTIPLE = 32;

  /**
   * One drawn transform.
   *
   * @param x0 left column of the crop
   * @param y0 top row of the crop
   * @param size side of the square crop
   * @param hflip mirror columns
   * @param vflip mirror rows
   * @param transpose swap rows and columns (with the flips, gives the 90°/270° rotations)
   */
  public record Transform(int x0, int y0, int size, boolean hflip, boolean vflip, boolean transpose) {}

  private final boolean flips;
  private final boolean rotations;

  /** Crop, flips and 90° rotations (the training default). */
  public PairAugment() {
    this(true, true);
  }

  /**
   * @param flips draw horizontal and vertical flips
   * @param rotations draw transposes (90° rotations when combined with flips)
   */
  public PairAugment(boolean flips, boolean rotations) {
    this.flips = flips;
    this.rotations = rotations;
  }

  /**
   * The patch side used for an image: {@code patch} if it fits, else the largest multiple of 32 that fits.
   *
   * @param patch requested side (a positive multiple of 32)
   * @param width image width
   * @param height image height
   * @return the side to crop
   * @throws IllegalArgumentException when the image is smaller than 32 × 32 or the patch is not a multiple of 32
   */
  public static int effectivePatch(int patch, int width, int height) {
    if (patch <= 0 || patch % MULTIPLE != 0) {
      throw new IllegalArgumentException("patch must be a positive multiple of " + MULTIPLE + ", got " + patch);
    }
    int side = Math.min(width, height);
    if (side >= patch) return patch;
    int p = side / MULTIPLE * MULTIPLE;
    if (p < MULTIPLE) {
      throw new IllegalArgumentException("image " + width + "x" + height + " is smaller than the minimum patch "
          + MULTIPLE + "x" + MULTIPLE);
    }
    return p;
  }

  /**
   * Draws a transform. Consumes exactly 5 values from {@code rng} whatever the switches, so switching flips off
   * does not shift the crops.
   *
   * @param size crop side (already {@link #effectivePatch}-adjusted, at most the image's shorter side)
   * @param width image width
   * @param height image height
   * @param rng the generator
   * @return the transform
   */
  public Transform draw(int size, int width, int height, SplittableRandom rng) {
    if (size < 1 || size > width || size > height) {
      throw new IllegalArgumentException("crop " + size + " does not fit the " + width + "x" + height + " image");
    }
    int x0 = rng.nextInt(width - size + 1);
    int y0 = rng.nextInt(height - size + 1);
    boolean h = rng.nextBoolean(), v = rng.nextBoolean(), t = rng.nextBoolean();
    return new Transform(x0, y0, size, flips && h, flips && v, rotations && t);
  }

  /**
   * Applies a transform to planar data: {@code out[c][y][x] = in[c][y0 + sy][x0 + sx]} where, starting from
   * {@code (sy, sx) = t ? (x, y) : (y, x)}, {@code vflip} mirrors {@code sy} and {@code hflip} mirrors {@code sx}.
   *
   * @param planes {@code [C, H, W]}
   * @param channels C
   * @param width W
   * @param height H
   * @param t the transform
   * @param out destination holding at least {@code offset + C·S·S} values
   * @param offset where to write {@code [C, S, S]} in {@code out}
   */
  public static void apply(float[] planes, int channels, int width, int height, Transform t, float[] out, int offset) {
    int s = t.size();
    if (t.x0() < 0 || t.y0() < 0 || t.x0() + s > width || t.y0() + s > height) {
      throw new IllegalArgumentException("transform " + t + " leaves the " + width + "x" + height + " image");
    }
    for (int c = 0; c < channels; c++) {
      int in = c * width * height, o = offset + c * s * s;
      for (int y = 0; y < s; y++) {
        for (int x = 0; x < s; x++) {
          int sy = t.transpose() ? x : y, sx = t.transpose() ? y : x;
          if (t.vflip()) sy = s - 1 - sy;
          if (t.hflip()) sx = s - 1 - sx;
          out[o + y * s + x] = planes[in + (t.y0() + sy) * width + t.x0() + sx];
        }
      }
    }
  }

  /**
   * Draws one transform and applies it to both images of a pair.
   *
   * @param low low-light image
   * @param high normal-light image (same size)
   * @param patch crop side requested (adjusted by {@link #effectivePatch})
   * @param rng the generator
   * @return {@code [2][3·S·S]}: the low and high patches, planar {@code [3, S, S]}
   */
  public float[][] apply(Image low, Image high, int patch, SplittableRandom rng) {
    if (low.width() != high.width() || low.height() != high.height()) {
      throw new IllegalArgumentException("pair sizes differ: low " + low.width() + "x" + low.height() + ", high "
          + high.width() + "x" + high.height());
    }
    int s = effectivePatch(patch, low.width(), low.height());
    Transform t = draw(s, low.width(), low.height(), rng);
    float[] a = new float[3 * s * s], b = new float[3 * s * s];
    apply(low.rgb(), 3, low.width(), low.height(), t, a, 0);
    apply(high.rgb(), 3, high.width(), high.height(), t, b, 0);
    return new float[][] {a, b};
  }
}
