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
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.deepspg.data.Images;
import org.deepspg.infer.InferTestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code deepspg demo}: before/after page with relative links that resolve. */
class DemoCommandTest {
  @Test
  void writesPairsAndAnIndexWithRelativeLinks(@TempDir Path dir) throws IOException {
    Path model = InferTestSupport.exportRandom(dir, "tiny.pth", InferTestSupport.tinyBaseline(), 1);
    Path samples = Files.createDirectories(dir.resolve("samples"));
    Images.write(InferTestSupport.darkImage(24, 32, 1), samples.resolve("one.jpg"));
    Images.write(InferTestSupport.darkImage(20, 36, 2), samples.resolve("two words.png"));
    Images.write(InferTestSupport.darkImage(16, 20, 3), samples.resolve("three.tif")); // no browser shows it
    Path out = dir.resolve("demo");
    CliTestSupport.Result r = CliTestSupport.run("demo", "--samples", samples.toString(), "-o", out.toString(),
        "--model", model.toString());
    assertEquals(0, r.code(), r.all());
    String html = Files.readString(out.resolve("index.html"));
    Matcher m = Pattern.compile("<img src=\"([^\"]+)\"").matcher(html);
    List<String> links = new ArrayList<>();
    while (m.find()) links.add(m.group(1));
    assertEquals(6, links.size(), html);
    for (String l : links) {
      assertTrue(!l.startsWith("/") && !l.contains(":"), "relative link " + l);
      assertTrue(DemoCommand.BROWSER_FORMATS.contains(Images.extension(Path.of(l))), "a browser shows " + l);
      Path target = out.resolve(l.replace("%20", " "));
      assertTrue(Files.isRegularFile(target), "link resolves: " + l);
      Images.read(target); // a readable image
    }
    assertTrue(links.contains("enhanced/two%20words.png"), links.toString());
    assertTrue(links.contains("enhanced/three.tif.png") && html.contains("<a href=\"enhanced/three.tif\">"), html);
    assertTrue(Files.isRegularFile(out.resolve("enhanced/three.tif")), "the TIFF output is kept as the output");
  }

  /** Found by the CLI audit of session 32: both cases replaced a file with exit code 0. */
  @Test
  void neverOverwritesASampleOrOneResultWithAnother(@TempDir Path dir) throws IOException {
    Path model = InferTestSupport.exportRandom(dir, "tiny.pth", InferTestSupport.tinyBaseline(), 1);
    // --samples OUT/enhanced: the enhanced image would replace its own sample
    Path out = dir.resolve("y");
    Path samples = Files.createDirectories(out.resolve("enhanced"));
    Images.write(InferTestSupport.darkImage(24, 32, 1), samples.resolve("a.png"));
    byte[] before = Files.readAllBytes(samples.resolve("a.png"));
    CliTestSupport.Result r = CliTestSupport.run("demo", "--samples", samples.toString(), "-o", out.toString(),
        "--model", model.toString());
    assertEquals(2, r.code(), r.all());
    assertTrue(r.err().contains("would overwrite the sample"), r.err());
    assertArrayEquals(before, Files.readAllBytes(samples.resolve("a.png")));
    // w.png and w.webp both map to enhanced/w.png: the second is skipped and reported, the page shows the first
    Path z = Files.createDirectories(dir.resolve("z"));
    Images.write(InferTestSupport.darkImage(24, 32, 2), z.resolve("w.png"));
    Files.write(z.resolve("w.webp"), java.util.Base64.getDecoder().decode( // 6x4 lossless (ImagesTest)
        "UklGRi4AAABXRUJQVlA4TCIAAAAvBcAAAJkyRPQ/NhHR/4BCthGggc1f7B6GQZmImACgFMwP"));
    CliTestSupport.Result d = CliTestSupport.run("demo", "--samples", z.toString(), "-o", dir.resolve("zo").toString(),
        "--model", model.toString());
    assertEquals(1, d.code(), d.all());
    assertTrue(d.err().contains("w.webp: its output enhanced/w.png is already the output of"), d.err());
  }

  @Test
  void missingSamplesOrModelIsAUsageError(@TempDir Path dir) {
    assertEquals(2, CliTestSupport.run("demo", "--samples", dir.resolve("none").toString(), "-o",
        dir.resolve("o").toString()).code());
  }

  /** The repository's samples are found and there are 4-6 of them with an attribution file. */
  @Test
  void bundledSamplesExist() throws IOException {
    Path s = DemoCommand.findSamples();
    if (s == null) s = Path.of("../samples");
    assertTrue(Files.isDirectory(s), "samples folder");
    long n;
    try (var st = Files.list(s)) {
      n = st.filter(Images::hasImageExtension).count();
    }
    assertTrue(n >= 4 && n <= 6, n + " samples");
    assertTrue(Files.isRegularFile(s.resolve("ATTRIBUTION.md")));
  }
}
