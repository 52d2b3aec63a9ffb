/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.nn;

import static org.bytedeco.pytorch.global.torch.cat;
import static org.bytedeco.pytorch.global.torch.ones;

import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.deepspg.ops.ChannelAttention;
import org.deepspg.ops.DepthwisePair;
import org.deepspg.ops.FoldedAttention;
import org.deepspg.ops.WeightPack;

/**
 * Illumination-guided multi-head self-attention (Retinexformer IG-MSA, spec §1.5).
 *
 * <p>For x ({@code d} channels) and guide F ({@code d} channels), per pixel: {@code Q = x W_q}, {@code K = x W_k},
 * {@code V = x W_v} (Linear d→d, no bias); {@code O = ChannelAttention(X=K, Y=Q, V, gate=F, σ)} i.e. per head
 * {@code softmax_row(σ_h · norm(K) norm(Q)ᵀ) (V ⊙ F)}; {@code out = O W_p + b_p + PE(V)} with PE = 3×3 dw conv →
 * GELU → 3×3 dw conv (no bias) on the <b>ungated</b> V.
 *
 * <p>State-dict names: {@code rescale [h,1,1]}, {@code q.weight}, {@code k.weight}, {@code v.weight} {@code [d,d]},
 * {@code proj.weight [d,d]}, {@code proj.bias [d]}, {@code pos.0.weight}, {@code pos.2.weight} {@code [d,1,3,3]}.
 * Init: linears truncated normal std 0.02 (bias 0), σ = 1, dw convs PyTorch default.
 */
public final class IGMSA extends org.deepspg.nn.JavaModule {
  private final int dim;
  private final int heads;
  private final Tensor rescale;
  private final LinearImpl q;
  private final LinearImpl k;
  private final LinearImpl v;
  private final LinearImpl proj;
  private final Conv2dImpl pos0;
  private final Conv2dImpl pos2;
  private final WeightPack qkvPack = cache(new WeightPack());
  private final WeightPack projPack = new WeightPack();

  /**
   * @param dim d (divisible by heads)
   * @param heads h
   */
  public IGMSA(int dim, int heads) {
    if (dim <= 0 || heads <= 0 || dim % heads != 0) {
      throw new IllegalArgumentException("IGMSA: dim must be a positive multiple of heads, got dim=" + dim
          + " heads=" + heads);
    }
    this.dim = dim;
    this.heads = heads;
    // Keep our own handle (same TensorImpl): the returned reference points into the module's dict storage.
    this.rescale = ones(heads, 1, 1);
    register_parameter("rescale", rescale);
    this.q = register_module("q", Layers.linear(dim, dim, false));
    this.k = register_module("k", Layers.linear(dim, dim, false));
    this.v = register_module("v", Layers.linear(dim, dim, false));
    this.proj = register_module("proj", Layers.linear(dim, dim, true));
    Module pos = register_module("pos", Layers.container());
    this.pos0 = pos.register_module("0", Layers.depthwise3x3(dim));
    this.pos2 = pos.register_module("2", Layers.depthwise3x3(dim));
    for (LinearImpl lin : new LinearImpl[] {q, k, v, proj}) {
      Layers.initTruncNormalLinear(lin);
    }
  }

  /**
   * @param x features {@code [B, d, H, W]}
   * @param illu illumination guide F {@code [B, d, H, W]}
   * @return {@code [B, d, H, W]} (attention output + positional branch; the caller adds the residual)
   */
  public Tensor forward(Tensor x, Tensor illu) {
    return forward(x, illu, null);
  }

  /**
   * The attention with a residual added last (the block's skip connection). In inference the queries, keys and the
   * projection are folded away ({@link FoldedAttention}: a Gram sweep over x, then one mixing sweep) and the
   * positional branch with the residual is one native pass ({@link DepthwisePair}), the mixing's addend; where the
   * folded path does not serve, the pair's result is the projection's epilogue addend.
   *
   * @param x features {@code [B, d, H, W]}
   * @param illu illumination guide F {@code [B, d, H, W]}
   * @param residual {@code [B, d, H, W]} or null: x's shape, dtype and device (no broadcasting, in every mode)
   * @return {@code [B, d, H, W]}: attention output + positional branch + residual
   * @throws IllegalArgumentException on a shape mismatch, or a residual unlike x
   */
  public Tensor forward(Tensor x, Tensor illu, Tensor residual) {
    requireOpen();
    Shapes.requireNchw("IGMSA(" + dim + ") x", x, dim);
    Shapes.requireNchw("IGMSA(" + dim + ") illu", illu, dim);
    Shapes.requireSameBatchAndSize("IGMSA x vs illu", x, illu);
    // checked here, in every mode: the fused inference path refuses a residual unlike x, while libtorch's add in
    // the training path would broadcast or promote it
    if (residual != null) Shapes.requireLike("IGMSA(" + dim + ") residual", residual, x);
    Tensor wq = q.weight(), wk = k.weight(), wv = v.weight();
    Tensor w0 = pos0.weight(), w2 = pos2.weight();
    Tensor wp = proj.weight(), bp = proj.bias();
    if (FoldedAttention.usable(x, illu, wq, wk, wv, wp, bp, rescale, w0, w2, residual)) {
      // inference: v and the Gram of x in one sweep (q and k never formed), the projection folded into the mixing
      // (FoldedAttention); the positional branch and the residual are the mixing's addend, overwritten by it
      FoldedAttention.Scores s = FoldedAttention.scores(x, wv, wq, wk, rescale, heads);
      Tensor vv = s.values();
      Tensor pos = DepthwisePair.usable(vv, w0, w2, residual) ? DepthwisePair.forward(vv, w0, w2, residual)
          : residual == null ? positional(vv) : positional(vv).add(residual);
      return FoldedAttention.mix(s, illu, wp, bp, pos, true);
    }
    // The three per-pixel linears as one [3d, d] x [B, d, N] product (same math as Linear on NHWC tokens).
    Tensor qkv = FastConv.linear(qkvPack, () -> cat(new TensorVector(wq, wk, wv), 0), null, x, null, false,
        wq, wk, wv);
    Tensor qq = qkv.narrow(1, 0, dim);
    Tensor kk = qkv.narrow(1, dim, dim);
    Tensor vv = qkv.narrow(1, 2L * dim, dim);
    // Rows indexed by K channels, softmax over Q channels, values gated by the illumination features.
    Tensor o = ChannelAttention.apply(kk, qq, vv, illu, rescale, heads);
    // Positional branch: dw3x3 -> GELU -> dw3x3 on the native kernel (the first two fused), added to the
    // projection (fused into it in inference); in inference the branch and the residual are one pass.
    if (DepthwisePair.usable(vv, w0, w2, residual)) {
      Tensor pos = DepthwisePair.forward(vv, w0, w2, residual);
      return FastConv.linear(projPack, () -> wp, bp, o, pos, false, wp);
    }
    Tensor out = FastConv.linear(projPack, () -> wp, bp, o, positional(vv), false, wp);
    return residual == null ? out : out.add(residual);
  }

  /** The positional branch {@code dw3x3(gelu(dw3x3(v)))} as two depthwise calls (a new tensor). */
  private Tensor positional(Tensor vv) {
    return FastConv.depthwise3x3(pos2, FastConv.depthwise3x3Gelu(pos0, vv));
  }

  /** @return d */
  public int dim() {
    return dim;
  }

  /** @return h */
  public int heads() {
    return heads;
  }
}
