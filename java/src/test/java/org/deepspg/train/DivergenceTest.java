/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Properties;
import org.deepspg.data.DatasetException;
import org.deepspg.data.Image;
import org.deepspg.data.Images;
import org.deepspg.data.PairedDataset;
import org.deepspg.ops.Backends;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run that diverges stops without writing the diverged weights (they overwrote a good last.pth and could never be
 * resumed), names the step and what to change; eval refuses to score non-finite outputs; a pair too small to crop is
 * refused when the dataset opens. Found by a training audit.
 */
class DivergenceTest {
  private static final PrintStream QUIET = new PrintStream(PrintStream.nullOutputStream());
  @TempDir static Path work;
  private static Path data;

  @BeforeAll
  static void setUp() throws IOException {
    Backends.init();
    data = TrainTestSupport.writeTinyDataset(work.resolve("data"), 6, 2, 64, 9);
  }

  private static Properties tiny(Path runDir, String... kv) {
    Properties p = TrainTestSupport.tinyRun(data, runDir);
    p.setProperty("variant", "baseline");
    p.setProperty("epochs", "20");
    p.setProperty("sample.count", "0");
    for (String s : kv) p.setProperty(s.substring(0, s.indexOf('=')), s.substring(s.indexOf('=') + 1));
    return p;
  }

  private static Trainer.Result run(Trainer t) throws IOException {
    t.setConsole(QUIET);
    return t.run();
  }

  private static Properties over(String... kv) {
    Properties p = new Properties();
    for (String s : kv) p.setProperty(s.substring(0, s.indexOf('=')), s.substring(s.indexOf('=') + 1));
    return p;
  }

  @Test
  void aDivergedRunLeavesResumableCheckpoints() throws IOException {
    Path dir = work.resolve("run");
    run(TrainTestSupport.trainer(tiny(dir, "max_steps=3")));
    // an absurd learning rate, a checkpoint after every step and validation after every step
    TrainingDivergedException e = assertThrows(TrainingDivergedException.class, () -> run(Trainer.resume(
        dir.resolve("last.pth"), over("lr=1e10", "max_steps=12", "checkpoint.every_steps=1", "val.every_steps=1"),
        null)));
    assertTrue(e.getMessage().startsWith("training diverged at step "), e.getMessage());
    assertTrue(e.getMessage().contains("lower lr (now 1.00000e+10)"), e.getMessage());
    // config.properties still describes the checkpoints in the folder, not the override that diverged (unless one
    // checkpoint of the failed resume was written, and then it is that checkpoint's)
    String stored = Files.readString(dir.resolve("config.properties"));
    String lastLr = TrainCheckpoint.read(dir.resolve("last.pth")).meta().getProperty("lr");
    assertTrue(stored.contains("lr = " + lastLr) || stored.contains("lr=" + lastLr), stored);
    // every checkpoint left behind continues with a sane learning rate
    for (String ck : new String[] {"last.pth", "best.pth"}) {
      if (!Files.exists(dir.resolve(ck))) continue;
      long at = Long.parseLong(TrainCheckpoint.read(dir.resolve(ck)).meta().getProperty("state.step"));
      Trainer.Result r = run(Trainer.resume(dir.resolve(ck), over("lr=3e-4", "max_steps=" + (at + 2)), null));
      assertEquals(at + 2, r.steps(), ck);
      assertTrue(Double.isFinite(r.lastPsnr()), ck + ": " + r.lastPsnr());
    }
  }

