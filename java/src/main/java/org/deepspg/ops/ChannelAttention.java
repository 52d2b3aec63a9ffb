/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.deepspg.ops.OpSupport.checkDim;
import static org.deepspg.ops.OpSupport.checkFloat;
import static org.deepspg.ops.OpSupport.checkLike;
import static org.deepspg.ops.OpSupport.checkSame;
import static org.deepspg.ops.OpSupport.describe;
import static org.deepspg.ops.OpSupport.empty;
import static org.deepspg.ops.OpSupport.f32;
import static org.deepspg.ops.OpSupport.f64;
import static org.deepspg.ops.OpSupport.isF64;

import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.deepspg.kernels.global.kernels;

/**
 * Fused channel ("transposed") attention of the SEM and IG-MSA blocks, spec §2.3. Per batch item b and head h, with
 * rows of length N = H·W taken from channels {@code h*c .. h*c+c-1}:
 *
 * <pre>
 *   G = normalize_N(X) normalize_N(Y)^T        (c x c; normalize divides by max(||row||_2, 1e-12))
 *   A = softmax_row(tau_h * G)
 *   O = A (V [* F])                            (optional value gate F)
 * </pre>
 *
 * <p>Shapes: x, y, v, gate {@code [B, heads*c, H, W]} (any strides; non-contiguous inputs are copied), tau any shape
 * with {@code heads} elements (e.g. the module parameter {@code [heads, 1, 1]}); output {@code [B, heads*c, H, W]}
 * contiguous. Constraints: 1 ≤ c ≤ 64, H·W ≥ 1; B = 0 gives an empty output. Dtypes: float32 or float64, all inputs
 * the same. Device: all inputs on one device; CPU kernels (float32/float64, double accumulation) or CUDA kernels
 * (float32/float64) on the current stream. Deterministic on both (fixed reduction order). Differentiable w.r.t. x, y,
 * v, gate and tau (backward: one native call; gradients of the zero-row clamp follow PyTorch's
 * {@code F.normalize}: the clamped norm passes no gradient). Double backward is not supported.
 */
public final class ChannelAttention {
  private static final String OP = "channel_attention";
  /** Largest per-head channel count the kernels support. */
  public static final int MAX_HEAD_CHANNELS = 64;

  private ChannelAttention() {}

