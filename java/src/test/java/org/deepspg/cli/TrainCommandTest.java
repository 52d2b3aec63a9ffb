/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.deepspg.model.ModelFiles;
import org.deepspg.train.TrainCheckpoint;
import org.deepspg.train.TrainTestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code deepspg train}: a short baseline run, resume with a changed max_steps, and the refusals. */
class TrainCommandTest {
  @Test
  void shortBaselineRunResumesAndRefusesMisuse(@TempDir Path tmp) throws IOException {
    Path data = TrainTestSupport.writeTinyDataset(tmp.resolve("data"), 4, 1, 64, 3);
    Path cfg = tmp.resolve("run.properties");
    Files.writeString(cfg, String.join("\n", "variant=baseline", "model.channels=8", "model.blocks=1,1,1",
        "patch=32", "batch=2", "epochs=3", "data.train=" + data, "run.dir=" + tmp.resolve("run"), "threads=1", ""));
    assertEquals(0, Main.run("train", "--config", cfg.toString(), "max_steps=3"));
    assertEquals("3", TrainCheckpoint.read(tmp.resolve("run/last.pth")).meta().getProperty("state.step"));
    // starting again into the same run dir is refused
    assertEquals(2, Main.run("train", "--config", cfg.toString()));
    // --resume continues to the end of the 3 epochs (2 steps each)
    assertEquals(0, Main.run("train", "--config", cfg.toString(), "--resume", "max_steps=0"));
    assertEquals("6", TrainCheckpoint.read(tmp.resolve("run/last.pth")).meta().getProperty("state.step"));
    assertTrue(Files.isRegularFile(tmp.resolve("run/model_final.pth")));
    // v1 without HRNet weights: MissingWeightsException message, exit code 2
    assertEquals(2, Main.run("train", "--config", cfg.toString(), "variant=v1", "run.dir=" + tmp.resolve("v1")));
    // config error names the key
    assertEquals(2, Main.run("train", "--config", cfg.toString(), "epochs=zero"));
  }

  @Test
  void resumeKeepsTheRunsSettingsAndOverwriteStartsClean(@TempDir Path tmp) throws IOException {
    Path data = TrainTestSupport.writeTinyDataset(tmp.resolve("data"), 4, 1, 64, 3);
    Path cfg = tmp.resolve("run.properties");
    Path run = tmp.resolve("run");
    Files.writeString(cfg, String.join("\n", "variant=baseline", "model.channels=8", "model.blocks=1,1,1",
        "patch=32", "batch=2", "epochs=3", "data.train=" + data, "run.dir=" + run, "threads=1", ""));
    // started with epochs=2 on the command line, stopped after the first batch of epoch 1 (2 batches per epoch)
    assertEquals(0, Main.run("train", "--config", cfg.toString(), "epochs=2", "max_steps=1"));
    // the epoch it stopped in cannot continue with another batch size
    assertEquals(2, Main.run("train", "--config", cfg.toString(), "--resume", "batch=1"));
    assertEquals("1", TrainCheckpoint.read(run.resolve("last.pth")).meta().getProperty("state.step"));
    // resuming with the same --config keeps the run's epochs=2 (4 steps), not the file's epochs=3 (6 steps)
    assertEquals(0, Main.run("train", "--config", cfg.toString(), "--resume", "max_steps=0"));
    assertEquals("4", TrainCheckpoint.read(run.resolve("last.pth")).meta().getProperty("state.step"));
    Path oldSample = run.resolve("samples/step_00000004.png");
    assertTrue(Files.isRegularFile(oldSample), "the run's last validation wrote a sample grid");
    Path notes = Files.writeString(run.resolve("notes.txt"), "mine");
    // --overwrite: the new run (validated at its step 1) leaves none of the earlier run's outputs behind
    assertEquals(0, Main.run("train", "--config", cfg.toString(), "--overwrite", "max_steps=1"));
    assertTrue(Files.notExists(oldSample), "the earlier run's samples are removed");
    assertEquals("1", TrainCheckpoint.read(run.resolve("last.pth")).meta().getProperty("state.step"));
    assertTrue(Files.isRegularFile(notes), "files a run does not write stay");
    // without its checkpoints the folder still holds a run: its exported weights and log are not overwritten silently
    Files.delete(run.resolve("last.pth"));
    Files.delete(run.resolve("best.pth"));
    byte[] weights = Files.readAllBytes(run.resolve("model_final.pth"));
    CliTestSupport.Result r = CliTestSupport.run("train", "--config", cfg.toString(), "max_steps=1");
    assertEquals(2, r.code());
    assertTrue(r.err().contains("already holds a run (model_best.pth, model_final.pth, metrics.jsonl"), r.err());
    assertArrayEquals(weights, Files.readAllBytes(run.resolve("model_final.pth")));
  }

