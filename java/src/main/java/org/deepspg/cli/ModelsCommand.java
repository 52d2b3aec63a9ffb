/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.deepspg.model.ModelFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code deepspg models}: the bundled models, what each is and what it needs. */
@Command(name = "models", mixinStandardHelpOptions = true,
    description = "List the bundled models (the names --model takes) and the external weights each needs.")
public final class ModelsCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    for (ModelFiles.Bundled b : ModelFiles.BUNDLED) {
      out.println(b.name() + (b.name().equals(ModelFiles.DEFAULT_NAME) ? " (default)" : "")
          + (ModelFiles.available(b) ? "" : " [missing from this build]"));
      out.println("  " + b.description());
      out.println("  needs: " + b.needs());
      out.println("  resource: " + b.resource());
    }
    out.println("Any weights file written by `deepspg train` (model_final.pth, model_best.pth, last.pth) works as "
        + "--model PATH too.");
    out.flush();
    return 0;
  }
}
