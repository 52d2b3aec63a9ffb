/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.deepspg.io.JsonFiles;

/**
 * Synthetic low-light degradation of a normal-light sRGB image, in linear light, as a camera would record the scene
 * in the dark.
 *
 * <p><b>Model</b> (per pixel and channel; {@code s} = sRGB value in [0, 1]; docs/data.md explains every range):
 * <ol>
 *   <li>{@code x = EOTF(s)}: exact sRGB decoding ({@link Srgb#toLinear(double)}). Optionally (camera stage) light
 *       sources are added to the scene: in the target with their hue kept (scaled down where a channel would exceed
 *       1), in the scene to be darkened boosted 4–40×, so that they stay bright in the dark frame.</li>
 *   <li>{@code d = k · x^γ}: exposure scale {@code k} (the fraction of light kept) and a tone exponent
 *       {@code γ >= 1} that crushes shadows more than highlights; with {@code γ = 1} the mean linear brightness drops
 *       by exactly {@code k}. Camera stages: times a smooth exposure field {@code 2^(stops·f(x, y))} (light varies
 *       over a night scene) and lens vignetting {@code 1 − v·r²}.</li>
 *   <li>Camera stage: divide red and blue by the white-balance gains the camera will apply (the sensor's raw
 *       values: under warm or dim light red and blue collect fewer photons than green).</li>
 *   <li>{@code y = Poisson(a · d) / a + N(0, σ²)}: signal-dependent shot noise for a sensor that collects
 *       {@code a} photo-electrons at full scale (so {@code Var = d / a}), plus signal-independent read noise
 *       {@code σ} (linear units), clipped to [0, 1] (sensor saturation). Set {@code a = 0} for no shot noise,
 *       {@code σ = 0} for no read noise. Camera stage: quantised to the ADC's {@code rawBits}.</li>
 *   <li>Camera stage: multiply red and blue by the white-balance gains, which amplifies their noise: the chroma
 *       noise of real dark photos. Clip to 1.</li>
 *   <li>{@code s' = OETF(y)}: back to sRGB (quantised to 8 bits when written).</li>
 *   <li>Optionally, with probability {@code jpegProbability}, JPEG re-compression at a quality drawn uniformly
 *       from {@code [jpegQualityMin, jpegQualityMax]} (ImageIO's encoder, 4:2:0 chroma).</li>
 * </ol>
 * Noise is independent per channel (no demosaicing correlation) and per pixel. {@link Params#LEGACY} has no camera
 * stages (the model of the first synthetic set, with which the bundled model was trained); {@link Params#PHONE}, the
 * default, has them all.
 *
 * <p><b>Random draws.</b> {@code k}, {@code a} and {@code σ} are log-uniform in their ranges ({@code σ} uniform
 * when its minimum is 0), {@code γ} and the camera values uniform; a range with min == max is a constant. All draws,
 * and the noise, come from the {@link SplittableRandom} passed in (the exposure field and light sources from a seed
 * drawn from it), so a seed fixes everything; {@link Drawn} records the values used.
 */
public final class Degradation {
  private Degradation() {}

  /**
   * Ranges of the degradation parameters (see the class comment for the model).
   *
   * @param exposureMin smallest exposure scale k (> 0)
   * @param exposureMax largest k (≤ 1)
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
      int jpegQualityMax, Camera camera) {
    /**
     * Defaults chosen to resemble LOL's low-light images (mean sRGB level about 0.05–0.2, visible chroma noise):
     * k in [0.03, 0.25], γ in [1.0, 1.4], a in [300, 3000] photons, σ in [0.0005, 0.004], no JPEG (quality
     * [70, 95] when enabled).
     */
    public static final Params LEGACY = new Params(0.03, 0.25, 1.0, 1.4, 300, 3000, 0.0005, 0.004, 0.0, 70, 95);

    /**
     * A phone or compact camera in the dark ({@link Camera#PHONE}: white-balance gains applied after the noise, so
     * chroma noise; 10-bit raw; vignetting; exposure varying over the frame; bright light sources in half the
     * frames), with a wider exposure range k in [0.01, 0.3], γ in [1.0, 1.2], a in [80, 2000] photo-electrons at full
     * scale (high ISO), σ in [0.001, 0.02] and JPEG re-compression of half the images at quality [60, 95].
     * docs/data.md explains each range.
     */
    public static final Params PHONE = new Params(0.01, 0.3, 1.0, 1.2, 80, 2000, 0.001, 0.02, 0.5, 60, 95,
        Camera.PHONE);