  /** The steps of the train records of a metrics.jsonl, in order. */
  private static List<Long> loggedSteps(Path log) throws IOException {
    return Files.readAllLines(log).stream().filter(l -> l.contains("\"kind\":\"train\""))
        .map(l -> Long.parseLong(l.replaceAll(".*\"step\":([0-9]+).*", "$1"))).toList();
  }

  @Test
  void aResumeForkedIntoAnotherRunsFolderIsRefusedUnlessOverwrite(@TempDir Path tmp) throws IOException {
    Path data = TrainTestSupport.writeTinyDataset(tmp.resolve("data"), 4, 1, 64, 3);
    Path cfg = tmp.resolve("run.properties");
    Path a = tmp.resolve("A"), b = tmp.resolve("B"), c = tmp.resolve("C");
    Files.writeString(cfg, String.join("\n", "variant=baseline", "model.channels=8", "model.blocks=1,1,1",
        "patch=32", "batch=2", "epochs=3", "data.train=" + data, "threads=1", "plots=false", ""));
    assertEquals(0, Main.run("train", "--config", cfg.toString(), "run.dir=" + a, "max_steps=3"));
    assertEquals(0, Main.run("train", "--config", cfg.toString(), "run.dir=" + b, "max_steps=2", "seed=7"));
    byte[] bLast = Files.readAllBytes(b.resolve("last.pth"));
    String bLog = Files.readString(b.resolve("metrics.jsonl"));
    CliTestSupport.Result r = CliTestSupport.run("train", "--resume", a.resolve("last.pth").toString(), "run.dir=" + b,
        "max_steps=4");
    assertEquals(2, r.code());
    assertTrue(r.err().contains("already holds another run (last.pth"), r.err());
    assertTrue(r.err().contains("--overwrite"), r.err());
    assertArrayEquals(bLast, Files.readAllBytes(b.resolve("last.pth")), "B's checkpoint is untouched");
    assertEquals(bLog, Files.readString(b.resolve("metrics.jsonl")), "B's log is untouched");
    // with --overwrite B's outputs go first: its samples, and a log of A's history (steps 1-3) then step 4
    assertTrue(Files.isRegularFile(b.resolve("samples/step_00000002.png")));
    assertEquals(0, Main.run("train", "--resume", a.resolve("last.pth").toString(), "run.dir=" + b, "max_steps=4",
        "--overwrite"));
    assertEquals("4", TrainCheckpoint.read(b.resolve("last.pth")).meta().getProperty("state.step"));
    assertEquals(List.of(1L, 2L, 3L, 4L), loggedSteps(b.resolve("metrics.jsonl")));
    assertTrue(Files.notExists(b.resolve("samples/step_00000002.png")), "B's earlier samples are removed");
    assertTrue(Files.readString(b.resolve("config.properties")).contains("seed=0"), "the config is the fork's");
    // a fork into a new folder needs no --overwrite and starts with the history too
    assertEquals(0, Main.run("train", "--resume", a.resolve("last.pth").toString(), "run.dir=" + c, "max_steps=4"));
    assertEquals(List.of(1L, 2L, 3L, 4L), loggedSteps(c.resolve("metrics.jsonl")));
    assertEquals(List.of(1L, 2L, 3L), loggedSteps(a.resolve("metrics.jsonl")), "A is untouched");
  }

  @Test
  void resumeRefusesWhatWouldNotContinueTheRunAndSaysWhatItIgnores(@TempDir Path tmp) throws IOException {
    Path data = TrainTestSupport.writeTinyDataset(tmp.resolve("data"), 4, 1, 64, 3);
    Path cfg = tmp.resolve("run.properties");
    Path run = tmp.resolve("run"), last = run.resolve("last.pth");
    Files.writeString(cfg, String.join("\n", "variant=baseline", "model.channels=8", "model.blocks=1,1,1",
        "patch=32", "batch=2", "epochs=2", "data.train=" + data, "run.dir=" + run, "threads=1", "plots=false", ""));
    assertEquals(0, Main.run("train", "--config", cfg.toString(), "max_steps=1")); // mid-epoch: 2 batches an epoch
    CliTestSupport.Result seed = CliTestSupport.run("train", "--resume", last.toString(), "seed=5", "max_steps=0");
    assertEquals(2, seed.code());
    assertTrue(seed.err().contains("stopped after batch 1 of epoch 1, whose order of pairs comes from seed 0; that "
        + "epoch cannot continue with seed 5"), seed.err());
    CliTestSupport.Result over = CliTestSupport.run("train", "--resume", last.toString(), "--overwrite", "max_steps=0");
    assertEquals(2, over.code());
    assertTrue(over.err().contains("--overwrite does nothing with --resume"), over.err());
    assertEquals("1", TrainCheckpoint.read(last).meta().getProperty("state.step"), "the refusals trained nothing");
    CliTestSupport.Result cont = CliTestSupport.run("train", "--config", cfg.toString(), "--resume", "max_steps=0");
    assertEquals(0, cont.code());
    assertTrue(cont.err().contains("note: the keys of --config " + cfg + " are ignored on resume"), cont.err());
    assertEquals("4", TrainCheckpoint.read(last).meta().getProperty("state.step"));
    // the run is complete: resuming it (or with fewer epochs) has nothing to train; more epochs do
    for (String epochs : new String[] {"epochs=2", "epochs=1"}) {
      CliTestSupport.Result done = CliTestSupport.run("train", "--resume", last.toString(), epochs);
      assertEquals(2, done.code());
      assertTrue(done.err().contains(epochs + " is not past the checkpoint, which completed epoch 2 (step 4): nothing"
          + " to train"), done.err());
    }
    assertEquals(0, Main.run("train", "--resume", last.toString(), "epochs=3"));
    assertEquals("6", TrainCheckpoint.read(last).meta().getProperty("state.step"));
  }

