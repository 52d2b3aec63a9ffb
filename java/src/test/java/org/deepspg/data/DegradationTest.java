/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class DegradationTest {
  /**
   * Sample mean/variance over N = 200k draws: the relative standard error of a variance estimate is about
   * sqrt(2 / N) = 0.3 %, of a Poisson mean about 1 / sqrt(N·λ); 3 % leaves a 10-sigma margin.
   */
  private static final double STAT_REL_TOL = 0.03;

  private static double[] meanVar(float[] v) {
    double m = 0;
    for (float x : v) m += x;
    m /= v.length;
    double s = 0;
    for (float x : v) s += (x - m) * (x - m);
    return new double[] {m, s / (v.length - 1)};
  }

  @Test
  void poissonSamplerHasPoissonMoments() {
    SplittableRandom r = new SplittableRandom(1);
    for (double lambda : new double[] {0.3, 3, 9.9, 10, 37.5, 1000, 25000}) {
      int n = 200_000;
      double m = 0, m2 = 0;
      for (int i = 0; i < n; i++) {
        long k = Degradation.poisson(lambda, r);
        assertTrue(k >= 0);
        m += k;
        m2 += (double) k * k;
      }
      m /= n;
      double var = m2 / n - m * m;
      assertEquals(lambda, m, STAT_REL_TOL * lambda + 0.01, "mean for lambda " + lambda);
      assertEquals(lambda, var, STAT_REL_TOL * lambda + 0.01, "variance for lambda " + lambda);
    }
    assertEquals(0, Degradation.poisson(0, r));
    // log-gamma against exact factorials
    assertEquals(Math.log(120), Degradation.logGamma(6), 1e-12);
    assertEquals(Math.log(3628800), Degradation.logGamma(11), 1e-12);
    assertEquals(0.5 * Math.log(Math.PI), Degradation.logGamma(0.5), 1e-12);
  }

  @Test
  void noiseVarianceOnFlatPatchIsSignalOverPhotonsPlusReadVariance() {
    double a = 500, sigma = 0.01;
    for (double x : new double[] {0.05, 0.1, 0.3}) {
      float[] lin = new float[200_000];
      Arrays.fill(lin, (float) x);
      Degradation.addNoise(lin, a, sigma, new SplittableRandom(2));
      double[] mv = meanVar(lin);
      // y = Poisson(a x)/a + N(0, s^2): E = x, Var = x / a + s^2 (clipping at 0 is negligible: x >= 3.5 sd)
      assertEquals(x, mv[0], 0.002 * x + 1e-4, "mean at x=" + x);
      double expVar = x / a + sigma * sigma;
      assertEquals(expVar, mv[1], STAT_REL_TOL * expVar, "variance at x=" + x);
    }
    // shot noise alone and read noise alone
    float[] lin = new float[200_000];
    Arrays.fill(lin, 0.2f);
    Degradation.addNoise(lin, 1000, 0, new SplittableRandom(3));
    assertEquals(0.2 / 1000, meanVar(lin)[1], STAT_REL_TOL * 0.2 / 1000);
    Arrays.fill(lin, 0.5f);
    Degradation.addNoise(lin, 0, 0.02, new SplittableRandom(4));
    assertEquals(0.0004, meanVar(lin)[1], STAT_REL_TOL * 0.0004);
  }

  static Image smoothImage(int w, int h) {
    float[] p = new float[3 * w * h];
    for (int c = 0; c < 3; c++) for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) {
      p[(c * h + y) * w + x] = (float) (0.15 + 0.8 * (0.5 + 0.5 * Math.sin(0.11 * x * (c + 1) + 0.07 * y)));
    }
    return Image.of(w, h, p);
  }

  @Test
  void meanLinearBrightnessDropsByExposure() {
    Image high = smoothImage(96, 64);
    double meanHigh = Degradation.mean(Srgb.toLinear(high.rgb()));
    for (double k : new double[] {0.05, 0.2}) {
      Degradation.Drawn d = new Degradation.Drawn(k, 1.0, 2000, 0.002, 0);
      Image low = Degradation.apply(high, d, new SplittableRandom(5));
      double meanLow = Degradation.mean(Srgb.toLinear(low.rgb()));
      // gamma 1: E[low] = k·E[high] exactly; the noise is zero-mean, clipping at 0 adds < 1e-4 here
      assertEquals(k, meanLow / meanHigh, 0.02 * k, "brightness ratio for k=" + k);
    }
    // gamma > 1: E[low] = k·E[x^gamma]
    Degradation.Drawn d = new Degradation.Drawn(0.2, 1.3, 0, 0, 0);
    Image low = Degradation.apply(high, d, new SplittableRandom(6));
    float[] lin = Srgb.toLinear(high.rgb());
    double expected = 0;
    for (float v : lin) expected += 0.2 * Math.pow(v, 1.3);
    expected /= lin.length;
    assertEquals(expected, Degradation.mean(Srgb.toLinear(low.rgb())), 1e-5);
  }

  @Test
  void seededAndReproducible() {
    Image high = smoothImage(40, 30);
    Degradation.Params p = Degradation.Params.DEFAULT.withJpeg(0.5, 60, 90);
    SplittableRandom r1 = new SplittableRandom(42), r2 = new SplittableRandom(42), r3 = new SplittableRandom(43);
    Degradation.Drawn d1 = Degradation.draw(p, r1), d2 = Degradation.draw(p, r2), d3 = Degradation.draw(p, r3);
    assertEquals(d1, d2);
    assertFalse(d1.equals(d3));
    assertArrayEquals(Degradation.apply(high, d1, r1).rgb(), Degradation.apply(high, d2, r2).rgb());
    float[] other = Degradation.apply(high, d1, new SplittableRandom(7)).rgb();
    assertFalse(Arrays.equals(Degradation.apply(high, d1, new SplittableRandom(8)).rgb(), other));
  }

  @Test
  void drawsStayInRanges() {
    Degradation.Params p = Degradation.Params.DEFAULT.withJpeg(0.3, 70, 80);
    SplittableRandom r = new SplittableRandom(9);
    int jpeg = 0;
    for (int i = 0; i < 2000; i++) {
      Degradation.Drawn d = Degradation.draw(p, r);
      assertTrue(d.exposure() >= p.exposureMin() && d.exposure() <= p.exposureMax());
      assertTrue(d.gamma() >= p.gammaMin() && d.gamma() <= p.gammaMax());
      assertTrue(d.photons() >= p.photonsMin() && d.photons() <= p.photonsMax());
      assertTrue(d.readSigma() >= p.readSigmaMin() && d.readSigma() <= p.readSigmaMax());
      if (d.jpegQuality() > 0) {
        jpeg++;
        assertTrue(d.jpegQuality() >= 70 && d.jpegQuality() <= 80);
      }
    }
    // binomial(2000, 0.3): sd ~ 20
    assertEquals(600, jpeg, 100);
    assertThrows(IllegalArgumentException.class, () -> Degradation.Params.DEFAULT.withExposure(0.5, 0.1));
    assertThrows(IllegalArgumentException.class, () -> Degradation.Params.DEFAULT.withJpeg(1.5, 70, 80));
  }

  @Test
  void jpegOptionChangesTheOutput() throws Exception {
    Image high = smoothImage(48, 32);
    Degradation.Drawn plain = new Degradation.Drawn(0.2, 1.0, 1000, 0.002, 0);
    Degradation.Drawn jpeg = new Degradation.Drawn(0.2, 1.0, 1000, 0.002, 40);
    Image a = Degradation.apply(high, plain, new SplittableRandom(10));
    Image b = Degradation.apply(high, jpeg, new SplittableRandom(10));
    assertFalse(Arrays.equals(a.rgb(), b.rgb()), "JPEG changes the pixels");
    byte[] pa = Images.encode(a, "png", WriteOptions.DEFAULT), pb = Images.encode(b, "png", WriteOptions.DEFAULT);
    assertFalse(Arrays.equals(pa, pb), "and the written bytes");
    // but not the brightness: JPEG keeps the mean within a couple of levels
    assertEquals(Degradation.mean(a.rgb()), Degradation.mean(b.rgb()), 3 / 255.0);
    // the same seed and quality give the same JPEG output
    assertArrayEquals(b.rgb(), Degradation.apply(high, jpeg, new SplittableRandom(10)).rgb());
  }

  /** A flat grey image (sRGB 0.6 everywhere). */
  private static Image flat(int w, int h) {
    float[] rgb = new float[3 * w * h];
    java.util.Arrays.fill(rgb, 0.6f);
    return new Image(w, h, rgb, null, Image.Metadata.MEMORY);
  }

  private static double[] channelStats(float[] lin, int c) {
    int n = lin.length / 3;
    double m = 0, m2 = 0;
    for (int i = 0; i < n; i++) {
      m += lin[c * n + i];
      m2 += (double) lin[c * n + i] * lin[c * n + i];
    }
    m /= n;
    return new double[] {m, Math.sqrt(Math.max(0, m2 / n - m * m))};
  }

  private static Degradation.Drawn camera(double wbRed, double wbBlue, double vignette, double stops, int lights) {
    return new Degradation.Drawn(0.1, 1.0, 200, 0.004, 0,
        new Degradation.CameraDrawn(wbRed, wbBlue, 0, vignette, stops, lights, 77, 0));
  }

  @Test
  void whiteBalanceAfterTheNoiseMakesChromaNoise() {
    Image high = flat(96, 96);
    float[] cam = Srgb.toLinear(Degradation.apply(high, camera(2.4, 2.0, 0, 0, 0), new SplittableRandom(3)).rgb());
    float[] plain = Srgb.toLinear(Degradation.apply(high, camera(1, 1, 0, 0, 0), new SplittableRandom(3)).rgb());
    double[] r = channelStats(cam, 0), g = channelStats(cam, 1), b = channelStats(cam, 2);
    // Same mean (the gains undo the sensor's weaker red/blue), noisier red and blue: shot-noise std scales with
    // sqrt(gain), read noise with the gain, so red/green >= sqrt(2.4) ~ 1.55 and blue/green >= sqrt(2.0) ~ 1.41.
    assertEquals(g[0], r[0], 0.05 * g[0]);
    assertEquals(g[0], b[0], 0.05 * g[0]);
    assertTrue(r[1] / g[1] > 1.4 && b[1] / g[1] > 1.25, "std r/g " + r[1] / g[1] + ", b/g " + b[1] / g[1]);
    double[] pr = channelStats(plain, 0), pg = channelStats(plain, 1);
    assertEquals(1.0, pr[1] / pg[1], 0.1, "without white balance the channels are equally noisy");
  }

  /**
   * The phone preset's magenta shadows and their fix: a deep-shadow grey (noise of the order of the signal) through
   * red/blue gains of 2.5 comes out with red and blue above green when the sensor clips its noise at 0 before the
   * gains; with the ISP's chroma noise reduction before the final clip (raw kept signed until then) it stays grey.
   */
  @Test
  void chromaNoiseReductionKeepsShadowsGrey() {
    float[] rgb = new float[3 * 128 * 128];
    java.util.Arrays.fill(rgb, 0.05f); // sRGB 0.05: linear 0.004, times k = 0.5 -> 0.002, read σ 0.01
    Image shadow = new Image(128, 128, rgb, null, Image.Metadata.MEMORY);
    double[] bias = new double[2];
    for (int nr = 0; nr < 2; nr++) {
      Degradation.Drawn d = new Degradation.Drawn(0.5, 1.0, 2000, 0.01, 0,
          new Degradation.CameraDrawn(2.5, 2.5, 10, 0, 0, 0, 7, nr == 0 ? 0 : 2.0));
      float[] lin = Srgb.toLinear(Degradation.apply(shadow, d, new SplittableRandom(11)).rgb());
      double r = channelStats(lin, 0)[0], g = channelStats(lin, 1)[0], b = channelStats(lin, 2)[0];
      bias[nr] = Math.max(r, b) / g;
    }
    assertTrue(bias[0] > 1.3, "without the ISP step red/blue exceed green (magenta): " + bias[0]);
    assertTrue(bias[1] < 1.1, "with chroma noise reduction the shadow stays grey: " + bias[1]);
  }

  /**
   * The phone-isp preset is the phone preset with the image processor's noise (the ranges the set behind the bundled
   * s-night was made with on the command line), and its dark images are several times cleaner relative to their
   * brightness: real phone JPEGs in the dark are (docs/data.md).
   */
  @Test
  void phoneIspPresetIsThePhoneWithTheProcessorsNoise() {
    Degradation.Params flags = Degradation.Params.PHONE.withPhotons(2000, 100000).withReadSigma(0.0002, 0.004)
        .withCamera(Degradation.Params.PHONE.camera().withChromaNr(2));
    assertEquals(flags, Degradation.Params.PHONE_ISP);
    float[] rgb = new float[3 * 96 * 96];
    java.util.Arrays.fill(rgb, 0.5f);
    Image grey = new Image(96, 96, rgb, null, Image.Metadata.MEMORY);
    double[] rel = new double[2];
    for (int i = 0; i < 2; i++) {
      Degradation.Params p = i == 0 ? Degradation.Params.PHONE : Degradation.Params.PHONE_ISP;
      // the same mid draw of each range: k 0.05, a and sigma at their geometric means, neutral white balance
      double a = Math.sqrt(p.photonsMin() * p.photonsMax()), sigma = Math.sqrt(p.readSigmaMin() * p.readSigmaMax());
      Degradation.Drawn d = new Degradation.Drawn(0.05, 1.0, a, sigma, 0,
          new Degradation.CameraDrawn(1, 1, 10, 0, 0, 0, 3, p.camera().chromaNr()));
      float[] lin = Degradation.apply(grey, d, new SplittableRandom(5)).rgb();
      double[] g = channelStats(lin, 1);
      rel[i] = g[1] / g[0];
    }
    assertTrue(rel[0] > 4 * rel[1], "phone-isp noise relative to the signal is far lower: " + rel[0] + " vs " + rel[1]);
  }

  @Test
  void vignettingAndTheExposureFieldVaryTheLightOverTheFrame() {
    Image high = flat(120, 80);
    Degradation.Drawn vig = new Degradation.Drawn(0.2, 1.0, 0, 0, 0,
        new Degradation.CameraDrawn(1, 1, 0, 0.5, 0, 0, 5, 0));
    float[] v = Srgb.toLinear(Degradation.apply(high, vig, new SplittableRandom(1)).rgb());
    int n = 120 * 80;
    double centre = v[40 * 120 + 60], corner = v[0];
    assertEquals(0.5, corner / centre, 0.03, "corner fall-off 1 - v (8-bit rounding)");
    Degradation.Drawn field = new Degradation.Drawn(0.2, 1.0, 0, 0, 0,
        new Degradation.CameraDrawn(1, 1, 0, 0, 2.0, 0, 5, 0));
    float[] f = Srgb.toLinear(Degradation.apply(high, field, new SplittableRandom(1)).rgb());
    double lo = Double.MAX_VALUE, hi = 0;
    for (int i = 0; i < n; i++) {
      lo = Math.min(lo, f[n + i]);
      hi = Math.max(hi, f[n + i]);
    }
    assertTrue(hi / lo > 1.5 && hi / lo <= 16.5, "exposure varies by up to +-2 stops: max/min " + hi / lo);
  }

  @Test
  void lightSourcesStayBrightInTheDarkFrameAndKeepTheirHueInTheTarget() {
    Image high = flat(128, 96);
    Degradation.Pair p = Degradation.applyPair(high, camera(1, 1, 0, 0, 3), new SplittableRandom(2));
    float[] gt = p.high().rgb();
    assertFalse(Arrays.equals(gt, high.rgb()), "the sources are added to the target");
    int n = 128 * 96;
    int brightest = 0;
    for (int i = 0; i < n; i++) if (gt[i] + gt[n + i] + gt[2 * n + i] > gt[brightest] + gt[n + brightest] + gt[2 * n + brightest]) brightest = i;
    float min = Math.min(gt[brightest], Math.min(gt[n + brightest], gt[2 * n + brightest]));
    assertTrue(min < 0.97f, "the brightest target pixel keeps a hue (not white): min channel " + min);
    float[] low = Srgb.toLinear(p.low().rgb());
    double meanScene = 0.1 * Srgb.toLinear(0.6);
    double peak = 0;
    for (float x : low) peak = Math.max(peak, x);
    assertTrue(peak > 4 * meanScene, "a source outshines the darkened scene: peak " + peak + " vs " + meanScene);
    // Reproducible: the same draw and seed give the same pair.
    Degradation.Pair q = Degradation.applyPair(high, camera(1, 1, 0, 0, 3), new SplittableRandom(2));
    assertArrayEquals(p.high().rgb(), q.high().rgb());
    assertArrayEquals(p.low().rgb(), q.low().rgb());
  }

  @Test
  void phonePresetDrawsEveryStageAndLegacyDrawsNone() {
    SplittableRandom r = new SplittableRandom(4);
    int lit = 0;
    for (int i = 0; i < 1000; i++) {
      Degradation.Drawn d = Degradation.draw(Degradation.Params.PHONE, r);
      Degradation.CameraDrawn c = d.camera();
      assertTrue(c.wbRed() >= 1.3 && c.wbRed() <= 2.6 && c.wbBlue() >= 1.3 && c.wbBlue() <= 2.6);
      assertEquals(10, c.rawBits());
      assertTrue(c.vignette() <= 0.5 && c.fieldStops() <= 2.0 && c.lights() <= 3);
      if (c.lights() > 0) lit++;
    }
    assertEquals(500, lit, 60, "half the frames get light sources");
    assertEquals(Degradation.CameraDrawn.NONE, Degradation.draw(Degradation.Params.LEGACY, r).camera());
    assertEquals(Degradation.Params.PHONE, Degradation.Params.DEFAULT);
  }
}
