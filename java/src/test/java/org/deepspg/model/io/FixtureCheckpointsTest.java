/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.deepspg.io.JsonFiles;
import org.junit.jupiter.api.Test;

/** Reads the golden PyTorch files of {@code shared/fixtures} (README sections A, B, D). */
class FixtureCheckpointsTest {

  // ------------------------------------------------------------------------------------------------ HRNet (A)

  private static final int HRNET_MODEL_ENTRIES = 447; // README A: state-dict entries incl. running stats
  private static final long HRNET_PARAMS = 318_839; // README A / manifest tiny.param_count

  @Test
  void hrnetThreeFormatsGiveIdenticalTensors() throws IOException {
    StateDict legacy = Checkpoints.read(IoFixtures.file("hrnet/tiny_legacy.pth"));
    StateDict cuda = Checkpoints.read(IoFixtures.file("hrnet/tiny_legacy_cuda.pth"));
    StateDict zip = Checkpoints.read(IoFixtures.file("hrnet/tiny_zip.pth"));
    assertEquals(HRNET_MODEL_ENTRIES + 1, legacy.size(), "447 model entries + loss.criterion.weight");
    for (StateDict other : List.of(cuda, zip)) {
      assertEquals(List.copyOf(legacy.names()), List.copyOf(other.names()), "same names in the same order");
      for (TensorData t : legacy) {
        TensorData o = other.get(t.name());
        assertEquals(t.dtype(), o.dtype(), t.name());
        assertArrayEquals(t.shape(), o.shape(), t.name());
        assertEquals(t.data(), o.data(), "bytes of " + t.name());
      }
    }
  }

  @Test
  void hrnetPrefixAndContent() throws IOException {
    StateDict raw = Checkpoints.read(IoFixtures.file("hrnet/tiny_legacy.pth"));
    assertTrue(raw.contains("loss.criterion.weight"), "junk key present before filtering");
    assertTrue(raw.contains("model.conv1.weight"));
    long prefixed = raw.names().stream().filter(n -> n.startsWith("model.")).count();
    assertEquals(HRNET_MODEL_ENTRIES, prefixed);

    StateDict sd = raw.stripPrefix("model.").filter(n -> !n.startsWith("loss."));
    assertEquals(HRNET_MODEL_ENTRIES, sd.size());
    assertFalse(sd.names().stream().anyMatch(n -> n.startsWith("model.")));
    assertArrayEquals(new long[] {64, 3, 3, 3}, sd.get("conv1.weight").shape());
    assertArrayEquals(new long[] {7, 120, 1, 1}, sd.get("last_layer.3.weight").shape());
    assertTrue(sd.contains("stage3.1.fuse_layers.2.0.0.0.weight"), "second module of stage 3");
    assertTrue(sd.contains("stage2.0.branches.1.1.conv2.weight"), "second block of a branch");
    assertTrue(sd.contains("layer1.0.downsample.0.weight"));

    long params = 0;
    for (TensorData t : sd) {
      String n = t.name();
      if (n.endsWith("num_batches_tracked")) {
        assertEquals(DType.INT64, t.dtype(), n);
        assertEquals(0, t.shape().length, n);
        assertEquals(0L, t.data().getLong(0), n + " (value 0 in the fixture)");
        continue;
      }
      assertEquals(DType.FLOAT32, t.dtype(), n);
      float[] v = t.toFloatArray();
      if (n.endsWith("running_var")) { // README A: U(0.5, 2.0)
        for (float x : v) {
          assertTrue(x >= 0.5f && x <= 2.0f, n + " value " + x);
        }
      } else if (!n.endsWith("running_mean")) {
        params += t.numel();
      }
    }
    assertEquals(HRNET_PARAMS, params, "parameter count (README A)");
    float[] lw = raw.get("loss.criterion.weight").toFloatArray(); // rand(7) + 0.5
    assertEquals(7, lw.length);
    for (float x : lw) {
      assertTrue(x >= 0.5f && x < 1.5f, "loss weight " + x);
    }
  }

  // ------------------------------------------------------------------------------------------------- CLIP (B)

  private static final Set<String> CLIP_JIT_ONLY = Set.of("input_resolution", "context_length", "vocab_size");
  private static final int CLIP_FP16_ENTRIES = 35; // README B / manifest: names stored as half in the archive

