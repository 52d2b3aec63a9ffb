/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.deepspg.testing.GradCheck;
import org.deepspg.testing.Parity;
import org.deepspg.testing.Requirements;
import org.deepspg.testing.Tensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link ChannelLayerNormOp} against the stock libtorch composition {@code layer_norm(x.permute(0,2,3,1), [C], γ, β,
 * 1e-5).permute(0,3,1,2)}: float32 forward and gradients (contiguous and permuted inputs), float64 finite
 * differences, autograd wiring, argument checks, flat native memory, CUDA vs CPU when a GPU exists.
 */
class ChannelLayerNormOpTest {
  static final double EPS = 1e-5;
  /**
   * float32 forward: both sides compute per-pixel means and variances over C ≤ 80 values in float in different orders
   * (~C ulp of the centred values, times rstd ≤ ~3 for these unit-variance inputs): ~1e-6 relative to max |y|.
   */
  static final double FWD_TOL = 5e-6;
  /**
   * float32 gradients: dx has the same per-pixel sums plus one more factor rstd; dγ/dβ sum B·H·W terms (≤ 12,288
   * here) in float per tile and double across tiles vs libtorch's float order: ~1e-6..1e-5 relative to the largest.
   */
  static final double GRAD_TOL = 3e-5;

  @BeforeAll
  static void load() {
    NativeLibrary.ensureLoaded();
  }

  static Tensor oracle(Tensor x, Tensor g, Tensor b) {
    return torch.layer_norm(x.permute(0, 2, 3, 1), new long[] {x.size(1)}, new TensorOptional(g),
        new TensorOptional(b), EPS, false).permute(0, 3, 1, 2);
  }

  static Stream<Arguments> shapes() {
    List<Arguments> c = new ArrayList<>();
    long[][] shapes = {{2, 3, 5, 7}, {1, 2, 4, 4}, {3, 20, 1, 1}, {1, 20, 1, 9}, {2, 40, 13, 11}, {1, 80, 96, 128},
        {2, 7, 33, 5}};
    for (long[] s : shapes)
      for (boolean permuted : new boolean[] {false, true}) c.add(Arguments.of(s, permuted));
    return c.stream();
  }

