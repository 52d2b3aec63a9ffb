/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.spark;

import java.io.PrintWriter;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.storage.StorageLevel;
import org.deepspg.cli.EnhanceCommand;
import org.deepspg.cli.OneDnnOption;
import org.deepspg.data.Images;
import org.deepspg.io.RealPaths;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/**
 * {@code deepspg spark-enhance INPUT_DIR -o OUTPUT_DIR}: enhances every image under a folder with Spark, by default
 * in an embedded local Spark ({@code --master local[*]}: no cluster, no Spark installation). The same class is the
 * main class for {@code spark-submit} on a cluster (docs/scaling.md); there the folders must be on a file system
 * that the driver and every executor share. Outputs keep the input's relative path and format (WebP becomes PNG)
 * and are written atomically by the executors; a bad image is counted and reported, never a failed job. A file in the
 * output folder that deepspg did not write is kept and its image counted as failed unless {@code --overwrite}, and
 * what reading did that a file did not ask for (an ICC profile ignored, ...) is printed as {@code deepspg: FILE:
 * NOTICE}, both as {@code deepspg enhance} does. Exit codes: 0 all enhanced, 1 some images failed, 2 usage error,
 * 3 internal error.
 */
@Command(name = "spark-enhance", mixinStandardHelpOptions = true,
    description = "Enhance every image under INPUT_DIR into OUTPUT_DIR with Apache Spark (embedded local Spark "
        + "unless --master names a cluster).")
