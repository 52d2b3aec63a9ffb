/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.eval;

import java.util.stream.IntStream;

/**
 * Image-quality metrics of the evaluation protocol (ARCHITECTURE.md §6, Retinexformer's
 * {@code Enhancement/utils.py} + {@code test_from_dataset.py}), in plain Java on {@code float[]}/{@code double[]}.
 *
 * <p><b>Layout.</b> The project default is <b>CHW</b> ({@code [3, H, W]} planar RGB, what a {@code [1, 3, H, W]}
 * tensor holds), the layout of {@link Baselines}; every method that needs to know the layout takes a {@link Layout}
 * ({@link Layout#HWC} = interleaved RGB, {@code [H, W, 3]}, the layout of image files and of the metric fixtures).
 * {@link #hwcToChw(float[], int, int)} and {@link #chwToHwc(float[], int, int)} convert. Values are RGB in [0, 1].
 *
 * <ul>
 *   <li>{@link #psnr(double[], double[])}: {@code 10·log10(1/MSE)} with MSE over all values (all pixels, all three
 *       channels), no border crop, not on Y; MSE = 0 gives {@value #PSNR_IDENTICAL} (Retinexformer's convention).</li>
 *   <li>{@link #ssim(double[], double[], int, int, Layout)}: both images quantised like skimage's {@code img_as_ubyte}
 *       ({@code rint(v·255)}, round half to even, then clipped to [0, 255]; for {@code float[]} input the product is
 *       formed in float32 as numpy does for float32 arrays), then per RGB channel on float64: 11×11 Gaussian window
 *       σ = 1.5 (taps ∝ exp(−(i−5)²/4.5), normalised), 'valid' filtering (the 5-pixel border is dropped),
 *       C1 = (0.01·255)², C2 = (0.03·255)², σ terms as E[xy] − μxμy, mean of the SSIM map; then the mean of the three
 *       channel values. Images must be at least 11×11.</li>
 *   <li>GT-mean variants ({@link #psnrGtMean}, {@link #ssimGtMean}): the prediction is scaled by
 *       {@code mean(gray(gt)) / mean(gray(pred))} and clipped to [0, 1] before the metric. See {@link GrayWeights}
 *       for the two gray weightings; the project default is {@link #DEFAULT_GRAY_WEIGHTS}.</li>
 *   <li>{@link #evaluate(float[], float[], boolean[], int, int, Layout, GrayWeights)}: all four over the pixels a
 *       mask keeps (what a target with alpha shows; {@code deepspg eval}).</li>
 * </ul>
 *
 * <p>All arithmetic is float64. SSIM uses a separable filter over bands of rows, in parallel on the common fork-join
 * pool; band sums are combined in a fixed order, so results do not depend on the number of threads (a 24-megapixel
 * image takes about a second per core-pair). Agreement with the independent numpy/scipy reference
 * ({@code fixtures/metrics/expected.json}) is better than 1e-10.
 */
public final class Metrics {
  /** PSNR reported when prediction and target are identical (MSE = 0). */
  public static final double PSNR_IDENTICAL = 100.0;

  /** The project's GT-mean gray weighting: what Retinexformer's published GT-mean numbers used. */
  public static final GrayWeights DEFAULT_GRAY_WEIGHTS = GrayWeights.RETINEXFORMER_CODE;

  /** SSIM window size and its half width (the 'valid' border). */
  private static final int WIN = 11;
  private static final int HALF = 5;
  private static final double C1 = (0.01 * 255) * (0.01 * 255);
  private static final double C2 = (0.03 * 255) * (0.03 * 255);
  private static final double[] TAPS = gaussianTaps();
  /** Output rows per parallel SSIM task (fixed, so the summation order does not depend on the thread count). */
  private static final int BAND = 32;

  /** Memory layout of an RGB image in a flat array. */
  public enum Layout {
    /** Planar {@code [3, H, W]}: index {@code c·H·W + y·W + x}. The project default. */
    CHW,
    /** Interleaved {@code [H, W, 3]}: index {@code (y·W + x)·3 + c}. */
    HWC
  }

