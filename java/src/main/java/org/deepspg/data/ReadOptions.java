/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

/**
 * Options for {@link Images#read(java.nio.file.Path, ReadOptions)}.
 *
 * @param maxPixels largest width·height accepted; checked against the dimensions in the file header before any pixel
 *     is decoded, so a decompression bomb fails fast (default {@link #DEFAULT_MAX_PIXELS})
 * @param minSide smallest accepted width and height (default 2: a 1×1 image is rejected as degenerate)
 * @param applyExifOrientation whether to apply the EXIF orientation tag (JPEG APP1 / PNG eXIf) so the pixels come
 *     out upright (default true)
 */
public record ReadOptions(long maxPixels, int minSide, boolean applyExifOrientation) {
  /** 100 megapixels: larger than any camera photo we expect, far below what would exhaust a 8 GiB heap. */
  public static final long DEFAULT_MAX_PIXELS = 100_000_000L;

  /** The defaults: 100 MP limit, min side 2, EXIF orientation applied. */
  public static final ReadOptions DEFAULT = new ReadOptions(DEFAULT_MAX_PIXELS, 2, true);

  /** Validates the values. */
  public ReadOptions {
    if (maxPixels < 1) throw new IllegalArgumentException("maxPixels must be >= 1, got " + maxPixels);
    if (minSide < 1) throw new IllegalArgumentException("minSide must be >= 1, got " + minSide);
  }

  /**
   * @param maxPixels the new pixel limit
   * @return a copy with another pixel limit
   */
  public ReadOptions withMaxPixels(long maxPixels) {
    return new ReadOptions(maxPixels, minSide, applyExifOrientation);
  }

  /**
   * @param minSide the new smallest accepted side
   * @return a copy with another minimum side
   */
  public ReadOptions withMinSide(int minSide) {
    return new ReadOptions(maxPixels, minSide, applyExifOrientation);
  }

  /**
   * @param apply whether to apply the EXIF orientation
   * @return a copy with the EXIF switch set
   */
  public ReadOptions withExifOrientation(boolean apply) {
    return new ReadOptions(maxPixels, minSide, apply);
  }
}
