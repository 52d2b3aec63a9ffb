/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The free heap goes back to the system after inference has been idle, never during a pass or a batch, unless the
 * process's resident set has grown past the memory limit.
 */
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

  @Test
  void releasesAtOnceWhenResidentMemoryPassesTheLimit() {
    long mb = 1L << 20;
    AtomicLong rss = new AtomicLong(500 * mb);
    AtomicInteger returned = new AtomicInteger();
    // a release hands back all but 600 MB (what the passes still use)
    IdleRelease r = new IdleRelease(60_000, () -> {
      returned.incrementAndGet();
      rss.set(Math.min(rss.get(), 600 * mb));
    }, rss::get);
    long limit = 1000 * mb;
    pass(r, limit);
    assertEquals(0, returned.get(), "below the limit: kept for reuse");
    rss.set(1200 * mb); // the heap has spread
    pass(r, limit);
    assertEquals(1, returned.get(), "past the limit: released after the pass");
    assertEquals(600 * mb, rss.get());
    rss.set(700 * mb); // the next pass faults its working set in again: 700 MB
    pass(r, limit);
    rss.set(1100 * mb);
    pass(r, limit);
    assertEquals(2, returned.get(), "past the limit again and 400 MB above the working set");
    assertEquals(2, r.pressureReleases());
    // no limit, or no /proc: nothing is read or released
    IdleRelease unknown = new IdleRelease(60_000, returned::incrementAndGet, () -> -1);
    pass(unknown, limit);
    rss.set(5000 * mb);
    pass(r, 0);
    assertEquals(2, returned.get());
  }

  /** A working set above the limit (or a pass larger than the regrowth margin) must not cost a release per pass. */
  @Test
  void aWorkingSetAboveTheLimitIsNotReleasedAfterEveryPass() {
    long mb = 1L << 20;
    long floor = 400 * mb; // the JVM, the libraries and the model
    AtomicLong rss = new AtomicLong(floor);
    AtomicInteger returned = new AtomicInteger();
    IdleRelease r = new IdleRelease(60_000, () -> {
      returned.incrementAndGet();
      rss.set(floor);
    }, rss::get);
    for (int i = 0; i < 10; i++) { // each pass faults 300 MB in again; limit 300 MB
      rss.set(Math.max(rss.get(), floor + 300 * mb));
      pass(r, 300 * mb);
    }
    assertEquals(1, returned.get(), "once, not once per pass");
    rss.set(floor + 300 * mb + 200 * mb); // the heap spreads by 200 MB: kept
    pass(r, 300 * mb);
    assertEquals(1, returned.get());
    rss.set(floor + 300 * mb + 300 * mb); // by 300 MB: returned
    pass(r, 300 * mb);
    assertEquals(2, returned.get());

    // Enhancers with different limits share the process's working set: a pass under a high limit does not reset it.
    AtomicLong big = new AtomicLong(1536 * mb);
    AtomicInteger n = new AtomicInteger();
    IdleRelease shared = new IdleRelease(60_000, n::incrementAndGet, big::get);
    for (int i = 0; i < 5; i++) {
      pass(shared, 1024 * mb);
      pass(shared, 20_480 * mb);
    }
    assertEquals(1, n.get(), "one release for a working set of 1.5 GB under a 1 GB limit");
  }

  @Test
  void readsThisProcesssResidentSet() {
    long rss = IdleRelease.residentBytes();
    if (new java.io.File("/proc/self/status").exists()) {
      org.junit.jupiter.api.Assertions.assertTrue(rss > (16L << 20), "a JVM's resident set: " + rss);
    } else {
      assertEquals(-1, rss);
    }
  }

  private static void pass(IdleRelease r, long limit) {
    r.enter();
    r.exit(limit);
  }
}