  /** Gray weighting used to compute the GT-mean scale factor. */
  public enum GrayWeights {
    /** ITU-R BT.601 luma: 0.299 R + 0.587 G + 0.114 B (what the GT-mean protocol describes). */
    REC601(0.299, 0.587, 0.114),
    /**
     * 0.114 R + 0.587 G + 0.299 B: Retinexformer's {@code test_from_dataset.py} applies
     * {@code cv2.COLOR_BGR2GRAY} to RGB arrays, so R and B weights are swapped. Its published GT-mean numbers (and
     * those of methods evaluated with its script) used this; the project default.
     */
    RETINEXFORMER_CODE(0.114, 0.587, 0.299);

    /** Weight of the red channel. */
    public final double r;
    /** Weight of the green channel. */
    public final double g;
    /** Weight of the blue channel. */
    public final double b;

    GrayWeights(double r, double g, double b) {
      this.r = r;
      this.g = g;
      this.b = b;
    }
  }

  /**
   * All four protocol numbers for one image pair.
   *
   * @param psnr PSNR in dB
   * @param ssim SSIM in [−1, 1]
   * @param psnrGtMean GT-mean PSNR in dB
   * @param ssimGtMean GT-mean SSIM
   * @param gtMeanRatio the scale factor applied for the GT-mean numbers
   */
  public record Scores(double psnr, double ssim, double psnrGtMean, double ssimGtMean, double gtMeanRatio) {}

  private Metrics() {}

  // ------------------------------------------------------------------------------------------------------------
  // PSNR

  /**
   * Mean squared error over all values.
   *
   * @param pred prediction, any layout, same length as {@code gt}
   * @param gt target
   * @return mean of {@code (pred − gt)²}
   */
  public static double mse(double[] pred, double[] gt) {
    checkSameLength(pred.length, gt.length);
    double sum = 0;
    for (int i = 0; i < pred.length; i++) {
      double d = pred[i] - gt[i];
      sum += d * d;
    }
    return sum / pred.length;
  }

  /**
   * Mean squared error over all values, accumulated in float64.
   *
   * @param pred prediction, any layout, same length as {@code gt}
   * @param gt target
   * @return mean of {@code (pred − gt)²}
   */
  public static double mse(float[] pred, float[] gt) {
    checkSameLength(pred.length, gt.length);
    double sum = 0;
    for (int i = 0; i < pred.length; i++) {
      double d = (double) pred[i] - gt[i];
      sum += d * d;
    }
    return sum / pred.length;
  }

  /**
   * PSNR for data range 1 from an MSE.
   *
   * @param mse mean squared error of values in [0, 1]
   * @return {@code 10·log10(1/mse)}, or {@value #PSNR_IDENTICAL} when {@code mse == 0}
   */
  public static double psnrFromMse(double mse) {
    return mse == 0 ? PSNR_IDENTICAL : 10 * Math.log10(1 / mse);
  }

  /**
   * PSNR of RGB images in [0, 1] (any layout, the same for both).
   *
   * @param pred prediction {@code [3·H·W]}
   * @param gt target {@code [3·H·W]}
   * @return PSNR in dB
   */
  public static double psnr(double[] pred, double[] gt) {
    return psnrFromMse(mse(pred, gt));
  }

  /**
   * PSNR of RGB images in [0, 1] (any layout, the same for both), computed in float64.
   *
   * @param pred prediction {@code [3·H·W]}
   * @param gt target {@code [3·H·W]}
   * @return PSNR in dB
   */
  public static double psnr(float[] pred, float[] gt) {
    return psnrFromMse(mse(pred, gt));
  }

  // ------------------------------------------------------------------------------------------------------------
  // SSIM

  /**
   * SSIM of two RGB images in [0, 1] (quantised to 8 bits first, see the class comment).
   *
   * @param pred prediction {@code [3, H, W]} or {@code [H, W, 3]}
   * @param gt target, same layout
   * @param height H (≥ 11)
   * @param width W (≥ 11)
   * @param layout layout of both arrays
   * @return mean over the three channels of the mean SSIM map
   */
  public static double ssim(double[] pred, double[] gt, int height, int width, Layout layout) {
    return mean3(ssimPerChannel(pred, gt, height, width, layout));
  }

  /**
   * SSIM of two float32 RGB images in [0, 1] (quantised like {@code img_as_ubyte} on float32 arrays).
   *
   * @param pred prediction {@code [3, H, W]} or {@code [H, W, 3]}
   * @param gt target, same layout
   * @param height H (≥ 11)
   * @param width W (≥ 11)
   * @param layout layout of both arrays
   * @return mean over the three channels of the mean SSIM map
   */
  public static double ssim(float[] pred, float[] gt, int height, int width, Layout layout) {
    checkImage(pred.length, height, width);
    checkImage(gt.length, height, width);
    return mean3(ssimPerChannelUint8(toUint8(pred), toUint8(gt), height, width, layout));
  }

