/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link MetricsLog}'s JSON lines: layout, exact round trip, logs of earlier versions, damaged lines. */
class MetricsLogTest {
  private static Map<String, Double> values(double step, double loss) {
    Map<String, Double> v = new LinkedHashMap<>();
    v.put("step", step);
    v.put("loss", loss);
    v.put("grad_norm", Double.NaN);
    return v;
  }

  @Test
  void linesAreCompactJsonAndReadBackExactly(@TempDir Path tmp) throws Exception {
    Path f = tmp.resolve("metrics.jsonl");
    try (MetricsLog log = new MetricsLog(f, -1)) {
      log.log("train", values(1, 1.0 / 3));
      log.log("train", values(2, 1e-7));
      log.log("val", Map.of("step", 2.0));
      assertThrows(IllegalArgumentException.class, () -> log.log("train", Map.of("kind", 1.0)));
    }
    assertEquals(List.of(
        "{\"kind\":\"train\",\"step\":1,\"loss\":0.3333333333333333,\"grad_norm\":null}",
        "{\"kind\":\"train\",\"step\":2,\"loss\":1.0E-7,\"grad_norm\":null}",
        "{\"kind\":\"val\",\"step\":2}"), Files.readAllLines(f, StandardCharsets.UTF_8));
    try (MetricsLog log = new MetricsLog(f, 1)) {
      assertEquals(1, log.entries().size(), "records after the resumed step are dropped");
      MetricsLog.Entry e = log.entries().get(0);
      assertEquals("train", e.kind());
      assertEquals(List.of("step", "loss", "grad_norm"), List.copyOf(e.values().keySet()));
      assertEquals(1.0 / 3, e.values().get("loss"), 0.0, "exact double");
      assertTrue(Double.isNaN(e.values().get("grad_norm")), "null reads back as NaN");
    }
    assertEquals(1, Files.readAllLines(f).size());
  }

  @Test
  void readsLogsOfEarlierVersionsAndSkipsDamagedLines(@TempDir Path tmp) throws Exception {
    Path f = tmp.resolve("metrics.jsonl");
    Files.writeString(f, String.join("\n",
        "{\"kind\":\"train\",\"step\":1.0000000,\"loss\":0.12345679,\"lr\":1.0000000e-05,\"gn\":null}",
        "",
        "{\"kind\":\"train\",\"step\":2.0000000,\"loss\":0.1",
        "{\"kind\":\"val\",\"step\":2.0000000,\"psnr\":\"n/a\"}",
        "{\"step\":2.0}",
        "{\"kind\":\"val\",\"step\":2.0000000,\"psnr\":20.500000}") + "\n");
    MetricsLog.Entry old = MetricsLog.parse("{\"kind\":\"train\",\"step\":1.0000000,\"lr\":1.0000000e-05}");
    assertEquals(1.0, old.values().get("step"));
    assertEquals(1e-5, old.values().get("lr"), 0.0);
    assertNull(MetricsLog.parse("{\"kind\":\"train\",\"step\":2.0000000,\"loss\":0.1"), "cut short by a crash");
    assertNull(MetricsLog.parse("[1, 2]"));
    assertNull(MetricsLog.parse("{\"kind\":3}"));
    try (MetricsLog log = new MetricsLog(f, 10)) {
      assertEquals(2, log.entries().size(), log.entries().toString());
      assertEquals(0.12345679, log.entries().get(0).values().get("loss"), 0.0);
      assertTrue(Double.isNaN(log.entries().get(0).values().get("gn")));
      assertEquals(20.5, log.entries().get(1).values().get("psnr"), 0.0);
    }
    assertEquals(List.of(
        "{\"kind\":\"train\",\"step\":1,\"loss\":0.12345679,\"lr\":1.0E-5,\"gn\":null}",
        "{\"kind\":\"val\",\"step\":2,\"psnr\":20.5}"), Files.readAllLines(f), "rewritten in the current layout");
  }
}
