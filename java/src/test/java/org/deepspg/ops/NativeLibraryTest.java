/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class NativeLibraryTest {
  @Test
  void loadsAndReportsVersion() {
    assertEquals("0.1.0", NativeLibrary.kernelVersion());
    assertTrue(NativeLibrary.buildInfo().contains("openmp"), NativeLibrary.buildInfo());
  }

  @Test
  void seesGpusExactlyWhenTheMachineHasThem() {
    // No CUDA kernels, or no NVIDIA driver device node: the count must be 0 (not a negative error code, not a stray
    // device). With both, a machine with a GPU must report at least one.
    int n = NativeLibrary.cudaDeviceCount();
    boolean driver = java.nio.file.Files.exists(java.nio.file.Path.of("/dev/nvidiactl"));
    if (!NativeLibrary.cudaKernelsCompiled() || !driver) {
      assertEquals(0, n, "kernels compiled: " + NativeLibrary.cudaKernelsCompiled() + ", driver: " + driver);
    } else {
      assertTrue(n >= 1, "driver present but the kernels see " + n + " devices");
    }
  }

  /**
   * In a fresh JVM (in this one, another test may have initialised JavaCPP first): the first load turns JavaCPP's
   * per-allocation RSS polling off, and a value the application passes is kept.
   */
  @Test
  void firstLoadTurnsJavaCppRssPollingOffUnlessTheApplicationSetIt() throws Exception {
    String byDefault = childJvm();
    assertTrue(byDefault.lines().anyMatch(l -> l.startsWith("maxPhysicalBytes=0 (RSS polling off")), byDefault);
    String set = childJvm("-D" + NativeLibrary.MAX_PHYSICAL_BYTES_PROPERTY + "=123456789");
    assertTrue(set.lines().anyMatch(l -> l.startsWith("maxPhysicalBytes=123456789 (RSS polled")), set);
  }

  private static String childJvm(String... jvmArgs) throws Exception {
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    cmd.addAll(List.of(jvmArgs));
    cmd.addAll(List.of("-cp", cp, LoadAndReport.class.getName()));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try {
      assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM finished");
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertEquals(0, p.exitValue(), out);
      return out;
    } finally {
      p.destroyForcibly();
    }
  }

  /** Loads the libraries as every op does, then prints JavaCPP's RSS limit and {@link Backends}' report of it. */
  public static final class LoadAndReport {
    private LoadAndReport() {}

    /**
     * @param args none
     */
    public static void main(String[] args) {
      NativeLibrary.ensureLoaded();
      System.out.println("maxPhysicalBytes=" + org.bytedeco.javacpp.Pointer.maxPhysicalBytes() + " ("
          + Backends.javaCppMemoryCheck() + ")");
    }
  }

  /** libtorch's error messages lose their C++ stack trace in what users read; other messages stay as they are. */
  @Test
  void cppTraceIsCutFromMessages() {
    String c10 = "Timed out after 6 seconds waiting for clients. 1/2 clients joined.\nException raised from "
        + "waitForWorkers at TCPStore.cpp:396 (most recent call first):\nframe #0: c10::Error::Error() + 0xac\n";
    assertEquals("Timed out after 6 seconds waiting for clients. 1/2 clients joined.",
        NativeLibrary.withoutCppTrace(c10));
    assertEquals("first\nsecond", NativeLibrary.withoutCppTrace("first\nsecond\nframe #0: f() + 0x1"));
    assertEquals("plain message\nwith two lines", NativeLibrary.withoutCppTrace("plain message\nwith two lines"));
    assertNull(NativeLibrary.withoutCppTrace(null));
  }
}
