/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import java.io.IOException;
import java.nio.file.Path;

/**
 * An image file could not be read: it is missing, empty, truncated, not an image, in an unsupported format, too
 * small (1×1) or too large (more pixels than {@link ReadOptions#maxPixels()}, checked from the header before any
 * pixel is decoded). The message always starts with the path, then the reason.
 */
public class ImageReadException extends IOException {
  private static final long serialVersionUID = 1L;

  private final transient Path path;
  private final String reason;

  /**
   * @param path the file that failed
   * @param reason a short human-readable reason ("zero-byte file", "truncated PNG data", ...)
   */
  public ImageReadException(Path path, String reason) {
    this(path, reason, null);
  }

  /**
   * @param path the file that failed
   * @param reason a short human-readable reason
   * @param cause the underlying exception, or null
   */
  public ImageReadException(Path path, String reason, Throwable cause) {
    super(path + ": " + reason, cause);
    this.path = path;
    this.reason = reason;
  }

  /** @return the file that failed */
  public Path path() {
    return path;
  }

  /** @return the reason without the path */
  public String reason() {
    return reason;
  }
}
