/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.nn;

import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.deepspg.ops.PriorMode;

/**
 * Retinexformer's illumination estimator (spec §1.3): {@code Z = [I ; P]} (P the channel mean or max),
 * {@code F_lu = dconv(conv1(Z))}, {@code M = conv2(F_lu)}.
 *
 * <p>Layers: {@code conv1} 1×1 4→C with bias; {@code dconv} 5×5 C→C, groups 4, bias, padding 2; {@code conv2} 1×1 C→3
 * with bias. Parameters {@code 6.25C² + 9C + 3}. State-dict names {@code conv1.weight [C,4,1,1]}, {@code conv1.bias},
 * {@code dconv.weight [C,C/4,5,5]}, {@code dconv.bias}, {@code conv2.weight [3,C,1,1]}, {@code conv2.bias}.
 */
public final class IlluminationEstimator extends org.deepspg.nn.JavaModule {
  /**
   * Output of the estimator.
   *
   * @param features F_lu {@code [B, C, H, W]} illumination features (guide of the IG-MSAs)
   * @param residual M {@code [B, 3, H, W]} light-up residual (L̄ = 1 + M)
   */
  public record Result(Tensor features, Tensor residual) {}

  private final int channels;
  private final PriorMode prior;
  private final FastConv.Pointwise conv1;
  private final Conv2dImpl dconv;
  private final FastConv.Pointwise conv2;

  /**
   * @param channels C (divisible by 4: the 5×5 conv has 4 groups)
   * @param prior the prior channel
   */
  public IlluminationEstimator(int channels, PriorMode prior) {
    if (channels <= 0 || channels % 4 != 0) {
      throw new IllegalArgumentException("IlluminationEstimator: C must be a positive multiple of 4, got " + channels);
    }
    if (prior == null) {
      throw new IllegalArgumentException("IlluminationEstimator: prior is null");
    }
    this.channels = channels;
    this.prior = prior;
    this.conv1 = cache(new FastConv.Pointwise(register_module("conv1", Layers.pointwise(4, channels, true))));
    this.dconv = register_module("dconv", Layers.conv2d(channels, channels, 5, 1, 2, 4, true));
    this.conv2 = cache(new FastConv.Pointwise(register_module("conv2", Layers.pointwise(channels, 3, true))));
  }

  /**
   * @param image I {@code [B, 3, H, W]}
   * @return F_lu {@code [B, C, H, W]} and M {@code [B, 3, H, W]}
   */
  public Result forward(Tensor image) {
    requireOpen();
    Shapes.requireNchw("IlluminationEstimator input", image, 3);
    // Prior/concat Z = [I ; mean_c I] (or max_c I) in one fused kernel (spec §3 Kernel A); on ties the max variant
    // routes the gradient to the first arg-max channel, like torch.max(dim).
    Tensor z = org.deepspg.ops.Retinex.prior(image, prior);
    // 1x1 convs on FastConv.Pointwise, the 5x5 grouped conv on the native kernel (SameConv).
    Tensor fl = FastConv.sameConv(dconv, conv1.apply(z), 4);
    return new Result(fl, conv2.apply(fl));
  }

  /** @return C */
  public int channels() {
    return channels;
  }

  /** @return the prior channel kind */
  public PriorMode prior() {
    return prior;
  }
}
