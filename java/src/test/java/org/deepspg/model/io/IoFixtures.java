/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.io;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Locates the shared golden fixtures (system property {@code deepspg.shared}, else {@code ../shared}); a missing fixture fails the test. */
final class IoFixtures {
  private IoFixtures() {}

  static Path fixtures() {
    String prop = System.getProperty("deepspg.shared");
    Path shared = prop != null ? Paths.get(prop) : null;
    if (shared == null || !Files.isDirectory(shared)) {
      // surefire runs in java/, an IDE may run in the repository root
      for (String c : new String[] {"../../shared", "../shared"}) {
        if (Files.isDirectory(Paths.get(c))) {
          shared = Paths.get(c);
          break;
        }
      }
    }
    assertTrue(shared != null && Files.isDirectory(shared.resolve("fixtures")),
        "shared fixtures not found (set -Ddeepspg.shared)");
    return shared.resolve("fixtures");
  }

  static Path file(String rel) {
    Path p = fixtures().resolve(rel);
    assertTrue(Files.isRegularFile(p), "fixture missing: " + p);
    return p;
  }
}
