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
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.deepspg.kernels.global.kernels;

/**
 * IG-MSA's attention and output projection in inference (float32 CPU) with the queries, keys and the projection
 * folded away:
 * <pre>
 *   out = W_p · ChannelAttention(X = W_k x, Y = W_q x, V, gate F, τ, heads) + b_p + R
 * </pre>
 * per pixel, V = W_v x and R given ({@link ChannelAttention} for the attention's definition). Two facts make it two
 * sweeps over full-resolution maps instead of four:
 * <ul>
 *   <li>the scores use q and k only through {@code K Qᵀ = W_k (X Xᵀ) W_qᵀ} and the row norms
 *       {@code ‖k_i‖² = (W_k S W_kᵀ)_ii}, {@code ‖q_j‖² = (W_q S W_qᵀ)_jj} with {@code S = X Xᵀ}: one Gram sweep over
 *       x ({@code deepspg_gram_cpu_f32}, which also writes V from the same reads) and d×d algebra in double give every
 *       head's {@code A}, and q and k are never formed;</li>
 *   <li>the projection is linear, so {@code W_p (A (V ⊙ F)) = (W_p A)(V ⊙ F)} with A block-diagonal over the heads:
 *       one mixing sweep ({@code deepspg_channel_mix_cpu_f32}) reads V, F and R and writes the block's output.</li>
 * </ul>
 * The unfolded path wrote q, k and v, read q and k for the Gram, v and F for the mixing, wrote the attention output
 * and read it back with the positional branch in the projection: at DeepSPG-S's full resolution an IG-MSA block
 * (with its positional branch's pass, R here) moved 300 channel-maps of d = 20 channels, the folded one 180, with
 * ≈1,000 fewer multiply-adds per pixel. The sums are the same in real arithmetic; in float32 the order differs (the
 * probes below bound the difference).
 *
 * <p>Tiled inference: under an {@link AttentionContext} recording the folded path stores its {@code A} like
 * {@link ChannelAttention#apply}, and under a replay it uses the recorded matrix, so the call order and the matrices
 * stay what the tiling protocol expects; under a refinement it also hands its input and {@code W_k}, {@code W_q}
 * to the context's sums (the rows and columns are never formed).
 *
 * <p>SEM's attention has no such Gram (its q and k come from depthwise convolutions), but its projection folds the
 * same way: {@link #attentionProjected} takes A from the fused attention's first sweep and mixes with {@code W_p A}.
 *
 * <p><b>Proved on the machine it runs on.</b> Before the first use, {@link #status()} checks both forms against
 * libtorch's float64 composition of the unfolded ops (heads of several widths, tile rests, with and without gate,
 * bias and residual, in place); when it fails, or system property {@value #MODE_PROPERTY} is {@code off}, or the
 * fused attention's own self-check failed, {@link #usable} is false and IG-MSA and SEM keep the unfolded path.
 */
public final class FoldedAttention {
  /** System property: {@code auto} (self-check, then use; the default) or {@code off}. */
  public static final String MODE_PROPERTY = "deepspg.foldedattention";
  /** The largest probe error accepted, relative to max(1, max |reference|). */
  static final double TOLERANCE = 1e-4;
  private static final String OP = "folded_attention";
  private static final Verdict<KernelStatus> STATUS = new Verdict<>(FoldedAttention::selfCheck);
  private static final AtomicLong CALLS = new AtomicLong();

  private FoldedAttention() {}

  /** @return the self-check's verdict, running the check on the first call of the process */
  public static KernelStatus status() {
    return STATUS.get();
  }

  /** Runs the self-check again (after {@link #MODE_PROPERTY} changed; tests) and returns its verdict. */
  static KernelStatus recheck() {
    return STATUS.recheck();
  }

  /**
   * Whether {@link #scores} and {@link #mix} may compute the attention: a float32 CPU input, no gradient to record,
   * self-check passed.
   *
   * @param x the block's input
   * @param params every other tensor the result depends on (entries may be null)
   * @return true when the folded path may be used
   */
  public static boolean usable(Tensor x, Tensor... params) {
    return OpSupport.inferenceF32Cpu(x, params) && status().enabled();
  }

