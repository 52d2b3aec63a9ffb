/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipFile;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.ops.NativeLibrary;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StateDictWriterTest {
  @TempDir Path tmp;

  @Test
  void writesPytorchZipLayout() throws Exception {
    NativeLibrary.ensureLoaded();
    Tensor a = torch.arange(new org.bytedeco.pytorch.Scalar(6)).to(torch.ScalarType.Float).reshape(2, 3);
    Tensor b = torch.ones(4).to(torch.ScalarType.Double);
    Path f = tmp.resolve("w.pth");
    try (OutputStream out = Files.newOutputStream(f)) {
      new StateDictWriter().put("layer.weight", a.t()).put("layer.bias", b).putExtra("deepspg.json", "{}")
          .write(out, "w");
    }
    try (ZipFile z = new ZipFile(f.toFile())) {
      assertNotNull(z.getEntry("w/data.pkl"));
      assertEquals("3\n", new String(z.getInputStream(z.getEntry("w/version")).readAllBytes()));
      byte[] d0 = z.getInputStream(z.getEntry("w/data/0")).readAllBytes();
      // a.t() is non-contiguous: the writer stores the contiguous copy [[0,3],[1,4],[2,5]].
      java.nio.FloatBuffer fb = java.nio.ByteBuffer.wrap(d0).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
      float[] got = new float[6];
      fb.get(got);
      assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, got);
      assertEquals(32, z.getInputStream(z.getEntry("w/data/1")).readAllBytes().length);
      assertEquals("{}", new String(z.getInputStream(z.getEntry("w/deepspg.json")).readAllBytes()));
    }
    // Round trip through our own reader (the pickle must be one PyTorch accepts; checked by hand with torch.load).
    StateDict sd = Checkpoints.read(f);
    assertEquals(2, sd.size());
    assertArrayEquals(new long[] {3, 2}, sd.get("layer.weight").shape());
    assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, sd.get("layer.weight").toFloatArray());
    assertEquals(DType.FLOAT64, sd.get("layer.bias").dtype());
    assertThrows(IllegalArgumentException.class, () -> new StateDictWriter().put("x", a).put("x", a));
  }
}
