/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import org.deepspg.data.DatasetLayouts;
import org.deepspg.data.Split;
import org.deepspg.io.ConfigValues;
import org.deepspg.model.DeepSPGConfig;
import org.deepspg.model.hrnet.InputNorm;
import org.deepspg.ops.EdgeOperator;

/**
 * A training run's configuration: a properties file plus {@code key=value} command-line overrides, parsed once into
 * typed settings grouped by concern ({@link #run()}, {@link #model()}, {@link #priorFiles()}, {@link #loss()},
 * {@link #steps()}, {@link #optimizer()}, {@link #data()}, {@link #validation()}, {@link #output()}). Every key, its
 * default and its meaning is in {@link #KEYS} (printed by {@code deepspg train --help} and listed in
 * {@code docs/training.md}); this class is the only place that reads keys by name.
 *
 * <p><b>Resolution order</b> (later wins): built-in defaults → the {@code variant} preset → the {@code losses}
 * preset → every key written explicitly (file, then command line). So {@code variant=v1 loss.sem=0.05} is Variant 1
 * with a different λ3. The presets live in {@link TrainPresets}:
 * <pre>
 *   baseline   sem.enabled=false  loss.sem=0     loss.mul=0     c2f.enabled=false   (needs no weights)
 *   v1         sem.enabled=true   loss.sem=0.01  loss.mul=0     c2f.enabled=false   (needs HRNet)
 *   v2         sem.enabled=true   loss.sem=0.01  loss.mul=0.01  c2f.enabled=false   (needs HRNet and CLIP)
 *   v3         sem.enabled=true   loss.sem=0.01  loss.mul=0.01  c2f.enabled=true    (the full DeepSPG; default)
 * </pre>
 * <b>Loss presets</b> (Table 3 rows; they set only the λs, the network follows {@code variant}):
 * {@code pix} (λ2=λ3=λ4=0), {@code pix+edge} (λ3=λ4=0), {@code pix+edge+sem} (λ4=0), {@code all} (defaults
 * λ = 1, 0.5, 0.01, 0.01).
 *
 * <p><b>Values</b>: booleans and enum-valued keys are read by {@link ConfigValues} (the parser the network
 * configuration {@link DeepSPGConfig} shares): {@code true/false}, {@code on/off}, {@code yes/no}, {@code 1/0}; enum
 * names case-insensitive. Errors (unknown key, unparsable or out-of-range value) throw one
 * {@link IllegalArgumentException} naming the key and, for choices, the allowed values.
 *
 * <p><b>Text form</b>: {@link #toText()} / {@link #toProperties()} hold every resolved key as written (what
 * {@code config.properties} and training checkpoints store); loading that text gives an equal configuration.
 */
public final class TrainConfig {
  /** Largest {@code data.cache_mb} (1 PiB; MiB shifted to bytes must not overflow a long). */
  static final long MAX_CACHE_MB = 1L << 30;

  /**
   * One configuration key.
   *
   * @param name the key
   * @param defaultValue default text ("" = unset / derived, see the doc)
   * @param doc one-line meaning
   */
  public record Key(String name, String defaultValue, String doc) {}

  /** The ablation variants of Table 2 (presets {@link TrainPresets#VARIANT}; text {@code baseline}, {@code v1}...). */
  public enum Variant {
    /** No SEMs, λ3 = λ4 = 0, no C2F. */
    BASELINE,
    /** + SEMs and L_sem. */
    V1,
    /** + L_mul. */
    V2,
    /** + C2F: the full model. */
    V3
  }

  /**
   * Where the run happens and what it writes.
   *
   * @param dir {@code run.dir}: output folder
   * @param seed {@code seed}
   * @param threads {@code threads}: libtorch intra-op threads (0 = default)
   * @param device {@code device}: "cpu" or "cuda"
   */
  public record Run(Path dir, long seed, int threads, String device) {}

  /**
   * The frozen prior networks' files.
   *
   * @param priorWeights {@code prior.weights}: weights of the prior named by {@code sem.prior} (null = not set)
   * @param hrnetWeights {@code hrnet.weights} (null = not set)
   * @param hrnetConfig {@code hrnet.config} (null = official W48 ADE20K topology)
   * @param hrnetInputNorm {@code hrnet.input_norm}
   * @param clipWeights {@code clip.weights} (null = not set)
   * @param clipConfig {@code clip.config} (null = ViT-B/16)
   * @param clipTokenizer {@code clip.tokenizer} (null = next to the CLIP weights)
   */
  public record PriorFiles(Path priorWeights, Path hrnetWeights, Path hrnetConfig, InputNorm hrnetInputNorm,
      Path clipWeights, Path clipConfig, Path clipTokenizer) {}

  /**
   * The loss terms.
   *
   * @param weights {@code loss.pix}, {@code loss.edge}, {@code loss.sem}, {@code loss.mul}, {@code loss.color}:
   *     λ1..λ5
   * @param edgeOperator {@code loss.edge.operator}
   * @param semTemperature {@code loss.sem.temperature}: T of L_sem
   * @param lowText {@code loss.mul.low_text}: CLIP prompt t_L
   * @param highText {@code loss.mul.high_text}: CLIP prompt t_H
   */
  public record LossSettings(Losses.Weights weights, EdgeOperator edgeOperator, double semTemperature,
      String lowText, String highText) {}

