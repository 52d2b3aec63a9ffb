/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import java.util.Locale;
import java.util.function.DoubleSupplier;
import java.util.function.Supplier;

/**
 * The verdict of a self-checked inference kernel with one kernel set ({@link FusedFfn}, {@link DepthwisePair},
 * {@link UpsampleSum}, {@link FoldedAttention}): whether it serves, the largest error its first-use probes showed
 * against libtorch's float64 composition, and why it is off. Each kernel names itself and its two states the way
 * {@code deepspg info} prints them.
 *
 * @param name the kernel, e.g. "fused feed-forward"
 * @param onWord the serving state, e.g. "on" or "native"
 * @param offWord the fallback, e.g. "off" or "libtorch"
 * @param enabled whether the kernel may serve
 * @param maxRelError the largest probe error relative to max(1, max |reference|) (NaN when the probes did not run)
 * @param note why it is off (empty when on)
 */
public record KernelStatus(String name, String onWord, String offWord, boolean enabled, double maxRelError,
    String note) {
  /** @return e.g. "fused feed-forward: on (self-check passed, max rel. error 4.1e-07)" or "…: off (why)" */
  public String describe() {
    return enabled
        ? String.format(Locale.ROOT, "%s: %s (self-check passed, max rel. error %.1e)", name, onWord, maxRelError)
        : name + ": " + offWord + " (" + note + ")";
  }

  /**
   * @param more words to append to the note (e.g. " on avx512": where a failed self-check ran)
   * @return this verdict with its note extended
   */
  KernelStatus withNote(String more) {
    return new KernelStatus(name, onWord, offWord, enabled, maxRelError, note + more);
  }

  /**
   * The check every such kernel runs once per process: off when system property {@code property} is {@code off},
   * or when {@code offReason} gives a reason (a kernel it builds on is off); else on when the probes' error is within
   * {@code tolerance}.
   *
   * @param name see the record
   * @param onWord see the record
   * @param offWord see the record
   * @param property the kernel's switch ({@code auto}, the default, or {@code off})
   * @param offReason a reason to stay off without probing, or null for none (may be null itself)
   * @param tolerance the largest probe error accepted
   * @param probeError runs the probes: the largest error, +inf when non-finite
   * @return the verdict
   */
  static KernelStatus check(String name, String onWord, String offWord, String property, Supplier<String> offReason,
      double tolerance, DoubleSupplier probeError) {
    if ("off".equalsIgnoreCase(System.getProperty(property, "auto").trim())) {
      return new KernelStatus(name, onWord, offWord, false, Double.NaN, property + "=off");
    }
    String reason = offReason == null ? null : offReason.get();
    if (reason != null) return new KernelStatus(name, onWord, offWord, false, Double.NaN, reason);
    double err = probeError.getAsDouble();
    if (err <= tolerance) return new KernelStatus(name, onWord, offWord, true, err, "");
    return new KernelStatus(name, onWord, offWord, false, err,
        String.format(Locale.ROOT, "self-check failed: error %.2g", err));
  }
}
