/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** Applies storage offsets and strides: {@link Py.TensorRef}s plus raw storages become {@link TensorData}. */
final class Materializer {
  /** Largest tensor that may hold more elements than its storage view (broadcast-like strides): 1 MiB. */
  static final long MAX_EXPANDED_BYTES = 1L << 20;

  private Materializer() {}

  /** Supplies the raw bytes of a root storage. */
  interface Storages {
    /**
     * @param ref the storage reference (its key names the root storage)
     * @return all bytes of the root storage, little-endian
     */
    ByteBuffer bytes(Py.StorageRef ref) throws CheckpointFormatException;
  }

  static StateDict build(Map<String, Py.TensorRef> refs, Storages storages, String where)
      throws CheckpointFormatException {
    List<TensorData> out = new ArrayList<>(refs.size());
    for (Map.Entry<String, Py.TensorRef> e : refs.entrySet()) {
      out.add(materialize(e.getKey(), e.getValue(), storages, where));
    }
    return StateDict.of(out);
  }

  static TensorData materialize(String name, Py.TensorRef r, Storages storages, String where)
      throws CheckpointFormatException {
    Py.StorageRef st = r.storage;
    DType dt = st.dtype;
    int elem = dt.bytes();
    String what = where + ": tensor '" + name + "' " + dt.torchName() + Arrays.toString(r.size) + " stride "
        + Arrays.toString(r.stride) + " offset " + r.offset + " in storage '" + st.key + "'";
    long numel = 1;
    long maxIndex = r.offset;
    try {
      if (r.offset < 0 || st.elemOffset < 0 || st.numel < 0) {
        throw new CheckpointFormatException(what + ": negative offset or size");
      }
      for (int i = 0; i < r.size.length; i++) {
        if (r.size[i] < 0 || r.stride[i] < 0) {
          throw new CheckpointFormatException(what + ": negative size or stride");
        }
        numel = Math.multiplyExact(numel, r.size[i]);
        if (r.size[i] > 0) {
          maxIndex = Math.addExact(maxIndex, Math.multiplyExact(r.size[i] - 1, r.stride[i]));
        }
      }
      Math.multiplyExact(Math.addExact(st.elemOffset, st.numel), (long) elem);
    } catch (ArithmeticException e) {
      throw new CheckpointFormatException(what + ": sizes overflow 64 bits");
    }
    if (numel > 0 && maxIndex >= st.numel) {
      throw new CheckpointFormatException(what + ": reaches element " + maxIndex + " but the storage view has only "
          + st.numel + " elements");
    }
    // A view may not hold more elements than its storage (plus a small allowance): stride 0 or overlapping strides
    // would otherwise expand a few bytes of file into gigabytes of copies.
    if (numel > st.numel && numel * elem > MAX_EXPANDED_BYTES) {
      throw new CheckpointFormatException(what + ": " + numel + " elements from a storage view of " + st.numel
          + " (stride 0 or overlapping strides expanding it " + (numel / Math.max(1, st.numel)) + "-fold)");
    }
    if (numel * elem > Integer.MAX_VALUE - 8) {
      throw new CheckpointFormatException(what + ": " + numel * elem + " bytes; tensors over 2 GiB are not supported");
    }
    if (numel == 0) {
      return new TensorData(name, dt, r.size, ByteBuffer.allocate(0));
    }
    ByteBuffer root = storages.bytes(st);
    long viewStart = st.elemOffset * elem;
    long viewEnd = viewStart + st.numel * elem;
    if (viewEnd > root.remaining()) {
      throw new CheckpointFormatException(what + ": the storage view needs bytes [" + viewStart + ", " + viewEnd
          + ") but storage '" + st.key + "' holds only " + root.remaining() + " bytes");
    }
    long base = viewStart + r.offset * elem;
    if (isContiguous(r.size, r.stride)) {
      ByteBuffer b = root.duplicate();
      b.position((int) base);
      b.limit((int) (base + numel * elem));
      return new TensorData(name, dt, r.size, b.slice().order(ByteOrder.LITTLE_ENDIAN));
    }
    // Strided view: gather into a dense copy with an odometer over the dimensions.
    byte[] dst = new byte[(int) (numel * elem)];
    int nd = r.size.length;
    long[] idx = new long[nd];
    long src = base;
    for (long k = 0; k < numel; k++) {
      root.get((int) src, dst, (int) (k * elem), elem);
      for (int d = nd - 1; d >= 0; d--) {
        if (++idx[d] < r.size[d]) {
          src += r.stride[d] * elem;
          break;
        }
        src -= (r.size[d] - 1) * r.stride[d] * elem;
        idx[d] = 0;
      }
    }
    return new TensorData(name, dt, r.size, ByteBuffer.wrap(dst).order(ByteOrder.LITTLE_ENDIAN));
  }

  /** C-order contiguity; dimensions of size 1 may have any stride. */
  static boolean isContiguous(long[] size, long[] stride) {
    long expect = 1;
    for (int d = size.length - 1; d >= 0; d--) {
      if (size[d] != 1 && stride[d] != expect) {
        return false;
      }
      expect *= size[d];
    }
    return true;
  }
}
