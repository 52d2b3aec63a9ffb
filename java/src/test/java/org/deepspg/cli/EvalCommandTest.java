/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.deepspg.data.Image;
import org.deepspg.data.Images;
import org.deepspg.eval.Baselines;
import org.deepspg.eval.Metrics;
import org.deepspg.eval.NoReferenceReport;
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
  void aFlatFolderIsScoredWholeOnlyWithANoteAndAnExplicitSplitIsRefused() throws IOException {
    Path flat = tmp.resolve("flat");
    for (String side : new String[] {"low", "high"}) {
      Files.createDirectories(flat.resolve(side));
      for (String n : new String[] {"000.png", "001.png"}) {
        Files.copy(data.resolve("test").resolve(side).resolve(n), flat.resolve(side).resolve(n));
      }
    }
    Path json = tmp.resolve("flat.json");
    CliTestSupport.Result r = CliTestSupport.run("eval", "--threads", "1", "--data", flat.toString(), "--baseline",
        "identity", "--json", json.toString());
    assertEquals(0, r.code());
    assertTrue(r.out().contains("note: " + flat + " is a flat low/ + high/ folder without a test split"), r.out());
    JsonNode j = JsonFiles.parse(Files.readString(json));
    assertEquals("all", j.get("split").textValue());
    assertTrue(j.get("note").textValue().contains("over all of its pairs"), j.toString());
    assertEquals(2, j.get("count").intValue());
    CliTestSupport.Result test = CliTestSupport.run("eval", "--threads", "1", "--data", flat.toString(), "--split",
        "test", "--baseline", "identity");
    assertEquals(2, test.code());
    assertTrue(test.err().contains("is a flat low/ + high/ folder without train/test splits"), test.err());
    // a split dataset records its split, without a note
    assertEquals(0, Main.run("eval", "--threads", "1", "--data", data.toString(), "--baseline", "identity", "--json",
        json.toString()));
    j = JsonFiles.parse(Files.readString(json));
    assertEquals("test", j.get("split").textValue());
    assertTrue(j.get("note") == null, j.toString());
  }

  @Test
  void optionsThatWouldBeIgnoredOrMeanNothingAreRefused() {
    String low = data.resolve("test/low").toString(), high = data.resolve("test/high").toString();
    String[][] bad = {
      {"--limit", "-1", "--baseline", "identity", "--limit must be >= 0"},
      {"--threads", "-3", "--baseline", "identity", "--threads must be >= 0"},
      {"--baseline", "clahe", "--gamma", "0.5", "--gamma is the exponent of --baseline gamma and does nothing with "
          + "--baseline clahe"}};
    for (String[] b : bad) {
      String[] args = new String[b.length + 4];
      System.arraycopy(new String[] {"eval", "--low", low, "--high", high}, 0, args, 0, 5);
      System.arraycopy(b, 0, args, 5, b.length - 1);
      CliTestSupport.Result r = CliTestSupport.run(args);
      assertEquals(2, r.code(), String.join(" ", args));
      assertTrue(r.err().contains(b[b.length - 1]), r.err());
    }
  }

  @Test
  void aJsonPathThatCannotBeWrittenIsRefusedBeforeEvaluating() throws IOException {
    Path file = Files.writeString(tmp.resolve("notafolder"), "x");
    Path json = file.resolve("report.json");
    CliTestSupport.Result r = CliTestSupport.run("eval", "--low", data.resolve("test/low").toString(), "--high",
        data.resolve("test/high").toString(), "--baseline", "identity", "--json", json.toString());
    assertEquals(2, r.code());
    assertTrue(r.err().contains("--json " + json + " cannot be written: " + file + " is not a folder"), r.err());
    assertFalse(r.out().contains("PSNR"), "nothing was evaluated: " + r.out());
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

  /** {@code eval --low DIR [more args]} without --high: the no-reference report's JSON. */
  private static String runNoReference(String... args) throws IOException {
    Path json = tmp.resolve("noref-" + System.nanoTime() + ".json");
    String[] all = new String[args.length + 6];
    System.arraycopy(new String[] {"eval", "--threads", "1", "--low", data.resolve("test/low").toString()}, 0, all, 0,
        5);
    System.arraycopy(args, 0, all, 5, args.length);
    all[all.length - 1] = "--json=" + json;
    assertEquals(0, Main.run(all), String.join(" ", all));
    String text = Files.readString(json);
    assertEquals(3, JsonFiles.parse(text).get("count").intValue(), text);
    return text;
  }

  /** The identity changes nothing: no clipping, no hue drift, the input's noise and brightness exactly. */
  @Test
  void noReferenceIdentityMeasuresTheInput() throws IOException {
    String json = runNoReference("--baseline", "identity", "--per-image");
    assertEquals(0, value(json, "newly_clipped"), 0.0);
    double drift = value(json, "hue_drift_deg");
    assertTrue(Double.isNaN(drift) || drift == 0, json);
    assertEquals(value(json, "input_noise_sigma"), value(json, "noise_sigma"), 0.0);
    assertEquals(value(json, "input_mean_luma"), value(json, "mean_luma"), 0.0);
    assertEquals(1.0, value(json, "saturation_kept"), 1e-12);
    double cast = value(json, "shadow_cast"); // the input's own grey regions: grey
    assertTrue(Double.isNaN(cast) || cast < 3, json);
    assertTrue(value(json, "input_mean_luma") > 5 && value(json, "input_mean_luma") < 60, json);
  }

  /** Without ground truth nothing is paired, so x.jpg beside x.png is two photos, not an "ambiguous pair". */
  @Test
  void noReferenceTakesTwoPhotosOfTheSameStem() throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("same-stem"));
    try (var s = Files.list(data.resolve("test/low"))) {
      Path src = s.sorted().findFirst().orElseThrow();
      Image img = Images.read(src);
      Images.write(img, dir.resolve("x.png"));
      Images.write(img, dir.resolve("x.jpg"));
    }
    Path json = tmp.resolve("same-stem.json");
    assertEquals(0, Main.run("eval", "--threads", "1", "--low", dir.toString(), "--baseline", "identity",
        "--per-image", "--json=" + json));
    String text = Files.readString(json);
    assertEquals(2, JsonFiles.parse(text).get("count").intValue(), text);
    assertTrue(text.contains("x.png") && text.contains("x.jpg"), text);
  }

  /**
   * Another method's outputs in a folder (PNGs of a fixed gamma curve, named like the inputs): the report holds
   * exactly the measures of those files against their inputs; a missing output is an error naming it.
   */
  @Test
  void noReferenceScoresAnotherMethodsOutputs() throws IOException {
    Path outDir = tmp.resolve("other-method");
    Files.createDirectories(outDir);
    java.util.List<NoReferenceReport.Result> expected = new java.util.ArrayList<>();
    try (var files = Files.list(data.resolve("test/low"))) {
      for (Path f : files.sorted().toList()) {
        Image lo = Images.read(f);
        Path o = outDir.resolve(f.getFileName());
        Images.write(Image.of(lo.width(), lo.height(), Baselines.gamma(lo.rgb(), 0.3)), o);
        String stem = f.getFileName().toString().replaceFirst("\\.png$", "");
        expected.add(NoReferenceReport.Result.measure(stem, lo.rgb(), Images.read(o).rgb(), lo.height(), lo.width(), 0));
      }
    }
    String json = runNoReference("--enhanced", outDir.toString(), "--per-image");
    JsonNode per = JsonFiles.parse(json).get("per_image");
    for (int i = 0; i < expected.size(); i++) {
      NoReferenceReport.Result e = expected.get(i);
      JsonNode r = per.get(i);
      assertEquals(e.name(), r.get("name").asText());
      assertEquals(e.newlyClipped(), r.get("newly_clipped").doubleValue(), 0.0);
      assertEquals(e.noise(), r.get("noise_sigma").doubleValue(), 0.0);
      assertEquals(e.meanLuma(), r.get("mean_luma").doubleValue(), 0.0);
      assertEquals(e.saturationKept(), r.get("saturation_kept").doubleValue(), 0.0);
      if (!Double.isNaN(e.shadowCast())) assertEquals(e.shadowCast(), r.get("shadow_cast").doubleValue(), 0.0);
      if (!Double.isNaN(e.hueDrift())) assertEquals(e.hueDrift(), r.get("hue_drift_deg").doubleValue(), 0.0);
    }
    assertTrue(value(json, "mean_luma") > 2 * value(json, "input_mean_luma"), "gamma 0.3 brightens: " + json);
    assertTrue(value(json, "noise_sigma") > value(json, "input_noise_sigma"), "and amplifies the noise: " + json);
    // An output missing: the files without a partner are listed, exit code 2.
    Files.delete(outDir.resolve("001.png"));
    CliTestSupport.Result r = CliTestSupport.run("eval", "--low", data.resolve("test/low").toString(), "--enhanced",
        outDir.toString());
    assertEquals(2, r.code(), r.err());
    assertTrue(r.err().contains("001.png"), r.err());
    assertTrue(r.err().contains("without an enhanced partner"), r.err());
    // An output of another size: named as the enhanced image's size, not as ground truth's.
    Path second;
    try (var files = Files.list(outDir)) {
      second = files.sorted().findFirst().orElseThrow();
    }
    Images.write(Image.of(8, 8, new float[3 * 8 * 8]), second);
    r = CliTestSupport.run("eval", "--low", data.resolve("test/low").toString(), "--enhanced", outDir.toString());
    assertEquals(2, r.code(), r.err());
    assertTrue(r.err().contains(", enhanced 8x8"), r.err());
    assertFalse(r.err().contains("high"), r.err());
    // --enhanced does not mix with a model or with ground truth.
    assertEquals(2, Main.run("eval", "--low", data.resolve("test/low").toString(), "--enhanced", outDir.toString(),
        "--baseline", "identity"));
    assertEquals(2, Main.run("eval", "--low", data.resolve("test/low").toString(), "--high",
        data.resolve("test/high").toString(), "--enhanced", outDir.toString()));
    // The oracle gamma needs ground truth.
    assertEquals(2, Main.run("eval", "--low", data.resolve("test/low").toString(), "--baseline", "gamma"));
  }

  /** The bundled default model on dark inputs without ground truth: it brightens them. */
  @Test
  void noReferenceDefaultModelBrightens() throws IOException {
    String json = runNoReference();
    assertTrue(value(json, "mean_luma") > 2 * value(json, "input_mean_luma"), json);
    assertTrue(value(json, "images_per_second") > 0, json);
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

  /**
   * Low images with transparent margins are enhanced as {@code deepspg enhance} enhances them (the colour under alpha
   * 0 filled from the visible pixels), and what a target hides is not scored: black or white under the inputs' alpha
   * 0, white or black under the targets', the report is the same, and it is the score of enhance's output file. Until
   * eval ran the input's hidden colour through the network and scored the target's.
   */
  @Test
  void transparentPixelsAreEnhancedAsEnhanceDoesAndNotScored() throws IOException {
    Path lowFile;
    try (var s = Files.list(data.resolve("test/low"))) {
      lowFile = s.sorted().findFirst().orElseThrow();
    }
    Image lo = Images.read(lowFile), hi = Images.read(data.resolve("test/high").resolve(lowFile.getFileName()));
    int h = lo.height(), w = lo.width(), n = h * w, margin = 8;
    float[] alpha = new float[n];
    boolean[] shown = new boolean[n];
    for (int i = 0; i < n; i++) {
      shown[i] = i % w >= margin && i % w < w - margin;
      alpha[i] = shown[i] ? 1 : 0;
    }
    JsonNode[] per = new JsonNode[2];
    Path[] dirs = new Path[2];
    for (int k = 0; k < 2; k++) {
      dirs[k] = Files.createDirectories(tmp.resolve("alpha-" + k));
      float under = k; // black, then white under the inputs' transparent margins; the other under the targets'
      Images.write(new Image(w, h, withHidden(lo.rgb(), shown, under), alpha, lo.metadata()),
          Files.createDirectories(dirs[k].resolve("low")).resolve("x.png"));
      Images.write(new Image(w, h, withHidden(hi.rgb(), shown, 1 - under), alpha, hi.metadata()),
          Files.createDirectories(dirs[k].resolve("high")).resolve("x.png"));
      Path json = tmp.resolve("alpha-" + k + ".json");
      assertEquals(0, Main.run("eval", "--threads", "1", "--model", ModelFiles.DEFAULT_NAME, "--low",
          dirs[k].resolve("low").toString(), "--high", dirs[k].resolve("high").toString(), "--per-image",
          "--json=" + json));
      per[k] = JsonFiles.parse(Files.readString(json)).get("per_image").get(0);
    }
    for (String key : new String[] {"psnr", "ssim", "psnr_gtmean", "ssim_gtmean", "newly_clipped", "hue_error_deg"}) {
      assertEquals(per[0].get(key).doubleValue(), per[1].get(key).doubleValue(), 0.0, key + ": " + per[0] + " vs "
          + per[1]);
    }
    Path out = tmp.resolve("alpha-enhanced");
    assertEquals(0, Main.run("enhance", dirs[1].resolve("low/x.png").toString(), "-o", out.toString(), "--model",
        ModelFiles.DEFAULT_NAME, "--device", "cpu"));
    Image enhanced = Images.read(out.resolve("x.png")), target = Images.read(dirs[1].resolve("high/x.png"));
    Metrics.Scores s = Metrics.evaluate(enhanced.rgb(), target.rgb(), shown, h, w, Metrics.Layout.CHW,
        Metrics.DEFAULT_GRAY_WEIGHTS);
    // enhance writes 8-bit samples: a rounding error of at most half a level moves PSNR by far less than 0.05 dB
    assertEquals(s.psnr(), per[1].get("psnr").doubleValue(), 0.05, "eval scores what enhance wrote");
    assertEquals(s.ssim(), per[1].get("ssim").doubleValue(), 0.005, "eval scores what enhance wrote");
  }

  /** A copy of planar RGB with the samples of the pixels not shown set to {@code v}. */
  private static float[] withHidden(float[] rgb, boolean[] shown, float v) {
    float[] out = rgb.clone();
    int n = shown.length;
    for (int c = 0; c < 3; c++) {
      for (int i = 0; i < n; i++) if (!shown[i]) out[c * n + i] = v;
    }
    return out;
  }
}
