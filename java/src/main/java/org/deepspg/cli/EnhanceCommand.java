/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.deepspg.data.Image;
import org.deepspg.data.ImageReadException;
import org.deepspg.data.Images;
import org.deepspg.data.OutputMark;
import org.deepspg.data.ReadOptions;
import org.deepspg.data.WriteOptions;
import org.deepspg.infer.Enhancer;
import org.deepspg.infer.SceneCuts;
import org.deepspg.io.ProgressBar;
import org.deepspg.io.RealPaths;
import org.deepspg.model.prior.MissingWeightsException;
import org.deepspg.model.prior.PriorWeights;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code deepspg enhance INPUT... -o OUTDIR}: enhances image files, folders (recursively) and globs.
 *
 * <p>Outputs keep the input's name and format (WebP, which cannot be written, becomes PNG; 16-bit PNG/TIFF stay
 * 16-bit); for a folder input the relative path under the folder is kept, for a glob the path relative to its first
 * wildcard-free folder. Every output is written atomically and carries deepspg's {@link OutputMark}. The command never
 * writes onto an input: if any planned output is an input file it refuses to start (exit 2). An existing file in
 * OUTDIR is replaced only when it bears the mark (an earlier output), holds the pixels the run writes, or with
 * {@code --overwrite}; otherwise it is kept and its image skipped with one line (exit 1). An unreadable input
 * (missing, empty, truncated, not an image, too small, more pixels than {@code --max-pixels}) gets one error line and
 * the run goes on; the exit code is then {@link Main#EXIT_SOME_FAILED}.
 */
@Command(name = "enhance", mixinStandardHelpOptions = true,
    description = "Enhance low-light images (files, folders, globs) into OUTDIR.")
public final class EnhanceCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(arity = "1..*", paramLabel = "INPUT",
      description = "Image files, folders (searched recursively) or quoted globs such as 'photos/**.jpg' (every "
          + "level; 'photos/**/*.jpg' leaves out the files directly in photos/).")
  List<String> inputs;

  @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUTDIR", description = "Output folder.")
  Path outDir;

  @Mixin EnhanceOptions options;

  @Option(names = "--max-pixels", paramLabel = "N", defaultValue = "100000000",
      description = "Refuse inputs with more pixels than this (decompression-bomb guard; checked from the header). "
          + "Default: ${DEFAULT-VALUE}.")
  long maxPixels;

  @Option(names = "--jpeg-quality", paramLabel = "Q", defaultValue = "95",
      description = "Quality of JPEG outputs (1-100, default ${DEFAULT-VALUE}).")
  int jpegQuality;

  @Option(names = "--skip-existing",
      description = "Leave out inputs whose output file exists already: resumes an interrupted run (outputs are "
          + "written whole or not at all). An output left by another model or setting is kept as it is.")
  boolean skipExisting;

  @Option(names = "--overwrite",
      description = "Replace any file in OUTDIR that has an output's name. Without it an existing file is replaced "
          + "only when deepspg wrote it (its outputs carry a mark: PNG tEXt Software, JPEG comment, TIFF Software tag) "
          + "or when it holds the very pixels this run writes; any other file is kept and its image skipped (exit 1).")
  boolean overwrite;

  @Option(names = "--strip-metadata",
      description = "Write outputs without the input's EXIF block (capture date, camera, GPS location). By default "
          + "JPEG and PNG outputs carry it, its orientation set to upright and its thumbnail removed.")
  boolean stripMetadata;

  @Option(names = "--lock-exposure",
      description = "Treat the inputs as frames of one sequence (video, a camera's stills), in the order given (a "
          + "folder's files by name): every frame is enhanced with the attention of the first that comes out, the "
          + "network's global exposure, so that a bright object entering the view no longer dims the rest of the "
          + "frame (with --skip-existing: of the first frame whose output exists). With --cut-threshold the "
          + "exposure is locked anew at each cut. Tiled frames also skip their own context pass.")
  boolean lockExposure;

  @Option(names = "--cut-threshold", paramLabel = "F|off",
      description = "Implies --lock-exposure: lock the exposure anew at each cut, a frame where at least this "
          + "fraction of the view (cells of a 16x16 grid) got 1.7 times brighter or darker than in the frame before "
          + "and whose structure is not the frame before's (try 0.35: a bright object entering or motion changes "
          + "few cells; a glow, a fade or a lamp switched on change the light, not the structure). Default: off, "
          + "one lock for the whole run.")
  String cutThreshold;

  @Option(names = "--lock-to", paramLabel = "FILE",
      description = "With --lock-exposure implied: lock the exposure to this reference frame (not written) instead of "
          + "the first input, e.g. a frame without headlights or other bright objects.")
  Path lockTo;

  /** Least time between two plain progress lines when stderr is not a terminal. */
  static final double PLAIN_PROGRESS_SECONDS = 30;

  /** One planned job: input file and output file. */
  record Job(Path input, Path output) {}

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (jpegQuality < 1 || jpegQuality > 100) {
      err.println("deepspg: --jpeg-quality must be 1..100, got " + jpegQuality);
      err.flush();
      return 2;
    }
    double cuts;
    try {
      cuts = cutThreshold == null || cutThreshold.equalsIgnoreCase("off") ? SceneCuts.OFF
          : SceneCuts.checkThreshold(Double.parseDouble(cutThreshold));
    } catch (IllegalArgumentException e) { // NumberFormatException included
      err.println("deepspg: --cut-threshold must be a fraction in (0, 1] or off, got " + cutThreshold);
      err.flush();
      return 2;
    }
    if (lockTo != null && !Files.isRegularFile(lockTo)) { // before the model loads
      err.println("deepspg: --lock-to " + lockTo + ": " + (Files.exists(lockTo) ? "not a file" : "file not found"));
      err.flush();
      return 2;
    }
    if (overwrite && skipExisting) {
      err.println("deepspg: --overwrite and --skip-existing contradict each other; give one");
      err.flush();
      return 2;
    }
    if (notUtf8(outDir.toString()) && !Files.exists(outDir)) {
      err.println("deepspg: -o " + outDir + ": " + NOT_UTF8 + "; Java cannot take such a name from the command line: "
          + "give a folder whose name is valid UTF-8");
      err.flush();
      return 2;
    }
    if (Files.exists(outDir) && !Files.isDirectory(outDir)) {
      err.println("deepspg: -o " + outDir + " is an existing file, not a folder; give an output folder");
      err.flush();
      return 2;
    }
    List<String> errors = new ArrayList<>();
    List<String> notes = new ArrayList<>();
    List<Job> jobs = plan(errors, notes);
    for (String n : notes) err.println("deepspg: " + n);
    for (String e : errors) err.println("deepspg: " + e);
    err.flush();
    // Refuse the whole run before touching anything when an output would land on an input.
    Map<Path, Path> inputFiles = new HashMap<>();
    for (Job j : jobs) inputFiles.put(RealPaths.of(j.input()), j.input());
    for (Job j : jobs) {
      Path hit = inputFiles.get(RealPaths.of(j.output()));
      if (hit != null) {
        err.println("deepspg: refusing to run: the output " + j.output() + " (for " + j.input()
            + ") would overwrite the input " + hit + "; choose an output folder outside the inputs");
        err.flush();
        return 2;
      }
    }
    if (jobs.isEmpty()) {
      err.println("deepspg: no input images found");
      err.flush();
      return errors.isEmpty() ? 2 : Main.EXIT_SOME_FAILED;
    }
    // A --lock-exposure run locks to the first frame that comes out and anew after each cut; resumed with
    // --skip-existing, the frames whose outputs exist are passed to the sequence unenhanced (Sequence.skip): they
    // count for cuts, and the next frame locks to the first of its scene that exists (the one the interrupted run
    // locked to, unless its output was written by another run).
    if (lockTo != null || cuts != SceneCuts.OFF) lockExposure = true;
    List<Job> frames = jobs; // every frame of a sequence in order, finished ones included
    Set<Job> finished = new HashSet<>();
    if (skipExisting) { // outputs are renamed into place complete, so one that exists is a finished image
      int planned = jobs.size();
      List<Job> left = new ArrayList<>();
      for (Job j : jobs) {
        if (!Files.exists(j.output(), java.nio.file.LinkOption.NOFOLLOW_LINKS)) left.add(j);
        else finished.add(j);
      }
      jobs = left;
      if (jobs.size() < planned) {
        err.println("deepspg: --skip-existing: " + (planned - jobs.size()) + " of " + planned
            + " outputs exist already; enhancing the other " + jobs.size());
        err.flush();
      }
      if (jobs.isEmpty()) {
        out.println("nothing to do: every output exists in " + outDir);
        out.flush();
        return errors.isEmpty() ? 0 : Main.EXIT_SOME_FAILED;
      }
    }
    ReadOptions ro = ReadOptions.DEFAULT.withMaxPixels(maxPixels);
    // Files in OUTDIR that deepspg did not write are kept (their images skipped) unless --overwrite: a photo of the
    // same name in the output folder (`enhance photos/2024 -o photos`) was replaced without a word. Those of the
    // input's size may be an earlier output from before outputs were marked (or a BMP, which has no place for the
    // mark): they are compared with the new output's pixels once it is made.
    Set<Job> unmarked = new HashSet<>();
    int kept = 0;
    if (!overwrite) {
      List<Job> left = new ArrayList<>();
      for (Job j : jobs) {
        switch (OutputMark.existing(j.input(), j.output(), ro)) {
          case REPLACE -> left.add(j);
          case COMPARE -> {
            left.add(j);
            unmarked.add(j);
          }
          case KEEP -> {
            kept++;
            err.println(keptMessage(j));
          }
        }
      }
      jobs = left;
      err.flush();
      if (jobs.isEmpty()) {
        out.println("nothing enhanced: every output's file exists in " + outDir + " and was not written by deepspg");
        out.flush();
        return Main.EXIT_SOME_FAILED;
      }
    }
    try { // before any work: an unwritable output folder would otherwise fail each image after enhancing it
      Files.createDirectories(outDir);
      Files.delete(Files.createTempFile(outDir, ".deepspg-write-check", ".tmp"));
    } catch (IOException e) {
      err.println("deepspg: cannot write into the output folder " + outDir + ": " + Main.describe(e));
      err.flush();
      return 2;
    }
    Enhancer enhancer;
    try {
      enhancer = options.build();
    } catch (MissingWeightsException e) {
      // One line: which file, where it comes from, how to pass it (the full guidance is in docs/priors.md).
      PriorWeights w = e.weights();
      err.println("deepspg: this model needs the " + w.title() + " prior weights (" + e.expectedFile() + ", from "
          + w.source() + "): pass --prior-weights FILE" + (e.path() == null ? "" : "; " + e.path() + " is unusable"
          + (e.problem() == null ? "" : ": " + e.problem())));
      err.flush();
      return 2;
    } catch (IOException e) {
      err.println("deepspg: " + e.getMessage());
      err.flush();
      return 2;
    }
    WriteOptions wo = WriteOptions.DEFAULT.withJpegQuality(jpegQuality).withKeepExif(!stripMetadata);
    int failed = errors.size() + kept;
    int done = 0;
    long t0 = System.nanoTime();
    try (enhancer; Enhancer.Sequence sequence = lockExposure ? enhancer.sequence(cuts) : null) {
      out.println("model: " + enhancer.modelSource() + " " + enhancer.config().describe() + " on "
          + enhancer.device() + (enhancer.ensemble() ? ", self-ensemble" : "")
          + (lockTo != null ? ", exposure locked to " + lockTo : lockExposure ? ", exposure locked to the first frame"
              : "") + (lockExposure && cuts != SceneCuts.OFF ? " (anew after each cut)" : "")
          + (enhancer.device().equals("cpu") ? ", oneDNN " + enhancer.oneDnn().describe() : ""));
      out.flush();
      if (lockTo != null) {
        try {
          sequence.lockTo(Images.read(lockTo, ro));
        } catch (ImageReadException | RuntimeException e) {
          err.println("deepspg: --lock-to " + lockTo + ": " + (e instanceof ImageReadException r ? r.reason()
              : e.getMessage()));
          err.flush();
          return 2;
        }
      }
      // The bar counts network passes: one per image that runs whole, one per tile of a tiled one (planned from the
      // header's size), so a 24-megapixel photo moves it tile by tile.
      long[] planned = new long[jobs.size()];
      long total = 0;
      for (int k = 0; k < jobs.size(); k++) {
        // in a locked sequence only the frame that locks it runs its own context and refinement passes (and a frame
        // after a cut, which the bar learns when it comes)
        boolean locked = sequence != null && (k > 0 || !finished.isEmpty() || lockTo != null);
        planned[k] = plannedPasses(locked ? sequence::passes : enhancer::passes, jobs.get(k).input(), ro);
        total += planned[k];
      }
      // Not on a terminal (a log file, cron): a plain line at most every 30 s, so a long photo or batch is not silent.
      // Its unit says what it counts: "images", or "tiles" once any image is tiled (one that runs whole counts as
      // one), so that a rate of tiles is not read as frames per second.
      ProgressBar bar = new ProgressBar(System.err, "enhance", total, 0, PLAIN_PROGRESS_SECONDS)
          .unit(total > jobs.size() ? "tiles" : "images");
      if (sequence != null && !finished.isEmpty() && (cuts != SceneCuts.OFF || lockTo == null)) {
        bar.message("deepspg: --lock-exposure: the " + finished.size() + " frames whose outputs exist are read "
            + (cuts == SceneCuts.OFF ? "until one is locked to" : "for their cuts, up to the last frame to enhance")
            + ", not enhanced, so that each frame keeps the exposure the run this one resumes gave it");
      }
      int next = 0; // the next of the frames, finished ones included, that the sequence has not seen
      boolean[] unread = {false}; // a finished frame could not be read: the resumed locks may differ
      for (int k = 0; k < jobs.size(); k++) {
        Job j = jobs.get(k);
        if (sequence != null) {
          next = skipFinished(sequence, frames, next, j, finished, ro, bar, cuts != SceneCuts.OFF, unread);
        }
        int cutsBefore = sequence == null ? 0 : sequence.cuts();
        String info = j.input().getFileName().toString()
            + (jobs.size() > 1 && total > jobs.size() ? " (image " + (k + 1) + "/" + jobs.size() + ")" : "");
        long[] stepped = {0};
        long plan = planned[k];
        String name = info;
        try {
          Image in = Images.read(j.input(), ro);
          // what reading did that the file did not ask for (an unusable ICC profile ignored, ...): said, not hidden
          if (!in.metadata().notice().isEmpty()) bar.message("deepspg: " + j.input() + ": " + in.metadata().notice());
          int passes = sequence != null && sequence.isLocked() ? sequence.passes(in.height(), in.width())
              : enhancer.passes(in.height(), in.width());
          Runnable onPass = () -> {
            if (stepped[0] < plan) {
              stepped[0]++;
              bar.step(1, name + (passes > 1 ? " tile " + stepped[0] + "/" + passes : ""));
            }
          };
          Image res;
          try {
            res = sequence != null ? sequence.enhance(in, onPass) : enhancer.enhance(in, onPass);
          } finally {
            if (sequence != null && sequence.cuts() > cutsBefore) {
              bar.message(cutMessage(sequence, j.input(), "") + "; the first frame from it that comes out locks the "
                  + "exposure anew");
            }
          }
          String format = Images.formatForPath(j.output());
          byte[] bytes = OutputMark.mark(Images.encode(res, format, wo), format);
          if (unmarked.contains(j) && !OutputMark.samePixels(j.output(), bytes, ro)) {
            kept++;
            failed++;
            bar.message(keptMessage(j));
            info += " KEPT";
          } else {
            Images.writeBytesAtomic(bytes, j.output());
            done++;
          }
        } catch (ImageReadException e) {
          failed++;
          bar.message("deepspg: " + j.input() + ": " + e.reason());
          info += " FAILED";
        } catch (IOException | RuntimeException e) {
          failed++;
          bar.message("deepspg: " + j.input() + ": " + e.getMessage());
          info += " FAILED";
        } catch (OutOfMemoryError e) {
          // One image too large for the Java heap (its float copies) fails alone, named, as libtorch's allocation
          // failures do; the next, smaller images still run.
          failed++;
          bar.message("deepspg: " + j.input() + ": not enough Java heap for this image (" + e.getMessage()
              + "; raise it with DEEPSPG_JAVA_OPTS=-Xmx..., default 8g)");
          info += " FAILED";
        }
        err.flush();
        bar.step(planned[k] - stepped[0], info); // what the image did not step (a failure, a different plan)
      }
      bar.finish();
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    out.printf(Locale.ROOT, "enhanced %d of %d images in %.1f s (%.2f images/s, %.1f s/image), %d failed%s -> %s%n",
        done, done + failed, secs, done / Math.max(secs, 1e-9), done == 0 ? 0 : secs / done, failed,
        kept == 0 ? "" : " (" + kept + " of them kept a file deepspg did not write)", outDir);
    out.flush();
    return failed > 0 ? Main.EXIT_SOME_FAILED : 0;
  }

  /**
   * Passes the finished frames before {@code job} in {@code frames} to the sequence, from index {@code from} on (each
   * read only while it matters: always when cuts are detected, else until the sequence is locked).
   *
   * @return the index after {@code job}
   */
  private static int skipFinished(Enhancer.Sequence sequence, List<Job> frames, int from, Job job, Set<Job> finished,
      ReadOptions ro, ProgressBar bar, boolean detectCuts, boolean[] unread) {
    int i = from;
    for (; i < frames.size() && frames.get(i) != job; i++) {
      Job f = frames.get(i);
      if (!finished.contains(f) || (!detectCuts && sequence.isLocked())) continue;
      int before = sequence.cuts();
      try {
        Image img = Images.read(f.input(), ro);
        boolean wasLocked = sequence.isLocked();
        sequence.skip(img);
        if (sequence.cuts() > before) bar.message(cutMessage(sequence, f.input(), "; its output exists"));
        if (sequence.isLocked() && (!wasLocked || sequence.cuts() > before)) {
          bar.message("deepspg: --lock-exposure: the exposure is locked to " + f.input() + " (the first frame of "
              + "its scene whose output exists), " + (unread[0] ? "which may not be the frame the run this one "
              + "resumes locked to: an earlier finished frame could not be read" : "as in the run this one resumes"));
        }
      } catch (ImageReadException | RuntimeException e) {
        unread[0] = true;
        bar.message("deepspg: --lock-exposure: cannot read " + f.input() + " (its output exists) to follow the "
            + "exposure of the run this one resumes: " + (e instanceof ImageReadException r ? r.reason()
            : e.getMessage()));
      }
    }
    return i + 1;
  }

  private static String cutMessage(Enhancer.Sequence sequence, Path frame, String note) {
    return String.format(Locale.ROOT, "deepspg: --lock-exposure: a cut at %s (%.0f %% of the view changed%s)", frame,
        100 * sequence.lastScore(), note);
  }

  /** The line for an image skipped because a file that deepspg did not write has its output's name. */
  private static String keptMessage(Job j) {
    return "deepspg: " + OutputMark.keptReason(j.output()) + ", " + j.input()
        + " not enhanced: pass --overwrite to replace it, or choose another -o";
  }

  /** Passes planned for a file from its header size (1 when it cannot be read: the error comes later). */
  private static long plannedPasses(java.util.function.IntBinaryOperator passes, Path file, ReadOptions ro) {
    try {
      int[] size = Images.probe(file, ro);
      return Math.max(1, Math.max(passes.applyAsInt(size[1], size[0]), passes.applyAsInt(size[0], size[1])));
    } catch (ImageReadException | RuntimeException ex) {
      return 1;
    }
  }

  /**
   * Expands the inputs into jobs; problems with an input (not found, no match, output collision) go to errors, what a
   * folder held that is not taken (hidden files, other file types, linked folders) to notes.
   */
  List<Job> plan(List<String> errors, List<String> notes) {
    Map<Path, Path> outputs = new LinkedHashMap<>();
    Map<Path, Path> claimedBy = new HashMap<>();
    Path outAbs = outDir.toAbsolutePath().normalize();
    for (String arg : inputs) {
      Path p;
      try {
        p = Path.of(arg);
      } catch (InvalidPathException e) {
        errors.add(arg + ": " + unencodable());
        continue;
      }
      List<Path[]> found = new ArrayList<>(); // {file, relative output path}
      if (Files.isDirectory(p)) {
        // An output folder strictly inside the input folder is skipped (earlier outputs are not inputs); an output
        // folder equal to or above it is not, so the overwrite check below sees the collision.
        // Compared through symbolic links (an input folder or OUTDIR that is a link: a nightly rerun must not read
        // the last run's outputs back), then expressed under the input's own path, which the walk's files carry.
        Path pAbs = p.toAbsolutePath().normalize();
        Path pReal = RealPaths.of(p);
        Path outReal = RealPaths.of(outDir);
        Path outInP = outReal.startsWith(pReal) && !outReal.equals(pReal) ? pAbs.resolve(pReal.relativize(outReal))
            : outAbs.startsWith(pAbs) && !outAbs.equals(pAbs) ? outAbs : null;
        Skipped skipped = new Skipped();
        try (Stream<Path> s = walk(p, Integer.MAX_VALUE)) {
          s.filter(f -> outInP == null || !f.toAbsolutePath().normalize().startsWith(outInP))
              .filter(f -> skipped.takes(p.relativize(f), f))
              .sorted()
              .forEach(f -> found.add(new Path[] {f, p.relativize(f)}));
        } catch (IOException | java.io.UncheckedIOException e) {
          errors.add(arg + ": cannot list folder: " + e.getMessage());
          continue;
        }
        String why = skipped.describe();
        if (found.isEmpty()) {
          errors.add(arg + ": folder contains no images (" + String.join(", ",
              Images.READ_EXTENSIONS.stream().sorted().toList()) + ")" + (why.isEmpty() ? "" : "; " + why));
        } else if (!why.isEmpty()) {
          notes.add(arg + ": " + why);
        }
      } else if (Files.exists(p)) {
        found.add(new Path[] {p, p.getFileName()});
      } else if (isGlob(arg)) {
        Path base = globBase(arg);
        PathMatcher m = FileSystems.getDefault().getPathMatcher("glob:" + arg);
        // Without "**" a glob cannot match deeper than its own number of path components.
        int depth = arg.contains("**") ? Integer.MAX_VALUE : Path.of(arg).getNameCount() - Math.max(0,
            base.normalize().toString().isEmpty() ? 0 : base.normalize().getNameCount());
        // Hidden files and NAS thumbnail folders are left out as in a folder input, unless the pattern names one.
        boolean takeHidden = java.util.Arrays.stream(arg.split("/"))
            .anyMatch(part -> Skipped.hidden(part) && !part.equals(".") && !part.equals(".."));
        Skipped skippedGlob = new Skipped();
        if (Files.isDirectory(base)) {
          try (Stream<Path> s = walk(base, Math.max(1, depth))) {
            s.filter(f -> !Files.isDirectory(f) && (m.matches(f) || m.matches(f.normalize())))
                .filter(f -> takeHidden || !skippedGlob.hiddenCounted(base.relativize(f)))
                .filter(f -> !f.toAbsolutePath().normalize().startsWith(outAbs))
                .sorted()
                .forEach(f -> found.add(new Path[] {f, base.relativize(f)}));
          } catch (IOException e) {
            errors.add(arg + ": cannot list folder: " + e.getMessage());
            continue;
          }
        }
        String why = skippedGlob.describe();
        if (found.isEmpty()) errors.add(arg + ": no file matches this pattern" + (why.isEmpty() ? "" : "; " + why));
        else if (!why.isEmpty()) notes.add(arg + ": " + why);
      } else {
        errors.add(arg + ": no such file or folder" + (notUtf8(arg) ? " under this name: " + NOT_UTF8
            + "; Java cannot take such a name from the command line: give its folder as the input, or rename it"
            + RENAME : ""));
      }
      for (Path[] f : found) {
        Path target;
        try {
          // The relative path as listed, not its string: a name that is not valid UTF-8 keeps its bytes (its string
          // has U+FFFD in their place, which named the output otherwise and made two such inputs collide).
          Path name = outputName(f[1]);
          if (name != f[1] && notUtf8(f[0])) {
            errors.add(f[0] + ": " + NOT_UTF8 + "; its output, of another type, cannot be named after it: rename it"
                + RENAME);
            continue;
          }
          Path.of(name.toString()); // a charset that cannot convert it back (ASCII) fails the temporary file's name
          target = outDir.resolve(name);
        } catch (InvalidPathException e) {
          errors.add(f[0] + ": " + unencodable());
          continue;
        }
        Path key = target.toAbsolutePath().normalize();
        Path prev = claimedBy.putIfAbsent(key, f[0]);
        if (prev != null) {
          if (!RealPaths.same(prev, f[0])) {
            errors.add(f[0] + ": its output " + target + " is already the output of " + prev + "; skipped");
          }
          continue;
        }
        outputs.put(f[0], target);
      }
    }
    List<Job> jobs = new ArrayList<>();
    outputs.forEach((in, o) -> jobs.add(new Job(in, o)));
    return jobs;
  }

  /**
   * What a folder walk leaves out, counted for one note: hidden files and folders (a name starting with '.': macOS
   * writes a {@code ._NAME} companion of every file on a non-Mac disk, which used to fail one by one and make every
   * run on a copied card exit 1; {@code .thumbnails}) and NAS thumbnail folders ({@code @eaDir}, Synology), whose
   * small copies would be enhanced into the output; images of formats it does not read (HEIC, GIF, camera raw);
   * folder links,
   * which the walk does not follow.
   */
  static final class Skipped {
    /** Image formats this tool does not read, counted when a folder holds them (other files pass unmentioned). */
    static final java.util.Set<String> OTHER_IMAGES = java.util.Set.of("heic", "heif", "avif", "jxl", "gif", "jp2",
        "psd", "xcf", "exr", "hdr", "tga", "ico", "svg", "ppm", "pgm", "pnm", "dng", "nef", "nrw", "cr2", "cr3", "crw",
        "arw", "srf", "sr2", "orf", "rw2", "raf", "pef", "srw", "x3f", "3fr", "iiq", "erf", "mrw", "kdc", "rwl");

    int hidden;
    int links;
    final Map<String, Integer> types = new java.util.TreeMap<>();

    /** Whether a file or folder name is hidden: starts with '.', or is a Synology thumbnail folder. */
    static boolean hidden(String name) {
      return name.startsWith(".") || name.equals("@eaDir");
    }

    /** Whether {@code rel} (a path under the walked folder) has a hidden part. */
    static boolean hasHiddenPart(Path rel) {
      for (Path part : rel) {
        if (hidden(part.toString())) return true;
      }
      return false;
    }

    /** Whether {@code rel} (a file's path under the walked folder) has a hidden part; counts it when so. */
    boolean hiddenCounted(Path rel) {
      if (!hasHiddenPart(rel)) return false;
      hidden++;
      return true;
    }

    /** Whether the walk takes {@code f} ({@code rel}: its path under the input folder); counts it when not. */
    boolean takes(Path rel, Path f) {
      if (rel.toString().isEmpty()) return false; // the input folder itself (a link when it is one: walked through)
      if (Files.isDirectory(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return false;
      if (hasHiddenPart(rel)) {
        if (!Files.isDirectory(f)) hidden++;
        return false;
      }
      if (Files.isDirectory(f)) { // a link to a folder
        links++;
        return false;
      }
      if (Images.hasImageExtension(f)) return true;
      String ext = Images.extension(f);
      if (OTHER_IMAGES.contains(ext)) types.merge("." + ext, 1, Integer::sum);
      return false;
    }

    /** The note, or "" when nothing was left out. */
    String describe() {
      List<String> parts = new ArrayList<>();
      if (hidden > 0) parts.add(hidden + " hidden file" + (hidden == 1 ? "" : "s") + " (names starting with '.', "
          + "@eaDir folders)");
      if (!types.isEmpty()) {
        int n = types.values().stream().mapToInt(Integer::intValue).sum();
        List<String> each = new ArrayList<>();
        types.forEach((k, v) -> each.add(k + " " + v));
        parts.add(n + " image" + (n == 1 ? "" : "s") + " of formats not read (" + String.join(", ", each.subList(0,
            Math.min(6, each.size()))) + (each.size() > 6 ? ", ..." : "") + ")");
      }
      if (links > 0) parts.add(links + " linked folder" + (links == 1 ? " (not followed; give it" : "s (not followed; "
          + "give them") + " as an input)");
      return parts.isEmpty() ? "" : "skipped " + String.join(", ", parts);
    }
  }

  /**
   * Why a file name cannot be used: the JVM converts file names with the locale's charset, which under a C or POSIX
   * locale (cron, minimal containers) is ASCII, so a name such as café.jpg has no string form to write an output
   * under. The launcher switches such a locale to C.UTF-8; this is for a JVM started otherwise.
   */
  private static String unencodable() {
    return "the file name cannot be converted in this JVM's file-name charset (" + System.getProperty("sun.jnu.encoding")
        + "); run with a UTF-8 locale, e.g. LC_ALL=C.UTF-8";
  }

  /** What a name that Java lists with U+FFFD in it is (also said by {@code spark-enhance}). */
  public static final String NOT_UTF8 = "its name is not valid UTF-8 (e.g. Latin-1, from an old archive)";

  /** How to rename such files. */
  public static final String RENAME = ", e.g. with convmv -f latin1 -t utf-8 --notest";

  /**
   * Whether a file name, as Java decoded it, had bytes that are not valid UTF-8 (each decoded as U+FFFD): the string
   * no longer names the file, only a path listed from its folder does.
   */
  static boolean notUtf8(String name) {
    return name.indexOf('\uFFFD') >= 0;
  }

  /**
   * Whether a listed file's name is not valid UTF-8: its string has U+FFFD and names no file (a real U+FFFD does).
   *
   * @param listed a path as a folder listing gave it
   * @return whether its string form names another file than it
   */
  public static boolean notUtf8(Path listed) {
    return notUtf8(listed.toString())
        && !Files.exists(Path.of(listed.toString()), java.nio.file.LinkOption.NOFOLLOW_LINKS);
  }

  /**
   * The output path of an input: keeps the name (the same path object, so that a name that is not valid UTF-8 keeps
   * its bytes); formats that cannot be written (WebP) become PNG. Also used by
   * {@code spark-enhance} (spark module), so that both commands name outputs alike.
   *
   * @param rel the input's path relative to its folder (or its file name)
   * @return the relative output path
   */
  public static Path outputName(Path rel) {
    if (Images.WRITE_EXTENSIONS.contains(Images.extension(rel))) return rel;
    String name = rel.getFileName().toString();
    int dot = name.lastIndexOf('.');
    name = (dot < 0 ? name : name.substring(0, dot)) + ".png";
    Path parent = rel.getParent();
    return parent == null ? Path.of(name) : parent.resolve(name);
  }

  static boolean isGlob(String s) {
    return s.indexOf('*') >= 0 || s.indexOf('?') >= 0 || s.indexOf('[') >= 0 || s.indexOf('{') >= 0;
  }

  /** The folder part of a glob before its first wildcard component ("." when the glob starts with one). */
  static Path globBase(String glob) {
    Path p = Path.of(glob.replaceAll("[*?\\[{].*$", "x"));
    Path parent = p.getParent();
    return parent == null ? Path.of(".") : parent;
  }

  /**
   * The files under a folder; a folder that is itself a symbolic link is walked through its target (Files.walk
   * returns the link alone) with the paths still named under the link. Links further down are not followed.
   *
   * @param dir the folder
   * @param depth as {@link Files#walk(Path, int, java.nio.file.FileVisitOption...)}
   * @return the paths, to be closed
   * @throws IOException when the folder cannot be listed
   */
  static Stream<Path> walk(Path dir, int depth) throws IOException {
    if (!Files.isSymbolicLink(dir)) return Files.walk(dir, depth);
    Path target = dir.toRealPath();
    return Files.walk(target, depth).map(f -> dir.resolve(target.relativize(f).toString()));
  }
}
