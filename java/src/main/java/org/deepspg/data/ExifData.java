/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;

/**
 * The EXIF block (capture date, camera, exposure, GPS, ...) that an enhanced image carries from its source to its
 * output, so that an archive sorted by capture date stays sorted (the photo audit of session 35 found every output
 * without it). Read from a JPEG APP1, PNG {@code eXIf} or WebP {@code EXIF} block; written into JPEG (APP1) and PNG
 * ({@code eXIf}) outputs, up to {@link #MAX_BYTES}; TIFF and BMP outputs carry none.
 *
 * <p>The copy is made true for the output: the orientation tag is set to 1 when reading turned the pixels upright
 * (else a viewer would turn them again), the thumbnail directory (IFD1, a small copy of the dark original) is
 * unlinked and its image zeroed, the sizes and resolutions that follow the axes (IFD0's ImageWidth/ImageLength and
 * XResolution/YResolution, the Exif directory's PixelXDimension/PixelYDimension) are swapped with them, and its
 * colour-space tag says sRGB when reading converted an ICC profile to sRGB. The resolution (DPI) is kept, as most
 * tools keep it: the output has the source's pixel count, so it prints at the source's size. A block that does not
 * parse cleanly is dropped rather than copied. Maker-note previews stay: their layout is the camera maker's.
 */
public final class ExifData {
  private static final int TAG_WIDTH = 0x0100;
  private static final int TAG_LENGTH = 0x0101;
  private static final int TAG_ORIENTATION = 0x0112;
  private static final int TAG_X_RESOLUTION = 0x011a;
  private static final int TAG_Y_RESOLUTION = 0x011b;
  private static final int TAG_EXIF_IFD = 0x8769;
  private static final int TAG_COLOR_SPACE = 0xa001;
  private static final int TAG_PIXEL_X = 0xa002;
  private static final int TAG_PIXEL_Y = 0xa003;
  private static final int TYPE_SHORT = 3;
  private static final int TYPE_LONG = 4;

  /**
   * The largest block an output carries: what a JPEG APP1 segment holds after its "Exif\0\0" prefix (65,535 less
   * the length field and the prefix). Reading leaves a larger block (a PNG's or WebP's, which have no such bound) out
   * of every output, with a notice.
   */
  public static final int MAX_BYTES = 65535 - 2 - 6;

  private ExifData() {}

  /**
   * The EXIF block of an encoded file, made true for an output of the decoded pixels.
   *
   * @param file the encoded file
   * @param appliedOrientation the EXIF orientation reading applied (1: none; the tag is then kept as it was)
   * @param convertedToSrgb whether reading converted the pixels from an ICC profile to sRGB
   * @return the TIFF-structured block, or null when the file has none or it does not parse
   */
  public static byte[] forOutput(byte[] file, int appliedOrientation, boolean convertedToSrgb) {
    int[] r = ExifOrientation.exifBlock(file);
    if (r == null || r[1] - r[0] < 8) return null;
    byte[] t = java.util.Arrays.copyOfRange(file, r[0], r[1]);
    try {
      return patch(t, appliedOrientation, convertedToSrgb) ? t : null;
    } catch (IndexOutOfBoundsException e) {
      return null;
    }
  }

