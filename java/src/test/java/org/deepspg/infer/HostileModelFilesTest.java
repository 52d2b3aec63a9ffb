/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.deepspg.cli.Main;
import org.deepspg.model.DeepSPG;
import org.deepspg.model.DeepSPGConfig;
import org.deepspg.model.ModelFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Weights files are untrusted input: metadata that asks for an absurd network and parameters that are not finite are
 * refused with one line before anything large is allocated, and the CLI exits 2 without writing an image.
 */
class HostileModelFilesTest {
  @TempDir Path dir;

  private Path export(DeepSPG net, Properties meta, String name) throws IOException {
    Path f = dir.resolve(name);
    InferTestSupport.exportWeights(f, net, meta);
    return f;
  }

  @Test
  void nonFiniteParameterIsRefusedAtLoad() throws IOException {
    DeepSPG net = InferTestSupport.randomModel(InferTestSupport.tinyBaseline(), 1, InferTestSupport.TEST_TAU);
    try (NoGradGuard g = new NoGradGuard()) {
      net.named_parameters().get("embed.weight").get(0).fill_(new Scalar(Double.POSITIVE_INFINITY));
    }
    Path f = export(net, net.config().toProperties(), "inf.pth");
    net.close();
    IOException e = assertThrows(IOException.class, () -> ModelFiles.loadFile(f, null));
    assertTrue(e.getMessage().contains("parameter embed.weight has NaN or infinite values"), e.getMessage());
    Path img = dir.resolve("in.png");
    org.deepspg.data.Images.write(InferTestSupport.darkImage(32, 40, 1), img);
    Path out = dir.resolve("out");
    assertEquals(2, Main.run("enhance", img.toString(), "-o", out.toString(), "--model", f.toString()));
    assertFalse(Files.exists(out.resolve("in.png")), "nothing written");
  }

  @Test
  void absurdStoredSettingsAreRefusedBeforeAllocation() throws IOException {
    DeepSPG net = InferTestSupport.randomModel(InferTestSupport.tinyBaseline(), 1, InferTestSupport.TEST_TAU);
    try {
      for (String[] kv : new String[][] {{DeepSPGConfig.KEY_CHANNELS, "4000"}, {DeepSPGConfig.KEY_CHANNELS,
          "2000000000"}, {DeepSPGConfig.KEY_BLOCKS, "2,2,1000000"}, {DeepSPGConfig.KEY_SEM_FFN_EXPANSION, "1e9"}}) {
        Properties meta = net.config().toProperties();
        meta.setProperty(kv[0], kv[1]);
        Path f = export(net, meta, "absurd.pth");
        long t0 = System.nanoTime();
        Exception e = assertThrows(Exception.class, () -> ModelFiles.loadFile(f, null), kv[0] + "=" + kv[1]);
        assertTrue(e instanceof IOException || e instanceof IllegalArgumentException, e.toString());
        assertTrue((System.nanoTime() - t0) / 1e9 < 5, "refused quickly");
      }
      // Within the bounds but more parameters than the file holds: refused by the count, before the network is built.
      Properties meta = net.config().toProperties();
      meta.setProperty(DeepSPGConfig.KEY_CHANNELS, "200");
      Path f = export(net, meta, "big.pth");
      IOException e = assertThrows(IOException.class, () -> ModelFiles.loadFile(f, null));
      assertTrue(e.getMessage().contains("parameters but the file holds"), e.getMessage());
    } finally {
      net.close();
    }
  }
}
