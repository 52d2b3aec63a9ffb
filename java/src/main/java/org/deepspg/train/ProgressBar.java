/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A one-line terminal progress bar with rate and ETA, redrawn in place with '\r' on a terminal and printed as plain
 * lines at most every {@code plainEverySeconds} otherwise (log files, CI). Not thread-safe: one owner thread.
 */
public final class ProgressBar {
  private final PrintStream out;
  private final String label;
  private final long total;
  private final boolean tty;
  private final long startNanos = System.nanoTime();
  private final double plainEverySeconds;
  private long lastPrintNanos;
  private long done;
  private final long doneAtStart;

  /**
   * @param out where to draw (usually System.err)
   * @param label prefix, e.g. "train"
   * @param total number of units (steps, images)
   * @param alreadyDone units done before this bar started (resume), excluded from the rate
   */
  public ProgressBar(PrintStream out, String label, long total, long alreadyDone) {
    this.out = out;
    this.label = label;
    this.total = Math.max(1, total);
    this.tty = System.console() != null && !"dumb".equals(System.getenv("TERM"));
    this.plainEverySeconds = tty ? 0.2 : 10.0;
    this.done = alreadyDone;
    this.doneAtStart = alreadyDone;
  }

  /**
   * Advances the bar and redraws it when enough time has passed.
   *
   * @param units units completed by this update
   * @param info extra text such as the loss terms
   */
  public void step(long units, String info) {
    done += units;
    long now = System.nanoTime();
    if (done >= total || (now - lastPrintNanos) / 1e9 >= plainEverySeconds) {
      lastPrintNanos = now;
      draw(info);
    }
  }

  /**
   * @return units per second since this bar started
   */
  public double rate() {
    double secs = (System.nanoTime() - startNanos) / 1e9;
    return secs <= 0 ? 0 : (done - doneAtStart) / secs;
  }

  private void draw(String info) {
    double frac = Math.min(1.0, (double) done / total);
    int width = 24;
    int filled = (int) Math.round(frac * width);
    double r = rate();
    double eta = r > 0 ? (total - done) / r : Double.NaN;
    String bar = "#".repeat(filled) + "-".repeat(width - filled);
    String line = String.format(Locale.ROOT, "%s [%s] %d/%d %5.1f%% %.2f/s ETA %s %s", label, bar, done, total,
        100 * frac, r, formatDuration(eta), info == null ? "" : info);
    if (tty) {
      out.print("\r" + line + "\u001b[K");
      if (done >= total) out.println();
    } else {
      out.println(line);
    }
    out.flush();
  }

  /** Ends the line on a terminal. */
  public void finish() {
    if (tty) out.println();
  }

  /**
   * @param seconds duration (NaN for unknown)
   * @return "1h02m03s" style text
   */
  public static String formatDuration(double seconds) {
    if (Double.isNaN(seconds) || Double.isInfinite(seconds)) return "?";
    long s = Math.round(seconds);
    if (s >= 3600) return String.format(Locale.ROOT, "%dh%02dm%02ds", s / 3600, (s / 60) % 60, s % 60);
    if (s >= 60) return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    return s + "s";
  }
}