  /** {@code state_dict_index} of clip/manifest.json: name -> {dtype, shape, jit_dtype}. */
  private static Map<String, String[]> clipIndex() throws IOException {
    Map<String, String[]> out = new LinkedHashMap<>();
    for (JsonNode e : JsonFiles.readTree(IoFixtures.file("clip/manifest.json")).get("state_dict_index")) {
      StringBuilder shape = new StringBuilder();
      for (JsonNode d : e.get("shape")) shape.append(shape.length() > 0 ? "," : "").append(d.longValue());
      out.put(JsonFiles.string(e, "name"),
          new String[] {JsonFiles.string(e, "dtype"), shape.toString(), JsonFiles.string(e, "jit_dtype")});
    }
    return out;
  }

  private static long[] parseShape(String s) {
    s = s.trim();
    if (s.isEmpty()) {
      return new long[0];
    }
    return Arrays.stream(s.split(",")).map(String::trim).mapToLong(Long::parseLong).toArray();
  }

  @Test
  void clipTorchScriptArchiveMatchesStateDict() throws IOException {
    Map<String, String[]> index = clipIndex();
    assertEquals(62, index.size(), "manifest index parsed");
    StateDict state = Checkpoints.read(IoFixtures.file("clip/tiny_clip_state.pth"));
    StateDict jit = Checkpoints.read(IoFixtures.file("clip/tiny_clip_jit.pt"));

    assertEquals(List.copyOf(index.keySet()), List.copyOf(state.names()), "state dict = manifest index, in order");
    Set<String> jitNames = new java.util.LinkedHashSet<>(jit.names());
    jitNames.removeAll(CLIP_JIT_ONLY);
    assertEquals(Set.copyOf(index.keySet()), jitNames, "archive tensors = state dict + the three int64 scalars");
    for (String n : CLIP_JIT_ONLY) {
      assertEquals(DType.INT64, jit.get(n).dtype(), n);
      assertEquals(1, jit.get(n).numel(), n);
    }
    assertEquals(32L, jit.get("input_resolution").data().getLong(0));
    assertEquals(77L, jit.get("context_length").data().getLong(0));
    assertEquals(49408L, jit.get("vocab_size").data().getLong(0));

    int fp16 = 0;
    for (Map.Entry<String, String[]> e : index.entrySet()) {
      String n = e.getKey();
      TensorData s = state.get(n);
      TensorData j = jit.get(n);
      long[] shape = parseShape(e.getValue()[1]);
      assertEquals(DType.FLOAT32, s.dtype(), n);
      assertArrayEquals(shape, s.shape(), n);
      assertArrayEquals(shape, j.shape(), n);
      DType jitType = e.getValue()[2].equals("float16") ? DType.FLOAT16 : DType.FLOAT32;
      assertEquals(jitType, j.dtype(), n + " dtype inside the archive");
      if (jitType == DType.FLOAT16) {
        fp16++;
      }
      float[] a = s.toFloatArray();
      float[] b = j.toFloatArray();
      for (int i = 0; i < a.length; i++) {
        if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
          throw new AssertionError(n + "[" + i + "]: state " + a[i] + " vs archive " + b[i]);
        }
      }
    }
    assertEquals(CLIP_FP16_ENTRIES, fp16);
    assertEquals(1_761_825L, state.totalNumel(), "manifest param_count");
  }

  // ---------------------------------------------------------------------------------------------- DeepSPG (D)

  @Test
  void deepspgNamesAndShapesMatchParamsTxt() throws IOException {
    List<String> names = new ArrayList<>();
    List<long[]> shapes = new ArrayList<>();
    long total = -1;
    int entries = -1;
    for (String line : Files.readAllLines(IoFixtures.file("deepspg/params.txt"), StandardCharsets.UTF_8)) {
      String[] f = line.split("\t");
      if (line.startsWith("# total parameters")) {
        total = Long.parseLong(f[1].trim());
      } else if (line.startsWith("# state-dict entries")) {
        entries = Integer.parseInt(f[1].trim());
      } else if (!line.isBlank()) {
        names.add(f[0]);
        String s = f[1].trim();
        shapes.add(parseShape(s.substring(1, s.length() - 1)));
      }
    }
    assertEquals(567_213L, total);
    assertEquals(233, entries);

    StateDict sd = Checkpoints.read(IoFixtures.file("deepspg/deepspg_s.pth"));
    assertEquals(names, List.copyOf(sd.names()));
    for (int i = 0; i < names.size(); i++) {
      TensorData t = sd.get(names.get(i));
      assertNotNull(t);
      assertArrayEquals(shapes.get(i), t.shape(), names.get(i));
      assertEquals(DType.FLOAT32, t.dtype(), names.get(i));
    }
    assertEquals(233, sd.size());
    assertEquals(567_213L, sd.totalNumel());
  }
}
