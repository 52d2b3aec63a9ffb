/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.ConcurrentHashMap;
import org.deepspg.infer.Enhancer;

/**
 * One {@link Enhancer} per executor JVM and settings, created on first use and reused by every later partition and
 * task (loading a model costs far more than enhancing one image). Concurrent tasks of one executor share it and
 * take turns (each partition's job in {@link EnhanceImages} holds it while it enhances); their parallelism is
 * libtorch's intra-op threads, so an executor should run one task at a time per model or set the intra-op threads to
 * its cores (docs/scaling.md). The Enhancers live until the JVM exits.
 */
public final class EnhancerPool {
  private static final ConcurrentHashMap<EnhancerSettings, Enhancer> POOL = new ConcurrentHashMap<>();

  private EnhancerPool() {}

  /**
   * @param settings model choices
   * @return this JVM's Enhancer for them, built now if it is the first request
   * @throws UncheckedIOException when the model cannot be loaded
   * @throws IllegalArgumentException for inconsistent settings
   */
  public static Enhancer get(EnhancerSettings settings) {
    return POOL.computeIfAbsent(settings, s -> {
      try {
        org.deepspg.ops.NativeLibrary.extractLibraries();
        return s.builder().build();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot load model " + s.model() + ": " + e.getMessage(), e);
      }
    });
  }

  /** @return how many Enhancers this JVM holds (tests check reuse) */
  public static int size() {
    return POOL.size();
  }
}
