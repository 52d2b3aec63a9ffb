/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.io;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A one-line terminal progress bar with rate and ETA, redrawn in place with '\r' on a terminal. When the output is not
 * a terminal (log files, CI, pipes) it stays quiet and {@link #finish()} prints one summary line instead. Units are
 * whatever the owner counts: training steps, or network passes (one per image, one per tile of a tiled image), so a
 * 24-megapixel photo moves the bar tile by tile. Not thread-safe: one owner thread.
 */
public final class ProgressBar {
  private final PrintStream out;
  private final String label;
  private final long total;
  /** Least time between two redraws on a terminal. */
  private static final double REDRAW_SECONDS = 0.2;
  private final boolean tty;
  private final double plainEverySeconds;
  private final long startNanos = System.nanoTime();
  private long lastPrintNanos;
  private long done;
  private final long doneAtStart;
  private boolean finished;
  /** On a terminal: the bar's line has been drawn (and not yet ended), and with which info. */
  private boolean drawn;
  /** The bar was drawn complete (on a terminal: and its line ended); later steps draw nothing. */
  private boolean ended;
  private String lastInfo;
  /** " " and what the units are (" tiles"), printed after the count and in the rate; empty: no unit named. */
  private String unit = "";

  /**
   * @param out where to draw (usually System.err)
   * @param label prefix, e.g. "train"
   * @param total number of units (steps, images)
   * @param alreadyDone units done before this bar started (resume), excluded from the rate
   */
  public ProgressBar(PrintStream out, String label, long total, long alreadyDone) {
    this(out, label, total, alreadyDone, 0);
  }

  /**
   * @param out where to draw (usually System.err)
   * @param label prefix, e.g. "train"
   * @param total number of units (steps, images)
   * @param alreadyDone units done before this bar started (resume), excluded from the rate
   * @param plainEverySeconds when the output is not a terminal: print a plain progress line at most this often (a
   *     long training run's log), or 0 to stay quiet until {@link #finish()}
   */
  public ProgressBar(PrintStream out, String label, long total, long alreadyDone, double plainEverySeconds) {
    this.out = out;
    this.label = label;
    this.total = Math.max(1, total);
    this.tty = (out == System.err ? stderrIsTerminal() : System.console() != null)
        && !"dumb".equals(System.getenv("TERM"));
    this.plainEverySeconds = plainEverySeconds;
    this.done = alreadyDone;
    this.doneAtStart = alreadyDone;
  }

  /**
   * Names the units in the drawn line ({@code 27/270 tiles ... 1.84 tiles/s}) and the summary.
   *
   * @param name e.g. "tiles"; empty for none
   * @return this
   */
  public ProgressBar unit(String name) {
    this.unit = name == null || name.isEmpty() ? "" : " " + name;
    return this;
  }

  /**
   * Whether standard error is a terminal. {@link System#console()} asks about standard input and output, so
   * {@code 2>run.log} from a terminal drew carriage-return redraws into the log, and {@code >out.txt} wrote plain
   * lines onto the terminal (the feature audit, session 35). Linux: where {@code /proc/self/fd/2} leads; elsewhere
   * the console test.
   *
   * @return true when stderr is a terminal
   */
  static boolean stderrIsTerminal() {
    try {
      String target = java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/fd/2")).toString();
      return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
    } catch (java.io.IOException | UnsupportedOperationException | SecurityException e) {
      return System.console() != null;
    }
  }

  /**
   * Advances the bar and redraws it when enough time has passed.
   *
   * @param units units completed by this update
   * @param info extra text such as the loss terms
   */
  public void step(long units, String info) {
    done += units;
    if (ended) return; // the complete bar was drawn (its line ended on a terminal, printed once elsewhere)
    long now = System.nanoTime();
    double every = tty ? REDRAW_SECONDS : plainEverySeconds;
    if ((tty || every > 0) && (done >= total || (now - lastPrintNanos) / 1e9 >= every)) {
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
    String line = String.format(Locale.ROOT, "%s [%s] %d/%d%s %5.1f%% %.2f%s/s ETA %s %s", label, bar, done, total,
        unit, 100 * frac, r, unit, formatDuration(eta), info == null ? "" : info);
    lastInfo = info;
    if (tty) {
      out.print("\r" + line + "\u001b[K");
      drawn = true;
      if (done >= total) {
        out.println();
        drawn = false;
        ended = true;
      }
    } else {
      out.println(line);
      if (done >= total) ended = true;
    }
    out.flush();
  }

  /**
   * Prints a line of its own (a warning, a failed input) without gluing it to the bar: on a terminal the bar's line
   * is cleared first and the bar redrawn under the message.
   *
   * @param line the message
   */
  public void message(String line) {
    if (tty && drawn) out.print("\r\u001b[K");
    out.println(line);
    if (tty && drawn) draw(lastInfo);
    out.flush();
  }

  /** Ends the line on a terminal; elsewhere prints the one summary line (units, time, rate). */
  public void finish() {
    if (finished) return;
    finished = true;
    if (tty) {
      if (drawn) out.println();
    } else if (plainEverySeconds <= 0) {
      double secs = (System.nanoTime() - startNanos) / 1e9;
      out.println(String.format(Locale.ROOT, "%s: %d/%d%s in %s (%.2f%s/s)", label, done, total, unit,
          formatDuration(secs), rate(), unit));
    }
    out.flush();
  }

  /** @return units done so far */
  public long done() {
    return done;
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