  /**
   * What the first sweep found: the values and every head's attention matrix.
   *
   * @param values {@code v = W_v x}, {@code [B, d, H, W]} (in the caller's pointer scope)
   * @param matrices {@code A [B, heads, c, c]}, row-major
   * @param heads number of heads
   */
  public record Scores(Tensor values, double[] matrices, int heads) {}

  /**
   * The first sweep (see the class comment): the values {@code W_v x} and every head's
   * {@code A = softmax_row(τ_h · norm(K_h) norm(Q_h)ᵀ)}, {@code K = W_k x}, {@code Q = W_q x}, from one read of x;
   * call where {@link #usable} holds. Under an {@link AttentionContext} replay A is the recorded matrix; under a
   * recording it is stored.
   *
   * @param x {@code [B, d, H, W]} float32 CPU, the block's input
   * @param wv value weight {@code [d, d]} (out × in, or {@code [d, d, 1, 1]})
   * @param wq query weight, like {@code wv}
   * @param wk key weight, like {@code wv}
   * @param tau per-head temperature, {@code heads} elements, finite
   * @param heads number of heads (d divisible by it)
   * @return the values and the matrices
   * @throws IllegalArgumentException on a shape, dtype or device mismatch or a non-finite tau
   */
  public static Scores scores(Tensor x, Tensor wv, Tensor wq, Tensor wk, Tensor tau, int heads) {
    OpSupport.requireNoGradient(OP, x, wv, wq, wk, tau);
    return scores(x, wv, wq, wk, tau, heads, true);
  }

  /**
   * The second sweep: {@code out = (W_p A)(V ⊙ gate) + b_p + residual}, the block's attention with its projection.
   *
   * @param s the first sweep's result
   * @param gate {@code [B, d, H, W]} or null
   * @param wp projection weight {@code [d, d]} (or {@code [d, d, 1, 1]})
   * @param bp projection bias {@code [d]} or null
   * @param residual {@code [B, d, H, W]} or null
   * @param overwriteResidual write the result into {@code residual} (which the caller owns and no longer needs); a
   *     residual that is, or shares memory with, the values or the gate is allowed: the result is then computed
   *     aside and copied into it
   * @return {@code [B, d, H, W]}
   * @throws IllegalArgumentException on a shape, dtype or device mismatch
   */
  public static Tensor mix(Scores s, Tensor gate, Tensor wp, Tensor bp, Tensor residual, boolean overwriteResidual) {
    if (s == null || s.values() == null || s.matrices() == null) {
      throw new IllegalArgumentException(OP + ": scores (with their values and matrices) must not be null");
    }
    OpSupport.requireNoGradient(OP, s.values(), gate, wp, bp, residual);
    return mix(s.matrices(), s.heads(), s.values(), gate, wp, bp, residual, overwriteResidual);
  }

  /**
   * A channel attention followed by a 1×1 projection, {@code out = W_p · ChannelAttention(x, y, v, τ, heads) + b_p +
   * residual} (SEM's), with the projection folded into the mixing: the fused attention's first sweep gives A
   * ({@code deepspg_channel_attention_scores_cpu_f32}), then one mixing sweep with {@code W_p A} writes the result;
   * the attention's output is never formed. Call where {@link #usable} holds; tiled inference's
   * {@link AttentionContext} records or replays A as {@link ChannelAttention#apply} would.
   *
   * @param x {@code [B, heads·c, H, W]} float32 CPU, the rows of the softmax
   * @param y like x, its columns
   * @param v like x, the values
   * @param tau per-head temperature, {@code heads} elements, finite
   * @param heads number of heads (c ≤ {@value ChannelAttention#MAX_HEAD_CHANNELS})
   * @param wp projection weight {@code [d, d]} (or {@code [d, d, 1, 1]})
   * @param bp projection bias {@code [d]} or null
   * @param residual like x, or null
   * @param overwriteResidual write the result into {@code residual} (which the caller owns and no longer needs); a
   *     residual that is, or shares memory with, the values or the gate is allowed: the result is then computed
   *     aside and copied into it
   * @return {@code [B, d, H, W]}
   * @throws IllegalArgumentException on a shape, dtype or device mismatch, c out of range or a non-finite tau
   */
  public static Tensor attentionProjected(Tensor x, Tensor y, Tensor v, Tensor tau, int heads, Tensor wp, Tensor bp,
      Tensor residual, boolean overwriteResidual) {
    OpSupport.requireNoGradient(OP, x, y, v, tau, wp, bp, residual);
    return attentionProjected(x, y, v, tau, heads, wp, bp, residual, overwriteResidual, true);
  }

