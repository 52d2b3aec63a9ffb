/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.nn;

import org.bytedeco.pytorch.Tensor;

/** Small helpers for shape checks and messages. */
public final class Shapes {
  private Shapes() {}

  /**
   * @param t a tensor (may be null)
   * @return its shape as {@code [a, b, ...]}, or {@code null}
   */
  public static String str(Tensor t) {
    if (t == null) {
      return "null";
    }
    if (!t.defined()) {
      return "undefined";
    }
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < t.dim(); i++) {
      if (i > 0) {
        sb.append(", ");
      }
      sb.append(t.size(i));
    }
    return sb.append(']').toString();
  }

  /**
   * Checks {@code t} is 4-D with the given channel count.
   *
   * @param what name for the message
   * @param t tensor, expected {@code [B, channels, H, W]}
   * @param channels expected channel count
   */
  public static void requireNchw(String what, Tensor t, long channels) {
    if (t == null || !t.defined() || t.dim() != 4 || t.size(1) != channels) {
      throw new IllegalArgumentException(what + ": expected [B, " + channels + ", H, W], got " + str(t));
    }
  }

  /**
   * Checks two NCHW tensors have equal batch and spatial size.
   *
   * @param what name for the message
   * @param a first tensor {@code [B, *, H, W]}
   * @param b second tensor {@code [B, *, H, W]}
   */
  public static void requireSameBatchAndSize(String what, Tensor a, Tensor b) {
    if (a.size(0) != b.size(0) || a.size(2) != b.size(2) || a.size(3) != b.size(3)) {
      throw new IllegalArgumentException(what + ": batch/spatial size mismatch " + str(a) + " vs " + str(b));
    }
  }

  /**
   * Checks {@code t} has the shape, dtype and device of {@code ref} (an addend that must not broadcast or promote).
   *
   * @param what name for the message
   * @param t the tensor to check (non-null)
   * @param ref the tensor it must match
   */
  public static void requireLike(String what, Tensor t, Tensor ref) {
    boolean same = t.defined() && t.dim() == ref.dim() && t.scalar_type().value == ref.scalar_type().value
        && !t.device().notEquals(ref.device());
    for (int i = 0; same && i < t.dim(); i++) same = t.size(i) == ref.size(i);
    if (!same) {
      throw new IllegalArgumentException(what + ": expected " + describe(ref) + " (no broadcasting or promotion), got "
          + describe(t));
    }
  }

  private static String describe(Tensor t) {
    return t.defined() ? str(t) + " " + t.scalar_type() + " on " + t.device().str().getString() : str(t);
  }
}
