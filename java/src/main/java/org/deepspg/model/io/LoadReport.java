/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.io;

import java.util.List;

/** What {@link ModuleLoader#load} did; all names are module-side names (after prefix stripping). */
public final class LoadReport {
  private final List<String> loaded;
  private final List<String> unknownDropped;
  private final List<String> ignored;

  LoadReport(List<String> loaded, List<String> unknownDropped, List<String> ignored) {
    this.loaded = List.copyOf(loaded);
    this.unknownDropped = List.copyOf(unknownDropped);
    this.ignored = List.copyOf(ignored);
  }

  /** @return parameters and buffers that received checkpoint values, in module order */
  public List<String> loaded() {
    return loaded;
  }

  /** @return checkpoint names the module does not have (dropped, in checkpoint order) */
  public List<String> unknownDropped() {
    return unknownDropped;
  }

  /** @return names matched by the ignore predicate (module names first, then checkpoint-only names) */
  public List<String> ignored() {
    return ignored;
  }

  @Override
  public String toString() {
    return "LoadReport(loaded " + loaded.size() + ", unknown dropped " + unknownDropped + ", ignored "
        + ignored.size() + ")";
  }
}
