/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import java.util.Objects;

/**
 * An sRGB image as planar float data: {@code rgb} is {@code [3, H, W]} row-major (channel, then row, then column),
 * values in [0, 1] (sRGB-encoded, not linear), plus an optional alpha plane {@code [H, W]} and a {@link Metadata}
 * record that says where the pixels came from (so the writer can restore bit depth, grey and alpha).
 *
 * <p>The arrays are not copied: {@link #rgb()} and {@link #alpha()} return the backing arrays. An {@code Image} is
 * therefore only as immutable as its users are careful; every method in this package that changes pixels returns a
 * new {@code Image} with new arrays. Instances are safe to share between threads as long as nobody writes into the
 * arrays.
 */
public final class Image {
  /**
   * Where the pixels came from.
   *
   * @param bitDepth bits per sample of the source (8 or 16; formats with fewer bits, e.g. palette or 5-6-5 BMP,
   *     report 8)
   * @param gray the source was greyscale (the three planes are then equal, and writers store one grey channel)
   * @param format the source format name in lower case ("png", "jpeg", "bmp", "tiff", "webp", ...) or "memory"
   * @param colorNote how colour was handled: "sRGB", "gray", or e.g. "converted from ICC profile 'Adobe RGB' to sRGB"
   * @param exifOrientation the EXIF orientation that was applied to make the pixels upright (1 = none, 2..8)
   * @param exif the source's EXIF block as outputs carry it ({@link ExifData#forOutput}), or null; not copied, not to
   *     be modified
   * @param notice what reading did that the file did not ask for, for the user to be told ("" when nothing): an
   *     unusable ICC profile ignored, a JPEG read without its end marker, an oversized EXIF block dropped; the
   *     enhance command prints it
   */
  public record Metadata(int bitDepth, boolean gray, String format, String colorNote, int exifOrientation,
      byte[] exif, String notice) {
    /** Metadata of an 8-bit RGB image made in memory. */
    public static final Metadata MEMORY = new Metadata(8, false, "memory", "sRGB", 1);

    /** Equal when every field is, the EXIF block by content (a record compares arrays by identity). */
    @Override
    public boolean equals(Object o) {
      return o instanceof Metadata m && bitDepth == m.bitDepth && gray == m.gray && format.equals(m.format)
          && colorNote.equals(m.colorNote) && exifOrientation == m.exifOrientation
          && java.util.Arrays.equals(exif, m.exif) && notice.equals(m.notice);
    }

    @Override
    public int hashCode() {
      return Objects.hash(bitDepth, gray, format, colorNote, exifOrientation, notice) * 31
          + java.util.Arrays.hashCode(exif);
    }

    @Override
    public String toString() {
      return "Metadata[bitDepth=" + bitDepth + ", gray=" + gray + ", format=" + format + ", colorNote=" + colorNote
          + ", exifOrientation=" + exifOrientation + ", exif=" + (exif == null ? "none" : exif.length + " bytes")
          + (notice.isEmpty() ? "" : ", notice=" + notice) + "]";
    }

    /** Metadata without an EXIF block. */
    public Metadata(int bitDepth, boolean gray, String format, String colorNote, int exifOrientation) {
      this(bitDepth, gray, format, colorNote, exifOrientation, null, "");
    }

    /** Metadata without a notice. */
    public Metadata(int bitDepth, boolean gray, String format, String colorNote, int exifOrientation, byte[] exif) {
      this(bitDepth, gray, format, colorNote, exifOrientation, exif, "");
    }

    /** Validates the values. */
    public Metadata {
      if (bitDepth != 8 && bitDepth != 16) throw new IllegalArgumentException("bitDepth must be 8 or 16, got " + bitDepth);
      if (exifOrientation < 1 || exifOrientation > 8) {
        throw new IllegalArgumentException("exifOrientation must be 1..8, got " + exifOrientation);
      }
      Objects.requireNonNull(format, "format");
      Objects.requireNonNull(colorNote, "colorNote");
      Objects.requireNonNull(notice, "notice");
    }

    /**
     * @param bits 8 or 16
     * @return a copy with another bit depth
     */
    public Metadata withBitDepth(int bits) {
      return new Metadata(bits, gray, format, colorNote, exifOrientation, exif, notice);
    }

    /**
     * @param isGray whether the image is to be treated as grey
     * @return a copy with the grey flag set
     */
    public Metadata withGray(boolean isGray) {
      return new Metadata(bitDepth, isGray, format, colorNote, exifOrientation, exif, notice);
    }

    /**
     * @param block an EXIF block for outputs ({@link ExifData#forOutput}), or null for none
     * @return a copy carrying it
     */
    public Metadata withExif(byte[] block) {
      return new Metadata(bitDepth, gray, format, colorNote, exifOrientation, block, notice);
    }

    /**
     * @param more a notice to add ("" adds nothing)
     * @return a copy whose notice ends with it (after "; " when there was one)
     */
    public Metadata withNotice(String more) {
      String n = more.isEmpty() ? notice : notice.isEmpty() ? more : notice + "; " + more;
      return new Metadata(bitDepth, gray, format, colorNote, exifOrientation, exif, n);
    }
  }

