/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.eval;

import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;
import static org.bytedeco.opencv.global.opencv_imgproc.COLOR_Lab2RGB;
import static org.bytedeco.opencv.global.opencv_imgproc.COLOR_RGB2Lab;
import static org.bytedeco.opencv.global.opencv_imgproc.createCLAHE;
import static org.bytedeco.opencv.global.opencv_imgproc.cvtColor;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Size;
import org.bytedeco.opencv.opencv_imgproc.CLAHE;

/**
 * Classical low-light baselines on float RGB images in [0, 1], planar {@code [3, H, W]} (CHW, the layout of
 * {@link Metrics}'s default; {@link #identity} and the gamma curves work per value and accept any layout).
 *
 * <ul>
 *   <li>{@link #identity(float[])}: the input unchanged (the "do nothing" row).</li>
 *   <li>{@link #gamma(float[], double)}: global power curve {@code out = clamp(x, 0, 1)^g} (g &lt; 1 brightens).</li>
 *   <li>{@link #bestGamma(float[], float[])}: an <b>oracle</b> baseline — per image, the exponent that maximises
 *       PSNR against the ground truth (it looks at the target, so it is an upper bound for global gamma curves, not a
 *       method).</li>
 *   <li>{@link #clahe(float[], int, int)}: OpenCV CLAHE (bytedeco {@code opencv} 4.13) on the L channel of CIE Lab:
 *       the image is quantised to 8 bits ({@code rint(v·255)}), converted with {@code COLOR_RGB2Lab}, L is equalised
 *       with clip limit 2.0 on an 8×8 tile grid, converted back with {@code COLOR_Lab2RGB} and divided by 255. The
 *       output is therefore 8-bit-quantised.</li>
 * </ul>
 */
public final class Baselines {
  /** Default CLAHE clip limit (OpenCV's usual 2.0). */
  public static final double CLAHE_CLIP_LIMIT = 2.0;
  /** Default CLAHE tile grid (8×8 tiles over the image). */
  public static final int CLAHE_TILES = 8;

  /** Exponent search range of {@link #bestGamma} (log-spaced grid, then golden-section refinement). */
  public static final double GAMMA_MIN = 0.02;
  /** Upper end of the exponent search range. */
  public static final double GAMMA_MAX = 5.0;

  private static final int GAMMA_GRID = 64;
  private static final double GOLDEN_TOL = 1e-7;

  /**
   * Result of {@link #bestGamma}.
   *
   * @param gamma the exponent g of {@code out = x^g}
   * @param psnr PSNR of the corrected image against the ground truth (dB)
   * @param image the corrected image, same layout as the input
   */
  public record GammaFit(double gamma, double psnr, float[] image) {}

  private Baselines() {}

  /**
   * Identity baseline.
   *
   * @param low input image (any layout)
   * @return a copy of the input
   */
  public static float[] identity(float[] low) {
    return low.clone();
  }

  /**
   * Global gamma curve {@code out = clamp(x, 0, 1)^g}.
   *
   * @param low input image in [0, 1] (any layout)
   * @param g exponent, &gt; 0 (g &lt; 1 brightens)
   * @return the corrected image, same layout
   * @throws IllegalArgumentException when g is not a positive finite number
   */
  public static float[] gamma(float[] low, double g) {
    if (!(g > 0) || Double.isInfinite(g)) {
      throw new IllegalArgumentException("gamma exponent must be positive and finite, got " + g);
    }
    float[] out = new float[low.length];
    for (int i = 0; i < low.length; i++) {
      out[i] = (float) Math.pow(clamp01(low[i]), g);
    }
    return out;
  }

