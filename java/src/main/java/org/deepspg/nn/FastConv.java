/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.nn;

import java.util.function.Supplier;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.ops.DenseConv;
import org.deepspg.ops.DepthwiseConv;
import org.deepspg.ops.SameConv;
import org.deepspg.ops.WeightPack;

/**
 * Fast paths for the convolutions the DeepSPG blocks are made of, used in place of {@code Conv2dImpl.forward} while the
 * {@code Conv2dImpl} modules stay the owners of the weights (same parameter names, same state dict):
 *
 * <ul>
 *   <li>1×1 convolutions run as one BLAS matrix product on {@code [B, C, H·W]} views — {@code W·X + b} with W
 *       {@code [out, in]} — instead of libtorch's convolution dispatch (im2col-free but slower on CPU with oneDNN
 *       off, and a oneDNN reorder with it on); in inference ({@link Pointwise}, {@link #linear}: no gradient
 *       needed, float32 CPU) on the native direct convolution {@link DenseConv} instead, with the weight packed
 *       once and the residual add fused (OpenBLAS picks its 256-bit Haswell kernels on AVX-512 CPUs and adds a
 *       packing and a scaling pass per product: about half of a DeepSPG-S forward's time in a 2026-12-05 profile);
 *       in training (float32 CPU, gradients recorded) on {@link DenseConv#pointwise}, whose backward runs on the same
 *       native kernels; the matrix product remains for other devices and dtypes and where the self-check failed;
 *   <li>3×3 depthwise convolutions (stride 1, padding 1, no bias) run on the native kernel {@link DepthwiseConv}
 *       (libtorch's CPU depthwise path was ~3 s per 80-channel 416×608 call with oneDNN off), optionally fused with
 *       the GELU that follows them;
 *   <li>other stride-1 "same" convolutions (the estimator's 5×5 with 4 groups, dense 3×3) run on the native kernel
 *       {@link SameConv}; in inference, those with at least {@link #GROUPED_MIN_OUT} outputs per group (the
 *       estimator's, the embedding) on the direct convolution's micro-kernels ({@link DenseConv#grouped}).
 * </ul>
 *
 * <p>All are differentiable with stock autograd (matmul) or the native backward (1×1, depthwise), on any device and in
 * float32/float64, and compute the same function as the module's {@code forward} (to float rounding).
 */
public final class FastConv {
  /**
   * Fewest output channels per group for which {@link #sameConv} takes {@link DenseConv#grouped} in inference: its
   * micro-kernel computes blocks of 6 (AVX-512) or 4 (AVX2) outputs of one group, so narrower groups (the mapping's
   * 3×3 C→3, ESPNetv2's 5→1 merges) would waste much of each block and stay on {@link SameConv} (measured at
   * 608×416, 2 threads: 20→3 4.7 ms there against 6.4 ms direct; 3→20 5.6 against 2.6 ms direct). ESPNetv2's
   * grouped 1×1s take the same bound ({@code EspBlocks.run}).
   */
  public static final long GROUPED_MIN_OUT = 4;

  private FastConv() {}

  /**
   * A 1×1 convolution (stride 1, no padding, groups 1): {@link DenseConv#pointwise} on float32 CPU tensors where the
   * self-check passed, else a matrix product.
   *
   * @param conv the layer (weight {@code [out, in, 1, 1]}, optional bias {@code [out]})
   * @param x {@code [B, in, H, W]}
   * @return {@code [B, out, H, W]} contiguous
   * @throws IllegalArgumentException when the layer is not 1×1 or x does not have {@code in} channels
   */
  public static Tensor pointwise(Conv2dImpl conv, Tensor x) {
    Tensor w = conv.weight();
    if (w.dim() != 4 || w.size(2) != 1 || w.size(3) != 1) {
      throw new IllegalArgumentException("FastConv.pointwise: expected a 1x1 conv weight [out, in, 1, 1], got "
          + Shapes.str(w));
    }
    if (DenseConv.trainable(x, w, biasOf(conv))) return DenseConv.pointwise(x, w, biasOf(conv), null);
    return channelLinear(w.reshape(w.size(0), w.size(1)), biasOf(conv), x);
  }

  /**
   * A 1×1 convolution layer (stride 1, no padding, groups 1) whose inference runs on {@link DenseConv} with its
   * weight packed once ({@link WeightPack}); with a gradient to record, on other devices or dtypes, or where the
   * kernel's self-check failed, it runs as {@link FastConv#pointwise}. The module stays the owner of the weight.
   */
  public static final class Pointwise implements org.deepspg.ops.WeightCache {
    private final Conv2dImpl conv;
    private final WeightPack pack = new WeightPack();

    @Override
    public void clear() {
      pack.clear();
    }

