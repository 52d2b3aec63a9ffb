/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A list of (low-light, normal-light) image file pairs, with loading and an optional in-memory LRU cache.
 *
 * <p><b>Matching.</b> Files with image extensions ({@link Images#READ_EXTENSIONS}; hidden files are ignored) in the
 * low folder are paired with those in the high folder by file stem, case-insensitively, whatever the extensions
 * ({@code 12.png} pairs with {@code 12.JPG}). Files still unmatched are then paired by their stem without a leading
 * {@code low}/{@code normal}/{@code high}/{@code gt}/{@code lq}/{@code hq} tag, which LOL-v2-real uses
 * ({@code low00001.png} ↔ {@code normal00001.png}). Anything left over, two files with the same stem in one folder,
 * unreadable files and pairs of different sizes make construction fail with a {@link DatasetException} that lists
 * them all. Pairs are sorted by name.
 *
 * <p><b>Validation</b> reads every file's header ({@link Images#probe}; no pixel decoding), so missing, unrecognised,
 * unsupported and oversized files and size mismatches are found up front; truncated or damaged pixel data is found
 * only when a pair is {@link #load loaded} ({@code deepspg data check} decodes every pair). It can be switched off for
 * speed.
 *
 * <p><b>Unfinished sets.</b> Folders of a set that {@code deepspg data synth} has not finished (its
 * {@link Synthesizer#INCOMPLETE} marker one or two levels up) are refused with a {@link DatasetException}.
 *
 * <p><b>Threads.</b> {@link #load(int)} is thread-safe; the cache is a synchronised LRU map bounded in bytes.
 */
public final class PairedDataset {
  /**
   * One pair of files.
   *
   * @param name the pair's name (the low file's stem)
   * @param low the low-light file
   * @param high the normal-light file
   */
  public record Pair(String name, Path low, Path high) {}

  /**
   * A decoded pair.
   *
   * @param pair the files
   * @param low the low-light image
   * @param high the normal-light image (same size as {@code low})
   */
  public record Loaded(Pair pair, Image low, Image high) {}

  /**
   * What the second folder holds, as messages name it.
   *
   * @param noun its files in lists ("normal-light files without a low-light partner")
   * @param label its side of a size mismatch ("low 600x400, high 640x426")
   */
  public record Partner(String noun, String label) {
    /** Ground truth: a (low-light, normal-light) dataset. */
    public static final Partner NORMAL_LIGHT = new Partner("normal-light", "high");
    /** Another method's outputs of the low-light images ({@code eval --enhanced}). */
    public static final Partner ENHANCED = new Partner("enhanced", "enhanced");
  }

  /**
   * Dataset options.
   *
   * @param validate read every header when the dataset is opened
   * @param read limits applied to every file
   * @param cacheBytes in-memory cache budget for decoded pairs (0 = no cache)
   */
  public record Options(boolean validate, ReadOptions read, long cacheBytes) {
    /** Validate, default read limits, no cache. */
    public static final Options DEFAULT = new Options(true, ReadOptions.DEFAULT, 0);

    /** Validates the values. */
    public Options {
      if (read == null) throw new IllegalArgumentException("read options must not be null");
      if (cacheBytes < 0) throw new IllegalArgumentException("cacheBytes must be >= 0, got " + cacheBytes);
    }

    /**
     * @param bytes cache budget (0 = none)
     * @return a copy with another cache budget
     */
    public Options withCache(long bytes) {
      return new Options(validate, read, bytes);
    }

    /**
     * @param v whether to read headers up front
     * @return a copy with the validation switch set
     */
    public Options withValidate(boolean v) {
      return new Options(v, read, cacheBytes);
    }
  }

  private static final Pattern TAG = Pattern.compile("^(low|normal|high|gt|lq|hq)[_-]?", Pattern.CASE_INSENSITIVE);

  private final String description;
  private final Partner partner;
  private final List<Pair> pairs;
  private final Options options;
  private final Map<Integer, Loaded> cache;
  private long cachedBytes;
  private final Smallest smallest;

  /**
   * The low-light image with the shortest side, as validation read the headers (EXIF orientation applied).
   *
   * @param file the image
   * @param side its shorter side in pixels
   */
  public record Smallest(Path file, int side) {
    /** The smaller of {@code cur} (may be null) and {@code file} of size {@code wh} = {width, height} (null: unread). */
    static Smallest of(Smallest cur, Path file, int[] wh) {
      if (wh == null) return cur;
      int s = Math.min(wh[0], wh[1]);
      return cur != null && cur.side() <= s ? cur : new Smallest(file, s);
    }
  }

  private PairedDataset(String description, Partner partner, List<Pair> pairs, Options options, Smallest smallest) {
    this.description = description;
    this.partner = partner;
    this.pairs = List.copyOf(pairs);
    this.options = options;
    this.smallest = smallest;
    this.cache = options.cacheBytes() > 0 ? new LinkedHashMap<>(16, 0.75f, true) : null;
  }

  /**
   * Pairs the files of two folders.
   *
   * @param lowDir folder of low-light images
   * @param highDir folder of normal-light images
   * @param options validation, read limits, cache
   * @return the dataset
   * @throws DatasetException listing unmatched, duplicate, unreadable and size-mismatched files
   * @throws IOException when a folder cannot be listed
   */
  public static PairedDataset fromFolders(Path lowDir, Path highDir, Options options) throws IOException {
    return fromFolders(lowDir, highDir, Partner.NORMAL_LIGHT, options);
  }

  /**
   * Every image of one folder, each paired with itself: inputs without ground truth (real dark photos for the
   * no-reference measures). Files are not matched by stem here, so {@code x.jpg} beside {@code x.png} is two images
   * (named by their file names; other images by their stems, as in a paired set).
   *
   * @param dir the folder (not searched recursively; hidden files skipped)
   * @param options reading and validation options
   * @return the images as pairs whose low and high are the same file
   * @throws IOException when the folder cannot be listed
   * @throws DatasetException when it has no images or (with validation) an unreadable one
   */
  public static PairedDataset ofImages(Path dir, Options options) throws IOException {
    if (!Files.isDirectory(dir)) throw new DatasetException("dataset " + dir + ": folder not found: " + dir);
    requireFinishedSynth(dir.toString(), dir);
    List<Path> files = new ArrayList<>();
    try (Stream<Path> s = Files.list(dir)) {
      for (Path p : s.sorted().collect(Collectors.toList())) {
        if (!p.getFileName().toString().startsWith(".") && Images.hasImageExtension(p) && !Files.isDirectory(p)) {
          files.add(p);
        }
      }
    }
    Map<String, Long> stems = files.stream()
        .collect(Collectors.groupingBy(p -> stem(p).toLowerCase(Locale.ROOT), Collectors.counting()));
    List<Pair> all = new ArrayList<>();
    List<String> bad = new ArrayList<>();
    Smallest smallest = null;
    for (Path p : files) {
      boolean shared = stems.get(stem(p).toLowerCase(Locale.ROOT)) > 1;
      all.add(new Pair(shared ? p.getFileName().toString() : stem(p), p, p));
      if (options.validate()) smallest = Smallest.of(smallest, p, probe(p, options.read(), bad));
    }
    if (!bad.isEmpty()) {
      throw new DatasetException(dir.toString(), Partner.NORMAL_LIGHT.noun(), List.of(), List.of(), List.of(),
          sorted(bad), List.of());
    }
    if (all.isEmpty()) throw new DatasetException("dataset " + dir + " has no images");
    all.sort(Comparator.comparing(Pair::name));
    return new PairedDataset(dir.toString(), Partner.NORMAL_LIGHT, all, options, smallest);
  }

  /**
   * Pairs the files of two folders, the second holding something else than ground truth (messages say what).
   *
   * @param lowDir folder of low-light images
   * @param otherDir folder of their partners
   * @param partner what the partners are, for messages
   * @param options validation, read limits, cache
   * @return the dataset
   * @throws DatasetException listing unmatched, duplicate, unreadable and size-mismatched files
   * @throws IOException when a folder cannot be listed
   */
  public static PairedDataset fromFolders(Path lowDir, Path otherDir, Partner partner, Options options)
      throws IOException {
    return fromFolderPairs(lowDir + " + " + otherDir, List.<Path[]>of(new Path[] {lowDir, otherDir}), partner,
        options);
  }

  /**
   * Pairs several (low, high) folder pairs into one dataset (e.g. LOL-v1 {@code our485} + {@code eval15}). Names
   * are prefixed by the folder pair's index when there is more than one, to stay unique.
   *
   * @param description used in messages
   * @param folderPairs {@code [lowDir, highDir]} entries
   * @param options validation, read limits, cache
   * @return the dataset
   * @throws DatasetException listing every problem found
   * @throws IOException when a folder cannot be listed
   */
  public static PairedDataset fromFolderPairs(String description, List<Path[]> folderPairs, Options options)
      throws IOException {
    return fromFolderPairs(description, folderPairs, Partner.NORMAL_LIGHT, options);
  }

  private static PairedDataset fromFolderPairs(String description, List<Path[]> folderPairs, Partner partner,
      Options options) throws IOException {
    List<Pair> all = new ArrayList<>();
    List<String> loOnly = new ArrayList<>(), hiOnly = new ArrayList<>(), dup = new ArrayList<>();
    List<String> bad = new ArrayList<>(), size = new ArrayList<>();
    for (int f = 0; f < folderPairs.size(); f++) {
      Path lowDir = folderPairs.get(f)[0], highDir = folderPairs.get(f)[1];
      for (Path d : new Path[] {lowDir, highDir}) {
        if (!Files.isDirectory(d)) throw new DatasetException("dataset " + description + ": folder not found: " + d);
        requireFinishedSynth(description, d);
      }
      Map<String, Path> lows = index(lowDir, dup), highs = index(highDir, dup);
      List<Pair> matched = new ArrayList<>();
      // pass 1: same stem
      for (var it = lows.entrySet().iterator(); it.hasNext(); ) {
        var e = it.next();
        Path h = highs.remove(e.getKey());
        if (h != null) {
          matched.add(new Pair(stem(e.getValue()), e.getValue(), h));
          it.remove();
        }
      }
      // pass 2: stem without a low/normal/high tag
      if (!lows.isEmpty() && !highs.isEmpty()) {
        Map<String, Path> hiTagless = new HashMap<>();
        for (var e : highs.entrySet()) hiTagless.put(TAG.matcher(e.getKey()).replaceFirst(""), e.getValue());
        for (var it = lows.entrySet().iterator(); it.hasNext(); ) {
          var e = it.next();
          String k = TAG.matcher(e.getKey()).replaceFirst("");
          Path h = hiTagless.remove(k);
          if (h != null && !k.isEmpty()) {
            matched.add(new Pair(stem(e.getValue()), e.getValue(), h));
            highs.values().remove(h);
            it.remove();
          }
        }
      }
      lows.values().forEach(p -> loOnly.add(p.toString()));
      highs.values().forEach(p -> hiOnly.add(p.toString()));
      String prefix = folderPairs.size() > 1 ? lowDir.getParent().getFileName() + "/" : "";
      for (Pair p : matched) all.add(new Pair(prefix + p.name(), p.low(), p.high()));
    }
    Smallest smallest = null;
    if (options.validate()) {
      for (Pair p : all) {
        int[] a = probe(p.low(), options.read(), bad), b = probe(p.high(), options.read(), bad);
        smallest = Smallest.of(smallest, p.low(), a);
        if (a != null && b != null && (a[0] != b[0] || a[1] != b[1])) {
          size.add(p.name() + ": low " + a[0] + "x" + a[1] + " (" + p.low() + "), " + partner.label() + " " + b[0] + "x"
              + b[1] + " (" + p.high() + ")");
        }
      }
    }
    if (!loOnly.isEmpty() || !hiOnly.isEmpty() || !dup.isEmpty() || !bad.isEmpty() || !size.isEmpty()) {
      throw new DatasetException(description, partner.noun(), sorted(loOnly), sorted(hiOnly), sorted(dup),
          sorted(bad), sorted(size));
    }
    if (all.isEmpty()) throw new DatasetException("dataset " + description + " has no image pairs");
    all.sort(Comparator.comparing(Pair::name));
    return new PairedDataset(description, partner, all, options, smallest);
  }

  /**
   * A set that {@code deepspg data synth} is writing, or was stopped in (Ctrl-C), holds {@link Synthesizer#INCOMPLETE}
   * at its root: one or two levels above its image folders ({@code low/}, {@code train/low/}). Its pairs are a
   * partial set, refused for every use (training, evaluation, {@code data check}).
   */
  private static void requireFinishedSynth(String description, Path folder) {
    Path up = folder.toAbsolutePath().normalize().getParent();
    for (int i = 0; i < 2 && up != null; i++, up = up.getParent()) {
      Path marker = up.resolve(Synthesizer.INCOMPLETE);
      if (Files.exists(marker)) {
        throw new DatasetException("dataset " + description + " is incomplete: " + marker + " says that a `deepspg"
            + " data synth` run into " + up + " was stopped before it finished (or is still writing); rerun the same"
            + " data synth command to finish the set");
      }
    }
  }

  private static List<String> sorted(List<String> l) {
    return l.stream().sorted().collect(Collectors.toList());
  }

  private static int[] probe(Path p, ReadOptions ro, List<String> bad) {
    try {
      return Images.probe(p, ro);
    } catch (ImageReadException e) {
      bad.add(p + ": " + e.reason());
      return null;
    }
  }

  /** Image files of a folder keyed by lower-case stem; a second file with a stem already seen goes to {@code dup}. */
  private static Map<String, Path> index(Path dir, List<String> dup) throws IOException {
    Map<String, Path> m = new LinkedHashMap<>();
    try (Stream<Path> s = Files.list(dir)) {
      for (Path p : s.sorted().collect(Collectors.toList())) {
        String fn = p.getFileName().toString();
        if (fn.startsWith(".") || !Images.hasImageExtension(p) || Files.isDirectory(p)) continue;
        String k = stem(p).toLowerCase(Locale.ROOT);
        Path prev = m.putIfAbsent(k, p);
        if (prev != null) dup.add(p + ": same stem as " + prev.getFileName() + " (ambiguous pair)");
      }
    }
    return m;
  }

  private static String stem(Path p) {
    String fn = p.getFileName().toString();
    int dot = fn.lastIndexOf('.');
    return dot <= 0 ? fn : fn.substring(0, dot);
  }

  /** @return a description of where the pairs come from (layout, split, root) */
  public String description() {
    return description;
  }

  /** @return number of pairs */
  public int size() {
    return pairs.size();
  }

  /**
   * @param i index in [0, size)
   * @return the i-th pair (sorted by name)
   */
  public Pair pair(int i) {
    return pairs.get(i);
  }

  /** @return all pairs, sorted by name (unmodifiable) */
  public List<Pair> pairs() {
    return pairs;
  }

  /** @return the options the dataset was opened with */
  public Options options() {
    return options;
  }

  /**
   * @return the low-light image with the shortest side, found while the headers were validated; null when the
   *     dataset was opened without validation ({@link Options#validate()})
   */
  public Smallest smallest() {
    return smallest;
  }

  /**
   * A view of the same pairs with another cache budget (the cache starts empty).
   *
   * @param bytes cache budget in bytes (0 = none); a decoded pair costs about {@code 24 · H · W} bytes
   * @return the new dataset
   */
  public PairedDataset withCache(long bytes) {
    return new PairedDataset(description, partner, pairs, options.withCache(bytes), smallest);
  }

  /**
   * Decodes the i-th pair (from the cache when present).
   *
   * @param i index in [0, size)
   * @return both images; the returned arrays are shared with the cache, so do not modify them
   * @throws ImageReadException when a file cannot be read
   * @throws DatasetException when the two images differ in size
   */
  public Loaded load(int i) throws ImageReadException {
    if (cache != null) {
      synchronized (cache) {
        Loaded l = cache.get(i);
        if (l != null) return l;
      }
    }
    Pair p = pairs.get(i);
    Image lo = Images.read(p.low(), options.read());
    Image hi = Images.read(p.high(), options.read());
    if (lo.width() != hi.width() || lo.height() != hi.height()) {
      throw new DatasetException("pair " + p.name() + " differs in size: low " + lo.width() + "x" + lo.height()
          + " (" + p.low() + "), " + partner.label() + " " + hi.width() + "x" + hi.height() + " (" + p.high() + ")");
    }
    Loaded l = new Loaded(p, lo, hi);
    if (cache != null) {
      long cost = bytes(l);
      synchronized (cache) {
        if (cost <= options.cacheBytes() && !cache.containsKey(i)) {
          cache.put(i, l);
          cachedBytes += cost;
          var it = cache.entrySet().iterator();
          while (cachedBytes > options.cacheBytes() && it.hasNext()) {
            var e = it.next();
            cachedBytes -= bytes(e.getValue());
            it.remove();
          }
        }
      }
    }
    return l;
  }

  /** @return bytes currently held by the cache */
  public long cachedBytes() {
    if (cache == null) return 0;
    synchronized (cache) {
      return cachedBytes;
    }
  }

  private static long bytes(Loaded l) {
    return 4L * (l.low().rgb().length + l.high().rgb().length
        + (l.low().hasAlpha() ? l.low().pixelCount() : 0) + (l.high().hasAlpha() ? l.high().pixelCount() : 0));
  }

  @Override
  public String toString() {
    return "PairedDataset[" + description + ", " + pairs.size() + " pairs]";
  }
}
