/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.bytedeco.pytorch.global.torch.upsample_bilinear2d;
import static org.deepspg.ops.OpSupport.describe;
import static org.deepspg.ops.OpSupport.f32;
import static org.deepspg.ops.OpSupport.toDouble;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.deepspg.kernels.global.kernels;

/**
 * {@code act(base + Σ_j up_j(z_j))}, up_j PyTorch's {@code upsample_bilinear2d} of each map to the base's size, in one
 * native pass ({@code deepspg_upsample_bilinear_sum_cpu_f32}), inference only: HRNet's fuse layers (each branch's
 * output sums the resized 1×1 products of the coarser branches) and its segmentation head (the resized per-branch
 * products of its 720-channel 1×1 convolution). libtorch writes every resized map to memory and adds them pairwise:
 * for the head at 608×416, three 45 MB maps and two adds, where the sum needs one pass over its output.
 *
 * <p><b>Proved on the machine it runs on.</b> Before the first use, {@link #status()} compares the kernel with
 * libtorch's float64 {@code upsample_bilinear2d} and adds on probes covering both align_corners settings, up- and
 * down-sampling, odd sizes, a base and none, ReLU; when it fails or system property {@value #MODE_PROPERTY} is
 * {@code off}, {@link #forward} computes the sum with libtorch's ops.
 */
public final class UpsampleSum {
  /** System property: {@code auto} (self-check, then use; the default) or {@code off}. */
  public static final String MODE_PROPERTY = "deepspg.upsample";
  /** Largest accepted self-check error, relative to max(1, max |reference|). */
  static final double TOLERANCE = 1e-5;
  private static final String OP = "upsample_sum";
  private static final Verdict<KernelStatus> STATUS = new Verdict<>(UpsampleSum::selfCheck);
  private static final AtomicLong CALLS = new AtomicLong();

  private UpsampleSum() {}

  /** @return the self-check's verdict, running the check on the first call of the process */
  public static KernelStatus status() {
    return STATUS.get();
  }

  /**
   * Whether {@link #forward} would run the native kernel on these tensors: float32 on CPU, no gradient recorded for
   * any of them, the self-check passed.
   *
   * @param ts the inputs (entries may be null)
   * @return true for the native path
   */
  public static boolean usable(Tensor... ts) {
    boolean grad = GradMode.is_enabled();
    for (Tensor t : ts) {
      if (t != null && (t.is_cuda() || t.scalar_type().value != OpSupport.F32 || grad && t.requires_grad())) {
        return false;
      }
    }
    return status().enabled();
  }

  /**
   * {@code act(base + Σ_j upsample_bilinear2d(zs[j], [ho, wo], alignCorners))}, the sum in order j = 0, 1, …; on the
   * native kernel when every tensor is float32 on CPU, no gradient is recorded for any of them and the self-check
   * passed, otherwise with libtorch's ops (the same values to float rounding; autograd records them).
   *
   * @param base [B, C, ho, wo], or null for zero (then {@code zs} must not be empty)
   * @param zs the maps, each [B, C, h_j, w_j] (any sizes)
   * @param ho output height (the base's, when given)
   * @param wo output width
   * @param alignCorners align_corners of every resize
   * @param relu whether to apply ReLU last
   * @return a new [B, C, ho, wo] tensor (the inputs are not modified)
   * @throws IllegalArgumentException on a shape, dtype or device mismatch, or a tensor that is not float32 or float64
   */
  public static Tensor forward(Tensor base, Tensor[] zs, long ho, long wo, boolean alignCorners, boolean relu) {
    if (zs == null) throw new IllegalArgumentException(OP + ": the maps must be an array (empty for none)");
    Tensor first = base != null ? base : zs.length > 0 ? zs[0] : null;
    if (first == null) throw new IllegalArgumentException(OP + ": needs a base or at least one map");
    OpSupport.checkFloat(OP, base != null ? "base" : "map", first); // the maps are checked like it below
    if (first.dim() != 4) throw new IllegalArgumentException(OP + ": " + describe(first) + " must be [B, C, H, W]");
    long b = first.size(0), c = first.size(1);
    if (base != null && (base.size(2) != ho || base.size(3) != wo)) {
      throw new IllegalArgumentException(OP + ": base " + describe(base) + " must be [" + b + ", " + c + ", " + ho
          + ", " + wo + "]");
    }
    for (Tensor z : zs) {
      OpSupport.checkLike(OP, "first input", first, "map", z);
      if (z.dim() != 4 || z.size(0) != b || z.size(1) != c) {
        throw new IllegalArgumentException(OP + ": map " + describe(z) + " must be [" + b + ", " + c + ", h, w]");
      }
    }
    if (ho < 1 || wo < 1) throw new IllegalArgumentException(OP + ": output size " + ho + "x" + wo);
    Tensor[] all = Arrays.copyOf(zs, zs.length + 1);
    all[zs.length] = base;
    return usable(all) ? nativeSum(base, zs, b * c, ho, wo, alignCorners, relu)
        : reference(base, zs, ho, wo, alignCorners, relu);
  }

