/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.nn;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.TensorVector;
import org.deepspg.ops.Backends;

/**
 * Base class of every module this project creates from Java. A libtorch module made from Java keeps only a weak
 * reference to its Java peer (JavaCPP virtual callbacks), so a recursive {@code train()/eval()/to()} on the parent
 * fails with a NullPointerException (or aborts the JVM) once the garbage collector has reclaimed a child that no
 * Java field held. This class holds every child registered through {@link #register_module(String, Module)} (and
 * anything passed to {@link #keep}) strongly, so the Java tree lives exactly as long as its root.
 */
public class JavaModule extends Module {
  private final List<Module> owned = new ArrayList<>();

  /**
   * Creates an empty module (also usable as a named container), applying the project's backend settings first
   * ({@link Backends#init()}: oneDNN off unless verified, NNPACK off, threads). A module built and run through
   * libtorch alone, with no kernel of ours touched, used to run on libtorch's defaults: oneDNN on, which computes
   * NaN gradients through HRNet on the AVX-512 EPYC of CI (1 run in 4 of {@code HRNetStructureTest} alone).
   */
  public JavaModule() {
    super();
    Backends.init();
  }

  @Override
  public <M extends Module> M register_module(String name, M module) {
    owned.add(module);
    return super.register_module(name, module);
  }

  /**
   * Keeps a module strongly reachable from this one (for children added through other routes, e.g.
   * {@code ModuleListImpl.push_back}).
   *
   * @param module the child
   * @param <M> its type
   * @return the same module
   */
  public <M extends Module> M keep(M module) {
    owned.add(module);
    return module;
  }

  /**
   * Eval mode and {@code requires_grad = false} on every parameter (how frozen prior networks are used).
   */
  protected final void freezeParameters() {
    eval();
    TensorVector ps = parameters();
    for (long i = 0; i < ps.size(); i++) {
      ps.get(i).requires_grad_(false);
    }
  }

  /**
   * Number of parameter elements of this module tree (buffers such as BN running statistics excluded).
   *
   * @return the sum of {@code numel()} over {@link #parameters()}
   */
  public final long parameterElements() {
    TensorVector ps = parameters();
    long n = 0;
    for (long i = 0; i < ps.size(); i++) {
      n += ps.get(i).numel();
    }
    return n;
  }
}
