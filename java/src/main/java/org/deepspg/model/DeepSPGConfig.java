/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model;

import java.io.IOException;
import java.io.StringReader;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.deepspg.io.ConfigValues;
import org.deepspg.nn.SEM;
import org.deepspg.ops.PriorMode;

/**
 * Configuration of the DeepSPG enhancement network (spec §1.7 and the config switches of §1–3).
 *
 * <p>Text form ({@link #toProperties()} / {@link #fromProperties(Properties)}), keys and defaults (DeepSPG-S):
 * <pre>
 *   model.channels = 20          base width C (S: 20, L: 40); multiple of 4
 *   model.blocks = 2,2,2         IGABs per scale: encoder L0, encoder L1, bottleneck L2 (decoders mirror L1, L0)
 *   sem.enabled = true           false: ablation "Baseline", no SEM constructed, no HRNet features needed
 *   sem.q_dense = false          dense 3×3 q-conv (SKF code) instead of depthwise
 *   sem.shared_ln = false        one LayerNorm for R and S (SKF) instead of separate ln_r / ln_s
 *   sem.skf_residual = false     attention residual from LN(R) (SKF) instead of R
 *   sem.ffn_expansion = 2.0      SEM GDFN expansion (hidden = (int) (d·e); 2.66 = SKF default)
 *   retinex.prior = mean         illumination prior channel: mean | max
 *   sem.prior = hrnet-w48        the image prior the SEMs were trained with ({@code ImagePrior.id()}):
 *                                hrnet-w48 | espnetv2
 *   sem.channels = 48,96,192     channels of that prior's three feature maps (the SEMs' learned 1×1 projections
 *                                take them to the network's widths); ESPNetv2 s=2.0: 128,256,512
 *   sem.prior_input = input      what the prior sees: input (the dark image, as in the paper) | retinex (the
 *                                network's own light-up X_r, docs/priors.md); trained side by side the two were
 *                                level (21.27 vs 21.22 dB, BENCHMARKS.md), so the default is the paper's
 * </pre>
 * Weights files written before {@code sem.prior} existed were all trained with HRNet-W48 and read as such.
 * Booleans and {@code retinex.prior} are parsed by {@link ConfigValues} (true/false, on/off, yes/no, 1/0; enum names
 * case-insensitive), as in the training configuration.
 *
 * @param channels base width C (&gt; 0, multiple of 4)
 * @param blocksL0 IGABs in encoder L0 and decoder L0 (≥ 0)
 * @param blocksL1 IGABs in encoder L1 and decoder L1 (≥ 0)
 * @param blocksL2 IGABs in the bottleneck (≥ 0)
 * @param semEnabled whether the five SEMs exist
 * @param semQDense switch {@code sem.q_dense}
 * @param semSharedLn switch {@code sem.shared_ln}
 * @param semSkfResidual switch {@code sem.skf_residual}
 * @param semFfnExpansion switch {@code sem.ffn_expansion}
 * @param retinexPrior switch {@code retinex.prior}
 * @param semPrior identifier of the image prior the SEMs consume ({@code sem.prior})
 * @param semChannels channels of its three feature maps ({@code sem.channels}, unmodifiable, 3 entries)
 * @param semPriorInput what the prior sees ({@code sem.prior_input}: {@link #PRIOR_INPUT_DARK} or
 *     {@link #PRIOR_INPUT_RETINEX})
 */
