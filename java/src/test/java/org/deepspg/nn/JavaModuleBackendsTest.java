/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.deepspg.ops.Backends;
import org.junit.jupiter.api.Test;

/**
 * Building a module applies the project's backend settings, in a fresh JVM where nothing else has: a network run
 * through libtorch alone (an input that needs a gradient never reaches our kernels, which used to be what applied
 * them) otherwise kept libtorch's oneDNN, whose HRNet gradients are NaN now and then on CI's AVX-512 EPYC.
 */
class JavaModuleBackendsTest {
  @Test
  void firstModuleOfAProcessTurnsOneDnnOff() throws Exception {
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", cp,
        BuildOneModule.class.getName()).redirectErrorStream(true).start();
    try {
      assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM finished");
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertEquals(0, p.exitValue(), out);
      assertTrue(out.contains("before=true"),
          "libtorch's default is oneDNN on (else this test proves nothing): " + out);
      assertTrue(out.contains("after=false"), "oneDNN left on after building a module: " + out);
    } finally {
      p.destroyForcibly();
    }
  }

  /** Prints libtorch's oneDNN switch before and after building one module. */
  public static final class BuildOneModule {
    private BuildOneModule() {}

    /**
     * @param args none
     */
    public static void main(String[] args) {
      System.out.println("before=" + Backends.mkldnnEnabled());
      try (JavaModule m = new JavaModule()) {
        System.out.println("after=" + Backends.mkldnnEnabled());
      }
    }
  }
}
