/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

/**
 * Training diverged: a loss, a gradient norm or the network's output became non-finite (too high a learning rate or
 * loss weight, usually). The run stops without writing a checkpoint of the diverged weights: the last one written is
 * from before the divergence.
 */
public class TrainingDivergedException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  /** @param message what diverged, where, and what to change */
  public TrainingDivergedException(String message) {
    super(message);
  }
}
