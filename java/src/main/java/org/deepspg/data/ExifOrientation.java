/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import java.nio.charset.StandardCharsets;

/**
 * Finds the EXIF orientation tag (0x0112) in an encoded image and applies it to planar pixels.
 *
 * <p>Sources searched: a JPEG APP1 "Exif" segment (before the first SOS marker), a PNG {@code eXIf} chunk, and a
 * WebP RIFF {@code EXIF} chunk. Inside each, a minimal TIFF-structure parser reads IFD0 in either byte order; every
 * offset is bounds-checked, so a corrupt segment yields "no orientation" (1), never an exception. TIFF files' own
 * Orientation tag is not applied (ImageIO's TIFF reader does not expose it cheaply, and camera TIFFs are rare).
 *
 * <p>Orientation values (EXIF 2.32, tag 0x0112): 1 normal; 2 mirrored horizontally; 3 rotated 180°; 4 mirrored
 * vertically; 5 transposed (mirror + 270° CW); 6 needs a 90° clockwise turn to display; 7 transversed (mirror + 90°
 * CW); 8 needs a 90° counter-clockwise turn.
 */
public final class ExifOrientation {
  private static final int TAG_ORIENTATION = 0x0112;
  private static final int TYPE_SHORT = 3;

  private ExifOrientation() {}

  /**
   * @param data the encoded file
   * @return the orientation 1..8 found in the file's EXIF block, or 1 when there is none or it is unreadable
   */
  public static int find(byte[] data) {
    int[] block = exifBlock(data);
    if (block != null) return fromTiff(data, block[0], block[1]);
    // A TIFF file is itself a TIFF structure: its first IFD carries the orientation tag.
    if (data.length >= 8 && ((data[0] == 'I' && data[1] == 'I' && data[2] == 42 && data[3] == 0)
        || (data[0] == 'M' && data[1] == 'M' && data[2] == 0 && data[3] == 42))) {
      return fromTiff(data, 0, data.length);
    }
    return 1;
  }

  /**
   * @param d an encoded file (its first bytes at least)
   * @return whether it starts as a JPEG does (SOI, {@code FF D8}; at least 4 bytes)
   */
  static boolean isJpeg(byte[] d) {
    return d.length >= 4 && (d[0] & 0xff) == 0xff && (d[1] & 0xff) == 0xd8;
  }

  /**
   * @param d an encoded file (its first bytes at least)
   * @return whether it starts as a PNG does ({@code 89 'PNG'}; at least 8 bytes)
   */
  static boolean isPng(byte[] d) {
    return d.length >= 8 && (d[0] & 0xff) == 0x89 && d[1] == 'P' && d[2] == 'N' && d[3] == 'G';
  }

  /**
   * Where a file's EXIF block (a TIFF structure) lies: a JPEG APP1 "Exif" segment, a PNG {@code eXIf} chunk or a WebP
   * {@code EXIF} chunk, without the "Exif\0\0" prefix some writers put before it.
   *
   * @param data the encoded file
   * @return {start, end} in {@code data}, or null when there is none (a TIFF file's own directories are not one)
   */
  static int[] exifBlock(byte[] data) {
    if (isJpeg(data)) return fromJpeg(data);
    if (isPng(data)) return fromPng(data);
    if (data.length >= 12 && data[0] == 'R' && data[1] == 'I' && data[2] == 'F' && data[3] == 'F'
        && data[8] == 'W' && data[9] == 'E' && data[10] == 'B' && data[11] == 'P') {
      return fromWebp(data);
    }
    return null;
  }

  /**
   * The number of colour components of a JPEG, from its frame header (SOF marker): 1 grey, 3 YCbCr/RGB, 4 CMYK or
   * YCCK.
   *
   * @param d the encoded file
   * @return the component count, or 0 when the data is not a JPEG or has no readable frame header
   */
  public static int jpegComponents(byte[] d) {
    if (!isJpeg(d)) return 0;
    for (int[] seg : jpegSegments(d)) {
      int marker = seg[0], pos = seg[1], len = seg[2];
      boolean sof = marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
      if (sof) return len >= 8 ? d[pos + 9] & 0xff : 0;
    }
    return 0; // a scan, the end or damage before any frame header
  }

