/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Truncated and corrupted copies of the fixtures: every failure must be a {@link CheckpointFormatException}
 * naming the file and the problem, never a crash, a runtime exception or an allocation driven by a corrupt size.
 */
class CorruptCheckpointTest {
  private static final int FUZZ_CASES = 300; // single-byte flips per fuzz test (seeded, ~1 s in total)

  @TempDir Path dir;

  private Path copy(String fixture, String name) throws IOException {
    Path dst = dir.resolve(name);
    Files.copy(IoFixtures.file(fixture), dst);
    return dst;
  }

  private static Path cut(Path src, long length, Path dst) throws IOException {
    byte[] b = Files.readAllBytes(src);
    Files.write(dst, Arrays.copyOf(b, (int) length));
    return dst;
  }

  /** Offset where the raw storages begin in a legacy file (after the five pickles), found with the VM itself. */
  private static long storagesStart(Path legacy) throws IOException {
    try (FileChannel ch = FileChannel.open(legacy, StandardOpenOption.READ)) {
      PickleSource.Channel in = new PickleSource.Channel(ch, 0, legacy.toString());
      for (int i = 0; i < 5; i++) {
        new Unpickler(in, (pid, where) -> new Py.StorageRef("k", DType.FLOAT32, "cpu", 0, 0)).load();
      }
      return in.position();
    }
  }

