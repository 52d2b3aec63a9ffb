/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.deepspg.io.AtomicFile;
import org.deepspg.model.DeepSPG;
import org.deepspg.model.io.TensorData;
import org.deepspg.ops.Backends;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Whole-run behaviour of the {@link Trainer} on a tiny dataset with tiny priors: exact resume (mid-epoch, across a
 * C2F stage change), atomic checkpoints under a simulated crash, and a short Variant-3 run whose loss goes down.
 */
class ResumeAndE2ETest {
  private static final PrintStream QUIET = new PrintStream(PrintStream.nullOutputStream());

  @TempDir static Path shared;
  private static Priors priors;
  private static Path data;

  @BeforeAll
  static void setUp() throws IOException {
    Backends.init();
    priors = new Priors(TrainTestSupport.tinyHrnet(shared.resolve("hrnet")), TrainTestSupport.tinyClip(),
        TrainTestSupport.tokenizer());
    data = TrainTestSupport.writeTinyDataset(shared.resolve("data"), 6, 2, 64, 5);
  }

  /** Full Variant 3 at toy scale: C = 8, one IGAB per scale, C2F patches 32..96 (images are 64, so at most 64). */
  private static Properties v3(Path runDir) {
    Properties p = new Properties();
    p.setProperty("variant", "v3");
    p.setProperty("model.channels", "8");
    p.setProperty("model.blocks", "1,1,1");
    p.setProperty("epochs", "4");
    p.setProperty("c2f.patch_scale", "0.25");
    p.setProperty("c2f.batch_scale", "0.25");
    p.setProperty("data.train", data.toString());
    p.setProperty("data.workers", "1");
    p.setProperty("run.dir", runDir.toString());
    p.setProperty("log.every_steps", "1");
    p.setProperty("log.grad_norm_steps", "3");
    p.setProperty("threads", "1"); // see docs/training.md: oversubscribed OpenMP threads are 10-30x slower on a loaded machine
    p.setProperty("sample.count", "2");
    return p;
  }

  private static Trainer trainer(Properties p) {
    Trainer t = new Trainer(TrainConfig.fromProperties(p), priors);
    t.setConsole(QUIET);
    return t;
  }

  @Test
  void resumeContinuesBitIdentically() throws IOException {
    // epochs=3 scales the C2F table to: ep1 patch 32 batch 4 (1 step), ep2 32/3 (2 steps), ep3 96->64/1 (6 steps):
    // 9 steps. Stopping at 4 leaves epoch 3 (a new C2F stage) one batch in, so resume skips a batch mid-epoch.
    Properties straight = v3(shared.resolve("straight"));
    straight.setProperty("epochs", "3");
    straight.setProperty("val.max_images", "1");
    Trainer a = trainer(straight);
    Trainer.Result ra = a.run();
    assertEquals(9, ra.steps());

    Properties first = v3(shared.resolve("resumed"));
    first.setProperty("epochs", "3");
    first.setProperty("val.max_images", "1");
    first.setProperty("max_steps", "4");
    Trainer b1 = trainer(first);
    assertEquals(4, b1.run().steps());
    Properties more = new Properties();
    more.setProperty("max_steps", "0");
    Trainer b2 = Trainer.resume(shared.resolve("resumed/last.pth"), more, priors);
    b2.setConsole(QUIET);
    assertEquals(4, b2.globalStep());
    Trainer.Result rb = b2.run();
    assertEquals(9, rb.steps());
    // Bitwise: the same float32 operations in the same order on the same thread count (see docs/training.md).
    Map<String, Tensor> wa = TrainCheckpoint.tensorsOf(a.model()), wb = TrainCheckpoint.tensorsOf(b2.model());
    assertEquals(wa.keySet(), wb.keySet());
    try (PointerScope s = new PointerScope()) {
      for (String k : wa.keySet()) {
        assertTrue(wa.get(k).equal(wb.get(k)), "weights differ after resume: " + k + " max |diff| "
            + wa.get(k).sub(wb.get(k)).abs().max().item_double());
      }
      Map<String, Tensor> oa = a.optimizer().state(), ob = b2.optimizer().state();
      for (String k : oa.keySet()) assertTrue(oa.get(k).equal(ob.get(k)), "Adam state differs: " + k);
    }
    assertEquals(a.optimizer().step(), b2.optimizer().step());
    // The metrics log of the resumed run holds each step once.
    List<Double> steps = new ArrayList<>();
    for (String line : Files.readAllLines(shared.resolve("resumed/metrics.jsonl"))) {
      MetricsLog.Entry e = MetricsLog.parse(line);
      if (e.kind().equals("train")) steps.add(e.values().get("step"));
    }
    assertEquals(9, steps.size(), steps.toString());
    assertEquals(9.0, steps.get(8));
  }

