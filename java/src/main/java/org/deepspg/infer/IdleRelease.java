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
 * idle for a while, instead of right after a tiled image.
 *
 * <p>Why: a tiled (large) image leaves up to ~1 GiB of freed tensor memory mapped for reuse (the malloc tuning of
 * {@link Backends}). Returning it at once made the next image of a batch fault its whole working set in again, page
 * by page: 2.6 s instead of 0.86 s for a 640×433 photo right after a 2400×1600 one without huge pages (BENCHMARKS.md,
 * "The image after a tiled one"). Returned only when no pass has run for {@link #DELAY_MS} ms, it is still handed back
 * by a server that goes quiet, but never between the images of a batch. The heap is process-wide, so is
 * {@link #PROCESS}: every {@link Engine} reports its passes to it.
 */
final class IdleRelease {
  /** How long no inference pass may have run before the free memory is returned. */
  static final long DELAY_MS = 5000;

  /** The process's instance (the C heap is shared by all Enhancers). */
  static final IdleRelease PROCESS = new IdleRelease(DELAY_MS, Backends::releaseFreeMemory);

  private static volatile ScheduledExecutorService timer;

  private final long delayMs;
  private final Runnable release;
  private final AtomicInteger running = new AtomicInteger();
  private final AtomicLong lastEnd = new AtomicLong(System.nanoTime());
  private final AtomicBoolean pending = new AtomicBoolean();
  private final AtomicLong releases = new AtomicLong();

  /**
   * @param delayMs idle time needed before {@code release} runs
   * @param release what returns the memory
   */
  IdleRelease(long delayMs, Runnable release) {
    this.delayMs = delayMs;
    this.release = release;
  }

  /** A pass starts. */
  void enter() {
    running.incrementAndGet();
  }

  /** A pass has ended. */
  void exit() {
    lastEnd.set(System.nanoTime());
    running.decrementAndGet();
  }

  /** Asks for the free memory to be returned once inference has been idle for the delay (one release per request). */
  void request() {
    if (pending.compareAndSet(false, true)) timer().schedule(this::check, delayMs, TimeUnit.MILLISECONDS);
  }

  /** @return how many times the memory has been returned */
  long releases() {
    return releases.get();
  }

  private void check() {
    long idleMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastEnd.get());
    if (running.get() == 0 && idleMs >= delayMs) {
      pending.set(false);
      release.run();
      releases.incrementAndGet();
    } else { // a pass is running or ended less than delayMs ago: look again when it could have been idle long enough
      timer().schedule(this::check, Math.max(1, delayMs - idleMs), TimeUnit.MILLISECONDS);
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
