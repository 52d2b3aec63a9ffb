/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.io;

import java.util.AbstractList;
import java.util.Arrays;

/**
 * The Java values the unpickler builds. Python None is Java null, bool is Boolean, int is Long (BigInteger when
 * it does not fit), float is Double, str is String, bytes is byte[], list is ArrayList, dict is LinkedHashMap,
 * set is LinkedHashSet; the classes below cover the rest. Nothing here ever runs checkpoint-supplied code.
 */
final class Py {
  private Py() {}

  /** An immutable Python tuple (equality by content, so it works as a dict key). */
  static final class Tuple extends AbstractList<Object> {
    static final Tuple EMPTY = new Tuple(new Object[0]);
    private final Object[] items;

    Tuple(Object[] items) {
      this.items = items;
    }

    @Override
    public Object get(int i) {
      return items[i];
    }

    @Override
    public int size() {
      return items.length;
    }
  }

  /** What an allowlisted global stands for. */
  enum Kind {
    ORDERED_DICT, REBUILD_TENSOR, REBUILD_TENSOR_V2, REBUILD_PARAMETER, REBUILD_PARAMETER_WITH_STATE,
    STORAGE_CLASS, TORCH_DTYPE, TORCH_DEVICE, TORCH_SIZE, SET, FROZENSET, CODECS_ENCODE, TORCHSCRIPT_CLASS,
    JIT_BUILD_LIST, JIT_RESTORE_TYPE_TAG
  }

  /** A resolved, allowlisted global ({@code module.name}). */
  static final class Global {
    final String module;
    final String name;
    final Kind kind;
    /** For STORAGE_CLASS and TORCH_DTYPE: the element type. */
    final DType dtype;

    Global(String module, String name, Kind kind, DType dtype) {
      this.module = module;
      this.name = name;
      this.kind = kind;
      this.dtype = dtype;
    }

    @Override
    public String toString() {
      return module + "." + name;
    }
  }

  /** An instance of an allowlisted class (TorchScript {@code __torch__.*} modules): class name + BUILD state. */
  static final class Obj {
    final String className;
    Object state;

    Obj(String className) {
      this.className = className;
    }

    @Override
    public String toString() {
      return "<" + className + ">";
    }
  }

  /**
   * A reference to (a view of) a raw storage: {@code numel} elements of {@code dtype} starting {@code elemOffset}
   * elements into the root storage {@code key}.
   */
  static final class StorageRef {
    final String key;
    final DType dtype;
    final String location;
    final long elemOffset;
    final long numel;

    StorageRef(String key, DType dtype, String location, long elemOffset, long numel) {
      this.key = key;
      this.dtype = dtype;
      this.location = location;
      this.elemOffset = elemOffset;
      this.numel = numel;
    }

    @Override
    public String toString() {
      return "storage " + key + " (" + dtype + ", " + numel + " elements" + (elemOffset != 0 ? ", view at " + elemOffset : "")
          + ")";
    }
  }

  /** A tensor view of a storage: {@code _rebuild_tensor_v2(storage, offset, size, stride, ...)}. */
  static final class TensorRef {
    final StorageRef storage;
    final long offset;
    final long[] size;
    final long[] stride;

    TensorRef(StorageRef storage, long offset, long[] size, long[] stride) {
      this.storage = storage;
      this.offset = offset;
      this.size = size;
      this.stride = stride;
    }

    @Override
    public String toString() {
      return "tensor " + storage.dtype + Arrays.toString(size);
    }
  }
}
