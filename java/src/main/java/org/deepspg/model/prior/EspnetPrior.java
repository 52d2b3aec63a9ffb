/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.prior;

import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.deepspg.model.espnet.ESPNetv2;
import org.deepspg.model.io.StateDict;

/**
 * {@link ImagePrior} over ESPNetv2 (EdgeNets weights, Cityscapes or PASCAL VOC): encoder maps l2, l3, l4
 * (strides 4, 8, 16; 128/256/512 channels for s = 2.0, 32/64/128 for s = 0.5) and the stride-2 logits of the
 * last learned layer. Preprocessing: ImageNet normalisation of RGB in [0, 1].
 *
 * <p>The Cityscapes weights have 20 outputs, but index 19 ("background") was never a training target (its labels
 * were ignored and its loss weight was 0: SOURCES.md of the weights), so its logit is meaningless: {@link #run}
 * gives the 19 trained logits only, and the semantic KL loss compares distributions over those.
 */
public final class EspnetPrior implements ImagePrior {
  /** The identifier recorded with models trained with this prior. */
  public static final String ID = "espnetv2";

  /** Outputs of the Cityscapes weights; the last one was never trained. */
  static final int CITYSCAPES_OUTPUTS = 20;

  private final ESPNetv2 net;
  private final int logitClasses;

  /**
   * Wraps a loaded network and freezes it.
   *
   * @param net the network (owned from now on)
   */
  public EspnetPrior(ESPNetv2 net) {
    if (net == null) {
      throw new IllegalArgumentException("net must not be null");
    }
    this.net = net.freeze();
    int c = net.config().classes();
    this.logitClasses = c == CITYSCAPES_OUTPUTS ? c - 1 : c;
  }

  /**
   * Loads upstream ESPNetv2 segmentation weights (scale and classes read from the file) and freezes them.
   *
   * @param weights the {@code .pth} file (null = not given)
   * @return the frozen prior
   * @throws MissingWeightsException when the file is not given, absent, unreadable, not a checkpoint or not
   *     ESPNetv2 segmentation weights (the message names the expected file and where it comes from)
   */
  public static EspnetPrior load(Path weights) throws MissingWeightsException {
    StateDict sd = PriorWeights.ESPNETV2.read(weights);
    ESPNetv2 net;
    try {
      net = new ESPNetv2(ESPNetv2.configOf(sd));
      net.loadStateDict(sd);
    } catch (IllegalArgumentException e) {
      throw PriorWeights.ESPNETV2.wrongModel(weights, e);
    }
    return new EspnetPrior(net);
  }

  /** @return the wrapped network */
  public ESPNetv2 network() {
    return net;
  }

  @Override
  public String id() {
    return ID;
  }

  @Override
  public String describe() {
    ESPNetv2.Config c = net.config();
    return "ESPNetv2 s=" + c.scale() + " (" + c.classes() + " classes: " + c.dataset() + "), " + parameterCount()
        + " parameters";
  }

  @Override
  public String preprocessing() {
    return "imagenet";
  }

  @Override
  public Tensor normalize(Tensor rgb01) {
    return ESPNetv2.normalize(rgb01);
  }

  @Override
  public Output run(Tensor rgb01) {
    ESPNetv2.Output o = net.forward(normalize(rgb01), false);
    Tensor[] f = o.features();
    Tensor logits = o.logitsS2();
    if (logitClasses < net.config().classes()) logits = logits.narrow(1, 0, logitClasses);
    return new Output(new Tensor[] {f[1], f[2], f[3]}, logits);
  }

  @Override
  public Tensor[] features(Tensor rgb01) {
    Tensor[] f = net.features(normalize(rgb01));
    return new Tensor[] {f[1], f[2], f[3]};
  }

  @Override
  public int[] featureChannels() {
    int[] w = net.config().widths();
    return new int[] {w[1], w[2], w[3]};
  }

  @Override
  public int logitStride() {
    return 2;
  }

  @Override
  public int inputMultiple() {
    return 16;
  }

  /** @return the names of the logits {@link #run} gives (Cityscapes: the 19 trained classes) */
  @Override
  public List<String> classNames() {
    return net.config().classNames().subList(0, logitClasses);
  }

  @Override
  public long parameterCount() {
    return net.parameterCount();
  }

  @Override
  public void to(Device device, ScalarType dtype) {
    net.to(device, dtype, false);
  }

  @Override
  public void close() {
    net.close();
  }
}
