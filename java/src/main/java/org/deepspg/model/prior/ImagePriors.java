/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.prior;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Properties;
import org.deepspg.model.DeepSPGConfig;
import org.deepspg.model.espnet.ESPNetv2;
import org.deepspg.model.hrnet.HRNet;
import org.deepspg.model.hrnet.HRNetConfig;
import org.deepspg.model.hrnet.InputNorm;

/**
 * The one place that turns a prior's identifier ({@code sem.prior}) and the user's weights file into a frozen
 * {@link ImagePrior}: used by training, evaluation and the Enhancer alike, so that every entry point accepts the
 * same files and says the same thing about a missing one.
 */
public final class ImagePriors {
  /**
   * Metadata key of exported weights: the number of outputs of the ESPNetv2 file the SEMs were trained with (20
   * Cityscapes, 21 PASCAL VOC). The feature widths tell s = 0.5 from s = 2.0 but not the two s = 2.0 files apart,
   * whose features differ.
   */
  public static final String KEY_PRIOR_CLASSES = "prior.classes";

  private ImagePriors() {}

  /**
   * Records in a model's metadata which prior file its SEMs are trained with, beyond what its configuration says
   * ({@link #KEY_PRIOR_CLASSES} for ESPNetv2).
   *
   * @param prior the training's image prior (null: nothing to record)
   * @param meta the metadata to add to
   */
  public static void record(ImagePrior prior, Properties meta) {
    if (prior instanceof EspnetPrior e) {
      meta.setProperty(KEY_PRIOR_CLASSES, Integer.toString(e.network().config().classes()));
    }
  }

  /**
   * Refuses prior weights of the right network and widths but of another training set than the model's SEMs were
   * trained with (checked when the model's metadata has {@link #KEY_PRIOR_CLASSES}).
   *
   * @param meta the model file's metadata
   * @param prior the prior the user gave
   * @throws IllegalArgumentException naming both files' classes and the file to give instead
   */
  public static void requireTrainedWith(Properties meta, ImagePrior prior) {
    String want = meta == null ? null : meta.getProperty(KEY_PRIOR_CLASSES);
    if (want == null || !(prior instanceof EspnetPrior e)) return;
    ESPNetv2.Config c = e.network().config();
    ESPNetv2.Config trained = new ESPNetv2.Config(c.scale(), Integer.parseInt(want.trim()));
    if (trained.classes() == c.classes()) return;
    throw new IllegalArgumentException("this model's SEMs were trained with ESPNetv2 s=" + c.scale() + " weights of "
        + trained.classes() + " classes (" + trained.dataset() + "), but the given weights have " + c.classes() + " ("
        + c.dataset() + "): give " + officialFile(trained));
  }

  /** The upstream file name of a configuration's weights, e.g. {@code espnetv2_s_2.0_pascal_384x384.pth}. */
  private static String officialFile(ESPNetv2.Config c) {
    String set = c.classes() == 21 ? "pascal" : c.classes() == 20 ? "city" : null;
    int[] in = c.trainingInputSize();
    return set == null ? "the weights it was trained with"
        : "espnetv2_s_" + c.scale() + "_" + set + "_" + in[0] + "x" + in[1] + ".pth";
  }

  /**
   * Loads and freezes the image prior named {@code id}.
   *
   * @param id {@link EspnetPrior#ID} or {@link HrnetPrior#ID}
   * @param weights the user's weights file (null = not given)
   * @param hrnetTopology HRNet topology JSON (null = the official W48 ADE20K network; ignored for ESPNetv2, whose
   *     scale and classes are read from the file)
   * @param norm the HRNet input normalisation the model was trained with (ignored for ESPNetv2)
   * @return the frozen prior, owned by the caller
   * @throws MissingWeightsException when the file is not given, missing, unreadable or holds another network (the
   *     message names the file needed and where it comes from)
   * @throws IOException when the HRNet topology cannot be read
   */
  public static ImagePrior load(String id, Path weights, Path hrnetTopology, InputNorm norm) throws IOException {
    boolean espnet = EspnetPrior.ID.equals(id);
    if (!espnet && !HrnetPrior.ID.equals(id)) {
      throw new IllegalArgumentException("unknown image prior '" + id + "'; known: " + DeepSPGConfig.SEM_PRIORS);
    }
    return espnet ? EspnetPrior.load(weights) : new HrnetPrior(loadHrnet(weights, hrnetTopology, norm));
  }

  /**
   * Loads the prior a trained model's SEMs need; without a file, the message names the model, where it came from,
   * the official file that fits it ({@link #expectedFile}) and how to pass one.
   *
   * @param cfg the model's configuration
   * @param weights the user's weights file (null = not given)
   * @param hrnetTopology HRNet topology JSON, or null
   * @param norm the HRNet input normalisation the model was trained with
   * @param source where the model came from (a bundled name or a file)
   * @param howToPass how this entry point takes the file, e.g. {@code "CLI: --prior-weights FILE"}
   * @return the frozen prior, owned by the caller
   * @throws IOException as {@link #load}
   */
  public static ImagePrior forModel(DeepSPGConfig cfg, Path weights, Path hrnetTopology, InputNorm norm,
      String source, String howToPass) throws IOException {
    if (weights == null) {
      PriorWeights w = EspnetPrior.ID.equals(cfg.semPrior()) ? PriorWeights.ESPNETV2 : PriorWeights.HRNET_W48_ADE20K;
      String file = expectedFile(cfg);
      throw w.missing(null, "the model " + cfg.describe() + " (" + source + ") has SEMs trained with the "
          + cfg.semPrior() + " image prior, but no prior weights were given (" + howToPass + ")", null,
          file == null ? w.fileName() : file);
    }
    try {
      return load(cfg.semPrior(), weights, hrnetTopology, norm);
    } catch (MissingWeightsException e) { // name the file that fits this model, not the prior's usual one
      String file = expectedFile(cfg);
      throw file == null ? e : e.expecting(file);
    }
  }

  /**
   * Loads and freezes an HRNet from the user's file.
   *
   * @param weights checkpoint (null = not configured)
   * @param topology JSON topology, or null for the official W48 ADE20K network
   * @param norm input normalisation
   * @return the frozen network
   * @throws MissingWeightsException when the weights are unusable
   * @throws IOException when the topology cannot be read
   */
  public static HRNet loadHrnet(Path weights, Path topology, InputNorm norm) throws IOException {
    HRNetConfig hc = topology == null ? HRNetConfig.w48Ade20k() : HRNetConfig.fromJson(topology);
    return PriorWeights.HRNET_W48_ADE20K.loadInto(weights, () -> new HRNet(hc), HRNet::loadStateDict).freeze()
        .inputNorm(norm);
  }

  /**
   * The official weights file that fits a model's SEMs: ESPNetv2's scale shows in the widths the SEMs were built
   * for (s = 0.5: 32/64/128; s = 2.0: 128/256/512, Cityscapes or PASCAL VOC).
   *
   * @param cfg the model's configuration
   * @return the file name (for s = 2.0 the Cityscapes one, naming the PASCAL one too), or null when it is the
   *     prior's usual file
   */
  public static String expectedFile(DeepSPGConfig cfg) {
    if (!EspnetPrior.ID.equals(cfg.semPrior())) return null;
    return switch (cfg.semChannels().get(0)) {
      case 32 -> "espnetv2_s_0.5_city_1024x512.pth";
      case 128 -> "espnetv2_s_2.0_city_1024x512.pth (or espnetv2_s_2.0_pascal_384x384.pth)";
      default -> null;
    };
  }
}
