/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.nn;

import static org.bytedeco.pytorch.global.torch.gelu;

import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.deepspg.ops.FusedFfn;

/**
 * Gated-Dconv feed-forward network (Restormer GDFN, spec §2.2 step 9): {@code [U₁ ; U₂] = DW₃(W_in x)},
 * {@code out = W_out (GELU(U₁) ⊙ U₂)}, hidden width {@code h_f = (int) (d · expansion)}, all without bias.
 *
 * <p>State-dict names: {@code pin.weight [2h_f,d,1,1]}, {@code dw.weight [2h_f,1,3,3]}, {@code pout.weight
 * [d,h_f,1,1]}.
 */
public final class GDFN extends org.deepspg.nn.JavaModule {
  private final int dim;
  private final int hidden;
  private final FastConv.Pointwise pin;
  private final Conv2dImpl dw;
  private final FastConv.Pointwise pout;

  /**
   * @param dim d
   * @param expansion expansion factor e; hidden width {@code (int) (d · e)} like Python's {@code int(d * e)}
   */
  public GDFN(int dim, double expansion) {
    this.dim = dim;
    this.hidden = hiddenWidth(dim, expansion);
    this.pin = cache(new FastConv.Pointwise(register_module("pin", Layers.pointwise(dim, 2L * hidden, false))));
    this.dw = register_module("dw", Layers.depthwise3x3(2L * hidden));
    this.pout = cache(new FastConv.Pointwise(register_module("pout", Layers.pointwise(hidden, dim, false))));
  }

  /**
   * @param dim d
   * @param expansion e
   * @return {@code (int) (d · e)}, checked ≥ 1
   */
  public static int hiddenWidth(int dim, double expansion) {
    int h = (int) (dim * expansion);
    if (dim <= 0 || !(expansion > 0) || h < 1) {
      throw new IllegalArgumentException("GDFN: need d > 0 and int(d*e) >= 1, got d=" + dim + " e=" + expansion);
    }
    return h;
  }

  /**
   * @param x {@code [B, d, H, W]}
   * @return {@code [B, d, H, W]}
   */
  public Tensor forward(Tensor x) {
    return forward(x, null);
  }

  /**
   * @param x {@code [B, d, H, W]}
   * @param residual {@code [B, d, H, W]} added to the output (fused into the last projection in inference), or null
   * @return {@code GDFN(x) + residual}, {@code [B, d, H, W]}
   */
  public Tensor forward(Tensor x, Tensor residual) {
    requireOpen();
    Tensor u = FastConv.depthwise3x3(dw, pin.apply(x));
    return pout.apply(gelu(u.narrow(1, 0, hidden)).mul(u.narrow(1, hidden, hidden)), residual);
  }

  /**
   * {@code GDFN(norm(x)) + residual}: in inference (no gradient, float32 CPU, self-checked kernel) one native pass
   * ({@link FusedFfn}), the hidden maps never in memory; otherwise {@code forward(norm.forward(x), residual)}.
   *
   * @param norm the channel LayerNorm applied first (d channels)
   * @param x {@code [B, d, H, W]}, before the norm
   * @param residual {@code [B, d, H, W]} or null
   * @return {@code [B, d, H, W]}
   */
  public Tensor forward(ChannelLayerNorm norm, Tensor x, Tensor residual) {
    requireOpen();
    norm.requireOpen(); // its weights go to the fused pass directly, not through its own forward
    Tensor wIn = pin.conv().weight();
    Tensor wOut = pout.conv().weight();
    if (FusedFfn.usable(x, norm.weight(), norm.bias(), wIn, dw.weight(), wOut, residual)) {
      return FusedFfn.forward(x, norm.weight(), norm.bias(), ChannelLayerNorm.EPS, pin.packed(), dw.weight(),
          pout.packed(), residual, FusedFfn.Mode.DW_GATE);
    }
    return forward(norm.forward(x), residual);
  }

  /** @return h_f */
  public int hidden() {
    return hidden;
  }

  /** @return d */
  public int dim() {
    return dim;
  }
}
