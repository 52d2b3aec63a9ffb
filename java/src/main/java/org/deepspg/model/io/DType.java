/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.io;

import org.bytedeco.pytorch.global.torch.ScalarType;

/** Element types a checkpoint tensor may have (the subset of PyTorch dtypes with a typed storage class). */
public enum DType {
  /** torch.float32, {@code FloatStorage}. */
  FLOAT32(4, "FloatStorage", "float32"),
  /** torch.float64, {@code DoubleStorage}. */
  FLOAT64(8, "DoubleStorage", "float64"),
  /** torch.float16, {@code HalfStorage} (IEEE 754 binary16). */
  FLOAT16(2, "HalfStorage", "float16"),
  /** torch.bfloat16, {@code BFloat16Storage} (upper 16 bits of a float32). */
  BFLOAT16(2, "BFloat16Storage", "bfloat16"),
  /** torch.int64, {@code LongStorage}. */
  INT64(8, "LongStorage", "int64"),
  /** torch.int32, {@code IntStorage}. */
  INT32(4, "IntStorage", "int32"),
  /** torch.int16, {@code ShortStorage}. */
  INT16(2, "ShortStorage", "int16"),
  /** torch.int8, {@code CharStorage}. */
  INT8(1, "CharStorage", "int8"),
  /** torch.uint8, {@code ByteStorage}. */
  UINT8(1, "ByteStorage", "uint8"),
  /** torch.bool, {@code BoolStorage} (one byte per element, 0 or 1). */
  BOOL(1, "BoolStorage", "bool");

  private final int bytes;
  private final String storageClass;
  private final String torchName;

  DType(int bytes, String storageClass, String torchName) {
    this.bytes = bytes;
    this.storageClass = storageClass;
    this.torchName = torchName;
  }

  /** @return bytes per element */
  public int bytes() {
    return bytes;
  }

  /** @return true for FLOAT32, FLOAT64, FLOAT16 and BFLOAT16 */
  public boolean isFloatingPoint() {
    return this == FLOAT32 || this == FLOAT64 || this == FLOAT16 || this == BFLOAT16;
  }

  /** @return the PyTorch name without the {@code torch.} prefix, e.g. {@code "float16"} */
  public String torchName() {
    return torchName;
  }

  /**
   * The dtype of a pickled storage class such as {@code torch.HalfStorage} or {@code torch.cuda.FloatStorage}
   * (the device part is ignored).
   *
   * @param simpleName the class name without module, e.g. {@code "FloatStorage"}
   * @return the dtype, or null if the name is not a supported storage class
   */
  static DType fromStorageClass(String simpleName) {
    for (DType d : values()) {
      if (d.storageClass.equals(simpleName)) {
        return d;
      }
    }
    return null;
  }

  /**
   * @param name a PyTorch dtype attribute name such as {@code "float32"}, {@code "half"} or {@code "long"}
   * @return the dtype, or null if unknown
   */
  static DType fromTorchName(String name) {
    switch (name) {
      case "float": return FLOAT32;
      case "double": return FLOAT64;
      case "half": return FLOAT16;
      case "long": return INT64;
      case "int": return INT32;
      case "short": return INT16;
      default:
        for (DType d : values()) {
          if (d.torchName.equals(name)) {
            return d;
          }
        }
        return null;
    }
  }

  /** @return the libtorch scalar type of this dtype */
  public ScalarType scalarType() {
    switch (this) {
      case FLOAT32: return ScalarType.Float;
      case FLOAT64: return ScalarType.Double;
      case FLOAT16: return ScalarType.Half;
      case BFLOAT16: return ScalarType.BFloat16;
      case INT64: return ScalarType.Long;
      case INT32: return ScalarType.Int;
      case INT16: return ScalarType.Short;
      case INT8: return ScalarType.Char;
      case UINT8: return ScalarType.Byte;
      case BOOL: return ScalarType.Bool;
      default: throw new AssertionError(this);
    }
  }

  /**
   * @param st a libtorch scalar type (compared by {@code value}, since bytedeco returns fresh enum objects)
   * @return the matching dtype, or null when it has no counterpart here (complex, quantized, float8, ...)
   */
  public static DType fromScalarType(ScalarType st) {
    for (DType d : values()) {
      if (d.scalarType().value == st.value) {
        return d;
      }
    }
    return null;
  }
}
