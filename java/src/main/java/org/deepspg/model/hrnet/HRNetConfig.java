/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.hrnet;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import org.deepspg.io.JsonFiles;

/**
 * Topology of an HRNetV2 segmentation network ("seg_hrnet" of HRNet-Semantic-Segmentation), spec §5.1.
 *
 * <p>The stem is fixed (3×3/s2 conv 3→64 + BN + ReLU, 3×3/s2 conv 64→64 + BN + ReLU). Stage 1 has one branch
 * ({@code layer1}); stages 2–4 have 2, 3 and 4 branches. The head concatenates the four stage-4 outputs at
 * 1/4 resolution and applies 1×1 conv (bias) → BN → ReLU → {@code finalConvKernel}×{@code finalConvKernel}
 * conv (bias) to {@code numClasses} logits. All bilinear resizes use {@code alignCorners} (true in the
 * official code).
 *
 * @param stage1 stage 1 (one branch; the official configs use BOTTLENECK)
 * @param stage2 stage 2 (two branches)
 * @param stage3 stage 3 (three branches)
 * @param stage4 stage 4 (four branches)
 * @param numClasses number of output classes (150 for ADE20K)
 * @param finalConvKernel kernel of the last head conv, 1 or 3 (padding 1 when 3)
 * @param alignCorners align_corners of every bilinear resize (true in the official code)
 * @param bnEps BatchNorm epsilon (1e-5)
 * @param bnMomentum BatchNorm momentum (0.1)
 */
