/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.bytedeco.pytorch.global.torch.adaptive_avg_pool2d;
import static org.bytedeco.pytorch.global.torch.avg_pool2d;
import static org.deepspg.ops.OpSupport.checkDim;
import static org.deepspg.ops.OpSupport.f32;
import static org.deepspg.ops.OpSupport.toDouble;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ToIntBiFunction;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.deepspg.kernels.global.kernels;

/**
 * ESPNetv2's average poolings: 3×3, stride 2, zero padding 1, padding counted ({@link #pool3x3s2}: {@code
 * avg_pool2d(x, 3, 2, 1, ceil_mode=false, count_include_pad=true)}, the down-sampling of its maps and of the network
 * input) and adaptive ({@link #adaptive}: {@code adaptive_avg_pool2d}, its pyramid pooling and excitation). Inference
 * on float32 CPU tensors runs native kernels ({@code deepspg_avg_pool3x3s2_cpu_f32}, {@code
 * deepspg_adaptive_avg_pool_cpu_f32}: libtorch's CPU bits, the window's terms added in the same order); anything
 * else, or a recorded gradient, runs libtorch's ops. libtorch's CPU kernels compute each output with scalar code: the
 * 3×3 pools took 10–13 % of ESPNetv2's encoder at 608×416 on 2 threads, the adaptive ones 18 % of the whole network
 * (perf, BENCHMARKS.md "Session 27").
 *
 * <p><b>Proved on the machine it runs on.</b> Before the first use, {@link #status()} compares both kernels with
 * libtorch's float64 ops on probes covering odd and even sizes, a single row and column, 1×1, overlapping and
 * shrinking windows; when it fails or system property {@value #MODE_PROPERTY} is {@code off}, libtorch's ops serve.
 */
public final class AvgPool {
  /** System property: {@code auto} (self-check, then use; the default) or {@code off}. */
  public static final String MODE_PROPERTY = "deepspg.avgpool";
  /** Largest accepted self-check error, relative to max(1, max |reference|). */
  static final double TOLERANCE = 1e-6;
  private static final String OP = "avg_pool";
  private static final Verdict<KernelStatus> STATUS = new Verdict<>(AvgPool::selfCheck);
  private static final AtomicLong CALLS = new AtomicLong();

  private AvgPool() {}

  /** @return the self-check's verdict, running the check on the first call of the process */
  public static KernelStatus status() {
    return STATUS.get();
  }

  /**
   * {@code avg_pool2d(x, 3, 2, 1, false, true)}: on the native kernel for float32 CPU tensors when no gradient is
   * recorded for x and the self-check passed, else libtorch's op (the same values; autograd records it).
   *
   * @param x {@code [B, C, H, W]}
   * @return {@code [B, C, (H − 1)/2 + 1, (W − 1)/2 + 1]}
   * @throws IllegalArgumentException when x is not 4-d
   */
  public static Tensor pool3x3s2(Tensor x) {
    checkDim(OP, "x", x, 4, "[B, C, H, W]");
    return nativeServes(x) ? nativePool(x) : reference(x);
  }

  /**
   * {@code adaptive_avg_pool2d(x, [ho, wo])}: on the native kernel for float32 CPU tensors when no gradient is recorded
   * for x and the self-check passed, else libtorch's op (the same values; autograd records it). A 1×1 output stays
   * libtorch's: it computes that one as a mean (vectorised, with other bits than the window loop).
   *
   * @param x {@code [B, C, H, W]}, H and W ≥ 1
   * @param ho output height ≥ 1
   * @param wo output width ≥ 1
   * @return {@code [B, C, ho, wo]}
   * @throws IllegalArgumentException when x is not 4-d or a size is not positive
   */
  public static Tensor adaptive(Tensor x, long ho, long wo) {
    checkDim(OP, "x", x, 4, "[B, C, H, W]");
    if (ho < 1 || wo < 1 || x.size(2) < 1 || x.size(3) < 1) {
      throw new IllegalArgumentException(OP + ": adaptive pooling of " + OpSupport.describe(x) + " to " + ho + "x"
          + wo + ": sizes must be positive");
    }
    // A 1x1 output is libtorch's mean over the plane (a vectorised sum, other bits than the window loop): kept.
    boolean global = ho == 1 && wo == 1;
    return !global && nativeServes(x) ? nativeAdaptive(x, ho, wo) : adaptiveReference(x, ho, wo);
  }

