/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.prior;

import java.io.IOException;
import java.nio.file.Path;
import org.deepspg.model.DeepSPGConfig;
import org.deepspg.model.hrnet.HRNet;
import org.deepspg.model.hrnet.HRNetConfig;
import org.deepspg.model.hrnet.InputNorm;
import org.deepspg.model.io.StateDict;

/**
 * The one place that turns a prior's identifier ({@code sem.prior}) and the user's weights file into a frozen
 * {@link ImagePrior}: used by training, evaluation and the Enhancer alike, so that every entry point accepts the
 * same files and says the same thing about a missing one.
 */
public final class ImagePriors {
  private ImagePriors() {}

  /**
   * Loads and freezes the image prior named {@code id}.
   *
   * @param id {@link EspnetPrior#ID} or {@link HrnetPrior#ID}
   * @param weights the user's weights file (null = not given)
   * @param hrnetTopology HRNet topology JSON (null = the official W48 ADE20K network; ignored for ESPNetv2, whose
   *     scale and classes are read from the file)
   * @param norm the HRNet input normalisation the model was trained with (ignored for ESPNetv2)
   * @param whyNeeded when {@code weights} is null: the sentence that says which model needs the file and how to
   *     pass it (see {@link #whyNeeded}); null for the generic "no weights file configured"
   * @return the frozen prior, owned by the caller
   * @throws MissingWeightsException when the file is not given, missing, unreadable or holds another network (the
   *     message names the file needed and where it comes from)
   * @throws IOException when the HRNet topology cannot be read
   */
  public static ImagePrior load(String id, Path weights, Path hrnetTopology, InputNorm norm, String whyNeeded)
      throws IOException {
    boolean espnet = EspnetPrior.ID.equals(id);
    if (!espnet && !HrnetPrior.ID.equals(id)) {
      throw new IllegalArgumentException("unknown image prior '" + id + "'; known: " + DeepSPGConfig.SEM_PRIORS);
    }
    if (weights == null && whyNeeded != null) {
      throw (espnet ? PriorWeights.ESPNETV2 : PriorWeights.HRNET_W48_ADE20K).missing(null, whyNeeded, null);
    }
    return espnet ? EspnetPrior.load(weights) : new HrnetPrior(loadHrnet(weights, hrnetTopology, norm));
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
    StateDict sd = PriorWeights.HRNET_W48_ADE20K.read(weights);
    HRNet net = new HRNet(hc);
    try {
      net.loadStateDict(sd);
    } catch (IllegalArgumentException e) {
      net.close();
      throw PriorWeights.HRNET_W48_ADE20K.wrongModel(weights, e);
    }
    return net.freeze().inputNorm(norm);
  }

  /**
   * The sentence for a model with SEMs that was given no prior weights.
   *
   * @param cfg the model's configuration
   * @param source where the model came from (a bundled name or a file)
   * @param howToPass how this entry point takes the file, e.g. {@code "CLI: --prior-weights FILE"}
   * @return the sentence
   */
  public static String whyNeeded(DeepSPGConfig cfg, String source, String howToPass) {
    return "the model " + cfg.describe() + " (" + source + ") has SEMs trained with the " + cfg.semPrior()
        + " image prior, but no prior weights were given (" + howToPass + ")";
  }
}
