/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.hrnet;

import static org.bytedeco.pytorch.global.torch.cat;
import static org.bytedeco.pytorch.global.torch.upsample_bilinear2d;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
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
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.ops.DenseConv;
import org.deepspg.ops.Scopes;
import org.deepspg.ops.UpsampleSum;
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
   * <p>The folded weight is packed once and kept (a second copy of the weight) until one of
   * the pair's parameters or buffers changes (its storage or its version counter, which every in-place write such as
   * loading weights or a BN statistics update bumps) or the kernel's ISA does; then it is folded anew. Changing the
   * parameters while a forward runs is not supported (no more than it is for the modules themselves), nor is changing
   * in place the parameters of a network built under {@code InferenceMode} (inference tensors have no version
   * counter; only a new storage is seen). A 3×3 stride-1 layer that {@link DenseConv#winogradFits} keeps a
   * Winograd-transformed copy instead (4× its size) and packs the direct weight only when an input with too few
   * tiles for Winograd ({@link DenseConv#winogradPays}) first needs it. For HRNet-W48 on AVX-512 that is about
   * 0.9 GB of transformed weights (0.8 GB for the 192- and 384-channel branches, whose Winograd pays from 16 tiles
   * on) and 35 MB of packed ones; the process's resident memory after a 608×416 forward went from 1.96 to 2.31 GB
   * with them (random weights, session 17).
   *
   * <p>A 1×1 layer built with the channel counts of a concatenated input ({@code parts}) also serves
   * {@link #forwardUpsampledConcat}, HRNet's segmentation head; it keeps the column slices of its folded weight
   * packed instead of the whole weight (2 MB for HRNet-W48's 720×720 head).
   */
  static final class FusedConvBn implements org.deepspg.ops.WeightCache {
    /**
     * The folded, packed weight and bias, and the stamp of what they were computed from; for a 3×3 stride-1 layer
     * that {@link DenseConv#winogradFits} the Winograd-packed weight (else null) and the direct one only once an
     * input needed it; for a layer built with {@code parts} the packed column slices of the weight, one per part
     * (else null), and the whole weight only once {@link #forward} needed it.
     */
    private record Folded(long[] stamp, AtomicReference<DenseConv.Packed> weight, DenseConv.Packed winograd,
        DenseConv.Packed[] slices, Tensor bias) {
      void close() {
        DenseConv.Packed w = weight.get();
        if (w != null) w.close();
        if (winograd != null) winograd.close();
        if (slices != null) for (DenseConv.Packed p : slices) p.close();
        bias.releaseReference();
      }
    }

    /** Folds computed in this process (tests see from it whether a forward reused the cache). */
    static final AtomicLong FOLDS = new AtomicLong();

    private final Conv2dImpl conv;
    private final BatchNorm2dImpl bn;
    private final int stride;
    /** Input channels of each concatenated part ({@link #forwardUpsampledConcat}), or null. */
    private final int[] parts;
    private volatile Folded folded;

    @Override
    public synchronized void clear() {
      Folded f = folded;
      folded = null;
      if (f != null) f.close();
    }

    /**
     * @param conv the convolution (padding k/2, as {@link #conv} builds it)
     * @param bn its BatchNorm, or null for a plain convolution
     * @param stride the convolution's stride
     */
    FusedConvBn(Conv2dImpl conv, BatchNorm2dImpl bn, int stride) {
      this(conv, bn, stride, null);
    }

    /**
     * @param conv the convolution (padding k/2, as {@link #conv} builds it)
     * @param bn its BatchNorm, or null for a plain convolution
     * @param stride the convolution's stride
     * @param parts for {@link #forwardUpsampledConcat} (a 1×1 stride-1 convolution): the input channels of each
     *     concatenated part, summing to the convolution's input channels; null for a plain layer
     * @throws IllegalArgumentException when {@code parts} does not fit the convolution
     */
    FusedConvBn(Conv2dImpl conv, BatchNorm2dImpl bn, int stride, int[] parts) {
      if (parts != null) {
        Tensor w = conv.weight();
        if (stride != 1 || w.size(2) != 1 || w.size(3) != 1 || Arrays.stream(parts).sum() != w.size(1)
            || Arrays.stream(parts).anyMatch(c -> c < 1)) {
          throw new IllegalArgumentException("parts " + Arrays.toString(parts) + " need a 1x1 stride-1 convolution"
              + " with as many input channels, got weight " + HRNet.shape(w) + ", stride " + stride);
        }
      }
      this.conv = conv;
      this.bn = bn;
      this.stride = stride;
      this.parts = parts == null ? null : parts.clone();
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
            && DenseConv.winogradPays(x.size(1), f.winograd().shape()[0], x.size(2), x.size(3));
        DenseConv.Packed w = wino ? f.winograd() : direct(f);
        return DenseConv.forward(x, w, f.bias(), residual, stride, relu);
      }
      Tensor y = conv.forward(x);
      if (bn != null) y = bn.forward(y);
      if (residual != null) y = y.add(residual);
      return relu ? y.relu() : y;
    }

    /**
     * {@code act(bn(conv(cat(xs[0], up(xs[1]), …, up(xs[n−1]))))}, up = bilinear resize to {@code xs[0]}'s size:
     * HRNet's segmentation head. Bilinear resizing is linear and acts on each channel alone, so it commutes with a
     * 1×1 convolution's channel mixing: with {@code W_j} the columns of the folded weight for part j,
     * {@code W·cat(x_0, up(x_1), …) + b = W_0·x_0 + b + Σ_{j≥1} up(W_j·x_j)} (exact in real arithmetic; float32
     * rounds differently). The inference path computes the right-hand side: each {@code W_j·x_j} on its part's
     * resolution, the resized sums as the direct convolution's residual. For HRNet-W48 at 608×416 that is 2.05 GFLOP
     * instead of 16.4 (the concatenation holds 672 of its 720 channels at 4× to 64× the pixels of their branch).
     * Where the direct path does not serve (gradients, BN in training mode, float64, CUDA, self-check failed) it
     * computes the left-hand side with libtorch's ops, as {@link #forward} does.
     *
     * @param xs the parts, [B, parts[j], H_j, W_j], the first at the output's resolution
     * @param alignCorners align_corners of the resize
     * @param relu whether to apply ReLU last
     * @return [B, out, H_0, W_0]
     * @throws IllegalStateException when the layer was built without {@code parts}
     * @throws IllegalArgumentException when {@code xs} does not match {@code parts}
     */
    Tensor forwardUpsampledConcat(Tensor[] xs, boolean alignCorners, boolean relu) {
      if (parts == null) {
        throw new IllegalStateException("this layer was built without the channel counts of a concatenated input");
      }
      if (xs.length != parts.length) {
        throw new IllegalArgumentException("need " + parts.length + " parts, got " + xs.length);
      }
      for (int j = 0; j < xs.length; j++) {
        if (xs[j].dim() != 4 || xs[j].size(1) != parts[j] || xs[j].size(0) != xs[0].size(0)) {
          throw new IllegalArgumentException("part " + j + " must be [" + xs[0].size(0) + ", " + parts[j]
              + ", H, W], got " + HRNet.shape(xs[j]));
        }
      }
      long[] size = {xs[0].size(2), xs[0].size(3)};
      Tensor[] deps = bn != null && bn.is_training() ? null : dependencies();
      boolean direct = deps != null;
      for (int j = 0; direct && j < xs.length; j++) {
        direct = DenseConv.usable(xs[j], deps);
      }
      PointerScope outer = PointerScope.getInnerScope();
      try (PointerScope scope = new PointerScope()) {
        if (!direct) {
          TensorVector cat = new TensorVector();
          cat.push_back(xs[0]);
          for (int j = 1; j < xs.length; j++) {
            cat.push_back(upsample_bilinear2d(xs[j], size, alignCorners));
          }
          return Scopes.escape(forward(cat(cat, 1), null, relu), outer);
        }
        Folded f = folded(deps);
        Tensor[] zs = new Tensor[xs.length - 1]; // W_j·x_j at each part's resolution
        for (int j = 1; j < xs.length; j++) {
          zs[j - 1] = DenseConv.forward(xs[j], f.slices()[j], null, null, 1, false);
        }
        // Σ up(W_j·x_j) in one pass over the output (not three resized maps and two adds)
        Tensor sum = zs.length == 0 ? null : UpsampleSum.forward(null, zs, size[0], size[1], alignCorners, false);
        return Scopes.escape(DenseConv.forward(xs[0], f.slices()[0], f.bias(), sum, 1, relu), outer);
      }
    }

    private Tensor bias() {
      Tensor cb = conv.bias();
      return cb != null && cb.defined() ? cb : null;
    }

    /** The fold's direct-path weight, packed now if the fold has none yet (a Winograd layer's first small input). */
    private DenseConv.Packed direct(Folded f) {
      DenseConv.Packed p = f.weight().get();
      if (p != null) return p;
      synchronized (this) {
        p = f.weight().get();
        if (p == null) {
          try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
            p = DenseConv.pack(foldedWeight(bnScale()));
          }
          f.weight().set(p);
        }
        return p;
      }
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

    /** The BN's scale {@code γ/√(σ²+ε)} (null without a BN); call under a scope and a no-grad guard. */
    private Tensor bnScale() {
      return bn == null ? null : bn.weight().div(bn.running_var().add(new Scalar(bn.options().eps().get())).sqrt());
    }

    /** The convolution's weight with the BN's {@link #bnScale} (or null) folded in; under a scope and no-grad. */
    private Tensor foldedWeight(Tensor scale) {
      return scale == null ? conv.weight() : conv.weight().mul(scale.view(-1, 1, 1, 1));
    }

    private Folded fold(long[] stamp) {
      try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
        Tensor scale = bnScale();
        Tensor w = foldedWeight(scale);
        Tensor cb = bias();
        Tensor b;
        if (scale == null) {
          b = cb == null ? torch.zeros(w.size(0)) : cb.clone();
        } else {
          b = bn.bias().sub(bn.running_mean().mul(scale));
          if (cb != null) b = b.add(cb.mul(scale));
        }
        b.retainReference(); // owned by the Folded from now on
        FOLDS.incrementAndGet();
        boolean wino = stride == 1 && w.size(2) == 3 && DenseConv.winogradFits(w.size(1), w.size(0));
        DenseConv.Packed[] slices = null;
        if (parts != null) {
          slices = new DenseConv.Packed[parts.length];
          for (int j = 0, at = 0; j < parts.length; at += parts[j++]) {
            slices[j] = DenseConv.pack(w.narrow(1, at, parts[j]));
          }
        }
        // a Winograd layer and a concatenation's layer (its slices serve) pack the whole weight only when needed
        return new Folded(stamp, new AtomicReference<>(wino || slices != null ? null : DenseConv.pack(w)),
            wino ? DenseConv.packWinograd(w) : null, slices, b);
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
      this.path = cache(new FusedConvBn(conv, register_module("1", bn(out, cfg)), stride));
      this.relu = relu;
    }

    Tensor forward(Tensor x) {
      return path.forward(x, null, relu);
    }

    /** {@code bn(conv(x)) + residual} (no activation): a fuse chain's last link with the sum so far fused in. */
    Tensor forwardAdd(Tensor x, Tensor residual) {
      return path.forward(x, residual, false);
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

    /** {@code forward(x) + residual}, the add fused into the last convolution's epilogue. */
    Tensor forwardAdd(Tensor x, Tensor residual) {
      Tensor y = x;
      for (int i = 0; i < steps.length - 1; i++) {
        y = steps[i].forward(y);
      }
      return steps[steps.length - 1].forwardAdd(y, residual);
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
      path1 = cache(new FusedConvBn(conv1, register_module("bn1", bn(planes, cfg)), stride));
      Conv2dImpl conv2 = register_module("conv2", conv(planes, planes, 3, 1, false));
      path2 = cache(new FusedConvBn(conv2, register_module("bn2", bn(planes, cfg)), 1));
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
      path1 = cache(new FusedConvBn(conv1, register_module("bn1", bn(planes, cfg)), 1));
      Conv2dImpl conv2 = register_module("conv2", conv(planes, planes, 3, stride, false));
      path2 = cache(new FusedConvBn(conv2, register_module("bn2", bn(planes, cfg)), stride));
      Conv2dImpl conv3 = register_module("conv3", conv(planes, out, 1, 1, false));
      path3 = cache(new FusedConvBn(conv3, register_module("bn3", bn(out, cfg)), 1));
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
