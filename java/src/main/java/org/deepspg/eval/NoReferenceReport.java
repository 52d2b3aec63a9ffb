/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.eval;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;
import org.deepspg.io.AtomicFile;
import org.deepspg.io.JsonFiles;

/**
 * What a method does to real dark photos, which have no ground truth: per image the pixels it newly clipped
 * ({@link ColorFidelity#newlyClipped}), the hue it added ({@link ColorFidelity#hueError} of output against input),
 * the colourfulness it kept ({@link ColorFidelity#saturationKept}), the tint it put into the input's grey regions
 * ({@link ColorFidelity#shadowCast}), the noise left in the output ({@link NoiseLevel#sigma}) and the output's
 * brightness ({@link NoiseLevel#meanLuma}), with the input's noise and brightness beside them; means over images, as
 * JSON or a text table.
 *
 * <p>JSON ({@link #toJson(boolean)}): {@code newly_clipped, hue_drift_deg, saturation_kept, shadow_cast, noise_sigma,
 * mean_luma, input_noise_sigma, input_mean_luma} (means; hue drift and shadow cast over the images where enough
 * pixels qualified), then
 * {@code count, name, images_per_second} and, when asked for, {@code per_image}: a list of
 * {@code {name, newly_clipped, hue_drift_deg, saturation_kept, shadow_cast, shadow_cast_a, shadow_cast_b,
 * noise_sigma, mean_luma, input_noise_sigma, input_mean_luma, seconds}}.
 * Non-finite numbers are written as {@code null}.
 *
 * <p>Thread-safe: {@link #add} may be called from several threads.
 */
public final class NoReferenceReport {
  /**
   * The measures of one image.
   *
   * @param name image identifier (file stem)
   * @param newlyClipped fraction of pixels with a channel clipped in the output but none in the input
   * @param hueDrift mean hue difference output vs input in degrees (NaN: no pixel coloured enough in both)
   * @param saturationKept the output's colourfulness per brightness over the input's (NaN: a grey input)
   * @param shadowCastA mean a* of the output over the input's grey regions (NaN: too few such pixels)
   * @param shadowCastB its mean b*
   * @param noise noise σ of the output's luma, 8-bit units
   * @param meanLuma mean luma of the output, 8-bit units
   * @param inputNoise noise σ of the input's luma
   * @param inputMeanLuma mean luma of the input
   * @param seconds time the method took on the image (0 when it did not run here)
   */
  @JsonPropertyOrder({"name", "newly_clipped", "hue_drift_deg", "saturation_kept", "shadow_cast", "shadow_cast_a",
      "shadow_cast_b", "noise_sigma", "mean_luma", "input_noise_sigma",
      "input_mean_luma", "seconds"})
  public record Result(
      @JsonProperty("name") String name,
      @JsonProperty("newly_clipped") double newlyClipped,
      @JsonProperty("hue_drift_deg") double hueDrift,
      @JsonProperty("saturation_kept") double saturationKept,
      @JsonProperty("shadow_cast_a") double shadowCastA,
      @JsonProperty("shadow_cast_b") double shadowCastB,
      @JsonProperty("noise_sigma") double noise,
      @JsonProperty("mean_luma") double meanLuma,
      @JsonProperty("input_noise_sigma") double inputNoise,
      @JsonProperty("input_mean_luma") double inputMeanLuma,
      @JsonProperty("seconds") double seconds) {
    /**
     * Measures one output against its input.
     *
     * @param name image identifier
     * @param input the dark input {@code [3, H, W]}
     * @param output the method's output, same size
     * @param h height
     * @param w width
     * @param seconds time the method took
     * @return the result
     */
    public static Result measure(String name, float[] input, float[] output, int h, int w, double seconds) {
      if (input.length != output.length || input.length != 3 * h * w) {
        throw new IllegalArgumentException(name + ": output of " + output.length + " values for an input of "
            + input.length + " values, expected 3 x " + h + " x " + w);
      }
      ColorFidelity.Cast cast = ColorFidelity.shadowCast(input, output);
      return new Result(name, ColorFidelity.newlyClipped(input, output),
          ColorFidelity.hueError(output, input).degrees(), ColorFidelity.saturationKept(input, output),
          cast.a(), cast.b(), NoiseLevel.sigma(output, h, w), NoiseLevel.meanLuma(output),
          NoiseLevel.sigma(input, h, w), NoiseLevel.meanLuma(input), seconds);
    }

    /** @return |(a*, b*)| of the output over the input's grey regions (NaN: too few such pixels) */
    @JsonProperty("shadow_cast")
    public double shadowCast() {
      return Math.hypot(shadowCastA, shadowCastB);
    }
  }

