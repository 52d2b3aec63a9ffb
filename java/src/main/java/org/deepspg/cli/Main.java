/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code deepspg} command line. Run through the {@code ./deepspg} launcher at the repository root, which builds
 * the project on first use. Exit codes: 0 success, 1 some inputs failed, 2 usage error or unusable input (bad
 * arguments; a missing, unreadable or damaged file; an unwritable output: one line, no stack trace unless the
 * environment variable {@code DEEPSPG_TRACE} is set), 3 internal error (with its stack trace).
 */
@Command(
    name = "deepspg",
    mixinStandardHelpOptions = true,
    versionProvider = Versions.class,
    description = "Low-light image enhancement with deep semantic priors (DeepSPG) on libtorch and fused kernels.",
    footer = {"", "Also: ./deepspg spark-enhance INPUT_DIR -o OUTDIR (Apache Spark; see docs/scaling.md)"},
    subcommands = {InfoCommand.class, EnhanceCommand.class, DemoCommand.class, TrainCommand.class, EvalCommand.class,
        DataCommand.class, BenchCommand.class, ModelsCommand.class,
        CommandLine.HelpCommand.class})
public final class Main {
  /** Exit code when some of the inputs of a batch command failed (the others were processed). */
  public static final int EXIT_SOME_FAILED = 1;

  /**
   * Entry point.
   *
   * @param args command-line arguments
   */
  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** The exception a wrapper (an I/O failure on another thread, a future) stands for. */
  static Throwable unwrap(Throwable ex) {
    Throwable t = ex;
    while ((t instanceof java.io.UncheckedIOException || t instanceof java.util.concurrent.ExecutionException
            || t instanceof java.util.concurrent.CompletionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /**
   * A user-facing one-line description: the message, with the reason a file-system exception leaves implicit (also
   * used by {@code spark-enhance}).
   *
   * @param ex the failure
   * @return one line
   */
  public static String describe(Throwable ex) {
    if (ex instanceof java.nio.file.FileSystemException fs && fs.getReason() == null) {
      String why = ex instanceof java.nio.file.NoSuchFileException ? "no such file or folder"
          : ex instanceof java.nio.file.AccessDeniedException ? "permission denied"
          : ex instanceof java.nio.file.NotDirectoryException ? "not a folder"
          : ex instanceof java.nio.file.FileAlreadyExistsException ? "already exists"
          : ex instanceof java.nio.file.DirectoryNotEmptyException ? "folder not empty"
          : ex.getClass().getSimpleName();
      return fs.getFile() + (fs.getOtherFile() == null ? "" : " -> " + fs.getOtherFile()) + ": " + why;
    }
    String msg = org.deepspg.ops.NativeLibrary.withoutCppTrace(ex.getMessage()); // DEEPSPG_TRACE shows the rest
    return msg == null || msg.isBlank() ? ex.getClass().getSimpleName() : msg;
  }

  /**
   * A bad flag or value (--tile NaN, --onednn maybe, an unknown option): one line and where the options are, as the
   * other usage errors, instead of picocli's default of the message followed by the command's whole help. Also
   * {@code spark-enhance}'s (spark module).
   *
   * @return the handler
   */
  public static CommandLine.IParameterExceptionHandler usageErrors() {
    return (ex, argv) -> {
      CommandLine cmd = ex.getCommandLine();
      PrintWriter err = cmd.getErr();
      err.println("deepspg: " + ex.getMessage().lines().findFirst().orElse("").strip());
      CommandLine.UnmatchedArgumentException.printSuggestions(ex, err);
      err.println("Run '" + cmd.getCommandSpec().qualifiedName() + " --help' for the options.");
      err.flush();
      return cmd.getCommandSpec().exitCodeOnInvalidInput();
    };
  }

  /**
   * Runs the command line without exiting the JVM (used by tests).
   *
   * @param args command-line arguments
   * @return the exit code
   */
  public static int run(String... args) {
    // Before any org.bytedeco class can load libtorch by itself (see NativeLibrary.extractLibraries).
    org.deepspg.ops.NativeLibrary.extractLibraries();
    CommandLine cl = new CommandLine(new Main());
    // every subcommand's --version prints the project's versions (mixinStandardHelpOptions alone prints nothing)
    for (CommandLine sub : cl.getSubcommands().values()) sub.getCommandSpec().versionProvider(new Versions());
    cl.setParameterExceptionHandler(usageErrors());
    cl.setExecutionExceptionHandler(
        (thrown, cmd, parsed) -> {
          Throwable ex = unwrap(thrown);
          if (ex instanceof IllegalArgumentException || ex instanceof java.io.IOException
              || ex instanceof org.deepspg.train.TrainingDivergedException
              || ex instanceof org.deepspg.ops.NativeLibrary.CacheException) {
            // The user's input or environment (bad arguments, unreadable or damaged files, unwritable outputs, a
            // learning rate that makes training diverge): one line naming the cause, no stack trace.
            cmd.getErr().println("deepspg: " + describe(ex));
            if (System.getenv("DEEPSPG_TRACE") != null) thrown.printStackTrace(cmd.getErr());
            return 2;
          }
          String msg = String.valueOf(ex.getMessage());
          if (msg.contains("can't allocate memory")
              || msg.contains("DefaultCPUAllocator")) {
            // libtorch's allocation failures carry a C++ frame dump after the first line: keep the first line.
            cmd.getErr().println("deepspg: not enough memory: " + msg.lines().findFirst().orElse(msg)
                + " (try smaller tiles, e.g. --tile 384, or a smaller image)");
            return 2;
          }
          cmd.getErr().println("deepspg: internal error: " + ex);
          ex.printStackTrace(cmd.getErr());
          return 3;
        });
    for (String a : args) {
      if (a.isEmpty()) { // an unset shell variable ("-o $OUT"): Path.of("") is the current folder, never meant
        System.err.println("deepspg: an argument is an empty string (an unset variable?); give a path or value");
        return 2;
      }
    }
    try {
      return cl.execute(args);
    } catch (OutOfMemoryError e) {
      System.err.println("deepspg: not enough Java heap: " + e.getMessage() + " (raise it with DEEPSPG_JAVA_OPTS=-Xmx..."
          + " or use smaller inputs)");
      return 2;
    }
  }
}
