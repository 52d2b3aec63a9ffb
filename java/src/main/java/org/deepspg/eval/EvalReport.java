/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.eval;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.deepspg.io.AtomicFile;
import org.deepspg.io.JsonFiles;

/**
 * Aggregates per-image metric results of one evaluation run (one method on one dataset split) into the protocol's
 * means, and writes them as JSON or as a text table.
 *
 * <p>JSON ({@link #toJson(boolean)}) always has the keys {@code psnr}, {@code ssim}, {@code psnr_gtmean},
 * {@code ssim_gtmean} (arithmetic means over images), {@code newly_clipped} and {@code hue_error_deg} (means over
 * the images where measured: {@link ColorFidelity}) and {@code count}; then the extras {@code name},
 * {@code split} and {@code note} (when {@link #setSplit} recorded them), {@code gray_weights},
 * {@code images_per_second} (count / seconds; {@code null} when no time was recorded) and,
 * when asked for, {@code per_image}: a list of
 * {@code {name, psnr, ssim, psnr_gtmean, ssim_gtmean, seconds, newly_clipped, hue_error_deg}}.
 * Written with {@link JsonFiles} (Jackson): non-finite numbers are written as {@code null} (JSON has no NaN); an
 * empty report has {@code null} means. Numbers use Java's shortest round-trip representation, so reading them back
 * gives the same doubles. Each per-image record is one line of the file.
 *
 * <p>Thread-safe: {@link #add} may be called from several threads.
 */
public final class EvalReport {
  /**
   * Metrics of one image.
   *
   * @param name image identifier (file name)
   * @param psnr PSNR in dB
   * @param ssim SSIM
   * @param psnrGtMean GT-mean PSNR in dB
   * @param ssimGtMean GT-mean SSIM
   * @param seconds time spent on the image (inference, or whatever the caller times); 0 if not measured
   * @param newlyClipped fraction of pixels the method clipped ({@link ColorFidelity#newlyClipped}); NaN if not measured
   * @param hueError mean hue difference to the target in degrees ({@link ColorFidelity#hueError}); NaN if not measured
   */
  @JsonPropertyOrder({"name", "psnr", "ssim", "psnr_gtmean", "ssim_gtmean", "seconds", "newly_clipped",
      "hue_error_deg"})
  public record ImageResult(
      @JsonProperty("name") String name,
      @JsonProperty("psnr") double psnr,
      @JsonProperty("ssim") double ssim,
      @JsonProperty("psnr_gtmean") double psnrGtMean,
      @JsonProperty("ssim_gtmean") double ssimGtMean,
      @JsonProperty("seconds") double seconds,
      @JsonProperty("newly_clipped") double newlyClipped,
      @JsonProperty("hue_error_deg") double hueError) {
    /**
     * A result without the colour-fidelity measures.
     *
     * @param name image identifier
     * @param psnr PSNR in dB
     * @param ssim SSIM
     * @param psnrGtMean GT-mean PSNR in dB
     * @param ssimGtMean GT-mean SSIM
     * @param seconds time spent on the image
     */
    public ImageResult(String name, double psnr, double ssim, double psnrGtMean, double ssimGtMean, double seconds) {
      this(name, psnr, ssim, psnrGtMean, ssimGtMean, seconds, Double.NaN, Double.NaN);
    }

    /**
     * Builds a result from {@link Metrics.Scores}.
     *
     * @param name image identifier
     * @param scores the four metrics
     * @param seconds time spent on the image
     * @return the result
     */
    public static ImageResult of(String name, Metrics.Scores scores, double seconds) {
      return new ImageResult(
          name, scores.psnr(), scores.ssim(), scores.psnrGtMean(), scores.ssimGtMean(), seconds);
    }

    /**
     * @param newlyClippedFraction see {@link ColorFidelity#newlyClipped}
     * @param hueDegrees see {@link ColorFidelity#hueError}
     * @return this result with the colour-fidelity measures
     */
    public ImageResult withColor(double newlyClippedFraction, double hueDegrees) {
      return new ImageResult(name, psnr, ssim, psnrGtMean, ssimGtMean, seconds, newlyClippedFraction, hueDegrees);
    }
  }

