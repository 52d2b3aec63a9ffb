/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.nn;

import static org.bytedeco.pytorch.global.torch.cat;

import java.lang.ref.Reference;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

/**
 * Retinexformer's illumination estimator (spec §1.3): {@code Z = [I ; P]} (P the channel mean or max),
 * {@code F_lu = dconv(conv1(Z))}, {@code M = conv2(F_lu)}.
 *
 * <p>Layers: {@code conv1} 1×1 4→C with bias; {@code dconv} 5×5 C→C, groups 4, bias, padding 2; {@code conv2} 1×1 C→3
 * with bias. Parameters {@code 6.25C² + 9C + 3}. State-dict names {@code conv1.weight [C,4,1,1]}, {@code conv1.bias},
 * {@code dconv.weight [C,C/4,5,5]}, {@code dconv.bias}, {@code conv2.weight [3,C,1,1]}, {@code conv2.bias}.
 */
public final class IlluminationEstimator extends Module {
  /**
   * Output of the estimator.
   *
   * @param features F_lu {@code [B, C, H, W]} illumination features (guide of the IG-MSAs)
   * @param residual M {@code [B, 3, H, W]} light-up residual (L̄ = 1 + M)
   */
  public record Result(Tensor features, Tensor residual) {}

  private final int channels;
  private final RetinexPrior prior;
  private final Conv2dImpl conv1;
  private final Conv2dImpl dconv;
  private final Conv2dImpl conv2;

  /**
   * @param channels C (divisible by 4: the 5×5 conv has 4 groups)
   * @param prior the prior channel
   */
  public IlluminationEstimator(int channels, RetinexPrior prior) {
    if (channels <= 0 || channels % 4 != 0) {
      throw new IllegalArgumentException("IlluminationEstimator: C must be a positive multiple of 4, got " + channels);
    }
    if (prior == null) {
      throw new IllegalArgumentException("IlluminationEstimator: prior is null");
    }
    this.channels = channels;
    this.prior = prior;
    this.conv1 = register_module("conv1", Layers.pointwise(4, channels, true));
    this.dconv = register_module("dconv", Layers.conv2d(channels, channels, 5, 1, 2, 4, true));
    this.conv2 = register_module("conv2", Layers.pointwise(channels, 3, true));
  }

  /**
   * @param image I {@code [B, 3, H, W]}
   * @return F_lu {@code [B, C, H, W]} and M {@code [B, 3, H, W]}
   */
  public Result forward(Tensor image) {
    Shapes.requireNchw("IlluminationEstimator input", image, 3);
    // TODO(ops): org.deepspg.ops.Retinex prior/concat kernel (spec §3 Kernel A) once it exists.
    Tensor p;
    if (prior == RetinexPrior.MEAN) {
      p = image.mean(new long[] {1}, true, new ScalarTypeOptional());
    } else {
      // torch.max(dim) routes the gradient to the first arg-max (amax would split it among ties).
      T_TensorTensor_T mx = image.max(1, true);
      p = new Tensor(mx.get0()); // get0 is a reference into the tuple: copy the handle while the tuple is alive
      Reference.reachabilityFence(mx);
    }
    Tensor z = cat(new TensorVector(image, p), 1);
    Tensor fl = dconv.forward(conv1.forward(z));
    return new Result(fl, conv2.forward(fl));
  }

  /** @return C */
  public int channels() {
    return channels;
  }

  /** @return the prior channel kind */
  public RetinexPrior prior() {
    return prior;
  }
}
