/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.espnet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.imageio.ImageIO;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.model.prior.MiniJson;
import org.deepspg.testing.Fixtures;
import org.deepspg.testing.PriorFixtures;
import org.junit.jupiter.api.Test;

/**
 * ESPNetv2 in Java against the upstream implementation's golden outputs ({@code ../shared/priors/espnetv2/golden},
 * made by the EdgeNets code with torch 1.13 on CPU): encoder features and logits of a random input for the Cityscapes
 * and PASCAL VOC weights (s = 2.0), the logits and the argmax map of a real photo, and the s = 0.5 weights' size.
 * Skipped when the folder is absent (third-party data, not in this repository).
 */
class EspNetV2GoldenTest {
  /**
   * Float32 tolerance on logits of magnitude ~20: the upstream float32 and float64 runs differ by 1.3e-5, and
   * libtorch's convolution algorithms here differ from that build's in summation order; a wrong layer differs by
   * orders of magnitude more.
   */
  private static final double TOL = 2e-4;

  private static Path dir() {
    Path d = Fixtures.shared().resolve("priors/espnetv2");
    assumeTrue(Files.isDirectory(d.resolve("golden")), "skipped: " + d.toAbsolutePath() + " is not there");
    return d;
  }

  private static Tensor bin(Path golden, String name) throws IOException {
    @SuppressWarnings("unchecked")
    Map<String, Object> meta = (Map<String, Object>) MiniJson.parse(golden.resolve(name + ".json"));
    List<?> shape = (List<?>) meta.get("shape");
    long[] s = new long[shape.size()];
    for (int i = 0; i < s.length; i++) s[i] = ((Number) shape.get(i)).longValue();
    return PriorFixtures.readFloat(golden.resolve(name + ".bin"), s);
  }

  private static double maxDiff(Tensor a, Tensor b) {
    assertArrayEquals(b.shape(), a.shape());
    return a.sub(b).abs().max().item_double();
  }

  private static void randomInput(String weights, String tag) throws IOException {
    Path d = dir();
    Path g = d.resolve("golden");
    try (EspNetV2 net = EspNetV2.load(d.resolve(weights)); PointerScope s = new PointerScope();
        NoGradGuard ng = new NoGradGuard()) {
      EspNetV2.Output o = net.forward(bin(g, "input_random_1x3x256x256"));
      double enc = maxDiff(o.features().get(3), bin(g, tag + ".random.enc_l4"));
      double logits = maxDiff(o.logitsStride2(), bin(g, tag + ".random.logits_s2"));
      Tensor crops = bin(g, tag + ".random.final_logits_corner_crops");
      Tensor c0 = o.logits().narrow(2, 0, 8).narrow(3, 0, 8);
      Tensor c1 = o.logits().narrow(2, 248, 8).narrow(3, 248, 8);
      double full = Math.max(maxDiff(c0, crops.select(0, 0)), maxDiff(c1, crops.select(0, 1)));
      System.out.printf(Locale.ROOT, "ESPNetv2 %s random input: max |diff| enc_l4 %.2e, logits_s2 %.2e, final %.2e%n",
          tag, enc, logits, full);
      assertTrue(enc < TOL && logits < TOL && full < TOL, tag + ": " + enc + " / " + logits + " / " + full);
    }
  }

  @Test
  void cityscapesRandomInput() throws IOException {
    randomInput("espnetv2_s_2.0_city_1024x512.pth", "espnetv2_s2.0_city");
  }

  @Test
  void pascalRandomInput() throws IOException {
    randomInput("espnetv2_s_2.0_pascal_384x384.pth", "espnetv2_s2.0_pascal");
  }

  @Test
  void cityscapesPhotoLogitsAndArgmax() throws IOException {
    Path d = dir();
    Path g = d.resolve("golden");
    try (EspNetV2 net = EspNetV2.load(d.resolve("espnetv2_s_2.0_city_1024x512.pth")); PointerScope s = new PointerScope();
        NoGradGuard ng = new NoGradGuard()) {
      assertEquals(20, net.classes());
      EspNetV2.Output o = net.forward(bin(g, "input_photo_aitzgorri_1x3x256x512"));
      @SuppressWarnings("unchecked")
      Map<String, Object> meta = (Map<String, Object>) MiniJson.parse(g.resolve(
          "espnetv2_s2.0_city.photo.logits_s2_sub8.json"));
      Tensor sub = o.logitsStride2().index_select(2, indices((List<?>) meta.get("row_indices")))
          .index_select(3, indices((List<?>) meta.get("col_indices")));
      double dl = maxDiff(sub, bin(g, "espnetv2_s2.0_city.photo.logits_s2_sub8"));
      // argmax of the full-resolution logits against the upstream label map; a difference must be a tie.
      BufferedImage ref = ImageIO.read(g.resolve("espnetv2_s2.0_city.photo.argmax_512x256.png").toFile());
      Tensor logits = o.logits().select(0, 0); // [C, 256, 512]
      Tensor arg = logits.argmax(new org.bytedeco.pytorch.LongOptional(0), false);
      long[] ours = new long[256 * 512];
      arg.contiguous().to(torch.ScalarType.Long).data_ptr_long().get(ours);
      float[] l = new float[(int) logits.numel()];
      logits.contiguous().data_ptr_float().get(l);
      int differ = 0;
      int n = 256 * 512;
      for (int y = 0; y < 256; y++) {
        for (int x = 0; x < 512; x++) {
          int theirs = ref.getRaster().getSample(x, y, 0);
          int mine = (int) ours[y * 512 + x];
          if (theirs != mine) {
            differ++;
            float margin = l[mine * n + y * 512 + x] - l[theirs * n + y * 512 + x];
            assertTrue(margin < 1e-3, "pixel " + x + "," + y + ": class " + mine + " vs " + theirs + " by " + margin);
          }
        }
      }
      System.out.printf(Locale.ROOT, "ESPNetv2 city photo: max |diff| logits_s2 %.2e, argmax differs at %d px (ties)%n",
          dl, differ);
      assertTrue(dl < TOL, "photo logits " + dl);
    }
  }

  private static Tensor indices(List<?> idx) {
    long[] a = new long[idx.size()];
    for (int i = 0; i < a.length; i++) a[i] = ((Number) idx.get(i)).longValue();
    return Tensor.create(a);
  }

  @Test
  void halfWidthWeightsLoadAndRun() throws IOException {
    Path d = dir();
    try (EspNetV2 net = EspNetV2.load(d.resolve("espnetv2_s_0.5_city_1024x512.pth")); PointerScope s = new PointerScope();
        NoGradGuard ng = new NoGradGuard()) {
      assertEquals(0.5, net.scale(), 0);
      assertArrayEquals(new int[] {16, 32, 64, 128}, net.featureWidths());
      // SOURCES.md: 80,342 trainable parameters (conv weights, BN gamma/beta, PReLU slopes, the head's bias).
      assertEquals(80_342, net.parameterCount());
      EspNetV2.Output o = net.forward(torch.randn(1, 3, 64, 96));
      assertArrayEquals(new long[] {1, 20, 64, 96}, o.logits().shape());
      assertArrayEquals(new long[] {1, 128, 4, 6}, o.features().get(3).shape());
      assertTrue(torch.isfinite(o.logits()).all().item_bool());
    }
    try (EspNetV2 big = EspNetV2.load(d.resolve("espnetv2_s_2.0_city_1024x512.pth"))) {
      assertEquals(789_242, big.parameterCount());
    }
  }
}
