/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.io;

import java.math.BigInteger;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns an unpickled object into state-dict names: dict keys, TorchScript module attribute names and list
 * indices along the path are joined with '.'. A plain {@code torch.save(model.state_dict())} gives the state-dict
 * names unchanged; a TorchScript archive's module tree gives the names of {@code module.state_dict()}; a training
 * checkpoint {@code {"epoch": 3, "state_dict": {...}}} gives {@code "state_dict.<name>"}. Non-tensor leaves
 * (ints, strings, bools, None) are skipped.
 */
final class Flattener {
  private static final int MAX_DEPTH = 1000;
  private static final long MAX_VISITS = 1_000_000L; // a DAG walk this long takes well under a second

  private final String where;
  private final Map<String, Py.TensorRef> out = new LinkedHashMap<>();
  private final Set<Object> onPath = Collections.newSetFromMap(new IdentityHashMap<>());
  private long visits;

  private Flattener(String where) {
    this.where = where;
  }

  static Map<String, Py.TensorRef> flatten(Object root, String where) throws CheckpointFormatException {
    Flattener f = new Flattener(where);
    f.walk(root, "", 0);
    return f.out;
  }

  private static String join(String prefix, String key) {
    return prefix.isEmpty() ? key : prefix + "." + key;
  }

  private void walk(Object o, String path, int depth) throws CheckpointFormatException {
    if (++visits > MAX_VISITS) {
      throw new CheckpointFormatException(where + ": object graph too large (more than " + MAX_VISITS + " nodes)");
    }
    if (depth > MAX_DEPTH) {
      throw new CheckpointFormatException(where + ": objects nested deeper than " + MAX_DEPTH + " levels at '" + path
          + "'");
    }
    if (o instanceof Py.TensorRef) {
      if (out.containsKey(path)) {
        throw new CheckpointFormatException(where + ": two tensors map to the name '" + path + "'");
      }
      out.put(path, (Py.TensorRef) o);
      return;
    }
    boolean container = o instanceof Map || o instanceof List || o instanceof Py.Obj;
    if (!container || !onPath.add(o)) {
      return; // a leaf, or a reference cycle
    }
    try {
      if (o instanceof Py.Obj) {
        walk(((Py.Obj) o).state, path, depth + 1);
      } else if (o instanceof Map) {
        for (Map.Entry<?, ?> e : ((Map<?, ?>) o).entrySet()) {
          Object k = e.getKey();
          if (k instanceof String || k instanceof Long || k instanceof BigInteger) {
            walk(e.getValue(), join(path, k.toString()), depth + 1);
          }
        }
      } else {
        List<?> l = (List<?>) o;
        for (int i = 0; i < l.size(); i++) {
          walk(l.get(i), join(path, Integer.toString(i)), depth + 1);
        }
      }
    } finally {
      onPath.remove(o);
    }
  }
}