    /**
     * A phone's JPEG in the dark as its image processor delivers it: {@link #PHONE} with the ISP's chroma noise
     * reduction (σ 2 px, raw kept signed until the final clip) and the noise a multi-frame night mode and denoiser
     * leave, a in [2000, 100000] photo-electrons at full scale and σ in [0.0002, 0.004]. {@link #PHONE}'s dark images
     * are 8–9× noisier, relative to their brightness, than real phone photos in the dark (Immerkær σ over mean luma:
     * median 32–38 % against 4.2 % on the 26 darkest of 73 real photos; these: 4.5–5.6 %): in real photos the network
     * met shadows cleaner than any it was trained on, and filled them with the training scenes' average colour.
     * docs/data.md has the measurements.
     */
    public static final Params PHONE_ISP = new Params(0.01, 0.3, 1.0, 1.2, 2000, 100000, 0.0002, 0.004, 0.5, 60, 95,
        Camera.PHONE.withChromaNr(2));

    /** The default of {@code deepspg data synth}: {@link #PHONE}. */
    public static final Params DEFAULT = PHONE;

    /**
     * Ranges without the camera stages ({@link Camera#NONE}).
     *
     * @param exposureMin smallest k
     * @param exposureMax largest k
     * @param gammaMin smallest γ
     * @param gammaMax largest γ
     * @param photonsMin smallest a
     * @param photonsMax largest a
     * @param readSigmaMin smallest σ
     * @param readSigmaMax largest σ
     * @param jpegProbability probability of JPEG re-compression
     * @param jpegQualityMin lowest JPEG quality
     * @param jpegQualityMax highest JPEG quality
     */
    public Params(double exposureMin, double exposureMax, double gammaMin, double gammaMax, double photonsMin,
        double photonsMax, double readSigmaMin, double readSigmaMax, double jpegProbability, int jpegQualityMin,
        int jpegQualityMax) {
      this(exposureMin, exposureMax, gammaMin, gammaMax, photonsMin, photonsMax, readSigmaMin, readSigmaMax,
          jpegProbability, jpegQualityMin, jpegQualityMax, Camera.NONE);
    }

    /** Validates the ranges. */
    public Params {
      check(exposureMin > 0 && exposureMin <= exposureMax && exposureMax <= 1,
          "exposure range (--exposure MIN,MAX) must satisfy 0 < min <= max <= 1",
          exposureMin, exposureMax);
      check(gammaMin >= 1 && gammaMin <= gammaMax,
          "gamma (tone exponent) range (--gamma MIN,MAX) must satisfy 1 <= min <= max",
          gammaMin, gammaMax);
      check(photonsMin >= 0 && photonsMin <= photonsMax && (photonsMin > 0 || photonsMax == 0),
          "photons range (--photons MIN,MAX) must satisfy 0 < min <= max (or both 0 for no shot noise)",
          photonsMin, photonsMax);
      check(readSigmaMin >= 0 && readSigmaMin <= readSigmaMax,
          "read-noise range (--read-sigma MIN,MAX) must satisfy 0 <= min <= max",
          readSigmaMin, readSigmaMax);
      check(jpegProbability >= 0 && jpegProbability <= 1,
          "JPEG probability (P of --jpeg P,QMIN,QMAX) must be in [0, 1]", jpegProbability);
      check(jpegQualityMin >= 1 && jpegQualityMin <= jpegQualityMax && jpegQualityMax <= 100,
          "JPEG quality range (QMIN,QMAX of --jpeg) must satisfy 1 <= min <= max <= 100",
          jpegQualityMin, jpegQualityMax);
      if (camera == null) throw new IllegalArgumentException("camera stages are null (use Camera.NONE)");
    }

    static void check(boolean ok, String msg, double a, double b) {
      if (!ok) throw new IllegalArgumentException(msg + ", got [" + a + ", " + b + "]");
    }

    /** The check of a single value: "MSG, got VALUE". */
    static void check(boolean ok, String msg, Object value) {
      if (!ok) throw new IllegalArgumentException(msg + ", got " + value);
    }

    /**
     * @param min smallest k
     * @param max largest k
     * @return a copy with another exposure range
     */
    public Params withExposure(double min, double max) {
      return new Params(min, max, gammaMin, gammaMax, photonsMin, photonsMax, readSigmaMin, readSigmaMax,
          jpegProbability, jpegQualityMin, jpegQualityMax, camera);
    }

