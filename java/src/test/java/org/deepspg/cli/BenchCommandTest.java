/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.deepspg.infer.InferTestSupport;
import org.deepspg.io.JsonFiles;
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
    JsonNode root = JsonFiles.readTree(json);
    assertEquals("cpu", root.get("device").textValue());
    assertEquals(1, root.get("threads").intValue());
    assertTrue(root.get("model").textValue().contains("tiny.pth"), j);
    assertEquals(4, root.get("results").size());
    for (JsonNode row : root.get("results")) {
      assertTrue(row.get("images_per_s").doubleValue() > 0, j);
      assertEquals("whole", row.get("mode").textValue());
    }
    assertTrue(r.out().contains("images/s"), r.out());
    assertTrue(r.out().contains("libtorch threads 1"), r.out());
    assertEquals(2, CliTestSupport.run("bench", "--size", "48by32", "--json", json.toString()).code());
  }

  /** The results file's layout, as scripts and BENCHMARKS.md readers know it: fixed decimals, one line per row. */
  @Test
  void resultsFileLayout() {
    List<BenchCommand.Row> rows = List.of(
        new BenchCommand.Row(600, 400, 1, "whole", 2.5, 400.0, 150.004, 249.996),
        new BenchCommand.Row(6000, 4000, 1, "tiled", 1 / 60.0, 60000.0, 0.0, 59999.125));
    assertEquals("{\n"
        + "  \"model\": \"DeepSPG-S \\\"x\\\"\",\n"
        + "  \"device\": \"cpu\",\n"
        + "  \"threads\": 2,\n"
        + "  \"onednn\": \"off\",\n"
        + "  \"results\": [\n"
        + "    {\"width\": 600, \"height\": 400, \"batch\": 1, \"mode\": \"whole\", \"images_per_s\": 2.5000, "
        + "\"ms_per_image\": 400.00, \"hrnet_ms_per_image\": 150.00, \"network_ms_per_image\": 250.00},\n"
        + "    {\"width\": 6000, \"height\": 4000, \"batch\": 1, \"mode\": \"tiled\", \"images_per_s\": 0.0167, "
        + "\"ms_per_image\": 60000.00, \"hrnet_ms_per_image\": 0.00, \"network_ms_per_image\": 59999.13}\n"
        + "  ]\n"
        + "}\n", BenchCommand.toJson(rows, "DeepSPG-S \"x\"", "cpu", 2, "off"));
  }
}
