/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

/**
 * Options for {@link Images#write(Image, java.nio.file.Path, WriteOptions)} and {@link Images#encode}.
 *
 * @param jpegQuality JPEG quality in [1, 100] (default 95; ImageIO's scale is quality/100; from
 *     {@link Images#FULL_CHROMA_QUALITY} colour is not subsampled)
 * @param bitDepth 0 = automatic (16 for PNG/TIFF when the source was 16-bit, else 8), or 8 / 16 to force (16 is
 *     honoured only by PNG and TIFF)
 * @param keepExif whether JPEG and PNG outputs carry the source's EXIF block ({@link Image.Metadata#exif()}: capture
 *     date, camera, GPS, ...; default true); false strips it (sharing photos without their location)
 */
public record WriteOptions(int jpegQuality, int bitDepth, boolean keepExif) {
  /** Quality 95, automatic bit depth, EXIF kept. */
  public static final WriteOptions DEFAULT = new WriteOptions(95, 0, true);

  /** Options that keep EXIF. */
  public WriteOptions(int jpegQuality, int bitDepth) {
    this(jpegQuality, bitDepth, true);
  }

  /** Validates the values. */
  public WriteOptions {
    if (jpegQuality < 1 || jpegQuality > 100) throw new IllegalArgumentException("jpegQuality must be 1..100, got " + jpegQuality);
    if (bitDepth != 0 && bitDepth != 8 && bitDepth != 16) {
      throw new IllegalArgumentException("bitDepth must be 0 (auto), 8 or 16, got " + bitDepth);
    }
  }

  /**
   * @param quality 1..100
   * @return a copy with another JPEG quality
   */
  public WriteOptions withJpegQuality(int quality) {
    return new WriteOptions(quality, bitDepth, keepExif);
  }

  /**
   * @param bits 0, 8 or 16
   * @return a copy with another bit depth
   */
  public WriteOptions withBitDepth(int bits) {
    return new WriteOptions(jpegQuality, bits, keepExif);
  }

  /**
   * @param keep whether outputs carry the source's EXIF block
   * @return a copy with that choice
   */
  public WriteOptions withKeepExif(boolean keep) {
    return new WriteOptions(jpegQuality, bitDepth, keep);
  }
}
