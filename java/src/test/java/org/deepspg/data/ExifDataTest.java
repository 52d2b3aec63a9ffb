/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * {@link ExifData}: a photo's EXIF block reaches its JPEG and PNG outputs, made true for the upright pixels
 * (orientation 1, no thumbnail, swapped pixel dimensions), and {@code keepExif = false} strips it.
 */
class ExifDataTest {
  private static final Path NAME = Path.of("photo.jpg");
  private static final String DATE = "2021:06:05 04:03:02";
  /** Where the block's 16-byte stand-in thumbnail lies. */
  private static final int THUMB = 400;

  /** The entries of the block's IFD0. */
  private static final int IFD0_ENTRIES = 8;

  /**
   * A little-endian EXIF block: IFD0 (the stored size 32 x 16, Make, Orientation 6, a resolution of 300 x 200 dpi,
   * the Exif IFD pointer) linked to an IFD1 (a thumbnail's offset and length); the Exif IFD holds DateTimeOriginal,
   * ColorSpace 65535 (uncalibrated) and the stored pixel dimensions 32 x 16.
   */
  static byte[] block() {
    ByteBuffer b = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN);
    b.put((byte) 'I').put((byte) 'I').putShort((short) 42).putInt(8);
    int ifd0 = 8, ifd1 = ifd0 + 2 + IFD0_ENTRIES * 12 + 4, exif = ifd1 + 2 + 2 * 12 + 4;
    int strings = exif + 2 + 4 * 12 + 4, rationals = strings + 32;
    b.position(ifd0).putShort((short) IFD0_ENTRIES);
    entry(b, 0x0100, 4, 1, 32); // ImageWidth (LONG)
    entry(b, 0x0101, 3, 1, 16); // ImageLength (SHORT)
    entry(b, 0x010f, 2, 9, strings); // Make "TestCam!\0"
    entry(b, 0x0112, 3, 1, 6);
    entry(b, 0x011a, 5, 1, rationals); // XResolution 300/1
    entry(b, 0x011b, 5, 1, rationals + 8); // YResolution 200/1
    entry(b, 0x0128, 3, 1, 2); // ResolutionUnit: inches
    entry(b, 0x8769, 4, 1, exif);
    b.putInt(ifd1);
    b.position(ifd1).putShort((short) 2);
    entry(b, 0x0201, 4, 1, THUMB);
    entry(b, 0x0202, 4, 1, 16);
    b.putInt(0);
    b.position(exif).putShort((short) 4);
    entry(b, 0x9003, 2, 20, strings + 9);
    entry(b, 0xa001, 3, 1, 65535);
    entry(b, 0xa002, 4, 1, 32);
    entry(b, 0xa003, 3, 1, 16);
    b.putInt(0);
    b.position(strings).put("TestCam!\0".getBytes(StandardCharsets.ISO_8859_1))
        .put((DATE + "\0").getBytes(StandardCharsets.ISO_8859_1));
    b.position(rationals).putInt(300).putInt(1).putInt(200).putInt(1);
    b.position(THUMB);
    for (int i = 0; i < 16; i++) b.put((byte) (0xA0 + i)); // the "thumbnail"'s bytes
    byte[] out = new byte[b.position()];
    System.arraycopy(b.array(), 0, out, 0, out.length);
    return out;
  }

  private static void entry(ByteBuffer b, int tag, int type, int count, int value) {
    b.putShort((short) tag).putShort((short) type).putInt(count);
    if (type == 3 && count == 1) b.putShort((short) value).putShort((short) 0);
    else b.putInt(value);
  }

  /** A 32 x 16 JPEG (stored sideways: orientation 6 makes it 16 x 32) with {@code exif} in an APP1 segment. */
  static byte[] jpeg(byte[] exif) throws Exception {
    float[] p = new float[3 * 32 * 16];
    for (int i = 0; i < p.length; i++) p[i] = (i % 97) / 97f;
    byte[] plain = Images.encode(Image.of(32, 16, p), "jpeg", WriteOptions.DEFAULT);
    return ExifData.intoJpeg(plain, exif);
  }

  /** The value field (as an unsigned int of its type) of {@code tag} in the directory at {@code ifd}, or -1. */
  private static long tag(byte[] t, int ifd, int tag) {
    int n = ExifOrientation.u16(t, ifd, true);
    for (int e = 0; e < n; e++) {
      int at = ifd + 2 + 12 * e;
      if (ExifOrientation.u16(t, at, true) != tag) continue;
      return ExifOrientation.u16(t, at + 2, true) == 3 ? ExifOrientation.u16(t, at + 8, true)
          : ExifOrientation.u32(t, at + 8, true);
    }
    return -1;
  }

  private static byte[] exifOf(byte[] file) {
    int[] r = ExifOrientation.exifBlock(file);
    return r == null ? null : java.util.Arrays.copyOfRange(file, r[0], r[1]);
  }

  @Test
  void outputsCarryTheBlockMadeTrueForUprightPixels() throws Exception {
    byte[] src = jpeg(block());
    Image img = Images.decode(src, NAME, ReadOptions.DEFAULT);
    assertEquals(16, img.width(), "orientation 6 applied");
    for (String format : new String[] {"jpeg", "png"}) {
      byte[] out = Images.encode(img, format, WriteOptions.DEFAULT);
      byte[] t = exifOf(out);
      assertNotNull(t, format + " output carries EXIF");
      assertEquals(block().length, t.length, format);
      assertEquals(1, ExifOrientation.find(out), format + ": the pixels are upright, the tag says so");
      assertEquals(0, ExifOrientation.u32(t, 8 + 2 + IFD0_ENTRIES * 12, true), format + ": the thumbnail IFD is "
          + "unlinked");
      assertArrayEquals(new byte[16], java.util.Arrays.copyOfRange(t, THUMB, THUMB + 16), format + ": and zeroed");
      int exif = (int) tag(t, 8, 0x8769);
      assertEquals(16, tag(t, exif, 0xa002), format + ": PixelXDimension of the upright image");
      assertEquals(32, tag(t, exif, 0xa003), format + ": PixelYDimension");
      assertEquals(65535, tag(t, exif, 0xa001), format + ": colour space untouched (no conversion)");
      int date = (int) tag(t, exif, 0x9003);
      assertEquals(DATE, new String(t, date, DATE.length(), StandardCharsets.ISO_8859_1), format + ": capture date");
      // Read back: the same pixels, no second turn.
      Image back = Images.decode(out, Path.of("o." + format), ReadOptions.DEFAULT);
      assertEquals(16, back.width(), format);
      assertArrayEquals(Images.decode(Images.encode(img, format, WriteOptions.DEFAULT.withKeepExif(false)),
          Path.of("s." + format), ReadOptions.DEFAULT).rgb(), back.rgb(), 0f, format + ": pixels as without EXIF");
      assertNull(exifOf(Images.encode(img, format, WriteOptions.DEFAULT.withKeepExif(false))), format + " stripped");
    }
    // Without applying the orientation the pixels stay stored sideways and the tag stays 6.
    Image raw = Images.decode(src, NAME, ReadOptions.DEFAULT.withExifOrientation(false));
    assertEquals(6, ExifOrientation.find(Images.encode(raw, "jpeg", WriteOptions.DEFAULT)));
  }

  /**
   * IFD0's ImageWidth/ImageLength and XResolution/YResolution follow the axes as the Exif IFD's pixel dimensions do:
   * for orientations 5 to 8 they stayed as stored while the pixels were turned (the I/O audit). The resolution is
   * kept (JPEG and PNG outputs carry the camera's DPI, as most tools do; docs/inference.md says so).
   */
  @Test
  void sizesAndResolutionsFollowTheAxes() throws Exception {
    Image img = Images.decode(jpeg(block()), NAME, ReadOptions.DEFAULT);
    for (String format : new String[] {"jpeg", "png"}) {
      byte[] t = exifOf(Images.encode(img, format, WriteOptions.DEFAULT));
      assertEquals(16, tag(t, 8, 0x0100), format + ": ImageWidth of the upright image");
      assertEquals(32, tag(t, 8, 0x0101), format + ": ImageLength");
      assertEquals(200, ExifOrientation.u32(t, (int) tag(t, 8, 0x011a), true), format + ": XResolution, was Y's");
      assertEquals(300, ExifOrientation.u32(t, (int) tag(t, 8, 0x011b), true), format + ": YResolution, was X's");
      assertEquals(2, tag(t, 8, 0x0128), format + ": ResolutionUnit kept");
    }
    // orientation applied off: nothing turns
    Image raw = Images.decode(jpeg(block()), NAME, ReadOptions.DEFAULT.withExifOrientation(false));
    byte[] t = exifOf(Images.encode(raw, "jpeg", WriteOptions.DEFAULT));
    assertEquals(32, tag(t, 8, 0x0100));
    assertEquals(300, ExifOrientation.u32(t, (int) tag(t, 8, 0x011a), true));
  }

  /**
   * A JPEG whose embedded ICC profile the JDK's reader converts to sRGB says so, and its EXIF colour space becomes
   * sRGB (an Adobe RGB JPEG kept "uncalibrated" over sRGB pixels: the docs audit, session 35).
   */
  @Test
  void aConvertedJpegProfileMakesTheColourSpaceSrgb() throws Exception {
    byte[] profile = java.awt.color.ICC_Profile.getInstance(java.awt.color.ColorSpace.CS_LINEAR_RGB).getData();
    ByteArrayOutputStream app2 = new ByteArrayOutputStream();
    app2.writeBytes("ICC_PROFILE\0".getBytes(StandardCharsets.ISO_8859_1));
    app2.write(1); // chunk 1 of 1
    app2.write(1);
    app2.writeBytes(profile);
    byte[] tagged = ExifData.afterSoi(jpeg(block()), 0xe2, app2.toByteArray());
    Image img = Images.decode(tagged, NAME, ReadOptions.DEFAULT);
    assertTrue(img.metadata().colorNote().startsWith("converted from ICC profile"), img.metadata().colorNote());
    byte[] t = exifOf(Images.encode(img, "jpeg", WriteOptions.DEFAULT));
    assertEquals(1, tag(t, (int) tag(t, 8, 0x8769), 0xa001), "ColorSpace sRGB");
  }

  @Test
  void damagedBlocksAreDroppedAndLargeOnesLeftOut() throws Exception {
    byte[] bad = block();
    bad[2] = 41; // not a TIFF header
    assertNull(Images.decode(jpeg(bad), NAME, ReadOptions.DEFAULT).metadata().exif());
    byte[] cut = java.util.Arrays.copyOf(block(), 30); // IFD0 runs past the end
    assertNull(Images.decode(jpeg(cut), NAME, ReadOptions.DEFAULT).metadata().exif());
    ByteArrayOutputStream big = new ByteArrayOutputStream();
    big.writeBytes(block());
    big.writeBytes(new byte[70_000]);
    byte[] plain = jpeg(block());
    assertArrayEquals(plain, ExifData.intoJpeg(plain, big.toByteArray()), "too large for an APP1 segment: left out");
  }

  /**
   * A PNG's eXIf chunk was copied whole into outputs: 20 MB of zeros after an empty directory made a 21 MB output of a
   * 60 KB picture (the I/O audit). A block larger than a JPEG APP1 segment holds reaches no output, and a notice says
   * so; one of the largest size that fits is kept.
   */
  @Test
  void oversizedBlocksReachNoOutput() throws Exception {
    byte[] png = Images.encode(Image.of(4, 4, new float[48]), "png", WriteOptions.DEFAULT);
    for (int size : new int[] {ExifData.MAX_BYTES, ExifData.MAX_BYTES + 1, 1 << 20}) {
      byte[] t = new byte[size]; // an empty IFD0, then zeros
      t[0] = 'I';
      t[1] = 'I';
      t[2] = 42;
      t[4] = 8;
      Image img = Images.decode(ExifData.intoPng(png, t), Path.of("big.png"), ReadOptions.DEFAULT);
      boolean fits = size <= ExifData.MAX_BYTES;
      assertEquals(fits ? size : -1, img.metadata().exif() == null ? -1 : img.metadata().exif().length, "" + size);
      assertEquals(fits, img.metadata().notice().isEmpty(), img.metadata().notice());
      byte[] out = Images.encode(img, "png", WriteOptions.DEFAULT);
      assertTrue(out.length < png.length + size / 2 || fits, "output of " + out.length + " bytes");
    }
  }
}
