/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.deepspg.io.JsonFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** EvalReport: means, throughput, JSON (parsed back) and the text table. */
class EvalReportTest {
  /** Means of a few doubles: exact up to float64 summation rounding. */
  private static final double TOL = 1e-12;

  private static EvalReport sample() {
    EvalReport r = new EvalReport("DeepSPG-S \"LOL\"\tv1", Metrics.GrayWeights.RETINEXFORMER_CODE);
    r.add(new EvalReport.ImageResult("1.png", 20.0, 0.8, 25.0, 0.85, 0.5));
    r.add(new EvalReport.ImageResult("22.png", 30.0, 0.9, 31.0, 0.95, 1.5).withColor(0.25, 12.0));
    r.add(EvalReport.ImageResult.of("n\u00e4me\\3.png", new Metrics.Scores(100.0, 1.0, 100.0, 1.0, 1.0), 0.0));
    return r;
  }

  @Test
  void meansAndThroughput() {
    EvalReport r = sample();
    assertEquals(3, r.count());
    assertEquals(50.0, r.meanPsnr(), TOL);
    assertEquals((0.8 + 0.9 + 1.0) / 3, r.meanSsim(), TOL);
    assertEquals(52.0, r.meanPsnrGtMean(), TOL);
    assertEquals((0.85 + 0.95 + 1.0) / 3, r.meanSsimGtMean(), TOL);
    assertEquals(0.25, r.meanNewlyClipped(), TOL, "means of the colour measures skip images without them");
    assertEquals(12.0, r.meanHueError(), TOL);
    assertEquals(3 / 2.0, r.imagesPerSecond(), TOL, "count / sum of per-image seconds");
    r.setWallSeconds(6.0);
    assertEquals(0.5, r.imagesPerSecond(), TOL, "wall time wins once set");
    assertThrows(IllegalArgumentException.class, () -> r.setWallSeconds(0));
  }

  @Test
  void jsonHasTheProtocolKeysAndParsesBack(@TempDir Path tmp) throws Exception {
    EvalReport r = sample();
    Path file = tmp.resolve("sub/report.json");
    r.writeJson(file, true);
    JsonNode m = JsonFiles.readTree(file);
    List<String> keys = new ArrayList<>();
    m.fieldNames().forEachRemaining(keys::add);
    assertEquals(
        List.of("psnr", "ssim", "psnr_gtmean", "ssim_gtmean", "newly_clipped", "hue_error_deg", "count", "name",
            "gray_weights", "images_per_second", "per_image"),
        keys);
    assertEquals(r.meanPsnr(), num(m.get("psnr")), 0.0, "shortest round-trip doubles");
    assertEquals(r.meanSsim(), num(m.get("ssim")), 0.0);
    assertEquals(r.meanPsnrGtMean(), num(m.get("psnr_gtmean")), 0.0);
    assertEquals(r.meanSsimGtMean(), num(m.get("ssim_gtmean")), 0.0);
    assertEquals(3.0, num(m.get("count")));
    assertEquals("DeepSPG-S \"LOL\"\tv1", m.get("name").textValue());
    assertEquals("RETINEXFORMER_CODE", m.get("gray_weights").textValue());
    assertEquals(1.5, num(m.get("images_per_second")), TOL);
    JsonNode per = m.get("per_image");
    assertEquals(3, per.size());
    assertEquals("n\u00e4me\\3.png", per.get(2).get("name").textValue());
    for (int i = 0; i < 3; i++) {
      EvalReport.ImageResult back = JsonFiles.mapper().treeToValue(per.get(i), EvalReport.ImageResult.class);
      EvalReport.ImageResult orig = r.results().get(i);
      assertEquals(orig.name(), back.name());
      assertEquals(orig.psnr(), back.psnr(), 0.0);
      assertEquals(orig.ssimGtMean(), back.ssimGtMean(), 0.0);
      assertEquals(orig.seconds(), back.seconds(), 0.0);
    }
    assertEquals(31.0, num(per.get(1).get("psnr_gtmean")));
    assertEquals(1.5, num(per.get(1).get("seconds")));
    assertEquals(0.25, num(per.get(1).get("newly_clipped")));
    assertEquals(12.0, num(per.get(1).get("hue_error_deg")));
    assertTrue(per.get(0).get("hue_error_deg").isNull(), "not measured: null");
    assertEquals(0.25, num(m.get("newly_clipped")));

    JsonNode brief = JsonFiles.parse(r.toJson(false));
    assertTrue(!brief.has("per_image"));
    assertTrue(Files.readString(file).endsWith("}\n"));
  }

