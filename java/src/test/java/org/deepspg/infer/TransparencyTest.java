/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.io.IOException;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.deepspg.data.Image;
import org.deepspg.data.ImageTensors;
import org.deepspg.data.Images;
import org.deepspg.model.DeepSPG;
import org.junit.jupiter.api.Test;

/**
 * What lies under fully transparent pixels does not change the visible result ({@link HiddenPixels}), alpha comes
 * back as a copy, a grey image comes back grey, and bad samples are refused with their reason (the API audit of
 * session 39: a white instead of a black transparent margin moved the visible pixels by 43–45 levels on average).
 */
class TransparencyTest {
  private static final int H = 64;
  private static final int W = 96;
  private static final int MARGIN = 12;

  private static final DeepSPG tiny = InferTestSupport.sharedTiny();

  /** A dark image with transparent margins left and right (and a half-transparent column) over `hidden`. */
  private static Image withMargins(float hidden) {
    return withMargins(hidden, 0.5f);
  }

  /** The same with the column beside the left margin at alpha `edge`. */
  private static Image withMargins(float hidden, float edge) {
    Image img = InferTestSupport.darkImage(H, W, 5);
    float[] rgb = img.rgb().clone(), alpha = new float[H * W];
    for (int y = 0; y < H; y++) {
      for (int x = 0; x < W; x++) {
        int i = y * W + x;
        boolean margin = x < MARGIN || x >= W - MARGIN;
        alpha[i] = margin ? 0 : x == MARGIN ? edge : 1;
        if (margin) rgb[i] = rgb[H * W + i] = rgb[2 * H * W + i] = hidden;
      }
    }
    return new Image(W, H, rgb, alpha, img.metadata());
  }

  /** The visible (alpha > 0) samples of an image, all planes. */
  private static float[] visible(Image img) {
    float[] a = img.alpha(), v = new float[3 * a.length];
    int k = 0;
    for (int c = 0; c < 3; c++) {
      for (int i = 0; i < a.length; i++) if (a[i] > 0) v[k++] = img.rgb()[c * a.length + i];
    }
    return java.util.Arrays.copyOf(v, k);
  }

  @Test
  void theFillKeepsVisiblePixelsAndDependsOnThemAlone() {
    Image black = withMargins(0), white = withMargins(1), nan = withMargins(Float.NaN);
    Image fb = HiddenPixels.filled(black), fw = HiddenPixels.filled(white), fn = HiddenPixels.filled(nan);
    assertArrayEquals(fb.rgb(), fw.rgb(), "the fill does not see the hidden colour");
    assertArrayEquals(fb.rgb(), fn.rgb());
    assertArrayEquals(visible(black), visible(fb), "visible pixels keep their bits");
    assertSame(black.alpha(), fb.alpha());
    float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
    for (float f : visible(black)) {
      min = Math.min(min, f);
      max = Math.max(max, f);
    }
    for (float f : fb.rgb()) assertTrue(f >= min - 1e-6f && f <= max + 1e-6f, "a mean of visible colours: " + f);
    // next to the visible area the fill continues it: the hidden column beside the half-transparent one is close
    for (int y = 0; y < H; y++) {
      int i = y * W + MARGIN - 1;
      assertEquals(black.rgb()[i + 1], fb.rgb()[i], 0.15f, "row " + y);
    }
    Image opaque = InferTestSupport.darkImage(H, W, 5);
    assertSame(opaque, HiddenPixels.filled(opaque), "no alpha: nothing to fill");
    Image none = new Image(W, H, black.rgb(), new float[H * W], black.metadata());
    assertArrayEquals(new float[3 * H * W], HiddenPixels.filled(none).rgb(), "nothing visible: black");
    for (int[] size : new int[][] {{1, 2}, {2, 1}, {3, 7}, {7, 3}, {5, 5}}) { // odd sizes, one visible pixel
      int h = size[0], w = size[1];
      float[] rgb = new float[3 * h * w], a = new float[h * w];
      a[h * w - 1] = 1;
      rgb[h * w - 1] = 0.25f;
      float[] f = HiddenPixels.filled(new Image(w, h, rgb, a, Image.Metadata.MEMORY)).rgb();
      for (int i = 0; i < h * w; i++) assertEquals(0.25f, f[i], 1e-6f, h + "x" + w + " pixel " + i);
    }
  }