  private final String name;
  private final Metrics.GrayWeights grayWeights;
  private final List<ImageResult> results = new ArrayList<>();
  private double wallSeconds = Double.NaN;
  private String split;
  private String note;

  /**
   * An empty report.
   *
   * @param name run name (e.g. {@code "DeepSPG-S LOL-v1 test"})
   * @param grayWeights gray weighting used for the GT-mean numbers (recorded in the JSON)
   */
  public EvalReport(String name, Metrics.GrayWeights grayWeights) {
    this.name = name;
    this.grayWeights = grayWeights;
  }

  /**
   * Adds one image's result.
   *
   * @param r the result
   */
  public synchronized void add(ImageResult r) {
    results.add(r);
  }

  /**
   * Records the run's wall-clock time; {@link #imagesPerSecond()} then uses it instead of the sum of per-image
   * times (use it when images are processed concurrently or when loading time should count).
   *
   * @param seconds elapsed seconds, &gt; 0
   */
  public synchronized void setWallSeconds(double seconds) {
    if (!(seconds > 0)) {
      throw new IllegalArgumentException("wall time must be > 0 s, got " + seconds);
    }
    this.wallSeconds = seconds;
  }

  /**
   * Records which split of a dataset was scored, and a note for the reader when the choice needs one (a flat
   * dataset scored whole when the test split was asked for by default); both appear in the JSON.
   *
   * @param split {@code train}, {@code test} or {@code all}
   * @param note what the numbers are, or null
   */
  public synchronized void setSplit(String split, String note) {
    this.split = split;
    this.note = note;
  }

  /** Number of images. */
  public synchronized int count() {
    return results.size();
  }

  /** Copy of the per-image results in insertion order. */
  public synchronized List<ImageResult> results() {
    return List.copyOf(results);
  }

  /** Mean PSNR over images (NaN when empty). */
  public synchronized double meanPsnr() {
    return mean(0);
  }

  /** Mean SSIM over images (NaN when empty). */
  public synchronized double meanSsim() {
    return mean(1);
  }

  /** Mean GT-mean PSNR over images (NaN when empty). */
  public synchronized double meanPsnrGtMean() {
    return mean(2);
  }

  /** Mean GT-mean SSIM over images (NaN when empty). */
  public synchronized double meanSsimGtMean() {
    return mean(3);
  }

  /** Mean fraction of newly clipped pixels over the images where it was measured (NaN when none). */
  public synchronized double meanNewlyClipped() {
    return mean(4);
  }

  /** Mean hue error in degrees over the images where it was measured (NaN when none). */
  public synchronized double meanHueError() {
    return mean(5);
  }

  /**
   * Throughput: count / wall time if {@link #setWallSeconds} was called, else count / sum of per-image seconds; NaN
   * when no time was recorded.
   */
  public synchronized double imagesPerSecond() {
    double t = wallSeconds;
    if (Double.isNaN(t)) {
      t = 0;
      for (ImageResult r : results) {
        t += r.seconds();
      }
    }
    return t > 0 ? results.size() / t : Double.NaN;
  }

  private double mean(int which) {
    if (results.isEmpty()) {
      return Double.NaN;
    }
    double s = 0;
    int n = 0;
    for (ImageResult r : results) {
      double v = switch (which) {
        case 0 -> r.psnr();
        case 1 -> r.ssim();
        case 2 -> r.psnrGtMean();
        case 3 -> r.ssimGtMean();
        case 4 -> r.newlyClipped();
        default -> r.hueError();
      };
      // The colour measures may be missing for some images (not measured, or no coloured pixel): mean of the rest.
      if (which >= 4 && Double.isNaN(v)) continue;
      s += v;
      n++;
    }
    return n == 0 ? Double.NaN : s / n;
  }

