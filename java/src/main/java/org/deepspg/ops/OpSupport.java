/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.Locale;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Argument checks, data pointers and CUDA plumbing shared by the façades (package-private). */
final class OpSupport {
  static final int F32 = ScalarType.Float.value;
  static final int F64 = ScalarType.Double.value;

  private OpSupport() {}

  /** @return e.g. {@code [2, 20, 8, 8] float32 cpu} */
  static String describe(Tensor t) {
    if (t == null) return "null";
    if (!t.defined()) return "undefined";
    int st = t.scalar_type().value;
    String dtype = st == F32 ? "float32" : st == F64 ? "float64" : dtypeName(st);
    return Arrays.toString(NativeFunction.shape(t)) + " " + dtype + " " + t.device().str().getString();
  }

  /** @return the enum name for a ScalarType value (scalar_type() returns enum objects whose name() is null) */
  static String dtypeName(int value) {
    for (ScalarType s : ScalarType.values()) {
      if (s.value == value) return s.name().toLowerCase(Locale.ROOT);
    }
    return "dtype#" + value;
  }

  static boolean isF64(Tensor t) {
    return t.scalar_type().value == F64;
  }

  /** Checks: defined, float32/float64. */
  static void checkFloat(String op, String name, Tensor t) {
    if (t == null || !t.defined()) throw new IllegalArgumentException(op + ": " + name + " is " + describe(t));
    int st = t.scalar_type().value;
    if (st != F32 && st != F64) {
      throw new IllegalArgumentException(
          op + ": " + name + " must be float32 or float64, got " + describe(t));
    }
  }

  /** Checks that {@code t} has the dtype and device of {@code ref}. */
  static void checkLike(String op, String refName, Tensor ref, String name, Tensor t) {
    checkFloat(op, name, t);
    if (t.scalar_type().value != ref.scalar_type().value || ref.device().notEquals(t.device())) {
      throw new IllegalArgumentException(
          op + ": " + name + " " + describe(t) + " must have the dtype and device of " + refName + " "
              + describe(ref));
    }
  }

  /** Checks that {@code t} has exactly the shape, dtype and device of {@code ref}. */
  static void checkSame(String op, String refName, Tensor ref, String name, Tensor t) {
    checkLike(op, refName, ref, name, t);
    if (!Arrays.equals(NativeFunction.shape(t), NativeFunction.shape(ref))) {
      throw new IllegalArgumentException(
          op + ": " + name + " " + describe(t) + " must have the shape of " + refName + " " + describe(ref));
    }
  }

  static void checkDim(String op, String name, Tensor t, int dim, String layout) {
    if (t == null || !t.defined() || t.dim() != dim) {
      throw new IllegalArgumentException(op + ": " + name + " must be " + layout + ", got " + describe(t));
    }
  }

  /** Float kernels only exist in float32 on CUDA for this op. */
  /**
   * Checks a "same" convolution's weight against its input: {@code [out, in/groups, k, k]}, k odd, in and out divisible
   * by groups (x already checked to be 4-d).
   *
   * @throws IllegalArgumentException naming the weight, x and groups otherwise
   */
  static void checkSameConvWeight(String op, Tensor x, Tensor weight, long groups) {
    long in = x.size(1);
    if (groups < 1 || in % groups != 0 || weight.dim() != 4 || weight.size(0) % groups != 0
        || weight.size(1) * groups != in || weight.size(2) != weight.size(3) || weight.size(2) % 2 == 0) {
      throw new IllegalArgumentException(
          op + ": weight " + describe(weight) + " is not [out, in/groups, k, k] with k odd for x " + describe(x)
              + " and groups=" + groups);
    }
  }

  static void checkCudaF32(String op, Tensor t) {
    if (t.is_cuda() && t.scalar_type().value != F32) {
      throw new IllegalArgumentException(op + ": only float32 is implemented on CUDA, got " + describe(t));
    }
  }

