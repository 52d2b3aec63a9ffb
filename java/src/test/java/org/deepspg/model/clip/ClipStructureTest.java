/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.clip;

import static org.deepspg.testing.PriorFixtures.fixtures;
import static org.deepspg.testing.PriorFixtures.namesAndShapes;
import static org.deepspg.testing.PriorFixtures.shape;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.io.JsonFiles;
import org.junit.jupiter.api.Test;

/** Names, shapes, counts and forward shapes of {@link Clip} (random weights, no checkpoint needed). */
class ClipStructureTest {

  @Test
  void vitB16PresetHasOpenAiNamesAndParameterCount() {
    ClipConfig c = ClipConfig.vitB16();
    assertEquals(new ClipConfig(512, 224, 12, 768, 16, 12, 77, 49408, 512, 8, 12), c);
    assertEquals(14, c.gridSize());
    try (PointerScope scope = new PointerScope()) {
      Clip clip = new Clip(c);
      assertEquals(149_620_737L, clip.parameterCount());
      Map<String, long[]> names = namesAndShapes(clip.named_parameters(), clip.named_buffers());
      assertEquals(clip.named_parameters().size(), names.size(), "no buffers");
      assertArrayEquals(new long[] {768, 3, 16, 16}, names.get("visual.conv1.weight"));
      assertArrayEquals(new long[] {768}, names.get("visual.class_embedding"));
      assertArrayEquals(new long[] {197, 768}, names.get("visual.positional_embedding"));
      assertArrayEquals(new long[] {2304, 768}, names.get("visual.transformer.resblocks.11.attn.in_proj_weight"));
      assertArrayEquals(new long[] {2304}, names.get("visual.transformer.resblocks.0.attn.in_proj_bias"));
      assertArrayEquals(new long[] {3072, 768}, names.get("visual.transformer.resblocks.5.mlp.c_fc.weight"));
      assertArrayEquals(new long[] {768, 3072}, names.get("visual.transformer.resblocks.5.mlp.c_proj.weight"));
      assertArrayEquals(new long[] {768, 512}, names.get("visual.proj"));
      assertArrayEquals(new long[] {49408, 512}, names.get("token_embedding.weight"));
      assertArrayEquals(new long[] {77, 512}, names.get("positional_embedding"));
      assertArrayEquals(new long[] {1536, 512}, names.get("transformer.resblocks.11.attn.in_proj_weight"));
      assertArrayEquals(new long[] {512}, names.get("ln_final.bias"));
      assertArrayEquals(new long[] {512, 512}, names.get("text_projection"));
      assertArrayEquals(new long[] {}, names.get("logit_scale"));
      assertFalse(names.containsKey("transformer.resblocks.12.ln_1.weight"));
      assertEquals(Math.log(1 / 0.07), clip.named_parameters().get("logit_scale").item_double(), 1e-6);
    }
  }

  @Test
  void tinyConfigFromManifestMatchesItsStateDictIndex() throws Exception {
    ClipConfig c = ClipConfig.fromManifest(fixtures().resolve("clip/manifest.json"));
    assertEquals(new ClipConfig(32, 32, 2, 64, 16, 1, 77, 49408, 32, 2, 2), c);
    JsonNode manifest = JsonFiles.readTree(fixtures().resolve("clip/manifest.json"));
    Map<String, long[]> expected = new LinkedHashMap<>();
    for (JsonNode e : manifest.get("state_dict_index")) {
      long[] shape = new long[e.get("shape").size()];
      for (int i = 0; i < shape.length; i++) shape[i] = e.get("shape").get(i).longValue();
      expected.put(JsonFiles.string(e, "name"), shape);
    }
    try (PointerScope scope = new PointerScope()) {
      Clip clip = new Clip(c);
      Map<String, long[]> actual = namesAndShapes(clip.named_parameters(), clip.named_buffers());
      assertEquals(new java.util.TreeSet<>(expected.keySet()), new java.util.TreeSet<>(actual.keySet()));
      for (Map.Entry<String, long[]> e : expected.entrySet()) {
        assertArrayEquals(e.getValue(), actual.get(e.getKey()), e.getKey());
      }
      assertEquals(1_761_825L, clip.parameterCount());
    }
  }