  /**
   * How long and on what patches.
   *
   * @param epochs {@code epochs}
   * @param patch {@code patch}: patch side when C2F is off
   * @param batch {@code batch}: batch size when C2F is off
   * @param c2fEnabled {@code c2f.enabled}
   * @param c2fPatchScale {@code c2f.patch_scale}
   * @param c2fBatchScale {@code c2f.batch_scale}
   * @param maxSteps {@code max_steps} (0 = all epochs)
   */
  public record Steps(int epochs, int patch, int batch, boolean c2fEnabled, double c2fPatchScale,
      double c2fBatchScale, long maxSteps) {
    /** @return the patch/batch schedule over the epochs */
    public CoarseToFine schedule() {
      return c2fEnabled ? CoarseToFine.paper(epochs, c2fPatchScale, c2fBatchScale)
          : CoarseToFine.fixed(epochs, patch, batch);
    }
  }

  /**
   * Adam and its learning-rate schedule.
   *
   * @param lr {@code lr}: initial learning rate
   * @param lrMin {@code lr.min}: final learning rate of the cosine decay
   * @param warmupSteps {@code lr.warmup_steps}
   * @param beta1 {@code adam.beta1}
   * @param beta2 {@code adam.beta2}
   * @param eps {@code adam.eps}
   * @param gradClip {@code grad_clip}: global gradient-norm clip (0 = off)
   */
  public record Optimizer(double lr, double lrMin, long warmupSteps, double beta1, double beta2, double eps,
      double gradClip) {}

  /**
   * One dataset ({@code data.train} or {@code data.val} with its {@code .layout}, {@code .low}, {@code .high}).
   *
   * @param key the root key, {@code data.train} or {@code data.val} (for messages)
   * @param split the split a split layout contributes ({@code TRAIN} for data.train, {@code TEST} for data.val)
   * @param root the dataset root (null = not set)
   * @param layout the layout the root must have, or null to detect it ({@code auto}, and with {@code folders})
   * @param folders whether the pairs come from {@code low} and {@code high}: layout {@code folders} (the root is
   *     then not used), or {@code auto} with both folders given (and no root)
   * @param low {@code .low} (null = not set)
   * @param high {@code .high} (null = not set)
   */
  public record DataSource(String key, Split split, Path root, DatasetLayouts.Layout layout, boolean folders,
      Path low, Path high) {}

  /**
   * The data pipeline.
   *
   * @param train {@code data.train*}
   * @param val {@code data.val*}
   * @param flips {@code data.augment.flips}
   * @param rotations {@code data.augment.rotations}
   * @param workers {@code data.workers}
   * @param prefetch {@code data.prefetch}
   * @param cacheMb {@code data.cache_mb}
   */
  public record Data(DataSource train, DataSource val, boolean flips, boolean rotations, int workers, int prefetch,
      long cacheMb) {}

  /**
   * When and on what to validate.
   *
   * @param everyEpochs {@code val.every_epochs} (0 = never by epoch)
   * @param everySteps {@code val.every_steps} (0 = off)
   * @param maxImages {@code val.max_images} (0 = all)
   * @param sampleCount {@code sample.count}: images in the sample grid
   */
  public record Validation(int everyEpochs, long everySteps, int maxImages, int sampleCount) {}

  /**
   * Checkpoints, logs and plots.
   *
   * @param checkpointEverySteps {@code checkpoint.every_steps}
   * @param logEverySteps {@code log.every_steps}
   * @param gradNormSteps {@code log.grad_norm_steps}
   * @param plots {@code plots}
   */
  public record Output(long checkpointEverySteps, long logEverySteps, long gradNormSteps, boolean plots) {}


