/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.io;

import java.io.IOException;

/**
 * A checkpoint file is truncated, corrupt, unsupported, or tries to do something a safe reader refuses
 * (e.g. a pickle naming a global such as {@code os.system}). The message names the file and what is wrong
 * (the byte offset, the zip record or the storage key).
 */
public class CheckpointFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  /** @param message names the file and the problem */
  public CheckpointFormatException(String message) {
    super(message);
  }

  /**
   * @param message names the file and the problem
   * @param cause the underlying error
   */
  public CheckpointFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
