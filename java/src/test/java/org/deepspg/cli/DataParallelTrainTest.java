/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.deepspg.ops.Backends;
import org.deepspg.train.TrainCheckpoint;
import org.deepspg.train.TrainTestSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code deepspg train --nproc 2} end to end, in fresh JVMs as a user runs it: two workers with slices of a global
 * batch of 4 end with the weights of one process with batch 4; a worker killed mid-run stops the other with a clear
 * error instead of a hang, and the run then resumes with two workers to its end.
 */
class DataParallelTrainTest {
  /** Measured: 3e-8 after 6 steps of DeepSPG-S at patch 64 (float32 summation order only). */
  private static final double WEIGHT_TOL = 1e-5;

  @TempDir static Path work;
  private static Path data;

  @BeforeAll
  static void setUp() throws IOException {
    Backends.init();
    data = TrainTestSupport.writeTinyDataset(work.resolve("data"), 8, 2, 64, 11);
  }

  private static List<String> args(Path runDir, String... more) {
    List<String> a = new ArrayList<>(List.of("train", "--onednn", "off", "variant=baseline", "model.channels=8",
        "model.blocks=1,1,1", "patch=32", "batch=4", "epochs=50", "data.train=" + data, "data.workers=0",
        "run.dir=" + runDir, "val.max_images=1", "sample.count=1", "threads=1", "plots=false"));
    a.addAll(List.of(more));
    return a;
  }

  @Test
  void twoWorkersMatchOneProcessWithTheWholeBatch() throws Exception {
    Run one = fork(args(work.resolve("one"), "max_steps=5"), 300, null);
    assertEquals(0, one.code, one.log);
    Run two = fork(args(work.resolve("two"), "max_steps=5", "--nproc", "2"), 300, null);
    assertEquals(0, two.code, two.log);
    assertTrue(two.log.contains("data-parallel: 2 workers (gloo), 2 pairs of each global batch per worker"), two.log);
    double d = maxDiff(work.resolve("one/model_final.pth"), work.resolve("two/model_final.pth"));
    System.out.printf(Locale.ROOT, "max |w_1proc - w_2proc| after 5 steps: %.3g%n", d);
    assertTrue(d <= WEIGHT_TOL, "weights differ by " + d);
  }

  @Test
  void batchThatDoesNotSplitIsRefusedBeforeTraining() throws Exception {
    Run r = fork(args(work.resolve("odd"), "batch=3", "max_steps=2", "--nproc", "2"), 300, null);
    assertNotEquals(0, r.code, r.log);
    assertTrue(r.log.contains("2 workers cannot share evenly"), r.log);
  }

  @Test
  void killedWorkerStopsTheOtherAndTheRunResumes() throws Exception {
    Path run = work.resolve("killed");
    long t0 = System.nanoTime();
    // Checkpoints every 2 steps; worker 1 is killed once the first checkpoint exists.
    Run r = fork(args(run, "max_steps=400", "checkpoint.every_steps=2", "--nproc", "2"), 600, p -> {
      Path last = run.resolve("last.pth");
      while (!Files.exists(last)) sleep(200);
      ProcessHandle rank1 = p.descendants().filter(h -> h.info().commandLine().orElse("").contains("--rank 1"))
          .findFirst().orElseThrow(() -> new AssertionError("no rank 1 worker among " + p.descendants().count()));
      rank1.destroyForcibly();
      return System.nanoTime();
    });
    double stopS = (System.nanoTime() - r.actionNanos) / 1e9;
    System.out.printf(Locale.ROOT, "launcher stopped %.1f s after worker 1 was killed (run %.0f s)%n", stopS,
        (System.nanoTime() - t0) / 1e9);
    assertNotEquals(0, r.code, r.log);
    assertTrue(r.log.contains("worker 1 exited with code 137"), r.log);
    assertTrue(r.log.contains("another worker has stopped"), r.log);
    assertTrue(stopS < 60, "took " + stopS + " s to stop");
    assertTrue(Files.exists(run.resolve("last.pth")));

    Run resumed = fork(List.of("train", "--resume", run.resolve("last.pth").toString(), "--nproc", "2", "--",
        "max_steps=8"), 300, null);
    assertEquals(0, resumed.code, resumed.log);
    assertTrue(resumed.log.contains("resuming at step"), resumed.log);
    assertTrue(resumed.log.contains("steps 8,"), resumed.log);
  }

