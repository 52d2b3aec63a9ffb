/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.bytedeco.pytorch.global.torch.avg_pool2d;
import static org.deepspg.ops.OpSupport.checkDim;
import static org.deepspg.ops.OpSupport.f32;
import static org.deepspg.ops.OpSupport.toDouble;

import java.util.concurrent.atomic.AtomicLong;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.deepspg.kernels.global.kernels;

/**
 * Average pooling 3×3, stride 2, zero padding 1, padding counted: {@code avg_pool2d(x, 3, 2, 1, ceil_mode=false,
 * count_include_pad=true)}, ESPNetv2's down-sampling of its maps and of the network input. Inference on float32 CPU
 * tensors runs the native kernel ({@code deepspg_avg_pool3x3s2_cpu_f32}: libtorch's CPU bits, the nine window terms
 * added in the same order); anything else, or a recorded gradient, runs libtorch's {@code avg_pool2d}. libtorch's CPU
 * kernel computes each output with scalar code: 10–13 % of ESPNetv2's encoder at 608×416 on 2 threads (perf,
 * BENCHMARKS.md "Session 27").
 *
 * <p><b>Proved on the machine it runs on.</b> Before the first use, {@link #status()} compares the kernel with
 * libtorch's float64 {@code avg_pool2d} on probes covering odd and even sizes, a single row and column and 1×1; when
 * it fails or system property {@value #MODE_PROPERTY} is {@code off}, libtorch's op serves.
 */
public final class AvgPool {
  /** System property: {@code auto} (self-check, then use; the default) or {@code off}. */
  public static final String MODE_PROPERTY = "deepspg.avgpool";
  /** Largest accepted self-check error, relative to max(1, max |reference|). */
  static final double TOLERANCE = 1e-6;
  private static final String OP = "avg_pool3x3s2";
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
    return OpSupport.inferenceF32Cpu(x) && x.numel() > 0 && status().enabled() ? nativePool(x) : reference(x);
  }

  /**
   * How many poolings the native kernel has computed in this process (self-check included): lets tests see which
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

  private static Tensor nativePool(Tensor x) {
    NativeLibrary.ensureLoaded();
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor xc = x.contiguous();
      long b = xc.size(0), c = xc.size(1), h = xc.size(2), w = xc.size(3);
      Tensor y = OpSupport.empty(xc, b, c, (h - 1) / 2 + 1, (w - 1) / 2 + 1);
      NativeLibrary.check(kernels.deepspg_avg_pool3x3s2_cpu_f32(f32(xc), b * c, h, w, f32(y)), OP);
      CALLS.incrementAndGet();
      return Scopes.escape(y, outer);
    }
  }

  private static KernelStatus selfCheck() {
    NativeLibrary.ensureLoaded();
    return KernelStatus.check("average pooling 3x3/2", "native", "libtorch", MODE_PROPERTY, null, TOLERANCE,
        AvgPool::probeError);
  }

  /** Largest error of the kernel over the probes, relative to max(1, max |reference|); +inf when non-finite. */
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
    }
    return worst;
  }
}
