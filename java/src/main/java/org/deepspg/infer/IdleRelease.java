/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.deepspg.ops.Backends;

/**
 * Gives the C heap's free pages back to the system ({@link Backends#releaseFreeMemory()}) once inference has been
 * idle for a while, instead of right after a tiled image, and at once when the process's resident memory has grown past
 * the memory limit.
 *
 * <p>Why idle: a tiled (large) image leaves up to ~1 GiB of freed tensor memory mapped for reuse (the malloc tuning of
 * {@link Backends}). Returning it at once made the next image of a batch fault its whole working set in again, page
 * by page: 2.6 s instead of 0.86 s for a 640×433 photo right after a 2400×1600 one without huge pages (BENCHMARKS.md,
 * "The image after a tiled one"). Returned only when no pass has run for {@link #DELAY_MS} ms, it is still handed back
 * by a server that goes quiet, but never between the images of a batch. The heap is process-wide, so is
 * {@link #PROCESS}: every {@link Engine} reports its passes to it.
 *
 * <p>Why under pressure: a stream of images that never goes idle keeps everything it freed. glibc places each new
 * tensor in whichever free block fits, so over a run the passes spread over far more memory than one needs: 640×360
 * frames, whose passes peak at 0.22 GB of live allocations, held a 2.1–2.2 GB heap after 200–1,100 frames (1.4–2.6 GB
 * resident; BENCHMARKS "Session 36"). No leak (the live bytes stayed flat), but 2.5 GB of anonymous memory in one
 * run, more than a container sized for the passes holds. So after each pass {@link #exit(long)} compares the resident
 * set with the memory limit (the Enhancer's {@code maxMemory}: 80 % of the machine's or container's memory unless
 * set) and returns the free memory when it is larger, and again only once the resident set has grown
 * {@link #REGROWTH} past the working set that the pass after the release faulted in again (so that a process whose
 * working set alone exceeds the limit does not release after every pass).
 */
final class IdleRelease {
  /** How long no inference pass may have run before the free memory is returned. */
  static final long DELAY_MS = 5000;

  /** Growth of the resident set past the working set after a release under pressure, before the next one. */
  static final long REGROWTH = 256L << 20;

  /** The process's instance (the C heap is shared by all Enhancers). */
  static final IdleRelease PROCESS = new IdleRelease(DELAY_MS, Backends::releaseFreeMemory, IdleRelease::residentBytes);

  private static volatile ScheduledExecutorService timer;

  private final long delayMs;
  private final Runnable release;
  private final LongSupplier resident;
  private final AtomicInteger running = new AtomicInteger();
  private final AtomicLong lastEnd = new AtomicLong(System.nanoTime());
  private final AtomicBoolean pending = new AtomicBoolean();
  private final AtomicBoolean releasing = new AtomicBoolean();
  private final AtomicLong releases = new AtomicLong();
  private final AtomicLong pressureReleases = new AtomicLong();
  /** Resident bytes at the end of the pass after the last release under pressure, or lower since (0: none yet). */
  private final AtomicLong workingSet = new AtomicLong();
  /** Set by a release under pressure: the next pass's resident set is the new working set. */
  private boolean remeasure;

  /**
   * @param delayMs idle time needed before {@code release} runs
   * @param release what returns the memory
   */
  IdleRelease(long delayMs, Runnable release) {
    this(delayMs, release, () -> -1);
  }

  /**
   * @param delayMs idle time needed before {@code release} runs
   * @param release what returns the memory
   * @param resident the process's resident bytes, or -1 when unknown
   */
  IdleRelease(long delayMs, Runnable release, LongSupplier resident) {
    this.delayMs = delayMs;
    this.release = release;
    this.resident = resident;
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

  /**
   * A pass has ended; the free memory goes back now if the process's resident set exceeds {@code limit} and has grown
   * {@link #REGROWTH} past the working set (the lowest resident set seen at the end of a pass since the last release,
   * starting with the first pass after it: the pass that faulted its memory in again).
   *
   * <p>The working set is process-wide like the heap, whatever limit each Enhancer passes: a pass under a high limit
   * does not reset it for one under a low limit.
   *
   * @param limit bytes (the Enhancer's memory limit); &lt;= 0 checks nothing
   */
  void exit(long limit) {
    exit();
    if (limit <= 0) return;
    long rss = resident.getAsLong();
    if (rss < 0) return;
    synchronized (workingSet) {
      if (remeasure) { // the first pass after a release: what it faulted in again is its working set
        remeasure = false;
        workingSet.set(rss);
        return;
      }
      if (rss < workingSet.get()) workingSet.set(rss); // memory went back by other means (an idle release)
    }
    if (rss <= limit || rss <= workingSet.get() + REGROWTH || !releasing.compareAndSet(false, true)) return;
    try {
      release.run();
      releases.incrementAndGet();
      pressureReleases.incrementAndGet();
      synchronized (workingSet) {
        remeasure = true;
      }
    } finally {
      releasing.set(false);
    }
  }

  /** Asks for the free memory to be returned once inference has been idle for the delay (one release per request). */
  void request() {
    if (pending.compareAndSet(false, true)) timer().schedule(this::check, delayMs, TimeUnit.MILLISECONDS);
  }

  /** @return how many times the memory has been returned */
  long releases() {
    return releases.get();
  }

  /** @return how many of those were under pressure ({@link #exit(long)}) */
  long pressureReleases() {
    return pressureReleases.get();
  }

  /**
   * @return the process's resident set in bytes (VmRSS of /proc/self/status), or -1 where there is none. Not JavaCPP's
   *     {@code Pointer.physicalBytes()}: it leaves out shared pages (677 MB against a VmRSS of 802 MB in a test JVM),
   *     so a container's accounting and this class's measurements would not match it.
   */
  static long residentBytes() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.ISO_8859_1)) {
        if (line.startsWith("VmRSS:")) {
          String[] f = line.trim().split("\\s+");
          return f.length >= 2 ? Long.parseLong(f[1]) * 1024 : -1;
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux, or /proc not mounted: no pressure check
    }
    return -1;
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
