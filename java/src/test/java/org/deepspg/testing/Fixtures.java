/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Locates the shared golden fixtures ({@code ../shared/fixtures}; system property {@code deepspg.shared}). */
public final class Fixtures {
  private Fixtures() {}

  /** @return the shared folder (the one holding {@code fixtures/}) */
  public static Path shared() {
    String p = System.getProperty("deepspg.shared");
    if (p != null && Files.isDirectory(Paths.get(p))) return Paths.get(p);
    for (Path c : new Path[] {Paths.get("../shared"), Paths.get("../../shared")}) {
      if (Files.isDirectory(c.resolve("fixtures"))) return c;
    }
    return Paths.get(p != null ? p : "../shared");
  }

  /**
   * @param relative path below {@code fixtures/}, e.g. {@code deepspg/attn_x.bin}
   * @return the file; the calling test fails (not skips) when it is missing, because the fixtures are part of the
   *     repository's test inputs
   */
  public static Path file(String relative) {
    Path f = shared().resolve("fixtures").resolve(relative);
    if (!Files.isRegularFile(f)) throw new IllegalStateException("missing fixture " + f.toAbsolutePath());
    return f;
  }

  /** Skips the calling test when the fixtures folder is absent (e.g. a source-only checkout). */
  public static void assumePresent() {
    assumeTrue(Files.isDirectory(shared().resolve("fixtures")), "fixtures folder not found under " + shared());
  }
}
