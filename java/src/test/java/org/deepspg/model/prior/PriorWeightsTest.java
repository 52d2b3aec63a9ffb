/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.prior;

import static org.deepspg.testing.PriorFixtures.fixtures;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.javacpp.PointerScope;
import org.deepspg.model.clip.Clip;
import org.deepspg.model.hrnet.HRNet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** User-brought prior weights: every way a path can be wrong gives a message with the official file and a way out. */
class PriorWeightsTest {
  @TempDir
  Path tmp;

  private static void assertHrnetGuidance(MissingWeightsException e) {
    String m = e.getMessage();
    assertEquals(PriorWeights.HRNET_W48_ADE20K, e.weights());
    assertTrue(m.contains("hrnet_ade20k_4312_torch04.pth"), m);
    assertTrue(m.contains("HRNet-Semantic-Segmentation") && m.contains("ADE20K"), m);
    assertTrue(m.contains("SEMs") && m.contains("L_sem"), m);
    assertGuidanceCommon(m);
  }

  private static void assertClipGuidance(MissingWeightsException e) {
    String m = e.getMessage();
    assertEquals(PriorWeights.CLIP_VIT_B16, e.weights());
    assertTrue(m.contains("ViT-B-16.pt"), m);
    assertTrue(m.contains("OpenAI"), m);
    assertTrue(m.contains("L_mul") && m.contains("text"), m);
    assertGuidanceCommon(m);
  }

  private static void assertGuidanceCommon(String m) {
    assertTrue(m.contains("Baseline"), m);
    assertTrue(m.contains("sem.enabled=false"), m);
    assertTrue(m.contains("λ3 = λ4 = 0"), m);
    assertTrue(m.contains("Nothing is downloaded"), m);
  }

  @Test
  void notConfigured() {
    MissingWeightsException e = assertThrows(MissingWeightsException.class, () -> HRNet.loadPretrained(null));
    assertHrnetGuidance(e);
    assertTrue(e.getMessage().contains("no weights file configured"), e.getMessage());
    assertNull(e.path());
    assertClipGuidance(assertThrows(MissingWeightsException.class, () -> Clip.loadPretrained(null)));
  }

  @Test
  void fileNotFound() {
    Path p = tmp.resolve("hrnet_ade20k_4312_torch04.pth");
    MissingWeightsException e = assertThrows(MissingWeightsException.class, () -> HRNet.loadPretrained(p));
    assertHrnetGuidance(e);
    assertTrue(e.getMessage().contains("file not found") && e.getMessage().contains(p.toString()), e.getMessage());
    assertEquals(p, e.path());
    MissingWeightsException c = assertThrows(MissingWeightsException.class,
        () -> Clip.loadPretrained(tmp.resolve("ViT-B-16.pt")));
    assertClipGuidance(c);
    assertTrue(c.getMessage().contains("file not found"), c.getMessage());
  }

  @Test
  void directoryIsNotAFile() {
    MissingWeightsException e = assertThrows(MissingWeightsException.class, () -> Clip.loadPretrained(tmp));
    assertClipGuidance(e);
    assertTrue(e.getMessage().contains("not a readable regular file"), e.getMessage());
  }

  @Test
  void notACheckpoint() throws Exception {
    Path p = tmp.resolve("ViT-B-16.pt");
    Files.writeString(p, "<html>404 Not Found</html>", StandardCharsets.UTF_8);
    MissingWeightsException e = assertThrows(MissingWeightsException.class, () -> Clip.loadPretrained(p));
    assertClipGuidance(e);
    assertTrue(e.getMessage().contains("not a PyTorch checkpoint"), e.getMessage());
    MissingWeightsException h = assertThrows(MissingWeightsException.class, () -> HRNet.loadPretrained(p));
    assertHrnetGuidance(h);
    assertTrue(h.getMessage().contains("not a PyTorch checkpoint"), h.getMessage());
  }

  @Test
  void checkpointOfAnotherModel() {
    try (PointerScope scope = new PointerScope()) {
      // The tiny HRNet has the right key names but other shapes than W48 (and 7 classes instead of 150).
      Path tiny = fixtures().resolve("hrnet/tiny_zip.pth");
      MissingWeightsException e = assertThrows(MissingWeightsException.class, () -> HRNet.loadPretrained(tiny));
      assertHrnetGuidance(e);
      assertTrue(e.getMessage().contains("wrong keys or shapes") && e.getMessage().contains("mismatched: ")
          && e.getMessage().contains("more)"), e.getMessage());
      assertTrue(e.getMessage().length() < 3000, "summarised, not 80 kB: " + e.getMessage().length());
      assertTrue(e.getCause() instanceof IllegalArgumentException);
      // A CLIP file given as HRNet weights: every HRNet key is missing.
      MissingWeightsException x = assertThrows(MissingWeightsException.class,
          () -> HRNet.loadPretrained(fixtures().resolve("clip/tiny_clip_state.pth")));
      assertHrnetGuidance(x);
      assertTrue(x.getMessage().contains("missing from the checkpoint"), x.getMessage());
      // The tiny CLIP archive: its input_resolution scalar (32) contradicts ViT-B/16's 224.
      MissingWeightsException c = assertThrows(MissingWeightsException.class,
          () -> Clip.loadPretrained(fixtures().resolve("clip/tiny_clip_jit.pt")));
      assertClipGuidance(c);
      assertTrue(c.getMessage().contains("input_resolution"), c.getMessage());
    }
  }
}
