/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.io;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Small files that used to hang the reader or exhaust memory are refused with one message, quickly: DAG-shaped
 * containers used as dict keys or set elements (exponential hashing), huge integer literals (quadratic parsing),
 * tensors whose strides expand a tiny storage into gigabytes, and zip records that inflate far beyond the file.
 */
class HostileCheckpointTest {
  @TempDir Path dir;

  private static Object unpickle(byte[] b) throws CheckpointFormatException {
    return new Unpickler(new PickleSource.Array(b, "hostile.pkl"), (pid, where) -> {
      throw new CheckpointFormatException(where + ": no persistent ids expected");
    }).load();
  }

  /** Checks that {@code body} is refused with a CheckpointFormatException naming the file, within a few seconds. */
  private static CheckpointFormatException refusedQuickly(org.junit.jupiter.api.function.Executable body) {
    long t0 = System.nanoTime();
    CheckpointFormatException e = assertThrows(CheckpointFormatException.class, body);
    double s = (System.nanoTime() - t0) / 1e9;
    assertTrue(s < 2, "refused in " + s + " s");
    return e;
  }

  /** 60 levels of (x, x): a 1 KB pickle describing 2^60 leaves when expanded, used as a dict key. */
  private static PickleWriter dag(PickleWriter w, int levels) {
    w.integer(1);
    for (int i = 0; i < levels; i++) w.op(0x94).op(0x32).op(0x86); // MEMOIZE, DUP, TUPLE2
    return w;
  }

  @Test
  void dagShapedDictKeysAndSetElementsAreRefused() {
    PickleWriter key = dag(new PickleWriter().proto(4).emptyDict(), 60).str("v").setitem().stop();
    CheckpointFormatException e = refusedQuickly(() -> unpickle(key.bytes()));
    assertTrue(e.getMessage().contains("hostile.pkl") && e.getMessage().contains("dict key"), e.getMessage());
    PickleWriter set = dag(new PickleWriter().proto(4).mark(), 60).op(0x91).stop(); // FROZENSET of the DAG
    refusedQuickly(() -> unpickle(set.bytes()));
    PickleWriter fine = new PickleWriter().proto(4).emptyDict().mark().integer(1).integer(2).tuple().str("v").setitem()
        .stop();
    assertTrue(assertDoesNotThrowValue(fine.bytes()) instanceof java.util.Map, "a flat tuple key is fine");
  }

  private static Object assertDoesNotThrowValue(byte[] b) {
    try {
      return unpickle(b);
    } catch (CheckpointFormatException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void hugeIntegerLiteralsAreRefused() {
    String digits = "9".repeat(200_000);
    byte[] text = ("\u0080\u0002L" + digits + "L\n.").getBytes(StandardCharsets.ISO_8859_1);
    CheckpointFormatException e = refusedQuickly(() -> unpickle(text));
    assertTrue(e.getMessage().contains("integer literal of 200000 characters"), e.getMessage());
    byte[] long4 = new PickleWriter().proto(2).op(0x8b).raw(new byte[] {(byte) 0x00, (byte) 0x00, 0x10, 0})
        .raw(new byte[1 << 20]).stop().bytes();
    refusedQuickly(() -> unpickle(long4));
    assertTrue(assertDoesNotThrowValue(new PickleWriter().proto(2).long1(BigInteger.TEN.pow(30)).stop().bytes())
        instanceof BigInteger);
  }

  @Test
  void strideZeroExpansionOfATinyStorageIsRefused() throws IOException {
    // One float of storage viewed as 65536 x 16384 with stride 0: 4 GiB of copies from 4 bytes.
    PickleWriter w = new PickleWriter().proto(2).emptyDict().str("w")
        .tensor("torch.FloatStorage", "0", 1, 0, new long[] {65536, 16384}, new long[] {0, 0}, false, null)
        .setitem().stop();
    Path f = dir.resolve("stride0.pth");
    PickleWriter.writeZip(f, "archive", w.bytes(), List.of("0"), List.of(PickleWriter.f32(1f)), true);
    CheckpointFormatException e = refusedQuickly(() -> Checkpoints.read(f));
    assertTrue(e.getMessage().contains("stride 0 or overlapping strides"), e.getMessage());
    // A small broadcast view (under 1 MiB) is still allowed: legitimate expand() results exist.
    PickleWriter ok = new PickleWriter().proto(2).emptyDict().str("w")
        .tensor("torch.FloatStorage", "0", 1, 0, new long[] {4, 4}, new long[] {0, 0}, false, null)
        .setitem().stop();
    Path g = dir.resolve("small.pth");
    PickleWriter.writeZip(g, "archive", ok.bytes(), List.of("0"), List.of(PickleWriter.f32(1f)), true);
    assertTrue(Checkpoints.read(g).size() == 1);
  }

  /** A persistent id that is a 60-level shared DAG: its error message is rendered within bounds, quickly. */
  @Test
  void dagPersistentIdIsDescribedBoundedly() throws IOException {
    PickleWriter w = dag(new PickleWriter().proto(2), 60).binpersid().stop();
    Path f = dir.resolve("dagpid.pth");
    PickleWriter.writeZip(f, "archive", w.bytes(), List.of(), List.of(), false);
    CheckpointFormatException e = refusedQuickly(() -> Checkpoints.read(f));
    assertTrue(e.getMessage().length() < 2000, "bounded message: " + e.getMessage().length() + " chars");
  }
}
