/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.deepspg.data.Images;
import org.deepspg.infer.InferTestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every path problem is reported with one line (exit 2) before any model work or any file is created. */
class PathProblemsTest {
  @TempDir Path dir;

  @Test
  void enhanceIntoAnExistingFileIsRefusedFirst() throws IOException {
    Path img = dir.resolve("in.png");
    Images.write(InferTestSupport.darkImage(24, 32, 1), img);
    Path notADir = Files.writeString(dir.resolve("out.txt"), "keep me");
    CliTestSupport.Result r = CliTestSupport.run("enhance", img.toString(), "-o", notADir.toString());
    assertEquals(2, r.code(), r.all());
    assertTrue(r.err().contains("is an existing file, not a folder"), r.err());
    assertFalse(r.out().contains("model:"), "refused before the model was loaded: " + r.out());
    assertEquals("keep me", Files.readString(notADir));
  }

  @Test
  void trainWithAMissingConfigFileSaysSo() {
    Path missing = dir.resolve("nope.properties");
    CliTestSupport.Result r = CliTestSupport.run("train", "--config", missing.toString());
    assertEquals(2, r.code(), r.all());
    assertTrue(r.err().contains("--config: no such file: " + missing.toAbsolutePath()), r.err());
  }

  @Test
  void trainWithAMissingDataFolderCreatesNoRunFolder() {
    Path run = dir.resolve("run");
    CliTestSupport.Result r = CliTestSupport.run("train", "--config", "../configs/baseline_cpu.properties",
        "data.train=" + dir.resolve("no-such-data"), "run.dir=" + run);
    assertEquals(2, r.code(), r.all());
    assertTrue(r.err().contains("no-such-data"), r.err());
    assertFalse(Files.exists(run), "the run folder is created only once the data opened");
  }
}
