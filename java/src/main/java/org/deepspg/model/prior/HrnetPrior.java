/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.prior;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.deepspg.model.hrnet.HRNet;
import org.deepspg.model.hrnet.InputNorm;

/**
 * {@link ImagePrior} over HRNet (the paper's prior, HRNetV2-W48 ADE20K): stage-4 branches 0, 1, 2 (strides 4,
 * 8, 16; 48/96/192 channels for W48) and the stride-4 logits.
 */
public final class HrnetPrior implements ImagePrior {
  /** The identifier recorded with models trained with this prior. */
  public static final String ID = "hrnet-w48";

  private final HRNet net;
  private final boolean owned;

  /**
   * Wraps a loaded network and freezes it.
   *
   * @param net the network (owned from now on; closed by {@link #close()})
   */
  public HrnetPrior(HRNet net) {
    if (net == null) {
      throw new IllegalArgumentException("net must not be null");
    }
    this.net = net;
    this.owned = true;
    net.freeze();
  }

  /**
   * Views a network owned elsewhere as an image prior: it must be frozen already, and {@link #close()} of the view
   * leaves it open.
   *
   * @param net a frozen HRNet (eval mode, no gradients)
   * @return the view
   * @throws IllegalArgumentException when the network is in training mode
   */
  public static HrnetPrior borrow(HRNet net) {
    if (net == null) {
      throw new IllegalArgumentException("net must not be null");
    }
    if (net.is_training()) {
      throw new IllegalArgumentException("the HRNet module is in training mode; call freeze() first");
    }
    return new HrnetPrior(net, false);
  }

  private HrnetPrior(HRNet net, boolean owned) {
    this.net = net;
    this.owned = owned;
  }

  /** @return the wrapped network */
  public HRNet network() {
    return net;
  }

  @Override
  public String id() {
    return ID;
  }

  @Override
  public String describe() {
    return "HRNetV2 (" + net.config().numClasses() + " classes), " + parameterCount() + " parameters";
  }

  @Override
  public String preprocessing() {
    return net.inputNorm() == InputNorm.IMAGENET ? "imagenet" : "none";
  }

  @Override
  public Tensor normalize(Tensor rgb01) {
    return HRNet.normalize(rgb01, net.inputNorm());
  }

  @Override
  public Output run(Tensor rgb01) {
    HRNet.Output o = net.forwardRaw(rgb01);
    List<Tensor> f = new ArrayList<>(o.features());
    if (f.size() < 3) {
      throw new IllegalStateException("HRNet has " + f.size() + " stage-4 branches, the SEMs need 3");
    }
    return new Output(new Tensor[] {f.get(0), f.get(1), f.get(2)}, o.logits());
  }

  @Override
  public Tensor[] features(Tensor rgb01) {
    return net.features(normalize(rgb01), 3);
  }

  @Override
  public int[] featureChannels() {
    int[] c = net.config().featureChannels();
    return new int[] {c[0], c[1], c[2]};
  }

  @Override
  public int logitStride() {
    return 4;
  }

  @Override
  public int inputMultiple() {
    return 32;
  }

  @Override
  public List<String> classNames() {
    List<String> n = new ArrayList<>();
    for (int i = 0; i < net.config().numClasses(); i++) {
      n.add("ade20k class " + i);
    }
    return List.copyOf(n);
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
    if (owned) net.close();
  }
}
