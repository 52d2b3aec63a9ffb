/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes a file so that readers (and a crash at any moment) see either the old complete file or the new complete
 * one: write to a temporary file in the same folder, flush and fsync it, then rename it over the target atomically.
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

  /**
   * Test hook: when &gt;= 0, the stream handed to the writer throws an {@link IOException} ("simulated crash") once
   * this many bytes have been written, so tests can check that a failure mid-write leaves the old file intact.
   * Package-private; -1 (off) in production.
   */
  static volatile long failAfterBytesForTest = -1;

  private AtomicFile() {}

  /**
   * @param target final path
   * @param writer produces the content
   * @throws IOException when writing fails; the target is then unchanged
   */
  public static void write(Path target, Writer writer) throws IOException {
    Path dir = target.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
    boolean ok = false;
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        OutputStream out = Channels.newOutputStream(ch);
        long failAfter = failAfterBytesForTest;
        if (failAfter >= 0) out = new FailingStream(out, failAfter);
        writer.write(out);
        out.flush();
        ch.force(true);
      }
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
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
    }
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