  @Test
  void headsAreNeverInferred() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new ClipConfig(32, 32, 2, 64, 16, 3, 77, 49408, 32, 2, 2));
    assertTrue(e.getMessage().contains("visionHeads 3"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new ClipConfig(32, 30, 2, 64, 16, 1, 77, 49408, 32, 2, 2));
    assertThrows(IllegalArgumentException.class,
        () -> ClipConfig.fromJsonObject(JsonFiles.parse("{\"embed_dim\": 32}")));
  }

  @Test
  void forwardShapesValidationAndFrozenGradientToImage() throws Exception {
    torch.manual_seed(3);
    try (PointerScope scope = new PointerScope()) {
      Clip clip = new Clip(ClipConfig.fromManifest(fixtures().resolve("clip/manifest.json"))).freeze();
      TensorVector ps = clip.parameters();
      for (long i = 0; i < ps.size(); i++) {
        assertFalse(ps.get(i).requires_grad());
      }
      Tensor img = torch.randn(2, 3, 32, 32).requires_grad_(true);
      long[] ids = new long[3 * 77];
      for (int r = 0; r < 3; r++) {
        ids[r * 77] = 49406;
        ids[r * 77 + 1] = 100 + r;
        ids[r * 77 + 2 + r] = 49407;
      }
      Tensor tokens = torch.tensor(ids).reshape(3, 77);
      Tensor ei = clip.encodeImage(img);
      Tensor et = clip.encodeText(tokens);
      assertArrayEquals(new long[] {2, 32}, shape(ei));
      assertArrayEquals(new long[] {3, 32}, shape(et));
      Clip.Logits l = clip.logits(img, tokens);
      assertArrayEquals(new long[] {2, 3}, shape(l.perImage()));
      assertArrayEquals(new long[] {3, 2}, shape(l.perText()));
      // |logit| <= exp(logit_scale) = 1/0.07 since they are scaled cosines.
      assertTrue(l.perImage().abs().max().item_double() <= 1 / 0.07 + 1e-4);
      ei.sum().backward();
      assertTrue(img.grad().defined());
      assertTrue(img.grad().abs().sum().item_double() > 0);
      // int32 tokens work like int64 ones.
      double d = clip.encodeText(tokens.to(torch.ScalarType.Int)).sub(et).abs().max().item_double();
      assertEquals(0.0, d, 0.0);
      assertThrows(IllegalArgumentException.class, () -> clip.encodeImage(torch.randn(1, 3, 31, 32)));
      assertThrows(IllegalArgumentException.class, () -> clip.encodeText(torch.zeros(3, 76)));
      assertThrows(IllegalArgumentException.class,
          () -> clip.encodeText(torch.zeros(1, 77).to(torch.ScalarType.Long).add(new org.bytedeco.pytorch.Scalar(49408))));
    }
  }

  @Test
  void parameterHandlesFollowModuleTo() throws Exception {
    torch.manual_seed(4);
    try (PointerScope scope = new PointerScope()) {
      Clip clip = new Clip(ClipConfig.fromManifest(fixtures().resolve("clip/manifest.json"))).freeze();
      Tensor img = torch.randn(1, 3, 32, 32);
      long[] ids = new long[77];
      ids[0] = 49406;
      ids[1] = 320;
      ids[2] = 49407;
      Tensor tokens = torch.tensor(ids).reshape(1, 77);
      Tensor fi = clip.encodeImage(img);
      Tensor ft = clip.encodeText(tokens);
      // Module.to() swaps parameter data with set_data; the forward must see the converted tensors.
      clip.to(torch.ScalarType.Double, false);
      Tensor di = clip.encodeImage(img.to(torch.ScalarType.Double));
      Tensor dt = clip.encodeText(tokens);
      assertEquals(torch.ScalarType.Double.value, di.scalar_type().value);
      assertEquals(torch.ScalarType.Double.value, dt.scalar_type().value);
      // float32 vs float64 of the same weights: rounding only.
      assertTrue(di.sub(fi.to(torch.ScalarType.Double)).abs().max().item_double() < 1e-4);
      assertTrue(dt.sub(ft.to(torch.ScalarType.Double)).abs().max().item_double() < 1e-4);
    }
  }

  @Test
  void causalMaskIsMinusInfinityStrictlyAboveTheDiagonal() {
    try (PointerScope scope = new PointerScope()) {
      Tensor m = Clip.causalMask(4, torch.zeros(1));
      float[] v = org.deepspg.testing.PriorFixtures.values(m);
      for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 4; j++) {
          if (j > i) {
            assertEquals(Float.NEGATIVE_INFINITY, v[i * 4 + j]);
          } else {
            assertEquals(0f, v[i * 4 + j]);
          }
        }
      }
    }
  }
}