  /**
   * The marker segments of a JPEG before its first scan, bounds-checked: the walk stops at the start of scan or the
   * end of image, and quietly where it loses sync or a length runs past the end.
   *
   * @param d the encoded file (starting with SOI)
   * @return {marker, position of its 0xFF, length field} per segment with a length, in file order
   */
  static java.util.List<int[]> jpegSegments(byte[] d) {
    java.util.List<int[]> out = new java.util.ArrayList<>();
    int pos = 2;
    while (pos + 4 <= d.length) {
      if ((d[pos] & 0xff) != 0xff) break; // lost sync
      int marker = d[pos + 1] & 0xff;
      if (marker == 0xff) { // fill byte
        pos++;
        continue;
      }
      if (marker == 0xda || marker == 0xd9) break; // start of scan / end of image
      if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { // markers without a length
        pos += 2;
        continue;
      }
      int len = u16be(d, pos + 2);
      if (len < 2 || pos + 2 + len > d.length) break;
      out.add(new int[] {marker, pos, len});
      pos += 2 + len;
    }
    return out;
  }

  private static int[] fromJpeg(byte[] d) {
    for (int[] seg : jpegSegments(d)) {
      int pos = seg[1], len = seg[2];
      if (seg[0] == 0xe1 && len >= 8 && startsWith(d, pos + 4, "Exif\0\0")) return new int[] {pos + 10, pos + 2 + len};
    }
    return null; // no EXIF before the pixels
  }

  private static int[] fromPng(byte[] d) {
    int[] c = pngChunk(d, "eXIf", "IEND");
    if (c == null) return null;
    // Some writers keep the JPEG-style "Exif\0\0" prefix inside the chunk.
    return new int[] {startsWith(d, c[0], "Exif\0\0") ? c[0] + 6 : c[0], c[1]};
  }

  /**
   * Finds a chunk in a PNG file's bytes (bounds-checked: a length past the end stops the search).
   *
   * @param d the whole file
   * @param type the chunk type, e.g. {@code eXIf}
   * @param stop the chunk type before which it must come ({@code IEND}, or {@code IDAT} for chunks the PNG
   *     specification places before the image data)
   * @return {start, end} of the chunk's data in {@code d}, or null when there is none before {@code stop}
   */
  static int[] pngChunk(byte[] d, String type, String stop) {
    int pos = 8; // after the signature
    while (pos + 12 <= d.length) {
      long len = u32be(d, pos);
      if (len < 0 || pos + 12 + len > d.length) return null;
      if (startsWith(d, pos + 4, type)) return new int[] {pos + 8, pos + 8 + (int) len};
      if (startsWith(d, pos + 4, stop) || startsWith(d, pos + 4, "IEND")) return null;
      pos += 12 + (int) len;
    }
    return null;
  }

  private static int[] fromWebp(byte[] d) {
    for (long[] c : riffChunks(d)) {
      int pos = (int) c[0];
      long len = c[1];
      if (!startsWith(d, pos, "EXIF")) continue;
      if (pos + 8 + len > d.length) return null; // cut short
      int start = pos + 8;
      if (startsWith(d, start, "Exif\0\0")) start += 6;
      return new int[] {start, pos + 8 + (int) len};
    }
    return null;
  }

  /**
   * The chunks of a RIFF file (WebP) after its 12-byte header: {position of the FourCC, payload length}, in file
   * order. The walk ends after a chunk whose payload runs past the end (that chunk is listed; its payload is not all
   * there).
   *
   * @param d the encoded file
   * @return the chunks
   */
  static java.util.List<long[]> riffChunks(byte[] d) {
    java.util.List<long[]> out = new java.util.ArrayList<>();
    for (long pos = 12; pos + 8 <= d.length; ) {
      long len = u32le(d, (int) pos + 4);
      out.add(new long[] {pos, len});
      pos += 8 + ((len + 1) & ~1L); // chunks are padded to even sizes
    }
    return out;
  }

