/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import org.deepspg.eval.Metrics.GrayWeights;
import org.deepspg.eval.Metrics.Layout;
import org.deepspg.io.JsonFiles;
import org.deepspg.testing.Fixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Metrics against {@code fixtures/metrics/expected.json} (independent numpy/scipy float64 reference). */
class MetricsTest {
  /**
   * Absolute tolerance for PSNR (dB), SSIM and the GT-mean ratio: the fixture stores 10 significant digits (rounding
   * error ≤ 5e-9 for the ~30 dB PSNRs); our float64 arithmetic differs from the reference only in summation order
   * (≈1e-14, the README's separable-vs-direct SSIM cross-check is 1.4e-14).
   */
  private static final double TOL = 1e-8;
  /** Relative tolerance for the MSE values (10 significant digits stored). */
  private static final double MSE_RTOL = 1e-9;
  /** Same numbers through a different layout or summation order: float64 rounding only. */
  private static final double REORDER_TOL = 1e-12;

  private static final int H = 48;
  private static final int W = 64;
  private static List<Map<String, Object>> pairs;
  private static Path dir;

  @BeforeAll
  @SuppressWarnings("unchecked")
  static void load() throws IOException {
    dir = Fixtures.dir("metrics");
    Map<String, Object> expected = JsonFiles.mapper().treeToValue(JsonFiles.readTree(dir.resolve("expected.json")), Map.class);
    pairs = (List<Map<String, Object>>) expected.get("pairs");
    assertEquals(4, pairs.size());
  }

  private static byte[] bin(String name) throws IOException {
    byte[] b = Files.readAllBytes(dir.resolve(name));
    assertEquals(H * W * 3, b.length, name);
    return b;
  }

  private static double d(Map<String, Object> m, String key) {
    return ((Number) m.get(key)).doubleValue();
  }

  @Test
  @SuppressWarnings("unchecked")
  void matchesFixtureHwc() throws IOException {
    for (Map<String, Object> p : pairs) {
      String kind = (String) p.get("kind");
      byte[] predU8 = bin((String) p.get("pred"));
      byte[] gtU8 = bin((String) p.get("gt"));
      double[] pred = Metrics.fromUint8(predU8);
      double[] gt = Metrics.fromUint8(gtU8);

      double mse = Metrics.mse(pred, gt);
      assertEquals(d(p, "mse"), mse, MSE_RTOL * d(p, "mse"), kind + " mse");
      assertEquals(d(p, "psnr"), Metrics.psnr(pred, gt), TOL, kind + " psnr");
      assertEquals(d(p, "ssim"), Metrics.ssim(pred, gt, H, W, Layout.HWC), TOL, kind + " ssim");
      assertEquals(d(p, "ssim"), Metrics.ssimUint8(predU8, gtU8, H, W, Layout.HWC), TOL, kind + " ssim u8");
      List<Object> perChannel = (List<Object>) p.get("ssim_per_channel_rgb");
      double[] ours = Metrics.ssimPerChannel(pred, gt, H, W, Layout.HWC);
      for (int c = 0; c < 3; c++) {
        assertEquals(((Number) perChannel.get(c)).doubleValue(), ours[c], TOL, kind + " ssim channel " + c);
      }

      for (GrayWeights gw : GrayWeights.values()) {
        String key = gw == GrayWeights.REC601 ? "gt_mean_rec601" : "gt_mean_retinexformer_code";
        Map<String, Object> e = (Map<String, Object>) p.get(key);
        List<Object> weights = (List<Object>) e.get("gray_weights_rgb");
        assertArrayEquals(new double[] {gw.r, gw.g, gw.b},
            new double[] {((Number) weights.get(0)).doubleValue(), ((Number) weights.get(1)).doubleValue(), ((Number) weights.get(2)).doubleValue()});
        double ratio = Metrics.gtMeanRatio(pred, gt, H, W, Layout.HWC, gw);
        assertEquals(d(e, "ratio"), ratio, TOL, kind + " " + key + " ratio");
        assertEquals(d(e, "mse"), Metrics.mse(Metrics.scaleClip(pred, ratio), gt), MSE_RTOL * d(e, "mse"),
            kind + " " + key + " mse");
        assertEquals(d(e, "psnr"), Metrics.psnrGtMean(pred, gt, H, W, Layout.HWC, gw), TOL, kind + " " + key);
        assertEquals(d(e, "ssim"), Metrics.ssimGtMean(pred, gt, H, W, Layout.HWC, gw), TOL, kind + " " + key);

        Metrics.Scores s = Metrics.evaluate(pred, gt, H, W, Layout.HWC, gw);
        assertEquals(d(p, "psnr"), s.psnr(), TOL);
        assertEquals(d(p, "ssim"), s.ssim(), TOL);
        assertEquals(d(e, "psnr"), s.psnrGtMean(), TOL);
        assertEquals(d(e, "ssim"), s.ssimGtMean(), TOL);
        assertEquals(d(e, "ratio"), s.gtMeanRatio(), TOL);
      }
    }
  }

