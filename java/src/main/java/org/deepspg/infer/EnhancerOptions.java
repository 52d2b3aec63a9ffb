/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.deepspg.data.ReadOptions;
import org.deepspg.model.DeepSPG;
import org.deepspg.model.DeepSPGConfig;
import org.deepspg.model.ModelFiles;
import org.deepspg.model.hrnet.HRNet;
import org.deepspg.model.prior.HrnetPrior;
import org.deepspg.model.prior.ImagePrior;
import org.deepspg.ops.OneDnn;

/**
 * The settings of an {@link Enhancer.Builder} and their setters (the builder adds {@link Enhancer.Builder#build()});
 * kept apart so that {@link Enhancer} stays a small facade. Not thread-safe.
 */
abstract class EnhancerOptions {
  String bundled;
  Path checkpoint;
  DeepSPGConfig arch;
  DeepSPG module;
  Path priorWeights;
  Path hrnetConfig;
  ImagePrior priorModule;
  String device = "cpu";
  TileOptions tiles = TileOptions.DEFAULT;
  boolean ensemble;
  boolean tileContext = true;
  OneDnn.Mode oneDnn = OneDnn.defaultMode();
  int batchSize = 1;
  ReadOptions readOptions = ReadOptions.DEFAULT;
  long maxMemory = MemoryBudget.defaultLimit();

  EnhancerOptions() {}

  private Enhancer.Builder self() {
    return (Enhancer.Builder) this;
  }

  /**
   * The most native memory one forward pass may take (estimated from its shape before it runs,
   * {@link MemoryBudget}); a larger pass is refused with an {@link IllegalArgumentException}. Also a cap on the
   * freed memory the process keeps for reuse: after a pass that leaves the process's resident set (JVM included)
   * above it and 256 MB above its working set, the free heap is returned to the system. Default: system property
   * {@value MemoryBudget#PROPERTY}, else 80 % of physical memory (the container's, in a container).
   *
   * @param bytes the limit (at least 64 MiB)
   * @return this
   */
  public Enhancer.Builder maxMemory(long bytes) {
    if (bytes < (64L << 20)) throw new IllegalArgumentException("memory limit below 64 MiB: " + bytes);
    this.maxMemory = bytes;
    return self();
  }

  /**
   * Uses a bundled model (the default is {@link ModelFiles#DEFAULT_NAME}; {@link ModelFiles#BUNDLED} lists them).
   *
   * @param name a bundled model's name, e.g. {@code s}
   * @return this
   * @throws IllegalArgumentException when it is null
   */
  public Enhancer.Builder bundled(String name) {
    requireGiven(name, "bundled(name)");
    this.bundled = name;
    this.checkpoint = null;
    this.module = null;
    return self();
  }

  /**
   * Uses a trained model named the way {@code --model} names it: a bundled model's name, else a weights file path
   * (an existing file of that name wins over a bundled name, as in {@link ModelFiles#load}; {@code bundled:NAME}
   * names the bundled model whatever files exist).
   *
   * @param nameOrPath a bundled name ({@link ModelFiles#BUNDLED}), {@code bundled:NAME}, or a weights file; null =
   *     the default model (bundled, whatever files exist)
   * @param architecture for a weights file without metadata, or null; must be null for a bundled model
   * @return this
   * @throws IllegalArgumentException when an architecture is given for a bundled model, or the name is neither a
   *     bundled model nor an existing file
   */
  public Enhancer.Builder model(String nameOrPath, DeepSPGConfig architecture) {
    String b = ModelFiles.resolveBundled(nameOrPath, architecture);
    if (b != null) return bundled(b.toLowerCase(Locale.ROOT));
    String m = nameOrPath.trim();
    if (!Files.exists(Path.of(m))) {
      throw new IllegalArgumentException("model '" + m + "' is neither a bundled model (" + ModelFiles.names()
          + "; see deepspg models) nor an existing weights file");
    }
    return checkpoint(Path.of(m), architecture);
  }

  /** A null model is a mistake upstream (an unset setting), not a request for the default model: refused. */
  private static void requireGiven(Object o, String where) {
    if (o == null) {
      throw new IllegalArgumentException(where + " got null; leave it out for the default model ('"
          + ModelFiles.DEFAULT_NAME + "')");
    }
  }

  /**
   * Uses a weights file that carries its configuration ({@code deepspg.properties} entry).
   *
   * @param file the weights file
   * @return this
   * @throws IllegalArgumentException when it is null
   */
  public Enhancer.Builder checkpoint(Path file) {
    return checkpoint(file, null);
  }

  /**
   * Uses a weights file with an explicit architecture (needed when the file has no metadata; checked against it
   * otherwise).
   *
   * @param file the weights file
   * @param architecture e.g. {@link DeepSPGConfig#s()}, or null to require the file's metadata
   * @return this
   * @throws IllegalArgumentException when the file is null
   */
  public Enhancer.Builder checkpoint(Path file, DeepSPGConfig architecture) {
    requireGiven(file, "checkpoint(file)");
    this.checkpoint = file;
    this.arch = architecture;
    this.bundled = null;
    this.module = null;
    return self();
  }

  /**
   * Uses an already loaded network (not closed by the Enhancer; must not be modified while in use).
   *
   * @param net the network
   * @return this
   * @throws IllegalArgumentException when it is null
   */
  public Enhancer.Builder model(DeepSPG net) {
    requireGiven(net, "model(net)");
    this.module = net;
    this.bundled = null;
    this.checkpoint = null;
    return self();
  }

