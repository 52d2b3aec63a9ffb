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
import java.time.Duration;
import java.util.concurrent.Callable;
import org.deepspg.data.PairedDataset;
import org.deepspg.model.prior.MissingWeightsException;
import org.deepspg.ops.OneDnn;
import org.deepspg.train.DataParallel;
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
 * {@code deepspg train --config FILE [key=value ...] [--resume [PATH]] [--nproc N | --rank R --world-size W --master
 * HOST:PORT]}: trains DeepSPG ({@link Trainer}) with a {@link TrainConfig}, in one process or data-parallel over c10d
 * ({@link DataParallel}, {@link TrainWorkers}); {@code --help} lists every configuration key.
 */
@Command(
    name = "train",
    mixinStandardHelpOptions = true,
    usageHelpWidth = 120,
    description = {
      "Train DeepSPG from a properties file and key=value overrides (later wins).",
      "Presets: variant=baseline|v1|v2|v3 (Table 2) and losses=pix|pix+edge|pix+edge+sem|all (Table 3).",
      "Examples:",
      "  ./deepspg train --config configs/lol_v1_v3.properties hrnet.weights=W.pth clip.weights=ViT-B-16.pt",
      "  ./deepspg train --config configs/baseline_cpu.properties max_steps=200",
      "  ./deepspg train --config configs/baseline_cpu.properties --resume",
      "  ./deepspg train --config configs/baseline_cpu.properties --nproc 2 threads=0  (data-parallel, docs/scaling.md)"
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
      description = "continue a run exactly from a training checkpoint (default: <run.dir>/last.pth), in the "
          + "checkpoint's folder; the stored configuration is used (--config only names run.dir), key=value overrides "
          + "(e.g. max_steps, epochs) apply on top; run.dir=DIR forks the run into DIR (refused when DIR holds "
          + "another run, unless --overwrite)")
  String resume;

  @Option(names = "--print-config", description = "print the resolved configuration and exit")
  boolean printConfig;

  @Option(names = "--overwrite", description = "start a new run (or fork one with --resume and run.dir=DIR) even if "
      + "run.dir already holds one (its checkpoints, exported weights, metrics logs, plots and sample grids are "
      + "removed first; other files stay)")
  boolean overwrite;

  @Mixin OneDnnOption oneDnn;

  @Option(names = "--nproc", paramLabel = "N", description = "data-parallel training with N worker processes on this "
      + "host (c10d, Gloo over loopback; batch sizes are global and must divide by N; default 1)")
  Integer nproc;

  @Option(names = "--rank", paramLabel = "R", description = "this worker's rank, for one worker per host on several "
      + "machines (with --world-size and --master)")
  Integer rank;

  @Option(names = "--world-size", paramLabel = "W", description = "number of workers in all (with --rank)")
  Integer worldSize;

  @Option(names = "--master", paramLabel = "HOST:PORT", description = "where rank 0 listens for the rendezvous "
      + "(TCPStore; with --rank)")
  String master;

  @Option(names = "--dist-timeout", paramLabel = "SECONDS", defaultValue = "1800", description = "how long a worker "
      + "waits for the others (rendezvous, each collective; a worker that dies is noticed at once; default: "
      + "${DEFAULT-VALUE})")
  int distTimeout;

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
    if (resume != null && rank == null && !explicit.stringPropertyNames().stream().allMatch("run.dir"::equals)) {
      err.println("note: the keys of --config " + config + " are ignored on resume (the checkpoint's stored "
          + "configuration is used; the file only says where run.dir is): change settings with key=value overrides");
      err.flush();
    }
    explicit.putAll(TrainConfig.parseOverrides(overrides));
    TrainConfig cfg = TrainConfig.fromProperties(explicit);
    if (distTimeout < 1) throw new IllegalArgumentException("--dist-timeout must be >= 1 second, got " + distTimeout);
    if (nproc != null && nproc < 1) throw new IllegalArgumentException("--nproc must be >= 1, got " + nproc);
    if (nproc != null && rank != null) {
      throw new IllegalArgumentException("--nproc starts its own workers; --rank/--world-size/--master are for one "
          + "worker per host");
    }
    if ((rank == null) != (worldSize == null) || (rank != null && master == null)) {
      throw new IllegalArgumentException("--rank, --world-size and --master go together");
    }
    if (nproc != null && nproc > 1 && !printConfig) { // checked once here, before any worker starts
      checkAlone(cfg, nproc); // each worker failed on its own before, so a wrong resume printed its error N times
      return TrainWorkers.launch(nproc, childArgs(), overrides, cfg, err);
    }
    DataParallel.Endpoint endpoint = null;
    if (rank != null) {
      TrainWorkers.exitWithLauncher(); // a worker of --nproc ends with its launcher
      if (worldSize < 1) throw new IllegalArgumentException("--world-size must be >= 1, got " + worldSize);
      if (rank < 0 || rank >= worldSize) {
        throw new IllegalArgumentException("--rank " + rank + " does not exist in a world of " + worldSize
            + " (ranks 0.." + (worldSize - 1) + ")");
      }
      endpoint = DataParallel.Endpoint.parse(master);
    }
    if (printConfig) { // a resume's: the run's stored settings with the command line's key=value on top (below)
      out.print((resume == null ? cfg : Trainer.resumedConfig(checkpoint(cfg), TrainConfig.parseOverrides(overrides)))
          .toText());
      out.flush();
      return 0;
    }
    // Before joining the process group: a refusal found after it (rank 0 alone checked run.dir there) left the other
    // ranks waiting for the group until --dist-timeout. The launcher of --nproc checked this before starting us.
    if (System.getProperty(TrainWorkers.LAUNCHER_PID) == null) checkAlone(cfg, rank == null ? 1 : worldSize);
    DataParallel dp = DataParallel.single();
    try {
      if (rank != null && worldSize > 1) {
        dp = DataParallel.connect(endpoint, rank, worldSize, Duration.ofSeconds(distTimeout),
            cfg.device().equals("cuda"));
      }
      // A resume runs with the run's stored settings, the command line's key=value on top. The --config file only
      // tells where the run is (run.dir): applied again here it would silently undo the overrides the run started with.
      Trainer trainer = resume != null ? Trainer.resume(checkpoint(cfg), TrainConfig.parseOverrides(overrides), null,
          dp) : new Trainer(cfg, Priors.load(cfg), dp);
      // auto: convolutions of every shape class, forward and input/weight gradients, must agree with oneDNN off.
      String verdict = OneDnn.apply(oneDnn.mode(), OneDnn.convProbes(true)).describe();
      if (dp.isLeader()) {
        out.println("oneDNN: " + verdict);
        out.flush();
      }
      // Ctrl-C or SIGTERM ends the JVM inside run(): say where the run can continue (the scale-out audit, session
      // 35, saw exit 130/143 and nothing else).
      Path last = trainer.config().runDir().resolve("last.pth");
      Thread stopped = new Thread(() -> System.err.println("deepspg train: stopped; " + (Files.isRegularFile(last)
          ? "continue it with --resume " + last : "no checkpoint was written yet: start it again")),
          "deepspg-train-stopped");
      if (dp.isLeader()) Runtime.getRuntime().addShutdownHook(stopped);
      Trainer.Result r;
      try {
        r = trainer.run();
      } finally {
        if (dp.isLeader()) {
          try {
            Runtime.getRuntime().removeShutdownHook(stopped);
          } catch (IllegalStateException shuttingDown) {
            // the hook runs already
          }
        }
      }
      if (dp.isLeader()) {
        String best = r.bestStep() < 0 ? "no validation"
            : String.format(java.util.Locale.ROOT, "best val PSNR %.3f dB (step %d)", r.bestPsnr(), r.bestStep());
        out.printf("steps %d, %s, weights %s%n", r.steps(), best, r.finalWeights());
        out.flush();
      }
      return 0;
    } catch (MissingWeightsException e) {
      err.println("deepspg train: " + e.getMessage());
      err.flush();
      return 2;
    } catch (DataParallel.DistributedException e) {
      err.println("deepspg train: " + e.getMessage());
      err.flush();
      return 1;
    } finally {
      dp.close();
    }
  }

  /**
   * What a run can check on this host alone, before any worker starts ({@code --nproc}) or joins the process group
   * ({@code --rank}): a new run or a fork into a folder holding another run, datasets that do not open, and batches
   * that the workers cannot share evenly. Each rank of a multi-host run checks it (the launcher of {@code --nproc}
   * checks it for its workers), so a mistake stops each of them at once with its message (on a shared file system
   * all see it; a rank whose own folders are fine still waits for the others until {@code --dist-timeout}).
   *
   * @param world the number of workers
   */
  private void checkAlone(TrainConfig cfg, int world) throws java.io.IOException {
    if (resume == null) {
      int pairs = checkFreshRun(cfg);
      if (world > 1) Trainer.checkBatchesSplit(cfg, pairs, world);
      return;
    }
    Properties over = TrainConfig.parseOverrides(overrides);
    checkResumeTarget(checkpoint(cfg), over);
    if (world > 1) {
      TrainConfig rc = Trainer.resumedConfig(checkpoint(cfg), over);
      PairedDataset train = Trainer.openDataset(rc.data().train(), PairedDataset.Options.DEFAULT);
      if (train != null) Trainer.checkBatchesSplit(rc, train.size(), world);
    }
  }

  /** The checkpoint {@code --resume} names (the run folder's last.pth when it names none); it must exist. */
  private Path checkpoint(TrainConfig cfg) {
    Path ck = resume.isEmpty() ? cfg.runDir().resolve("last.pth") : Path.of(resume);
    if (!Files.isRegularFile(ck)) throw new IllegalArgumentException("--resume: no checkpoint at " + ck);
    return ck;
  }

  /**
   * A new run must not overwrite another, and its datasets must open: checked before any model work.
   *
   * @return the number of training pairs
   */
  private int checkFreshRun(TrainConfig cfg) throws java.io.IOException {
    // Any output counts, not only last.pth: a folder whose big checkpoints were deleted still holds exported weights
    // and logs that a new run would remove.
    List<String> found = Trainer.earlierRunOutputs(cfg.runDir()); // also refuses a run.dir that is a file
    if (!found.isEmpty() && !overwrite) {
      throw new IllegalArgumentException(cfg.runDir() + " already holds a run (" + String.join(", ", found) + "): "
          + (found.contains("last.pth") ? "continue it with --resume, " : "") + "pick another run.dir, or pass "
          + "--overwrite to start over (those files are removed first)");
    }
    // Every path problem before any model work: the datasets must open (Trainer.run opens them again).
    PairedDataset train = Trainer.openDataset(cfg.data().train(), PairedDataset.Options.DEFAULT);
    if (train == null) {
      throw new IllegalArgumentException("config key 'data.train' (the training dataset root) is not set");
    }
    return train.size();
  }

  /**
   * A resume whose run.dir names another folder than the checkpoint's forks the run there ({@link
   * Trainer#forkTarget}), removing that folder's earlier outputs: refused, as for a new run, when the folder holds a
   * run and --overwrite is not given; checked before any model work.
   */
  private void checkResumeTarget(Path ck, Properties over) throws java.io.IOException {
    Path target = Trainer.forkTarget(ck, over);
    if (target == null && overwrite) {
      throw new IllegalArgumentException("--overwrite does nothing with --resume unless run.dir=DIR forks the run "
          + "into another folder: leave --overwrite out to continue the run, or --resume out to start over");
    }
    if (target == null) return;
    List<String> found = Trainer.earlierRunOutputs(target);
    if (!found.isEmpty() && !overwrite) {
      throw new IllegalArgumentException("run.dir " + target + " already holds another run (" + String.join(", ",
          found) + "), not the one of " + ck + ": pick another run.dir, leave run.dir out to continue in the "
          + "checkpoint's folder, or pass --overwrite to replace that run (its outputs are removed first)");
    }
  }

  /** This command's arguments for one worker of {@code --nproc} (rank options are added by the launcher). */
  private List<String> childArgs() {
    List<String> a = new ArrayList<>(List.of("train"));
    if (config != null) a.addAll(List.of("--config", config.toString()));
    if (resume != null) a.add(resume.isEmpty() ? "--resume" : "--resume=" + resume);
    if (overwrite) a.add("--overwrite");
    a.addAll(List.of("--onednn", oneDnn.mode().name().toLowerCase(java.util.Locale.ROOT)));
    a.addAll(List.of("--dist-timeout", Integer.toString(distTimeout)));
    return a;
  }
}
