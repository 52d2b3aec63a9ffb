/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.model.DeepSPG;
import org.deepspg.model.hrnet.HRNet;
import org.deepspg.ops.Scopes;

/**
 * Minimal full-image inference for validation and {@code deepspg eval} (spec §6): reflect-pad the input at the
 * bottom/right to a multiple of 32, run HRNet on the padded input (when the SEMs are on), run the network, crop back,
 * clamp to [0, 1]. Package-private on purpose: the public, thread-safe inference API is {@code org.deepspg.infer};
 * this helper only exists so training and evaluation do not depend on it yet.
 */
final class PaddedInference {
  /** Pad multiple (HRNet's stride 32 and the U-Net's two stride-2 levels). */
  static final int MULTIPLE = 32;

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
      Tensor p = padTo(x, MULTIPLE);
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

  /**
   * Pads bottom/right to a multiple: reflection where the pad is smaller than the side, else replication (reflection
   * needs pad &lt; size).
   */
  static Tensor padTo(Tensor x, int multiple) {
    long h = x.size(2), w = x.size(3);
    long ph = (multiple - h % multiple) % multiple, pw = (multiple - w % multiple) % multiple;
    if (ph == 0 && pw == 0) return x;
    String mode = ph < h && pw < w ? "reflect" : "replicate";
    return torch.pad(x, new long[] {0, pw, 0, ph}, mode, new DoubleOptional());
  }
}
