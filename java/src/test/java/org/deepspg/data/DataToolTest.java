/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code deepspg data} sub-commands: what they check, print and refuse. */
class DataToolTest {
  @TempDir Path dir;

  /** Exit status, stdout and stderr of one run. */
  record Run(int code, String out, String err) {}

  static Run run(String... args) {
    ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
    int code = DataTool.run(args, new PrintStream(o, true, StandardCharsets.UTF_8),
        new PrintStream(e, true, StandardCharsets.UTF_8));
    return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
  }

  private void pair(String name, int w, int h) throws Exception {
    Files.createDirectories(dir.resolve("low"));
    Files.createDirectories(dir.resolve("high"));
    Images.write(ImagesTest.random8(w, h, 1), dir.resolve("low/" + name + ".png"));
    Images.write(ImagesTest.random8(w, h, 2), dir.resolve("high/" + name + ".png"));
  }

  /** A truncated file passes the header check; check decodes every image, so it is caught and named. */
  @Test
  void checkDecodesEveryImage() throws Exception {
    pair("a", 40, 30);
    pair("b", 40, 30);
    Run ok = run("check", dir.toString());
    assertEquals(0, ok.code(), ok.err());
    assertTrue(ok.out().contains("2 pairs, every image decoded and size-matched"), ok.out());
    assertTrue(!ok.out().contains("note:"), ok.out());
    // images in subfolders are not pairs: check says so (data synth reads subfolders, so a user may expect them)
    Files.createDirectories(dir.resolve("low/more"));
    Files.createDirectories(dir.resolve("low/.thumbs"));
    Images.write(ImagesTest.random8(8, 8, 3), dir.resolve("low/more/c.png"));
    Images.write(ImagesTest.random8(8, 8, 3), dir.resolve("low/.thumbs/a.png"));
    Run nested = run("check", dir.toString());
    assertEquals(0, nested.code(), nested.err());
    assertTrue(nested.out().contains("2 pairs") && nested.out().contains("note: 1 image file(s) in subfolders")
        && nested.out().contains(dir.resolve("low/more/c.png").toString()), nested.out());
    Path b = dir.resolve("high/b.png");
    byte[] png = Files.readAllBytes(b);
    Files.write(b, Arrays.copyOf(png, png.length / 2));
    Run bad = run("check", dir.toString());
    assertEquals(1, bad.code(), bad.out() + bad.err());
    assertTrue(bad.err().contains("1 unreadable files") && bad.err().contains(b + ": "), bad.err());
    assertTrue(!bad.out().contains("every image decoded"), bad.out());
    Run folders = run("check", "--low", dir.resolve("low").toString(), "--high", dir.resolve("high").toString());
    assertEquals(1, folders.code(), folders.out() + folders.err());
  }

  /** {@code n} random w×h photos in {@code dir/photos}. */
  private Path photos(int n, int w, int h) throws Exception {
    Path photos = Files.createDirectories(dir.resolve("photos"));
    for (int i = 0; i < n; i++) Images.write(ImagesTest.random8(w, h, i), photos.resolve("p" + i + ".png"));
    return photos;
  }

  /** A set synth did not finish (its marker left by Ctrl-C) is refused by check and by every dataset reader. */
  @Test
  void anUnfinishedSynthSetIsRefused() throws Exception {
    Path photos = photos(3, 96, 72);
    Path out = dir.resolve("synth");
    assertEquals(0, run("synth", "--from", photos.toString(), "--out", out.toString(), "--threads", "1").code());
    assertEquals(0, run("check", out.toString()).code());
    Files.writeString(out.resolve(Synthesizer.INCOMPLETE), "stopped"); // what a run stopped with Ctrl-C leaves
    for (String[] args : new String[][] {{"check", out.toString()}, {"check", out.toString(), "--split", "train"},
        {"check", "--low", out.resolve("train/low").toString(), "--high", out.resolve("train/high").toString()}}) {
      Run r = run(args);
      assertEquals(1, r.code(), r.out() + r.err());
      assertTrue(r.err().contains(out.resolve(Synthesizer.INCOMPLETE) + " says that a `deepspg data synth` run")
          && r.err().contains("rerun the same data synth command to finish the set"), r.err());
    }
    // training and evaluation open datasets through the same readers
    assertThrows(DatasetException.class, () -> DatasetLayouts.open(out, Split.TRAIN));
    assertThrows(DatasetException.class, () -> PairedDataset.ofImages(out.resolve("low"),
        PairedDataset.Options.DEFAULT));
    assertEquals(0, run("synth", "--from", photos.toString(), "--out", out.toString(), "--threads", "1").code());
    assertEquals(0, run("check", out.toString()).code(), "the rerun finished the set");
  }