  @Test
  void checkpointWriteCrashLeavesOldCheckpointIntact(@TempDir Path tmp) throws IOException {
    Properties p = v3(tmp);
    p.setProperty("variant", "baseline");
    Trainer t = trainer(p);
    Path f = tmp.resolve("ck.pth");
    Properties meta = new Properties();
    meta.setProperty("state.note", "first");
    TrainCheckpoint.save(f, t.model(), t.optimizer(), meta);
    byte[] before = Files.readAllBytes(f);
    try (PointerScope s = new PointerScope()) {
      t.model().parameters().get(0).detach().add_(new org.bytedeco.pytorch.Scalar(1.0)); // change the weights
    }
    meta.setProperty("state.note", "second");
    AtomicFile.failAfterBytesForTest = before.length / 2;
    try {
      IOException e = assertThrows(IOException.class, () -> TrainCheckpoint.save(f, t.model(), t.optimizer(), meta));
      assertTrue(e.getMessage().contains("simulated crash"), e.getMessage());
    } finally {
      AtomicFile.failAfterBytesForTest = -1;
    }
    assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(f)), "old checkpoint changed");
    try (var files = Files.list(tmp)) {
      assertEquals(List.of(), files.filter(x -> x.getFileName().toString().endsWith(".tmp")).toList(), "temp left");
    }
    TrainCheckpoint.Loaded ld = TrainCheckpoint.read(f);
    assertEquals("first", ld.meta().getProperty("state.note"));
    assertTrue(ld.model().size() > 0 && ld.optim().size() > 0);
    for (TensorData td : ld.model()) assertTrue(td.shape() != null);
  }

  @Test
  void variant3RunLowersTheLossAndWritesItsOutputs() throws IOException {
    Path dir = shared.resolve("e2e");
    Properties p = v3(dir);
    p.setProperty("epochs", "10"); // C2F scaled to 10 epochs: 3x1 + 2x2 + 2x3 + 3x6 = 31 steps
    p.setProperty("lr", "1e-3");
    p.setProperty("grad_clip", "0");
    p.setProperty("val.every_epochs", "5");
    Trainer t = trainer(p);
    Trainer.Result r = t.run();
    List<Double> loss = new ArrayList<>();
    for (MetricsLog.Entry e : new MetricsLog(dir.resolve("metrics.jsonl"), Long.MAX_VALUE).entries()) {
      if (e.kind().equals("train")) loss.add(e.values().get("loss_pix"));
    }
    assertEquals(r.steps(), loss.size());
    assertTrue(loss.size() >= 30, "enough steps: " + loss.size());
    double first = loss.subList(0, 5).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
    double last = loss.subList(loss.size() - 5, loss.size()).stream().mapToDouble(Double::doubleValue).average()
        .orElseThrow();
    assertTrue(last < 0.5 * first, "L_pix should fall by half at least: first-5 mean " + first + ", last-5 " + last
        + " (" + loss + ")");
    for (String f : new String[] {"last.pth", "best.pth", "model_final.pth", "model_best.pth", "metrics.csv",
        "losses.png", "lr.png", "val_psnr.png", "val_ssim.png", "config.properties"}) {
      assertTrue(Files.isRegularFile(dir.resolve(f)), f);
    }
    try (var s = Files.list(dir.resolve("samples"))) {
      assertTrue(s.count() >= 1, "sample grids");
    }
    assertTrue(Double.isFinite(r.bestPsnr()), "validated");
    // The exported weights carry the configuration and load for evaluation.
    EvalRunner.Method m = EvalRunner.model(dir.resolve("model_final.pth").toString(),
        shared.resolve("hrnet/hrnet_tiny_w48.pth"), shared.resolve("hrnet/hrnet_tiny_w48.json"), "cpu");
    var rep = EvalRunner.run(org.deepspg.data.DatasetLayouts.open(data, org.deepspg.data.Split.TEST), m, 0);
    assertEquals(2, rep.count());
    assertEquals(r.lastPsnr(), rep.meanPsnr(), 1e-4, "eval of model_final.pth = the run's last validation");
    DeepSPG unused = t.model();
    assertTrue(unused.parameterCount() > 0);
  }
}
