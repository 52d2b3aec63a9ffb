/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.fuzz;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;
import org.deepspg.data.Image;
import org.deepspg.data.Images;
import org.deepspg.data.ReadOptions;
import org.deepspg.data.WriteOptions;
import org.deepspg.infer.InferTestSupport;
import org.deepspg.model.ModelFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutated weights files and images: every case ends in a loaded model / decoded image or in one of the library's
 * documented exceptions (I/O and format errors, IllegalArgumentException for bad settings), never a hang, a crash
 * or another exception. 10,000 checkpoints (half mutated as files, half as re-zipped pickles so that the mutations
 * reach the unpickler behind the CRC check) and 4,000 images, each with a per-case time limit.
 */
class HostileInputFuzzTest {
  private static final int CHECKPOINT_CASES = 10_000;
  private static final int IMAGE_CASES = 4_000;
  /** No single case may take longer (a hang or an exponential blow-up shows as a case far over this). */
  private static final double CASE_SECONDS = 2.0;

  @TempDir Path dir;

  /** Flips, overwrites, truncates or duplicates a few bytes. */
  private static byte[] mutate(byte[] src, SplittableRandom r) {
    byte[] b = src.clone();
    switch (r.nextInt(4)) {
      case 0 -> {
        for (int k = 1 + r.nextInt(4); k > 0; k--) b[r.nextInt(b.length)] ^= (byte) (1 << r.nextInt(8));
      }
      case 1 -> {
        for (int k = 1 + r.nextInt(4); k > 0; k--) b[r.nextInt(b.length)] = (byte) r.nextInt(256);
      }
      case 2 -> b = java.util.Arrays.copyOf(b, r.nextInt(b.length));
      default -> {
        int at = r.nextInt(b.length), len = Math.min(b.length - at, 1 + r.nextInt(16));
        byte[] c = new byte[b.length + len];
        System.arraycopy(b, 0, c, 0, at + len);
        System.arraycopy(b, at, c, at + len, b.length - at);
        b = c;
      }
    }
    return b;
  }

  /** Mutates only the data.pkl record of a checkpoint and writes a valid zip around it. */
  private static byte[] mutatePickle(byte[] zip, SplittableRandom r) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip));
        ZipOutputStream z = new ZipOutputStream(out)) {
      for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
        byte[] body = in.readAllBytes();
        if (e.getName().endsWith("/data.pkl")) body = mutate(body, r);
        z.putNextEntry(new ZipEntry(e.getName()));
        z.write(body);
        z.closeEntry();
      }
    }
    return out.toByteArray();
  }

  private interface Case {
    void run() throws Exception;
  }

  /** Runs one case: allowed outcomes are success, IOException (incl. format errors) and IllegalArgumentException. */
  private static void check(String what, Case c) {
    long t0 = System.nanoTime();
    try {
      c.run();
    } catch (IOException | IllegalArgumentException expected) {
      // refused with a message: fine
    } catch (Throwable t) {
      throw new AssertionError(what + ": unexpected " + t, t);
    }
    double s = (System.nanoTime() - t0) / 1e9;
    assertTrue(s < CASE_SECONDS, what + " took " + s + " s");
  }

  @Test
  void mutatedCheckpointsAreLoadedOrRefused() throws IOException {
    Path base = InferTestSupport.exportRandom(dir, "tiny.pth", InferTestSupport.tinyBaseline(), 1);
    byte[] orig = Files.readAllBytes(base);
    ModelFiles.loadFile(base, null).net().close(); // the unmutated file loads
    SplittableRandom r = new SplittableRandom(2026);
    Path f = dir.resolve("case.pth");
    int[] loaded = {0};
    assertTimeoutPreemptively(Duration.ofMinutes(4), () -> {
      for (int i = 0; i < CHECKPOINT_CASES; i++) {
        byte[] b = i % 2 == 0 ? mutate(orig, r) : mutatePickle(orig, r);
        Files.write(f, b);
        int n = i;
        check("checkpoint case " + n, () -> {
          // The reader on every case; building the network only where the file still reads (it is cheap then).
          ModelFiles.Archive a = ModelFiles.read(f);
          if (a.tensors().size() > 0) {
            ModelFiles.loadFile(f, null).net().close();
            loaded[0]++;
          }
        });
      }
    });
    assertTrue(loaded[0] > 0, "some mutations are harmless (e.g. inside float data) and load");
  }

  @Test
  void mutatedImagesAreDecodedOrRefused() throws IOException {
    Image img = InferTestSupport.darkImage(24, 32, 3);
    String[] formats = {"png", "jpeg", "bmp", "tiff"};
    byte[][] bases = new byte[formats.length][];
    for (int k = 0; k < formats.length; k++) bases[k] = Images.encode(img, formats[k], WriteOptions.DEFAULT);
    SplittableRandom r = new SplittableRandom(7);
    ReadOptions ro = ReadOptions.DEFAULT.withMaxPixels(4_000_000);
    assertTimeoutPreemptively(Duration.ofMinutes(3), () -> {
      for (int i = 0; i < IMAGE_CASES; i++) {
        int k = i % formats.length;
        byte[] b = mutate(bases[k], r);
        int n = i;
        check(formats[k] + " case " + n, () -> Images.decode(b, Path.of("case." + formats[k]), ro));
      }
    });
  }
}
