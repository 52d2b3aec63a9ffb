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
    assertTrue(NativeLibrary.cudaDeviceCount() >= 0);
  }
}
