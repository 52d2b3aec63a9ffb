/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Test helpers for the frozen prior networks (HRNet, CLIP): locating the shared golden fixtures, reading raw
 * {@code .bin} tensors (C order, little-endian, no header) and comparing tensors with a readable report.
 */
public final class PriorFixtures {
  private PriorFixtures() {}

  /**
   * @return the shared fixtures folder ({@link Fixtures#fixtures()}: the calling test is skipped when it is absent)
   */
  public static Path fixtures() {
    return Fixtures.fixtures();
  }

  /**
   * The user's ESPNetv2 weights as the shared data has them ({@code ../shared/priors/espnetv2/FILE}); the calling
   * test is skipped when the shared folder is absent.
   *
   * @param file e.g. {@code espnetv2_s_0.5_city_1024x512.pth}
   * @return its path (may not exist)
   */
  public static Path espnetWeights(String file) {
    return fixtures().getParent().resolve("priors").resolve("espnetv2").resolve(file);
  }

  /**
   * Reads a float32 raw tensor.
   *
   * @param file the .bin file
   * @param shape its shape (element count must match the file size)
   * @return a CPU float tensor of that shape
   */
  public static Tensor readFloat(Path file, long... shape) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    long n = numel(shape);
    if (b.capacity() != n * 4) {
      throw new IllegalArgumentException(file + ": " + b.capacity() + " bytes, expected " + n * 4);
    }
    float[] v = new float[(int) n];
    b.asFloatBuffer().get(v);
    return torch.tensor(v).reshape(shape);
  }

  /**
   * Reads an int64 raw tensor.
   *
   * @param file the .bin file
   * @param shape its shape
   * @return a CPU long tensor of that shape
   */
  public static Tensor readLong(Path file, long... shape) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    long n = numel(shape);
    if (b.capacity() != n * 8) {
      throw new IllegalArgumentException(file + ": " + b.capacity() + " bytes, expected " + n * 8);
    }
    long[] v = new long[(int) n];
    b.asLongBuffer().get(v);
    return torch.tensor(v).reshape(shape);
  }

  /**
   * Copies a tensor's values to a Java array (as float32, C order).
   *
   * @param t any tensor
   * @return its values
   */
  public static float[] values(Tensor t) {
    Tensor c = t.detach().to(torch.ScalarType.Float).contiguous();
    float[] v = new float[(int) c.numel()];
    FloatPointer fp = c.data_ptr_float();
    fp.get(v);
    return v;
  }

  /**
   * The shape as a Java array.
   *
   * @param t a tensor
   * @return its sizes
   */
  public static long[] shape(Tensor t) {
    long[] s = new long[(int) t.dim()];
    for (int i = 0; i < s.length; i++) {
      s[i] = t.size(i);
    }
    return s;
  }

  /**
   * Largest absolute difference; fails on shape mismatch.
   *
   * @param actual computed
   * @param expected golden
   * @return max |a − e|
   */
  public static double maxAbsDiff(Tensor actual, Tensor expected) {
    assertArrayEquals(shape(expected), shape(actual), "shape");
    float[] a = values(actual);
    float[] e = values(expected);
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      double d = Math.abs((double) a[i] - e[i]);
      if (!(d <= m)) {
        m = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
      }
    }
    return m;
  }

  /**
   * Asserts {@code |actual − expected| ≤ tol} element-wise; the failure message prints the max/mean error and
   * the first few mismatches.
   *
   * @param what a label for the message
   * @param actual computed tensor
   * @param expected golden tensor
   * @param tol absolute tolerance
   */
  public static void assertClose(String what, Tensor actual, Tensor expected, double tol) {
    assertArrayEquals(shape(expected), shape(actual), what + ": shape");
    float[] a = values(actual);
    float[] e = values(expected);
    double max = 0;
    double sum = 0;
    StringBuilder first = new StringBuilder();
    int bad = 0;
    for (int i = 0; i < a.length; i++) {
      double d = Math.abs((double) a[i] - e[i]);
      if (Double.isNaN(d)) {
        d = Double.POSITIVE_INFINITY;
      }
      max = Math.max(max, d);
      sum += d;
      if (d > tol && bad++ < 5) {
        first.append(String.format(" [%d] got %.7g want %.7g;", i, a[i], e[i]));
      }
    }
    if (bad > 0) {
      fail(String.format("%s: %d/%d elements off by > %.1e (max %.3e, mean %.3e):%s", what, bad, a.length,
          tol, max, sum / a.length, first));
    }
  }

  /**
   * All parameters and buffers of a module tree with their shapes, keyed by state-dict name.
   *
   * @param params {@code module.named_parameters()}
   * @param buffers {@code module.named_buffers()}
   * @return name → shape, parameters first, in libtorch order
   */
  public static Map<String, long[]> namesAndShapes(StringTensorDict params, StringTensorDict buffers) {
    Map<String, long[]> out = new LinkedHashMap<>();
    for (StringTensorDict d : new StringTensorDict[] {params, buffers}) {
      for (long i = 0; i < d.size(); i++) {
        out.put(d.get(i).key().getString(), shape(d.get(i).value()));
      }
    }
    return out;
  }

  private static long numel(long[] shape) {
    long n = 1;
    for (long s : shape) {
      n *= s;
    }
    return n;
  }
}
