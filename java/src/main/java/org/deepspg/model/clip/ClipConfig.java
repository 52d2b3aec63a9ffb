/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.clip;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import org.deepspg.io.JsonFiles;

/**
 * Hyper-parameters of an OpenAI CLIP model with a ViT image tower ({@code clip/model.py}), spec §5.2. Unlike
 * {@code clip.build_model}, head counts are explicit: the vision tower of the released models uses
 * {@code vision_width / 64} heads, but a configuration must not infer them (a tiny test model would get 0).
 *
 * @param embedDim joint embedding size (512 for ViT-B/16)
 * @param imageResolution input side R of the square image (224)
 * @param visionLayers residual blocks of the image transformer (12)
 * @param visionWidth image transformer width (768)
 * @param visionPatchSize patch size = conv1 kernel and stride (16)
 * @param visionHeads attention heads of the image transformer (12); must divide {@code visionWidth}
 * @param contextLength text context length (77)
 * @param vocabSize BPE vocabulary size (49,408)
 * @param transformerWidth text transformer width (512)
 * @param transformerHeads text attention heads (8); must divide {@code transformerWidth}
 * @param transformerLayers text transformer blocks (12)
 */
public record ClipConfig(
    int embedDim,
    int imageResolution,
    int visionLayers,
    int visionWidth,
    int visionPatchSize,
    int visionHeads,
    int contextLength,
    int vocabSize,
    int transformerWidth,
    int transformerHeads,
    int transformerLayers) {

  /** Validates positivity, divisibility of widths by heads, and of the resolution by the patch size. */
  public ClipConfig {
    int[] all = {embedDim, imageResolution, visionLayers, visionWidth, visionPatchSize, visionHeads,
        contextLength, vocabSize, transformerWidth, transformerHeads, transformerLayers};
    for (int v : all) {
      if (v < 1) {
        throw new IllegalArgumentException("all CLIP hyper-parameters must be >= 1, got " + describe(all));
      }
    }
    if (visionWidth % visionHeads != 0) {
      throw new IllegalArgumentException("visionWidth " + visionWidth + " is not divisible by visionHeads "
          + visionHeads);
    }
    if (transformerWidth % transformerHeads != 0) {
      throw new IllegalArgumentException("transformerWidth " + transformerWidth
          + " is not divisible by transformerHeads " + transformerHeads);
    }
    if (imageResolution % visionPatchSize != 0) {
      throw new IllegalArgumentException("imageResolution " + imageResolution
          + " is not divisible by visionPatchSize " + visionPatchSize);
    }
  }

  private static String describe(int[] v) {
    return java.util.Arrays.toString(v);
  }

  /**
   * OpenAI's ViT-B/16 (file {@code ViT-B-16.pt}): embed 512, resolution 224, 12 layers of width 768 with
   * 12 heads, patch 16; text: context 77, vocabulary 49,408, 12 layers of width 512 with 8 heads.
   * 149,620,737 parameters.
   *
   * @return the configuration
   */
  public static ClipConfig vitB16() {
    return new ClipConfig(512, 224, 12, 768, 16, 12, 77, 49408, 512, 8, 12);
  }

  /**
   * Reads the {@code config} object of a fixture manifest (or a JSON file whose root is such an object).
   * Keys: {@code embed_dim, image_resolution, vision_layers, vision_width, vision_patch_size, vision_heads,
   * context_length, vocab_size, transformer_width, transformer_heads, transformer_layers}. The vision head
   * count is required (it is never inferred).
   *
   * @param manifest a JSON file
   * @return the configuration
   * @throws IOException if the file cannot be read
   * @throws IllegalArgumentException if a key is missing or invalid
   */
  public static ClipConfig fromManifest(Path manifest) throws IOException {
    JsonNode m = JsonFiles.readTree(manifest);
    if (!m.isObject()) {
      throw new IllegalArgumentException(manifest + ": the JSON root is not an object");
    }
    try {
      return fromJsonObject(m.has("config") ? JsonFiles.object(m, "config") : m);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(manifest + ": " + e.getMessage(), e);
    }
  }

  /**
   * Builds a configuration from a parsed JSON object (see {@link #fromManifest(Path)} for the keys).
   *
   * @param c the JSON object
   * @return the configuration
   * @throws IllegalArgumentException if a key is missing or invalid
   */
  public static ClipConfig fromJsonObject(JsonNode c) {
    return new ClipConfig(
        JsonFiles.integer(c, "embed_dim"),
        JsonFiles.integer(c, "image_resolution"),
        JsonFiles.integer(c, "vision_layers"),
        JsonFiles.integer(c, "vision_width"),
        JsonFiles.integer(c, "vision_patch_size"),
        JsonFiles.integer(c, "vision_heads"),
        JsonFiles.integer(c, "context_length"),
        JsonFiles.integer(c, "vocab_size"),
        JsonFiles.integer(c, "transformer_width"),
        JsonFiles.integer(c, "transformer_heads"),
        JsonFiles.integer(c, "transformer_layers"));
  }

  /**
   * Patches per side: {@code imageResolution / visionPatchSize} (14 for ViT-B/16).
   *
   * @return the grid side
   */
  public int gridSize() {
    return imageResolution / visionPatchSize;
  }
}
