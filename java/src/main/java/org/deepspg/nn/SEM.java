/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.nn;

import static org.bytedeco.pytorch.global.torch.ones;
import static org.bytedeco.pytorch.global.torch.upsample_nearest2d;

import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.deepspg.ops.AttentionContext;
import org.deepspg.ops.ChannelAttention;
import org.deepspg.ops.FoldedAttention;

/**
 * Semantic-aware Embedding Module (spec §2.2): cross channel-attention from HRNet semantic features onto the
 * reflectance features, then a GDFN.
 *
 * <pre>
 *   S  = up_nearest_{H×W}(W_a S_raw + b_a)            1×1 adapter at HRNet resolution, then nearest resize
 *                                                      (after LN_s and W_q below when S_raw is the smaller map)
 *   R̃ = LN_r(R),  S̃ = LN_s(S)                          (sharedLn: LN_r for both)
 *   [K ; V] = DW₃(W_kv R̃),  Q = DW₃'(W_q S̃)           (qDense: DW₃' is a dense 3×3 conv)
 *   O  = ChannelAttention(X=Q, Y=K, V, τ)              per head softmax_row(τ_h · norm(Q) norm(K)ᵀ) V
 *   R₁ = R + W_o O                                     (skfResidual: R̃ + W_o O)
 *   out = R₁ + GDFN(LN_f(R₁))
 * </pre>
 *
 * <p>Parameters (e = 2, depthwise q) {@code 10d² + (70+s)d + h}. State-dict names: {@code temperature [h,1,1]},
 * {@code adapt.weight [d,s,1,1]}, {@code adapt.bias [d]}, {@code ln_r.ln.*}, {@code ln_s.ln.*} (absent with
 * sharedLn), {@code ln_f.ln.*} {@code [d]}, {@code kv.weight [2d,d,1,1]}, {@code kv_dw.weight [2d,1,3,3]},
 * {@code q.weight [d,d,1,1]}, {@code q_dw.weight [d,1,3,3]} ({@code [d,d,3,3]} with qDense),
 * {@code proj.weight [d,d,1,1]}, {@code ffn.*} ({@link GDFN}).
 */
public final class SEM extends org.deepspg.nn.JavaModule {
  /** Construction switches of a SEM (spec §2.2 and its config switches). */
  public record Options(double ffnExpansion, boolean qDense, boolean sharedLn, boolean skfResidual) {
    /**
     * @param ffnExpansion GDFN expansion e (hidden width {@code (int) (d·e)}; default 2.0)
     * @param qDense dense 3×3 q-conv as in SKF's code ({@code sem.q_dense}; default false = depthwise)
     * @param sharedLn one LayerNorm for R and S as in SKF ({@code sem.shared_ln}; default false)
     * @param skfResidual attention residual from LN(R) as in SKF ({@code sem.skf_residual}; default false)
     */
    public Options {
      if (!(ffnExpansion > 0) || Double.isInfinite(ffnExpansion)) {
        throw new IllegalArgumentException("SEM: ffnExpansion must be finite and > 0, got " + ffnExpansion);
      }
    }

    /** @return the spec's default SEM (e = 2.0, depthwise q, separate LNs, residual from R) */
    public static Options defaults() {
      return new Options(2.0, false, false, false);
    }
  }

  private final int dim;
  private final int semChannels;
  private final int heads;
  private final Options options;
  private final Tensor temperature;
  private final FastConv.Pointwise adapt;
  private final ChannelLayerNorm lnR;
  private final ChannelLayerNorm lnS;
  private final ChannelLayerNorm lnF;
  private final FastConv.Pointwise kv;
  private final Conv2dImpl kvDw;
  private final FastConv.Pointwise q;
  private final Conv2dImpl qDw;
  private final FastConv.Pointwise proj;
  private final GDFN ffn;

