/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.prior;

import java.util.List;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * A frozen, pretrained image-level semantic prior (spec §2.2, §5): the network whose multi-scale features feed
 * the SEMs and whose class logits define the semantic KL loss L_sem. Implementations: {@link HrnetPrior} (the
 * paper's HRNetV2-W48 ADE20K) and {@link EspnetPrior} (ESPNetv2, Cityscapes or PASCAL VOC). An implementation is
 * frozen and in eval mode from construction; it never trains. See docs/priors.md.
 */
public interface ImagePrior extends AutoCloseable {
  /**
   * The prior's output for one batch.
   *
   * @param features three maps at {@link #featureStrides()} (4, 8, 16) with {@link #featureChannels()} channels,
   *     in the order the SEMs of scales L0, L1, L2 consume them
   * @param logits class logits {@code [B, classes, H/s, W/s]} with s = {@link #logitStride()}
   */
  record Output(Tensor[] features, Tensor logits) {}

  /**
   * Stable identifier recorded in configs and checkpoints.
   *
   * @return e.g. {@code hrnet-w48} or {@code espnetv2}
   */
  String id();

  /**
   * Human-readable description (network, training data, classes).
   *
   * @return one line
   */
  String describe();

  /**
   * The input preprocessing the weights expect, recorded with a trained model.
   *
   * @return e.g. {@code imagenet} (RGB in [0,1], (x − mean)/std with ImageNet statistics) or {@code none}
   */
  String preprocessing();

  /**
   * Applies {@link #preprocessing()} to RGB in [0, 1].
   *
   * @param rgb01 [B, 3, H, W] float
   * @return the network input
   */
  Tensor normalize(Tensor rgb01);

  /**
   * Runs the prior on RGB in [0, 1] (normalised inside). Call under no-grad; the prior is frozen.
   *
   * @param rgb01 [B, 3, H, W], H and W multiples of {@link #inputMultiple()}
   * @return the three SEM feature maps and the class logits
   * @throws IllegalArgumentException on another shape
   */
  Output run(Tensor rgb01);

  /**
   * The three SEM feature maps of {@link #run} alone, which is all that enhancement consumes: implementations skip
   * the work that only the class logits need (HRNet: its head; ESPNetv2: its decoder). Call under no-grad.
   *
   * @param rgb01 [B, 3, H, W], H and W multiples of {@link #inputMultiple()}
   * @return the same values as {@code run(rgb01).features()}
   * @throws IllegalArgumentException on another shape
   */
  default Tensor[] features(Tensor rgb01) {
    return run(rgb01).features();
  }

  /**
   * Channels of the three feature maps.
   *
   * @return e.g. {48, 96, 192} for HRNet-W48, {128, 256, 512} for ESPNetv2 s = 2.0
   */
  int[] featureChannels();

  /**
   * Strides of the three feature maps relative to the input.
   *
   * @return {4, 8, 16}
   */
  default int[] featureStrides() {
    return new int[] {4, 8, 16};
  }

  /**
   * Stride of {@link Output#logits()} relative to the input.
   *
   * @return 4 for HRNet, 2 for ESPNetv2
   */
  int logitStride();

  /**
   * The input sizes the network accepts are multiples of this.
   *
   * @return 32 for HRNet, 16 for ESPNetv2
   */
  int inputMultiple();

  /**
   * The class names, in logit order.
   *
   * @return the names
   */
  List<String> classNames();

  /**
   * Number of parameter elements (running statistics excluded).
   *
   * @return the count
   */
  long parameterCount();

  /**
   * Moves the frozen network (it stays frozen).
   *
   * @param device target device
   * @param dtype target floating dtype
   */
  void to(Device device, ScalarType dtype);

  /** Releases the native network. */
  @Override
  void close();
}
