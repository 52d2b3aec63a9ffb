/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.deepspg.ops.OpSupport.describe;
import static org.deepspg.ops.OpSupport.f32;
import static org.deepspg.ops.OpSupport.toDouble;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.kernels.global.kernels;

/**
 * The enhancement network's feed-forward blocks in one native pass, inference only: IGAB's FFN
 * ({@link Mode#GELU_DW_GELU}) and SEM's GDFN ({@link Mode#DW_GATE}), each with the channel LayerNorm before it and the
 * residual add after it:
 * <pre>
 *   n = LN_c(x),  h = W_in n
 *   GELU_DW_GELU:  m = gelu(dw3x3(gelu(h)))
 *   DW_GATE:       [u1; u2] = dw3x3(h),  m = gelu(u1) ⊙ u2
 *   y = W_out m + residual
 * </pre>
 * Unfused, the hidden maps (4·d channels at full resolution) go through memory four times per block at a few hundred
 * multiply-adds per pixel: memory-bound passes. The kernel ({@code deepspg_ffn_forward_cpu_f32}) keeps them in
 * per-thread buffers, strip by strip, on {@link DenseConv}'s micro-kernels (the 1×1 weights packed for it), and
 * computes the unfused native path's arithmetic (bit for bit away from the image's side columns).
 *
 * <p><b>Proved on the machine it runs on.</b> Before the first use, {@link #status()} checks the kernel on the ISA
 * {@link DenseConv} accepted against libtorch's float64 composition of the same ops (both modes, LN and residual, a
 * width of several strips and a height of several bands); when it fails, or {@link DenseConv} is off, or system
 * property {@value #MODE_PROPERTY} is {@code off}, {@link #usable} is false and callers keep the unfused path.
 */
public final class FusedFfn {
  /** System property: {@code auto} (self-check, then use; the default) or {@code off}. */
  public static final String MODE_PROPERTY = "deepspg.ffn";
  private static final String OP = "ffn_fused";
  private static final Verdict<KernelStatus> STATUS = new Verdict<>(FusedFfn::selfCheck);
  private static final AtomicLong CALLS = new AtomicLong();

  private FusedFfn() {}

  /** The middle of the block. */
  public enum Mode {
    /** IGAB: {@code gelu(dw3x3(gelu(h)))}. */
    GELU_DW_GELU(kernels.DEEPSPG_FFN_GELU_DW_GELU),
    /** GDFN: {@code gelu(u1) ⊙ u2}, {@code [u1; u2] = dw3x3(h)}. */
    DW_GATE(kernels.DEEPSPG_FFN_DW_GATE);

    final int code;

    Mode(int code) {
      this.code = code;
    }
  }

  /** @return the self-check's verdict, running the check on the first call of the process */
  public static KernelStatus status() {
    return STATUS.get();
  }

  /**
   * Whether {@link #forward} may compute this block: {@link DenseConv#usable} and the self-check passed.
   *
   * @param x the block's input
   * @param params every parameter the result depends on (entries may be null)
   * @return true when the fused kernel may be used
   */
  public static boolean usable(Tensor x, Tensor... params) {
    return DenseConv.usable(x, params) && status().enabled();
  }

  /**
   * The block (see the class comment).
   *
   * @param x {@code [B, C, H, W]} float32 CPU
   * @param lnWeight LN γ {@code [C]}, or null (with lnBias) for no LN
   * @param lnBias LN β {@code [C]}, or null
   * @param eps LN epsilon
   * @param wIn W_in {@code [hidden, C, 1, 1]} packed by {@link DenseConv#pack} for the ISA in use
   * @param wDw the depthwise weight {@code [hidden, 1, 3, 3]}
   * @param wOut W_out {@code [out, mid, 1, 1]} packed for the same ISA (mid = hidden, or hidden / 2 for DW_GATE)
   * @param residual {@code [B, out, H, W]} or null
   * @param mode the middle
   * @return {@code [B, out, H, W]}
   * @throws IllegalArgumentException on a shape, dtype or device mismatch
   * @throws IllegalStateException when a packed weight was closed before the call started (one closed while the call
   *     runs stays valid until it returns)
   */
  public static Tensor forward(Tensor x, Tensor lnWeight, Tensor lnBias, double eps, DenseConv.Packed wIn,
      Tensor wDw, DenseConv.Packed wOut, Tensor residual, Mode mode) {
    NativeLibrary.ensureLoaded();
    OpSupport.requireNoGradient(OP, x, lnWeight, lnBias, wDw, residual);
    if (wIn == null || wOut == null || wDw == null || mode == null) {
      throw new IllegalArgumentException(OP + ": the weights (wIn, wDw, wOut) and the mode must not be null");
    }
    wIn.acquire(OP); // the packed copies stay alive until this call returns, even if another thread closes them
    try {
      wOut.acquire(OP);
      try {
        return forwardAcquired(x, lnWeight, lnBias, eps, wIn, wDw, wOut, residual, mode);
      } finally {
        wOut.release();
      }
    } finally {
      wIn.release();
    }
  }

