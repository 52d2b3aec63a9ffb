/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.nn.Shapes;
import org.deepspg.testing.Fixtures;

/** Shared helpers of the model tests: fixture paths, raw .bin tensors, params.txt, comparisons. */
final class ModelTestSupport {
  private ModelTestSupport() {}

  /** @return the shared folder; the calling test is skipped when its fixtures are absent (see {@link Fixtures}) */
  static Path shared() {
    Fixtures.assumePresent();
    return Fixtures.shared();
  }

  /** @return {@code shared/fixtures/deepspg} */
  static Path deepspgFixtures() {
    return shared().resolve("fixtures").resolve("deepspg");
  }

  /** Disables oneDNN (wrong conv input-gradients for out_channels &lt; 16 on this CPU, see COMMON.md/STYLE.md §0). */
  static void disableMkldnn() {
    org.deepspg.ops.Backends.init();
  }

  /**
   * Reads a raw little-endian float32 C-order file.
   *
   * @param file the .bin
   * @param shape its shape
   * @return a float32 CPU tensor
   */
  static Tensor readBin(Path file, long... shape) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    long n = 1;
    for (long s : shape) {
      n *= s;
    }
    if (bytes.length != n * 4) {
      throw new IllegalArgumentException(file + ": " + bytes.length + " bytes, expected " + n * 4);
    }
    float[] v = new float[(int) n];
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
    Tensor t = torch.empty(shape);
    t.data_ptr_float().put(v);
    return t;
  }

  /** @return params.txt of the fixture: name → shape, in file order */
  static Map<String, long[]> fixtureParams() throws IOException {
    Map<String, long[]> m = new LinkedHashMap<>();
    List<String> lines = Files.readAllLines(deepspgFixtures().resolve("params.txt"));
    for (String line : lines) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      String[] kv = line.split("\t");
      String inner = kv[1].trim().substring(1, kv[1].trim().length() - 1);
      String[] dims = inner.isBlank() ? new String[0] : inner.split(",\\s*");
      long[] s = new long[dims.length];
      for (int i = 0; i < dims.length; i++) {
        s[i] = Long.parseLong(dims[i].trim());
      }
      m.put(kv[0], s);
    }
    return m;
  }

  /** @return the shape as long[] */
  static long[] shape(Tensor t) {
    long[] s = new long[(int) t.dim()];
    for (int i = 0; i < s.length; i++) {
      s[i] = t.size(i);
    }
    return s;
  }

  /** @return a copy of the tensor's values as float[] (any float dtype, any layout) */
  static float[] values(Tensor t) {
    Tensor c = t.detach().to(torch.ScalarType.Float).contiguous();
    float[] v = new float[(int) c.numel()];
    c.data_ptr_float().get(v);
    return v;
  }

  /** @return max |a − b| after checking equal shapes */
  static double maxAbsDiff(Tensor a, Tensor b) {
    assertArrayEquals(shape(b), shape(a), "shape " + Shapes.str(a) + " vs " + Shapes.str(b));
    float[] x = values(a);
    float[] y = values(b);
    double m = 0;
    for (int i = 0; i < x.length; i++) {
      double d = Math.abs((double) x[i] - y[i]);
      if (!(d <= m)) {
        m = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
      }
    }
    return m;
  }

  /** Asserts |a − b| ≤ atol elementwise, reporting the max error. */
  static void assertClose(String what, Tensor actual, Tensor expected, double atol) {
    double e = maxAbsDiff(actual, expected);
    assertTrue(e <= atol, what + ": max |diff| = " + e + " > " + atol);
  }
}
