/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.deepspg.ops.OpSupport.describe;
import static org.deepspg.ops.OpSupport.f32;
import static org.deepspg.ops.OpSupport.toDouble;

import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.kernels.global.kernels;

/**
 * Dense k×k convolution, stride 1 or 2, zero padding k/2 (or any padding below k, even k included), with a fused
 * epilogue (bias, residual add, ReLU or GELU), forward only, on the native direct-convolution kernel: the inference
 * path of the frozen priors (HRNet-W48 with its BatchNorms folded into weight and bias) and of the enhancement
 * network's 1×1, down-sampling and up-sampling layers ({@code FastConv.Pointwise}, {@code FastConv.Dense}).
 * libtorch's CPU path with oneDNN off (im2col + OpenBLAS) ran HRNet-W48's convolutions at about 28 % of this
 * project's 2-vCPU AVX-512 machine's FMA peak (457 GFLOP/s); the kernel runs
 * HRNet-W48's 3×3 stride-1 layers at 194–322 GFLOP/s (42–70 %), its 1×1 layers at about 300 and the stem's stride-2
 * 3×3 at 164 ({@code native/bench/conv2d_direct_bench}, BENCHMARKS.md).
 *
 * <p><b>Proved on the machine it runs on.</b> The kernel picks its micro-kernel from CPUID (AVX-512F, AVX2+FMA or
 * portable C++). Before the first use in a process, {@link #status()} runs a self-check: the kernel against
 * libtorch's float64 {@code conv2d} on one probe per shape class (3×3 and 1×1, stride 1 and 2, output channels not a
 * multiple of the micro-kernel's block, bias, residual, ReLU; 4×4 stride 2 pad 1; 2×2 stride 1 pad 0 and 1; 1×1
 * with GELU; the 1×1 weight gradient of {@link #pointwise} against float64 matrix products). A failing ISA is
 * dropped for the next one down; when all fail, {@link #usable} is false and callers keep libtorch's convolution.
 * System property {@value #MODE_PROPERTY} = {@code off} disables the kernel (default {@code auto}).
 *
 * <p>Callers ask {@link #usable} first: it is true only for float32 CPU tensors when no gradient is needed (grad mode
 * off, or neither input nor parameters require grad), because the op records no autograd graph. The exceptions are
 * the 1×1 layer {@link #pointwise} and the stride-2 layer {@link #downsample}: differentiable (their backward on the
 * same kernels), the training path, asked for with {@link #trainable} and {@link #downsampleFits}.
 *
 * <p>A frozen network packs each weight once ({@link #pack}, for the ISA in use) and passes the {@link Packed} weight
 * on every call; the plain {@link #forward(Tensor, Tensor, Tensor, Tensor, int, boolean)} packs it per call (a pass
 * over the weight: HRNet-W48 has 66 M of them).
 *
 * <p><b>Winograd.</b> 3×3 stride-1 layers can instead run Winograd F(4×4, 3×3) ({@link #packWinograd}): 4× fewer
 * multiply-adds on the same micro-kernels, a transformed weight 4× the size of the weight, float32 errors a few times
 * the direct path's (about 1e-5 of the output's magnitude). It is self-checked like the direct path (its own probes,
 * same tolerance; system property {@value #WINOGRAD_PROPERTY} = {@code off} disables it) and pays only where there
 * are enough 4×4 tiles ({@link #winogradPays}). Layers of at most {@value #WINOGRAD_MAX_PAIRS} channel pairs run the
 * direct path's 1×1 micro-kernels (64-tile micro-tiles: they need {@value #WINOGRAD_MIN_TILES} tiles); on AVX-512,
 * wider layers (up to {@value #WINOGRAD_WIDE_MAX_PAIRS} pairs) run a second micro-kernel of 24 output channels × 16
 * tiles and need {@value #WINOGRAD_WIDE_MIN_TILES}. Measured on the 2-vCPU AVX-512 EPYC (BENCHMARKS.md): 1.3–1.7×
 * the direct kernel on HRNet-W48's first two branches at 608×416, 1.4–1.8× on its 192- and 384-channel branches
 * (70 and 20 tiles), 2.1–2.3× on those at 1088×1920.
 */
public final class DenseConv {
  /** System property: {@code auto} (self-check, then use; the default) or {@code off}. */
  public static final String MODE_PROPERTY = "deepspg.conv2d";
  /** System property: {@code auto} (self-check Winograd, then use it where it pays; the default) or {@code off}. */
  public static final String WINOGRAD_PROPERTY = "deepspg.conv2d.winograd";
  /** Fewest 4×4 output tiles ({@code ⌈H/4⌉·⌈W/4⌉}) for which {@link #winogradPays} (measured: 247 pays, 70 not). */
  static final long WINOGRAD_MIN_TILES = 128;
  /**
   * Most {@code in·out} channel pairs of a layer on the 1×1 micro-kernels; wider ones run the native "wide" kernel
   * (kWinoWidePairs in conv2d_direct.cpp: the same bound), which only AVX-512 has.
   */
  static final long WINOGRAD_MAX_PAIRS = 128L * 128;
  /** Most channel pairs of a wide Winograd layer (HRNet-W48's widest 3×3: its transformed weight is 21 MB). */
  static final long WINOGRAD_WIDE_MAX_PAIRS = 384L * 384;
  /** Fewest tiles for which a wide layer's Winograd pays (measured at 192 channels: 20 tiles 1.2×, 6 tiles 0.66×). */
  static final long WINOGRAD_WIDE_MIN_TILES = 16;
  /** Largest accepted self-check error, relative to max(1, max |reference|). */
  static final double TOLERANCE = 1e-4;
  private static final String OP = "conv2d_direct";

