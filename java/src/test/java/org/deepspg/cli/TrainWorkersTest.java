/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link TrainWorkers#stopAll}: workers are asked to stop (SIGTERM, their clean-up runs) before they are killed. */
class TrainWorkersTest {
  @Test
  void workersGetSigtermFirstAndSigkillAfterTheGrace(@TempDir Path dir) throws Exception {
    Path cleaned = dir.resolve("cleaned");
    // Stand-ins for worker JVMs: one runs its clean-up on SIGTERM, one ignores SIGTERM.
    Process polite = new ProcessBuilder("bash", "-c",
        "trap 'echo done > \"" + cleaned + "\"; exit 143' TERM; echo up; while true; do sleep 0.1; done").start();
    Process stubborn = new ProcessBuilder("bash", "-c",
        "trap '' TERM; echo up; while true; do sleep 0.1; done").start();
    // Both have set their traps once they have printed.
    assertEquals("up", new String(polite.getInputStream().readNBytes(2)));
    assertEquals("up", new String(stubborn.getInputStream().readNBytes(2)));
    long t0 = System.nanoTime();
    TrainWorkers.stopAll(List.of(polite, stubborn));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertEquals("done", Files.readString(cleaned).trim(), "the polite one ran its clean-up");
    assertEquals(143, polite.waitFor());
    stubborn.waitFor();
    assertFalse(stubborn.isAlive());
    assertEquals(137, stubborn.exitValue(), "killed after the grace (" + ms + " ms)");
  }
}