  private static final List<Key> KEY_LIST = List.of(
      new Key("run.dir", "runs/deepspg", "output folder: last.pth, best.pth, model_final.pth, metrics.jsonl, plots, samples"),
      new Key("seed", "0", "seed of the weight initialisation, the data order and the crops (all derived from (seed, epoch, index))"),
      new Key("threads", "0", "libtorch intra-op threads (0 = OMP_NUM_THREADS, else every available processor; "
          + "with --nproc N each worker gets processors / N)"),
      new Key("device", "cpu", "cpu or cuda (cuda: untested in this repository's CI)"),
      new Key("variant", "v3", "ablation preset of Table 2: baseline | v1 | v2 | v3 (full DeepSPG)"),
      new Key("losses", "", "loss preset of Table 3: pix | pix+edge | pix+edge+sem | all (empty = as the variant)"),
      new Key("model.size", "s", "network size: s (C=20, DeepSPG-S) or l (C=40, DeepSPG-L)"),
      new Key(DeepSPGConfig.KEY_CHANNELS, "", "base width C (empty = from model.size)"),
      new Key(DeepSPGConfig.KEY_BLOCKS, "", "IGABs per scale a,b,c (empty = 2,2,2)"),
      new Key(DeepSPGConfig.KEY_SEM_ENABLED, "", "build the five SEMs fed by HRNet (empty = from variant)"),
      new Key(DeepSPGConfig.KEY_SEM_Q_DENSE, "", "SEM dense 3x3 q-conv (SKF) instead of depthwise (empty = false)"),
      new Key(DeepSPGConfig.KEY_SEM_SHARED_LN, "", "SEM one LayerNorm for R and S (SKF) (empty = false)"),
      new Key(DeepSPGConfig.KEY_SEM_SKF_RESIDUAL, "", "SEM attention residual from LN(R) (SKF) (empty = false)"),
      new Key(DeepSPGConfig.KEY_SEM_FFN_EXPANSION, "", "SEM GDFN expansion (empty = 2.0)"),
      new Key(DeepSPGConfig.KEY_RETINEX_PRIOR, "", "illumination prior channel mean | max (empty = mean)"),
      new Key(DeepSPGConfig.KEY_SEM_PRIOR, "", "image prior of the SEMs and of L_sem: hrnet-w48 (the paper's) | "
          + "espnetv2 (light; its weights in prior.weights) (empty = hrnet-w48)"),
      new Key(DeepSPGConfig.KEY_SEM_PRIOR_INPUT, "", "what the image prior sees: input (the dark image, as in the "
          + "paper) | retinex (the network's light-up X_r; docs/priors.md) (empty = input)"),
      new Key("prior.weights", "", "weights of the image prior named by sem.prior (espnetv2: "
          + "espnetv2_s_2.0_city_1024x512.pth ...; hrnet-w48: as hrnet.weights, which it overrides)"),
      new Key("hrnet.weights", "", "HRNet-W48 ADE20K checkpoint (hrnet_ade20k_4312_torch04.pth); needed when sem.enabled or loss.sem > 0"),
      new Key("hrnet.config", "", "HRNet topology JSON (empty = official W48 ADE20K); stage-4 branches 0-2 must have 48/96/192 channels for the SEMs"),
      new Key("hrnet.input_norm", "imagenet", "HRNet input normalisation: imagenet (what the weights expect) | none (SKF)"),
      new Key("clip.weights", "", "CLIP ViT-B/16 weights (ViT-B-16.pt); needed when loss.mul > 0"),
      new Key("clip.config", "", "CLIP hyper-parameters JSON (manifest with a 'config' object; empty = ViT-B/16)"),
      new Key("clip.tokenizer", "", "bpe_simple_vocab_16e6.txt.gz (empty = that file next to clip.weights)"),
      new Key("loss.pix", "1", "λ1, weight of L_pix (MSE)"),
      new Key("loss.edge", "0.5", "λ2, weight of L_edge"),
      new Key("loss.sem", "0.01", "λ3, weight of the semantic KL loss L_sem (HRNet)"),
      new Key("loss.mul", "0.01", "λ4, weight of the multimodal CLIP loss L_mul"),
      new Key("loss.color", "0", "λ5, weight of L_color = L_over + L_chroma (saturated highlights, hue shifts, "
          + "casts, washed-out colour; not in the paper)"),
      new Key("loss.edge.operator", "diff", "edge derivative: diff (forward differences) | sobel"),
      new Key("loss.sem.temperature", "1", "softmax temperature T of L_sem"),
      new Key("loss.mul.low_text", "low-light image", "CLIP prompt t_L"),
      new Key("loss.mul.high_text", "high-light image", "CLIP prompt t_H"),
      new Key("epochs", "500", "epochs (one epoch = one random crop of every training pair)"),
      new Key("patch", "128", "patch side when C2F is off (multiple of 32)"),
      new Key("batch", "16", "batch size when C2F is off"),
      new Key("c2f.enabled", "", "coarse-to-fine progressive patches (spec §4.6 table; empty = from variant)"),
      new Key("c2f.patch_scale", "1", "multiplier on the C2F patch sizes 128..384 (rounded to multiples of 32)"),
      new Key("c2f.batch_scale", "1", "multiplier on the C2F batch sizes 16..2"),
      new Key("lr", "3e-4", "initial learning rate (Adam)"),
      new Key("lr.min", "1e-6", "final learning rate of the cosine decay over all steps of the run"),
      new Key("lr.warmup_steps", "0", "linear warm-up steps"),
      new Key("adam.beta1", "0.9", "Adam β1"),
      new Key("adam.beta2", "0.999", "Adam β2"),
      new Key("adam.eps", "1e-8", "Adam ε"),
      new Key("grad_clip", "0.01", "global gradient-norm clip (0 = off)"),
      new Key("max_steps", "0", "stop after this many optimiser steps in total (0 = run all epochs); the LR schedule still spans all epochs"),
      new Key("data.train", "", "training dataset root (LOL-v1, LOL-v2 real/synthetic, train|test/{low,high}, low/+high/)"),
      new Key("data.train.layout", "auto", "auto | lol-v1 | lol-v2-real | lol-v2-synthetic | split | flat | folders"),
      new Key("data.train.low", "", "low-light folder, with data.train.high instead of data.train (selects layout "
          + "folders; refused with another layout, or with a root unless the layout is folders)"),
      new Key("data.train.high", "", "normal-light folder, with data.train.low"),
      new Key("data.val", "", "validation dataset root (empty = the test split of data.train, if it has one)"),
      new Key("data.val.layout", "auto", "as data.train.layout"),
      new Key("data.val.low", "", "validation low-light folder, with data.val.high instead of data.val (as "
          + "data.train.low)"),
      new Key("data.val.high", "", "validation normal-light folder, with data.val.low"),
      new Key("data.augment.flips", "true", "random horizontal/vertical flips"),
      new Key("data.augment.rotations", "true", "random 90° rotations"),
      new Key("data.workers", "2", "background image-decoding threads (0 = on the training thread)"),
      new Key("data.prefetch", "4", "batches decoded ahead"),
      new Key("data.cache_mb", "0", "decoded-image cache in MiB (0 = none)"),
      new Key("val.every_epochs", "1", "validate every N epochs (0 = never by epoch)"),
      new Key("val.every_steps", "0", "also validate every N steps (0 = off)"),
      new Key("val.max_images", "0", "validate on the first N pairs only (0 = all)"),
      new Key("checkpoint.every_steps", "500", "write last.pth every N steps (also after every validation and at the end)"),
      new Key("log.every_steps", "10", "append a train record to metrics.jsonl every N steps"),
      new Key("log.grad_norm_steps", "200", "log the per-term gradient norms w.r.t. X_out for the first N steps (spec §4 calibration)"),
      new Key("sample.count", "4", "validation images in the sample grid PNG (low / output / target rows)"),
      new Key("plots", "true", "refresh PNG charts (losses, lr, val PSNR/SSIM) at every validation"));
  /** All keys in documentation order. */
  public static final List<Key> KEYS = KEY_LIST;

