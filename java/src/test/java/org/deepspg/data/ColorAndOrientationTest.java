/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CMYK/YCCK JPEGs are refused with a clear message (the JDK decoder returned their samples as RGB: near-white
 * garbage, written with exit code 0), and TIFF files honour their orientation tag like JPEG and PNG do. The files
 * (24×16: left half red, right half blue, a green band on top) were made for these tests with Pillow.
 */
class ColorAndOrientationTest {
  private static byte[] resource(String name) throws IOException {
    try (InputStream in = ColorAndOrientationTest.class.getResourceAsStream("/org/deepspg/data/" + name)) {
      assertTrue(in != null, name);
      return in.readAllBytes();
    }
  }

  @Test
  void cmykJpegIsRefusedClearly() throws IOException {
    byte[] cmyk = resource("cmyk-24x16.jpg");
    assertEquals(4, ExifOrientation.jpegComponents(cmyk));
    ImageReadException e = assertThrows(ImageReadException.class,
        () -> Images.decode(cmyk, Path.of("cmyk.jpg"), ReadOptions.DEFAULT));
    assertTrue(e.reason().contains("CMYK/YCCK JPEG"), e.reason());
    assertTrue(e.getMessage().contains("cmyk.jpg"), e.getMessage());
    // An RGB JPEG has three components and reads as before.
    byte[] rgb = Images.encode(Images.decode(resource("plain-24x16.png"), Path.of("p.png"), ReadOptions.DEFAULT),
        "jpeg", WriteOptions.DEFAULT);
    assertEquals(3, ExifOrientation.jpegComponents(rgb));
    assertEquals(24, Images.decode(rgb, Path.of("rgb.jpg"), ReadOptions.DEFAULT).width());
    assertEquals(0, ExifOrientation.jpegComponents(resource("plain-24x16.png")), "not a JPEG");
  }

  /** The header check refuses what decoding refuses: data check and training's up-front check must not pass it. */
  @Test
  void probeRefusesCmykJpegToo(@TempDir Path dir) throws IOException {
    Path f = dir.resolve("cmyk.jpg");
    Files.write(f, resource("cmyk-24x16.jpg"));
    ImageReadException e = assertThrows(ImageReadException.class, () -> Images.probe(f, ReadOptions.DEFAULT));
    assertTrue(e.reason().contains("CMYK/YCCK JPEG"), e.reason());
    Path rgb = dir.resolve("rgb.png");
    Files.write(rgb, resource("plain-24x16.png"));
    assertArrayEquals(new int[] {24, 16}, Images.probe(rgb, ReadOptions.DEFAULT));
  }

  @Test
  void tiffOrientationIsApplied() throws IOException {
    byte[] tiff = resource("orient6-24x16.tif");
    assertEquals(6, ExifOrientation.find(tiff));
    Image plain = Images.decode(resource("plain-24x16.png"), Path.of("p.png"), ReadOptions.DEFAULT);
    Image got = Images.decode(tiff, Path.of("o.tif"), ReadOptions.DEFAULT);
    assertEquals(16, got.width(), "orientation 6 turns the 24x16 image upright: 16 wide");
    assertEquals(24, got.height());
    Image expected = Images.orient(plain, 6);
    assertArrayEquals(expected.rgb(), got.rgb(), "same pixels as the PNG turned by the same orientation");
    // Orientation 6 rotates 90 degrees clockwise: the green band on top ends up in the right-most columns.
    int n = got.width() * got.height();
    assertTrue(got.rgb()[n + got.width() - 1] > 0.7f && got.rgb()[0 + got.width() - 1] < 0.2f);
  }
}
