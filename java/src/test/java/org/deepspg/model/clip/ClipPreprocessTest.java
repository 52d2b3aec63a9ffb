/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.clip;

import static org.deepspg.testing.PriorFixtures.shape;
import static org.deepspg.testing.PriorFixtures.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/** {@link ClipPreprocess}: sizes, values, antialiasing and gradient flow. */
class ClipPreprocessTest {
  /** float32 rounding of (c − mean)/std computed in two slightly different orders. */
  private static final double VALUE_TOL = 1e-5;

  @Test
  void torchvisionSizes() {
    assertArrayEquals(new long[] {224, 298}, ClipPreprocess.resizedSize(300, 400, 224));
    assertArrayEquals(new long[] {298, 224}, ClipPreprocess.resizedSize(400, 300, 224));
    assertArrayEquals(new long[] {224, 224}, ClipPreprocess.resizedSize(600, 600, 224));
    assertArrayEquals(new long[] {224, 448}, ClipPreprocess.resizedSize(100, 200, 224));
  }

  @Test
  void constantImageMapsToNormalisedConstant() {
    try (PointerScope scope = new PointerScope()) {
      Tensor x = torch.ones(1, 3, 300, 400).mul(new Scalar(0.6));
      Tensor y = ClipPreprocess.differentiable(x);
      assertArrayEquals(new long[] {1, 3, 224, 224}, shape(y));
      float[] v = values(y);
      for (int c = 0; c < 3; c++) {
        double want = (0.6f - ClipPreprocess.MEAN[c]) / ClipPreprocess.STD[c];
        for (int i = 0; i < 224 * 224; i += 997) {
          assertEquals(want, v[c * 224 * 224 + i], VALUE_TOL);
        }
      }
    }
  }

  @Test
  void downscalingIsAntialiasedUpscalingIsPlainBicubic() {
    try (PointerScope scope = new PointerScope()) {
      // A one-pixel checkerboard downscaled 3x: output pixel i samples input pixel 3i+1 exactly, so plain
      // bicubic returns the board itself (0/1, full aliasing); an antialiased filter averages it to ~0.5.
      Tensor ii = torch.arange(new Scalar(96)).reshape(96, 1);
      Tensor jj = torch.arange(new Scalar(96)).reshape(1, 96);
      Tensor board = ii.add(jj).remainder(new Scalar(2)).to(torch.ScalarType.Float)
          .reshape(1, 1, 96, 96).expand(1, 3, 96, 96).contiguous();
      Tensor y = ClipPreprocess.differentiable(board, 32);
      Tensor x01 = y.mul(torch.tensor(ClipPreprocess.STD).reshape(1, 3, 1, 1))
          .add(torch.tensor(ClipPreprocess.MEAN).reshape(1, 3, 1, 1));
      Tensor inner = x01.narrow(2, 4, 24).narrow(3, 4, 24);
      double aaDev = inner.sub(new Scalar(0.5)).abs().max().item_double();
      assertTrue(aaDev < 0.1, "antialiased checkerboard should be ~0.5, max dev " + aaDev);
      Tensor plain = ClipPreprocess.resizeBicubic(board, 32, 32, false).narrow(2, 4, 24).narrow(3, 4, 24);
      assertTrue(plain.sub(new Scalar(0.5)).abs().max().item_double() > 0.4, "plain bicubic aliases");
      // Upscaling: identical to upsample_bicubic2d(align_corners=false).
      Tensor small = torch.rand(1, 3, 20, 20);
      Tensor up = ClipPreprocess.differentiable(small, 32);
      Tensor ref = torch.upsample_bicubic2d(small, new long[] {32, 32}, false)
          .sub(torch.tensor(ClipPreprocess.MEAN).reshape(1, 3, 1, 1))
          .div(torch.tensor(ClipPreprocess.STD).reshape(1, 3, 1, 1));
      assertEquals(0.0, up.sub(ref).abs().max().item_double(), VALUE_TOL);
    }
  }

  @Test
  void centreCropTakesTheMiddle() {
    try (PointerScope scope = new PointerScope()) {
      // 32 x 40 input, R = 32: no resize (short side already 32), crop columns 4..35.
      Tensor col = torch.arange(new Scalar(40)).to(torch.ScalarType.Float).reshape(1, 1, 1, 40)
          .expand(1, 3, 32, 40).contiguous();
      Tensor y = ClipPreprocess.differentiable(col, 32);
      float[] v = values(y);
      double first = v[0] * ClipPreprocess.STD[0] + ClipPreprocess.MEAN[0];
      double last = v[31] * ClipPreprocess.STD[0] + ClipPreprocess.MEAN[0];
      assertEquals(4.0, first, 1e-4);
      assertEquals(35.0, last, 1e-4);
    }
  }

  @Test
  void gradientsFlowThroughAntialiasedResize() {
    try (PointerScope scope = new PointerScope()) {
      // Values outside [0,1] too: no clamp may cut the gradient.
      Tensor x = torch.rand(2, 3, 300, 257).mul(new Scalar(1.4)).sub(new Scalar(0.2)).requires_grad_(true);
      Tensor y = ClipPreprocess.differentiable(x);
      assertArrayEquals(new long[] {2, 3, 224, 224}, shape(y));
      y.sum().backward();
      Tensor g = x.grad();
      assertTrue(g.defined());
      assertTrue(g.isfinite().all().item_bool(), "finite gradient");
      assertTrue(g.abs().sum().item_double() > 0, "non-zero gradient");
      // The gradient of the sum w.r.t. each pixel is positive inside the crop (weights sum to 1/std > 0).
      double centre = g.select(0, 0).select(0, 0).select(0, 150).select(0, 128).item_double();
      assertTrue(centre > 0, "centre pixel gradient " + centre);
    }
  }

  @Test
  void rejectsBadInput() {
    assertThrows(IllegalArgumentException.class, () -> ClipPreprocess.differentiable(torch.rand(3, 32, 32)));
    assertThrows(IllegalArgumentException.class,
        () -> ClipPreprocess.differentiable(torch.zeros(1, 3, 8, 8).to(torch.ScalarType.Long)));
  }
}
