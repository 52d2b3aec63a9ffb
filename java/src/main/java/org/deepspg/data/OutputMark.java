/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The mark {@code deepspg enhance} leaves in its outputs, so that a later run can tell an earlier output (which it
 * replaces) from a file it did not write (which it keeps): the software name {@value #SOFTWARE} in a PNG {@code tEXt}
 * chunk keyed {@code Software} (before the image data), a JPEG comment (COM) segment after the APPn segments, or the
 * TIFF Software tag (305) of the first image directory. BMP has no place for it. The input's EXIF block that outputs
 * carry is not looked at: its Software entry names the camera or editor that made the original.
 */
public final class OutputMark {
  /** The mark's text; a file whose mark starts with it was written by deepspg. */
  public static final String SOFTWARE = "deepspg";

  /** The PNG tEXt chunk's data: keyword, NUL, text. */
  private static final String PNG_TEXT = "Software\0" + SOFTWARE;

  private static final int TAG_SOFTWARE = 305;
  private static final int TYPE_ASCII = 2;

  private OutputMark() {}

  /**
   * Adds the mark to an encoded image.
   *
   * @param encoded the file's bytes as {@link Images#encode} makes them
   * @param format "png", "jpeg", "tiff" or "bmp" (as {@link Images#formatForPath})
   * @return the marked bytes; {@code encoded} itself for BMP or a file of another structure
   */
  public static byte[] mark(byte[] encoded, String format) {
    byte[] text = SOFTWARE.getBytes(StandardCharsets.ISO_8859_1);
    return switch (format) {
      case "png" -> ExifData.afterIhdr(encoded, "tEXt", PNG_TEXT.getBytes(StandardCharsets.ISO_8859_1));
      case "jpeg" -> intoJpeg(encoded, text);
      case "tiff" -> intoTiff(encoded, text);
      default -> encoded;
    };
  }

  /**
   * @param file an existing file
   * @return whether it bears the mark (false for a file that cannot be read or is not a PNG, JPEG or TIFF)
   */
  public static boolean isMarked(Path file) {
    byte[] d;
    try {
      d = Files.readAllBytes(file);
    } catch (IOException | OutOfMemoryError e) {
      return false;
    }
    return isMarked(d);
  }

  /**
   * @param d a file's bytes
   * @return whether they bear the mark
   */
  static boolean isMarked(byte[] d) {
    if (d.length >= 8 && (d[0] & 0xff) == 0x89 && ExifOrientation.startsWith(d, 1, "PNG")) {
      for (int pos = 8; pos + 12 <= d.length; ) { // every tEXt chunk before the image data
        long len = ExifOrientation.u32be(d, pos);
        if (len < 0 || pos + 12 + len > d.length || ExifOrientation.startsWith(d, pos + 4, "IDAT")) return false;
        if (ExifOrientation.startsWith(d, pos + 4, "tEXt")
            && ExifOrientation.startsWith(d, pos + 8, PNG_TEXT)) {
          return true;
        }
        pos += 12 + (int) len;
      }
      return false;
    }
    if (d.length >= 4 && (d[0] & 0xff) == 0xff && (d[1] & 0xff) == 0xd8) {
      for (int[] seg : ExifOrientation.jpegSegments(d)) {
        if (seg[0] == 0xfe && seg[2] >= 2 + SOFTWARE.length() && ExifOrientation.startsWith(d, seg[1] + 4, SOFTWARE)) {
          return true;
        }
      }
      return false;
    }
    int[] sw = tiffSoftware(d);
    return sw != null && sw[1] - sw[0] >= SOFTWARE.length() && ExifOrientation.startsWith(d, sw[0], SOFTWARE);
  }

  /** A JPEG with a COM segment of {@code text} after its APPn segments (JFIF, EXIF), before the tables. */
  private static byte[] intoJpeg(byte[] jpg, byte[] text) {
    int at = 2;
    for (int[] seg : ExifOrientation.jpegSegments(jpg)) {
      if (seg[0] < 0xe0 || seg[0] > 0xef || seg[1] != at) break;
      at = seg[1] + 2 + seg[2];
    }
    ByteArrayOutputStream o = new ByteArrayOutputStream(jpg.length + text.length + 4);
    o.write(jpg, 0, at);
    int len = 2 + text.length;
    o.writeBytes(new byte[] {(byte) 0xff, (byte) 0xfe, (byte) (len >>> 8), (byte) len});
    o.writeBytes(text);
    o.write(jpg, at, jpg.length - at);
    return o.toByteArray();
  }

  /**
   * A TIFF whose first image directory has the Software tag: a copy of the directory with the tag added is appended
   * (tags in ascending order, as TIFF requires), followed by the text, and the header points to it; the old directory
   * stays as unused bytes. An existing Software tag is replaced.
   */
  private static byte[] intoTiff(byte[] t, byte[] text) {
    int p = firstDirectory(t);
    if (p < 0) return t;
    boolean le = t[0] == 'I';
    int n = ExifOrientation.u16(t, p, le);
    if (p + 2 + 12L * n + 4 > t.length) return t;
    int start = (t.length + 1) & ~1; // directories start on a word boundary
    int kept = 0;
    for (int i = 0; i < n; i++) if (ExifOrientation.u16(t, p + 2 + 12 * i, le) != TAG_SOFTWARE) kept++;
    long textAt = start + 2 + 12L * (kept + 1) + 4;
    ByteArrayOutputStream o = new ByteArrayOutputStream((int) textAt + text.length + 1);
    o.write(t, 0, t.length);
    if (start > t.length) o.write(0);
    o.writeBytes(bytes(kept + 1, 2, le));
    boolean added = false;
    for (int i = 0; i < n; i++) {
      int e = p + 2 + 12 * i;
      int tag = ExifOrientation.u16(t, e, le);
      if (tag == TAG_SOFTWARE) continue;
      if (tag > TAG_SOFTWARE && !added) {
        o.writeBytes(softwareEntry(le, text.length + 1, textAt));
        added = true;
      }
      o.write(t, e, 12);
    }
    if (!added) o.writeBytes(softwareEntry(le, text.length + 1, textAt));
    o.write(t, p + 2 + 12 * n, 4); // the next directory's offset
    o.writeBytes(text);
    o.write(0);
    byte[] r = o.toByteArray();
    System.arraycopy(bytes(start, 4, le), 0, r, 4, 4);
    return r;
  }

  private static byte[] softwareEntry(boolean le, int count, long offset) {
    ByteArrayOutputStream o = new ByteArrayOutputStream(12);
    o.writeBytes(bytes(TAG_SOFTWARE, 2, le));
    o.writeBytes(bytes(TYPE_ASCII, 2, le));
    o.writeBytes(bytes(count, 4, le));
    o.writeBytes(bytes(offset, 4, le));
    return o.toByteArray();
  }

  private static byte[] bytes(long v, int n, boolean le) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) b[le ? i : n - 1 - i] = (byte) (v >>> (8 * i));
    return b;
  }

  /** Where a TIFF's first image directory starts (its byte order: 'I' little-endian), or -1 when it is no TIFF. */
  private static int firstDirectory(byte[] t) {
    if (t.length < 8 || !(t[0] == 'I' && t[1] == 'I' || t[0] == 'M' && t[1] == 'M')) return -1;
    boolean le = t[0] == 'I';
    long ifd = ExifOrientation.u32(t, 4, le);
    return ExifOrientation.u16(t, 2, le) != 42 || ifd < 8 || ifd + 2 > t.length ? -1 : (int) ifd;
  }

  /** {start, end} of the Software text in a TIFF's first directory, or null. */
  private static int[] tiffSoftware(byte[] t) {
    int p = firstDirectory(t);
    if (p < 0) return null;
    boolean le = t[0] == 'I';
    int n = ExifOrientation.u16(t, p, le);
    for (int i = 0; i < n; i++) {
      int e = p + 2 + 12 * i;
      if (e + 12 > t.length) return null;
      if (ExifOrientation.u16(t, e, le) != TAG_SOFTWARE || ExifOrientation.u16(t, e + 2, le) != TYPE_ASCII) continue;
      long count = ExifOrientation.u32(t, e + 4, le);
      long at = count <= 4 ? e + 8 : ExifOrientation.u32(t, e + 8, le);
      return at + count > t.length ? null : new int[] {(int) at, (int) (at + count)};
    }
    return null;
  }
}