  /**
   * Per-channel SSIM of two RGB images in [0, 1].
   *
   * @param pred prediction {@code [3, H, W]} or {@code [H, W, 3]}
   * @param gt target, same layout
   * @param height H (≥ 11)
   * @param width W (≥ 11)
   * @param layout layout of both arrays
   * @return {@code [ssim_R, ssim_G, ssim_B]}
   */
  public static double[] ssimPerChannel(double[] pred, double[] gt, int height, int width, Layout layout) {
    checkImage(pred.length, height, width);
    checkImage(gt.length, height, width);
    return ssimPerChannelUint8(toUint8(pred), toUint8(gt), height, width, layout);
  }

  /**
   * SSIM of two 8-bit RGB images (values 0..255, Java bytes read unsigned).
   *
   * @param pred prediction {@code [3, H, W]} or {@code [H, W, 3]}
   * @param gt target, same layout
   * @param height H (≥ 11)
   * @param width W (≥ 11)
   * @param layout layout of both arrays
   * @return mean over the three channels of the mean SSIM map
   */
  public static double ssimUint8(byte[] pred, byte[] gt, int height, int width, Layout layout) {
    return mean3(ssimPerChannelUint8(pred, gt, height, width, layout));
  }

  /**
   * Per-channel SSIM of two 8-bit RGB images.
   *
   * @param pred prediction {@code [3, H, W]} or {@code [H, W, 3]}, unsigned bytes
   * @param gt target, same layout
   * @param height H (≥ 11)
   * @param width W (≥ 11)
   * @param layout layout of both arrays
   * @return {@code [ssim_R, ssim_G, ssim_B]}
   */
  public static double[] ssimPerChannelUint8(byte[] pred, byte[] gt, int height, int width, Layout layout) {
    return ssimPerChannelUint8(pred, gt, null, height, width, layout);
  }

  /** Per-channel SSIM, the map averaged over the windows centred on {@code kept} pixels (null: all of them). */
  private static double[] ssimPerChannelUint8(byte[] pred, byte[] gt, boolean[] kept, int height, int width,
      Layout layout) {
    checkImage(pred.length, height, width);
    checkImage(gt.length, height, width);
    if (height < WIN || width < WIN) {
      throw new IllegalArgumentException(
          "SSIM needs images of at least 11x11 (valid 11x11 window), got " + height + "x" + width);
    }
    double[] out = new double[3];
    long plane = (long) height * width;
    for (int c = 0; c < 3; c++) {
      int offset = layout == Layout.CHW ? (int) (c * plane) : c;
      int pixelStride = layout == Layout.CHW ? 1 : 3;
      int rowStride = width * pixelStride;
      out[c] = ssimChannel(pred, gt, offset, pixelStride, rowStride, height, width, kept);
    }
    return out;
  }

  /**
   * Quantises values in [0, 1] like skimage's {@code img_as_ubyte} on float64: {@code rint(v·255)} clipped to
   * [0, 255].
   *
   * @param img values (any layout)
   * @return unsigned bytes, same layout
   */
  public static byte[] toUint8(double[] img) {
    byte[] out = new byte[img.length];
    for (int i = 0; i < img.length; i++) {
      out[i] = (byte) clip255(Math.rint(img[i] * 255.0));
    }
    return out;
  }

  /**
   * Quantises values in [0, 1] like skimage's {@code img_as_ubyte} on float32 (product formed in float32).
   *
   * @param img values (any layout)
   * @return unsigned bytes, same layout
   */
  public static byte[] toUint8(float[] img) {
    byte[] out = new byte[img.length];
    for (int i = 0; i < img.length; i++) {
      float v = img[i] * 255.0f;
      out[i] = (byte) clip255(Math.rint(v));
    }
    return out;
  }

  /**
   * 8-bit values to [0, 1] in float64 ({@code v/255}).
   *
   * @param u8 unsigned bytes
   * @return values in [0, 1], same layout
   */
  public static double[] fromUint8(byte[] u8) {
    double[] out = new double[u8.length];
    for (int i = 0; i < u8.length; i++) {
      out[i] = (u8[i] & 0xFF) / 255.0;
    }
    return out;
  }

