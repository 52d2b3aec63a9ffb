/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import org.deepspg.infer.Enhancer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bundled real-photo model {@code s-night} on the user's path: {@code deepspg enhance --model s-night} in a fresh
 * JVM and the Java API against reference outputs ({@code golden/s-night/*.png}) computed without this project's Java
 * or native code by {@code scripts/make_user_path_golden.py --weights} (the spec's PyTorch reference program on the
 * bundled weights; the model has no SEMs, so it needs nothing else).
 */
class NightModelGoldenTest {
  static final String NAME = "s-night";

  @TempDir static Path work;
  static Path golden;
  static List<String> names;

  @BeforeAll
  static void locate() throws Exception {
    golden = UserPathGoldenTest.goldenFolder(NAME);
    names = UserPathGoldenTest.referenceNames(golden);
    assertEquals(2, names.size(), "two reference outputs");
  }

  @Test
  void enhanceMatchesTheReference() throws Exception {
    UserPathGoldenTest.assertCliMatchesReferences(NAME, work, golden, names, List.of("--model", NAME));
  }

  @Test
  void javaApiMatchesTheReference() throws Exception {
    try (Enhancer e = Enhancer.builder().bundled(NAME).build()) {
      UserPathGoldenTest.assertApiMatchesReferences(NAME, e, golden, names);
    }
  }
}
