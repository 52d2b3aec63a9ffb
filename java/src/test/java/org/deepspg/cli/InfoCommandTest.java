/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@code deepspg info --model / --hrnet}. */
class InfoCommandTest {
  /** The brief's tolerance on the spec's 6.63 G (§1.7). */
  private static final double GFLOPS_REL_TOL = 0.02;

  private static double value(String out, String key) {
    return Double.parseDouble(out.lines().filter(l -> l.startsWith(key + ": ")).findFirst()
        .orElseThrow(() -> new AssertionError("no '" + key + ":' line in\n" + out)).substring(key.length() + 2).trim());
  }

  @Test
  void reportsTheTunedAllocator() {
    CliTestSupport.Result r = CliTestSupport.run("info");
    assertEquals(0, r.code(), r.all());
    // glibc on every supported platform: the malloc tuning of Backends must have taken effect.
    assertTrue(r.out().lines().anyMatch(l -> l.startsWith("malloc: tuned (no mmap,")), r.out());
    assertTrue(r.out().lines().anyMatch(l -> l.startsWith("javacpp: RSS poll")), r.out());
    // the memory limit the JVM's view of the machine (or container) gives
    assertTrue(r.out().lines().anyMatch(l -> l.matches("memory limit: [0-9.]+ GB \\(80 % of [0-9.]+ GB of memory\\);.*")),
        r.out());
    // surefire runs the tests in the launcher's environment (java/pom.xml), which info reports back.
    assertTrue(r.out().lines().anyMatch(l -> l.startsWith("environment: ") && l.contains("MALLOC_ARENA_MAX=1")
        && l.contains("OPENBLAS_THREAD_TIMEOUT=4") && l.contains("OMP_WAIT_POLICY=PASSIVE")), r.out());
    // the direct convolution (priors, network inference) passed its self-check on this machine, with the ISA it uses
    assertTrue(r.out().lines().anyMatch(l -> l.matches("inference convolutions \\(priors, network\\): direct conv: "
        + "(avx512|avx2|generic) \\(self-check passed, max rel\\. error .*")),
        r.out());
    // and so did the fused feed-forward block that runs on it
    assertTrue(r.out().lines().anyMatch(l -> l.matches("network feed-forward blocks \\(inference\\): fused "
        + "feed-forward: on \\(self-check passed, max rel\\. error .*")), r.out());
    // and the positional branch's one pass
    assertTrue(r.out().lines().anyMatch(l -> l.matches("IG-MSA positional branch \\+ residual \\(inference\\): one "
        + "pass: on \\(self-check passed, max rel\\. error .*")), r.out());
    // and the folded attention + projection
    assertTrue(r.out().lines().anyMatch(l -> l.matches("IG-MSA attention \\+ projection \\(inference\\): folded: "
        + "on \\(self-check passed, max rel\\. error .*")), r.out());
    assertTrue(r.out().lines().anyMatch(l -> l.equals("decoder pixel shuffle (inference): native (self-check "
        + "passed)")), r.out());
    // and the up-sampling sums of HRNet's fuse layers and head
    assertTrue(r.out().lines().anyMatch(l -> l.matches("HRNet fuse and head sums \\(inference\\): up-sampling sums: "
        + "native \\(self-check passed, max rel\\. error .*")), r.out());
  }

  @Test
  void archS() {
    CliTestSupport.Result r = CliTestSupport.run("info", "--arch", "s");
    assertEquals(0, r.code(), r.all());
    assertTrue(r.out().lines().anyMatch(l -> l.equals("params: 567213")), r.out());
    double g = value(r.out(), "gflops");
    assertTrue(Math.abs(g - 6.63) <= GFLOPS_REL_TOL * 6.63, "gflops " + g);
  }

  @Test
  void archLAtAnotherSizeIsPaddedLikeInference() {
    CliTestSupport.Result r = CliTestSupport.run("info", "--arch", "l", "--size", "400x600");
    assertEquals(0, r.code(), r.all());
    assertEquals(2142593, (long) value(r.out(), "params"));
    // Cost scales with the padded pixel count: 24.771 G at 256^2 -> x (416*608)/256^2.
    assertEquals(24.771 * 416 * 608 / (256.0 * 256), value(r.out(), "gflops"), 0.01);
  }

  /** --model names a trained model: the bundled s is the Baseline variant (no SEMs), unlike --arch s. */
  @Test
  void bundledModelS() {
    CliTestSupport.Result r = CliTestSupport.run("info", "--model", "s");
    assertEquals(0, r.code(), r.all());
    assertTrue(r.out().contains("sem=off"), r.out());
    long p = (long) value(r.out(), "params");
    assertTrue(p > 0 && p < 567213, "the Baseline has fewer parameters than DeepSPG-S with SEMs: " + p);
  }

  @Test
  void hrnetW48() {
    CliTestSupport.Result r = CliTestSupport.run("info", "--hrnet", "w48");
    assertEquals(0, r.code(), r.all());
    assertTrue(r.out().lines().anyMatch(l -> l.equals("params: 65953830")), r.out());
  }

  @Test
  void badArguments() {
    assertEquals(2, CliTestSupport.run("info", "--arch", "xl").code());
    assertEquals(2, CliTestSupport.run("info", "--model", "xl").code(), "neither bundled nor a file");
    assertEquals(2, CliTestSupport.run("info", "--model", "s", "--arch", "s").code());
    assertEquals(2, CliTestSupport.run("info", "--hrnet", "w32").code());
    assertEquals(2, CliTestSupport.run("info", "--arch", "s", "--size", "big").code());
  }
}
