/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** {@link KernelStatus#check}: the switch, a reason to stay off, the tolerance, and how each verdict reads. */
class KernelStatusTest {
  private static final String PROP = "deepspg.test.kernelstatus";

  @Test
  void onWithinTheTolerance() {
    KernelStatus s = KernelStatus.check("k", "native", "libtorch", PROP, () -> null, 1e-4, () -> 2.5e-7);
    assertTrue(s.enabled());
    assertEquals("k: native (self-check passed, max rel. error 2.5e-07)", s.describe());
  }

  @Test
  void offBeyondItOrWhenNonFinite() {
    KernelStatus s = KernelStatus.check("k", "on", "off", PROP, null, 1e-4, () -> 0.03);
    assertFalse(s.enabled());
    assertEquals("k: off (self-check failed: error 0.030)", s.describe());
    assertEquals("k: off (self-check failed: error 0.030 on avx2)", s.withNote(" on avx2").describe());
    assertFalse(KernelStatus.check("k", "on", "off", PROP, null, 1e-4, () -> Double.POSITIVE_INFINITY).enabled());
    assertFalse(KernelStatus.check("k", "on", "off", PROP, null, 1e-4, () -> Double.NaN).enabled(), "NaN");
  }

  @Test
  void theSwitchAndAReasonSkipTheProbes() {
    AtomicInteger probes = new AtomicInteger();
    KernelStatus why = KernelStatus.check("k", "on", "off", PROP, () -> "the base kernel is off", 1e-4,
        () -> probes.incrementAndGet());
    assertEquals("k: off (the base kernel is off)", why.describe());
    System.setProperty(PROP, "OFF ");
    try {
      KernelStatus off = KernelStatus.check("k", "on", "off", PROP, null, 1e-4, () -> probes.incrementAndGet());
      assertEquals("k: off (" + PROP + "=off)", off.describe());
    } finally {
      System.clearProperty(PROP);
    }
    assertEquals(0, probes.get(), "no probe ran");
  }
}