public final class SparkEnhance implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "INPUT_DIR", description = "Folder of images (searched recursively).")
  String input;

  @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUTPUT_DIR", description = "Output folder.")
  String output;

  @Option(names = "--master", paramLabel = "URL",
      description = "Spark master: local[N] / local[*] (embedded, the default when spark-submit set none) or "
          + "spark://host:7077. Default: spark.master from spark-submit, else local[*].")
  String master;

  @Option(names = "--model", paramLabel = "NAME|PATH", defaultValue = "bundled:s",
      description = "Bundled model name (s, the default; `deepspg models` lists them) or a weights file readable by "
          + "every executor (a file named like a bundled model wins; bundled:NAME names the bundled one).")
  String model;

  @Option(names = "--arch", paramLabel = "s|l|s-baseline|l-baseline",
      description = "Architecture of a weights file that carries no configuration metadata.")
  String arch;

  @Option(names = {"--prior-weights", "--hrnet"}, paramLabel = "FILE",
      description = "Weights of the image prior a model with SEMs was trained with (HRNet-W48 or ESPNetv2), "
          + "readable by every executor.")
  String hrnet;

  @Option(names = "--device", paramLabel = "cpu|cuda|auto", defaultValue = "auto",
      description = "Where executors run the model (default: ${DEFAULT-VALUE}).")
  String device;

  @Option(names = "--tile", paramLabel = "N", description = "Tile side (as for enhance; 0 = never tile).")
  Integer tile;

  @Option(names = "--refine-context", description = "As for enhance: one more pass over the tiles of an image larger "
      + "than the attention context, closer to whole-image inference (about 1.9x the time).")
  boolean refineContext;

  @Option(names = "--ensemble", description = "Average the 8 flips/rotations (8x slower).")
  boolean ensemble;

  @Option(names = "--max-memory", paramLabel = "SIZE",
      description = "As for enhance: most native memory one forward pass may take on an executor, e.g. 6g or 500m "
          + "(default: -Ddeepspg.max_memory, else 80%% of the executor's memory); default tiles fit it, a larger pass "
          + "is refused.")
  String maxMemory;

  @Mixin OneDnnOption oneDnn;

  @Option(names = "--batch", paramLabel = "N", defaultValue = "1",
      description = "Images per forward pass for same-size images (default ${DEFAULT-VALUE}: outputs byte-identical "
          + "to `deepspg enhance`; larger batches may differ in the last bit).")
  int batch;

  @Option(names = "--partitions", paramLabel = "N",
      description = "Spread the images over N partitions (default: Spark's split of the file listing).")
  Integer partitions;

  @Option(names = "--max-pixels", paramLabel = "N", defaultValue = "100000000",
      description = "Refuse inputs with more pixels than this. Default: ${DEFAULT-VALUE}.")
  long maxPixels;

  @Option(names = "--jpeg-quality", paramLabel = "Q", defaultValue = "95",
      description = "Quality of JPEG outputs (1-100, default ${DEFAULT-VALUE}).")
  int jpegQuality;

  @Option(names = "--overwrite",
      description = "Replace any file in OUTPUT_DIR that has an output's name. Without it an existing file is replaced "
          + "only when deepspg wrote it (its outputs carry a mark) or when it holds the very pixels this run writes; "
          + "any other file is kept and its image counted as failed (exit 1), as for enhance.")
  boolean overwrite;

  @Option(names = "--skip-existing",
      description = "Leave out inputs whose output file exists already, whoever wrote it: resumes a stopped run "
          + "(outputs are written whole or not at all), as for enhance.")
  boolean skipExisting;

  @Option(names = "--strip-metadata",
      description = "Write outputs without the input's EXIF block (capture date, camera, GPS location), as for enhance.")
  boolean stripMetadata;

  /** Failed images listed by name at the end of a run. */
  static final int MAX_LISTED = 100;

  /** Regular expression (case-insensitive) of the file names the command reads. */
  static String extensionPattern() {
    return "(?i).*\\.(" + Images.READ_EXTENSIONS.stream().sorted().collect(Collectors.joining("|")) + ")$";
  }

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    // file: URIs are local paths: checked as such (a file:// input skipped every check below and its -o could be
    // the input folder itself, overwriting the originals: the scale-out audit, session 35).
    boolean localIn = isLocal(input), localOut = isLocal(output);
    Path in = localIn ? EnhanceImages.localPath(input) : null;
    if (localIn && !Files.isDirectory(in)) {
      err.println("deepspg: " + input + ": no such folder");
      return 2;
    }
    Path outAbs = localOut ? EnhanceImages.localPath(output).toAbsolutePath().normalize() : null;
    if (localOut && Files.exists(outAbs) && !Files.isDirectory(outAbs)) {
      err.println("deepspg: -o " + output + " is an existing file, not a folder; give an output folder");
      return 2;
    }
    // Compared through symbolic links too (canonical paths): an output folder that is a link to the input folder,
    // or to a folder inside it, would overwrite the originals.
    if (localIn && localOut && (outAbs.startsWith(in.toAbsolutePath().normalize())
        || RealPaths.of(outAbs).startsWith(RealPaths.of(in)))) {
      err.println("deepspg: refusing to run: the output folder " + output + " is inside the input folder " + input);
      return 2;
    }
    if (jpegQuality < 1 || jpegQuality > 100) { // named by its flag, as enhance names it
      err.println("deepspg: --jpeg-quality must be 1..100, got " + jpegQuality);
      return 2;
    }
    if (overwrite && skipExisting) {
      err.println("deepspg: --overwrite and --skip-existing contradict each other; give one");
      return 2;
    }
    if (partitions != null && partitions < 1) {
      err.println("deepspg: --partitions must be >= 1, got " + partitions);
      return 2;
    }
    if (localOut) { // before any work: an unwritable folder would otherwise fail every image after enhancing it
      try {
        Files.createDirectories(outAbs);
        Files.delete(Files.createTempFile(outAbs, ".deepspg-write-check", ".tmp"));
      } catch (java.io.IOException | RuntimeException e) {
        err.println("deepspg: cannot write into the output folder " + output + ": " + org.deepspg.cli.Main.describe(e));
        return 2;
      }
    }
    List<String> emptyFiles = List.of();
    List<String> notUtf8 = List.of();
    if (localIn) {
      InputScan scan = scan(in);
      emptyFiles = scan.empty();
      notUtf8 = scan.notUtf8();
      // Spark's listing follows links: it would walk a loop about 40 levels deep, or up the tree
      if (scan.loop() != null) {
        err.println("deepspg: " + input + " holds a symbolic link that leads back into itself or above it ("
            + scan.loop() + "); remove it or give a folder without one");
        return 2;
      }
      if (scan.hidden() > 0) {
        err.println("deepspg: note: " + scan.hidden() + " image(s) under " + input + " have a name (or a folder) "
            + "starting with '_' or '.', which Spark's file source skips; rename them to include them");
      }
    }
    EnhancerSettings settings = new EnhancerSettings(model, arch, hrnet, device, tile, ensemble, batch,
        oneDnn.mode(), refineContext, maxMemory == null ? null : org.deepspg.infer.MemoryBudget.parse(maxMemory));
    settings.builder(); // flag consistency, before a Spark session starts
    SparkSession.Builder sb = SparkSession.builder().appName("deepspg spark-enhance")
        .config("spark.ui.enabled", "false");
    boolean hasMaster = master != null || System.getProperty("spark.master") != null;
    if (!hasMaster) sb.master("local[*]");
    if (master != null) sb.master(master);
    SparkSession spark = sb.getOrCreate();
    try {
      String sparkMaster = spark.sparkContext().master();
      if (sparkMaster.startsWith("local")) {
        // Driver and executor share this JVM: load the model once now, so that a bad model is one usage error.
        EnhancerPool.get(settings);
      }
      long t0 = System.nanoTime();
      Summary s = run(spark, settings, localIn ? in.toString() : input, localOut ? outAbs.toString() : output,
          partitions, maxPixels, jpegQuality, !stripMetadata, overwrite, skipExisting);
      double secs = (System.nanoTime() - t0) / 1e9;
      // Spark's file source leaves zero-byte files out: they count as failed here, as in `deepspg enhance`, merged
      // into the listed failures in path order and under the same cap. So are names that are not valid UTF-8, which
      // it left out without a word (enhance reads them).
      List<String> failures = new ArrayList<>(s.errors());
      for (String e : emptyFiles) failures.add(e + ": zero-byte file");
      for (String e : notUtf8) {
        failures.add(e + ": " + EnhanceCommand.NOT_UTF8 + ", which Spark's file listing cannot read; rename it"
            + EnhanceCommand.RENAME + " (or use deepspg enhance, which reads it)");
      }
      java.util.Collections.sort(failures);
      long unlisted = emptyFiles.size() + notUtf8.size();
      long failed = s.failed() + unlisted;
      // what reading did that the files did not ask for, as enhance prints it (the first 100 in path order)
      for (String n : s.notices()) err.println("deepspg: " + n);
      if (s.noticed() > s.notices().size()) {
        err.println("deepspg: ... and " + (s.noticed() - s.notices().size()) + " more notices (the first "
            + s.notices().size() + " in path order are listed)");
      }
      List<String> listed = failures.subList(0, Math.min(MAX_LISTED, failures.size()));
      for (String e : listed) err.println("deepspg: " + e);
      if (failed > listed.size()) {
        err.println("deepspg: ... and " + (failed - listed.size()) + " more failed images (the first "
            + listed.size() + " in path order are listed)");
      }
      if (s.skipped() > 0) {
        err.println("deepspg: --skip-existing: " + s.skipped() + " of " + (s.total() + unlisted) + " outputs "
            + "existed already; left out");
      }
      if (s.total() + unlisted == 0) {
        err.println("deepspg: " + input + ": folder contains no images");
        return 2;
      }
      out.printf(Locale.ROOT, "spark-enhance (%s): enhanced %d of %d images in %.1f s (%.2f images/s), %d failed%s -> "
          + "%s%n", sparkMaster, s.ok(), s.total() - s.skipped() + unlisted, secs, s.ok() / Math.max(secs, 1e-9),
          failed,
          s.kept() == 0 ? "" : " (" + s.kept() + " of them kept a file deepspg did not write)", output);
      if (sparkMaster.startsWith("local")) {
        // The executor is this JVM: how much of the time the model itself took (the rest is Spark, I/O, codecs).
        org.deepspg.infer.Enhancer.Stats st = EnhancerPool.get(settings).stats();
        out.printf(Locale.ROOT, "model: %d images, network %.1f s, HRNet prior %.1f s%n", st.images(),
            st.networkNanos() / 1e9, st.hrnetNanos() / 1e9);
      }
      out.flush();
      return failed > 0 ? 1 : 0;
    } finally {
      spark.stop();
    }
  }

  /**
   * What one walk of a local input folder (following links, as Spark's listing does) finds before the job starts.
   *
   * @param loop the first symbolic link that leads back into the folder or an ancestor, or null
   * @param hidden images under a path component starting with _ or . (Spark's listing leaves them out); 0 when a
   *     loop was found
   * @param empty zero-byte image files (Spark's listing leaves them out too), in path order
   * @param notUtf8 images with a name, or under a folder name, that is not valid UTF-8 (Spark's listing leaves them
   *     out without a word: the string it lists names no file), in path order
   */
  record InputScan(String loop, long hidden, List<String> empty, List<String> notUtf8) {
    InputScan(String loop, long hidden) {
      this(loop, hidden, List.of(), List.of());
    }
  }

  /** Whether a path or URI names the local file system (no scheme, or {@code file:}). */
  static boolean isLocal(String s) {
    return s.startsWith("file:") || !s.matches("^[A-Za-z][A-Za-z0-9+.-]*:.*");
  }

  /**
   * Walks a local input folder once.
   *
   * @param dir the folder
   * @return the loop, if any, and the count of images Spark would skip
   */
  static InputScan scan(Path dir) {
    Pattern ext = Pattern.compile(extensionPattern());
    try (java.util.stream.Stream<Path> s = Files.walk(dir, java.nio.file.FileVisitOption.FOLLOW_LINKS)) {
      long hidden = 0;
      List<String> empty = new ArrayList<>();
      List<String> notUtf8 = new ArrayList<>();
      for (Path f : s.filter(f -> ext.matcher(f.getFileName().toString()).matches() && Files.isRegularFile(f))
          .sorted().toList()) {
        boolean skipped = false;
        for (Path part : dir.relativize(f)) {
          String n = part.toString();
          if (n.startsWith("_") || n.startsWith(".")) skipped = true;
        }
        if (skipped) hidden++;
        else if (notUtf8(dir, f)) notUtf8.add(f.toString());
        else if (Files.size(f) == 0) empty.add(f.toString());
      }
      return new InputScan(null, hidden, empty, notUtf8);
    } catch (java.io.UncheckedIOException e) {
      return new InputScan(e.getCause() instanceof java.nio.file.FileSystemLoopException l ? l.getFile() : null, 0);
    } catch (java.io.IOException e) {
      return new InputScan(null, 0);
    }
  }

  /** Whether a listed file's name, or a folder's between {@code dir} and it, is not valid UTF-8. */
  private static boolean notUtf8(Path dir, Path file) {
    for (Path f = file; f != null && !f.equals(dir); f = f.getParent()) {
      if (EnhanceCommand.notUtf8(f)) return true;
    }
    return false;
  }

  /**
   * A local folder as a path Spark reads literally: Spark expands glob characters in the paths it loads ({@code
   * g[1]} would be a pattern matching {@code g1}), so they are escaped with a backslash.
   */
  static String literalPath(String path) {
    return path.replaceAll("([\\\\\\[\\]{}*?])", "\\\\$1");
  }

  /**
   * What a run did.
   *
   * @param total images found
   * @param ok images enhanced and written
   * @param failed images that failed, the kept ones included
   * @param errors "path: reason" of the first failures (at most 100, in path order)
   * @param kept images not enhanced because their output's name held a file deepspg did not write (without
   *     overwrite)
   * @param noticed images whose reading gave a notice ({@code Image.Metadata#notice()})
   * @param notices "path: notice" of the first of them (at most 100, in path order)
   * @param skipped images left out because their output existed (skip-existing), counted in total
   */
  public record Summary(long total, long ok, long failed, List<String> errors, long kept, long noticed,
      List<String> notices, long skipped) {
    /**
     * A summary without kept files and notices.
     *
     * @param total images found
     * @param ok images enhanced and written
     * @param failed images that failed
     * @param errors "path: reason" of the first failures
     */
    public Summary(long total, long ok, long failed, List<String> errors) {
      this(total, ok, failed, errors, 0, 0, List.of(), 0);
    }
  }

  /**
   * Enhances every image under a folder into another with {@link EnhanceImages} (outputs written by the executors).
   *
   * @param spark the session
   * @param settings model choices
   * @param input input folder (a path or URI every executor can read)
   * @param output output folder (shared by the executors)
   * @param partitions number of partitions, or null for Spark's split
   * @param maxPixels pixel limit per image
   * @param jpegQuality quality of JPEG outputs
   * @return the counts and the first errors
   */
  public static Summary run(SparkSession spark, EnhancerSettings settings, String input, String output,
      Integer partitions, long maxPixels, int jpegQuality) {
    return run(spark, settings, input, output, partitions, maxPixels, jpegQuality, true);
  }

  /**
   * {@link #run(SparkSession, EnhancerSettings, String, String, Integer, long, int)} with the EXIF choice.
   *
   * @param spark the session
   * @param settings model choices
   * @param input input folder (a path or URI every executor can read)
   * @param output output folder (shared by the executors)
   * @param partitions number of partitions, or null for Spark's split
   * @param maxPixels pixel limit per image
   * @param jpegQuality quality of JPEG outputs
   * @param keepExif whether JPEG and PNG outputs carry the input's EXIF block
   * @return the counts and the first errors
   */
  public static Summary run(SparkSession spark, EnhancerSettings settings, String input, String output,
      Integer partitions, long maxPixels, int jpegQuality, boolean keepExif) {
    return run(spark, settings, input, output, partitions, maxPixels, jpegQuality, keepExif, false, false);
  }

  /**
   * {@link #run(SparkSession, EnhancerSettings, String, String, Integer, long, int, boolean)} with the choice of
   * the choices of {@code --overwrite} and {@code --skip-existing}.
   *
   * @param spark the session
   * @param settings model choices
   * @param input input folder (a path or URI every executor can read)
   * @param output output folder (shared by the executors)
   * @param partitions number of partitions, or null for Spark's split
   * @param maxPixels pixel limit per image
   * @param jpegQuality quality of JPEG outputs
   * @param keepExif whether JPEG and PNG outputs carry the input's EXIF block
   * @param overwrite whether outputs replace files that deepspg did not write (else those are kept)
   * @param skipExisting whether inputs whose output file exists are left out (not with overwrite)
   * @return the counts, the first errors and the first notices
   */
  public static Summary run(SparkSession spark, EnhancerSettings settings, String input, String output,
      Integer partitions, long maxPixels, int jpegQuality, boolean keepExif, boolean overwrite, boolean skipExisting) {
    Dataset<Row> files = spark.read().format("binaryFile").option("recursiveFileLookup", "true")
        .load(input.contains("://") ? input : literalPath(input))
        .filter(functions.col("path").rlike(extensionPattern()));
    if (partitions != null) files = files.repartition(partitions);
    String root = input.contains("://") ? input : Path.of(input).toAbsolutePath().normalize().toString();
    EnhanceImages t = new EnhanceImages().setSettings(settings).setOutputDir(output).setInputRoot(root)
        .setMaxPixels(maxPixels).setJpegQuality(jpegQuality).setKeepExif(keepExif).setOverwrite(overwrite)
        .setSkipExisting(skipExisting);
    // Only the small columns are kept; persisted so that the counts below do not enhance twice.
    Dataset<Row> res = t.transform(files).select("path", "status", "error", "notice")
        .persist(StorageLevel.MEMORY_AND_DISK());
    try {
      long total = 0, ok = 0, failed = 0, kept = 0, noticed = 0, skipped = 0;
      for (Row r : res.groupBy(functions.col("status"), functions.col("notice").isNotNull()).count().collectAsList()) {
        long c = r.getLong(2);
        total += c;
        String status = r.getString(0);
        if (EnhanceImages.OK.equals(status)) ok += c;
        else if (EnhanceImages.SKIPPED.equals(status)) skipped += c;
        else failed += c;
        if (EnhanceImages.KEPT.equals(status)) kept += c;
        if (r.getBoolean(1)) noticed += c;
      }
      List<String> errors = failed == 0 ? List.of() : res
          .filter(functions.col("status").isin(EnhanceImages.ERROR, EnhanceImages.KEPT))
          .orderBy("path").limit(MAX_LISTED).collectAsList().stream()
          .map(r -> EnhanceImages.localPath(r.getString(0)) + ": " + r.getString(2)).toList();
      List<String> notices = noticed == 0 ? List.of() : res.filter(functions.col("notice").isNotNull())
          .orderBy("path").limit(MAX_LISTED).collectAsList().stream()
          .map(r -> EnhanceImages.localPath(r.getString(0)) + ": " + r.getString(3)).toList();
      return new Summary(total, ok, failed, errors, kept, noticed, notices, skipped);
    } finally {
      res.unpersist();
    }
  }

  /**
   * Entry point of {@code ./deepspg spark-enhance} and of {@code spark-submit --class org.deepspg.spark.SparkEnhance}.
   *
   * @param args command-line arguments
   */
  public static void main(String[] args) {
    System.exit(run(args));
  }

  /**
   * Runs the command without exiting the JVM.
   *
   * @param args command-line arguments
   * @return the exit code
   */
  public static int run(String... args) {
    if (System.getProperty("log4j2.configurationFile") == null) {
      URL quiet = SparkEnhance.class.getResource("log4j2-cli.properties");
      if (quiet != null) System.setProperty("log4j2.configurationFile", quiet.toString());
    }
    org.deepspg.ops.NativeLibrary.extractLibraries();
    CommandLine cl = new CommandLine(new SparkEnhance());
    cl.setParameterExceptionHandler(org.deepspg.cli.Main.usageErrors()); // one line, as enhance's usage errors
    java.util.concurrent.atomic.AtomicBoolean stopping = new java.util.concurrent.atomic.AtomicBoolean();
    Thread flag = new Thread(() -> stopping.set(true), "deepspg-spark-stopping");
    Runtime.getRuntime().addShutdownHook(flag);
    cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
      Throwable t = ex;
      if (t instanceof IllegalArgumentException || t instanceof java.io.UncheckedIOException) {
        cmd.getErr().println("deepspg: " + t.getMessage());
        return 2;
      }
      if (String.valueOf(t.getMessage()).startsWith("Could not parse Master URL")) { // --master bogus
        cmd.getErr().println("deepspg: --master: " + t.getMessage() + " (use local[N], local[*] or spark://host:port)");
        return 2;
      }
      if (stopping.get()) { // Ctrl-C or SIGTERM: Spark cancels the job as it shuts down; not an internal error
        cmd.getErr().println("deepspg: stopped (the outputs written so far are complete; rerun with --skip-existing to "
            + "do the rest)");
        return 130;
      }
      if (String.valueOf(t.getMessage()).contains("stopped SparkContext")) { // no master answered
        cmd.getErr().println("deepspg: the Spark session stopped before the job could run (is the --master "
            + "reachable? " + t.getMessage() + ")");
        return 2;
      }
      cmd.getErr().println("deepspg: internal error: " + ex);
      ex.printStackTrace(cmd.getErr());
      return 3;
    });
    try {
      return cl.execute(args);
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(flag);
      } catch (IllegalStateException shuttingDown) {
        // the hook runs already
      }
    }
  }
}