  /**
   * The self-check's outcome.
   *
   * @param enabled whether {@link #forward} may be used
   * @param isa the micro-kernel in use ("avx512", "avx2", "generic") or "off"
   * @param maxRelError the largest probe error of the accepted ISA relative to the reference's magnitude (NaN when
   *     none was accepted or the check did not run)
   * @param note why an ISA was refused or the kernel is off (empty when the best ISA passed)
   * @param winograd whether {@link #packWinograd} may be used (its probes passed on the accepted ISA)
   * @param winogradError the largest Winograd probe error, relative like {@code maxRelError} (NaN when not run)
   */
  public record Status(boolean enabled, String isa, double maxRelError, String note, boolean winograd,
      double winogradError) {
    /**
     * One line for {@code deepspg info} and {@code bench}.
     *
     * @return e.g. "direct conv: avx512 (self-check passed, max rel. error 2.7e-07); Winograd 3x3: on (max rel.
     *     error 6.1e-06)"
     */
    public String describe() {
      if (!enabled) return "direct conv: off (" + note + "); libtorch's ops serve the priors and the network";
      String wino = winograd
          ? String.format(Locale.ROOT, "Winograd 3x3: on (max rel. error %.1e)", winogradError)
          : Double.isNaN(winogradError) ? "Winograd 3x3: off"
          : String.format(Locale.ROOT, "Winograd 3x3: off (self-check error %.2g)", winogradError);
      return String.format(Locale.ROOT, "direct conv: %s (self-check passed, max rel. error %.1e)%s; %s", isa,
          maxRelError, note.isEmpty() ? "" : "; " + note, wino);
    }
  }

  private static final Verdict<Status> STATUS = new Verdict<>(DenseConv::selfCheck);
  private static final AtomicLong CALLS = new AtomicLong();
  private static final AtomicLong WINOGRAD_CALLS = new AtomicLong();
  private static final AtomicLong DOWNSAMPLE_CALLS = new AtomicLong();

  private DenseConv() {}

  /**
   * The self-check's verdict, running the check on the first call of the process.
   *
   * @return the status
   */
  public static Status status() {
    return STATUS.get();
  }

  /**
   * Whether {@link #forward} can compute this convolution: float32 CPU input, no gradient needed, self-check passed.
   *
   * @param x the input
   * @param params weight, bias and any other tensor the result depends on (each may be null)
   * @return true when the native kernel may be used
   */
  public static boolean usable(Tensor x, Tensor... params) {
    return OpSupport.inferenceF32Cpu(x, params) && status().enabled();
  }

  /**
   * A convolution weight packed once for one ISA's micro-kernel ({@link #pack}), for a frozen network that runs the
   * same weights on every image: {@link #forward(Tensor, Packed, Tensor, Tensor, int, boolean)} then skips the
   * per-call packing pass over the weight. Holds its own copy of the weight (native memory, same size); freed by
   * {@link #close()} (once the forwards already running on it have returned) or, failing that, when collected.
   */
  public static final class Packed implements AutoCloseable {
    /** Packed weights made and not yet closed in this process ({@link #livePacked()}). */
    private static final AtomicLong LIVE = new AtomicLong();

    final Tensor data;
    private final int isa;
    final long out;
    final long in;
    final long k;
    private final boolean winograd;
    private boolean closed; // guarded by this, like users
    private int users; // calls running on the native copy (acquire/release)

    private Packed(Tensor data, int isa, long out, long in, long k, boolean winograd) {
      this.data = data;
      this.isa = isa;
      this.out = out;
      this.in = in;
      this.k = k;
      this.winograd = winograd;
      LIVE.incrementAndGet();
    }

    /** @return whether this is a Winograd-transformed 3×3 weight ({@link #packWinograd}): stride 1 only */
    public boolean winograd() {
      return winograd;
    }

    /** @return the ISA id the weight was packed for */
    public int isa() {
      return isa;
    }

    /** @return the weight's shape, [out, in, k, k] */
    public long[] shape() {
      return new long[] {out, in, k, k};
    }

    /**
     * Starts a call that reads the native copy: the copy then outlives {@link #close()} until the matching {@link
     * #release()}. Every successful call must be paired with one release (in a {@code finally}).
     *
     * @param op the calling op, for the message
     * @throws IllegalStateException once closed
     */
    synchronized void acquire(String op) {
      if (closed) {
        throw new IllegalStateException(op + ": the packed weight " + Arrays.toString(shape()) + " is closed");
      }
      users++;
    }

    /** Ends a call started by {@link #acquire}; the last one to end after {@link #close()} frees the copy. */
    synchronized void release() {
      if (--users == 0 && closed) data.releaseReference();
    }

    /**
     * Closes the weight: calls that start afterwards throw {@link IllegalStateException}. Safe while other threads'
     * forwards are running on it: the native copy is freed when the last of them returns (at once when none runs).
     */
    @Override
    public synchronized void close() {
      if (closed) return;
      closed = true;
      LIVE.decrementAndGet();
      if (users == 0) data.releaseReference();
    }
  }

  /**
   * The packed weights made in this process and not closed yet: what closing a network should bring back down (a
   * leak check for {@link WeightCache}s; one not closed is freed only when the garbage collector finds it).
   *
   * @return the count
   */
  public static long livePacked() {
    return Packed.LIVE.get();
  }

