/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import java.util.Locale;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.ops.OneDnn;

/**
 * Refuses enhanced images that cannot be right: non-finite values (whether or not the input had some: the file
 * readers refuse non-finite samples, a library caller may not), or a constant (collapsed) image made from an input
 * that is not constant, unless it is all white from a bright input (mean ≥ {@link #BRIGHT_INPUT_MEAN}: the model
 * lifting fog or snow to saturation). An input outside [0, 1] is named as the cause instead of the kernels. A
 * numerical fault upstream (a CPU kernel library computing wrong results on this machine, a checkpoint with NaN
 * weights) otherwise ends as a black or white picture written with exit code 0; the guard turns it into an error
 * that names the likely cause, so that the caller can report the file and go on with the others.
 */
final class OutputGuard {
  /** Output range below which an image counts as constant: a quarter of an 8-bit step. */
  static final float COLLAPSED_RANGE = 1f / 1024;
  /** Input range above which a constant output cannot be right: four 8-bit steps. */
  static final float VARIED_INPUT_RANGE = 4f / 255;
  /** Input mean from which an all-white output is the model saturating a bright image, not a fault. */
  static final float BRIGHT_INPUT_MEAN = 0.5f;

  private OutputGuard() {}

  /**
   * Checks one image.
   *
   * @param in the input, planar {@code [3, H, W]} values from {@code inOff}
   * @param inOff offset of the image in {@code in}
   * @param out the output, same layout, from {@code outOff}
   * @param outOff offset of the image in {@code out}
   * @param n values per image (3·H·W)
   * @throws BadOutputException when the output is non-finite, or collapsed while the input is not
   */
  static void check(float[] in, int inOff, float[] out, int outOff, int n) {
    float omin = Float.POSITIVE_INFINITY, omax = Float.NEGATIVE_INFINITY;
    int nonFinite = 0;
    for (int i = outOff; i < outOff + n; i++) {
      float v = out[i];
      if (!Float.isFinite(v)) {
        nonFinite++;
        continue;
      }
      omin = Math.min(omin, v);
      omax = Math.max(omax, v);
    }
    float imin = Float.POSITIVE_INFINITY, imax = Float.NEGATIVE_INFINITY;
    boolean inFinite = true;
    double isum = 0;
    int finite = 0;
    for (int i = inOff; i < inOff + n; i++) {
      float v = in[i];
      if (!Float.isFinite(v)) {
        inFinite = false;
        continue;
      }
      imin = Math.min(imin, v);
      imax = Math.max(imax, v);
      isum += v;
      finite++;
    }
    decide(nonFinite, n, omin, omax, inFinite, imin, imax, finite == 0 ? 0 : (float) (isum / finite));
  }

  /**
   * Checks each image of a batch on its device (a few reductions; only scalars come back to the host).
   *
   * @param in the inputs {@code [B, 3, H, W]}
   * @param out the outputs, same shape and device
   * @throws BadOutputException when an output is non-finite, or collapsed while its input is not
   */
  static void check(Tensor in, Tensor out) {
    try (PointerScope scope = new PointerScope()) {
      for (long b = 0; b < out.size(0); b++) {
        Tensor o = out.select(0, b), i = in.select(0, b);
        long nonFinite = o.numel() - torch.isfinite(o).sum().item_long();
        // Only a finite output can be collapsed: its range matters then alone (as in the array check).
        float omin = nonFinite == 0 ? o.min().item_float() : Float.NaN;
        float omax = nonFinite == 0 ? o.max().item_float() : Float.NaN;
        Tensor iFinite = torch.isfinite(i);
        long inNonFinite = i.numel() - iFinite.sum().item_long();
        Tensor iv = inNonFinite == 0 ? i : i.masked_select(iFinite);
        float imin = iv.numel() == 0 ? Float.POSITIVE_INFINITY : iv.min().item_float();
        float imax = iv.numel() == 0 ? Float.NEGATIVE_INFINITY : iv.max().item_float();
        float imean = iv.numel() == 0 ? 0 : iv.mean().item_float();
        decide((int) Math.min(Integer.MAX_VALUE, nonFinite), o.numel(), omin, omax, inNonFinite == 0, imin, imax,
            imean);
      }
    }
  }

  private static void decide(int nonFinite, long n, float omin, float omax, boolean inFinite, float imin, float imax,
      float imean) {
    String cause = imin < 0 || imax > 1
        ? String.format(Locale.ROOT, "; the input is not an image in [0, 1] (its values run from %g to %g)", imin, imax)
        : "; likely cause: a numerical fault in the CPU kernels (oneDNN: " + OneDnn.verdict().describe()
            + "; try --onednn off) or non-finite model weights";
    if (nonFinite > 0 && inFinite) {
      throw new BadOutputException(String.format(Locale.ROOT,
          "refusing to write: %d of %d output values are NaN or infinite although the input is finite%s", nonFinite,
          n, cause));
    }
    if (nonFinite > 0) { // written, NaN would become black pixels with exit code 0
      throw new BadOutputException(String.format(Locale.ROOT,
          "refusing to write: %d of %d output values are NaN or infinite because the input holds NaN or infinite "
              + "values", nonFinite, n));
    }
    // A bright input (fog, snow, a white page) may be lifted to white everywhere: the model saturates, no fault.
    boolean saturatedBright = omin >= 1 - COLLAPSED_RANGE && imean >= BRIGHT_INPUT_MEAN;
    if (omax - omin < COLLAPSED_RANGE && imax - imin >= VARIED_INPUT_RANGE && !saturatedBright) {
      throw new BadOutputException(String.format(Locale.ROOT,
          "refusing to write: the output is a constant image (%.4f) although the input varies (%.4f to %.4f)%s",
          omin, imin, imax, cause));
    }
  }
}
