/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import java.util.Arrays;
import java.util.function.Supplier;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * One layer's weight packed for {@link DenseConv} ({@link DenseConv#pack}), kept while the tensors it was derived
 * from are unchanged, so that a network in inference packs each weight once instead of on every call.
 *
 * <p>"Unchanged" is judged by a stamp: the kernel's ISA, then each source tensor's storage address and version
 * counter, which every in-place write bumps (loading weights, an optimizer step, a BatchNorm statistics update). A
 * call whose stamp differs packs anew. Changing the sources while a forward runs is not supported (no more than it
 * is for the modules themselves), nor is changing in place sources made under {@code InferenceMode} (inference
 * tensors have no version counter; only a new storage is seen). Safe for concurrent forwards: a pack is replaced
 * atomically and the previous one closed, and a forward already running on the previous one finishes on it (a
 * {@link DenseConv.Packed} frees its memory only when the last call running on it returns).
 */
public final class WeightPack implements WeightCache {
  private record Entry(long[] stamp, DenseConv.Packed packed) {}

  private volatile Entry entry;

  /**
   * The packed weight for the current state of {@code sources}, packing {@code weight.get()} when they changed.
   *
   * @param weight computes the [out, in, k, k] weight from the sources (called under no-grad, in a pointer scope)
   * @param sources every tensor the weight depends on (non-null)
   * @return the packed weight, owned by this object (do not close it)
   */
  public DenseConv.Packed get(Supplier<Tensor> weight, Tensor... sources) {
    long[] stamp = stamp(sources);
    Entry e = entry;
    if (e != null && Arrays.equals(e.stamp(), stamp)) return e.packed();
    synchronized (this) {
      e = entry;
      if (e != null && Arrays.equals(e.stamp(), stamp)) return e.packed();
      DenseConv.Packed p;
      try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
        p = DenseConv.pack(weight.get());
      }
      entry = new Entry(stamp, p);
      if (e != null) e.packed().close();
      return p;
    }
  }

  /** Closes the packed weight, if any; the next {@link #get} packs anew. */
  @Override
  public synchronized void clear() {
    Entry e = entry;
    entry = null;
    if (e != null) e.packed().close();
  }

  /**
   * The kernel's ISA, then storage address and version counter of each tensor (zeros for a null entry).
   *
   * @param ts the tensors (entries may be null)
   * @return the stamp
   */
  public static long[] stamp(Tensor... ts) {
    long[] stamp = new long[1 + 2 * ts.length];
    stamp[0] = DenseConv.currentIsa();
    for (int i = 0; i < ts.length; i++) {
      if (ts[i] == null) continue;
      stamp[1 + 2 * i] = ts[i].data_ptr().address();
      stamp[2 + 2 * i] = version(ts[i]);
    }
    return stamp;
  }

  /** The tensor's version counter; −1 for an inference tensor (made under InferenceMode), which has none. */
  private static long version(Tensor t) {
    if (t.__dispatch_is_inference()) return -1;
    return t.__dispatch__version();
  }
}
