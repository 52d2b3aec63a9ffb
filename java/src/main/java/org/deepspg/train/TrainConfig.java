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
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import org.deepspg.model.DeepSPGConfig;
import org.deepspg.model.hrnet.InputNorm;
import org.deepspg.ops.EdgeOperator;

/**
 * A training run's configuration: a properties file plus {@code key=value} command-line overrides, with presets for
 * the paper's ablations (Tables 2 and 3). Every key, its default and its meaning is in {@link #KEYS} (printed by
 * {@code deepspg train --help} and listed in {@code docs/training.md}).
 *
 * <p><b>Resolution order</b> (later wins): built-in defaults → the {@code variant} preset → the {@code losses}
 * preset → every key written explicitly (file, then command line). So {@code variant=v1 loss.sem=0.05} is Variant 1
 * with a different λ3.
 *
 * <p><b>Variants</b> (Table 2, spec §4.6 ablation map):
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
 * <p>Errors (unknown key, unparsable or out-of-range value) throw {@link IllegalArgumentException} naming the key.
 */
public final class TrainConfig {
  /**
   * One configuration key.
   *
   * @param name the key
   * @param defaultValue default text ("" = unset / derived, see the doc)
   * @param doc one-line meaning
   */
  public record Key(String name, String defaultValue, String doc) {}

  /** The ablation variants of Table 2. */
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

  /** Dataset layouts a config can ask for ({@code data.train.layout}). */
  public enum DataLayout {
    /** Detect (DatasetLayouts). */
    AUTO,
    /** LOL-v1: our485/eval15. */
    LOL_V1,
    /** LOL-v2 real-captured. */
    LOL_V2_REAL,
    /** LOL-v2 synthetic. */
    LOL_V2_SYNTHETIC,
    /** train|test/{low,high} (our synthesizer's output). */
    SPLIT,
    /** low/ + high/ in one folder (no split). */
    FLAT,
    /** Two explicit folders given by {@code data.*.low} and {@code data.*.high}. */
    FOLDERS
  }

  private static final List<Key> KEY_LIST = List.of(
      new Key("run.dir", "runs/deepspg", "output folder: last.pth, best.pth, model_final.pth, metrics.jsonl, plots, samples"),
      new Key("seed", "0", "seed of the weight initialisation, the data order and the crops (all derived from (seed, epoch, index))"),
      new Key("threads", "0", "libtorch intra-op threads (0 = OMP_NUM_THREADS, else every available processor)"),
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
      new Key("data.train.low", "", "low-light folder (layout folders)"),
      new Key("data.train.high", "", "normal-light folder (layout folders)"),
      new Key("data.val", "", "validation dataset root (empty = the test split of data.train, if it has one)"),
      new Key("data.val.layout", "auto", "as data.train.layout"),
      new Key("data.val.low", "", "validation low-light folder (layout folders)"),
      new Key("data.val.high", "", "validation normal-light folder (layout folders)"),
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
      DeepSPGConfig.KEY_SEM_SKF_RESIDUAL, DeepSPGConfig.KEY_SEM_FFN_EXPANSION, DeepSPGConfig.KEY_RETINEX_PRIOR);

  private final LinkedHashMap<String, String> values;
  private final DeepSPGConfig model;
  private final Variant variant;

