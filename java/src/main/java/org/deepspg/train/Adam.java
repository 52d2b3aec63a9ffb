/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Adam (Kingma and Ba), PyTorch's formulation (bias-corrected, eps outside the square root, no weight decay), with
 * its state held as named tensors so a checkpoint stores and restores it exactly ({@link #state()}).
 *
 * <p>Update per parameter p with gradient g at step t: m = β1 m + (1−β1) g; v = β2 v + (1−β2) g²;
 * p −= lr / (1−β1^t) · m / (sqrt(v) / sqrt(1−β2^t) + ε). Parameters whose gradient is undefined are skipped.
 */
public final class Adam {
  private final LinkedHashMap<String, Tensor> params;
  private final LinkedHashMap<String, Tensor> expAvg = new LinkedHashMap<>();
  private final LinkedHashMap<String, Tensor> expAvgSq = new LinkedHashMap<>();
  private final double beta1;
  private final double beta2;
  private final double eps;
  private long step;

  /**
   * @param params trainable parameters by name (iteration order is kept)
   * @param beta1 first-moment decay (0.9)
   * @param beta2 second-moment decay (0.999)
   * @param eps denominator floor (1e-8)
   */
  public Adam(Map<String, Tensor> params, double beta1, double beta2, double eps) {
    if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps > 0)) {
      throw new IllegalArgumentException("bad Adam hyper-parameters: beta1=" + beta1 + " beta2=" + beta2 + " eps=" + eps);
    }
    this.params = new LinkedHashMap<>(params);
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    for (Map.Entry<String, Tensor> e : this.params.entrySet()) {
      Tensor z = torch.zeros_like(e.getValue());
      z.retainReference();
      expAvg.put(e.getKey(), z);
      Tensor z2 = torch.zeros_like(e.getValue());
      z2.retainReference();
      expAvgSq.put(e.getKey(), z2);
    }
  }

  /** @return number of steps taken so far */
  public long step() {
    return step;
  }

  /**
   * One update with learning rate lr.
   *
   * @param lr learning rate of this step
   */
  public void step(double lr) {
    step++;
    double bc1 = 1 - Math.pow(beta1, step);
    double bc2 = 1 - Math.pow(beta2, step);
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      for (Map.Entry<String, Tensor> e : params.entrySet()) {
        Tensor p = e.getValue();
        Tensor g = p.grad();
        if (g == null || !g.defined()) continue;
        Tensor m = expAvg.get(e.getKey());
        Tensor v = expAvgSq.get(e.getKey());
        m.mul_(new Scalar(beta1)).add_(g, new Scalar(1 - beta1));
        v.mul_(new Scalar(beta2)).add_(g.mul(g), new Scalar(1 - beta2));
        Tensor denom = v.sqrt().div(new Scalar(Math.sqrt(bc2))).add(new Scalar(eps));
        p.add_(m.div(denom), new Scalar(-lr / bc1));
      }
    }
  }

  /** Sets every parameter's gradient to undefined (frees it), like {@code zero_grad(set_to_none=True)}. */
  public void zeroGrad() {
    for (Tensor p : params.values()) {
      Tensor g = p.grad();
      if (g != null && g.defined()) p.mutable_grad().reset();
    }
  }

  /**
   * The optimiser state as named tensors: {@code exp_avg.<param>} and {@code exp_avg_sq.<param>} (live views: save
   * them, or copy into them with {@link #load}).
   *
   * @return insertion-ordered map
   */
  public Map<String, Tensor> state() {
    LinkedHashMap<String, Tensor> s = new LinkedHashMap<>();
    expAvg.forEach((k, t) -> s.put("exp_avg." + k, t));
    expAvgSq.forEach((k, t) -> s.put("exp_avg_sq." + k, t));
    return s;
  }

  /**
   * Restores the state saved by {@link #state()} and the step count.
   *
   * @param state tensors by the names of {@link #state()}
   * @param steps the step count at save time
   */
  public void load(Map<String, Tensor> state, long steps) {
    try (NoGradGuard ng = new NoGradGuard()) {
      for (Map.Entry<String, Tensor> e : state().entrySet()) {
        Tensor src = state.get(e.getKey());
        if (src == null) throw new IllegalArgumentException("optimizer state lacks " + e.getKey());
        if (!java.util.Arrays.equals(src.sizes().vec().get(), e.getValue().sizes().vec().get())) {
          throw new IllegalArgumentException("optimizer state " + e.getKey() + " has shape "
              + java.util.Arrays.toString(src.sizes().vec().get()) + ", expected "
              + java.util.Arrays.toString(e.getValue().sizes().vec().get()));
        }
        e.getValue().copy_(src);
      }
    }
    this.step = steps;
  }
}
