/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.deepspg.io.JsonFiles;
import org.deepspg.model.DeepSPG;
import org.deepspg.model.DeepSPGConfig;
import org.deepspg.model.ModelFiles;
import org.deepspg.ops.Backends;
import org.deepspg.train.TrainCheckpoint;
import org.deepspg.train.TrainTestSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code deepspg eval} on a tiny temp dataset: baselines and a randomly initialised exported model. */
class EvalCommandTest {
  @TempDir static Path tmp;
  private static Path data;

  @BeforeAll
  static void setUp() throws IOException {
    data = TrainTestSupport.writeTinyDataset(tmp.resolve("data"), 1, 3, 48, 11);
  }

  private static String run(String... args) throws IOException {
    Path json = tmp.resolve("out-" + System.nanoTime() + ".json");
    String[] all = new String[args.length + 8];
    System.arraycopy(new String[] {"eval", "--threads", "1", "--low", data.resolve("test/low").toString(), "--high",
        data.resolve("test/high").toString()}, 0, all, 0, 7);
    System.arraycopy(args, 0, all, 7, args.length);
    all[all.length - 1] = "--json=" + json;
    assertEquals(0, Main.run(all), String.join(" ", all));
    String text = Files.readString(json);
    for (String k : new String[] {"\"psnr\"", "\"ssim\"", "\"psnr_gtmean\"", "\"ssim_gtmean\"", "\"count\": 3",
        "\"images_per_second\""}) {
      assertTrue(text.contains(k), k + " in " + text);
    }
    return text;
  }

  /** A number of the report; NaN for null (not measured). */
  private static double value(String json, String key) {
    JsonNode v = JsonFiles.parse(json).get(key);
    assertTrue(v != null && (v.isNumber() || v.isNull()), key + " in " + json);
    return v.isNull() ? Double.NaN : v.doubleValue();
  }

  @Test
  void baselinesWriteTheJsonKeys() throws IOException {
    String id = run("--baseline", "identity");
    String gamma = run("--baseline", "gamma");
    assertTrue(value(gamma, "psnr") > value(id, "psnr") + 3, "oracle gamma brightens the darkened inputs");
  }

  @Test
  void randomlyInitialisedExportedModelEvaluates() throws IOException {
    Backends.init();
    DeepSPG net = new DeepSPG(DeepSPGConfig.baseline(DeepSPGConfig.Size.S).withChannels(8));
    Properties meta = net.config().toProperties();
    Path w = tmp.resolve("random.pth");
    TrainCheckpoint.exportWeights(w, net, meta);
    String json = run("--model", w.toString());
    assertTrue(Double.isFinite(value(json, "psnr")), json);
    // a model with SEMs but no --hrnet: clear refusal (exit code 2)
    DeepSPG sem = new DeepSPG(DeepSPGConfig.s().withChannels(8));
    Path ws = tmp.resolve("sem.pth");
    TrainCheckpoint.exportWeights(ws, sem, sem.config().toProperties());
    assertEquals(2, Main.run("eval", "--low", data.resolve("test/low").toString(), "--high",
        data.resolve("test/high").toString(), "--model", ws.toString()));
    // usage error: a name that is neither bundled nor a file
    assertEquals(2, Main.run("eval", "--low", data.resolve("test/low").toString(), "--high",
        data.resolve("test/high").toString(), "--model", "no-such-model"));
  }

  /** Without --model or --baseline, eval evaluates the bundled default model: the same numbers as naming it. */
  @Test
  void withoutModelEvaluatesTheBundledDefault() throws IOException {
    String unnamed = run();
    String named = run("--model", ModelFiles.DEFAULT_NAME);
    assertEquals(value(named, "psnr"), value(unnamed, "psnr"), 0.0);
    assertEquals(value(named, "ssim"), value(unnamed, "ssim"), 0.0);
    assertTrue(value(named, "psnr") > value(run("--baseline", "identity"), "psnr"), "the trained model brightens");
  }
}