  @Test
  void theHiddenColourDoesNotChangeTheVisibleResult() throws IOException {
    Image black = withMargins(0), white = withMargins(1), nan = withMargins(Float.NaN);
    for (TileOptions t : new TileOptions[] {TileOptions.never(), new TileOptions(64, 16, 768, 0)}) {
      try (Enhancer e = Enhancer.builder().model(tiny).tiling(t).build()) {
        float[] b = visible(e.enhance(black)), w = visible(e.enhance(white));
        assertArrayEquals(b, w, "black vs white under alpha 0, " + t);
        assertArrayEquals(b, visible(e.enhance(nan)), "NaN under alpha 0 is not refused and changes nothing");
        List<Image> both = e.enhance(List.of(black, white));
        assertArrayEquals(b, visible(both.get(0)));
        assertArrayEquals(b, visible(both.get(1)));
        try (Enhancer.Sequence s = e.sequence(); Enhancer.Sequence s2 = e.sequence()) {
          assertArrayEquals(visible(s.enhance(black)), visible(s2.enhance(white)), "a sequence's first frame");
        }
        try (Enhancer.Sequence s = e.sequence()) {
          s.lockTo(white);
          float[] locked = visible(s.enhance(black));
          try (Enhancer.Sequence s2 = e.sequence()) {
            s2.lockTo(black);
            assertArrayEquals(locked, visible(s2.enhance(white)), "the lock does not see hidden colours either");
          }
        }
      }
    }
  }

  /**
   * AWT's premultiplied types store black under alpha 0: the same picture gives the same result either way (opaque
   * and transparent pixels only: a half-transparent one loses colour bits in premultiplied storage).
   */
  @Test
  void premultipliedAndStraightAlphaGiveTheSameResult() throws IOException {
    Image src = withMargins(1, 1);
    BufferedImage straight = Images.toBufferedImage(src, 8, false, true);
    BufferedImage argb = new BufferedImage(W, H, BufferedImage.TYPE_INT_ARGB);
    BufferedImage pre = new BufferedImage(W, H, BufferedImage.TYPE_INT_ARGB_PRE);
    for (int y = 0; y < H; y++) {
      for (int x = 0; x < W; x++) {
        int p = straight.getRGB(x, y);
        argb.setRGB(x, y, p);
        pre.setRGB(x, y, p);
      }
    }
    try (Enhancer e = Enhancer.builder().model(tiny).tiling(TileOptions.never()).build()) {
      BufferedImage a = e.enhance(argb), b = e.enhance(pre);
      for (int y = 0; y < H; y++) {
        for (int x = MARGIN; x < W - MARGIN; x++) assertEquals(a.getRGB(x, y), b.getRGB(x, y), x + "," + y);
      }
    }
  }

  @Test
  void alphaComesBackAsACopyAndGreyComesBackGrey() throws IOException {
    Image src = withMargins(0);
    float[] grey = src.rgb().clone();
    int n = H * W;
    for (int i = 0; i < n; i++) grey[n + i] = grey[2 * n + i] = grey[i];
    Image.Metadata g = src.metadata().withGray(true);
    try (Enhancer e = Enhancer.builder().model(tiny).tiling(TileOptions.never()).build()) {
      Image out = e.enhance(src);
      assertNotSame(src.alpha(), out.alpha());
      assertArrayEquals(src.alpha(), out.alpha());
      Image colour = e.enhance(new Image(W, H, grey, null, src.metadata()));
      Image mono = e.enhance(new Image(W, H, grey, null, g));
      assertTrue(mono.metadata().gray());
      float spread = 0;
      for (int i = 0; i < n; i++) {
        float[] c = colour.rgb();
        spread = Math.max(spread, Math.abs(c[i] - c[2 * n + i]));
        float luma = 0.299f * c[i] + 0.587f * c[n + i] + 0.114f * c[2 * n + i];
        for (int k = 0; k < 3; k++) assertEquals(luma, mono.rgb()[k * n + i], 0f, "pixel " + i + " plane " + k);
      }
      assertTrue(spread > 1e-3, "the network tints a grey input (else this test shows nothing): " + spread);
      List<Image> batch = e.enhance(List.of(new Image(W, H, grey.clone(), null, g), new Image(W, H, grey, null, g)));
      assertArrayEquals(mono.rgb(), batch.get(1).rgb(), "batched grey images come back grey too");
    }
  }

