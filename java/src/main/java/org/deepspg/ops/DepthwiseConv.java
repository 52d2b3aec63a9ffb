/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.deepspg.ops.OpSupport.checkCudaF32;
import static org.deepspg.ops.OpSupport.checkDim;
import static org.deepspg.ops.OpSupport.checkFloat;
import static org.deepspg.ops.OpSupport.checkLike;
import static org.deepspg.ops.OpSupport.describe;
import static org.deepspg.ops.OpSupport.empty;
import static org.deepspg.ops.OpSupport.f32;
import static org.deepspg.ops.OpSupport.f64;
import static org.deepspg.ops.OpSupport.isF64;
import static org.deepspg.ops.OpSupport.toDouble;

import java.util.concurrent.atomic.AtomicLong;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.kernels.global.kernels;

/**
 * Depthwise 3×3 convolution of the DeepSPG blocks (spec §1.5 and §2.2: IG-MSA positional branch, IGAB FFN, SEM
 * kv/q, GDFN): stride 1, zero padding 1, groups = channels, no bias — {@code F.conv2d(x, w, padding=1, groups=C)} —
 * optionally fused with the GELU that follows it (exact erf form).
 *
 * <p>Shapes: x {@code [B, C, H, W]} (any strides; non-contiguous inputs are copied), weight {@code [C, 1, 3, 3]}
 * (PyTorch's depthwise layout, e.g. a {@code Conv2dImpl}'s weight); output {@code [B, C, H, W]} contiguous. Dtypes:
 * float32 or float64 on CPU, float32 on CUDA (current stream); x and weight the same dtype and device. Deterministic
 * (the weight gradient is reduced in a fixed order). Differentiable w.r.t. x and weight (one native call per
 * backward); double backward is not supported. The float GELU uses a rational erf approximation (absolute error
 * below 5e-7) on CPU and {@code erff} on CUDA.
 */
public final class DepthwiseConv {
  private static final String OP = "dwconv3x3";
  /** System property for the dilated, strided inference kernel: {@code auto} (self-check, then use) or {@code off}. */
  public static final String DILATED_PROPERTY = "deepspg.dwconv.dilated";
  /** Largest accepted error of that kernel's self-check, relative to max(1, max |reference|). */
  static final double DILATED_TOLERANCE = 1e-5;
  private static final Verdict<KernelStatus> DILATED = new Verdict<>(DepthwiseConv::dilatedCheck);
  /**
   * System property for the float CPU backward's AVX-512 weight-gradient sums ({@code
   * deepspg_dwconv3x3_backward_avx512}): {@code auto} (self-check, then use; the default) or {@code off}.
   */
  public static final String BACKWARD_AVX512_PROPERTY = "deepspg.dwconv.backward.avx512";
  /** Largest accepted error of the backward's self-check, relative to max(1, max |reference|). */
  static final double BACKWARD_TOLERANCE = 1e-5;
  private static final Verdict<KernelStatus> BACKWARD_AVX512 = new Verdict<>(DepthwiseConv::backwardCheck);
  private static final AtomicLong DILATED_CALLS = new AtomicLong();

  private DepthwiseConv() {}

  /**
   * {@code y = dwconv3x3(x, weight)}.
   *
   * @param x input {@code [B, C, H, W]}
   * @param weight depthwise kernel {@code [C, 1, 3, 3]}
   * @return y {@code [B, C, H, W]}
   * @throws IllegalArgumentException on shape, dtype or device mismatch
   */
  public static Tensor conv3x3(Tensor x, Tensor weight) {
    return apply(OP, x, weight, kernels.DEEPSPG_ACT_NONE);
  }

