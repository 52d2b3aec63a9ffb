/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.nn;

import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.Conv2dOptions;
import org.bytedeco.pytorch.ConvTranspose2dImpl;
import org.bytedeco.pytorch.ConvTranspose2dOptions;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.LinearOptions;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * Factories for the stock libtorch layers the DeepSPG blocks are made of, with PyTorch's default initialisation
 * (libtorch's {@code reset_parameters}: Kaiming-uniform a = √5 weights, bias U(±1/√fan_in)), plus the truncated-normal
 * initialiser Retinexformer uses for its IG-MSA linears (spec §1.8).
 *
 * <p>Like every {@code Module}, the returned layers must be created outside any open
 * {@link org.bytedeco.javacpp.PointerScope}: a scope would release the Java handles held by the parent module.
 */
public final class Layers {
  private Layers() {}

  /**
   * A {@code Conv2d} with square kernel, equal stride/zero padding on both axes.
   *
   * @param in input channels
   * @param out output channels
   * @param kernel kernel size k (k × k)
   * @param stride stride on both axes
   * @param padding zero padding on both axes
   * @param groups channel groups ({@code in} and {@code out} divisible by it)
   * @param bias whether the layer has a bias
   * @return the layer; weight {@code [out, in/groups, k, k]}, bias {@code [out]} if present
   */
  public static Conv2dImpl conv2d(long in, long out, long kernel, long stride, long padding, long groups,
      boolean bias) {
    if (in <= 0 || out <= 0 || kernel <= 0 || stride <= 0 || padding < 0 || groups <= 0
        || in % groups != 0 || out % groups != 0) {
      throw new IllegalArgumentException("conv2d: bad geometry in=" + in + " out=" + out + " k=" + kernel
          + " stride=" + stride + " pad=" + padding + " groups=" + groups);
    }
    Conv2dOptions o = new Conv2dOptions(in, out, new LongPointer(kernel, kernel));
    o.stride().put(0, stride).put(1, stride);
    o.padding().put(new LongPointer(padding, padding));
    o.groups().put(groups);
    o.bias().put(bias);
    return new Conv2dImpl(o);
  }

  /**
   * A 1×1 convolution (pointwise linear map over channels).
   *
   * @param in input channels
   * @param out output channels
   * @param bias whether the layer has a bias
   * @return the layer; weight {@code [out, in, 1, 1]}
   */
  public static Conv2dImpl pointwise(long in, long out, boolean bias) {
    return conv2d(in, out, 1, 1, 0, 1, bias);
  }

  /**
   * A 3×3 depthwise convolution (groups = channels), padding 1, no bias.
   *
   * @param channels channels (in = out)
   * @return the layer; weight {@code [channels, 1, 3, 3]}
   */
  public static Conv2dImpl depthwise3x3(long channels) {
    return conv2d(channels, channels, 3, 1, 1, channels, false);
  }

  /**
   * A {@code ConvTranspose2d} with square kernel and equal stride, no padding.
   *
   * @param in input channels
   * @param out output channels
   * @param kernel kernel size k
   * @param stride stride
   * @param bias whether the layer has a bias
   * @return the layer; weight {@code [in, out, k, k]}, bias {@code [out]} if present
   */
  public static ConvTranspose2dImpl convTranspose2d(long in, long out, long kernel, long stride, boolean bias) {
    if (in <= 0 || out <= 0 || kernel <= 0 || stride <= 0) {
      throw new IllegalArgumentException("convTranspose2d: bad geometry in=" + in + " out=" + out + " k=" + kernel
          + " stride=" + stride);
    }
    ConvTranspose2dOptions o = new ConvTranspose2dOptions(in, out, new LongPointer(kernel, kernel));
    o.stride().put(0, stride).put(1, stride);
    o.bias().put(bias);
    return new ConvTranspose2dImpl(o);
  }

  /**
   * A {@code Linear} layer.
   *
   * @param in input features
   * @param out output features
   * @param bias whether the layer has a bias
   * @return the layer; weight {@code [out, in]}, bias {@code [out]} if present
   */
  public static LinearImpl linear(long in, long out, boolean bias) {
    LinearOptions o = new LinearOptions(in, out);
    o.bias().put(bias);
    return new LinearImpl(o);
  }

  /**
   * Fills {@code t} in place with a truncated normal N(mean, std²) restricted to [a, b] (absolute bounds), by the
   * inverse-CDF method of timm/Retinexformer's {@code trunc_normal_}: U(2Φ(α)−1, 2Φ(β)−1) → erfinv → ·std√2 + mean →
   * clamp. Runs without recording autograd history.
   *
   * @param t tensor to fill (any shape, floating point)
   * @param mean mean of the untruncated normal
   * @param std standard deviation of the untruncated normal (&gt; 0)
   * @param a lower bound (absolute)
   * @param b upper bound (absolute, &gt; a)
   */
  public static void truncNormal(Tensor t, double mean, double std, double a, double b) {
    if (!(std > 0) || !(b > a)) {
      throw new IllegalArgumentException("truncNormal: need std > 0 and b > a, got std=" + std + " a=" + a + " b=" + b);
    }
    double l = normCdf((a - mean) / std);
    double u = normCdf((b - mean) / std);
    try (NoGradGuard g = new NoGradGuard()) {
      t.uniform_(2 * l - 1, 2 * u - 1, new org.bytedeco.pytorch.GeneratorOptional());
      t.erfinv_();
      t.mul_(new org.bytedeco.pytorch.Scalar(std * Math.sqrt(2.0)));
      t.add_(new org.bytedeco.pytorch.Scalar(mean));
      t.clamp_(new org.bytedeco.pytorch.ScalarOptional(new org.bytedeco.pytorch.Scalar(a)),
          new org.bytedeco.pytorch.ScalarOptional(new org.bytedeco.pytorch.Scalar(b)));
    }
  }

  /**
   * Fills {@code t} with zeros in place without recording autograd history.
   *
   * @param t tensor to fill
   */
  public static void zeros(Tensor t) {
    try (NoGradGuard g = new NoGradGuard()) {
      t.zero_();
    }
  }

  /**
   * Retinexformer's {@code _init_weights} for a Linear: weight ~ truncated normal (std 0.02, bounds ±2), bias 0.
   *
   * @param lin the layer to initialise in place
   */
  public static void initTruncNormalLinear(LinearImpl lin) {
    truncNormal(lin.weight(), 0.0, 0.02, -2.0, 2.0);
    Tensor bias = lin.bias();
    if (bias != null && bias.defined()) {
      zeros(bias);
    }
  }

  /**
   * A parameter-free container module, used to reproduce PyTorch's {@code nn.Sequential} state-dict names
   * ({@code pos.0.weight}, {@code pos.2.weight}) where activations sit between the weighted layers.
   *
   * @return an empty {@code Module}
   */
  public static Module container() {
    return new JavaModule();
  }

  /** Standard normal CDF via erf, with the Abramowitz–Stegun 7.1.26 approximation (|error| ≤ 1.5e-7). */
  static double normCdf(double x) {
    return 0.5 * (1.0 + erf(x / Math.sqrt(2.0)));
  }

  private static double erf(double x) {
    double s = Math.signum(x);
    double ax = Math.abs(x);
    double t = 1.0 / (1.0 + 0.3275911 * ax);
    double y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592)
        * t * Math.exp(-ax * ax);
    return s * y;
  }
}
