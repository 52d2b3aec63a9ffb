/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One training run per run.dir at a time: an exclusive lock on {@code run.dir/.deepspg-train.lock} held for the run's
 * life (an OS file lock, so it goes with the process however it ends). A second run into the same folder, which
 * would overwrite the first one's checkpoints and logs (or, with {@code --overwrite}, delete them), is refused with
 * the holder's process id. The lock file itself stays; it is empty of meaning once no process holds it.
 */
final class RunDirLock implements AutoCloseable {
  /** The lock file's name inside run.dir. */
  static final String NAME = ".deepspg-train.lock";

  private final FileChannel channel;
  private final FileLock lock;

  private RunDirLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  /**
   * @param runDir the run's folder (created if needed)
   * @return the held lock
   * @throws IllegalArgumentException when another run holds it
   * @throws IOException when the lock file cannot be opened
   */
  static RunDirLock acquire(Path runDir) throws IOException {
    Files.createDirectories(runDir);
    Path f = runDir.resolve(NAME);
    FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    FileLock l;
    try {
      l = ch.tryLock();
    } catch (OverlappingFileLockException e) { // this JVM runs a trainer there already
      l = null;
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
    if (l == null) {
      String holder = holder(ch);
      ch.close();
      throw new IllegalArgumentException(runDir + " is in use by another training run" + holder + "; wait for it to "
          + "end or pick another run.dir");
    }
    ch.truncate(0);
    ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8)), 0);
    return new RunDirLock(ch, l);
  }

  private static String holder(FileChannel ch) {
    try {
      ByteBuffer b = ByteBuffer.allocate(32);
      int n = ch.read(b, 0);
      String pid = n <= 0 ? "" : new String(b.array(), 0, n, StandardCharsets.UTF_8).trim();
      return pid.matches("[0-9]+") ? " (process " + pid + ")" : "";
    } catch (IOException e) {
      return "";
    }
  }

  @Override
  public void close() throws IOException {
    try {
      lock.release();
    } finally {
      channel.close();
    }
  }
}
