/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import java.lang.management.ManagementFactory;
import java.util.Locale;
import org.deepspg.model.DeepSPGConfig;

/**
 * How much native memory one forward pass may take, and how much it would take.
 *
 * <p>libtorch's CPU allocator has no size limit that bytedeco exposes, and {@code -Xmx} does not bound it: an image
 * run whole that is too large for the machine grows the process until the kernel kills it (seen: past 20 GB). The
 * Enhancer therefore estimates each forward pass's working set from the padded shape <em>before</em> running it and
 * refuses one that exceeds the limit with a one-line message; with the default tiling no pass comes near it.
 *
 * <p>Estimate: DeepSPG-S (C = 20) needs about 2.6 KB per padded pixel for whole-image inference (measured: 1.80 /
 * 2.85 / 4.57 GB peak RSS at 0.35 / 0.70 / 1.40 MP, docs/inference.md), scaled linearly with the width C; a model
 * with SEMs counts twice that for the HRNet prior that runs on the same pixels (a conservative allowance, not a
 * measurement). Limit: {@value #PROPERTY} (bytes, or with a k/m/g suffix), else 80 % of the machine's physical
 * memory.
 */
public final class MemoryBudget {
  /** System property with the limit ({@code 6g}, {@code 500m}, bytes). */
  public static final String PROPERTY = "deepspg.max_memory";
  /** Measured bytes per padded pixel of DeepSPG-S whole-image inference. */
  static final double BYTES_PER_PIXEL_S = 2600;

  private MemoryBudget() {}

  /**
   * @param cfg the network
   * @param batch images per pass
   * @param height padded height
   * @param width padded width
   * @return estimated bytes one forward pass needs
   */
  public static long estimate(DeepSPGConfig cfg, long batch, long height, long width) {
    double perPixel = BYTES_PER_PIXEL_S * cfg.channels() / 20.0 * (cfg.semEnabled() ? 2 : 1);
    return (long) Math.min(Long.MAX_VALUE / 2.0, perPixel * batch * height * width);
  }

  /** @return the limit from {@value #PROPERTY}, else 80 % of physical memory (8 GiB when it cannot be read) */
  public static long defaultLimit() {
    String p = System.getProperty(PROPERTY);
    if (p != null) return parse(p);
    try {
      var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
      long total = os.getTotalMemorySize();
      if (total > 0) return (long) (total * 0.8);
    } catch (ClassCastException | UnsupportedOperationException e) {
      // not a HotSpot-like JVM: fall through
    }
    return 8L << 30;
  }

  /**
   * @param s bytes, or a number with a k, m or g suffix (powers of 1024)
   * @return the bytes
   * @throws IllegalArgumentException for anything else or a value below 64 MiB
   */
  public static long parse(String s) {
    String v = s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
    long mult = 1;
    if (v.endsWith("g") || v.endsWith("m") || v.endsWith("k")) {
      mult = v.endsWith("g") ? 1L << 30 : v.endsWith("m") ? 1L << 20 : 1L << 10;
      v = v.substring(0, v.length() - 1);
    }
    double d;
    try {
      d = Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("memory limit must be bytes or a number with k/m/g, got '" + s + "'");
    }
    long bytes = (long) (d * mult);
    if (!(d > 0) || bytes < (64L << 20)) {
      throw new IllegalArgumentException("memory limit must be at least 64m, got '" + s + "'");
    }
    return bytes;
  }

  /** @return bytes as GB with one decimal */
  static String gb(long bytes) {
    return String.format(Locale.ROOT, "%.1f GB", bytes / 1e9);
  }
}