  /** Workers started by hand with different settings (here the seed) are refused, not left to drift apart. */
  @Test
  void workersWithDifferentSettingsAreRefused() throws Exception {
    int port;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      port = s.getLocalPort();
    }
    String master = "127.0.0.1:" + port;
    java.util.concurrent.CompletableFuture<Run> rank1 = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try {
        return fork(args(work.resolve("differ"), "max_steps=2", "seed=7", "--rank", "1", "--world-size", "2",
            "--master", master, "--dist-timeout", "120"), 300, null);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    Run rank0 = fork(args(work.resolve("differ"), "max_steps=2", "--rank", "0", "--world-size", "2", "--master",
        master, "--dist-timeout", "120"), 300, null);
    Run r1 = rank1.get();
    for (Run r : List.of(rank0, r1)) {
      assertNotEquals(0, r.code, r.log);
      assertTrue(r.log.contains("differ in their training settings"), r.log);
    }
    assertFalse(Files.exists(work.resolve("differ/last.pth")), "no step was trained");
  }

  /** A launcher killed with SIGKILL (no shutdown hook runs) takes its workers with it. */
  @Test
  void workersEndWithTheirLauncher() throws Exception {
    Path run = work.resolve("orphans");
    List<ProcessHandle> workers = new ArrayList<>();
    // Long enough (tens of minutes) that the workers cannot simply finish the run in the time allowed.
    Run r = fork(args(run, "epochs=5000", "checkpoint.every_steps=2", "--nproc", "2"), 600, p -> {
      while (!Files.exists(run.resolve("last.pth"))) sleep(200);
      workers.addAll(p.descendants().filter(h -> h.info().commandLine().orElse("").contains("--rank")).toList());
      p.destroyForcibly();
      return System.nanoTime();
    });
    assertEquals(2, workers.size(), r.log);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (workers.stream().anyMatch(ProcessHandle::isAlive) && System.nanoTime() < deadline) sleep(200);
    double s = (System.nanoTime() - r.actionNanos) / 1e9;
    workers.forEach(ProcessHandle::destroyForcibly);
    assertTrue(s < 30, "workers still alive " + s + " s after the launcher was killed");
    System.out.printf(Locale.ROOT, "workers stopped %.1f s after the launcher was killed%n", s);
  }

  private static double maxDiff(Path a, Path b) throws IOException {
    Map<String, Tensor> wa = TrainCheckpoint.tensors(TrainCheckpoint.read(a).model());
    Map<String, Tensor> wb = TrainCheckpoint.tensors(TrainCheckpoint.read(b).model());
    assertEquals(wa.keySet(), wb.keySet());
    double m = 0;
    try (PointerScope s = new PointerScope()) {
      for (String k : wa.keySet()) m = Math.max(m, wa.get(k).sub(wb.get(k)).abs().max().item_double());
    }
    return m;
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  /** Something to do to the running launcher process; returns when it was done (System.nanoTime). */
  interface Action {
    long apply(ProcessHandle launcher);
  }

  record Run(int code, String log, long actionNanos) {}

  private static Run fork(List<String> args, int timeoutS, Action action) throws Exception {
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx2g", "-cp", cp, Main.class.getName()));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    Path log = Files.createTempFile(work, "run-", ".log");
    pb.redirectOutput(log.toFile());
    pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
    pb.environment().put("MALLOC_ARENA_MAX", "1");
    Process p = pb.start();
    long at = 0;
    if (action != null) at = action.apply(p.toHandle());
    if (!p.waitFor(timeoutS, TimeUnit.SECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      fail("timed out: " + String.join(" ", args) + "\n" + Files.readString(log, StandardCharsets.UTF_8));
    }
    String text = Files.readString(log, StandardCharsets.UTF_8);
    System.out.println("deepspg " + String.join(" ", args) + " -> " + p.exitValue() + "\n" + text);
    return new Run(p.exitValue(), text, at);
  }
}
