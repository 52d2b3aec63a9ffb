/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.hrnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.ops.DenseConv;
import org.deepspg.testing.Tensors;
import org.junit.jupiter.api.Test;

/**
 * HRNet's inference path (BatchNorm folded into the native direct convolution, residual and ReLU fused: {@link
 * Layers.FusedConvBn}) against the same network through libtorch's modules, which it takes when the input needs a
 * gradient. A small HRNet (every block type, stride-2 stem, transitions and fuse layers, 4 branches) with random
 * weights and non-trivial BatchNorm statistics; no fixtures needed. The folded, packed weights are reused while the
 * parameters stay and folded anew when one changes in place.
 */
class HRNetDirectConvTest {
  /** float32 through ~30 convolutions in another summation order: relative to the largest value. */
  private static final double TOL = 1e-4;

  private static HRNetConfig small() {
    return small(true);
  }

  private static HRNetConfig small(boolean alignCorners) {
    return new HRNetConfig(
        new HRNetConfig.Stage(1, HRNetConfig.BlockType.BOTTLENECK, new int[] {2}, new int[] {8}),
        new HRNetConfig.Stage(1, HRNetConfig.BlockType.BASIC, new int[] {1, 1}, new int[] {8, 16}),
        new HRNetConfig.Stage(1, HRNetConfig.BlockType.BASIC, new int[] {1, 1, 1}, new int[] {8, 16, 32}),
        new HRNetConfig.Stage(1, HRNetConfig.BlockType.BASIC, new int[] {1, 1, 1, 1}, new int[] {8, 16, 32, 64}),
        7, 1, alignCorners, 1e-5, 0.1);
  }

  /** A frozen small HRNet whose BatchNorms are away from the identity, so that folding is exercised. */
  private static HRNet randomNet(long seed) {
    return randomNet(seed, true);
  }

  private static HRNet randomNet(long seed, boolean alignCorners) {
    return randomNet(seed, small(alignCorners));
  }

  private static HRNet randomNet(long seed, HRNetConfig config) {
    torch.manual_seed(seed);
    HRNet net = new HRNet(config);
    try (NoGradGuard ng = new NoGradGuard()) {
      // BatchNorm statistics and affine parameters away from the identity, so that folding is exercised
      StringTensorDict buffers = net.named_buffers();
      for (long i = 0; i < buffers.size(); i++) {
        String name = buffers.get(i).key().getString();
        Tensor b = buffers.get(i).value();
        if (name.endsWith("running_mean")) b.copy_(Tensors.randn(b.size(0)).mul(new Scalar(0.2)));
        if (name.endsWith("running_var")) b.copy_(Tensors.randn(b.size(0)).abs().add(new Scalar(0.5)));
      }
      StringTensorDict params = net.named_parameters();
      for (long i = 0; i < params.size(); i++) {
        String name = params.get(i).key().getString();
        Tensor p = params.get(i).value();
        if (p.dim() == 1 && name.contains("bn") || name.matches(".*\\.1\\.(weight|bias)")) {
          p.copy_(Tensors.randn(p.size(0)).mul(new Scalar(0.3)).add(new Scalar(name.endsWith("weight") ? 1 : 0)));
        }
      }
    }
    net.freeze();
    return net;
  }

  @Test
  void foldedDirectPathEqualsModulePath() {
    assertTrue(DenseConv.status().enabled(), DenseConv.status().describe());
    try (PointerScope scope = new PointerScope()) {
      HRNet net = randomNet(3);
      Tensor x = Tensors.randn(1, 3, 64, 96);
      HRNet.Output fast;
      long before = DenseConv.calls();
      long folds = Layers.FusedConvBn.FOLDS.get();
      try (NoGradGuard ng = new NoGradGuard()) {
        fast = net.forward(x);
      }
      long direct = DenseConv.calls() - before;
      assertTrue(direct >= 30, "convolutions on the direct path: " + direct);
      // the head's layer runs one convolution per branch (headOnBranchResolutionsMatchesModulePath) on one fold
      assertEquals(direct - 3, Layers.FusedConvBn.FOLDS.get() - folds, "every layer folded once on first use");
      assertMatchesModules(net, x, fast);

      // the same weights again: no folding, the same bits
      folds = Layers.FusedConvBn.FOLDS.get();
      try (NoGradGuard ng = new NoGradGuard()) {
        HRNet.Output again = net.forward(x);
        assertEquals(folds, Layers.FusedConvBn.FOLDS.get(), "unchanged weights are not folded again");
        assertTrue(again.logits().equal(fast.logits()), "the cached weights give the same bits");
      }

      // in-place changes (as loading weights makes): one BN's statistics, another layer's convolution weight
      try (NoGradGuard ng = new NoGradGuard()) {
        net.named_buffers().get("stage4.0.branches.3.0.bn2.running_var").copy_(Tensors.randn(64).abs());
        net.named_parameters().get("transition3.3.0.0.weight").mul_(new Scalar(-1.5));
        folds = Layers.FusedConvBn.FOLDS.get();
        fast = net.forward(x);
        assertEquals(folds + 2, Layers.FusedConvBn.FOLDS.get(), "exactly the two changed layers folded anew");
      }
      assertMatchesModules(net, x, fast);
    }
  }