  /** Parses a TIFF header + IFD0 in {@code d[start, end)} and returns the orientation tag (1 if absent/bad). */
  static int fromTiff(byte[] d, int start, int end) {
    if (start < 0 || end > d.length || end - start < 8) return 1;
    boolean le;
    if (d[start] == 'I' && d[start + 1] == 'I') le = true;
    else if (d[start] == 'M' && d[start + 1] == 'M') le = false;
    else return 1;
    if (u16(d, start + 2, le) != 42) return 1;
    long ifd = u32(d, start + 4, le);
    if (ifd < 8 || start + ifd + 2 > end) return 1;
    int p = start + (int) ifd;
    int n = u16(d, p, le);
    p += 2;
    for (int i = 0; i < n; i++, p += 12) {
      if (p + 12 > end) return 1;
      int tag = u16(d, p, le);
      if (tag != TAG_ORIENTATION) continue;
      int type = u16(d, p + 2, le);
      long count = u32(d, p + 4, le);
      if (type != TYPE_SHORT || count < 1) return 1;
      int v = u16(d, p + 8, le);
      return v >= 1 && v <= 8 ? v : 1;
    }
    return 1;
  }

  /**
   * Applies an EXIF orientation to planar data so that it displays upright.
   *
   * @param planes {@code [C, H, W]} planar data
   * @param channels C
   * @param width W of the stored (unrotated) image
   * @param height H of the stored image
   * @param orientation 1..8
   * @return the transformed {@code [C, H', W']} data ({@code H' = W, W' = H} for orientations 5..8); the input
   *     array itself for orientation 1
   */
  public static float[] apply(float[] planes, int channels, int width, int height, int orientation) {
    if (orientation < 1 || orientation > 8) throw new IllegalArgumentException("orientation must be 1..8, got " + orientation);
    if (planes.length != (long) channels * width * height) {
      throw new IllegalArgumentException("planes has " + planes.length + " values, expected C*H*W = "
          + (long) channels * width * height);
    }
    if (orientation == 1) return planes;
    boolean swap = orientation >= 5;
    int ow = swap ? height : width;
    int oh = swap ? width : height;
    float[] out = new float[planes.length];
    int n = width * height;
    for (int c = 0; c < channels; c++) {
      int base = c * n;
      for (int y = 0; y < oh; y++) {
        for (int x = 0; x < ow; x++) {
          int sx, sy;
          switch (orientation) {
            case 2 -> { sx = width - 1 - x; sy = y; }
            case 3 -> { sx = width - 1 - x; sy = height - 1 - y; }
            case 4 -> { sx = x; sy = height - 1 - y; }
            case 5 -> { sx = y; sy = x; }
            case 6 -> { sx = y; sy = height - 1 - x; }
            case 7 -> { sx = width - 1 - y; sy = height - 1 - x; }
            default -> { sx = width - 1 - y; sy = x; } // 8
          }
          out[base + y * ow + x] = planes[base + sy * width + sx];
        }
      }
    }
    return out;
  }

  /**
   * @param orientation 1..8
   * @return whether the orientation swaps width and height (5..8)
   */
  public static boolean swapsAxes(int orientation) {
    return orientation >= 5 && orientation <= 8;
  }

  static boolean startsWith(byte[] d, int pos, String s) {
    byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
    if (pos < 0 || pos + b.length > d.length) return false;
    for (int i = 0; i < b.length; i++) if (d[pos + i] != b[i]) return false;
    return true;
  }

  static int u16be(byte[] d, int p) {
    return ((d[p] & 0xff) << 8) | (d[p + 1] & 0xff);
  }

  static long u32be(byte[] d, int p) {
    return ((long) (d[p] & 0xff) << 24) | ((d[p + 1] & 0xff) << 16) | ((d[p + 2] & 0xff) << 8) | (d[p + 3] & 0xff);
  }

  private static long u32le(byte[] d, int p) {
    return ((long) (d[p + 3] & 0xff) << 24) | ((d[p + 2] & 0xff) << 16) | ((d[p + 1] & 0xff) << 8) | (d[p] & 0xff);
  }

  static int u16(byte[] d, int p, boolean le) {
    return le ? ((d[p + 1] & 0xff) << 8) | (d[p] & 0xff) : u16be(d, p);
  }

  static long u32(byte[] d, int p, boolean le) {
    return le ? u32le(d, p) : u32be(d, p);
  }
}
