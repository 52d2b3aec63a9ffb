/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.data.DatasetLayouts;
import org.deepspg.data.Image;
import org.deepspg.data.ImageTensors;
import org.deepspg.data.Images;
import org.deepspg.data.PairedDataset;
import org.deepspg.data.Split;
import org.deepspg.eval.EvalReport;
import org.deepspg.eval.NoReferenceReport;
import org.deepspg.model.ModelFiles;
import org.deepspg.model.prior.MissingWeightsException;
import org.deepspg.ops.Backends;
import org.deepspg.ops.Devices;
import org.deepspg.ops.OneDnn;
import org.deepspg.train.EvalRunner;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code deepspg eval}: PSNR / SSIM (and GT-mean variants) of a DeepSPG model or a classical baseline on paired
 * images (spec §6); prints a table and optionally writes JSON with the keys {@code psnr, ssim, psnr_gtmean,
 * ssim_gtmean, count, images_per_second}. With {@code --low} alone (real dark photos have no ground truth) it
 * prints the no-reference measures of {@link NoReferenceReport} instead: newly clipped pixels, hue drift, saturation
 * kept, shadow cast, noise and brightness; {@code --enhanced DIR} scores another method's outputs of the same photos
 * the same way.
 */
@Command(
    name = "eval",
    mixinStandardHelpOptions = true,
    description = {
      "Evaluate a model or a baseline on paired low/normal-light images (PSNR, SSIM, GT-mean PSNR/SSIM).",
      "Examples:",
      "  ./deepspg eval --low LOL/eval15/low --high LOL/eval15/high --model runs/v3/model_best.pth --prior-weights W.pth",
      "  ./deepspg eval --data LOL --baseline gamma --json gamma.json",
      "Without ground truth (real dark photos): --low alone prints newly clipped pixels, hue drift against the input,",
      "saturation kept, cast in the input's grey regions, noise and brightness of the output; --enhanced scores",
      "another method's outputs of the same photos:",
      "  ./deepspg eval --low dark/ --model s",
      "  ./deepspg eval --low dark/ --enhanced other-method-out/"
    })
