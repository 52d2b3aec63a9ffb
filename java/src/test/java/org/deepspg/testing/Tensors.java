/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Tensor assertions and conversions for tests (shared helper; STYLE B8). */
public final class Tensors {
  /** How many mismatching elements an assertion message lists. */
  private static final int SHOWN = 8;

  private Tensors() {}

  /**
   * Asserts |actual − expected| ≤ atol + rtol·|expected| element-wise (NaN or inf in either fails unless both hold
   * the same inf), after checking shape, dtype and device. The message names the first mismatches (flat index and
   * multi-index), the number of mismatches and the max/mean absolute error.
   *
   * @param actual tensor under test
   * @param expected reference
   * @param rtol relative tolerance
   * @param atol absolute tolerance
   */
  public static void assertClose(Tensor actual, Tensor expected, double rtol, double atol) {
    assertClose("", actual, expected, rtol, atol);
  }

  /**
   * Same as {@link #assertClose(Tensor, Tensor, double, double)} with a label for the message.
   *
   * @param what label for the message
   * @param actual tensor under test
   * @param expected reference
   * @param rtol relative tolerance
   * @param atol absolute tolerance
   */
  public static void assertClose(String what, Tensor actual, Tensor expected, double rtol, double atol) {
    String label = what.isEmpty() ? "" : what + ": ";
    if (actual == null || !actual.defined()) fail(label + "actual is " + (actual == null ? "null" : "undefined"));
    if (expected == null || !expected.defined()) fail(label + "expected is null or undefined");
    long[] as = shape(actual), es = shape(expected);
    if (!Arrays.equals(as, es)) fail(label + "shape " + Arrays.toString(as) + " != expected " + Arrays.toString(es));
    if (actual.scalar_type().value != expected.scalar_type().value) {
      fail(label + "dtype " + dtype(actual) + " != expected " + dtype(expected));
    }
    String ad = actual.device().str().getString(), ed = expected.device().str().getString();
    if (!ad.equals(ed)) fail(label + "device " + ad + " != expected " + ed);
    try (PointerScope scope = new PointerScope();
        NoGradGuard guard = new NoGradGuard()) {
      // Fast path in libtorch (float64, on the tensors' device); details are gathered in Java only on failure.
      Tensor a64 = actual.detach().to(ScalarType.Double), e64 = expected.detach().to(ScalarType.Double);
      Tensor diff = a64.sub(e64).abs();
      Tensor tol = e64.abs().mul(new Scalar(rtol)).add(new Scalar(atol));
      boolean allOk = a64.numel() == 0 || diff.le(tol).all().item_bool();
      if (allOk) return;
      double[] a = toDoubles(actual), e = toDoubles(expected);
      int bad = 0;
      double maxErr = 0, sumErr = 0;
      StringBuilder first = new StringBuilder();
      for (int i = 0; i < a.length; i++) {
        double err = Math.abs(a[i] - e[i]);
        boolean ok;
        if (Double.isNaN(a[i]) || Double.isNaN(e[i])) ok = false;
        else if (Double.isInfinite(a[i]) || Double.isInfinite(e[i])) ok = a[i] == e[i];
        else ok = err <= atol + rtol * Math.abs(e[i]);
        if (!Double.isNaN(err) && !Double.isInfinite(err)) {
          maxErr = Math.max(maxErr, err);
          sumErr += err;
        } else if (!ok) {
          maxErr = Double.POSITIVE_INFINITY;
        }
        if (!ok) {
          if (bad < SHOWN) {
            first.append(String.format("%n  [%d]%s actual=%.10g expected=%.10g |diff|=%.3g tol=%.3g", i,
                Arrays.toString(unravel(i, as)), a[i], e[i], err, atol + rtol * Math.abs(e[i])));
          }
          bad++;
        }
      }
      if (bad > 0) {
        fail(String.format("%s%d of %d elements differ (rtol=%.3g, atol=%.3g); max |diff|=%.4g, mean |diff|=%.4g, "
                + "max |expected|=%.4g; first:%s", label, bad, a.length, rtol, atol, maxErr,
            a.length == 0 ? 0 : sumErr / a.length, maxAbs(e), first));
      }
    }
  }

