/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** {@link ProgressBar} when its output is not a terminal (a log file), as in the test JVM. */
class ProgressBarTest {
  /**
   * Plain lines: the first step at once, the complete bar once. {@code enhance} steps a failed image's remaining
   * units after the bar is full, which printed the complete line twice (session 35).
   */
  @Test
  void plainLinesPrintTheCompleteBarOnce() {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    ProgressBar bar = new ProgressBar(new PrintStream(buf, true, StandardCharsets.UTF_8), "enhance", 2, 0, 30);
    bar.step(1, "a.png");
    bar.step(1, "b.png");
    bar.step(0, "b.png");
    bar.message("deepspg: a note");
    bar.finish();
    String[] lines = buf.toString(StandardCharsets.UTF_8).split("\n");
    assertEquals(3, lines.length, String.join("\n", lines));
    assertTrue(lines[0].startsWith("enhance [") && lines[0].contains(" 1/2 ") && lines[0].endsWith("a.png"), lines[0]);
    assertTrue(lines[1].contains(" 2/2 100.0%"), lines[1]);
    assertEquals("deepspg: a note", lines[2]);
  }

  /** enhance counts tiles once an image is tiled: the line says so, so that tiles/s is not read as frames/s. */
  @Test
  void theUnitIsNamedInTheLineAndTheSummary() {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    ProgressBar bar = new ProgressBar(new PrintStream(buf, true, StandardCharsets.UTF_8), "enhance", 4, 0, 30)
        .unit("tiles");
    bar.step(4, "a.png (image 1/1) tile 4/4");
    String line = buf.toString(StandardCharsets.UTF_8).trim();
    assertTrue(line.contains(" 4/4 tiles 100.0% ") && line.contains(" tiles/s ETA "), line);
    ByteArrayOutputStream quiet = new ByteArrayOutputStream();
    ProgressBar q = new ProgressBar(new PrintStream(quiet, true, StandardCharsets.UTF_8), "eval", 2, 0).unit("images");
    q.step(2, "");
    q.finish();
    String sum = quiet.toString(StandardCharsets.UTF_8).trim();
    assertTrue(sum.startsWith("eval: 2/2 images in ") && sum.endsWith(" images/s)"), sum);
  }

  @Test
  void quietBarsPrintOneSummary() {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    ProgressBar bar = new ProgressBar(new PrintStream(buf, true, StandardCharsets.UTF_8), "train", 3, 0);
    for (int i = 0; i < 3; i++) bar.step(1, "");
    bar.finish();
    String out = buf.toString(StandardCharsets.UTF_8);
    assertTrue(out.startsWith("train: 3/3 in "), out);
    assertEquals(1, out.split("\n").length, out);
  }
}