  /**
   * How many sums the native kernel has computed in this process (self-check included): lets tests see which path a
   * network took.
   *
   * @return the count
   */
  public static long calls() {
    return CALLS.get();
  }

  private static Tensor nativeSum(Tensor base, Tensor[] zs, long planes, long ho, long wo, boolean alignCorners,
      boolean relu) {
    NativeLibrary.ensureLoaded();
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor like = base != null ? base : zs[0];
      Tensor bc = base == null ? null : base.contiguous();
      PointerPointer<FloatPointer> maps = new PointerPointer<>(Math.max(1, zs.length));
      long[] sizes = new long[2 * Math.max(1, zs.length)];
      for (int j = 0; j < zs.length; j++) {
        Tensor zc = zs[j].contiguous(); // kept alive by the scope until the call returns
        maps.put(j, f32(zc));
        sizes[2 * j] = zc.size(2);
        sizes[2 * j + 1] = zc.size(3);
      }
      Tensor y = OpSupport.empty(like.contiguous(), like.size(0), like.size(1), ho, wo);
      NativeLibrary.check(kernels.deepspg_upsample_bilinear_sum_cpu_f32(bc == null ? null : f32(bc), zs.length, maps,
          new LongPointer(sizes), planes, ho, wo, alignCorners ? 1 : 0, relu ? 1 : 0, f32(y)), OP);
      CALLS.incrementAndGet();
      return Scopes.escape(y, outer);
    }
  }

  /** The sum in libtorch ops (any dtype, device, autograd): the fallback and the self-check's reference. */
  static Tensor reference(Tensor base, Tensor[] zs, long ho, long wo, boolean alignCorners, boolean relu) {
    Tensor acc = base;
    for (Tensor z : zs) {
      Tensor up = upsample_bilinear2d(z, new long[] {ho, wo}, alignCorners);
      acc = acc == null ? up : acc.add(up);
    }
    Tensor out = relu ? acc.relu() : acc;
    return out == base ? base.clone() : out; // no maps, no ReLU: still a new tensor, as documented
  }

  private static KernelStatus selfCheck() {
    NativeLibrary.ensureLoaded();
    return KernelStatus.check("up-sampling sums", "native", "libtorch", MODE_PROPERTY, null, TOLERANCE,
        UpsampleSum::probeError);
  }

  /** Largest error of the kernel over the probes, relative to max(1, max |reference|); +inf when non-finite. */
  static double probeError() {
    // {ho, wo, base, relu, align, h_0, w_0, h_1, w_1, ...}: HRNet's head and fuse shapes at an odd input (branches
    // rounded up), exact 2x, a down-sampling, a 1x1 output, a 1x1 map, no map at all
    int[][] probes = {{18, 23, 0, 0, 1, 9, 12, 5, 6, 3, 3}, {18, 23, 1, 1, 0, 9, 12, 5, 6, 3, 3},
        {16, 24, 1, 1, 1, 8, 12}, {5, 4, 1, 0, 0, 9, 11, 5, 4}, {1, 1, 1, 0, 1, 3, 5}, {6, 7, 0, 1, 0, 1, 1},
        {6, 7, 1, 1, 1}};
    double worst = 0;
    long seed = 777;
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      for (int[] p : probes) {
        long ho = p[0], wo = p[1];
        boolean align = p[4] == 1;
        Tensor base = p[2] == 1 ? OneDnn.fixedRandom(new long[] {2, 5, ho, wo}, seed++) : null;
        Tensor[] zs = new Tensor[(p.length - 5) / 2];
        for (int j = 0; j < zs.length; j++) {
          zs[j] = OneDnn.fixedRandom(new long[] {2, 5, p[5 + 2 * j], p[6 + 2 * j]}, seed++);
        }
        Tensor[] zs64 = new Tensor[zs.length];
        for (int j = 0; j < zs.length; j++) zs64[j] = toDouble(zs[j]);
        Tensor ref = reference(base == null ? null : toDouble(base), zs64, ho, wo, align, p[3] == 1);
        Tensor got = toDouble(nativeSum(base, zs, 10, ho, wo, align, p[3] == 1));
        double err = OneDnn.relDiff(ref, got);
        if (!(err <= Double.MAX_VALUE)) return Double.POSITIVE_INFINITY; // non-finite values
        worst = Math.max(worst, err);
      }
    }
    return worst;
  }
}
