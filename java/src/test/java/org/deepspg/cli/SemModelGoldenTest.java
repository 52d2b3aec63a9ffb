/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.deepspg.data.Image;
import org.deepspg.data.Images;
import org.deepspg.eval.Metrics;
import org.deepspg.infer.Enhancer;
import org.deepspg.testing.PriorFixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bundled semantic model {@code s-sem} on the user's path: {@code deepspg enhance --model s-sem --prior-weights
 * FILE} and the Java API against reference outputs ({@code golden/s-sem/*.png}) that the spec's PyTorch reference
 * program computed with only the ESPNetv2 prior's feature maps carried over from Java ({@code
 * scripts/make_user_path_golden.py --features}; the prior itself is pinned to the upstream implementation by the
 * ESPNetv2 parity tests). Needs the user's ESPNetv2 s = 0.5 Cityscapes weights from {@code ../shared/priors};
 * skipped without them, except the check that the model without them is refused with one line.
 */
class SemModelGoldenTest {
  static final String PRIOR_FILE = "espnetv2_s_0.5_city_1024x512.pth";

  @TempDir static Path work;
  static Path golden;
  static List<String> names;

  @BeforeAll
  static void locate() throws Exception {
    golden = UserPathGoldenTest.goldenFolder("s-sem");
    names = UserPathGoldenTest.referenceNames(golden);
    assertEquals(2, names.size(), "two reference outputs");
  }

  private static Path priorWeights() {
    Path p = PriorFixtures.espnetWeights(PRIOR_FILE);
    assumeTrue(p != null && Files.isRegularFile(p), "ESPNetv2 weights not found beside the checkout (../shared)");
    return p;
  }

  private static List<Path> samples() {
    Path repo = Path.of("").toAbsolutePath().getParent();
    return names.stream().map(n -> repo.resolve("samples").resolve(n + ".jpg")).toList();
  }

  @Test
  void enhanceWithThePriorMatchesTheReference() throws Exception {
    Path prior = priorWeights();
    Path out = work.resolve("cli");
    List<String> cmd = new ArrayList<>(List.of("enhance"));
    for (String n : names) cmd.add("samples/" + n + ".jpg");
    cmd.addAll(List.of("-o", out.toString(), "--model", "s-sem", "--prior-weights", prior.toString()));
    UserPathGoldenTest.Run r = UserPathGoldenTest.fork(work, UserPathGoldenTest.Config.DEFAULT, cmd);
    assertEquals(0, r.code(), r.log());
    for (String n : names) {
      double p = UserPathGoldenTest.psnrAgainstReference(out.resolve(n + ".jpg"), golden.resolve(n + ".png"), work);
      System.out.printf(Locale.ROOT, "[s-sem cli] %s: %.2f dB%n", n, p);
      assertTrue(p >= UserPathGoldenTest.MIN_PSNR, String.format(Locale.ROOT, "%s: %.2f dB against the reference\n%s",
          n, p, r.log()));
    }
  }

  @Test
  void javaApiMatchesTheReference() throws Exception {
    Path prior = priorWeights();
    try (Enhancer e = Enhancer.builder().bundled("s-sem").priorWeights(prior).build()) {
      List<Path> in = samples();
      for (int i = 0; i < names.size(); i++) {
        Image got = e.enhance(in.get(i));
        Image ref = Images.read(golden.resolve(names.get(i) + ".png"));
        double p = Metrics.psnr(UserPathGoldenTest.quantized(got.rgb()), ref.rgb());
        System.out.printf(Locale.ROOT, "[s-sem api] %s: %.2f dB%n", names.get(i), p);
        assertTrue(p >= UserPathGoldenTest.MIN_PSNR, String.format(Locale.ROOT, "%s: %.2f dB", names.get(i), p));
      }
    }
  }

  /** Runs everywhere: without the prior's file, one line that names the file that fits and where it comes from. */
  @Test
  void withoutThePriorOneLineNamesTheFile() {
    CliTestSupport.Result r = CliTestSupport.run("enhance", "../samples/" + names.get(0) + ".jpg", "-o",
        work.resolve("none").toString(), "--model", "s-sem");
    assertEquals(2, r.code(), r.out() + r.err());
    assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
    assertTrue(r.err().contains(PRIOR_FILE) && r.err().contains("github.com/sacmehta/EdgeNets")
        && r.err().contains("--prior-weights"), r.err());
    assertTrue(Files.notExists(work.resolve("none").resolve(names.get(0) + ".jpg")));
  }
}
