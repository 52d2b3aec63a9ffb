/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.deepspg.ops.OpSupport.describe;
import static org.deepspg.ops.OpSupport.f32;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.kernels.global.kernels;

/**
 * Pixel shuffle by 2 — {@code F.pixel_shuffle(x, 2)}: {@code [B, 4C, h, w] → [B, C, 2h, 2w]} — on a native copy
 * kernel for float32 CPU inference (the decoder's up-sampling after its composed low-resolution 1×1 convolution).
 * libtorch's CPU kernel took several times its memory traffic (2.6 % of a DeepSPG-S forward at 1088×1920).
 *
 * <p><b>Proved on the machine it runs on.</b> Before the first use, {@link #usable} compares the kernel with
 * libtorch's {@code pixel_shuffle} bit for bit on a small tensor; where that fails (or system property
 * {@value #MODE_PROPERTY} is {@code off}) callers keep libtorch's op.
 */
public final class PixelShuffle {
  /** System property: {@code auto} (self-check, then use; the default) or {@code off}. */
  public static final String MODE_PROPERTY = "deepspg.pixelshuffle";
  private static final String OP = "pixel_shuffle2";
  private static final Verdict<Boolean> STATUS = new Verdict<>(PixelShuffle::selfCheck);

  private PixelShuffle() {}

  /**
   * Whether {@link #forward} may serve this call: a float32 CPU input, no gradient to record, self-check passed.
   *
   * @param x the input
   * @return true when the native kernel may be used
   */
  public static boolean usable(Tensor x) {
    return OpSupport.inferenceF32Cpu(x) && STATUS.get();
  }

  /** @return whether the self-check passed (running it on the first call of the process) */
  public static boolean enabled() {
    return STATUS.get();
  }

  /**
   * @param x {@code [B, 4C, h, w]} float32 CPU
   * @return {@code [B, C, 2h, 2w]}, {@code F.pixel_shuffle(x, 2)}
   * @throws IllegalArgumentException when x is not a float32 CPU {@code [B, 4C, h, w]} tensor
   */
  public static Tensor forward(Tensor x) {
    NativeLibrary.ensureLoaded();
    OpSupport.checkDim(OP, "x", x, 4, "[B, 4C, h, w]");
    OpSupport.requireNoGradient(OP, x);
    if (x.is_cuda() || x.scalar_type().value != OpSupport.F32 || x.size(1) % 4 != 0) {
      throw new IllegalArgumentException(OP + ": x must be float32 on CPU with a multiple of 4 channels, got "
          + describe(x));
    }
    long b = x.size(0), c = x.size(1) / 4, h = x.size(2), w = x.size(3);
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor xc = x.contiguous();
      Tensor y = OpSupport.empty(xc, b, c, 2 * h, 2 * w);
      NativeLibrary.check(kernels.deepspg_pixel_shuffle2_cpu_f32(y.numel() == 0 ? null : f32(xc), b, c, h, w,
          y.numel() == 0 ? null : f32(y)), OP);
      return Scopes.escape(y, outer);
    }
  }

  private static boolean selfCheck() {
    if ("off".equalsIgnoreCase(System.getProperty(MODE_PROPERTY, "auto").trim())) return false;
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      Tensor x = OneDnn.fixedRandom(new long[] {2, 12, 5, 37}, 97);
      return forward(x).equal(torch.pixel_shuffle(x, 2));
    }
  }
}