    /**
     * @param conv the layer (weight {@code [out, in, 1, 1]}, optional bias {@code [out]})
     * @throws IllegalArgumentException when the layer is not 1×1
     */
    public Pointwise(Conv2dImpl conv) {
      Tensor w = conv.weight();
      if (w.dim() != 4 || w.size(2) != 1 || w.size(3) != 1) {
        throw new IllegalArgumentException("FastConv.Pointwise: expected a 1x1 conv weight [out, in, 1, 1], got "
            + Shapes.str(w));
      }
      this.conv = conv;
    }

    /**
     * @param x {@code [B, in, H, W]}
     * @return {@code conv(x)}, {@code [B, out, H, W]}
     */
    public Tensor apply(Tensor x) {
      return apply(x, null);
    }

    /**
     * @param x {@code [B, in, H, W]}
     * @param residual {@code [B, out, H, W]} added to the result, or null
     * @return {@code conv(x) + residual}, {@code [B, out, H, W]}
     */
    public Tensor apply(Tensor x, Tensor residual) {
      return run(x, residual, false);
    }

    /**
     * @param x {@code [B, in, H, W]}
     * @return {@code gelu(conv(x))} (exact erf form; fused into the convolution's epilogue in inference)
     */
    public Tensor applyGelu(Tensor x) {
      return run(x, null, true);
    }

    private Tensor run(Tensor x, Tensor residual, boolean gelu) {
      Tensor w = conv.weight();
      return linear(pack, () -> w, biasOf(conv), x, residual, gelu, w);
    }

    /**
     * The weight packed for {@link DenseConv} (packed on first use and after the weight changes), for fused kernels
     * that run this layer inside a larger block ({@link org.deepspg.ops.FusedFfn}); call only where
     * {@link DenseConv#usable} holds.
     *
     * @return the packed weight, owned by this layer (do not close it)
     */
    public DenseConv.Packed packed() {
      Tensor w = conv.weight();
      return pack.get(() -> w, w);
    }

    /** @return the layer */
    public Conv2dImpl conv() {
      return conv;
    }
  }

  /**
   * {@code W x + bias + residual} per pixel (a 1×1 convolution), on {@link DenseConv} with the weight packed once into
   * {@code pack} when no gradient is needed and the kernel is usable ({@link DenseConv#usable}), else as
   * {@link #channelLinear} plus an add.
   *
   * @param pack where the packed weight is kept (one per layer)
   * @param weight computes W, {@code [out, in]} or {@code [out, in, 1, 1]}, from {@code sources}
   * @param bias {@code [out]} or null
   * @param x {@code [B, in, H, W]}
   * @param residual {@code [B, out, H, W]} or null
   * @param gelu whether to apply GELU (exact erf form) last
   * @param sources every parameter W is computed from (their change is what repacks)
   * @return {@code [B, out, H, W]}
   */
  public static Tensor linear(WeightPack pack, Supplier<Tensor> weight, Tensor bias, Tensor x, Tensor residual,
      boolean gelu, Tensor... sources) {
    if (DenseConv.usable(x, sources) && DenseConv.usable(x, bias, residual)) {
      DenseConv.Packed p = pack.get(() -> {
        Tensor w = weight.get();
        return w.dim() == 4 ? w : w.reshape(w.size(0), w.size(1), 1, 1);
      }, sources);
      return DenseConv.forward(x, p, bias, residual, 1, 0, gelu ? DenseConv.Act.GELU : DenseConv.Act.NONE);
    }
    Tensor w = weight.get();
    Tensor y;
    if (DenseConv.trainable(x, w, bias, residual)) {
      y = DenseConv.pointwise(x, w, bias, residual);
    } else {
      y = channelLinear(w.dim() == 4 ? w.reshape(w.size(0), w.size(1)) : w, bias, x);
      if (residual != null) y = y.add(residual);
    }
    return gelu ? torch.gelu(y) : y;
  }

  /**
   * A dense k×k convolution layer with a given stride and zero padding (e.g. DeepSPG's 4×4 stride-2 pad-1
   * down-sampling) whose inference runs on {@link DenseConv} with its weight packed once; with a gradient to record,
   * a stride-2 layer with an even kernel on float32 CPU tensors runs the differentiable {@link DenseConv#downsample}
   * (the training path); on other devices or dtypes, other geometries, or where the kernel's self-check failed, it
   * runs the module's own forward. The layer must have been built with this stride and padding, groups 1 and no
   * dilation.
   */
  public static final class Dense implements org.deepspg.ops.WeightCache {
    private final Conv2dImpl conv;
    private final int stride;
    private final int pad;
    private final WeightPack pack = new WeightPack();

    @Override
    public void clear() {
      pack.clear();
    }