  private static CheckpointFormatException fails(Path f) {
    CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> Checkpoints.read(f));
    assertTrue(e.getMessage().contains(f.getFileName().toString()), "message names the file: " + e.getMessage());
    return e;
  }

  @Test
  void truncatedLegacyFiles() throws IOException {
    Path src = IoFixtures.file("hrnet/tiny_legacy.pth");
    long size = Files.size(src);
    long st = storagesStart(src);
    long[] cuts = {1, 10, 100, 5000, st - 3, st + 4, st + 8 + 100, size - 1};
    for (long c : cuts) {
      CheckpointFormatException e = fails(cut(src, c, dir.resolve("cut_" + c + ".pth")));
      assertTrue(e.getMessage().contains("truncated"), "cut at " + c + ": " + e.getMessage());
    }
    // The storage-section messages say how many bytes were expected and how many remain.
    String m = fails(cut(src, size - 1, dir.resolve("last.pth"))).getMessage();
    assertTrue(m.matches("(?s).*expects \\d+ bytes at offset \\d+ but only \\d+ remain.*"), m);
  }

  @Test
  void truncatedZipFiles() throws IOException {
    Path src = IoFixtures.file("hrnet/tiny_zip.pth");
    long size = Files.size(src);
    for (long c : new long[] {4, 100, size / 2, size - 10}) {
      fails(cut(src, c, dir.resolve("zipcut_" + c + ".pth")));
    }
  }

  @Test
  void hugeOrNegativeStorageCountIsRejectedWithoutAllocating() throws IOException {
    Path f = copy("hrnet/tiny_legacy.pth", "huge.pth");
    long st = storagesStart(f);
    for (long count : new long[] {1L << 60, Long.MAX_VALUE, -1, 1L << 28}) {
      try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
        ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, count), st);
      }
      String m = fails(f).getMessage();
      assertTrue(m.contains("expects") || m.contains("corrupt element count"), count + ": " + m);
    }
  }

  @Test
  void badMagicAndGarbage() throws IOException {
    Path f = copy("hrnet/tiny_legacy.pth", "magic.pth");
    byte[] b = Files.readAllBytes(f);
    b[5] ^= 0x01; // inside the LONG1 magic number
    Files.write(f, b);
    assertTrue(fails(f).getMessage().contains("magic number"));

    Path g = dir.resolve("garbage.bin");
    Files.write(g, "hello, not a checkpoint".getBytes(StandardCharsets.US_ASCII));
    assertTrue(fails(g).getMessage().contains("not a PyTorch checkpoint"));
    Path e = dir.resolve("empty.pth");
    Files.write(e, new byte[0]);
    fails(e);
  }

  @Test
  void corruptZipStorageFailsTheCrc() throws IOException {
    Path f = copy("hrnet/tiny_zip.pth", "crc.pth");
    byte[] file = Files.readAllBytes(f);
    byte[] rec;
    String name;
    try (ZipFile z = new ZipFile(f.toFile())) {
      // The largest storage record: its bytes occur once in the file (small ones, e.g. zeros, may not).
      ZipEntry e = z.stream().filter(x -> x.getName().startsWith("tiny_zip/data/"))
          .max(java.util.Comparator.comparingLong(ZipEntry::getSize)).orElseThrow();
      assertEquals(ZipEntry.STORED, e.getMethod());
      name = e.getName();
      rec = z.getInputStream(e).readAllBytes();
    }
    int at = indexOf(file, rec);
    assertTrue(at > 0, "record found in the file");
    file[at + rec.length / 2] ^= 0x40;
    Files.write(f, file);
    String m = fails(f).getMessage();
    assertTrue(m.contains(name) && m.contains("CRC"), m);
  }

  @Test
  void corruptZipDirectorySizeIsRejected() throws IOException {
    Path f = copy("hrnet/tiny_zip.pth", "cen.pth");
    byte[] file = Files.readAllBytes(f);
    byte[] name = "tiny_zip/data/3".getBytes(StandardCharsets.US_ASCII);
    // Central directory header: signature PK\1\2, ..., uncompressed size at +24, name at +46.
    int found = -1;
    for (int i = 0; i + 46 + name.length <= file.length; i++) {
      if (file[i] == 'P' && file[i + 1] == 'K' && file[i + 2] == 1 && file[i + 3] == 2
          && Arrays.equals(Arrays.copyOfRange(file, i + 46, i + 46 + name.length), name)
          && file[i + 28] == name.length) {
        found = i;
      }
    }
    assertTrue(found > 0, "central directory entry found");
    ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).putInt(found + 24, 0x7ffffff0);
    Files.write(f, file);
    fails(f);
  }

  @Test
  void fuzzLegacyHeaderAndPickles() throws IOException {
    Path src = IoFixtures.file("hrnet/tiny_legacy.pth");
    byte[] orig = Files.readAllBytes(src);
    long st = storagesStart(src);
    Random rnd = new Random(1234);
    Path f = dir.resolve("fuzz.pth");
    int failures = 0;
    for (int k = 0; k < FUZZ_CASES; k++) {
      byte[] b = orig.clone();
      int at = rnd.nextInt((int) st + 8);
      b[at] = (byte) rnd.nextInt(256);
      Files.write(f, b);
      try {
        LegacyFormat.read(f); // bypasses the RuntimeException safety net in Checkpoints.read
      } catch (CheckpointFormatException e) {
        failures++;
      } catch (RuntimeException | StackOverflowError e) {
        throw new AssertionError("byte " + at + " set to " + (b[at] & 0xff) + ": " + e, e);
      }
    }
    assertTrue(failures > FUZZ_CASES / 10, "most flips in pickles are detected: " + failures);
  }

  @Test
  void fuzzTorchScriptDataPkl() throws IOException {
    byte[] pkl;
    try (ZipFile z = new ZipFile(IoFixtures.file("clip/tiny_clip_jit.pt").toFile())) {
      pkl = z.getInputStream(z.getEntry("tiny_clip_jit/data.pkl")).readAllBytes();
    }
    // The unmutated pickle must load: otherwise every case below would be "refused" for the wrong reason.
    assertTrue(loadDataPkl(pkl) > 0, "the original data.pkl flattens to tensors");
    Random rnd = new Random(99);
    int refused = 0;
    int loaded = 0;
    for (int k = 0; k < FUZZ_CASES; k++) {
      byte[] b = pkl.clone();
      int at = rnd.nextInt(b.length);
      b[at] = (byte) rnd.nextInt(256);
      try {
        loadDataPkl(b);
        loaded++;
      } catch (CheckpointFormatException e) {
        refused++; // expected for most flips; the message must say where
        assertTrue(e.getMessage().contains("fuzz.pkl"), "byte " + at + ": message without the file: " + e);
      } catch (RuntimeException | StackOverflowError e) {
        throw new AssertionError("byte " + at + " set to " + (b[at] & 0xff) + ": " + e, e);
      }
    }
    // Both outcomes occur (a flip inside a string or a float payload is harmless, one in an opcode is not): the
    // mutations reach the reader's checks instead of all failing, or all passing, at one place.
    assertTrue(refused > 0 && loaded > 0, "refused " + refused + ", loaded " + loaded + " of " + FUZZ_CASES);
  }

  /** Unpickles a TorchScript {@code data.pkl} with a permissive storage resolver; returns the tensor count. */
  private static int loadDataPkl(byte[] b) throws CheckpointFormatException {
    Object o = new Unpickler(new PickleSource.Array(b, "fuzz.pkl"), (pid, where) -> {
      if (!(pid instanceof java.util.List) || ((java.util.List<?>) pid).size() < 3) {
        throw new CheckpointFormatException(where + ": bad pid");
      }
      return new Py.StorageRef(String.valueOf(((java.util.List<?>) pid).get(2)), DType.FLOAT32, "cpu", 0, 1 << 20);
    }).load();
    return Flattener.flatten(o, "fuzz.pkl").size();
  }

  private static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