  /**
   * {@code y = gelu(dwconv3x3(x, weight))} in one pass (the pre-activation is kept only when a graph is recorded).
   *
   * @param x input {@code [B, C, H, W]}
   * @param weight depthwise kernel {@code [C, 1, 3, 3]}
   * @return y {@code [B, C, H, W]}
   * @throws IllegalArgumentException on shape, dtype or device mismatch
   */
  public static Tensor conv3x3Gelu(Tensor x, Tensor weight) {
    return apply(OP + "_gelu", x, weight, kernels.DEEPSPG_ACT_GELU);
  }

  /**
   * Depthwise 3×3 convolution with dilation d and stride 1 or 2, zero padding d ("same"), no bias —
   * {@code F.conv2d(x, w, stride=s, padding=d, dilation=d, groups=C)}, as in ESPNetv2's EESP branches — on the
   * kernel above. libtorch's CPU fallback (oneDNN off) runs such a grouped, dilated convolution one channel at a time
   * through im2col; here the d×d interleaved sub-images of x are stacked into the batch ({@code x[.., r::d, s::d]}),
   * where the dilated kernel becomes a plain 3×3 one with padding 1, and the result is interleaved back. Stride 2 keeps
   * every other row and column of the stride-1 result. Differentiable w.r.t. x and weight (the rearrangements are
   * libtorch views and copies). In inference (float32 CPU, no gradient recorded for x or the weight) a dilated or
   * strided call instead runs one native pass ({@code deepspg_dwconv3x3_dilated_forward_cpu_f32}: no rearranging
   * copies, only the kept outputs computed), once {@link #dilatedStatus()}'s self-check has passed.
   *
   * @param x input {@code [B, C, H, W]}
   * @param weight depthwise kernel {@code [C, 1, 3, 3]}
   * @param dilation d ≥ 1
   * @param stride 1 or 2
   * @return y {@code [B, C, ⌈H/s⌉, ⌈W/s⌉]}
   * @throws IllegalArgumentException on shape, dtype or device mismatch, or other dilation/stride values
   */
  public static Tensor conv3x3(Tensor x, Tensor weight, int dilation, int stride) {
    if (dilation < 1 || (stride != 1 && stride != 2)) {
      throw new IllegalArgumentException(OP + ": dilation must be >= 1 and stride 1 or 2, got dilation " + dilation
          + ", stride " + stride);
    }
    checkDim(OP, "x", x, 4, "[B, C, H, W]");
    OpSupport.checkLike(OP, "x", x, "weight", weight);
    checkWeight(OP, x, weight); // before the sub-images below, whose shape a message would name instead of x's
    long b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    if ((dilation > 1 || stride == 2) && OpSupport.inferenceF32Cpu(x, weight) && !weight.is_cuda()
        && weight.scalar_type().value == OpSupport.F32 && x.numel() > 0 && dilatedStatus().enabled()) {
      return dilatedForward(x, weight, dilation, stride);
    }
    Tensor y;
    if (dilation == 1) {
      y = conv3x3(x, weight);
    } else {
      long d = dilation, hs = (h + d - 1) / d, ws = (w + d - 1) / d;
      Tensor xp = hs * d == h && ws * d == w ? x
          : torch.constant_pad_nd(x, new long[] {0, ws * d - w, 0, hs * d - h}, new Scalar(0.0));
      // [B, C, hs, d(r), ws, d(s)] -> [B, r, s, C, hs, ws]: sub-image (r, s) = x[.., r::d, s::d]
      Tensor sub = xp.reshape(b, c, hs, d, ws, d).permute(0, 3, 5, 1, 2, 4).reshape(b * d * d, c, hs, ws);
      Tensor ys = conv3x3(sub, weight);
      y = ys.view(b, d, d, c, hs, ws).permute(0, 3, 4, 1, 5, 2).reshape(b, c, hs * d, ws * d);
      if (hs * d != h || ws * d != w) y = y.narrow(2, 0, h).narrow(3, 0, w);
    }
    if (stride == 2) {
      y = y.slice(2, new LongOptional(0), new LongOptional(h), 2).slice(3, new LongOptional(0), new LongOptional(w), 2);
    }
    return y;
  }

