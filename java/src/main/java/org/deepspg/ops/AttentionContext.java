/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Thread-local record/replay of the c×c channel-attention matrices, so that tiled inference keeps the network's only
 * global statistic consistent across tiles.
 *
 * <p>Every {@link ChannelAttention#apply} call builds {@code A = softmax_row(τ · norm(X) norm(Y)ᵀ)} from sums over
 * <em>all</em> pixels of its input; run on a tile, A would only see that tile and neighbouring tiles would be
 * enhanced differently (visible seams). The tiling protocol ({@code org.deepspg.infer}) is:
 *
 * <ol>
 *   <li>pass 1, {@link #record(Recording)}: run the whole network once on a downscaled copy of the image; every
 *       attention call computes its output with the fused kernel as usual and additionally keeps the kernel's matrix
 *       {@code A [B, heads, c, c]} in call order;</li>
 *   <li>pass 2, {@link #replay(Recording)}: run each full-resolution tile; the k-th attention call returns
 *       {@code A_k · (V ⊙ gate)} with the recorded {@code A_k} (stock {@code matmul}) instead of computing its own.
 *       The call count, heads and per-head channels must match the recording, else an {@link IllegalStateException}
 *       says where they diverged.</li>
 * </ol>
 *
 * <p>When the copy of pass 1 is downscaled, its matrices differ from the full image's (the sums over a smaller copy
 * lose its fine detail). {@link #refine(Recording, Statistics, Window)} runs between the two passes as often as asked:
 * each tile replays the current matrices as in pass 2 and adds, over its <em>core</em> (a partition of the padded
 * image, {@link Window}), the sums that make each attention's A: {@code X_h Y_hᵀ} and the squared row norms of
 * {@code X_h} and {@code Y_h}. Summed over all tiles they are the full-resolution image's sums for the inputs the
 * replay gave; {@link Statistics#toRecording()} turns them into the next matrices. Each pass is one step of a
 * fixed-point iteration toward whole-image inference: after k passes the first k calls' matrices are the full image's
 * (up to the tiles' border effects on the layers before them), the later ones' are estimates from inputs that the
 * earlier matrices shaped. Measured with the bundled model, one pass brings a tiled photo from 34–42 dB to 48–54 dB
 * against whole-image inference; further passes do not converge monotonically ({@code docs/inference.md}).
 *
 * <p>{@link FoldedAttention} (IG-MSA's and SEM's inference path, which computes A without calling {@code apply})
 * takes part the same way: it stores its A under a recording and mixes with the recorded one under a replay, in the
 * same call order.
 *
 * <p>Threading: the active mode lives in a {@link ThreadLocal}; a recording or replay on one thread never affects
 * attention calls on another. One {@link Recording} may be replayed by several threads at the same time (replay
 * only reads it; each replay scope keeps its own cursor). Inference only: recorded and replayed outputs carry no
 * gradient.
 */
public final class AttentionContext {
  /** Which mode a thread is in. */
  public enum Mode {
    /** Compute attention normally and store each matrix A. */
    RECORD,
    /** Use the stored matrices instead of computing A. */
    REPLAY,
    /** Use the stored matrices, and add each call's sums over a window to {@link Statistics}. */
    REFINE
  }

  private static final ThreadLocal<Active> CURRENT = new ThreadLocal<>();

  private AttentionContext() {}

  /**
   * The attention matrices of one recorded forward pass, in call order. Owns native memory: {@link #close()} it.
   * Thread-safe for concurrent replays once recording has finished.
   */
  public static final class Recording implements AutoCloseable {
    private final List<Tensor> matrices = new ArrayList<>();
    private boolean closed;

    /** Creates an empty recording. */
    public Recording() {}

    /** @return the number of recorded attention calls */
    public synchronized int calls() {
      return matrices.size();
    }

    /**
     * @param i call index (0-based)
     * @return the recorded matrix {@code [B, heads, c, c]} (owned by this recording; do not close)
     */
    public synchronized Tensor matrix(int i) {
      if (closed) throw new IllegalStateException("attention recording is closed");
      return matrices.get(i);
    }

    /** @return an unmodifiable snapshot of the recorded matrices (owned by this recording) */
    public synchronized List<Tensor> matrices() {
      return Collections.unmodifiableList(new ArrayList<>(matrices));
    }

    synchronized void add(Tensor a) {
      if (closed) throw new IllegalStateException("attention recording is closed");
      matrices.add(a);
    }

    /**
     * Closes every recording of an array (one per ensemble transform); null arrays and entries are skipped.
     *
     * @param recordings the recordings, or null
     */
    public static void closeAll(Recording[] recordings) {
      if (recordings == null) return;
      for (Recording r : recordings) {
        if (r != null) r.close();
      }
    }

    /** Releases the recorded matrices. */
    @Override
    public synchronized void close() {
      if (closed) return;
      closed = true;
      for (Tensor t : matrices) t.releaseReference();
      matrices.clear();
    }
  }

  /**
   * The part of a pass's input whose pixels {@link #refine} counts: rows {@code [top, bottom)} and columns
   * {@code [left, right)} of the padded input of {@code height × width} pixels, every bound a multiple of the
   * network's total stride so that each attention level's map holds the window's cells exactly.
   *
   * @param top first row
   * @param bottom row after the last
   * @param left first column
   * @param right column after the last
   * @param height the padded input's height
   * @param width the padded input's width
   */
  public record Window(int top, int bottom, int left, int right, int height, int width) {
    /**
     * Validates the bounds.
     *
     * @param top first row
     * @param bottom row after the last
     * @param left first column
     * @param right column after the last
     * @param height the padded input's height
     * @param width the padded input's width
     */
    public Window {
      if (top < 0 || top > bottom || bottom > height || left < 0 || left > right || right > width) {
        throw new IllegalArgumentException("window rows [" + top + ", " + bottom + ") columns [" + left + ", "
            + right + ") must lie inside " + width + "x" + height);
      }
    }

    /** The window's bounds on a map of {@code h × w} cells that the input maps onto by a whole stride. */
    int[] on(long h, long w) {
      if (h < 1 || w < 1 || height % h != 0 || width % w != 0 || height / h != width / w) {
        throw new IllegalStateException("attention refinement: a " + w + "x" + h + " map is not the " + width + "x"
            + height + " input at a whole stride");
      }
      int s = (int) (height / h);
      if (top % s != 0 || bottom % s != 0 || left % s != 0 || right % s != 0) {
        throw new IllegalStateException("attention refinement: the window " + this + " does not fall on the cells "
            + "of a map at stride " + s);
      }
      return new int[] {top / s, bottom / s, left / s, right / s};
    }
  }

  /**
   * The sums of a {@link #refine} pass, per attention call in call order: for every image and head the Gram of the
   * stacked rows {@code [X_h; Y_h]} over all windows seen, in double. Not thread-safe: one per thread and transform.
   */
  public static final class Statistics {
    private final List<double[]> grams = new ArrayList<>();
    private final List<double[]> taus = new ArrayList<>();
    private final List<long[]> shapes = new ArrayList<>(); // {batch, heads, c}

    /** Creates empty statistics. */
    public Statistics() {}

    /** @return the number of attention calls seen */
    public int calls() {
      return grams.size();
    }

    /** Adds call k's sums {@code g} ({@code [B·heads][2c][2c]}, flattened) of one window. */
    void add(int k, double[] g, Tensor tau, long b, int heads, long c) {
      if (k == grams.size()) {
        grams.add(g);
        taus.add(FoldedAttention.doubles(tau));
        shapes.add(new long[] {b, heads, c});
        return;
      }
      if (k > grams.size()) throw new IllegalStateException("attention refinement: call " + (k + 1) + " skipped one");
      long[] s = shapes.get(k);
      double[] acc = grams.get(k);
      if (s[0] != b || s[1] != heads || s[2] != c || acc.length != g.length) {
        throw new IllegalStateException("attention refinement: call " + (k + 1) + " has batch " + b + ", heads "
            + heads + ", c " + c + " where an earlier tile had " + s[0] + ", " + s[1] + ", " + s[2]);
      }
      for (int i = 0; i < g.length; i++) acc[i] += g[i];
    }

    /**
     * The matrices these sums make, {@code A = softmax_row(τ · X Yᵀ / (‖X‖ ‖Y‖ᵀ))} per image and head (norms
     * clamped at 1e-12 as F.normalize), as float32 CPU tensors {@code [B, heads, c, c]} for a replay.
     *
     * @return a new recording that owns its matrices (the caller closes it)
     */
    public Recording toRecording() {
      Recording r = new Recording();
      try {
        for (int k = 0; k < grams.size(); k++) {
          long[] s = shapes.get(k);
          r.add(matrix(grams.get(k), taus.get(k), (int) s[0], (int) s[1], (int) s[2]));
        }
        return r;
      } catch (RuntimeException e) {
        r.close();
        throw e;
      }
    }

    private static Tensor matrix(double[] p, double[] tau, int b, int heads, int c) {
      float[] a = new float[b * heads * c * c];
      int c2 = 2 * c;
      double[] row = new double[c];
      for (int bh = 0; bh < b * heads; bh++) {
        int po = bh * c2 * c2;
        double t = tau[bh % heads];
        for (int i = 0; i < c; i++) {
          double nx = Math.max(Math.sqrt(Math.max(p[po + i * c2 + i], 0)), 1e-12);
          double max = Double.NEGATIVE_INFINITY;
          for (int j = 0; j < c; j++) {
            double ny = Math.max(Math.sqrt(Math.max(p[po + (c + j) * c2 + c + j], 0)), 1e-12);
            row[j] = t * p[po + i * c2 + c + j] / (nx * ny);
            max = Math.max(max, row[j]);
          }
          double sum = 0;
          for (int j = 0; j < c; j++) sum += row[j] = Math.exp(row[j] - max);
          for (int j = 0; j < c; j++) a[(bh * c + i) * c + j] = (float) (row[j] / sum);
        }
      }
      try (PointerScope scope = new PointerScope()) {
        Tensor blob = torch.from_blob(new FloatPointer(a), new long[] {b, heads, c, c},
            new TensorOptions(ScalarType.Float));
        Tensor m = blob.clone(); // owns its memory; the blob's buffer goes with the scope
        // The recording's own reference, as store() takes one: attached to the caller's scope instead, the matrix
        // was freed with it while a Sequence's lock still replayed it (an audit: NullPointerException on frame 2)
        m.retainReference();
        return m;
      }
    }
  }

  /** An installed mode on the current thread; closing it restores the previous one. */
  public static final class Scope implements AutoCloseable {
    private final Active active;
    private final Active previous;
    private final Thread owner = Thread.currentThread(); // made by install() on the thread whose mode it holds
    private boolean closed;

    private Scope(Active active, Active previous) {
      this.active = active;
      this.previous = previous;
    }

    /** @return the number of attention calls seen so far in this scope */
    public int calls() {
      return active.cursor;
    }

    /**
     * Restores the previous mode of this thread. A replay scope checks that every recorded call was replayed (the
     * replayed network made exactly as many attention calls as the recorded one). Must be called on the thread that
     * opened the scope: a close from another thread throws and leaves the scope open (the mode is thread-local, so
     * another thread cannot restore it; marking the scope closed there left the owner in this mode for good).
     *
     * @throws IllegalStateException when a replay consumed fewer calls than were recorded, or when called from
     *     another thread than the one that opened the scope (the scope then stays open)
     */
    @Override
    public void close() {
      if (Thread.currentThread() != owner) {
        throw new IllegalStateException("AttentionContext scope opened on thread " + owner.getName()
            + " closed from thread " + Thread.currentThread().getName() + ": close it on the thread that opened it");
      }
      if (closed) return;
      closed = true;
      if (CURRENT.get() != active) {
        CURRENT.remove();
        throw new IllegalStateException("AttentionContext scopes closed out of order");
      }
      if (previous == null) CURRENT.remove();
      else CURRENT.set(previous);
      if (active.mode != Mode.RECORD && !active.failed && active.cursor != active.recording.calls()) {
        throw new IllegalStateException("attention replay used " + active.cursor + " of "
            + active.recording.calls() + " recorded attention calls: the replayed forward pass differs from the "
            + "recorded one");
      }
    }
  }

  private static final class Active {
    final Mode mode;
    final Recording recording;
    final Statistics statistics;
    final Window window;
    int cursor;
    boolean failed;

    Active(Mode mode, Recording recording, Statistics statistics, Window window) {
      this.mode = mode;
      this.recording = recording;
      this.statistics = statistics;
      this.window = window;
    }

    /** A refinement's view of {@code t}'s cells inside the window; a window that does not fit fails the scope. */
    Tensor inWindow(Tensor t) {
      try {
        int[] r = window.on(t.size(2), t.size(3));
        return t.narrow(2, r[0], r[1] - r[0]).narrow(3, r[2], r[3] - r[2]);
      } catch (IllegalStateException e) {
        failed = true;
        throw e;
      }
    }

    /** Adds the sums {@code p} of the call just replayed to the statistics; a mismatch fails the scope. */
    void addSums(double[] p, Tensor tau, long b, int heads, long c) {
      try {
        statistics.add(cursor - 1, p, tau.reshape(heads), b, heads, c);
      } catch (IllegalStateException e) {
        failed = true;
        throw e;
      }
    }
  }

  /**
   * Starts recording on the current thread until the returned scope is closed.
   *
   * @param into where the matrices go (appended in call order)
   * @return the scope
   */
  public static Scope record(Recording into) {
    if (into == null) throw new IllegalArgumentException("recording is null");
    return install(new Active(Mode.RECORD, into, null, null));
  }

  /**
   * Starts replaying on the current thread until the returned scope is closed; the cursor starts at call 0.
   *
   * @param from a finished recording
   * @return the scope
   */
  public static Scope replay(Recording from) {
    if (from == null) throw new IllegalArgumentException("recording is null");
    return install(new Active(Mode.REPLAY, from, null, null));
  }

  /**
   * Starts a refinement on the current thread until the returned scope is closed: every attention call replays
   * {@code from} (its output is as under {@link #replay}) and adds its sums over {@code window} to {@code into}.
   *
   * @param from a finished recording
   * @param into the statistics of this transform (one per transform, shared by all tiles of an image)
   * @param window the pass's pixels to count: the tile's core, so that the tiles together count each pixel once
   * @return the scope
   */
  public static Scope refine(Recording from, Statistics into, Window window) {
    if (from == null || into == null || window == null) {
      throw new IllegalArgumentException("refinement needs a recording, statistics and a window");
    }
    return install(new Active(Mode.REFINE, from, into, window));
  }

  /** @return the mode of the current thread, or null when attention runs normally */
  public static Mode current() {
    Active a = CURRENT.get();
    return a == null ? null : a.mode;
  }

  private static Scope install(Active a) {
    Active prev = CURRENT.get();
    CURRENT.set(a);
    return new Scope(a, prev);
  }

  /**
   * Hook called by {@link ChannelAttention#apply} after its argument checks. Returns null when no mode is active
   * (the op runs normally), else the output: in RECORD mode computed by the fused kernel, whose matrix A is stored;
   * in REPLAY and REFINE mode {@code A_recorded · (V ⊙ gate)} (REFINE also counts the window's sums). No output is
   * differentiable (inference only).
   */
  static Tensor intercept(Tensor x, Tensor y, Tensor v, Tensor gate, Tensor tau, int heads) {
    Active a = CURRENT.get();
    if (a == null) return null;
    // recording and replaying run the kernels directly: inference only
    OpSupport.requireNoGradient("channel attention under an AttentionContext scope", x, y, v, gate, tau);
    long b = x.size(0), d = x.size(1), c = d / heads, n = x.size(2) * x.size(3);
    PointerScope outer = PointerScope.getInnerScope();
    if (a.mode == Mode.RECORD) {
      try (PointerScope scope = new PointerScope()) {
        Tensor xc = x.contiguous();
        Tensor o = OpSupport.empty(xc, b, d, x.size(2), x.size(3));
        Tensor g = OpSupport.empty(xc, b, heads, c, c);
        Tensor m = OpSupport.empty(xc, b, heads, c, c);
        Tensor r = OpSupport.empty(xc, b, heads, c);
        Tensor s = OpSupport.empty(xc, b, heads, c);
        if (b > 0) {
          ChannelAttention.forward(xc, y.contiguous(), v.contiguous(), gate == null ? null : gate.contiguous(),
              tau.reshape(heads).contiguous(), b, heads, c, n, o, g, m, r, s);
        }
        store(a, m);
        return Scopes.escape(o, outer);
      }
    }
    Tensor rec = next(a, b, heads, c);
    if (a.mode == Mode.REFINE) count(a, x, y, tau, heads);
    try (PointerScope scope = new PointerScope()) {
      return Scopes.escape(ChannelAttention.applyMatrix(rec.to(x), v, gate), outer);
    }
  }

  /**
   * Under a refinement, adds the sums of the call just replayed over the scope's window: for each image and head the
   * Gram of {@code [X_h; Y_h]} ({@code 2c × 2c}: {@code X_h Y_hᵀ} and both squared row norms from one product).
   */
  private static void count(Active a, Tensor x, Tensor y, Tensor tau, int heads) {
    long b = x.size(0), c = x.size(1) / heads;
    try (PointerScope scope = new PointerScope()) {
      Tensor xs = a.inWindow(x).reshape(b * heads, c, -1);
      Tensor ys = a.inWindow(y).reshape(b * heads, c, -1);
      Tensor z = torch.cat(new TensorVector(xs, ys), 1);
      a.addSums(FoldedAttention.doubles(z.matmul(z.transpose(1, 2))), tau, b, heads, c);
    }
  }

  /**
   * {@link #refined} for rows and columns that are projections of one input, {@code X = W_x in}, {@code Y = W_y in}
   * (IG-MSA's keys and queries): only the window's Gram {@code S = in inᵀ} ({@code d × d}) is summed over its pixels,
   * and each head's {@code [X_h; Y_h][X_h; Y_h]ᵀ = W_h S W_hᵀ} with {@code W_h = [W_x,h; W_y,h]} follows in double,
   * so the projections are never formed (at level 0 of DeepSPG-S a quarter of the products; the window is copied
   * once, as in {@link #count}).
   *
   * @param in the block's input {@code [B, d, H, W]}
   * @param wx the rows' weight {@code [d, d]} (out × in, or {@code [d, d, 1, 1]})
   * @param wy the columns' weight, like {@code wx}
   */
  static void refinedProjections(Tensor in, Tensor wx, Tensor wy, Tensor tau, int heads) {
    Active a = CURRENT.get();
    if (a == null || a.mode != Mode.REFINE) return;
    long b = in.size(0);
    int d = (int) in.size(1), c = d / heads, c2 = 2 * c;
    double[] s;
    try (PointerScope scope = new PointerScope()) {
      Tensor xs = a.inWindow(in).reshape(b, d, -1);
      s = FoldedAttention.doubles(xs.matmul(xs.transpose(1, 2)));
    }
    double[] w1 = FoldedAttention.doubles(wx), w2 = FoldedAttention.doubles(wy);
    double[] p = new double[(int) b * heads * c2 * c2];
    double[] ws = new double[c2 * d]; // W_h S for one head
    for (int bi = 0; bi < b; bi++) {
      int so = bi * d * d;
      for (int h = 0; h < heads; h++) {
        for (int i = 0; i < c2; i++) {
          double[] w = i < c ? w1 : w2;
          int row = (h * c + i % c) * d;
          for (int l = 0; l < d; l++) {
            double acc = 0;
            for (int m = 0; m < d; m++) acc += w[row + m] * s[so + m * d + l];
            ws[i * d + l] = acc;
          }
        }
        int po = (bi * heads + h) * c2 * c2;
        for (int i = 0; i < c2; i++) {
          for (int j = 0; j < c2; j++) {
            double[] w = j < c ? w1 : w2;
            int row = (h * c + j % c) * d;
            double acc = 0;
            for (int l = 0; l < d; l++) acc += ws[i * d + l] * w[row + l];
            p[po + i * c2 + j] = acc;
          }
        }
      }
    }
    a.addSums(p, tau, b, heads, c);
  }

  /**
   * For an attention computed outside {@link ChannelAttention#apply} ({@link FoldedAttention}), right after
   * {@link #nextReplayed} gave its matrix under a refinement: adds the call's sums over the window.
   *
   * @param x the rows of the softmax {@code [B, heads·c, H, W]}
   * @param y its columns, like x
   */
  static void refined(Tensor x, Tensor y, Tensor tau, int heads) {
    Active a = CURRENT.get();
    if (a != null && a.mode == Mode.REFINE) count(a, x, y, tau, heads);
  }

  /** The replay's next matrix after checking it fits; the cursor moves past it. */
  private static Tensor next(Active a, long b, int heads, long c) {
    int k = a.cursor;
    if (k >= a.recording.calls()) {
      a.failed = true;
      throw new IllegalStateException("attention replay: call " + (k + 1) + " has no recorded matrix (only "
          + a.recording.calls() + " recorded): the replayed forward pass differs from the recorded one");
    }
    Tensor rec = a.recording.matrix(k);
    if (rec.size(1) != heads || rec.size(2) != c || (rec.size(0) != 1 && rec.size(0) != b)) {
      a.failed = true;
      throw new IllegalStateException("attention replay: call " + (k + 1) + " wants batch " + b + ", heads " + heads
          + ", c " + c + " but the recorded matrix is [" + rec.size(0) + ", " + rec.size(1) + ", " + rec.size(2)
          + ", " + rec.size(3) + "]: the replayed forward pass differs from the recorded one");
    }
    a.cursor++;
    return rec;
  }

  /**
   * For an attention computed outside {@link ChannelAttention#apply} ({@link FoldedAttention}): under a replay or a
   * refinement the next recorded matrix {@code [1 or B, heads, c, c]} (checked like {@code apply}'s), else null.
   */
  static Tensor nextReplayed(long b, int heads, long c) {
    Active a = CURRENT.get();
    return a == null || a.mode == Mode.RECORD ? null : next(a, b, heads, c);
  }

  /**
   * For an attention computed outside {@link ChannelAttention#apply}: under a recording, stores its matrices
   * {@code a} ({@code [B, heads, c, c]} flattened) as a float tensor on {@code like}'s device; else nothing.
   */
  static void recordMatrices(double[] a, long b, int heads, long c, Tensor like) {
    Active act = CURRENT.get();
    if (act == null || act.mode != Mode.RECORD) return;
    float[] f = new float[a.length];
    for (int i = 0; i < a.length; i++) f[i] = (float) a[i];
    try (PointerScope scope = new PointerScope()) {
      Tensor m = OpSupport.empty(like, b, heads, c, c);
      OpSupport.f32(m).put(f);
      store(act, m);
    }
  }

  /**
   * For an attention computed outside {@link ChannelAttention#apply} by the fused kernel's first sweep: under a
   * recording, stores its matrix {@code m [B, heads, c, c]} itself; else nothing.
   */
  static void recordMatrix(Tensor m) {
    Active act = CURRENT.get();
    if (act != null && act.mode == Mode.RECORD) store(act, m);
  }

  /** Appends m to the recording (which owns a reference from now on) and moves the cursor past it. */
  private static void store(Active a, Tensor m) {
    m.retainReference();
    a.recording.add(m);
    a.cursor++;
  }
}
