/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.nn;

import org.bytedeco.pytorch.LayerNormImpl;
import org.bytedeco.pytorch.LayerNormOptions;
import org.bytedeco.pytorch.LongVector;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.deepspg.ops.ChannelLayerNormOp;

/**
 * LayerNorm over the channel axis of an NCHW tensor at every pixel (spec §1.2 {@code LN_c}), computed by the native
 * kernel {@link ChannelLayerNormOp} with the parameters of the wrapped {@code LayerNormImpl}:
 * {@code (x − μ_c) / sqrt(σ²_c + 1e−5) · γ + β}, biased variance, γ = 1, β = 0 at init.
 *
 * <p>State-dict names: {@code ln.weight [d]}, {@code ln.bias [d]} (the reference wraps an {@code nn.LayerNorm} as
 * {@code ln}).
 */
public final class ChannelLayerNorm extends org.deepspg.nn.JavaModule {
  /** LayerNorm epsilon (PyTorch default, spec §1.2). */
  public static final double EPS = 1e-5;

  private final long channels;
  private final LayerNormImpl ln;

  /**
   * @param channels d, the channel count normalised over
   */
  public ChannelLayerNorm(long channels) {
    if (channels <= 0) {
      throw new IllegalArgumentException("ChannelLayerNorm: channels must be > 0, got " + channels);
    }
    this.channels = channels;
    LayerNormOptions o = new LayerNormOptions(new LongVector(new long[] {channels}));
    o.eps().put(EPS);
    this.ln = register_module("ln", new LayerNormImpl(o));
  }

  /**
   * @param x {@code [B, d, H, W]}
   * @return {@code [B, d, H, W]} normalised over d at each pixel (contiguous; native kernel
   *     {@link ChannelLayerNormOp}, no permutes)
   */
  public Tensor forward(Tensor x) {
    requireOpen();
    if (x == null || !x.defined() || x.dim() != 4 || x.size(1) != channels) {
      throw new IllegalArgumentException("ChannelLayerNorm(" + channels + "): expected [B, " + channels
          + ", H, W], got " + Shapes.str(x));
    }
    return ChannelLayerNormOp.apply(x, ln.weight(), ln.bias(), EPS);
  }

  /** @return γ {@code [d]} (the wrapped LayerNorm's weight) */
  public Tensor weight() {
    return ln.weight();
  }

  /** @return β {@code [d]} (the wrapped LayerNorm's bias) */
  public Tensor bias() {
    return ln.bias();
  }

  /** @return d */
  public long channels() {
    return channels;
  }
}
