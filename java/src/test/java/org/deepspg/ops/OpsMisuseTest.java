/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The public ops refuse what would crash the process or silently give a wrong result, found by an audit that called
 * every entry with hostile arguments: a shape that made a native scratch buffer 40 GB (std::terminate), inference-only
 * kernels that dropped the gradient, attention matrices that did not fit their values, an empty batch, a closed
 * packed weight and null arguments.
 */
class OpsMisuseTest {
  @BeforeAll
  static void load() {
    NativeLibrary.ensureLoaded();
  }

  private static void refused(Class<? extends Throwable> type, String fragment, Runnable call) {
    Throwable e = assertThrows(type, call::run);
    assertTrue(e.getMessage() != null && e.getMessage().contains(fragment), String.valueOf(e.getMessage()));
  }

  /** Null tensors are refused with IllegalArgumentException naming them, not a NullPointerException. */
  @Test
  void nullTensorsAreRefusedAsArguments() {
    try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      Tensor x = torch.rand(1, 4, 4, 4);
      refused(IllegalArgumentException.class, "weight", () -> DenseConv.pointwise(x, null, null, null));
      refused(IllegalArgumentException.class, "weight", () -> DenseConv.downsample(x, null, null, 1));
      refused(IllegalArgumentException.class, "weight", () -> DenseConv.packWinograd(null));
      try (DenseConv.Packed w = DenseConv.pack(torch.rand(8, 4, 1, 1));
          DenseConv.Packed wo = DenseConv.pack(torch.rand(4, 8, 1, 1))) {
        refused(IllegalArgumentException.class, "x", () -> FusedFfn.forward(null, null, null, 1e-5, w,
            torch.rand(8, 1, 3, 3), wo, null, FusedFfn.Mode.GELU_DW_GELU));
      }
    }
  }

  /** A tall map onto a wide output: the kernel's row buffers were map height x output width (std::terminate). */
  @Test
  void upsamplingATallMapOntoAWideOutputRuns() {
    try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      Tensor z = torch.rand(1, 1, 100_000, 1);
      Tensor out = UpsampleSum.forward(null, new Tensor[] {z}, 1, 100_000, false, false);
      assertArrayEquals(new long[] {1, 1, 1, 100_000}, out.sizes().vec().get());
      // one output row: halfway between source rows 49,999 and 50,000 (align_corners=false), the same along x
      Tensor flat = z.reshape(100_000);
      float want = 0.5f * (flat.get(49_999).item_float() + flat.get(50_000).item_float());
      assertEquals(want, out.min().item_float(), 1e-6f);
      assertEquals(want, out.max().item_float(), 1e-6f);
      refused(IllegalArgumentException.class, "maps", () -> UpsampleSum.forward(z, null, 1, 1, false, false));
    }
  }

  /** Inference-only kernels record no gradient: a call that needs one is refused instead of training nothing. */
  @Test
  void inferenceOnlyKernelsRefuseACallThatNeedsAGradient() {
    try (PointerScope s = new PointerScope()) {
      Tensor x = torch.rand(1, 8, 6, 6).requires_grad_(true);
      Tensor w = torch.rand(8, 8, 3, 3);
      refused(IllegalArgumentException.class, "inference-only", () -> DenseConv.forward(x, w, null, null, 1, false));
      refused(IllegalArgumentException.class, "inference-only", () -> PixelShuffle.forward(x));
      Tensor w1 = torch.rand(8, 8);
      refused(IllegalArgumentException.class, "inference-only",
          () -> FoldedAttention.scores(x, w1, w1, w1, torch.ones(2), 2));
      try (NoGradGuard g = new NoGradGuard()) { // the same calls without grad mode run
        assertEquals(8, DenseConv.forward(x, w, null, null, 1, false).size(1));
        assertEquals(2, PixelShuffle.forward(x).size(1));
      }
    }
  }

  @Test
  void attentionMatricesMustFitTheirValuesAndAnEmptyBatchIsEmpty() {
    try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      Tensor x = torch.rand(1, 8, 3, 5);
      Tensor w = torch.rand(8, 8);
      FoldedAttention.Scores sc = FoldedAttention.scores(x, w, w, w, torch.ones(2), 2);
      assertEquals(8, FoldedAttention.mix(sc, null, w, null, null, false).size(1));
      refused(IllegalArgumentException.class, "do not fit",
          () -> FoldedAttention.mix(new FoldedAttention.Scores(sc.values(), sc.matrices(), 4), null, w, null, null,
              false));
      Tensor x2 = torch.rand(2, 8, 3, 5);
      refused(IllegalArgumentException.class, "do not fit", () -> FoldedAttention.mix(
          new FoldedAttention.Scores(FoldedAttention.scores(x2, w, w, w, torch.ones(2), 2).values(), sc.matrices(),
              2), null, w, null, null, false));
      refused(IllegalArgumentException.class, "must not be null",
          () -> FoldedAttention.mix(new FoldedAttention.Scores(null, sc.matrices(), 2), null, w, null, null, false));
      refused(IllegalArgumentException.class, "tau", () -> FoldedAttention.scores(x, w, w, w,
          torch.ones(2).to(org.bytedeco.pytorch.global.torch.ScalarType.Double), 2));
      refused(IllegalArgumentException.class, "bias", () -> FoldedAttention.mix(sc, null, w,
          torch.ones(8).to(org.bytedeco.pytorch.global.torch.ScalarType.Double), null, false));
      Tensor empty = torch.rand(0, 8, 3, 5);
      Tensor out = FoldedAttention.attentionProjected(empty, empty, empty, torch.ones(2), 2, w, null, null, false);
      assertArrayEquals(new long[] {0, 8, 3, 5}, out.sizes().vec().get());
    }
  }

  @Test
  void aClosedPackedWeightAndNullArgumentsAreRefused() {
    try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      Tensor x = torch.rand(1, 8, 6, 6);
      DenseConv.Packed p = DenseConv.pack(torch.rand(8, 8, 3, 3));
      assertEquals(8, DenseConv.forward(x, p, null, null, 1, false).size(1));
      p.close();
      p.close(); // twice: harmless
      refused(IllegalStateException.class, "is closed", () -> DenseConv.forward(x, p, null, null, 1, false));
      refused(IllegalArgumentException.class, "null", () -> DenseConv.pack(null));
      refused(IllegalArgumentException.class, "null", () -> DenseConv.forward(null, torch.rand(8, 8, 3, 3), null,
          null, 1, false));
      refused(IllegalArgumentException.class, "null", () -> PixelShuffle.forward(null));
      refused(IllegalArgumentException.class, "null", () -> AvgPool.pool3x3s2(null));
      refused(IllegalArgumentException.class, "null", () -> DepthwiseConv.conv3x3(x, null, 2, 1));
      try (org.deepspg.model.DeepSPG net = new org.deepspg.model.DeepSPG(
          org.deepspg.model.DeepSPGConfig.baseline(org.deepspg.model.DeepSPGConfig.Size.S).withChannels(8))) {
        refused(IllegalArgumentException.class, "positive multiples of 4", () -> net.forward(torch.rand(1, 3, 0, 0)));
      }
      // a dilated depthwise weight that does not fit names the caller's x, not an internal sub-image
      refused(IllegalArgumentException.class, "for x [1, 8, 6, 6]",
          () -> DepthwiseConv.conv3x3(x, torch.rand(3, 1, 3, 3), 2, 1));
    }
  }
}
