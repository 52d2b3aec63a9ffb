/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model;

import static org.bytedeco.pytorch.global.torch.rand;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Properties;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.deepspg.model.prior.EspnetPrior;
import org.deepspg.model.prior.HrnetPrior;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The SEMs take any image prior's widths through their learned projections; the prior is part of the config. */
class SemPriorConfigTest {
  private static final int[] ESP = {128, 256, 512};

  @BeforeAll
  static void backends() {
    ModelTestSupport.disableMkldnn();
  }

  @Test
  void defaultIsHrnetAndOldMetadataReadsAsHrnet() {
    DeepSPGConfig s = DeepSPGConfig.s();
    assertEquals(HrnetPrior.ID, s.semPrior());
    assertEquals(List.of(48, 96, 192), s.semChannels());
    Properties old = s.toProperties();
    old.remove(DeepSPGConfig.KEY_SEM_PRIOR);
    old.remove(DeepSPGConfig.KEY_SEM_CHANNELS);
    assertEquals(s, DeepSPGConfig.fromProperties(old), "weights files from before sem.prior existed are HRNet's");
  }

  @Test
  void espnetPriorRoundTripsAndBuildsItsProjections() {
    DeepSPGConfig cfg = DeepSPGConfig.s().withSemPrior(EspnetPrior.ID, ESP);
    assertEquals(cfg, DeepSPGConfig.fromText(cfg.toText()));
    assertTrue(cfg.describe().contains("sem_prior=espnetv2 [128, 256, 512]"), cfg.describe());
    DeepSPG net = new DeepSPG(cfg);
    DeepSPG hr = new DeepSPG(DeepSPGConfig.s());
    // Only the SEMs' 1x1 adapt layers differ: (s_l - 48..192) x d_l weights each (5 SEMs at L0, L1, L2, L1, L0).
    long d = net.parameterCount() - hr.parameterCount();
    long want = (128 - 48) * 20L * 2 + (256 - 96) * 40L * 2 + (512 - 192) * 80L;
    assertEquals(want, d);
    try (PointerScope sc = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      Tensor in = rand(1, 3, 64, 96).mul_(new Scalar(0.3));
      Tensor out = net.forward(in, rand(1, 128, 16, 24), rand(1, 256, 8, 12), rand(1, 512, 4, 6));
      assertEquals(List.of(1L, 3L, 64L, 96L), List.of(out.size(0), out.size(1), out.size(2), out.size(3)));
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> net.forward(in, rand(1, 48, 16, 24), rand(1, 96, 8, 12), rand(1, 192, 4, 6)));
      assertTrue(e.getMessage().contains("prior feature map 0 (espnetv2)"), e.getMessage());
    }
  }

  @Test
  void retinexPriorInputSeesTheLightUpAndActsLikePassingItsFeatures() {
    DeepSPGConfig cfg = DeepSPGConfig.s().withSemPriorInput(DeepSPGConfig.PRIOR_INPUT_RETINEX);
    assertEquals(cfg, DeepSPGConfig.fromText(cfg.toText()));
    assertTrue(cfg.describe().contains("prior_input=retinex"), cfg.describe());
    DeepSPG net = new DeepSPG(cfg);
    try (PointerScope sc = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      Tensor in = rand(1, 3, 64, 96).mul_(new Scalar(0.3));
      // A stand-in prior: fixed random projections of the average-pooled image it is given.
      Tensor[] w = {rand(48, 3), rand(96, 3), rand(192, 3)};
      int[] pool = {4, 8, 16};
      DeepSPG.LitUpPrior prior = x -> {
        Tensor[] f = new Tensor[3];
        for (int l = 0; l < 3; l++) {
          Tensor p = org.bytedeco.pytorch.global.torch.avg_pool2d(x, new long[] {pool[l], pool[l]});
          f[l] = org.bytedeco.pytorch.global.torch.einsum("oc,bchw->bohw",
              new org.bytedeco.pytorch.TensorVector(w[l], p));
        }
        return f;
      };
      Tensor[] seen = new Tensor[1];
      Tensor out = net.forward(in, x -> {
        seen[0] = x.clone();
        return prior.features(x);
      });
      Tensor[] f = prior.features(seen[0]);
      DeepSPG.Intermediates ref = net.forwardWithIntermediates(in, f[0], f[1], f[2]);
      assertTrue(seen[0].equal(ref.litUp()), "the prior sees X_r");
      assertTrue(out.equal(ref.output()), "same as passing the features of X_r");
      Tensor[] fd = prior.features(in);
      double d = net.forward(in, fd[0], fd[1], fd[2]).sub(out).abs().max().item_double();
      assertTrue(d > 1e-6, "the dark input's features give another output: " + d);
    }
  }

  @Test
  void theWrongPriorIsRefusedByName() {
    DeepSPGConfig cfg = DeepSPGConfig.s().withSemPrior(EspnetPrior.ID, ESP);
    cfg.requireSemPrior(EspnetPrior.ID, ESP);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> cfg.requireSemPrior(HrnetPrior.ID, new int[] {48, 96, 192}));
    assertTrue(e.getMessage().contains("trained with the image prior espnetv2 [128, 256, 512], not with hrnet-w48"),
        e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> cfg.requireSemPrior(EspnetPrior.ID, new int[] {32, 64, 128}),
        "same name, other widths (another scale s)");
    assertThrows(IllegalArgumentException.class,
        () -> DeepSPGConfig.baseline(DeepSPGConfig.Size.S).requireSemPrior(HrnetPrior.ID, new int[] {48, 96, 192}));
  }

  @Test
  void badValuesAreRefused() {
    Properties p = new Properties();
    p.setProperty(DeepSPGConfig.KEY_SEM_PRIOR, "resnet");
    assertThrows(IllegalArgumentException.class, () -> DeepSPGConfig.fromProperties(p));
    Properties q = new Properties();
    q.setProperty(DeepSPGConfig.KEY_SEM_CHANNELS, "48,96");
    assertThrows(IllegalArgumentException.class, () -> DeepSPGConfig.fromProperties(q));
    q.setProperty(DeepSPGConfig.KEY_SEM_CHANNELS, "48,96,999999");
    assertThrows(IllegalArgumentException.class, () -> DeepSPGConfig.fromProperties(q));
  }
}
