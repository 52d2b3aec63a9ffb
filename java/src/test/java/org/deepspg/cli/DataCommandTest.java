/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.deepspg.data.DatasetLayouts;
import org.deepspg.data.Split;
import org.deepspg.train.TrainTestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code deepspg data synth} delegates to DataTool and writes a dataset the trainer can open. */
class DataCommandTest {
  @Test
  void synthWritesPairs(@TempDir Path tmp) throws IOException {
    Path photos = TrainTestSupport.writeTinyDataset(tmp.resolve("src"), 5, 0, 80, 1).resolve("train/high");
    Path out = tmp.resolve("synth");
    assertEquals(0, Main.run("data", "synth", "--from", photos.toString(), "--out", out.toString(), "--seed", "3",
        "--test-fraction", "0.4", "--threads", "1"));
    int n = DatasetLayouts.open(out, Split.ALL).size();
    assertEquals(5, n);
    assertTrue(Files.exists(out));
    assertEquals(2, Main.run("data", "synth", "--from", photos.toString()), "missing --out is a usage error");
  }
}
