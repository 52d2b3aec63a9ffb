/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import org.bytedeco.pytorch.Tensor;

/**
 * Channel ("transposed") attention of the SEM and IG-MSA blocks, spec §2.3: per batch item and head,
 * {@code O = softmax_row(tau_h * normalize_N(X) normalize_N(Y)^T) * (V [* F])} with N = H·W.
 *
 * <p>PLACEHOLDER BODY: composes stock libtorch ops until the fused-kernel façade lands (same signature).
 */
public final class ChannelAttention {
  private ChannelAttention() {}

  /**
   * @param x [B, heads*c, H, W] rows of the softmax ("queries" of the c x c map)
   * @param y [B, heads*c, H, W]
   * @param v [B, heads*c, H, W] values
   * @param gate optional [B, heads*c, H, W] value gate F (V ⊙ F), or null
   * @param tau [heads] (any shape with heads elements) per-head temperature
   * @param heads number of heads (channels divisible by it)
   * @return O [B, heads*c, H, W]
   */
  public static Tensor apply(Tensor x, Tensor y, Tensor v, Tensor gate, Tensor tau, int heads) {
    long b = v.size(0), d = v.size(1), h = v.size(2), w = v.size(3), c = d / heads;
    Tensor vv = gate == null ? v : v.mul(gate);
    Tensor xn = normalize(x.reshape(b, heads, c, h * w));
    Tensor yn = normalize(y.reshape(b, heads, c, h * w));
    Tensor a = xn.matmul(yn.transpose(-2, -1)).mul(tau.reshape(1, heads, 1, 1)).softmax(-1);
    return a.matmul(vv.reshape(b, heads, c, h * w)).reshape(b, d, h, w);
  }

  private static Tensor normalize(Tensor t) {
    Tensor n = org.bytedeco.pytorch.global.torch.linalg_vector_norm(
        t, new org.bytedeco.pytorch.Scalar(2.0), new long[] {-1}, true,
        new org.bytedeco.pytorch.ScalarTypeOptional());
    return t.div(n.clamp_min(new org.bytedeco.pytorch.Scalar(1e-12)));
  }
}
