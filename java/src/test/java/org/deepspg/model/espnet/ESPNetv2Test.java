/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.espnet;

import static org.deepspg.testing.PriorFixtures.maxAbsDiff;
import static org.deepspg.testing.PriorFixtures.readFloat;
import static org.deepspg.testing.PriorFixtures.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.awt.image.Raster;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.model.io.LoadReport;
import org.deepspg.testing.PriorFixtures;
import org.junit.jupiter.api.Test;

/**
 * ESPNetv2 against the golden outputs of the upstream EdgeNets code ({@code ../shared/priors/espnetv2/golden},
 * SOURCES.md there). Measured max |diff| (this implementation, libtorch CPU float32, vs the golden float32):
 * see the tolerances below. The tests that need the weights skip when {@code ../shared/priors/espnetv2} is
 * absent; the structural ones run everywhere.
 */
class ESPNetv2Test {
  /**
   * Logits (|values| ≤ 23) and encoder maps. SOURCES.md: float64 vs float32 of the same weights differ by up to
   * 2.4e-5. Measured here (libtorch 2.10 CPU float32 vs the golden float32, 2026-12-04, with the convolutions on
   * the fast paths of {@code EspBlocks.run}): city random logits_s2 2.29e-5, enc_l4 1.67e-6, corner crops 6.68e-6,
   * photo logits_s2_sub8 1.82e-5; pascal random 7.63e-6, 1.25e-6, 3.34e-6, photo 1.34e-5. Argmax of the photo: 0
   * differing pixels for both models.
   */
  private static final double TOL = 1e-4;
  /** Top-2 margin under which an argmax disagreement counts as a tie. */
  private static final double TIE = 1e-3;

  private static Path dir() {
    Path d = PriorFixtures.fixtures().getParent().resolve("priors").resolve("espnetv2");
    assumeTrue(Files.isDirectory(d.resolve("golden")), "ESPNetv2 weights/golden folder not found: "
        + d.toAbsolutePath() + " (../shared/priors/espnetv2)");
    return d;
  }

  private static ESPNetv2 load(String file) throws Exception {
    ESPNetv2 net = ESPNetv2.load(dir().resolve(file));
    return net.freeze();
  }

  @Test
  void structureMatchesUpstreamCountsWithoutWeights() {
    try (PointerScope s = new PointerScope()) {
      assertEquals(789_242, new ESPNetv2(new ESPNetv2.Config(2.0, 20)).parameterCount());
      assertEquals(789_253, new ESPNetv2(new ESPNetv2.Config(2.0, 21)).parameterCount());
      assertEquals(80_342, new ESPNetv2(new ESPNetv2.Config(0.5, 20)).parameterCount());
      ESPNetv2 net = new ESPNetv2(new ESPNetv2.Config(0.5, 20)).freeze();
      ESPNetv2.Output o = net.forward(torch.randn(1, 3, 48, 80));
      assertArrayEquals(new long[] {1, 20, 48, 80}, PriorFixtures.shape(o.logits()));
      assertArrayEquals(new long[] {1, 20, 24, 40}, PriorFixtures.shape(o.logitsS2()));
      int[] w = net.config().widths();
      for (int i = 0; i < 4; i++) {
        long stride = 2L << i;
        assertArrayEquals(new long[] {1, w[i], 48 / stride, 80 / stride}, PriorFixtures.shape(o.features()[i]));
      }
    }
  }

