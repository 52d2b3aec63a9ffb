/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.clip;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.InterpolateFuncOptions;
import org.bytedeco.pytorch.LongVector;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.kBicubic;

/**
 * CLIP's image preprocessing written with differentiable tensor ops (spec §4.4), for the multimodal loss:
 * resize the short side to R with bicubic interpolation (align_corners = false; antialiased when an axis is
 * downscaled — libtorch 2.10 has the backward of {@code _upsample_bicubic2d_aa}, checked by
 * {@code ClipPreprocessTest}), centre-crop R×R (torchvision's rounding), then {@code (x − mean)/std} with
 * CLIP's constants. No clamp, so gradients are never cut.
 */
public final class ClipPreprocess {
  /** CLIP's per-channel mean (RGB). */
  public static final float[] MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
  /** CLIP's per-channel std (RGB). */
  public static final float[] STD = {0.26862954f, 0.26130258f, 0.27577711f};

  private ClipPreprocess() {}

  /**
   * {@link #differentiable(Tensor, int)} with R = 224 (ViT-B/16).
   *
   * @param x01 [B, 3, H, W] float RGB, nominally in [0, 1]
   * @return [B, 3, 224, 224] CLIP-normalised
   */
  public static Tensor differentiable(Tensor x01) {
    return differentiable(x01, 224);
  }

  /**
   * Resize (short side → R, bicubic), centre crop R×R, normalise. Square inputs become a plain resize to R×R.
   * Output sizes follow torchvision: the long side becomes {@code floor(R·long/short)}, the crop offset
   * {@code round((size − R)/2)} (half to even).
   *
   * @param x01 [B, 3, H, W] float RGB (any device)
   * @param resolution R ≥ 1
   * @return [B, 3, R, R] normalised, differentiable w.r.t. {@code x01}
   * @throws IllegalArgumentException if the input is not [B, 3, H, W] floating point or R &lt; 1
   */
  public static Tensor differentiable(Tensor x01, int resolution) {
    if (x01 == null || x01.dim() != 4 || x01.size(1) != 3 || !x01.is_floating_point()) {
      throw new IllegalArgumentException("x01 must be a float [B, 3, H, W] tensor, got "
          + (x01 == null ? "null" : Clip.shape(x01)));
    }
    if (resolution < 1) {
      throw new IllegalArgumentException("resolution must be >= 1, got " + resolution);
    }
    long h = x01.size(2);
    long w = x01.size(3);
    if (h < 1 || w < 1) {
      throw new IllegalArgumentException("x01 has an empty spatial size " + Clip.shape(x01));
    }
    long[] hw = resizedSize(h, w, resolution);
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope inner = new PointerScope()) {
      Tensor x = x01;
      if (hw[0] != h || hw[1] != w) {
        x = resizeBicubic(x01, hw[0], hw[1], hw[0] < h || hw[1] < w);
      }
      long top = Math.round(Math.rint((hw[0] - resolution) / 2.0));
      long left = Math.round(Math.rint((hw[1] - resolution) / 2.0));
      x = x.narrow(2, top, resolution).narrow(3, left, resolution);
      Tensor mean = torch.tensor(MEAN).to(x.device(), x.scalar_type()).reshape(1, 3, 1, 1);
      Tensor std = torch.tensor(STD).to(x.device(), x.scalar_type()).reshape(1, 3, 1, 1);
      Tensor out = x.sub(mean).div(std);
      Clip.escape(outer, out);
      return out;
    }
  }

  /**
   * torchvision's {@code Resize(R)} output size for an H×W image: the short side becomes R, the long side
   * {@code floor(R·long/short)} (W is taken as the short side when W ≤ H).
   *
   * @param h input height
   * @param w input width
   * @param resolution R
   * @return {new H, new W}
   */
  public static long[] resizedSize(long h, long w, int resolution) {
    if (w <= h) {
      return new long[] {(long) (resolution * (double) h / w), resolution};
    }
    return new long[] {resolution, (long) (resolution * (double) w / h)};
  }

  /**
   * Bicubic resize with align_corners = false.
   *
   * @param x [B, C, H, W]
   * @param outH output height
   * @param outW output width
   * @param antialias use the antialiased kernel ({@code _upsample_bicubic2d_aa}, Keys a = −0.5 widened by
   *     the downscale factor); false = plain {@code upsample_bicubic2d} (a = −0.75)
   * @return [B, C, outH, outW]
   */
  public static Tensor resizeBicubic(Tensor x, long outH, long outW, boolean antialias) {
    InterpolateFuncOptions o = new InterpolateFuncOptions();
    o.size().put(new LongVector(outH, outW));
    o.mode().put(new kBicubic());
    o.align_corners().put(false);
    o.antialias().put(antialias);
    return torch.interpolate(x, o);
  }
}
