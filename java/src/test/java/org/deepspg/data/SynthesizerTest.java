/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.deepspg.io.JsonFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SynthesizerTest {
  @TempDir Path dir;

  private Path photos() throws Exception {
    Path from = dir.resolve("photos");
    Files.createDirectories(from.resolve("pkg/sub"));
    for (int i = 0; i < 12; i++) {
      Image img = DegradationTest.smoothImage(80 + 8 * i, 64);
      Images.write(img, from.resolve((i % 2 == 0 ? "pkg/" : "pkg/sub/") + "p" + i + (i % 3 == 0 ? ".jpg" : ".png")));
    }
    Images.write(DegradationTest.smoothImage(300, 200), from.resolve("big.png"));
    Files.writeString(from.resolve("broken.png"), "not an image");
    Files.writeString(from.resolve("README.txt"), "ignored: not an image extension");
    return from;
  }

  private static double num(String json, String key) {
    JsonNode v = JsonFiles.parse(json).get(key);
    assertTrue(v != null && v.isNumber(), key + " in " + json);
    return v.doubleValue();
  }

  /** manifest.jsonl and params.json lines: the layout of earlier versions (integral values without ".0"). */
  @Test
  void metadataLayout() {
    Degradation.Drawn plain = new Degradation.Drawn(0.125, 2.0, 1e6, 0.0, 0, Degradation.CameraDrawn.NONE);
    Degradation.Drawn camera = new Degradation.Drawn(0.0312, 1.7, 350.5, 0.002, 85,
        new Degradation.CameraDrawn(1.5, 2.0, 12, 0.1, 0.33, 2, -99, 0));
    assertEquals("{\"name\": \"a__b\\\"c\", \"source\": \"a/b\\\"c.png\", \"split\": \"train\", \"width\": 64, "
        + "\"height\": 48, \"sourceWidth\": 640, \"sourceHeight\": 480, \"exposure\": 0.125, \"gamma\": 2, "
        + "\"photons\": 1000000, \"readSigma\": 0, \"jpegQuality\": null, \"imageSeed\": 12345678901, "
        + "\"meanLinearHigh\": 0.5, \"meanLinearLow\": 0.0625}",
        new Synthesizer.Entry("a__b\"c", "a/b\"c.png", "train", 64, 48, 640, 480, plain, 12345678901L, 0.5, 0.0625)
            .toJson());
    assertEquals("{\"name\": \"x\", \"source\": \"x.jpg\", \"split\": \"test\", \"width\": 3, \"height\": 2, "
        + "\"sourceWidth\": 3, \"sourceHeight\": 2, \"exposure\": 0.0312, \"gamma\": 1.7, \"photons\": 350.5, "
        + "\"readSigma\": 0.002, \"jpegQuality\": 85, \"wbRed\": 1.5, \"wbBlue\": 2, \"rawBits\": 12, "
        + "\"vignette\": 0.1, \"fieldStops\": 0.33, \"lights\": 2, \"layoutSeed\": -99, \"imageSeed\": -1, "
        + "\"meanLinearHigh\": 0.3333333333333333, \"meanLinearLow\": 1.0E-9}",
        new Synthesizer.Entry("x", "x.jpg", "test", 3, 2, 3, 2, camera, -1, 1.0 / 3, 1e-9).toJson());
    assertEquals("{\"seed\": -3, \"testFraction\": 1, \"maxSide\": 0, \"minSide\": 1, \"maxPixels\": 5, "
        + "\"degradation\": {\"exposureMin\": 0.03, \"exposureMax\": 0.25, \"gammaMin\": 1, \"gammaMax\": 1.4, "
        + "\"photonsMin\": 300, \"photonsMax\": 3000, \"readSigmaMin\": 5.0E-4, \"readSigmaMax\": 0.004, "
        + "\"jpegProbability\": 0, \"jpegQualityMin\": 70, \"jpegQualityMax\": 95, \"wbRedMin\": 1, \"wbRedMax\": 1, "
        + "\"wbBlueMin\": 1, \"wbBlueMax\": 1, \"rawBits\": 0, \"vignetteMax\": 0, \"fieldStopsMax\": 0, "
        + "\"lightProbability\": 0, \"lightsMax\": 0, \"lightBoostMin\": 1, \"lightBoostMax\": 1, \"chromaNr\": 0}, "
        + "\"model\": \"dark = k * EOTF(s)^gamma; y = Poisson(a * dark) / a + N(0, sigma^2); clip to [0, 1]; "
        + "s' = OETF(y); optional JPEG at quality q\"}",
        new Synthesizer.Options(Degradation.Params.LEGACY, -3, 1.0, 0, 1, 1, 5).toJson());
    JsonNode back = JsonFiles.parse(Degradation.Params.DEFAULT.toJson());
    assertEquals(Degradation.Params.DEFAULT.camera().lightBoostMax(), back.get("lightBoostMax").doubleValue(), 0);
    assertEquals(Degradation.Params.DEFAULT.exposureMin(), back.get("exposureMin").doubleValue(), 0);
  }

  @Test
  void producesPairsSplitsAndManifest() throws Exception {
    Path from = photos();
    Path out = dir.resolve("synth");
    // LEGACY: uniform exposure, so the brightness drop below is k·E[x^γ] (the camera stages are tested in DegradationTest).
    Synthesizer.Options o = new Synthesizer.Options(Degradation.Params.LEGACY, 7, 0.25, 128, 32, 3, 1_000_000);
    Synthesizer.Result r = Synthesizer.run(from, out, o);
    assertEquals(13, r.entries().size());
    assertEquals(1, r.failures().size());
    assertTrue(r.failures().get(0).startsWith("broken.png: not a recognised image format"), r.failures().get(0));
    assertTrue(Files.readString(out.resolve("failures.txt")).contains("broken.png"));
    assertTrue(r.testCount() >= 1 && r.trainCount() >= 1);
    assertEquals(13, r.testCount() + r.trainCount());

    List<String> lines = Files.readAllLines(out.resolve("manifest.jsonl"), StandardCharsets.UTF_8);
    assertEquals(13, lines.size());
    for (int i = 0; i < lines.size(); i++) {
      Synthesizer.Entry e = r.entries().get(i);
      String line = lines.get(i);
      assertTrue(line.contains("\"name\": \"" + e.name() + "\""), line);
      assertEquals(e.drawn().exposure(), num(line, "exposure"), 0, "exact value recorded");
      assertEquals(e.drawn().photons(), num(line, "photons"), 0);
      assertTrue(line.contains("\"split\": \"" + e.split() + "\""));
      JsonNode parsed = JsonFiles.parse(line);
      assertEquals(e.name(), parsed.get("name").textValue());
      assertEquals(e.drawn().gamma(), parsed.get("gamma").doubleValue(), 0, "round trip");
      assertEquals(e.meanLinearHigh(), parsed.get("meanLinearHigh").doubleValue(), 0);
      assertEquals(e.imageSeed(), parsed.get("imageSeed").longValue());
      // the files exist in the flat folders and in the split folders, same bytes
      Path lo = out.resolve("low/" + e.name() + ".png"), hi = out.resolve("high/" + e.name() + ".png");
      assertArrayEquals(Files.readAllBytes(lo), Files.readAllBytes(out.resolve(e.split() + "/low/" + e.name() + ".png")));
      assertArrayEquals(Files.readAllBytes(hi), Files.readAllBytes(out.resolve(e.split() + "/high/" + e.name() + ".png")));
      Image low = Images.read(lo), high = Images.read(hi);
      assertEquals(e.width(), low.width());
      assertEquals(e.height(), high.height());
      // recorded mean brightness matches the files, and the drop matches k·E[x^γ] roughly (noise, 8-bit)
      assertEquals(e.meanLinearLow(), Degradation.mean(Srgb.toLinear(low.rgb())), 1e-6);
      double ratio = e.meanLinearLow() / e.meanLinearHigh();
      assertTrue(ratio < e.drawn().exposure() * 1.2 + 0.01, "low is darker: ratio " + ratio + " for k " + e.drawn().exposure());
    }
    // maxSide fits the big image: 300x200 -> 128x85
    Synthesizer.Entry big = r.entries().stream().filter(e -> e.name().equals("big")).findFirst().orElseThrow();
    assertEquals(128, big.width());
    assertEquals(85, big.height());
    assertEquals(300, big.sourceWidth());
    assertTrue(r.entries().stream().anyMatch(e -> e.name().equals("pkg__sub__p1")));
    String params = Files.readString(out.resolve("params.json"));
    assertTrue(params.contains("\"seed\": 7") && params.contains("\"exposureMin\": 0.03"), params);
    assertEquals(o.toJson() + "\n", params);
    JsonNode p = JsonFiles.parse(params);
    assertEquals(0.25, p.get("testFraction").doubleValue());
    assertEquals(Degradation.Params.LEGACY.readSigmaMin(), p.get("degradation").get("readSigmaMin").doubleValue(), 0);

    // the output opens as a dataset
    PairedDataset train = DatasetLayouts.open(out, Split.TRAIN);
    assertEquals(DatasetLayouts.Layout.SPLIT_FOLDERS, DatasetLayouts.detect(out));
    assertEquals(r.trainCount(), train.size());
    assertEquals(13, DatasetLayouts.open(out, Split.ALL).size());
  }

  @Test
  void deterministicAcrossThreadCountsAndReruns() throws Exception {
    Path from = photos();
    Synthesizer.Options one = new Synthesizer.Options(Degradation.Params.DEFAULT.withJpeg(0.5, 50, 90), 3, 0.2, 96, 16, 1, 1_000_000);
    Synthesizer.Options four = new Synthesizer.Options(one.params(), 3, 0.2, 96, 16, 4, 1_000_000);
    Synthesizer.Result a = Synthesizer.run(from, dir.resolve("a"), one);
    Synthesizer.Result b = Synthesizer.run(from, dir.resolve("b"), four);
    assertEquals(a.entries(), b.entries());
    for (Synthesizer.Entry e : a.entries()) {
      assertArrayEquals(Files.readAllBytes(dir.resolve("a/low/" + e.name() + ".png")),
          Files.readAllBytes(dir.resolve("b/low/" + e.name() + ".png")), e.name());
    }
    // rerun into the same folder replaces it; another seed gives other draws
    Synthesizer.Result c = Synthesizer.run(from, dir.resolve("a"),
        new Synthesizer.Options(one.params(), 4, 0.2, 96, 16, 2, 1_000_000));
    assertFalse(a.entries().get(0).drawn().equals(c.entries().get(0).drawn()));
    // the per-image generator reproduces a pair from the manifest alone
    Synthesizer.Entry e = c.entries().get(0);
    SplittableRandom rng = new SplittableRandom(e.imageSeed());
    assertEquals(e.drawn(), Degradation.draw(one.params(), rng));
  }

  @Test
  void refusesForeignOutputFolders() throws Exception {
    Path from = photos();
    Path out = dir.resolve("user");
    Files.createDirectories(out.resolve("low"));
    Files.writeString(out.resolve("low/keep.txt"), "user data");
    assertThrows(IllegalArgumentException.class, () -> Synthesizer.run(from, out, Degradation.Params.DEFAULT, 1));
    assertTrue(Files.exists(out.resolve("low/keep.txt")));
    assertThrows(IllegalArgumentException.class, () -> Synthesizer.run(from.resolve("pkg"), from, Degradation.Params.DEFAULT, 1));
  }

  /** Hidden names are skipped as PairedDataset skips them: every pair reported is a pair read back. */
  @Test
  void skipsHiddenFilesAndFoldersAsTheReaderDoes() throws Exception {
    Path from = dir.resolve("hidden-photos");
    Files.createDirectories(from.resolve(".hidden"));
    Files.createDirectories(from.resolve("sub"));
    Images.write(DegradationTest.smoothImage(64, 48), from.resolve("a.png"));
    Images.write(DegradationTest.smoothImage(64, 48), from.resolve("sub/b.png"));
    Images.write(DegradationTest.smoothImage(64, 48), from.resolve(".dot.png"));
    Images.write(DegradationTest.smoothImage(64, 48), from.resolve(".hidden/h.png"));
    Path out = dir.resolve("hidden-out");
    Synthesizer.Result r = Synthesizer.run(from, out,
        new Synthesizer.Options(Degradation.Params.LEGACY, 1, 0.5, 0, 16, 1, 1_000_000));
    assertEquals(List.of("a", "sub__b"), r.entries().stream().map(Synthesizer.Entry::name).toList());
    assertEquals(2, r.hiddenSkipped());
    assertTrue(r.failures().isEmpty(), r.failures().toString());
    assertEquals(r.entries().size(), DatasetLayouts.open(out, Split.ALL).size());
    assertEquals(r.testCount(), DatasetLayouts.open(out, Split.TEST).size());
    assertEquals(1, r.testCount());
  }

  /** The split is settled among the pairs written: sources picked for test that fail to decode leave none. */
  @Test
  void testSplitHasAPairWhenTheSourcesPickedForItFail() throws Exception {
    Path from = dir.resolve("mostly-broken");
    Files.createDirectories(from);
    List<String> good = List.of("good0", "good1");
    for (String n : good) Images.write(DegradationTest.smoothImage(64, 48), from.resolve(n + ".png"));
    byte[] png = Files.readAllBytes(from.resolve("good0.png"));
    List<String> all = new java.util.ArrayList<>(good);
    for (int i = 0; i < 6; i++) {
      Files.write(from.resolve("cut" + i + ".png"), java.util.Arrays.copyOf(png, png.length / 2));
      all.add("cut" + i);
    }
    double fraction = 0.2;
    long seed = 0; // a seed whose test pick among all names is only broken files
    while (good.stream().anyMatch(Synthesizer.chooseTest(all, seed, fraction)::contains)) seed++;
    Synthesizer.Result r = Synthesizer.run(from, dir.resolve("out"),
        new Synthesizer.Options(Degradation.Params.LEGACY, seed, fraction, 0, 16, 1, 1_000_000));
    assertEquals(6, r.failures().size(), r.failures().toString());
    assertEquals(1, r.testCount());
    assertEquals(1, r.trainCount());
    assertEquals(1, DatasetLayouts.open(dir.resolve("out"), Split.TEST).size());
    assertEquals(1, DatasetLayouts.open(dir.resolve("out"), Split.TRAIN).size());
    String test = r.entries().stream().filter(e -> e.split().equals("test")).findFirst().orElseThrow().name();
    assertTrue(Files.readString(dir.resolve("out/manifest.jsonl")).contains("\"name\": \"" + test
        + "\", \"source\": \"" + test + ".png\", \"split\": \"test\""));
    // --test-fraction 0: no test split at all
    Synthesizer.Result none = Synthesizer.run(from, dir.resolve("none"),
        new Synthesizer.Options(Degradation.Params.LEGACY, seed, 0, 0, 16, 1, 1_000_000));
    assertEquals(0, none.testCount());
    assertEquals(2, none.trainCount());
  }

  /** --min-side judges the photo, not what --max-side made of it: 320x240 fitted to 64x48 is kept at min 64. */
  @Test
  void minSideAppliesToTheSourcePhoto() throws Exception {
    Path from = dir.resolve("min-side");
    Files.createDirectories(from);
    Images.write(DegradationTest.smoothImage(320, 240), from.resolve("big.png"));
    Images.write(DegradationTest.smoothImage(320, 40), from.resolve("thin.png"));
    Images.write(DegradationTest.smoothImage(640, 64), from.resolve("long.png"));
    Synthesizer.Result r = Synthesizer.run(from, dir.resolve("min-out"),
        new Synthesizer.Options(Degradation.Params.LEGACY, 1, 0, 64, 64, 1, 1_000_000));
    assertEquals(List.of("big"), r.entries().stream().map(Synthesizer.Entry::name).toList(), r.failures().toString());
    assertEquals(64, r.entries().get(0).width());
    assertEquals(List.of("long.png: fitted to the maximum side (--max-side) 64 it is 64x6, below the smallest training"
        + " patch 32x32", "thin.png: 320x40 has a shorter side below the minimum side (--min-side) 64"), r.failures());
  }

  /** A run stopped part-way (Ctrl-C) leaves its marker: the rerun replaces that output instead of refusing it. */
  @Test
  void rerunReplacesAnInterruptedRun() throws Exception {
    Path from = photos();
    Path out = dir.resolve("stopped");
    Synthesizer.Options o = new Synthesizer.Options(Degradation.Params.LEGACY, 1, 0.2, 96, 16, 2, 1_000_000);
    Synthesizer.run(from, out, o);
    assertFalse(Files.exists(out.resolve(Synthesizer.INCOMPLETE)), "a finished run removes its marker");
    // what a run stopped after writing some pairs leaves: the pair folders and the marker, no metadata yet
    Files.delete(out.resolve("manifest.jsonl"));
    Files.delete(out.resolve("params.json"));
    Files.writeString(out.resolve(Synthesizer.INCOMPLETE), "stopped");
    Files.writeString(out.resolve("low/stale.png"), "half-written");
    Synthesizer.Result r = Synthesizer.run(from, out, o);
    assertEquals(13, r.entries().size());
    assertFalse(Files.exists(out.resolve("low/stale.png")));
    assertFalse(Files.exists(out.resolve(Synthesizer.INCOMPLETE)));
    assertTrue(Files.exists(out.resolve("manifest.jsonl")));
    // pair folders with neither manifest nor marker are someone else's: refused, untouched
    Path user = dir.resolve("user-owned");
    Files.createDirectories(user.resolve("train"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Synthesizer.run(from, user, o));
    assertTrue(e.getMessage().contains("already has a 'train' folder"), e.getMessage());
    assertFalse(Files.exists(user.resolve(Synthesizer.INCOMPLETE)));
  }

  /** A run refused for want of sources creates nothing. */
  @Test
  void noSourcesCreatesNoOutput() throws Exception {
    Path empty = Files.createDirectories(dir.resolve("empty"));
    Files.writeString(empty.resolve("notes.txt"), "no images here");
    Path out = dir.resolve("never/made");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Synthesizer.run(empty, out, Degradation.Params.DEFAULT, 1));
    assertTrue(e.getMessage().startsWith("no image files"), e.getMessage());
    assertFalse(Files.exists(dir.resolve("never")));
  }

  /** The collision rule data.md documents, and failures.txt's line ends. */
  @Test
  void collidingNamesGetTheirExtension() throws Exception {
    Path src = dir.resolve("c");
    List<Path> files = List.of(src.resolve("a.jpg"), src.resolve("a.png"), src.resolve("A.webp"),
        src.resolve("x/y z.png"));
    assertEquals(List.of("a", "a_png", "A_webp", "x__y_z"), Synthesizer.uniqueNames(src, files));
    Path from = photos();
    Synthesizer.run(from, dir.resolve("f"), new Synthesizer.Options(Degradation.Params.LEGACY, 1, 0.2, 96, 16, 2,
        1_000_000));
    assertTrue(Files.readString(dir.resolve("f/failures.txt")).endsWith("\n"), "each line ends in a newline");
  }

  /**
   * A photo added beside one of the same stem keeps the earlier pair's name (and so its seed, split and files) and
   * gets a new one, in either path order, also when the rerun before was stopped; until then x.jpg added beside x.png
   * took the name x and renamed the existing pair to x_png.
   */
  @Test
  void addedSourcesLeaveTheNamesOfEarlierPairs() throws Exception {
    Path from = Files.createDirectories(dir.resolve("stems"));
    Path out = dir.resolve("stems-out");
    Synthesizer.Options o = new Synthesizer.Options(Degradation.Params.LEGACY, 1, 0.5, 96, 16, 1, 1_000_000);
    Images.write(DegradationTest.smoothImage(96, 64), from.resolve("x.png"));
    Images.write(DegradationTest.smoothImage(80, 64), from.resolve("y.png"));
    Synthesizer.Result first = Synthesizer.run(from, out, o);
    byte[] low = Files.readAllBytes(out.resolve("low/x.png"));
    Images.write(DegradationTest.smoothImage(72, 64), from.resolve("x.jpg")); // sorts before x.png
    Images.write(DegradationTest.smoothImage(64, 64), from.resolve("y.tif")); // sorts after y.png
    Synthesizer.Result second = Synthesizer.run(from, out, o);
    assertEquals(List.of("x", "x_jpg", "y", "y_tif"), second.entries().stream().map(Synthesizer.Entry::name).toList());
    assertEquals("x.png", second.entries().get(0).source());
    assertArrayEquals(low, Files.readAllBytes(out.resolve("low/x.png")), "the earlier pair is made again as it was");
    assertEquals(first.entries().get(0), second.entries().get(0));
    // a rerun that was stopped leaves the marker beside the last finished run's manifest: its names still hold
    Files.writeString(out.resolve(Synthesizer.INCOMPLETE), "stopped");
    Images.write(DegradationTest.smoothImage(64, 72), from.resolve("x.bmp"));
    Synthesizer.Result third = Synthesizer.run(from, out, o);
    assertEquals(List.of("x", "x_bmp", "x_jpg", "y", "y_tif"),
        third.entries().stream().map(Synthesizer.Entry::name).toList());
    assertEquals("x.bmp", third.entries().get(1).source());
    assertFalse(Files.exists(out.resolve(Synthesizer.INCOMPLETE)));
    // a fresh output folder names in path order; a name a manifest could not hold is not taken from it
    Path src = dir.resolve("c");
    List<Path> files = List.of(src.resolve("a.jpg"), src.resolve("a.png"));
    assertEquals(List.of("a_jpg", "a"), Synthesizer.uniqueNames(src, files, java.util.Map.of("a.png", "a")));
    Path edited = Files.createDirectories(dir.resolve("edited"));
    Files.writeString(edited.resolve("manifest.jsonl"), "{\"name\":\"../a\",\"source\":\"a.png\"}\nnot JSON\n"
        + "{\"name\":\"b\",\"source\":\"b.png\"}\n");
    assertEquals(java.util.Map.of("b.png", "b"), Synthesizer.earlierNames(edited));
  }

  @Test
  void splitIsStableAndNearTheFraction() {
    int test = 0;
    for (int i = 0; i < 10_000; i++) if (Synthesizer.isTest("photo" + i, 11, 0.1)) test++;
    // binomial(10000, 0.1): sd 30
    assertEquals(1000, test, 150);
    assertEquals(Synthesizer.isTest("x", 5, 0.3), Synthesizer.isTest("x", 5, 0.3));
  }
}