  private static final Map<String, Key> BY_NAME = new LinkedHashMap<>();

  static {
    for (Key k : KEY_LIST) BY_NAME.put(k.name, k);
  }

  private static final Set<String> MODEL_KEYS = Set.of(DeepSPGConfig.KEY_CHANNELS, DeepSPGConfig.KEY_BLOCKS,
      DeepSPGConfig.KEY_SEM_ENABLED, DeepSPGConfig.KEY_SEM_Q_DENSE, DeepSPGConfig.KEY_SEM_SHARED_LN,
      DeepSPGConfig.KEY_SEM_SKF_RESIDUAL, DeepSPGConfig.KEY_SEM_FFN_EXPANSION, DeepSPGConfig.KEY_RETINEX_PRIOR,
      DeepSPGConfig.KEY_SEM_PRIOR, DeepSPGConfig.KEY_SEM_PRIOR_INPUT);

  private final LinkedHashMap<String, String> values;
  private final Variant variant;
  private final String lossPreset;
  private final DeepSPGConfig model;
  private final Run run;
  private final PriorFiles priorFiles;
  private final LossSettings loss;
  private final Steps steps;
  private final Optimizer optimizer;
  private final Data data;
  private final Validation validation;
  private final Output output;

  /** Parses every key of the resolved text once, in documentation order; errors name the key. */
  private TrainConfig(LinkedHashMap<String, String> values, DeepSPGConfig model) {
    this.values = values;
    this.model = model;
    Values v = new Values(values);
    this.variant = ConfigValues.enumValue("variant", TrainPresets.find(TrainPresets.VARIANT, v.text("variant")).name(),
        Variant.class);
    this.lossPreset = v.text("losses");
    String run = v.text("run.dir");
    if (run.isEmpty()) throw new IllegalArgumentException("config key 'run.dir' must not be empty");
    String device = ConfigValues.oneOf("device", v.text("device"), List.of("cpu", "cuda"), s -> s);
    this.run = new Run(Paths.get(run), v.intAtLeast("seed", Integer.MIN_VALUE), v.intAtLeast("threads", 0), device);
    this.priorFiles = new PriorFiles(v.path("prior.weights"), v.path("hrnet.weights"), v.path("hrnet.config"),
        v.enumValue("hrnet.input_norm", InputNorm.class), v.path("clip.weights"), v.path("clip.config"),
        v.path("clip.tokenizer"));
    Losses.Weights w = new Losses.Weights(v.lossWeight("loss.pix"), v.lossWeight("loss.edge"),
        v.lossWeight("loss.sem"), v.lossWeight("loss.mul"), v.lossWeight("loss.color"));
    if (w.pix() + w.edge() + w.sem() + w.mul() + w.color() == 0) { // Losses refuses it too, after the model is built
      throw new IllegalArgumentException("config keys 'loss.pix', 'loss.edge', 'loss.sem', 'loss.mul' and "
          + "'loss.color' are all 0: at least one loss weight must be > 0");
    }
    String low = v.text("loss.mul.low_text"), high = v.text("loss.mul.high_text");
    if (low.isEmpty() || high.isEmpty()) {
      throw new IllegalArgumentException("config keys 'loss.mul.low_text' and 'loss.mul.high_text' must not be empty");
    }
    this.loss = new LossSettings(w, v.enumValue("loss.edge.operator", EdgeOperator.class),
        v.positive("loss.sem.temperature"), low, high);
    int epochs = v.intAtLeast("epochs", 1);
    int patch = v.intAtLeast("patch", 32);
    if (patch % 32 != 0) throw new IllegalArgumentException("config key 'patch' must be a multiple of 32, got " + patch);
    this.steps = new Steps(epochs, patch, v.intAtLeast("batch", 1), v.bool("c2f.enabled"),
        v.positive("c2f.patch_scale"), v.positive("c2f.batch_scale"), v.longAtLeast("max_steps", 0));
    double lr = v.positive("lr");
    double min = v.nonNegative("lr.min");
    if (min > lr) throw new IllegalArgumentException("config key 'lr.min' (" + min + ") must not exceed lr (" + lr + ")");
    long warmup = v.longAtLeast("lr.warmup_steps", 0);
    double b1 = v.nonNegative("adam.beta1"), b2 = v.nonNegative("adam.beta2");
    if (b1 >= 1) throw new IllegalArgumentException("config key 'adam.beta1' must be in [0, 1), got " + b1);
    if (b2 >= 1) throw new IllegalArgumentException("config key 'adam.beta2' must be in [0, 1), got " + b2);
    if (lr / (1 - b1) > Float.MAX_VALUE) { // Adam's first step scales by lr / (1 - beta1), in float
      throw new IllegalArgumentException("config key 'lr' (" + lr + ") divided by 1 - adam.beta1 (" + (1 - b1)
          + ") must be at most " + Float.MAX_VALUE + " (Adam's first step uses it in float)");
    }
    this.optimizer = new Optimizer(lr, min, warmup, b1, b2, v.positive("adam.eps"), v.nonNegative("grad_clip"));
    this.data = new Data(v.source("data.train", Split.TRAIN), v.source("data.val", Split.TEST),
        v.bool("data.augment.flips"), v.bool("data.augment.rotations"), v.intAtLeast("data.workers", 0),
        v.intAtLeast("data.prefetch", 1), v.longIn("data.cache_mb", 0, MAX_CACHE_MB));
    this.validation = new Validation(v.intAtLeast("val.every_epochs", 0), v.longAtLeast("val.every_steps", 0),
        v.intAtLeast("val.max_images", 0), v.intAtLeast("sample.count", 0));
    this.output = new Output(v.longAtLeast("checkpoint.every_steps", 0), v.longAtLeast("log.every_steps", 1),
        v.longAtLeast("log.grad_norm_steps", 0), v.bool("plots"));
  }

