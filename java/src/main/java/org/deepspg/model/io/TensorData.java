/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * One tensor as read from a checkpoint: name, dtype, shape and its elements as a dense, C-order,
 * little-endian byte block (storage offset and strides already applied). Immutable; the data live on the
 * Java heap until {@link #toTensor()} copies them into a libtorch tensor.
 */
public final class TensorData {
  private final String name;
  private final DType dtype;
  private final long[] shape;
  private final long numel;
  private final ByteBuffer data; // position 0, limit numel * dtype.bytes(), little-endian, never handed out writable

  TensorData(String name, DType dtype, long[] shape, ByteBuffer data) {
    this.name = name;
    this.dtype = dtype;
    this.shape = shape.clone();
    this.numel = numel(shape);
    this.data = data.slice().order(ByteOrder.LITTLE_ENDIAN);
    if (this.data.remaining() != numel * dtype.bytes()) {
      throw new IllegalArgumentException("tensor " + name + ": " + dtype + Arrays.toString(shape) + " needs "
          + numel * dtype.bytes() + " bytes, got " + this.data.remaining());
    }
  }

  /**
   * Wraps raw elements.
   *
   * @param name the state-dict name
   * @param dtype element type
   * @param shape dimensions ({@code []} for a scalar), each &gt;= 0
   * @param data exactly {@code numel * dtype.bytes()} bytes from its position, little-endian C order
   *     (copied, so later changes to {@code data} do not show)
   * @return the tensor data
   * @throws IllegalArgumentException on a negative dimension or a size mismatch
   */
  public static TensorData of(String name, DType dtype, long[] shape, ByteBuffer data) {
    ByteBuffer copy = ByteBuffer.allocate(data.remaining());
    copy.put(data.duplicate());
    copy.flip();
    return new TensorData(name, dtype, shape, copy);
  }

  /**
   * Copies a libtorch tensor (any device, any layout of strides) into a {@code TensorData}.
   *
   * @param name the state-dict name
   * @param t a dense tensor whose dtype is one of {@link DType}
   * @return the tensor data
   * @throws IllegalArgumentException for an unsupported dtype
   */
  public static TensorData fromTensor(String name, Tensor t) {
    DType dt = DType.fromScalarType(t.scalar_type());
    if (dt == null) {
      throw new IllegalArgumentException("tensor " + name + ": unsupported dtype " + t.scalar_type());
    }
    long[] shape = new long[(int) t.dim()];
    for (int i = 0; i < shape.length; i++) {
      shape[i] = t.size(i);
    }
    long n = numel(shape) * dt.bytes();
    if (n > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("tensor " + name + ": " + n + " bytes is more than a Java array holds");
    }
    ByteBuffer buf = ByteBuffer.allocate((int) n).order(ByteOrder.LITTLE_ENDIAN);
    if (n > 0) {
      try (PointerScope scope = new PointerScope()) {
        Tensor c = t.detach().cpu().contiguous();
        BytePointer p = new BytePointer(c.data_ptr());
        p.capacity(n);
        p.limit(n);
        buf.put(p.asByteBuffer());
        buf.flip();
      }
    }
    return new TensorData(name, dt, shape, buf);
  }

  static long numel(long[] shape) {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
      }
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  /** The same data under another name (no copy). */
  TensorData withName(String newName) {
    return new TensorData(newName, dtype, shape, data);
  }

  /** @return the state-dict name, e.g. {@code "stage2.0.branches.1.0.conv1.weight"} */
  public String name() {
    return name;
  }

  /** @return the element type as stored in the file */
  public DType dtype() {
    return dtype;
  }

  /** @return a copy of the dimensions ({@code []} for a scalar) */
  public long[] shape() {
    return shape.clone();
  }

  /** @return the number of elements (1 for a scalar) */
  public long numel() {
    return numel;
  }

  /** @return a read-only little-endian view of exactly {@code numel * dtype.bytes()} bytes, C order */
  public ByteBuffer data() {
    return data.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
  }

  /**
   * Converts every element to float (float16/bfloat16 exactly, float64 and 64-bit ints rounded to nearest).
   *
   * @return {@code numel} floats in C order
   * @throws IllegalStateException when numel exceeds a Java array
   */
  public float[] toFloatArray() {
    if (numel > Integer.MAX_VALUE - 8) {
      throw new IllegalStateException("tensor " + name + " has " + numel + " elements, too many for a float[]");
    }
    int n = (int) numel;
    float[] out = new float[n];
    ByteBuffer b = data();
    switch (dtype) {
      case FLOAT32: b.asFloatBuffer().get(out); break;
      case FLOAT64: for (int i = 0; i < n; i++) out[i] = (float) b.getDouble(8 * i); break;
      case FLOAT16: for (int i = 0; i < n; i++) out[i] = halfToFloat(b.getShort(2 * i)); break;
      case BFLOAT16: for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat((b.getShort(2 * i) & 0xffff) << 16); break;
      case INT64: for (int i = 0; i < n; i++) out[i] = (float) b.getLong(8 * i); break;
      case INT32: for (int i = 0; i < n; i++) out[i] = (float) b.getInt(4 * i); break;
      case INT16: for (int i = 0; i < n; i++) out[i] = (float) b.getShort(2 * i); break;
      case INT8: for (int i = 0; i < n; i++) out[i] = (float) b.get(i); break;
      case UINT8: for (int i = 0; i < n; i++) out[i] = (float) (b.get(i) & 0xff); break;
      case BOOL: for (int i = 0; i < n; i++) out[i] = b.get(i) != 0 ? 1f : 0f; break;
      default: throw new AssertionError(dtype);
    }
    return out;
  }

  /** IEEE 754 binary16 to binary32 (exact: every half value is a float). */
  static float halfToFloat(short h) {
    int bits = h & 0xffff;
    int sign = (bits & 0x8000) << 16;
    int exp = (bits >>> 10) & 0x1f;
    int mant = bits & 0x3ff;
    if (exp == 0) {
      float v = mant * 0x1p-24f; // zero or subnormal
      return sign != 0 ? -v : v;
    }
    if (exp == 31) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13)); // inf / NaN (payload kept)
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }

  /**
   * @return a new contiguous CPU tensor of the same dtype and shape owning a copy of the data (attached to the
   *     current {@code PointerScope}, if any)
   */
  public Tensor toTensor() {
    Tensor t;
    try (TensorOptions o = new TensorOptions(dtype.scalarType());
        MemoryFormatOptional mf = new MemoryFormatOptional()) {
      t = torch.empty(shape, o, mf);
    }
    long n = numel * dtype.bytes();
    if (n > 0) {
      BytePointer p = new BytePointer(t.data_ptr());
      p.capacity(n);
      p.limit(n);
      p.asByteBuffer().put(data());
    }
    return t;
  }

  /** @return a new contiguous float32 CPU tensor (fp16, bf16, fp64 and integers converted like {@code .float()}) */
  public Tensor toFloatTensor() {
    if (dtype == DType.FLOAT32) {
      return toTensor();
    }
    try (Tensor t = toTensor()) {
      return t.to(ScalarType.Float);
    }
  }

  @Override
  public String toString() {
    return name + " " + dtype.torchName() + Arrays.toString(shape);
  }
}
