/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.deepspg.ops.OpSupport.checkCudaF32;
import static org.deepspg.ops.OpSupport.checkDim;
import static org.deepspg.ops.OpSupport.checkFloat;
import static org.deepspg.ops.OpSupport.checkSame;
import static org.deepspg.ops.OpSupport.describe;
import static org.deepspg.ops.OpSupport.empty;
import static org.deepspg.ops.OpSupport.f32;
import static org.deepspg.ops.OpSupport.f64;
import static org.deepspg.ops.OpSupport.isF64;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.deepspg.kernels.global.kernels;

/**
 * Retinex decomposition kernels, spec §3 (Retinexformer's one-stage formulation: light-up map {@code L̄ = 1 + M}).
 *
 * <ul>
 *   <li>{@link #prior}: {@code Z = [I ; P]} with P the channel mean (or max) of the image.
 *   <li>{@link #lightUp}: {@code X_r = I ⊙ (1 + M)}.
 *   <li>{@link #illumination}: {@code X_l = 1 / max(1 + M, 1e-4)} (visualisation; {@code X_in = X_l ⊙ X_r} where
 *       the guard does not clamp).
 *   <li>{@link #decompose}: both X_r and X_l from one kernel call.
 * </ul>
 *
 * <p>Dtypes: float32 or float64 on CPU, float32 on CUDA (current stream); all inputs the same dtype and device; any
 * strides (non-contiguous inputs are copied); outputs contiguous. Elementwise, hence deterministic. All are
 * differentiable (one native call per backward); double backward is not supported.
 */
public final class Retinex {
  private Retinex() {}