  private static boolean patch(byte[] t, int applied, boolean srgb) {
    boolean le;
    if (t[0] == 'I' && t[1] == 'I') le = true;
    else if (t[0] == 'M' && t[1] == 'M') le = false;
    else return false;
    if (ExifOrientation.u16(t, 2, le) != 42) return false;
    long ifd0 = ExifOrientation.u32(t, 4, le);
    if (ifd0 < 8 || ifd0 + 2 > t.length) return false;
    int p = (int) ifd0, n = ExifOrientation.u16(t, p, le);
    if (p + 2 + 12L * n + 4 > t.length) return false;
    long exifIfd = -1;
    int[] size = {-1, -1}, resolution = {-1, -1}; // entries of ImageWidth/ImageLength, XResolution/YResolution
    for (int e = 0; e < n; e++) {
      int at = p + 2 + 12 * e, tag = ExifOrientation.u16(t, at, le), type = ExifOrientation.u16(t, at + 2, le);
      if (tag == TAG_ORIENTATION && type == TYPE_SHORT && applied != 1) put16(t, at + 8, 1, le);
      if (tag == TAG_EXIF_IFD && (type == TYPE_LONG || type == 13)) exifIfd = ExifOrientation.u32(t, at + 8, le);
      if (tag == TAG_WIDTH || tag == TAG_LENGTH) size[tag - TAG_WIDTH] = at;
      if (tag == TAG_X_RESOLUTION || tag == TAG_Y_RESOLUTION) resolution[tag - TAG_X_RESOLUTION] = at;
    }
    boolean swap = ExifOrientation.swapsAxes(applied);
    if (swap && (!swapValues(t, size, le) || !swapValues(t, resolution, le))) return false;
    clearThumbnail(t, ExifOrientation.u32(t, p + 2 + 12 * n, le), le);
    put32(t, p + 2 + 12 * n, 0, le); // unlink IFD1: its thumbnail shows the unenhanced image
    if (exifIfd < 8 || exifIfd + 2 > t.length) return true;
    int q = (int) exifIfd, m = ExifOrientation.u16(t, q, le);
    if (q + 2 + 12L * m > t.length) return true;
    int[] pixels = {-1, -1};
    for (int e = 0; e < m; e++) {
      int at = q + 2 + 12 * e, tag = ExifOrientation.u16(t, at, le), type = ExifOrientation.u16(t, at + 2, le);
      if (tag == TAG_COLOR_SPACE && type == TYPE_SHORT && srgb) put16(t, at + 8, 1, le);
      if (tag == TAG_PIXEL_X || tag == TAG_PIXEL_Y) pixels[tag - TAG_PIXEL_X] = at;
    }
    return !swap || swapValues(t, pixels, le);
  }

  /**
   * Swaps the values of two entries that follow the axes (a width and a height, or a horizontal and a vertical
   * resolution) when both are there: the value fields as they are for entries of one type and count (a rational's
   * field is its offset), else the numbers of a SHORT and a LONG.
   *
   * @param at the two entries' positions (-1 where one is absent)
   * @return false when they cannot be swapped (the block is then not to be copied)
   */
  private static boolean swapValues(byte[] t, int[] at, boolean le) {
    if (at[0] < 0 || at[1] < 0) return true;
    int ta = ExifOrientation.u16(t, at[0] + 2, le), tb = ExifOrientation.u16(t, at[1] + 2, le);
    if (ta == tb && ExifOrientation.u32(t, at[0] + 4, le) == ExifOrientation.u32(t, at[1] + 4, le)) {
      for (int k = 8; k < 12; k++) {
        byte b = t[at[0] + k];
        t[at[0] + k] = t[at[1] + k];
        t[at[1] + k] = b;
      }
      return true;
    }
    boolean numbers = (ta == TYPE_SHORT || ta == TYPE_LONG) && (tb == TYPE_SHORT || tb == TYPE_LONG);
    if (!numbers) return false;
    long a = value(t, at[0], le), b = value(t, at[1], le);
    return setValue(t, at[0], b, le) && setValue(t, at[1], a, le);
  }

  /**
   * Zeroes the thumbnail IFD1 points to (a JPEG, or one strip), so that the unenhanced picture does not stay in the
   * output's bytes after the directory is unlinked (the feature audit, session 35, cut a 160×120 copy out of one).
   */
  private static void clearThumbnail(byte[] t, long ifd1, boolean le) {
    if (ifd1 < 8 || ifd1 + 2 > t.length) return;
    int q = (int) ifd1, m = ExifOrientation.u16(t, q, le);
    if (q + 2 + 12L * m > t.length) return;
    long off = -1, len = -1;
    for (int e = 0; e < m; e++) {
      int at = q + 2 + 12 * e, tag = ExifOrientation.u16(t, at, le);
      if (ExifOrientation.u32(t, at + 4, le) != 1) continue; // one value: a JPEG thumbnail or a single strip
      if (tag == 0x0201 || tag == 0x0111) off = value(t, at, le);
      if (tag == 0x0202 || tag == 0x0117) len = value(t, at, le);
    }
    if (off >= 8 && len > 0 && off + len <= t.length) java.util.Arrays.fill(t, (int) off, (int) (off + len), (byte) 0);
  }

  private static long value(byte[] t, int at, boolean le) {
    return ExifOrientation.u16(t, at + 2, le) == TYPE_SHORT ? ExifOrientation.u16(t, at + 8, le)
        : ExifOrientation.u32(t, at + 8, le);
  }

