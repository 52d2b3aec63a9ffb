/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.deepspg.data.Image;
import org.deepspg.model.DeepSPG;
import org.junit.jupiter.api.Test;

/** The Enhancer never returns an output that is non-finite or collapsed while its input is neither. */
class OutputGuardTest {
  private static float[] ramp(int n, float lo, float hi) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) a[i] = lo + (hi - lo) * i / (n - 1);
    return a;
  }

  @Test
  void refusesNonFiniteAndCollapsedOutputs() {
    float[] in = ramp(300, 0.01f, 0.3f);
    float[] good = ramp(300, 0.1f, 0.9f);
    assertDoesNotThrow(() -> OutputGuard.check(in, 0, good, 0, 300));

    float[] nan = good.clone();
    nan[17] = Float.NaN;
    BadOutputException e = assertThrows(BadOutputException.class, () -> OutputGuard.check(in, 0, nan, 0, 300));
    assertTrue(e.getMessage().contains("1 of 300 output values are NaN"), e.getMessage());
    assertTrue(e.getMessage().contains("--onednn off"), e.getMessage());
    float[] inf = good.clone();
    inf[0] = Float.POSITIVE_INFINITY;
    assertThrows(BadOutputException.class, () -> OutputGuard.check(in, 0, inf, 0, 300));

    float[] black = new float[300];
    e = assertThrows(BadOutputException.class, () -> OutputGuard.check(in, 0, black, 0, 300));
    assertTrue(e.getMessage().contains("constant image"), e.getMessage());
    float[] white = new float[300];
    Arrays.fill(white, 1f);
    assertThrows(BadOutputException.class, () -> OutputGuard.check(in, 0, white, 0, 300));
  }

  @Test
  void acceptsWhatFollowsFromTheInput() {
    // A flat input may give a flat output.
    float[] flat = new float[300];
    Arrays.fill(flat, 0.02f);
    float[] out = new float[300];
    Arrays.fill(out, 0.4f);
    assertDoesNotThrow(() -> OutputGuard.check(flat, 0, out, 0, 300));
    // A NaN input does not excuse a NaN output (it would be written as black pixels): refused, naming the input.
    float[] in = ramp(300, 0f, 1f);
    in[3] = Float.NaN;
    float[] nan = out.clone();
    nan[3] = Float.NaN;
    BadOutputException e = assertThrows(BadOutputException.class, () -> OutputGuard.check(in, 0, nan, 0, 300));
    assertTrue(e.getMessage().contains("because the input holds NaN"), e.getMessage());
    // A bright input (fog, snow: mean 0.92) lifted to white everywhere is the model saturating, not a fault; the
    // same white output from a dark input is refused. Found by the library audit (session 32).
    float[] white = new float[300];
    Arrays.fill(white, 1f);
    assertDoesNotThrow(() -> OutputGuard.check(ramp(300, 0.85f, 1f), 0, white, 0, 300));
    assertThrows(BadOutputException.class, () -> OutputGuard.check(ramp(300, 0.05f, 0.4f), 0, white, 0, 300));
    // An input outside [0, 1] is named as the cause, not the kernels
    BadOutputException range = assertThrows(BadOutputException.class,
        () -> OutputGuard.check(ramp(300, -2f, -1f), 0, new float[300], 0, 300));
    assertTrue(range.getMessage().contains("not an image in [0, 1]"), range.getMessage());
    // A NaN input whose output is finite is fine.
    assertDoesNotThrow(() -> OutputGuard.check(in, 0, ramp(300, 0.1f, 0.9f), 0, 300));
    // Offsets select one image of a batch: the second, collapsed one is refused, the first is fine.
    float[] ins = new float[600];
    System.arraycopy(ramp(300, 0f, 0.3f), 0, ins, 0, 300);
    System.arraycopy(ramp(300, 0f, 0.3f), 0, ins, 300, 300);
    float[] outs = new float[600];
    System.arraycopy(ramp(300, 0.1f, 0.9f), 0, outs, 0, 300);
    assertDoesNotThrow(() -> OutputGuard.check(ins, 0, outs, 0, 300));
    assertThrows(BadOutputException.class, () -> OutputGuard.check(ins, 300, outs, 300, 300));
  }

  @Test
  void enhancerRefusesTheOutputOfANanWeight() throws IOException {
    DeepSPG net = InferTestSupport.randomModel(InferTestSupport.tinyBaseline(), 1, InferTestSupport.TEST_TAU);
    try (NoGradGuard ng = new NoGradGuard()) {
      Tensor w = net.named_parameters().get("mapping.weight");
      w.fill_(new org.bytedeco.pytorch.Scalar(Float.NaN));
    }
    Image img = InferTestSupport.darkImage(40, 56, 3);
    try (Enhancer e = Enhancer.builder().model(net).tiling(TileOptions.never()).build()) {
      assertThrows(BadOutputException.class, () -> e.enhance(img));
      assertThrows(BadOutputException.class, () -> e.enhance(List.of(img, img)));
      assertThrows(BadOutputException.class, () -> e.enhance(InferTestSupport.tensor(img)));
    }
    try (Enhancer tiled = Enhancer.builder().model(net).tiling(new TileOptions(64, 32, 64, 64 * 64)).build()) {
      assertThrows(BadOutputException.class, () -> tiled.enhance(img));
    } finally {
      net.close();
    }
  }
}
