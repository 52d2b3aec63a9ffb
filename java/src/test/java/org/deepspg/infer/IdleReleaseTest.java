/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The free heap goes back to the system only after inference has been idle, never during a pass or a batch. */
class IdleReleaseTest {
  @Test
  void releasesOnlyOnceIdleForTheDelay() throws Exception {
    long before = IdleRelease.releases();
    IdleRelease.enter(); // a pass is running (e.g. the next image of a batch)
    IdleRelease.request(300);
    Thread.sleep(900);
    assertEquals(before, IdleRelease.releases(), "released while a pass was running");
    IdleRelease.exit();
    for (int i = 0; i < 8; i++) { // passes end every 50 ms: a batch keeps going, nothing is released
      Thread.sleep(50);
      IdleRelease.enter();
      IdleRelease.exit();
    }
    assertEquals(before, IdleRelease.releases(), "released between the passes of a batch");
    long deadline = System.currentTimeMillis() + 5000;
    while (IdleRelease.releases() == before && System.currentTimeMillis() < deadline) Thread.sleep(20);
    assertEquals(before + 1, IdleRelease.releases(), "released once when idle");
    Thread.sleep(700);
    assertEquals(before + 1, IdleRelease.releases(), "one request, one release");
  }
}
