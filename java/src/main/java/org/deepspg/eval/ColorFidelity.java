/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.eval;

/**
 * Two failure modes of brightening that PSNR and SSIM hide on real photos: highlights the method itself clips (skies,
 * lamps and lit walls that go flat white) and hue shifts (an orange lamp turned yellow, dusk blue turned cyan).
 *
 * <ul>
 *   <li>{@link #newlyClipped}: the fraction of pixels whose output has a channel at the 8-bit ceiling while the input
 *       has none there. It needs no ground truth, so it also scores real dark photos. (A pixel already clipped in the
 *       input is not the method's fault.)</li>
 *   <li>{@link #hueError}: the mean absolute difference of CIELAB hue angles (degrees, D65, sRGB input) between two
 *       images, over the pixels where both are coloured enough for hue to mean something (chroma C*ab ≥
 *       {@value #MIN_CHROMA} in both) and neither is near black or white (L* in [{@value #MIN_L}, {@value #MAX_L}]).
 *       Against the ground truth it measures hue fidelity; against the input (no ground truth) the hue drift the
 *       method adds, since brightening should not rotate hues.</li>
 *   <li>{@link #saturationKept}: how much of the input's colourfulness, relative to its brightness, the output keeps
 *       (mean chroma {@code max(R,G,B) − min(R,G,B)} over mean Rec. 601 luma, output's over input's). A measure to
 *       compare methods by, not one with a right value: a faithful brightening scores below 1 in sRGB, whose curve
 *       gives dark values more chroma per luma than bright ones, and noise adds chroma to a dark input (the ground
 *       truth over the dark input scores 0.65–0.80 on the synthetic and LOL eval15 test pairs, 0.39 on noisy LOL
 *       training pairs). Far below its peers an output is washed out, far above them it has casts or
 *       oversaturation; hue drift sees neither (a method that turns colours grey rotates no hue).</li>
 *   <li>{@link #shadowCast}: the colour an output puts where the input has none: the mean CIELAB (a*, b*) of the
 *       output over the pixels whose input chroma C*ab is below {@value #GREY_CHROMA} and whose output L* lies in
 *       [{@value #MIN_L}, {@value #MAX_L}]. Hue drift leaves such pixels out (no hue in the input), so a network that
 *       tints dark grey regions green passes it; this sees the tint and its direction (a* &lt; 0 green, b* &gt; 0
 *       yellow).</li>
 * </ul>
 *
 * Images are planar {@code [3, H, W]} sRGB values in [0, 1].
 */
public final class ColorFidelity {
  /** A channel at or above this value counts as clipped: the upper half of the top 8-bit code. */
  public static final float CLIP_LEVEL = 254.5f / 255f;
  /** Minimum CIELAB chroma for a pixel's hue to count. */
  public static final double MIN_CHROMA = 10;
  /** Darkest L* whose hue counts. */
  public static final double MIN_L = 5;
  /** Brightest L* whose hue counts. */
  public static final double MAX_L = 95;

  private ColorFidelity() {}

  /**
   * Hue difference and how many pixels it was measured on.
   *
   * @param degrees mean absolute hue difference (0–180), NaN when no pixel qualifies
   * @param fraction fraction of the pixels that qualified
   */
  public record Hue(double degrees, double fraction) {}

  /** Input chroma C*ab below which {@link #shadowCast} counts a pixel as grey. */
  public static final double GREY_CHROMA = 3;
  /** Fewest qualifying pixels for {@link #shadowCast} to report a cast. */
  public static final int MIN_CAST_PIXELS = 100;

  /**
   * A tint over the input's grey regions.
   *
   * @param a mean a* of the output there (NaN when too few pixels qualified)
   * @param b mean b* of the output there
   * @param pixels how many pixels qualified
   */
  public record Cast(double a, double b, long pixels) {
    /** @return |(a*, b*)|, the strength of the cast (NaN when too few pixels qualified) */
    public double strength() {
      return Math.hypot(a, b);
    }
  }

  /**
   * @param input the input {@code [3, H, W]}
   * @param output the output, same size
   * @return the output's mean (a*, b*) over the pixels grey in the input and neither black nor white in the output
   *     (NaN when fewer than {@value #MIN_CAST_PIXELS} qualify)
   */
  public static Cast shadowCast(float[] input, float[] output) {
    int n = pixels(input, output);
    double[] li = new double[3];
    double[] lo = new double[3];
    double sa = 0;
    double sb = 0;
    long used = 0;
    for (int i = 0; i < n; i++) {
      lab(input[i], input[n + i], input[2 * n + i], li);
      if (Math.hypot(li[1], li[2]) >= GREY_CHROMA) continue;
      lab(output[i], output[n + i], output[2 * n + i], lo);
      if (lo[0] < MIN_L || lo[0] > MAX_L) continue;
      sa += lo[1];
      sb += lo[2];
      used++;
    }
    if (used < MIN_CAST_PIXELS) return new Cast(Double.NaN, Double.NaN, used);
    return new Cast(sa / used, sb / used, used);
  }

