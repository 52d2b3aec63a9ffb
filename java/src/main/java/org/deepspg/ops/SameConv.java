/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.deepspg.ops.OpSupport.checkDim;
import static org.deepspg.ops.OpSupport.checkFloat;
import static org.deepspg.ops.OpSupport.checkLike;
import static org.deepspg.ops.OpSupport.describe;
import static org.deepspg.ops.OpSupport.empty;
import static org.deepspg.ops.OpSupport.f32;
import static org.deepspg.ops.OpSupport.f64;
import static org.deepspg.ops.OpSupport.isF64;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.kernels.global.kernels;

/**
 * Grouped k×k "same" convolution — stride 1, zero padding k/2 (k odd), optional bias, i.e.
 * {@code F.conv2d(x, w, b, padding=k//2, groups=G)} — on a native CPU kernel. It serves the illumination estimator's
 * 5×5 conv with 4 groups (spec §1.3), which libtorch's CPU path ran in ~0.9 s at 20×416×608 with oneDNN off, and
 * dense 3×3 convs.
 *
 * <p>Shapes: x {@code [B, in, H, W]} (any strides; copied when not contiguous), weight {@code [out, in/G, k, k]}
 * (PyTorch's layout, e.g. a {@code Conv2dImpl}'s weight), bias {@code [out]} or null; output {@code [B, out, H, W]}
 * contiguous. Dtypes: float32 or float64, all the same, on CPU. CUDA tensors go to libtorch's {@code conv2d} (cuDNN),
 * which is already fast there. Deterministic on CPU (weight/bias gradients reduced in a fixed order).
 * Differentiable w.r.t. x, weight and bias (one native call per backward); double backward is not supported.
 */
public final class SameConv {
  private static final String OP = "conv_same";

  private SameConv() {}

  /**
   * @param x input {@code [B, in, H, W]}
   * @param weight {@code [out, in/groups, k, k]}, k odd
   * @param bias {@code [out]} or null
   * @param groups channel groups (in and out divisible by it)
   * @return y {@code [B, out, H, W]}
   * @throws IllegalArgumentException on shape, dtype or device mismatch
   */
  public static Tensor apply(Tensor x, Tensor weight, Tensor bias, long groups) {
    NativeLibrary.ensureLoaded();
    checkFloat(OP, "x", x);
    checkDim(OP, "x", x, 4, "[B, in, H, W]");
    checkLike(OP, "x", x, "weight", weight);
    if (bias != null) checkLike(OP, "x", x, "bias", bias);
    long b = x.size(0), in = x.size(1), h = x.size(2), w = x.size(3);
    OpSupport.checkSameConvWeight(OP, x, weight, groups);
    long out = weight.size(0), k = weight.size(2);
    if (bias != null && (bias.dim() != 1 || bias.size(0) != out)) {
      throw new IllegalArgumentException(OP + ": bias " + describe(bias) + " must be [" + out + "]");
    }
    if (x.is_cuda()) {
      return torch.conv2d(x, weight, bias == null ? new TensorOptional() : new TensorOptional(bias),
          new long[] {1, 1}, new long[] {k / 2, k / 2}, new long[] {1, 1}, groups);
    }
    long[] outShape = {b, out, h, w};
    long[] inShape = NativeFunction.shape(x);
    long[] wShape = NativeFunction.shape(weight);
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor[] res =
          NativeFunction.apply(
              OP,
              new Tensor[] {x, weight, bias},
              ctx -> {
                Tensor xc = x.contiguous();
                Tensor wc = ctx.save(weight.contiguous());
                Tensor bc = bias == null ? null : bias.contiguous();
                Tensor xs = ctx.needsInputGrad(1) ? ctx.save(xc) : null; // x only feeds the weight gradient
                Tensor y = empty(xc, outShape);
                if (y.numel() > 0) {
                  int st = isF64(xc)
                      ? kernels.deepspg_conv_same_forward_cpu_f64(
                          f64(xc), f64(wc), f64(bc), b, in, out, groups, k, h, w, f64(y))
                      : kernels.deepspg_conv_same_forward_cpu_f32(
                          f32(xc), f32(wc), f32(bc), b, in, out, groups, k, h, w, f32(y));
                  NativeLibrary.check(st, OP + " forward");
                }
                ctx.setBackward(
                    (grads, needs) -> {
                      Tensor dy = grads[0].contiguous();
                      Tensor dx = needs[0] ? empty(dy, inShape) : null;
                      Tensor dw = needs[1] ? empty(dy, wShape) : null;
                      Tensor db = needs[2] ? empty(dy, out) : null;
                      if (dx != null || dw != null || db != null) {
                        int st = isF64(dy)
                            ? kernels.deepspg_conv_same_backward_cpu_f64(
                                f64(dy), f64(xs), f64(wc), b, in, out, groups, k, h, w, f64(dx), f64(dw), f64(db))
                            : kernels.deepspg_conv_same_backward_cpu_f32(
                                f32(dy), f32(xs), f32(wc), b, in, out, groups, k, h, w, f32(dx), f32(dw), f32(db));
                        NativeLibrary.check(st, OP + " backward");
                      }
                      return new Tensor[] {dx, dw, db};
                    });
                return new Tensor[] {y};
              });
      return Scopes.escape(res[0], outer);
    }
  }
}
