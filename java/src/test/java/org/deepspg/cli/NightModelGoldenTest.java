/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.deepspg.data.Image;
import org.deepspg.data.Images;
import org.deepspg.eval.Metrics;
import org.deepspg.infer.Enhancer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bundled real-photo model {@code s-night} on the user's path: {@code deepspg enhance --model s-night} in a fresh
 * JVM and the Java API against reference outputs ({@code golden/s-night/*.png}) computed without this project's Java
 * or native code by {@code scripts/make_user_path_golden.py --weights} (the spec's PyTorch reference program on the
 * bundled weights; the model has no SEMs, so it needs nothing else).
 */
class NightModelGoldenTest {
  static final String NAME = "s-night";

  @TempDir static Path work;
  static Path golden;
  static List<String> names;

  @BeforeAll
  static void locate() throws Exception {
    golden = UserPathGoldenTest.goldenFolder(NAME);
    names = UserPathGoldenTest.referenceNames(golden);
    assertEquals(2, names.size(), "two reference outputs");
  }

  @Test
  void enhanceMatchesTheReference() throws Exception {
    Path out = work.resolve("cli");
    List<String> cmd = new ArrayList<>(List.of("enhance"));
    for (String n : names) cmd.add("samples/" + n + ".jpg");
    cmd.addAll(List.of("-o", out.toString(), "--model", NAME));
    UserPathGoldenTest.Run r = UserPathGoldenTest.fork(work, UserPathGoldenTest.Config.DEFAULT, cmd);
    assertEquals(0, r.code(), r.log());
    for (String n : names) {
      double p = UserPathGoldenTest.psnrAgainstReference(out.resolve(n + ".jpg"), golden.resolve(n + ".png"), work);
      System.out.printf(Locale.ROOT, "[%s cli] %s: %.2f dB%n", NAME, n, p);
      assertTrue(p >= UserPathGoldenTest.MIN_PSNR, String.format(Locale.ROOT, "%s: %.2f dB against the reference\n%s",
          n, p, r.log()));
    }
  }

  @Test
  void javaApiMatchesTheReference() throws Exception {
    Path repo = Path.of("").toAbsolutePath().getParent();
    try (Enhancer e = Enhancer.builder().bundled(NAME).build()) {
      for (String n : names) {
        Image got = e.enhance(repo.resolve("samples").resolve(n + ".jpg"));
        Image ref = Images.read(golden.resolve(n + ".png"));
        double p = Metrics.psnr(UserPathGoldenTest.quantized(got.rgb()), ref.rgb());
        System.out.printf(Locale.ROOT, "[%s api] %s: %.2f dB%n", NAME, n, p);
        assertTrue(p >= UserPathGoldenTest.MIN_PSNR, String.format(Locale.ROOT, "%s: %.2f dB", n, p));
      }
    }
  }
}