  private static int clip255(double v) {
    // NaN maps to 0 like numpy's cast of a clipped NaN on x86 is not defined; treat it as black
    if (!(v > 0)) {
      return 0;
    }
    return v >= 255 ? 255 : (int) v;
  }

  /**
   * Mean SSIM of one channel, read with strides from two unsigned-byte images: over the whole map, or over the
   * windows centred on {@code kept} pixels ({@code [H·W]} row-major; NaN when none lies inside the valid border).
   */
  private static double ssimChannel(
      byte[] x, byte[] y, int offset, int pixelStride, int rowStride, int height, int width, boolean[] kept) {
    int outH = height - 2 * HALF;
    int outW = width - 2 * HALF;
    long count = (long) outH * outW;
    if (kept != null) {
      count = 0;
      for (int r = HALF; r < height - HALF; r++) {
        for (int c = HALF; c < width - HALF; c++) if (kept[r * width + c]) count++;
      }
    }
    int bands = (outH + BAND - 1) / BAND;
    double[] bandSums = new double[bands];
    // consecutive bands per task so each task allocates its scratch rows once
    int tasks = Math.min(bands, 4 * Runtime.getRuntime().availableProcessors());
    IntStream.range(0, tasks)
        .parallel()
        .forEach(
            task -> {
              int b0 = (int) ((long) bands * task / tasks);
              int b1 = (int) ((long) bands * (task + 1) / tasks);
              Scratch scratch = new Scratch(BAND + 2 * HALF, outW);
              for (int band = b0; band < b1; band++) {
                int r0 = band * BAND;
                int r1 = Math.min(outH, r0 + BAND);
                bandSums[band] = ssimBand(x, y, offset, pixelStride, rowStride, outW, r0, r1, scratch, kept);
              }
            });
    double sum = 0;
    for (double s : bandSums) {
      sum += s;
    }
    return count == 0 ? Double.NaN : sum / count;
  }

  /**
   * Sum of the SSIM map over output rows [r0, r1) (the windows centred on {@code kept} pixels, or all when null):
   * horizontal pass on r1 − r0 + 10 input rows, then vertical.
   */
  private static double ssimBand(byte[] x, byte[] y, int offset, int pixelStride, int rowStride, int outW, int r0,
      int r1, Scratch s, boolean[] kept) {
    int rows = r1 - r0 + 2 * HALF;
    double[] hx = s.hx;
    double[] hy = s.hy;
    double[] hxx = s.hxx;
    double[] hyy = s.hyy;
    double[] hxy = s.hxy;
    int inW = outW + 2 * HALF;
    double[] rowX = s.rowX;
    double[] rowY = s.rowY;
    for (int rr = 0; rr < rows; rr++) {
      int base = offset + (r0 + rr) * rowStride;
      for (int c = 0; c < inW; c++) {
        rowX[c] = x[base + c * pixelStride] & 0xFF;
        rowY[c] = y[base + c * pixelStride] & 0xFF;
      }
      int o = rr * outW;
      for (int c = 0; c < outW; c++) {
        double sx = 0;
        double sy = 0;
        double sxx = 0;
        double syy = 0;
        double sxy = 0;
        for (int k = 0; k < WIN; k++) {
          double t = TAPS[k];
          double a = rowX[c + k];
          double b = rowY[c + k];
          sx += t * a;
          sy += t * b;
          sxx += t * (a * a);
          syy += t * (b * b);
          sxy += t * (a * b);
        }
        hx[o + c] = sx;
        hy[o + c] = sy;
        hxx[o + c] = sxx;
        hyy[o + c] = syy;
        hxy[o + c] = sxy;
      }
    }
    double sum = 0;
    for (int r = 0; r < r1 - r0; r++) {
      for (int c = 0; c < outW; c++) {
        if (kept != null && !kept[(r0 + r + HALF) * inW + c + HALF]) continue;
        double mx = 0;
        double my = 0;
        double exx = 0;
        double eyy = 0;
        double exy = 0;
        for (int k = 0; k < WIN; k++) {
          double t = TAPS[k];
          int i = (r + k) * outW + c;
          mx += t * hx[i];
          my += t * hy[i];
          exx += t * hxx[i];
          eyy += t * hyy[i];
          exy += t * hxy[i];
        }
        double mx2 = mx * mx;
        double my2 = my * my;
        double mxy = mx * my;
        double sxx = exx - mx2;
        double syy = eyy - my2;
        double sxy = exy - mxy;
        sum += ((2 * mxy + C1) * (2 * sxy + C2)) / ((mx2 + my2 + C1) * (sxx + syy + C2));
      }
    }
    return sum;
  }

