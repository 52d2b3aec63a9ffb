/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.deepspg.data.Image;
import org.deepspg.data.Images;
import org.deepspg.data.WriteOptions;
import org.deepspg.eval.Metrics;
import org.deepspg.infer.Enhancer;
import org.deepspg.infer.TileOptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The default path of a photo above 0.5 MP, which {@code deepspg enhance} runs in tiles: the bundled model on a
 * 768×704 photo (the sample picos-de-europa.jpg reflected at its bottom and right edges), in a fresh JVM and through
 * the Java API, against the reference output of the whole image ({@code golden/user-path-tiled/}) computed without this
 * project's Java or native code by {@code scripts/make_user_path_golden.py --tiled}. The long side is the attention
 * context's (768), so the tiles replay the whole image's attention and must reproduce it; the samples of {@link
 * UserPathGoldenTest} are all below 0.5 MP and never exercise the tile plan, the blending or the context pass.
 */
class TiledUserPathGoldenTest {
  static final String NAME = "picos-de-europa-768x704";
  static final int WIDTH = 768;
  static final int HEIGHT = 704;

  @TempDir static Path work;
  static Path reference;
  static Path input;

  @BeforeAll
  static void prepare() throws Exception {
    reference = UserPathGoldenTest.goldenFolder("user-path-tiled").resolve(NAME + ".png");
    assertTrue(Files.isRegularFile(reference), reference.toString());
    Path repo = Path.of("").toAbsolutePath().getParent(); // surefire runs in java/
    Image sample = Images.read(repo.resolve("samples/picos-de-europa.jpg"));
    input = work.resolve("in").resolve(NAME + ".png");
    Files.createDirectories(input.getParent());
    Images.write(reflected(sample, WIDTH, HEIGHT), input, WriteOptions.DEFAULT);
  }

  /** numpy's {@code pad(mode='reflect')} at the bottom and right: the edge row and column are not repeated. */
  static Image reflected(Image src, int width, int height) {
    int w = src.width(), h = src.height();
    assertTrue(width <= 2 * w - 1 && height <= 2 * h - 1, "one reflection only");
    float[] in = src.rgb();
    float[] out = new float[3 * width * height];
    for (int c = 0; c < 3; c++) {
      for (int y = 0; y < height; y++) {
        int sy = y < h ? y : 2 * (h - 1) - y;
        for (int x = 0; x < width; x++) {
          int sx = x < w ? x : 2 * (w - 1) - x;
          out[(c * height + y) * width + x] = in[(c * h + sy) * w + sx];
        }
      }
    }
    return Image.of(width, height, out);
  }

  @Test
  void theDefaultsTileThisPhoto() throws Exception {
    assertTrue((long) WIDTH * HEIGHT > TileOptions.DEFAULT_MAX_WHOLE_PIXELS, "above the whole-image limit");
    assertTrue(Math.max(WIDTH, HEIGHT) <= TileOptions.DEFAULT_CONTEXT, "the context is the whole image");
    try (Enhancer e = Enhancer.builder().build()) {
      assertTrue(e.passes(HEIGHT, WIDTH) > 1, "runs as tiles: " + e.passes(HEIGHT, WIDTH));
    }
  }

  @Test
  void enhanceWithDefaultsMatchesTheWholeImageReference() throws Exception {
    Path out = work.resolve("cli");
    UserPathGoldenTest.Run r = UserPathGoldenTest.fork(work, UserPathGoldenTest.Config.DEFAULT,
        List.of("enhance", input.toString(), "-o", out.toString()));
    assertEquals(0, r.code(), r.log());
    Image got = Images.read(out.resolve(NAME + ".png"));
    double p = Metrics.psnr(got.rgb(), Images.read(reference).rgb());
    System.out.printf(Locale.ROOT, "[tiled cli] %s: %.2f dB%n", NAME, p);
    assertTrue(p >= UserPathGoldenTest.MIN_PSNR, String.format(Locale.ROOT, "%.2f dB against the reference\n%s", p,
        r.log()));
  }

