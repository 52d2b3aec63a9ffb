/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.prior;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import org.deepspg.model.io.CheckpointFormatException;
import org.deepspg.model.io.Checkpoints;
import org.deepspg.model.io.StateDict;

/**
 * The external weight files of DeepSPG's frozen prior networks (spec §5): what each official file is, what
 * DeepSPG uses it for, and how to run without it. Nothing is ever downloaded at run time; the user passes
 * paths. {@link #read(Path)} turns every way a path can be wrong into a {@link MissingWeightsException} with
 * that guidance.
 */
public enum PriorWeights {
  /** HRNetV2-W48 trained on ADE20K (150 classes), the image-level semantic prior. */
  HRNET_W48_ADE20K(
      "HRNet-W48 ADE20K",
      "hrnet_ade20k_4312_torch04.pth",
      "the official HRNetV2-W48 ADE20K checkpoint from HRNet-Semantic-Segmentation (README, ADE20K table, "
          + "43.1 mIoU single scale; released under hsfzxjy/models.storage, tag HRNet-OCR, mirror on BaiduYun)",
      "the image-level semantic prior: its stage-4 features feed the SEMs (semantic-aware embedding modules) "
          + "and its segmentation probabilities define the semantic KL loss L_sem"),
  /** ESPNetv2 semantic segmentation from EdgeNets (Cityscapes or PASCAL VOC), the light image-level prior. */
  ESPNETV2(
      "ESPNetv2",
      "espnetv2_s_2.0_city_1024x512.pth",
      "EdgeNets (github.com/sacmehta/EdgeNets, model/segmentation/model_zoo/espnetv2/, which holds all three "
          + "ESPNetv2 segmentation files: s_2.0 city and pascal, s_0.5 city; licence: see docs/priors.md)",
      "the light image-level semantic prior (instead of HRNet): its encoder maps feed the SEMs through "
          + "projections and its segmentation probabilities define L_sem"),
  /** OpenAI CLIP ViT-B/16, the text-level prior. */
  CLIP_VIT_B16(
      "CLIP ViT-B/16",
      "ViT-B-16.pt",
      "OpenAI's CLIP ViT-B/16 TorchScript archive (openaipublic.azureedge.net/clip/models/"
          + "5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f/ViT-B-16.pt, ~335 MB; the hex "
          + "path component is its SHA-256)",
      "the text-level prior: the multimodal loss L_mul compares CLIP image embeddings of the enhanced output "
          + "with the text embeddings of \"low-light image\" / \"high-light image\"");

  /** How to train/run DeepSPG without the priors (spec §4.6 ablation map). */
  public static final String RUN_WITHOUT = "To run without it: to enhance, use a model without SEMs (the default "
      + "model s); to train, use the DeepSPG Baseline variant: set sem.enabled=false (no SEMs, no HRNet) and the loss "
      + "weights λ3 = λ4 = 0 (no L_sem, no L_mul).";

  private final String title;
  private final String fileName;
  private final String source;
  private final String purpose;

  PriorWeights(String title, String fileName, String source, String purpose) {
    this.title = title;
    this.fileName = fileName;
    this.source = source;
    this.purpose = purpose;
  }

  /**
   * Human-readable model name.
   *
   * @return e.g. "HRNet-W48 ADE20K"
   */
  public String title() {
    return title;
  }

  /**
   * The official file name.
   *
   * @return {@code hrnet_ade20k_4312_torch04.pth} or {@code ViT-B-16.pt}
   */
  public String fileName() {
    return fileName;
  }

  /**
   * Where the official file comes from.
   *
   * @return a description of the source
   */
  public String source() {
    return source;
  }

  /**
   * What DeepSPG uses the network for.
   *
   * @return a description of its role
   */
  public String purpose() {
    return purpose;
  }

  /**
   * Builds the user-facing exception: the problem, the expected official file and its source, what it is for,
   * and how to run without it.
   *
   * @param path the path that was given (may be null)
   * @param problem what is wrong, e.g. "file not found"
   * @param cause the underlying error, or null
   * @return the exception (not thrown)
   */
  public MissingWeightsException missing(Path path, String problem, Throwable cause) {
    return missing(path, problem, cause, fileName);
  }

