/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.deepspg.io.JsonFiles;

/**
 * Builds a paired low/normal-light dataset from a folder of normal-light photos with {@link Degradation}.
 *
 * <p>Output layout under {@code out}:
 * <pre>
 *   low/NAME.png, high/NAME.png          every pair (high = the source photo, upright, RGB, fitted to maxSide;
 *                                        with the drawn light sources added when the draw has any)
 *   train/{low,high}/NAME.png            the training split (hard links to the files above; copies where the
 *   test/{low,high}/NAME.png             file system has no hard links)
 *   manifest.jsonl                       one JSON object per pair, sorted by name: source, split, sizes, the drawn
 *                                        degradation values, the per-image seed, mean linear brightness
 *   params.json                          the global options (ranges, seed, test fraction, max side)
 *   failures.txt                         sources that could not be read, with the reason (only if any)
 *   synth-incomplete.txt                 only while a run writes (or after it was stopped): see {@link #INCOMPLETE}
 * </pre>
 * NAME is the source's path relative to {@code from}, without extension, with '/' replaced by "__" and other
 * characters than letters, digits, '.', '_' and '-' by '_'. A NAME already taken (case-insensitively; sources in path
 * order) gets the lower-case extension appended, then a counter: {@code a.jpg} → {@code a}, {@code a.png} →
 * {@code a_png}. A rerun into the folder of a finished run keeps the NAME its {@code manifest.jsonl} gave each source
 * that is still there ({@link #earlierNames}), and names the new sources around them: adding {@code a.jpg} beside an
 * earlier {@code a.png} names it {@code a_jpg}, where a first run would have given it {@code a} and renamed the
 * existing pair (with its seed, split and files) to {@code a_png}.
 *
 * <p><b>Hidden files</b> (a name starting with '.', or inside a folder whose name does) are skipped and counted
 * ({@link Result#hiddenSkipped()}): {@link PairedDataset} ignores such names, so a pair made from one would be
 * reported here but missing from the dataset read back.
 *
 * <p><b>Determinism.</b> Each image has its own generator seeded from the run seed and NAME
 * ({@link #imageSeed(long, String)}), so results do not depend on thread scheduling or on which other files are
 * present. The split is also a function of NAME and the seed alone ({@link #isTest(String, long, double)}), so adding
 * photos never moves existing ones between train and test.
 *
 * <p><b>Threads.</b> Images are processed on a fixed pool of {@link Options#threads()} workers; each task reads,
 * degrades and writes one image and touches no shared state besides the result list.
 */
public final class Synthesizer {
  /** The file a run keeps in its output folder while it writes there (see {@link #run(Path, Path, Options)}). */
  public static final String INCOMPLETE = "synth-incomplete.txt";

  private Synthesizer() {}

