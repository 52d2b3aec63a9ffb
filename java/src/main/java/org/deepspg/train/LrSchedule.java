/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

/**
 * Cosine decay from the initial learning rate to a floor over the run's total steps (spec §4.5: 3e-4 → 1e-6,
 * Retinexformer's second cycle without restart), with an optional linear warm-up.
 *
 * @param base initial learning rate
 * @param min final learning rate
 * @param totalSteps steps of the whole run (all coarse-to-fine stages)
 * @param warmupSteps linear warm-up steps from 0 (0 = none)
 */
public record LrSchedule(double base, double min, long totalSteps, long warmupSteps) {
  /** Validates the arguments. */
  public LrSchedule {
    if (!(base > 0) || !(min >= 0) || min > base || totalSteps < 1 || warmupSteps < 0) {
      throw new IllegalArgumentException("bad LR schedule: base=" + base + " min=" + min + " total=" + totalSteps
          + " warmup=" + warmupSteps);
    }
  }

  /**
   * @param step 0-based step index
   * @return the learning rate for that step
   */
  public double at(long step) {
    if (warmupSteps > 0 && step < warmupSteps) return base * (step + 1) / warmupSteps;
    long span = Math.max(1, totalSteps - warmupSteps);
    double t = Math.min(1.0, (double) (step - warmupSteps) / span);
    return min + 0.5 * (base - min) * (1 + Math.cos(Math.PI * t));
  }
}