    /**
     * @param min smallest γ
     * @param max largest γ
     * @return a copy with another gamma range
     */
    public Params withGamma(double min, double max) {
      return new Params(exposureMin, exposureMax, min, max, photonsMin, photonsMax, readSigmaMin, readSigmaMax,
          jpegProbability, jpegQualityMin, jpegQualityMax, camera);
    }

    /**
     * @param min smallest a (0 with max 0 = no shot noise)
     * @param max largest a
     * @return a copy with another photon range
     */
    public Params withPhotons(double min, double max) {
      return new Params(exposureMin, exposureMax, gammaMin, gammaMax, min, max, readSigmaMin, readSigmaMax,
          jpegProbability, jpegQualityMin, jpegQualityMax, camera);
    }

    /**
     * @param min smallest σ
     * @param max largest σ
     * @return a copy with another read-noise range
     */
    public Params withReadSigma(double min, double max) {
      return new Params(exposureMin, exposureMax, gammaMin, gammaMax, photonsMin, photonsMax, min, max,
          jpegProbability, jpegQualityMin, jpegQualityMax, camera);
    }

    /**
     * @param probability chance of re-compression per image
     * @param qMin lowest quality
     * @param qMax highest quality
     * @return a copy with other JPEG settings
     */
    public Params withJpeg(double probability, int qMin, int qMax) {
      return new Params(exposureMin, exposureMax, gammaMin, gammaMax, photonsMin, photonsMax, readSigmaMin,
          readSigmaMax, probability, qMin, qMax, camera);
    }

    /**
     * @param c the camera stages
     * @return a copy with other camera stages
     */
    public Params withCamera(Camera c) {
      return new Params(exposureMin, exposureMax, gammaMin, gammaMax, photonsMin, photonsMax, readSigmaMin,
          readSigmaMax, jpegProbability, jpegQualityMin, jpegQualityMax, c);
    }

    /** @return these ranges as a JSON object on one line ({@link JsonFiles#toLine}) */
    public String toJson() {
      return JsonFiles.toLine(jsonFields());
    }

