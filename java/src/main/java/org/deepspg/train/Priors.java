/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.deepspg.model.DeepSPG;
import org.deepspg.model.clip.Clip;
import org.deepspg.model.clip.ClipConfig;
import org.deepspg.model.clip.ClipTokenizer;
import org.deepspg.model.hrnet.HRNet;
import org.deepspg.model.prior.EspnetPrior;
import org.deepspg.model.prior.HrnetPrior;
import org.deepspg.model.prior.ImagePrior;
import org.deepspg.model.prior.ImagePriors;
import org.deepspg.model.prior.MissingWeightsException;
import org.deepspg.model.prior.PriorWeights;

/**
 * The frozen prior networks a run needs: the image prior named by {@code sem.prior} (HRNet-W48 or ESPNetv2: SEM
 * features and L_sem) and CLIP + tokenizer (L_mul). Each may be null when the configuration does not need it.
 *
 * @param image the frozen image prior, or null
 * @param clip frozen CLIP, or null
 * @param tokenizer CLIP tokenizer, or null
 */
public record Priors(ImagePrior image, Clip clip, ClipTokenizer tokenizer) {
  /**
   * @param hrnet frozen HRNet (the image prior; owned by the caller), or null
   * @param clip frozen CLIP, or null
   * @param tokenizer CLIP tokenizer, or null
   */
  public Priors(HRNet hrnet, Clip clip, ClipTokenizer tokenizer) {
    this(hrnet == null ? null : HrnetPrior.borrow(hrnet), clip, tokenizer);
  }

  /** @return the HRNet when the image prior is HRNet, else null */
  public HRNet hrnet() {
    return image instanceof HrnetPrior h ? h.network() : null;
  }

  /** File name of OpenAI's BPE merges, looked for next to the CLIP weights when {@code clip.tokenizer} is empty. */
  public static final String VOCAB_FILE = "bpe_simple_vocab_16e6.txt.gz";

  /** No priors (ablation Baseline with λ3 = λ4 = 0). */
  public static final Priors NONE = new Priors((ImagePrior) null, null, null);

  /**
   * Loads what a configuration needs. Construct outside any {@code PointerScope}.
   *
   * @param cfg the configuration
   * @return the loaded, frozen networks
   * @throws MissingWeightsException when a needed weights file is not configured, missing, unreadable or holds
   *     another model (the message says which file is expected and how to run without it)
   * @throws IOException when a topology JSON cannot be read
   */
  public static Priors load(TrainConfig cfg) throws IOException {
    ImagePrior image = cfg.needsImagePrior() ? loadImagePrior(cfg) : null;
    Clip clip = null;
    ClipTokenizer tok = null;
    if (cfg.needsClip()) {
      clip = loadClip(cfg.priorFiles().clipWeights(), cfg.priorFiles().clipConfig());
      tok = loadTokenizer(cfg.priorFiles().clipTokenizer(), cfg.priorFiles().clipWeights());
    }
    return new Priors(image, clip, tok);
  }

  /**
   * Loads the image prior named by the model's {@code sem.prior}: ESPNetv2 from {@code prior.weights}, HRNet from
   * {@code prior.weights} or else {@code hrnet.weights} (with {@code hrnet.config} and {@code hrnet.input_norm}).
   *
   * @param cfg the configuration
   * @return the frozen prior
   * @throws IOException when the weights are missing or wrong (a {@link MissingWeightsException} naming the file)
   */
  public static ImagePrior loadImagePrior(TrainConfig cfg) throws IOException {
    TrainConfig.PriorFiles f = cfg.priorFiles();
    String id = cfg.model().semPrior();
    Path weights = f.priorWeights() != null || id.equals(EspnetPrior.ID) ? f.priorWeights() : f.hrnetWeights();
    ImagePrior prior = ImagePriors.load(id, weights, f.hrnetConfig(), cfg.hrnetInputNorm());
    if (cfg.model().semEnabled() && prior instanceof HrnetPrior h) checkSemChannels(h.network());
    return prior;
  }

  /**
   * Loads and freezes CLIP (the same checks and messages as {@link Clip#loadPretrained}).
   *
   * @param weights weights file (null = not configured)
   * @param manifest hyper-parameter JSON, or null for ViT-B/16
   * @return the frozen model
   * @throws MissingWeightsException when the weights are unusable
   * @throws IOException when the manifest cannot be read
   */
  public static Clip loadClip(Path weights, Path manifest) throws IOException {
    ClipConfig cc = manifest == null ? ClipConfig.vitB16() : ClipConfig.fromManifest(manifest);
    return PriorWeights.CLIP_VIT_B16.loadInto(weights, () -> new Clip(cc), Clip::loadStateDict).freeze();
  }

  /**
   * Loads the BPE tokenizer.
   *
   * @param vocab the merges file, or null to look for {@value #VOCAB_FILE} next to {@code clipWeights}
   * @param clipWeights the CLIP weights path (may be null)
   * @return the tokenizer
   * @throws IllegalArgumentException when no vocabulary file can be found
   */
  public static ClipTokenizer loadTokenizer(Path vocab, Path clipWeights) {
    Path v = vocab;
    if (v == null && clipWeights != null && clipWeights.toAbsolutePath().getParent() != null) {
      v = clipWeights.toAbsolutePath().getParent().resolve(VOCAB_FILE);
    }
    if (v == null || !Files.isRegularFile(v)) {
      throw new IllegalArgumentException("config key 'clip.tokenizer': CLIP's BPE vocabulary " + VOCAB_FILE
          + " not found" + (v == null ? "" : " at " + v) + "; set clip.tokenizer=PATH (the file ships with openai/CLIP)");
    }
    return ClipTokenizer.load(v);
  }

  /**
   * Checks that HRNet's stage-4 branches 0..2 have the channel counts the SEMs were built for.
   *
   * @param hrnet the network
   * @throws IllegalArgumentException naming both channel lists otherwise
   */
  public static void checkSemChannels(HRNet hrnet) {
    int[] have = hrnet.config().featureChannels();
    int[] want = DeepSPG.HRNET_CHANNELS;
    if (have.length < 3 || have[0] != want[0] || have[1] != want[1] || have[2] != want[2]) {
      throw new IllegalArgumentException("the SEMs need HRNet stage-4 branches with " + Arrays.toString(want)
          + " channels, this HRNet has " + Arrays.toString(have) + " (check hrnet.config)");
    }
  }
}