  @Test
  void chwLayoutGivesTheSameNumbers() throws IOException {
    for (Map<String, Object> p : pairs) {
      double[] pred = Metrics.fromUint8(bin((String) p.get("pred")));
      double[] gt = Metrics.fromUint8(bin((String) p.get("gt")));
      double[] predChw = Metrics.hwcToChw(pred, H, W);
      double[] gtChw = Metrics.hwcToChw(gt, H, W);
      assertArrayEquals(pred, Metrics.chwToHwc(predChw, H, W));
      Metrics.Scores hwc = Metrics.evaluate(pred, gt, H, W, Layout.HWC, Metrics.DEFAULT_GRAY_WEIGHTS);
      Metrics.Scores chw = Metrics.evaluate(predChw, gtChw, H, W, Layout.CHW, Metrics.DEFAULT_GRAY_WEIGHTS);
      assertEquals(hwc.psnr(), chw.psnr(), REORDER_TOL);
      assertEquals(hwc.ssim(), chw.ssim(), 0.0, "same values in the same order per channel");
      assertEquals(hwc.psnrGtMean(), chw.psnrGtMean(), REORDER_TOL);
      assertEquals(hwc.ssimGtMean(), chw.ssimGtMean(), 0.0);
      // float32 input: the uint8 values k/255 survive float32 quantisation exactly, so SSIM is identical
      float[] predF = toFloat(predChw);
      float[] gtF = toFloat(gtChw);
      assertEquals(chw.ssim(), Metrics.ssim(predF, gtF, H, W, Layout.CHW), 0.0);
      assertEquals(chw.psnr(), Metrics.psnr(predF, gtF), 1e-5, "float32 inputs: ~1e-7 relative value error");
    }
  }

  @Test
  void identicalImagesAndConventions() {
    double[] img = randomImage(20, 30, 1);
    assertEquals(Metrics.PSNR_IDENTICAL, Metrics.psnr(img, img.clone()));
    assertEquals(1.0, Metrics.ssim(img, img.clone(), 20, 30, Layout.CHW), 1e-15);
    assertEquals(10.0, Metrics.psnrFromMse(0.1), 1e-12);
    // all-black prediction: ratio defined as 1 (prediction left unchanged)
    double[] black = new double[img.length];
    assertEquals(1.0, Metrics.gtMeanRatio(black, img, 20, 30, Layout.CHW, GrayWeights.REC601));
  }