  /**
   * Prior and concatenation: {@code Z[:, 0:3] = I}, {@code Z[:, 3] = P}.
   *
   * @param image I [B, 3, H, W]
   * @param mode {@link PriorMode#MEAN} (default of the spec) or {@link PriorMode#MAX} (a NaN in any channel gives a
   *     NaN prior, as {@code torch.amax})
   * @return Z [B, 4, H, W]
   */
  public static Tensor prior(Tensor image, PriorMode mode) {
    final String op = "retinex_prior";
    NativeLibrary.ensureLoaded();
    checkImage(op, "image", image);
    if (mode == null) throw new IllegalArgumentException(op + ": mode is null");
    long b = image.size(0), hw = image.size(2) * image.size(3);
    long[] zShape = {b, 4, image.size(2), image.size(3)};
    long[] shape = NativeFunction.shape(image);
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor[] out =
          NativeFunction.apply(
              op,
              new Tensor[] {image},
              ctx -> {
                Tensor ic = image.contiguous();
                Tensor saved = mode == PriorMode.MAX ? ctx.save(ic) : null; // only the max needs the image
                Tensor z = empty(ic, zShape);
                if (ic.numel() > 0) {
                  int st;
                  if (ic.is_cuda()) {
                    st = kernels.deepspg_retinex_prior_forward_cuda_f32(
                        f32(ic), b, hw, mode.code, f32(z), OpSupport.cudaStream(ic));
                  } else {
                    st = isF64(ic)
                        ? kernels.deepspg_retinex_prior_forward_cpu_f64(f64(ic), b, hw, mode.code, f64(z))
                        : kernels.deepspg_retinex_prior_forward_cpu_f32(f32(ic), b, hw, mode.code, f32(z));
                  }
                  NativeLibrary.check(st, op + " forward");
                }
                Tensor like = ctx.save(ic.new_empty(new long[] {0}));
                ctx.setBackward(
                    (grads, needs) -> {
                      Tensor dz = grads[0].contiguous();
                      Tensor di = empty(like, shape);
                      if (di.numel() > 0) {
                        int st;
                        if (dz.is_cuda()) {
                          st = kernels.deepspg_retinex_prior_backward_cuda_f32(
                              f32(dz), f32(saved), b, hw, mode.code, f32(di), OpSupport.cudaStream(dz));
                        } else {
                          st = isF64(dz)
                              ? kernels.deepspg_retinex_prior_backward_cpu_f64(
                                  f64(dz), f64(saved), b, hw, mode.code, f64(di))
                              : kernels.deepspg_retinex_prior_backward_cpu_f32(
                                  f32(dz), f32(saved), b, hw, mode.code, f32(di));
                        }
                        NativeLibrary.check(st, op + " backward");
                      }
                      return new Tensor[] {di};
                    });
                return new Tensor[] {z};
              });
      return Scopes.escape(out[0], outer);
    }
  }

  /**
   * Light-up: {@code X_r = I ⊙ (1 + M)}; backward {@code dI = dX_r ⊙ (1 + M)}, {@code dM = dX_r ⊙ I}.
   *
   * @param image I [B, 3, H, W]
   * @param m the estimator's residual light-up map M [B, 3, H, W]
   * @return X_r [B, 3, H, W]
   */
  public static Tensor lightUp(Tensor image, Tensor m) {
    return lightUp("retinex_light_up", image, m, true, false)[0];
  }

  /**
   * Illumination map for visualisation: {@code X_l = 1 / max(1 + M, 1e-4)}; backward
   * {@code dM = -dX_l / (1 + M)^2} (0 where the guard clamps).
   *
   * @param m M [B, 3, H, W]
   * @return X_l [B, 3, H, W]
   */
  public static Tensor illumination(Tensor m) {
    return lightUp("retinex_illumination", m, m, false, true)[0];
  }

  /**
   * Both maps of the decomposition from one kernel call (spec §3: {@code X_in = X_l ⊙ X_r}).
   *
   * @param image I [B, 3, H, W]
   * @param m M [B, 3, H, W]
   * @return {X_r, X_l}, each [B, 3, H, W]
   */
  public static Tensor[] decompose(Tensor image, Tensor m) {
    return lightUp("retinex_decompose", image, m, true, true);
  }

  /**
   * Shared body. For {@code illumination} the image argument is M itself (the kernel needs a readable image; its
   * X_r is computed into scratch and dropped) and only M is an input of the graph.
   */
  private static Tensor[] lightUp(String op, Tensor image, Tensor m, boolean wantXr, boolean wantXl) {
    NativeLibrary.ensureLoaded();
    checkImage(op, wantXr ? "image" : "m", image);
    if (wantXr) checkSame(op, "image", image, "m", m);
    long numel = image.numel();
    long[] shape = NativeFunction.shape(image);
    Tensor[] inputs = wantXr ? new Tensor[] {image, m} : new Tensor[] {m};
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor[] out =
          NativeFunction.apply(
              op,
              inputs,
              ctx -> {
                Tensor mc = ctx.save(m.contiguous());
                Tensor ic = wantXr ? ctx.save(image.contiguous()) : mc;
                Tensor xr = empty(mc, shape);
                Tensor xl = wantXl ? empty(mc, shape) : null;
                if (numel > 0) {
                  int st;
                  if (mc.is_cuda()) {
                    st = kernels.deepspg_retinex_lightup_forward_cuda_f32(
                        f32(ic), f32(mc), numel, f32(xr), f32(xl), OpSupport.cudaStream(mc));
                  } else {
                    st = isF64(mc)
                        ? kernels.deepspg_retinex_lightup_forward_cpu_f64(f64(ic), f64(mc), numel, f64(xr), f64(xl))
                        : kernels.deepspg_retinex_lightup_forward_cpu_f32(f32(ic), f32(mc), numel, f32(xr), f32(xl));
                  }
                  NativeLibrary.check(st, op + " forward");
                }
                ctx.setBackward(
                    (grads, needs) -> {
                      int k = 0;
                      Tensor dxr = wantXr ? grads[k++].contiguous() : null;
                      Tensor dxl = wantXl ? grads[k].contiguous() : null;
                      boolean needImage = wantXr && needs[0];
                      boolean needM = needs[wantXr ? 1 : 0];
                      Tensor di = needImage ? empty(mc, shape) : null;
                      Tensor dm = needM ? empty(mc, shape) : null;
                      if (numel > 0 && (di != null || dm != null)) {
                        int st;
                        if (mc.is_cuda()) {
                          st = kernels.deepspg_retinex_lightup_backward_cuda_f32(
                              f32(dxr), f32(dxl), f32(ic), f32(mc), numel, f32(di), f32(dm),
                              OpSupport.cudaStream(mc));
                        } else {
                          st = isF64(mc)
                              ? kernels.deepspg_retinex_lightup_backward_cpu_f64(
                                  f64(dxr), f64(dxl), f64(ic), f64(mc), numel, f64(di), f64(dm))
                              : kernels.deepspg_retinex_lightup_backward_cpu_f32(
                                  f32(dxr), f32(dxl), f32(ic), f32(mc), numel, f32(di), f32(dm));
                        }
                        NativeLibrary.check(st, op + " backward");
                      }
                      return wantXr ? new Tensor[] {di, dm} : new Tensor[] {dm};
                    });
                if (wantXr && wantXl) return new Tensor[] {xr, xl};
                return new Tensor[] {wantXr ? xr : xl};
              });
      Tensor[] result = new Tensor[out.length];
      for (int i = 0; i < out.length; i++) result[i] = Scopes.escape(out[i], outer);
      return result;
    }
  }

  private static void checkImage(String op, String name, Tensor t) {
    checkFloat(op, name, t);
    checkDim(op, name, t, 4, "[B, 3, H, W]");
    if (t.size(1) != 3) throw new IllegalArgumentException(op + ": " + name + " must be [B, 3, H, W], got " + describe(t));
    checkCudaF32(op, t);
  }
}
