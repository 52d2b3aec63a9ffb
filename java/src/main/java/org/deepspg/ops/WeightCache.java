/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

/**
 * Native memory a layer derives from its parameters and keeps between calls: packed weights ({@link WeightPack}),
 * HRNet's BatchNorm-folded and Winograd-transformed ones. A module registers each cache it owns
 * ({@code org.deepspg.nn.JavaModule#cache}) so that closing the network frees them at once; the garbage collector
 * alone does not know how much native memory a cache holds (HRNet-W48's are about 0.9 GB) and may never run.
 */
public interface WeightCache {
  /** Frees the derived copies; a later call derives them anew (but a closed module refuses to run). */
  void clear();
}