  /**
   * On an input large enough for Winograd in the first branch (192×192: 48×48 there, 144 tiles), those layers run
   * Winograd and the network still matches the module path.
   */
  @Test
  void winogradLayersMatchModulePath() {
    assertTrue(DenseConv.status().winograd(), DenseConv.status().describe());
    try (PointerScope scope = new PointerScope()) {
      HRNet net = randomNet(5);
      Tensor x = Tensors.randn(1, 3, 192, 192);
      long before = DenseConv.winogradCalls();
      HRNet.Output fast;
      try (NoGradGuard ng = new NoGradGuard()) {
        fast = net.forward(x);
      }
      long wino = DenseConv.winogradCalls() - before;
      // branch 1 of stages 2-4: one BasicBlock of two 3x3 stride-1 convolutions each
      assertTrue(wino >= 6, "Winograd layers: " + wino);
      assertMatchesModules(net, x, fast);
    }
  }

  /**
   * A fourth branch of 136 channels (136² channel pairs: a "wide" layer) at 16×16 (16 tiles, a 512×512 input): on
   * AVX-512 its two 3×3 layers run Winograd on the wide kernel, elsewhere the direct path; against a network whose
   * fourth branch has 64 channels (never Winograd at 16 tiles), and the module path.
   */
  @Test
  void wideWinogradLayersMatchModulePath() {
    assertTrue(DenseConv.status().winograd(), DenseConv.status().describe());
    long[] calls = new long[2];
    int[] widths = {136, 64};
    for (int k = 0; k < 2; k++) {
      HRNetConfig c = small();
      HRNetConfig cfg = new HRNetConfig(c.stage1(), c.stage(2), c.stage(3),
          new HRNetConfig.Stage(1, HRNetConfig.BlockType.BASIC, new int[] {1, 1, 1, 1},
              new int[] {8, 16, 32, widths[k]}),
          c.numClasses(), c.finalConvKernel(), c.alignCorners(), c.bnEps(), c.bnMomentum());
      try (PointerScope scope = new PointerScope()) {
        HRNet net = randomNet(9, cfg);
        Tensor x = Tensors.randn(1, 3, 512, 512);
        long before = DenseConv.winogradCalls();
        HRNet.Output fast;
        try (NoGradGuard ng = new NoGradGuard()) {
          fast = net.forward(x);
        }
        calls[k] = DenseConv.winogradCalls() - before;
        assertMatchesModules(net, x, fast);
      }
    }
    boolean wide = "avx512".equals(DenseConv.status().isa());
    assertEquals(wide ? 2 : 0, calls[0] - calls[1], "Winograd calls of the wide branch: " + Arrays.toString(calls));
  }

  /**
   * The segmentation head on the branches' own resolutions ({@link Layers.FusedConvBn#forwardUpsampledConcat}: the
   * 1×1 convolution's column slice for each branch before the bilinear resize) against the module path's resize,
   * concatenation and convolution, with both align_corners settings, on a size whose branches up-sample 2×, 4× and
   * 8× exactly (64×96) and on an odd one whose stride-2 convolutions round up (70×90, batch 2: branches 18×23, 9×12,
   * 5×6, 3×3).
   */
  @Test
  void headOnBranchResolutionsMatchesModulePath() {
    for (boolean alignCorners : new boolean[] {true, false}) {
      try (PointerScope scope = new PointerScope()) {
        HRNet net = randomNet(7, alignCorners);
        for (long[] shape : new long[][] {{1, 3, 64, 96}, {2, 3, 70, 90}}) {
          Tensor x = Tensors.randn(shape);
          HRNet.Output fast;
          try (NoGradGuard ng = new NoGradGuard()) {
            long before = DenseConv.calls();
            net.features(x, 4);
            long body = DenseConv.calls() - before;
            before = DenseConv.calls();
            fast = net.forward(x);
            assertEquals(body + 5, DenseConv.calls() - before, "the head: one convolution per branch, the classifier");
          }
          assertMatchesModules(net, x, fast);
        }
      }
    }
  }

  /** A network built under InferenceMode has inference tensors (no version counter): the direct path still serves it. */
  @Test
  void networkBuiltUnderInferenceModeRuns() {
    try (PointerScope scope = new PointerScope(); InferenceMode im = new InferenceMode()) {
      torch.manual_seed(4);
      HRNet net = new HRNet(small());
      net.freeze();
      long before = DenseConv.calls();
      HRNet.Output a = net.forward(Tensors.randn(1, 3, 32, 32));
      HRNet.Output b = net.forward(Tensors.randn(1, 3, 32, 32));
      assertTrue(DenseConv.calls() - before >= 60, "both forwards on the direct path");
      assertTrue(a.logits().isfinite().all().item_bool() && b.logits().isfinite().all().item_bool());
    }
  }

  /** The same network through libtorch's modules (the input needs a gradient) gives {@code fast} to {@link #TOL}. */
  private static void assertMatchesModules(HRNet net, Tensor x, HRNet.Output fast) {
    long before = DenseConv.calls();
    HRNet.Output slow = net.forward(x.clone().requires_grad_(true)); // needs a gradient: libtorch modules
    assertEquals(before, DenseConv.calls(), "the gradient path must not use the direct convolution");
    assertTrue(slow.logits().requires_grad(), "the reference went through autograd");
    for (int i = 0; i < 4; i++) {
      Tensor ref = slow.features().get(i).detach();
      double scale = Math.max(1.0, Tensors.maxAbs(ref));
      Tensors.assertClose("feature " + i, fast.features().get(i), ref, 0, TOL * scale);
    }
    Tensor ref = slow.logits().detach();
    Tensors.assertClose("logits", fast.logits(), ref, 0, TOL * Math.max(1.0, Tensors.maxAbs(ref)));
  }
}