public record HRNetConfig(
    Stage stage1,
    Stage stage2,
    Stage stage3,
    Stage stage4,
    int numClasses,
    int finalConvKernel,
    boolean alignCorners,
    double bnEps,
    double bnMomentum) {

  /** Stem output channels (fixed by the architecture). */
  public static final int STEM_CHANNELS = 64;

  /** Residual block type of a stage. */
  public enum BlockType {
    /** conv3×3-BN-ReLU-conv3×3-BN + identity, ReLU; expansion 1. */
    BASIC(1),
    /** conv1×1-BN-ReLU-conv3×3-BN-ReLU-conv1×1(×4)-BN + identity, ReLU; expansion 4. */
    BOTTLENECK(4);

    private final int expansion;

    BlockType(int expansion) {
      this.expansion = expansion;
    }

    /**
     * Output-channel multiplier of the block.
     *
     * @return 1 for BASIC, 4 for BOTTLENECK
     */
    public int expansion() {
      return expansion;
    }
  }

  /**
   * One stage: {@code numModules} HighResolutionModules with {@code numBlocks.length} branches.
   *
   * @param numModules number of HighResolutionModules (≥ 1)
   * @param block block type
   * @param numBlocks blocks per branch, one entry per branch
   * @param numChannels block "planes" per branch (output channels = planes·expansion)
   */
  public record Stage(int numModules, BlockType block, int[] numBlocks, int[] numChannels) {
    /** Validates and copies the arrays. */
    public Stage {
      if (block == null) {
        throw new IllegalArgumentException("block type must not be null");
      }
      if (numModules < 1) {
        throw new IllegalArgumentException("numModules must be >= 1, got " + numModules);
      }
      if (numBlocks == null || numChannels == null || numBlocks.length == 0
          || numBlocks.length != numChannels.length) {
        throw new IllegalArgumentException("numBlocks " + Arrays.toString(numBlocks)
            + " and numChannels " + Arrays.toString(numChannels) + " must be non-empty and of equal length");
      }
      for (int i = 0; i < numBlocks.length; i++) {
        if (numBlocks[i] < 1 || numChannels[i] < 1) {
          throw new IllegalArgumentException("numBlocks " + Arrays.toString(numBlocks)
              + " and numChannels " + Arrays.toString(numChannels) + " must be positive");
        }
      }
      numBlocks = numBlocks.clone();
      numChannels = numChannels.clone();
    }

    /**
     * Number of branches of this stage.
     *
     * @return {@code numBlocks.length}
     */
    public int numBranches() {
      return numBlocks.length;
    }

    /**
     * Output channels of each branch (planes·expansion).
     *
     * @return a fresh array, one entry per branch
     */
    public int[] outChannels() {
      int[] out = new int[numChannels.length];
      for (int i = 0; i < out.length; i++) {
        out[i] = numChannels[i] * block.expansion();
      }
      return out;
    }

    @Override
    public int[] numBlocks() {
      return numBlocks.clone();
    }

    @Override
    public int[] numChannels() {
      return numChannels.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Stage t && t.numModules == numModules && t.block == block
          && Arrays.equals(t.numBlocks, numBlocks) && Arrays.equals(t.numChannels, numChannels);
    }

    @Override
    public int hashCode() {
      return 31 * (31 * (31 * numModules + block.hashCode()) + Arrays.hashCode(numBlocks))
          + Arrays.hashCode(numChannels);
    }

    @Override
    public String toString() {
      return "Stage[modules=" + numModules + ", block=" + block + ", blocks=" + Arrays.toString(numBlocks)
          + ", channels=" + Arrays.toString(numChannels) + "]";
    }
  }

  /** Validates the branch counts (1, 2, 3, 4) and the head parameters. */
  public HRNetConfig {
    Stage[] st = {stage1, stage2, stage3, stage4};
    for (int i = 0; i < 4; i++) {
      if (st[i] == null) {
        throw new IllegalArgumentException("stage" + (i + 1) + " must not be null");
      }
      if (st[i].numBranches() != i + 1) {
        throw new IllegalArgumentException("stage" + (i + 1) + " must have " + (i + 1) + " branches, got "
            + st[i].numBranches() + " (" + st[i] + ")");
      }
    }
    if (stage1.numModules() != 1) {
      throw new IllegalArgumentException("stage1 must have exactly one module (layer1), got "
          + stage1.numModules());
    }
    if (numClasses < 1) {
      throw new IllegalArgumentException("numClasses must be >= 1, got " + numClasses);
    }
    if (finalConvKernel != 1 && finalConvKernel != 3) {
      throw new IllegalArgumentException("finalConvKernel must be 1 or 3, got " + finalConvKernel);
    }
    if (!(bnEps > 0)) {
      throw new IllegalArgumentException("bnEps must be > 0, got " + bnEps);
    }
  }

  /**
   * HRNetV2-W48 for ADE20K (150 classes), as in
   * {@code experiments/ade20k/seg_hrnet_w48_520x520_ohem_sgd_lr2e-2_wd1e-4_bs_16_epoch120.yaml}: stage 1 =
   * 4 BOTTLENECK blocks of 64 planes, stages 2/3/4 with 1/4/3 modules of 4 BASIC blocks per branch and
   * channels 48/96/192/384; final conv kernel 1. 65,953,830 parameters.
   *
   * @return the configuration
   */
  public static HRNetConfig w48Ade20k() {
    return new HRNetConfig(
        new Stage(1, BlockType.BOTTLENECK, new int[] {4}, new int[] {64}),
        new Stage(1, BlockType.BASIC, new int[] {4, 4}, new int[] {48, 96}),
        new Stage(4, BlockType.BASIC, new int[] {4, 4, 4}, new int[] {48, 96, 192}),
        new Stage(3, BlockType.BASIC, new int[] {4, 4, 4, 4}, new int[] {48, 96, 192, 384}),
        150, 1, true, 1e-5, 0.1);
  }

  /**
   * Reads a configuration from JSON. Two forms are accepted: the neutral form of the test fixture
   * ({@code stages.STAGE1..4} with {@code num_modules, block, num_blocks, num_channels}, plus
   * {@code num_classes}, {@code final_conv_kernel}, optional {@code align_corners} and {@code bn.eps/momentum}),
   * or a yacs-like form ({@code MODEL.EXTRA.STAGE1..4} with upper-case keys, {@code MODEL.EXTRA.FINAL_CONV_KERNEL},
   * {@code DATASET.NUM_CLASSES}, optional {@code MODEL.ALIGN_CORNERS}), also accepted when nested under
   * {@code yaml_equivalent}.
   *
   * @param file a JSON file
   * @return the configuration
   * @throws IOException if the file cannot be read
   * @throws IllegalArgumentException if the JSON does not describe a valid configuration
   */
  public static HRNetConfig fromJson(Path file) throws IOException {
    JsonNode root = JsonFiles.readTree(file);
    if (!root.isObject()) {
      throw new IllegalArgumentException(file + ": the JSON root is not an object");
    }
    try {
      return fromJsonObject(root);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Builds a configuration from an already parsed JSON object (see {@link #fromJson(Path)} for the forms).
   *
   * @param m the JSON object
   * @return the configuration
   * @throws IllegalArgumentException if the JSON does not describe a valid configuration
   */
  public static HRNetConfig fromJsonObject(JsonNode m) {
    if (m.has("stages")) {
      JsonNode stages = JsonFiles.object(m, "stages");
      Stage[] st = new Stage[4];
      for (int i = 0; i < 4; i++) {
        JsonNode s = JsonFiles.object(stages, "STAGE" + (i + 1));
        st[i] = new Stage(JsonFiles.integer(s, "num_modules"), blockType(JsonFiles.string(s, "block")),
            JsonFiles.intArray(s, "num_blocks"), JsonFiles.intArray(s, "num_channels"));
        checkFuse(s, "fuse_method");
      }
      boolean align = !m.has("align_corners") || m.get("align_corners").booleanValue();
      double eps = 1e-5;
      double mom = 0.1;
      if (m.has("bn")) {
        JsonNode bn = JsonFiles.object(m, "bn");
        eps = bn.has("eps") ? JsonFiles.number(bn, "eps") : eps;
        mom = bn.has("momentum") ? JsonFiles.number(bn, "momentum") : mom;
      }
      HRNetConfig cfg = new HRNetConfig(st[0], st[1], st[2], st[3], JsonFiles.integer(m, "num_classes"),
          JsonFiles.integer(m, "final_conv_kernel"), align, eps, mom);
      if (m.has("last_layer_channels") && JsonFiles.integer(m, "last_layer_channels")
          != cfg.lastLayerChannels()) {
        throw new IllegalArgumentException("last_layer_channels " + m.get("last_layer_channels")
            + " does not match the stage-4 channels (" + cfg.lastLayerChannels() + ")");
      }
      return cfg;
    }
    JsonNode y = m.has("yaml_equivalent") ? JsonFiles.object(m, "yaml_equivalent") : m;
    if (!y.has("MODEL")) {
      throw new IllegalArgumentException("neither 'stages' (neutral form) nor 'MODEL' (yacs form) present");
    }
    JsonNode model = JsonFiles.object(y, "MODEL");
    JsonNode extra = JsonFiles.object(model, "EXTRA");
    Stage[] st = new Stage[4];
    for (int i = 0; i < 4; i++) {
      JsonNode s = JsonFiles.object(extra, "STAGE" + (i + 1));
      st[i] = new Stage(JsonFiles.integer(s, "NUM_MODULES"), blockType(JsonFiles.string(s, "BLOCK")),
          JsonFiles.intArray(s, "NUM_BLOCKS"), JsonFiles.intArray(s, "NUM_CHANNELS"));
      checkFuse(s, "FUSE_METHOD");
    }
    boolean align = !model.has("ALIGN_CORNERS") || model.get("ALIGN_CORNERS").booleanValue();
    int classes = JsonFiles.integer(JsonFiles.object(y, "DATASET"), "NUM_CLASSES");
    return new HRNetConfig(st[0], st[1], st[2], st[3], classes, JsonFiles.integer(extra, "FINAL_CONV_KERNEL"),
        align, 1e-5, 0.1);
  }

  private static void checkFuse(JsonNode s, String key) {
    if (s.has(key) && !"SUM".equals(s.get(key).textValue())) {
      throw new IllegalArgumentException("only fuse method SUM exists in seg_hrnet, got " + s.get(key));
    }
  }

  private static BlockType blockType(String name) {
    try {
      return BlockType.valueOf(name.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("unknown block type '" + name + "' (BASIC or BOTTLENECK)", e);
    }
  }

  /**
   * Returns stage {@code i} (1-based).
   *
   * @param i 1..4
   * @return the stage
   */
  public Stage stage(int i) {
    switch (i) {
      case 1: return stage1;
      case 2: return stage2;
      case 3: return stage3;
      case 4: return stage4;
      default: throw new IllegalArgumentException("stage index must be 1..4, got " + i);
    }
  }

  /**
   * Channels of the head input = sum of the stage-4 branch output channels (720 for W48).
   *
   * @return the channel count
   */
  public int lastLayerChannels() {
    int c = 0;
    for (int v : stage4.outChannels()) {
      c += v;
    }
    return c;
  }

  /**
   * Output channels of the four stage-4 branches (the feature list of {@link HRNet.Output}).
   *
   * @return e.g. [48, 96, 192, 384] for W48
   */
  public int[] featureChannels() {
    return stage4.outChannels();
  }
}
