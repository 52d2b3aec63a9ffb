/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.clip;

import static org.deepspg.testing.PriorFixtures.assertClose;
import static org.deepspg.testing.PriorFixtures.fixtures;
import static org.deepspg.testing.PriorFixtures.readFloat;
import static org.deepspg.testing.PriorFixtures.readLong;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.model.io.Checkpoints;
import org.deepspg.model.io.LoadReport;
import org.deepspg.model.io.StateDict;
import org.deepspg.model.io.TensorData;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Golden test against openai/CLIP {@code clip/model.py} (fixtures/clip, README §B): the tiny ViT CLIP loaded
 * from the TorchScript archive (fp16 → fp32) and from the plain state dict reproduces encode_image,
 * encode_text and the logits.
 */
class ClipFixtureTest {
  /** Embeddings: float64 recomputation differed by ≤1.3e-6 (values ≤ 2.6); headroom for summation order. */
  private static final double EMBED_TOL = 1e-4;
  /** Logits (values ≈ 6, scaled by 1/0.07): float64 recomputation differed by 1.8e-6. */
  private static final double LOGIT_TOL = 5e-4;

  private static Path dir;
  private static ClipConfig config;

  @BeforeAll
  static void setUp() throws Exception {
    dir = fixtures().resolve("clip");
    config = ClipConfig.fromManifest(dir.resolve("manifest.json"));
  }

  private static Clip loadTiny(String file) throws Exception {
    Clip clip = new Clip(config);
    LoadReport report = clip.loadWeights(dir.resolve(file));
    assertEquals(List.of(), report.unknownDropped(), file);
    assertEquals(62, report.loaded().size(), file);
    return clip.freeze();
  }

  @Test
  void archiveAndStateDictHoldTheSameTensors() throws Exception {
    StateDict jit = Checkpoints.read(dir.resolve("tiny_clip_jit.pt"));
    StateDict plain = Checkpoints.read(dir.resolve("tiny_clip_state.pth"));
    TreeSet<String> jitNames = new TreeSet<>(jit.names());
    jitNames.removeAll(Clip.ARCHIVE_SCALARS);
    assertEquals(new TreeSet<>(plain.names()), jitNames);
    try (PointerScope scope = new PointerScope()) {
      for (TensorData t : plain) {
        Tensor a = t.toFloatTensor();
        Tensor b = jit.get(t.name()).toFloatTensor();
        assertTrue(torch.equal(a, b), t.name() + " differs after fp16 -> fp32");
      }
      Clip x = loadTiny("tiny_clip_jit.pt");
      Clip y = loadTiny("tiny_clip_state.pth");
      StringTensorDict px = x.named_parameters();
      StringTensorDict py = y.named_parameters();
      for (long i = 0; i < px.size(); i++) {
        assertTrue(torch.equal(px.get(i).value(), py.get(i).value()), px.get(i).key().getString());
        assertEquals(torch.ScalarType.Float.value, px.get(i).value().scalar_type().value);
      }
    }
  }

  @Test
  void reproducesGoldensFromBothFiles() throws Exception {
    for (String file : new String[] {"tiny_clip_jit.pt", "tiny_clip_state.pth"}) {
      try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
        Clip clip = loadTiny(file);
        Tensor image = readFloat(dir.resolve("image.bin"), 2, 3, 32, 32);
        Tensor tokens = readLong(dir.resolve("text_tokens.bin"), 3, 77);
        assertClose(file + " encode_image", clip.encodeImage(image),
            readFloat(dir.resolve("encode_image.bin"), 2, 32), EMBED_TOL);
        assertClose(file + " encode_text", clip.encodeText(tokens),
            readFloat(dir.resolve("encode_text.bin"), 3, 32), EMBED_TOL);
        Clip.Logits l = clip.logits(image, tokens);
        assertClose(file + " logits_per_image", l.perImage(),
            readFloat(dir.resolve("logits_per_image.bin"), 2, 3), LOGIT_TOL);
        assertClose(file + " logits_per_text", l.perText(),
            readFloat(dir.resolve("logits_per_text.bin"), 3, 2), LOGIT_TOL);
      }
    }
  }

  @Test
  void archiveScalarsAreCheckedAgainstTheConfig() throws Exception {
    ClipConfig other = new ClipConfig(32, 48, 2, 64, 16, 1, 77, 49408, 32, 2, 2);
    try (PointerScope scope = new PointerScope()) {
      Clip clip = new Clip(other);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> clip.loadWeights(dir.resolve("tiny_clip_jit.pt")));
      assertTrue(e.getMessage().contains("input_resolution = 32"), e.getMessage());
      // The plain state dict has no scalars; the positional-embedding shape mismatch is reported instead.
      e = assertThrows(IllegalArgumentException.class, () -> clip.loadWeights(dir.resolve("tiny_clip_state.pth")));
      assertTrue(e.getMessage().contains("visual.positional_embedding"), e.getMessage());
    }
  }
}