public final class EvalCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--low", paramLabel = "DIR", description = "low-light images (paired with --high by file name)")
  Path low;

  @Option(names = "--high", paramLabel = "DIR", description = "normal-light targets (none: no-reference measures)")
  Path high;

  @Option(names = "--enhanced", paramLabel = "DIR",
      description = "another method's outputs of the --low images (same file names, any image format): score them "
          + "without ground truth instead of running a model")
  Path enhanced;

  @Option(names = "--data", paramLabel = "ROOT", description = "dataset root (LOL-v1, LOL-v2, train|test/{low,high}, low/+high/) instead of --low/--high")
  Path data;

  @Option(names = "--split", description = "split of --data: train, test or all (default test; a flat low/+high/ "
      + "folder has no test split: then all of its pairs are scored, and the output and JSON say so)")
  String split;

  static final class Which {
    @Option(names = "--model", paramLabel = "NAME|PATH",
        description = "a trained model: a bundled model's name (deepspg models) or a weights file (model_final.pth / "
            + "model_best.pth / last.pth); the default when neither --model nor --baseline is given: the bundled "
            + "default model")
    String model;

    @Option(names = "--baseline", paramLabel = "NAME", description = "identity, gamma or clahe")
    String baseline;
  }

  @ArgGroup(exclusive = true, multiplicity = "0..1")
  Which which;

  @Option(names = "--arch", paramLabel = "s|l|s-baseline|l-baseline",
      description = "architecture of a --model weights file that carries no configuration metadata")
  String arch;

  @Option(names = {"--prior-weights", "--hrnet"}, paramLabel = "FILE",
      description = "weights of the image prior the model's SEMs were trained with (HRNet-W48 or ESPNetv2, as its "
          + "sem.prior says; needed when the model has SEMs)")
  Path hrnet;

  @Option(names = "--hrnet-config", paramLabel = "JSON", description = "HRNet topology (default: official W48 ADE20K)")
  Path hrnetConfig;

  @Option(names = "--gamma", paramLabel = "G", description = "fixed exponent for --baseline gamma (default: "
      + "per-image oracle exponent that maximises PSNR); refused with another method")
  Double gamma;

  @Option(names = "--json", paramLabel = "OUT", description = "write the report as JSON")
  Path json;

  @Option(names = "--per-image", description = "include per-image results in the JSON")
  boolean perImage;

  @Option(names = "--limit", defaultValue = "0", description = "evaluate only the first N pairs (0 = all)")
  int limit;

  @Option(names = "--threads", defaultValue = "0", description = "libtorch threads (0 = default)")
  int threads;

  @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or auto (default ${DEFAULT-VALUE})")
  String device;

  @Mixin OneDnnOption oneDnn;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (limit < 0) throw new IllegalArgumentException("--limit must be >= 0 (0 = all pairs), got " + limit);
    if (threads < 0) throw new IllegalArgumentException("--threads must be >= 0 (0 = the default), got " + threads);
    if (gamma != null && (which == null || !"gamma".equalsIgnoreCase(which.baseline))) {
      throw new IllegalArgumentException("--gamma is the exponent of --baseline gamma and does nothing with "
          + (which == null ? "the default model" : which.model != null ? "--model" : "--baseline " + which.baseline)
          + ": leave it out, or use --baseline gamma");
    }
    Backends.init();
    if (threads > 0) torch.set_num_threads(threads);
    device = Devices.resolve(device, "--device");
    if (enhanced != null && (high != null || data != null || low == null || which != null)) {
      throw new IllegalArgumentException("--enhanced scores another method's outputs without ground truth: give "
          + "--low DIR and --enhanced DIR only (no --high, --data, --model or --baseline)");
    }
    boolean noReference = data == null && low != null && high == null;
    PairedDataset ds;
    Split sp = null; // the split of --data
    String flatNote = null;
    if (noReference) {
      // The inputs paired with the other method's outputs by file name (sizes checked), or with themselves.
      ds = enhanced != null
          ? PairedDataset.fromFolders(low, enhanced, PairedDataset.Partner.ENHANCED, PairedDataset.Options.DEFAULT)
          : PairedDataset.ofImages(low, PairedDataset.Options.DEFAULT);
    } else if (data != null) {
      if (low != null || high != null) throw new IllegalArgumentException("give either --data or --low/--high, not both");
      // An explicit --split on a flat folder is refused by open (as by data check): its pairs are no test split.
      sp = Split.parse(split == null ? "test" : split);
      if (split == null && DatasetLayouts.detect(data) == DatasetLayouts.Layout.FLAT) {
        sp = Split.ALL;
        flatNote = data + " is a flat low/ + high/ folder without a test split: these numbers are over all of its "
            + "pairs (pass --split all to ask for that, or arrange it as train/ and test/ folders)";
      }
      ds = DatasetLayouts.open(data, sp);
    } else {
      if (low == null || high == null) {
        throw new IllegalArgumentException("need --low DIR (with --high DIR for PSNR/SSIM) or --data ROOT");
      }
      ds = PairedDataset.fromFolders(low, high, PairedDataset.Options.DEFAULT);
    }
    if (arch != null && (which == null || which.model == null)) {
      throw new IllegalArgumentException("--arch names the network of a --model weights file; give --model FILE");
    }
    if (json != null) { // before the evaluation: a bad report path must not cost the whole run, nor hit an input
      if (Files.isDirectory(json)) throw new IllegalArgumentException("--json " + json + " is a folder; give a file");
      Path dir = json.toAbsolutePath().getParent(); // the report is written into its folder (created if missing)
      while (dir != null && !Files.exists(dir)) dir = dir.getParent();
      if (dir == null || !Files.isDirectory(dir) || !Files.isWritable(dir)) {
        throw new IllegalArgumentException("--json " + json + " cannot be written: " + (dir == null ? "no folder"
            : !Files.isDirectory(dir) ? dir + " is not a folder" : "no permission to write in " + dir)
            + "; give a path in a writable folder");
      }
      for (PairedDataset.Pair pr : ds.pairs()) {
        Images.requireDistinct(pr.low(), json);
        Images.requireDistinct(pr.high(), json);
      }
    }
    if (which == null && enhanced == null) {
      which = new Which();
      which.model = ModelFiles.BUNDLED_PREFIX + ModelFiles.DEFAULT_NAME; // not a file of that name here
    }
    if (noReference && which != null && "gamma".equalsIgnoreCase(which.baseline) && gamma == null) {
      throw new IllegalArgumentException("--baseline gamma without --high picks its exponent from the ground truth, "
          + "which real photos lack: give a fixed --gamma G");
    }
    EvalRunner.Method m;
    try {
      m = enhanced != null ? EvalRunner.precomputed(enhanced.toString())
          : which.model != null ? EvalRunner.model(which.model, arch == null ? null : ModelFiles.preset(arch), hrnet,
              hrnetConfig, device)
          : EvalRunner.baseline(which.baseline, gamma);
    } catch (MissingWeightsException e) {
      spec.commandLine().getErr().println("deepspg eval: " + e.getMessage());
      spec.commandLine().getErr().flush();
      return 2;
    }
    if (enhanced == null && which.model != null && device.equals("cpu")) {
      // auto: the model itself on a fixed dark input must give the same result with oneDNN on and off.
      EvalRunner.Method mm = m;
      Image probe = new Image(128, 96, ImageTensors.floatsOf(OneDnn.fixedRandom(new long[] {1, 3, 96, 128}, 42).abs()
          .mul(new Scalar(0.3))), null, Image.Metadata.MEMORY);
      out.println("oneDNN: " + OneDnn.apply(oneDnn.mode(), List.of(new OneDnn.Probe("model forward",
          () -> ImageTensors.tensorOf(mm.enhance(probe, probe), 1, 3, 96, 128)))).describe());
    }
    if (noReference) {
      NoReferenceReport nr = EvalRunner.runNoReference(ds, m, limit, System.err);
      out.print(nr.toTable());
      out.flush();
      if (json != null) writeReport(() -> nr.writeJson(json, perImage));
      return 0;
    }
    EvalReport rep = EvalRunner.run(ds, m, limit, System.err);
    if (sp != null) rep.setSplit(sp.name().toLowerCase(java.util.Locale.ROOT), flatNote);
    out.print(EvalReport.table(List.of(rep)));
    if (flatNote != null) out.println("note: " + flatNote);
    out.flush();
    if (json != null) writeReport(() -> rep.writeJson(json, perImage));
    return 0;
  }

  /** Writing a report to {@code --json}. */
  @FunctionalInterface
  private interface ReportWrite {
    void run() throws java.io.IOException;
  }

  /** Writes the report; a failure names --json's file, not the temporary file it was written through. */
  private void writeReport(ReportWrite w) {
    try {
      w.run();
    } catch (java.io.IOException | java.io.UncheckedIOException e) {
      Throwable cause = Main.unwrap(e);
      String why = cause instanceof java.nio.file.AccessDeniedException ? "permission denied"
          : cause instanceof java.nio.file.FileSystemException fs && fs.getReason() != null ? fs.getReason()
          : Main.describe(cause);
      throw new IllegalArgumentException("--json " + json + " could not be written (" + why + ")", e);
    }
  }
}
