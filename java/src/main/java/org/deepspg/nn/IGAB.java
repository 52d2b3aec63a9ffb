/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.nn;


import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.deepspg.ops.FusedFfn;

/**
 * Illumination-guided attention block (Retinexformer IGAB, spec §1.5):
 * {@code x ← IGMSA(x, F) + x ; x ← FFN(LN_c(x)) + x} (no norm before the IG-MSA).
 * FFN = 1×1 d→4d → GELU → 3×3 dw (4d) → GELU → 1×1 4d→d, all without bias; in inference LN, FFN and the residual
 * add run as one native pass ({@link FusedFfn}).
 *
 * <p>Parameters {@code 12d² + 57d + h}. State-dict names: {@code attn.*} ({@link IGMSA}), {@code norm.ln.weight},
 * {@code norm.ln.bias} {@code [d]}, {@code ffn.0.weight [4d,d,1,1]}, {@code ffn.2.weight [4d,1,3,3]},
 * {@code ffn.4.weight [d,4d,1,1]}.
 */
public final class IGAB extends org.deepspg.nn.JavaModule {
  private final int dim;
  private final IGMSA attn;
  private final ChannelLayerNorm norm;
  private final FastConv.Pointwise ffn0;
  private final Conv2dImpl ffn2;
  private final FastConv.Pointwise ffn4;

  /**
   * @param dim d (divisible by heads)
   * @param heads h
   */
  public IGAB(int dim, int heads) {
    this.dim = dim;
    this.attn = register_module("attn", new IGMSA(dim, heads));
    this.norm = register_module("norm", new ChannelLayerNorm(dim));
    Module ffn = register_module("ffn", Layers.container());
    this.ffn0 = cache(new FastConv.Pointwise(ffn.register_module("0", Layers.pointwise(dim, 4L * dim, false))));
    this.ffn2 = ffn.register_module("2", Layers.depthwise3x3(4L * dim));
    this.ffn4 = cache(new FastConv.Pointwise(ffn.register_module("4", Layers.pointwise(4L * dim, dim, false))));
  }

  /**
   * @param x features {@code [B, d, H, W]}
   * @param illu illumination guide {@code [B, d, H, W]}
   * @return {@code [B, d, H, W]}
   */
  public Tensor forward(Tensor x, Tensor illu) {
    requireOpen();
    Tensor y = attn.forward(x, illu, x);
    Tensor w0 = ffn0.conv().weight();
    Tensor w4 = ffn4.conv().weight();
    if (FusedFfn.usable(y, norm.weight(), norm.bias(), w0, ffn2.weight(), w4)) { // inference: one native pass
      return FusedFfn.forward(y, norm.weight(), norm.bias(), ChannelLayerNorm.EPS, ffn0.packed(), ffn2.weight(),
          ffn4.packed(), y, FusedFfn.Mode.GELU_DW_GELU);
    }
    return ffn4.apply(FastConv.depthwise3x3Gelu(ffn2, ffn0.applyGelu(norm.forward(y))), y);
  }

  /** @return d */
  public int dim() {
    return dim;
  }

  /** @return the attention sub-module */
  public IGMSA attention() {
    return attn;
  }
}
