/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import java.io.IOException;
import java.nio.file.Path;
import org.deepspg.infer.Enhancer;
import org.deepspg.infer.MemoryBudget;
import org.deepspg.infer.TileOptions;
import org.deepspg.model.ModelFiles;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Model, device and tiling options shared by {@code enhance}, {@code demo} and {@code bench} (a picocli mixin).
 */
public final class EnhanceOptions {
  @Option(names = "--model", paramLabel = "NAME|PATH",
      description = "A trained model: a bundled model's name (`deepspg models`; default " + ModelFiles.DEFAULT_NAME
          + ", DeepSPG-S Baseline) or a weights file (.pth with its configuration inside, e.g. exported by `deepspg "
          + "train`). A file named like a bundled model wins; bundled:NAME names the bundled one.")
  String model;

  @Option(names = "--arch", paramLabel = "s|l|s-baseline|l-baseline",
      description = "Architecture of a weights file that carries no configuration metadata.")
  String arch;

  @Option(names = {"--prior-weights", "--hrnet"}, paramLabel = "FILE",
      description = "Weights of the image prior a model with SEMs was trained with (its sem.prior, see `deepspg "
          + "models`/`info`): HRNet-W48 ADE20K (hrnet_ade20k_4312_torch04.pth) or ESPNetv2 "
          + "(espnetv2_s_2.0_city_1024x512.pth ...); required by models with SEMs, never downloaded.")
  Path hrnet;

  @Option(names = "--hrnet-config", paramLabel = "JSON",
      description = "Topology of the HRNet whose weights --prior-weights names, for a model trained with hrnet.config "
          + "(default: the official W48 ADE20K network).")
  Path hrnetConfig;

  @Option(names = "--device", paramLabel = "cpu|cuda|auto", defaultValue = "auto",
      description = "Where to run (default: ${DEFAULT-VALUE}: CUDA when available, else CPU).")
  String device = "auto";

  @Option(names = "--tile", paramLabel = "N",
      description = "Tile side in pixels (multiple of 32, >= 64): images larger than N x N run as overlapping tiles "
          + "of at most N x N pixels each, shaped to the image, with a shared attention context. 0 = never tile. "
          + "Default: automatic (tiles of at most " + TileOptions.DEFAULT_TILE + " x " + TileOptions.DEFAULT_TILE
          + " above " + (TileOptions.DEFAULT_MAX_WHOLE_PIXELS / 1_000_000.0) + " MP).")
  Integer tile;

  @Option(names = "--refine-context",
      description = "For a tiled image larger than the attention context (the pixels of a "
          + TileOptions.DEFAULT_CONTEXT + " px square): one more pass over the tiles that brings the attention, "
          + "computed on a downscaled copy, toward the full image's: closer to whole-image inference on most images "
          + "(37-46 -> 49-60 dB measured), about 1.9x the time (docs/inference.md). Tiles below 256 px run none.")
  boolean refineContext;

  @Option(names = "--ensemble", description = "Average the 8 flips/rotations (8x slower, slightly smoother).")
  boolean ensemble;

  @Mixin OneDnnOption oneDnn;

  @Option(names = "--max-memory", paramLabel = "SIZE",
      description = "Most native memory one forward pass may take, e.g. 6g, 500m or 6GiB (k/m/g/t, powers of 1024, "
          + "with or without B or iB; default: 80%% of physical memory); a "
          + "larger pass is refused before it runs. Without --tile, images are tiled in tiles small enough to fit it "
          + "(--tile N is used as given). Also, once the process's resident "
          + "memory (JVM included) is above it after a pass, memory freed by earlier passes is returned to the "
          + "system.")
  String maxMemory;

  /** @return the tiling options these flags select */
  TileOptions tiling() {
    if (tile != null && tile != 0 && (tile < 64 || tile % 32 != 0)) {
      throw new IllegalArgumentException("--tile must be 0 or a multiple of 32 that is >= 64, got " + tile);
    }
    TileOptions t = tile == null ? TileOptions.DEFAULT : TileOptions.ofSide(tile);
    return t.withRefinePasses(refineContext ? 1 : 0);
  }

  /**
   * @return a builder configured from the flags
   * @throws IllegalArgumentException for inconsistent flags
   */
  Enhancer.Builder builder() {
    Enhancer.Builder b = Enhancer.builder().device(device).tiling(tiling()).ensemble(ensemble)
        .oneDnn(oneDnn.mode());
    b.model(model, arch == null ? null : ModelFiles.preset(arch));
    if (hrnet != null) b.priorWeights(hrnet);
    if (hrnetConfig != null) b.hrnetConfig(hrnetConfig);
    if (maxMemory != null) b.maxMemory(MemoryBudget.parse(maxMemory));
    return b;
  }

  /**
   * Builds the Enhancer, turning load failures into a usage error message.
   *
   * @return the Enhancer
   * @throws IOException when the model cannot be loaded
   */
  Enhancer build() throws IOException {
    Enhancer e = builder().build();
    for (String unused : new String[] {hrnet != null ? "--prior-weights" : null,
        hrnetConfig != null ? "--hrnet-config" : null}) {
      if (unused != null && !e.config().semEnabled()) {
        System.err.println("deepspg: note: " + unused + " is not used: the model " + e.modelSource()
            + " has no SEMs (no semantic prior)");
      }
    }
    return e;
  }
}
