/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
}
