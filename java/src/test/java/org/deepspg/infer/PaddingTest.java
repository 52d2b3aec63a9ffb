/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.data.ImageTensors;
import org.deepspg.ops.NativeLibrary;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Reflect padding to a multiple of 32 and cropping back (spec §6). */
class PaddingTest {
  @BeforeAll
  static void load() {
    NativeLibrary.ensureLoaded();
  }

  @Test
  void paddedSizes() {
    assertEquals(32, Padding.padded(1, 32));
    assertEquals(32, Padding.padded(32, 32));
    assertEquals(64, Padding.padded(33, 32));
    assertEquals(608, Padding.padded(600, 32));
    assertThrows(IllegalArgumentException.class, () -> Padding.padded(0, 32));
  }

  /** Pad then crop is the identity, for odd, even, tiny and already-aligned sizes. */
  @Test
  void padThenCropIsIdentity() {
    int[][] sizes = {{1, 1}, {1, 7}, {2, 3}, {5, 31}, {17, 45}, {32, 64}, {33, 33}, {70, 101}};
    for (int[] hw : sizes) {
      try (PointerScope s = new PointerScope()) {
        Tensor x = torch.rand(2, 3, hw[0], hw[1]);
        Tensor p = Padding.reflectPad(x, 32);
        assertEquals(Padding.padded(hw[0], 32), p.size(2), "height of " + hw[0] + "x" + hw[1]);
        assertEquals(Padding.padded(hw[1], 32), p.size(3), "width of " + hw[0] + "x" + hw[1]);
        Tensor c = Padding.crop(p, hw[0], hw[1]);
        assertArrayEquals(ImageTensors.floatsOf(x), ImageTensors.floatsOf(c), 0f, "round trip " + hw[0] + "x" + hw[1]);
      }
    }
  }

  /**
   * The one padding rule, pinned for every side 1..64 (the sides where reflection needs repeating or, at 1, turns
   * into replication): each padded value equals the image value at the repeatedly reflected index, computed here
   * independently (period 2(n-1) for n > 1, the single value for n = 1).
   */
  @Test
  void paddingRuleForSides1To64() {
    for (int n = 1; n <= 64; n++) {
      try (PointerScope s = new PointerScope()) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = i + 1;
        float[] p = ImageTensors.floatsOf(Padding.reflectPad(ImageTensors.tensorOf(v, 1, 1, 1, n), 32));
        int pw = (int) Padding.padded(n, 32);
        assertEquals(32 * pw, p.length, "side " + n + " (the single row is padded to 32 rows too)");
        for (int j = 0; j < pw; j++) { // row 0
          int src;
          if (n == 1) {
            src = 0;
          } else {
            int period = 2 * (n - 1);
            int m = j % period;
            src = m < n ? m : period - m;
          }
          assertEquals(v[src], p[j], "side " + n + ", padded index " + j);
        }
      }
    }
  }

  /** The padded rows/columns mirror the image without repeating the edge (reflect, not symmetric). */
  @Test
  void padsByReflection() {
    try (PointerScope s = new PointerScope()) {
      float[] v = new float[3 * 4];
      for (int i = 0; i < v.length; i++) v[i] = i;
      Tensor x = ImageTensors.tensorOf(v, 1, 1, 3, 4); // rows 0..2, columns 0..3
      float[] p = ImageTensors.floatsOf(Padding.reflectPad(x, 32));
      int w = 32;
      // Row 0: 0 1 2 3 | 2 1 0 1 2 3 2 1 ... (repeated reflection once the pad exceeds the side).
      assertEquals(2f, p[4]);
      assertEquals(1f, p[5]);
      assertEquals(0f, p[6]);
      assertEquals(1f, p[7]);
      // Row 3 mirrors row 1, row 4 mirrors row 0.
      assertEquals(v[4], p[3 * w]);
      assertEquals(v[0], p[4 * w]);
      // Every value comes from the image.
      for (float f : p) assertEquals(Math.round(f), f);
    }
  }

  @Test
  void cropRejectsLargerSizes() {
    try (PointerScope s = new PointerScope()) {
      Tensor x = torch.rand(1, 3, 4, 4);
      assertThrows(IllegalArgumentException.class, () -> Padding.crop(x, 5, 4));
    }
  }
}
