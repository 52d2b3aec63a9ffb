/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Bounded byte input for the unpickler: every read is checked against the bytes that really remain, so a
 * corrupt length field can never cause an allocation larger than the file.
 */
abstract class PickleSource {
  /** Describes the input in error messages, e.g. {@code "model.pth"} or {@code "model.pth!archive/data.pkl"}. */
  final String where;

  PickleSource(String where) {
    this.where = where;
  }

  /** @return the current offset (relative to the start of the file or record named by {@link #where}) */
  abstract long position();

  /** @return bytes left before the end of the input */
  abstract long remaining();

  /** @return the next byte (0..255) */
  abstract int readByte() throws CheckpointFormatException;

  /** Reads exactly {@code n} bytes; fails (without allocating) when fewer remain. */
  abstract byte[] readBytes(long n, String what) throws CheckpointFormatException;

  CheckpointFormatException truncated(long need, String what) {
    return new CheckpointFormatException(where + ": truncated at offset " + position() + ": " + what + " needs "
        + need + " bytes but only " + remaining() + " remain");
  }

  /** Reads a text line (protocol-0 opcodes) without the trailing newline, at most 1 MiB. */
  String readLine(String what) throws CheckpointFormatException {
    StringBuilder sb = new StringBuilder();
    while (true) {
      if (remaining() <= 0) {
        throw truncated(1, what + " (unterminated line)");
      }
      int b = readByte();
      if (b == '\n') {
        return sb.toString();
      }
      if (sb.length() >= (1 << 20)) {
        throw new CheckpointFormatException(where + ": line longer than 1 MiB at offset " + position() + " in " + what);
      }
      sb.append((char) b);
    }
  }

  /** Input held in memory (a zip record). */
  static final class Array extends PickleSource {
    private final byte[] buf;
    private int pos;

    Array(byte[] buf, String where) {
      super(where);
      this.buf = buf;
    }

    @Override
    long position() {
      return pos;
    }

    @Override
    long remaining() {
      return buf.length - pos;
    }

    @Override
    int readByte() throws CheckpointFormatException {
      if (pos >= buf.length) {
        throw truncated(1, "next opcode or argument");
      }
      return buf[pos++] & 0xff;
    }

    @Override
    byte[] readBytes(long n, String what) throws CheckpointFormatException {
      if (n < 0 || n > remaining()) {
        throw truncated(n, what);
      }
      byte[] out = new byte[(int) n];
      System.arraycopy(buf, pos, out, 0, (int) n);
      pos += (int) n;
      return out;
    }
  }

  /** Buffered positional input over a file channel (the legacy format, which is a byte stream). */
  static final class Channel extends PickleSource {
    private final FileChannel ch;
    private final long size;
    private final ByteBuffer buf = ByteBuffer.allocate(1 << 16);
    private long bufStart;
    private long pos;

    Channel(FileChannel ch, long start, String where) throws IOException {
      super(where);
      this.ch = ch;
      this.size = ch.size();
      this.pos = start;
      this.bufStart = start;
      buf.limit(0);
    }

    @Override
    long position() {
      return pos;
    }

    @Override
    long remaining() {
      return size - pos;
    }

    /** Moves to an absolute file offset. */
    void seek(long p) {
      pos = p;
    }

    private void fill() throws CheckpointFormatException {
      buf.clear();
      bufStart = pos;
      try {
        while (buf.hasRemaining()) {
          int r = ch.read(buf, bufStart + buf.position());
          if (r <= 0) {
            break;
          }
        }
      } catch (CheckpointFormatException e) {
        throw e;
      } catch (IOException e) {
        throw new CheckpointFormatException(where + ": read error at offset " + pos + ": " + e.getMessage(), e);
      }
      buf.flip();
    }

    @Override
    int readByte() throws CheckpointFormatException {
      if (pos >= size) {
        throw truncated(1, "next opcode or argument");
      }
      if (pos < bufStart || pos >= bufStart + buf.limit()) {
        fill();
        if (buf.limit() == 0) {
          throw truncated(1, "next opcode or argument");
        }
      }
      int b = buf.get((int) (pos - bufStart)) & 0xff;
      pos++;
      return b;
    }

    @Override
    byte[] readBytes(long n, String what) throws CheckpointFormatException {
      if (n < 0 || n > remaining()) {
        throw truncated(n, what);
      }
      if (n > Integer.MAX_VALUE - 16) {
        throw new CheckpointFormatException(where + ": " + what + " at offset " + pos + " is " + n
            + " bytes; blocks over 2 GiB are not supported");
      }
      byte[] out = new byte[(int) n];
      int done = 0;
      // Serve what the buffer already holds, then read the rest directly.
      if (pos >= bufStart && pos < bufStart + buf.limit()) {
        int k = (int) Math.min(n, bufStart + buf.limit() - pos);
        for (int i = 0; i < k; i++) {
          out[i] = buf.get((int) (pos - bufStart) + i);
        }
        done = k;
      }
      ByteBuffer dst = ByteBuffer.wrap(out);
      dst.position(done);
      try {
        while (dst.hasRemaining()) {
          int r = ch.read(dst, pos + dst.position());
          if (r <= 0) {
            throw truncated(n, what);
          }
        }
      } catch (CheckpointFormatException e) {
        throw e;
      } catch (IOException e) {
        throw new CheckpointFormatException(where + ": read error at offset " + pos + ": " + e.getMessage(), e);
      }
      pos += n;
      return out;
    }
  }
}