  /**
   * How many poolings the native kernels have computed in this process (self-check included): lets tests see which
   * path a network took.
   *
   * @return the count
   */
  public static long calls() {
    return CALLS.get();
  }

  /** libtorch's op: the fallback and the self-check's reference (any dtype, device, autograd). */
  static Tensor reference(Tensor x) {
    return avg_pool2d(x, new long[] {3, 3}, new long[] {2, 2}, new long[] {1, 1}, false, true, new LongOptional());
  }

  /** libtorch's adaptive op: the fallback and the self-check's reference. */
  static Tensor adaptiveReference(Tensor x, long ho, long wo) {
    return adaptive_avg_pool2d(x, new long[] {ho, wo});
  }

  /** Whether the native kernels serve x: float32 on CPU, no gradient recorded for it, not empty, self-check passed. */
  private static boolean nativeServes(Tensor x) {
    return OpSupport.inferenceF32Cpu(x) && x.numel() > 0 && status().enabled();
  }

  private static Tensor nativeAdaptive(Tensor x, long ho, long wo) {
    return nativeRun(x, ho, wo, OP + " (adaptive)", (xc, y) -> kernels.deepspg_adaptive_avg_pool_cpu_f32(f32(xc),
        xc.size(0) * xc.size(1), xc.size(2), xc.size(3), ho, wo, f32(y)));
  }

  private static Tensor nativePool(Tensor x) {
    return nativeRun(x, (x.size(2) - 1) / 2 + 1, (x.size(3) - 1) / 2 + 1, OP, (xc, y) -> kernels
        .deepspg_avg_pool3x3s2_cpu_f32(f32(xc), xc.size(0) * xc.size(1), xc.size(2), xc.size(3), f32(y)));
  }

  /** One kernel call on contiguous x into a new [B, C, ho, wo] output; {@code kernel} returns the C ABI status. */
  private static Tensor nativeRun(Tensor x, long ho, long wo, String what, ToIntBiFunction<Tensor, Tensor> kernel) {
    NativeLibrary.ensureLoaded();
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor xc = x.contiguous();
      Tensor y = OpSupport.empty(xc, xc.size(0), xc.size(1), ho, wo);
      NativeLibrary.check(kernel.applyAsInt(xc, y), what);
      CALLS.incrementAndGet();
      return Scopes.escape(y, outer);
    }
  }

  private static KernelStatus selfCheck() {
    NativeLibrary.ensureLoaded();
    return KernelStatus.check("average pooling", "native", "libtorch", MODE_PROPERTY, null, TOLERANCE,
        AvgPool::probeError);
  }

  /** Largest error of the two kernels over the probes, relative to max(1, max |reference|); +inf when non-finite. */
  static double probeError() {
    // {B, C, H, W}: odd and even sides, one row, one column, 1x1, a plane wider than a vector (the inner loop)
    int[][] probes = {{1, 3, 13, 19}, {2, 2, 8, 38}, {1, 2, 1, 33}, {1, 2, 40, 1}, {1, 1, 1, 1}, {1, 2, 6, 71}};
    double worst = 0;
    long seed = 919;
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      for (int[] p : probes) {
        Tensor x = OneDnn.fixedRandom(new long[] {p[0], p[1], p[2], p[3]}, seed++);
        double err = OneDnn.relDiff(reference(toDouble(x)), toDouble(nativePool(x)));
        if (!(err <= Double.MAX_VALUE)) return Double.POSITIVE_INFINITY; // non-finite values
        worst = Math.max(worst, err);
      }
      // adaptive {B, C, H, W, ho, wo}: 2x and 1.5x back down (overlapping windows), 0.5x, a floor of 5, 1x2, growing
      int[][] adaptive = {{1, 3, 26, 38, 13, 19}, {1, 2, 21, 30, 14, 20}, {2, 2, 13, 19, 7, 10}, {1, 2, 13, 19, 5, 5},
          {1, 3, 13, 19, 1, 2}, {1, 2, 5, 7, 9, 11}};
      for (int[] p : adaptive) {
        Tensor x = OneDnn.fixedRandom(new long[] {p[0], p[1], p[2], p[3]}, seed++);
        double err = OneDnn.relDiff(adaptiveReference(toDouble(x), p[4], p[5]), toDouble(nativeAdaptive(x, p[4],
            p[5])));
        if (!(err <= Double.MAX_VALUE)) return Double.POSITIVE_INFINITY;
        worst = Math.max(worst, err);
      }
    }
    return worst;
  }
}