  /** Horizontally filtered rows of one band (x, y, x², y², xy) and two input-row buffers. */
  private static final class Scratch {
    final double[] hx;
    final double[] hy;
    final double[] hxx;
    final double[] hyy;
    final double[] hxy;
    final double[] rowX;
    final double[] rowY;

    Scratch(int rows, int outW) {
      hx = new double[rows * outW];
      hy = new double[rows * outW];
      hxx = new double[rows * outW];
      hyy = new double[rows * outW];
      hxy = new double[rows * outW];
      rowX = new double[outW + 2 * HALF];
      rowY = new double[outW + 2 * HALF];
    }
  }

  private static double[] gaussianTaps() {
    double[] t = new double[WIN];
    double s = 0;
    for (int i = 0; i < WIN; i++) {
      t[i] = Math.exp(-((i - HALF) * (i - HALF)) / (2 * 1.5 * 1.5));
      s += t[i];
    }
    for (int i = 0; i < WIN; i++) {
      t[i] /= s;
    }
    return t;
  }

  // ------------------------------------------------------------------------------------------------------------
  // GT-mean

  /**
   * GT-mean scale factor {@code mean(gray(gt)) / mean(gray(pred))}. An all-black prediction (gray mean 0) gets 1,
   * i.e. it is left unchanged.
   *
   * @param pred prediction in [0, 1], {@code [3, H, W]} or {@code [H, W, 3]}
   * @param gt target, same layout
   * @param height H
   * @param width W
   * @param layout layout of both arrays
   * @param weights gray weighting
   * @return the ratio
   */
  public static double gtMeanRatio(
      double[] pred, double[] gt, int height, int width, Layout layout, GrayWeights weights) {
    checkImage(pred.length, height, width);
    checkImage(gt.length, height, width);
    double mp = grayMean(pred, height, width, layout, weights);
    double mg = grayMean(gt, height, width, layout, weights);
    return mp == 0 ? 1.0 : mg / mp;
  }

  /**
   * {@code clip(pred · ratio, 0, 1)}.
   *
   * @param pred prediction (any layout)
   * @param ratio scale factor
   * @return the scaled copy
   */
  public static double[] scaleClip(double[] pred, double ratio) {
    double[] out = new double[pred.length];
    for (int i = 0; i < pred.length; i++) {
      double v = pred[i] * ratio;
      out[i] = v < 0 ? 0 : (v > 1 ? 1 : v);
    }
    return out;
  }

  /**
   * GT-mean PSNR: PSNR of {@code clip(pred · ratio, 0, 1)} (float, not quantised) against the target.
   *
   * @param pred prediction in [0, 1], {@code [3, H, W]} or {@code [H, W, 3]}
   * @param gt target, same layout
   * @param height H
   * @param width W
   * @param layout layout of both arrays
   * @param weights gray weighting for the ratio
   * @return PSNR in dB
   */
  public static double psnrGtMean(
      double[] pred, double[] gt, int height, int width, Layout layout, GrayWeights weights) {
    return psnr(scaleClip(pred, gtMeanRatio(pred, gt, height, width, layout, weights)), gt);
  }

  /**
   * GT-mean SSIM: SSIM of {@code rint(clip(pred · ratio, 0, 1) · 255)} against the quantised target.
   *
   * @param pred prediction in [0, 1], {@code [3, H, W]} or {@code [H, W, 3]}
   * @param gt target, same layout
   * @param height H (≥ 11)
   * @param width W (≥ 11)
   * @param layout layout of both arrays
   * @param weights gray weighting for the ratio
   * @return SSIM
   */
  public static double ssimGtMean(
      double[] pred, double[] gt, int height, int width, Layout layout, GrayWeights weights) {
    double[] scaled = scaleClip(pred, gtMeanRatio(pred, gt, height, width, layout, weights));
    return ssim(scaled, gt, height, width, layout);
  }

