/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.deepspg.ops.Backends;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where a run writes and who else may: a copied run resumes in its own folder (not over the original), one run per
 * run.dir at a time (also across processes), no run.dir inside a dataset, and a resume on a changed training set
 * says that the schedule changed.
 */
class RunDirTest {
  @TempDir static Path work;
  private static Path data;

  @BeforeAll
  static void setUp() throws IOException {
    Backends.init();
    data = TrainTestSupport.writeTinyDataset(work.resolve("data"), 6, 1, 64, 3);
  }

  private static Properties tiny(Path runDir, Path train) {
    Properties p = TrainTestSupport.tinyRun(train, runDir);
    p.setProperty("variant", "baseline");
    p.setProperty("epochs", "2");
    p.setProperty("max_steps", "2");
    p.setProperty("sample.count", "1");
    return p;
  }

  private static String run(Trainer t) throws IOException {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    t.setConsole(new PrintStream(buf, true, StandardCharsets.UTF_8));
    t.run();
    return buf.toString(StandardCharsets.UTF_8);
  }

  private static long stepOf(Path ck) throws IOException {
    return Long.parseLong(TrainCheckpoint.read(ck).meta().getProperty("state.step"));
  }

  @Test
  void aCopiedRunResumesInItsOwnFolder() throws IOException {
    Path a = work.resolve("a"), b = work.resolve("b");
    run(TrainTestSupport.trainer(tiny(a, data)));
    try (Stream<Path> files = Files.list(a)) {
      Files.createDirectories(b);
      for (Path f : files.filter(Files::isRegularFile).toList()) Files.copy(f, b.resolve(f.getFileName()));
    }
    byte[] original = Files.readAllBytes(a.resolve("last.pth"));
    Properties over = new Properties();
    over.setProperty("max_steps", "3");
    String log = run(Trainer.resume(b.resolve("last.pth"), over, null));
    assertTrue(log.contains("continuing in " + b.toAbsolutePath()), log);
    assertEquals(3, stepOf(b.resolve("last.pth")));
    assertArrayEquals(original, Files.readAllBytes(a.resolve("last.pth")), "the original run is untouched");
    // run.dir given on resume still wins; the folder's own run resumes without a note
    over.setProperty("max_steps", "4");
    assertFalse(run(Trainer.resume(b.resolve("last.pth"), over, null)).contains("continuing in"));
    assertEquals(4, stepOf(b.resolve("last.pth")));
  }

  @Test
  void oneRunPerFolderAtATime() throws Exception {
    Path dir = work.resolve("busy");
    try (RunDirLock held = RunDirLock.acquire(dir)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> run(TrainTestSupport.trainer(tiny(dir, data))));
      assertTrue(e.getMessage().contains("in use by another training run"), e.getMessage());
    }
    // held by another process: refused too, naming it
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    Process holder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", cp,
        LockHolder.class.getName(), dir.toString()).redirectErrorStream(true).start();
    try {
      assertEquals("locked", new String(holder.getInputStream().readNBytes(6), StandardCharsets.UTF_8));
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> run(TrainTestSupport.trainer(tiny(dir, data))));
      assertTrue(e.getMessage().contains("process " + holder.pid()), e.getMessage());
    } finally {
      holder.destroyForcibly();
      assertTrue(holder.waitFor(30, TimeUnit.SECONDS));
    }
    assertFalse(Files.exists(dir.resolve("last.pth")), "the refused runs wrote nothing");
    run(TrainTestSupport.trainer(tiny(dir, data))); // the holder is gone: the OS released its lock
    assertEquals(2, stepOf(dir.resolve("last.pth")));
  }

  @Test
  void aRunRemovesTheTemporaryFilesAKilledRunLeft() throws IOException {
    Path dir = Files.createDirectories(work.resolve("killed"));
    Path ours = Files.writeString(dir.resolve(".last.pth.deepspg-1a2b.tmp"), "half a checkpoint");
    Path log = Files.writeString(dir.resolve(".metrics.jsonl.deepspg-zz.tmp"), "half a log");
    Path other = Files.writeString(dir.resolve(".notes.txt.deepspg-1a2b.tmp"), "not ours");
    run(TrainTestSupport.trainer(tiny(dir, data)));
    assertFalse(Files.exists(ours), "a killed run's temporary checkpoint is removed, however recent");
    assertFalse(Files.exists(log));
    assertTrue(Files.exists(other), "temporary files of names a run does not write stay");
  }

  @Test
  void aRunDirInsideTheDatasetIsRefused() {
    Path inside = data.resolve("train/low/run");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> run(TrainTestSupport.trainer(tiny(inside, data))));
    assertTrue(e.getMessage().contains("inside the dataset data.train"), e.getMessage());
    assertFalse(Files.exists(inside));
  }

  @Test
  void resumingOnAChangedTrainingSetSaysSo() throws IOException {
    Path more = TrainTestSupport.writeTinyDataset(work.resolve("more"), 10, 1, 64, 4);
    Path dir = work.resolve("changed");
    run(TrainTestSupport.trainer(tiny(dir, data)));
    Properties over = new Properties();
    over.setProperty("max_steps", "3");
    String same = run(Trainer.resume(dir.resolve("last.pth"), over, null));
    assertFalse(same.contains("warning"), same);
    over.setProperty("max_steps", "4");
    over.setProperty("data.train", more.toString());
    String log = run(Trainer.resume(dir.resolve("last.pth"), over, null));
    assertTrue(log.contains("warning: the training set has 10 pairs, the checkpoint's run had 6"), log);
  }

  /** Holds a run.dir's lock until killed; prints "locked" once it holds it. */
  public static final class LockHolder {
    private LockHolder() {}

    /**
     * @param args the run.dir
     * @throws Exception never in practice
     */
    public static void main(String[] args) throws Exception {
      try (RunDirLock l = RunDirLock.acquire(Path.of(args[0]))) {
        System.out.print("locked");
        System.out.flush();
        Thread.sleep(600_000);
      }
    }
  }
}