  /**
   * @param input the input image {@code [3, H, W]}
   * @param output the output image, same size
   * @return fraction in [0, 1] of pixels with a clipped channel in the output but none in the input
   */
  public static double newlyClipped(float[] input, float[] output) {
    int n = pixels(input, output);
    if (n == 0) return 0;
    long count = 0;
    for (int i = 0; i < n; i++) {
      boolean out = output[i] >= CLIP_LEVEL || output[n + i] >= CLIP_LEVEL || output[2 * n + i] >= CLIP_LEVEL;
      boolean in = input[i] >= CLIP_LEVEL || input[n + i] >= CLIP_LEVEL || input[2 * n + i] >= CLIP_LEVEL;
      if (out && !in) count++;
    }
    return (double) count / n;
  }

  /**
   * @param input the input {@code [3, H, W]}
   * @param output the output, same size
   * @return (mean chroma / mean luma of the output) / (the same of the input); NaN when the input is black or grey
   *     (no colour to keep) or the output black
   */
  public static double saturationKept(float[] input, float[] output) {
    int n = pixels(input, output);
    double in = chromaPerLuma(input, n);
    double out = chromaPerLuma(output, n);
    return in > 0 && Double.isFinite(out) ? out / in : Double.NaN;
  }

  /** Mean chroma over mean luma of an image of n pixels (NaN when its luma is 0). */
  private static double chromaPerLuma(float[] x, int n) {
    double chroma = 0;
    double luma = 0;
    for (int i = 0; i < n; i++) {
      float r = x[i];
      float g = x[n + i];
      float b = x[2 * n + i];
      chroma += Math.max(r, Math.max(g, b)) - Math.min(r, Math.min(g, b));
      luma += 0.299 * r + 0.587 * g + 0.114 * b;
    }
    return luma > 0 ? chroma / luma : Double.NaN;
  }

  /**
   * @param a an image {@code [3, H, W]}
   * @param b another image of the same size (the reference)
   * @return the mean absolute hue difference over the pixels coloured enough in both
   */
  public static Hue hueError(float[] a, float[] b) {
    int n = pixels(a, b);
    double sum = 0;
    long used = 0;
    double[] la = new double[3];
    double[] lb = new double[3];
    for (int i = 0; i < n; i++) {
      lab(a[i], a[n + i], a[2 * n + i], la);
      lab(b[i], b[n + i], b[2 * n + i], lb);
      if (!qualifies(la) || !qualifies(lb)) continue;
      double d = Math.abs(Math.atan2(la[2], la[1]) - Math.atan2(lb[2], lb[1]));
      if (d > Math.PI) d = 2 * Math.PI - d;
      sum += Math.toDegrees(d);
      used++;
    }
    return new Hue(used == 0 ? Double.NaN : sum / used, n == 0 ? 0 : (double) used / n);
  }

  private static boolean qualifies(double[] lab) {
    return lab[0] >= MIN_L && lab[0] <= MAX_L && Math.hypot(lab[1], lab[2]) >= MIN_CHROMA;
  }

  private static int pixels(float[] a, float[] b) {
    if (a.length != b.length || a.length % 3 != 0) {
      throw new IllegalArgumentException("images must be [3, H, W] of one size, got " + a.length + " and " + b.length
          + " values");
    }
    return a.length / 3;
  }

  /** sRGB (D65) → CIELAB, into {@code out = {L*, a*, b*}}. */
  static void lab(double r, double g, double b, double[] out) {
    double rl = linear(r), gl = linear(g), bl = linear(b);
    double x = (0.4124564 * rl + 0.3575761 * gl + 0.1804375 * bl) / 0.95047;
    double y = 0.2126729 * rl + 0.7151522 * gl + 0.0721750 * bl;
    double z = (0.0193339 * rl + 0.1191920 * gl + 0.9503041 * bl) / 1.08883;
    double fx = f(x), fy = f(y), fz = f(z);
    out[0] = 116 * fy - 16;
    out[1] = 500 * (fx - fy);
    out[2] = 200 * (fy - fz);
  }

  private static double linear(double s) {
    double v = Math.min(1, Math.max(0, s));
    return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  }

  private static double f(double t) {
    final double d = 6.0 / 29;
    return t > d * d * d ? Math.cbrt(t) : t / (3 * d * d) + 4.0 / 29;
  }
}
