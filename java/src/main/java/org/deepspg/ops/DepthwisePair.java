/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.deepspg.ops.OpSupport.describe;
import static org.deepspg.ops.OpSupport.f32;
import static org.deepspg.ops.OpSupport.toDouble;

import java.util.concurrent.atomic.AtomicLong;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.kernels.global.kernels;

/**
 * IG-MSA's positional branch and its block's residual in one native pass (inference, float32 CPU):
 * <pre>
 *   y = dwconv3x3(gelu(dwconv3x3(x, w1)), w2) + residual
 * </pre>
 * (both 3×3 depthwise, stride 1, padding 1, no bias; GELU exact erf form; residual optional). The chain of two
 * {@link DepthwiseConv} calls and an add wrote and read the intermediate map, the branch's output and the sum: at
 * DeepSPG-S's full resolution three 20-channel maps per block. The kernel
 * ({@code deepspg_dwconv3x3_pair_forward_cpu_f32}) keeps the intermediate rows in a per-thread ring and computes the
 * chain's arithmetic in its order (the same bits).
 *
 * <p><b>Proved on the machine it runs on.</b> Before the first use, {@link #status()} checks the kernel against
 * libtorch's float64 composition of the same ops (several row bands, with and without the residual); when it fails,
 * or system property {@value #MODE_PROPERTY} is {@code off}, {@link #usable} is false and callers keep the chain.
 */
public final class DepthwisePair {
  /** System property: {@code auto} (self-check, then use; the default) or {@code off}. */
  public static final String MODE_PROPERTY = "deepspg.dwpair";
  private static final String OP = "dwconv3x3_pair";
  private static final Verdict<KernelStatus> STATUS = new Verdict<>(DepthwisePair::selfCheck);
  private static final AtomicLong CALLS = new AtomicLong();

  private DepthwisePair() {}

  /** @return the self-check's verdict, running the check on the first call of the process */
  public static KernelStatus status() {
    return STATUS.get();
  }

  /**
   * Whether {@link #forward} may compute this branch: a float32 CPU input, no gradient to record, self-check passed.
   *
   * @param x the branch's input
   * @param params every other tensor the result depends on (entries may be null)
   * @return true when the one-pass kernel may be used
   */
  public static boolean usable(Tensor x, Tensor... params) {
    return OpSupport.inferenceF32Cpu(x, params) && status().enabled();
  }

  /**
   * The branch (see the class comment); call where {@link #usable} holds.
   *
   * @param x {@code [B, C, H, W]} float32 CPU
   * @param w1 the first depthwise weight {@code [C, 1, 3, 3]}
   * @param w2 the second depthwise weight {@code [C, 1, 3, 3]}
   * @param residual {@code [B, C, H, W]} or null
   * @return {@code [B, C, H, W]}
   * @throws IllegalArgumentException on a shape, dtype or device mismatch
   */
  public static Tensor forward(Tensor x, Tensor w1, Tensor w2, Tensor residual) {
    NativeLibrary.ensureLoaded();
    OpSupport.checkDim(OP, "x", x, 4, "[B, C, H, W]");
    OpSupport.requireNoGradient(OP, x, w1, w2, residual);
    long b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    if (x.is_cuda() || x.scalar_type().value != OpSupport.F32) {
      throw new IllegalArgumentException(OP + ": x must be float32 on CPU, got " + describe(x));
    }
    for (Tensor k : new Tensor[] {w1, w2}) {
      OpSupport.checkLike(OP, "x", x, "weight", k);
      if (k.dim() != 4 || k.size(0) != c || k.size(1) != 1 || k.size(2) != 3 || k.size(3) != 3) {
        throw new IllegalArgumentException(OP + ": weights must be [" + c + ", 1, 3, 3] for x " + describe(x)
            + ", got " + describe(k));
      }
    }
    if (residual != null) {
      OpSupport.checkLike(OP, "x", x, "residual", residual);
      if (residual.dim() != 4 || residual.size(0) != b || residual.size(1) != c || residual.size(2) != h
          || residual.size(3) != w) {
        throw new IllegalArgumentException(OP + ": residual " + describe(residual) + " must have x's shape "
            + describe(x));
      }
    }
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor xc = x.contiguous();
      Tensor rc = residual == null ? null : residual.contiguous();
      Tensor y = OpSupport.empty(xc, b, c, h, w);
      if (y.numel() > 0) {
        NativeLibrary.check(kernels.deepspg_dwconv3x3_pair_forward_cpu_f32(f32(xc), f32(w1.contiguous()),
            f32(w2.contiguous()), rc == null ? null : f32(rc), b, c, h, w, f32(y)), OP + " forward");
      }
      CALLS.incrementAndGet();
      return Scopes.escape(y, outer);
    }
  }

  /**
   * Calls of {@link #forward} in this process, so that tests can see which path a network took.
   *
   * @return the count
   */
  public static long calls() {
    return CALLS.get();
  }

  private static KernelStatus selfCheck() {
    return KernelStatus.check("one pass", "on", "off", MODE_PROPERTY, null, DenseConv.TOLERANCE,
        DepthwisePair::probeError);
  }

  /** Largest error of the kernel over the probes, relative to max(1, max |reference|); +inf when non-finite. */
  static double probeError() {
    // {B, C, H, W, residual}: several 32-row bands with a partial last one; one row; one column
    int[][] probes = {{2, 3, 70, 41, 1}, {1, 4, 33, 18, 0}, {1, 2, 1, 9, 1}, {1, 2, 7, 1, 0}};
    double worst = 0;
    long seed = 8765;
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      for (int[] p : probes) {
        Tensor x = OneDnn.fixedRandom(new long[] {p[0], p[1], p[2], p[3]}, seed++);
        Tensor w1 = OneDnn.fixedRandom(new long[] {p[1], 1, 3, 3}, seed++).mul(new Scalar(0.4));
        Tensor w2 = OneDnn.fixedRandom(new long[] {p[1], 1, 3, 3}, seed++).mul(new Scalar(0.4));
        Tensor res = p[4] == 1 ? OneDnn.fixedRandom(new long[] {p[0], p[1], p[2], p[3]}, seed++) : null;
        Tensor ref = reference(toDouble(x), toDouble(w1), toDouble(w2), res == null ? null : toDouble(res));
        double err = OneDnn.relDiff(ref, toDouble(forward(x, w1, w2, res)));
        if (!(err <= Double.MAX_VALUE)) return Double.POSITIVE_INFINITY; // non-finite values
        worst = Math.max(worst, err);
      }
    }
    return worst;
  }

  /** The branch in libtorch ops (any dtype): the reference the self-check compares the kernel with. */
  static Tensor reference(Tensor x, Tensor w1, Tensor w2, Tensor residual) {
    long c = x.size(1);
    long[] one = {1, 1};
    Tensor t = torch.gelu(torch.conv2d(x, w1, new TensorOptional(), one, one, one, c));
    Tensor y = torch.conv2d(t, w2, new TensorOptional(), one, one, one, c);
    return residual == null ? y : y.add(residual);
  }
}
