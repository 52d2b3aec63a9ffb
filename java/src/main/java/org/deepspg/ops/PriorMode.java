/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import org.deepspg.kernels.global.kernels;

/** The illumination prior of the Retinex decomposition (spec §3, switch {@code retinex.prior}). */
public enum PriorMode {
  /** P = (I0 + I1 + I2) / 3 (Retinexformer, the default). */
  MEAN(kernels.DEEPSPG_PRIOR_MEAN),
  /** P = max_c I_c, gradient to the first arg-max channel (LIME-style). */
  MAX(kernels.DEEPSPG_PRIOR_MAX);

  final int code;

  PriorMode(int code) {
    this.code = code;
  }
}
