/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.prior;

import static org.deepspg.testing.PriorFixtures.fixtures;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.model.clip.Clip;
import org.deepspg.model.clip.ClipConfig;
import org.deepspg.model.clip.ClipPreprocess;
import org.deepspg.model.hrnet.HRNet;
import org.deepspg.model.hrnet.HRNetConfig;
import org.junit.jupiter.api.Test;

/** Repeated forward passes inside per-step scopes keep native memory flat (STYLE B6). */
class PriorMemoryTest {
  /** Measured steps (after 10 warm-up steps). */
  private static final int STEPS = 40;
  /**
   * Allowed RSS growth over {@link #STEPS} steps. One step (tiny HRNet on 128×128 with backward, tiny CLIP)
   * allocates well over 10 MB of activations and gradients, so leaking them would show as ≥ 400 MB; allocator
   * caching and warm-up stay well below this margin.
   */
  private static final long MARGIN_BYTES = 64L << 20;

  @Test
  void hrnetAndClipStepsDoNotLeak() throws Exception {
    HRNet net = new HRNet(HRNetConfig.fromJson(fixtures().resolve("hrnet/config.json"))).freeze();
    Clip clip = new Clip(ClipConfig.fromManifest(fixtures().resolve("clip/manifest.json"))).freeze();
    Tensor tokens = torch.zeros(2, 77).to(torch.ScalarType.Long);
    Runnable step = () -> {
      try (PointerScope scope = new PointerScope()) {
        Tensor x = torch.rand(1, 3, 128, 128).requires_grad_(true);
        HRNet.Output out = net.forwardRaw(x);
        Tensor e = clip.encodeImage(ClipPreprocess.differentiable(x, 32));
        out.logits().mean().add(e.mean()).backward();
        try (NoGradGuard g = new NoGradGuard()) {
          clip.encodeText(tokens);
        }
      }
    };
    // One intra-op thread: memory does not depend on it, and OpenMP spin-waiting makes many tiny ops very slow
    // on an oversubscribed CI machine.
    int threads = torch.get_num_threads();
    torch.set_num_threads(1);
    long before;
    long after;
    try {
      for (int i = 0; i < 10; i++) {
        step.run();
      }
      System.gc();
      before = Pointer.physicalBytes();
      for (int i = 0; i < STEPS; i++) {
        step.run();
      }
      System.gc();
      after = Pointer.physicalBytes();
    } finally {
      torch.set_num_threads(threads);
    }
    assertTrue(after - before < MARGIN_BYTES,
        "RSS grew by " + ((after - before) >> 20) + " MB over " + STEPS + " steps");
  }
}
