/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.io.IOException;
import java.io.PrintWriter;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.infer.Enhancer;
import org.deepspg.infer.MemoryBudget;
import org.deepspg.infer.TileOptions;
import org.deepspg.io.AtomicFile;
import org.deepspg.io.JsonFiles;
import org.deepspg.model.DeepSPG;
import org.deepspg.model.DeepSPGConfig;
import org.deepspg.model.ModelFiles;
import org.deepspg.model.hrnet.HRNet;
import org.deepspg.model.hrnet.HRNetConfig;
import org.deepspg.model.prior.HrnetPrior;
import org.deepspg.ops.NativeLibrary;
import org.deepspg.ops.OneDnn;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code deepspg bench}: inference throughput (images/s) and the split between the image prior and the enhancement
 * network, per image size and batch size, through the same {@link Enhancer} path as {@code enhance} (padding,
 * automatic tiling). Architecture names run randomly initialised weights (speed does not depend on the values); a
 * path runs that weights file. Prints a table and writes JSON.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = "Measure inference speed (images/s, image prior vs enhancement network) on random inputs.")
public final class BenchCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--size", split = ",", paramLabel = "WxH", defaultValue = "600x400,1920x1080",
      description = "Image sizes, width x height (default: ${DEFAULT-VALUE}).")
  List<String> sizes;

  @Option(names = "--batch", split = ",", paramLabel = "B", defaultValue = "1,4",
      description = "Batch sizes (default: ${DEFAULT-VALUE}); tiled sizes run their images one by one.")
  List<Integer> batches;

  @Option(names = "--threads", paramLabel = "N", description = "libtorch intra-op threads (default: OMP_NUM_THREADS, else every available processor).")
  Integer threads;

  @Option(names = "--model", paramLabel = "NAME|PATH",
      description = "A trained model: a bundled model's name (`deepspg models`) or a weights file (default: the "
          + "bundled default model, unless --arch is given).")
  String model;

  @Option(names = "--arch", paramLabel = "s|l|s-baseline|l-baseline",
      description = "Time an architecture with random weights instead (speed does not depend on the weights): s, l "
          + "are the paper's DeepSPG-S/L with SEMs (and an HRNet-W48 prior), -baseline without.")
  String arch;

  @Option(names = {"--prior-weights", "--hrnet"}, paramLabel = "FILE|random", defaultValue = "random",
      description = "Weights of the image prior of a model with SEMs (HRNet-W48 or ESPNetv2, as the model's sem.prior "
          + "says); 'random' builds HRNet-W48 with random weights (default: ${DEFAULT-VALUE}).")
  String hrnet;

  @Option(names = "--hrnet-config", paramLabel = "JSON",
      description = "Topology of the HRNet whose weights --prior-weights names, for a model trained with hrnet.config "
          + "(default: the official W48 ADE20K network).")
  Path hrnetConfig;

  @Option(names = "--device", paramLabel = "cpu|cuda|auto", defaultValue = "cpu",
      description = "Device (default: ${DEFAULT-VALUE}).")
  String device;

  @Option(names = "--tile", paramLabel = "N", description = "As for enhance: tile side, 0 = never tile.")
  Integer tile;

  @Option(names = "--refine-context", description = "As for enhance: one pass over the tiles that refines the "
      + "attention context of a tiled image larger than it.")
  boolean refineContext;

  @Option(names = "--max-memory", paramLabel = "SIZE",
      description = "As for enhance: most native memory one forward pass may take, e.g. 6g (default: 80%% of physical "
          + "memory).")
  String maxMemory;

  @Option(names = "--warmup", paramLabel = "N", defaultValue = "1", description = "Untimed runs (default 1).")
  int warmup;

  @Option(names = "--iters", paramLabel = "N", defaultValue = "2", description = "Timed runs (default 2).")
  int iters;

  @Option(names = "--json", paramLabel = "FILE", defaultValue = "out/bench.json",
      description = "Where to write the results (default: ${DEFAULT-VALUE}).")
  Path json;

  @Mixin OneDnnOption oneDnn;

  /** One measured configuration. */
  record Row(int width, int height, int batch, String mode, double imagesPerSecond, double msPerImage,
      double hrnetMsPerImage, double networkMsPerImage) {}

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    NativeLibrary.ensureLoaded();
    if (threads != null) {
      if (threads < 1) throw new IllegalArgumentException("--threads must be >= 1, got " + threads);
      torch.set_num_threads(threads);
    }
    if (iters < 1 || warmup < 0) throw new IllegalArgumentException("--iters must be >= 1 and --warmup >= 0");
    List<int[]> wh = new ArrayList<>();
    for (String s : sizes) wh.add(parseSize(s));
    for (int b : batches) if (b < 1) throw new IllegalArgumentException("--batch values must be >= 1, got " + b);
    if (Files.isDirectory(json)) { // before the measurements, not after them
      throw new IllegalArgumentException("--json " + json + " is a folder; give a file");
    }

    DeepSPG net = null;
    HRNet hr = null;
    Enhancer.Builder b = Enhancer.builder().device(device).oneDnn(oneDnn.mode());
    if (maxMemory != null) b.maxMemory(MemoryBudget.parse(maxMemory)); // the memory check names this option
    String modelDesc;
    DeepSPGConfig cfg;
    if (arch != null) {
      if (model != null) throw new IllegalArgumentException("give --model or --arch, not both");
      cfg = ModelFiles.preset(arch);
      net = new DeepSPG(cfg);
      modelDesc = "--arch " + arch + " " + cfg.describe() + " (random weights)";
    } else {
      ModelFiles.Loaded l = ModelFiles.load(model, null); // null: the bundled default, whatever files exist
      net = l.net();
      cfg = l.config();
      modelDesc = l.source() + " " + cfg.describe();
    }
    b.model(net);
    if (cfg.semEnabled()) {
      if (hrnet.equalsIgnoreCase("random")) {
        if (!HrnetPrior.ID.equals(cfg.semPrior())) {
          throw new IllegalArgumentException("--prior-weights random builds HRNet-W48 only, and the model " + modelDesc
              + " has SEMs trained with " + cfg.semPrior() + ": give its weights with --prior-weights FILE");
        }
        hr = new HRNet(hrnetConfig == null ? HRNetConfig.w48Ade20k() : HRNetConfig.fromJson(hrnetConfig)).freeze();
        b.hrnet(hr);
      } else {
        b.hrnetWeights(Path.of(hrnet)).hrnetConfig(hrnetConfig);
      }
    }
    TileOptions to = (tile == null ? TileOptions.DEFAULT : TileOptions.ofSide(tile)).withRefinePasses(refineContext ? 1
        : 0);
    b.tiling(to);
    List<Row> rows = new ArrayList<>();
    Enhancer e;
    try {
      e = b.build();
    } catch (IOException ex) {
      err.println("deepspg: " + ex.getMessage());
      err.flush();
      if (net != null) net.close();
      if (hr != null) hr.close();
      return 2;
    }
    try (e) {
      out.printf(Locale.ROOT, "bench: %s, prior %s, device %s, libtorch threads %d, oneDNN %s%n", modelDesc,
          e.usesHrnet() ? hrnet : "not used", e.device(), torch.get_num_threads(),
          e.oneDnn().describe());
      out.printf(Locale.ROOT, "%-11s %5s %-6s %9s %11s %11s %11s%n", "size", "batch", "mode", "images/s", "ms/image",
          "prior ms", "network ms");
      out.flush();
      for (int[] s : wh) {
        for (int batch : batches) {
          String mode = to.tiles(s[1], s[0]) ? "tiled" : "whole";
          try (PointerScope scope = new PointerScope()) {
            Tensor x = torch.rand(batch, 3, s[1], s[0]).mul_(new Scalar(0.3));
            for (int i = 0; i < warmup; i++) {
              try (PointerScope q = new PointerScope()) {
                e.enhance(x);
              }
            }
            e.resetStats();
            long t0 = System.nanoTime();
            for (int i = 0; i < iters; i++) {
              try (PointerScope q = new PointerScope()) {
                e.enhance(x);
              }
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            Enhancer.Stats st = e.stats();
            long n = (long) batch * iters;
            Row r = new Row(s[0], s[1], batch, mode, n / secs, 1000 * secs / n, st.hrnetNanos() / 1e6 / n,
                st.networkNanos() / 1e6 / n);
            rows.add(r);
            out.printf(Locale.ROOT, "%-11s %5d %-6s %9.3f %11.1f %11.1f %11.1f%n", s[0] + "x" + s[1], batch, mode,
                r.imagesPerSecond(), r.msPerImage(), r.hrnetMsPerImage(), r.networkMsPerImage());
            out.flush();
          }
        }
      }
    } finally {
      if (net != null) net.close();
      if (hr != null) hr.close();
    }
    AtomicFile.write(json, toJson(rows, modelDesc, device, torch.get_num_threads(),
        OneDnn.verdict().describe()).getBytes(StandardCharsets.UTF_8));
    out.println("wrote " + json);
    out.flush();
    return 0;
  }

  static int[] parseSize(String s) {
    String[] p = s.trim().toLowerCase(Locale.ROOT).split("x");
    try {
      if (p.length == 2) {
        int w = Integer.parseInt(p[0].trim()), h = Integer.parseInt(p[1].trim());
        if (w >= 1 && h >= 1) return new int[] {w, h};
      }
    } catch (NumberFormatException e) {
      // fall through
    }
    throw new IllegalArgumentException("--size wants WIDTHxHEIGHT, got '" + s + "'");
  }

  /**
   * The results file: run description, then one line per measured configuration; rates with 4 decimals, times with
   * 2 (a non-finite number, which a run never gives, would be null).
   */
  static String toJson(List<Row> rows, String modelDesc, String device, int threads, String oneDnn) {
    List<JsonRow> out = new ArrayList<>();
    for (Row r : rows) {
      out.add(new JsonRow(r.width(), r.height(), r.batch(), r.mode(), fixed(r.imagesPerSecond(), 4),
          fixed(r.msPerImage(), 2), fixed(r.hrnetMsPerImage(), 2), fixed(r.networkMsPerImage(), 2)));
    }
    return JsonFiles.toPretty(new JsonResults(modelDesc, device, threads, oneDnn, out));
  }

  private static BigDecimal fixed(double v, int decimals) {
    return Double.isFinite(v) ? BigDecimal.valueOf(v).setScale(decimals, RoundingMode.HALF_UP) : null;
  }

  /** Layout of the results file (member order as written). */
  @JsonPropertyOrder({"model", "device", "threads", "onednn", "results"})
  private record JsonResults(
      @JsonProperty("model") String model,
      @JsonProperty("device") String device,
      @JsonProperty("threads") int threads,
      @JsonProperty("onednn") String oneDnn,
      @JsonProperty("results") List<JsonRow> results) {}

  /** One configuration in the results file. */
  @JsonPropertyOrder({"width", "height", "batch", "mode", "images_per_s", "ms_per_image", "hrnet_ms_per_image",
      "network_ms_per_image"})
  private record JsonRow(
      @JsonProperty("width") int width,
      @JsonProperty("height") int height,
      @JsonProperty("batch") int batch,
      @JsonProperty("mode") String mode,
      @JsonProperty("images_per_s") BigDecimal imagesPerSecond,
      @JsonProperty("ms_per_image") BigDecimal msPerImage,
      @JsonProperty("hrnet_ms_per_image") BigDecimal hrnetMsPerImage,
      @JsonProperty("network_ms_per_image") BigDecimal networkMsPerImage) {}
}
