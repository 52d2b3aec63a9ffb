/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.deepspg.data.Image;
import org.deepspg.model.DeepSPG;
import org.junit.jupiter.api.Test;

/** {@link Batcher}: which images share a pass, and a batch of mixed sizes gives the one-by-one results. */
class BatcherTest {
  /** Same network on the same pixels, different reduction splits possible with another batch size: float noise. */
  private static final float FLOAT_TOL = 1e-5f;
  /**
   * Passes over 10,000 padded px are tiled (96 px tiles): 40x56 and 48x40 pad to 4,096 px (two fit in a pass),
   * 100x120 pads to 16,384 px (tiled).
   */
  private static final TileOptions TILES = new TileOptions(96, 32, 768, 10_000);

  private static final DeepSPG tiny = InferTestSupport.sharedTiny();

  private static List<Image> mixed() {
    return List.of(InferTestSupport.darkImage(40, 56, 1), InferTestSupport.darkImage(40, 56, 2),
        InferTestSupport.darkImage(40, 56, 3), InferTestSupport.darkImage(48, 40, 4),
        InferTestSupport.darkImage(100, 120, 5), InferTestSupport.darkImage(40, 56, 6),
        InferTestSupport.darkImage(40, 56, 7));
  }

  @Test
  void groupsConsecutiveSameSizeWholeImagesUpToTheBatchSize() {
    Engine engine = new Engine(new Pipeline(tiny, null), null, false, MemoryBudget.defaultLimit());
    Batcher b = new Batcher(engine, TILES, 2);
    List<Image> imgs = mixed();
    List<Integer> ends = new ArrayList<>();
    for (int i = 0; i < imgs.size(); i = b.batchEnd(imgs, i)) ends.add(b.batchEnd(imgs, i));
    // [0,1] batch of 2, [2] alone (next size differs), [3], [4] tiled, [5,6] batch of 2.
    assertEquals(List.of(2, 3, 4, 5, 7), ends);
    // A batch stops where its padded pixels would exceed the whole-image limit: 32x64 pads to 2,048 px, so four
    // images (8,192 px) fit under 9,000 and a fifth would not, although the batch size allows eight.
    Batcher big = new Batcher(engine, new TileOptions(96, 32, 768, 9_000), 8);
    List<Image> five = new ArrayList<>();
    for (int i = 0; i < 5; i++) five.add(InferTestSupport.darkImage(32, 64, i));
    assertEquals(4, big.batchEnd(five, 0));
    assertEquals(5, big.batchEnd(five, 4));
    // A batch tensor is cut by the same rule (it was cut by the batch size alone: one pass of 8 that the memory
    // check refused, or ran far past maxWholePixels; library audit, session 32)
    assertEquals(4, big.perPass(5, 32, 64));
    assertEquals(2, big.perPass(2, 32, 64));
    assertEquals(2, b.perPass(5, 40, 56));
  }

  @Test
  void mixedSizesGiveTheOneByOneResults() throws IOException {
    List<Image> imgs = mixed();
    try (Enhancer one = Enhancer.builder().model(tiny).tiling(TILES).build();
        Enhancer batched = Enhancer.builder().model(tiny).tiling(TILES).batchSize(2).build()) {
      List<Image> got = batched.enhance(imgs);
      assertEquals(imgs.size(), got.size());
      for (int i = 0; i < imgs.size(); i++) {
        assertArrayEquals(one.enhance(imgs.get(i)).rgb(), got.get(i).rgb(), FLOAT_TOL, "image " + i);
        assertSame(imgs.get(i).metadata(), got.get(i).metadata());
      }
      assertEquals(imgs.size(), batched.stats().images());
      assertEquals(TILES.tiles(100, 120) ? one.passes(100, 120) : 0, batched.stats().tiles());
    }
  }
}
