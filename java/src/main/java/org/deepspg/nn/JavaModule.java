/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.nn;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.deepspg.ops.Backends;
import org.deepspg.ops.WeightCache;

/**
 * Base class of every module this project creates from Java. A libtorch module made from Java keeps only a weak
 * reference to its Java peer (JavaCPP virtual callbacks), so a recursive {@code train()/eval()/to()} on the parent
 * fails with a NullPointerException (or aborts the JVM) once the garbage collector has reclaimed a child that no
 * Java field held. This class holds every child registered through {@link #register_module(String, Module)} (and
 * anything passed to {@link #keep}) strongly, so the Java tree lives exactly as long as its root.
 *
 * <p>{@link #close()} frees the tree's native memory at once: every parameter, gradient and buffer is emptied and
 * every {@link WeightCache} registered through {@link #cache} cleared. Closing only the root's native handle (what
 * {@code Pointer.close()} does) left all of it to the garbage collector, which does not see native memory: a service
 * that loaded and closed an HRNet-W48 model grew by 1.3 GB per load until a collection happened to run.
 */
public class JavaModule extends Module {
  private final List<Module> owned = new ArrayList<>();
  private final List<WeightCache> caches = new ArrayList<>();
  private volatile boolean closed;

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
   * Registers a cache of weights derived from this module's parameters, cleared by {@link #close()}.
   *
   * @param cache the cache (a packed weight, a layer that keeps one)
   * @param <C> its type
   * @return the same cache
   */
  protected final <C extends WeightCache> C cache(C cache) {
    caches.add(cache);
    return cache;
  }

  /**
   * Frees this module tree's native memory now: empties every parameter (and its gradient) and buffer, clears the
   * registered weight caches of every module in the tree, then closes the native handles of the tree's modules,
   * children first, and its own (the small objects go with the storages, so the freed blocks coalesce). Idempotent.
   * The module must not be running on another thread (an {@code Enhancer} waits for its calls before closing its
   * networks); its forward methods refuse to run afterwards ({@link #requireOpen}). Parameters shared with a module
   * outside the tree are emptied there too.
   */
  @Override
  public void close() {
    synchronized (this) {
      if (!closed && !isNull()) {
        clearCaches();
        try (NoGradGuard ng = new NoGradGuard()) {
          TensorVector ps = parameters(true);
          for (long i = 0; i < ps.size(); i++) {
            Tensor p = ps.get(i);
            Tensor g = p.grad();
            if (g.defined()) empty(g);
            empty(p);
          }
          TensorVector bs = buffers(true);
          for (long i = 0; i < bs.size(); i++) {
            empty(bs.get(i));
          }
        }
      }
      closed = true;
    }
    closeTree();
  }

  /** Releases the native handles of the Java tree, children first (their small objects go with the storages). */
  private void closeTree() {
    for (Module m : owned) {
      if (m instanceof JavaModule j) j.closeTree();
      else m.close();
    }
    owned.clear();
    super.close();
  }

  private void clearCaches() {
    closed = true;
    for (WeightCache c : caches) c.clear();
    for (Module m : owned) {
      if (m instanceof JavaModule j) j.clearCaches();
    }
  }

  /** Replaces the tensor's storage by an empty one (in place, so every handle on it sees the memory go). */
  private static void empty(Tensor t) {
    if (!t.defined()) return;
    if (t.__dispatch_is_inference()) {
      try (InferenceMode im = new InferenceMode()) {
        t.set_();
      }
    } else {
      t.set_();
    }
  }

  /** @return whether {@link #close()} has run on this module or a module above it */
  public final boolean isClosed() {
    return closed;
  }

  /**
   * For forward methods: refuses a closed module, whose parameters are empty.
   *
   * @throws IllegalStateException when closed
   */
  protected final void requireOpen() {
    if (closed) throw new IllegalStateException(getClass().getSimpleName() + " is closed");
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