  /** A synth run stopped by a signal (Ctrl-C, SIGTERM) says that its folder is partial and how to finish it. */
  @Test
  void aStoppedSynthSaysThatARerunFinishesTheSet() throws Exception {
    Path photos = photos(40, 320, 240);
    Path out = dir.resolve("synth");
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", cp,
        DataTool.class.getName(), "synth", "--from", photos.toString(), "--out", out.toString(), "--threads", "1")
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(dir.resolve("err.txt").toFile()).start();
    try {
      long until = System.nanoTime() + 60_000_000_000L;
      while (p.isAlive() && !Files.exists(out.resolve("train/low")) && System.nanoTime() < until) Thread.sleep(20);
      Assumptions.assumeTrue(p.isAlive(), "synth finished before it could be stopped");
      p.destroy(); // SIGTERM: the shutdown hooks run, as on Ctrl-C
      assertTrue(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS));
      String err = Files.readString(dir.resolve("err.txt")); // destroy() closes the process's own streams
      Assumptions.assumeTrue(Files.exists(out.resolve(Synthesizer.INCOMPLETE)), "synth finished: " + err);
      assertTrue(err.contains("stopped before it finished; " + out + " is a partial set")
          && err.contains("run the same command again to finish it"), err);
    } finally {
      p.destroyForcibly();
    }
  }

  /** Invalid synth values are named by the options the user typed, not by internal field names. */
  @Test
  void synthValuesAreNamedByTheirOptions() throws Exception {
    pair("a", 40, 30);
    String[][] cases = {
      {"--test-fraction", "2", "test fraction (--test-fraction) must be in [0, 1], got 2.0"},
      {"--jpeg", "2,60,95", "JPEG probability (P of --jpeg P,QMIN,QMAX) must be in [0, 1], got 2.0"},
      {"--chroma-nr", "-1", "chroma noise reduction σ (--chroma-nr) must be in [0, 16] pixels, got -1.0"},
      {"--max-side", "-1", "maximum side (--max-side) must be >= 0 (0 = keep), got -1"},
      {"--min-side", "0", "minimum side (--min-side) must be >= 1, got 0"},
      {"--threads", "0", "threads (--threads) must be >= 1, got 0"},
      {"--exposure", "0.5,0.1", "exposure range (--exposure MIN,MAX) must satisfy 0 < min <= max <= 1"}};
    for (String[] c : cases) {
      Run r = run("synth", "--from", dir.resolve("high").toString(), "--out", dir.resolve("out").toString(), c[0],
          c[1]);
      assertEquals(2, r.code(), r.err());
      assertTrue(r.err().contains(c[2]), r.err());
    }
  }

  /** An option the command does not have is called unknown, wherever it stands, not short of a value. */
  @Test
  void unknownOptionsAreCalledUnknown() throws Exception {
    pair("a", 40, 30);
    for (String[] args : new String[][] {{"check", dir.toString(), "--bogus"}, {"check", "--bogus", dir.toString()},
        {"synth", "--from", dir.toString(), "--out", dir.resolve("o").toString(), "--bogus"}}) {
      Run r = run(args);
      assertEquals(2, r.code(), r.err());
      assertTrue(r.err().contains("unknown option --bogus"), r.err());
    }
    Run r = run("check", dir.toString(), "--split");
    assertEquals(2, r.code(), r.err());
    assertTrue(r.err().contains("option --split needs a value"), r.err());
  }
}
