/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PairedDatasetTest {
  @TempDir Path dir;

  private static void img(Path p, int w, int h, long seed) throws Exception {
    Files.createDirectories(p.getParent());
    Images.write(ImagesTest.random8(w, h, seed), p);
  }

  private static List<String> names(PairedDataset d) {
    return d.pairs().stream().map(PairedDataset.Pair::name).collect(Collectors.toList());
  }

  @Test
  void lolV1() throws Exception {
    Path root = dir.resolve("LOLdataset");
    for (String n : List.of("2", "5", "11")) {
      img(root.resolve("our485/low/" + n + ".png"), 8, 6, 1);
      img(root.resolve("our485/high/" + n + ".png"), 8, 6, 2);
    }
    for (String n : List.of("1", "22")) {
      img(root.resolve("eval15/low/" + n + ".png"), 8, 6, 3);
      img(root.resolve("eval15/high/" + n + ".png"), 8, 6, 4);
    }
    assertEquals(DatasetLayouts.Layout.LOL_V1, DatasetLayouts.detect(root));
    assertEquals(DatasetLayouts.Layout.LOL_V1, DatasetLayouts.detect(dir), "one level down (unzipped folder)");
    assertEquals(List.of("11", "2", "5"), names(DatasetLayouts.open(root, Split.TRAIN)));
    assertEquals(List.of("1", "22"), names(DatasetLayouts.open(root, Split.TEST)));
    PairedDataset all = DatasetLayouts.open(root, Split.ALL);
    assertEquals(List.of("eval15/1", "eval15/22", "our485/11", "our485/2", "our485/5"), names(all));
    PairedDataset.Pair p = all.pair(0);
    assertEquals(root.resolve("eval15/low/1.png"), p.low());
    assertEquals(root.resolve("eval15/high/1.png"), p.high());
    PairedDataset.Loaded l = all.load(0);
    assertEquals(8, l.low().width());
    assertTrue(all.description().contains("LOL_V1"));
  }

  @Test
  void lolV2RealMatchesLowAndNormalPrefixes() throws Exception {
    Path real = dir.resolve("LOL-v2/Real_captured");
    for (String s : List.of("Train", "Test")) {
      for (int i = 1; i <= 2; i++) {
        String id = String.format("%05d", s.equals("Train") ? i : 690 + i);
        img(real.resolve(s + "/Low/low" + id + ".png"), 6, 4, i);
        img(real.resolve(s + "/Normal/normal" + id + ".png"), 6, 4, i + 10);
      }
    }
    Path syn = dir.resolve("LOL-v2/Synthetic");
    img(syn.resolve("Train/Low/r000da54ft.png"), 6, 4, 1);
    img(syn.resolve("Train/Normal/r000da54ft.png"), 6, 4, 2);
    img(syn.resolve("Test/Low/r01.png"), 6, 4, 3);
    img(syn.resolve("Test/Normal/r01.png"), 6, 4, 4);
    assertEquals(DatasetLayouts.Layout.LOL_V2_REAL, DatasetLayouts.detect(real));
    assertEquals(DatasetLayouts.Layout.LOL_V2_SYNTHETIC, DatasetLayouts.detect(syn));
    PairedDataset train = DatasetLayouts.open(real, Split.TRAIN);
    assertEquals(List.of("low00001", "low00002"), names(train));
    assertEquals(real.resolve("Train/Normal/normal00001.png"), train.pair(0).high());
    assertEquals(2, DatasetLayouts.open(real, Split.TEST).size());
    assertEquals(1, DatasetLayouts.open(syn, Split.TEST).size());
    DatasetException e = assertThrows(DatasetException.class, () -> DatasetLayouts.detect(dir.resolve("LOL-v2")));
    assertTrue(e.getMessage().contains("both LOL-v2 parts"), e.getMessage());
  }

  @Test
  void genericFoldersMatchByStemWhateverTheExtension() throws Exception {
    img(dir.resolve("in/A.PNG"), 5, 5, 1);
    img(dir.resolve("gt/a.jpg"), 5, 5, 2);
    img(dir.resolve("in/b.bmp"), 5, 5, 3);
    img(dir.resolve("gt/b.png"), 5, 5, 4);
    Files.writeString(dir.resolve("in/notes.txt"), "ignored");
    Files.writeString(dir.resolve("gt/.hidden.png"), "ignored");
    PairedDataset d = PairedDataset.fromFolders(dir.resolve("in"), dir.resolve("gt"), PairedDataset.Options.DEFAULT);
    assertEquals(List.of("A", "b"), names(d));
    assertEquals(dir.resolve("gt/a.jpg"), d.pair(0).high());
  }

  @Test
  void inconsistentFoldersListEveryProblem() throws Exception {
    img(dir.resolve("low/ok.png"), 6, 6, 1);
    img(dir.resolve("high/ok.png"), 6, 6, 2);
    img(dir.resolve("low/only-low.png"), 6, 6, 3);
    img(dir.resolve("high/only-high.png"), 6, 6, 4);
    img(dir.resolve("low/size.png"), 6, 6, 5);
    img(dir.resolve("high/size.png"), 7, 6, 6);
    Files.createFile(dir.resolve("low/empty.png"));
    img(dir.resolve("high/empty.png"), 6, 6, 7);
    Files.writeString(dir.resolve("low/text.jpg"), "no jpeg");
    img(dir.resolve("high/text.png"), 6, 6, 8);
    img(dir.resolve("low/OK.bmp"), 6, 6, 9); // same stem as ok.png: which one pairs with high/ok.png?
    DatasetException e = assertThrows(DatasetException.class,
        () -> PairedDataset.fromFolders(dir.resolve("low"), dir.resolve("high"), PairedDataset.Options.DEFAULT));
    assertEquals(List.of(dir.resolve("low/only-low.png").toString()), e.lowWithoutHigh());
    assertEquals(List.of(dir.resolve("high/only-high.png").toString()), e.highWithoutLow());
    assertEquals(2, e.unreadable().size(), e.getMessage());
    assertTrue(e.unreadable().get(0).contains("empty.png: zero-byte file"), e.unreadable().toString());
    assertTrue(e.unreadable().get(1).contains("text.jpg: not a recognised image format"), e.unreadable().toString());
    assertEquals(List.of("size: low 6x6 (" + dir.resolve("low/size.png") + "), high 7x6 ("
        + dir.resolve("high/size.png") + ")"), e.sizeMismatch());
    assertEquals(List.of(dir.resolve("low/ok.png") + ": same stem as OK.bmp (ambiguous pair)"), e.duplicateStems());
    String m = e.getMessage();
    assertTrue(m.contains("only-low.png") && m.contains("only-high.png") && m.contains("zero-byte") && m.contains("7x6"), m);
    assertTrue(m.contains("1 files with the same stem as another file in their folder (ambiguous pairs):\n    "
        + dir.resolve("low/ok.png")), m);
    Files.delete(dir.resolve("low/OK.bmp"));

    // without validation only the pairing is checked
    Files.delete(dir.resolve("low/only-low.png"));
    Files.delete(dir.resolve("high/only-high.png"));
    PairedDataset d = PairedDataset.fromFolders(dir.resolve("low"), dir.resolve("high"),
        PairedDataset.Options.DEFAULT.withValidate(false));
    assertEquals(4, d.size());
    int sizeIdx = names(d).indexOf("size");
    assertThrows(DatasetException.class, () -> d.load(sizeIdx));
    int emptyIdx = names(d).indexOf("empty");
    assertThrows(ImageReadException.class, () -> d.load(emptyIdx));
  }

  /** Sizes are compared as the images are read: upright, after the EXIF orientation. */
  @Test
  void sizeCheckAppliesTheExifOrientation() throws Exception {
    byte[] jpg = Images.encode(ImagesTest.random8(96, 64, 1), "jpeg", WriteOptions.DEFAULT);
    byte[] turned = ImagesTest.jpegWithExif(jpg, ImagesTest.tiffWithOrientation(6, false));
    Path low = dir.resolve("low/a.jpg");
    Files.createDirectories(low.getParent());
    Files.write(low, turned);
    assertArrayEquals(new int[] {64, 96}, Images.probe(low, ReadOptions.DEFAULT), "the size read() returns");
    assertArrayEquals(new int[] {96, 64}, Images.probe(low, ReadOptions.DEFAULT.withExifOrientation(false)));
    // stored 96x64 but read as 64x96: a 96x64 partner is refused up front, not at the first batch
    img(dir.resolve("high/a.png"), 96, 64, 2);
    DatasetException e = assertThrows(DatasetException.class,
        () -> PairedDataset.fromFolders(dir.resolve("low"), dir.resolve("high"), PairedDataset.Options.DEFAULT));
    assertEquals(1, e.sizeMismatch().size(), e.getMessage());
    assertTrue(e.sizeMismatch().get(0).contains("low 64x96") && e.sizeMismatch().get(0).contains("96x64"),
        e.getMessage());
    // an upright 64x96 partner is the right one
    Files.delete(dir.resolve("high/a.png"));
    img(dir.resolve("high/a.png"), 64, 96, 2);
    PairedDataset d = PairedDataset.fromFolders(dir.resolve("low"), dir.resolve("high"), PairedDataset.Options.DEFAULT);
    assertEquals(64, d.load(0).low().width());
  }

  @Test
  void flatLayoutAndUnknownLayouts() throws Exception {
    img(dir.resolve("flat/low/x.png"), 4, 4, 1);
    img(dir.resolve("flat/high/x.png"), 4, 4, 2);
    assertEquals(DatasetLayouts.Layout.FLAT, DatasetLayouts.detect(dir.resolve("flat")));
    assertEquals(1, DatasetLayouts.open(dir.resolve("flat"), Split.ALL).size());
    DatasetException e = assertThrows(DatasetException.class, () -> DatasetLayouts.open(dir.resolve("flat"), Split.TRAIN));
    assertTrue(e.getMessage().contains("Split.ALL"), e.getMessage());
    Files.createDirectories(dir.resolve("nothing/foo"));
    Files.createDirectories(dir.resolve("nothing/bar"));
    DatasetException u = assertThrows(DatasetException.class, () -> DatasetLayouts.detect(dir.resolve("nothing")));
    assertTrue(u.getMessage().contains("bar, foo") && u.getMessage().contains("our485"), u.getMessage());
    assertThrows(DatasetException.class, () -> DatasetLayouts.detect(dir.resolve("missing")));
    assertThrows(IllegalArgumentException.class, () -> Split.parse("validation"));
    assertEquals(Split.TEST, Split.parse("Eval"));
  }

  /** Two folders for one part (low/ and Low/, or low/ and input/) are refused: the first used to win silently. */
  @Test
  void twoFoldersForOnePartAreRefused() throws Exception {
    img(dir.resolve("two/low/x.png"), 4, 4, 1);
    img(dir.resolve("two/high/x.png"), 4, 4, 2);
    img(dir.resolve("two/input/x.png"), 4, 4, 3);
    DatasetException e = assertThrows(DatasetException.class, () -> DatasetLayouts.open(dir.resolve("two"),
        Split.ALL));
    assertTrue(e.getMessage().contains("input/, low/"), e.getMessage());
    img(dir.resolve("split/train/low/x.png"), 4, 4, 1);
    img(dir.resolve("split/train/high/x.png"), 4, 4, 2);
    img(dir.resolve("split/Train/low/x.png"), 4, 4, 1);
    img(dir.resolve("split/Train/high/x.png"), 4, 4, 2);
    e = assertThrows(DatasetException.class, () -> DatasetLayouts.open(dir.resolve("split"), Split.TRAIN));
    assertTrue(e.getMessage().contains("Train/, train/"), e.getMessage());
  }

  @Test
  void lruCacheKeepsDecodedPairsWithinBudget() throws Exception {
    for (int i = 0; i < 4; i++) {
      img(dir.resolve("low/" + i + ".png"), 10, 10, i);
      img(dir.resolve("high/" + i + ".png"), 10, 10, i + 100);
    }
    long pairBytes = 4L * 2 * 3 * 100; // two 10x10 RGB float images
    PairedDataset d = PairedDataset.fromFolders(dir.resolve("low"), dir.resolve("high"), PairedDataset.Options.DEFAULT)
        .withCache(2 * pairBytes);
    PairedDataset.Loaded a = d.load(0);
    assertSame(a, d.load(0), "second load comes from the cache");
    d.load(1);
    assertEquals(2 * pairBytes, d.cachedBytes());
    d.load(2); // evicts the least recently used pair (0 was used before 1)
    assertEquals(2 * pairBytes, d.cachedBytes());
    assertTrue(a != d.load(0), "pair 0 was evicted and decoded again");
    PairedDataset none = d.withCache(0);
    assertTrue(none.load(0) != none.load(0));
    assertEquals(0, none.cachedBytes());
  }
}
