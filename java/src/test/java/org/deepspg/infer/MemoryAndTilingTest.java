/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import org.deepspg.data.Image;
import org.deepspg.model.DeepSPG;
import org.deepspg.model.DeepSPGConfig;
import org.junit.jupiter.api.Test;

/** Tiling by the padded shape (thin images), the memory limit, and thin images enhanced correctly in long tiles. */
class MemoryAndTilingTest {
  @Test
  void thinImagesAreTiledByTheirPaddedSize() {
    TileOptions t = TileOptions.DEFAULT;
    assertTrue(t.tiles(2, 240_000), "0.48 MP nominal, 7.7 MP padded");
    assertTrue(t.tiles(100_000, 3));
    assertFalse(t.tiles(600, 800), "0.48 MP, 608x800 padded = 0.486 MP: whole");
    assertTrue(t.tiles(700, 800));
  }

  @Test
  void memoryLimitParsesAndEstimates() {
    assertEquals(6L << 30, MemoryBudget.parse("6g"));
    assertEquals(512L << 20, MemoryBudget.parse(" 512M "));
    assertEquals(1L << 27, MemoryBudget.parse(String.valueOf(1L << 27)));
    assertThrows(IllegalArgumentException.class, () -> MemoryBudget.parse("lots"));
    // the common spellings of units (the CLI audit: 6GB and 6GiB were refused); all powers of 1024, as -Xmx has them
    for (String six : new String[] {"6G", "6GB", "6GiB", "6gib", "6 GB", "6144m", "6144MiB", "6291456KB"}) {
      assertEquals(6L << 30, MemoryBudget.parse(six), six);
    }
    assertEquals(1L << 40, MemoryBudget.parse("1T"));
    assertEquals(1_000_000_000L, MemoryBudget.parse("1e9"));
    assertEquals(100_000_000L, MemoryBudget.parse("100000000B"));
    for (String bad : new String[] {"6kg", "6gg", "Infinity", "NaN", "-6g", "g", "6x"}) {
      assertThrows(IllegalArgumentException.class, () -> MemoryBudget.parse(bad), bad);
    }
    assertThrows(IllegalArgumentException.class, () -> MemoryBudget.parse("1m"), "below 64 MiB");
    DeepSPGConfig s = DeepSPGConfig.baseline(DeepSPGConfig.Size.S);
    // 65 B per padded pixel and channel: DeepSPG-S 1.3 GB per MP, L twice that; SEMs with HRNet-W48 add 1.8 GB.
    assertEquals(1.3e9, MemoryBudget.estimate(s, 1, 1000, 1000), 1e7);
    assertEquals(2.6e9, MemoryBudget.estimate(DeepSPGConfig.baseline(DeepSPGConfig.Size.L), 1, 1000, 1000), 1e7);
    assertEquals(3.1e9, MemoryBudget.estimate(DeepSPGConfig.s(), 1, 1000, 1000), 1e7);
    assertEquals(4 * MemoryBudget.estimate(s, 1, 100, 100), MemoryBudget.estimate(s, 4, 100, 100));
    assertTrue(MemoryBudget.defaultLimit() >= 64L << 20);
  }

