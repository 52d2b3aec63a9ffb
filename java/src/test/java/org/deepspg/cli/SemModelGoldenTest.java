/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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

  @Test
  void enhanceWithThePriorMatchesTheReference() throws Exception {
    Path prior = priorWeights();
    UserPathGoldenTest.assertCliMatchesReferences("s-sem", work, golden, names,
        List.of("--model", "s-sem", "--prior-weights", prior.toString()));
  }

  @Test
  void javaApiMatchesTheReference() throws Exception {
    Path prior = priorWeights();
    try (Enhancer e = Enhancer.builder().bundled("s-sem").priorWeights(prior).build()) {
      UserPathGoldenTest.assertApiMatchesReferences("s-sem", e, golden, names);
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
