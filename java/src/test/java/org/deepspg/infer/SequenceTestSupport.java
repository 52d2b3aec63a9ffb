/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import org.deepspg.data.Image;

/** Frames for the exposure-lock tests ({@link SequenceTest}, the CLI's {@code LockExposureGoldenTest}). */
public final class SequenceTestSupport {
  private SequenceTestSupport() {}

  /** The frame with a white square of {@code side} pixels near its top-left corner. */
  public static Image withHeadlight(Image img, int side) {
    float[] rgb = img.rgb().clone();
    int w = img.width(), h = img.height();
    for (int c = 0; c < 3; c++) {
      for (int y = 20; y < 20 + side; y++) {
        for (int x = 20; x < 20 + side; x++) rgb[(c * h + y) * w + x] = 1f;
      }
    }
    return Image.of(w, h, rgb);
  }

  /** Mean and largest difference over the bottom-right quadrant (far from the headlight). */
  public static double[] farCorner(Image a, Image b) {
    int w = a.width(), h = a.height();
    double sa = 0, sb = 0, max = 0;
    long n = 0;
    for (int c = 0; c < 3; c++) {
      for (int y = h / 2; y < h; y++) {
        for (int x = w / 2; x < w; x++) {
          float va = a.rgb()[(c * h + y) * w + x], vb = b.rgb()[(c * h + y) * w + x];
          sa += va;
          sb += vb;
          max = Math.max(max, Math.abs(va - vb));
          n++;
        }
      }
    }
    return new double[] {sb / sa - 1, max};
  }
}
