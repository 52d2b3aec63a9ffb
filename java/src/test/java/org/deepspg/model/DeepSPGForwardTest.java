/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model;

import static org.bytedeco.pytorch.global.torch.rand;
import static org.bytedeco.pytorch.global.torch.randn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.ops.PriorMode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Forward shapes, input validation, batch independence and gradient flow of {@link DeepSPG}. */
class DeepSPGForwardTest {
  /**
   * Batch independence: the same image alone or as item 0 of a batch of two goes through the same float32 ops with
   * different blocking in the batched matmuls/convs; differences are rounding-level (outputs are O(1)).
   */
  private static final double BATCH_TOL = 1e-5;

  /** float32 vs float64 of the whole network on O(1) outputs: ~100 layers of float32 rounding (observed ~1e-6). */
  private static final double F32_VS_F64_TOL = 1e-4;

  @BeforeAll
  static void backends() {
    ModelTestSupport.disableMkldnn();
    torch.manual_seed(7);
  }

  static Tensor[] hr(long b, long h, long w) {
    return new Tensor[] {rand(b, 48, h / 4, w / 4), rand(b, 96, h / 8, w / 8), rand(b, 192, h / 16, w / 16)};
  }

  @Test
  void shapesSAndLAt64x96() {
    for (DeepSPGConfig cfg : new DeepSPGConfig[] {DeepSPGConfig.s(), DeepSPGConfig.l()}) {
      DeepSPG net = new DeepSPG(cfg);
      int c = cfg.channels();
      long b = 1; // batch > 1 is covered by batchItemsAreIndependent; keeps the CPU test short
      try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
        Tensor in = rand(b, 3, 64, 96).mul_(new org.bytedeco.pytorch.Scalar(0.3));
        Tensor[] f = hr(b, 64, 96);
        DeepSPG.Intermediates r = net.forwardWithIntermediates(in, f[0], f[1], f[2]);
        assertShape(r.output(), b, 3, 64, 96);
        assertShape(r.lightUpResidual(), b, 3, 64, 96);
        assertShape(r.litUp(), b, 3, 64, 96);
        assertShape(r.illuminationFeatures(), b, c, 64, 96);
        assertShape(r.encoderL1(), b, 2 * c, 32, 48);
        assertShape(r.bottleneck(), b, 4 * c, 16, 24);
        if (c == 20) {
          assertShape(net.forward(in, f[0], f[1], f[2]), b, 3, 64, 96);
        }
        double sum = r.output().abs().sum().item_double();
        assertTrue(Double.isFinite(sum) && sum > 0, "finite output " + sum);
      }
    }
  }

  /**
   * Inference (no gradient needed) runs the 1×1 convolutions, the decoder's transposed convolution + fuse and the
   * down-sampling on the native {@link DenseConv} with packed weights and fused residuals, and the feed-forward
   * blocks fused; with a gradient to record the same network runs its differentiable path (the 1×1 layers on
   * {@link DenseConv#pointwise}, the rest on libtorch's ops). Both must compute the same function, within float32
   * rounding of a different summation order, for DeepSPG-S with SEMs and for a variant with the other SEM switches.
   */
  @Test
  void inferencePathMatchesTheAutogradPath() {
    DeepSPGConfig[] cfgs = {DeepSPGConfig.s(), DeepSPGConfig.s().withBlocks(1, 1, 1).withSemQDense(true)
        .withSemSharedLn(true).withSemSkfResidual(true).withSemFfnExpansion(2.66)};
    for (DeepSPGConfig cfg : cfgs) {
      DeepSPG net = new DeepSPG(cfg);
      try (PointerScope s = new PointerScope()) {
        Tensor in = rand(1, 3, 64, 96).mul_(new org.bytedeco.pytorch.Scalar(0.3));
        Tensor[] f = hr(1, 64, 96);
        long fusedBefore = org.deepspg.ops.FusedFfn.calls();
        long pairBefore = org.deepspg.ops.DepthwisePair.calls();
        long foldedBefore = org.deepspg.ops.FoldedAttention.calls();
        Tensor graph = net.forward(in, f[0], f[1], f[2]);
        assertTrue(graph.requires_grad(), "the reference pass records a graph");
        assertTrue(org.deepspg.ops.FusedFfn.calls() == fusedBefore, "with a graph to record, no fused block serves");
        assertTrue(org.deepspg.ops.DepthwisePair.calls() == pairBefore, "nor the positional branch's one pass");
        assertTrue(org.deepspg.ops.FoldedAttention.calls() == foldedBefore, "nor the folded attention");
        long before = org.deepspg.ops.DenseConv.calls();
        Tensor fast;
        try (NoGradGuard g = new NoGradGuard()) {
          fast = net.forward(in, f[0], f[1], f[2]);
        }
        if (org.deepspg.ops.DenseConv.status().enabled()) {
          assertTrue(org.deepspg.ops.DenseConv.calls() >= before + 20, "inference took the native path");
        }
        if (org.deepspg.ops.FusedFfn.status().enabled()) { // every IGAB FFN and SEM GDFN: at least 5 + 5
          assertTrue(org.deepspg.ops.FusedFfn.calls() >= fusedBefore + 10, "the fused feed-forward blocks ran");
        }
        if (org.deepspg.ops.DepthwisePair.status().enabled()) { // every IGAB's IG-MSA: 10, then 5 blocks
          assertTrue(org.deepspg.ops.DepthwisePair.calls() >= pairBefore + 5, "the positional branches in one pass");
        }
        if (org.deepspg.ops.FoldedAttention.status().enabled()) { // every IG-MSA and SEM: 10 + 5, then 5 + 5
          assertTrue(org.deepspg.ops.FoldedAttention.calls() >= foldedBefore + (cfg == cfgs[0] ? 15 : 10),
              "the folded attention ran in every IG-MSA and SEM");
        }
        double diff = fast.sub(graph.detach()).abs().max().item_double();
        double mag = graph.detach().abs().max().item_double();
        assertTrue(diff <= F32_VS_F64_TOL * Math.max(1, mag), "max |fast - autograd| " + diff + " on values of "
            + mag);
        try (NoGradGuard g = new NoGradGuard()) { // the packed weights are reused, the result is the same
          assertTrue(net.forward(in, f[0], f[1], f[2]).equal(fast), "second inference pass, same bits");
        }
      }
    }
  }

  @Test
  void baselineRunsWithoutHrnetFeaturesAndVariantsRun() {
    DeepSPG base = new DeepSPG(DeepSPGConfig.baseline(DeepSPGConfig.Size.S));
    DeepSPG odd = new DeepSPG(DeepSPGConfig.s().withBlocks(0, 1, 3).withSemQDense(true).withSemSharedLn(true)
        .withSemSkfResidual(true).withSemFfnExpansion(2.66).withRetinexPrior(PriorMode.MAX));
    try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      assertShape(base.forward(rand(1, 3, 64, 96)), 1, 3, 64, 96);
      Tensor in = rand(1, 3, 32, 32);
      DeepSPG.Intermediates r = base.forwardWithIntermediates(in, null, null, null);
      assertShape(r.encoderL1(), 1, 40, 16, 16);
      Tensor[] f = hr(1, 32, 32);
      assertShape(odd.forward(in, f[0], f[1], f[2]), 1, 3, 32, 32);
      // Baseline refuses HRNet features, the SEM network requires them.
      assertThrows(IllegalArgumentException.class, () -> base.forward(in, f[0], f[1], f[2]));
      assertThrows(IllegalArgumentException.class, () -> odd.forward(in));
    }
  }

  @Test
  void rejectsBadShapes() {
    DeepSPG net = new DeepSPG(DeepSPGConfig.s());
    try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      Tensor[] f = hr(1, 64, 96);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> net.forward(rand(1, 3, 62, 96), f[0], f[1], f[2]));
      assertTrue(e.getMessage().contains("[1, 3, 62, 96]"), e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> net.forward(rand(1, 4, 64, 96), f[0], f[1], f[2]));
      assertThrows(IllegalArgumentException.class, () -> net.forward(rand(1, 3, 64, 96), f[0], f[0], f[2]));
      assertThrows(IllegalArgumentException.class,
          () -> net.forward(rand(2, 3, 64, 96), f[0], f[1], f[2]));
    }
  }

  @Test
  void batchItemsAreIndependent() {
    DeepSPG net = new DeepSPG(DeepSPGConfig.s());
    try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      Tensor in = rand(2, 3, 32, 32);
      Tensor[] f = hr(2, 32, 32);
      Tensor both = net.forward(in, f[0], f[1], f[2]);
      Tensor one = net.forward(in.narrow(0, 0, 1), f[0].narrow(0, 0, 1), f[1].narrow(0, 0, 1),
          f[2].narrow(0, 0, 1));
      ModelTestSupport.assertClose("item 0 alone vs in batch", one, both.narrow(0, 0, 1), BATCH_TOL);
    }
  }

  @Test
  void gradientsReachEveryParameter() {
    // The baseline's parameters are a subset of S's (same code paths without SEMs), so S + the switch variant
    // cover every parameter kind.
    DeepSPGConfig[] cfgs = {
      DeepSPGConfig.s(),
      DeepSPGConfig.s().withSemQDense(true).withSemSharedLn(true).withSemSkfResidual(true)
          .withRetinexPrior(PriorMode.MAX)
    };
    for (DeepSPGConfig cfg : cfgs) {
      DeepSPG net = new DeepSPG(cfg);
      try (PointerScope s = new PointerScope()) {
        Tensor in = rand(1, 3, 32, 32).requires_grad_(true);
        Tensor[] f = hr(1, 32, 32);
        Tensor out = net.forward(in, f[0], f[1], f[2]);
        out.mul(randn(1, 3, 32, 32)).sum().backward();
        StringTensorDict ps = net.named_parameters(true);
        for (long i = 0; i < ps.size(); i++) {
          String name = ps.get(i).key().getString();
          Tensor gr = ps.get(i).value().grad();
          assertTrue(gr.defined(), cfg.describe() + ": undefined grad for " + name);
          double a = gr.abs().sum().item_double();
          assertTrue(Double.isFinite(a) && a > 0, cfg.describe() + ": grad of " + name + " has |sum| " + a);
        }
        double gi = in.grad().abs().sum().item_double();
        assertTrue(Double.isFinite(gi) && gi > 0, "input grad " + gi);
      }
    }
  }

  /**
   * The float32 training path (the 1×1 layers and the decoder's composed up-sampling + fuse on the native
   * {@link org.deepspg.ops.DenseConv#pointwise}, its backward on the same kernels) against the float64 network, which
   * runs libtorch's ops: every parameter's gradient and the input's, for DeepSPG-S with SEMs.
   */
  @Test
  void float32TrainingGradientsMatchFloat64() {
    DeepSPG net = new DeepSPG(DeepSPGConfig.s());
    try (PointerScope s = new PointerScope()) {
      Tensor in = rand(2, 3, 32, 48);
      Tensor[] f = hr(2, 32, 48);
      Tensor probe = randn(2, 3, 32, 48);
      long before = org.deepspg.ops.DenseConv.calls();
      long downBefore = org.deepspg.ops.DenseConv.downsampleCalls();
      Tensor in32 = in.clone().requires_grad_(true);
      net.forward(in32, f[0], f[1], f[2]).mul(probe).sum().backward();
      if (org.deepspg.ops.DenseConv.trainable(in)) {
        assertTrue(org.deepspg.ops.DenseConv.calls() >= before + 20, "the 1x1 layers trained on the native path");
        assertEquals(downBefore + 4, org.deepspg.ops.DenseConv.downsampleCalls(),
            "the four 4x4 stride-2 layers (two levels, image and illumination features) trained on the native path");
      }
      StringTensorDict ps = net.named_parameters(true);
      Tensor[] g32 = new Tensor[(int) ps.size()];
      for (int i = 0; i < g32.length; i++) g32[i] = ps.get(i).value().grad().clone();
      net.zero_grad(true);
      net.to(torch.ScalarType.Double, false);
      Tensor in64 = in.to(torch.ScalarType.Double).requires_grad_(true);
      net.forward(in64, f[0].to(torch.ScalarType.Double), f[1].to(torch.ScalarType.Double),
          f[2].to(torch.ScalarType.Double)).mul(probe.to(torch.ScalarType.Double)).sum().backward();
      ps = net.named_parameters(true);
      double worst = 0;
      String worstName = "";
      for (int i = 0; i < g32.length; i++) {
        Tensor g64 = ps.get(i).value().grad();
        double err = g32[i].to(torch.ScalarType.Double).sub(g64).abs().max().item_double()
            / Math.max(1e-6, g64.abs().max().item_double());
        if (err > worst) {
          worst = err;
          worstName = ps.get(i).key().getString();
        }
      }
      // float32 through ~100 layers and back: observed 9e-6 of a gradient's largest entry (2026-12-05)
      assertTrue(worst <= 1e-4, "largest relative gradient error " + worst + " in " + worstName);
      double gi = in32.grad().to(torch.ScalarType.Double).sub(in64.grad()).abs().max().item_double();
      assertTrue(gi <= 1e-4 * Math.max(1e-6, in64.grad().abs().max().item_double()), "input gradient error " + gi);
    }
  }

  @Test
  void convertsToFloat64AndAgreesWithFloat32() {
    DeepSPG net = new DeepSPG(DeepSPGConfig.s());
    try (PointerScope s = new PointerScope()) {
      Tensor in = rand(1, 3, 32, 32);
      Tensor[] f = hr(1, 32, 32);
      Tensor out32;
      try (NoGradGuard g = new NoGradGuard()) {
        out32 = net.forward(in, f[0], f[1], f[2]);
      }
      // Module.to converts every parameter in place, including the blocks' own rescale/temperature handles.
      net.to(torch.ScalarType.Double, false);
      Tensor out64 = net.forward(in.to(torch.ScalarType.Double), f[0].to(torch.ScalarType.Double),
          f[1].to(torch.ScalarType.Double), f[2].to(torch.ScalarType.Double));
      assertTrue(out64.scalar_type().value == torch.ScalarType.Double.value);
      ModelTestSupport.assertClose("float64 vs float32", out64, out32, F32_VS_F64_TOL);
      out64.sum().backward();
      StringTensorDict ps = net.named_parameters(true);
      Tensor rescale = ps.get("enc.0.0.attn.rescale");
      assertTrue(rescale.grad().defined() && rescale.grad().scalar_type().value == torch.ScalarType.Double.value);
    }
  }

  private static void assertShape(Tensor t, long... shape) {
    assertArrayEquals(shape, ModelTestSupport.shape(t));
  }
}
