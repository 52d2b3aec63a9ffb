/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/** {@link ImageTensors}: the image/tensor bridge copies faithfully and counts its crossings per thread. */
class ImageTensorsTest {
  @Test
  void roundTripsAndCounts() throws Exception {
    float[] v = new float[2 * 3 * 2 * 3];
    for (int i = 0; i < v.length; i++) v[i] = i / 40f;
    try (PointerScope s = new PointerScope(); ImageTensors.Transfers outer = ImageTensors.count()) {
      Tensor t = ImageTensors.tensorOf(v, new Device("cpu"), 2, 3, 2, 3);
      assertArrayEquals(new long[] {2, 3, 2, 3}, t.sizes().vec().get());
      v[0] = 9; // the tensor owns a copy
      float[] back;
      try (ImageTensors.Transfers inner = ImageTensors.count()) {
        back = ImageTensors.floatsOf(t);
        assertEquals(0, inner.uploads());
        assertEquals(1, inner.downloads());
      }
      assertEquals(0f, back[0]);
      assertEquals(v[5], back[5]);
      Image img = Image.of(3, 2, java.util.Arrays.copyOf(v, 18));
      Image again = ImageTensors.fromTensor(ImageTensors.toTensor(img), img);
      assertArrayEquals(img.rgb(), again.rgb(), 0f);
      // Counted while open, the inner counter's calls included; not after close.
      assertEquals(2, outer.uploads());
      assertEquals(2, outer.downloads());
      outer.close();
      ImageTensors.floatsOf(t);
      assertEquals(2, outer.downloads());
    }
    assertThrows(IllegalArgumentException.class, () -> ImageTensors.tensorOf(new float[5], 2, 3));
    assertEquals("[2, 3]", ImageTensors.shape(ImageTensors.tensorOf(new float[6], 2, 3)));
  }
}