  @Test
  void javaApiMatchesTheWholeImageReference() throws Exception {
    try (Enhancer e = Enhancer.builder().build()) {
      Image got = e.enhance(input);
      assertEquals(e.passes(HEIGHT, WIDTH), e.stats().tiles(), "tiled");
      double p = Metrics.psnr(UserPathGoldenTest.quantized(got.rgb()), Images.read(reference).rgb());
      System.out.printf(Locale.ROOT, "[tiled api] %s: %.2f dB%n", NAME, p);
      assertTrue(p >= UserPathGoldenTest.MIN_PSNR, String.format(Locale.ROOT, "%.2f dB against the reference", p));
    }
  }

  /**
   * A context smaller than the photo (half its long side here, as the default 768 px is for a 1536-px photo): the
   * downscaled copy's attention is visibly off the reference (a global shift of about 5/255 with this model), and one
   * refinement pass brings the tiles to it.
   */
  @Test
  void aRefinementPassBringsADownscaledContextToTheReference() throws Exception {
    float[] want = Images.read(reference).rgb();
    double[] p = new double[2];
    for (int passes = 0; passes < p.length; passes++) {
      TileOptions t = TileOptions.DEFAULT.withContextSize(WIDTH / 2).withRefinePasses(passes);
      try (Enhancer e = Enhancer.builder().tiling(t).build()) {
        p[passes] = Metrics.psnr(UserPathGoldenTest.quantized(e.enhance(input).rgb()), want);
      }
    }
    System.out.printf(Locale.ROOT, "[tiled api, context %d] %s: %.2f dB, %.2f dB with a refinement pass%n",
        WIDTH / 2, NAME, p[0], p[1]);
    assertTrue(p[0] < UserPathGoldenTest.MIN_PSNR, "the case at hand: the downscaled context is off, " + p[0] + " dB");
    assertTrue(p[1] >= UserPathGoldenTest.MIN_PSNR, String.format(Locale.ROOT, "%.2f dB against the reference", p[1]));
  }

  /**
   * {@code enhance --refine-context} on a photo larger than the context (1279×959, the sample reflected: its
   * context copy is 0.69 of its size), against whole-image inference of the same photo (in this JVM; whole images are
   * checked against the reference outputs by {@link UserPathGoldenTest}). Until session 39 the photo was 1152×704,
   * whose context copy was then fitted by the long side (0.67); fitted by its pixels (0.85) its default output is
   * 46.7 dB from the whole image's and a refinement pass gains nothing there.
   */
  @Test
  void enhanceRefinesTheContextOfALargerPhoto() throws Exception {
    Path big = work.resolve("big").resolve("picos-de-europa-1279x959.png");
    Files.createDirectories(big.getParent());
    Path repo = Path.of("").toAbsolutePath().getParent();
    Images.write(reflected(Images.read(repo.resolve("samples/picos-de-europa.jpg")), 1279, 959), big,
        WriteOptions.DEFAULT);
    float[] whole;
    double plain;
    try (Enhancer e = Enhancer.builder().tiling(TileOptions.never()).build();
        Enhancer tiled = Enhancer.builder().build()) {
      whole = UserPathGoldenTest.quantized(e.enhance(big).rgb());
      plain = Metrics.psnr(UserPathGoldenTest.quantized(tiled.enhance(big).rgb()), whole);
    }
    Path out = work.resolve("cli-refined");
    UserPathGoldenTest.Run r = UserPathGoldenTest.fork(work, UserPathGoldenTest.Config.DEFAULT,
        List.of("enhance", big.toString(), "-o", out.toString(), "--refine-context"));
    assertEquals(0, r.code(), r.log());
    double p = Metrics.psnr(Images.read(out.resolve(big.getFileName())).rgb(), whole);
    System.out.printf(Locale.ROOT, "[tiled cli] 1279x959: %.2f dB with --refine-context, %.2f dB without%n", p, plain);
    assertTrue(p >= plain + 5 && p >= UserPathGoldenTest.MIN_PSNR, String.format(Locale.ROOT,
        "%.2f dB with --refine-context, %.2f dB without\n%s", p, plain, r.log()));
  }
}