  @Test
  void pathProblemsAreNamedByTheirKeyBeforeAnyModelWork(@TempDir Path tmp) throws IOException {
    Path data = TrainTestSupport.writeTinyDataset(tmp.resolve("data"), 4, 1, 64, 3);
    Path file = Files.writeString(tmp.resolve("afile"), "x");
    String[] common = {"train", "variant=baseline", "model.channels=8", "model.blocks=1,1,1", "patch=32", "batch=2",
        "epochs=1", "threads=1"};
    String[][] cases = {
      {"data.train=" + data, "run.dir=" + file, "run.dir " + file + " is a file, not a folder"},
      {"data.train=" + data, "run.dir=" + file, "--overwrite", "run.dir " + file + " is a file, not a folder"},
      {"data.train=" + tmp.resolve("nodata"), "run.dir=" + tmp.resolve("r"), "config key 'data.train': no such "
          + "folder: " + tmp.resolve("nodata")},
      {"data.train.low=" + file, "data.train.high=" + data.resolve("train/high"), "run.dir=" + tmp.resolve("r"),
          "config key 'data.train.low': not a folder: " + file}};
    for (String[] c : cases) {
      String[] args = java.util.stream.Stream.concat(java.util.Arrays.stream(common),
          java.util.Arrays.stream(c, 0, c.length - 1)).toArray(String[]::new);
      CliTestSupport.Result r = CliTestSupport.run(args);
      assertEquals(2, r.code(), String.join(" ", args));
      assertTrue(r.err().contains(c[c.length - 1]), r.err());
      assertTrue(!r.all().contains("oneDNN"), "refused before the model work: " + r.all());
    }
  }