  @Test
  void quantisationRoundsHalfToEven() {
    assertEquals(128, Metrics.toUint8(new double[] {0.5})[0] & 0xFF); // 127.5 -> 128 (even)
    assertEquals(255, Metrics.toUint8(new double[] {1.7})[0] & 0xFF); // clipped
    assertEquals(0, Metrics.toUint8(new double[] {-0.2})[0] & 0xFF);
    // a float32 value whose float32 product with 255 is exactly 2.5: rint gives 2, floor(x + 0.5) would give 3
    float v = 2.5f / 255f;
    while (v * 255f < 2.5f) {
      v = Math.nextUp(v);
    }
    while (v * 255f > 2.5f) {
      v = Math.nextDown(v);
    }
    assertEquals(2.5f, v * 255f, "test setup: an exact tie exists");
    assertEquals(2, Metrics.toUint8(new float[] {v})[0] & 0xFF);
    float v2 = v;
    while (v2 * 255f < 3.5f) {
      v2 = Math.nextUp(v2);
    }
    if (v2 * 255f == 3.5f) {
      assertEquals(4, Metrics.toUint8(new float[] {v2})[0] & 0xFF);
    }
  }

  @Test
  void ssimMatchesDirect2dFilterOnLargerImages() {
    int h = 150;
    int w = 97;
    double[] a = randomImage(h, w, 2);
    double[] b = a.clone();
    Random r = new Random(3);
    for (int i = 0; i < b.length; i++) {
      b[i] = Math.min(1, Math.max(0, b[i] * 0.8 + 0.1 * r.nextGaussian()));
    }
    double[] ours = Metrics.ssimPerChannel(a, b, h, w, Layout.CHW);
    byte[] ua = Metrics.toUint8(a);
    byte[] ub = Metrics.toUint8(b);
    for (int c = 0; c < 3; c++) {
      assertEquals(direct2d(ua, ub, c, h, w, null), ours[c], REORDER_TOL, "channel " + c);
    }
  }

  @Test
  void ssimIndependentOfThreadCount() throws Exception {
    int h = 333;
    int w = 211;
    double[] a = randomImage(h, w, 4);
    double[] b = randomImage(h, w, 5);
    double parallel = Metrics.ssim(a, b, h, w, Layout.CHW);
    ForkJoinPool one = new ForkJoinPool(1);
    try {
      double single = one.submit(() -> Metrics.ssim(a, b, h, w, Layout.CHW)).get();
      assertEquals(parallel, single, 0.0);
    } finally {
      one.shutdown();
    }
  }

