/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;
import org.deepspg.ops.PriorMode;
import org.junit.jupiter.api.Test;

/**
 * Parameter names, shapes and counts against the reference state dict ({@code fixtures/deepspg/params.txt}) and the
 * spec's §1.7 table.
 */
class DeepSPGParametersTest {

  @Test
  void namesShapesAndOrderEqualReferenceStateDict() throws Exception {
    Map<String, long[]> expected = ModelTestSupport.fixtureParams();
    assertEquals(233, expected.size(), "params.txt entries");
    DeepSPG net = new DeepSPG(DeepSPGConfig.s());
    StringTensorDict ps = net.named_parameters(true);
    List<String> names = new ArrayList<>();
    for (long i = 0; i < ps.size(); i++) {
      String name = ps.get(i).key().getString();
      Tensor t = ps.get(i).value();
      names.add(name);
      assertTrue(expected.containsKey(name), "unexpected parameter " + name);
      assertArrayEquals(expected.get(name), ModelTestSupport.shape(t), "shape of " + name);
      assertTrue(t.requires_grad(), name + " must require grad");
    }
    assertEquals(new ArrayList<>(expected.keySet()), names, "names in state-dict order");
    assertEquals(0, net.named_buffers(true).size(), "the network has no buffers");
  }

  @Test
  void countsOfSAndLMatchSpec() {
    // Spec §1.7: Total = 1260.25·C² + 3154·C + 33.
    assertEquals(567_213L, new DeepSPG(DeepSPGConfig.s()).parameterCount());
    assertEquals(2_142_593L, new DeepSPG(DeepSPGConfig.l()).parameterCount());
  }

  @Test
  void countsOfSpecVariantsMatchTable() {
    // Spec §1.7 "Nearby variants" table (S / L).
    check(DeepSPGConfig.s().withSemQDense(true), 659_013L);
    check(DeepSPGConfig.l().withSemQDense(true), 2_513_393L);
    check(DeepSPGConfig.s().withBlocks(1, 2, 2), 555_331L);
    check(DeepSPGConfig.l().withBlocks(1, 2, 2), 2_099_631L);
    check(DeepSPGConfig.s().withSemFfnExpansion(2.66), 589_833L);
    check(DeepSPGConfig.l().withSemFfnExpansion(2.66), 2_228_891L);
  }

  @Test
  void baselineHasNoSemParametersAndSwitchesChangeWhatTheyShould() {
    DeepSPG base = new DeepSPG(DeepSPGConfig.baseline(DeepSPGConfig.Size.S));
    StringTensorDict ps = base.named_parameters(true);
    for (long i = 0; i < ps.size(); i++) {
      assertFalse(ps.get(i).key().getString().contains("sem"), ps.get(i).key().getString());
    }
    // S minus the five SEMs of the §1.7 table: 6,361 + 22,642 + 84,964 + 22,642 + 6,361.
    assertEquals(567_213L - 142_970L, base.parameterCount());
    // Shared LN removes ln_s (2d per SEM): 2·(20+40+80+40+20) = 400.
    DeepSPG shared = new DeepSPG(DeepSPGConfig.s().withSemSharedLn(true));
    assertEquals(567_213L - 400L, shared.parameterCount());
    assertFalse(shared.named_parameters(true).contains("enc_sem.0.ln_s.ln.weight"));
    // Residual and prior switches have no parameters of their own.
    assertEquals(567_213L, new DeepSPG(DeepSPGConfig.s().withSemSkfResidual(true)).parameterCount());
    assertEquals(567_213L, new DeepSPG(DeepSPGConfig.s().withRetinexPrior(PriorMode.MAX)).parameterCount());
  }

  @Test
  void analyticCountEqualsModuleCountForVariants() {
    DeepSPGConfig[] cfgs = {
      DeepSPGConfig.s(), DeepSPGConfig.l(), DeepSPGConfig.baseline(DeepSPGConfig.Size.L),
      DeepSPGConfig.s().withSemSharedLn(true).withSemQDense(true), DeepSPGConfig.s().withBlocks(0, 1, 3),
      DeepSPGConfig.s().withChannels(8).withSemFfnExpansion(2.66)
    };
    for (DeepSPGConfig c : cfgs) {
      assertEquals(new DeepSPG(c).parameterCount(), FlopCounter.parameterCount(c), c.describe());
    }
  }

  private static void check(DeepSPGConfig cfg, long expected) {
    assertEquals(expected, new DeepSPG(cfg).parameterCount(), cfg.describe());
    assertEquals(expected, FlopCounter.parameterCount(cfg), "analytic " + cfg.describe());
  }
}
