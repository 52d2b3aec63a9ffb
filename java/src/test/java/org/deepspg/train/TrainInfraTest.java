/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.deepspg.io.AtomicFile;
import org.deepspg.io.ProgressBar;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Schedules, atomic writes, the metrics log and plots: the parts of training that need no network. */
class TrainInfraTest {
  @TempDir Path tmp;

  @Test
  void cosineScheduleEndpointsAndMonotone() {
    LrSchedule s = new LrSchedule(3e-4, 1e-6, 1000, 0);
    assertEquals(3e-4, s.at(0), 1e-15);
    assertEquals(1e-6, s.at(1000), 1e-15);
    assertEquals((3e-4 + 1e-6) / 2, s.at(500), 1e-12);
    for (int i = 1; i <= 1000; i++) assertTrue(s.at(i) <= s.at(i - 1));
    assertThrows(IllegalArgumentException.class, () -> new LrSchedule(1e-3, 1e-2, 10, 0));
  }

  @Test
  void coarseToFineReproducesSpecTable() {
    CoarseToFine c = CoarseToFine.paper(500, 1, 1);
    List<CoarseToFine.Stage> st = c.stages();
    assertEquals(6, st.size());
    int[][] want = {{1, 150, 128, 16}, {151, 250, 160, 10}, {251, 330, 192, 8}, {331, 400, 256, 4},
        {401, 460, 320, 2}, {461, 500, 384, 2}};
    for (int i = 0; i < 6; i++) {
      CoarseToFine.Stage s = st.get(i);
      assertArrayEquals(want[i], new int[] {s.fromEpoch(), s.toEpoch(), s.patch(), s.batch()});
    }
    assertEquals(256, c.stageOf(400).patch());
    // LOL-v1: 485 pairs -> 150*30 + 100*48 + 80*60 + 70*121 + 60*242 + 40*242 steps
    assertEquals(150L * 30 + 100 * 48 + 80 * 60 + 70 * 121 + 60 * 242 + 40 * 242, c.totalSteps(485));
    CoarseToFine small = CoarseToFine.paper(10, 0.5, 0.5);
    assertEquals(10, small.lastEpoch());
    for (CoarseToFine.Stage s : small.stages()) assertEquals(0, s.patch() % 32);
    assertThrows(IllegalArgumentException.class, () -> CoarseToFine.fixed(5, 100, 4));
  }

  @Test
  void atomicWriteLeavesOldFileOnCrash() throws IOException {
    Path f = tmp.resolve("ckpt.bin");
    AtomicFile.write(f, o -> o.write("old".getBytes(StandardCharsets.UTF_8)));
    IOException crash = assertThrows(IOException.class, () -> AtomicFile.write(f, o -> {
      o.write("partial-new-content".getBytes(StandardCharsets.UTF_8));
      throw new IOException("simulated crash mid-write");
    }));
    assertEquals("simulated crash mid-write", crash.getMessage());
    assertEquals("old", Files.readString(f));
    try (Stream<Path> s = Files.list(tmp)) {
      assertEquals(1, s.count(), "no temporary file left behind");
    }
  }

  @Test
  void metricsLogResumeDropsLostRecordsAndPlots() throws IOException {
    Path f = tmp.resolve("run/metrics.jsonl");
    try (MetricsLog log = new MetricsLog(f, -1)) {
      for (int step = 1; step <= 5; step++) {
        Map<String, Double> v = new LinkedHashMap<>();
        v.put("step", (double) step);
        v.put("loss", 1.0 / step);
        v.put("lr", 1e-4);
        log.log("train", v);
      }
      log.log("val", Map.of("step", 5.0, "psnr", 20.0, "ssim", 0.7));
    }
    try (MetricsLog log = new MetricsLog(f, 3)) {
      assertEquals(3, log.entries().size());
      assertEquals(0.5, log.entries().get(1).values().get("loss"), 1e-12);
      Plots.writeTrainingPlots(log, tmp);
    }
    assertEquals(3, Files.readAllLines(f).size());
    assertTrue(Files.size(tmp.resolve("losses.png")) > 1000);
    assertEquals("1h02m03s", ProgressBar.formatDuration(3723));
  }
}