  private TrainConfig(LinkedHashMap<String, String> values, DeepSPGConfig model, Variant variant) {
    this.values = values;
    this.model = model;
    this.variant = variant;
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
    Variant variant = parseVariant(ex.getOrDefault("variant", "v3"));
    v.put("variant", variant.name().toLowerCase(Locale.ROOT));
    applyVariant(v, variant);
    String losses = ex.getOrDefault("losses", "");
    if (!losses.isEmpty()) applyLosses(v, losses);
    v.putAll(ex);
    // The network: size defaults, then explicit model keys.
    String size = v.get("model.size").toLowerCase(Locale.ROOT);
    DeepSPGConfig base = switch (size) {
      case "s" -> DeepSPGConfig.s();
      case "l" -> DeepSPGConfig.l();
      default -> throw new IllegalArgumentException("config key 'model.size' must be s or l, got '" + size + "'");
    };
    Properties mp = base.toProperties();
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
    for (String mk : MODEL_KEYS) v.put(mk, model.toProperties().getProperty(mk));
    TrainConfig c = new TrainConfig(v, model, variant);
    c.validate();
    return c;
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
      throw new IllegalArgumentException("--config: no such file: " + file.toAbsolutePath()
          + " (the configs/ folder of the repository has examples)");
    }
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      p.load(r);
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
      if ((k.equals("variant") || k.equals("losses")) && !val.equalsIgnoreCase(p.getProperty(k, ""))) {
        throw new IllegalArgumentException("config key '" + k + "' cannot change on resume (stored: '"
            + p.getProperty(k, "") + "', given: '" + val + "'); set the individual switches instead");
      }
      p.setProperty(k.trim(), val);
    }
    return fromProperties(p);
  }

  private static void applyVariant(Map<String, String> v, Variant variant) {
    switch (variant) {
      case BASELINE -> {
        v.put(DeepSPGConfig.KEY_SEM_ENABLED, "false");
        v.put("loss.sem", "0");
        v.put("loss.mul", "0");
        v.put("c2f.enabled", "false");
      }
      case V1 -> {
        v.put(DeepSPGConfig.KEY_SEM_ENABLED, "true");
        v.put("loss.mul", "0");
        v.put("c2f.enabled", "false");
      }
      case V2 -> {
        v.put(DeepSPGConfig.KEY_SEM_ENABLED, "true");
        v.put("c2f.enabled", "false");
      }
      case V3 -> {
        v.put(DeepSPGConfig.KEY_SEM_ENABLED, "true");
        v.put("c2f.enabled", "true");
      }
    }
  }

  private static void applyLosses(Map<String, String> v, String preset) {
    String p = preset.toLowerCase(Locale.ROOT).replace(" ", "");
    v.put("loss.pix", BY_NAME.get("loss.pix").defaultValue);
    v.put("loss.edge", BY_NAME.get("loss.edge").defaultValue);
    v.put("loss.sem", BY_NAME.get("loss.sem").defaultValue);
    v.put("loss.mul", BY_NAME.get("loss.mul").defaultValue);
    switch (p) {
      case "pix" -> {
        v.put("loss.edge", "0");
        v.put("loss.sem", "0");
        v.put("loss.mul", "0");
      }
      case "pix+edge" -> {
        v.put("loss.sem", "0");
        v.put("loss.mul", "0");
      }
      case "pix+edge+sem" -> v.put("loss.mul", "0");
      case "all" -> { }
      default -> throw new IllegalArgumentException("config key 'losses' must be pix, pix+edge, pix+edge+sem or all, got '"
          + preset + "'");
    }
    v.put("losses", p);
  }

  private static Variant parseVariant(String s) {
    String t = s.trim().toLowerCase(Locale.ROOT);
    return switch (t) {
      case "baseline" -> Variant.BASELINE;
      case "v1", "variant1" -> Variant.V1;
      case "v2", "variant2" -> Variant.V2;
      case "v3", "variant3", "full" -> Variant.V3;
      default -> throw new IllegalArgumentException("config key 'variant' must be baseline, v1, v2 or v3, got '" + s + "'");
    };
  }

  /** Parses every typed key once so that errors surface at load time, naming the key. */
  private void validate() {
    intAtLeast("seed", Integer.MIN_VALUE);
    intAtLeast("threads", 0);
    device();
    edgeOperator();
    hrnetInputNorm();
    for (String k : new String[] {"loss.pix", "loss.edge", "loss.sem", "loss.mul"}) nonNegative(k);
    positive("loss.sem.temperature");
    intAtLeast("epochs", 1);
    int patch = intAtLeast("patch", 32);
    if (patch % 32 != 0) throw new IllegalArgumentException("config key 'patch' must be a multiple of 32, got " + patch);
    intAtLeast("batch", 1);
    bool("c2f.enabled");
    positive("c2f.patch_scale");
    positive("c2f.batch_scale");
    double lr = positive("lr");
    double min = nonNegative("lr.min");
    if (min > lr) throw new IllegalArgumentException("config key 'lr.min' (" + min + ") must not exceed lr (" + lr + ")");
    longAtLeast("lr.warmup_steps", 0);
    double b1 = nonNegative("adam.beta1"), b2 = nonNegative("adam.beta2");
    if (b1 >= 1) throw new IllegalArgumentException("config key 'adam.beta1' must be in [0, 1), got " + b1);
    if (b2 >= 1) throw new IllegalArgumentException("config key 'adam.beta2' must be in [0, 1), got " + b2);
    positive("adam.eps");
    nonNegative("grad_clip");
    longAtLeast("max_steps", 0);
    dataLayout("data.train.layout");
    dataLayout("data.val.layout");
    bool("data.augment.flips");
    bool("data.augment.rotations");
    intAtLeast("data.workers", 0);
    intAtLeast("data.prefetch", 1);
    longAtLeast("data.cache_mb", 0);
    intAtLeast("val.every_epochs", 0);
    longAtLeast("val.every_steps", 0);
    intAtLeast("val.max_images", 0);
    longAtLeast("checkpoint.every_steps", 0);
    longAtLeast("log.every_steps", 1);
    longAtLeast("log.grad_norm_steps", 0);
    intAtLeast("sample.count", 0);
    bool("plots");
    if (get("run.dir").isEmpty()) throw new IllegalArgumentException("config key 'run.dir' must not be empty");
    if (get("loss.mul.low_text").isEmpty() || get("loss.mul.high_text").isEmpty()) {
      throw new IllegalArgumentException("config keys 'loss.mul.low_text' and 'loss.mul.high_text' must not be empty");
    }
  }

  // ------------------------------------------------------------------------------------------------------------
  // Typed accessors

  /** @return the resolved ablation variant */
  public Variant variant() {
    return variant;
  }

  /** @return the network configuration */
  public DeepSPGConfig model() {
    return model;
  }

  /**
   * @param key a key of {@link #KEYS}
   * @return its resolved text ("" when unset)
   */
  public String get(String key) {
    String v = values.get(key);
    if (v == null) throw new IllegalArgumentException("unknown config key '" + key + "'");
    return v;
  }

  /** @return output folder */
  public Path runDir() {
    return Paths.get(get("run.dir"));
  }

  /** @return seed */
  public long seed() {
    return Long.parseLong(get("seed"));
  }

  /** @return libtorch threads (0 = default) */
  public int threads() {
    return Integer.parseInt(get("threads"));
  }

  /** @return "cpu" or "cuda" */
  public String device() {
    String d = get("device").toLowerCase(Locale.ROOT);
    if (!d.equals("cpu") && !d.equals("cuda")) {
      throw new IllegalArgumentException("config key 'device' must be cpu or cuda, got '" + d + "'");
    }
    return d;
  }

  /** @return the loss weights λ1..λ4 */
  public Losses.Weights lossWeights() {
    return new Losses.Weights(dbl("loss.pix"), dbl("loss.edge"), dbl("loss.sem"), dbl("loss.mul"));
  }

  /** @return edge operator */
  public EdgeOperator edgeOperator() {
    String s = get("loss.edge.operator").toLowerCase(Locale.ROOT);
    return switch (s) {
      case "diff" -> EdgeOperator.DIFF;
      case "sobel" -> EdgeOperator.SOBEL;
      default -> throw new IllegalArgumentException("config key 'loss.edge.operator' must be diff or sobel, got '" + s + "'");
    };
  }

  /** @return T of L_sem */
  public double semTemperature() {
    return dbl("loss.sem.temperature");
  }

  /** @return HRNet input normalisation */
  public InputNorm hrnetInputNorm() {
    String s = get("hrnet.input_norm").toLowerCase(Locale.ROOT);
    return switch (s) {
      case "imagenet" -> InputNorm.IMAGENET;
      case "none" -> InputNorm.NONE;
      default -> throw new IllegalArgumentException("config key 'hrnet.input_norm' must be imagenet or none, got '" + s + "'");
    };
  }

  /** @return whether the run needs HRNet (SEMs on, or λ3 &gt; 0) */
  public boolean needsHrnet() {
    return model.semEnabled() || dbl("loss.sem") > 0;
  }

  /** @return whether the run needs CLIP (λ4 &gt; 0) */
  public boolean needsClip() {
    return dbl("loss.mul") > 0;
  }

  /**
   * @param key a path key
   * @return the path, or null when empty
   */
  public Path path(String key) {
    String s = get(key);
    return s.isEmpty() ? null : Paths.get(s);
  }

  /** @return whether coarse-to-fine is on */
  public boolean c2fEnabled() {
    return bool("c2f.enabled");
  }

  /** @return the patch/batch schedule over the epochs */
  public CoarseToFine schedule() {
    int epochs = Integer.parseInt(get("epochs"));
    return c2fEnabled()
        ? CoarseToFine.paper(epochs, dbl("c2f.patch_scale"), dbl("c2f.batch_scale"))
        : CoarseToFine.fixed(epochs, Integer.parseInt(get("patch")), Integer.parseInt(get("batch")));
  }

  /**
   * @param key a numeric key
   * @return its value
   */
  public double dbl(String key) {
    try {
      return Double.parseDouble(get(key));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("config key '" + key + "' must be a number, got '" + get(key) + "'", e);
    }
  }

  /**
   * @param key an integer key
   * @return its value
   */
  public long lng(String key) {
    try {
      return Long.parseLong(get(key));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("config key '" + key + "' must be an integer, got '" + get(key) + "'", e);
    }
  }

  /**
   * @param key a boolean key
   * @return its value
   */
  public boolean bool(String key) {
    String s = get(key).toLowerCase(Locale.ROOT);
    if (s.equals("true") || s.equals("yes") || s.equals("on") || s.equals("1")) return true;
    if (s.equals("false") || s.equals("no") || s.equals("off") || s.equals("0")) return false;
    throw new IllegalArgumentException("config key '" + key + "' must be true or false, got '" + get(key) + "'");
  }

  /**
   * @param key "data.train.layout" or "data.val.layout"
   * @return the layout
   */
  public DataLayout dataLayout(String key) {
    String s = get(key).toUpperCase(Locale.ROOT).replace('-', '_');
    try {
      return DataLayout.valueOf(s);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("config key '" + key
          + "' must be auto, lol-v1, lol-v2-real, lol-v2-synthetic, split, flat or folders, got '" + get(key) + "'", e);
    }
  }

  private double positive(String key) {
    double d = dbl(key);
    if (!(d > 0) || Double.isInfinite(d)) {
      throw new IllegalArgumentException("config key '" + key + "' must be a finite number > 0, got '" + get(key) + "'");
    }
    return d;
  }

  private double nonNegative(String key) {
    double d = dbl(key);
    if (!(d >= 0) || Double.isInfinite(d)) {
      throw new IllegalArgumentException("config key '" + key + "' must be a finite number >= 0, got '" + get(key) + "'");
    }
    return d;
  }

  private int intAtLeast(String key, int min) {
    long v = lng(key);
    if (v < min || v > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("config key '" + key + "' must be an integer >= " + min + ", got '" + get(key) + "'");
    }
    return (int) v;
  }

  private long longAtLeast(String key, long min) {
    long v = lng(key);
    if (v < min) {
      throw new IllegalArgumentException("config key '" + key + "' must be an integer >= " + min + ", got '" + get(key) + "'");
    }
    return v;
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
      int d = distance(key, k);
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
}
