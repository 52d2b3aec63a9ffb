/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

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

  /**
   * How much of a PNG or JPEG the check reads: the mark comes right after IHDR, or after JFIF and the EXIF segment
   * (at most 64 KiB).
   */
  private static final int HEAD = 256 << 10;

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
   * What a run may do with the file that has an output's name, before it enhances the image (docs/inference.md,
   * "Outputs replace earlier outputs, never other files"; {@code deepspg enhance} and {@code spark-enhance} without
   * {@code --overwrite}).
   */
  public enum Existing {
    /** No file there, or one that bears the mark (an earlier output): write the output. */
    REPLACE,
    /**
     * An unmarked file of the input's size: perhaps an output from before outputs were marked (or a BMP, which has no
     * place for the mark); write the output only if it holds the same pixels ({@link #samePixels}).
     */
    COMPARE,
    /** Any other file: keep it and leave its image out. */
    KEEP
  }

  /**
   * Applies the rule of {@link Existing} to one output.
   *
   * @param output the output file about to be written
   * @param inputSize {@code [width, height]} of the input as read (upright), or null when unknown
   * @param ro the options the input is read with (for the existing file's size)
   * @return what to do with the existing file
   */
  public static Existing existing(Path output, int[] inputSize, ReadOptions ro) {
    return replaceable(output) ? Existing.REPLACE : unmarked(output, inputSize, ro);
  }

  /** Whether nothing is at an output's name, or an earlier output (it bears the mark). */
  private static boolean replaceable(Path output) {
    return !java.nio.file.Files.exists(output, java.nio.file.LinkOption.NOFOLLOW_LINKS) || isMarked(output);
  }

  /** {@link Existing#COMPARE} for an unmarked file of the input's size, else {@link Existing#KEEP}. */
  private static Existing unmarked(Path output, int[] inputSize, ReadOptions ro) {
    try {
      return inputSize != null && java.util.Arrays.equals(inputSize, Images.probe(output, ro)) ? Existing.COMPARE
          : Existing.KEEP;
    } catch (ImageReadException | RuntimeException e) {
      return Existing.KEEP;
    }
  }

  /**
   * {@link #existing(Path, int[], ReadOptions)} for an input file, whose header is read only when the output's name
   * holds an unmarked file.
   *
   * @param input the input file
   * @param output the output file about to be written
   * @param ro the options the input is read with
   * @return what to do with the existing file
   */
  public static Existing existing(Path input, Path output, ReadOptions ro) {
    if (replaceable(output)) return Existing.REPLACE;
    int[] size;
    try {
      size = Images.probe(input, ro);
    } catch (ImageReadException | RuntimeException e) {
      return Existing.KEEP;
    }
    return unmarked(output, size, ro); // the file was looked at above: not again
  }

  /**
   * Whether an existing file holds the pixels of a new output (within one 8-bit level, for a GPU's run-to-run
   * rounding), so that replacing it loses nothing.
   *
   * @param existing the file at the output's name
   * @param output the new output's bytes
   * @param ro the read options
   * @return whether both decode to the same size and pixels (false when either cannot be read)
   */
  public static boolean samePixels(Path existing, byte[] output, ReadOptions ro) {
    try {
      Image a = Images.read(existing, ro);
      Image b = Images.decode(output, existing, ro);
      if (a.width() != b.width() || a.height() != b.height() || a.hasAlpha() != b.hasAlpha()) return false;
      return near(a.rgb(), b.rgb()) && (!a.hasAlpha() || near(a.alpha(), b.alpha()));
    } catch (ImageReadException | RuntimeException e) {
      return false;
    }
  }

  private static boolean near(float[] a, float[] b) {
    if (a.length != b.length) return false;
    for (int i = 0; i < a.length; i++) {
      if (!(Math.abs(a[i] - b[i]) <= 1.5f / 255)) return false;
    }
    return true;
  }

  /**
   * @param output a file kept by the rule of {@link Existing}
   * @return the reason, as both commands say it: "OUTPUT exists and was not written by deepspg (...); kept"
   */
  public static String keptReason(Path output) {
    return output + " exists and was not written by deepspg (it has no deepspg mark); kept";
  }

  /**
   * @param file an existing file
   * @return whether it bears the mark (false for a file that cannot be read or is not a PNG, JPEG or TIFF)
   */
  public static boolean isMarked(Path file) {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      At at = (pos, len) -> {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate((int) Math.max(0, Math.min(len, ch.size() - pos)));
        while (b.hasRemaining() && ch.read(b, pos + b.position()) > 0) {
          continue;
        }
        return java.util.Arrays.copyOf(b.array(), b.position());
      };
      byte[] head = at.read(0, HEAD);
      return ExifOrientation.isPng(head) || ExifOrientation.isJpeg(head) ? isMarked(head) : tiffMarked(at, ch.size());
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /**
   * @param d a file's bytes
   * @return whether they bear the mark
   */
  static boolean isMarked(byte[] d) {
    if (ExifOrientation.isPng(d)) {
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
    if (ExifOrientation.isJpeg(d)) {
      for (int[] seg : ExifOrientation.jpegSegments(d)) {
        if (seg[0] == 0xfe && seg[2] >= 2 + SOFTWARE.length() && ExifOrientation.startsWith(d, seg[1] + 4, SOFTWARE)) {
          return true;
        }
      }
      return false;
    }
    try {
      return tiffMarked((pos, len) -> java.util.Arrays.copyOfRange(d, (int) Math.min(pos, d.length),
          (int) Math.min(pos + len, d.length)), d.length);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e); // not from an array
    }
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
    return (int) firstDirectory(t, t.length);
  }

  /**
   * @param head at least the file's first 8 bytes
   * @param size the file's size
   * @return where its first image directory starts (byte order: 'I' little-endian), or -1 when it is no TIFF
   */
  private static long firstDirectory(byte[] head, long size) {
    if (head.length < 8 || !(head[0] == 'I' && head[1] == 'I' || head[0] == 'M' && head[1] == 'M')) return -1;
    boolean le = head[0] == 'I';
    long ifd = ExifOrientation.u32(head, 4, le);
    return ExifOrientation.u16(head, 2, le) != 42 || ifd < 8 || ifd + 2 > size ? -1 : ifd;
  }

  /** Reads up to {@code len} bytes at {@code pos} of a file or an array (fewer at its end). */
  private interface At {
    byte[] read(long pos, int len) throws IOException;
  }

  /** Whether a TIFF's first directory has a Software tag that starts with the mark (read where it lies). */
  private static boolean tiffMarked(At file, long size) throws IOException {
    byte[] head = file.read(0, 8);
    long p = firstDirectory(head, size);
    if (p < 0) return false;
    boolean le = head[0] == 'I';
    byte[] count = file.read(p, 2);
    if (count.length < 2) return false;
    byte[] d = file.read(p + 2, 12 * ExifOrientation.u16(count, 0, le));
    for (int e = 0; e + 12 <= d.length; e += 12) {
      if (ExifOrientation.u16(d, e, le) != TAG_SOFTWARE || ExifOrientation.u16(d, e + 2, le) != TYPE_ASCII) continue;
      long n = ExifOrientation.u32(d, e + 4, le);
      long at = n <= 4 ? p + 2 + e + 8 : ExifOrientation.u32(d, e + 8, le);
      byte[] text = file.read(at, SOFTWARE.length());
      return n >= SOFTWARE.length() && text.length == SOFTWARE.length()
          && ExifOrientation.startsWith(text, 0, SOFTWARE);
    }
    return false;
  }
}
