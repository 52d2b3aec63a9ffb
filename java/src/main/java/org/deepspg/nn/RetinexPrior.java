/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.nn;

import java.util.Locale;

/** The illumination prior channel concatenated to the input image (spec §1.3, §3 Kernel A; switch retinex.prior). */
public enum RetinexPrior {
  /** {@code P = mean_c(I)} (Retinexformer, default). */
  MEAN,
  /** {@code P = max_c(I)} (LIME-style variant); gradient goes to the first arg-max channel like {@code torch.max}. */
  MAX;

  /** @return the lower-case name used in configuration text ({@code mean} / {@code max}) */
  public String key() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * @param s {@code mean} or {@code max} (case-insensitive)
   * @return the prior
   */
  public static RetinexPrior parse(String s) {
    for (RetinexPrior p : values()) {
      if (p.key().equalsIgnoreCase(s.trim())) {
        return p;
      }
    }
    throw new IllegalArgumentException("retinex.prior must be mean or max, got '" + s + "'");
  }
}
