/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * The {@code deepspg data ...} sub-commands, callable from the main CLI ({@code DataTool.run(args, out, err)} with
 * the arguments after "data") or on its own ({@link #main}).
 *
 * <pre>
 *   synth --from DIR --out DIR [--preset phone|phone-isp|legacy] [--seed N] [--test-fraction F] [--max-side N]
 *         [--min-side N] [--threads N] [--exposure MIN,MAX] [--gamma MIN,MAX] [--photons MIN,MAX]
 *         [--read-sigma MIN,MAX] [--jpeg PROB,QMIN,QMAX] [--chroma-nr SIGMA] [--max-pixels N]
 *   check ROOT [--split train|test|all]        detect the layout and validate every pair
 *   check --low DIR --high DIR                  validate two folders matched by file name
 * </pre>
 * {@code check} pairs the files, checks every header and size ({@link PairedDataset}), then decodes every image, so
 * that truncated or damaged pixel data is found too (training checks only the headers up front).
 * Defaults are those of {@link Synthesizer.Options#defaults(long)} and {@link Degradation.Params#DEFAULT}; the seed
 * defaults to 0.
 */
public final class DataTool {
  private DataTool() {}

  /** How often {@code check} reports its progress while decoding. */
  private static final long PROGRESS_NANOS = 3_000_000_000L;

  /** Usage text. */
  public static final String USAGE = String.join("\n",
      "usage: deepspg data synth --from DIR --out DIR [options]   make low/normal-light pairs from photos",
      "       deepspg data check ROOT [--split train|test|all]    detect a dataset layout, decode and check every pair",
      "       deepspg data check --low DIR --high DIR             the same for two folders matched by file name",
      "synth options (defaults in brackets):",
      "  --seed N                 run seed [0]",
      "  --test-fraction F        share of pairs in test/ [0.1]",
      "  --max-side N             downscale photos to this longer side, 0 = keep [1024]",
      "  --min-side N             skip photos whose shorter side (before --max-side) is below this [64]",
      "  --threads N              worker threads [cores]",
      "  --preset NAME            phone: camera model (white balance after the noise, 10-bit raw, vignetting,",
      "                           exposure varying over the frame, light sources) [phone]; phone-isp: the same as",
      "                           the phone's image processor delivers it (chroma NR 2 px, a 2000-100000, sigma",
      "                           0.0002-0.004: the noise of real phone JPEGs in the dark); legacy: the first set's",
      "                           model (k 0.03-0.25, gamma 1-1.4, a 300-3000, sigma 0.0005-0.004, no JPEG)",
      "  --exposure MIN,MAX       exposure scale k, log-uniform [phone: 0.01,0.3]",
      "  --gamma MIN,MAX          tone exponent (>= 1), uniform [phone: 1.0,1.2]",
      "  --photons MIN,MAX        photo-electrons at full scale a, log-uniform; 0,0 = no shot noise [phone: 80,2000]",
      "  --read-sigma MIN,MAX     read noise sigma (linear), log-uniform [phone: 0.001,0.02]",
      "  --jpeg P,QMIN,QMAX       JPEG re-compression with probability P at quality QMIN..QMAX [phone: 0.5,60,95]",
      "  --chroma-nr SIGMA        the ISP's chroma noise reduction (Gaussian, SIGMA px) before the final clip,",
      "                           raw kept signed until then; 0 = none, as before: then the shadows turn magenta [0]",
      "  --max-pixels N           refuse larger photos (decompression-bomb guard) [100000000]",
      "model (docs/data.md): scene = EOTF(s) (+ light sources); dark = k * scene^gamma * field * vignette;",
      "raw = dark / wb; y = Poisson(a * raw)/a + N(0, sigma^2); clip; quantise; y * wb; s' = OETF(y); optional JPEG");

  /**
   * Command-line entry point.
   *
   * @param args the sub-command and its options
   */
  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /**
   * Runs a sub-command.
   *
   * @param args the sub-command and its options (without the leading "data")
   * @param out normal output
   * @param err error output
   * @return the exit status: 0 success, 1 failure, 2 usage error
   */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    List<String> all = Arrays.asList(args);
    if (all.isEmpty() || all.contains("-h") || all.contains("--help")) {
      (args.length == 0 ? err : out).println(USAGE);
      return args.length == 0 ? 2 : 0;
    }
    try {
      return switch (args[0]) {
        case "synth" -> synth(parse(args, 1, null, SYNTH_OPTIONS), out, err);
        case "check" -> check(args, out, err);
        default -> {
          err.println("unknown data command '" + args[0] + "'\n" + USAGE);
          yield 2;
        }
      };
    } catch (IllegalArgumentException e) {
      err.println("deepspg data " + args[0] + ": " + e.getMessage());
      return e instanceof DatasetException ? 1 : 2;
    } catch (IOException e) {
      err.println("deepspg data " + args[0] + ": " + e);
      return 1;
    }
  }

  /** Options of {@code synth} and {@code check}, without the leading "--". */
  private static final Set<String> SYNTH_OPTIONS = Set.of("from", "out", "seed", "test-fraction", "max-side",
      "min-side", "threads", "preset", "exposure", "gamma", "photons", "read-sigma", "jpeg", "chroma-nr", "max-pixels");
  private static final Set<String> CHECK_OPTIONS = Set.of("low", "high", "split");

  private static Map<String, String> parse(String[] args, int from, String positionalKey, Set<String> known) {
    Map<String, String> m = new HashMap<>();
    for (int i = from; i < args.length; i++) {
      String a = args[i];
      if (a.startsWith("--")) {
        if (!known.contains(a.substring(2))) throw new IllegalArgumentException("unknown option " + a + "\n" + USAGE);
        if (i + 1 >= args.length) throw new IllegalArgumentException("option " + a + " needs a value");
        m.put(a.substring(2), args[++i]);
      } else if (positionalKey != null && !m.containsKey(positionalKey)) {
        m.put(positionalKey, a);
      } else {
        throw new IllegalArgumentException("unexpected argument '" + a + "'");
      }
    }
    return m;
  }

  private static int synth(Map<String, String> o, PrintStream out, PrintStream err) throws IOException {
    String from = o.remove("from"), to = o.remove("out");
    if (from == null || to == null) throw new IllegalArgumentException("synth needs --from DIR and --out DIR");
    long seed = number(o.getOrDefault("seed", "0"), "seed", Long::parseLong);
    o.remove("seed");
    Synthesizer.Options d = Synthesizer.Options.defaults(seed);
    String preset = o.remove("preset");
    Degradation.Params p = switch (preset == null ? "phone" : preset.trim().toLowerCase(java.util.Locale.ROOT)) {
      case "phone" -> Degradation.Params.PHONE;
      case "phone-isp" -> Degradation.Params.PHONE_ISP;
      case "legacy" -> Degradation.Params.LEGACY;
      default -> throw new IllegalArgumentException(
          "--preset must be phone, phone-isp or legacy, got '" + preset + "'");
    };
    double[] r;
    if ((r = pair(o.remove("exposure"), "exposure")) != null) p = p.withExposure(r[0], r[1]);
    if ((r = pair(o.remove("gamma"), "gamma")) != null) p = p.withGamma(r[0], r[1]);
    if ((r = pair(o.remove("photons"), "photons")) != null) p = p.withPhotons(r[0], r[1]);
    if ((r = pair(o.remove("read-sigma"), "read-sigma")) != null) p = p.withReadSigma(r[0], r[1]);
    String nr = o.remove("chroma-nr");
    if (nr != null) p = p.withCamera(p.camera().withChromaNr(number(nr, "chroma-nr", Double::parseDouble)));
    String jpeg = o.remove("jpeg");
    if (jpeg != null) {
      String[] s = jpeg.split(",");
      if (s.length != 3) throw new IllegalArgumentException("--jpeg needs PROB,QMIN,QMAX, got " + jpeg);
      p = p.withJpeg(number(s[0], "jpeg", Double::parseDouble), number(s[1], "jpeg", Integer::parseInt),
          number(s[2], "jpeg", Integer::parseInt));
    }
    Synthesizer.Options opts = new Synthesizer.Options(p, seed,
        number(rem(o, "test-fraction", String.valueOf(d.testFraction())), "test-fraction", Double::parseDouble),
        number(rem(o, "max-side", String.valueOf(d.maxSide())), "max-side", Integer::parseInt),
        number(rem(o, "min-side", String.valueOf(d.minSide())), "min-side", Integer::parseInt),
        number(rem(o, "threads", String.valueOf(d.threads())), "threads", Integer::parseInt),
        number(rem(o, "max-pixels", String.valueOf(d.maxPixels())), "max-pixels", Long::parseLong));
    if (!o.isEmpty()) throw new IllegalArgumentException("unknown option(s) " + o.keySet() + "\n" + USAGE);
    long t0 = System.nanoTime();
    // Ctrl-C or SIGTERM ends the JVM inside run(): say that the folder is a partial set and how to finish it.
    Path marker = Path.of(to).resolve(Synthesizer.INCOMPLETE);
    Thread stopped = new Thread(() -> {
      if (Files.exists(marker)) {
        err.println("deepspg data synth: stopped before it finished; " + Path.of(to) + " is a partial set (marked by "
            + Synthesizer.INCOMPLETE + ", refused by data check, train and eval): run the same command again to "
            + "finish it");
      }
    }, "deepspg-synth-stopped");
    Runtime.getRuntime().addShutdownHook(stopped);
    Synthesizer.Result res;
    try {
      res = Synthesizer.run(Path.of(from), Path.of(to), opts);
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(stopped);
      } catch (IllegalStateException shuttingDown) {
        // the hook runs already
      }
    }
    out.printf(Locale.ROOT, "synthesised %d pairs (%d train, %d test) into %s in %.1f s%n", res.entries().size(),
        res.trainCount(), res.testCount(), res.out(), (System.nanoTime() - t0) / 1e9);
    if (res.hiddenSkipped() > 0) {
      err.println(res.hiddenSkipped() + " hidden image file(s) skipped (names starting with '.', or in such folders:"
          + " dataset readers ignore them)");
    }
    if (!res.failures().isEmpty()) {
      err.println(res.failures().size() + " source(s) skipped (listed in " + res.out().resolve("failures.txt") + "):");
      res.failures().stream().limit(20).forEach(f -> err.println("  " + f));
    }
    return res.entries().isEmpty() ? 1 : 0;
  }

  private static String rem(Map<String, String> o, String k, String def) {
    String v = o.remove(k);
    return v == null ? def : v;
  }

  private static double[] pair(String v, String name) {
    if (v == null) return null;
    String[] s = v.split(",");
    if (s.length != 2) throw new IllegalArgumentException("--" + name + " needs MIN,MAX, got " + v);
    return new double[] {number(s[0], name, Double::parseDouble), number(s[1], name, Double::parseDouble)};
  }

  /** A number of option {@code --name}: a bad one is named in the error, not only Java's "For input string". */
  private static <N> N number(String v, String name, java.util.function.Function<String, N> parse) {
    try {
      return parse.apply(v.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + name + ": '" + v.trim() + "' is not a number");
    }
  }

  private static int check(String[] args, PrintStream out, PrintStream err) throws IOException {
    Map<String, String> o = parse(args, 1, "root", CHECK_OPTIONS);
    PairedDataset ds;
    if (o.containsKey("low") || o.containsKey("high")) {
      if (!o.containsKey("low") || !o.containsKey("high")) throw new IllegalArgumentException("check needs both --low and --high");
      ds = PairedDataset.fromFolders(Path.of(o.get("low")), Path.of(o.get("high")), PairedDataset.Options.DEFAULT);
    } else {
      if (!o.containsKey("root")) throw new IllegalArgumentException("check needs ROOT or --low/--high\n" + USAGE);
      Path root = Path.of(o.get("root"));
      Split split = Split.parse(o.getOrDefault("split", "all"));
      out.println("layout: " + DatasetLayouts.detect(root));
      ds = DatasetLayouts.open(root, split);
    }
    decodeAll(ds, err);
    out.println(ds.description() + ": " + ds.size() + " pairs, every image decoded and size-matched");
    List<Path> nested = nestedImages(ds);
    if (!nested.isEmpty()) {
      out.println("note: " + nested.size() + " image file(s) in subfolders of the set's folders are not part of it "
          + "(pairs are the images directly in low/ and high/), e.g. " + nested.get(0));
    }
    return 0;
  }

  /**
   * Image files below the folders a dataset's pairs come from, in their subfolders (hidden ones skipped): a set is
   * the images directly in its folders, while {@code data synth} takes photos from subfolders too, so a user can
   * expect them to count.
   */
  private static List<Path> nestedImages(PairedDataset ds) throws IOException {
    Set<Path> folders = new TreeSet<>();
    for (PairedDataset.Pair pr : ds.pairs()) {
      folders.add(pr.low().getParent());
      if (pr.high() != null) folders.add(pr.high().getParent());
    }
    List<Path> found = new ArrayList<>();
    for (Path f : folders) {
      try (Stream<Path> s = Files.walk(f)) {
        s.filter(p -> !p.getParent().equals(f) && Files.isRegularFile(p) && Images.hasImageExtension(p))
            .filter(p -> !Synthesizer.isHidden(f.relativize(p))).sorted().forEach(found::add);
      }
    }
    return found;
  }

  /**
   * Decodes every image of a dataset whose headers were checked when it was opened: only decoding finds truncated or
   * damaged pixel data. Prints a progress line on {@code err} every few seconds.
   *
   * @throws DatasetException listing every file that failed to decode
   */
  private static void decodeAll(PairedDataset ds, PrintStream err) {
    List<String> bad = new ArrayList<>();
    long t0 = System.nanoTime(), shown = t0;
    boolean progress = false;
    for (int i = 0; i < ds.size(); i++) {
      PairedDataset.Pair p = ds.pair(i);
      for (Path f : List.of(p.low(), p.high())) {
        try {
          Images.read(f, ds.options().read());
        } catch (ImageReadException e) {
          bad.add(f + ": " + e.reason());
        }
      }
      long now = System.nanoTime();
      if (now - shown > PROGRESS_NANOS) {
        err.printf(Locale.ROOT, "decoding: %d of %d pairs checked (%.0f s)%n", i + 1, ds.size(), (now - t0) / 1e9);
        shown = now;
        progress = true;
      }
    }
    if (progress) err.printf(Locale.ROOT, "decoding: %d of %d pairs checked%n", ds.size(), ds.size());
    if (!bad.isEmpty()) throw new DatasetException(ds.description(), List.of(), List.of(), bad, List.of());
  }
}
