/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.bytedeco.pytorch.Module;
import org.deepspg.model.clip.Clip;
import org.deepspg.model.clip.ClipConfig;
import org.deepspg.model.hrnet.HRNet;
import org.deepspg.model.hrnet.HRNetConfig;
import org.deepspg.ops.Backends;
import org.deepspg.testing.Fixtures;
import org.junit.jupiter.api.Test;

/**
 * Recursive {@code Module.train()/eval()} calls into every child, including Java-created containers whose native
 * side keeps only a weak reference to its Java peer (JavaCPP virtual callbacks). Each network must keep its children
 * strongly reachable, or a garbage collection between construction and {@code eval()} turns the call into a
 * NullPointerException or a JVM abort. This test forces collections and then switches modes recursively.
 */
class ModuleLifetimeTest {
  private static void gcThenSwitch(Module m) {
    for (int i = 0; i < 3; i++) {
      System.gc();
      System.runFinalization();
    }
    assertDoesNotThrow(() -> {
      m.eval();
      m.train(true);
      m.eval();
    });
    assertFalse(m.is_training());
  }

  @Test
  void deepspgSurvivesGcBeforeEval() {
    Backends.init();
    gcThenSwitch(new DeepSPG(DeepSPGConfig.s()));
    gcThenSwitch(new DeepSPG(DeepSPGConfig.baseline(DeepSPGConfig.Size.S)));
  }

  @Test
  void priorNetworksSurviveGcBeforeEval() throws Exception {
    Backends.init();
    Path hr = Fixtures.file("hrnet/config.json");
    gcThenSwitch(new HRNet(HRNetConfig.fromJson(hr)));
    Path clip = Fixtures.file("clip/manifest.json");
    Clip c = new Clip(ClipConfig.fromManifest(clip));
    gcThenSwitch(c);
    assertTrue(c.parameterCount() > 0);
  }
}
