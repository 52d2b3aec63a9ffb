/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.hrnet;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BatchNorm2dImpl;
import org.bytedeco.pytorch.BatchNormOptions;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.Conv2dOptions;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.ops.DenseConv;
import org.deepspg.ops.WeightPack;

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
   * {@code act(bn(conv(x)) + residual)} for one (convolution, BatchNorm) pair of the module tree. In inference (no
   * gradient needed, BN in eval mode, float32 CPU) it runs on the native direct convolution ({@link DenseConv}) with
   * the BatchNorm folded into weight and bias ({@code w·γ/√(σ²+ε)}, {@code β − μ·γ/√(σ²+ε)}), residual and ReLU fused;
   * otherwise on libtorch's modules, so that training and gradients through the prior (the KL loss) see the exact
   * PyTorch graph.
   *
   * <p>The folded weight is packed once and kept (a second copy of the weight: +264 MB for HRNet-W48; narrow 3×3
   * stride-1 layers also keep a Winograd-transformed copy, 4× their size, used on inputs with enough tiles,
   * {@link DenseConv#winogradPays}: about +110 MB for HRNet-W48, mostly its first two branches) until one of
   * the pair's parameters or buffers changes (its storage or its version counter, which every in-place write such as
   * loading weights or a BN statistics update bumps) or the kernel's ISA does; then it is folded anew. Changing the
   * parameters while a forward runs is not supported (no more than it is for the modules themselves), nor is changing
   * in place the parameters of a network built under {@code InferenceMode} (inference tensors have no version
   * counter; only a new storage is seen).
   */
  static final class FusedConvBn {
    /**
     * The folded, packed weight and bias, and the stamp of what they were computed from; for a 3×3 stride-1 layer
     * that {@link DenseConv#winogradFits} also the Winograd-packed weight (else null).
     */
    private record Folded(long[] stamp, DenseConv.Packed weight, DenseConv.Packed winograd, Tensor bias) {
      void close() {
        weight.close();
        if (winograd != null) winograd.close();
        bias.releaseReference();
      }
    }

    /** Folds computed in this process (tests see from it whether a forward reused the cache). */
    static final AtomicLong FOLDS = new AtomicLong();

    private final Conv2dImpl conv;
    private final BatchNorm2dImpl bn;
    private final int stride;
    private volatile Folded folded;

    /**
     * @param conv the convolution (padding k/2, as {@link #conv} builds it)
     * @param bn its BatchNorm, or null for a plain convolution
     * @param stride the convolution's stride
     */
    FusedConvBn(Conv2dImpl conv, BatchNorm2dImpl bn, int stride) {
      this.conv = conv;
      this.bn = bn;
      this.stride = stride;
    }

    /**
     * @param x the input
     * @param residual added before the activation, or null
     * @param relu whether to apply ReLU last
     * @return the result
     */
    Tensor forward(Tensor x, Tensor residual, boolean relu) {
      Tensor[] deps = bn != null && bn.is_training() ? null : dependencies(); // parameter handles fetched once
      if (deps != null && DenseConv.usable(x, deps) && (residual == null || DenseConv.usable(x, residual))) {
        Folded f = folded(deps);
        boolean wino = f.winograd() != null
            && DenseConv.winogradPays(x.size(1), f.weight().shape()[0], x.size(2), x.size(3));
        DenseConv.Packed w = wino ? f.winograd() : f.weight();
        return DenseConv.forward(x, w, f.bias(), residual, stride, relu);
      }
      Tensor y = conv.forward(x);
      if (bn != null) y = bn.forward(y);
      if (residual != null) y = y.add(residual);
      return relu ? y.relu() : y;
    }

    private Tensor bias() {
      Tensor cb = conv.bias();
      return cb != null && cb.defined() ? cb : null;
    }

    private Folded folded(Tensor[] deps) {
      long[] stamp = WeightPack.stamp(deps);
      Folded f = folded;
      if (f != null && Arrays.equals(f.stamp(), stamp)) return f;
      synchronized (this) {
        f = folded;
        if (f != null && Arrays.equals(f.stamp(), stamp)) return f;
        Folded next = fold(stamp);
        folded = next;
        if (f != null) f.close();
        return next;
      }
    }

    /** The tensors the folded weight depends on: the convolution's weight and bias (may be null), the BN's four. */
    private Tensor[] dependencies() {
      Tensor cb = bias();
      return bn == null
          ? new Tensor[] {conv.weight(), cb}
          : new Tensor[] {conv.weight(), cb, bn.weight(), bn.bias(), bn.running_mean(), bn.running_var()};
    }

    private Folded fold(long[] stamp) {
      try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
        Tensor w = conv.weight();
        Tensor cb = bias();
        Tensor b;
        if (bn == null) {
          b = cb == null ? torch.zeros(w.size(0)) : cb.clone();
        } else {
          Tensor scale = bn.weight().div(bn.running_var().add(new Scalar(bn.options().eps().get())).sqrt());
          w = w.mul(scale.view(-1, 1, 1, 1));
          b = bn.bias().sub(bn.running_mean().mul(scale));
          if (cb != null) b = b.add(cb.mul(scale));
        }
        b.retainReference(); // owned by the Folded from now on
        FOLDS.incrementAndGet();
        boolean wino = stride == 1 && w.size(2) == 3 && DenseConv.winogradFits(w.size(1), w.size(0));
        return new Folded(stamp, DenseConv.pack(w), wino ? DenseConv.packWinograd(w) : null, b);
      }
    }
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
    private final FusedConvBn path;
    private final boolean relu;

    ConvBn(int in, int out, int k, int stride, boolean relu, HRNetConfig cfg) {
      Conv2dImpl conv = register_module("0", conv(in, out, k, stride, false));
      this.path = new FusedConvBn(conv, register_module("1", bn(out, cfg)), stride);
      this.relu = relu;
    }

    Tensor forward(Tensor x) {
      return path.forward(x, null, relu);
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
    private final FusedConvBn path1;
    private final FusedConvBn path2;
    private final ConvBn downsample;

    BasicBlock(int in, int planes, int stride, boolean downsample, HRNetConfig cfg) {
      Conv2dImpl conv1 = register_module("conv1", conv(in, planes, 3, stride, false));
      path1 = new FusedConvBn(conv1, register_module("bn1", bn(planes, cfg)), stride);
      Conv2dImpl conv2 = register_module("conv2", conv(planes, planes, 3, 1, false));
      path2 = new FusedConvBn(conv2, register_module("bn2", bn(planes, cfg)), 1);
      this.downsample = downsample
          ? register_module("downsample", new ConvBn(in, planes, 1, stride, false, cfg)) : null;
    }

    @Override
    Tensor forward(Tensor x) {
      Tensor out = path1.forward(x, null, true);
      Tensor residual = downsample == null ? x : downsample.forward(x);
      return path2.forward(out, residual, true);
    }
  }

  /**
   * Bottleneck (expansion 4): conv1×1-BN-ReLU-conv3×3(stride)-BN-ReLU-conv1×1-BN + residual, ReLU
   * (keys conv1..3, bn1..3, downsample.0/1).
   */
  static final class Bottleneck extends Block {
    private final FusedConvBn path1;
    private final FusedConvBn path2;
    private final FusedConvBn path3;
    private final ConvBn downsample;

    Bottleneck(int in, int planes, int stride, boolean downsample, HRNetConfig cfg) {
      int out = planes * HRNetConfig.BlockType.BOTTLENECK.expansion();
      Conv2dImpl conv1 = register_module("conv1", conv(in, planes, 1, 1, false));
      path1 = new FusedConvBn(conv1, register_module("bn1", bn(planes, cfg)), 1);
      Conv2dImpl conv2 = register_module("conv2", conv(planes, planes, 3, stride, false));
      path2 = new FusedConvBn(conv2, register_module("bn2", bn(planes, cfg)), stride);
      Conv2dImpl conv3 = register_module("conv3", conv(planes, out, 1, 1, false));
      path3 = new FusedConvBn(conv3, register_module("bn3", bn(out, cfg)), 1);
      this.downsample = downsample
          ? register_module("downsample", new ConvBn(in, out, 1, stride, false, cfg)) : null;
    }

    @Override
    Tensor forward(Tensor x) {
      Tensor out = path1.forward(x, null, true);
      out = path2.forward(out, null, true);
      Tensor residual = downsample == null ? x : downsample.forward(x);
      return path3.forward(out, residual, true);
    }
  }
}
