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