  /**
   * {@code --max-memory 300m} on a 900x700 photo shrank the context pass to fit, then refused the default tiles ("a
   * pass of 352x700 needs about 0.32 GB, more than the memory limit of 0.31 GB") where smaller ones fit (the CLI
   * audit). Without a tile size of the caller's, the tiles and the whole-image threshold now fit the limit; a tile
   * size the caller chose is still refused, the limit written alike in every line.
   */
  @Test
  void theDefaultTilesFitTheMemoryLimit() throws IOException {
    assertEquals("0.31 GB", MemoryBudget.gb(300L << 20));
    TileOptions fitted = TileOptions.DEFAULT.withRefinePasses(1).fittedTo(200_000);
    assertEquals(416, fitted.tileSize(), "416^2 = 173,056 pixels fit, 448^2 do not");
    assertEquals(64, fitted.overlap());
    assertEquals(200_000, fitted.maxWholePixels());
    assertEquals(1, fitted.refinePasses());
    assertEquals(512, TileOptions.DEFAULT.fittedTo(300_000).tileSize(), "the tiles fit; only the threshold drops");
    assertEquals(300_000, TileOptions.DEFAULT.fittedTo(300_000).maxWholePixels());
    assertEquals(64, TileOptions.DEFAULT.fittedTo(100).tileSize(), "never below 64 (the pass is refused then)");
    assertSame(TileOptions.DEFAULT, TileOptions.DEFAULT.fittedTo(10_000_000));
    TileOptions own = TileOptions.ofSide(512);
    assertSame(own, own.fittedTo(100_000), "--tile N is the user's");
    DeepSPG net = InferTestSupport.randomModel(InferTestSupport.tinyBaseline(), 1, InferTestSupport.TEST_TAU);
    Image img = InferTestSupport.darkImage(600, 700, 3); // 0.42 MP: ran whole by default, ~220 MB for this network
    try (Enhancer e = Enhancer.builder().model(net).maxMemory(64L << 20).build()) {
      assertTrue(e.tileOptions().tileSize() < TileOptions.DEFAULT_TILE, e.tileOptions().toString());
      assertEquals(3 * 600 * 700, e.enhance(img).rgb().length);
    }
    try (Enhancer e = Enhancer.builder().model(net).tiling(own).maxMemory(64L << 20).build()) {
      IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> e.enhance(img));
      assertTrue(ex.getMessage().contains("more than the memory limit of 0.07 GB"), ex.getMessage());
    }
  }

  @Test
  void aPassOverTheLimitIsRefusedBeforeItRuns() throws IOException {
    DeepSPG net = InferTestSupport.randomModel(InferTestSupport.tinyBaseline(), 1, InferTestSupport.TEST_TAU);
    Image img = InferTestSupport.darkImage(448, 512, 2); // ~120 MB by the estimate for this tiny network
    try (Enhancer e = Enhancer.builder().model(net).tiling(TileOptions.never()).maxMemory(64L << 20).build()) {
      IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> e.enhance(img));
      assertTrue(ex.getMessage().contains("more than the memory limit"), ex.getMessage());
    }
    // tiled already, the context pass is what is over: it runs on a smaller copy (Tiler.contextShape)
    try (Enhancer e = Enhancer.builder().model(net).tiling(TileOptions.always(64)).maxMemory(64L << 20).build()) {
      assertEquals(3 * 448 * 512, e.enhance(img).rgb().length);
    }
    // when even the smallest copy is over, the message names the context pass and its setting, not tiling
    try {
      Pipeline pipeline = new Pipeline(net, null);
      Engine engine = new Engine(pipeline, null, false, MemoryBudget.estimate(pipeline.config(), 1, 64, 64));
      Tiler t = new Tiler(engine, TileOptions.always(64), true);
      IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
          () -> t.enhance(img.rgb(), 448, 512, null));
      assertTrue(ex.getMessage().contains("attention-context pass") && ex.getMessage().contains("withContextSize"),
          ex.getMessage());
    } finally {
      net.close();
    }
  }

  @Test
  void thinImageInLongTilesMatchesWholeImageInference() throws IOException {
    DeepSPG net = InferTestSupport.randomModel(InferTestSupport.tinyBaseline(), 1, InferTestSupport.TEST_TAU);
    Image img = InferTestSupport.darkImage(5, 2000, 4);
    try (Enhancer whole = Enhancer.builder().model(net).tiling(TileOptions.never()).build();
        // The context pass sees the whole image (no downscaling), so only the tiling itself can differ.
        Enhancer tiled = Enhancer.builder().model(net).tiling(TileOptions.always(128).withContextSize(2048)).build()) {
      float[] a = whole.enhance(img).rgb();
      float[] b = tiled.enhance(img).rgb();
      double p = InferTestSupport.psnr(b, a);
      assertTrue(p > 60, "long tiles agree with the whole image: " + p + " dB");
      // 5 px tall, tile 128 (overlap 32): tiles of 5 x (128*128/32 = 512) along the width, 5 of them, where square
      // tiles would have needed 2000/96 = 21.
      long tilesRun = tiled.stats().tiles();
      assertTrue(tilesRun <= 6, "tiles: " + tilesRun);
    } finally {
      net.close();
    }
  }

  /** Small tiles overlap too (64 and 96 had none: seams of up to 82/255 with the bundled model). */
  @Test
  void smallTilesOverlapAndMatchWholeImageInference() throws IOException {
    assertEquals(32, TileOptions.always(64).overlap());
    assertEquals(32, TileOptions.always(96).overlap());
    assertEquals(32, TileOptions.always(128).overlap());
    assertEquals(32, TileOptions.always(160).overlap());
    assertEquals(64, TileOptions.always(256).overlap());
    assertEquals(64, TileOptions.ofSide(512).overlap());
    assertEquals(TileOptions.never(), TileOptions.ofSide(0));
    assertThrows(IllegalArgumentException.class, () -> TileOptions.ofSide(48));
    Image img = InferTestSupport.darkImage(150, 200, 6);
    try (Enhancer whole = Enhancer.builder().tiling(TileOptions.never()).build();
        Enhancer tiled = Enhancer.builder().tiling(TileOptions.always(64).withContextSize(256)).build()) {
      double p = InferTestSupport.psnr(tiled.enhance(img).rgb(), whole.enhance(img).rgb());
      assertTrue(p > 55, "tiles of 64 with the bundled model against the whole image: " + p + " dB");
    }
  }
}
