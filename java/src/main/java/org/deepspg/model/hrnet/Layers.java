/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.hrnet;

import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.BatchNorm2dImpl;
import org.bytedeco.pytorch.BatchNormOptions;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.Conv2dOptions;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.deepspg.ops.DenseConv;

/** Small building blocks of the HRNet module tree (package-private). */
final class Layers {
  private Layers() {}

  /** Conv2d k×k, given stride, padding (k−1)/2 (3×3 → 1, 1×1 → 0), optional bias; PyTorch default init. */
  static Conv2dImpl conv(int in, int out, int k, int stride, boolean bias) {
    Conv2dOptions o = new Conv2dOptions(in, out, new LongPointer(k, k));
    o.stride().put(new long[] {stride, stride});
    o.padding().put(new LongPointer((k - 1) / 2, (k - 1) / 2));
    o.bias().put(bias);
    return new Conv2dImpl(o);
  }

  /** BatchNorm2d with the configured eps and momentum (running statistics tracked, affine). */
  static BatchNorm2dImpl bn(int c, HRNetConfig cfg) {
    BatchNormOptions o = new BatchNormOptions(c);
    o.eps().put(cfg.bnEps());
    o.momentum().put(cfg.bnMomentum());
    return new BatchNorm2dImpl(o);
  }

  /**
   * {@code act(bn(conv(x)) + residual)}: in inference (no gradient needed, BN in eval mode, float32 CPU) on the native
   * direct convolution with the BatchNorm folded into weight and bias ({@code w·γ/√(σ²+ε)}, {@code β − μ·γ/√(σ²+ε)})
   * and residual and ReLU fused ({@link DenseConv}); otherwise libtorch's modules, so that training and gradients
   * through the prior (the KL loss) see the exact PyTorch graph.
   *
   * @param conv the convolution (padding k/2, as {@link #conv} builds it)
   * @param bn its BatchNorm
   * @param stride the convolution's stride
   * @param x the input
   * @param residual added before the activation, or null
   * @param relu whether to apply ReLU last
   * @return the result
   */
  static Tensor convBn(Conv2dImpl conv, BatchNorm2dImpl bn, int stride, Tensor x, Tensor residual, boolean relu) {
    Tensor cb = conv.bias();
    boolean hasBias = cb != null && cb.defined();
    if (!bn.is_training()
        && DenseConv.usable(x, conv.weight(), hasBias ? cb : null, bn.weight(), bn.bias(), residual)) {
      Tensor scale = bn.weight().div(bn.running_var().add(new Scalar(bn.options().eps().get())).sqrt());
      Tensor w = conv.weight().mul(scale.view(-1, 1, 1, 1));
      Tensor b = bn.bias().sub(bn.running_mean().mul(scale));
      if (hasBias) b = b.add(cb.mul(scale));
      return DenseConv.forward(x, w, b, residual, stride, relu);
    }
    Tensor y = bn.forward(conv.forward(x));
    if (residual != null) y = y.add(residual);
    return relu ? y.relu() : y;
  }

  /** A residual block (BASIC or BOTTLENECK). */
  abstract static class Block extends org.deepspg.nn.JavaModule {
    abstract Tensor forward(Tensor x);
  }

  /**
   * {@code nn.Sequential(conv, BN[, ReLU])}: children "0" (conv) and "1" (BN); the ReLU (index 2) has no
   * parameters and therefore no module here.
   */
  static final class ConvBn extends org.deepspg.nn.JavaModule {
    private final Conv2dImpl conv;
    private final BatchNorm2dImpl bn;
    private final boolean relu;
    private final int stride;

    ConvBn(int in, int out, int k, int stride, boolean relu, HRNetConfig cfg) {
      this.conv = register_module("0", conv(in, out, k, stride, false));
      this.bn = register_module("1", bn(out, cfg));
      this.relu = relu;
      this.stride = stride;
    }

    Tensor forward(Tensor x) {
      return convBn(conv, bn, stride, x, null, relu);
    }
  }

  /** {@code nn.Sequential(ConvBn, ConvBn, ...)}: children "0", "1", … applied in order. */
  static final class ConvBnChain extends org.deepspg.nn.JavaModule {
    private final ConvBn[] steps;

    ConvBnChain(ConvBn... steps) {
      this.steps = steps.clone();
      for (int i = 0; i < steps.length; i++) {
        register_module(Integer.toString(i), steps[i]);
      }
    }

    Tensor forward(Tensor x) {
      Tensor y = x;
      for (ConvBn s : steps) {
        y = s.forward(y);
      }
      return y;
    }
  }

