/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.deepspg.testing.GradCheck;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Float64 finite-difference gradient checks (STYLE B3a) of every fused op, several seeds each. */
class OpsGradCheckTest {
  @BeforeAll
  static void load() {
    NativeLibrary.ensureLoaded();
  }

  private static Tensor randn64(long... shape) {
    return torch.randn(shape).to(ScalarType.Double).requires_grad_(true);
  }

  private static Tensor rand64(long... shape) {
    return torch.rand(shape).to(ScalarType.Double).requires_grad_(true);
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2, 3})
  void attention(long seed) {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(seed);
      int heads = 2;
      Tensor[] in = {randn64(2, 6, 3, 4), randn64(2, 6, 3, 4), randn64(2, 6, 3, 4), randn64(2, 6, 3, 4),
          rand64(heads, 1, 1)};
      GradCheck.check("attention+gate", t -> new Tensor[] {ChannelAttention.apply(t[0], t[1], t[2], t[3], t[4], heads)},
          in, seed);
      GradCheck.check("attention", t -> new Tensor[] {ChannelAttention.apply(t[0], t[1], t[2], null, t[4], heads)},
          in, seed + 10);
    }
  }

  @Test
  void attentionAtZeroAndLargeTau() {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(4);
      Tensor x = randn64(1, 4, 2, 3), y = randn64(1, 4, 2, 3), v = randn64(1, 4, 2, 3);
      for (double[] taus : new double[][] {{0, 0}, {8, 0.5}}) {
        Tensor tau = org.deepspg.testing.Tensors.fromDoubles(taus, 2).requires_grad_(true);
        GradCheck.check("attention tau", t -> new Tensor[] {ChannelAttention.apply(t[0], t[1], t[2], null, t[3], 2)},
            new Tensor[] {x, y, v, tau}, 5);
      }
    }
  }

  @Test
  void attentionPartialRequiresGrad() {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(6);
      Tensor x = torch.randn(1, 4, 2, 3).to(ScalarType.Double); // constant
      Tensor y = randn64(1, 4, 2, 3), v = torch.randn(1, 4, 2, 3).to(ScalarType.Double);
      Tensor tau = torch.ones(2).to(ScalarType.Double);
      GradCheck.check("attention dy only", t -> new Tensor[] {ChannelAttention.apply(t[0], t[1], t[2], null, t[3], 2)},
          new Tensor[] {x, y, v, tau}, 7);
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2})
  void retinex(long seed) {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(seed);
      Tensor image = rand64(2, 3, 3, 4);
      GradCheck.check("prior mean", t -> new Tensor[] {Retinex.prior(t[0], PriorMode.MEAN)}, new Tensor[] {image}, seed);
      // Distinct channel values (rand): no ties within eps, so max is differentiable at the sample.
      GradCheck.check("prior max", t -> new Tensor[] {Retinex.prior(t[0], PriorMode.MAX)}, new Tensor[] {image}, seed);
      Tensor m = randn64(2, 3, 3, 4);
      GradCheck.check("lightUp", t -> new Tensor[] {Retinex.lightUp(t[0], t[1])}, new Tensor[] {image, m}, seed);
      // 1 + M must stay away from the 1e-4 guard for the finite differences: M in (0, 1).
      Tensor mPos = rand64(2, 3, 3, 4);
      GradCheck.check("illumination", t -> new Tensor[] {Retinex.illumination(t[0])}, new Tensor[] {mPos}, seed);
      GradCheck.check("decompose", t -> Retinex.decompose(t[0], t[1]), new Tensor[] {image, mPos}, seed);
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2})
  void losses(long seed) {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(seed);
      Tensor out = randn64(2, 3, 5, 6), gt = randn64(2, 3, 5, 6);
      for (EdgeOperator op : EdgeOperator.values()) {
        GradCheck.check("edge " + op, t -> new Tensor[] {EdgeLoss.apply(t[0], t[1], op)}, new Tensor[] {out, gt},
            seed);
      }
      Tensor zo = randn64(2, 5, 3, 4), zg = randn64(2, 5, 3, 4);
      for (double temperature : new double[] {1.0, 2.5}) {
        GradCheck.check("kl T=" + temperature, t -> new Tensor[] {KlLoss.apply(t[0], t[1], temperature)},
            new Tensor[] {zo, zg}, seed);
      }
      Tensor big = zo.detach().mul(new Scalar(3.0)).requires_grad_(true);
      GradCheck.check("kl wide logits", t -> new Tensor[] {KlLoss.apply(t[0], t[1], 1.0)}, new Tensor[] {big, zg}, seed);
    }
  }
}
