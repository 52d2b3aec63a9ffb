/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.deepspg.model.prior.MissingWeightsException;
import org.deepspg.model.prior.PriorWeights;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Presets, overrides, validation messages and the weights requirements of {@link TrainConfig}. */
class TrainConfigTest {
  private static TrainConfig of(String... kv) {
    return TrainConfig.fromProperties(TrainConfig.parseOverrides(List.of(kv)));
  }

  @Test
  void variantsOfTable2SetTheSwitches() {
    TrainConfig b = of("variant=baseline");
    assertFalse(b.model().semEnabled());
    assertEquals(new Losses.Weights(1, 0.5, 0, 0), b.lossWeights());
    assertFalse(b.c2fEnabled());
    assertFalse(b.needsHrnet());
    assertFalse(b.needsClip());

    TrainConfig v1 = of("variant=v1");
    assertTrue(v1.model().semEnabled());
    assertEquals(new Losses.Weights(1, 0.5, 0.01, 0), v1.lossWeights());
    assertFalse(v1.c2fEnabled());
    assertTrue(v1.needsHrnet());
    assertFalse(v1.needsClip());

    TrainConfig v2 = of("variant=v2");
    assertTrue(v2.model().semEnabled());
    assertEquals(Losses.Weights.DEFAULT, v2.lossWeights());
    assertFalse(v2.c2fEnabled());
    assertTrue(v2.needsClip());

    TrainConfig v3 = of();
    assertEquals(TrainConfig.Variant.V3, v3.variant());
    assertTrue(v3.model().semEnabled());
    assertEquals(Losses.Weights.DEFAULT, v3.lossWeights());
    assertTrue(v3.c2fEnabled());
    assertEquals(6, v3.schedule().stages().size(), "the spec's six C2F stages over 500 epochs");
    assertEquals(128, v2.schedule().stages().get(0).patch());
    assertEquals(16, v2.schedule().stages().get(0).batch());
  }

  @Test
  void lossPresetsOfTable3SetOnlyTheWeights() {
    assertEquals(new Losses.Weights(1, 0, 0, 0), of("losses=pix").lossWeights());
    assertEquals(new Losses.Weights(1, 0.5, 0, 0), of("losses=pix+edge").lossWeights());
    assertEquals(new Losses.Weights(1, 0.5, 0.01, 0), of("losses=pix+edge+sem").lossWeights());
    assertEquals(Losses.Weights.DEFAULT, of("losses=all").lossWeights());
    TrainConfig pix = of("losses=pix");
    assertTrue(pix.model().semEnabled() && pix.c2fEnabled(), "network and C2F follow the variant (v3)");
    // explicit keys beat presets
    assertEquals(0.05, of("variant=v1", "loss.sem=0.05").lossWeights().sem());
    assertTrue(of("variant=baseline", "c2f.enabled=true").c2fEnabled());
    assertEquals(40, of("model.size=l").model().channels());
    assertEquals(24, of("model.size=l", "model.channels=24").model().channels());
  }

  @Test
  void errorsNameTheKey() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> of("lr=abc"));
    assertTrue(e.getMessage().contains("'lr'"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> of("lr.max=1"));
    assertTrue(e.getMessage().contains("unknown config key 'lr.max'") && e.getMessage().contains("did you mean"),
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> of("patch=100"));
    assertTrue(e.getMessage().contains("'patch'") && e.getMessage().contains("multiple of 32"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> of("variant=v4"));
    assertTrue(e.getMessage().contains("'variant'"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> of("losses=pix+mul"));
    assertTrue(e.getMessage().contains("'losses'"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> of("grad_clip=-1"));
    assertTrue(e.getMessage().contains("'grad_clip'"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> of("data.augment.flips=maybe"));
    assertTrue(e.getMessage().contains("'data.augment.flips'"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> of("sem.q_dense=yes-please"));
    assertTrue(e.getMessage().contains("sem.q_dense"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.parseOverrides(List.of("epochs")));
    assertTrue(e.getMessage().contains("'epochs'") && e.getMessage().contains("key=value"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> of("lr=1e-3", "lr.min=1e-2"));
    assertTrue(e.getMessage().contains("'lr.min'"), e.getMessage());
  }

  @Test
  void missingWeightsForV1GiveTheClearMessageAndBaselineNeedsNone() throws IOException {
    MissingWeightsException e = assertThrows(MissingWeightsException.class, () -> Priors.load(of("variant=v1")));
    assertEquals(PriorWeights.HRNET_W48_ADE20K, e.weights());
    assertTrue(e.getMessage().contains("hrnet_ade20k_4312_torch04.pth"), e.getMessage());
    assertTrue(e.getMessage().contains(PriorWeights.RUN_WITHOUT), e.getMessage());
    e = assertThrows(MissingWeightsException.class,
        () -> Priors.load(of("variant=v1", "hrnet.weights=/nonexistent/hrnet.pth")));
    assertTrue(e.getMessage().contains("file not found") && e.getMessage().contains("/nonexistent/hrnet.pth"),
        e.getMessage());
    Priors none = Priors.load(of("variant=baseline"));
    assertNull(none.hrnet());
    assertNull(none.clip());
  }

  @Test
  void resolvedTextRoundTripsAndResumeOverridesCannotChangeThePreset(@TempDir Path tmp) throws IOException {
    TrainConfig c = of("variant=v2", "epochs=7", "model.channels=12");
    Path f = tmp.resolve("c.properties");
    Files.writeString(f, c.toText());
    TrainConfig back = TrainConfig.load(f, List.of());
    assertEquals(c.toProperties(), back.toProperties());
    Properties more = new Properties();
    more.setProperty("max_steps", "9");
    assertEquals(9, back.with(more).lng("max_steps"));
    more.setProperty("variant", "v3");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> back.with(more));
    assertTrue(e.getMessage().contains("'variant'"), e.getMessage());
    for (TrainConfig.Key k : TrainConfig.KEYS) {
      assertTrue(TrainConfig.describeKeys().contains(k.name()), "documented: " + k.name());
      assertFalse(k.doc().isBlank(), k.name());
    }
  }
}