  /**
   * @param dim d, width of the reflectance features (divisible by heads)
   * @param semChannels s, channels of the HRNet branch
   * @param heads h
   * @param options switches
   */
  public SEM(int dim, int semChannels, int heads, Options options) {
    if (dim <= 0 || heads <= 0 || dim % heads != 0 || semChannels <= 0 || options == null) {
      throw new IllegalArgumentException("SEM: bad arguments d=" + dim + " s=" + semChannels + " heads=" + heads
          + " options=" + options);
    }
    this.dim = dim;
    this.semChannels = semChannels;
    this.heads = heads;
    this.options = options;
    // Keep our own handle (same TensorImpl): the returned reference points into the module's dict storage.
    this.temperature = ones(heads, 1, 1);
    register_parameter("temperature", temperature);
    this.adapt = cache(new FastConv.Pointwise(register_module("adapt", Layers.pointwise(semChannels, dim, true))));
    this.lnR = register_module("ln_r", new ChannelLayerNorm(dim));
    this.lnS = options.sharedLn() ? lnR : register_module("ln_s", new ChannelLayerNorm(dim));
    this.lnF = register_module("ln_f", new ChannelLayerNorm(dim));
    this.kv = cache(new FastConv.Pointwise(register_module("kv", Layers.pointwise(dim, 2L * dim, false))));
    this.kvDw = register_module("kv_dw", Layers.depthwise3x3(2L * dim));
    this.q = cache(new FastConv.Pointwise(register_module("q", Layers.pointwise(dim, dim, false))));
    this.qDw = register_module("q_dw", Layers.conv2d(dim, dim, 3, 1, 1, options.qDense() ? 1 : dim, false));
    this.proj = cache(new FastConv.Pointwise(register_module("proj", Layers.pointwise(dim, dim, false))));
    this.ffn = register_module("ffn", new GDFN(dim, options.ffnExpansion()));
  }

  /**
   * @param r reflectance features R {@code [B, d, H, W]}
   * @param sem HRNet branch S_raw {@code [B, s, h, w]} (any h, w; nearest-resized to H×W after the adapter)
   * @return {@code [B, d, H, W]}
   */
  public Tensor forward(Tensor r, Tensor sem) {
    requireOpen();
    Shapes.requireNchw("SEM(d=" + dim + ") features", r, dim);
    Shapes.requireNchw("SEM(d=" + dim + ") semantic input", sem, semChannels);
    if (sem.size(0) != r.size(0)) {
      throw new IllegalArgumentException("SEM: batch mismatch features " + Shapes.str(r) + " vs semantic "
          + Shapes.str(sem));
    }
    Tensor rn = lnR.forward(r);
    Tensor kvt = FastConv.depthwise3x3(kvDw, kv.apply(rn));
    Tensor kk = kvt.narrow(1, 0, dim);
    Tensor vv = kvt.narrow(1, dim, dim);
    // A tile of a tiled image replays the attention matrix its context pass recorded: the queries (the semantic
    // branch) only feed the scores it replaces, so they are not computed; the keys stand in for their shape. (A
    // refinement pass, AttentionContext.Mode.REFINE, needs them: it sums the scores' terms.)
    Tensor qq = AttentionContext.current() == AttentionContext.Mode.REPLAY ? kk : queries(sem, r.size(2), r.size(3));
    Tensor res = options.skfResidual() ? rn : r;
    Tensor wp = proj.conv().weight();
    Tensor r1;
    if (FoldedAttention.usable(qq, kk, vv, temperature, wp, res)) { // inference: the projection folded into the mixing
      r1 = FoldedAttention.attentionProjected(qq, kk, vv, temperature, heads, wp, null, res, false);
    } else {
      r1 = proj.apply(ChannelAttention.apply(qq, kk, vv, null, temperature, heads), res);
    }
    return ffn.forward(lnF, r1, r1);
  }

  /** The queries of the semantic branch: adapter, LN_s, q and its 3×3 on {@code sem}, at the features' size. */
  private Tensor queries(Tensor sem, long hh, long ww) {
    // The adapter, LN_s and the 1×1 q are per pixel, so they commute with nearest resizing: on a smaller HRNet map
    // (16× fewer pixels at L0) they run at its resolution and only q's product is resized (the same values).
    Tensor s = adapt.apply(sem);
    Tensor qp;
    if (s.size(2) == hh && s.size(3) == ww) {
      qp = q.apply(lnS.forward(s));
    } else if (s.size(2) * s.size(3) < hh * ww) {
      qp = upsample_nearest2d(q.apply(lnS.forward(s)), hh, ww);
    } else {
      qp = q.apply(lnS.forward(upsample_nearest2d(s, hh, ww)));
    }
    return options.qDense() ? qDw.forward(qp) : FastConv.depthwise3x3(qDw, qp);
  }

  /** @return d */
  public int dim() {
    return dim;
  }

  /** @return s */
  public int semChannels() {
    return semChannels;
  }

  /** @return h */
  public int heads() {
    return heads;
  }

  /** @return the construction switches */
  public Options options() {
    return options;
  }
}
