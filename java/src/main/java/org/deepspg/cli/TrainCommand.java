/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Callable;
import org.deepspg.data.PairedDataset;
import org.deepspg.model.prior.MissingWeightsException;
import org.deepspg.ops.OneDnn;
import org.deepspg.train.Priors;
import org.deepspg.train.TrainConfig;
import org.deepspg.train.TrainPresets;
import org.deepspg.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code deepspg train --config FILE [key=value ...] [--resume [PATH]]}: trains DeepSPG ({@link Trainer}) with a
 * {@link TrainConfig}; {@code --help} lists every configuration key.
 */
@Command(
    name = "train",
    mixinStandardHelpOptions = true,
    usageHelpWidth = 120,
    description = {
      "Train DeepSPG. Settings come from a properties file and key=value overrides (later wins); presets:",
      "variant=baseline|v1|v2|v3 (Table 2) and losses=pix|pix+edge|pix+edge+sem|all (Table 3).",
      "Examples:",
      "  ./deepspg train --config configs/lol_v1_v3.properties hrnet.weights=W.pth clip.weights=ViT-B-16.pt",
      "  ./deepspg train --config configs/baseline_cpu.properties max_steps=200",
      "  ./deepspg train --config configs/baseline_cpu.properties --resume"
    },
    footerHeading = "%nPresets (TrainPresets; explicit keys win over them):%n",
    footer = "${sys:deepspg.train.keys}")
public final class TrainCommand implements Callable<Integer> {
  static {
    System.setProperty("deepspg.train.keys", (TrainPresets.describe()
        + "\nConfiguration keys (key = default: meaning; booleans true/false, on/off, yes/no, 1/0):\n"
        + TrainConfig.describeKeys()).replace("%", "%%"));
  }

  @Spec CommandSpec spec;

  @Option(names = "--config", paramLabel = "FILE", description = "properties file with the run's settings")
  Path config;

  @Option(names = "--resume", arity = "0..1", paramLabel = "PATH", fallbackValue = "",
      description = "continue a run exactly from a training checkpoint (default: <run.dir>/last.pth); the stored "
          + "configuration is used, key=value overrides (e.g. max_steps, epochs) apply on top")
  String resume;

  @Option(names = "--print-config", description = "print the resolved configuration and exit")
  boolean printConfig;

  @Option(names = "--overwrite", description = "start a new run even if run.dir already holds last.pth")
  boolean overwrite;

  @Mixin OneDnnOption oneDnn;

  @Parameters(paramLabel = "key=value", arity = "0..*", description = "configuration overrides")
  List<String> overrides = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (resume != null && resume.contains("=") && !Files.exists(Path.of(resume))) {
      // "--resume key=value": picocli gave the optional value to --resume; it is an override
      overrides.add(0, resume);
      resume = "";
    }
    Properties explicit = new Properties();
    if (config != null) explicit.putAll(TrainConfig.readProperties(config));
    explicit.putAll(TrainConfig.parseOverrides(overrides));
    TrainConfig cfg = TrainConfig.fromProperties(explicit);
    try {
      Trainer trainer;
      if (resume != null) {
        Path ck = resume.isEmpty() ? cfg.runDir().resolve("last.pth") : Path.of(resume);
        if (!Files.isRegularFile(ck)) {
          throw new IllegalArgumentException("--resume: no checkpoint at " + ck);
        }
        trainer = Trainer.resume(ck, explicit, null);
        if (printConfig) {
          out.print(trainer.config().toText());
          out.flush();
          return 0;
        }
      } else {
        if (printConfig) {
          out.print(cfg.toText());
          out.flush();
          return 0;
        }
        Path last = cfg.runDir().resolve("last.pth");
        if (Files.exists(last) && !overwrite) {
          throw new IllegalArgumentException(cfg.runDir() + " already holds a run (" + last + "): continue it with"
              + " --resume, pick another run.dir, or pass --overwrite to start over");
        }
        // Every path problem before any model work: the datasets must open (Trainer.run opens them again).
        if (Trainer.openDataset(cfg.data().train(), PairedDataset.Options.DEFAULT) == null) {
          throw new IllegalArgumentException("config key 'data.train' (the training dataset root) is not set");
        }
        trainer = new Trainer(cfg, Priors.load(cfg));
      }
      // auto: convolutions of every shape class, forward and input/weight gradients, must agree with oneDNN off.
      out.println("oneDNN: " + OneDnn.apply(oneDnn.mode(), OneDnn.convProbes(true)).describe());
      out.flush();
      Trainer.Result r = trainer.run();
      out.printf("steps %d, best val PSNR %.3f dB (step %d), weights %s%n", r.steps(), r.bestPsnr(), r.bestStep(),
          r.finalWeights());
      out.flush();
      return 0;
    } catch (MissingWeightsException e) {
      err.println("deepspg train: " + e.getMessage());
      err.flush();
      return 2;
    }
  }
}
