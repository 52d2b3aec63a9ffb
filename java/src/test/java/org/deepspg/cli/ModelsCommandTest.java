/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deepspg.model.ModelFiles;
import org.junit.jupiter.api.Test;

/** {@code deepspg models}: every bundled model with what it needs, the default marked, none missing. */
class ModelsCommandTest {
  @Test
  void listsTheBundledModels() {
    CliTestSupport.Result r = CliTestSupport.run("models");
    assertEquals(0, r.code(), r.all());
    for (ModelFiles.Bundled b : ModelFiles.BUNDLED) {
      assertTrue(r.out().contains(b.resource()), r.out());
      assertTrue(ModelFiles.available(b), b.name() + " is registered but its resource is not in the build");
    }
    assertTrue(r.out().lines().anyMatch(l -> l.equals(ModelFiles.DEFAULT_NAME + " (default)")), r.out());
    assertTrue(r.out().contains("needs: nothing"), r.out());
    assertFalse(r.out().contains("missing from this build"), r.out());
  }
}
