/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import java.util.Locale;

/** Which part of a dataset to load. */
public enum Split {
  /** The training pairs (LOL-v1 {@code our485}, LOL-v2 {@code Train}, {@code train/}). */
  TRAIN,
  /** The evaluation pairs (LOL-v1 {@code eval15}, LOL-v2 {@code Test}, {@code test/}). */
  TEST,
  /** Both, or the only set of a flat {@code low/ + high/} folder. */
  ALL;

  /**
   * @param s "train", "test" or "all" (case-insensitive; "eval" means test)
   * @return the split
   * @throws IllegalArgumentException for anything else
   */
  public static Split parse(String s) {
    return switch (s.toLowerCase(Locale.ROOT)) {
      case "train" -> TRAIN;
      case "test", "eval" -> TEST;
      case "all" -> ALL;
      default -> throw new IllegalArgumentException("unknown split '" + s + "'; use train, test or all");
    };
  }
}
