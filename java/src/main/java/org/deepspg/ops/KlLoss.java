/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.deepspg.ops.OpSupport.checkCudaF32;
import static org.deepspg.ops.OpSupport.checkFloat;
import static org.deepspg.ops.OpSupport.checkSame;
import static org.deepspg.ops.OpSupport.describe;
import static org.deepspg.ops.OpSupport.empty;
import static org.deepspg.ops.OpSupport.f32;
import static org.deepspg.ops.OpSupport.f64;
import static org.deepspg.ops.OpSupport.isF64;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.deepspg.kernels.global.kernels;

/**
 * Semantic KL loss, spec §4.3 (paper eq. 13): with {@code P = softmax_K(z / T)} per pixel,
 * {@code L = 1/(B·HW) Σ_{b,pixel} Σ_k P_gt (log P_gt − log P_out)} (KL(P_gt ‖ P_out) averaged over pixels; not
 * {@code kl_div}'s 'batchmean' or 'mean'). A class whose ground-truth logit is {@code -inf} has {@code P_gt = 0} and
 * adds {@code 0 log 0 = 0} (the limit; stock {@code P_gt (log P_gt − log P_out)} would give NaN).
 *
 * <p>Shapes: zOut, zGt {@code [B, K, ...]} logits (e.g. [B, 150, h, w]; trailing dims flattened to HW; any strides);
 * result a 0-dim tensor of the inputs' dtype. Dtypes float32 or float64 on CPU (double accumulation), float32 on CUDA
 * (current stream). Deterministic. The value and {@code dL/dzOut = (P_out − P_gt)/(T·B·HW)} come from one native call
 * in the forward; backward scales it by the upstream scalar. {@code zGt} is normally a constant (HRNet of the ground
 * truth under no-grad); if it does require grad, its gradient {@code P_gt ⊙ (d − Σ_k P_gt d)/(T·B·HW)} with
 * {@code d = log P_gt − log P_out} is computed in the backward with stock libtorch ops. Double backward is not
 * supported.
 */
public final class KlLoss {
  private static final String OP = "kl_loss";

  private KlLoss() {}

  /**
   * @param zOut logits of the enhanced image [B, K, ...]
   * @param zGt logits of the ground truth [B, K, ...], same shape, dtype and device
   * @param temperature T &gt; 0, finite
   * @return the loss, 0-dim
   */
  public static Tensor apply(Tensor zOut, Tensor zGt, double temperature) {
    NativeLibrary.ensureLoaded();
    checkFloat(OP, "zOut", zOut);
    if (zOut.dim() < 2) throw new IllegalArgumentException(OP + ": zOut must be [B, K, ...], got " + describe(zOut));
    checkSame(OP, "zOut", zOut, "zGt", zGt);
    checkCudaF32(OP, zOut);
    if (!(temperature > 0) || Double.isInfinite(temperature)) {
      throw new IllegalArgumentException(OP + ": temperature must be finite and > 0, got " + temperature);
    }
    long b = zOut.size(0), k = zOut.size(1);
    if (k < 1) throw new IllegalArgumentException(OP + ": need K >= 1 classes, zOut is " + describe(zOut));
    long hw = b == 0 ? 0 : zOut.numel() / (b * k);
    long[] shape = NativeFunction.shape(zOut);
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor[] res =
          NativeFunction.apply(
              OP,
              new Tensor[] {zOut, zGt},
              ctx -> {
                Tensor oc = zOut.contiguous();
                Tensor gc = zGt.contiguous();
                Tensor value =
                    oc.new_empty(new long[] {}, new TensorOptions().dtype(new ScalarTypeOptional(ScalarType.Double)));
                Tensor grad = ctx.needsInputGrad(0) ? empty(oc, shape) : null;
                if (oc.numel() > 0) {
                  int st;
                  if (oc.is_cuda()) {
                    Tensor ws = OpSupport.workspace(oc, kernels.deepspg_kl_loss_workspace_bytes(b, k, hw));
                    st = kernels.deepspg_kl_loss_cuda_f32(
                        f32(oc), f32(gc), b, k, hw, temperature, value.data_ptr_double(), f32(grad), ws.data_ptr(),
                        OpSupport.cudaStream(oc));
                  } else {
                    st = isF64(oc)
                        ? kernels.deepspg_kl_loss_cpu_f64(
                            f64(oc), f64(gc), b, k, hw, temperature, value.data_ptr_double(), f64(grad))
                        : kernels.deepspg_kl_loss_cpu_f32(
                            f32(oc), f32(gc), b, k, hw, temperature, value.data_ptr_double(), f32(grad));
                  }
                  NativeLibrary.check(st, OP);
                } else {
                  value.zero_();
                  if (grad != null) grad.zero_();
                }
                if (ctx.isRecording()) {
                  Tensor savedGrad = grad == null ? null : ctx.save(grad);
                  Tensor so = ctx.needsInputGrad(1) ? ctx.save(oc) : null;
                  Tensor sg = ctx.needsInputGrad(1) ? ctx.save(gc) : null;
                  ctx.setBackward(
                      (grads, needs) -> {
                        Tensor dOut = needs[0] ? savedGrad.mul(grads[0]) : null;
                        Tensor dGt = needs[1] ? gtGradient(so, sg, temperature, b * hw).mul(grads[0]) : null;
                        return new Tensor[] {dOut, dGt};
                      });
                }
                return new Tensor[] {value.to(oc.scalar_type())};
              });
      return Scopes.escape(res[0], outer);
    }
  }

  /** dL/dzGt with stock ops (rarely needed: zGt is normally a constant). */
  private static Tensor gtGradient(Tensor zo, Tensor zg, double t, long pixels) {
    Scalar invT = new Scalar(1.0 / t);
    Tensor lq = zg.mul(invT).log_softmax(1);
    Tensor lp = zo.mul(invT).log_softmax(1);
    Tensor q = lq.exp();
    Tensor d = lq.sub(lp);
    Tensor mean = q.mul(d).sum(new long[] {1}, true, new ScalarTypeOptional());
    return q.mul(d.sub(mean)).mul(new Scalar(1.0 / (t * Math.max(pixels, 1))));
  }
}