  private static boolean setValue(byte[] t, int at, long v, boolean le) {
    if (ExifOrientation.u16(t, at + 2, le) == TYPE_LONG) {
      put32(t, at + 8, v, le);
      return true;
    }
    if (v > 0xffff) return false;
    put16(t, at + 8, (int) v, le);
    return true;
  }

  private static void put16(byte[] t, int at, int v, boolean le) {
    t[at + (le ? 0 : 1)] = (byte) v;
    t[at + (le ? 1 : 0)] = (byte) (v >>> 8);
  }

  private static void put32(byte[] t, int at, long v, boolean le) {
    for (int k = 0; k < 4; k++) t[at + (le ? k : 3 - k)] = (byte) (v >>> (8 * k));
  }

  /**
   * A JPEG with the EXIF block in an APP1 segment right after its SOI (after a leading JFIF APP0, which must stay
   * first); the JPEG unchanged when the block does not fit a segment.
   *
   * @param jpg a JPEG without EXIF (as the JDK's writer makes it)
   * @param tiff the block from {@link #forOutput}
   * @return the new JPEG bytes
   */
  public static byte[] intoJpeg(byte[] jpg, byte[] tiff) {
    ByteArrayOutputStream payload = new ByteArrayOutputStream(6 + tiff.length);
    payload.writeBytes("Exif\0\0".getBytes(StandardCharsets.ISO_8859_1));
    payload.writeBytes(tiff);
    return afterSoi(jpg, 0xe1, payload.toByteArray());
  }

  /**
   * A JPEG with a marker segment inserted right after its SOI (after a leading JFIF APP0, which must stay first);
   * the JPEG unchanged when it is none or the payload does not fit a segment.
   *
   * @param jpg a JPEG
   * @param marker the segment's marker, e.g. 0xE1 (APP1)
   * @param payload the segment's bytes after its length field
   * @return the new JPEG bytes
   */
  static byte[] afterSoi(byte[] jpg, int marker, byte[] payload) {
    if (payload.length > 65535 - 2 || !ExifOrientation.isJpeg(jpg)) {
      return jpg;
    }
    int at = 2;
    if ((jpg[2] & 0xff) == 0xff && (jpg[3] & 0xff) == 0xe0 && jpg.length > 6) {
      at = 4 + ExifOrientation.u16be(jpg, 4); // keep JFIF's APP0 first
    }
    ByteArrayOutputStream o = new ByteArrayOutputStream(jpg.length + payload.length + 4);
    o.write(jpg, 0, at);
    int len = 2 + payload.length;
    o.write(0xff);
    o.write(marker);
    o.write(len >>> 8);
    o.write(len & 0xff);
    o.writeBytes(payload);
    o.write(jpg, at, jpg.length - at);
    return o.toByteArray();
  }

  /**
   * A PNG with the EXIF block in an {@code eXIf} chunk right after IHDR (the PNG specification places it before the
   * image data).
   *
   * @param png a PNG without EXIF
   * @param tiff the block from {@link #forOutput}
   * @return the new PNG bytes
   */
  public static byte[] intoPng(byte[] png, byte[] tiff) {
    return afterIhdr(png, "eXIf", tiff);
  }

  /** A PNG with a chunk of {@code type} and {@code data} inserted right after IHDR; the PNG unchanged without IHDR. */
  static byte[] afterIhdr(byte[] png, String type, byte[] data) {
    int ihdrEnd = 8 + 12 + 13;
    if (png.length < ihdrEnd || !ExifOrientation.startsWith(png, 12, "IHDR")) return png;
    ByteArrayOutputStream o = new ByteArrayOutputStream(png.length + data.length + 12);
    o.write(png, 0, ihdrEnd);
    o.write(data.length >>> 24);
    o.write(data.length >>> 16);
    o.write(data.length >>> 8);
    o.write(data.length);
    byte[] typed = new byte[4 + data.length];
    System.arraycopy(type.getBytes(StandardCharsets.ISO_8859_1), 0, typed, 0, 4);
    System.arraycopy(data, 0, typed, 4, data.length);
    o.writeBytes(typed);
    CRC32 crc = new CRC32();
    crc.update(typed);
    long c = crc.getValue();
    o.write((int) (c >>> 24));
    o.write((int) (c >>> 16));
    o.write((int) (c >>> 8));
    o.write((int) c);
    o.write(png, ihdrEnd, png.length - ihdrEnd);
    return o.toByteArray();
  }
}