  @Test
  void rejectsBadInputAndConfig() {
    try (PointerScope s = new PointerScope()) {
      ESPNetv2 net = new ESPNetv2(new ESPNetv2.Config(0.5, 20));
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> net.forward(torch.randn(1, 3, 40, 64)));
      assertTrue(e.getMessage().contains("[1, 3, 40, 64]"), e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> net.forward(torch.randn(1, 1, 32, 32)));
      assertThrows(IllegalArgumentException.class, () -> new ESPNetv2.Config(1.0, 20));
    }
  }

  @Test
  void cityRandomInputMatchesGolden() throws Exception {
    checkRandom("espnetv2_s_2.0_city_1024x512.pth", "espnetv2_s2.0_city", 20);
  }

  @Test
  void pascalRandomInputMatchesGolden() throws Exception {
    checkRandom("espnetv2_s_2.0_pascal_384x384.pth", "espnetv2_s2.0_pascal", 21);
  }

  @Test
  void cityPhotoMatchesGolden() throws Exception {
    checkPhoto("espnetv2_s_2.0_city_1024x512.pth", "espnetv2_s2.0_city", 20);
  }

  @Test
  void pascalPhotoMatchesGolden() throws Exception {
    checkPhoto("espnetv2_s_2.0_pascal_384x384.pth", "espnetv2_s2.0_pascal", 21);
  }

  @Test
  void smallCityModelLoadsAndRuns() throws Exception {
    try (PointerScope s = new PointerScope()) {
      ESPNetv2 net = load("espnetv2_s_0.5_city_1024x512.pth");
      assertEquals(new ESPNetv2.Config(0.5, 20), net.config());
      assertEquals(80_342, net.parameterCount());
      Tensor x = readFloat(dir().resolve("golden/input_photo_aitzgorri_1x3x256x512.bin"), 1, 3, 256, 512);
      ESPNetv2.Output o = net.forward(x);
      assertArrayEquals(new long[] {1, 20, 256, 512}, PriorFixtures.shape(o.logits()));
      assertTrue(o.logits().isfinite().all().item_bool(), "non-finite logits");
    }
  }

  @Test
  void strictLoadUsesEveryTensor() throws Exception {
    try (PointerScope s = new PointerScope()) {
      ESPNetv2 net = new ESPNetv2(new ESPNetv2.Config(2.0, 20));
      LoadReport r = net.loadStateDict(
          org.deepspg.model.io.Checkpoints.read(dir().resolve("espnetv2_s_2.0_city_1024x512.pth")));
      // 526 keys: 459 float tensors loaded, 67 BN counters ignored.
      assertEquals(459, r.loaded().size());
      assertEquals(67, r.ignored().size());
      assertEquals(789_242, net.parameterCount());
      // The 20-class network does not take the 21-class file.
      assertThrows(IllegalArgumentException.class, () -> net.loadStateDict(
          org.deepspg.model.io.Checkpoints.read(dir().resolve("espnetv2_s_2.0_pascal_384x384.pth"))));
    }
  }

  private static void checkRandom(String file, String stem, int classes) throws Exception {
    try (PointerScope s = new PointerScope()) {
      ESPNetv2 net = load(file);
      Path g = dir().resolve("golden");
      Tensor x = readFloat(g.resolve("input_random_1x3x256x256.bin"), 1, 3, 256, 256);
      ESPNetv2.Output o = net.forward(x);
      double dLogits = maxAbsDiff(o.logitsS2(),
          readFloat(g.resolve(stem + ".random.logits_s2.bin"), 1, classes, 128, 128));
      double dEnc = maxAbsDiff(o.features()[3], readFloat(g.resolve(stem + ".random.enc_l4.bin"), 1, 512, 16, 16));
      Tensor full = o.logits();
      Tensor crops = torch.stack(new org.bytedeco.pytorch.TensorVector(
          full.narrow(2, 0, 8).narrow(3, 0, 8), full.narrow(2, 248, 8).narrow(3, 248, 8)));
      double dCrop = maxAbsDiff(crops,
          readFloat(g.resolve(stem + ".random.final_logits_corner_crops.bin"), 2, 1, classes, 8, 8));
      System.out.printf("%s random: max|diff| logits_s2 %.3g, enc_l4 %.3g, corner crops %.3g%n", stem, dLogits,
          dEnc, dCrop);
      assertTrue(dLogits <= TOL, "logits_s2 max |diff| " + dLogits);
      assertTrue(dEnc <= TOL, "enc_l4 max |diff| " + dEnc);
      assertTrue(dCrop <= TOL, "corner crops max |diff| " + dCrop);
    }
  }

  private static void checkPhoto(String file, String stem, int classes) throws Exception {
    try (PointerScope s = new PointerScope()) {
      ESPNetv2 net = load(file);
      Path g = dir().resolve("golden");
      Tensor x = readFloat(g.resolve("input_photo_aitzgorri_1x3x256x512.bin"), 1, 3, 256, 512);
      ESPNetv2.Output o = net.forward(x);
      long[] rows = {0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 127};
      long[] cols = new long[33];
      for (int i = 0; i < 32; i++) {
        cols[i] = 8L * i;
      }
      cols[32] = 255;
      Tensor sub = o.logitsS2().index_select(2, torch.tensor(rows)).index_select(3, torch.tensor(cols));
      double dSub = maxAbsDiff(sub, readFloat(g.resolve(stem + ".photo.logits_s2_sub8.bin"), 1, classes, 17, 33));

      Raster golden = ImageIO.read(g.resolve(stem + ".photo.argmax_512x256.png").toFile()).getRaster();
      float[] logits = values(o.logits());
      int h = 256;
      int w = 512;
      int plane = h * w;
      int mismatches = 0;
      int ties = 0;
      for (int y = 0; y < h; y++) {
        for (int xx = 0; xx < w; xx++) {
          int best = 0;
          for (int c = 1; c < classes; c++) {
            if (logits[c * plane + y * w + xx] > logits[best * plane + y * w + xx]) {
              best = c;
            }
          }
          int want = golden.getSample(xx, y, 0);
          if (best != want) {
            double margin = logits[best * plane + y * w + xx] - logits[want * plane + y * w + xx];
            if (margin < TIE) {
              ties++;
            } else {
              mismatches++;
            }
          }
        }
      }
      System.out.printf("%s photo: max|diff| logits_s2_sub8 %.3g; argmax differs at %d tie pixels, %d others%n",
          stem, dSub, ties, mismatches);
      assertTrue(dSub <= TOL, "photo logits_s2 max |diff| " + dSub);
      assertEquals(0, mismatches, "argmax pixels that differ from the golden map with a top-2 margin ≥ " + TIE);
    }
  }
}