  /**
   * As {@link #missing(Path, String, Throwable)}, naming a more precise file than {@link #fileName()}.
   *
   * @param path the path that was given (may be null)
   * @param problem what is wrong
   * @param cause the underlying error, or null
   * @param expected the official file that fits
   * @return the exception (not thrown)
   */
  public MissingWeightsException missing(Path path, String problem, Throwable cause, String expected) {
    String msg = title + " weights unusable: " + problem + (path == null ? "" : " (" + path + ")") + ".\n"
        + "Expected " + expected + ": " + source + ".\n"
        + "DeepSPG uses it as " + purpose + ".\n"
        + "Nothing is downloaded at run time: obtain the file yourself and pass its path.\n"
        + RUN_WITHOUT;
    return new MissingWeightsException(this, path, msg, cause, expected, problem);
  }

  /**
   * Reads the checkpoint at {@code path}, mapping every failure to a {@link MissingWeightsException}.
   *
   * @param path the user's weights file (may be null = not configured)
   * @return the checkpoint tensors
   * @throws MissingWeightsException when the path is null, does not exist, is not a readable regular file, or
   *     is not a PyTorch checkpoint
   */
  public StateDict read(Path path) throws MissingWeightsException {
    if (path == null) {
      throw missing(null, "no weights file configured", null);
    }
    if (!Files.exists(path)) {
      throw missing(path, "file not found", null);
    }
    if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
      throw missing(path, "not a readable regular file", null);
    }
    try {
      return Checkpoints.read(path);
    } catch (CheckpointFormatException e) {
      throw missing(path, "not a PyTorch checkpoint this reader understands: " + e.getMessage(), e);
    } catch (IOException e) {
      throw missing(path, "cannot be read: " + e, e);
    }
  }

  /**
   * Reads the user's copy of this official file and loads it into a freshly built model: the shared body of
   * {@code HRNet.loadPretrained} and {@code Clip.loadPretrained}.
   *
   * @param path the user's weights file (may be null = not configured)
   * @param build builds the model for the official configuration
   * @param load loads a state dict into the model, throwing {@link IllegalArgumentException} on key or shape
   *     mismatches (the model's {@code loadStateDict})
   * @param <M> the model type
   * @return the loaded model (not frozen)
   * @throws MissingWeightsException as {@link #read} does, or when the file holds another model
   */
  public <M> M loadInto(Path path, Supplier<M> build, BiConsumer<M, StateDict> load)
      throws MissingWeightsException {
    StateDict sd = read(path);
    M model = build.get();
    try {
      load.accept(model, sd);
    } catch (IllegalArgumentException e) {
      throw wrongModel(path, e);
    }
    return model;
  }

  /**
   * Wraps a key/shape mismatch found while loading into the user-facing exception.
   *
   * @param path the weights file
   * @param e the loader's error (it lists the missing keys and shape mismatches)
   * @return the exception (not thrown)
   */
  public MissingWeightsException wrongModel(Path path, IllegalArgumentException e) {
    return missing(path, "the checkpoint does not hold the " + title + " weights (wrong keys or shapes: "
        + summarize(e.getMessage()) + ")" + (this == HRNET_W48_ADE20K ? "; if the model was trained with "
        + "hrnet.config (another HRNet topology), give that JSON too (--hrnet-config JSON; API: "
        + "Enhancer.builder().hrnetConfig(path))" : ""), e);
  }

  /**
   * Shortens a loader message ("…: N missing from the checkpoint: a, b, … | M mismatched: x: expected […],
   * found […]; …") to its counts and the first few names of each list; the full text stays in the cause.
   */
  static String summarize(String detail) {
    if (detail == null) {
      return "no details";
    }
    String[][] lists = {{"missing from the checkpoint: ", ", "}, {"mismatched: ", "; "},
        {"unknown to the module: ", ", "}};
    StringBuilder out = new StringBuilder();
    for (String part : detail.split(" \\| ")) {
      String shown = part.length() > 300 ? part.substring(0, 300) + " …" : part;
      for (String[] l : lists) {
        int at = part.indexOf(l[0]);
        if (at >= 0) {
          String[] items = part.substring(at + l[0].length()).split(java.util.regex.Pattern.quote(l[1]));
          int keep = Math.min(4, items.length);
          shown = part.substring(0, at + l[0].length())
              + String.join(l[1], java.util.Arrays.copyOf(items, keep))
              + (items.length > keep ? l[1] + "… (" + (items.length - keep) + " more)" : "");
          break;
        }
      }
      out.append(out.length() == 0 ? "" : " | ").append(shown);
    }
    return out.toString();
  }

}