  private final String name;
  private final List<Result> results = new ArrayList<>();

  /** @param name run name, e.g. the method's description */
  public NoReferenceReport(String name) {
    this.name = name;
  }

  /** @param r one image's result */
  public synchronized void add(Result r) {
    results.add(r);
  }

  /** @return the number of images */
  public synchronized int count() {
    return results.size();
  }

  /** @return a copy of the per-image results in insertion order */
  public synchronized List<Result> results() {
    return List.copyOf(results);
  }

  /**
   * @param f a measure of a result
   * @return its mean over the images where it is finite (NaN when none is)
   */
  public synchronized double mean(ToDoubleFunction<Result> f) {
    double s = 0;
    int n = 0;
    for (Result r : results) {
      double v = f.applyAsDouble(r);
      if (Double.isNaN(v)) continue;
      s += v;
      n++;
    }
    return n == 0 ? Double.NaN : s / n;
  }

  /** @return images per second of the method's own time (NaN when it did not run here) */
  public synchronized double imagesPerSecond() {
    double t = 0;
    for (Result r : results) t += r.seconds();
    return t > 0 ? results.size() / t : Double.NaN;
  }

  /**
   * @param perImage include the {@code per_image} list
   * @return the report as pretty-printed JSON (see the class comment)
   */
  public synchronized String toJson(boolean perImage) {
    return JsonFiles.toPretty(new Json(mean(Result::newlyClipped), mean(Result::hueDrift),
        mean(Result::saturationKept), mean(Result::shadowCast), mean(Result::noise),
        mean(Result::meanLuma), mean(Result::inputNoise), mean(Result::inputMeanLuma), results.size(), name,
        imagesPerSecond(), perImage ? List.copyOf(results) : null));
  }

  /**
   * Writes {@link #toJson(boolean)} to a file atomically, creating parent folders.
   *
   * @param file destination
   * @param perImage include the per-image list
   * @throws IOException when the file cannot be written
   */
  public void writeJson(Path file, boolean perImage) throws IOException {
    AtomicFile.write(file, toJson(perImage).getBytes(StandardCharsets.UTF_8));
  }

  @JsonPropertyOrder({"newly_clipped", "hue_drift_deg", "saturation_kept", "shadow_cast", "noise_sigma",
      "mean_luma", "input_noise_sigma", "input_mean_luma", "count", "name", "images_per_second", "per_image"})
  private record Json(
      @JsonProperty("newly_clipped") double newlyClipped,
      @JsonProperty("hue_drift_deg") double hueDrift,
      @JsonProperty("saturation_kept") double saturationKept,
      @JsonProperty("shadow_cast") double shadowCast,
      @JsonProperty("noise_sigma") double noise,
      @JsonProperty("mean_luma") double meanLuma,
      @JsonProperty("input_noise_sigma") double inputNoise,
      @JsonProperty("input_mean_luma") double inputMeanLuma,
      @JsonProperty("count") int count,
      @JsonProperty("name") String name,
      @JsonProperty("images_per_second") double imagesPerSecond,
      @JsonProperty("per_image") @JsonInclude(JsonInclude.Include.NON_NULL) List<Result> perImage) {}

  /**
   * @return a one-row text table: newly clipped %, hue drift, saturation kept, shadow cast, output noise σ and luma
   *     (input's in brackets), images, images/s
   */
  public synchronized String toTable() {
    int w = Math.max("run".length(), name.length());
    String fmt = "%-" + w + "s  %6s  %10s  %9s  %11s  %15s  %15s  %6s  %9s%n";
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, fmt, "run", "clip%", "hue drift°", "sat. kept", "shadow cast",
        "noise σ (input)", "luma (input)",
        "images", "images/s"));
    sb.append("-".repeat(w + 2 + 6 + 2 + 10 + 2 + 9 + 2 + 11 + 2 + 15 + 2 + 15 + 2 + 6 + 2 + 9)).append('\n');
    sb.append(String.format(Locale.ROOT, fmt, name, f(100 * mean(Result::newlyClipped), 2),
        f(mean(Result::hueDrift), 1), f(mean(Result::saturationKept), 2), f(mean(Result::shadowCast), 1),
        f(mean(Result::noise), 2) + " (" + f(mean(Result::inputNoise), 2) + ")",
        f(mean(Result::meanLuma), 1) + " (" + f(mean(Result::inputMeanLuma), 1) + ")",
        String.valueOf(results.size()), f(imagesPerSecond(), 2)));
    return sb.toString();
  }

  private static String f(double v, int decimals) {
    return Double.isFinite(v) ? String.format(Locale.ROOT, "%." + decimals + "f", v) : "-";
  }
}
