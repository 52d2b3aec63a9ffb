/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.deepspg.ops.OpSupport.F32;
import static org.deepspg.ops.OpSupport.F64;
import static org.deepspg.ops.OpSupport.checkDim;
import static org.deepspg.ops.OpSupport.checkFloat;
import static org.deepspg.ops.OpSupport.checkLike;
import static org.deepspg.ops.OpSupport.checkSame;
import static org.deepspg.ops.OpSupport.describe;
import static org.deepspg.ops.OpSupport.empty;
import static org.deepspg.ops.OpSupport.f32;
import static org.deepspg.ops.OpSupport.f64;
import static org.deepspg.ops.OpSupport.isF64;

import java.util.Locale;
import java.util.function.DoubleSupplier;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AutoGradMode;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
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
 *
 * <p>CPU float32 runs the AVX-512 kernels where the CPU has them, else the portable ones, whichever first passes a
 * self-check against libtorch's stock ops in float64 on this machine ({@link #status}, once per process, forward and
 * every gradient); when neither passes, or with {@code -Ddeepspg.attention=off}, the op is computed by the stock ops
 * ({@link #reference}). {@code -Ddeepspg.attention=portable} skips AVX-512.
 */
public final class ChannelAttention {
  private static final String OP = "channel_attention";
  /** Largest per-head channel count the kernels support. */
  public static final int MAX_HEAD_CHANNELS = 64;
  /** System property: "auto" (default), "portable" (never AVX-512) or "off" (stock libtorch ops). */
  public static final String MODE_PROPERTY = "deepspg.attention";
  /** Largest accepted self-check error, relative to max(1, max |reference|). */
  static final double TOLERANCE = 1e-4;
  private static final int[] ISAS = {kernels.DEEPSPG_CONV2D_ISA_AVX512, kernels.DEEPSPG_CONV2D_ISA_GENERIC};
  private static final String[] ISA_NAMES = {"avx512", "portable"};

  /**
   * The self-check's outcome for the CPU float32 kernels.
   *
   * @param isa the kernel set in use ("avx512", "portable") or "off" (stock ops)
   * @param maxRelError the accepted kernel set's largest probe error relative to max(1, max |reference|) (NaN when
   *     none was accepted or the check did not run)
   * @param note why a kernel set was refused or the kernels are off (empty when the best one passed)
   */
  public record Status(String isa, double maxRelError, String note) {
    /** @return whether the fused kernels compute CPU float32 calls */
    public boolean enabled() {
      return !"off".equals(isa);
    }

    /** @return e.g. "fused attention: avx512 (self-check passed, max rel. error 3.1e-07)" */
    public String describe() {
      if (!enabled()) return "fused attention: off (" + note + "); libtorch's stock ops serve it";
      return String.format(Locale.ROOT, "fused attention: %s (self-check passed, max rel. error %.1e)%s", isa,
          maxRelError, note.isEmpty() ? "" : "; " + note);
    }
  }

  private static final Verdict<Status> STATUS = new Verdict<>(ChannelAttention::selfCheck);
  /** True while {@link #selfCheck} runs (its probes call the kernels through {@link #forward}). */
  private static volatile boolean checking;

  private ChannelAttention() {}

  /**
   * The self-check's verdict, running the check on the first call of the process.
   *
   * @return the status
   */
  public static Status status() {
    return STATUS.get();
  }

  /** Runs the self-check again (after {@link #MODE_PROPERTY} changed; tests) and returns its verdict. */
  static Status recheck() {
    return STATUS.recheck();
  }

  private static Status selfCheck() {
    checking = true;
    try {
      return check();
    } finally {
      checking = false;
    }
  }

  private static Status check() {
    NativeLibrary.ensureLoaded();
    String mode = System.getProperty(MODE_PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
    if (mode.equals("off")) {
      kernels.deepspg_channel_attention_select_isa(kernels.DEEPSPG_CONV2D_ISA_AUTO);
      return new Status("off", Double.NaN, MODE_PROPERTY + "=off");
    }
    StringBuilder refused = new StringBuilder();
    for (int i = 0; i < ISAS.length; i++) {
      if (mode.equals("portable") && ISAS[i] == kernels.DEEPSPG_CONV2D_ISA_AVX512) continue;
      if (kernels.deepspg_channel_attention_select_isa(ISAS[i]) != kernels.DEEPSPG_OK) continue; // CPU lacks it
      double err = probeError();
      if (err <= TOLERANCE) return new Status(ISA_NAMES[i], err, refused.toString());
      if (refused.length() > 0) refused.append("; ");
      refused.append(String.format(Locale.ROOT, "%s refused: error %.2g", ISA_NAMES[i], err));
    }
    kernels.deepspg_channel_attention_select_isa(kernels.DEEPSPG_CONV2D_ISA_AUTO);
    return new Status("off", Double.NaN, "self-check failed: " + refused);
  }

  /**
   * Largest error of the selected kernel set over the probes (output and the gradients of x, y, v, gate and tau
   * against {@link #reference} in float64 with autograd), relative to max(1, max |reference|); +inf when non-finite.
   * The probes run with every aligned output stored non-temporally (what the kernels do past 32 MiB of traffic, see
   * {@code deepspg_channel_attention_stream_min_bytes}): the third probe's rows (528 floats) take those stores, the
   * others' rows are not multiples of 16 floats and store through the cache, so both kinds are checked.
   */
  static double probeError() {
    return streamingEveryAlignedOutput(ChannelAttention::probeErrorAtThreshold);
  }

  /**
   * Runs a self-check's probes with the attention sweeps' non-temporal-store threshold at 0 (every 64-byte-aligned
   * output that is not written in place), then restores it: small probe shapes then cover the stores that large
   * inputs take. Calls in flight meanwhile may store non-temporally too: the same bits, only their speed changes.
   */
  static double streamingEveryAlignedOutput(DoubleSupplier probes) {
    long threshold = kernels.deepspg_channel_attention_stream_min_bytes(0);
    try {
      return probes.getAsDouble();
    } finally {
      kernels.deepspg_channel_attention_stream_min_bytes(threshold);
    }
  }

  private static double probeErrorAtThreshold() {
    // {batch, heads, c, h, w, gated}: row blocks with rests (c = 7, 23), two 1024-column tiles (a 76-column rest),
    // the model's c = 20 with two heads
    int[][] probes = {{1, 2, 7, 25, 44, 1}, {2, 1, 23, 9, 37, 0}, {1, 2, 20, 16, 33, 1}};
    double worst = 0;
    long seed = 777;
    // The first call may come from code under InferenceMode or a NoGradGuard (the CLI's enhancement, a oneDNN
    // self-check's model forward): the probes need autograd, and tensors that are not inference tensors.
    try (PointerScope scope = new PointerScope(); InferenceMode notInference = new InferenceMode(false);
        AutoGradMode grad = new AutoGradMode(true)) {
      for (int[] p : probes) {
        long[] shape = {p[0], (long) p[1] * p[2], p[3], p[4]};
        Tensor x = OneDnn.fixedRandom(shape, seed++);
        Tensor y = OneDnn.fixedRandom(shape, seed++);
        Tensor v = OneDnn.fixedRandom(shape, seed++);
        Tensor g = p[5] == 1 ? OneDnn.fixedRandom(shape, seed++) : null;
        Tensor tau = OneDnn.fixedRandom(new long[] {p[1], 1, 1}, seed++).add(new Scalar(1.5));
        Tensor dout = OneDnn.fixedRandom(shape, seed++);
        Tensor[] ref = outputAndGrads(false, x, y, v, g, tau, dout, p[1]);
        Tensor[] got = outputAndGrads(true, x, y, v, g, tau, dout, p[1]);
        for (int k = 0; k < ref.length; k++) {
          if (ref[k] == null) continue;
          double err = OneDnn.relDiff(ref[k], got[k].to(torch.ScalarType.Double));
          if (!(err <= Double.MAX_VALUE)) return Double.POSITIVE_INFINITY; // non-finite values
          worst = Math.max(worst, err);
        }
      }
    }
    return worst;
  }

  /** {out, dx, dy, dv, dgate, dtau} of the kernels (float32) or of {@link #reference} (float64). */
  private static Tensor[] outputAndGrads(boolean kernel, Tensor x, Tensor y, Tensor v, Tensor g, Tensor tau,
      Tensor dout, int heads) {
    torch.ScalarType type = kernel ? torch.ScalarType.Float : torch.ScalarType.Double;
    Tensor[] in = {x, y, v, g, tau};
    for (int k = 0; k < in.length; k++) {
      if (in[k] != null) in[k] = in[k].to(type).detach().set_requires_grad(true);
    }
    Tensor o = kernel ? kernelApply(in[0], in[1], in[2], in[3], in[4], heads)
        : reference(in[0], in[1], in[2], in[3], in[4], heads);
    o.mul(dout.to(type)).sum().backward();
    Tensor[] r = new Tensor[6];
    r[0] = o.detach();
    for (int k = 0; k < in.length; k++) r[k + 1] = in[k] == null ? null : in[k].grad();
    return r;
  }

  /**
   * The op in libtorch's stock ops (spec §2.3 as the reference writes it: normalize → matmul → softmax → matmul),
   * any dtype and device, differentiable by autograd: the self-check's reference and the path when the kernels are
   * off.
   *
   * @return O [B, heads*c, H, W]
   */
  static Tensor reference(Tensor x, Tensor y, Tensor v, Tensor gate, Tensor tau, int heads) {
    return applyMatrix(attentionMatrix(x, y, tau, heads), v, gate);
  }

  /**
   * O = A (V ⊙ gate) in stock ops, differentiable: the second half of {@link #reference}, also what the tiled
   * inference's replay computes with a recorded A.
   *
   * @param a [B or 1, heads, c, c]
   * @param v [B, heads*c, H, W]
   * @param gate like v, or null
   * @return O, v's shape
   */
  static Tensor applyMatrix(Tensor a, Tensor v, Tensor gate) {
    long b = v.size(0), heads = a.size(1), c = a.size(2), n = v.size(2) * v.size(3);
    Tensor vv = gate == null ? v : v.mul(gate);
    return a.matmul(vv.reshape(b, heads, c, n)).reshape(v.shape());
  }

  /** A = softmax_row(τ · normalize(X) normalize(Y)ᵀ) [B, heads, c, c] in stock ops. */
  private static Tensor attentionMatrix(Tensor x, Tensor y, Tensor tau, int heads) {
    long b = x.size(0), c = x.size(1) / heads, n = x.size(2) * x.size(3);
    Tensor xn = normalized(x.reshape(b, heads, c, n));
    Tensor yn = normalized(y.reshape(b, heads, c, n));
    return xn.matmul(yn.transpose(-2, -1)).mul(tau.reshape(1, heads, 1, 1)).softmax(-1);
  }

  /** Rows divided by max(‖row‖₂, 1e-12), as F.normalize(t, dim=-1). */
  private static Tensor normalized(Tensor t) {
    Tensor norm = torch.linalg_vector_norm(t, new Scalar(2.0), new long[] {-1}, true, new ScalarTypeOptional());
    return t.div(norm.clamp_min(new Scalar(1e-12)));
  }

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
    checkHeads(OP, x, heads, tau);
    long c = d / heads;
    if (c < 1 || c > MAX_HEAD_CHANNELS) {
      throw new IllegalArgumentException(
          OP + ": channels per head c=" + c + " (x " + describe(x) + ", heads=" + heads + ") must be in [1, "
              + MAX_HEAD_CHANNELS + "]");
    }
    if (n < 1) throw new IllegalArgumentException(OP + ": need H*W >= 1, x is " + describe(x));
    // --- tiled-inference hook (AttentionContext, owned by org.deepspg.infer): record A, or replay a recorded A.
    // Returns null unless a record/replay scope is open on this thread (one ThreadLocal read otherwise).
    Tensor intercepted = AttentionContext.intercept(x, y, v, gate, tau, heads);
    if (intercepted != null) return intercepted;
    // --- end of hook
    if (cpuFloat(x) && !status().enabled()) return reference(x, y, v, gate, tau, heads);
    return kernelApply(x, y, v, gate, tau, heads);
  }

  /**
   * The head checks of every attention entry (this op's and {@link FoldedAttention}'s): {@code heads} divides x's
   * channels (dim 1) and tau has {@code heads} finite elements.
   *
   * @throws IllegalArgumentException naming {@code op} otherwise
   */
  static void checkHeads(String op, Tensor x, int heads, Tensor tau) {
    if (heads <= 0 || x.size(1) % heads != 0) {
      throw new IllegalArgumentException(op + ": channels of x " + describe(x) + " not divisible by heads=" + heads);
    }
    if (tau.numel() != heads) {
      throw new IllegalArgumentException(op + ": tau " + describe(tau) + " must have heads=" + heads + " elements");
    }
    if (!allFinite(tau)) {
      throw new IllegalArgumentException(op + ": tau " + describe(tau) + " must be finite");
    }
  }

  /**
   * Whether every element of {@code t} is finite. A float32/float64 tensor on the CPU (every tau of the model) has
   * its few values read in place; otherwise the stock ops answer. Per attention call right after a kernel has flushed
   * the caches, the stock chain ({@code isfinite → all → item}, three ops through the dispatcher) took 0.14–0.16 ms,
   * the read in place 0.02 ms; the chain was 3–5 % of a level-2 forward + backward (BENCHMARKS.md, session 31).
   */
  static boolean allFinite(Tensor t) {
    int st = t.scalar_type().value;
    if (!t.is_cpu() || (st != F32 && st != F64)) return t.isfinite().all().item_bool();
    try (PointerScope scope = new PointerScope()) {
      Tensor c = t.is_contiguous() ? t : t.contiguous();
      long n = c.numel();
      if (st == F64) {
        DoublePointer p = c.data_ptr_double();
        for (long i = 0; i < n; i++) {
          if (!Double.isFinite(p.get(i))) return false;
        }
      } else {
        FloatPointer p = c.data_ptr_float();
        for (long i = 0; i < n; i++) {
          if (!Float.isFinite(p.get(i))) return false;
        }
      }
      return true;
    }
  }

  private static boolean cpuFloat(Tensor x) {
    return !x.is_cuda() && !isF64(x);
  }

  /** {@link #apply} on the kernels, arguments already checked. */
  private static Tensor kernelApply(Tensor x, Tensor y, Tensor v, Tensor gate, Tensor tau, int heads) {
    long b = x.size(0), d = x.size(1), n = x.size(2) * x.size(3), c = d / heads;
    long[] tauShape = NativeFunction.shape(tau);
    long[] shape = NativeFunction.shape(x);
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
    if (cpuFloat(x) && !checking && !status().enabled()) {
      // stock ops fill A and the output (G, r and s, which no caller of this path reads, are zeroed)
      try (PointerScope scope = new PointerScope()) {
        Tensor m = attentionMatrix(x, y, tau, (int) heads);
        a.copy_(m);
        o.copy_(applyMatrix(m, v, gate));
        g.zero_();
        r.zero_();
        s.zero_();
      }
      return;
    }
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