  private final int width;
  private final int height;
  private final float[] rgb;
  private final float[] alpha;
  private final Metadata metadata;

  /**
   * @param width W, at least 1
   * @param height H, at least 1
   * @param rgb {@code [3, H, W]} planar sRGB values in [0, 1] (not copied)
   * @param alpha {@code [H, W]} straight (not premultiplied) alpha in [0, 1], or null for opaque (not copied)
   * @param metadata source description
   * @throws IllegalArgumentException if the array lengths do not match the size
   */
  public Image(int width, int height, float[] rgb, float[] alpha, Metadata metadata) {
    if (width < 1 || height < 1) throw new IllegalArgumentException("image size must be >= 1x1, got " + width + "x" + height);
    long n = (long) width * height;
    if (3 * n > Integer.MAX_VALUE) throw new IllegalArgumentException("image too large for one array: " + width + "x" + height);
    Objects.requireNonNull(rgb, "rgb");
    if (rgb.length != 3 * n) {
      throw new IllegalArgumentException("rgb must have 3*H*W = " + 3 * n + " values for " + width + "x" + height
          + ", got " + rgb.length);
    }
    if (alpha != null && alpha.length != n) {
      throw new IllegalArgumentException("alpha must have H*W = " + n + " values, got " + alpha.length);
    }
    this.width = width;
    this.height = height;
    this.rgb = rgb;
    this.alpha = alpha;
    this.metadata = Objects.requireNonNull(metadata, "metadata");
  }

  /**
   * An opaque 8-bit RGB image made in memory.
   *
   * @param width W
   * @param height H
   * @param rgb {@code [3, H, W]} planar sRGB values in [0, 1] (not copied)
   * @return the image
   */
  public static Image of(int width, int height, float[] rgb) {
    return new Image(width, height, rgb, null, Metadata.MEMORY);
  }

  /** @return W */
  public int width() {
    return width;
  }

  /** @return H */
  public int height() {
    return height;
  }

  /** @return the backing {@code [3, H, W]} array (not a copy) */
  public float[] rgb() {
    return rgb;
  }

  /** @return the backing {@code [H, W]} alpha array, or null when opaque (not a copy) */
  public float[] alpha() {
    return alpha;
  }

  /** @return whether an alpha plane is attached */
  public boolean hasAlpha() {
    return alpha != null;
  }

  /** @return the source description */
  public Metadata metadata() {
    return metadata;
  }

  /** @return H·W */
  public int pixelCount() {
    return width * height;
  }

  /**
   * @param c channel 0..2 (R, G, B)
   * @param y row
   * @param x column
   * @return the sample value
   */
  public float get(int c, int y, int x) {
    return rgb[(c * height + y) * width + x];
  }

  /**
   * A new image with other pixels and the same metadata. The alpha plane is kept when the size is unchanged and
   * dropped otherwise (a resized or cropped image has no matching alpha).
   *
   * @param newWidth W'
   * @param newHeight H'
   * @param newRgb {@code [3, H', W']} (not copied)
   * @return the image
   */
  public Image withPixels(int newWidth, int newHeight, float[] newRgb) {
    float[] a = newWidth == width && newHeight == height ? alpha : null;
    return new Image(newWidth, newHeight, newRgb, a, metadata);
  }

  /**
   * @param newAlpha {@code [H, W]} alpha or null (not copied)
   * @return a new image with this alpha plane
   */
  public Image withAlpha(float[] newAlpha) {
    return new Image(width, height, rgb, newAlpha, metadata);
  }

  /**
   * @param newMetadata metadata to attach
   * @return a new image sharing the pixel arrays with other metadata
   */
  public Image withMetadata(Metadata newMetadata) {
    return new Image(width, height, rgb, alpha, newMetadata);
  }

  /** @return a deep copy (new arrays) */
  public Image copy() {
    return new Image(width, height, rgb.clone(), alpha == null ? null : alpha.clone(), metadata);
  }

  @Override
  public String toString() {
    return "Image[" + width + "x" + height + ", " + metadata.format() + ", " + metadata.bitDepth() + "-bit"
        + (metadata.gray() ? ", gray" : "") + (alpha != null ? ", alpha" : "") + "]";
  }
}
