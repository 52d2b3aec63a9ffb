/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import java.util.function.Supplier;

/**
 * A self-check's verdict, computed on the first {@link #get} of the process (not at class initialisation: the check
 * runs kernels and libtorch ops) and then kept; {@link #recheck} computes it again (tests that change a mode
 * property). Thread-safe: concurrent first callers wait for the one check.
 *
 * @param <S> the verdict's type
 */
final class Verdict<S> {
  private final Supplier<S> check;
  private volatile S value;

  /** @param check computes the verdict (called under this object's lock) */
  Verdict(Supplier<S> check) {
    this.check = check;
  }

  /** @return the verdict, running the check on the first call */
  S get() {
    S v = value;
    if (v == null) {
      synchronized (this) {
        v = value;
        if (v == null) {
          v = check.get();
          value = v;
        }
      }
    }
    return v;
  }

  /** @return the verdict of a fresh run of the check, which replaces the kept one */
  synchronized S recheck() {
    value = check.get();
    return value;
  }
}