  // ------------------------------------------------------------------------------------------------------------
  // Construction

  /**
   * Resolves a configuration from explicit keys (see the class comment for the order).
   *
   * @param explicit keys set by the user (file and overrides merged)
   * @return the validated configuration
   * @throws IllegalArgumentException naming the key on an unknown key or a bad value
   */
  public static TrainConfig fromProperties(Properties explicit) {
    Map<String, String> ex = new LinkedHashMap<>();
    for (String k : new TreeMap<>(explicit).keySet().stream().map(Object::toString).toList()) {
      String key = k.trim();
      if (!BY_NAME.containsKey(key)) {
        throw new IllegalArgumentException("unknown config key '" + key + "'" + suggest(key)
            + " (deepspg train --help lists every key)");
      }
      ex.put(key, explicit.getProperty(k).trim());
    }
    LinkedHashMap<String, String> v = new LinkedHashMap<>();
    for (Key k : KEY_LIST) v.put(k.name, k.defaultValue);
    TrainPresets.Preset variant = TrainPresets.find(TrainPresets.VARIANT, ex.getOrDefault("variant", "v3"));
    v.putAll(variant.settings());
    v.put("variant", variant.name());
    String losses = ex.getOrDefault("losses", "");
    if (!losses.isEmpty()) {
      TrainPresets.Preset lp = TrainPresets.find(TrainPresets.LOSSES, losses);
      v.putAll(lp.settings());
      ex.put("losses", lp.name());
    }
    ex.remove("variant");
    v.putAll(ex);
    // The network: size defaults, then explicit model keys.
    DeepSPGConfig.Size size = ConfigValues.enumValue("model.size", v.get("model.size"), DeepSPGConfig.Size.class);
    Properties mp = DeepSPGConfig.of(size).toProperties();
    for (String mk : MODEL_KEYS) {
      String val = v.get(mk);
      if (val != null && !val.isEmpty()) mp.setProperty(mk, val);
    }
    DeepSPGConfig model;
    try {
      model = DeepSPGConfig.fromProperties(mp);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("model config: " + e.getMessage(), e);
    }
    Properties resolved = model.toProperties();
    for (String mk : MODEL_KEYS) v.put(mk, resolved.getProperty(mk));
    return new TrainConfig(v, model);
  }

  /**
   * The configuration a training checkpoint (or a run's {@code config.properties}) stores: the known keys of
   * {@code stored} resolved as by {@link #fromProperties}; other entries (the run position {@code state.*}) are
   * ignored.
   *
   * @param stored the checkpoint's metadata
   * @return the configuration
   * @throws IllegalArgumentException on a bad stored value, naming the key
   */
  public static TrainConfig fromStored(Properties stored) {
    Properties p = new Properties();
    for (String k : BY_NAME.keySet()) {
      String v = stored.getProperty(k);
      if (v != null) p.setProperty(k, v);
    }
    return fromProperties(p);
  }