    /** These ranges as JSON members, in the order of {@code params.json}. */
    Map<String, Object> jsonFields() {
      Map<String, Object> m = new LinkedHashMap<>();
      put(m, "exposureMin", exposureMin);
      put(m, "exposureMax", exposureMax);
      put(m, "gammaMin", gammaMin);
      put(m, "gammaMax", gammaMax);
      put(m, "photonsMin", photonsMin);
      put(m, "photonsMax", photonsMax);
      put(m, "readSigmaMin", readSigmaMin);
      put(m, "readSigmaMax", readSigmaMax);
      put(m, "jpegProbability", jpegProbability);
      m.put("jpegQualityMin", jpegQualityMin);
      m.put("jpegQualityMax", jpegQualityMax);
      put(m, "wbRedMin", camera.wbRedMin());
      put(m, "wbRedMax", camera.wbRedMax());
      put(m, "wbBlueMin", camera.wbBlueMin());
      put(m, "wbBlueMax", camera.wbBlueMax());
      m.put("rawBits", camera.rawBits());
      put(m, "vignetteMax", camera.vignetteMax());
      put(m, "fieldStopsMax", camera.fieldStopsMax());
      put(m, "lightProbability", camera.lightProbability());
      m.put("lightsMax", camera.lightsMax());
      put(m, "lightBoostMin", camera.lightBoostMin());
      put(m, "lightBoostMax", camera.lightBoostMax());
      put(m, "chromaNr", camera.chromaNr());
      return m;
    }
  }

  /** Puts a double as {@link JsonFiles#shortNumber} (integral values as integers, as these files always had them). */
  static void put(Map<String, Object> m, String key, double v) {
    m.put(key, JsonFiles.shortNumber(v));
  }

  /**
   * Ranges of the camera stages (see the class comment; all off in {@link #NONE}).
   *
   * @param wbRedMin smallest white-balance gain of red relative to green (≥ 1 = the sensor's red is weaker)
   * @param wbRedMax largest red gain
   * @param wbBlueMin smallest blue gain
   * @param wbBlueMax largest blue gain
   * @param rawBits ADC bits of the raw values (0 = not quantised)
   * @param vignetteMax largest corner light fall-off v (gain 1 − v·r², r = 1 in the corners)
   * @param fieldStopsMax largest exposure variation over the frame, in stops (± this at the extremes)
   * @param lightProbability chance that a frame gets light sources
   * @param lightsMax most light sources in a frame (1..lightsMax when it gets any)
   * @param lightBoostMin smallest factor by which a source outshines the scene's exposure in the dark frame
   * @param lightBoostMax largest such factor
   * @param chromaNr σ in pixels of the ISP's chroma noise reduction before the final clip (0 = none; then the sensor
   *     clips its noise at 0 before the gains, and the shadows of the dark image turn magenta: docs/data.md)
   */
  public record Camera(double wbRedMin, double wbRedMax, double wbBlueMin, double wbBlueMax, int rawBits,
      double vignetteMax, double fieldStopsMax, double lightProbability, int lightsMax, double lightBoostMin,
      double lightBoostMax, double chromaNr) {
    /** No camera stages: the model of the first synthetic set (noise independent of colour, uniform exposure). */
    public static final Camera NONE = new Camera(1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0);
    /**
     * A phone/compact sensor: red gain [1.3, 2.6] and blue gain [1.3, 2.6] (daylight to tungsten white balance),
     * 10-bit raw, vignetting up to 0.5, exposure varying by up to ±2 stops over the frame, 1–3 light sources in half
     * the frames, outshining the scene by 4–40×.
     */
    public static final Camera PHONE = new Camera(1.3, 2.6, 1.3, 2.6, 10, 0.5, 2.0, 0.5, 3, 4, 40, 0);

    /** Validates the ranges. */
    public Camera {
      Params.check(wbRedMin > 0 && wbRedMin <= wbRedMax, "red gain range must satisfy 0 < min <= max", wbRedMin,
          wbRedMax);
      Params.check(wbBlueMin > 0 && wbBlueMin <= wbBlueMax, "blue gain range must satisfy 0 < min <= max", wbBlueMin,
          wbBlueMax);
      Params.check(rawBits == 0 || (rawBits >= 6 && rawBits <= 16), "raw bits must be 0 or 6..16", rawBits);
      Params.check(vignetteMax >= 0 && vignetteMax < 1, "vignetting must be in [0, 1)", vignetteMax);
      Params.check(fieldStopsMax >= 0 && fieldStopsMax <= 6, "exposure field must be 0..6 stops", fieldStopsMax);
      Params.check(lightProbability >= 0 && lightProbability <= 1 && lightsMax >= 0 && lightsMax <= 16,
          "light sources: probability in [0, 1], at most 16", lightProbability, lightsMax);
      Params.check(lightBoostMin >= 1 && lightBoostMin <= lightBoostMax, "light boost must satisfy 1 <= min <= max",
          lightBoostMin, lightBoostMax);
      Params.check(chromaNr >= 0 && chromaNr <= 16, "chroma noise reduction σ (--chroma-nr) must be in [0, 16] pixels",
          chromaNr);
    }

    /**
     * @param sigma σ in pixels of the chroma noise reduction (0 = none)
     * @return these stages with it
     */
    public Camera withChromaNr(double sigma) {
      return new Camera(wbRedMin, wbRedMax, wbBlueMin, wbBlueMax, rawBits, vignetteMax, fieldStopsMax,
          lightProbability, lightsMax, lightBoostMin, lightBoostMax, sigma);
    }
  }

  /**
   * The camera values drawn for one image.
   *
   * @param wbRed red white-balance gain
   * @param wbBlue blue white-balance gain
   * @param rawBits ADC bits (0 = none)
   * @param vignette corner fall-off v
   * @param fieldStops exposure variation amplitude in stops
   * @param lights number of light sources
   * @param layoutSeed seed of the exposure field and the light sources' positions, sizes and colours
   * @param chromaNr σ of the chroma noise reduction (the camera's, not drawn)
   */
  public record CameraDrawn(double wbRed, double wbBlue, int rawBits, double vignette, double fieldStops, int lights,
      long layoutSeed, double chromaNr) {
    /** No camera stages. */
    public static final CameraDrawn NONE = new CameraDrawn(1, 1, 0, 0, 0, 0, 0, 0);
  }

  /**
   * The values drawn for one image.
   *
   * @param exposure k
   * @param gamma γ
   * @param photons a (0 = no shot noise)
   * @param readSigma σ
   * @param jpegQuality JPEG quality used, or 0 when not re-compressed
   * @param camera the camera stages' values ({@link CameraDrawn#NONE} for none)
   */
  public record Drawn(double exposure, double gamma, double photons, double readSigma, int jpegQuality,
      CameraDrawn camera) {
    /**
     * Values without camera stages.
     *
     * @param exposure k
     * @param gamma γ
     * @param photons a
     * @param readSigma σ
     * @param jpegQuality JPEG quality or 0
     */
    public Drawn(double exposure, double gamma, double photons, double readSigma, int jpegQuality) {
      this(exposure, gamma, photons, readSigma, jpegQuality, CameraDrawn.NONE);
    }

    /** Validates the values. */
    public Drawn {
      if (!(exposure > 0 && exposure <= 1)) throw new IllegalArgumentException("exposure must be in (0, 1], got " + exposure);
      if (!(gamma > 0)) throw new IllegalArgumentException("gamma must be > 0, got " + gamma);
      if (!(photons >= 0)) throw new IllegalArgumentException("photons must be >= 0, got " + photons);
      if (!(readSigma >= 0)) throw new IllegalArgumentException("readSigma must be >= 0, got " + readSigma);
      if (jpegQuality < 0 || jpegQuality > 100) throw new IllegalArgumentException("jpegQuality must be 0..100, got " + jpegQuality);
      if (camera == null) throw new IllegalArgumentException("camera values are null (use CameraDrawn.NONE)");
    }
  }

  /**
   * Draws one image's parameters. Consumes exactly five values from {@code rng} (plus one when JPEG is possible, plus
   * seven more when the camera stages are on), so the draws of {@link Params#LEGACY} are those of the first
   * synthetic set.
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
    Camera c = p.camera();
    if (c.equals(Camera.NONE)) return new Drawn(k, g, a, s, q);
    double wr = uniform(c.wbRedMin(), c.wbRedMax(), rng);
    double wb = uniform(c.wbBlueMin(), c.wbBlueMax(), rng);
    double v = uniform(0, c.vignetteMax(), rng);
    double f = uniform(0, c.fieldStopsMax(), rng);
    boolean lit = rng.nextDouble() < c.lightProbability() && c.lightsMax() > 0;
    int lights = lit ? 1 + rng.nextInt(c.lightsMax()) : 0;
    long layout = rng.nextLong();
    return new Drawn(k, g, a, s, q, new CameraDrawn(wr, wb, c.rawBits(), v, f, lights, layout, c.chromaNr()));
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
    return applyPair(high, d, rng).low();
  }

  /**
   * A training pair: the target and its degraded version.
   *
   * @param high the target (the input image, or with light sources added when the draw has any)
   * @param low the low-light image
   */
  public record Pair(Image high, Image low) {}

  /**
   * Degrades an image and returns the pair (see the class comment): the target is the input itself unless the draw
   * adds light sources, which then appear in both images.
   *
   * @param high the normal-light image
   * @param d the parameters
   * @param rng noise source
   * @return the target and the low-light image, same size
   */
  public static Pair applyPair(Image high, Drawn d, SplittableRandom rng) {
    int w = high.width(), h = high.height();
    float[] lin = Srgb.toLinear(high.rgb());
    CameraDrawn c = d.camera();
    SplittableRandom layout = new SplittableRandom(c.layoutSeed());
    Image target = high;
    if (c.lights() > 0) {
      float[] gt = lin.clone();
      addLightSources(gt, lin, w, h, c.lights(), d.exposure(), layout);
      Image.Metadata hm = high.metadata();
      target = new Image(w, h, Srgb.fromLinear(gt), null,
          new Image.Metadata(8, false, hm.format(), hm.colorNote(), hm.exifOrientation()));
    }
    darkenLinear(lin, d.exposure(), d.gamma());
    if (c.fieldStops() > 0 || c.vignette() > 0) exposureField(lin, w, h, c.fieldStops(), c.vignette(), layout);
    if (c.wbRed() != 1 || c.wbBlue() != 1) whiteBalance(lin, 1 / c.wbRed(), 1 / c.wbBlue()); // sensor raw
    boolean isp = c.chromaNr() > 0;
    // With an ISP the raw stays signed (black level subtracted, noise below it kept) until the final clip
    addNoise(lin, d.photons(), d.readSigma(), rng, isp);
    if (c.rawBits() > 0) quantize(lin, c.rawBits());
    if (c.wbRed() != 1 || c.wbBlue() != 1) {
      whiteBalance(lin, c.wbRed(), c.wbBlue()); // the camera's white balance amplifies red and blue noise
    }
    if (isp) chromaDenoise(lin, w, h, c.chromaNr());
    for (int i = 0; i < lin.length; i++) lin[i] = Math.min(1f, Math.max(0f, lin[i])); // without an ISP: only the top
    Image.Metadata m = new Image.Metadata(8, false, high.metadata().format(), "sRGB", high.metadata().exifOrientation());
    Image low = new Image(w, h, Srgb.fromLinear(lin), null, m);
    if (d.jpegQuality() > 0) low = jpegRoundTrip(low, d.jpegQuality());
    return new Pair(target, low);
  }

  /** In place: red and blue channels of planar linear values times the gains. */
  static void whiteBalance(float[] lin, double red, double blue) {
    int n = lin.length / 3;
    for (int i = 0; i < n; i++) {
      lin[i] = (float) (lin[i] * red);
      lin[2 * n + i] = (float) (lin[2 * n + i] * blue);
    }
  }

  /**
   * In place: the ISP's chroma noise reduction. Splits linear RGB into luma {@code Y = 0.2126 R + 0.7152 G +
   * 0.0722 B} and the chroma differences {@code R − Y}, {@code B − Y}, blurs the two differences with a Gaussian of
   * σ pixels (edges clamped), and recombines with Y unchanged: the fine red/blue blotches of the gains become low
   * frequency, and near black every channel carries about the same noise, so the final clip's bias is grey.
   */
  static void chromaDenoise(float[] lin, int w, int h, double sigma) {
    int n = w * h;
    float[] y = new float[n];
    float[] cr = new float[n];
    float[] cb = new float[n];
    for (int i = 0; i < n; i++) {
      y[i] = 0.2126f * lin[i] + 0.7152f * lin[n + i] + 0.0722f * lin[2 * n + i];
      cr[i] = lin[i] - y[i];
      cb[i] = lin[2 * n + i] - y[i];
    }
    gaussianBlur(cr, w, h, sigma);
    gaussianBlur(cb, w, h, sigma);
    for (int i = 0; i < n; i++) {
      float r = y[i] + cr[i];
      float b = y[i] + cb[i];
      lin[i] = r;
      lin[2 * n + i] = b;
      lin[n + i] = (y[i] - 0.2126f * r - 0.0722f * b) / 0.7152f;
    }
  }

  /** In place: separable Gaussian blur of one plane, radius ⌈3σ⌉, edges clamped. */
  static void gaussianBlur(float[] p, int w, int h, double sigma) {
    int r = (int) Math.ceil(3 * sigma);
    float[] k = new float[2 * r + 1];
    double sum = 0;
    for (int i = -r; i <= r; i++) sum += k[i + r] = (float) Math.exp(-i * i / (2 * sigma * sigma));
    for (int i = 0; i < k.length; i++) k[i] /= (float) sum;
    float[] t = new float[p.length];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        float acc = 0;
        for (int i = -r; i <= r; i++) acc += k[i + r] * p[y * w + Math.min(w - 1, Math.max(0, x + i))];
        t[y * w + x] = acc;
      }
    }
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        float acc = 0;
        for (int i = -r; i <= r; i++) acc += k[i + r] * t[Math.min(h - 1, Math.max(0, y + i)) * w + x];
        p[y * w + x] = acc;
      }
    }
  }

  /** In place: rounds [0, 1] values to {@code bits}-bit codes (the ADC). */
  static void quantize(float[] lin, int bits) {
    double levels = (1 << bits) - 1;
    for (int i = 0; i < lin.length; i++) lin[i] = (float) (Math.rint(lin[i] * levels) / levels);
  }

  /**
   * In place: multiplies by {@code 2^(stops·f(x, y)) · (1 − v·r²)}, f a smooth random field in [−1, 1] (four
   * low-frequency cosines, 0.3–1.5 cycles per frame), r the distance from the centre (1 in the corners).
   */
  static void exposureField(float[] lin, int w, int h, double stops, double v, SplittableRandom rng) {
    int waves = 4;
    double[] fx = new double[waves], fy = new double[waves], ph = new double[waves], amp = new double[waves];
    double norm = 0;
    for (int k = 0; k < waves; k++) {
      double f = 0.3 + 1.2 * rng.nextDouble(), a = 2 * Math.PI * rng.nextDouble();
      fx[k] = f * Math.cos(a);
      fy[k] = f * Math.sin(a);
      ph[k] = 2 * Math.PI * rng.nextDouble();
      amp[k] = 0.5 + rng.nextDouble();
      norm += amp[k];
    }
    int n = w * h;
    double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0, r2max = cx * cx + cy * cy;
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        double f = 0;
        for (int k = 0; k < waves; k++) f += amp[k] * Math.cos(2 * Math.PI * (fx[k] * x / w + fy[k] * y / h) + ph[k]);
        double r2 = r2max == 0 ? 0 : ((x - cx) * (x - cx) + (y - cy) * (y - cy)) / r2max;
        float g = (float) (Math.pow(2, stops * f / norm) * (1 - v * r2));
        int i = y * w + x;
        lin[i] *= g;
        lin[n + i] *= g;
        lin[2 * n + i] *= g;
      }
    }
  }

  /**
   * Adds {@code count} light sources (a bright core with a wider glow, warm tungsten/sodium or cool LED colour):
   * to the target {@code gt} at an intensity of 0.6–1 with the pixel's colour scaled down where a channel would
   * exceed 1 (the hue is kept, nothing clips), and to the scene {@code scene} that will be darkened by {@code k},
   * boosted so that in the dark frame the source is as bright as {@code k · boost} times its target intensity (4–40×
   * the rest of the scene, capped at 1/k: a lamp stays bright while the room goes dark).
   */
  static void addLightSources(float[] gt, float[] scene, int w, int h, int count, double k, SplittableRandom rng) {
    int n = w * h;
    for (int s = 0; s < count; s++) {
      double cx = w * rng.nextDouble(), cy = h * rng.nextDouble();
      double core = Math.max(1.5, Math.min(w, h) * (0.01 + 0.04 * rng.nextDouble()));
      double intensity = 0.6 + 0.4 * rng.nextDouble();
      double boost = Math.min(1 / k, 4 * Math.pow(10, rng.nextDouble()));
      double[] col = rng.nextDouble() < 0.7
          ? new double[] {1, 0.55 + 0.25 * rng.nextDouble(), 0.15 + 0.3 * rng.nextDouble()} // tungsten / sodium
          : new double[] {0.8 + 0.15 * rng.nextDouble(), 0.9, 1}; // LED
      int rad = (int) Math.ceil(core * 12);
      int x0 = Math.max(0, (int) cx - rad), x1 = Math.min(w - 1, (int) cx + rad);
      int y0 = Math.max(0, (int) cy - rad), y1 = Math.min(h - 1, (int) cy + rad);
      for (int y = y0; y <= y1; y++) {
        for (int x = x0; x <= x1; x++) {
          double d2 = ((x - cx) * (x - cx) + (y - cy) * (y - cy)) / (core * core);
          double p = intensity * (Math.exp(-d2 / 2) + 0.25 * Math.exp(-d2 / 32));
          if (p < 1e-4) continue;
          int i = y * w + x;
          double r = gt[i] + p * col[0], g = gt[n + i] + p * col[1], b = gt[2 * n + i] + p * col[2];
          double max = Math.max(r, Math.max(g, b));
          double scale = max > 1 ? 1 / max : 1;
          gt[i] = (float) (r * scale);
          gt[n + i] = (float) (g * scale);
          gt[2 * n + i] = (float) (b * scale);
          scene[i] += (float) (boost * p * col[0]);
          scene[n + i] += (float) (boost * p * col[1]);
          scene[2 * n + i] += (float) (boost * p * col[2]);
        }
      }
    }
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
    addNoise(lin, photons, sigma, rng, false);
  }

  /**
   * As {@link #addNoise(float[], double, double, SplittableRandom)}, optionally keeping values below 0 (a raw with
   * its black level subtracted, for an ISP that clips only at the end); the same random draws either way.
   *
   * @param lin linear values
   * @param photons a (0 = no shot noise)
   * @param sigma read-noise σ
   * @param rng noise source
   * @param signed keep values below 0
   */
  static void addNoise(float[] lin, double photons, double sigma, SplittableRandom rng, boolean signed) {
    for (int i = 0; i < lin.length; i++) {
      double x = Math.max(0, lin[i]);
      double y = photons > 0 ? poisson(photons * x, rng) / photons : x;
      if (sigma > 0) y += sigma * rng.nextGaussian();
      lin[i] = (float) Math.min(1, signed ? y : Math.max(0, y));
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
