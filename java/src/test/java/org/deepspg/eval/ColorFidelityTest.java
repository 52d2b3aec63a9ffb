/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Newly clipped pixels, CIELAB hue error and kept saturation on hand-made images with known answers. */
class ColorFidelityTest {
  /** n pixels of one colour. */
  private static float[] solid(int n, float r, float g, float b) {
    float[] a = new float[3 * n];
    for (int i = 0; i < n; i++) {
      a[i] = r;
      a[n + i] = g;
      a[2 * n + i] = b;
    }
    return a;
  }

  @Test
  void labOfKnownColours() {
    double[] lab = new double[3];
    ColorFidelity.lab(1, 1, 1, lab); // D65 white
    assertEquals(100, lab[0], 1e-3);
    assertEquals(0, lab[1], 1e-3);
    assertEquals(0, lab[2], 1e-3);
    ColorFidelity.lab(1, 0, 0, lab); // sRGB red: L* 53.24, a* 80.09, b* 67.20 (standard tables)
    assertEquals(53.24, lab[0], 0.02);
    assertEquals(80.09, lab[1], 0.05);
    assertEquals(67.20, lab[2], 0.05);
  }

  @Test
  void countsOnlyPixelsTheMethodClipped() {
    int n = 10;
    float[] in = solid(n, 0.2f, 0.1f, 0.05f);
    in[3] = 1f; // pixel 3 already clipped in the input (red channel)
    float[] out = solid(n, 0.6f, 0.4f, 0.2f);
    out[n + 3] = 1f; // clipped again: not the method's fault
    out[7] = 0.999f; // the method clipped pixels 7 and 8 (one channel is enough)
    out[2 * n + 8] = 1f;
    out[9] = 254f / 255f; // just below the top code: not clipped
    assertEquals(0.2, ColorFidelity.newlyClipped(in, out), 1e-12);
    assertEquals(0, ColorFidelity.newlyClipped(in, in), 1e-12);
    assertThrows(IllegalArgumentException.class, () -> ColorFidelity.newlyClipped(in, new float[3]));
  }

  @Test
  void hueErrorIsTheAngleBetweenHues() {
    float[] orange = solid(4, 0.9f, 0.5f, 0.1f);
    assertEquals(0, ColorFidelity.hueError(orange, orange).degrees(), 1e-9);
    assertEquals(1.0, ColorFidelity.hueError(orange, orange).fraction(), 1e-12);
    // The same orange brightened (same chromaticity, higher L*) keeps its hue angle only approximately in Lab; an
    // orange turned yellow rotates it by tens of degrees.
    float[] yellow = solid(4, 0.9f, 0.85f, 0.1f);
    double d = ColorFidelity.hueError(orange, yellow).degrees();
    assertTrue(d > 20 && d < 60, "orange vs yellow: " + d);
    // Red vs cyan: opposite hues, close to 180 degrees apart (the wrap-around is handled).
    double opp = ColorFidelity.hueError(solid(4, 0.8f, 0.1f, 0.1f), solid(4, 0.1f, 0.6f, 0.6f)).degrees();
    assertTrue(opp > 150 && opp <= 180, "red vs cyan: " + opp);
    // Grey, black and white have no hue: not counted; with no coloured pixel the error is NaN.
    ColorFidelity.Hue none = ColorFidelity.hueError(solid(4, 0.5f, 0.5f, 0.5f), orange);
    assertTrue(Double.isNaN(none.degrees()));
    assertEquals(0, none.fraction(), 1e-12);
  }

  @Test
  void saturationKeptSeesGreyCastsButNotBrightening() {
    int n = 4;
    float[] in = solid(n, 0.2f, 0.1f, 0.05f); // chroma 0.15, luma 0.1245
    // brightening 3x keeps every ratio: 1
    assertEquals(1.0, ColorFidelity.saturationKept(in, solid(n, 0.6f, 0.3f, 0.15f)), 1e-6);
    // half-way to grey at the same luma: chroma halves
    float l = 3 * (0.299f * 0.2f + 0.587f * 0.1f + 0.114f * 0.05f);
    float[] half = solid(n, (0.6f + l) / 2, (0.3f + l) / 2, (0.15f + l) / 2);
    assertEquals(0.5, ColorFidelity.saturationKept(in, half), 1e-5);
    assertEquals(0.0, ColorFidelity.saturationKept(in, solid(n, l, l, l)), 1e-12); // all grey
    assertTrue(ColorFidelity.saturationKept(in, solid(n, 0.9f, 0.2f, 0.0f)) > 1, "oversaturated");
    assertTrue(Double.isNaN(ColorFidelity.saturationKept(solid(n, 0.3f, 0.3f, 0.3f), in)), "grey input: nothing kept");
    assertTrue(Double.isNaN(ColorFidelity.saturationKept(in, solid(n, 0, 0, 0))), "black output");
  }

  @Test
  void shadowCastSeesTintsWhereTheInputIsGrey() {
    int n = 400;
    float[] grey = solid(n, 0.1f, 0.1f, 0.1f);
    double[] lab = new double[3];
    // a grey input brightened to a greenish grey: the cast is that colour's (a*, b*)
    ColorFidelity.lab(0.45, 0.5, 0.42, lab);
    ColorFidelity.Cast c = ColorFidelity.shadowCast(grey, solid(n, 0.45f, 0.5f, 0.42f));
    assertEquals(n, c.pixels());
    assertEquals(lab[1], c.a(), 1e-4); // the image holds the float values
    assertEquals(lab[2], c.b(), 1e-4);
    assertTrue(c.a() < -3 && c.strength() > 3, "green: " + c);
    // brightened to neutral grey: no cast
    assertEquals(0, ColorFidelity.shadowCast(grey, solid(n, 0.5f, 0.5f, 0.5f)).strength(), 1e-3);
    // a coloured input counts nowhere (hue drift's business), nor does an output near black or white
    assertTrue(Double.isNaN(ColorFidelity.shadowCast(solid(n, 0.3f, 0.1f, 0.05f), solid(n, 0.45f, 0.5f, 0.42f))
        .strength()));
    assertEquals(0, ColorFidelity.shadowCast(grey, solid(n, 1f, 1f, 0.98f)).pixels());
  }
}