  /**
   * Reads a properties file and applies {@code key=value} overrides.
   *
   * @param file the properties file (null = none, defaults only)
   * @param overrides {@code key=value} strings (later ones win)
   * @return the configuration
   * @throws IOException when the file cannot be read
   * @throws IllegalArgumentException on a malformed override, an unknown key or a bad value
   */
  public static TrainConfig load(Path file, List<String> overrides) throws IOException {
    Properties p = new Properties();
    if (file != null) p.putAll(readProperties(file));
    p.putAll(parseOverrides(overrides));
    return fromProperties(p);
  }

  /**
   * Reads a properties file (UTF-8).
   *
   * @param file path
   * @return its keys
   * @throws IOException when it cannot be read
   */
  public static Properties readProperties(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("--config: " + (Files.isDirectory(file) ? "a folder, not a file: "
          : "no such file: ") + file.toAbsolutePath() + " (the configs/ folder of the repository has examples)");
    }
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      r.mark(1);
      if (r.read() != '\uFEFF') r.reset(); // a byte-order mark (some Windows editors) would join the first key
      p.load(r);
    } catch (java.nio.charset.CharacterCodingException e) {
      throw new IllegalArgumentException("--config: " + file + " is not UTF-8 text (save it as UTF-8; non-ASCII "
          + "characters are allowed in comments and values)", e);
    }
    return p;
  }

  /**
   * Parses {@code key=value} arguments.
   *
   * @param overrides the arguments (null = none)
   * @return them as properties
   * @throws IllegalArgumentException for an argument without '=' or with an empty key
   */
  public static Properties parseOverrides(List<String> overrides) {
    Properties p = new Properties();
    if (overrides == null) return p;
    for (String o : overrides) {
      int eq = o.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("override '" + o + "' is not key=value (e.g. epochs=10)");
      }
      p.setProperty(o.substring(0, eq).trim(), o.substring(eq + 1).trim());
    }
    return p;
  }

  /**
   * This configuration with more explicit keys applied on top of its resolved values (used on resume: the stored
   * configuration plus the user's overrides). The presets are not re-applied: {@code variant} and {@code losses}
   * cannot change this way.
   *
   * @param more keys to set
   * @return the new configuration
   * @throws IllegalArgumentException when {@code more} changes variant or losses, or on a bad key/value
   */
  public TrainConfig with(Properties more) {
    Properties p = toProperties();
    for (String k : more.stringPropertyNames()) {
      String val = more.getProperty(k).trim();
      boolean selector = k.equals(TrainPresets.VARIANT) || k.equals(TrainPresets.LOSSES);
      if (selector && !presetName(k, val).equals(presetName(k, p.getProperty(k, "")))) {
        throw new IllegalArgumentException("config key '" + k + "' cannot change on resume (stored: '"
            + p.getProperty(k, "") + "', given: '" + val + "'); set the individual switches instead");
      }
      p.setProperty(k.trim(), val);
    }
    return fromProperties(p);
  }

  /** The canonical name of a preset value ("" stays ""), so that aliases ({@code full} = {@code v3}) compare equal. */
  private static String presetName(String selector, String value) {
    return value.isBlank() ? "" : TrainPresets.find(selector, value).name();
  }

  // ------------------------------------------------------------------------------------------------------------
  // Typed settings

  /** @return the resolved ablation variant */
  public Variant variant() {
    return variant;
  }

  /** @return the {@code losses} preset's name ("" = none: the λs come from the variant and the explicit keys) */
  public String lossPreset() {
    return lossPreset;
  }

  /** @return the network configuration ({@code model.size} and the keys of {@link DeepSPGConfig}) */
  public DeepSPGConfig model() {
    return model;
  }

  /** @return run folder, seed, threads, device */
  public Run run() {
    return run;
  }

  /** @return the HRNet and CLIP files */
  public PriorFiles priorFiles() {
    return priorFiles;
  }

  /** @return loss weights, edge operator, L_sem temperature, CLIP prompts */
  public LossSettings loss() {
    return loss;
  }

  /** @return epochs, patches, batches, coarse-to-fine, step limit */
  public Steps steps() {
    return steps;
  }

  /** @return Adam, learning-rate schedule, gradient clipping */
  public Optimizer optimizer() {
    return optimizer;
  }

  /** @return datasets, augmentation, decoding threads and cache */
  public Data data() {
    return data;
  }

  /** @return validation cadence and size */
  public Validation validation() {
    return validation;
  }

  /** @return checkpoint and log cadence, plots */
  public Output output() {
    return output;
  }

  /** @return output folder ({@code run().dir()}) */
  public Path runDir() {
    return run.dir();
  }

  /** @return seed ({@code run().seed()}) */
  public long seed() {
    return run.seed();
  }

  /** @return libtorch threads, 0 = default ({@code run().threads()}) */
  public int threads() {
    return run.threads();
  }

  /** @return "cpu" or "cuda" ({@code run().device()}) */
  public String device() {
    return run.device();
  }

  /** @return the loss weights λ1..λ4 ({@code loss().weights()}) */
  public Losses.Weights lossWeights() {
    return loss.weights();
  }

  /** @return edge operator ({@code loss().edgeOperator()}) */
  public EdgeOperator edgeOperator() {
    return loss.edgeOperator();
  }

  /** @return T of L_sem ({@code loss().semTemperature()}) */
  public double semTemperature() {
    return loss.semTemperature();
  }

  /** @return HRNet input normalisation ({@code priorFiles().hrnetInputNorm()}) */
  public InputNorm hrnetInputNorm() {
    return priorFiles.hrnetInputNorm();
  }

  /** @return whether the run needs the image prior {@code sem.prior} (SEMs on, or λ3 &gt; 0) */
  public boolean needsImagePrior() {
    return model.semEnabled() || loss.weights().sem() > 0;
  }

  /** @return whether the run needs CLIP (λ4 &gt; 0) */
  public boolean needsClip() {
    return loss.weights().mul() > 0;
  }

  /** @return whether coarse-to-fine is on ({@code steps().c2fEnabled()}) */
  public boolean c2fEnabled() {
    return steps.c2fEnabled();
  }

  /** @return the patch/batch schedule over the epochs ({@code steps().schedule()}) */
  public CoarseToFine schedule() {
    return steps.schedule();
  }

  /**
   * The training settings an exported weights file records next to the network configuration: {@code variant}
   * (canonical preset name) and {@code hrnet.input_norm} (what the HRNet features fed to the SEMs were normalised
   * with; {@code ModelFiles} reads it back).
   *
   * @return the two keys with their canonical text
   */
  public Properties weightsMetadata() {
    Properties p = new Properties();
    p.setProperty("hrnet.input_norm", ConfigValues.text(priorFiles.hrnetInputNorm()));
    p.setProperty("variant", ConfigValues.text(variant));
    return p;
  }

  /**
   * Equal when every typed setting is equal (so {@code lr=3e-4} and {@code lr=0.0003} give equal configurations).
   *
   * @param o another object
   * @return whether it is an equal configuration
   */
  @Override
  public boolean equals(Object o) {
    return o instanceof TrainConfig c && variant == c.variant && lossPreset.equals(c.lossPreset)
        && model.equals(c.model) && run.equals(c.run) && priorFiles.equals(c.priorFiles) && loss.equals(c.loss)
        && steps.equals(c.steps) && optimizer.equals(c.optimizer) && data.equals(c.data)
        && validation.equals(c.validation) && output.equals(c.output);
  }

  @Override
  public int hashCode() {
    return Objects.hash(variant, lossPreset, model, run, priorFiles, loss, steps, optimizer, data, validation, output);
  }

  @Override
  public String toString() {
    return "TrainConfig" + nonDefaults();
  }

  // ------------------------------------------------------------------------------------------------------------
  // Output

  /** @return every resolved key (model keys as resolved by {@link DeepSPGConfig}) */
  public Properties toProperties() {
    Properties p = new Properties();
    values.forEach(p::setProperty);
    return p;
  }

  /** @return {@code key=value} lines in documentation order (a complete, re-loadable config file) */
  public String toText() {
    StringBuilder sb = new StringBuilder("# DeepSPG-Java training configuration (resolved)\n");
    values.forEach((k, v) -> sb.append(k).append('=').append(v.replace("\\", "\\\\")).append('\n'));
    return sb.toString();
  }

  /**
   * The documentation of every key: name, default, meaning (for {@code --help} and docs).
   *
   * @return text lines
   */
  public static String describeKeys() {
    StringBuilder sb = new StringBuilder();
    for (Key k : KEY_LIST) {
      sb.append("  ").append(k.name).append(" = ").append(k.defaultValue.isEmpty() ? "\"\"" : k.defaultValue)
          .append('\n').append("      ").append(k.doc).append('\n');
    }
    return sb.toString();
  }

  private static String suggest(String key) {
    String best = null;
    int bestD = Integer.MAX_VALUE;
    for (String k : BY_NAME.keySet()) {
      int d = distance(key.toLowerCase(Locale.ROOT), k); // keys are lower case: "Batch" means batch, not patch
      if (d < bestD) {
        bestD = d;
        best = k;
      }
    }
    return best != null && bestD <= Math.max(2, key.length() / 4) ? " (did you mean '" + best + "'?)" : "";
  }

  private static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1], cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) prev[j] = j;
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int c = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + c);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }

  /**
   * The keys that differ from their defaults (for logs).
   *
   * @return key to value
   */
  public Map<String, String> nonDefaults() {
    Map<String, String> m = new LinkedHashMap<>();
    for (Key k : KEY_LIST) if (!k.defaultValue.equals(values.get(k.name))) m.put(k.name, values.get(k.name));
    return m;
  }

  /** @return names of all keys */
  public static List<String> keyNames() {
    return new ArrayList<>(BY_NAME.keySet());
  }

  // ------------------------------------------------------------------------------------------------------------
  // Parsing of the resolved text: the only place keys are read by name

  /** Typed reads of resolved values; every error names the key. */
  private record Values(Map<String, String> map) {
    String text(String key) {
      String v = map.get(key);
      if (v == null) throw new IllegalStateException("no config key '" + key + "' in KEYS");
      return v;
    }

    Path path(String key) {
      String s = text(key);
      return s.isEmpty() ? null : Paths.get(s);
    }

    boolean bool(String key) {
      return ConfigValues.bool(key, text(key));
    }

    <E extends Enum<E>> E enumValue(String key, Class<E> type) {
      return ConfigValues.enumValue(key, text(key), type);
    }

    double dbl(String key) {
      try {
        return Double.parseDouble(text(key));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("config key '" + key + "' must be a number, got '" + text(key) + "'", e);
      }
    }

    long lng(String key) {
      try {
        return Long.parseLong(text(key));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("config key '" + key + "' must be an integer, got '" + text(key) + "'", e);
      }
    }

    /**
     * A number > 0 that a float32 holds (these values reach float tensors: a learning rate of 1e39 passed as
     * "finite" and failed at the first step with libtorch's "cannot be converted to type float without overflow").
     */
    double positive(String key) {
      double d = dbl(key);
      if (!(d > 0) || d > Float.MAX_VALUE || (float) d == 0) {
        throw new IllegalArgumentException("config key '" + key + "' must be a number > 0 that a float holds ("
            + Float.MIN_VALUE + " to " + Float.MAX_VALUE + "), got '" + text(key) + "'");
      }
      return d;
    }

    /** A number >= 0 that a float32 holds (see {@link #positive}). */
    double nonNegative(String key) {
      double d = dbl(key);
      if (!(d >= 0) || d > Float.MAX_VALUE) {
        throw new IllegalArgumentException("config key '" + key + "' must be a number >= 0 that a float holds (at "
            + "most " + Float.MAX_VALUE + "), got '" + text(key) + "'");
      }
      return d;
    }

    int intAtLeast(String key, int min) {
      long v = lng(key);
      if (v < min || v > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("config key '" + key + "' must be an integer >= " + min + ", got '"
            + text(key) + "'");
      }
      return (int) v;
    }

    /**
     * A loss weight: 0 (term off) or in [1e-6, 1e6]. Outside that range float32 losses underflow to 0 or overflow to
     * infinity (seen: loss.pix=1e30 gave an infinite gradient norm every step and a model that never trained).
     */
    double lossWeight(String key) {
      double d = nonNegative(key);
      if (d != 0 && (d < 1e-6 || d > 1e6)) {
        throw new IllegalArgumentException("config key '" + key + "' must be 0 (off) or in [1e-6, 1e6], got '"
            + text(key) + "'");
      }
      return d;
    }

    long longIn(String key, long min, long max) {
      long v = lng(key);
      if (v < min || v > max) {
        throw new IllegalArgumentException("config key '" + key + "' must be an integer in [" + min + ", " + max
            + "], got '" + text(key) + "'");
      }
      return v;
    }

    long longAtLeast(String key, long min) {
      long v = lng(key);
      if (v < min) {
        throw new IllegalArgumentException("config key '" + key + "' must be an integer >= " + min + ", got '"
            + text(key) + "'");
      }
      return v;
    }

    /** {@code prefix}, {@code prefix.layout} (auto | a {@link DatasetLayouts.Layout#key()} | folders), .low, .high. */
    DataSource source(String prefix, Split split) {
      String key = prefix + ".layout";
      List<String> names = new ArrayList<>(List.of("auto"));
      for (DatasetLayouts.Layout l : DatasetLayouts.Layout.values()) names.add(l.key());
      names.add("folders");
      String name = ConfigValues.oneOf(key, text(key), names, s -> s);
      DatasetLayouts.Layout layout = null;
      for (DatasetLayouts.Layout l : DatasetLayouts.Layout.values()) if (l.key().equals(name)) layout = l;
      Path root = path(prefix), low = path(prefix + ".low"), high = path(prefix + ".high");
      boolean folders = name.equals("folders");
      if (low != null || high != null) { // the two folders select layout folders; never ignored
        String both = "'" + prefix + ".low' and '" + prefix + ".high'";
        if (layout != null) {
          throw new IllegalArgumentException("config keys " + both + " name two folders, but '" + key + "' is "
              + name + ": set " + key + "=folders (or auto), or leave the two folders out");
        }
        if (root != null && !folders) { // an explicit layout=folders says which one counts
          throw new IllegalArgumentException("config key '" + prefix + "' (" + root + ") and config keys " + both
              + " both say where the data are: give either the dataset root or the two folders (to use the folders"
              + " with a config file that sets " + prefix + ", add " + prefix + "= or " + key + "=folders to the "
              + "command line)");
        }
        if (low == null || high == null) {
          throw new IllegalArgumentException("config key '" + prefix + (low == null ? ".low" : ".high")
              + "' is not set: " + both + " go together");
        }
        folders = true;
      }
      return new DataSource(prefix, split, root, layout, folders, low, high);
    }
  }
}
