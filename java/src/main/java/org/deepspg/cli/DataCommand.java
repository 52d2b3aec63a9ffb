/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.deepspg.data.DataTool;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Unmatched;

/**
 * {@code deepspg data synth|check ...}: dataset tools, delegated to {@link DataTool} (which owns the option parsing and
 * the usage text, {@code deepspg data --help}).
 */
@Command(
    name = "data",
    description = {"Dataset tools: synth (make low/normal-light pairs from photos), check (validate a dataset).",
        "Run 'deepspg data --help' for the options."})
public final class DataCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Unmatched List<String> args = new ArrayList<>();

  @Override
  public Integer call() {
    try (PrintStream out = forward(spec.commandLine().getOut()); PrintStream err = forward(spec.commandLine().getErr())) {
      return DataTool.run(args.toArray(new String[0]), out, err);
    }
  }

  /** A PrintStream that passes text straight on to picocli's writer (so progress shows while it runs). */
  private static PrintStream forward(PrintWriter w) {
    OutputStream os = new OutputStream() {
      @Override
      public void write(int b) {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) {
        w.write(new String(b, off, len, StandardCharsets.UTF_8));
        w.flush();
      }
    };
    return new PrintStream(os, true, StandardCharsets.UTF_8);
  }
}
