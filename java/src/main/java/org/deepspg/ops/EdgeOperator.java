/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import org.deepspg.kernels.global.kernels;

/** The derivative operator of the edge loss (spec §4.2, switch {@code edge.operator}). */
public enum EdgeOperator {
  /** Forward differences, no padding (the default). */
  DIFF(kernels.DEEPSPG_EDGE_DIFF),
  /** 3x3 Sobel with replicate padding. */
  SOBEL(kernels.DEEPSPG_EDGE_SOBEL);

  final int code;

  EdgeOperator(int code) {
    this.code = code;
  }
}
