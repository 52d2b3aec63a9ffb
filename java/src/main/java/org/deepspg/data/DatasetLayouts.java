/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Recognises the published folder layouts of paired low-light datasets and opens them as {@link PairedDataset}s.
 * Folder names are matched case-insensitively.
 *
 * <pre>
 *   LOL_V1            ROOT/our485/{low,high}, ROOT/eval15/{low,high}        train = our485 (485), test = eval15 (15)
 *   LOL_V2_REAL       ROOT/{Train,Test}/{Low,Normal}, ROOT named *real*      689 / 100 pairs (low00001 ↔ normal00001)
 *   LOL_V2_SYNTHETIC  ROOT/{Train,Test}/{Low,Normal}, ROOT named *synth*     900 / 100 pairs
 *                     (LOL-v2 needs the high folder to be called Normal; the root name tells real from synthetic)
 *   SPLIT_FOLDERS     ROOT/{train,test}/{low,high} (our Synthesizer's output; also any other split layout above
 *                     with a root name that does not say real/synthetic)
 *   FLAT              ROOT/{low,high} (one set; only Split.ALL)
 * </pre>
 * Accepted aliases: split folders {@code train} / {@code test, eval}; low folders {@code low, input, lq}; high
 * folders {@code high, normal, gt, target}. A LOL-v2 root that holds both {@code Real_captured} and
 * {@code Synthetic} is ambiguous: pass one of them. A root whose only child folder holds a known layout (as in
 * {@code LOLdataset/} after unzipping) is looked into.
 */
public final class DatasetLayouts {
  private DatasetLayouts() {}

  /** The recognised layouts (also the values of the training configuration's {@code data.*.layout} keys). */
  public enum Layout {
    /** LOL-v1: {@code our485/} and {@code eval15/}, each with {@code low/} and {@code high/}. */
    LOL_V1("lol-v1"),
    /** LOL-v2 real-captured: {@code Train/} and {@code Test/}, each with {@code Low/} and {@code Normal/}. */
    LOL_V2_REAL("lol-v2-real"),
    /** LOL-v2 synthetic: same folders as the real part. */
    LOL_V2_SYNTHETIC("lol-v2-synthetic"),
    /** Generic split folders: {@code train/} and {@code test/}, each with {@code low/} and {@code high/}. */
    SPLIT_FOLDERS("split"),
    /** One flat pair of folders {@code low/} and {@code high/}. */
    FLAT("flat");

    private final String key;

    Layout(String key) {
      this.key = key;
    }

    /** @return the name of this layout in configuration files ({@code lol-v1}, ..., {@code split}, {@code flat}) */
    public String key() {
      return key;
    }
  }

  private static final Set<String> TRAIN = Set.of("train", "our485");
  private static final Set<String> TEST = Set.of("test", "eval", "eval15");
  private static final Set<String> LOW = Set.of("low", "input", "lq");
  private static final Set<String> HIGH = Set.of("high", "normal", "gt", "target");

  /**
   * Detects the layout of a dataset root.
   *
   * @param root the folder
   * @return the layout
   * @throws DatasetException when no layout matches (the message lists what was found)
   * @throws IOException when the folder cannot be listed
   */
  public static Layout detect(Path root) throws IOException {
    return resolve(root).layout;
  }

  /**
   * Opens a split of a dataset with {@link PairedDataset.Options#DEFAULT}.
   *
   * @param root the dataset root
   * @param split which pairs
   * @return the dataset
   * @throws DatasetException when the layout is not recognised or the pairs are inconsistent
   * @throws IOException when a folder cannot be listed
   */
  public static PairedDataset open(Path root, Split split) throws IOException {
    return open(root, split, PairedDataset.Options.DEFAULT);
  }

  /**
   * Opens a split of a dataset.
   *
   * @param root the dataset root
   * @param split which pairs ({@link Split#ALL} = train and test together; the only choice for {@link Layout#FLAT})
   * @param options validation, read limits, cache
   * @return the dataset
   * @throws DatasetException when the layout is not recognised, the split is missing, or the pairs are inconsistent
   * @throws IOException when a folder cannot be listed
   */
  public static PairedDataset open(Path root, Split split, PairedDataset.Options options) throws IOException {
    Found f = resolve(root);
    List<Path[]> pairs = new ArrayList<>();
    if (f.layout == Layout.FLAT) {
      if (split != Split.ALL) {
        throw new DatasetException("dataset " + f.root + " is a flat low/ + high/ folder without train/test splits;"
            + " open it with Split.ALL (--split all) or arrange it as train/{low,high} and test/{low,high}");
      }
      pairs.add(lowHigh(f.root, f.root));
    } else {
      Path train = child(f.root, TRAIN), test = child(f.root, TEST);
      if (split != Split.TEST) {
        if (train == null) throw new DatasetException("dataset " + f.root + " (" + f.layout + ") has no training folder");
        pairs.add(lowHigh(train, f.root));
      }
      if (split != Split.TRAIN) {
        if (test == null) throw new DatasetException("dataset " + f.root + " (" + f.layout + ") has no test folder");
        pairs.add(lowHigh(test, f.root));
      }
    }
    String what = f.layout + " " + split.name().toLowerCase(Locale.ROOT) + " at " + f.root;
    return PairedDataset.fromFolderPairs(what, pairs, options);
  }

