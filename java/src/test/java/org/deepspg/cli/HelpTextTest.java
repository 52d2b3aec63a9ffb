/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Every command's {@code --help} renders cleanly: a bare {@code %} in an option description once made
 * {@code deepspg enhance --help} print three "[picocli WARN] Could not format" lines around the text.
 */
class HelpTextTest {
  private static void collect(CommandLine cl, List<CommandLine> into) {
    into.add(cl);
    for (CommandLine sub : cl.getSubcommands().values()) {
      if (!into.contains(sub)) collect(sub, into);
    }
  }

  @Test
  void everyUsageMessageFormatsWithoutWarnings() {
    List<CommandLine> all = new ArrayList<>();
    collect(new CommandLine(new Main()), all);
    assertTrue(all.size() >= 9, "main and its commands: " + all.size());
    PrintStream err = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    try {
      System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
      for (CommandLine cl : all) {
        String usage = cl.getUsageMessage(CommandLine.Help.Ansi.OFF);
        String name = cl.getCommandSpec().qualifiedName();
        assertTrue(usage.contains("Usage: " + name), name + ": " + usage.lines().findFirst().orElse(""));
        assertFalse(usage.contains("%n"), name + " shows an unformatted %n");
      }
    } finally {
      System.setErr(err);
    }
    assertEquals("", captured.toString(StandardCharsets.UTF_8), "warnings while rendering the help");
  }

  /** Found by the CLI audit of session 32: "deepspg enhance --version" printed nothing; spark-enhance was unlisted. */
  @Test
  void everyCommandPrintsTheVersionAndTheMainHelpNamesSparkEnhance() {
    for (String cmd : new String[] {"enhance", "train", "eval", "info"}) {
      CliTestSupport.Result r = CliTestSupport.run(cmd, "--version");
      assertEquals(0, r.code(), r.all());
      assertTrue(r.out().contains("deepspg " + Versions.DEEPSPG), cmd + ": " + r.out());
    }
    assertTrue(CliTestSupport.run("--help").out().contains("spark-enhance"));
  }

  /**
   * {@code ./deepspg spark-enhance --help} before the spark module is built says what building it takes instead of
   * downloading Spark (~320 MB, minutes) to print a help text (session 35's list of open items). Runs the launcher from
   * a copy beside empty build folders, so that nothing can be built.
   */
  @Test
  void sparkEnhanceHelpDoesNotBuildSpark(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
    java.nio.file.Path repo = java.nio.file.Path.of("").toAbsolutePath().getParent(); // surefire runs in java/
    java.nio.file.Files.copy(repo.resolve("deepspg"), tmp.resolve("deepspg"));
    java.nio.file.Files.createDirectories(tmp.resolve("java/target/classes/org/deepspg/cli"));
    java.nio.file.Files.createDirectories(tmp.resolve("java/target/lib"));
    for (List<String> args : List.of(List.of("spark-enhance", "--help"), List.of("help", "spark-enhance"))) {
      List<String> cmd = new ArrayList<>(List.of("bash", tmp.resolve("deepspg").toString()));
      cmd.addAll(args);
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertEquals(0, p.waitFor(), out);
      assertTrue(out.contains("docs/scaling.md") && out.contains("mvn -B install -DskipTests -pl spark -am"), out);
      assertFalse(out.contains("building"), out);
    }
  }
}