  /**
   * Run options.
   *
   * @param params degradation ranges
   * @param seed run seed
   * @param testFraction fraction of pairs put in the test split, in [0, 1]; at least one pair goes to test when it
   *     is positive and two or more pairs were written (sources that fail to read do not count); 0 = no test split
   * @param maxSide downscale sources so that the longer side is at most this (area filter in linear light); 0 = keep
   * @param minSide skip sources whose shorter side is below this (the source's size, before fitting to maxSide)
   * @param threads worker threads (>= 1)
   * @param maxPixels pixel limit for reading sources ({@link ReadOptions#maxPixels()})
   */
  public record Options(Degradation.Params params, long seed, double testFraction, int maxSide, int minSide,
      int threads, long maxPixels) {
    /** Validates the values. */
    public Options {
      if (params == null) throw new IllegalArgumentException("params must not be null");
      // named as the user gave them: in words, with the command-line option
      Degradation.Params.check(testFraction >= 0 && testFraction <= 1, "test fraction (--test-fraction) must be in "
          + "[0, 1]", testFraction);
      Degradation.Params.check(maxSide >= 0, "maximum side (--max-side) must be >= 0 (0 = keep)", maxSide);
      Degradation.Params.check(minSide >= 1, "minimum side (--min-side) must be >= 1", minSide);
      Degradation.Params.check(threads >= 1, "threads (--threads) must be >= 1", threads);
      Degradation.Params.check(maxPixels >= 1, "pixel limit (--max-pixels) must be >= 1", maxPixels);
    }

    /**
     * Defaults: {@link Degradation.Params#DEFAULT}, test fraction 0.1, max side 1024, min side 64, one thread per
     * core, 100 MP read limit.
     *
     * @param seed run seed
     * @return the options
     */
    public static Options defaults(long seed) {
      return new Options(Degradation.Params.DEFAULT, seed, 0.1, 1024, 64,
          Math.max(1, Runtime.getRuntime().availableProcessors()), ReadOptions.DEFAULT_MAX_PIXELS);
    }

    /** @return these options as a JSON object on one line (the content of {@code params.json}) */
    public String toJson() {
      return JsonFiles.toLine(jsonFields());
    }

    /** These options as JSON members: the run settings, the degradation ranges, the model in words. */
    Map<String, Object> jsonFields() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("seed", seed);
      Degradation.put(m, "testFraction", testFraction);
      m.put("maxSide", maxSide);
      m.put("minSide", minSide);
      m.put("maxPixels", maxPixels);
      m.put("degradation", params.jsonFields());
      m.put("model", "dark = k * EOTF(s)^gamma; y = Poisson(a * dark) / a + N(0, sigma^2); clip to [0, 1];"
          + " s' = OETF(y); optional JPEG at quality q");
      return m;
    }
  }

  /**
   * One generated pair.
   *
   * @param name NAME (file stem of the outputs)
   * @param source source path relative to {@code from}
   * @param split "train" or "test"
   * @param width output width
   * @param height output height
   * @param sourceWidth source width (after EXIF orientation)
   * @param sourceHeight source height
   * @param drawn the degradation values used
   * @param imageSeed the seed of this image's generator
   * @param meanLinearHigh mean linear-light value of the high image
   * @param meanLinearLow mean linear-light value of the low image (after 8-bit quantisation)
   */
  public record Entry(String name, String source, String split, int width, int height, int sourceWidth,
      int sourceHeight, Degradation.Drawn drawn, long imageSeed, double meanLinearHigh, double meanLinearLow) {
    /** @return this entry as one JSON line (a line of {@code manifest.jsonl}, without the newline) */
    public String toJson() {
      return JsonFiles.toLine(jsonFields());
    }

    /** This entry as JSON members; {@code jpegQuality} is null without JPEG, camera values only when drawn. */
    Map<String, Object> jsonFields() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", name);
      m.put("source", source);
      m.put("split", split);
      m.put("width", width);
      m.put("height", height);
      m.put("sourceWidth", sourceWidth);
      m.put("sourceHeight", sourceHeight);
      Degradation.put(m, "exposure", drawn.exposure());
      Degradation.put(m, "gamma", drawn.gamma());
      Degradation.put(m, "photons", drawn.photons());
      Degradation.put(m, "readSigma", drawn.readSigma());
      m.put("jpegQuality", drawn.jpegQuality() > 0 ? drawn.jpegQuality() : null);
      Degradation.CameraDrawn c = drawn.camera();
      if (!c.equals(Degradation.CameraDrawn.NONE)) {
        Degradation.put(m, "wbRed", c.wbRed());
        Degradation.put(m, "wbBlue", c.wbBlue());
        m.put("rawBits", c.rawBits());
        Degradation.put(m, "vignette", c.vignette());
        Degradation.put(m, "fieldStops", c.fieldStops());
        m.put("lights", c.lights());
        m.put("layoutSeed", c.layoutSeed());
        if (c.chromaNr() > 0) Degradation.put(m, "chromaNr", c.chromaNr());
      }
      m.put("imageSeed", imageSeed);
      Degradation.put(m, "meanLinearHigh", meanLinearHigh);
      Degradation.put(m, "meanLinearLow", meanLinearLow);
      return m;
    }
  }

  /**
   * What a run produced.
   *
   * @param out the output folder
   * @param entries the pairs, sorted by name
   * @param failures "source: reason" for every skipped source
   * @param hiddenSkipped image files not used because they, or a folder they are in, are hidden (name starting
   *     with '.')
   */
  public record Result(Path out, List<Entry> entries, List<String> failures, int hiddenSkipped) {
    /** @return number of pairs in the training split */
    public long trainCount() {
      return entries.stream().filter(e -> e.split().equals("train")).count();
    }

    /** @return number of pairs in the test split */
    public long testCount() {
      return entries.stream().filter(e -> e.split().equals("test")).count();
    }
  }

  /**
   * {@link #run(Path, Path, Options)} with {@link Options#defaults(long)} and the given degradation ranges.
   *
   * @param from folder of normal-light photos (searched recursively)
   * @param out output folder
   * @param params degradation ranges
   * @param seed run seed
   * @return the pairs made and the sources skipped
   * @throws IOException when the folders cannot be listed or outputs cannot be written
   */
  public static Result run(Path from, Path out, Degradation.Params params, long seed) throws IOException {
    Options d = Options.defaults(seed);
    return run(from, out, new Options(params, seed, d.testFraction(), d.maxSide(), d.minSide(), d.threads(), d.maxPixels()));
  }

  /**
   * Generates the dataset (see the class comment for the layout). Nothing is created when there is no source image.
   * An existing output folder is reused only if it holds a previous run, finished (a {@code manifest.jsonl}) or
   * interrupted (the {@link #INCOMPLETE} file, which a run writes first and deletes last); its {@code low},
   * {@code high}, {@code train}, {@code test} folders and metadata files are then replaced.
   *
   * @param from folder of normal-light photos (searched recursively; files with image extensions)
   * @param out output folder (must not contain {@code from}; if it lies inside {@code from} it is skipped while
   *     scanning)
   * @param options run options
   * @return the pairs made and the sources skipped
   * @throws IOException when the folders cannot be listed or outputs cannot be written
   */
  public static Result run(Path from, Path out, Options options) throws IOException {
    Path src = from.toAbsolutePath().normalize();
    Path dst = out.toAbsolutePath().normalize();
    if (!Files.isDirectory(src)) throw new IllegalArgumentException("--from is not a folder: " + from);
    if (src.startsWith(dst)) throw new IllegalArgumentException("the output folder " + out + " contains the input " + from);
    List<Path> sources = new ArrayList<>();
    int hidden = 0;
    try (Stream<Path> s = Files.walk(src)) {
      List<Path> found = s.filter(p -> !p.startsWith(dst)).filter(Files::isRegularFile)
          .filter(Images::hasImageExtension).sorted().collect(Collectors.toList());
      for (Path p : found) {
        if (isHidden(src.relativize(p))) hidden++;
        else sources.add(p);
      }
    }
    if (sources.isEmpty()) {
      throw new IllegalArgumentException("no image files (" + Images.READ_EXTENSIONS + ") under " + from
          + (hidden > 0 ? " (" + hidden + " hidden ones skipped: names starting with '.')" : ""));
    }
    prepareOutput(dst); // only now: a run refused above leaves no folder behind
    List<String> names = uniqueNames(src, sources, earlierNames(dst));
    for (String d : List.of("low", "high", "train/low", "train/high", "test/low", "test/high")) {
      Files.createDirectories(dst.resolve(d));
    }
    ReadOptions ro = ReadOptions.DEFAULT.withMaxPixels(options.maxPixels()).withMinSide(1);
    List<Entry> entries = new ArrayList<>();
    List<String> failures = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(options.threads(), r -> {
      Thread t = new Thread(r, "deepspg-synth");
      t.setDaemon(true);
      return t;
    });
    try {
      List<Future<Object>> futures = new ArrayList<>();
      for (int i = 0; i < sources.size(); i++) {
        Path p = sources.get(i);
        String name = names.get(i);
        String split = isTest(name, options.seed(), options.testFraction()) ? "test" : "train";
        futures.add(pool.submit(() -> {
          try {
            return one(src, p, name, split, dst, options, ro);
          } catch (ImageReadException e) {
            return src.relativize(p) + ": " + e.reason();
          } catch (IOException | RuntimeException e) {
            return src.relativize(p) + ": " + e;
          }
        }));
      }
      for (Future<Object> f : futures) {
        Object r;
        try {
          r = f.get();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted", e);
        } catch (java.util.concurrent.ExecutionException e) {
          throw new IOException("synthesis failed", e.getCause());
        }
        if (r instanceof Entry e) entries.add(e);
        else failures.add((String) r);
      }
    } finally {
      pool.shutdownNow();
    }
    entries.sort(Comparator.comparing(Entry::name));
    // The split is settled among the pairs actually written: a source chosen for test that then failed to decode
    // must not leave the test split empty.
    Set<String> testNames = chooseTest(entries.stream().map(Entry::name).toList(), options.seed(),
        options.testFraction());
    for (int i = 0; i < entries.size(); i++) {
      Entry e = entries.get(i);
      String split = testNames.contains(e.name()) ? "test" : "train";
      if (!split.equals(e.split())) entries.set(i, moveSplit(dst, e, split));
    }
    JsonFiles.writeLines(dst.resolve("manifest.jsonl"), entries.stream().map(Entry::jsonFields).toList());
    JsonFiles.writeLine(dst.resolve("params.json"), options.jsonFields());
    if (!failures.isEmpty()) {
      Files.write(dst.resolve("failures.txt"), failures.stream().sorted().collect(Collectors.toList()), StandardCharsets.UTF_8);
    }
    Files.delete(dst.resolve(INCOMPLETE));
    return new Result(dst, List.copyOf(entries), List.copyOf(failures), hidden);
  }

  /** Whether a relative path has a hidden component (dataset readers skip such names). */
  static boolean isHidden(Path rel) {
    for (Path part : rel) if (part.toString().startsWith(".")) return true;
    return false;
  }

  private static Object one(Path src, Path p, String name, String split, Path dst, Options o, ReadOptions ro)
      throws IOException {
    Image img = Images.read(p, ro);
    int sw = img.width(), sh = img.height();
    if (Math.min(sw, sh) < o.minSide()) { // the photo's own size: --max-side shrinks every photo it fits
      return src.relativize(p) + ": " + sw + "x" + sh + " has a shorter side below the minimum side (--min-side) "
          + o.minSide();
    }
    img = ImageOps.fitMaxSide(img, o.maxSide());
    if (Math.min(img.width(), img.height()) < PairAugment.MULTIPLE) { // a long thin photo: training could not crop it
      return src.relativize(p) + ": fitted to the maximum side (--max-side) " + o.maxSide() + " it is " + img.width()
          + "x" + img.height() + ", below the smallest training patch " + PairAugment.MULTIPLE + "x"
          + PairAugment.MULTIPLE;
    }
    // Training pairs are RGB: grey sources become three equal channels, alpha is dropped.
    Image.Metadata m = img.metadata();
    Image high = new Image(img.width(), img.height(), img.rgb(), null,
        new Image.Metadata(m.bitDepth(), false, m.format(), m.colorNote(), m.exifOrientation()));
    long seed = imageSeed(o.seed(), name);
    SplittableRandom rng = new SplittableRandom(seed);
    Degradation.Drawn d = Degradation.draw(o.params(), rng);
    Degradation.Pair pair = Degradation.applyPair(high, d, rng);
    high = pair.high(); // the input itself, or with the drawn light sources added
    Image low = pair.low();
    String file = name + ".png";
    Path hp = dst.resolve("high").resolve(file), lp = dst.resolve("low").resolve(file);
    Images.writeAtomic(high, hp);
    Images.writeAtomic(low, lp);
    link(hp, dst.resolve(split).resolve("high").resolve(file));
    link(lp, dst.resolve(split).resolve("low").resolve(file));
    // mean of what was written (8-bit), so the manifest describes the files
    double meanLow = Degradation.mean(Srgb.toLinear(quantize8(low.rgb())));
    double meanHigh = Degradation.mean(Srgb.toLinear(high.rgb()));
    return new Entry(name, src.relativize(p).toString(), split, high.width(), high.height(), sw, sh, d, seed, meanHigh, meanLow);
  }

  /** Moves a written pair's split links to the other split. */
  private static Entry moveSplit(Path dst, Entry e, String split) throws IOException {
    String file = e.name() + ".png";
    for (String side : List.of("low", "high")) {
      Files.deleteIfExists(dst.resolve(e.split()).resolve(side).resolve(file));
      link(dst.resolve(side).resolve(file), dst.resolve(split).resolve(side).resolve(file));
    }
    return new Entry(e.name(), e.source(), split, e.width(), e.height(), e.sourceWidth(), e.sourceHeight(), e.drawn(),
        e.imageSeed(), e.meanLinearHigh(), e.meanLinearLow());
  }

  private static float[] quantize8(float[] v) {
    float[] q = new float[v.length];
    for (int i = 0; i < v.length; i++) q[i] = Math.round(Math.min(1f, Math.max(0f, v[i])) * 255f) / 255f;
    return q;
  }

  private static void link(Path target, Path linkPath) throws IOException {
    Files.deleteIfExists(linkPath);
    try {
      Files.createLink(linkPath, target);
    } catch (UnsupportedOperationException | FileAlreadyExistsException e) {
      Files.copy(target, linkPath, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      Files.copy(target, linkPath, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  /**
   * Makes the output folder ready: creates it, or clears an earlier run's output from it. An earlier run is
   * recognised by its {@code manifest.jsonl} (finished) or {@link #INCOMPLETE} (interrupted); pair folders without
   * either are someone else's and are refused. The marker is written before anything else and deleted last. The
   * manifest of the last finished run stays until this run's replaces it, through runs that are stopped: its names
   * are the ones a rerun keeps ({@link #earlierNames}); while the marker is there no reader takes the folder.
   */
  private static void prepareOutput(Path dst) throws IOException {
    if (Files.exists(dst) && !Files.isDirectory(dst)) {
      throw new IllegalArgumentException("output " + dst + " exists and is not a folder");
    }
    boolean ours = Files.exists(dst.resolve("manifest.jsonl")) || Files.exists(dst.resolve(INCOMPLETE));
    for (String d : List.of("low", "high", "train", "test")) {
      if (Files.exists(dst.resolve(d)) && !ours) {
        throw new IllegalArgumentException("output folder " + dst + " already has a '" + d + "' folder but neither"
            + " manifest.jsonl nor " + INCOMPLETE + " from an earlier run; choose an empty or new folder");
      }
    }
    Files.createDirectories(dst);
    Files.writeString(dst.resolve(INCOMPLETE), "deepspg data synth is writing this folder, or was stopped before it"
        + " finished: run it again to replace its contents\n", StandardCharsets.UTF_8);
    for (String f : List.of("params.json", "failures.txt")) Files.deleteIfExists(dst.resolve(f));
    for (String d : List.of("low", "high", "train", "test")) {
      if (Files.exists(dst.resolve(d))) deleteTree(dst.resolve(d));
    }
  }

  private static void deleteTree(Path p) throws IOException {
    try (Stream<Path> s = Files.walk(p)) {
      for (Path q : s.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) Files.delete(q);
    }
  }

  /** Output names: relative path without extension, '/' -> "__", other unsafe characters -> '_'; unique. */
  static List<String> uniqueNames(Path src, List<Path> sources) {
    return uniqueNames(src, sources, Map.of());
  }

  /**
   * {@link #uniqueNames(Path, List)} that first gives each source the name an earlier run gave it (by its path
   * relative to {@code src}, as the manifest's {@code source} holds it), when that name is still free.
   */
  static List<String> uniqueNames(Path src, List<Path> sources, Map<String, String> earlier) {
    String[] out = new String[sources.size()];
    Set<String> used = new HashSet<>();
    for (int i = 0; i < out.length; i++) {
      String e = earlier.get(src.relativize(sources.get(i)).toString());
      if (e != null && used.add(e.toLowerCase(Locale.ROOT))) out[i] = e;
    }
    for (int i = 0; i < out.length; i++) {
      if (out[i] != null) continue;
      String rel = src.relativize(sources.get(i)).toString().replace('\\', '/');
      int dot = rel.lastIndexOf('.');
      String ext = dot > rel.lastIndexOf('/') ? rel.substring(dot + 1) : "";
      String stem = dot > rel.lastIndexOf('/') ? rel.substring(0, dot) : rel;
      String n = stem.replace("/", "__").replaceAll("[^A-Za-z0-9._-]", "_");
      if (!used.add(n.toLowerCase(Locale.ROOT))) {
        n = n + "_" + ext.toLowerCase(Locale.ROOT);
        for (int k = 2; !used.add(n.toLowerCase(Locale.ROOT)); k++) n = n + "_" + k;
      }
      out[i] = n;
    }
    return List.of(out);
  }

  /** What a NAME can be: the characters {@link #uniqueNames} leaves, not starting with '.' (hidden to readers). */
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]*");

  /**
   * The names the last finished run in {@code dst} gave its sources: its {@code manifest.jsonl}'s {@code source} →
   * {@code name}. Lines that do not parse, and names that {@link #uniqueNames} could not have made (a hand-edited
   * {@code ../x}), are left out: those sources are named afresh.
   *
   * @param dst the output folder
   * @return source path (relative to the run's {@code from}) → NAME; empty without a manifest
   * @throws IOException when the manifest cannot be read
   */
  static Map<String, String> earlierNames(Path dst) throws IOException {
    Path manifest = dst.resolve("manifest.jsonl");
    Map<String, String> names = new HashMap<>();
    if (!Files.isRegularFile(manifest)) return names;
    for (String line : Files.readAllLines(manifest, StandardCharsets.UTF_8)) {
      JsonNode e;
      try {
        e = line.isBlank() ? null : JsonFiles.parse(line);
      } catch (IllegalArgumentException malformed) {
        continue;
      }
      if (e == null || !e.path("source").isTextual() || !e.path("name").isTextual()) continue;
      String name = e.get("name").asText();
      if (NAME.matcher(name).matches()) names.put(e.get("source").asText(), name);
    }
    return names;
  }

  /**
   * The seed of one image's generator: SplitMix64 of the run seed combined with a 64-bit FNV-1a hash of NAME.
   *
   * @param seed run seed
   * @param name NAME
   * @return the seed
   */
  public static long imageSeed(long seed, String name) {
    return mix(seed ^ mix(fnv1a(name)));
  }

  /**
   * Whether NAME goes to the test split: a uniform number in [0, 1) derived from NAME and the seed is below the
   * test fraction. (Used by {@link #run}; when none of the pairs written landed in test, a run moves the one with the
   * smallest such number there, and when all did, the one with the largest to train.)
   *
   * @param name NAME
   * @param seed run seed
   * @param testFraction fraction in [0, 1]
   * @return true for test
   */
  public static boolean isTest(String name, long seed, double testFraction) {
    return splitUniform(name, seed) < testFraction;
  }

  private static double splitUniform(String name, long seed) {
    return (mix(fnv1a(name) ^ mix(seed ^ 0x5851F42D4C957F2DL)) >>> 11) * 0x1.0p-53;
  }

  static Set<String> chooseTest(List<String> names, long seed, double fraction) {
    Set<String> test = new HashSet<>();
    for (String n : names) if (isTest(n, seed, fraction)) test.add(n);
    if (test.isEmpty() && fraction > 0 && names.size() >= 2) {
      test.add(names.stream().min(Comparator.comparingDouble(n -> splitUniform(n, seed))).orElseThrow());
    }
    if (test.size() == names.size() && fraction < 1 && names.size() >= 2) {
      test.remove(names.stream().max(Comparator.comparingDouble(n -> splitUniform(n, seed))).orElseThrow());
    }
    return test;
  }

  private static long fnv1a(String s) {
    long h = 0xcbf29ce484222325L;
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      h ^= b & 0xff;
      h *= 0x100000001b3L;
    }
    return h;
  }

  static long mix(long z) {
    z += 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