  private record Found(Path root, Layout layout) {}

  private static Found resolve(Path root) throws IOException {
    if (!Files.isDirectory(root)) throw new DatasetException("dataset root is not a folder: " + root);
    Layout l = direct(root);
    if (l != null) return new Found(root, l);
    List<Path> dirs = subdirs(root);
    boolean real = false, synth = false;
    for (Path d : dirs) {
      String n = d.getFileName().toString().toLowerCase(Locale.ROOT);
      if (direct(d) != null && n.contains("real")) real = true;
      if (direct(d) != null && n.contains("synth")) synth = true;
    }
    if (real && synth) {
      throw new DatasetException("dataset root " + root + " holds both LOL-v2 parts (Real_captured and Synthetic);"
          + " pass one of them as the root");
    }
    if (dirs.size() == 1 && direct(dirs.get(0)) != null) return new Found(dirs.get(0), direct(dirs.get(0)));
    throw new DatasetException("no known dataset layout at " + root + " (found folders: "
        + dirs.stream().map(d -> d.getFileName().toString()).collect(Collectors.joining(", "))
        + "). Expected one of: our485/{low,high} + eval15/{low,high} (LOL-v1); Train|Test/{Low,Normal} (LOL-v2"
        + " Real_captured or Synthetic); train|test/{low,high}; low/ + high/");
  }

  private static Layout direct(Path root) throws IOException {
    Path train = child(root, TRAIN), test = child(root, TEST);
    boolean trainOk = train != null && hasLowHigh(train), testOk = test != null && hasLowHigh(test);
    if (trainOk || testOk) {
      String tn = (train != null ? train : test).getFileName().toString().toLowerCase(Locale.ROOT);
      if (tn.equals("our485") || tn.equals("eval15")) return Layout.LOL_V1;
      String rn = root.toAbsolutePath().normalize().getFileName() == null ? ""
          : root.toAbsolutePath().normalize().getFileName().toString().toLowerCase(Locale.ROOT);
      Path hi = child(train != null ? train : test, HIGH);
      boolean lolV2 = hi != null && hi.getFileName().toString().equalsIgnoreCase("normal");
      if (lolV2 && rn.contains("real")) return Layout.LOL_V2_REAL;
      if (lolV2 && rn.contains("synth")) return Layout.LOL_V2_SYNTHETIC;
      return Layout.SPLIT_FOLDERS;
    }
    if (hasLowHigh(root)) return Layout.FLAT;
    return null;
  }

  private static boolean hasLowHigh(Path dir) throws IOException {
    return child(dir, LOW) != null && child(dir, HIGH) != null;
  }

  private static Path[] lowHigh(Path dir, Path root) throws IOException {
    Path lo = child(dir, LOW), hi = child(dir, HIGH);
    if (lo == null || hi == null) {
      throw new DatasetException("dataset " + root + ": " + dir + " needs a low-light folder (low/input/lq) and a"
          + " normal-light folder (high/normal/gt/target)");
    }
    return new Path[] {lo, hi};
  }

  /**
   * The one subfolder of {@code dir} that a part of a dataset goes by (any of {@code names}, in any case), or null.
   * Two of them ({@code low/} and {@code Low/}, or {@code low/} and {@code input/}) are refused: the first in sorted
   * order used to win silently, so a stale copy could be trained or scored instead of the set meant.
   */
  private static Path child(Path dir, Set<String> names) throws IOException {
    List<Path> found = subdirs(dir).stream()
        .filter(d -> names.contains(d.getFileName().toString().toLowerCase(Locale.ROOT))).collect(Collectors.toList());
    if (found.size() > 1) {
      throw new DatasetException("dataset folder " + dir + " has " + found.size() + " folders for the same part ("
          + found.stream().map(d -> d.getFileName() + "/").collect(Collectors.joining(", ")) + "): keep one of them "
          + "there (rename or move the others)");
    }
    return found.isEmpty() ? null : found.get(0);
  }

  private static List<Path> subdirs(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(Files::isDirectory).filter(p -> !p.getFileName().toString().startsWith(".")).sorted()
          .collect(Collectors.toList());
    }
  }
}
