/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import static org.bytedeco.pytorch.global.torch.reflection_pad2d;
import static org.bytedeco.pytorch.global.torch.replication_pad2d;

import org.bytedeco.pytorch.Tensor;

/**
 * Test-time padding (spec §6): reflect-pad the bottom and right edges up to a multiple of 32 (the network downsamples
 * twice, HRNet five times), run, crop back.
 *
 * <p>Reflection needs a pad smaller than the side it mirrors; for tiny images (side ≤ pad) the reflection is
 * repeated on the growing image, and a side of 1 is replicated (there is nothing to mirror).
 */
public final class Padding {
  /** The multiple every network input side is padded to. */
  public static final int MULTIPLE = 32;

  private Padding() {}

  /**
   * @param size a side length (≥ 1)
   * @param multiple the multiple (≥ 1)
   * @return the smallest multiple of {@code multiple} that is ≥ {@code size}
   */
  public static long padded(long size, int multiple) {
    if (size < 1 || multiple < 1) {
      throw new IllegalArgumentException("size and multiple must be >= 1, got " + size + " and " + multiple);
    }
    return (size + multiple - 1) / multiple * multiple;
  }

  /**
   * Reflect-pads the bottom and right edges of {@code x} so both sides are multiples of {@code multiple}.
   *
   * @param x {@code [B, C, H, W]}
   * @param multiple e.g. {@link #MULTIPLE}
   * @return {@code [B, C, H', W']} with H' = padded(H), W' = padded(W); {@code x} itself when nothing is needed
   */
  public static Tensor reflectPad(Tensor x, int multiple) {
    if (x.dim() != 4) throw new IllegalArgumentException("expected [B, C, H, W], got dim " + x.dim());
    long th = padded(x.size(2), multiple);
    long tw = padded(x.size(3), multiple);
    Tensor t = x;
    while (t.size(2) < th || t.size(3) < tw) {
      long h = t.size(2), w = t.size(3);
      long ph = Math.min(th - h, h - 1);
      long pw = Math.min(tw - w, w - 1);
      if (ph > 0 || pw > 0) {
        t = reflection_pad2d(t, 0, Math.max(pw, 0), 0, Math.max(ph, 0));
      }
      // A side of 1 cannot be mirrored: replicate it.
      long rh = h == 1 ? th - h : 0;
      long rw = w == 1 ? tw - w : 0;
      if (rh > 0 || rw > 0) {
        t = replication_pad2d(t, 0, rw, 0, rh);
      }
    }
    return t;
  }

  /**
   * Crops the top-left {@code h × w} region.
   *
   * @param x {@code [B, C, H', W']}
   * @param h rows to keep (≤ H')
   * @param w columns to keep (≤ W')
   * @return a view {@code [B, C, h, w]}
   */
  public static Tensor crop(Tensor x, long h, long w) {
    if (h > x.size(2) || w > x.size(3)) {
      throw new IllegalArgumentException("crop " + h + "x" + w + " larger than " + x.size(2) + "x" + x.size(3));
    }
    Tensor t = x;
    if (h != x.size(2)) t = t.narrow(2, 0, h);
    if (w != x.size(3)) t = t.narrow(3, 0, w);
    return t;
  }
}
