/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.io;

import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * An insertion-ordered, immutable map from state-dict names to {@link TensorData}, in the order the checkpoint
 * stores them. Derived dicts ({@link #stripPrefix}, {@link #filter}) share the tensor data.
 */
public final class StateDict implements Iterable<TensorData> {
  private final Map<String, TensorData> map;

  private StateDict(Map<String, TensorData> map) {
    this.map = Collections.unmodifiableMap(map);
  }

  /**
   * @param tensors entries in order; each is keyed by its {@link TensorData#name()}
   * @return the state dict
   * @throws IllegalArgumentException on a duplicate name
   */
  public static StateDict of(Iterable<TensorData> tensors) {
    Map<String, TensorData> m = new LinkedHashMap<>();
    for (TensorData t : tensors) {
      if (m.put(t.name(), t) != null) {
        throw new IllegalArgumentException("duplicate state-dict name " + t.name());
      }
    }
    return new StateDict(m);
  }

  /** @return the tensor called {@code name}, or null if absent */
  public TensorData get(String name) {
    return map.get(name);
  }

  /** @return whether {@code name} is present */
  public boolean contains(String name) {
    return map.containsKey(name);
  }

  /** @return the names, in checkpoint order (unmodifiable) */
  public Set<String> names() {
    return map.keySet();
  }

  /** @return number of entries */
  public int size() {
    return map.size();
  }

  /** @return the sum of {@link TensorData#numel()} over all entries */
  public long totalNumel() {
    long n = 0;
    for (TensorData t : map.values()) {
      n += t.numel();
    }
    return n;
  }

  /**
   * @param prefix e.g. {@code "model."}
   * @return a dict where names starting with {@code prefix} lose it and all others are kept as they are
   * @throws IllegalArgumentException if stripping makes two names equal
   */
  public StateDict stripPrefix(String prefix) {
    Map<String, TensorData> m = new LinkedHashMap<>();
    for (TensorData t : map.values()) {
      String n = t.name().startsWith(prefix) ? t.name().substring(prefix.length()) : t.name();
      if (m.put(n, n.equals(t.name()) ? t : t.withName(n)) != null) {
        throw new IllegalArgumentException("stripping prefix '" + prefix + "' makes name '" + n + "' appear twice");
      }
    }
    return new StateDict(m);
  }

  /**
   * @param keep names to keep
   * @return the entries whose name passes {@code keep}, in the same order
   */
  public StateDict filter(Predicate<String> keep) {
    Map<String, TensorData> m = new LinkedHashMap<>();
    for (TensorData t : map.values()) {
      if (keep.test(t.name())) {
        m.put(t.name(), t);
      }
    }
    return new StateDict(m);
  }

  /** Iterates in checkpoint order. */
  @Override
  public Iterator<TensorData> iterator() {
    return map.values().iterator();
  }

  @Override
  public String toString() {
    return "StateDict(" + map.size() + " tensors, " + totalNumel() + " elements)";
  }
}
