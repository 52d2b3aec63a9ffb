/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Synthetic low-light degradation of a normal-light sRGB image, in linear light.
 *
 * <p><b>Model</b> (per pixel and channel, independently; {@code s} = sRGB value in [0, 1]):
 * <ol>
 *   <li>{@code x = EOTF(s)}: exact sRGB decoding ({@link Srgb#toLinear(double)}).</li>
 *   <li>{@code d = k · x^γ}: exposure scale {@code k} (the fraction of light kept) and a tone exponent
 *       {@code γ >= 1} that crushes shadows more than highlights, as under-exposed camera output does; with
 *       {@code γ = 1} the mean linear brightness drops by exactly {@code k}.</li>
 *   <li>{@code y = Poisson(a · d) / a + N(0, σ²)}: signal-dependent shot noise for a sensor that collects
 *       {@code a} photo-electrons at full scale (so {@code Var = d / a}), plus signal-independent read noise
 *       {@code σ} (linear units). Total variance {@code d / a + σ²}; mean {@code d}. Set {@code a = 0} for no shot
 *       noise, {@code σ = 0} for no read noise.</li>
 *   <li>{@code y = clip(y, 0, 1)}, {@code s' = OETF(y)}: back to sRGB (quantised to 8 bits when written).</li>
 *   <li>Optionally, with probability {@code jpegProbability}, JPEG re-compression at a quality drawn uniformly
 *       from {@code [jpegQualityMin, jpegQualityMax]} (ImageIO's encoder, 4:2:0 chroma).</li>
 * </ol>
 * Noise is independent per channel (no demosaicing correlation) and per pixel.
 *
 * <p><b>Random draws.</b> {@code k}, {@code a} and {@code σ} are log-uniform in their ranges ({@code σ} uniform
 * when its minimum is 0), {@code γ} uniform; a range with min == max is a constant. All draws, and the noise, come
 * from the {@link SplittableRandom} passed in, so a seed fixes everything; {@link Drawn} records the values used.
 */
public final class Degradation {
  private Degradation() {}

  /**
   * Ranges of the degradation parameters (see the class comment for the model).
   *
   * @param exposureMin smallest exposure scale k (> 0)
   * @param exposureMax largest k (<= 1)
   * @param gammaMin smallest tone exponent γ (> 0; 1 = none)
   * @param gammaMax largest γ
   * @param photonsMin smallest photons-at-full-scale a (0 = no shot noise)
   * @param photonsMax largest a
   * @param readSigmaMin smallest read-noise σ (linear units, >= 0)
   * @param readSigmaMax largest σ
   * @param jpegProbability probability of JPEG re-compression (0 = never)
   * @param jpegQualityMin lowest JPEG quality (1..100)
   * @param jpegQualityMax highest JPEG quality
   */
  public record Params(double exposureMin, double exposureMax, double gammaMin, double gammaMax, double photonsMin,
      double photonsMax, double readSigmaMin, double readSigmaMax, double jpegProbability, int jpegQualityMin,
      int jpegQualityMax) {
    /**
     * Defaults chosen to resemble LOL's low-light images (mean sRGB level about 0.05–0.2, visible chroma noise):
     * k in [0.03, 0.25], γ in [1.0, 1.4], a in [300, 3000] photons, σ in [0.0005, 0.004], no JPEG (quality
     * [70, 95] when enabled).
     */
    public static final Params DEFAULT = new Params(0.03, 0.25, 1.0, 1.4, 300, 3000, 0.0005, 0.004, 0.0, 70, 95);

    /** Validates the ranges. */
    public Params {
      check(exposureMin > 0 && exposureMin <= exposureMax && exposureMax <= 1, "exposure range must satisfy 0 < min <= max <= 1",
          exposureMin, exposureMax);
      check(gammaMin > 0 && gammaMin <= gammaMax, "gamma range must satisfy 0 < min <= max", gammaMin, gammaMax);
      check(photonsMin >= 0 && photonsMin <= photonsMax && (photonsMin > 0 || photonsMax == 0),
          "photons range must satisfy 0 < min <= max (or both 0 for no shot noise)", photonsMin, photonsMax);
      check(readSigmaMin >= 0 && readSigmaMin <= readSigmaMax, "read-noise range must satisfy 0 <= min <= max",
          readSigmaMin, readSigmaMax);
      check(jpegProbability >= 0 && jpegProbability <= 1, "jpegProbability must be in [0, 1]", jpegProbability, jpegProbability);
      check(jpegQualityMin >= 1 && jpegQualityMin <= jpegQualityMax && jpegQualityMax <= 100,
          "JPEG quality range must satisfy 1 <= min <= max <= 100", jpegQualityMin, jpegQualityMax);
    }

    private static void check(boolean ok, String msg, double a, double b) {
      if (!ok) throw new IllegalArgumentException(msg + ", got [" + a + ", " + b + "]");
    }

    /**
     * @param min smallest k
     * @param max largest k
     * @return a copy with another exposure range
     */
    public Params withExposure(double min, double max) {
      return new Params(min, max, gammaMin, gammaMax, photonsMin, photonsMax, readSigmaMin, readSigmaMax,
          jpegProbability, jpegQualityMin, jpegQualityMax);
    }

    /**
     * @param min smallest γ
     * @param max largest γ
     * @return a copy with another gamma range
     */
    public Params withGamma(double min, double max) {
      return new Params(exposureMin, exposureMax, min, max, photonsMin, photonsMax, readSigmaMin, readSigmaMax,
          jpegProbability, jpegQualityMin, jpegQualityMax);
    }

    /**
     * @param min smallest a (0 with max 0 = no shot noise)
     * @param max largest a
     * @return a copy with another photon range
     */
    public Params withPhotons(double min, double max) {
      return new Params(exposureMin, exposureMax, gammaMin, gammaMax, min, max, readSigmaMin, readSigmaMax,
          jpegProbability, jpegQualityMin, jpegQualityMax);
    }

    /**
     * @param min smallest σ
     * @param max largest σ
     * @return a copy with another read-noise range
     */
    public Params withReadSigma(double min, double max) {
      return new Params(exposureMin, exposureMax, gammaMin, gammaMax, photonsMin, photonsMax, min, max,
          jpegProbability, jpegQualityMin, jpegQualityMax);
    }

    /**
     * @param probability chance of re-compression per image
     * @param qMin lowest quality
     * @param qMax highest quality
     * @return a copy with other JPEG settings
     */
    public Params withJpeg(double probability, int qMin, int qMax) {
      return new Params(exposureMin, exposureMax, gammaMin, gammaMax, photonsMin, photonsMax, readSigmaMin,
          readSigmaMax, probability, qMin, qMax);
    }

    /** @return these ranges as a JSON object */
    public String toJson() {
      return new Json.Obj().put("exposureMin", exposureMin).put("exposureMax", exposureMax).put("gammaMin", gammaMin)
          .put("gammaMax", gammaMax).put("photonsMin", photonsMin).put("photonsMax", photonsMax)
          .put("readSigmaMin", readSigmaMin).put("readSigmaMax", readSigmaMax).put("jpegProbability", jpegProbability)
          .put("jpegQualityMin", jpegQualityMin).put("jpegQualityMax", jpegQualityMax).toString();
    }
  }

  /**
   * The values drawn for one image.
   *
   * @param exposure k
   * @param gamma γ
   * @param photons a (0 = no shot noise)
   * @param readSigma σ
   * @param jpegQuality JPEG quality used, or 0 when not re-compressed
   */
  public record Drawn(double exposure, double gamma, double photons, double readSigma, int jpegQuality) {
    /** Validates the values. */
    public Drawn {
      if (!(exposure > 0 && exposure <= 1)) throw new IllegalArgumentException("exposure must be in (0, 1], got " + exposure);
      if (!(gamma > 0)) throw new IllegalArgumentException("gamma must be > 0, got " + gamma);
      if (!(photons >= 0)) throw new IllegalArgumentException("photons must be >= 0, got " + photons);
      if (!(readSigma >= 0)) throw new IllegalArgumentException("readSigma must be >= 0, got " + readSigma);
      if (jpegQuality < 0 || jpegQuality > 100) throw new IllegalArgumentException("jpegQuality must be 0..100, got " + jpegQuality);
    }
  }

  /**
   * Draws one image's parameters. Consumes exactly five values from {@code rng} (plus one when JPEG is possible).
   *
   * @param p the ranges
   * @param rng the generator
   * @return the drawn values
   */
  public static Drawn draw(Params p, SplittableRandom rng) {
    double k = logUniform(p.exposureMin(), p.exposureMax(), rng);
    double g = uniform(p.gammaMin(), p.gammaMax(), rng);
    double a = p.photonsMax() == 0 ? 0 : logUniform(p.photonsMin(), p.photonsMax(), rng);
    double s = p.readSigmaMin() == 0 ? uniform(0, p.readSigmaMax(), rng) : logUniform(p.readSigmaMin(), p.readSigmaMax(), rng);
    double u = rng.nextDouble();
    int q = 0;
    if (p.jpegProbability() > 0 && u < p.jpegProbability()) {
      q = p.jpegQualityMin() + rng.nextInt(p.jpegQualityMax() - p.jpegQualityMin() + 1);
    }
    return new Drawn(k, g, a, s, q);
  }

  private static double uniform(double lo, double hi, SplittableRandom rng) {
    return lo == hi ? lo : lo + (hi - lo) * rng.nextDouble();
  }

  private static double logUniform(double lo, double hi, SplittableRandom rng) {
    return lo == hi ? lo : Math.exp(Math.log(lo) + (Math.log(hi) - Math.log(lo)) * rng.nextDouble());
  }

  /**
   * Degrades an image with given parameters (see the class comment). Alpha is dropped; the result is marked
   * 8-bit RGB.
   *
   * @param high the normal-light image
   * @param d the parameters
   * @param rng noise source
   * @return the low-light image, same size
   */
  public static Image apply(Image high, Drawn d, SplittableRandom rng) {
    float[] lin = Srgb.toLinear(high.rgb());
    darkenLinear(lin, d.exposure(), d.gamma());
    addNoise(lin, d.photons(), d.readSigma(), rng);
    Image.Metadata m = new Image.Metadata(8, false, high.metadata().format(), "sRGB", high.metadata().exifOrientation());
    Image low = new Image(high.width(), high.height(), Srgb.fromLinear(lin), null, m);
    if (d.jpegQuality() > 0) low = jpegRoundTrip(low, d.jpegQuality());
    return low;
  }

  /**
   * Encodes to JPEG at the given quality and decodes again.
   *
   * @param img the image
   * @param quality 1..100
   * @return the decoded image
   */
  public static Image jpegRoundTrip(Image img, int quality) {
    try {
      byte[] bytes = Images.encode(img, "jpeg", WriteOptions.DEFAULT.withJpegQuality(quality));
      Image back = Images.decode(bytes, Path.of("memory.jpg"), ReadOptions.DEFAULT.withMinSide(1));
      return back.withMetadata(img.metadata());
    } catch (IOException e) {
      throw new IllegalStateException("in-memory JPEG round trip failed", e);
    }
  }

  /**
   * In place: {@code lin[i] = k · lin[i]^γ}.
   *
   * @param lin linear values in [0, 1]
   * @param k exposure scale
   * @param gamma tone exponent
   */
  public static void darkenLinear(float[] lin, double k, double gamma) {
    for (int i = 0; i < lin.length; i++) {
      double x = Math.max(0, lin[i]);
      lin[i] = (float) (k * (gamma == 1 ? x : Math.pow(x, gamma)));
    }
  }

  /**
   * In place: {@code lin[i] = clip(Poisson(a · lin[i]) / a + N(0, σ²), 0, 1)}.
   *
   * @param lin linear values
   * @param photons a, photo-electrons at full scale (0 = no shot noise)
   * @param sigma read-noise standard deviation σ (linear units)
   * @param rng noise source
   */
  public static void addNoise(float[] lin, double photons, double sigma, SplittableRandom rng) {
    for (int i = 0; i < lin.length; i++) {
      double x = Math.max(0, lin[i]);
      double y = photons > 0 ? poisson(photons * x, rng) / photons : x;
      if (sigma > 0) y += sigma * rng.nextGaussian();
      lin[i] = (float) Math.min(1, Math.max(0, y));
    }
  }

  /**
   * Draws a Poisson variate: inversion by sequential search for {@code λ < 10}, Hörmann's transformed rejection
   * with squeeze (PTRS, 1993; the algorithm NumPy uses) otherwise. Exact for all {@code λ}.
   *
   * @param lambda the mean (>= 0)
   * @param rng the generator
   * @return the variate
   */
  public static long poisson(double lambda, SplittableRandom rng) {
    if (!(lambda >= 0)) throw new IllegalArgumentException("lambda must be >= 0, got " + lambda);
    if (lambda == 0) return 0;
    if (lambda < 10) {
      double p = Math.exp(-lambda), f = p, u = rng.nextDouble();
      long k = 0;
      while (u > f && k < 1000) {
        k++;
        p *= lambda / k;
        f += p;
      }
      return k;
    }
    double slam = Math.sqrt(lambda), loglam = Math.log(lambda);
    double b = 0.931 + 2.53 * slam;
    double a = -0.059 + 0.02483 * b;
    double invalpha = 1.1239 + 1.1328 / (b - 3.4);
    double vr = 0.9277 - 3.6224 / (b - 2);
    while (true) {
      double u = rng.nextDouble() - 0.5;
      double v = rng.nextDouble();
      double us = 0.5 - Math.abs(u);
      long k = (long) Math.floor((2 * a / us + b) * u + lambda + 0.43);
      if (us >= 0.07 && v <= vr) return k;
      if (k < 0 || (us < 0.013 && v > us)) continue;
      if (Math.log(v) + Math.log(invalpha) - Math.log(a / (us * us) + b) <= -lambda + k * loglam - logGamma(k + 1)) {
        return k;
      }
    }
  }

  /** log Γ(x) for x > 0 (Stirling series with upward shift below 7; NumPy's {@code random_loggam}). */
  static double logGamma(double x) {
    final double[] c = {8.333333333333333e-02, -2.777777777777778e-03, 7.936507936507937e-04,
        -5.952380952380952e-04, 8.417508417508418e-04, -1.917526917526918e-03, 6.410256410256410e-03,
        -2.955065359477124e-02, 1.796443723688307e-01, -1.39243221690590e+00};
    if (x == 1.0 || x == 2.0) return 0;
    double x0 = x;
    int n = 0;
    if (x <= 7) {
      n = (int) (7 - x);
      x0 = x + n;
    }
    double x2 = 1.0 / (x0 * x0);
    double gl0 = c[9];
    for (int k = 8; k >= 0; k--) gl0 = gl0 * x2 + c[k];
    double gl = gl0 / x0 + 0.5 * Math.log(2 * Math.PI) + (x0 - 0.5) * Math.log(x0) - x0;
    if (x <= 7) {
      for (int k = 1; k <= n; k++) {
        gl -= Math.log(x0 - 1);
        x0 -= 1;
      }
    }
    return gl;
  }

  /**
   * @param lin linear or sRGB values
   * @return their mean
   */
  public static double mean(float[] lin) {
    double s = 0;
    for (float v : lin) s += v;
    return lin.length == 0 ? 0 : s / lin.length;
  }
}
