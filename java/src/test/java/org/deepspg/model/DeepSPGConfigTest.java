/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Properties;
import org.deepspg.ops.PriorMode;
import org.junit.jupiter.api.Test;

/** Presets, validation and the properties text form of {@link DeepSPGConfig}. */
class DeepSPGConfigTest {

  @Test
  void presets() {
    DeepSPGConfig s = DeepSPGConfig.s();
    assertEquals(20, s.channels());
    assertArrayEquals(new int[] {2, 2, 2}, s.blocks());
    assertTrue(s.semEnabled());
    assertFalse(s.semQDense() || s.semSharedLn() || s.semSkfResidual());
    assertEquals(2.0, s.semFfnExpansion());
    assertEquals(PriorMode.MEAN, s.retinexPrior());
    assertEquals(40, DeepSPGConfig.l().channels());
    DeepSPGConfig b = DeepSPGConfig.baseline(DeepSPGConfig.Size.L);
    assertEquals(40, b.channels());
    assertFalse(b.semEnabled());
    assertEquals(DeepSPGConfig.l().withSemEnabled(false), b);
  }

  @Test
  void propertiesRoundTrip() {
    DeepSPGConfig c = DeepSPGConfig.l().withBlocks(1, 2, 3).withSemQDense(true).withSemSharedLn(true)
        .withSemSkfResidual(true).withSemFfnExpansion(2.66).withRetinexPrior(PriorMode.MAX);
    assertEquals(c, DeepSPGConfig.fromProperties(c.toProperties()));
    assertEquals(c, DeepSPGConfig.fromText(c.toText()));
    assertEquals("1,2,3", c.toProperties().getProperty("model.blocks"));
    assertEquals("max", c.toProperties().getProperty("retinex.prior"));
    assertEquals("2.66", c.toProperties().getProperty("sem.ffn_expansion"));
    assertEquals(DeepSPGConfig.s(), DeepSPGConfig.fromText(DeepSPGConfig.s().toText()));
  }

  @Test
  void missingKeysDefaultToSAndForeignKeysAreIgnored() {
    Properties p = new Properties();
    p.setProperty("model.channels", "40");
    p.setProperty("train.lr", "2e-4"); // other helpers' settings may share the file
    assertEquals(DeepSPGConfig.l(), DeepSPGConfig.fromProperties(p));
    assertEquals(DeepSPGConfig.baseline(DeepSPGConfig.Size.S),
        DeepSPGConfig.fromText("# comment\nsem.enabled = false\n"));
  }

  @Test
  void rejectsBadValues() {
    assertThrows(IllegalArgumentException.class, () -> DeepSPGConfig.fromText("sem.qdense=true"));
    assertThrows(IllegalArgumentException.class, () -> DeepSPGConfig.fromText("model.channels=22"));
    assertThrows(IllegalArgumentException.class, () -> DeepSPGConfig.fromText("model.blocks=2,2"));
    assertThrows(IllegalArgumentException.class, () -> DeepSPGConfig.fromText("model.blocks=2,-1,2"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> DeepSPGConfig.fromText("sem.enabled=maybe"));
    assertTrue(e.getMessage().contains("'sem.enabled'") && e.getMessage().contains("'maybe'"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> DeepSPGConfig.fromText("sem.ffn_expansion=0"));
    e = assertThrows(IllegalArgumentException.class, () -> DeepSPGConfig.fromText("retinex.prior=median"));
    assertTrue(e.getMessage().contains("'retinex.prior' must be mean or max, got 'median'"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> DeepSPGConfig.s().withChannels(0));
  }

  /** The switches read every boolean spelling the training configuration reads (one shared parser). */
  @Test
  void booleansAndThePriorAcceptTheSharedSpellings() {
    DeepSPGConfig c = DeepSPGConfig.fromText("sem.enabled=off\nsem.q_dense=YES\nsem.shared_ln=1\nsem.skf_residual=On\n"
        + "retinex.prior=MAX\n");
    assertFalse(c.semEnabled());
    assertTrue(c.semQDense() && c.semSharedLn() && c.semSkfResidual());
    assertEquals(PriorMode.MAX, c.retinexPrior());
    assertEquals(c, DeepSPGConfig.fromText(c.toText()), "the canonical text round-trips");
    assertTrue(c.toText().contains("retinex.prior=max\n") && c.toText().contains("sem.enabled=false\n"), c.toText());
  }
}
