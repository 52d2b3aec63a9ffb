/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.nio.file.Path;
import java.util.Properties;
import org.deepspg.train.Priors;
import org.deepspg.train.TrainConfig;
import org.deepspg.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Devices}: one rule for every command's device name, and CUDA refused where it cannot run. */
class DevicesTest {
  @Test
  void namesResolve() {
    NativeLibrary.ensureLoaded();
    assertEquals("cpu", Devices.resolve(null, "--device"));
    assertEquals("cpu", Devices.resolve(" CPU ", "--device"));
    assertEquals(Devices.cudaUsable() ? "cuda" : "cpu", Devices.resolve("auto", "--device"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Devices.resolve("tpu", "--device"));
    assertTrue(e.getMessage().contains("unknown device 'tpu' (--device)"), e.getMessage());
  }

  /** Without CUDA here, every way to ask for it says what is missing (training used to check libtorch only). */
  @Test
  void cudaWhereItCannotRunIsRefused(@TempDir Path tmp) {
    NativeLibrary.ensureLoaded();
    assumeFalse(Devices.cudaUsable(), "CUDA runs here");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Devices.resolve("gpu", "--device"));
    assertTrue(e.getMessage().startsWith("--device is cuda but "), e.getMessage());
    Properties p = new Properties();
    p.setProperty("variant", "baseline");
    p.setProperty("device", "cuda");
    p.setProperty("run.dir", tmp.toString());
    TrainConfig cfg = TrainConfig.fromProperties(p);
    e = assertThrows(IllegalArgumentException.class, () -> new Trainer(cfg, Priors.load(cfg)));
    assertTrue(e.getMessage().startsWith("config key 'device' is cuda but "), e.getMessage());
  }
}