  /** @return the dtype's name, e.g. {@code Float} ({@code scalar_type().name()} is null in bytedeco) */
  public static String dtype(Tensor t) {
    int v = t.scalar_type().value;
    for (ScalarType s : ScalarType.values()) {
      if (s.value == v) return s.name();
    }
    return "dtype#" + v;
  }

  /** @return max |x| over a tensor (0 for empty), as a double */
  public static double maxAbs(Tensor t) {
    if (t.numel() == 0) return 0;
    try (PointerScope scope = new PointerScope();
        NoGradGuard guard = new NoGradGuard()) {
      return t.detach().abs().max().item_double();
    }
  }

  private static double maxAbs(double[] v) {
    double m = 0;
    for (double x : v) m = Math.max(m, Math.abs(x));
    return m;
  }

  /** @return the sizes of {@code t} */
  public static long[] shape(Tensor t) {
    long[] s = new long[(int) t.dim()];
    for (int i = 0; i < s.length; i++) s[i] = t.size(i);
    return s;
  }

  private static long[] unravel(long flat, long[] shape) {
    long[] idx = new long[shape.length];
    for (int d = shape.length - 1; d >= 0; d--) {
      idx[d] = shape[d] == 0 ? 0 : flat % shape[d];
      flat = shape[d] == 0 ? 0 : flat / shape[d];
    }
    return idx;
  }

  /** @return the elements of {@code t} (any dtype/device/strides) in C order as doubles */
  public static double[] toDoubles(Tensor t) {
    try (PointerScope scope = new PointerScope();
        NoGradGuard guard = new NoGradGuard()) {
      Tensor c = t.detach().to(new Device("cpu"), ScalarType.Double).contiguous();
      double[] out = new double[(int) c.numel()];
      if (out.length > 0) c.data_ptr_double().get(out);
      return out;
    }
  }

  /**
   * @param values data in C order
   * @param shape sizes
   * @return a new float64 CPU tensor
   */
  public static Tensor fromDoubles(double[] values, long... shape) {
    Tensor t = torch.empty(shape, new TensorOptions().dtype(new ScalarTypeOptional(ScalarType.Double)),
        new org.bytedeco.pytorch.MemoryFormatOptional());
    if (values.length != t.numel()) {
      throw new IllegalArgumentException(values.length + " values for shape " + Arrays.toString(shape));
    }
    if (values.length > 0) {
      DoublePointer p = t.data_ptr_double();
      p.put(values);
    }
    return t;
  }

  /**
   * @param values data in C order
   * @param shape sizes
   * @return a new float32 CPU tensor
   */
  public static Tensor fromFloats(float[] values, long... shape) {
    Tensor t = torch.empty(shape, new TensorOptions().dtype(new ScalarTypeOptional(ScalarType.Float)),
        new org.bytedeco.pytorch.MemoryFormatOptional());
    if (values.length > 0) {
      FloatPointer p = t.data_ptr_float();
      p.put(values);
    }
    return t;
  }

  /**
   * Reads a raw little-endian C-order float64 file (the golden fixtures' format).
   *
   * @param file the .bin file
   * @param shape sizes (their product must match the file length)
   * @return a float64 CPU tensor
   */
  public static Tensor readFloat64(Path file, long... shape) {
    try {
      byte[] bytes = Files.readAllBytes(file);
      double[] v = new double[bytes.length / 8];
      ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(v);
      return fromDoubles(v, shape);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read fixture " + file + ": " + e, e);
    }
  }

  /** @return float32 N(0,1) tensor of this shape on CPU from libtorch's generator (seed it with manual_seed) */
  public static Tensor randn(long... shape) {
    return torch.randn(shape);
  }

  /** @return float64 copy of {@code t} as a new leaf that requires grad */
  public static Tensor leaf64(Tensor t) {
    return t.detach().to(ScalarType.Double).clone().requires_grad_(true);
  }

  /** @return float32 copy of {@code t} as a new leaf that requires grad */
  public static Tensor leaf32(Tensor t) {
    return t.detach().to(ScalarType.Float).clone().requires_grad_(true);
  }
}
