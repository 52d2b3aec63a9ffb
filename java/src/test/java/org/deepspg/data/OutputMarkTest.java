/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link OutputMark}: the mark {@code enhance} puts in its outputs is found in each format that has room for it, leaves
 * the pixels and the EXIF block as they were, and is not mistaken for in a file without it.
 */
class OutputMarkTest {
  private static final Path NAME = Path.of("out.jpg");

  @Test
  void eachWritableFormatButBmpCarriesTheMarkAndReadsAsBefore() throws Exception {
    Image photo = Images.decode(ExifDataTest.jpeg(ExifDataTest.block()), NAME, ReadOptions.DEFAULT);
    for (String format : new String[] {"png", "jpeg", "tiff", "bmp"}) {
      for (int bits : new int[] {8, 16}) {
        byte[] plain = Images.encode(photo, format, WriteOptions.DEFAULT.withBitDepth(bits));
        byte[] marked = OutputMark.mark(plain, format);
        assertFalse(OutputMark.isMarked(plain), format + ": no mark before");
        if (format.equals("bmp")) {
          assertSame(plain, marked, "BMP has no place for the mark");
          continue;
        }
        assertTrue(OutputMark.isMarked(marked), format + " " + bits + " bits");
        Image a = Images.decode(plain, NAME, ReadOptions.DEFAULT);
        Image b = Images.decode(marked, NAME, ReadOptions.DEFAULT);
        assertArrayEquals(a.rgb(), b.rgb(), format + ": same pixels");
        assertEquals(a.metadata().bitDepth(), b.metadata().bitDepth(), format);
        if (!format.equals("tiff")) {
          assertArrayEquals(exif(plain), exif(marked),
              format + ": the EXIF block is still found");
        }
      }
    }
  }

  /**
   * A file is checked from its head (PNG, JPEG) or where its TIFF directory lies, not read whole (a rerun over a
   * folder of large outputs); here a TIFF whose marked directory lies past the head.
   */
  @Test
  void filesAreCheckedWithoutReadingThemWhole(@TempDir Path dir) throws Exception {
    float[] noise = new float[3 * 400 * 400];
    java.util.Random r = new java.util.Random(1);
    for (int i = 0; i < noise.length; i++) noise[i] = r.nextFloat();
    Image img = Image.of(400, 400, noise);
    for (String format : new String[] {"png", "jpeg", "tiff"}) {
      byte[] plain = Images.encode(img, format, WriteOptions.DEFAULT.withBitDepth(16));
      Path f = dir.resolve("a." + format);
      java.nio.file.Files.write(f, plain);
      assertFalse(OutputMark.isMarked(f), format);
      java.nio.file.Files.write(f, OutputMark.mark(plain, format));
      assertTrue(OutputMark.isMarked(f), format);
      if (format.equals("tiff")) assertTrue(plain.length > 256 << 10, "the directory lies past the head");
    }
    assertFalse(OutputMark.isMarked(dir.resolve("none.png")), "a missing file has no mark");
  }

  /** A little-endian TIFF (the EXIF block's own structure): the tag goes in order, the other tags still read. */
  @Test
  void aLittleEndianTiffKeepsItsTags() {
    byte[] t = ExifDataTest.block();
    byte[] marked = OutputMark.mark(t, "tiff");
    assertTrue(OutputMark.isMarked(marked));
    assertEquals(6, ExifOrientation.fromTiff(marked, 0, marked.length), "the orientation tag still reads");
    byte[] twice = OutputMark.mark(marked, "tiff");
    assertTrue(OutputMark.isMarked(twice));
    int tags = ExifOrientation.u16(t, (int) ExifOrientation.u32(t, 4, true), true);
    int ifd = (int) ExifOrientation.u32(twice, 4, true);
    assertEquals(tags + 1, ExifOrientation.u16(twice, ifd, true), "the block's tags and one Software tag");
  }

  private static byte[] exif(byte[] file) {
    int[] r = ExifOrientation.exifBlock(file);
    return java.util.Arrays.copyOfRange(file, r[0], r[1]);
  }
}
