/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.testing;

import static org.bytedeco.pytorch.global.torch.cat;
import static org.bytedeco.pytorch.global.torch.conv2d;
import static org.bytedeco.pytorch.global.torch.linalg_vector_norm;
import static org.bytedeco.pytorch.global.torch.pad;

import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.deepspg.ops.EdgeOperator;
import org.deepspg.ops.PriorMode;

/**
 * Independent references for every fused op, composed of stock libtorch ops so that libtorch's autograd gives their
 * gradients (STYLE B2.2; extension-cpp {@code reference_muladd}, FA {@code attention_ref}). They follow the spec's
 * formulas literally (ARCHITECTURE.md §2.3, §3, §4.2, §4.3), not our kernels.
 */
public final class Oracles {
  private Oracles() {}

  /** {@code F.normalize(t, p=2, dim=-1, eps=1e-12)}. */
  public static Tensor normalize(Tensor t) {
    Tensor n = linalg_vector_norm(t, new Scalar(2.0), new long[] {-1}, true, new ScalarTypeOptional());
    return t.div(n.clamp_min(new Scalar(1e-12)));
  }

  /**
   * Channel attention, spec §2.3 reference: {@code A = softmax(normalize(X) normalize(Y)^T · tau); O = A (V ⊙ F)}.
   *
   * @param x [B, h*c, H, W]
   * @param y [B, h*c, H, W]
   * @param v [B, h*c, H, W]
   * @param gate [B, h*c, H, W] or null
   * @param tau heads elements
   * @param heads h
   * @return O [B, h*c, H, W]
   */
  public static Tensor attention(Tensor x, Tensor y, Tensor v, Tensor gate, Tensor tau, int heads) {
    long b = x.size(0), d = x.size(1), hh = x.size(2), ww = x.size(3), c = d / heads;
    Tensor vv = gate == null ? v : v.mul(gate);
    Tensor xn = normalize(x.reshape(b, heads, c, hh * ww));
    Tensor yn = normalize(y.reshape(b, heads, c, hh * ww));
    Tensor a = xn.matmul(yn.transpose(-2, -1)).mul(tau.reshape(1, heads, 1, 1)).softmax(-1);
    return a.matmul(vv.reshape(b, heads, c, hh * ww)).reshape(b, d, hh, ww);
  }

  /** Retinex prior/concat, spec §3: {@code cat([I, mean_c I or max_c I], 1)}. */
  public static Tensor prior(Tensor image, PriorMode mode) {
    Tensor p =
        mode == PriorMode.MEAN
            ? image.mean(new long[] {1}, true, new ScalarTypeOptional())
            : image.max(1, true).get0();
    return cat(new TensorVector(image, p), 1);
  }

  /** Light-up, spec §3: {@code I*M + I}. */
  public static Tensor lightUp(Tensor image, Tensor m) {
    return image.mul(m).add(image);
  }

  /** Illumination map, spec §3: {@code 1 / max(1 + M, 1e-4)}. */
  public static Tensor illumination(Tensor m) {
    return m.add(new Scalar(1.0)).clamp_min(new Scalar(1e-4)).reciprocal();
  }

  /** Edge loss, spec §4.2 (empty domains count 0). */
  public static Tensor edge(Tensor out, Tensor gt, EdgeOperator op) {
    Tensor e = out.sub(gt);
    long h = e.size(2), w = e.size(3);
    if (op == EdgeOperator.DIFF) {
      Tensor loss = e.sum().mul(new Scalar(0.0));
      if (w > 1) {
        Tensor dx = e.narrow(3, 1, w - 1).sub(e.narrow(3, 0, w - 1));
        loss = loss.add(dx.mul(dx).mean());
      }
      if (h > 1) {
        Tensor dy = e.narrow(2, 1, h - 1).sub(e.narrow(2, 0, h - 1));
        loss = loss.add(dy.mul(dy).mean());
      }
      return loss;
    }
    Tensor planes = e.reshape(-1, 1, h, w);
    Tensor padded = pad(planes, new long[] {1, 1, 1, 1}, "replicate", new DoubleOptional());
    double[] gx = {-1, 0, 1, -2, 0, 2, -1, 0, 1};
    double[] gy = {-1, -2, -1, 0, 0, 0, 1, 2, 1};
    Tensor kx = Tensors.fromDoubles(gx, 1, 1, 3, 3).to(e.scalar_type());
    Tensor ky = Tensors.fromDoubles(gy, 1, 1, 3, 3).to(e.scalar_type());
    Tensor sx = conv2d(padded, kx, new TensorOptional(), new long[] {1, 1}, new long[] {0, 0}, new long[] {1, 1}, 1);
    Tensor sy = conv2d(padded, ky, new TensorOptional(), new long[] {1, 1}, new long[] {0, 0}, new long[] {1, 1}, 1);
    return sx.mul(sx).mean().add(sy.mul(sy).mean());
  }

  /** Semantic KL loss, spec §4.3: {@code Σ P_gt (log P_gt − log P_out) / (B·HW)}. */
  public static Tensor kl(Tensor zOut, Tensor zGt, double temperature) {
    Scalar invT = new Scalar(1.0 / temperature);
    Tensor lq = zGt.mul(invT).log_softmax(1);
    Tensor lp = zOut.mul(invT).log_softmax(1);
    long pixels = zOut.numel() / zOut.size(1);
    return lq.exp().mul(lq.sub(lp)).sum().div(new Scalar((double) pixels));
  }
}
