/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.data.Image;
import org.deepspg.data.ImageTensors;
import org.deepspg.model.DeepSPG;
import org.junit.jupiter.api.Test;

/**
 * An image goes to the device once and comes back once: the Enhancer's host/tensor copies, counted by
 * {@link ImageTensors#count()} (on CUDA each upload is one host→device copy and each download one device→host copy;
 * on the CPU the same calls are plain copies, so this test pins the CUDA behaviour on any machine).
 */
class SingleCopyTest {
  private static final DeepSPG tiny = InferTestSupport.sharedTiny();

  @Test
  void wholeImageIsOneUploadAndOneDownload() throws IOException {
    try (Enhancer e = Enhancer.builder().model(tiny).tiling(TileOptions.never()).build()) {
      for (boolean ensemble : new boolean[] {false, true}) {
        try (Enhancer en = Enhancer.builder().model(tiny).tiling(TileOptions.never()).ensemble(ensemble).build();
            ImageTensors.Transfers t = ImageTensors.count()) {
          en.enhance(InferTestSupport.darkImage(40, 56, 1));
          assertEquals(1, t.uploads(), "uploads, ensemble " + ensemble);
          assertEquals(1, t.downloads(), "downloads, ensemble " + ensemble);
        }
      }
      try (ImageTensors.Transfers t = ImageTensors.count()) {
        e.enhance(Image.of(1, 1, new float[] {0.1f, 0.2f, 0.3f}));
        assertEquals(1, t.uploads());
        assertEquals(1, t.downloads());
      }
    }
  }

  @Test
  void tiledImageIsOneUploadAndOneDownloadPerTilePlusTheContext() throws IOException {
    TileOptions tiles = new TileOptions(64, 32, 768, 0);
    try (Enhancer e = Enhancer.builder().model(tiny).tiling(tiles).build();
        Enhancer naive = Enhancer.builder().model(tiny).tiling(tiles).tileContext(false).build()) {
      int n = e.passes(80, 96);
      assertEquals(4, n);
      try (ImageTensors.Transfers t = ImageTensors.count()) {
        e.enhance(InferTestSupport.darkImage(80, 96, 2));
        assertEquals(n + 1, t.uploads(), "each tile once, plus the downscaled context copy");
        assertEquals(n, t.downloads(), "each tile once");
      }
      try (ImageTensors.Transfers t = ImageTensors.count()) {
        naive.enhance(InferTestSupport.darkImage(80, 96, 2));
        assertEquals(n, t.uploads());
        assertEquals(n, t.downloads());
      }
    }
  }

  @Test
  void aBatchIsOneUploadAndOneDownload() throws IOException {
    try (Enhancer e = Enhancer.builder().model(tiny).tiling(TileOptions.never()).batchSize(4).build();
        ImageTensors.Transfers t = ImageTensors.count()) {
      e.enhance(List.of(InferTestSupport.darkImage(40, 56, 1), InferTestSupport.darkImage(40, 56, 2),
          InferTestSupport.darkImage(40, 56, 3)));
      assertEquals(1, t.uploads());
      assertEquals(1, t.downloads());
    }
  }

  @Test
  void aTensorOnTheDeviceStaysThere() throws IOException {
    try (Enhancer e = Enhancer.builder().model(tiny).tiling(TileOptions.never()).batchSize(2).build();
        PointerScope s = new PointerScope(); ImageTensors.Transfers t = ImageTensors.count()) {
      Tensor y = e.enhance(torch.rand(3, 3, 40, 56).mul_(new Scalar(0.3)));
      assertEquals(3, y.size(0));
      assertEquals(0, t.uploads());
      assertEquals(0, t.downloads());
    }
  }
}
