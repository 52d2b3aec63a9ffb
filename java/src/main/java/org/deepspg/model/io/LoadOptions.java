/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.io;

import java.util.function.Predicate;

/**
 * Options for {@link ModuleLoader#load}. Fluent and mutable: {@code new LoadOptions().stripPrefix("model.")
 * .ignore(LoadOptions.NUM_BATCHES_TRACKED)}. Defaults: no prefix, nothing ignored, unknown keys dropped with a
 * warning.
 */
public final class LoadOptions {
  /** Matches BatchNorm's {@code num_batches_tracked} counters (absent from torch-0.4 checkpoints). */
  public static final Predicate<String> NUM_BATCHES_TRACKED = n -> n.endsWith("num_batches_tracked");

  private String prefix = "";
  private Predicate<String> ignore = n -> false;
  private boolean strictUnknown;

  /** Creates the defaults. */
  public LoadOptions() {}

  /** @return fresh default options */
  public static LoadOptions defaults() {
    return new LoadOptions();
  }

  /**
   * @param prefix removed from checkpoint names that start with it (others are kept as they are), e.g.
   *     {@code "model."}; empty = none
   * @return this
   */
  public LoadOptions stripPrefix(String prefix) {
    if (prefix == null) {
      throw new IllegalArgumentException("prefix must not be null (use \"\")");
    }
    this.prefix = prefix;
    return this;
  }

  /**
   * Adds names to ignore (ORed with those already ignored). An ignored name (after prefix stripping) is never
   * loaded and never an error: not when the checkpoint lacks it, not when the module lacks it, not on a shape
   * mismatch. It is listed in {@link LoadReport#ignored()}.
   *
   * @param names predicate on the module-side name
   * @return this
   */
  public LoadOptions ignore(Predicate<String> names) {
    Predicate<String> prev = this.ignore;
    this.ignore = n -> prev.test(n) || names.test(n);
    return this;
  }

  /**
   * @param strict true: checkpoint names the module does not have are an error; false (default): they are
   *     dropped with a warning and listed in {@link LoadReport#unknownDropped()}
   * @return this
   */
  public LoadOptions strictUnknown(boolean strict) {
    this.strictUnknown = strict;
    return this;
  }

  /** @return the prefix to strip ("" for none) */
  public String prefix() {
    return prefix;
  }

  /** @return the combined ignore predicate */
  public Predicate<String> ignorePredicate() {
    return ignore;
  }

  /** @return whether unknown checkpoint names are an error */
  public boolean isStrictUnknown() {
    return strictUnknown;
  }
}
