/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.io;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * The project's one way to write a file: readers (and a crash at any moment) see either the old complete file or the
 * new complete one. The content goes to a hidden temporary file in the target's folder ({@code .NAME.deepspg-X.tmp}),
 * which is flushed and fsynced, then renamed over the target atomically, and the folder entry is synced. Images,
 * checkpoints, logs and reports all use it.
 *
 * <ul>
 *   <li><b>Permissions</b>: the file is created like any other file of the process (mode 0666 minus the umask, so
 *       usually rw-r--r--), checkpoints included; not the owner-only mode of {@code Files.createTempFile}.</li>
 *   <li><b>Interrupted runs</b>: a temporary file still being written when the JVM exits (Ctrl-C, SIGTERM) is removed
 *       by a shutdown hook, and a write that starts once the JVM is going down fails at once. One left by a killed
 *       process (SIGKILL, power loss) is removed by the next write of the same target once it is older than
 *       {@link #STALE_AFTER_SECONDS} seconds; only files of this pattern for that target name, in that folder, are
 *       touched (also the {@code .NAME.<digits>.tmp} files of earlier versions).</li>
 * </ul>
 */
public final class AtomicFile {
  /** Writes the content of one stream. */
  @FunctionalInterface
  public interface Writer {
    /**
     * @param out the temporary file's stream
     * @throws IOException on failure (the temporary file is removed and the target left untouched)
     */
    void write(OutputStream out) throws IOException;
  }

  /** Age after which a leftover temporary file of a target counts as abandoned. */
  public static final long STALE_AFTER_SECONDS = 120;

  /**
   * Test hook: when &gt;= 0, the stream handed to the writer throws an {@link IOException} ("simulated crash") once
   * this many bytes have been written, so tests can check that a failure mid-write leaves the old file intact. -1
   * (off) in production.
   */
  public static volatile long failAfterBytesForTest = -1;

  /** Temporary files being written right now, removed by the shutdown hook if the JVM exits first. */
  private static final Set<Path> IN_FLIGHT = ConcurrentHashMap.newKeySet();

  /**
   * Guards {@link #shuttingDown} and a temporary file's creation with its entry in {@link #IN_FLIGHT}: other threads
   * run on while the JVM goes down (a training loop still saving), so the hook must not sweep between a file's
   * creation and its entry, and no file may be created after the sweep.
   */
  private static final Object CREATE_LOCK = new Object();
  private static boolean shuttingDown;

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      synchronized (CREATE_LOCK) {
        shuttingDown = true;
      }
      for (Path p : IN_FLIGHT) {
        try {
          Files.deleteIfExists(p);
        } catch (IOException ignored) {
          // best effort while the JVM goes down
        }
      }
    }, "deepspg-atomic-file-cleanup"));
  }

  private AtomicFile() {}

  /**
   * Writes a file atomically.
   *
   * @param target final path (its folder is created if needed)
   * @param writer produces the content
   * @throws IOException when writing fails; the target is then unchanged and no temporary file is left
   */
  public static void write(Path target, Writer writer) throws IOException {
    Path abs = target.toAbsolutePath();
    Path dir = abs.getParent();
    if (dir == null) throw new IllegalArgumentException("target has no parent folder: " + target);
    Files.createDirectories(dir);
    removeStale(dir, abs.getFileName().toString());
    Path tmp = createTemp(dir, abs.getFileName().toString());
    boolean ok = false;
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        OutputStream raw = Channels.newOutputStream(ch);
        long failAfter = failAfterBytesForTest;
        if (failAfter >= 0) raw = new FailingStream(raw, failAfter); // fails as the disk would, under the name
        OutputStream out = new Named(raw, target);
        writer.write(out);
        out.flush();
        try {
          ch.force(true);
        } catch (IOException e) {
          throw Named.named(e, target);
        }
      }
      try {
        Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
      }
      ok = true;
      // Make the rename itself durable (directory entry); best effort where directories cannot be opened.
      try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
        d.force(true);
      } catch (IOException | UnsupportedOperationException ignored) {
        // not supported on this file system
      }
    } finally {
      if (!ok) Files.deleteIfExists(tmp);
      IN_FLIGHT.remove(tmp);
    }
  }

  /**
   * The file's stream with the target's name put into the I/O errors it raises ("No space left on device" names no
   * file); the writer's own exceptions pass through it untouched.
   */
  private static final class Named extends FilterOutputStream {
    private final Path target;

    Named(OutputStream out, Path target) {
      super(out);
      this.target = target;
    }

    static IOException named(IOException e, Path target) {
      return e instanceof FileSystemException ? e : new IOException(target + ": " + e.getMessage(), e);
    }

    @Override
    public void write(int b) throws IOException {
      try {
        out.write(b);
      } catch (IOException e) {
        throw named(e, target);
      }
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      try {
        out.write(b, off, len);
      } catch (IOException e) {
        throw named(e, target);
      }
    }

    @Override
    public void flush() throws IOException {
      try {
        out.flush();
      } catch (IOException e) {
        throw named(e, target);
      }
    }
  }

  /**
   * Writes bytes atomically.
   *
   * @param target final path
   * @param bytes the content
   * @throws IOException when writing fails (target unchanged)
   */
  public static void write(Path target, byte[] bytes) throws IOException {
    write(target, out -> out.write(bytes));
  }

  /** A new empty temporary file for {@code name} in {@code dir}, with the process's default permissions. */
  private static Path createTemp(Path dir, String name) throws IOException {
    for (int attempt = 0; ; attempt++) {
      String id = Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36);
      Path tmp = dir.resolve("." + name + ".deepspg-" + id + ".tmp");
      try {
        synchronized (CREATE_LOCK) {
          if (shuttingDown) throw new IOException("not writing " + dir.resolve(name) + ": the JVM is shutting down");
          Files.createFile(tmp); // no attributes: mode 0666 minus the umask, like any file the process creates
          IN_FLIGHT.add(tmp);
        }
        return tmp;
      } catch (FileAlreadyExistsException e) {
        if (attempt > 100) throw e;
      }
    }
  }

  /** Pattern of our temporary files for a target name: this version's and the earlier {@code .NAME.<digits>.tmp}. */
  static Pattern tempPattern(String name) {
    return Pattern.compile("\\." + Pattern.quote(name) + "\\.(deepspg-[0-9a-z]+|[0-9]+)\\.tmp");
  }

  /** Deletes abandoned temporary files of {@code name} in {@code dir} (older than {@link #STALE_AFTER_SECONDS}). */
  static void removeStale(Path dir, String name) {
    removeTemps(dir, name, Instant.now().minusSeconds(STALE_AFTER_SECONDS));
  }

  /**
   * Deletes every temporary file of target {@code name} in {@code dir} that this process is not writing, however
   * recent: for a caller that knows no other process writes that target (a training run holding its run.dir's lock
   * removes what a killed run left). Best effort: files that cannot be listed or removed are left.
   *
   * @param dir the folder
   * @param name the target's file name
   */
  public static void removeAbandoned(Path dir, String name) {
    removeTemps(dir, name, Instant.MAX);
  }

  private static void removeTemps(Path dir, String name, Instant before) {
    Pattern p = tempPattern(name);
    FileTime cutoff = FileTime.from(before);
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "." + globQuote(name) + ".*.tmp")) {
      for (Path f : ds) {
        if (!p.matcher(f.getFileName().toString()).matches() || IN_FLIGHT.contains(f)) continue;
        try {
          if (Files.isRegularFile(f) && Files.getLastModifiedTime(f).compareTo(cutoff) < 0) Files.deleteIfExists(f);
        } catch (IOException ignored) {
          // another process may have removed or be renaming it
        }
      }
    } catch (IOException | RuntimeException ignored) {
      // listing the folder is best effort; the write itself goes on
    }
  }

  private static String globQuote(String s) {
    return s.replaceAll("([\\\\*?\\[\\]{}])", "\\\\$1");
  }

  /** Counts bytes and throws after a limit (see {@link #failAfterBytesForTest}). */
  private static final class FailingStream extends java.io.FilterOutputStream {
    private long left;

    FailingStream(OutputStream out, long limit) {
      super(out);
      this.left = limit;
    }

    @Override
    public void write(int b) throws IOException {
      if (left-- <= 0) throw new IOException("simulated crash while writing");
      out.write(b);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      if (len > left) {
        out.write(b, off, (int) Math.max(0, left));
        left = 0;
        throw new IOException("simulated crash while writing");
      }
      left -= len;
      out.write(b, off, len);
    }
  }
}
