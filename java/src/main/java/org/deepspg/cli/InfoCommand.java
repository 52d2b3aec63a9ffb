/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.infer.Enhancer;
import org.deepspg.infer.MemoryBudget;
import org.deepspg.infer.Padding;
import org.deepspg.model.DeepSPG;
import org.deepspg.model.DeepSPGConfig;
import org.deepspg.model.FlopCounter;
import org.deepspg.model.ModelFiles;
import org.deepspg.model.espnet.ESPNetv2;
import org.deepspg.model.hrnet.HRNet;
import org.deepspg.model.hrnet.HRNetConfig;
import org.deepspg.model.prior.EspnetPrior;
import org.deepspg.model.prior.MissingWeightsException;
import org.deepspg.model.prior.PriorWeights;
import org.deepspg.ops.AvgPool;
import org.deepspg.ops.Backends;
import org.deepspg.ops.ChannelAttention;
import org.deepspg.ops.NativeLibrary;
import org.deepspg.ops.DenseConv;
import org.deepspg.ops.DepthwiseConv;
import org.deepspg.ops.DepthwisePair;
import org.deepspg.ops.FoldedAttention;
import org.deepspg.ops.FusedFfn;
import org.deepspg.ops.PixelShuffle;
import org.deepspg.ops.UpsampleSum;
import org.deepspg.ops.OneDnn;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code deepspg info}: versions, the loaded native libraries and whether CUDA kernels and a GPU are available.
 * With {@code --model} or {@code --hrnet}: the size of a network instead ({@code params: N}, {@code gflops: X}).
 */
@Command(name = "info", mixinStandardHelpOptions = true,
    description = "Print versions, native libraries and devices; or a model's parameters and FLOPs.")