    /**
     * @param conv the layer (weight {@code [out, in, k, k]}, optional bias)
     * @param stride its stride (1 or 2)
     * @param pad its zero padding
     */
    public Dense(Conv2dImpl conv, int stride, int pad) {
      this.conv = conv;
      this.stride = stride;
      this.pad = pad;
    }

    /**
     * @param x {@code [B, in, H, W]}
     * @return {@code conv(x)}
     */
    public Tensor apply(Tensor x) {
      Tensor w = conv.weight();
      Tensor bias = biasOf(conv);
      if (DenseConv.usable(x, w, bias) && x.size(2) + 2L * pad >= w.size(2) && x.size(3) + 2L * pad >= w.size(3)) {
        return DenseConv.forward(x, pack.get(() -> w, w), bias, null, stride, pad, DenseConv.Act.NONE);
      }
      if (stride == 2 && DenseConv.downsampleFits(x, w, bias, pad)) return DenseConv.downsample(x, w, bias, pad);
      return conv.forward(x);
    }

    /** @return the layer */
    public Conv2dImpl conv() {
      return conv;
    }
  }

  /**
   * {@code y[b, :, p] = W x[b, :, p] + bias} at every pixel p, as one matrix product per batch item ({@code mm} for
   * B = 1, {@code bmm} on an expanded, copy-free W otherwise).
   *
   * @param w weight {@code [out, in]}
   * @param bias {@code [out]} or null
   * @param x {@code [B, in, H, W]}
   * @return {@code [B, out, H, W]} contiguous
   * @throws IllegalArgumentException on a shape mismatch
   */
  public static Tensor channelLinear(Tensor w, Tensor bias, Tensor x) {
    if (w.dim() != 2 || x.dim() != 4 || x.size(1) != w.size(1)) {
      throw new IllegalArgumentException("FastConv: weight " + Shapes.str(w) + " does not apply to x "
          + Shapes.str(x) + " (expected [out, in] and [B, in, H, W])");
    }
    long b = x.size(0), in = w.size(1), out = w.size(0), h = x.size(2), wd = x.size(3);
    Tensor y;
    if (b == 1) {
      Tensor x2 = x.reshape(in, h * wd);
      y = bias != null ? bias.reshape(out, 1).addmm(w, x2) : w.mm(x2);
    } else {
      y = w.expand(b, out, in).bmm(x.reshape(b, in, h * wd));
      if (bias != null) y = y.add(bias.reshape(1, out, 1));
    }
    return y.reshape(b, out, h, wd);
  }

  /**
   * A k×k convolution with stride 1 and padding k/2 (k odd, any groups, optional bias) on the native kernel
   * {@link SameConv} (libtorch's conv2d on CUDA); in inference, layers with at least {@link #GROUPED_MIN_OUT}
   * outputs per group (the illumination estimator's grouped 5×5, the embedding's 3×3 3→C) on the direct
   * convolution's micro-kernels ({@link DenseConv#grouped}, where {@link DenseConv#usable} holds: the same result to
   * float rounding, 2–3.5× faster). The layer must have been built with that geometry; only the weight shape is
   * checked here.
   *
   * @param conv the layer (weight {@code [out, in/groups, k, k]}, optional bias {@code [out]})
   * @param x {@code [B, in, H, W]}
   * @param groups the layer's groups
   * @return {@code [B, out, H, W]}
   */
  public static Tensor sameConv(Conv2dImpl conv, Tensor x, long groups) {
    Tensor w = conv.weight(), b = biasOf(conv);
    if (w.size(0) / groups >= GROUPED_MIN_OUT && DenseConv.usable(x, w, b)) {
      return DenseConv.grouped(x, w, b, null, groups);
    }
    return SameConv.apply(x, w, b, groups);
  }

  /**
   * A 3×3 depthwise convolution (stride 1, padding 1, groups = channels, no bias) on the native kernel.
   *
   * @param conv the layer (weight {@code [C, 1, 3, 3]})
   * @param x {@code [B, C, H, W]}
   * @return {@code [B, C, H, W]}
   */
  public static Tensor depthwise3x3(Conv2dImpl conv, Tensor x) {
    return DepthwiseConv.conv3x3(x, conv.weight());
  }

  /**
   * {@code gelu(depthwise3x3(x))} in one native pass.
   *
   * @param conv the layer (weight {@code [C, 1, 3, 3]})
   * @param x {@code [B, C, H, W]}
   * @return {@code [B, C, H, W]}
   */
  public static Tensor depthwise3x3Gelu(Conv2dImpl conv, Tensor x) {
    return DepthwiseConv.conv3x3Gelu(x, conv.weight());
  }

  /** The layer's bias, or null when it has none. */
  private static Tensor biasOf(Conv2dImpl conv) {
    Tensor b = conv.bias();
    return b != null && b.defined() ? b : null;
  }
}