  /**
   * Whether an inference-only kernel may take this call: a float32 CPU {@code [B, C, H, W]} input and no gradient to
   * record (grad mode off, or neither x nor any of params requires one).
   *
   * @param x the input
   * @param params the other tensors the result depends on (entries may be null)
   * @return true when x and params qualify
   */
  static boolean inferenceF32Cpu(Tensor x, Tensor... params) {
    if (x.is_cuda() || x.scalar_type().value != F32 || x.dim() != 4) return false;
    if (GradMode.is_enabled()) {
      if (x.requires_grad()) return false;
      for (Tensor p : params) {
        if (p != null && p.requires_grad()) return false;
      }
    }
    return true;
  }

  /**
   * Refuses an inference-only kernel's call that autograd would need to record: grad mode on and x or a parameter
   * requiring a gradient. The kernels record none, so training through them silently stopped learning.
   *
   * @param op the op, for the message
   * @param x the input (may be null: checked elsewhere)
   * @param params the other tensors the result depends on (entries may be null)
   * @throws IllegalArgumentException when a gradient would be needed
   */
  static void requireNoGradient(String op, Tensor x, Tensor... params) {
    if (!GradMode.is_enabled()) return;
    boolean needs = x != null && x.defined() && x.requires_grad();
    for (Tensor p : params) needs |= p != null && p.defined() && p.requires_grad();
    if (needs) {
      throw new IllegalArgumentException(op + " is inference-only (it records no gradient), but grad mode is on and "
          + "an input requires a gradient: call it under a NoGradGuard, or take the autograd path where usable() is "
          + "false");
    }
  }

  static FloatPointer f32(Tensor t) {
    return t == null ? null : t.data_ptr_float();
  }

  static DoublePointer f64(Tensor t) {
    return t == null ? null : t.data_ptr_double();
  }

  /** {@code t} converted to float64 (a copy unless it already is): the self-checks' references compare in it. */
  static Tensor toDouble(Tensor t) {
    return t.to(ScalarType.Double);
  }

  /** Uninitialised tensor of {@code shape} with the dtype and device of {@code like}. */
  static Tensor empty(Tensor like, long... shape) {
    return like.new_empty(shape);
  }

  /** Device scratch for a CUDA kernel: at least one byte, on the device of {@code like}. */
  static Tensor workspace(Tensor like, long bytes) {
    return like.new_empty(
        new long[] {Math.max(bytes, 1)}, new TensorOptions().dtype(new ScalarTypeOptional(ScalarType.Byte)));
  }

  // ---- current CUDA stream ------------------------------------------------------------------------------------
  // bytedeco's CPU jar carries org.bytedeco.pytorch.global.torch_cuda but its native part exists only in the -gpu
  // build, and CUDAStream.stream() returns a type of the org.bytedeco:cuda artifact. Reflection keeps this class
  // loadable with the CPU jar; when the lookup fails the default stream (null) is used, which is libtorch's current
  // stream unless the application switched streams.

  private static volatile Method currentStream;
  private static volatile Method rawStream;
  private static volatile boolean streamLookupFailed;

  /** @return the current CUDA stream of {@code t}'s device as a {@code cudaStream_t}, or null (default stream) */
  static Pointer cudaStream(Tensor t) {
    if (streamLookupFailed) return null;
    try {
      if (currentStream == null) {
        Class<?> c = Class.forName("org.bytedeco.pytorch.global.torch_cuda");
        currentStream = c.getMethod("getCurrentCUDAStream", byte.class);
        rawStream = Class.forName("org.bytedeco.pytorch.cuda.CUDAStream").getMethod("stream");
      }
      Object stream = currentStream.invoke(null, t.device().index());
      return (Pointer) rawStream.invoke(stream);
    } catch (ReflectiveOperationException | LinkageError | ClassCastException e) {
      streamLookupFailed = true;
      return null;
    }
  }
}
