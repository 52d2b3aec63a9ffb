/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.deepspg.testing.PriorFixtures;
import org.junit.jupiter.api.Test;

/** {@code deepspg info --prior espnetv2 --prior-weights FILE}. */
class InfoPriorCommandTest {
  @Test
  void withoutWeightsExitsTwoWithOneLineNamingTheFile() {
    CliTestSupport.Result r = CliTestSupport.run("info", "--prior", "espnetv2");
    assertEquals(2, r.code(), r.all());
    assertEquals(1, r.err().strip().lines().count(), r.err());
    assertTrue(r.err().contains("espnetv2_s_2.0_city_1024x512.pth") && r.err().contains("EdgeNets"), r.err());
    assertEquals(2, CliTestSupport.run("info", "--prior", "deeplab", "--prior-weights", "x.pth").code());
  }

  @Test
  void printsParametersClassesAndInputSize() {
    Path w = PriorFixtures.fixtures().getParent().resolve("priors/espnetv2/espnetv2_s_2.0_city_1024x512.pth");
    assumeTrue(Files.isRegularFile(w), "ESPNetv2 weights not found: " + w + " (../shared/priors/espnetv2)");
    CliTestSupport.Result r = CliTestSupport.run("info", "--prior", "espnetv2", "--prior-weights", w.toString());
    assertEquals(0, r.code(), r.all());
    assertTrue(r.out().lines().anyMatch(l -> l.equals("params: 789242")), r.out());
    assertTrue(r.out().contains("classes: 19 (road, sidewalk, building"), r.out());
    assertTrue(r.out().contains("bicycle); the file's 20th output was never trained"), r.out());
    assertTrue(r.out().contains("input size: 1024x512"), r.out());
  }
}