public final class InfoCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--model", paramLabel = "NAME|PATH",
      description = "Print the parameter count and analytic FLOPs (G = MACs/2^30, fvcore convention of spec §1.7) "
          + "of a trained model: a bundled model's name (`deepspg models`) or a weights file.")
  String model;

  @Option(names = "--arch", paramLabel = "s|l|s-baseline|l-baseline",
      description = "The same for an architecture (s, l: the paper's DeepSPG-S/L with SEMs; -baseline: without); "
          + "with --model, the architecture of a weights file that carries no configuration.")
  String arch;

  @Option(names = "--size", paramLabel = "HxW", defaultValue = "256x256",
      description = "Input size for --model FLOPs, height x width (default: ${DEFAULT-VALUE}; padded to a multiple "
          + "of 32 like inference).")
  String size;

  @Option(names = "--hrnet", paramLabel = "w48",
      description = "Print the parameter count of the HRNet prior (w48 = HRNetV2-W48 ADE20K, built without weights).")
  String hrnet;

  @Option(names = "--prior", paramLabel = "espnetv2",
      description = "Print the parameter count, classes and input size of an image prior loaded from "
          + "--prior-weights (espnetv2: EdgeNets ESPNetv2 segmentation weights; see docs/priors.md).")
  String prior;

  @Option(names = "--prior-weights", paramLabel = "FILE",
      description = "Weights of the --prior network, e.g. espnetv2_s_2.0_city_1024x512.pth (never downloaded).")
  Path priorWeights;

  @Mixin OneDnnOption oneDnn;

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    NativeLibrary.ensureLoaded();
    if (model != null || arch != null || hrnet != null || prior != null) {
      if (model != null || arch != null) printModel(out);
      if (hrnet != null) printHrnet(out);
      if (prior != null) printPrior(out);
      out.flush();
      return 0;
    }
    out.println("deepspg: " + Versions.DEEPSPG);
    out.println("java: " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")");
    out.println("platform: " + Loader.getPlatform());
    out.println("libtorch: bytedeco pytorch " + Versions.pytorchArtifact() + ", javacpp " + Versions.javacpp());
    out.println("libtorch threads: " + Backends.threads());
    out.println("kernels: " + NativeLibrary.buildInfo());
    out.println("kernels library: " + NativeLibrary.libraryPath());
    out.println("malloc: " + Backends.allocator());
    out.println("javacpp: " + Backends.javaCppMemoryCheck());
    out.println("memory limit: " + MemoryBudget.describeDefaultLimit() + "; a larger forward pass is refused"
        + (Backends.releasesFreeMemory() ? ", and memory freed by earlier passes is returned after a pass "
            + "that leaves the process's resident memory above it" : "") + " (--max-memory)");
    out.println("environment: " + Backends.environment());
    out.println("oneDNN: " + oneDnnVerdict());
    out.println("inference convolutions (priors, network): " + DenseConv.status().describe());
    out.println("network feed-forward blocks (inference): " + FusedFfn.status().describe());
    out.println("IG-MSA positional branch + residual (inference): " + DepthwisePair.status().describe());
    out.println(DepthwiseConv.backwardStatus().describe());
    out.println("IG-MSA attention + projection (inference): " + FoldedAttention.status().describe());
    out.println("decoder pixel shuffle (inference): " + (PixelShuffle.enabled() ? "native (self-check passed)"
        : "libtorch (native kernel off or its self-check failed)"));
    out.println("HRNet fuse and head sums (inference): " + UpsampleSum.status().describe());
    out.println("ESPNetv2 pooling (inference): " + AvgPool.status().describe());
    out.println("ESPNetv2 dilated depthwise (inference): " + DepthwiseConv.dilatedStatus().describe());
    out.println("channel attention (CPU float32, training and inference): " + ChannelAttention.status().describe());
    out.println("cuda kernels compiled: " + (NativeLibrary.cudaKernelsCompiled() ? "yes" : "no"));
    out.println("cuda devices (kernels): " + NativeLibrary.cudaDeviceCount());
    out.println("cuda available (libtorch): " + (torch.cuda_is_available() ? "yes" : "no"));
    out.flush();
    return 0;
  }

  /** The oneDNN decision for the bundled default model on this machine (what {@code enhance} would use). */
  private String oneDnnVerdict() {
    if (!ModelFiles.available(ModelFiles.bundled(ModelFiles.DEFAULT_NAME).orElseThrow())) {
      return OneDnn.apply(oneDnn.mode(), List.of()).describe() + " (convolutions only: no bundled model)";
    }
    try (Enhancer e = Enhancer.builder().oneDnn(oneDnn.mode()).build()) {
      return e.oneDnn().describe();
    } catch (IOException | RuntimeException e) {
      return OneDnn.verdict().describe() + " (bundled model not loaded: " + e.getMessage() + ")";
    }
  }

  private void printModel(PrintWriter out) throws IOException {
    DeepSPGConfig cfg;
    if (model == null) {
      cfg = ModelFiles.preset(arch);
    } else { // the weights loaded and checked as enhance would (shapes, count, finite), not only the metadata read
      ModelFiles.Loaded l = ModelFiles.load(model, arch == null ? null : ModelFiles.preset(arch));
      cfg = l.config();
      l.net().close();
    }
    String[] hw = size.trim().toLowerCase(Locale.ROOT).split("x");
    int h;
    int w;
    try {
      h = Integer.parseInt(hw[0].trim());
      w = Integer.parseInt(hw[1].trim());
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("--size wants HEIGHTxWIDTH, got '" + size + "'");
    }
    if (h < 1 || w < 1) throw new IllegalArgumentException("--size must be positive, got " + size);
    int ph = (int) Padding.padded(h, Padding.MULTIPLE);
    int pw = (int) Padding.padded(w, Padding.MULTIPLE);
    out.println("model: " + cfg.describe());
    out.println("params: " + FlopCounter.parameterCount(cfg));
    out.printf(Locale.ROOT, "gflops: %.3f%n", FlopCounter.gflops(cfg, ph, pw));
    out.println("size: " + h + "x" + w + (ph != h || pw != w ? " (padded to " + ph + "x" + pw + ")" : "")
        + ", batch 1, G = fvcore MACs / 2^30 (spec §1.7), "
        + (cfg.semEnabled() ? "the " + cfg.semPrior() + " prior not included" : "no image prior"));
  }

  private void printHrnet(PrintWriter out) {
    if (!hrnet.trim().equalsIgnoreCase("w48")) {
      throw new IllegalArgumentException("--hrnet knows only w48, got '" + hrnet + "'");
    }
    HRNet net = new HRNet(HRNetConfig.w48Ade20k());
    try {
      out.println("hrnet: HRNetV2-W48 ADE20K (150 classes), built without weights");
      out.println("params: " + net.parameterCount());
    } finally {
      net.close();
    }
  }

  private void printPrior(PrintWriter out) {
    if (!prior.trim().equalsIgnoreCase(EspnetPrior.ID)) {
      throw new IllegalArgumentException("--prior knows only " + EspnetPrior.ID + ", got '" + prior + "'");
    }
    EspnetPrior p;
    try {
      p = EspnetPrior.load(priorWeights);
    } catch (MissingWeightsException e) {
      // One line: the first line of the message says what is wrong, the file that is needed and its origin.
      throw new IllegalArgumentException(e.getMessage().split("\n")[0] + " Needed: --prior-weights "
          + PriorWeights.ESPNETV2.fileName() + " from " + PriorWeights.ESPNETV2.source());
    }
    try (p) {
      ESPNetv2.Config c = p.network().config();
      int[] in = c.trainingInputSize();
      out.println("prior: " + p.describe());
      out.println("params: " + p.parameterCount());
      out.println("classes: " + p.classNames().size() + " (" + String.join(", ", p.classNames()) + ")"
          + (p.classNames().size() < c.classes() ? "; the file's " + c.classes() + "th output was never trained and "
          + "is left out" : ""));
      out.println("input size: " + in[0] + "x" + in[1] + " (WxH the weights were fine-tuned at; any H, W multiple of "
          + p.inputMultiple() + ")");
      out.println("preprocessing: RGB in [0,1], " + p.preprocessing() + " mean/std");
    }
  }
}
