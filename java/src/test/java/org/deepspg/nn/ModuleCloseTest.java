/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.infer.InferTestSupport;
import org.deepspg.model.DeepSPG;
import org.deepspg.model.hrnet.HRNet;
import org.deepspg.model.hrnet.HRNetConfig;
import org.deepspg.ops.DenseConv;
import org.junit.jupiter.api.Test;

/**
 * {@link JavaModule#close()} frees a network's memory at once: its parameters and buffers are emptied and the weights
 * its layers packed or folded from them are closed. Before, close released only the root's handle and everything else
 * waited for a garbage collection that a service barely allocating on the Java heap may never run (an HRNet-W48 loaded
 * and closed in a loop grew the process by 1.3 GB per round). A closed network refuses to run.
 */
class ModuleCloseTest {
  private static long elements(TensorVector ts) {
    long n = 0;
    for (long i = 0; i < ts.size(); i++) n += ts.get(i).numel();
    return n;
  }

  /** Runs {@code body} as inference does (no grad, inference mode, a scope), so that layers pack their weights. */
  private static void infer(Runnable body) {
    try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard(); InferenceMode im = new InferenceMode()) {
      body.run();
    }
  }

  /**
   * Runs {@code forward} (which packs or folds weights where the native kernels serve), closes {@code net}, and checks
   * that its parameters, buffers and packed weights are gone, that it refuses to run, and that a second close is fine.
   */
  private static void assertCloseFreesEverything(JavaModule net, long packsBefore, Runnable forward) {
    infer(forward);
    if (DenseConv.status().enabled()) {
      assertTrue(DenseConv.livePacked() > packsBefore, "the forward should have packed or folded weights");
    }
    TensorVector params = net.parameters(true);
    TensorVector buffers = net.buffers(true);
    assertTrue(elements(params) > 0);
    net.close();
    assertEquals(0, elements(params), "parameters still hold their storage after close");
    assertEquals(0, elements(buffers), "buffers still hold their storage after close");
    assertEquals(packsBefore, DenseConv.livePacked(), "packed weights left open after close");
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> infer(forward));
    assertTrue(e.getMessage().contains("closed"), e.getMessage());
    net.close(); // idempotent
  }

  @Test
  void deepspgCloseFreesItsWeightsAndPackedCopiesAndRefusesToRun() {
    long packsBefore = DenseConv.livePacked();
    DeepSPG net = InferTestSupport.randomModel(InferTestSupport.tinyBaseline(), 3, InferTestSupport.TEST_TAU);
    net.eval();
    Tensor x = torch.rand(1, 3, 32, 48);
    assertCloseFreesEverything(net, packsBefore, () -> net.forward(x));
  }

  @Test
  void hrnetCloseFreesItsFoldedAndWinogradWeights() {
    long packsBefore = DenseConv.livePacked();
    HRNetConfig small = new HRNetConfig(
        new HRNetConfig.Stage(1, HRNetConfig.BlockType.BOTTLENECK, new int[] {2}, new int[] {8}),
        new HRNetConfig.Stage(1, HRNetConfig.BlockType.BASIC, new int[] {1, 1}, new int[] {8, 16}),
        new HRNetConfig.Stage(1, HRNetConfig.BlockType.BASIC, new int[] {1, 1, 1}, new int[] {8, 16, 32}),
        new HRNetConfig.Stage(1, HRNetConfig.BlockType.BASIC, new int[] {1, 1, 1, 1}, new int[] {8, 16, 32, 64}),
        7, 1, true, 1e-5, 0.1);
    HRNet net = new HRNet(small).freeze();
    Tensor x = torch.rand(1, 3, 64, 64);
    assertCloseFreesEverything(net, packsBefore, () -> net.forward(x));
  }

  @Test
  void aFloat64InputIsRefusedWithTheDtypesNamed() {
    DeepSPG net = InferTestSupport.sharedTiny();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> infer(() -> net.forward(torch.rand(1, 3, 32, 32).to(torch.ScalarType.Double))));
    assertTrue(e.getMessage().contains("Double") && e.getMessage().contains("Float"), e.getMessage());
  }
}