  /** Resume overrides that cannot work are named: another network, a max_steps not past the checkpoint. */
  @Test
  void resumeRefusesAnotherNetworkAndAMaxStepsAlreadyReached() throws IOException {
    Path dir = work.resolve("resume-limits");
    run(TrainTestSupport.trainer(tiny(dir, "max_steps=2", "plots=true")));
    Path last = dir.resolve("last.pth");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Trainer.resume(last, over("model.channels=16"), null));
    assertTrue(e.getMessage().contains("the network cannot change on resume"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Trainer.resume(last, over("max_steps=2"), null));
    assertTrue(e.getMessage().contains("max_steps=2 is not past the checkpoint's step 2"), e.getMessage());
    // a run without validation draws its losses and learning rate, and no empty validation charts
    Path novl = work.resolve("no-val");
    Path flat = TrainTestSupport.writeTinyDataset(work.resolve("flat-data"), 4, 0, 64, 12).resolve("train");
    Properties p = tiny(novl, "max_steps=2", "plots=true");
    p.setProperty("data.train", flat.toString());
    p.setProperty("data.train.layout", "folders");
    p.setProperty("data.train.low", flat.resolve("low").toString());
    p.setProperty("data.train.high", flat.resolve("high").toString());
    run(TrainTestSupport.trainer(p));
    assertTrue(Files.exists(novl.resolve("losses.png")));
    assertFalse(Files.exists(novl.resolve("val_psnr.png")), "no validation, no validation chart");
    // a warm-up longer than the run is named
    java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
    Trainer t = TrainTestSupport.trainer(tiny(work.resolve("warmup"), "max_steps=2", "lr.warmup_steps=1000"));
    t.setConsole(new PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8));
    t.run();
    assertTrue(buf.toString(java.nio.charset.StandardCharsets.UTF_8).contains("the learning rate never reaches lr"),
        buf.toString(java.nio.charset.StandardCharsets.UTF_8));
    // batches and patches the data make smaller than configured are named (metrics.jsonl showed them, nothing said so)
    java.io.ByteArrayOutputStream notes = new java.io.ByteArrayOutputStream();
    Properties small = tiny(work.resolve("shrunk-run"), "max_steps=1", "batch=16", "patch=128");
    small.setProperty("data.train", flat.resolve("..").normalize().toString());
    small.setProperty("data.train.layout", "folders");
    small.setProperty("data.train.low", flat.resolve("low").toString());
    small.setProperty("data.train.high", flat.resolve("high").toString());
    Trainer sm = TrainTestSupport.trainer(small);
    sm.setConsole(new PrintStream(notes, true, java.nio.charset.StandardCharsets.UTF_8));
    sm.run();
    String text = notes.toString(java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(text.contains("note: batch 16 is more than the 4 training pairs: batches of 4"), text);
    assertTrue(text.contains("is 64 px on its short side: batches holding it crop patches of 64 instead of 128"), text);
  }

  @Test
  void evalRefusesToScoreNonFiniteOutputs() throws IOException {
    PairedDataset ds = PairedDataset.fromFolders(data.resolve("test/low"), data.resolve("test/high"),
        PairedDataset.Options.DEFAULT);
    EvalRunner.Method nan = new EvalRunner.Method() {
      @Override
      public float[] enhance(Image low, Image high) {
        float[] out = low.rgb().clone();
        Arrays.fill(out, 0, 10, Float.NaN);
        return out;
      }

      @Override
      public String name() {
        return "broken";
      }
    };
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EvalRunner.run(ds, nan, 0, null));
    assertTrue(e.getMessage().contains("10 non-finite values"), e.getMessage());
  }

  @Test
  void aPairTooSmallToCropIsRefusedBeforeAnythingIsWritten() throws IOException {
    Path small = TrainTestSupport.writeTinyDataset(work.resolve("small"), 4, 1, 64, 10);
    Image tiny = Image.of(16, 16, new float[3 * 16 * 16]);
    Images.write(tiny, small.resolve("train/low/zz.png"));
    Images.write(tiny, small.resolve("train/high/zz.png"));
    Path dir = work.resolve("never");
    Properties p = tiny(dir, "max_steps=2");
    p.setProperty("data.train", small.toString());
    DatasetException e = assertThrows(DatasetException.class, () -> run(TrainTestSupport.trainer(p)));
    assertTrue(e.getMessage().contains("zz.png"), e.getMessage());
    assertFalse(Files.exists(dir), "nothing written");
  }
}