  /**
   * @param x [B, heads*c, H, W] rows of the softmax ("queries" of the c x c map)
   * @param y [B, heads*c, H, W] columns of the softmax ("keys")
   * @param v [B, heads*c, H, W] values
   * @param gate optional [B, heads*c, H, W] value gate F (V ⊙ F), or null
   * @param tau per-head temperature, any shape with {@code heads} elements, finite
   * @param heads number of heads (channels divisible by it)
   * @return O [B, heads*c, H, W]
   * @throws IllegalArgumentException on shape/dtype/device mismatch, c out of range or non-finite tau
   */
  public static Tensor apply(Tensor x, Tensor y, Tensor v, Tensor gate, Tensor tau, int heads) {
    NativeLibrary.ensureLoaded();
    checkFloat(OP, "x", x);
    checkDim(OP, "x", x, 4, "[B, heads*c, H, W]");
    checkSame(OP, "x", x, "y", y);
    checkSame(OP, "x", x, "v", v);
    if (gate != null) checkSame(OP, "x", x, "gate", gate);
    checkLike(OP, "x", x, "tau", tau);
    long b = x.size(0), d = x.size(1), n = x.size(2) * x.size(3);
    if (heads <= 0 || d % heads != 0) {
      throw new IllegalArgumentException(OP + ": channels of x " + describe(x) + " not divisible by heads=" + heads);
    }
    long c = d / heads;
    if (c < 1 || c > MAX_HEAD_CHANNELS) {
      throw new IllegalArgumentException(
          OP + ": channels per head c=" + c + " (x " + describe(x) + ", heads=" + heads + ") must be in [1, "
              + MAX_HEAD_CHANNELS + "]");
    }
    if (n < 1) throw new IllegalArgumentException(OP + ": need H*W >= 1, x is " + describe(x));
    if (tau.numel() != heads) {
      throw new IllegalArgumentException(OP + ": tau " + describe(tau) + " must have heads=" + heads + " elements");
    }
    if (!tau.isfinite().all().item_bool()) {
      throw new IllegalArgumentException(OP + ": tau " + describe(tau) + " must be finite");
    }
    long[] tauShape = NativeFunction.shape(tau);
    long[] shape = NativeFunction.shape(x);
    // --- tiled-inference hook (AttentionContext, owned by org.deepspg.infer): record A, or replay a recorded A.
    // Returns null unless a record/replay scope is open on this thread (one ThreadLocal read otherwise).
    Tensor intercepted = AttentionContext.intercept(x, y, v, gate, tau, heads);
    if (intercepted != null) return intercepted;
    // --- end of hook

    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor[] out =
          NativeFunction.apply(
              OP,
              new Tensor[] {x, y, v, gate, tau},
              ctx -> {
                Tensor xc = ctx.save(x.contiguous());
                Tensor yc = ctx.save(y.contiguous());
                Tensor vc = ctx.save(v.contiguous());
                Tensor gc = gate == null ? null : ctx.save(gate.contiguous());
                Tensor tc = ctx.save(tau.reshape(heads).contiguous());
                Tensor o = empty(xc, shape);
                Tensor g = ctx.save(empty(xc, b, heads, c, c));
                Tensor a = ctx.save(empty(xc, b, heads, c, c));
                Tensor r = ctx.save(empty(xc, b, heads, c));
                Tensor s = ctx.save(empty(xc, b, heads, c));
                if (b > 0) forward(xc, yc, vc, gc, tc, b, heads, c, n, o, g, a, r, s);
                ctx.setBackward(
                    (grads, needs) -> {
                      Tensor dout = grads[0].contiguous();
                      Tensor dx = needs[0] ? empty(xc, shape) : null;
                      Tensor dy = needs[1] ? empty(xc, shape) : null;
                      Tensor dv = needs[2] ? empty(xc, shape) : null;
                      Tensor dgate = needs[3] ? empty(xc, shape) : null;
                      Tensor dtau = needs[4] ? empty(xc, heads) : null;
                      if (b > 0) {
                        backward(dout, xc, yc, vc, gc, tc, g, a, r, s, b, heads, c, n, dx, dy, dv, dgate, dtau);
                      } else if (dtau != null) {
                        dtau.zero_();
                      }
                      return new Tensor[] {dx, dy, dv, dgate, dtau == null ? null : dtau.reshape(tauShape)};
                    });
                return new Tensor[] {o};
              });
      return Scopes.escape(out[0], outer);
    }
  }

  static void forward( // package-private for AttentionContext's record mode
      Tensor x, Tensor y, Tensor v, Tensor gate, Tensor tau, long b, long heads, long c, long n,
      Tensor o, Tensor g, Tensor a, Tensor r, Tensor s) {
    int st;
    if (x.is_cuda()) {
      Tensor ws = OpSupport.workspace(x, kernels.deepspg_channel_attention_workspace_bytes(b, heads, c, n, isF64(x) ? 1 : 0));
      Pointer stream = OpSupport.cudaStream(x);
      st = isF64(x)
          ? kernels.deepspg_channel_attention_forward_cuda_f64(
              f64(x), f64(y), f64(v), f64(gate), f64(tau), b, heads, c, n,
              f64(o), f64(g), f64(a), f64(r), f64(s), ws.data_ptr(), stream)
          : kernels.deepspg_channel_attention_forward_cuda_f32(
              f32(x), f32(y), f32(v), f32(gate), f32(tau), b, heads, c, n,
              f32(o), f32(g), f32(a), f32(r), f32(s), ws.data_ptr(), stream);
    } else {
      st = isF64(x)
          ? kernels.deepspg_channel_attention_forward_cpu_f64(
              f64(x), f64(y), f64(v), f64(gate), f64(tau), b, heads, c, n, f64(o), f64(g), f64(a), f64(r), f64(s))
          : kernels.deepspg_channel_attention_forward_cpu_f32(
              f32(x), f32(y), f32(v), f32(gate), f32(tau), b, heads, c, n, f32(o), f32(g), f32(a), f32(r), f32(s));
    }
    NativeLibrary.check(st, OP + " forward");
  }

  private static void backward(
      Tensor dout, Tensor x, Tensor y, Tensor v, Tensor gate, Tensor tau, Tensor g, Tensor a, Tensor r, Tensor s,
      long b, long heads, long c, long n, Tensor dx, Tensor dy, Tensor dv, Tensor dgate, Tensor dtau) {
    int st;
    if (x.is_cuda()) {
      Tensor ws = OpSupport.workspace(x, kernels.deepspg_channel_attention_workspace_bytes(b, heads, c, n, isF64(x) ? 1 : 0));
      Pointer stream = OpSupport.cudaStream(x);
      st = isF64(x)
          ? kernels.deepspg_channel_attention_backward_cuda_f64(
              f64(dout), f64(x), f64(y), f64(v), f64(gate), f64(tau), f64(g), f64(a), f64(r), f64(s),
              b, heads, c, n, f64(dx), f64(dy), f64(dv), f64(dgate), f64(dtau), ws.data_ptr(), stream)
          : kernels.deepspg_channel_attention_backward_cuda_f32(
              f32(dout), f32(x), f32(y), f32(v), f32(gate), f32(tau), f32(g), f32(a), f32(r), f32(s),
              b, heads, c, n, f32(dx), f32(dy), f32(dv), f32(dgate), f32(dtau), ws.data_ptr(), stream);
    } else {
      st = isF64(x)
          ? kernels.deepspg_channel_attention_backward_cpu_f64(
              f64(dout), f64(x), f64(y), f64(v), f64(gate), f64(tau), f64(g), f64(a), f64(r), f64(s),
              b, heads, c, n, f64(dx), f64(dy), f64(dv), f64(dgate), f64(dtau))
          : kernels.deepspg_channel_attention_backward_cpu_f32(
              f32(dout), f32(x), f32(y), f32(v), f32(gate), f32(tau), f32(g), f32(a), f32(r), f32(s),
              b, heads, c, n, f32(dx), f32(dy), f32(dv), f32(dgate), f32(dtau));
    }
    NativeLibrary.check(st, OP + " backward");
  }
}