  @Test
  void badSamplesAreRefusedWithTheirReason() throws IOException {
    Image img = InferTestSupport.darkImage(24, 32, 7);
    float[] eightBit = img.rgb().clone();
    for (int i = 0; i < eightBit.length; i++) eightBit[i] *= 255;
    eightBit[5] = Float.NaN;
    try (Enhancer e = Enhancer.builder().model(tiny).tiling(TileOptions.never()).build();
        PointerScope s = new PointerScope()) {
      IllegalArgumentException a = assertThrows(IllegalArgumentException.class,
          () -> e.enhance(Image.of(32, 24, eightBit)));
      assertTrue(a.getMessage().contains("NaN sample at x 5, y 0"), a.getMessage());
      float[] inf = img.rgb().clone();
      inf[24 * 32 + 33] = Float.POSITIVE_INFINITY;
      a = assertThrows(IllegalArgumentException.class, () -> e.enhance(Image.of(32, 24, inf)));
      assertTrue(a.getMessage().contains("an infinite sample at x 1, y 1 (channel 1)"), a.getMessage());
      // a bad visible sample is named where it is, also when the fill would spread it over hidden pixels
      for (float bad : new float[] {Float.NaN, Float.NEGATIVE_INFINITY}) {
        Image m = withMargins(0);
        m.rgb()[2 * H * W + (H - 1) * W + W - MARGIN - 1] = bad;
        a = assertThrows(IllegalArgumentException.class, () -> e.enhance(m));
        assertTrue(a.getMessage().contains("sample at x " + (W - MARGIN - 1) + ", y " + (H - 1) + " (channel 2)")
            && a.getMessage().contains(Float.isNaN(bad) ? "a NaN" : "an infinite"), a.getMessage());
        assertThrows(IllegalArgumentException.class, () -> e.enhance(List.of(withMargins(0), m)));
      }
      // anything goes under alpha 0, also when nothing is visible; 8-bit samples that are visible do not
      float[] hiddenAll = eightBit.clone();
      Image transparent = new Image(32, 24, hiddenAll, new float[24 * 32], img.metadata());
      assertEquals(32, e.enhance(transparent).width());
      float[] half = new float[24 * 32];
      java.util.Arrays.fill(half, 0, 12 * 32, 1);
      eightBit[5] = 200;
      a = assertThrows(IllegalArgumentException.class,
          () -> e.enhance(new Image(32, 24, eightBit, half, img.metadata())));
      assertTrue(a.getMessage().contains("divide them by 255"), a.getMessage());
      for (float bad : new float[] {1.5f, -0.25f, Float.NaN}) {
        float[] alpha = new float[24 * 32];
        java.util.Arrays.fill(alpha, 1);
        alpha[40] = bad;
        a = assertThrows(IllegalArgumentException.class,
            () -> e.enhance(new Image(32, 24, img.rgb(), alpha, img.metadata())));
        assertTrue(a.getMessage().contains("alpha must hold values in [0, 1]") && a.getMessage().contains("x 8, y 1"),
            a.getMessage());
      }
      float[] nan = img.rgb().clone();
      nan[7] = Float.NaN;
      Tensor t = ImageTensors.tensorOf(nan, 1, 3, 24, 32);
      a = assertThrows(IllegalArgumentException.class, () -> e.enhance(t));
      assertTrue(a.getMessage().contains("the tensor holds NaN"), a.getMessage());
      // a float AWT image with a NaN sample: the reason, without a "null:" for the file it does not come from
      ColorSpace cs = ColorSpace.getInstance(ColorSpace.CS_sRGB);
      ComponentColorModel cm = new ComponentColorModel(cs, false, false, Transparency.OPAQUE, DataBuffer.TYPE_FLOAT);
      BufferedImage fl = new BufferedImage(cm, cm.createCompatibleWritableRaster(4, 4), false, null);
      fl.getRaster().setSample(3, 3, 0, Float.NaN);
      a = assertThrows(IllegalArgumentException.class, () -> e.enhance(fl));
      assertTrue(a.getMessage().startsWith("unsupported BufferedImage: a NaN"), a.getMessage());
    }
  }
}
