/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import java.lang.management.ManagementFactory;
import java.util.Locale;
import org.deepspg.model.DeepSPGConfig;
import org.deepspg.model.prior.EspnetPrior;

/**
 * How much native memory one forward pass may take, and how much it would take.
 *
 * <p>libtorch's CPU allocator has no size limit that bytedeco exposes, and {@code -Xmx} does not bound it: an image
 * run whole that is too large for the machine grows the process until the kernel kills it (seen: past 20 GB). The
 * Enhancer therefore estimates each forward pass's working set from the padded shape <em>before</em> running it and
 * refuses one that exceeds the limit with a one-line message; with the default tiling no pass comes near it.
 *
 * <p>Estimate, per padded pixel of one pass: 65 bytes per channel of the network's width C (DeepSPG-S, C = 20:
 * 1,300 B; L, C = 40: 2,600 B), plus, for a model with SEMs, 600 B with the ESPNetv2 prior or 1,800 B with HRNet-W48.
 * Measured peaks (2026-12-07, {@code /usr/bin/time} of {@code deepspg bench --tile 0} at 1024×704 and 2048×1408, less
 * the process's RSS at 64×64): S 929–1,059 B, S + ESPNetv2 1,356–1,403 B, S + HRNet-W48 2,104–2,258 B, L
 * 1,801–1,808 B, L + HRNet-W48 3,329 B; the estimate is 1.23–1.47× those (docs/inference.md). It covers the pass, not
 * the JVM and libraries (about 0.35 GB) nor the caller's images. Limit: {@value #PROPERTY} (as {@link #parse} reads
 * it: bytes, or 6g, 6GB, 6GiB), else 80 % of the machine's physical memory.
 */
public final class MemoryBudget {
  /** System property with the limit ({@code 6g}, {@code 500m}, {@code 6GiB}, bytes). */
  public static final String PROPERTY = "deepspg.max_memory";
  /** Bytes per padded pixel and channel of the network's width, without SEMs (measured peak ≤ 53, and ≤ 46 for L). */
  static final double BYTES_PER_PIXEL_CHANNEL = 65;
  /** Bytes per padded pixel that SEMs and an HRNet-W48 prior add (measured ≤ 1,329 with S, ≤ 1,528 with L). */
  static final double SEM_HRNET_BYTES_PER_PIXEL = 1800;
  /** Bytes per padded pixel that SEMs and an ESPNetv2 prior add (measured ≤ 427 with S). */
  static final double SEM_ESPNET_BYTES_PER_PIXEL = 600;

  private MemoryBudget() {}

  /**
   * @param cfg the network
   * @param batch images per pass
   * @param height padded height
   * @param width padded width
   * @return estimated bytes one forward pass needs
   */
  public static long estimate(DeepSPGConfig cfg, long batch, long height, long width) {
    double perPixel = BYTES_PER_PIXEL_CHANNEL * cfg.channels() + (!cfg.semEnabled() ? 0
        : EspnetPrior.ID.equals(cfg.semPrior()) ? SEM_ESPNET_BYTES_PER_PIXEL : SEM_HRNET_BYTES_PER_PIXEL);
    return (long) Math.min(Long.MAX_VALUE / 2.0, perPixel * batch * height * width);
  }

  /** @return the limit from {@value #PROPERTY}, else 80 % of physical memory (8 GiB when it cannot be read) */
  public static long defaultLimit() {
    String p = System.getProperty(PROPERTY);
    if (p != null) return parse(p);
    long total = physicalMemory();
    return total > 0 ? (long) (total * 0.8) : 8L << 30;
  }

  /**
   * @return {@link #defaultLimit()} and where it comes from, e.g. "19.3 GB (80 % of 24.1 GB of memory)" (the JVM
   *     reports a container's memory limit as its memory)
   */
  public static String describeDefaultLimit() {
    String p = System.getProperty(PROPERTY);
    if (p != null) {
      try {
        return gb(parse(p)) + " (-D" + PROPERTY + "=" + p + ")";
      } catch (IllegalArgumentException e) {
        return "unusable -D" + PROPERTY + "=" + p + " (" + e.getMessage() + ")"; // info reports it and goes on
      }
    }
    long total = physicalMemory();
    return total > 0 ? gb(defaultLimit()) + " (80 % of " + gb(total) + " of memory)"
        : gb(defaultLimit()) + " (the memory size could not be read)";
  }

  /** @return the machine's (or the container's) memory in bytes, or -1 when the JVM does not say */
  private static long physicalMemory() {
    try {
      var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
      return os.getTotalMemorySize();
    } catch (ClassCastException | UnsupportedOperationException e) {
      return -1; // not a HotSpot-like JVM
    }
  }

  /**
   * @param s bytes, or a number with a unit k, m, g or t (powers of 1024), each also spelt with B or iB after it, in
   *     any case: {@code 6g}, {@code 6GB}, {@code 6GiB}, {@code 500m}, {@code 1.5T}, {@code 123456789b}
   * @return the bytes
   * @throws IllegalArgumentException for anything else or a value below 64 MiB
   */
  public static long parse(String s) {
    String v = s == null ? "" : s.replaceAll("\\s", "").toLowerCase(Locale.ROOT);
    if (v.endsWith("ib")) v = v.substring(0, v.length() - 2);
    else if (v.endsWith("b")) v = v.substring(0, v.length() - 1);
    int unit = v.isEmpty() ? -1 : "kmgt".indexOf(v.charAt(v.length() - 1));
    long mult = unit < 0 ? 1 : 1L << (10 * (unit + 1));
    if (unit >= 0) v = v.substring(0, v.length() - 1);
    double d;
    try {
      d = v.matches("[0-9.]+(e[+-]?[0-9]+)?") ? Double.parseDouble(v) : Double.NaN;
    } catch (NumberFormatException e) {
      d = Double.NaN;
    }
    if (Double.isNaN(d)) {
      throw new IllegalArgumentException("memory limit must be bytes or a number with k/m/g/t (6g, 6GB, 6GiB), got '"
          + s + "'");
    }
    long bytes = (long) (d * mult);
    if (!(d > 0) || bytes < (64L << 20)) {
      throw new IllegalArgumentException("memory limit must be at least 64m, got '" + s + "'");
    }
    return bytes;
  }

  /**
   * The one format of sizes in messages, the limit's included: two decimals below 1 GB (300m: "0.31 GB", not "0.3 GB"),
   * one from there.
   *
   * @return bytes as GB
   */
  static String gb(long bytes) {
    return gb(bytes, bytes < 1e9 ? 2 : 1);
  }

  /** @return bytes as GB with this many decimals */
  static String gb(long bytes, int decimals) {
    return String.format(Locale.ROOT, "%." + decimals + "f GB", bytes / 1e9);
  }
}
