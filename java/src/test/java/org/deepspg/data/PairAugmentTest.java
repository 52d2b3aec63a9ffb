/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PairAugmentTest {
  /** A coordinate image: R = x / W, G = y / H, B = a pixelwise function of them, so every pixel is unique. */
  static Image coords(int w, int h) {
    float[] p = new float[3 * w * h];
    for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) {
      p[y * w + x] = (float) x / w;
      p[w * h + y * w + x] = (float) y / h;
      p[2 * w * h + y * w + x] = (float) ((x * 7 + y * 13) % 17) / 17;
    }
    return Image.of(w, h, p);
  }

  /** high = f(low) pixelwise, with f non-linear and channel-mixing. */
  static Image f(Image low) {
    int n = low.pixelCount();
    float[] a = low.rgb(), b = new float[a.length];
    for (int i = 0; i < n; i++) {
      b[i] = a[i] * a[i];
      b[n + i] = 1 - a[2 * n + i];
      b[2 * n + i] = 0.5f * (a[i] + a[n + i]);
    }
    return low.withPixels(low.width(), low.height(), b);
  }

  @Test
  void sameTransformOnBothImages() {
    Image low = coords(70, 50);
    Image high = f(low);
    PairAugment aug = new PairAugment();
    SplittableRandom r = new SplittableRandom(1);
    Set<String> seen = new HashSet<>();
    for (int k = 0; k < 200; k++) {
      float[][] p = aug.apply(low, high, 32, r);
      int s = 32, n = s * s;
      assertEquals(3 * n, p[0].length);
      // the pixelwise relation high = f(low) survives the augmentation
      Image pl = Image.of(s, s, p[0]);
      assertArrayEquals(f(pl).rgb(), p[1], "item " + k);
      // the patch is a dihedral image of an in-bounds crop: decode the crop origin and orientation from coordinates
      float x00 = p[0][0] * 70, y00 = p[0][n] * 50;
      float x01 = p[0][1] * 70, y01 = p[0][n + 1] * 50;
      float x10 = p[0][s] * 70, y10 = p[0][n + s] * 50;
      int dxr = Math.round(x01 - x00), dyr = Math.round(y01 - y00), dxd = Math.round(x10 - x00), dyd = Math.round(y10 - y00);
      assertEquals(1, Math.abs(dxr) + Math.abs(dyr), "one step to the right moves one source pixel");
      assertEquals(1, Math.abs(dxd) + Math.abs(dyd), "one step down moves one source pixel");
      for (float v : p[0]) assertTrue(v >= 0 && v < 1.0001f);
      seen.add(dxr + "," + dyr + "," + dxd + "," + dyd);
    }
    assertEquals(8, seen.size(), "all 8 flips/rotations occur");
  }

  @Test
  void transformMatchesItsDefinitionAndStaysInBounds() {
    int w = 40, h = 33;
    Image img = coords(w, h);
    PairAugment aug = new PairAugment();
    SplittableRandom r = new SplittableRandom(2);
    for (int k = 0; k < 100; k++) {
      PairAugment.Transform t = aug.draw(32, w, h, r);
      assertTrue(t.x0() >= 0 && t.x0() + 32 <= w && t.y0() >= 0 && t.y0() + 32 <= h, t.toString());
      float[] out = new float[3 * 32 * 32];
      PairAugment.apply(img.rgb(), 3, w, h, t, out, 0);
      // the documented mapping: (sy, sx) = transpose ? (x, y) : (y, x); vflip mirrors sy; hflip mirrors sx
      for (int[] yx : new int[][] {{0, 0}, {0, 1}, {2, 0}, {31, 5}, {17, 31}}) {
        int y = yx[0], x = yx[1];
        int sy = t.transpose() ? x : y, sx = t.transpose() ? y : x;
        if (t.vflip()) sy = 31 - sy;
        if (t.hflip()) sx = 31 - sx;
        assertEquals((float) (t.x0() + sx) / w, out[y * 32 + x], 1e-6f, t + " at " + y + "," + x);
        assertEquals((float) (t.y0() + sy) / h, out[32 * 32 + y * 32 + x], 1e-6f, t + " at " + y + "," + x);
      }
    }
    assertThrows(IllegalArgumentException.class,
        () -> PairAugment.apply(img.rgb(), 3, w, h, new PairAugment.Transform(9, 0, 32, false, false, false), new float[3072], 0));
  }

  @Test
  void effectivePatchFollowsSpec() {
    assertEquals(128, PairAugment.effectivePatch(128, 600, 400));
    assertEquals(384, PairAugment.effectivePatch(384, 600, 400));
    assertEquals(96, PairAugment.effectivePatch(128, 600, 100), "largest multiple of 32 that fits 100");
    assertEquals(32, PairAugment.effectivePatch(384, 40, 500));
    assertThrows(IllegalArgumentException.class, () -> PairAugment.effectivePatch(128, 31, 500));
    assertThrows(IllegalArgumentException.class, () -> PairAugment.effectivePatch(100, 600, 400));
    Image small = coords(100, 70);
    float[][] p = new PairAugment().apply(small, f(small), 128, new SplittableRandom(3));
    assertEquals(3 * 64 * 64, p[0].length);
  }

  @Test
  void deterministicPerSeedAndSwitchesWork() {
    Image low = coords(64, 48);
    Image high = f(low);
    PairAugment aug = new PairAugment();
    float[][] a = aug.apply(low, high, 32, new SplittableRandom(5));
    float[][] b = aug.apply(low, high, 32, new SplittableRandom(5));
    float[][] c = aug.apply(low, high, 32, new SplittableRandom(6));
    assertArrayEquals(a[0], b[0]);
    assertArrayEquals(a[1], b[1]);
    assertFalse(java.util.Arrays.equals(a[0], c[0]));
    PairAugment cropOnly = new PairAugment(false, false);
    SplittableRandom r = new SplittableRandom(7);
    for (int k = 0; k < 50; k++) {
      PairAugment.Transform t = cropOnly.draw(32, 64, 48, r);
      assertFalse(t.hflip() || t.vflip() || t.transpose());
    }
    // same crops with and without flips for the same seed (5 draws either way)
    PairAugment.Transform t1 = aug.draw(32, 64, 48, new SplittableRandom(8));
    PairAugment.Transform t2 = cropOnly.draw(32, 64, 48, new SplittableRandom(8));
    assertEquals(t1.x0(), t2.x0());
    assertEquals(t1.y0(), t2.y0());
    assertThrows(IllegalArgumentException.class, () -> aug.apply(low, coords(63, 48), 32, new SplittableRandom(1)));
  }
}
