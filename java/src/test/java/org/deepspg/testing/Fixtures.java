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
   * The fixtures folder, or a skip of the calling test (JUnit assumption naming the folder) when it is absent: a
   * clone of the repository alone passes its tests; CI, which has {@code ../shared} beside the checkout, runs them.
   *
   * @return {@code <shared>/fixtures}
   */
  public static Path fixtures() {
    assumePresent();
    return shared().resolve("fixtures");
  }

  /**
   * @param relative path below {@code fixtures/}, e.g. {@code deepspg/attn_x.bin}
   * @return the file; the calling test is skipped when the whole fixtures folder is absent, and fails when the
   *     folder is there but this file is not (an incomplete fixtures folder is an error)
   */
  public static Path file(String relative) {
    Path f = fixtures().resolve(relative);
    if (!Files.isRegularFile(f)) throw new IllegalStateException("missing fixture " + f.toAbsolutePath());
    return f;
  }

  /**
   * @param relative folder below {@code fixtures/}, e.g. {@code tokenizer}
   * @return the folder (skip / failure as for {@link #file})
   */
  public static Path dir(String relative) {
    Path d = fixtures().resolve(relative);
    if (!Files.isDirectory(d)) throw new IllegalStateException("missing fixture folder " + d.toAbsolutePath());
    return d;
  }

  /** Skips the calling test when the fixtures folder is absent (a clone without {@code ../shared} beside it). */
  public static void assumePresent() {
    Path f = shared().resolve("fixtures").toAbsolutePath().normalize();
    assumeTrue(Files.isDirectory(f), "skipped: the shared golden fixtures folder " + f + " is not there (it sits "
        + "beside the checkout in CI; set -Ddeepspg.shared=DIR to point elsewhere)");
  }
}
