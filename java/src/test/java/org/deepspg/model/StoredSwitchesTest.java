/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Properties;
import org.deepspg.model.hrnet.InputNorm;
import org.deepspg.ops.Backends;
import org.deepspg.ops.PriorMode;
import org.deepspg.train.TrainCheckpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A weights file's stored switches are read by the same parser as a training configuration: any boolean spelling,
 * enum names in any case, and one message naming the key and the allowed values otherwise.
 */
class StoredSwitchesTest {
  @TempDir Path dir;

  @Test
  void storedSwitchesAcceptTheSharedSpellings() throws IOException {
    Backends.init();
    DeepSPGConfig cfg = DeepSPGConfig.baseline(DeepSPGConfig.Size.S).withChannels(8).withBlocks(1, 1, 1)
        .withRetinexPrior(PriorMode.MAX);
    DeepSPG net = new DeepSPG(cfg);
    try {
      Properties meta = cfg.toProperties();
      meta.setProperty(DeepSPGConfig.KEY_SEM_ENABLED, "OFF");
      meta.setProperty(DeepSPGConfig.KEY_RETINEX_PRIOR, "Max");
      meta.setProperty(ModelFiles.KEY_HRNET_INPUT_NORM, "None");
      Path f = dir.resolve("w.pth");
      TrainCheckpoint.exportWeights(f, net, meta);
      ModelFiles.Loaded ld = ModelFiles.loadFile(f, null);
      try {
        assertEquals(cfg, ld.config());
        assertFalse(ld.config().semEnabled());
        assertEquals(InputNorm.NONE, ld.hrnetInputNorm());
      } finally {
        ld.net().close();
      }

      meta.setProperty(ModelFiles.KEY_HRNET_INPUT_NORM, "zscore");
      Path bad = dir.resolve("bad.pth");
      TrainCheckpoint.exportWeights(bad, net, meta);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelFiles.loadFile(bad, null));
      assertTrue(e.getMessage().contains("'hrnet.input_norm' must be imagenet or none, got 'zscore'"), e.getMessage());
    } finally {
      net.close();
    }
  }

  /** A training checkpoint ({@code last.pth}) loads as a model: its training keys do not trip the network's parser. */
  @Test
  void trainingCheckpointLoadsAsAModel() throws IOException {
    Backends.init();
    DeepSPGConfig cfg = DeepSPGConfig.baseline(DeepSPGConfig.Size.S).withChannels(8).withBlocks(1, 1, 1);
    DeepSPG net = new DeepSPG(cfg);
    try {
      Properties meta = cfg.toProperties();
      meta.setProperty("model.size", "s"); // training keys under the network's prefixes
      meta.setProperty("sem.prior_weights_typo_checked_at_training", "x");
      meta.setProperty("lr", "3e-4");
      Path f = dir.resolve("last.pth");
      TrainCheckpoint.save(f, net, null, meta);
      ModelFiles.Loaded ld = ModelFiles.loadFile(f, null);
      try {
        assertEquals(cfg, ld.config());
      } finally {
        ld.net().close();
      }
      // the same keys in a weights file are still refused: there a typo must not silently change the network
      Path w = dir.resolve("w.pth");
      TrainCheckpoint.exportWeights(w, net, meta);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelFiles.loadFile(w, null));
      assertTrue(e.getMessage().contains("unknown DeepSPG config key"), e.getMessage());
    } finally {
      net.close();
    }
  }
}
