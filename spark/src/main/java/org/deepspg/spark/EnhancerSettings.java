/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.spark;

import java.io.Serializable;
import java.nio.file.Path;
import org.deepspg.infer.Enhancer;
import org.deepspg.infer.TileOptions;
import org.deepspg.model.ModelFiles;
import org.deepspg.ops.OneDnn;

/**
 * What an executor needs to build its {@link Enhancer}: the same choices as {@code deepspg enhance}'s model flags,
 * as plain serialisable values. Paths are strings that every executor must be able to read (a shared or replicated
 * file system); they are not shipped with the task. Also the key of {@link EnhancerPool}: equal settings share one
 * Enhancer per JVM.
 *
 * @param model bundled model name (e.g. {@code s}, {@code s-sem}, {@code s-night}) or a weights file path
 * @param arch architecture preset of a weights file without configuration metadata, or null
 * @param hrnet weights path of the image prior (models with SEMs: HRNet-W48 or ESPNetv2), or null
 * @param device {@code cpu}, {@code cuda} (also {@code gpu}) or {@code auto}
 * @param tile tile side (multiple of 32, ≥ 64), 0 = never tile, or null for the default tiling
 * @param ensemble average the 8 flips/rotations
 * @param batchSize images per forward pass for same-size images (1 = one at a time, byte-identical to {@code enhance})
 * @param oneDnn libtorch's oneDNN CPU kernels: {@code AUTO} (as {@code deepspg enhance}: only if its self-check passes on
 *     the executor's machine), {@code OFF} or {@code ON}
 * @param refineContext one refinement pass for tiled images larger than the attention context (as {@code deepspg
 *     enhance --refine-context})
 * @param maxMemory most native memory one forward pass may take, in bytes (as {@code deepspg enhance --max-memory}:
 *     default tiles fit it, a larger pass is refused), or null for the executor's default ({@code
 *     -Ddeepspg.max_memory}, else 80 % of its memory)
 */
public record EnhancerSettings(String model, String arch, String hrnet, String device, Integer tile, boolean ensemble,
    int batchSize, OneDnn.Mode oneDnn, boolean refineContext, Long maxMemory) implements Serializable {
  private static final long serialVersionUID = 3L;

  /**
   * Settings with the executor's default memory limit.
   *
   * @param model bundled model name or weights path
   * @param arch architecture preset, or null
   * @param hrnet prior weights path, or null
   * @param device the device
   * @param tile tile side, 0, or null
   * @param ensemble self-ensemble
   * @param batchSize images per forward pass
   * @param oneDnn the oneDNN mode
   * @param refineContext one refinement pass for large tiled images
   */
  public EnhancerSettings(String model, String arch, String hrnet, String device, Integer tile, boolean ensemble,
      int batchSize, OneDnn.Mode oneDnn, boolean refineContext) {
    this(model, arch, hrnet, device, tile, ensemble, batchSize, oneDnn, refineContext, null);
  }

  /**
   * Settings without a refinement pass.
   *
   * @param model bundled model name or weights path
   * @param arch architecture preset, or null
   * @param hrnet prior weights path, or null
   * @param device the device
   * @param tile tile side, 0, or null
   * @param ensemble self-ensemble
   * @param batchSize images per forward pass
   * @param oneDnn the oneDNN mode
   */
  public EnhancerSettings(String model, String arch, String hrnet, String device, Integer tile, boolean ensemble,
      int batchSize, OneDnn.Mode oneDnn) {
    this(model, arch, hrnet, device, tile, ensemble, batchSize, oneDnn, false, null);
  }

  /**
   * Checks the values.
   *
   * @throws IllegalArgumentException for an empty model, a bad tile side, a batch size below 1 or a memory limit
   *     below 1
   */
  public EnhancerSettings {
    if (model == null || model.isBlank()) throw new IllegalArgumentException("model is empty");
    if (device == null || device.isBlank()) device = "auto";
    if (tile != null && tile != 0 && (tile < 64 || tile % 32 != 0)) {
      throw new IllegalArgumentException("tile must be 0 or a multiple of 32 that is >= 64, got " + tile);
    }
    if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
    if (oneDnn == null) oneDnn = OneDnn.Mode.AUTO;
    if (maxMemory != null && maxMemory < 1) {
      throw new IllegalArgumentException("max memory must be >= 1 byte, got " + maxMemory);
    }
  }

  /** @return the settings of {@code deepspg enhance} without flags: bundled model s, automatic device */
  public static EnhancerSettings defaults() {
    return new EnhancerSettings(ModelFiles.BUNDLED_PREFIX + ModelFiles.DEFAULT_NAME, null, null, "auto", null, false, 1,
        OneDnn.Mode.AUTO);
  }

  /**
   * @param name bundled model name or weights path
   * @return a copy with another model
   */
  public EnhancerSettings withModel(String name) {
    return new EnhancerSettings(name, arch, hrnet, device, tile, ensemble, batchSize, oneDnn, refineContext, maxMemory);
  }

  /**
   * @param weights HRNet prior weights path, or null
   * @return a copy with another prior
   */
  public EnhancerSettings withHrnet(String weights) {
    return new EnhancerSettings(model, arch, weights, device, tile, ensemble, batchSize, oneDnn, refineContext,
        maxMemory);
  }

  /**
   * @param n images per forward pass (≥ 1)
   * @return a copy with another batch size
   */
  public EnhancerSettings withBatchSize(int n) {
    return new EnhancerSettings(model, arch, hrnet, device, tile, ensemble, n, oneDnn, refineContext, maxMemory);
  }

  /**
   * @param on the oneDNN mode (default AUTO, like {@code deepspg enhance})
   * @return a copy with the other choice
   */
  public EnhancerSettings withOneDnn(OneDnn.Mode on) {
    return new EnhancerSettings(model, arch, hrnet, device, tile, ensemble, batchSize, on, refineContext, maxMemory);
  }

  /**
   * @param on whether tiled images larger than the context get a refinement pass
   * @return a copy with that choice
   */
  public EnhancerSettings withRefineContext(boolean on) {
    return new EnhancerSettings(model, arch, hrnet, device, tile, ensemble, batchSize, oneDnn, on, maxMemory);
  }

  /**
   * @param bytes most native memory one forward pass may take, or null for the executor's default
   * @return a copy with that limit
   */
  public EnhancerSettings withMaxMemory(Long bytes) {
    return new EnhancerSettings(model, arch, hrnet, device, tile, ensemble, batchSize, oneDnn, refineContext, bytes);
  }

  /**
   * Builds the Enhancer the way {@code deepspg enhance} does for the same flags.
   *
   * @return the builder
   * @throws IllegalArgumentException for inconsistent settings
   */
  public Enhancer.Builder builder() {
    Enhancer.Builder b = Enhancer.builder().device(device).tiling(tiling()).ensemble(ensemble).oneDnn(oneDnn)
        .batchSize(batchSize);
    b.model(model, arch == null ? null : ModelFiles.preset(arch));
    if (hrnet != null) b.priorWeights(Path.of(hrnet));
    if (maxMemory != null) b.maxMemory(maxMemory);
    return b;
  }

  private TileOptions tiling() {
    return (tile == null ? TileOptions.DEFAULT : TileOptions.ofSide(tile)).withRefinePasses(refineContext ? 1 : 0);
  }
}
