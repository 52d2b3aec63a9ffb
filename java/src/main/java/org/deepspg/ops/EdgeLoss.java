/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.deepspg.ops.OpSupport.checkCudaF32;
import static org.deepspg.ops.OpSupport.checkDim;
import static org.deepspg.ops.OpSupport.checkFloat;
import static org.deepspg.ops.OpSupport.checkSame;
import static org.deepspg.ops.OpSupport.empty;
import static org.deepspg.ops.OpSupport.f32;
import static org.deepspg.ops.OpSupport.f64;
import static org.deepspg.ops.OpSupport.isF64;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.deepspg.kernels.global.kernels;

/**
 * Edge loss, spec §4.2 (paper eq. 12). With E = out − gt per channel plane:
 *
 * <ul>
 *   <li>{@link EdgeOperator#DIFF}: {@code L = mean_{B·C·H·(W−1)} (Dx E)² + mean_{B·C·(H−1)·W} (Dy E)²}, forward
 *       differences without padding (a term with an empty domain counts 0);
 *   <li>{@link EdgeOperator#SOBEL}: {@code L = mean (Gx * E)² + mean (Gy * E)²}, 3x3 Sobel, replicate padding.
 * </ul>
 *
 * <p>Shapes: out, gt {@code [B, C, H, W]} (any strides); result a 0-dim tensor of the inputs' dtype. Dtypes float32 or
 * float64 on CPU (double accumulation), float32 on CUDA (current stream). Deterministic (fixed reduction order). Value
 * and gradient come from one native call in the forward (the gradient is computed only when a graph is recorded);
 * backward scales the saved gradient by the upstream scalar: {@code d/d out = g}, {@code d/d gt = −g}. Double backward
 * is not supported.
 */
public final class EdgeLoss {
  private static final String OP = "edge_loss";

  private EdgeLoss() {}

  /**
   * @param out enhanced image [B, C, H, W]
   * @param gt ground truth [B, C, H, W], same dtype and device
   * @param op the derivative operator
   * @return the loss, 0-dim
   */
  public static Tensor apply(Tensor out, Tensor gt, EdgeOperator op) {
    NativeLibrary.ensureLoaded();
    checkFloat(OP, "out", out);
    checkDim(OP, "out", out, 4, "[B, C, H, W]");
    checkSame(OP, "out", out, "gt", gt);
    checkCudaF32(OP, out);
    if (op == null) throw new IllegalArgumentException(OP + ": operator is null");
    long planes = out.size(0) * out.size(1), h = out.size(2), w = out.size(3);
    long[] shape = NativeFunction.shape(out);
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor[] res =
          NativeFunction.apply(
              OP,
              new Tensor[] {out, gt},
              ctx -> {
                Tensor oc = out.contiguous();
                Tensor gc = gt.contiguous();
                Tensor value =
                    oc.new_empty(new long[] {}, new TensorOptions().dtype(new ScalarTypeOptional(ScalarType.Double)));
                Tensor grad = ctx.isRecording() ? empty(oc, shape) : null;
                if (oc.numel() > 0) {
                  int st;
                  if (oc.is_cuda()) {
                    Tensor ws = OpSupport.workspace(oc, kernels.deepspg_edge_loss_workspace_bytes(planes, h, w));
                    st = kernels.deepspg_edge_loss_cuda_f32(
                        f32(oc), f32(gc), planes, h, w, op.code, value.data_ptr_double(), f32(grad), ws.data_ptr(),
                        OpSupport.cudaStream(oc));
                  } else {
                    st = isF64(oc)
                        ? kernels.deepspg_edge_loss_cpu_f64(
                            f64(oc), f64(gc), planes, h, w, op.code, value.data_ptr_double(), f64(grad))
                        : kernels.deepspg_edge_loss_cpu_f32(
                            f32(oc), f32(gc), planes, h, w, op.code, value.data_ptr_double(), f32(grad));
                  }
                  NativeLibrary.check(st, OP);
                } else {
                  value.zero_();
                  if (grad != null) grad.zero_();
                }
                if (ctx.isRecording()) {
                  Tensor saved = ctx.save(grad);
                  ctx.setBackward(
                      (grads, needs) -> {
                        Tensor g = saved.mul(grads[0]);
                        return new Tensor[] {needs[0] ? g : null, needs[1] ? g.neg() : null};
                      });
                }
                return new Tensor[] {value.to(oc.scalar_type())};
              });
      return Scopes.escape(res[0], outer);
    }
  }
}
