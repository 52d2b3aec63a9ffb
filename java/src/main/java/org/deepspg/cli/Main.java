/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code deepspg} command line. Run through the {@code ./deepspg} launcher at the repository root, which builds
 * the project on first use. Exit codes: 0 success, 1 some inputs failed, 2 usage error, 3 internal error.
 */
@Command(
    name = "deepspg",
    mixinStandardHelpOptions = true,
    versionProvider = Versions.class,
    description = "Low-light image enhancement with deep semantic priors (DeepSPG) on libtorch and fused kernels.",
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
    cl.setExecutionExceptionHandler(
        (ex, cmd, parsed) -> {
          if (ex instanceof IllegalArgumentException || ex instanceof java.io.FileNotFoundException
              || ex instanceof java.nio.file.NoSuchFileException) {
            cmd.getErr().println("deepspg: " + ex.getMessage());
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
    try {
      return cl.execute(args);
    } catch (OutOfMemoryError e) {
      System.err.println("deepspg: not enough Java heap: " + e.getMessage() + " (raise it with DEEPSPG_JAVA_OPTS=-Xmx..."
          + " or use smaller inputs)");
      return 2;
    }
  }
}
