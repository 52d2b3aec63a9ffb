/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.hrnet;

import static org.deepspg.testing.PriorFixtures.assertClose;
import static org.deepspg.testing.PriorFixtures.fixtures;
import static org.deepspg.testing.PriorFixtures.namesAndShapes;
import static org.deepspg.testing.PriorFixtures.readFloat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.model.io.Checkpoints;
import org.deepspg.model.io.LoadReport;
import org.deepspg.model.io.StateDict;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Golden test against the official seg_hrnet code (fixtures/hrnet, README §A): the tiny HRNet loaded from each
 * of the three checkpoint encodings reproduces the stage-4 features, the 1/4 logits and SKF's full-size
 * probabilities.
 */
class HRNetFixtureTest {
  /** Features/logits: float64 recomputation differed by ≤1.7e-6 (values ≤ 4); headroom for summation order. */
  private static final double FEATURE_TOL = 1e-4;
  /** Softmax probabilities (≤ 0.6): observed 4e-7 float64 vs float32. */
  private static final double PROB_TOL = 1e-5;
  /** (x − mean)/std in float32: at most a couple of ulps of values ≤ 2.7. */
  private static final double NORM_TOL = 1e-6;

  private static Path dir;
  private static HRNetConfig config;

  @BeforeAll
  static void setUp() throws Exception {
    dir = fixtures().resolve("hrnet");
    config = HRNetConfig.fromJson(dir.resolve("config.json"));
  }

  private static HRNet loadTiny(String file) throws Exception {
    HRNet net = new HRNet(config);
    LoadReport report = net.loadWeights(dir.resolve(file));
    assertEquals(List.of(), report.unknownDropped(), file + ": unexpected checkpoint keys");
    assertTrue(report.ignored().contains("loss.criterion.weight"), report.ignored().toString());
    // Everything except the 92 BN counters receives checkpoint values.
    long bnCount = namesAndShapes(net.named_parameters(), net.named_buffers()).keySet().stream()
        .filter(n -> n.endsWith("num_batches_tracked")).count();
    assertEquals(447 - bnCount, report.loaded().size(), file);
    return net.freeze();
  }

  @Test
  void checkpointKeysEqualModuleKeys() throws Exception {
    StateDict sd = Checkpoints.read(dir.resolve("tiny_zip.pth"));
    Set<String> ckpt = new TreeSet<>();
    for (String n : sd.names()) {
      if (n.startsWith("model.")) {
        ckpt.add(n.substring(6));
      } else {
        assertEquals("loss.criterion.weight", n);
      }
    }
    try (PointerScope scope = new PointerScope()) {
      HRNet net = new HRNet(config);
      assertEquals(ckpt, new TreeSet<>(namesAndShapes(net.named_parameters(), net.named_buffers()).keySet()));
    }
  }

  @Test
  void threeCheckpointEncodingsGiveIdenticalWeights() throws Exception {
    try (PointerScope scope = new PointerScope()) {
      HRNet a = loadTiny("tiny_legacy.pth");
      HRNet b = loadTiny("tiny_legacy_cuda.pth");
      HRNet c = loadTiny("tiny_zip.pth");
      StringTensorDict pa = a.named_parameters();
      StringTensorDict pb = b.named_parameters();
      StringTensorDict pc = c.named_parameters();
      for (long i = 0; i < pa.size(); i++) {
        Tensor x = pa.get(i).value();
        assertTrue(torch.equal(x, pb.get(i).value()), pa.get(i).key().getString());
        assertTrue(torch.equal(x, pc.get(i).value()), pa.get(i).key().getString());
      }
      StringTensorDict ba = a.named_buffers();
      StringTensorDict bc = c.named_buffers();
      for (long i = 0; i < ba.size(); i++) {
        assertTrue(torch.equal(ba.get(i).value(), bc.get(i).value()), ba.get(i).key().getString());
      }
    }
  }

