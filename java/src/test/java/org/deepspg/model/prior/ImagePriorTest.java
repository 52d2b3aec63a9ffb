/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.prior;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.model.DeepSPGConfig;
import org.deepspg.model.espnet.ESPNetv2;
import org.deepspg.model.hrnet.HRNet;
import org.deepspg.model.hrnet.HRNetConfig;
import org.deepspg.model.hrnet.InputNorm;
import org.deepspg.testing.Fixtures;
import org.deepspg.testing.PriorFixtures;
import org.junit.jupiter.api.Test;

/** Both {@link ImagePrior} implementations honour the contract the SEMs and L_sem rely on. */
class ImagePriorTest {
  /** Features at strides 4/8/16 with the declared channels, logits at the declared stride, frozen. */
  private static void checkContract(ImagePrior p, int h, int w) {
    try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      ImagePrior.Output o = p.run(torch.rand(2, 3, h, w));
      int[] c = p.featureChannels();
      int[] st = p.featureStrides();
      assertEquals(3, o.features().length);
      for (int i = 0; i < 3; i++) {
        assertArrayEquals(new long[] {2, c[i], h / st[i], w / st[i]}, PriorFixtures.shape(o.features()[i]),
            p.id() + " feature " + i);
      }
      assertArrayEquals(new long[] {2, p.classNames().size(), h / p.logitStride(), w / p.logitStride()},
          PriorFixtures.shape(o.logits()), p.id() + " logits");
      assertTrue(p.parameterCount() > 0);
      assertEquals("imagenet", p.preprocessing());
    }
  }

  @Test
  void espnetPriorContract() {
    try (EspnetPrior p = new EspnetPrior(new ESPNetv2(new ESPNetv2.Config(0.5, 20)))) {
      assertEquals(EspnetPrior.ID, p.id());
      assertArrayEquals(new int[] {32, 64, 128}, p.featureChannels());
      assertEquals("sky", p.classNames().get(10));
      assertFalse(p.network().is_training(), "frozen prior must be in eval mode");
      checkContract(p, 64, 96);
    }
  }

  /**
   * The Cityscapes weights' 20th output was never trained: the prior gives the 19 trained logits (those of the
   * network, unchanged); the PASCAL VOC weights keep all 21.
   */
  @Test
  void espnetPriorLeavesOutTheUntrainedCityscapesLogit() {
    try (EspnetPrior city = new EspnetPrior(new ESPNetv2(new ESPNetv2.Config(0.5, 20)));
        EspnetPrior voc = new EspnetPrior(new ESPNetv2(new ESPNetv2.Config(0.5, 21)));
        PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      assertEquals(19, city.classNames().size());
      assertEquals("bicycle", city.classNames().get(18));
      Tensor x = torch.rand(1, 3, 32, 48);
      Tensor all = city.network().forward(ESPNetv2.normalize(x), false).logitsS2();
      Tensor mine = city.run(x).logits();
      assertEquals(20, all.size(1));
      assertEquals(0, mine.sub(all.narrow(1, 0, 19)).abs().max().item_float(), 0f);
      assertEquals(21, voc.classNames().size());
      assertEquals(21, voc.run(x).logits().size(1));
    }
  }

  @Test
  void hrnetPriorContract() throws Exception {
    Fixtures.assumePresent();
    HRNetConfig cfg = HRNetConfig.fromJson(PriorFixtures.fixtures().resolve("hrnet/config.json"));
    try (HrnetPrior p = new HrnetPrior(new HRNet(cfg))) {
      assertEquals(HrnetPrior.ID, p.id());
      assertFalse(p.network().is_training(), "frozen prior must be in eval mode");
      checkContract(p, 64, 96);
    }
  }

  /**
   * {@code features} (what enhancement calls: HRNet without its head and the last module's fourth output, ESPNetv2
   * without its decoder) gives the very values of {@code run(x).features()}, and a batch item's features do not
   * depend on the rest of the batch.
   */
  @Test
  void featuresAloneEqualRunFeatures() {
    HRNetConfig twoModules = new HRNetConfig(
        new HRNetConfig.Stage(1, HRNetConfig.BlockType.BOTTLENECK, new int[] {1}, new int[] {8}),
        new HRNetConfig.Stage(1, HRNetConfig.BlockType.BASIC, new int[] {1, 1}, new int[] {8, 16}),
        new HRNetConfig.Stage(1, HRNetConfig.BlockType.BASIC, new int[] {1, 1, 1}, new int[] {8, 16, 32}),
        new HRNetConfig.Stage(2, HRNetConfig.BlockType.BASIC, new int[] {1, 1, 1, 1}, new int[] {8, 16, 32, 64}),
        7, 1, true, 1e-5, 0.1);
    torch.manual_seed(3);
    try (HrnetPrior hr = new HrnetPrior(new HRNet(twoModules));
        EspnetPrior esp = new EspnetPrior(new ESPNetv2(new ESPNetv2.Config(0.5, 20)))) {
      for (ImagePrior p : new ImagePrior[] {hr, esp}) {
        try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
          Tensor x = torch.rand(2, 3, 64, 96);
          Tensor[] want = p.run(x).features();
          Tensor[] got = p.features(x);
          Tensor[] first = p.features(x.narrow(0, 0, 1));
          assertEquals(3, got.length, p.id());
          for (int i = 0; i < 3; i++) {
            assertArrayEquals(PriorFixtures.shape(want[i]), PriorFixtures.shape(got[i]), p.id() + " feature " + i);
            assertTrue(torch.equal(want[i], got[i]), p.id() + " feature " + i + " differs from run()'s");
            assertTrue(first[i].sub(got[i].narrow(0, 0, 1)).abs().max().item_float() <= 1e-5f,
                p.id() + " feature " + i + " of batch item 0 alone");
          }
        }
      }
    }
  }

  @Test
  void missingOrWrongEspnetWeightsNameTheFile() {
    MissingWeightsException none = assertThrows(MissingWeightsException.class, () -> EspnetPrior.load(null));
    assertTrue(none.getMessage().contains("espnetv2_s_2.0_city_1024x512.pth"), none.getMessage());
    assertTrue(none.getMessage().contains("EdgeNets"), none.getMessage());
    MissingWeightsException absent = assertThrows(MissingWeightsException.class,
        () -> EspnetPrior.load(Path.of("no/such/espnet.pth")));
    assertTrue(absent.getMessage().contains("file not found"), absent.getMessage());
  }

  @Test
  void hrnetCheckpointIsNotEspnetWeights() {
    Fixtures.assumePresent();
    Path hrnet = PriorFixtures.fixtures().resolve("hrnet/tiny_zip.pth");
    MissingWeightsException e = assertThrows(MissingWeightsException.class, () -> EspnetPrior.load(hrnet));
    assertTrue(e.getMessage().contains("does not hold the ESPNetv2 weights"), e.getMessage());
  }

  /** The one factory: unknown names refused; a model without its prior's file told which file fits it and why. */
  @Test
  void factoryNamesTheFileThatFitsTheModel() {
    assertThrows(IllegalArgumentException.class, () -> ImagePriors.load("segformer", null, null, null));
    DeepSPGConfig small = DeepSPGConfig.s().withSemPrior(EspnetPrior.ID, new int[] {32, 64, 128});
    DeepSPGConfig big = DeepSPGConfig.s().withSemPrior(EspnetPrior.ID, new int[] {128, 256, 512});
    String[][] cases = {
        {"espnetv2_s_0.5_city_1024x512.pth", null}, {"espnetv2_s_2.0_city_1024x512.pth", "pascal"},
        {"hrnet_ade20k_4312_torch04.pth", null}};
    DeepSPGConfig[] cfgs = {small, big, DeepSPGConfig.s()};
    for (int i = 0; i < cfgs.length; i++) {
      DeepSPGConfig c = cfgs[i];
      MissingWeightsException e = assertThrows(MissingWeightsException.class,
          () -> ImagePriors.forModel(c, null, null, InputNorm.IMAGENET, "bundled x", "CLI: --prior-weights FILE"));
      assertTrue(e.expectedFile().startsWith(cases[i][0]), e.expectedFile());
      if (cases[i][1] != null) assertTrue(e.expectedFile().contains(cases[i][1]), e.expectedFile());
      assertTrue(e.getMessage().contains("(bundled x) has SEMs trained with the " + c.semPrior()), e.getMessage());
      assertTrue(e.getMessage().contains("(CLI: --prior-weights FILE)"), e.getMessage());
      MissingWeightsException g = assertThrows(MissingWeightsException.class, () -> ImagePriors.forModel(c,
          Path.of("/nonexistent/prior.pth"), null, InputNorm.IMAGENET, "bundled x", "unused"));
      assertTrue(g.getMessage().contains("file not found (/nonexistent/prior.pth)"), g.getMessage());
    }
  }
}
