/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.deepspg.infer.Padding;
import org.deepspg.model.DeepSPG;
import org.deepspg.model.hrnet.HRNet;
import org.deepspg.ops.Scopes;

/**
 * Minimal full-image inference for validation and {@code deepspg eval} (spec §6): reflect-pad the input at the
 * bottom/right to a multiple of 32, run HRNet on the padded input (when the SEMs are on), run the network, crop back,
 * clamp to [0, 1]. The padding is {@link Padding#reflectPad}, the one rule the Enhancer uses too. Package-private on
 * purpose: the public, thread-safe inference API is {@code org.deepspg.infer}.
 */
final class PaddedInference {
  /** Pad multiple (HRNet's stride 32 and the U-Net's two stride-2 levels). */
  static final int MULTIPLE = Padding.MULTIPLE;

  private final DeepSPG model;
  private final HRNet hrnet;

  PaddedInference(DeepSPG model, HRNet hrnet) {
    if (model.config().semEnabled() && hrnet == null) {
      throw new IllegalArgumentException("the model has SEMs (sem.enabled=true): HRNet weights are needed for inference");
    }
    this.model = model;
    this.hrnet = model.config().semEnabled() ? hrnet : null;
  }

  /**
   * @param x {@code [B, 3, H, W]} in [0, 1], on the model's device
   * @return {@code [B, 3, H, W]} clamped to [0, 1], in the caller's scope
   */
  Tensor enhance(Tensor x) {
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      long h = x.size(2), w = x.size(3);
      Tensor p = Padding.reflectPad(x, MULTIPLE); // the one padding rule (infer.Padding), as the Enhancer pads
      Tensor y;
      if (hrnet != null) {
        List<Tensor> f = hrnet.forwardRaw(p).features();
        y = model.forward(p, f.get(0), f.get(1), f.get(2));
      } else {
        y = model.forward(p);
      }
      Tensor out = y.narrow(2, 0, h).narrow(3, 0, w).clamp(new org.bytedeco.pytorch.ScalarOptional(new Scalar(0.0)),
          new org.bytedeco.pytorch.ScalarOptional(new Scalar(1.0))).contiguous();
      return Scopes.escape(out, outer);
    }
  }

}
