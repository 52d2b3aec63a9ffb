/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.benchmarks;

import org.bytedeco.pytorch.Tensor;

/** Trial-lifetime inputs of the benchmarks: made inside a setup's PointerScope, kept past it until tear-down. */
final class Retained {
  private Retained() {}

  /**
   * @param t a tensor made inside a {@code PointerScope} that is about to close
   * @return t, with one more reference (the benchmark closes it in its tear-down)
   */
  static Tensor keep(Tensor t) {
    t.retainReference();
    return t;
  }
}