  private static Tensor attentionProjected(Tensor x, Tensor y, Tensor v, Tensor tau, int heads, Tensor wp, Tensor bp,
      Tensor residual, boolean overwriteResidual, boolean inContext) {
    NativeLibrary.ensureLoaded();
    checkInput(x, heads, tau);
    OpSupport.checkSame(OP, "x", x, "y", y);
    OpSupport.checkSame(OP, "x", x, "v", v);
    long b = x.size(0), d = x.size(1), n = x.size(2) * x.size(3), c = d / heads;
    if (c > ChannelAttention.MAX_HEAD_CHANNELS) {
      throw new IllegalArgumentException(OP + ": channels per head c=" + c + " exceed "
          + ChannelAttention.MAX_HEAD_CHANNELS);
    }
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor recorded = inContext ? AttentionContext.nextReplayed(b, heads, c) : null;
      double[] a;
      if (recorded != null) {
        a = perImage(doubles(recorded), recorded.size(0), (int) b);
        AttentionContext.refined(x, y, tau, heads);
      } else {
        Tensor xc = x.contiguous();
        Tensor am = OpSupport.empty(xc, b, heads, c, c);
        if (b > 0 && n > 0) {
          Tensor g = OpSupport.empty(xc, b, heads, c, c);
          Tensor r = OpSupport.empty(xc, b, heads, c);
          Tensor sn = OpSupport.empty(xc, b, heads, c);
          NativeLibrary.check(kernels.deepspg_channel_attention_scores_cpu_f32(f32(xc), f32(y.contiguous()),
              f32(tau.reshape(heads).contiguous()), b, heads, c, n, f32(g), f32(am), f32(r), f32(sn)), OP + " scores");
        }
        a = doubles(am);
        if (inContext) AttentionContext.recordMatrix(am);
      }
      Tensor out = mix(a, heads, v, null, wp, bp, residual, overwriteResidual);
      return out == residual ? residual : Scopes.escape(out, outer);
    }
  }

  /** The second sweep for the matrices {@code a [B, heads, c, c]} (flattened) of the values v. */
  private static Tensor mix(double[] a, int heads, Tensor v, Tensor gate, Tensor wp, Tensor bp, Tensor residual,
      boolean overwriteResidual) {
    OpSupport.checkDim(OP, "values", v, 4, "[B, d, H, W]");
    long b = v.size(0), d = v.size(1), n = v.size(2) * v.size(3);
    if (heads < 1 || d % heads != 0 || a.length != b * d / heads * d) { // b · heads · c · c with c = d / heads
      throw new IllegalArgumentException(OP + ": " + a.length + " attention-matrix entries for " + heads + " heads "
          + "do not fit the values " + describe(v) + " (need batch · heads · c · c, c = d / heads)");
    }
    if (gate != null) OpSupport.checkSame(OP, "v", v, "gate", gate);
    if (residual != null) OpSupport.checkSame(OP, "v", v, "residual", residual);
    checkWeight(v, wp, d);
    if (bp != null) OpSupport.checkLike(OP, "v", v, "bias", bp);
    if (bp != null && bp.numel() != d) {
      throw new IllegalArgumentException(OP + ": bias " + describe(bp) + " must have " + d + " elements");
    }
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor vc = v.contiguous();
      Tensor gc = gate == null ? null : gate.contiguous();
      // The kernel may write over its residual but not over v or gate (C ABI): a residual sharing memory with either
      // gets the result computed aside and copied in.
      boolean aliased = residual != null && (overlaps(residual, vc) || (gc != null && overlaps(residual, gc)));
      boolean inPlace = residual != null && overwriteResidual && residual.is_contiguous() && !aliased;
      Tensor rc = residual == null ? null : inPlace ? residual : residual.contiguous();
      Tensor out = inPlace ? residual : OpSupport.empty(vc, b, d, v.size(2), v.size(3));
      if (b > 0 && n > 0) {
        Tensor mt = OpSupport.empty(vc, b, d, d);
        f32(mt).put(mixing(a, doubles(wp), (int) b, (int) d, heads));
        Tensor bc = bp == null ? null : bp.reshape(d).contiguous();
        NativeLibrary.check(kernels.deepspg_channel_mix_cpu_f32(f32(mt), f32(vc), gc == null ? null : f32(gc),
            bc == null ? null : f32(bc), rc == null ? null : f32(rc), b, d, n, f32(out)), OP + " mix");
      }
      CALLS.incrementAndGet();
      if (overwriteResidual && aliased && residual.is_contiguous()) {
        residual.copy_(out);
        inPlace = true;
      }
      return inPlace ? residual : Scopes.escape(out, outer); // the residual is the caller's already
    }
  }

  /** Whether the memory of {@code a} (contiguous) and {@code b} (contiguous) overlaps. */
  private static boolean overlaps(Tensor a, Tensor b) {
    if (a.numel() == 0 || b.numel() == 0) return false;
    long a0 = a.data_ptr().address(), a1 = a0 + a.numel() * a.element_size();
    long b0 = b.data_ptr().address(), b1 = b0 + b.numel() * b.element_size();
    return a0 < b1 && b0 < a1;
  }

  /** x's checks shared by both entries: float32 CPU {@code [B, d, H, W]}, heads dividing d, a finite tau. */
  private static void checkInput(Tensor x, int heads, Tensor tau) {
    OpSupport.checkDim(OP, "x", x, 4, "[B, d, H, W]");
    if (x.is_cuda() || x.scalar_type().value != OpSupport.F32) {
      throw new IllegalArgumentException(OP + ": x must be float32 on CPU, got " + describe(x));
    }
    OpSupport.checkLike(OP, "x", x, "tau", tau);
    ChannelAttention.checkHeads(OP, x, heads, tau);
  }

  /** Matrices recorded for {@code recordedBatch} images (1 or b) as b images' (one image's for all). */
  private static double[] perImage(double[] r, long recordedBatch, int b) {
    if (recordedBatch == b) return r;
    double[] a = new double[b * r.length];
    for (int i = 0; i < b; i++) System.arraycopy(r, 0, a, i * r.length, r.length);
    return a;
  }

  /**
   * Both sweeps with a given residual: {@code W_p · ChannelAttention(W_k x, W_q x, W_v x, gate, τ) + b_p +
   * residual} (the self-check's and the tests' entry; IG-MSA computes its residual from the values in between).
   */
  static Tensor forward(Tensor x, Tensor wv, Tensor gate, Tensor wq, Tensor wk, Tensor wp, Tensor bp, Tensor tau,
      int heads, Tensor residual, boolean overwriteResidual, boolean inContext) {
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor out = mix(scores(x, wv, wq, wk, tau, heads, inContext), gate, wp, bp, residual, overwriteResidual);
      return out == residual ? residual : Scopes.escape(out, outer);
    }
  }

  /** {@link #scores}; {@code inContext}: whether an {@link AttentionContext} scope may record or replay A. */
  private static Scores scores(Tensor x, Tensor wv, Tensor wq, Tensor wk, Tensor tau, int heads, boolean inContext) {
    NativeLibrary.ensureLoaded();
    checkInput(x, heads, tau);
    long b = x.size(0), d = x.size(1), n = x.size(2) * x.size(3);
    for (Tensor w : new Tensor[] {wv, wq, wk}) checkWeight(x, w, d);
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor xc = x.contiguous();
      Tensor v = OpSupport.empty(xc, b, d, x.size(2), x.size(3));
      Tensor recorded = inContext ? AttentionContext.nextReplayed(b, heads, d / heads) : null;
      if (recorded != null) { // a tile under a replay: the recorded A; only the values are needed (no Gram)
        AttentionContext.refinedProjections(xc, wk, wq, tau, heads); // rows K = W_k x, columns Q = W_q x
        if (b > 0 && n > 0) {
          Tensor wb = wv.reshape(1, d, d).expand(new long[] {b, d, d}).contiguous();
          NativeLibrary.check(kernels.deepspg_channel_mix_cpu_f32(f32(wb), f32(xc), null, null, null, b, d, n,
              f32(v)), OP + " values");
        }
        return new Scores(Scopes.escape(v, outer), perImage(doubles(recorded), recorded.size(0), (int) b), heads);
      }
      double[] gram = new double[(int) (b * d * d)];
      if (b > 0 && n > 0) {
        Tensor st = xc.new_empty(new long[] {b, d, d},
            new TensorOptions().dtype(new ScalarTypeOptional(ScalarType.Double)));
        NativeLibrary.check(kernels.deepspg_gram_cpu_f32(f32(xc), f32(wv.reshape(d, d).contiguous()), b, d, n,
            st.data_ptr_double(), f32(v)), OP + " gram");
        st.data_ptr_double().get(gram);
      }
      double[] a = matrices(gram, (int) b, (int) d, doubles(wq), doubles(wk), doubles(tau), heads);
      if (inContext) AttentionContext.recordMatrices(a, b, heads, d / heads, xc);
      return new Scores(Scopes.escape(v, outer), a, heads);
    }
  }

  private static void checkWeight(Tensor x, Tensor w, long d) {
    OpSupport.checkLike(OP, "x", x, "weight", w);
    if (w.numel() != d * d || w.size(0) != d) {
      throw new IllegalArgumentException(OP + ": weights must be [" + d + ", " + d + "], got " + describe(w));
    }
  }

  /**
   * Mixing sweeps run in this process ({@link #mix(Scores, Tensor, Tensor, Tensor, Tensor, boolean)} and
   * {@link #attentionProjected}), so that tests can see which path a network took.
   *
   * @return the count
   */
  public static long calls() {
    return CALLS.get();
  }

  /**
   * Every head's {@code A = softmax_row(τ_h · norm(K_h) norm(Q_h)ᵀ)} as {@code [B][heads][c][c]} (flattened), from
   * the Gram of x.
   */
  private static double[] matrices(double[] gram, int b, int d, double[] wq, double[] wk, double[] tau, int heads) {
    int c = d / heads;
    double[] a = new double[b * heads * c * c];
    double[] tk = new double[c * d];
    double[] tq = new double[c * d];
    double[] rk = new double[c];
    double[] sq = new double[c];
    for (int bi = 0; bi < b; bi++) {
      int so = bi * d * d;
      for (int h = 0; h < heads; h++) {
        int r0 = h * c;
        for (int i = 0; i < c; i++) { // T_k = W_k,h S and T_q = W_q,h S, rows of c x d
          for (int l = 0; l < d; l++) {
            double sk = 0, sqv = 0;
            for (int mm = 0; mm < d; mm++) {
              double sml = gram[so + mm * d + l];
              sk += wk[(r0 + i) * d + mm] * sml;
              sqv += wq[(r0 + i) * d + mm] * sml;
            }
            tk[i * d + l] = sk;
            tq[i * d + l] = sqv;
          }
        }
        for (int i = 0; i < c; i++) { // clamped row norms, as F.normalize
          double nk = 0, nq = 0;
          for (int l = 0; l < d; l++) {
            nk += tk[i * d + l] * wk[(r0 + i) * d + l];
            nq += tq[i * d + l] * wq[(r0 + i) * d + l];
          }
          rk[i] = Math.max(Math.sqrt(Math.max(nk, 0)), 1e-12);
          sq[i] = Math.max(Math.sqrt(Math.max(nq, 0)), 1e-12);
        }
        int ao = (bi * heads + h) * c * c;
        for (int i = 0; i < c; i++) { // A_i = softmax_j(τ_h P_ij / (r_i s_j)), P = T_k W_q,hᵀ
          double zmax = Double.NEGATIVE_INFINITY;
          for (int j = 0; j < c; j++) {
            double p = 0;
            for (int l = 0; l < d; l++) p += tk[i * d + l] * wq[(r0 + j) * d + l];
            double z = tau[h] * (p / (rk[i] * sq[j]));
            a[ao + i * c + j] = z;
            zmax = Math.max(zmax, z);
          }
          double sum = 0;
          for (int j = 0; j < c; j++) {
            double e = Math.exp(a[ao + i * c + j] - zmax);
            a[ao + i * c + j] = e;
            sum += e;
          }
          for (int j = 0; j < c; j++) a[ao + i * c + j] /= sum;
        }
      }
    }
    return a;
  }

  /** {@code M_b = W_p · blockdiag_h(A_b,h)} as float {@code [B, d, d]} (flattened). */
  private static float[] mixing(double[] a, double[] wp, int b, int d, int heads) {
    int c = d / heads;
    float[] m = new float[b * d * d];
    for (int bi = 0; bi < b; bi++) {
      for (int o = 0; o < d; o++) {
        for (int h = 0; h < heads; h++) {
          int ao = (bi * heads + h) * c * c;
          for (int j = 0; j < c; j++) {
            double s = 0;
            for (int i = 0; i < c; i++) s += wp[o * d + h * c + i] * a[ao + i * c + j];
            m[(bi * d + o) * d + h * c + j] = (float) s;
          }
        }
      }
    }
    return m;
  }

  /** The values of a small tensor, in row-major order, as doubles. */
  /** A tensor's values as doubles (any dtype, layout and device; empty for no elements). */
  static double[] doubles(Tensor t) {
    if (t.numel() == 0) return new double[0]; // an empty batch: no data pointer to read
    try (PointerScope scope = new PointerScope()) {
      Tensor td = toDouble(t.detach()).contiguous().cpu(); // a CUDA tensor's data pointer is not the host's
      double[] out = new double[(int) td.numel()];
      td.data_ptr_double().get(out);
      return out;
    }
  }

  private static KernelStatus selfCheck() {
    return KernelStatus.check("folded", "on", "off", MODE_PROPERTY, () -> {
      ChannelAttention.Status attention = ChannelAttention.status(); // settles the kernel set the sweeps use
      return attention.enabled() ? null : "the fused attention is off: " + attention.note();
    }, TOLERANCE, FoldedAttention::probeError);
  }

  /**
   * Largest error of the folded path over the probes, relative to max(1, max |reference|); +inf when non-finite. The
   * probes run with every aligned output that is not written in place stored non-temporally (what the sweeps do past
   * 32 MiB of traffic, see {@code deepspg_channel_attention_stream_min_bytes}): rows of 144 and 1,120 floats take
   * those stores (the values W_v x, a mix beside its residual), the others store through the cache.
   */
  static double probeError() {
    return ChannelAttention.streamingEveryAlignedOutput(FoldedAttention::probeErrorAtThreshold);
  }

  private static double probeErrorAtThreshold() {
    // {B, d, heads, H, W, gate, bias, residual (2 = in place)}: two 1024-column tiles with a rest; heads of 20 like
    // DeepSPG-S at each width; c = 23 and 7 (row blocks of 5 with rests); one pixel
    int[][] probes = {{2, 20, 1, 33, 40, 1, 1, 2}, {1, 40, 2, 9, 16, 1, 1, 1}, {1, 23, 1, 5, 5, 0, 1, 0},
        {1, 80, 4, 16, 70, 1, 1, 2}, {1, 21, 3, 1, 1, 1, 1, 1}};
    double worst = 0;
    long seed = 4321;
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      for (int[] p : probes) {
        long[] shape = {p[0], p[1], p[3], p[4]};
        int d = p[1], heads = p[2];
        Scalar ws = new Scalar(1.0 / Math.sqrt(d));
        Tensor x = OneDnn.fixedRandom(shape, seed++);
        Tensor wv = OneDnn.fixedRandom(new long[] {d, d}, seed++).mul(ws);
        Tensor gate = p[5] == 1 ? OneDnn.fixedRandom(shape, seed++) : null;
        Tensor wq = OneDnn.fixedRandom(new long[] {d, d}, seed++).mul(ws);
        Tensor wk = OneDnn.fixedRandom(new long[] {d, d}, seed++).mul(ws);
        Tensor wp = OneDnn.fixedRandom(new long[] {d, d}, seed++).mul(ws);
        Tensor bp = p[6] == 1 ? OneDnn.fixedRandom(new long[] {d}, seed++) : null;
        Tensor tau = OneDnn.fixedRandom(new long[] {heads, 1, 1}, seed++).abs().add(new Scalar(0.5));
        Tensor res = p[7] > 0 ? OneDnn.fixedRandom(shape, seed++) : null;
        Tensor ref = reference(toDouble(x), toDouble(wv), gate == null ? null : toDouble(gate), toDouble(wq),
            toDouble(wk), toDouble(wp), bp == null ? null : toDouble(bp), toDouble(tau), heads,
            res == null ? null : toDouble(res));
        Tensor got = forward(x, wv, gate, wq, wk, wp, bp, tau, heads, res == null ? null : res.clone(), p[7] == 2,
            false);
        // SEM's form: the scores of two other maps, no gate
        Tensor y = OneDnn.fixedRandom(shape, seed++);
        Tensor v = OneDnn.fixedRandom(shape, seed++);
        Tensor semRef = toDouble(wp).reshape(d, d).matmul(ChannelAttention.reference(toDouble(x), toDouble(y),
            toDouble(v), null, toDouble(tau), heads).reshape(p[0], d, (long) p[3] * p[4])).reshape(shape);
        if (bp != null) semRef = semRef.add(toDouble(bp).reshape(1, d, 1, 1));
        if (res != null) semRef = semRef.add(toDouble(res));
        Tensor sem = attentionProjected(x, y, v, tau, heads, wp, bp, res == null ? null : res.clone(), p[7] == 2,
            false);
        double err = Math.max(OneDnn.relDiff(ref, toDouble(got)), OneDnn.relDiff(semRef, toDouble(sem)));
        if (!(err <= Double.MAX_VALUE)) return Double.POSITIVE_INFINITY; // non-finite values
        worst = Math.max(worst, err);
      }
    }
    return worst;
  }

  /**
   * The unfolded composition in libtorch ops (any dtype): the three 1×1 projections as matrix products over the
   * channels, {@link ChannelAttention#reference} for the attention. What the self-check compares the folded path
   * with.
   */
  static Tensor reference(Tensor x, Tensor wv, Tensor gate, Tensor wq, Tensor wk, Tensor wp, Tensor bp, Tensor tau,
      int heads, Tensor residual) {
    long b = x.size(0), d = x.size(1), hh = x.size(2), ww = x.size(3);
    Tensor x3 = x.reshape(b, d, hh * ww);
    Tensor q = wq.reshape(d, d).matmul(x3).reshape(b, d, hh, ww);
    Tensor k = wk.reshape(d, d).matmul(x3).reshape(b, d, hh, ww);
    Tensor v = wv.reshape(d, d).matmul(x3).reshape(b, d, hh, ww);
    Tensor o = ChannelAttention.reference(k, q, v, gate, tau, heads);
    Tensor out = wp.reshape(d, d).matmul(o.reshape(b, d, hh * ww)).reshape(b, d, hh, ww);
    if (bp != null) out = out.add(bp.reshape(1, d, 1, 1));
    return residual == null ? out : out.add(residual);
  }
}
