/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one atomic writer: permissions like any file, no temporary files left by interrupted or killed runs. */
class AtomicFileTest {
  @TempDir Path dir;

  private List<Path> temps() throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().endsWith(".tmp")).toList();
    }
  }

  @Test
  void filesGetTheProcessDefaultPermissionsNotOwnerOnly() throws IOException {
    Path f = dir.resolve("ckpt.pth");
    AtomicFile.write(f, "x".getBytes(StandardCharsets.UTF_8));
    // What the process gives any new file (0666 minus the umask): compare with a file created the plain way.
    Path plain = Files.createFile(dir.resolve("plain"));
    Set<PosixFilePermission> want = Files.getPosixFilePermissions(plain);
    assertEquals(want, Files.getPosixFilePermissions(f));
    assertTrue(want.contains(PosixFilePermission.OTHERS_READ) || !want.contains(PosixFilePermission.GROUP_READ),
        "sanity: " + want);
    assertTrue(temps().isEmpty());
  }

  @Test
  void abandonedTemporariesOfTheTargetAreRemovedOthersKept() throws IOException {
    Path target = dir.resolve("out.png");
    Path oldStyle = Files.writeString(dir.resolve(".out.png.123456789.tmp"), "torn");
    Path newStyle = Files.writeString(dir.resolve(".out.png.deepspg-abc123.tmp"), "torn");
    Path fresh = Files.writeString(dir.resolve(".out.png.deepspg-fresh1.tmp"), "being written elsewhere");
    Path otherTarget = Files.writeString(dir.resolve(".other.png.987.tmp"), "not ours to touch");
    Path foreign = Files.writeString(dir.resolve(".out.png.backup.tmp"), "not our pattern");
    FileTime old = FileTime.from(Instant.now().minusSeconds(AtomicFile.STALE_AFTER_SECONDS + 60));
    for (Path p : List.of(oldStyle, newStyle, otherTarget, foreign)) Files.setLastModifiedTime(p, old);
    AtomicFile.write(target, "ok".getBytes(StandardCharsets.UTF_8));
    assertEquals("ok", Files.readString(target));
    assertFalse(Files.exists(oldStyle));
    assertFalse(Files.exists(newStyle));
    assertTrue(Files.exists(fresh), "a recent one may belong to a running writer");
    assertTrue(Files.exists(otherTarget), "another target's");
    assertTrue(Files.exists(foreign), "not our pattern");
  }

  @Test
  void aFailingDiskNamesTheFileAndTheWritersOwnErrorsPassUnchanged() throws IOException {
    Path f = dir.resolve("named.txt");
    AtomicFile.failAfterBytesForTest = 3; // as "No space left on device", which names no file
    try {
      IOException e = assertThrows(IOException.class,
          () -> AtomicFile.write(f, "more than three bytes".getBytes(StandardCharsets.UTF_8)));
      assertTrue(e.getMessage().startsWith(f + ": ") && e.getMessage().contains("simulated"), e.getMessage());
    } finally {
      AtomicFile.failAfterBytesForTest = -1;
    }
    assertFalse(Files.exists(f));
    assertTrue(temps().isEmpty());
  }

  @Test
  void failedWriteLeavesTheOldFileAndNoTemporary() throws IOException {
    Path f = dir.resolve("a.txt");
    AtomicFile.write(f, "old".getBytes(StandardCharsets.UTF_8));
    try {
      AtomicFile.write(f, out -> {
        out.write("partial".getBytes(StandardCharsets.UTF_8));
        throw new IOException("boom");
      });
    } catch (IOException expected) {
      assertEquals("boom", expected.getMessage());
    }
    assertEquals("old", Files.readString(f));
    assertTrue(temps().isEmpty());
  }

  /** A JVM stopped with SIGTERM (or Ctrl-C) while it writes leaves no temporary file (shutdown hook). */
  @Test
  void interruptedProcessRemovesItsTemporary() throws Exception {
    Path target = dir.resolve("big.bin");
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", cp,
        SlowWriter.class.getName(), target.toString()).redirectErrorStream(true).start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (temps().isEmpty() && System.nanoTime() < deadline) Thread.sleep(50);
      assertEquals(1, temps().size(), "the writer started");
      p.destroy(); // SIGTERM, like Ctrl-C runs the shutdown hooks
      assertTrue(p.waitFor(30, TimeUnit.SECONDS));
      assertTrue(temps().isEmpty(), "left: " + temps());
      assertFalse(Files.exists(target));
    } finally {
      p.destroyForcibly();
    }
  }

  /**
   * A JVM stopped while a loop keeps writing (a training run saving checkpoints): a write that begins after the
   * shutdown hook's sweep removes its own temporary file, so none is left whenever the signal comes.
   */
  @Test
  void writesStartedDuringShutdownLeaveNoTemporary() throws Exception {
    Path target = dir.resolve("loop.bin");
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    for (int round = 0; round < 8; round++) {
      Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", cp,
          LoopWriter.class.getName(), target.toString()).redirectErrorStream(true).start();
      try {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.exists(target) && System.nanoTime() < deadline) Thread.sleep(10);
        Thread.sleep(20 + 30 * round);
        p.destroy();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertTrue(temps().isEmpty(), "round " + round + " left: " + temps());
      } finally {
        p.destroyForcibly();
      }
      Files.deleteIfExists(target);
    }
  }

  /** Writes its target over and over from four threads until killed. */
  public static final class LoopWriter {
    private LoopWriter() {}

    /**
     * @param args the target path
     * @throws Exception never in practice
     */
    public static void main(String[] args) throws Exception {
      Runnable loop = () -> {
        try {
          while (true) AtomicFile.write(Path.of(args[0]), out -> out.write(new byte[4096]));
        } catch (IOException e) {
          // the JVM is going down
        }
      };
      for (int i = 0; i < 3; i++) new Thread(loop).start();
      loop.run();
    }
  }

  /** Writes a little, then blocks inside the writer until killed. */
  public static final class SlowWriter {
    private SlowWriter() {}

    /**
     * @param args the target path
     * @throws Exception never in practice
     */
    public static void main(String[] args) throws Exception {
      AtomicFile.write(Path.of(args[0]), out -> {
        out.write(new byte[1024]);
        out.flush();
        try {
          Thread.sleep(600_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
    }
  }
}
