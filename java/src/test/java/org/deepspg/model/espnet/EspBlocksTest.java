/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.espnet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.ops.DenseConv;
import org.deepspg.ops.DepthwiseConv;
import org.deepspg.ops.UpsampleSum;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link EspBlocks#run}, the fast paths of ESPNetv2's convolutions, against libtorch's {@code Conv2dImpl.forward} of the
 * same layer: output and the gradients w.r.t. input and weight (the semantic KL loss backpropagates through the
 * prior), for every geometry the network has (dilated and strided depthwise branches included), batch 1 and 2.
 */
class EspBlocksTest {
  @ParameterizedTest(name = "{0}->{1} k{2} groups {3} bias {4} batch {5} stride {6} dilation {7}")
  @CsvSource({
    "16, 16, 1, 1, false, 1, 1, 1", // decoder projection, EESP-free 1x1
    "64, 20, 1, 1, true, 2, 1, 1", // last merge 1x1 with bias
    "16, 4, 1, 4, false, 1, 1, 1", // EESP proj_1x1, 4 groups
    "32, 128, 1, 4, false, 2, 1, 1", // EESP conv_1x1_exp, 4 groups
    "8, 8, 3, 8, false, 2, 1, 3", // EESP branch: dilated depthwise 3x3
    "8, 8, 3, 8, false, 1, 2, 4", // strided EESP branch: dilated, stride 2
    "10, 10, 3, 10, false, 2, 1, 1", // EPP branch: depthwise 3x3
    "50, 10, 3, 10, false, 1, 1, 1", // EPP merge: 5 inputs per group
    "32, 48, 3, 16, false, 2, 1, 1", // EPW expansion, gcd groups: 2 in, 3 out per group
    "16, 32, 3, 16, false, 1, 1, 1", // EPW expansion: 1 in, 2 out per group
    "3, 3, 3, 1, false, 2, 1, 1", // input reinforcement: dense 3x3
    "3, 16, 3, 1, false, 1, 2, 1", // level 1: dense 3x3, stride 2 (libtorch's path with a gradient)
  })
  void fastPathMatchesLibtorch(int in, int out, int k, int groups, boolean bias, int batch, int stride, int dilation) {
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(in * 31L + out * 7L + k + groups + stride * 3L + dilation);
      Conv2dImpl conv = EspBlocks.conv(in, out, k, stride, dilation, groups, bias);
      Tensor x = torch.randn(batch, in, 13, 18);

      Tensor xb = x.clone().requires_grad_(true);
      Tensor yb = conv.forward(xb);
      Tensor g = torch.randn(yb.sizes().vec().get());
      Tensor[] gb = grads(yb, g, xb, conv);

      Tensor xa = x.clone().requires_grad_(true);
      Tensor ya = EspBlocks.run(conv, stride, dilation, xa);
      assertArrayEquals(yb.sizes().vec().get(), ya.sizes().vec().get());
      Tensor[] ga = grads(ya, g, xa, conv);

      assertClose("output", yb, ya);
      assertClose("grad x", gb[0], ga[0]);
      assertClose("grad weight", gb[1], ga[1]);
    }
  }

  /**
   * Inference (no gradient recorded, the frozen prior's path): the layers that then run on the direct convolution's
   * kernels ({@code DenseConv}: level 1's strided dense 3×3, the EESP blocks' grouped 1×1s) and the rest, against
   * {@code Conv2dImpl.forward}.
   */
  @ParameterizedTest(name = "{0}->{1} k{2} groups {3} bias {4} stride {5} dilation {6} dense kernel {7}")
  @CsvSource({
    "3, 16, 3, 1, false, 2, 1, true", // level 1 (s = 0.5): dense 3x3, stride 2
    "3, 32, 3, 1, false, 2, 1, true", // level 1 (s = 2.0)
    "16, 4, 1, 4, false, 1, 1, false", // EESP proj_1x1 at s = 0.5: 1 output per group (the batched product)
    "64, 32, 1, 4, false, 1, 1, true", // EESP proj_1x1 at s = 2.0: 8 per group
    "32, 128, 1, 4, false, 1, 1, true", // EESP conv_1x1_exp, 4 groups
    "8, 8, 3, 8, false, 2, 3, false", // strided, dilated depthwise branch (DepthwiseConv's dilated pass)
    "8, 8, 3, 8, false, 1, 4, false", // dilated depthwise branch
    "10, 10, 3, 10, false, 1, 1, false", // EPP branch: plain depthwise 3x3
  })
  void inferenceFastPathMatchesLibtorch(int in, int out, int k, int groups, boolean bias, int stride, int dilation,
      boolean dense) {
    try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      torch.manual_seed(in * 31L + out * 7L + k + groups + stride * 3L + dilation);
      Conv2dImpl conv = EspBlocks.conv(in, out, k, stride, dilation, groups, bias);
      Tensor x = torch.randn(1, in, 13, 18);
      DenseConv.status(); // the first use's self-checks call the kernels too: not counted below
      DepthwiseConv.dilatedStatus();
      long before = DenseConv.calls(), dilatedBefore = DepthwiseConv.dilatedCalls();
      Tensor got = EspBlocks.run(conv, stride, dilation, x);
      assertEquals(dense ? 1 : 0, DenseConv.calls() - before, "ran on the direct convolution's kernels");
      boolean dilated = groups == in && k == 3 && (stride == 2 || dilation > 1);
      assertEquals(dilated ? 1 : 0, DepthwiseConv.dilatedCalls() - dilatedBefore, "ran the dilated depthwise pass");
      Tensor want = conv.forward(x);
      assertArrayEquals(want.sizes().vec().get(), got.sizes().vec().get());
      assertClose("output", want, got);
    }
  }

  /** The EPP's and the logits' bilinear resize (align_corners): UpsampleSum's pass in inference, else libtorch's. */
  @Test
  void resizeMatchesLibtorch() {
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(5);
      Tensor x = torch.randn(1, 6, 13, 19);
      Tensor want = torch.upsample_bilinear2d(x, new long[] {26, 38}, true);
      UpsampleSum.status(); // the first use's self-check calls the kernel too
      try (NoGradGuard ng = new NoGradGuard()) {
        for (long[] size : new long[][] {{26, 38}, {20, 29}, {5, 5}}) {
          long before = UpsampleSum.calls();
          Tensor got = EspBlocks.resize(x, size[0], size[1]);
          assertEquals(1, UpsampleSum.calls() - before, "UpsampleSum's pass ran");
          assertClose("resize " + size[0] + "x" + size[1],
              torch.upsample_bilinear2d(x, size, true), got);
        }
      }
      Tensor xg = x.clone().requires_grad_(true);
      long before = UpsampleSum.calls();
      Tensor got = EspBlocks.resize(xg, 26, 38);
      assertEquals(0, UpsampleSum.calls() - before, "libtorch's op with a graph to record");
      assertTrue(got.requires_grad());
      assertClose("resize with a graph", want, got);
    }
  }

  private static Tensor[] grads(Tensor y, Tensor g, Tensor x, Conv2dImpl conv) {
    Tensor w = conv.weight();
    TensorVector r = torch.grad(new TensorVector(y.mul(g).sum()), new TensorVector(x, w));
    return new Tensor[] {r.get(0), r.get(1)};
  }

  private static void assertClose(String what, Tensor expected, Tensor actual) {
    double scale = Math.max(1, expected.abs().max().item_double());
    double diff = expected.sub(actual).abs().max().item_double();
    assertTrue(diff <= 1e-5 * scale, what + ": max |diff| " + diff + " (scale " + scale + ")");
  }
}
