/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.hrnet;

import static org.deepspg.testing.PriorFixtures.fixtures;
import static org.deepspg.testing.PriorFixtures.namesAndShapes;
import static org.deepspg.testing.PriorFixtures.shape;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.io.JsonFiles;
import org.junit.jupiter.api.Test;

/** Module tree names/shapes/counts of {@link HRNet} and its configuration parsing (no weights needed). */
class HRNetStructureTest {

  private static Map<String, long[]> readKeyList(Path file) throws Exception {
    Map<String, long[]> m = new LinkedHashMap<>();
    for (String line : Files.readAllLines(file)) {
      if (line.isBlank()) {
        continue;
      }
      String[] parts = line.split("\t");
      String dims = parts[1].trim();
      dims = dims.substring(1, dims.length() - 1).trim();
      long[] shape = dims.isEmpty() ? new long[0]
          : Arrays.stream(dims.split(",")).map(String::trim).mapToLong(Long::parseLong).toArray();
      m.put(parts[0], shape);
    }
    return m;
  }

  @Test
  void w48Ade20kHasExactlyTheOfficialKeysShapesAndParameterCount() throws Exception {
    Map<String, long[]> expected = readKeyList(fixtures().resolve("hrnet/w48_ade20k_keys.txt"));
    assertEquals(1839, expected.size(), "fixture sanity");
    try (PointerScope scope = new PointerScope()) {
      HRNet net = new HRNet(HRNetConfig.w48Ade20k());
      StringTensorDict params = net.named_parameters();
      Map<String, long[]> actual = namesAndShapes(params, net.named_buffers());
      assertEquals(new TreeSet<>(expected.keySet()), new TreeSet<>(actual.keySet()), "state-dict key set");
      for (Map.Entry<String, long[]> e : expected.entrySet()) {
        assertArrayEquals(e.getValue(), actual.get(e.getKey()), e.getKey());
      }
      assertEquals(65_953_830L, net.parameterCount());
      assertEquals(921, params.size(), "parameter tensors");
      // Parameters come in the same order as in the official state dict (buffers interleave there).
      List<String> expectedParamOrder = new ArrayList<>();
      for (String k : expected.keySet()) {
        if (!k.endsWith("running_mean") && !k.endsWith("running_var") && !k.endsWith("num_batches_tracked")) {
          expectedParamOrder.add(k);
        }
      }
      List<String> actualParamOrder = new ArrayList<>();
      for (long i = 0; i < params.size(); i++) {
        actualParamOrder.add(params.get(i).key().getString());
      }
      assertEquals(expectedParamOrder, actualParamOrder);
      assertArrayEquals(new int[] {48, 96, 192, 384}, net.config().featureChannels());
      assertEquals(720, net.config().lastLayerChannels());
    }
  }

  @Test
  void tinyConfigFromFixtureJson() throws Exception {
    HRNetConfig cfg = HRNetConfig.fromJson(fixtures().resolve("hrnet/config.json"));
    assertEquals(HRNetConfig.BlockType.BOTTLENECK, cfg.stage1().block());
    assertArrayEquals(new int[] {2}, cfg.stage1().numBlocks());
    assertArrayEquals(new int[] {8}, cfg.stage1().numChannels());
    assertEquals(2, cfg.stage3().numModules());
    assertArrayEquals(new int[] {8, 16, 32, 64}, cfg.stage4().numChannels());
    assertEquals(7, cfg.numClasses());
    assertEquals(1, cfg.finalConvKernel());
    assertEquals(120, cfg.lastLayerChannels());
    assertTrue(cfg.alignCorners());
    assertEquals(1e-5, cfg.bnEps());
    assertEquals(0.1, cfg.bnMomentum());
    try (PointerScope scope = new PointerScope()) {
      HRNet net = new HRNet(cfg);
      assertEquals(318_839L, net.parameterCount());
      assertEquals(447, net.named_parameters().size() + net.named_buffers().size());
      // The code paths the tiny config was designed to exercise exist with the official names.
      Map<String, long[]> names = namesAndShapes(net.named_parameters(), net.named_buffers());
      assertArrayEquals(new long[] {32, 64, 1, 1}, names.get("layer1.0.downsample.0.weight"));
      assertFalse(names.containsKey("layer1.1.downsample.0.weight"));
      assertArrayEquals(new long[] {8, 32, 3, 3}, names.get("transition1.0.0.weight"));
      assertArrayEquals(new long[] {16, 32, 3, 3}, names.get("transition1.1.0.0.weight"));
      assertArrayEquals(new long[] {8, 8, 3, 3}, names.get("stage2.0.branches.0.1.conv2.weight"));
      assertArrayEquals(new long[] {32, 32, 3, 3}, names.get("stage3.1.branches.2.0.conv1.weight"));
      assertArrayEquals(new long[] {8, 64, 1, 1}, names.get("stage4.0.fuse_layers.0.3.0.weight"));
      assertArrayEquals(new long[] {64, 8, 3, 3}, names.get("stage4.0.fuse_layers.3.0.2.0.weight"));
      assertArrayEquals(new long[] {8, 8, 3, 3}, names.get("stage4.0.fuse_layers.3.0.1.0.weight"));
      assertArrayEquals(new long[] {}, names.get("last_layer.1.num_batches_tracked"));
      assertArrayEquals(new long[] {7, 120, 1, 1}, names.get("last_layer.3.weight"));
      assertArrayEquals(new long[] {7}, names.get("last_layer.3.bias"));
    }
  }