  @Test
  void case1ReproducesGoldens() throws Exception {
    for (String file : new String[] {"tiny_legacy.pth", "tiny_legacy_cuda.pth", "tiny_zip.pth"}) {
      try (PointerScope scope = new PointerScope(); org.bytedeco.pytorch.NoGradGuard g =
          new org.bytedeco.pytorch.NoGradGuard()) {
        HRNet net = loadTiny(file);
        Tensor raw = readFloat(dir.resolve("input_raw.bin"), 1, 3, 64, 96);
        Tensor norm = readFloat(dir.resolve("input_norm.bin"), 1, 3, 64, 96);
        assertClose(file + " normalised input", HRNet.normalize(raw, InputNorm.IMAGENET), norm, NORM_TOL);
        HRNet.Output out = net.forward(norm);
        long[][] shapes = {{1, 8, 16, 24}, {1, 16, 8, 12}, {1, 32, 4, 6}, {1, 64, 2, 3}};
        for (int i = 0; i < 4; i++) {
          assertClose(file + " feat" + i, out.features().get(i),
              readFloat(dir.resolve("feat" + i + ".bin"), shapes[i]), FEATURE_TOL);
        }
        assertClose(file + " logits_q", out.logits(), readFloat(dir.resolve("logits_q.bin"), 1, 7, 16, 24),
            FEATURE_TOL);
        assertClose(file + " probs_full", net.probsFull(out.logits()),
            readFloat(dir.resolve("probs_full.bin"), 1, 7, 64, 96), PROB_TOL);
        // forwardRaw with the default IMAGENET normalisation is the same computation.
        assertClose(file + " forwardRaw", net.forwardRaw(raw).logits(), out.logits(), NORM_TOL * 10);
      }
    }
  }

  @Test
  void case2BatchTwoOddSizeReproducesGoldens() throws Exception {
    try (PointerScope scope = new PointerScope(); org.bytedeco.pytorch.NoGradGuard g =
        new org.bytedeco.pytorch.NoGradGuard()) {
      HRNet net = loadTiny("tiny_legacy.pth");
      Tensor raw = readFloat(dir.resolve("input2_raw.bin"), 2, 3, 38, 54);
      HRNet.Output out = net.forwardRaw(raw);
      long[][] shapes = {{2, 8, 10, 14}, {2, 16, 5, 7}, {2, 32, 3, 4}, {2, 64, 2, 2}};
      for (int i = 0; i < 4; i++) {
        assertClose("input2 feat" + i, out.features().get(i),
            readFloat(dir.resolve("input2_feat" + i + ".bin"), shapes[i]), FEATURE_TOL);
      }
      assertClose("input2 logits_q", out.logits(), readFloat(dir.resolve("input2_logits_q.bin"), 2, 7, 10, 14),
          FEATURE_TOL);
      assertClose("input2 probs_full", net.probsFull(out.logits()),
          readFloat(dir.resolve("input2_probs_full.bin"), 2, 7, 40, 56), PROB_TOL);
    }
  }

  @Test
  void inputNormNoneFeedsRawRgb() throws Exception {
    try (PointerScope scope = new PointerScope(); org.bytedeco.pytorch.NoGradGuard g =
        new org.bytedeco.pytorch.NoGradGuard()) {
      HRNet net = loadTiny("tiny_zip.pth").inputNorm(InputNorm.NONE);
      Tensor raw = readFloat(dir.resolve("input_raw.bin"), 1, 3, 64, 96);
      assertClose("NONE = forward(raw)", net.forwardRaw(raw).logits(), net.forward(raw).logits(), 0.0);
      // ...and differs from the ImageNet-normalised result.
      double d = net.forwardRaw(raw).logits()
          .sub(readFloat(dir.resolve("logits_q.bin"), 1, 7, 16, 24)).abs().max().item_double();
      assertTrue(d > 1e-2, "normalisation must matter, max diff " + d);
    }
  }
}