  /**
   * Packs a weight for the ISA in use now.
   *
   * @param weight [out, in, k, k], float32 CPU (an even k runs only through the padded overload of forward)
   * @return the packed weight (the caller closes it)
   * @throws IllegalArgumentException for another shape, dtype or device
   */
  public static Packed pack(Tensor weight) {
    NativeLibrary.ensureLoaded();
    requireWeight(weight);
    if (weight.is_cuda() || weight.scalar_type().value != OpSupport.F32 || weight.dim() != 4
        || weight.size(2) != weight.size(3)) {
      throw new IllegalArgumentException(
          OP + ": weight " + describe(weight) + " must be float32 on CPU, [out, in, k, k]");
    }
    long out = weight.size(0), in = weight.size(1), k = weight.size(2);
    int isa = kernels.deepspg_conv2d_isa();
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      Tensor wc = weight.contiguous();
      long[] floats = new long[1];
      NativeLibrary.check(kernels.deepspg_conv2d_packed_weight_floats(isa, out, in, k, floats), OP + " pack");
      Tensor packed = OpSupport.empty(wc, floats[0]);
      NativeLibrary.check(kernels.deepspg_conv2d_pack_weight_f32(isa, f32(wc), out, in, k, f32(packed)), OP + " pack");
      return new Packed(Scopes.escape(packed, null), isa, out, in, k, false);
    }
  }

  /**
   * Transforms and packs a 3×3 weight for Winograd F(4×4, 3×3) on the ISA in use now (see the class comment); the
   * result runs stride-1 convolutions only.
   *
   * @param weight [out, in, 3, 3], float32 CPU
   * @return the packed weight (the caller closes it), 4× the weight's size
   * @throws IllegalArgumentException for another shape, dtype or device
   */
  public static Packed packWinograd(Tensor weight) {
    NativeLibrary.ensureLoaded();
    requireWeight(weight);
    if (weight.is_cuda() || weight.scalar_type().value != OpSupport.F32 || weight.dim() != 4 || weight.size(2) != 3
        || weight.size(3) != 3) {
      throw new IllegalArgumentException(
          OP + ": Winograd weight " + describe(weight) + " must be float32 on CPU, [out, in, 3, 3]");
    }
    long out = weight.size(0), in = weight.size(1);
    int isa = kernels.deepspg_conv2d_isa();
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      Tensor wc = weight.contiguous();
      long[] floats = new long[1];
      NativeLibrary.check(kernels.deepspg_conv2d_winograd_weight_floats(isa, out, in, floats), OP + " Winograd pack");
      Tensor packed = OpSupport.empty(wc, floats[0]);
      NativeLibrary.check(kernels.deepspg_conv2d_winograd_pack_weight_f32(isa, f32(wc), out, in, f32(packed)),
          OP + " Winograd pack");
      return new Packed(Scopes.escape(packed, null), isa, out, in, 3, true);
    }
  }

  /**
   * Whether a 3×3 stride-1 layer of these channels on an H×W input should run Winograd: {@link #winogradFits} and
   * at least {@value #WINOGRAD_MIN_TILES} output tiles ({@value #WINOGRAD_WIDE_MIN_TILES} for a wide layer on
   * AVX-512), the measured break-even (see the class comment).
   *
   * @param in input channels
   * @param out output channels
   * @param h input height
   * @param w input width
   * @return true when {@link #packWinograd} and its forward should serve the layer
   */
  public static boolean winogradPays(long in, long out, long h, long w) {
    long tiles = ((h + 3) / 4) * ((w + 3) / 4);
    return winogradFits(in, out) && tiles >= (in * out <= WINOGRAD_MAX_PAIRS ? WINOGRAD_MIN_TILES
        : WINOGRAD_WIDE_MIN_TILES);
  }

  /**
   * Whether a 3×3 stride-1 layer of these channels may run Winograd on some input size ({@link #winogradPays} for
   * large enough ones): the self-check accepted it and the layer has at most {@value #WINOGRAD_MAX_PAIRS} channel
   * pairs, or at most {@value #WINOGRAD_WIDE_MAX_PAIRS} on AVX-512 (its wide kernel). A frozen network packs
   * {@link #packWinograd} weights for these layers only.
   *
   * @param in input channels
   * @param out output channels
   * @return true when a Winograd weight for the layer can serve
   */
  public static boolean winogradFits(long in, long out) {
    Status s = status();
    long pairs = in * out;
    return s.winograd() && (pairs <= WINOGRAD_MAX_PAIRS
        || (pairs <= WINOGRAD_WIDE_MAX_PAIRS && "avx512".equals(s.isa())));
  }

  /**
   * {@code act(conv2d(x, weight, bias, stride, padding=k/2) + residual)}, packing the weight for this call.
   *
   * @param x [B, in, H, W] float32 CPU
   * @param weight [out, in, k, k], k odd
   * @param bias [out] or null
   * @param residual [B, out, Ho, Wo] or null
   * @param stride 1 or 2
   * @param relu whether to apply ReLU last
   * @return [B, out, Ho, Wo], Ho = (H + 2(k/2) − k)/stride + 1
   * @throws IllegalArgumentException on shape mismatch, an unsupported stride, or a tensor that is not float32 on CPU
   */
  public static Tensor forward(Tensor x, Tensor weight, Tensor bias, Tensor residual, int stride, boolean relu) {
    checkInput(x);
    OpSupport.requireNoGradient(OP, x, weight, bias, residual);
    OpSupport.checkLike(OP, "x", x, "weight", weight);
    if (weight.dim() != 4 || weight.size(1) != x.size(1)) {
      throw new IllegalArgumentException(OP + ": weight " + describe(weight) + " does not fit x " + describe(x)
          + " (need [out, in, k, k], k odd)");
    }
    try (Packed w = pack(weight)) {
      return forward(x, w, bias, residual, stride, relu);
    }
  }

  /**
   * {@code act(conv2d(x, weight, bias, stride, padding=k/2) + residual)} with a weight packed by {@link #pack}, on
   * the micro-kernel of the ISA it was packed for (the same bits as the unpacked overload on that ISA), or by
   * {@link #packWinograd} (stride 1 only; Winograd's own rounding).
   *
   * @param x [B, in, H, W] float32 CPU
   * @param weight the packed [out, in, k, k] weight
   * @param bias [out] or null
   * @param residual [B, out, Ho, Wo] or null
   * @param stride 1 or 2
   * @param relu whether to apply ReLU last
   * @return [B, out, Ho, Wo], Ho = (H + 2(k/2) − k)/stride + 1
   * @throws IllegalArgumentException on shape mismatch, an unsupported stride, or a tensor that is not float32 on CPU
   * @throws IllegalStateException when the packed weight was closed before the call started (one closed while the
   *     call runs stays valid until it returns)
   */
  public static Tensor forward(Tensor x, Packed weight, Tensor bias, Tensor residual, int stride, boolean relu) {
    if (weight == null) throw new IllegalArgumentException(OP + ": weight must not be null");
    if (weight.k % 2 == 0) {
      throw new IllegalArgumentException(OP + ": weight " + Arrays.toString(weight.shape())
          + " has an even k: give its padding (the overload with pad)");
    }
    return forward(x, weight, bias, residual, stride, (int) (weight.k / 2), relu ? Act.RELU : Act.NONE);
  }

  /** The activation applied last by {@link #forward(Tensor, Packed, Tensor, Tensor, int, int, Act)}. */
  public enum Act {
    /** Identity. */
    NONE(kernels.DEEPSPG_ACT_NONE),
    /** max(0, v). */
    RELU(kernels.DEEPSPG_ACT_RELU),
    /** GELU, exact erf form (a rational erf approximation, |error| {@literal <} 5e-7, like the depthwise kernel's). */
    GELU(kernels.DEEPSPG_ACT_GELU);

    final int code;

    Act(int code) {
      this.code = code;
    }
  }

  /**
   * {@code act(conv2d(x, weight, bias, stride, padding) + residual)} with a packed weight and any zero padding
   * {@code 0 ≤ pad < k} (an even k too, e.g. a 4×4 stride-2 pad-1 down-sampling); a Winograd weight needs stride 1,
   * pad 1 and no GELU.
   *
   * @param x [B, in, H, W] float32 CPU
   * @param weight the packed [out, in, k, k] weight
   * @param bias [out] or null
   * @param residual [B, out, Ho, Wo] or null
   * @param stride 1 or 2
   * @param pad zero padding on every side
   * @param act the activation applied last
   * @return [B, out, Ho, Wo], Ho = (H + 2·pad − k)/stride + 1
   * @throws IllegalArgumentException on shape mismatch, an unsupported stride or padding, or a tensor that is not
   *     float32 on CPU
   * @throws IllegalStateException when the packed weight was closed before the call started (one closed while the
   *     call runs stays valid until it returns)
   */
  public static Tensor forward(Tensor x, Packed weight, Tensor bias, Tensor residual, int stride, int pad, Act act) {
    if (weight == null) throw new IllegalArgumentException(OP + ": weight must not be null");
    weight.acquire(OP); // the packed copy stays alive until this call returns, even if another thread closes it
    try {
      return forwardAcquired(x, weight, bias, residual, stride, pad, act);
    } finally {
      weight.release();
    }
  }

  /**
   * Test hook: runs inside {@link #forward(Tensor, Packed, Tensor, Tensor, int, int, Act)} between the packed
   * weight's acquisition and the kernel call (null: nothing), to close the weight at that point deterministically.
   */
  static volatile Consumer<Packed> beforeKernel;

  private static Tensor forwardAcquired(Tensor x, Packed weight, Tensor bias, Tensor residual, int stride, int pad,
      Act act) {
    checkInput(x);
    OpSupport.requireNoGradient(OP, x, bias, residual);
    if (bias != null) OpSupport.checkLike(OP, "x", x, "bias", bias);
    if (residual != null) OpSupport.checkLike(OP, "x", x, "residual", residual);
    long k = weight.k;
    if (x.dim() != 4 || weight.in != x.size(1) || (stride != 1 && stride != 2) || pad < 0 || pad >= k
        || x.size(2) + 2L * pad < k || x.size(3) + 2L * pad < k
        || (weight.winograd && (stride != 1 || pad != 1 || act == Act.GELU))) {
      throw new IllegalArgumentException(OP + ": weight " + Arrays.toString(weight.shape()) + " / stride "
          + stride + " / pad " + pad + " / " + act + " do not fit x " + describe(x)
          + " (need [out, in, k, k], stride 1 or 2, 0 <= pad < k; Winograd: stride 1, pad 1, no GELU)");
    }
    long b = x.size(0), in = x.size(1), h = x.size(2), w = x.size(3), out = weight.out;
    long ho = (h + 2 * pad - k) / stride + 1, wo = (w + 2 * pad - k) / stride + 1;
    checkBiasAndResidual(bias, residual, b, out, ho, wo);
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor xc = x.contiguous();
      Tensor bc = bias == null ? null : bias.contiguous();
      Tensor rc = residual == null ? null : residual.contiguous();
      Tensor y = OpSupport.empty(xc, b, out, ho, wo);
      FloatPointer packed = f32(weight.data);
      Consumer<Packed> hook = beforeKernel;
      if (hook != null) hook.accept(weight);
      int st = weight.winograd
          ? kernels.deepspg_conv2d_winograd_forward_cpu_f32(f32(xc), weight.isa, packed,
              bc == null ? null : f32(bc), rc == null ? null : f32(rc), b, in, out, h, w, act == Act.RELU ? 1 : 0,
              f32(y))
          : kernels.deepspg_conv2d_forward_packed_ex_cpu_f32(f32(xc), weight.isa, packed,
              bc == null ? null : f32(bc), rc == null ? null : f32(rc), b, in, out, k, stride, pad, h, w, act.code,
              f32(y));
      NativeLibrary.check(st, OP + " forward");
      CALLS.incrementAndGet();
      if (weight.winograd) WINOGRAD_CALLS.incrementAndGet();
      return Scopes.escape(y, outer);
    }
  }

  /**
   * {@code conv2d(x, weight, bias, stride=1, padding=k/2, groups=groups) + residual} (k odd) on the current ISA's
   * micro-kernels, packing the weight for this call (a few thousand floats for the layers it serves): the illumination
   * estimator's 5×5 conv with 4 groups and other grouped "same" convolutions in inference, where the row-by-row
   * {@link SameConv} kernel is 2–3.5× slower (one FMA chain per vector). Float accumulation in this kernel's order:
   * the result differs from {@link SameConv}'s by float rounding. Call where {@link #usable} holds.
   *
   * @param x [B, in, H, W] float32 CPU
   * @param weight [out, in/groups, k, k], k odd
   * @param bias [out] or null
   * @param residual [B, out, H, W] or null
   * @param groups channel groups (in and out divisible by it)
   * @return [B, out, H, W]
   * @throws IllegalArgumentException on shape mismatch or a tensor that is not float32 on CPU
   */
  public static Tensor grouped(Tensor x, Tensor weight, Tensor bias, Tensor residual, long groups) {
    checkInput(x);
    OpSupport.requireNoGradient(OP, x, weight, bias, residual);
    OpSupport.checkLike(OP, "x", x, "weight", weight);
    if (bias != null) OpSupport.checkLike(OP, "x", x, "bias", bias);
    if (residual != null) OpSupport.checkLike(OP, "x", x, "residual", residual);
    OpSupport.checkDim(OP, "x", x, 4, "[B, in, H, W]");
    OpSupport.checkSameConvWeight(OP, x, weight, groups);
    long b = x.size(0), in = x.size(1), h = x.size(2), w = x.size(3), out = weight.size(0), k = weight.size(2);
    checkBiasAndResidual(bias, residual, b, out, h, w);
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor xc = x.contiguous();
      Tensor wc = weight.contiguous();
      Tensor bc = bias == null ? null : bias.contiguous();
      Tensor rc = residual == null ? null : residual.contiguous();
      Tensor y = OpSupport.empty(xc, b, out, h, w);
      NativeLibrary.check(kernels.deepspg_conv2d_forward_grouped_cpu_f32(f32(xc), f32(wc),
          bc == null ? null : f32(bc), rc == null ? null : f32(rc), b, in, out, groups, k, h, w,
          kernels.DEEPSPG_ACT_NONE, f32(y)), OP + " grouped forward");
      CALLS.incrementAndGet();
      return Scopes.escape(y, outer);
    }
  }

  /**
   * Whether {@link #pointwise} can compute this 1×1 layer: float32 CPU tensors and the self-check passed. Unlike
   * {@link #usable}, gradients may be needed.
   *
   * @param x the input
   * @param params weight, bias, residual (each may be null)
   * @return true when the native kernels may serve the layer, forward and backward
   */
  public static boolean trainable(Tensor x, Tensor... params) {
    if (x.is_cuda() || x.scalar_type().value != OpSupport.F32 || x.dim() != 4 || x.numel() == 0) return false;
    for (Tensor p : params) {
      if (p != null && (p.is_cuda() || p.scalar_type().value != OpSupport.F32)) return false;
    }
    return status().enabled();
  }

  /**
   * A differentiable 1×1 convolution {@code y = W x + bias + residual} (per pixel) on the native kernels: the forward
   * on the direct convolution, the input gradient {@code Wᵀ dy} on the same kernel with the transposed weight, the
   * weight gradient {@code Σ dy xᵀ} on its Gram kernel ({@code deepspg_conv2d_weight_grad_1x1_cpu_f32}), the bias
   * gradient as a sum and the residual's as {@code dy} itself. The training path of the network's 1×1 layers (with
   * oneDNN off, libtorch's batched matrix products ran them on OpenBLAS's 256-bit kernels with packing and scaling
   * passes: OpenBLAS held 57 % of a training step's CPU samples in a 2026-12-05 profile, mostly for these layers;
   * BENCHMARKS.md, session 16). Each weight is packed per call (a pass over it). Call only where
   * {@link #trainable} holds; double backward is not supported.
   *
   * @param x [B, in, H, W] float32 CPU
   * @param weight [out, in] or [out, in, 1, 1]
   * @param bias [out] or null
   * @param residual [B, out, H, W] or null
   * @return [B, out, H, W]
   * @throws IllegalArgumentException on a shape mismatch or a tensor that is not float32 on CPU
   */
  public static Tensor pointwise(Tensor x, Tensor weight, Tensor bias, Tensor residual) {
    checkInput(x);
    requireWeight(weight);
    if (x.dim() != 4 || !(weight.dim() == 2 || weight.dim() == 4 && weight.size(2) == 1 && weight.size(3) == 1)
        || weight.size(1) != x.size(1)) {
      throw new IllegalArgumentException(OP + ": 1x1 weight " + describe(weight) + " does not fit x " + describe(x)
          + " (need [out, in] or [out, in, 1, 1] and [B, in, H, W])");
    }
    OpSupport.checkLike(OP, "x", x, "weight", weight);
    long b = x.size(0), in = x.size(1), h = x.size(2), w = x.size(3), out = weight.size(0);
    long[] wShape = NativeFunction.shape(weight);
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor[] y = NativeFunction.apply(OP + "_1x1", new Tensor[] {x, weight, bias, residual}, ctx -> {
        Tensor w4 = weight.reshape(out, in, 1, 1);
        Tensor xc = x.contiguous();
        Tensor ws = ctx.needsInputGrad(0) ? ctx.save(w4.contiguous()) : null;
        Tensor xs = ctx.needsInputGrad(1) ? ctx.save(xc) : null;
        Tensor yy;
        try (Packed p = pack(w4)) {
          yy = forward(xc, p, bias, residual, 1, 0, Act.NONE);
        }
        ctx.setBackward((grads, needs) -> {
          Tensor dy = grads[0].contiguous();
          Tensor dx = null;
          if (needs[0]) {
            try (Packed pt = pack(ws.permute(1, 0, 2, 3))) {
              dx = forward(dy, pt, null, null, 1, 0, Act.NONE);
            }
          }
          Tensor dw = needs[1] ? weightGrad1x1(dy, xs).reshape(wShape) : null;
          Tensor db = needs[2] ? dy.sum(new long[] {0, 2, 3}, false, new ScalarTypeOptional()) : null;
          return new Tensor[] {dx, dw, db, needs[3] ? dy : null};
        });
        return new Tensor[] {yy};
      });
      return Scopes.escape(y[0], outer);
    }
  }

  /**
   * Whether {@link #downsample} can compute this layer: {@link #trainable}, an even kernel, {@code 0 ≤ pad < k}, even
   * H and W and at least one output row and column.
   *
   * @param x the input [B, in, H, W]
   * @param weight [out, in, k, k]
   * @param bias [out] or null
   * @param pad zero padding on every side
   * @return true when {@link #downsample} serves the layer, forward and backward
   */
  public static boolean downsampleFits(Tensor x, Tensor weight, Tensor bias, int pad) {
    if (!trainable(x, weight, bias) || weight.dim() != 4 || weight.size(1) != x.size(1)) return false;
    long k = weight.size(2), h = x.size(2), w = x.size(3);
    return weight.size(3) == k && k % 2 == 0 && pad >= 0 && pad < k && h % 2 == 0 && w % 2 == 0
        && h + 2L * pad >= k && w + 2L * pad >= k;
  }

  /**
   * A differentiable k×k stride-2 convolution with an even k and zero padding {@code pad} — DeepSPG's 4×4 stride-2
   * pad-1 down-sampling in training — on the native kernels (libtorch's path with oneDNN off is im2col + OpenBLAS,
   * about a quarter of a training step's CPU samples in a 2026-12-06 profile, BENCHMARKS.md session 28). The layer is
   * a k/2 × k/2 stride-1 convolution of the space-to-depth input: with S = pixel_unshuffle(pad(x), 2) (channels
   * {@code 4·in}, index {@code 4c + 2p + q} for the row and column parities p, q) and
   * {@code W'[o, 4c+2p+q, a, b] = W[o, c, 2a+p, 2b+q]}, {@code y = conv(S, W')} with no padding. So:
   *
   * <ul>
   *   <li>forward: the direct convolution at stride 2 ({@link #forward(Tensor, Packed, Tensor, Tensor, int, int,
   *       Act)});
   *   <li>dx: {@code dS = conv(dy, flip(W')ᵀ, padding k/2 − 1)} on the same kernel (the full correlation), then
   *       depth-to-space and the padding cropped;
   *   <li>dW: for each of the (k/2)² taps (a, b), {@code dW'[:, :, a, b] = Σ dy · S[:, :, a:, b:]ᵀ} on the 1×1
   *       weight-gradient kernel ({@link #weightGrad1x1}) over a contiguous copy of the shifted S, rearranged into W's
   *       layout; db a sum.
   * </ul>
   *
   * The same multiply-adds as the layer's forward for each of the three, none on OpenBLAS. Results equal libtorch's
   * to float rounding (each gradient sums its products in another order). Call only where {@link #downsampleFits}
   * holds; double backward is not supported.
   *
   * @param x [B, in, H, W] float32 CPU, H and W even
   * @param weight [out, in, k, k], k even
   * @param bias [out] or null
   * @param pad zero padding on every side, {@code 0 ≤ pad < k}
   * @return [B, out, (H + 2·pad − k)/2 + 1, (W + 2·pad − k)/2 + 1]
   * @throws IllegalArgumentException where {@link #downsampleFits} does not hold
   */
  public static Tensor downsample(Tensor x, Tensor weight, Tensor bias, int pad) {
    checkInput(x);
    requireWeight(weight);
    if (!downsampleFits(x, weight, bias, pad)) {
      throw new IllegalArgumentException(OP + ": stride-2 layer: weight " + describe(weight) + " / pad " + pad
          + " do not fit x " + describe(x) + " (need [out, in, k, k] with k even, 0 <= pad < k, H and W even, "
          + "float32 CPU tensors and the direct convolution enabled)");
    }
    long b = x.size(0), in = x.size(1), h = x.size(2), w = x.size(3);
    long out = weight.size(0), k = weight.size(2), kh = k / 2;
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor[] y = NativeFunction.apply(OP + "_stride2", new Tensor[] {x, weight, bias}, ctx -> {
        Tensor xc = x.contiguous();
        Tensor wc = weight.contiguous();
        Tensor ws = ctx.needsInputGrad(0) ? ctx.save(wc) : null;
        Tensor xs = ctx.needsInputGrad(1) ? ctx.save(xc) : null;
        Tensor yy;
        try (Packed p = pack(wc)) {
          yy = forward(xc, p, bias, null, 2, pad, Act.NONE);
        }
        DOWNSAMPLE_CALLS.incrementAndGet();
        ctx.setBackward((grads, needs) -> {
          Tensor dy = grads[0].contiguous();
          Tensor dx = null;
          if (needs[0]) {
            // flip(W')ᵀ: [4·in, out, k/2, k/2]
            Tensor wf = spaceToDepthWeight(ws, out, in, kh).flip(2, 3).transpose(0, 1).contiguous();
            Tensor ds;
            try (Packed pf = pack(wf)) {
              ds = forward(dy, pf, null, null, 1, (int) kh - 1, Act.NONE);
            }
            dx = torch.pixel_shuffle(ds, 2).narrow(2, pad, h).narrow(3, pad, w).contiguous();
          }
          Tensor dw = null;
          if (needs[1]) {
            Tensor xp = pad == 0 ? xs : torch.constant_pad_nd(xs, new long[] {pad, pad, pad, pad}, new Scalar(0.0));
            Tensor s = torch.pixel_unshuffle(xp, 2);
            long ho = dy.size(2), wo = dy.size(3);
            Tensor taps = OpSupport.empty(xs, kh, kh, out, 4 * in); // dW'[:, :, a, b] at [a, b]
            for (long a = 0; a < kh; a++) {
              for (long c = 0; c < kh; c++) {
                taps.select(0, a).select(0, c).copy_(weightGrad1x1(dy, s.narrow(2, a, ho).narrow(3, c, wo)));
              }
            }
            // [a, b, o, (i, p, q)] -> [o, i, a, p, b, q] -> [o, i, k, k]
            dw = taps.reshape(kh, kh, out, in, 2, 2).permute(2, 3, 0, 4, 1, 5).reshape(out, in, k, k);
          }
          Tensor db = needs[2] ? dy.sum(new long[] {0, 2, 3}, false, new ScalarTypeOptional()) : null;
          return new Tensor[] {dx, dw, db};
        });
        return new Tensor[] {yy};
      });
      return Scopes.escape(y[0], outer);
    }
  }

  /** W' of {@link #downsample}: {@code W'[o, 4i + 2p + q, a, b] = W[o, i, 2a + p, 2b + q]}, [out, 4·in, k/2, k/2]. */
  static Tensor spaceToDepthWeight(Tensor w, long out, long in, long kh) {
    return w.reshape(out, in, kh, 2, kh, 2).permute(0, 1, 3, 5, 2, 4).reshape(out, 4 * in, kh, kh);
  }

  /**
   * The weight gradient of a 1×1 layer, {@code dW[o, i] = Σ_{b,p} dy[b, o, p] x[b, i, p]}, on the Gram kernel of the
   * ISA in use.
   *
   * @param dy [B, out, H, W] float32 CPU
   * @param x [B, in, H, W] float32 CPU
   * @return [out, in]
   */
  static Tensor weightGrad1x1(Tensor dy, Tensor x) {
    checkInput(dy);
    checkInput(x);
    if (dy.dim() != 4 || x.dim() != 4 || dy.size(0) != x.size(0) || dy.size(2) != x.size(2)
        || dy.size(3) != x.size(3)) {
      throw new IllegalArgumentException(OP + ": weight gradient: dy " + describe(dy) + " and x " + describe(x)
          + " must be [B, out, H, W] and [B, in, H, W]");
    }
    long b = x.size(0), in = x.size(1), out = dy.size(1), hw = x.size(2) * x.size(3);
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor dyc = dy.contiguous(), xc = x.contiguous();
      Tensor dw = OpSupport.empty(xc, out, in);
      if (hw == 0) return Scopes.escape(dw.zero_(), outer);
      NativeLibrary.check(kernels.deepspg_conv2d_weight_grad_1x1_cpu_f32(kernels.DEEPSPG_CONV2D_ISA_AUTO, f32(dyc),
          f32(xc), b, in, out, hw, f32(dw)), OP + " weight gradient");
      return Scopes.escape(dw, outer);
    }
  }

  /** Checks bias {@code [out]} and residual {@code [b, out, ho, wo]} (either may be null). */
  private static void checkBiasAndResidual(Tensor bias, Tensor residual, long b, long out, long ho, long wo) {
    if (bias != null && (bias.dim() != 1 || bias.size(0) != out)) {
      throw new IllegalArgumentException(OP + ": bias " + describe(bias) + " must be [" + out + "]");
    }
    if (residual != null && (residual.dim() != 4 || residual.size(0) != b || residual.size(1) != out
        || residual.size(2) != ho || residual.size(3) != wo)) {
      throw new IllegalArgumentException(OP + ": residual " + describe(residual) + " must be [" + b + ", " + out
          + ", " + ho + ", " + wo + "]");
    }
  }

  /** @throws IllegalArgumentException for a null or undefined weight */
  private static void requireWeight(Tensor weight) {
    if (weight == null || !weight.defined()) {
      throw new IllegalArgumentException(OP + ": weight must be a tensor, got " + describe(weight));
    }
  }

  private static void checkInput(Tensor x) {
    NativeLibrary.ensureLoaded();
    if (x == null || !x.defined()) throw new IllegalArgumentException(OP + ": x must be a tensor, got " + describe(x));
    if (x.is_cuda() || x.scalar_type().value != OpSupport.F32) {
      throw new IllegalArgumentException(OP + ": x " + describe(x) + " must be float32 on CPU");
    }
  }

  /**
   * How many layers {@link #downsample} has computed in this process: lets tests see that training took it.
   *
   * @return the count
   */
  public static long downsampleCalls() {
    return DOWNSAMPLE_CALLS.get();
  }

  /**
   * How many convolutions {@link #forward} has computed in this process (self-check included): lets tests and
   * benchmarks see which path a network took.
   *
   * @return the count
   */
  public static long calls() {
    return CALLS.get();
  }

  /**
   * How many of the {@link #calls()} ran Winograd ({@link #packWinograd} weights).
   *
   * @return the count
   */
  public static long winogradCalls() {
    return WINOGRAD_CALLS.get();
  }

  /**
   * The ISA {@link #pack} packs for now: the self-check's choice once {@link #status()} has run.
   *
   * @return its id (one of the kernel's {@code DEEPSPG_CONV2D_ISA_*})
   */
  public static int currentIsa() {
    NativeLibrary.ensureLoaded();
    return kernels.deepspg_conv2d_isa();
  }

  /** The kernel's ISA ids, best first, and their names in {@link Status#isa()}. */
  static final int[] ISAS = {kernels.DEEPSPG_CONV2D_ISA_AVX512, kernels.DEEPSPG_CONV2D_ISA_AVX2,
      kernels.DEEPSPG_CONV2D_ISA_GENERIC};
  private static final String[] ISA_NAMES = {"avx512", "avx2", "generic"};

  static String isaName(int isa) {
    for (int i = 0; i < ISAS.length; i++) {
      if (ISAS[i] == isa) return ISA_NAMES[i];
    }
    return "isa " + isa;
  }

  /**
   * @param name a {@link Status#isa()} name
   * @return its kernel ISA id
   * @throws IllegalArgumentException for "off" or an unknown name
   */
  static int isaId(String name) {
    for (int i = 0; i < ISAS.length; i++) {
      if (ISA_NAMES[i].equals(name)) return ISAS[i];
    }
    throw new IllegalArgumentException("no direct-convolution ISA named " + name);
  }

  private static Status selfCheck() {
    if ("off".equalsIgnoreCase(System.getProperty(MODE_PROPERTY, "auto").trim())) {
      return new Status(false, "off", Double.NaN, MODE_PROPERTY + "=off", false, Double.NaN);
    }
    NativeLibrary.ensureLoaded();
    StringBuilder refused = new StringBuilder();
    for (int isa : ISAS) {
      if (kernels.deepspg_conv2d_select_isa(isa) != kernels.DEEPSPG_OK) continue; // this CPU lacks it
      double err = probeError(false);
      if (err <= TOLERANCE) {
        boolean wanted = !"off".equalsIgnoreCase(System.getProperty(WINOGRAD_PROPERTY, "auto").trim());
        double werr = wanted ? probeError(true) : Double.NaN;
        return new Status(true, isaName(isa), err, refused.toString(), werr <= TOLERANCE, werr);
      }
      if (refused.length() > 0) refused.append("; ");
      refused.append(String.format(Locale.ROOT, "%s refused: error %.2g", isaName(isa), err));
    }
    kernels.deepspg_conv2d_select_isa(kernels.DEEPSPG_CONV2D_ISA_AUTO);
    return new Status(false, "off", Double.NaN, "self-check failed: " + refused, false, Double.NaN);
  }

  /**
   * Largest error of the selected ISA over the probes, relative to max(1, max |reference|); +inf when non-finite.
   *
   * @param winograd false: the direct path's probes; true: Winograd's (3×3 stride 1, {@link #packWinograd})
   */
  static double probeError(boolean winograd) {
    // {in, out, k, stride, h, w, bias, residual, act (0 none, 1 ReLU, 2 GELU), pad (-1: k/2)}: every shape class
    // the priors and the enhancement network use (DeepSPG's 4x4 stride-2 pad-1 down-sampling, its 1x1 with GELU; the
    // 2x2 stride-1 pad-1 and pad-0 layers of downsample's input gradient),
    // with output channel counts that are not multiples of the micro-kernels' blocks (4, 6) and grids longer than
    // one 384-wide chunk; Winograd: sizes not multiples of 4, more tiles than one 64-tile run, 96 channels summed,
    // a wide layer (more than WINOGRAD_MAX_PAIRS channel pairs: AVX-512's second kernel, a tail block of outputs)
    int[][] probes = winograd
        ? new int[][] {{8, 13, 3, 1, 21, 23, 1, 1, 1, -1}, {96, 7, 3, 1, 37, 30, 1, 0, 0, -1},
            {3, 5, 3, 1, 1, 2, 0, 1, 1, -1}, {136, 130, 3, 1, 9, 22, 1, 1, 1, -1}}
        : new int[][] {{8, 13, 3, 1, 21, 23, 1, 1, 1, -1}, {6, 7, 3, 2, 13, 10, 0, 0, 1, -1},
            {20, 9, 1, 1, 5, 7, 1, 0, 0, -1}, {16, 6, 1, 2, 9, 9, 0, 1, 0, -1}, {3, 5, 3, 2, 24, 31, 1, 0, 1, -1},
            {20, 11, 4, 2, 18, 26, 0, 1, 0, 1}, {20, 13, 1, 1, 9, 50, 0, 0, 2, -1},
            {11, 44, 2, 1, 10, 13, 0, 0, 0, 1}, {9, 7, 2, 1, 8, 11, 1, 0, 0, 0}};
    double worst = 0;
    long seed = 1234;
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      for (int[] p : probes) {
        int in = p[0], out = p[1], k = p[2], s = p[3], h = p[4], w = p[5], pad = p[9] < 0 ? k / 2 : p[9];
        Act act = p[8] == 2 ? Act.GELU : p[8] == 1 ? Act.RELU : Act.NONE;
        long ho = (h + 2 * pad - k) / s + 1, wo = (w + 2 * pad - k) / s + 1;
        Tensor x = OneDnn.fixedRandom(new long[] {2, in, h, w}, seed++);
        Tensor wt = OneDnn.fixedRandom(new long[] {out, in, k, k}, seed++);
        Tensor bias = p[6] == 1 ? OneDnn.fixedRandom(new long[] {out}, seed++) : null;
        Tensor res = p[7] == 1 ? OneDnn.fixedRandom(new long[] {2, out, ho, wo}, seed++) : null;
        Tensor ref = torch.conv2d(toDouble(x), toDouble(wt),
            bias == null ? new TensorOptional() : new TensorOptional(toDouble(bias)), new long[] {s, s},
            new long[] {pad, pad}, new long[] {1, 1}, 1);
        if (res != null) ref = ref.add(toDouble(res));
        if (act == Act.RELU) ref = ref.relu();
        if (act == Act.GELU) ref = torch.gelu(ref);
        Tensor got;
        try (Packed pw = winograd ? packWinograd(wt) : pack(wt)) {
          got = toDouble(forward(x, pw, bias, res, s, pad, act));
        }
        double err = OneDnn.relDiff(ref, got);
        if (!(err <= Double.MAX_VALUE)) return Double.POSITIVE_INFINITY; // non-finite values
        worst = Math.max(worst, err);
      }
      if (!winograd) { // the 1x1 weight gradient ({B, in, out, H, W}): block tails; two 1024-column tiles per item
        for (int[] p : new int[][] {{2, 7, 13, 5, 9}, {3, 20, 11, 40, 30}}) {
          Tensor dy = OneDnn.fixedRandom(new long[] {p[0], p[2], p[3], p[4]}, seed++);
          Tensor x = OneDnn.fixedRandom(new long[] {p[0], p[1], p[3], p[4]}, seed++);
          long hw = (long) p[3] * p[4];
          Tensor ref = toDouble(dy).reshape(p[0], p[2], hw).bmm(toDouble(x).reshape(p[0], p[1], hw).transpose(1, 2))
              .sum(new long[] {0}, false, new ScalarTypeOptional());
          double err = OneDnn.relDiff(ref, toDouble(weightGrad1x1(dy, x)));
          if (!(err <= Double.MAX_VALUE)) return Double.POSITIVE_INFINITY;
          worst = Math.max(worst, err);
        }
      }
    }
    return worst;
  }
}
