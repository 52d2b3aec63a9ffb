/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.deepspg.ops.OpSupport.checkCudaF32;
import static org.deepspg.ops.OpSupport.checkFloat;
import static org.deepspg.ops.OpSupport.checkLike;
import static org.deepspg.ops.OpSupport.describe;
import static org.deepspg.ops.OpSupport.empty;
import static org.deepspg.ops.OpSupport.f32;
import static org.deepspg.ops.OpSupport.f64;
import static org.deepspg.ops.OpSupport.isF64;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.deepspg.kernels.global.kernels;

/**
 * LayerNorm over the channel axis of an NCHW tensor at every pixel (spec §1.2 {@code LN_c}), without the
 * channels-last permutes: {@code y = (x − μ_c) / sqrt(σ²_c + eps) · γ + β}, biased variance — the same as
 * {@code layer_norm(x.permute(0, 2, 3, 1), [C], γ, β, eps).permute(0, 3, 1, 2)}.
 *
 * <p>Shapes: x {@code [B, C, H, W]} (any strides; non-contiguous inputs are copied), γ and β with C elements (e.g.
 * {@code [C]}); output {@code [B, C, H, W]} contiguous. Dtypes: float32 or float64 on CPU, float32 on CUDA (current
 * stream); all inputs the same dtype and device. Deterministic (γ/β gradients reduced in a fixed order).
 * Differentiable w.r.t. x, γ and β (one native call per backward); double backward is not supported.
 */
public final class ChannelLayerNormOp {
  private static final String OP = "channel_layer_norm";

  private ChannelLayerNormOp() {}

  /**
   * @param x input {@code [B, C, H, W]}
   * @param gamma scale γ, C elements
   * @param beta shift β, C elements
   * @param eps variance epsilon (≥ 0; the spec uses 1e-5)
   * @return y {@code [B, C, H, W]}
   * @throws IllegalArgumentException on shape, dtype or device mismatch, or a negative/non-finite eps
   */
  public static Tensor apply(Tensor x, Tensor gamma, Tensor beta, double eps) {
    NativeLibrary.ensureLoaded();
    checkFloat(OP, "x", x);
    if (x.dim() != 4 || x.size(1) < 1) {
      throw new IllegalArgumentException(OP + ": x must be [B, C, H, W] with C >= 1, got " + describe(x));
    }
    checkLike(OP, "x", x, "gamma", gamma);
    checkLike(OP, "x", x, "beta", beta);
    long b = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
    if (gamma.numel() != c || beta.numel() != c) {
      throw new IllegalArgumentException(
          OP + ": gamma " + describe(gamma) + " and beta " + describe(beta) + " must have C=" + c
              + " elements for x " + describe(x));
    }
    if (!(eps >= 0) || Double.isInfinite(eps)) {
      throw new IllegalArgumentException(OP + ": eps must be finite and >= 0, got " + eps);
    }
    checkCudaF32(OP, x);
    long[] shape = NativeFunction.shape(x);
    long[] gShape = NativeFunction.shape(gamma);
    long[] bShape = NativeFunction.shape(beta);
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor[] out =
          NativeFunction.apply(
              OP,
              new Tensor[] {x, gamma, beta},
              ctx -> {
                Tensor xc = ctx.save(x.contiguous());
                Tensor gc = ctx.save(gamma.reshape(c).contiguous());
                Tensor bc = beta.reshape(c).contiguous();
                Tensor y = empty(xc, shape);
                boolean rec = ctx.isRecording();
                Tensor mean = rec ? ctx.save(empty(xc, b, hw)) : null;
                Tensor rstd = rec ? ctx.save(empty(xc, b, hw)) : null;
                if (b * hw > 0) {
                  int st;
                  if (xc.is_cuda()) {
                    st = kernels.deepspg_channel_layernorm_forward_cuda_f32(
                        f32(xc), f32(gc), f32(bc), b, c, hw, eps, f32(y), f32(mean), f32(rstd),
                        OpSupport.cudaStream(xc));
                  } else if (isF64(xc)) {
                    st = kernels.deepspg_channel_layernorm_forward_cpu_f64(
                        f64(xc), f64(gc), f64(bc), b, c, hw, eps, f64(y), f64(mean), f64(rstd));
                  } else {
                    st = kernels.deepspg_channel_layernorm_forward_cpu_f32(
                        f32(xc), f32(gc), f32(bc), b, c, hw, eps, f32(y), f32(mean), f32(rstd));
                  }
                  NativeLibrary.check(st, OP + " forward");
                }
                ctx.setBackward(
                    (grads, needs) -> {
                      Tensor dy = grads[0].contiguous();
                      Tensor dx = needs[0] ? empty(dy, shape) : null;
                      Tensor dg = needs[1] ? empty(dy, c) : null;
                      Tensor db = needs[2] ? empty(dy, c) : null;
                      if (b * hw == 0) {
                        if (dg != null) dg.zero_();
                        if (db != null) db.zero_();
                      } else if (dx != null || dg != null || db != null) {
                        int st;
                        if (dy.is_cuda()) {
                          Tensor ws = dg == null && db == null ? null
                              : OpSupport.workspace(dy, kernels.deepspg_channel_layernorm_workspace_bytes(b, c, hw));
                          st = kernels.deepspg_channel_layernorm_backward_cuda_f32(
                              f32(dy), f32(xc), f32(gc), f32(mean), f32(rstd), b, c, hw, f32(dx), f32(dg), f32(db),
                              ws == null ? null : ws.data_ptr(), OpSupport.cudaStream(dy));
                        } else if (isF64(dy)) {
                          st = kernels.deepspg_channel_layernorm_backward_cpu_f64(
                              f64(dy), f64(xc), f64(gc), f64(mean), f64(rstd), b, c, hw, f64(dx), f64(dg), f64(db));
                        } else {
                          st = kernels.deepspg_channel_layernorm_backward_cpu_f32(
                              f32(dy), f32(xc), f32(gc), f32(mean), f32(rstd), b, c, hw, f32(dx), f32(dg), f32(db));
                        }
                        NativeLibrary.check(st, OP + " backward");
                      }
                      return new Tensor[] {
                        dx, dg == null ? null : dg.reshape(gShape), db == null ? null : db.reshape(bShape)
                      };
                    });
                return new Tensor[] {y};
              });
      return Scopes.escape(out[0], outer);
    }
  }
}