  /**
   * The report as a JSON object (see the class comment).
   *
   * @param perImage include the {@code per_image} list
   * @return pretty-printed JSON text ending with a newline ({@link JsonFiles#toPretty})
   */
  public synchronized String toJson(boolean perImage) {
    return JsonFiles.toPretty(new JsonReport(meanPsnr(), meanSsim(), meanPsnrGtMean(), meanSsimGtMean(),
        meanNewlyClipped(), meanHueError(), results.size(), name, split, note, grayWeights.name(), imagesPerSecond(),
        perImage ? List.copyOf(results) : null));
  }

  /**
   * Writes {@link #toJson(boolean)} to a file (UTF-8) atomically, creating parent folders.
   *
   * @param file destination
   * @param perImage include the per-image list
   */
  public void writeJson(Path file, boolean perImage) {
    try {
      AtomicFile.write(file, toJson(perImage).getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  /** The JSON layout of a report: member names and order of the class comment; the list is left out when null. */
  @JsonPropertyOrder({"psnr", "ssim", "psnr_gtmean", "ssim_gtmean", "newly_clipped", "hue_error_deg", "count",
      "name", "split", "note", "gray_weights", "images_per_second", "per_image"})
  private record JsonReport(
      @JsonProperty("psnr") double psnr,
      @JsonProperty("ssim") double ssim,
      @JsonProperty("psnr_gtmean") double psnrGtMean,
      @JsonProperty("ssim_gtmean") double ssimGtMean,
      @JsonProperty("newly_clipped") double newlyClipped,
      @JsonProperty("hue_error_deg") double hueError,
      @JsonProperty("count") int count,
      @JsonProperty("name") String name,
      @JsonProperty("split") @JsonInclude(JsonInclude.Include.NON_NULL) String split,
      @JsonProperty("note") @JsonInclude(JsonInclude.Include.NON_NULL) String note,
      @JsonProperty("gray_weights") String grayWeights,
      @JsonProperty("images_per_second") double imagesPerSecond,
      @JsonProperty("per_image") @JsonInclude(JsonInclude.Include.NON_NULL) List<ImageResult> perImage) {}

  /**
   * A fixed-width text table: one row per report (PSNR/GT-mean PSNR with 2 decimals, SSIM with 4, image count,
   * images/s).
   *
   * @param reports reports to list, in order
   * @return the table, lines ending with newlines
   */
  public static String table(List<EvalReport> reports) {
    int w = "run".length();
    for (EvalReport r : reports) {
      w = Math.max(w, r.name.length());
    }
    String head = "%-" + w + "s  %8s  %7s  %11s  %11s  %7s  %6s  %6s  %9s%n";
    String row = "%-" + w + "s  %8s  %7s  %11s  %11s  %7s  %6s  %6d  %9s%n";
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, head, "run", "PSNR", "SSIM", "PSNR(GTm)", "SSIM(GTm)", "clip%", "hue°",
        "images", "images/s"));
    sb.append("-".repeat(w + 2 + 8 + 2 + 7 + 2 + 11 + 2 + 11 + 2 + 7 + 2 + 6 + 2 + 6 + 2 + 9)).append('\n');
    for (EvalReport r : reports) {
      synchronized (r) {
        sb.append(String.format(Locale.ROOT, row, r.name,
            fmt(r.meanPsnr(), 2), fmt(r.meanSsim(), 4), fmt(r.meanPsnrGtMean(), 2), fmt(r.meanSsimGtMean(), 4),
            fmt(100 * r.meanNewlyClipped(), 2), fmt(r.meanHueError(), 1), r.results.size(),
            fmt(r.imagesPerSecond(), 2)));
      }
    }
    return sb.toString();
  }

  /**
   * This report as a one-row {@link #table(List)}.
   *
   * @return the table text
   */
  public String toTable() {
    return table(List.of(this));
  }

  private static String fmt(double v, int decimals) {
    return Double.isFinite(v) ? String.format(Locale.ROOT, "%." + decimals + "f", v) : "-";
  }
}