  /**
   * Oracle gamma: the exponent g in [{@value #GAMMA_MIN}, {@value #GAMMA_MAX}] that maximises
   * {@code PSNR(clamp(low)^g, gt)} (equivalently minimises the MSE). A 64-point log-spaced grid finds the best
   * bracket, golden-section search on log g refines it to a relative precision of about 1e-7. The objective is
   * evaluated in float64; the returned image is {@link #gamma(float[], double)} at the found exponent.
   *
   * @param low input image in [0, 1] (any layout)
   * @param gt ground truth, same layout and length
   * @return exponent, PSNR and corrected image
   */
  public static GammaFit bestGamma(float[] low, float[] gt) {
    if (low.length != gt.length || low.length == 0) {
      throw new IllegalArgumentException(
          "low and gt must be non-empty and equally long, got " + low.length + " and " + gt.length);
    }
    // log(x) once; x^g = exp(g·log x), x = 0 stays 0
    double[] logx = new double[low.length];
    for (int i = 0; i < low.length; i++) {
      double x = clamp01(low[i]);
      logx[i] = x > 0 ? Math.log(x) : Double.NEGATIVE_INFINITY;
    }
    double lo = Math.log(GAMMA_MIN);
    double hi = Math.log(GAMMA_MAX);
    double step = (hi - lo) / (GAMMA_GRID - 1);
    int best = 0;
    double bestMse = Double.POSITIVE_INFINITY;
    for (int k = 0; k < GAMMA_GRID; k++) {
      double m = gammaMse(logx, gt, Math.exp(lo + k * step));
      if (m < bestMse) {
        bestMse = m;
        best = k;
      }
    }
    double a = lo + Math.max(0, best - 1) * step;
    double b = lo + Math.min(GAMMA_GRID - 1, best + 1) * step;
    double invPhi = (Math.sqrt(5) - 1) / 2;
    double c = b - invPhi * (b - a);
    double d = a + invPhi * (b - a);
    double fc = gammaMse(logx, gt, Math.exp(c));
    double fd = gammaMse(logx, gt, Math.exp(d));
    while (b - a > GOLDEN_TOL) {
      if (fc <= fd) {
        b = d;
        d = c;
        fd = fc;
        c = b - invPhi * (b - a);
        fc = gammaMse(logx, gt, Math.exp(c));
      } else {
        a = c;
        c = d;
        fc = fd;
        d = a + invPhi * (b - a);
        fd = gammaMse(logx, gt, Math.exp(d));
      }
    }
    double g = Math.exp((a + b) / 2);
    if (bestMse < gammaMse(logx, gt, g)) {
      g = Math.exp(lo + best * step); // the grid point was better (objective not unimodal in the bracket)
    }
    float[] image = gamma(low, g);
    return new GammaFit(g, Metrics.psnr(image, gt), image);
  }

  private static double gammaMse(double[] logx, float[] gt, double g) {
    double sum = 0;
    for (int i = 0; i < logx.length; i++) {
      double d = Math.exp(g * logx[i]) - gt[i];
      sum += d * d;
    }
    return sum / logx.length;
  }

  /**
   * CLAHE on the Lab L channel with clip limit {@value #CLAHE_CLIP_LIMIT} and an 8×8 tile grid.
   *
   * @param low input image {@code [3, H, W]} in [0, 1]
   * @param height H
   * @param width W
   * @return the equalised image {@code [3, H, W]}, values k/255
   */
  public static float[] clahe(float[] low, int height, int width) {
    return clahe(low, height, width, CLAHE_CLIP_LIMIT, CLAHE_TILES);
  }

  /**
   * CLAHE on the Lab L channel (OpenCV {@code createCLAHE(clipLimit, Size(tiles, tiles))}).
   *
   * @param low input image {@code [3, H, W]} in [0, 1]
   * @param height H
   * @param width W
   * @param clipLimit contrast limit (OpenCV semantics: multiple of the mean histogram bin), &gt; 0
   * @param tiles tiles per image side, ≥ 1
   * @return the equalised image {@code [3, H, W]}, values k/255
   */
  public static float[] clahe(float[] low, int height, int width, double clipLimit, int tiles) {
    Metrics.checkImage(low.length, height, width);
    if (!(clipLimit > 0) || tiles < 1) {
      throw new IllegalArgumentException("clipLimit must be > 0 and tiles >= 1, got " + clipLimit + ", " + tiles);
    }
    int n = height * width;
    byte[] hwc = new byte[3 * n];
    for (int i = 0; i < n; i++) {
      for (int c = 0; c < 3; c++) {
        hwc[3 * i + c] = (byte) Math.rint(clamp01(low[c * n + i]) * 255.0);
      }
    }
    byte[] lab = new byte[3 * n];
    byte[] l = new byte[n];
    byte[] rgb = new byte[3 * n];
    try (PointerScope scope = new PointerScope()) {
      Mat src = new Mat(height, width, CV_8UC3, new BytePointer(hwc));
      Mat labMat = new Mat();
      cvtColor(src, labMat, COLOR_RGB2Lab);
      labMat.data().get(lab);
      for (int i = 0; i < n; i++) {
        l[i] = lab[3 * i];
      }
      Mat lMat = new Mat(height, width, CV_8UC1, new BytePointer(l));
      Mat lOut = new Mat();
      CLAHE clahe = createCLAHE(clipLimit, new Size(tiles, tiles));
      clahe.apply(lMat, lOut);
      lOut.data().get(l);
      for (int i = 0; i < n; i++) {
        lab[3 * i] = l[i];
      }
      Mat labIn = new Mat(height, width, CV_8UC3, new BytePointer(lab));
      Mat out = new Mat();
      cvtColor(labIn, out, COLOR_Lab2RGB);
      out.data().get(rgb);
    }
    float[] result = new float[3 * n];
    for (int i = 0; i < n; i++) {
      for (int c = 0; c < 3; c++) {
        result[c * n + i] = (rgb[3 * i + c] & 0xFF) / 255f;
      }
    }
    return result;
  }

  private static double clamp01(float v) {
    return v < 0 ? 0 : (v > 1 ? 1 : v);
  }
}
