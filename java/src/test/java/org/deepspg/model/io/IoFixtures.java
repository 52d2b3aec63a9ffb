/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.io;

import java.nio.file.Path;
import org.deepspg.testing.Fixtures;

/** The shared golden fixtures for the reader tests (see {@link Fixtures}: skipped when the folder is absent). */
final class IoFixtures {
  private IoFixtures() {}

  static Path fixtures() {
    return Fixtures.fixtures();
  }

  static Path file(String rel) {
    return Fixtures.file(rel);
  }
}
