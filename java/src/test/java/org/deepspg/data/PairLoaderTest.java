/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PairLoaderTest {
  /** high = 1 - low on 8-bit values: (255 - k)/255 and 1 - k/255 differ by float rounding only. */
  private static final float ROUNDING = 1e-6f;

  @TempDir Path dir;

  private PairedDataset dataset(int n) throws Exception {
    Files.createDirectories(dir.resolve("low"));
    Files.createDirectories(dir.resolve("high"));
    for (int i = 0; i < n; i++) {
      int w = i == 3 ? 70 : 100 + i, h = i == 3 ? 50 : 100;
      Image lo = ImagesTest.random8(w, h, i);
      float[] inv = lo.rgb().clone();
      for (int k = 0; k < inv.length; k++) inv[k] = 1 - inv[k];
      Images.write(lo, dir.resolve("low/p" + i + ".png"));
      Images.write(lo.withPixels(w, h, inv), dir.resolve("high/p" + i + ".png"));
    }
    return PairedDataset.fromFolders(dir.resolve("low"), dir.resolve("high"), PairedDataset.Options.DEFAULT);
  }

  private static List<PairLoader.BatchData> all(Iterator<PairLoader.BatchData> it) {
    List<PairLoader.BatchData> l = new ArrayList<>();
    it.forEachRemaining(l::add);
    return l;
  }

  @Test
  void epochCoversEveryPairOnceWithConsistentBatches() throws Exception {
    PairedDataset ds = dataset(7);
    try (PairLoader loader = new PairLoader(ds, new PairAugment(), 11)) {
      List<PairLoader.BatchData> batches = all(loader.epochArrays(1, 96, 3, false));
      assertEquals(3, batches.size());
      assertEquals(3, loader.batchesPerEpoch(3, false));
      assertEquals(2, loader.batchesPerEpoch(3, true));
      int[] seen = new int[7];
      for (PairLoader.BatchData b : batches) {
        boolean hasSmall = Arrays.stream(b.indices()).anyMatch(i -> ds.pair(i).name().equals("p3"));
        assertEquals(hasSmall ? 32 : 96, b.size(), "patch shrinks to the largest multiple of 32 that fits the 70x50 image");
        assertEquals(b.batch() * 3 * b.size() * b.size(), b.low().length);
        for (int i : b.indices()) seen[i]++;
        for (int k = 0; k < b.low().length; k++) assertEquals(1 - b.low()[k], b.high()[k], ROUNDING);
      }
      assertArrayEquals(new int[] {1, 1, 1, 1, 1, 1, 1}, seen);
      assertEquals(1, batches.get(2).batch());
      assertEquals(2, all(loader.epochArrays(1, 96, 3, true)).size());
    }
  }

  @Test
  void deterministicAndIndependentOfThreads() throws Exception {
    PairedDataset ds = dataset(6);
    List<PairLoader.BatchData> a, b, c, d;
    try (PairLoader sync = new PairLoader(ds, new PairAugment(), 5)) {
      a = all(sync.epochArrays(3, 64, 2, false));
      c = all(sync.epochArrays(4, 64, 2, false));
      assertFalse(Arrays.equals(sync.order(3), sync.order(4)), "a new shuffle each epoch");
    }
    try (PairLoader threaded = new PairLoader(ds.withCache(1 << 20), new PairAugment(), 5, 2, 2)) {
      b = all(threaded.epochArrays(3, 64, 2, false));
      d = all(threaded.epochArrays(3, 64, 2, false));
    }
    assertEquals(a.size(), b.size());
    for (int i = 0; i < a.size(); i++) {
      assertArrayEquals(a.get(i).indices(), b.get(i).indices());
      assertArrayEquals(a.get(i).low(), b.get(i).low());
      assertArrayEquals(a.get(i).high(), b.get(i).high());
      assertArrayEquals(b.get(i).low(), d.get(i).low(), "the cache does not change the result");
    }
    assertFalse(Arrays.equals(a.get(0).low(), c.get(0).low()));
  }

  @Test
  void workerSlicesConcatenateToTheWholeBatch() throws Exception {
    PairedDataset ds = dataset(8); // p3 (70x50) shrinks the crop of its batch to 32 on every worker's slice
    try (PairLoader loader = new PairLoader(ds, new PairAugment(), 9, 1, 2)) {
      List<PairLoader.BatchData> whole = all(loader.epochArrays(2, 96, 4, true));
      List<PairLoader.BatchData> s0 = all(loader.epochArrays(2, 96, 4, true, 0, 2));
      List<PairLoader.BatchData> s1 = all(loader.epochArrays(2, 96, 4, true, 1, 2));
      assertEquals(2, whole.size());
      assertEquals(whole.size(), s0.size());
      assertEquals(whole.size(), s1.size());
      boolean sawSmall = false;
      for (int b = 0; b < whole.size(); b++) {
        PairLoader.BatchData w = whole.get(b), a = s0.get(b), c = s1.get(b);
        assertEquals(2, a.batch());
        assertEquals(w.size(), a.size(), "crop side of the global batch");
        assertEquals(w.size(), c.size());
        sawSmall |= w.size() == 32;
        int[] idx = new int[4];
        System.arraycopy(a.indices(), 0, idx, 0, 2);
        System.arraycopy(c.indices(), 0, idx, 2, 2);
        assertArrayEquals(w.indices(), idx);
        float[] lo = new float[w.low().length];
        System.arraycopy(a.low(), 0, lo, 0, a.low().length);
        System.arraycopy(c.low(), 0, lo, a.low().length, c.low().length);
        assertArrayEquals(w.low(), lo);
      }
      assertTrue(sawSmall, "one batch holds the 70x50 pair");
      assertThrows(IllegalArgumentException.class, () -> loader.epochArrays(2, 96, 3, true, 0, 2));
      assertThrows(IllegalArgumentException.class, () -> loader.epochArrays(2, 96, 4, true, 2, 2));
    }
  }

  @Test
  void tensorsHaveBatchShape() throws Exception {
    PairedDataset ds = dataset(4);
    try (PairLoader loader = new PairLoader(ds, new PairAugment(), 1, 1, 1);
        PointerScope scope = new PointerScope()) {
      Iterator<PairLoader.Batch> it = loader.epoch(0, 32, 2, true);
      int count = 0;
      while (it.hasNext()) {
        PairLoader.Batch b = it.next();
        assertEquals(4, b.low().dim());
        assertEquals(2, b.low().size(0));
        assertEquals(3, b.low().size(1));
        assertEquals(32, b.low().size(2));
        assertEquals(32, b.high().size(3));
        float[] lo = ImageTensors.floatsOf(b.low()), hi = ImageTensors.floatsOf(b.high());
        for (int k = 0; k < lo.length; k++) assertEquals(1 - lo[k], hi[k], ROUNDING);
        count++;
      }
      assertEquals(2, count);
    }
  }

  @Test
  void unreadableImageSurfacesAtLoadTime() throws Exception {
    PairedDataset ds = dataset(3);
    Files.write(dir.resolve("low/p1.png"), new byte[0]);
    try (PairLoader loader = new PairLoader(ds, new PairAugment(), 1, 1, 2)) {
      UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> all(loader.epochArrays(0, 32, 3, false)));
      assertTrue(e.getCause() instanceof ImageReadException && e.getMessage().contains("zero-byte"), e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> new PairLoader(ds, new PairAugment(), 1).epochArrays(0, 50, 2, false));
  }

  /** A pair too small to crop is named with its files, not only by its size. */
  @Test
  void tooSmallPairIsNamed() throws Exception {
    PairedDataset ds = dataset(2);
    Images.write(ImagesTest.random8(20, 20, 5), dir.resolve("low/tiny.png"));
    Images.write(ImagesTest.random8(20, 20, 6), dir.resolve("high/tiny.png"));
    PairedDataset withTiny = PairedDataset.fromFolders(dir.resolve("low"), dir.resolve("high"),
        PairedDataset.Options.DEFAULT);
    for (int workers : new int[] {0, 2}) {
      try (PairLoader loader = new PairLoader(withTiny, new PairAugment(), 1, workers, 2)) {
        RuntimeException e = assertThrows(RuntimeException.class, () -> all(loader.epochArrays(0, 32, 3, false)));
        String m = e.getMessage() + (e.getCause() == null ? "" : " / " + e.getCause().getMessage());
        assertTrue(m.contains("pair tiny (" + dir.resolve("low/tiny.png") + ", " + dir.resolve("high/tiny.png")
            + "): image 20x20 is smaller than the minimum patch 32x32"), m);
      }
    }
    assertEquals(2, ds.size());
  }
}