  /** {@code nn.Sequential} of residual blocks: children "0", "1", …. */
  static final class BlockSeq extends org.deepspg.nn.JavaModule {
    private final Block[] blocks;

    BlockSeq(Block... blocks) {
      this.blocks = blocks.clone();
      for (int i = 0; i < blocks.length; i++) {
        register_module(Integer.toString(i), blocks[i]);
      }
    }

    Tensor forward(Tensor x) {
      Tensor y = x;
      for (Block b : blocks) {
        y = b.forward(y);
      }
      return y;
    }
  }

  /**
   * Builds {@code nn.Sequential(block(in, planes, stride, downsample), block(planes·exp, planes), ...)} like
   * {@code _make_layer} / {@code _make_one_branch}: a 1×1 conv + BN downsample on the first block when
   * stride ≠ 1 or in ≠ planes·expansion.
   */
  static BlockSeq makeLayer(HRNetConfig.BlockType type, int in, int planes, int blocks, int stride,
      HRNetConfig cfg) {
    Block[] out = new Block[blocks];
    int exp = type.expansion();
    boolean down = stride != 1 || in != planes * exp;
    out[0] = type == HRNetConfig.BlockType.BASIC
        ? new BasicBlock(in, planes, stride, down, cfg)
        : new Bottleneck(in, planes, stride, down, cfg);
    for (int i = 1; i < blocks; i++) {
      out[i] = type == HRNetConfig.BlockType.BASIC
          ? new BasicBlock(planes * exp, planes, 1, false, cfg)
          : new Bottleneck(planes * exp, planes, 1, false, cfg);
    }
    return new BlockSeq(out);
  }

  /** BasicBlock: conv3×3-BN-ReLU-conv3×3-BN + residual, ReLU (keys conv1, bn1, conv2, bn2, downsample.0/1). */
  static final class BasicBlock extends Block {
    private final Conv2dImpl conv1;
    private final BatchNorm2dImpl bn1;
    private final Conv2dImpl conv2;
    private final BatchNorm2dImpl bn2;
    private final ConvBn downsample;
    private final int stride;

    BasicBlock(int in, int planes, int stride, boolean downsample, HRNetConfig cfg) {
      this.stride = stride;
      conv1 = register_module("conv1", conv(in, planes, 3, stride, false));
      bn1 = register_module("bn1", bn(planes, cfg));
      conv2 = register_module("conv2", conv(planes, planes, 3, 1, false));
      bn2 = register_module("bn2", bn(planes, cfg));
      this.downsample = downsample
          ? register_module("downsample", new ConvBn(in, planes, 1, stride, false, cfg)) : null;
    }

    @Override
    Tensor forward(Tensor x) {
      Tensor out = convBn(conv1, bn1, stride, x, null, true);
      Tensor residual = downsample == null ? x : downsample.forward(x);
      return convBn(conv2, bn2, 1, out, residual, true);
    }
  }

  /**
   * Bottleneck (expansion 4): conv1×1-BN-ReLU-conv3×3(stride)-BN-ReLU-conv1×1-BN + residual, ReLU
   * (keys conv1..3, bn1..3, downsample.0/1).
   */
  static final class Bottleneck extends Block {
    private final Conv2dImpl conv1;
    private final BatchNorm2dImpl bn1;
    private final Conv2dImpl conv2;
    private final BatchNorm2dImpl bn2;
    private final Conv2dImpl conv3;
    private final BatchNorm2dImpl bn3;
    private final ConvBn downsample;
    private final int stride;

    Bottleneck(int in, int planes, int stride, boolean downsample, HRNetConfig cfg) {
      this.stride = stride;
      int out = planes * HRNetConfig.BlockType.BOTTLENECK.expansion();
      conv1 = register_module("conv1", conv(in, planes, 1, 1, false));
      bn1 = register_module("bn1", bn(planes, cfg));
      conv2 = register_module("conv2", conv(planes, planes, 3, stride, false));
      bn2 = register_module("bn2", bn(planes, cfg));
      conv3 = register_module("conv3", conv(planes, out, 1, 1, false));
      bn3 = register_module("bn3", bn(out, cfg));
      this.downsample = downsample
          ? register_module("downsample", new ConvBn(in, out, 1, stride, false, cfg)) : null;
    }

    @Override
    Tensor forward(Tensor x) {
      Tensor out = convBn(conv1, bn1, 1, x, null, true);
      out = convBn(conv2, bn2, stride, out, null, true);
      Tensor residual = downsample == null ? x : downsample.forward(x);
      return convBn(conv3, bn3, 1, out, residual, true);
    }
  }
}