public record DeepSPGConfig(int channels, int blocksL0, int blocksL1, int blocksL2, boolean semEnabled,
    boolean semQDense, boolean semSharedLn, boolean semSkfResidual, double semFfnExpansion,
    PriorMode retinexPrior, String semPrior, List<Integer> semChannels, String semPriorInput) {

  /** Model sizes of the paper. */
  public enum Size {
    /** DeepSPG-S, C = 20. */
    S(20),
    /** DeepSPG-L, C = 40. */
    L(40);

    private final int channels;

    Size(int channels) {
      this.channels = channels;
    }

    /** @return the base width C of this size */
    public int channels() {
      return channels;
    }
  }

  /** Property keys (also the spec's switch names). */
  public static final String KEY_CHANNELS = "model.channels";
  /** Property key of the blocks per scale, {@code a,b,c}. */
  public static final String KEY_BLOCKS = "model.blocks";
  /** Property key of {@link #semEnabled()}. */
  public static final String KEY_SEM_ENABLED = "sem.enabled";
  /** Property key of {@link #semQDense()}. */
  public static final String KEY_SEM_Q_DENSE = "sem.q_dense";
  /** Property key of {@link #semSharedLn()}. */
  public static final String KEY_SEM_SHARED_LN = "sem.shared_ln";
  /** Property key of {@link #semSkfResidual()}. */
  public static final String KEY_SEM_SKF_RESIDUAL = "sem.skf_residual";
  /** Property key of {@link #semFfnExpansion()}. */
  public static final String KEY_SEM_FFN_EXPANSION = "sem.ffn_expansion";
  /** Property key of {@link #retinexPrior()}. */
  public static final String KEY_RETINEX_PRIOR = "retinex.prior";
  /** Property key of {@link #semPrior()}. */
  public static final String KEY_SEM_PRIOR = "sem.prior";
  /** Property key of {@link #semChannels()}. */
  public static final String KEY_SEM_CHANNELS = "sem.channels";
  /** Property key of {@link #semPriorInput()}. */
  public static final String KEY_SEM_PRIOR_INPUT = "sem.prior_input";
  /** {@code sem.prior_input}: the prior sees the (padded) network input, as in the paper. */
  public static final String PRIOR_INPUT_DARK = "input";
  /** {@code sem.prior_input}: the prior sees the network's Retinex light-up X_r (computed before the U-Net). */
  public static final String PRIOR_INPUT_RETINEX = "retinex";
  /** The image priors the SEMs can be built for ({@code ImagePrior.id()} values). */
  public static final Set<String> SEM_PRIORS = Set.of("hrnet-w48", "espnetv2");
  /** The paper's prior: HRNetV2-W48, stage-4 branches 0..2. */
  public static final String DEFAULT_SEM_PRIOR = "hrnet-w48";
  /** Largest prior feature width accepted. */
  public static final int MAX_SEM_CHANNELS = 4096;

  private static final Set<String> KEYS = Set.of(KEY_CHANNELS, KEY_BLOCKS, KEY_SEM_ENABLED, KEY_SEM_Q_DENSE,
      KEY_SEM_SHARED_LN, KEY_SEM_SKF_RESIDUAL, KEY_SEM_FFN_EXPANSION, KEY_RETINEX_PRIOR, KEY_SEM_PRIOR, KEY_SEM_CHANNELS,
      KEY_SEM_PRIOR_INPUT);
  private static final Set<String> PREFIXES = Set.of("model.", "sem.", "retinex.");

  /** Largest base width C accepted (DeepSPG-L has 40). */
  public static final int MAX_CHANNELS = 256;
  /** Largest number of blocks per scale accepted (the paper's models have 2). */
  public static final int MAX_BLOCKS = 16;
  /** Largest SEM feed-forward expansion accepted (the paper's models have 2). */
  public static final double MAX_FFN_EXPANSION = 8;

  /**
   * Validates the fields.
   *
   * @param channels base width C (&gt; 0, multiple of 4)
   * @param blocksL0 IGABs per encoder/decoder stage at L0
   * @param blocksL1 IGABs per encoder/decoder stage at L1
   * @param blocksL2 IGABs in the bottleneck
   * @param semEnabled sem.enabled
   * @param semQDense sem.q_dense
   * @param semSharedLn sem.shared_ln
   * @param semSkfResidual sem.skf_residual
   * @param semFfnExpansion sem.ffn_expansion
   * @param retinexPrior retinex.prior
   * @param semPrior sem.prior (one of {@link #SEM_PRIORS})
   * @param semChannels sem.channels (three widths in 1..{@value #MAX_SEM_CHANNELS})
   * @param semPriorInput sem.prior_input ({@code input} or {@code retinex})
   */
  public DeepSPGConfig {
    if (!PRIOR_INPUT_DARK.equals(semPriorInput) && !PRIOR_INPUT_RETINEX.equals(semPriorInput)) {
      throw new IllegalArgumentException("config key '" + KEY_SEM_PRIOR_INPUT + "' must be one of [input, retinex], "
          + "got '" + semPriorInput + "'");
    }
    if (semPrior == null || !SEM_PRIORS.contains(semPrior)) {
      throw new IllegalArgumentException("config key '" + KEY_SEM_PRIOR + "' must be one of "
          + new TreeSet<>(SEM_PRIORS) + ", got '" + semPrior + "'");
    }
    if (semChannels == null || semChannels.size() != 3
        || semChannels.stream().anyMatch(x -> x == null || x < 1 || x > MAX_SEM_CHANNELS)) {
      throw new IllegalArgumentException("config key '" + KEY_SEM_CHANNELS + "' must be three widths in 1.."
          + MAX_SEM_CHANNELS + ", got " + semChannels);
    }
    semChannels = List.copyOf(semChannels);
    if (channels <= 0 || channels % 4 != 0) {
      throw new IllegalArgumentException("channels C must be a positive multiple of 4 (estimator 5x5 conv has 4 "
          + "groups), got " + channels);
    }
    if (blocksL0 < 0 || blocksL1 < 0 || blocksL2 < 0) {
      throw new IllegalArgumentException("blocks per scale must be >= 0, got " + blocksL0 + "," + blocksL1 + ","
          + blocksL2);
    }
    // Sane bounds before anything is allocated: a weights file's metadata is untrusted input, and 4,000 channels or
    // 10^9 blocks would otherwise exhaust native memory while the network is built (DeepSPG-L has C = 40, 2/2/2).
    if (channels > MAX_CHANNELS || blocksL0 > MAX_BLOCKS || blocksL1 > MAX_BLOCKS || blocksL2 > MAX_BLOCKS) {
      throw new IllegalArgumentException("configuration out of bounds: channels " + channels + " (max " + MAX_CHANNELS
          + "), blocks " + blocksL0 + "," + blocksL1 + "," + blocksL2 + " (max " + MAX_BLOCKS + " each)");
    }
    if (retinexPrior == null) {
      throw new IllegalArgumentException("retinexPrior is null");
    }
    if (!(semFfnExpansion > 0) || semFfnExpansion > MAX_FFN_EXPANSION || (int) (channels * semFfnExpansion) < 1) {
      throw new IllegalArgumentException("sem.ffn_expansion must be in (0, " + MAX_FFN_EXPANSION + "] with int(C*e) >= 1, got "
          + semFfnExpansion);
    }
  }

  /** @return DeepSPG-S: C = 20, nb = (2,2,2), 5 SEMs, e = 2.0, depthwise q, mean prior (567,213 parameters) */
  public static DeepSPGConfig s() {
    return of(Size.S);
  }

  /** @return DeepSPG-L: C = 40, otherwise as {@link #s()} (2,142,593 parameters) */
  public static DeepSPGConfig l() {
    return of(Size.L);
  }

  /**
   * @param size S or L
   * @return the paper configuration of that size
   */
  public static DeepSPGConfig of(Size size) {
    return new DeepSPGConfig(size.channels(), 2, 2, 2, true, false, false, false, 2.0, PriorMode.MEAN,
        DEFAULT_SEM_PRIOR, List.of(48, 96, 192), PRIOR_INPUT_DARK);
  }

  /**
   * @param size S or L
   * @return the ablation "Baseline" of that size: the same network without SEMs
   */
  public static DeepSPGConfig baseline(Size size) {
    return of(size).withSemEnabled(false);
  }

  /** @return the blocks per scale {@code {L0, L1, L2}} (a fresh array) */
  public int[] blocks() {
    return new int[] {blocksL0, blocksL1, blocksL2};
  }

  /** @return the SEM construction switches */
  public SEM.Options semOptions() {
    return new SEM.Options(semFfnExpansion, semQDense, semSharedLn, semSkfResidual);
  }

  /**
   * @param c base width C
   * @return a copy with that width
   */
  public DeepSPGConfig withChannels(int c) {
    return new DeepSPGConfig(c, blocksL0, blocksL1, blocksL2, semEnabled, semQDense, semSharedLn, semSkfResidual,
        semFfnExpansion, retinexPrior, semPrior, semChannels, semPriorInput);
  }

  /**
   * @param l0 blocks at L0
   * @param l1 blocks at L1
   * @param l2 blocks at L2
   * @return a copy with these blocks per scale
   */
  public DeepSPGConfig withBlocks(int l0, int l1, int l2) {
    return new DeepSPGConfig(channels, l0, l1, l2, semEnabled, semQDense, semSharedLn, semSkfResidual,
        semFfnExpansion, retinexPrior, semPrior, semChannels, semPriorInput);
  }

  /**
   * @param on sem.enabled
   * @return a copy with the switch set
   */
  public DeepSPGConfig withSemEnabled(boolean on) {
    return new DeepSPGConfig(channels, blocksL0, blocksL1, blocksL2, on, semQDense, semSharedLn, semSkfResidual,
        semFfnExpansion, retinexPrior, semPrior, semChannels, semPriorInput);
  }

  /**
   * @param on sem.q_dense
   * @return a copy with the switch set
   */
  public DeepSPGConfig withSemQDense(boolean on) {
    return new DeepSPGConfig(channels, blocksL0, blocksL1, blocksL2, semEnabled, on, semSharedLn, semSkfResidual,
        semFfnExpansion, retinexPrior, semPrior, semChannels, semPriorInput);
  }

  /**
   * @param on sem.shared_ln
   * @return a copy with the switch set
   */
  public DeepSPGConfig withSemSharedLn(boolean on) {
    return new DeepSPGConfig(channels, blocksL0, blocksL1, blocksL2, semEnabled, semQDense, on, semSkfResidual,
        semFfnExpansion, retinexPrior, semPrior, semChannels, semPriorInput);
  }

  /**
   * @param on sem.skf_residual
   * @return a copy with the switch set
   */
  public DeepSPGConfig withSemSkfResidual(boolean on) {
    return new DeepSPGConfig(channels, blocksL0, blocksL1, blocksL2, semEnabled, semQDense, semSharedLn, on,
        semFfnExpansion, retinexPrior, semPrior, semChannels, semPriorInput);
  }

  /**
   * @param e sem.ffn_expansion
   * @return a copy with the expansion set
   */
  public DeepSPGConfig withSemFfnExpansion(double e) {
    return new DeepSPGConfig(channels, blocksL0, blocksL1, blocksL2, semEnabled, semQDense, semSharedLn,
        semSkfResidual, e, retinexPrior, semPrior, semChannels, semPriorInput);
  }

  /**
   * @param p retinex.prior
   * @return a copy with the prior set
   */
  public DeepSPGConfig withRetinexPrior(PriorMode p) {
    return new DeepSPGConfig(channels, blocksL0, blocksL1, blocksL2, semEnabled, semQDense, semSharedLn,
        semSkfResidual, semFfnExpansion, p, semPrior, semChannels, semPriorInput);
  }

  /**
   * @param prior the image prior's identifier ({@code ImagePrior.id()})
   * @param featureChannels its three feature widths ({@code ImagePrior.featureChannels()})
   * @return a copy whose SEMs consume that prior
   */
  public DeepSPGConfig withSemPrior(String prior, int[] featureChannels) {
    if (featureChannels == null || featureChannels.length != 3) {
      throw new IllegalArgumentException("a prior gives three feature maps, got " + Arrays.toString(featureChannels));
    }
    return new DeepSPGConfig(channels, blocksL0, blocksL1, blocksL2, semEnabled, semQDense, semSharedLn,
        semSkfResidual, semFfnExpansion, retinexPrior, prior,
        List.of(featureChannels[0], featureChannels[1], featureChannels[2]), semPriorInput);
  }

  /**
   * @param what {@link #PRIOR_INPUT_DARK} or {@link #PRIOR_INPUT_RETINEX}
   * @return a copy whose prior sees that image
   */
  public DeepSPGConfig withSemPriorInput(String what) {
    return new DeepSPGConfig(channels, blocksL0, blocksL1, blocksL2, semEnabled, semQDense, semSharedLn,
        semSkfResidual, semFfnExpansion, retinexPrior, semPrior, semChannels, what);
  }

  /**
   * Checks that an image prior is the one this network's SEMs were trained with (same identifier, same feature
   * widths): a model trained with one prior gives wrong results with another, so the pairing is refused, not guessed.
   *
   * @param priorId the prior's {@code ImagePrior.id()}
   * @param featureChannels its {@code ImagePrior.featureChannels()}
   * @throws IllegalArgumentException naming both priors when they differ (or when the SEMs are disabled)
   */
  public void requireSemPrior(String priorId, int[] featureChannels) {
    if (!semEnabled) {
      throw new IllegalArgumentException("this network has no SEMs (sem.enabled=false): it takes no image prior");
    }
    if (!semPrior.equals(priorId) || !Arrays.equals(semChannelArray(), featureChannels)) {
      throw new IllegalArgumentException("this network's SEMs were trained with the image prior " + semPrior + " "
          + semChannels + ", not with " + priorId + " " + Arrays.toString(featureChannels)
          + ": give the prior weights it was trained with");
    }
  }

  /** @return {@link #semChannels()} as an array (a fresh copy) */
  public int[] semChannelArray() {
    return semChannels.stream().mapToInt(Integer::intValue).toArray();
  }

  /** @return all fields as properties (keys listed in the class comment); round-trips through {@link #fromProperties} */
  public Properties toProperties() {
    Properties p = new Properties();
    p.setProperty(KEY_CHANNELS, Integer.toString(channels));
    p.setProperty(KEY_BLOCKS, blocksL0 + "," + blocksL1 + "," + blocksL2);
    p.setProperty(KEY_SEM_ENABLED, Boolean.toString(semEnabled));
    p.setProperty(KEY_SEM_Q_DENSE, Boolean.toString(semQDense));
    p.setProperty(KEY_SEM_SHARED_LN, Boolean.toString(semSharedLn));
    p.setProperty(KEY_SEM_SKF_RESIDUAL, Boolean.toString(semSkfResidual));
    p.setProperty(KEY_SEM_FFN_EXPANSION, Double.toString(semFfnExpansion));
    p.setProperty(KEY_RETINEX_PRIOR, ConfigValues.text(retinexPrior));
    p.setProperty(KEY_SEM_PRIOR, semPrior);
    p.setProperty(KEY_SEM_CHANNELS, semChannels.get(0) + "," + semChannels.get(1) + "," + semChannels.get(2));
    p.setProperty(KEY_SEM_PRIOR_INPUT, semPriorInput);
    return p;
  }

  /** @return {@code key=value} lines in sorted key order (a stable, diff-friendly text form) */
  public String toText() {
    StringBuilder sb = new StringBuilder();
    new TreeMap<>(toProperties()).forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
    return sb.toString();
  }

  /**
   * @param key a properties key
   * @return whether {@link #fromProperties} reads it
   */
  public static boolean isKey(String key) {
    return KEYS.contains(key);
  }

  /**
   * Reads a configuration. Keys missing from {@code p} take the DeepSPG-S defaults; keys under {@code model.},
   * {@code sem.}, {@code retinex.} that are not known are rejected (typos must not silently change the network);
   * other keys are ignored so the same properties can carry training settings.
   *
   * @param p properties with the keys of {@link #toProperties()}
   * @return the configuration
   */
  public static DeepSPGConfig fromProperties(Properties p) {
    for (String k : p.stringPropertyNames()) {
      for (String prefix : PREFIXES) {
        if (k.startsWith(prefix) && !KEYS.contains(k)) {
          throw new IllegalArgumentException("unknown DeepSPG config key '" + k + "' (known: " + KEYS + ")");
        }
      }
    }
    DeepSPGConfig d = s();
    int c = parseInt(p, KEY_CHANNELS, d.channels);
    int[] nb = parseTriple(p, KEY_BLOCKS, d.blocks());
    int[] sc = parseTriple(p, KEY_SEM_CHANNELS, d.semChannelArray());
    double e = d.semFfnExpansion;
    String es = p.getProperty(KEY_SEM_FFN_EXPANSION);
    if (es != null) {
      try {
        e = Double.parseDouble(es.trim());
      } catch (NumberFormatException ex) {
        throw new IllegalArgumentException(KEY_SEM_FFN_EXPANSION + " must be a number, got '" + es + "'", ex);
      }
    }
    String pr = p.getProperty(KEY_RETINEX_PRIOR);
    return new DeepSPGConfig(c, nb[0], nb[1], nb[2],
        parseBool(p, KEY_SEM_ENABLED, d.semEnabled), parseBool(p, KEY_SEM_Q_DENSE, d.semQDense),
        parseBool(p, KEY_SEM_SHARED_LN, d.semSharedLn), parseBool(p, KEY_SEM_SKF_RESIDUAL, d.semSkfResidual),
        e, pr == null ? d.retinexPrior : ConfigValues.enumValue(KEY_RETINEX_PRIOR, pr, PriorMode.class),
        p.getProperty(KEY_SEM_PRIOR, d.semPrior).trim().toLowerCase(Locale.ROOT), List.of(sc[0], sc[1], sc[2]),
        p.getProperty(KEY_SEM_PRIOR_INPUT, d.semPriorInput).trim().toLowerCase(Locale.ROOT));
  }

  private static int[] parseTriple(Properties p, String key, int[] dflt) {
    String b = p.getProperty(key);
    if (b == null) return dflt;
    String[] parts = b.trim().split("\\s*,\\s*");
    if (parts.length != 3) {
      throw new IllegalArgumentException(key + " must be three comma-separated integers, got '" + b + "'");
    }
    int[] v = new int[3];
    for (int i = 0; i < 3; i++) {
      try {
        v[i] = Integer.parseInt(parts[i]);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(key + " must be three comma-separated integers, got '" + b + "'", e);
      }
    }
    return v;
  }

  /**
   * @param text properties text ({@code key=value} lines, {@code #} comments), e.g. from {@link #toText()}
   * @return the configuration, as {@link #fromProperties(Properties)}
   */
  public static DeepSPGConfig fromText(String text) {
    Properties p = new Properties();
    try {
      p.load(new StringReader(text));
    } catch (IOException e) {
      throw new IllegalArgumentException("unreadable config text", e);
    }
    return fromProperties(p);
  }

  /** @return a short human-readable name, e.g. {@code DeepSPG(C=20, nb=2,2,2, sem=on)} */
  public String describe() {
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "DeepSPG(C=%d, nb=%d,%d,%d, sem=%s",
        channels, blocksL0, blocksL1, blocksL2, semEnabled ? "on" : "off"));
    if (semEnabled) {
      if (semQDense) {
        sb.append(", q_dense");
      }
      if (semSharedLn) {
        sb.append(", shared_ln");
      }
      if (semSkfResidual) {
        sb.append(", skf_residual");
      }
      if (semFfnExpansion != 2.0) {
        sb.append(", ffn_expansion=").append(semFfnExpansion);
      }
      if (!semPrior.equals(DEFAULT_SEM_PRIOR)) {
        sb.append(", sem_prior=").append(semPrior).append(' ').append(semChannels);
      }
      if (!semPriorInput.equals(PRIOR_INPUT_DARK)) {
        sb.append(", prior_input=").append(semPriorInput);
      }
    }
    if (retinexPrior != PriorMode.MEAN) {
      sb.append(", prior=").append(ConfigValues.text(retinexPrior));
    }
    return sb.append(')').toString();
  }

  private static int parseInt(Properties p, String key, int dflt) {
    String v = p.getProperty(key);
    if (v == null) {
      return dflt;
    }
    try {
      return Integer.parseInt(v.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " must be an integer, got '" + v + "'", e);
    }
  }

  private static boolean parseBool(Properties p, String key, boolean dflt) {
    String v = p.getProperty(key);
    return v == null ? dflt : ConfigValues.bool(key, v);
  }
}
