/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.SharedModuleVector;
import org.bytedeco.pytorch.TensorVector;

/**
 * Sets train/eval mode without libtorch's recursive {@code Module::train}, which is unsafe for our module trees.
 *
 * <p><b>Why.</b> bytedeco maps {@code Module::train} (and {@code to}) as JavaCPP {@code @Virtual}: every module
 * allocated from Java through {@code Module}'s own constructor (a Java subclass such as {@code IGAB}, or a plain
 * {@code new Module()} container) gets a C++ peer that calls back into its Java object through a <em>weak</em> JNI
 * reference. The recursive {@code train}/{@code eval}/{@code to} of a parent calls that callback for every child;
 * once the garbage collector has reclaimed a child's Java object (a container kept only in a local variable during
 * construction, e.g. DeepSPG's {@code ModuleListImpl}s' Java-side siblings or HRNet's {@code new Module()} rows) the
 * call fails with "java.lang.RuntimeException: java.lang.NullPointerException". Seen with DeepSPG, HRNet and CLIP
 * after a {@code System.gc()}.
 *
 * <p><b>What this does instead.</b> It walks {@code modules()} (a non-virtual C++ traversal) and flips the mode of
 * each <em>leaf</em> module only (stock layers such as BatchNorm have no Java peer, so their {@code train} is plain
 * C++). A leaf whose callback fails (a reclaimed Java-subclass leaf) is skipped: our Java leaves have no
 * mode-dependent behaviour. Containers keep their flag, which none of our forwards read.
 */
public final class ModuleModes {
  private ModuleModes() {}

  /**
   * @param root module tree
   * @param training true for training mode, false for eval (BatchNorm running statistics)
   * @return the number of leaf modules whose mode could not be set (reclaimed Java leaves; harmless, see above)
   */
  public static int setTraining(Module root, boolean training) {
    int skipped = 0;
    try (PointerScope s = new PointerScope()) {
      SharedModuleVector all = root.modules(true);
      for (long i = 0; i < all.size(); i++) {
        Module m = all.get(i);
        if (m.children().size() > 0) continue;
        try {
          m.train(training);
        } catch (RuntimeException e) {
          skipped++;
        }
      }
    }
    return skipped;
  }

  /**
   * Freezes a prior network: eval mode on every leaf ({@link #setTraining}) and {@code requires_grad = false} on
   * every parameter (gradients still flow to inputs that require them).
   *
   * @param m the network
   * @param <M> its type
   * @return m
   */
  public static <M extends Module> M freeze(M m) {
    setTraining(m, false);
    try (PointerScope s = new PointerScope()) {
      TensorVector ps = m.parameters();
      for (long i = 0; i < ps.size(); i++) ps.get(i).requires_grad_(false);
    }
    return m;
  }
}
