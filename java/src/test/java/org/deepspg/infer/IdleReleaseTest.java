/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The free heap goes back to the system only after inference has been idle, never during a pass or a batch. */
class IdleReleaseTest {
  @Test
  void releasesOnlyOnceIdleForTheDelay() throws Exception {
    AtomicInteger returned = new AtomicInteger();
    IdleRelease r = new IdleRelease(300, returned::incrementAndGet);
    r.enter(); // a pass is running (e.g. the next image of a batch)
    r.request();
    Thread.sleep(900);
    assertEquals(0, returned.get(), "released while a pass was running");
    r.exit();
    for (int i = 0; i < 8; i++) { // passes end every 50 ms: a batch keeps going, nothing is released
      Thread.sleep(50);
      r.enter();
      r.exit();
    }
    assertEquals(0, returned.get(), "released between the passes of a batch");
    long deadline = System.currentTimeMillis() + 10_000;
    while (returned.get() == 0 && System.currentTimeMillis() < deadline) Thread.sleep(20);
    assertEquals(1, returned.get(), "released once when idle");
    r.request(); // a second request after the release: one more release
    Thread.sleep(700);
    assertEquals(2, r.releases());
    assertEquals(2, returned.get());
  }
}
