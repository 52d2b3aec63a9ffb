/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import static org.bytedeco.pytorch.global.torch.rand;
import static org.bytedeco.pytorch.global.torch.randn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.deepspg.data.ImageTensors;
import org.deepspg.model.DeepSPG;
import org.deepspg.model.hrnet.HRNet;
import org.deepspg.ops.AttentionContext;
import org.junit.jupiter.api.Test;

/** {@link Pipeline}: pad → prior → network → crop, with autograd for training and without for inference. */
class PipelineTest {
  private static final DeepSPG tiny = InferTestSupport.sharedTiny();

  @Test
  void isPadNetworkCropWithTheOnePaddingRule() {
    Pipeline p = new Pipeline(tiny, null);
    try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      for (int[] hw : new int[][] {{1, 1}, {5, 7}, {31, 33}, {64, 64}, {17, 50}}) {
        Tensor x = rand(2, 3, hw[0], hw[1]).mul(new Scalar(0.3));
        Tensor got = p.forward(x);
        Tensor want = Padding.crop(tiny.forward(Padding.reflectPad(x, Padding.MULTIPLE).contiguous()), hw[0], hw[1]);
        assertArrayEquals(new long[] {2, 3, hw[0], hw[1]}, got.sizes().vec().get());
        assertArrayEquals(ImageTensors.floatsOf(want), ImageTensors.floatsOf(got), 0f, hw[0] + "x" + hw[1]);
        float[] e = ImageTensors.floatsOf(p.enhance(x));
        for (float v : e) assertTrue(v >= 0 && v <= 1, "enhance clamps to [0, 1]");
      }
    }
  }

  @Test
  void trainsThroughPadAndCrop() {
    Pipeline p = new Pipeline(tiny, null);
    try (PointerScope s = new PointerScope()) {
      tiny.zero_grad(true);
      Tensor x = rand(1, 3, 37, 45).mul(new Scalar(0.3)).requires_grad_(true);
      Tensor y = p.forward(x);
      assertTrue(y.requires_grad(), "no no-grad guard inside: the output carries the graph");
      y.mul(randn(1, 3, 37, 45)).sum().backward();
      StringTensorDict ps = tiny.named_parameters(true);
      int withGrad = 0;
      for (long i = 0; i < ps.size(); i++) {
        Tensor g = ps.get(i).value().grad();
        if (g.defined() && g.abs().sum().item_double() > 0) withGrad++;
      }
      assertTrue(withGrad > ps.size() / 2, withGrad + " of " + ps.size() + " parameters got gradients");
      assertTrue(x.grad().abs().sum().item_double() > 0, "input gradient through the crop and the reflection");
      tiny.zero_grad(true);
    }
  }

  @Test
  void thePriorIsNeverTrained() {
    DeepSPG sem = InferTestSupport.randomModel(InferTestSupport.tinyBaseline().withSemEnabled(true), 2,
        InferTestSupport.TEST_TAU);
    HRNet hr = EnhancerTest.smallW48LikeHrnet();
    try (PointerScope s = new PointerScope()) {
      TensorVector hp = hr.parameters();
      for (long i = 0; i < hp.size(); i++) hp.get(i).requires_grad_(true); // would be trained if it recorded
      Pipeline p = new Pipeline(sem, org.deepspg.model.prior.HrnetPrior.borrow(hr));
      p.forward(rand(1, 3, 32, 40).mul(new Scalar(0.3))).sum().backward();
      for (long i = 0; i < hp.size(); i++) assertFalse(hp.get(i).grad().defined(), "HRNet parameter " + i);
      assertTrue(p.priorNanos() > 0 && p.networkNanos() > 0, "timed");
      assertThrows(IllegalArgumentException.class, () -> new Pipeline(sem, null), "SEMs need the prior");
    } finally {
      sem.close();
      hr.close();
    }
  }

  @Test
  void refusesBadShapesAndRecordingCounts() {
    Pipeline p = new Pipeline(tiny, null);
    try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      assertThrows(IllegalArgumentException.class, () -> p.forward(rand(1, 1, 8, 8)));
      assertThrows(IllegalArgumentException.class, () -> p.forward(rand(3, 8, 8)));
      assertThrows(IllegalArgumentException.class,
          () -> p.enhance(rand(1, 3, 8, 8), true, new AttentionContext.Recording[1]));
    }
  }
}