  /**
   * Weights of the image prior that a model with SEMs was trained with (ignored for models without SEMs): the
   * model's {@code sem.prior} picks the network (HRNet-W48 ADE20K: {@code hrnet_ade20k_4312_torch04.pth}; ESPNetv2:
   * e.g. {@code espnetv2_s_2.0_city_1024x512.pth}); weights of another prior are refused by name.
   *
   * @param weights the prior's {@code .pth} file
   * @return this
   */
  public Enhancer.Builder priorWeights(Path weights) {
    this.priorWeights = weights;
    this.priorModule = null;
    return self();
  }

  /**
   * HRNet-W48 ADE20K weights for models with SEMs trained with HRNet: {@link #priorWeights(Path)}.
   *
   * @param weights {@code hrnet_ade20k_4312_torch04.pth}
   * @return this
   */
  public Enhancer.Builder hrnetWeights(Path weights) {
    return priorWeights(weights);
  }

  /**
   * The topology of the HRNet whose weights {@link #priorWeights(Path)} names, for a model trained with another HRNet
   * than the official W48 ADE20K one ({@code hrnet.config} in training); its stage-4 branches 0–2 must have 48/96/192
   * channels. Ignored for other priors.
   *
   * @param json the topology JSON the model was trained with, or null for the official network
   * @return this
   */
  public Enhancer.Builder hrnetConfig(Path json) {
    this.hrnetConfig = json;
    return self();
  }

  /**
   * An already loaded image prior (not closed by the Enhancer).
   *
   * @param prior the prior the model's SEMs were trained with
   * @return this
   */
  public Enhancer.Builder prior(ImagePrior prior) {
    this.priorModule = prior;
    this.priorWeights = null;
    return self();
  }

  /**
   * An already loaded HRNet whose branches 0–2 have 48/96/192 channels (not closed by the Enhancer).
   *
   * @param net the network (frozen / eval mode)
   * @return this
   */
  public Enhancer.Builder hrnet(HRNet net) {
    return prior(net == null ? null : HrnetPrior.borrow(net));
  }

  /**
   * @param name {@code cpu}, {@code cuda} (fails at build time without a GPU and CUDA kernels) or {@code auto}
   * @return this
   */
  public Enhancer.Builder device(String name) {
    this.device = name;
    return self();
  }

  /**
   * @param options tiling options (default {@link TileOptions#DEFAULT}; its tile size and threshold, whatever the
   *     refinement passes and context, are made smaller where the memory limit needs it: {@link TileOptions#fittedTo})
   * @return this
   */
  public Enhancer.Builder tiling(TileOptions options) {
    if (options == null) throw new IllegalArgumentException("tile options are null");
    this.tiles = options;
    return self();
  }

  /**
   * @param on average the 8 flips/rotations (8× the compute)
   * @return this
   */
  public Enhancer.Builder ensemble(boolean on) {
    this.ensemble = on;
    return self();
  }

  /**
   * Switches the shared attention context of tiled inference off (each tile then computes its own attention
   * matrices: visible seams). Only for measuring what the context buys; default on.
   *
   * @param on whether tiles replay the attention matrices of the context pass
   * @return this
   */
  public Enhancer.Builder tileContext(boolean on) {
    this.tileContext = on;
    return self();
  }

  /**
   * Whether libtorch's oneDNN (mkldnn) CPU kernels may run, for the whole process (see {@link OneDnn}).
   *
   * <p>oneDNN runs the dense convolutions of the HRNet prior about 2× faster than libtorch's fallback, but on some
   * CPUs it computes wrong results (NaN forward passes of DeepSPG-S were seen on an AVX-512 AMD EPYC). Under
   * {@link OneDnn.Mode#AUTO} (the default) {@link Enhancer.Builder#build()} runs a self-check on this machine: a
   * small forward of the loaded model (with its prior) on a fixed input and one convolution of each shape class the
   * models use, with oneDNN off and on; oneDNN is enabled only if the results agree to float32 tolerance (costs well
   * under a second the first time). {@link OneDnn.Mode#OFF} never enables it; {@link OneDnn.Mode#ON} enables it
   * unchecked. The setting is process-wide: do not build an Enhancer with AUTO or ON in a process that also trains.
   * Ignored on CUDA. Whatever the setting, the Enhancer refuses outputs that are non-finite or collapsed
   * ({@link BadOutputException}). The verdict: {@link Enhancer#oneDnn()}.
   *
   * @param mode OFF, AUTO (default; system property {@value OneDnn#MODE_PROPERTY} changes the default) or ON
   * @return this
   */
  public Enhancer.Builder oneDnn(OneDnn.Mode mode) {
    if (mode == null) throw new IllegalArgumentException("oneDNN mode is null");
    this.oneDnn = mode;
    return self();
  }

  /**
   * @param n images per forward pass for same-size images run whole (≥ 1, default 1)
   * @return this
   */
  public Enhancer.Builder batchSize(int n) {
    if (n < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + n);
    this.batchSize = n;
    return self();
  }

  /**
   * @param options pixel limit etc. for {@link Enhancer#enhance(Path)}
   * @return this
   */
  public Enhancer.Builder readOptions(ReadOptions options) {
    if (options == null) throw new IllegalArgumentException("read options are null");
    this.readOptions = options;
    return self();
  }
}
