/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

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
    REPLAY
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

    /** Releases the recorded matrices. */
    @Override
    public synchronized void close() {
      if (closed) return;
      closed = true;
      for (Tensor t : matrices) t.releaseReference();
      matrices.clear();
    }
  }

  /** An installed mode on the current thread; closing it restores the previous one. */
  public static final class Scope implements AutoCloseable {
    private final Active active;
    private final Active previous;
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
     * replayed network made exactly as many attention calls as the recorded one).
     *
     * @throws IllegalStateException when a replay consumed fewer calls than were recorded
     */
    @Override
    public void close() {
      if (closed) return;
      closed = true;
      if (CURRENT.get() != active) {
        CURRENT.remove();
        throw new IllegalStateException("AttentionContext scopes closed out of order");
      }
      if (previous == null) CURRENT.remove();
      else CURRENT.set(previous);
      if (active.mode == Mode.REPLAY && !active.failed && active.cursor != active.recording.calls()) {
        throw new IllegalStateException("attention replay used " + active.cursor + " of "
            + active.recording.calls() + " recorded attention calls: the replayed forward pass differs from the "
            + "recorded one");
      }
    }
  }

  private static final class Active {
    final Mode mode;
    final Recording recording;
    int cursor;
    boolean failed;

    Active(Mode mode, Recording recording) {
      this.mode = mode;
      this.recording = recording;
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
    return install(new Active(Mode.RECORD, into));
  }

  /**
   * Starts replaying on the current thread until the returned scope is closed; the cursor starts at call 0.
   *
   * @param from a finished recording
   * @return the scope
   */
  public static Scope replay(Recording from) {
    if (from == null) throw new IllegalArgumentException("recording is null");
    return install(new Active(Mode.REPLAY, from));
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
   * in REPLAY mode {@code A_recorded · (V ⊙ gate)}. Neither output is differentiable (inference only).
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
    try (PointerScope scope = new PointerScope()) {
      return Scopes.escape(ChannelAttention.applyMatrix(rec.to(x), v, gate), outer);
    }
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
   * For an attention computed outside {@link ChannelAttention#apply} ({@link FoldedAttention}): under a replay the
   * next recorded matrix {@code [1 or B, heads, c, c]} (checked like {@code apply}'s), else null.
   */
  static Tensor nextReplayed(long b, int heads, long c) {
    Active a = CURRENT.get();
    return a == null || a.mode != Mode.REPLAY ? null : next(a, b, heads, c);
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
