/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.deepspg.infer.InferTestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code deepspg bench}: table and JSON for every size x batch. */
class BenchCommandTest {
  @Test
  void measuresEverySizeAndBatch(@TempDir Path dir) throws IOException {
    Path model = InferTestSupport.exportRandom(dir, "tiny.pth", InferTestSupport.tinyBaseline(), 1);
    Path json = dir.resolve("bench.json");
    CliTestSupport.Result r = CliTestSupport.run("bench", "--size", "48x32,40x40", "--batch", "1,2", "--model",
        model.toString(), "--iters", "1", "--warmup", "0", "--threads", "1", "--json", json.toString());
    assertEquals(0, r.code(), r.all());
    String j = Files.readString(json);
    assertEquals(4, j.split("\"images_per_s\"").length - 1, j);
    assertTrue(j.contains("\"width\": 48, \"height\": 32, \"batch\": 2"), j);
    assertTrue(r.out().contains("images/s"), r.out());
    assertTrue(r.out().contains("libtorch threads 1"), r.out());
    assertEquals(2, CliTestSupport.run("bench", "--size", "48by32", "--json", json.toString()).code());
  }
}