  private static Tensor forwardAcquired(Tensor x, Tensor lnWeight, Tensor lnBias, double eps, DenseConv.Packed wIn,
      Tensor wDw, DenseConv.Packed wOut, Tensor residual, Mode mode) {
    if (x == null || !x.defined() || x.is_cuda() || x.scalar_type().value != OpSupport.F32 || x.dim() != 4) {
      throw new IllegalArgumentException(OP + ": x " + describe(x) + " must be float32 [B, C, H, W] on CPU");
    }
    long b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    long hidden = wIn.out, mid = mode == Mode.DW_GATE ? hidden / 2 : hidden, out = wOut.out;
    if ((lnWeight == null) != (lnBias == null) || wIn.in != c || wIn.k != 1 || wOut.k != 1 || wOut.in != mid
        || (mode == Mode.DW_GATE && hidden % 2 != 0) || wIn.winograd() || wOut.winograd()
        || wIn.isa() != wOut.isa()) {
      throw new IllegalArgumentException(OP + ": weights W_in " + Arrays.toString(wIn.shape()) + ", W_out "
          + Arrays.toString(wOut.shape()) + " (ISA " + wIn.isa() + "/" + wOut.isa() + ") do not fit x "
          + describe(x) + " in mode " + mode + " (need 1x1 weights packed for one ISA, [hidden, C], [out, mid])");
    }
    OpSupport.checkLike(OP, "x", x, "wDw", wDw);
    if (wDw.dim() != 4 || wDw.size(0) != hidden || wDw.size(1) != 1 || wDw.size(2) != 3 || wDw.size(3) != 3) {
      throw new IllegalArgumentException(OP + ": depthwise weight " + describe(wDw) + " must be [" + hidden
          + ", 1, 3, 3]");
    }
    if (lnWeight != null) {
      OpSupport.checkLike(OP, "x", x, "lnWeight", lnWeight);
      OpSupport.checkLike(OP, "x", x, "lnBias", lnBias);
      if (lnWeight.numel() != c || lnBias.numel() != c) {
        throw new IllegalArgumentException(OP + ": LN parameters " + describe(lnWeight) + ", " + describe(lnBias)
            + " must have " + c + " elements");
      }
    }
    if (residual != null) {
      OpSupport.checkLike(OP, "x", x, "residual", residual);
      if (residual.dim() != 4 || residual.size(0) != b || residual.size(1) != out || residual.size(2) != h
          || residual.size(3) != w) {
        throw new IllegalArgumentException(OP + ": residual " + describe(residual) + " must be [" + b + ", " + out
            + ", " + h + ", " + w + "]");
      }
    }
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor xc = x.contiguous();
      Tensor g = lnWeight == null ? null : lnWeight.contiguous();
      Tensor be = lnBias == null ? null : lnBias.contiguous();
      Tensor dw = wDw.contiguous();
      Tensor rc = residual == null ? null : residual.contiguous();
      Tensor y = OpSupport.empty(xc, b, out, h, w);
      NativeLibrary.check(kernels.deepspg_ffn_forward_cpu_f32(f32(xc), g == null ? null : f32(g),
          be == null ? null : f32(be), eps, wIn.isa(), f32(wIn.data), f32(dw), f32(wOut.data),
          rc == null ? null : f32(rc), b, c, hidden, out, mode.code, h, w, f32(y)), OP + " forward");
      CALLS.incrementAndGet();
      return Scopes.escape(y, outer);
    }
  }

  /**
   * How many blocks {@link #forward} has computed in this process (self-check included): lets tests and benchmarks
   * see which path a network took.
   *
   * @return the count
   */
  public static long calls() {
    return CALLS.get();
  }

  private static KernelStatus selfCheck() {
    DenseConv.Status dense = DenseConv.status();
    KernelStatus k = KernelStatus.check("fused feed-forward", "on", "off", MODE_PROPERTY,
        () -> dense.enabled() ? null : "the direct convolution is off", DenseConv.TOLERANCE, FusedFfn::probeError);
    return k.enabled() || Double.isNaN(k.maxRelError()) ? k : k.withNote(" on " + dense.isa());
  }

  /** Largest error of the kernel over the probes, relative to max(1, max |reference|); +inf when non-finite. */
  static double probeError() {
    // {C, hidden, out, H, W, mode (0 IGAB, 1 GDFN), ln, residual}: two strips and two bands with partial last ones,
    // hidden widths that are not multiples of the micro-kernels' blocks (4, 6), no LN, out != C
    int[][] probes = {{20, 80, 20, 35, 70, 0, 1, 1}, {8, 26, 8, 9, 13, 1, 1, 1}, {5, 14, 3, 4, 65, 1, 0, 0},
        {3, 10, 6, 2, 3, 0, 1, 0}};
    double worst = 0;
    long seed = 4321;
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      for (int[] p : probes) {
        int c = p[0], hidden = p[1], out = p[2], h = p[3], w = p[4];
        Mode mode = p[5] == 1 ? Mode.DW_GATE : Mode.GELU_DW_GELU;
        int mid = mode == Mode.DW_GATE ? hidden / 2 : hidden;
        Tensor x = OneDnn.fixedRandom(new long[] {2, c, h, w}, seed++);
        Tensor g = p[6] == 1 ? OneDnn.fixedRandom(new long[] {c}, seed++).add(new Scalar(1.0)) : null;
        Tensor be = p[6] == 1 ? OneDnn.fixedRandom(new long[] {c}, seed++) : null;
        Tensor win = OneDnn.fixedRandom(new long[] {hidden, c, 1, 1}, seed++).mul(new Scalar(0.3));
        Tensor wdw = OneDnn.fixedRandom(new long[] {hidden, 1, 3, 3}, seed++).mul(new Scalar(0.3));
        Tensor wout = OneDnn.fixedRandom(new long[] {out, mid, 1, 1}, seed++).mul(new Scalar(0.3));
        Tensor res = p[7] == 1 ? OneDnn.fixedRandom(new long[] {2, out, h, w}, seed++) : null;
        Tensor ref = reference(toDouble(x), g == null ? null : toDouble(g), be == null ? null : toDouble(be),
            toDouble(win), toDouble(wdw), toDouble(wout), res == null ? null : toDouble(res), mode);
        Tensor got;
        try (DenseConv.Packed pin = DenseConv.pack(win); DenseConv.Packed pout = DenseConv.pack(wout)) {
          got = toDouble(forward(x, g, be, 1e-5, pin, wdw, pout, res, mode));
        }
        double err = OneDnn.relDiff(ref, got);
        if (!(err <= Double.MAX_VALUE)) return Double.POSITIVE_INFINITY; // non-finite values
        worst = Math.max(worst, err);
      }
    }
    return worst;
  }

  /** The block in libtorch ops (any dtype): the reference the self-check compares the kernel with. */
  static Tensor reference(Tensor x, Tensor g, Tensor be, Tensor win, Tensor wdw, Tensor wout, Tensor res,
      Mode mode) {
    Tensor n = x;
    if (g != null) {
      n = torch.layer_norm(x.permute(0, 2, 3, 1), new long[] {x.size(1)}, new TensorOptional(g),
          new TensorOptional(be), 1e-5, false).permute(0, 3, 1, 2);
    }
    Tensor h = torch.conv2d(n, win, new TensorOptional(), new long[] {1, 1}, new long[] {0, 0}, new long[] {1, 1}, 1);
    if (mode == Mode.GELU_DW_GELU) h = torch.gelu(h);
    Tensor u = torch.conv2d(h, wdw, new TensorOptional(), new long[] {1, 1}, new long[] {1, 1}, new long[] {1, 1},
        wdw.size(0));
    Tensor m = mode == Mode.GELU_DW_GELU ? torch.gelu(u)
        : torch.gelu(u.narrow(1, 0, u.size(1) / 2)).mul(u.narrow(1, u.size(1) / 2, u.size(1) / 2));
    Tensor y = torch.conv2d(m, wout, new TensorOptional(), new long[] {1, 1}, new long[] {0, 0}, new long[] {1, 1}, 1);
    return res == null ? y : y.add(res);
  }
}