  /**
   * The four protocol numbers for one pair (PSNR, SSIM and their GT-mean variants).
   *
   * @param pred prediction in [0, 1], {@code [3, H, W]} or {@code [H, W, 3]}
   * @param gt target, same layout
   * @param height H (≥ 11)
   * @param width W (≥ 11)
   * @param layout layout of both arrays
   * @param weights gray weighting for GT-mean
   * @return the scores
   */
  public static Scores evaluate(
      double[] pred, double[] gt, int height, int width, Layout layout, GrayWeights weights) {
    double ratio = gtMeanRatio(pred, gt, height, width, layout, weights);
    double[] scaled = scaleClip(pred, ratio);
    return new Scores(
        psnr(pred, gt),
        ssim(pred, gt, height, width, layout),
        psnr(scaled, gt),
        ssim(scaled, gt, height, width, layout),
        ratio);
  }

  /**
   * {@link #evaluate(double[], double[], int, int, Layout, GrayWeights)} for float32 images (widened to float64
   * first; SSIM quantisation then follows the float64 rule).
   *
   * @param pred prediction in [0, 1], {@code [3, H, W]} or {@code [H, W, 3]}
   * @param gt target, same layout
   * @param height H (≥ 11)
   * @param width W (≥ 11)
   * @param layout layout of both arrays
   * @param weights gray weighting for GT-mean
   * @return the scores
   */
  public static Scores evaluate(
      float[] pred, float[] gt, int height, int width, Layout layout, GrayWeights weights) {
    return evaluate(toDouble(pred), toDouble(gt), height, width, layout, weights);
  }

  /**
   * {@link #evaluate(float[], float[], int, int, Layout, GrayWeights)} over the pixels a mask keeps, for targets with
   * pixels that show nothing (alpha 0: the colour stored under them is whatever an editor or encoder left there, so
   * it must not count). PSNR's MSE and the GT-mean ratio's grey means are taken over the kept pixels; SSIM (and
   * GT-mean SSIM) is the mean of the SSIM map over the windows centred on kept pixels, where the target's other
   * pixels take the prediction's values (they add no error, and the stored colour never enters a window). With every
   * pixel kept, or {@code kept == null}, this is exactly the evaluation without a mask.
   *
   * @param pred prediction in [0, 1], {@code [3, H, W]} or {@code [H, W, 3]}
   * @param gt target, same layout
   * @param kept per pixel, {@code [H, W]} row-major: whether it is scored; null for all
   * @param height H (≥ 11)
   * @param width W (≥ 11)
   * @param layout layout of both images
   * @param weights gray weighting for GT-mean
   * @return the scores; the SSIM values are NaN when no kept pixel lies 5 px or more inside the border
   * @throws IllegalArgumentException when the mask keeps no pixel or is not {@code H·W} long
   */
  public static Scores evaluate(
      float[] pred, float[] gt, boolean[] kept, int height, int width, Layout layout, GrayWeights weights) {
    checkImage(pred.length, height, width);
    checkImage(gt.length, height, width);
    if (kept == null) return evaluate(pred, gt, height, width, layout, weights);
    int n = height * width, count = 0;
    if (kept.length != n) {
      throw new IllegalArgumentException("the mask must have " + n + " values (" + height + "x" + width + "), got "
          + kept.length);
    }
    for (boolean k : kept) if (k) count++;
    if (count == 0) throw new IllegalArgumentException("the mask keeps no pixel: nothing to score");
    if (count == n) return evaluate(pred, gt, height, width, layout, weights);
    double[] p = toDouble(pred), g = toDouble(gt);
    double mp = grayMean(p, kept, height, width, layout, weights);
    double ratio = mp == 0 ? 1.0 : grayMean(g, kept, height, width, layout, weights) / mp;
    double[] scaled = scaleClip(p, ratio);
    double share = (double) n / count; // the MSE over all values, with 0 off the mask, times this
    double[] gs = g.clone();
    takeUnkept(g, p, kept, layout);
    takeUnkept(gs, scaled, kept, layout);
    return new Scores(
        psnrFromMse(mse(p, g) * share),
        mean3(ssimPerChannelUint8(toUint8(p), toUint8(g), kept, height, width, layout)),
        psnrFromMse(mse(scaled, gs) * share),
        mean3(ssimPerChannelUint8(toUint8(scaled), toUint8(gs), kept, height, width, layout)),
        ratio);
  }

