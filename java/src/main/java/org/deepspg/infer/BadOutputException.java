/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

/**
 * An enhanced image that is certainly wrong (non-finite values, or a constant image from an input that varies): the
 * {@link Enhancer} throws it instead of returning the image, and the caller must not write anything for that input.
 * The message names the likely cause.
 */
public final class BadOutputException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  /** @param message what is wrong and the likely cause */
  public BadOutputException(String message) {
    super(message);
  }
}