  @Test
  void emptyReportWritesNullsNotNaN() {
    EvalReport r = new EvalReport("empty", Metrics.GrayWeights.REC601);
    String json = r.toJson(true);
    assertTrue(!json.contains("NaN"), json);
    JsonNode m = JsonFiles.parse(json);
    assertTrue(m.get("psnr").isNull());
    assertTrue(m.get("images_per_second").isNull());
    assertEquals(0.0, num(m.get("count")));
    assertTrue(m.get("per_image").isArray() && m.get("per_image").isEmpty());
  }

  /** The file layout scripts and people read: one member per line, one line per image, as before Jackson. */
  @Test
  void jsonLayoutIsStable() {
    EvalReport r = new EvalReport("run", Metrics.GrayWeights.REC601);
    r.add(new EvalReport.ImageResult("a.png", 20.5, 0.75, 21.0, 0.8, 0.25));
    r.add(new EvalReport.ImageResult("b.png", 30.0, 0.5, 31.0, 0.5, 0.25).withColor(0.125, 3.5));
    assertEquals("{\n"
        + "  \"psnr\": 25.25,\n"
        + "  \"ssim\": 0.625,\n"
        + "  \"psnr_gtmean\": 26.0,\n"
        + "  \"ssim_gtmean\": 0.65,\n"
        + "  \"newly_clipped\": 0.125,\n"
        + "  \"hue_error_deg\": 3.5,\n"
        + "  \"count\": 2,\n"
        + "  \"name\": \"run\",\n"
        + "  \"gray_weights\": \"REC601\",\n"
        + "  \"images_per_second\": 4.0,\n"
        + "  \"per_image\": [\n"
        + "    {\"name\": \"a.png\", \"psnr\": 20.5, \"ssim\": 0.75, \"psnr_gtmean\": 21.0, \"ssim_gtmean\": 0.8, "
        + "\"seconds\": 0.25, \"newly_clipped\": null, \"hue_error_deg\": null},\n"
        + "    {\"name\": \"b.png\", \"psnr\": 30.0, \"ssim\": 0.5, \"psnr_gtmean\": 31.0, \"ssim_gtmean\": 0.5, "
        + "\"seconds\": 0.25, \"newly_clipped\": 0.125, \"hue_error_deg\": 3.5}\n"
        + "  ]\n"
        + "}\n", r.toJson(true));
  }

  @Test
  void concurrentAddsAreAllCounted() {
    EvalReport r = new EvalReport("par", Metrics.GrayWeights.REC601);
    IntStream.range(0, 1000).parallel()
        .forEach(i -> r.add(new EvalReport.ImageResult("i" + i, i, 0.5, i, 0.5, 0.01)));
    assertEquals(1000, r.count());
    assertEquals(499.5, r.meanPsnr(), 1e-9);
  }

  @Test
  void tableListsEveryRun() {
    EvalReport a = sample();
    EvalReport b = new EvalReport("identity", Metrics.GrayWeights.REC601);
    String t = EvalReport.table(List.of(a, b));
    String[] lines = t.split("\n");
    assertEquals(4, lines.length, t);
    assertTrue(lines[0].contains("PSNR") && lines[0].contains("SSIM(GTm)"), t);
    assertTrue(lines[2].contains("50.00") && lines[2].contains("0.9000") && lines[2].contains("52.00"), t);
    assertTrue(lines[2].contains("1.50"), t);
    assertTrue(lines[3].startsWith("identity") && lines[3].contains("-"), t);
    assertEquals(lines[0].length(), lines[2].length(), "fixed-width columns");
    assertEquals(a.toTable(), EvalReport.table(List.of(a)));
  }

  /** A JSON number as a double, failing for anything else. */
  private static double num(JsonNode v) {
    assertTrue(v.isNumber(), "not a number: " + v);
    return v.doubleValue();
  }
}
