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
 */
public final class EspnetPrior implements ImagePrior {
  /** The identifier recorded with models trained with this prior. */
  public static final String ID = "espnetv2";

  private final ESPNetv2 net;

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
    return "ESPNetv2 s=" + c.scale() + " (" + c.classes() + " classes: "
        + (c.classes() == 20 ? "Cityscapes" : c.classes() == 21 ? "PASCAL VOC" : "custom") + "), "
        + parameterCount() + " parameters";
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
    return new Output(new Tensor[] {f[1], f[2], f[3]}, o.logitsS2());
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

  @Override
  public List<String> classNames() {
    return net.config().classNames();
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
