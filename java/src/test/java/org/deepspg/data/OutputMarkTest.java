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

  /** A little-endian TIFF (the EXIF block's own structure): the tag goes in order, the other tags still read. */
  @Test
  void aLittleEndianTiffKeepsItsTags() {
    byte[] t = ExifDataTest.block();
    byte[] marked = OutputMark.mark(t, "tiff");
    assertTrue(OutputMark.isMarked(marked));
    assertEquals(6, ExifOrientation.fromTiff(marked, 0, marked.length), "the orientation tag still reads");
    byte[] twice = OutputMark.mark(marked, "tiff");
    assertTrue(OutputMark.isMarked(twice));
    int ifd = (int) ExifOrientation.u32(twice, 4, true);
    assertEquals(4, ExifOrientation.u16(twice, ifd, true), "three tags and one Software tag");
  }

  private static byte[] exif(byte[] file) {
    int[] r = ExifOrientation.exifBlock(file);
    return java.util.Arrays.copyOfRange(file, r[0], r[1]);
  }
}