  /**
   * A mask (the pixels a target shows): the target's colour off the mask changes nothing, the prediction's there only
   * the SSIM windows at the mask's rim; everything kept is the evaluation without a mask; and the numbers are those of
   * an independent computation (MSE and grey means over the kept pixels, the direct 2-D SSIM map over the windows
   * centred on kept pixels with the target's other pixels taking the prediction's values).
   */
  @Test
  void aMaskLeavesOutThePixelsItDoesNotKeep() {
    int h = 40, w = 53, n = h * w;
    float[] pred = toFloat(randomImage(h, w, 6)), gt = toFloat(randomImage(h, w, 7));
    boolean[] kept = new boolean[n], all = new boolean[n];
    java.util.Arrays.fill(all, true);
    for (int i = 0; i < n; i++) kept[i] = i % w >= 9 && i / w != 20; // a hidden left margin and a hidden row
    GrayWeights gw = Metrics.DEFAULT_GRAY_WEIGHTS;
    Metrics.Scores plain = Metrics.evaluate(pred, gt, h, w, Layout.CHW, gw);
    assertEquals(plain, Metrics.evaluate(pred, gt, all, h, w, Layout.CHW, gw));
    assertEquals(plain, Metrics.evaluate(pred, gt, null, h, w, Layout.CHW, gw));
    Metrics.Scores s = Metrics.evaluate(pred, gt, kept, h, w, Layout.CHW, gw);
    float[] gtElse = gt.clone(), predElse = pred.clone();
    for (int c = 0; c < 3; c++) {
      for (int i = 0; i < n; i++) {
        if (kept[i]) continue;
        gtElse[c * n + i] = 1;
        predElse[c * n + i] = 0;
      }
    }
    assertEquals(s, Metrics.evaluate(pred, gtElse, kept, h, w, Layout.CHW, gw), "the target's hidden colour");
    Metrics.Scores p = Metrics.evaluate(predElse, gt, kept, h, w, Layout.CHW, gw);
    assertEquals(s.psnr(), p.psnr(), 0.0);
    assertEquals(s.gtMeanRatio(), p.gtMeanRatio(), 0.0);
    double se = 0, mp = 0, mg = 0;
    int count = 0;
    for (int i = 0; i < n; i++) {
      if (!kept[i]) continue;
      count++;
      for (int c = 0; c < 3; c++) se += Math.pow((double) pred[c * n + i] - gt[c * n + i], 2);
      mp += gw.r * pred[i] + gw.g * pred[n + i] + gw.b * pred[2 * n + i];
      mg += gw.r * gt[i] + gw.g * gt[n + i] + gw.b * gt[2 * n + i];
    }
    assertEquals(10 * Math.log10(3.0 * count / se), s.psnr(), REORDER_TOL);
    assertEquals(mg / mp, s.gtMeanRatio(), REORDER_TOL);
    float[] gtPred = gt.clone();
    for (int c = 0; c < 3; c++) for (int i = 0; i < n; i++) if (!kept[i]) gtPred[c * n + i] = pred[c * n + i];
    byte[] ua = Metrics.toUint8(Metrics.toDouble(pred)), ub = Metrics.toUint8(Metrics.toDouble(gtPred));
    double ssim = 0;
    for (int c = 0; c < 3; c++) ssim += direct2d(ua, ub, c, h, w, kept) / 3;
    assertEquals(ssim, s.ssim(), REORDER_TOL);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Metrics.evaluate(pred, gt, new boolean[n], h, w, Layout.CHW, gw));
    assertTrue(e.getMessage().contains("no pixel"), e.getMessage());
  }

  @Test
  void badShapesAreRejected() {
    double[] small = new double[3 * 10 * 10];
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Metrics.ssim(small, small, 10, 10, Layout.CHW));
    assertTrue(e.getMessage().contains("10x10"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Metrics.ssim(small, small, 12, 10, Layout.CHW));
    assertThrows(IllegalArgumentException.class, () -> Metrics.psnr(new double[3], new double[6]));
  }

  /** The SSIM map of one channel by a direct 2-D filter, averaged over the windows centred on kept pixels. */
  private static double direct2d(byte[] x, byte[] y, int c, int h, int w, boolean[] kept) {
    double[] g = new double[11];
    double gs = 0;
    for (int i = 0; i < 11; i++) {
      g[i] = Math.exp(-((i - 5) * (i - 5)) / 4.5);
      gs += g[i];
    }
    double c1 = Math.pow(0.01 * 255, 2);
    double c2 = Math.pow(0.03 * 255, 2);
    int off = c * h * w;
    double sum = 0;
    int count = 0;
    for (int r = 0; r + 11 <= h; r++) {
      for (int q = 0; q + 11 <= w; q++) {
        if (kept != null && !kept[(r + 5) * w + q + 5]) continue;
        count++;
        double mx = 0, my = 0, xx = 0, yy = 0, xy = 0;
        for (int i = 0; i < 11; i++) {
          for (int j = 0; j < 11; j++) {
            double k = g[i] * g[j] / (gs * gs);
            double a = x[off + (r + i) * w + q + j] & 0xFF;
            double b = y[off + (r + i) * w + q + j] & 0xFF;
            mx += k * a;
            my += k * b;
            xx += k * a * a;
            yy += k * b * b;
            xy += k * a * b;
          }
        }
        sum += ((2 * mx * my + c1) * (2 * (xy - mx * my) + c2))
            / ((mx * mx + my * my + c1) * ((xx - mx * mx) + (yy - my * my) + c2));
      }
    }
    return sum / count;
  }

  static double[] randomImage(int h, int w, long seed) {
    Random r = new Random(seed);
    double[] img = new double[3 * h * w];
    for (int i = 0; i < img.length; i++) {
      img[i] = r.nextDouble();
    }
    return img;
  }

  private static float[] toFloat(double[] a) {
    float[] f = new float[a.length];
    for (int i = 0; i < a.length; i++) {
      f[i] = (float) a[i];
    }
    return f;
  }
}