  @ParameterizedTest(name = "{0} permuted={1}")
  @MethodSource("shapes")
  void matchesStockLayerNorm(long[] s, boolean permuted) {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(s[1] * 1000 + s[2] * 10 + s[3]);
      Tensor x = (permuted ? torch.randn(s[0], s[2], s[3], s[1]) : torch.randn(s)).add(new Scalar(0.3))
          .requires_grad_(true);
      Tensor g = torch.randn(s[1]).requires_grad_(true), b = torch.randn(s[1]).requires_grad_(true);
      Parity.check("channel LN permuted=" + permuted,
          t -> new Tensor[] {ChannelLayerNormOp.apply(permuted ? t[0].permute(0, 3, 1, 2) : t[0], t[1], t[2], EPS)},
          t -> new Tensor[] {oracle(permuted ? t[0].permute(0, 3, 1, 2) : t[0], t[1], t[2])},
          new Tensor[] {x, g, b}, FWD_TOL, GRAD_TOL, 7);
    }
  }

  /**
   * C = 1: every pixel is its own mean, so y = β exactly and the exact dx is 0. Both implementations return rounding
   * noise for dx scaled by rstd = 1/sqrt(1e-5) ≈ 316 (libtorch: up to ~6e-5 on unit upstream gradients), so dx is
   * checked against 0 with that bound rather than against the oracle's noise.
   */
  @Test
  void singleChannel() {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(2);
      Tensor x = torch.randn(2, 1, 5, 6).requires_grad_(true);
      Tensor g = torch.randn(1).requires_grad_(true), b = torch.randn(1).requires_grad_(true);
      Tensor y = ChannelLayerNormOp.apply(x, g, b, EPS);
      Tensors.assertClose("y = beta", y, b.detach().reshape(1, 1, 1, 1).expand(2, 1, 5, 6), 0, 1e-7);
      Tensor up = torch.randn(2, 1, 5, 6);
      y.mul(up).sum().backward();
      Tensors.assertClose("dx ~ 0", x.grad(), torch.zeros(2, 1, 5, 6), 0, 1e-4);
      Tensors.assertClose("dgamma ~ 0", g.grad(), torch.zeros(1), 0, 1e-6);
      Tensors.assertClose("dbeta = sum dy", b.grad(), up.sum().reshape(1), 1e-6, 1e-6);
    }
  }

  @Test
  void partialRequiresGrad() {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(3);
      Tensor x = torch.randn(2, 5, 6, 7), g = torch.randn(5), b = torch.randn(5);
      Parity.check("gamma only", t -> new Tensor[] {ChannelLayerNormOp.apply(t[0], t[1], t[2], EPS)},
          t -> new Tensor[] {oracle(t[0], t[1], t[2])}, new Tensor[] {x, g.requires_grad_(true), b}, FWD_TOL, GRAD_TOL,
          8);
      Parity.check("x only", t -> new Tensor[] {ChannelLayerNormOp.apply(t[0], t[1], t[2], EPS)},
          t -> new Tensor[] {oracle(t[0], t[1], t[2])}, new Tensor[] {x.requires_grad_(true), torch.randn(5), b},
          FWD_TOL, GRAD_TOL, 9);
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2, 3})
  void gradCheckFloat64(long seed) {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(seed);
      Tensor x = torch.randn(2, 4, 3, 5).to(ScalarType.Double).requires_grad_(true);
      Tensor g = torch.randn(4).to(ScalarType.Double).requires_grad_(true);
      Tensor b = torch.randn(4).to(ScalarType.Double).requires_grad_(true);
      GradCheck.check("channel LN", t -> new Tensor[] {ChannelLayerNormOp.apply(t[0], t[1], t[2], EPS)},
          new Tensor[] {x, g, b}, seed);
      Tensor x1 = torch.randn(1, 2, 1, 3).to(ScalarType.Double).requires_grad_(true);
      Tensor g1 = torch.randn(2).to(ScalarType.Double).requires_grad_(true);
      Tensor b1 = torch.randn(2).to(ScalarType.Double).requires_grad_(true);
      GradCheck.check("channel LN C=2", t -> new Tensor[] {ChannelLayerNormOp.apply(t[0], t[1], t[2], EPS)},
          new Tensor[] {x1, g1, b1}, seed + 10);
    }
  }

  @Test
  void float64MatchesStock() {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(4);
      Tensor x = torch.randn(2, 20, 9, 31).to(ScalarType.Double);
      Tensor g = torch.randn(20).to(ScalarType.Double), b = torch.randn(20).to(ScalarType.Double);
      Tensors.assertClose("f64", ChannelLayerNormOp.apply(x, g, b, EPS), oracle(x, g, b), 1e-12, 1e-12);
    }
  }

  @Test
  void noGraphWithoutGrad() {
    try (PointerScope scope = new PointerScope()) {
      int before = NativeFunction.liveGraphs();
      Tensor x = torch.randn(1, 3, 4, 4).requires_grad_(true), g = torch.ones(3), b = torch.zeros(3);
      try (NoGradGuard guard = new NoGradGuard()) {
        assertFalse(ChannelLayerNormOp.apply(x, g, b, EPS).requires_grad());
      }
      assertEquals(before, NativeFunction.liveGraphs());
    }
  }

  @Test
  void emptyBatch() {
    try (PointerScope scope = new PointerScope()) {
      Tensor x = torch.randn(0, 3, 2, 2).requires_grad_(true), g = torch.ones(3).requires_grad_(true);
      Tensor y = ChannelLayerNormOp.apply(x, g, torch.zeros(3), EPS);
      assertEquals(0, y.numel());
      y.sum().backward();
      assertEquals(0.0, g.grad().abs().sum().item_double());
    }
  }

  @Test
  void rejectsBadArguments() {
    try (PointerScope scope = new PointerScope()) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> ChannelLayerNormOp.apply(torch.randn(1, 3, 4, 4), torch.ones(4), torch.zeros(3), EPS));
      assertTrue(e.getMessage().contains("[4]") && e.getMessage().contains("[1, 3, 4, 4]"), e.getMessage());
      e = assertThrows(IllegalArgumentException.class,
          () -> ChannelLayerNormOp.apply(torch.randn(3, 4, 4), torch.ones(3), torch.zeros(3), EPS));
      assertTrue(e.getMessage().contains("[3, 4, 4]"), e.getMessage());
      assertThrows(IllegalArgumentException.class,
          () -> ChannelLayerNormOp.apply(torch.randn(1, 3, 4, 4), torch.ones(3), torch.zeros(3), -1));
      assertThrows(IllegalArgumentException.class,
          () -> ChannelLayerNormOp.apply(torch.randn(1, 3, 4, 4), torch.ones(3).to(ScalarType.Double),
              torch.zeros(3), EPS));
    }
  }

  /** Method of DepthwiseConvTest: a graph leaked per call (saved x 8 KB + stats) would add over 18 MB. */
  @Test
  void manyCallsKeepNativeMemoryFlat() {
    Tensor x = torch.randn(1, 8, 16, 16).requires_grad_(true);
    Tensor g = torch.ones(8).requires_grad_(true), b = torch.zeros(8).requires_grad_(true);
    int before = NativeFunction.liveGraphs();
    long[] rss = new long[4];
    for (int r = 0; r < rss.length; r++) {
      for (int i = 0; i < 500; i++) {
        try (PointerScope s = new PointerScope()) {
          ChannelLayerNormOp.apply(x, g, b, EPS).sum().backward();
        }
      }
      System.gc();
      rss[r] = Pointer.physicalBytes();
    }
    assertEquals(before, NativeFunction.liveGraphs(), "graphs left alive");
    long growth = rss[rss.length - 1] - rss[0];
    assertTrue(growth < (16L << 20), "RSS grew by " + (growth >> 10) + " KiB");
  }

  @Test
  void cudaMatchesCpu() {
    Requirements.cuda();
    try (PointerScope scope = new PointerScope()) {
      Device cuda = new Device("cuda"), cpu = new Device("cpu");
      torch.manual_seed(15);
      Tensor x = torch.randn(2, 20, 13, 17).requires_grad_(true);
      Tensor g = torch.randn(20).requires_grad_(true), b = torch.randn(20).requires_grad_(true);
      Parity.check("LN cuda-vs-cpu",
          t -> new Tensor[] {ChannelLayerNormOp.apply(t[0].to(cuda, t[0].scalar_type()),
              t[1].to(cuda, t[1].scalar_type()), t[2].to(cuda, t[2].scalar_type()), EPS).to(cpu, t[0].scalar_type())},
          t -> new Tensor[] {ChannelLayerNormOp.apply(t[0], t[1], t[2], EPS)}, new Tensor[] {x, g, b}, FWD_TOL,
          GRAD_TOL, 16);
      Parity.check("LN cuda-vs-oracle",
          t -> new Tensor[] {ChannelLayerNormOp.apply(t[0].to(cuda, t[0].scalar_type()),
              t[1].to(cuda, t[1].scalar_type()), t[2].to(cuda, t[2].scalar_type()), EPS).to(cpu, t[0].scalar_type())},
          t -> new Tensor[] {oracle(t[0], t[1], t[2])}, new Tensor[] {x, g, b}, FWD_TOL, GRAD_TOL, 17);
    }
  }
}