  private static Tensor apply(String op, Tensor x, Tensor weight, int act) {
    NativeLibrary.ensureLoaded();
    checkFloat(op, "x", x);
    checkDim(op, "x", x, 4, "[B, C, H, W]");
    checkLike(op, "x", x, "weight", weight);
    long b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    checkWeight(op, x, weight);
    checkCudaF32(op, x);
    long[] shape = NativeFunction.shape(x);
    long[] wShape = NativeFunction.shape(weight);
    boolean gelu = act == kernels.DEEPSPG_ACT_GELU;
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor[] out =
          NativeFunction.apply(
              op,
              new Tensor[] {x, weight},
              ctx -> {
                Tensor xc = x.contiguous();
                Tensor wc = ctx.save(weight.contiguous());
                // x is needed only for the weight gradient; the pre-activation only for a recorded GELU.
                Tensor xs = ctx.needsInputGrad(1) ? ctx.save(xc) : null;
                Tensor y = empty(xc, shape);
                Tensor pre = gelu && ctx.isRecording() ? ctx.save(empty(xc, shape)) : null;
                forward(op, xc, wc, b, c, h, w, act, y, pre);
                ctx.setBackward(
                    (grads, needs) -> {
                      Tensor dy = grads[0].contiguous();
                      Tensor dx = needs[0] ? empty(dy, shape) : null;
                      Tensor dw = needs[1] ? empty(dy, wShape) : null;
                      backward(op, dy, xs, wc, pre, b, c, h, w, act, dx, dw);
                      return new Tensor[] {dx, dw};
                    });
                return new Tensor[] {y};
              });
      return Scopes.escape(out[0], outer);
    }
  }

  private static void checkWeight(String op, Tensor x, Tensor weight) {
    long c = x.size(1);
    if (weight.dim() != 4 || weight.size(0) != c || weight.size(1) != 1 || weight.size(2) != 3
        || weight.size(3) != 3) {
      throw new IllegalArgumentException(
          op + ": weight must be [C, 1, 3, 3] = [" + c + ", 1, 3, 3] for x " + describe(x) + ", got "
              + describe(weight));
    }
  }

  /**
   * The self-check of the dilated, strided native forward, run on the first such call of the process: the kernel
   * against libtorch's float64 {@code conv2d} (stride, padding = dilation, dilation, groups = C) on probes covering
   * ESPNetv2's dilations 1–4 with stride 1 and 2, odd sizes and planes narrower than the dilation; off with system
   * property {@value #DILATED_PROPERTY} = {@code off} (the stacked sub-images on the plain kernel then serve).
   *
   * @return the verdict
   */
  public static KernelStatus dilatedStatus() {
    return DILATED.get();
  }

  /**
   * How many dilated or strided forwards the native kernel has computed in this process (self-check included).
   *
   * @return the count
   */
  public static long dilatedCalls() {
    return DILATED_CALLS.get();
  }

  private static Tensor dilatedForward(Tensor x, Tensor weight, int dilation, int stride) {
    NativeLibrary.ensureLoaded();
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor xc = x.contiguous();
      Tensor wc = weight.contiguous();
      long b = xc.size(0), c = xc.size(1), h = xc.size(2), w = xc.size(3);
      Tensor y = empty(xc, b, c, (h - 1) / stride + 1, (w - 1) / stride + 1);
      NativeLibrary.check(kernels.deepspg_dwconv3x3_dilated_forward_cpu_f32(f32(xc), f32(wc), b, c, h, w, dilation,
          stride, f32(y)), OP + " dilated forward");
      DILATED_CALLS.incrementAndGet();
      return Scopes.escape(y, outer);
    }
  }

  private static KernelStatus dilatedCheck() {
    NativeLibrary.ensureLoaded();
    return KernelStatus.check("dilated depthwise 3x3", "native", "stacked sub-images", DILATED_PROPERTY, null,
        DILATED_TOLERANCE, DepthwiseConv::dilatedProbeError);
  }

  /** Largest error of the dilated kernel over the probes, relative to max(1, max |reference|); +inf when non-finite. */
  static double dilatedProbeError() {
    // {C, H, W, dilation, stride}
    int[][] probes = {{3, 13, 18, 2, 1}, {2, 13, 19, 3, 1}, {2, 26, 37, 4, 1}, {3, 13, 18, 1, 2}, {2, 27, 40, 4, 2},
        {2, 3, 3, 4, 1}, {2, 2, 5, 3, 2}, {2, 1, 70, 2, 2}};
    double worst = 0;
    long seed = 4242;
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      for (int[] p : probes) {
        int d = p[3], s = p[4];
        Tensor x = OneDnn.fixedRandom(new long[] {2, p[0], p[1], p[2]}, seed++);
        Tensor w = OneDnn.fixedRandom(new long[] {p[0], 1, 3, 3}, seed++);
        Tensor ref = torch.conv2d(toDouble(x), toDouble(w), new TensorOptional(), new long[] {s, s},
            new long[] {d, d}, new long[] {d, d}, p[0]);
        double err = OneDnn.relDiff(ref, toDouble(dilatedForward(x, w, d, s)));
        if (!(err <= Double.MAX_VALUE)) return Double.POSITIVE_INFINITY; // non-finite values
        worst = Math.max(worst, err);
      }
    }
    return worst;
  }

  /**
   * The verdict on the float CPU backward's AVX-512 weight-gradient sums (per band in 16-lane vectors, 1.1–2.3× the
   * backward at DeepSPG's training shapes): checked once per process against the float64 kernel, on probes with and
   * without GELU at widths below, at and between multiples of 16, before the first float CPU backward; where it fails
   * (or {@value #BACKWARD_AVX512_PROPERTY} = off, or the CPU has no AVX-512F) the backward sums per row as before.
   *
   * @return the status ({@code deepspg info} prints it)
   */
  public static KernelStatus backwardStatus() {
    return BACKWARD_AVX512.get();
  }

  private static KernelStatus backwardCheck() {
    NativeLibrary.ensureLoaded();
    KernelStatus s = KernelStatus.check("depthwise 3x3 backward weight gradient (training)", "AVX-512 band sums",
        "per-row sums", BACKWARD_AVX512_PROPERTY,
        () -> kernels.deepspg_dwconv3x3_backward_avx512(1) == kernels.DEEPSPG_OK ? null : "no AVX-512F",
        BACKWARD_TOLERANCE, DepthwiseConv::backwardProbeError);
    kernels.deepspg_dwconv3x3_backward_avx512(s.enabled() ? 1 : 0);
    return s;
  }

  /**
   * Largest error of the float CPU backward (dx and dweight, the kernels as selected now) against the float64
   * kernel over the probes, relative to max(1, max |reference|); +inf when non-finite. Calls the C ABI directly (no
   * autograd: {@link #backward} asks for the verdict).
   */
  static double backwardProbeError() {
    // {B, C, H, W, act}: widths below, at and between multiples of 16, bands of 16 rows and a part band, one row
    int[][] probes = {{2, 3, 19, 7, 1}, {1, 2, 33, 16, 0}, {2, 2, 17, 37, 1}, {1, 3, 5, 64, 0}, {1, 2, 1, 50, 1}};
    double worst = 0;
    long seed = 5151;
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      for (int[] p : probes) {
        long b = p[0], c = p[1], h = p[2], w = p[3];
        int act = p[4];
        Tensor x = OneDnn.fixedRandom(new long[] {b, c, h, w}, seed++);
        Tensor wt = OneDnn.fixedRandom(new long[] {c, 1, 3, 3}, seed++);
        Tensor dy = OneDnn.fixedRandom(new long[] {b, c, h, w}, seed++);
        Tensor[] got = backwardCpu(x, wt, dy, act);
        Tensor[] ref = backwardCpu(toDouble(x), toDouble(wt), toDouble(dy), act);
        for (int i = 0; i < 2; i++) {
          double err = OneDnn.relDiff(ref[i], toDouble(got[i]));
          if (!(err <= Double.MAX_VALUE)) return Double.POSITIVE_INFINITY; // non-finite values
          worst = Math.max(worst, err);
        }
      }
    }
    return worst;
  }

  /** {dx, dweight} of the CPU kernels for x's dtype, the forward's pre-activation computed first with GELU. */
  private static Tensor[] backwardCpu(Tensor x, Tensor wt, Tensor dy, int act) {
    long b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    Tensor y = empty(x, b, c, h, w), pre = empty(x, b, c, h, w), dx = empty(x, b, c, h, w), dw = empty(x, c, 1, 3, 3);
    forward(OP, x, wt, b, c, h, w, act, y, pre);
    Tensor p = act == kernels.DEEPSPG_ACT_GELU ? pre : null;
    int st = isF64(x)
        ? kernels.deepspg_dwconv3x3_backward_cpu_f64(f64(dy), f64(x), f64(wt), f64(p), b, c, h, w, act, f64(dx),
            f64(dw))
        : kernels.deepspg_dwconv3x3_backward_cpu_f32(f32(dy), f32(x), f32(wt), f32(p), b, c, h, w, act, f32(dx),
            f32(dw));
    NativeLibrary.check(st, OP + " backward self-check");
    return new Tensor[] {dx, dw};
  }

  private static void forward(
      String op, Tensor x, Tensor weight, long b, long c, long h, long w, int act, Tensor y, Tensor pre) {
    if (x.numel() == 0) return;
    int st;
    if (x.is_cuda()) {
      st = kernels.deepspg_dwconv3x3_forward_cuda_f32(
          f32(x), f32(weight), b, c, h, w, act, f32(y), f32(pre), OpSupport.cudaStream(x));
    } else if (isF64(x)) {
      st = kernels.deepspg_dwconv3x3_forward_cpu_f64(f64(x), f64(weight), b, c, h, w, act, f64(y), f64(pre));
    } else {
      st = kernels.deepspg_dwconv3x3_forward_cpu_f32(f32(x), f32(weight), b, c, h, w, act, f32(y), f32(pre));
    }
    NativeLibrary.check(st, op + " forward");
  }

  private static void backward(
      String op, Tensor dy, Tensor x, Tensor weight, Tensor pre, long b, long c, long h, long w, int act, Tensor dx,
      Tensor dw) {
    if (dx == null && dw == null) return;
    if (dy.numel() == 0) {
      if (dw != null) dw.zero_();
      return;
    }
    int st;
    if (dy.is_cuda()) {
      Tensor ws = dw == null ? null : OpSupport.workspace(dy, kernels.deepspg_dwconv3x3_workspace_bytes(b, c, h, w));
      st = kernels.deepspg_dwconv3x3_backward_cuda_f32(f32(dy), f32(x), f32(weight), f32(pre), b, c, h, w, act,
          f32(dx), f32(dw), ws == null ? null : ws.data_ptr(), OpSupport.cudaStream(dy));
    } else if (isF64(dy)) {
      st = kernels.deepspg_dwconv3x3_backward_cpu_f64(
          f64(dy), f64(x), f64(weight), f64(pre), b, c, h, w, act, f64(dx), f64(dw));
    } else {
      backwardStatus(); // the weight gradient's summation is chosen by its self-check
      st = kernels.deepspg_dwconv3x3_backward_cpu_f32(
          f32(dy), f32(x), f32(weight), f32(pre), b, c, h, w, act, f32(dx), f32(dw));
    }
    NativeLibrary.check(st, op + " backward");
  }
}