  /** Copies {@code from}'s samples into {@code to} at the pixels the mask does not keep. */
  private static void takeUnkept(double[] to, double[] from, boolean[] kept, Layout layout) {
    int n = kept.length;
    for (int i = 0; i < n; i++) {
      if (kept[i]) continue;
      for (int c = 0; c < 3; c++) {
        int j = layout == Layout.CHW ? c * n + i : 3 * i + c;
        to[j] = from[j];
      }
    }
  }

  private static double grayMean(double[] img, int height, int width, Layout layout, GrayWeights w) {
    return grayMean(img, null, height, width, layout, w);
  }

  /** Mean gray level over the pixels {@code kept} (all when null; at least one). */
  private static double grayMean(double[] img, boolean[] kept, int height, int width, Layout layout, GrayWeights w) {
    int n = height * width, count = 0;
    double sum = 0;
    for (int i = 0; i < n; i++) {
      if (kept != null && !kept[i]) continue;
      count++;
      sum += layout == Layout.CHW ? w.r * img[i] + w.g * img[n + i] + w.b * img[2 * n + i]
          : w.r * img[3 * i] + w.g * img[3 * i + 1] + w.b * img[3 * i + 2];
    }
    return sum / count;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Layout helpers

  /**
   * Interleaved to planar.
   *
   * @param hwc {@code [H, W, 3]}
   * @param height H
   * @param width W
   * @return {@code [3, H, W]}
   */
  public static float[] hwcToChw(float[] hwc, int height, int width) {
    checkImage(hwc.length, height, width);
    int n = height * width;
    float[] out = new float[hwc.length];
    for (int i = 0; i < n; i++) {
      out[i] = hwc[3 * i];
      out[n + i] = hwc[3 * i + 1];
      out[2 * n + i] = hwc[3 * i + 2];
    }
    return out;
  }

  /**
   * Planar to interleaved.
   *
   * @param chw {@code [3, H, W]}
   * @param height H
   * @param width W
   * @return {@code [H, W, 3]}
   */
  public static float[] chwToHwc(float[] chw, int height, int width) {
    checkImage(chw.length, height, width);
    int n = height * width;
    float[] out = new float[chw.length];
    for (int i = 0; i < n; i++) {
      out[3 * i] = chw[i];
      out[3 * i + 1] = chw[n + i];
      out[3 * i + 2] = chw[2 * n + i];
    }
    return out;
  }

  /**
   * Interleaved to planar (float64).
   *
   * @param hwc {@code [H, W, 3]}
   * @param height H
   * @param width W
   * @return {@code [3, H, W]}
   */
  public static double[] hwcToChw(double[] hwc, int height, int width) {
    checkImage(hwc.length, height, width);
    int n = height * width;
    double[] out = new double[hwc.length];
    for (int i = 0; i < n; i++) {
      out[i] = hwc[3 * i];
      out[n + i] = hwc[3 * i + 1];
      out[2 * n + i] = hwc[3 * i + 2];
    }
    return out;
  }

  /**
   * Planar to interleaved (float64).
   *
   * @param chw {@code [3, H, W]}
   * @param height H
   * @param width W
   * @return {@code [H, W, 3]}
   */
  public static double[] chwToHwc(double[] chw, int height, int width) {
    checkImage(chw.length, height, width);
    int n = height * width;
    double[] out = new double[chw.length];
    for (int i = 0; i < n; i++) {
      out[3 * i] = chw[i];
      out[3 * i + 1] = chw[n + i];
      out[3 * i + 2] = chw[2 * n + i];
    }
    return out;
  }

  /**
   * Widens float32 values to float64.
   *
   * @param a values
   * @return the same values as double
   */
  public static double[] toDouble(float[] a) {
    double[] out = new double[a.length];
    for (int i = 0; i < a.length; i++) {
      out[i] = a[i];
    }
    return out;
  }

  private static double mean3(double[] v) {
    return (v[0] + v[1] + v[2]) / 3.0;
  }

  private static void checkSameLength(int a, int b) {
    if (a != b || a == 0) {
      throw new IllegalArgumentException("pred and gt must be non-empty and equally long, got " + a + " and " + b);
    }
  }

  static void checkImage(int length, int height, int width) {
    if (height <= 0 || width <= 0 || (long) height * width * 3 != length) {
      throw new IllegalArgumentException(
          "expected an RGB image of 3x" + height + "x" + width + " = " + (3L * height * width)
              + " values, got an array of " + length);
    }
  }
}
