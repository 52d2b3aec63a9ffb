/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import org.deepspg.kernels.global.kernels;

/**
 * The illumination prior channel concatenated to the input image (spec §1.3, §3 Kernel A; switch
 * {@code retinex.prior}, written {@code mean} or {@code max}: see {@link org.deepspg.io.ConfigValues}). The one enum
 * for it: the network configuration ({@code DeepSPGConfig}), the illumination estimator and the fused kernel share it.
 */
public enum PriorMode {
  /** P = (I0 + I1 + I2) / 3 (Retinexformer, the default). */
  MEAN(kernels.DEEPSPG_PRIOR_MEAN),
  /** P = max_c I_c (LIME-style), gradient to the first arg-max channel like {@code torch.max}. */
  MAX(kernels.DEEPSPG_PRIOR_MAX);

  final int code;

  PriorMode(int code) {
    this.code = code;
  }
}
