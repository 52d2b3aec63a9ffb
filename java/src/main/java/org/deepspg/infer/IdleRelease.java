/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.deepspg.ops.Backends;

/**
 * Gives the C heap's free pages back to the system ({@link Backends#releaseFreeMemory()}) once inference has been
 * idle for {@link #DELAY_MS} ms, instead of right after a tiled image.
 *
 * <p>Why: a tiled (large) image leaves up to ~1 GiB of freed tensor memory mapped for reuse (the malloc tuning of
 * {@link Backends}). Returning it at once made the next image of a batch fault its whole working set in again, page
 * by page: 3.5 s instead of 1.05 s for a 640×433 photo right after a 2400×1600 one (BENCHMARKS.md, "The image after a
 * tiled one"). Returned only when no pass has run for a while, it is still handed back by a server that goes quiet,
 * but never between the images of a batch. The process-wide heap makes this process-wide too: every {@link Engine}
 * reports its passes here.
 */
final class IdleRelease {
  /** How long no inference pass may have run before the free memory is returned. */
  static final long DELAY_MS = 5000;

  private static final AtomicInteger RUNNING = new AtomicInteger();
  private static final AtomicLong LAST_END = new AtomicLong(System.nanoTime());
  private static final AtomicBoolean PENDING = new AtomicBoolean();
  private static final AtomicLong RELEASES = new AtomicLong();
  private static volatile ScheduledExecutorService timer;

  private IdleRelease() {}

  /** A pass starts. */
  static void enter() {
    RUNNING.incrementAndGet();
  }

  /** A pass has ended. */
  static void exit() {
    LAST_END.set(System.nanoTime());
    RUNNING.decrementAndGet();
  }

  /** Asks for the free memory to be returned once inference has been idle for {@link #DELAY_MS}. */
  static void request() {
    request(DELAY_MS);
  }

  /**
   * As {@link #request()} with another delay (tests).
   *
   * @param delayMs idle time needed, in ms
   */
  static void request(long delayMs) {
    if (PENDING.compareAndSet(false, true)) {
      timer().schedule(() -> check(delayMs), delayMs, TimeUnit.MILLISECONDS);
    }
  }

  /** @return how many times the free memory has been returned (for tests) */
  static long releases() {
    return RELEASES.get();
  }

  private static void check(long delayMs) {
    long idleMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - LAST_END.get());
    if (RUNNING.get() == 0 && idleMs >= delayMs) {
      PENDING.set(false);
      Backends.releaseFreeMemory();
      RELEASES.incrementAndGet();
    } else { // a pass is running or ended less than delayMs ago: look again when it could have been idle long enough
      timer().schedule(() -> check(delayMs), Math.max(1, delayMs - idleMs), TimeUnit.MILLISECONDS);
    }
  }

  private static ScheduledExecutorService timer() {
    ScheduledExecutorService t = timer;
    if (t == null) {
      synchronized (IdleRelease.class) {
        if (timer == null) {
          timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread th = new Thread(r, "deepspg-idle-release");
            th.setDaemon(true); // never keeps the JVM alive
            return th;
          });
        }
        t = timer;
      }
    }
    return t;
  }
}