  @Test
  void yacsFormIsEquivalentToNeutralForm() throws Exception {
    JsonNode root = JsonFiles.readTree(fixtures().resolve("hrnet/config.json"));
    HRNetConfig neutral = HRNetConfig.fromJsonObject(root);
    HRNetConfig yacs = HRNetConfig.fromJsonObject(root.get("yaml_equivalent"));
    assertEquals(neutral, yacs);
  }

  @Test
  void badConfigurationsAreRejectedWithAMessage() {
    HRNetConfig w = HRNetConfig.w48Ade20k();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new HRNetConfig(
        w.stage1(), w.stage3(), w.stage3(), w.stage4(), 150, 1, true, 1e-5, 0.1));
    assertTrue(e.getMessage().contains("stage2 must have 2 branches"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new HRNetConfig(
        w.stage1(), w.stage2(), w.stage3(), w.stage4(), 150, 2, true, 1e-5, 0.1));
    assertTrue(e.getMessage().contains("finalConvKernel"), e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> new HRNetConfig.Stage(1, HRNetConfig.BlockType.BASIC, new int[] {4, 4}, new int[] {48}));
    assertThrows(IllegalArgumentException.class,
        () -> HRNetConfig.fromJsonObject(JsonFiles.parse("{\"num_classes\": 3}")));
  }

  @Test
  void forwardShapesOnOddSizeAndFreezeKeepsInputGradient() throws Exception {
    torch.manual_seed(5);
    try (PointerScope scope = new PointerScope()) {
      HRNet net = new HRNet(HRNetConfig.fromJson(fixtures().resolve("hrnet/config.json"))).freeze();
      assertFalse(net.is_training());
      TensorVector ps = net.parameters();
      for (long i = 0; i < ps.size(); i++) {
        assertFalse(ps.get(i).requires_grad());
      }
      Tensor x = torch.rand(2, 3, 38, 54).requires_grad_(true);
      HRNet.Output out = net.forwardRaw(x);
      assertArrayEquals(new long[] {2, 7, 10, 14}, shape(out.logits()));
      long[][] expected = {{2, 8, 10, 14}, {2, 16, 5, 7}, {2, 32, 3, 4}, {2, 64, 2, 2}};
      for (int i = 0; i < 4; i++) {
        assertArrayEquals(expected[i], shape(out.features().get(i)), "feature " + i);
      }
      Tensor probs = net.probsFull(out.logits());
      assertArrayEquals(new long[] {2, 7, 40, 56}, shape(probs));
      // Softmax over classes sums to one everywhere.
      double maxDev = probs.sum(new long[] {1}, false, new org.bytedeco.pytorch.ScalarTypeOptional())
          .sub(new org.bytedeco.pytorch.Scalar(1.0)).abs().max().item_double();
      assertTrue(maxDev < 1e-5, "softmax rows sum to 1, dev " + maxDev);
      // The plain sum of softmax probabilities is constant (B·H·W), so its gradient is zero up to rounding: weight the
      // classes differently so that a real gradient must reach the input.
      Tensor classWeights = torch.arange(new org.bytedeco.pytorch.Scalar(7)).to(torch.ScalarType.Float)
          .reshape(1, 7, 1, 1);
      probs.mul(classWeights).sum().backward();
      assertTrue(x.grad().defined());
      double g = x.grad().abs().mean().item_double();
      assertTrue(g > 1e-6, "gradient reaches the input through a frozen net, mean |grad| " + g);
      assertTrue(x.grad().isfinite().all().item_bool());
    }
  }

  @Test
  void rejectsNonImageInput() {
    try (PointerScope scope = new PointerScope()) {
      HRNet net = new HRNet(HRNetConfig.w48Ade20k());
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> net.forward(torch.rand(1, 4, 32, 32)));
      assertTrue(e.getMessage().contains("[1, 4, 32, 32]"), e.getMessage());
    }
  }
}