  /**
   * A rank of a multi-host run refuses a fork into another run's folder, a new run there and bad rank options before
   * it joins the process group: at once, with the message, on every rank (rank 0 here never opens its store, rank 1's
   * master does not answer). Before, rank 0 checked run.dir only after the rendezvous, and the others waited for it
   * until --dist-timeout.
   */
  @Test
  void aRankRefusesWhatItCanCheckAloneBeforeJoiningTheGroup(@TempDir Path tmp) throws IOException {
    Path data = TrainTestSupport.writeTinyDataset(tmp.resolve("data"), 3, 1, 32, 3);
    Path a = Files.createDirectories(tmp.resolve("A")), b = Files.createDirectories(tmp.resolve("B"));
    Path ck = Files.writeString(a.resolve("last.pth"), "not read: the refusal comes first");
    Files.writeString(b.resolve("metrics.jsonl"), "{}\n"); // another run's output
    Path cfg = Files.writeString(tmp.resolve("run.properties"), String.join("\n", "variant=baseline",
        "model.channels=8", "model.blocks=1,1,1", "patch=32", "batch=2", "epochs=1", "data.train=" + data,
        "run.dir=" + b, "threads=1", ""));
    int port;
    try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
      port = free.getLocalPort();
    }
    String timeout = "20";
    String[][] cases = {
      {"--resume", ck.toString(), "run.dir=" + b, "already holds another run (metrics.jsonl), not the one of " + ck},
      {"--config", cfg.toString(), b + " already holds a run (metrics.jsonl)"},
      {"--config", cfg.toString(), "--overwrite", "batch=3", "is 3, which 2 workers cannot share evenly"}};
    for (String[] c : cases) {
      for (String rank : new String[] {"0", "1"}) {
        List<String> args = new java.util.ArrayList<>(List.of("train", "--rank", rank, "--world-size", "2",
            "--master", "127.0.0.1:" + port, "--dist-timeout", timeout));
        args.addAll(List.of(c).subList(0, c.length - 1));
        long t0 = System.nanoTime();
        CliTestSupport.Result r = CliTestSupport.run(args.toArray(String[]::new));
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertEquals(2, r.code(), r.all());
        assertTrue(r.err().contains(c[c.length - 1]), r.err());
        assertTrue(seconds < Integer.parseInt(timeout) / 2.0, "refused before joining: " + seconds + " s");
      }
    }
    assertTrue(Files.isRegularFile(b.resolve("metrics.jsonl")), "B is untouched");
    String[] rankOptions = {"--world-size", "2", "--master", "127.0.0.1:" + port};
    CliTestSupport.Result printed = CliTestSupport.run(java.util.stream.Stream.concat(java.util.stream.Stream.of(
        "train", "--config", cfg.toString(), "--print-config", "--rank", "1"), java.util.Arrays.stream(rankOptions))
        .toArray(String[]::new));
    assertEquals(0, printed.code(), printed.all());
    assertTrue(printed.out().contains("run.dir=" + b), "printed without a process group: " + printed.out());
    CliTestSupport.Result outside = CliTestSupport.run("train", "--config", cfg.toString(), "--rank", "2",
        "--world-size", "2", "--master", "127.0.0.1:" + port);
    assertEquals(2, outside.code());
    assertTrue(outside.err().contains("--rank 2 does not exist in a world of 2 (ranks 0..1)"), outside.err());
    CliTestSupport.Result master = CliTestSupport.run("train", "--config", cfg.toString(), "--rank", "0",
        "--world-size", "1", "--master", "nowhere");
    assertEquals(2, master.code());
    assertTrue(master.err().contains("--master must be HOST:PORT, got 'nowhere'"), master.err());
  }

  /**
   * A fork starts with its checkpoint folder's model_best.pth and best.pth when they hold the checkpoint's best (their
   * step is its best step), and says so; a folder whose model_best.pth is of another step gives nothing, and that is
   * said too. Until then a fork had no model_best.pth until it beat the best it carried over. The forks here train
   * with lr 1e-30, so their own validation cannot beat that best and replace the copy.
   */
  @Test
  void aForkStartsWithTheBestWeightsOfItsCheckpoint(@TempDir Path tmp) throws IOException {
    Path data = TrainTestSupport.writeTinyDataset(tmp.resolve("data"), 4, 1, 64, 3);
    Path cfg = tmp.resolve("run.properties");
    Path a = tmp.resolve("A"), b = tmp.resolve("B"), d = Files.createDirectories(tmp.resolve("D"));
    Files.writeString(cfg, String.join("\n", "variant=baseline", "model.channels=8", "model.blocks=1,1,1",
        "patch=32", "batch=2", "epochs=3", "data.train=" + data, "threads=1", "plots=false", ""));
    assertEquals(0, Main.run("train", "--config", cfg.toString(), "run.dir=" + a, "max_steps=4"));
    String bestStep = TrainCheckpoint.read(a.resolve("last.pth")).meta().getProperty("state.best_step");
    assertEquals(bestStep, ModelFiles.readMeta(a.resolve("model_best.pth")).getProperty("state.step"));
    String[] slow = {"max_steps=5", "lr=1e-30", "lr.min=0"};
    CliTestSupport.Result r = CliTestSupport.run(java.util.stream.Stream.concat(java.util.stream.Stream.of("train",
        "--resume", a.resolve("last.pth").toString(), "run.dir=" + b), java.util.Arrays.stream(slow))
        .toArray(String[]::new));
    assertEquals(0, r.code(), r.all());
    assertTrue(r.all().contains("at step " + bestStep + "; model_best.pth and best.pth copied from " + a), r.all());
    for (String name : new String[] {"model_best.pth", "best.pth"}) {
      assertArrayEquals(Files.readAllBytes(a.resolve(name)), Files.readAllBytes(b.resolve(name)), name);
    }
    // D holds A's checkpoint and, as model_best.pth, weights of another step (B's final ones, step 5)
    Files.copy(a.resolve("last.pth"), d.resolve("last.pth"));
    Files.copy(b.resolve("model_final.pth"), d.resolve("model_best.pth"));
    Path e = tmp.resolve("E");
    r = CliTestSupport.run(java.util.stream.Stream.concat(java.util.stream.Stream.of("train", "--resume",
        d.resolve("last.pth").toString(), "run.dir=" + e), java.util.Arrays.stream(slow)).toArray(String[]::new));
    assertEquals(0, r.code(), r.all());
    assertTrue(r.all().contains(d + " has no model_best.pth of that step"), r.all());
    assertTrue(Files.notExists(e.resolve("model_best.pth")) && Files.notExists(e.resolve("best.pth")));
  }
}
