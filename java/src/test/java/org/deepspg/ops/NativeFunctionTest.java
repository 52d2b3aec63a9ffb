/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.deepspg.testing.GradCheck;
import org.deepspg.testing.Oracles;
import org.deepspg.testing.Parity;
import org.deepspg.testing.Tensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;

/** Wiring of the Java autograd helper (STYLE B3c), with the attention op and small stock-op "native" functions. */
class NativeFunctionTest {
  /** Float32 comparisons against stock autograd of the same math: a few ulp of O(1) values. */
  static final double TOL = 1e-5;

  @BeforeAll
  static void load() {
    NativeLibrary.ensureLoaded();
  }

  private static boolean hasGrad(Tensor t) {
    Tensor g = t.grad();
    return g != null && g.defined();
  }

  private static void backward(Tensor loss, boolean retain) {
    loss.backward(new Tensor(), new BoolOptional(retain), false, new TensorArrayRefOptional());
  }

  /**
   * Toy op with two inputs (a may be null) and three outputs computed "natively" with stock ops under no-grad:
   * out0 = a * b, out1 = b * 2, out2 = a + b. The backward is written by hand (and optionally scaled wrongly).
   */
  private static Tensor[] toy(Tensor a, Tensor b, double scale) {
    return NativeFunction.apply("toy", new Tensor[] {a, b}, ctx -> {
      Tensor as = a == null ? null : ctx.save(a);
      Tensor bs = ctx.save(b);
      Tensor[] outs = {a == null ? b.mul(b) : a.mul(b), b.mul(new Scalar(2.0)), a == null ? b.clone() : a.add(b)};
      ctx.setBackward((g, needs) -> {
        Tensor da = null, db = null;
        if (needs[0]) da = g[0].mul(bs).add(g[2]).mul(new Scalar(scale));
        if (needs[1]) {
          Tensor first = as == null ? g[0].mul(bs).mul(new Scalar(2.0)) : g[0].mul(as);
          db = first.add(g[1].mul(new Scalar(2.0))).add(g[2]);
        }
        return new Tensor[] {da, db};
      });
      return outs;
    });
  }

  private static Tensor[] toyOracle(Tensor a, Tensor b) {
    return new Tensor[] {a == null ? b.mul(b) : a.mul(b), b.mul(new Scalar(2.0)), a == null ? b.clone() : a.add(b)};
  }

  @Test
  void multipleOutputsAndInputsMatchStockAutograd() {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(1);
      Tensor a = torch.randn(3, 4).requires_grad_(true), b = torch.randn(3, 4).requires_grad_(true);
      Parity.check("toy", t -> toy(t[0], t[1], 1.0), t -> toyOracle(t[0], t[1]), new Tensor[] {a, b}, 0, TOL, 2);
      Parity.check("toy null input", t -> toy(null, t[1], 1.0), t -> toyOracle(null, t[1]),
          new Tensor[] {null, b}, 0, TOL, 3);
      Tensor constA = torch.randn(3, 4);
      Parity.check("toy constant input", t -> toy(t[0], t[1], 1.0), t -> toyOracle(t[0], t[1]),
          new Tensor[] {constA, b}, 0, TOL, 4);
    }
  }

  @Test
  void backwardMayReturnItsGradOutputAsAnInputGradient() {
    // Identity-like rules hand dOut straight back (seen crashing with "pointer address is NULL" when the helper
    // released dOut before keeping the returned gradient).
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(11);
      Tensor a = torch.randn(3, 4).requires_grad_(true);
      Tensor[] out = NativeFunction.apply("identity", new Tensor[] {a}, ctx -> {
        ctx.setBackward((g, needs) -> new Tensor[] {g[0]});
        return new Tensor[] {a.clone()};
      });
      Tensor w = torch.randn(3, 4);
      out[0].mul(w).sum().backward();
      assertTrue(a.grad().equal(w), "identity backward must deliver dOut unchanged");
    }
  }

  @Test
  void unusedOutputsCountAsZeroGradient() {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(2);
      Tensor a = torch.randn(2, 3).requires_grad_(true), b = torch.randn(2, 3).requires_grad_(true);
      for (int used = 0; used < 3; used++) {
        int j = used;
        Parity.check("toy only output " + j, t -> new Tensor[] {toy(t[0], t[1], 1.0)[j]},
            t -> new Tensor[] {toyOracle(t[0], t[1])[j]}, new Tensor[] {a, b}, 0, TOL, 5 + j);
      }
      // Same with a real kernel: Retinex.decompose used through one of its two outputs only.
      Tensor image = torch.rand(1, 3, 4, 5).requires_grad_(true), m = torch.rand(1, 3, 4, 5).requires_grad_(true);
      Parity.check("decompose xr only", t -> new Tensor[] {Retinex.decompose(t[0], t[1])[0]},
          t -> new Tensor[] {Oracles.lightUp(t[0], t[1])}, new Tensor[] {image, m}, TOL, TOL, 8);
      Parity.check("decompose xl only", t -> new Tensor[] {Retinex.decompose(t[0], t[1])[1]},
          t -> new Tensor[] {Oracles.illumination(t[1]).add(t[0].mul(new Scalar(0.0)))}, new Tensor[] {image, m},
          TOL, TOL, 9);
    }
  }

  @Test
  void gradientsReachExactlyTheInputsThatRequireGrad() {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(3);
      Tensor x = torch.randn(2, 8, 3, 5).requires_grad_(true);
      Tensor y = torch.randn(2, 8, 3, 5);
      Tensor v = torch.randn(2, 8, 3, 5).requires_grad_(true);
      Tensor gate = torch.randn(2, 8, 3, 5);
      Tensor tau = torch.ones(2, 1, 1);
      Tensor out = ChannelAttention.apply(x, y, v, gate, tau, 2);
      assertTrue(out.requires_grad());
      assertNotNull(out.grad_fn());
      out.sum().backward();
      assertTrue(hasGrad(x));
      assertTrue(hasGrad(v));
      assertFalse(hasGrad(y));
      assertFalse(hasGrad(gate));
      assertFalse(hasGrad(tau));
      // and the values are those of the oracle
      Tensor x2 = x.detach().clone().requires_grad_(true), v2 = v.detach().clone().requires_grad_(true);
      Oracles.attention(x2, y, v2, gate, tau, 2).sum().backward();
      Tensors.assertClose("dx", x.grad(), x2.grad(), 0, TOL * Math.max(1, Tensors.maxAbs(x2.grad())));
      Tensors.assertClose("dv", v.grad(), v2.grad(), 0, TOL * Math.max(1, Tensors.maxAbs(v2.grad())));
    }
  }

  @Test
  void autogradGradForASubsetOfInputs() {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(4);
      Tensor x = torch.randn(1, 6, 4, 4).requires_grad_(true), y = torch.randn(1, 6, 4, 4).requires_grad_(true);
      Tensor v = torch.randn(1, 6, 4, 4).requires_grad_(true), tau = torch.ones(3).requires_grad_(true);
      Tensor loss = ChannelAttention.apply(x, y, v, null, tau, 3).pow(new Scalar(2.0)).sum();
      TensorVector g = torch.grad(new TensorVector(loss), new TensorVector(y));
      assertEquals(1, g.size());
      assertFalse(hasGrad(x), "autograd::grad must not accumulate into .grad");
      Tensor y2 = y.detach().clone().requires_grad_(true);
      Tensor ref = torch.grad(new TensorVector(Oracles.attention(x, y2, v, null, tau, 3).pow(new Scalar(2.0)).sum()),
          new TensorVector(y2)).get(0);
      Tensors.assertClose("dy", g.get(0), ref, 0, TOL * Math.max(1, Tensors.maxAbs(ref)));
    }
  }

  @Test
  void compositionStockOpThenOursThenStockOp() {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(5);
      Tensor w = torch.randn(12, 4).requires_grad_(true);
      Tensor feat = torch.randn(2, 4, 3, 3).requires_grad_(true);
      Tensor tau = torch.rand(2).add(new Scalar(0.5)).requires_grad_(true);
      Parity.check("stock->attention->stock", t -> new Tensor[] {chain(t, true)}, t -> new Tensor[] {chain(t, false)},
          new Tensor[] {w, feat, tau}, TOL, TOL, 6);
    }
  }

  /** 1x1 projection (stock) -> split into x,y,v -> attention (ours or oracle) -> tanh (stock). */
  private static Tensor chain(Tensor[] t, boolean ours) {
    Tensor proj = t[1].permute(0, 2, 3, 1).matmul(t[0].t()).permute(0, 3, 1, 2); // [2, 12, 3, 3], non-contiguous
    Tensor x = proj.narrow(1, 0, 4), y = proj.narrow(1, 4, 4), v = proj.narrow(1, 8, 4);
    Tensor o = ours ? ChannelAttention.apply(x, y, v, null, t[2], 2) : Oracles.attention(x, y, v, null, t[2], 2);
    return o.tanh().mul(t[1]);
  }

  @Test
  void sharedInputAcrossCallsAndRoles() {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(7);
      Tensor x = torch.randn(1, 4, 3, 3).requires_grad_(true), tau = torch.ones(2).requires_grad_(true);
      Parity.check("shared", t -> new Tensor[] {ChannelAttention.apply(t[0], t[0], t[0], t[0], t[1], 2)
              .add(ChannelAttention.apply(t[0], t[0].mul(new Scalar(2.0)), t[0], null, t[1], 2))},
          t -> new Tensor[] {Oracles.attention(t[0], t[0], t[0], t[0], t[1], 2)
              .add(Oracles.attention(t[0], t[0].mul(new Scalar(2.0)), t[0], null, t[1], 2))},
          new Tensor[] {x, tau}, TOL, TOL, 8);
    }
  }

  @Test
  void noGradModeAndConstantInputsRecordNothing() {
    try (PointerScope scope = new PointerScope()) {
      int before = NativeFunction.liveGraphs();
      Tensor x = torch.randn(1, 4, 3, 3).requires_grad_(true), tau = torch.ones(2);
      try (NoGradGuard guard = new NoGradGuard()) {
        Tensor out = ChannelAttention.apply(x, x, x, null, tau, 2);
        assertNull(out.grad_fn());
        assertFalse(out.requires_grad());
        assertEquals(before, NativeFunction.liveGraphs());
        assertNull(Retinex.lightUp(torch.rand(1, 3, 2, 2).requires_grad_(true), torch.rand(1, 3, 2, 2)).grad_fn());
        assertNull(EdgeLoss.apply(x.narrow(1, 0, 3), x.narrow(1, 1, 3), EdgeOperator.DIFF).grad_fn());
      }
      Tensor c = torch.randn(1, 4, 3, 3);
      Tensor out = ChannelAttention.apply(c, c, c, null, tau, 2);
      assertNull(out.grad_fn());
      assertFalse(out.requires_grad());
      assertEquals(before, NativeFunction.liveGraphs());
    }
  }

  @Test
  void secondBackwardFailsWithOurMessage() {
    try (PointerScope scope = new PointerScope()) {
      Tensor x = torch.randn(1, 4, 3, 3).requires_grad_(true), tau = torch.ones(2);
      Tensor loss = ChannelAttention.apply(x, x, x, null, tau, 2).sum(); // sum() saves nothing: our hook is hit
      loss.backward();
      RuntimeException e = assertThrows(RuntimeException.class, loss::backward);
      assertTrue(e.getMessage().contains(NativeFunction.SECOND_BACKWARD) && e.getMessage().contains("channel_attention"),
          e.getMessage());
      assertTrue(e.getMessage().contains("retain_graph"), e.getMessage());
    }
  }

  @Test
  void retainGraphAllowsTwoBackwards() {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(9);
      Tensor x = torch.randn(1, 4, 3, 3).requires_grad_(true), tau = torch.ones(2).requires_grad_(true);
      Tensor loss = ChannelAttention.apply(x, x, x, null, tau, 2).pow(new Scalar(2.0)).sum();
      backward(loss, true);
      Tensor once = x.grad().clone(), tauOnce = tau.grad().clone();
      backward(loss, true);
      Tensors.assertClose("dx twice", x.grad(), once.mul(new Scalar(2.0)), 1e-6, 0);
      Tensors.assertClose("dtau twice", tau.grad(), tauOnce.mul(new Scalar(2.0)), 1e-6, 0);
      backward(loss, false); // the last one may release
      Tensors.assertClose("dx thrice", x.grad(), once.mul(new Scalar(3.0)), 1e-6, 0);
    }
  }

  @Test
  void inPlaceModificationOfASavedInputIsDetected() {
    try (PointerScope scope = new PointerScope()) {
      Tensor x = torch.randn(1, 4, 3, 3).requires_grad_(true), tau = torch.ones(2);
      Tensor v = torch.randn(1, 4, 3, 3);
      Tensor loss = ChannelAttention.apply(x, x, v, null, tau, 2).sum();
      v.mul_(new Scalar(2.0));
      RuntimeException e = assertThrows(RuntimeException.class, loss::backward);
      assertTrue(e.getMessage().contains("in-place"), e.getMessage());
    }
  }

  @Test
  void doubleBackwardIsRejected() {
    try (PointerScope scope = new PointerScope()) {
      Tensor x = torch.randn(1, 4, 3, 3).requires_grad_(true), tau = torch.ones(2);
      Tensor loss = ChannelAttention.apply(x, x, x, null, tau, 2).pow(new Scalar(2.0)).sum();
      RuntimeException e = assertThrows(RuntimeException.class, () -> torch.grad(new TensorVector(loss),
          new TensorVector(x), new TensorVector(), new BoolOptional(true), true, false));
      assertTrue(e.getMessage().contains("double backward"), e.getMessage());
    }
  }

  @Test
  void errorsInTheBackwardPropagateAndReleaseTheGraph() {
    int before = NativeFunction.liveGraphs();
    try (PointerScope scope = new PointerScope()) {
      Tensor a = torch.randn(3).requires_grad_(true);
      Tensor[] out = NativeFunction.apply("failing", new Tensor[] {a}, ctx -> {
        ctx.setBackward((g, needs) -> {
          throw new IllegalStateException("boom from backward");
        });
        return new Tensor[] {a.mul(new Scalar(3.0))};
      });
      RuntimeException e = assertThrows(RuntimeException.class, () -> out[0].sum().backward());
      assertTrue(e.getMessage().contains("boom from backward"), e.getMessage());
      Tensor[] wrongShape = NativeFunction.apply("wrong_shape", new Tensor[] {a}, ctx -> {
        ctx.setBackward((g, needs) -> new Tensor[] {torch.ones(4)});
        return new Tensor[] {a.mul(new Scalar(3.0))};
      });
      e = assertThrows(RuntimeException.class, () -> wrongShape[0].sum().backward());
      assertTrue(e.getMessage().contains("wrong_shape") && e.getMessage().contains("[4]"), e.getMessage());
      assertThrows(IllegalStateException.class,
          () -> NativeFunction.apply("no_backward", new Tensor[] {a}, ctx -> new Tensor[] {a.mul(a)}));
    }
    assertEquals(before, NativeFunction.liveGraphs(), "graphs freed with their scope");
  }

  @Test
  void gradCheckDetectsAWrongGradient() {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(10);
      Tensor a = torch.randn(2, 3).to(ScalarType.Double).requires_grad_(true);
      Tensor b = torch.randn(2, 3).to(ScalarType.Double).requires_grad_(true);
      GradCheck.check("toy right", t -> toy(t[0], t[1], 1.0), new Tensor[] {a, b}, 1);
      assertThrows(AssertionFailedError.class,
          () -> GradCheck.check("toy wrong", t -> toy(t[0], t[1], 1.01), new Tensor[] {a, b}, 1));
    }
  }

  @Test
  void graphsAreReleasedWhenOutputsDie() {
    int before = NativeFunction.liveGraphs();
    try (PointerScope scope = new PointerScope()) {
      Tensor x = torch.randn(1, 4, 3, 3).requires_grad_(true), tau = torch.ones(2);
      for (int i = 0; i < 5; i++) ChannelAttention.apply(x, x, x, null, tau, 2);
      assertEquals(before + 5, NativeFunction.liveGraphs());
    }
    assertEquals(before, NativeFunction.liveGraphs());
  }

  /**
   * 10,000 forward+backward calls of a small NativeFunction op (the toy above: all glue, hooks, saved tensors and
   * registry traffic, negligible compute) and 1,500 of the fused attention leave native memory flat and free every
   * graph. Pointer.physicalBytes() is the process RSS, which also holds the Java heap and allocator caches that warm up
   * during the first calls; so RSS is sampled after each round (after a GC) and the check is that it stops growing:
   * growth from the end of the first round to the end of the last must stay under the margin. A leak of one graph per
   * call (≥ ~2 KB: nodes, hooks, small tensors) adds ≥ 16 MB over the measured 8,000 toy calls; the known JavaCPP
   * weak-reference leak (~100 B per call, STYLE §0) adds < 1 MB.
   */
  @Test
  void tenThousandCallsKeepNativeMemoryFlat() {
    Tensor a = torch.randn(2, 3).requires_grad_(true), b = torch.randn(2, 3).requires_grad_(true);
    assertFlat("toy", 5, 2000, () -> toy(a, b, 1.0)[0].sum().backward());
    Tensor x = torch.randn(1, 4, 2, 3).requires_grad_(true), tau = torch.ones(2).requires_grad_(true);
    assertFlat("attention", 5, 300, () -> ChannelAttention.apply(x, x, x, null, tau, 2).sum().backward());
  }

  private static void assertFlat(String what, int rounds, int perRound, Runnable call) {
    final long margin = 16L << 20;
    int before = NativeFunction.liveGraphs();
    long[] rss = new long[rounds];
    for (int r = 0; r < rounds; r++) {
      for (int i = 0; i < perRound; i++) {
        try (PointerScope s = new PointerScope()) {
          call.run();
        }
      }
      System.gc();
      rss[r] = Pointer.physicalBytes();
    }
    assertEquals(before, NativeFunction.liveGraphs(), what + ": graphs left alive");
    long growth = rss[rounds - 1] - rss[0];
    assertTrue(growth < margin, what + ": RSS grew by " + (growth >> 10) + " KiB over " + (rounds - 1) * perRound
        + " calls after warm-up; per round (MiB): " + java.util.Arrays.toString(
            java.util.Arrays.stream(rss).map(v -> v >> 20).toArray()));
  }
}
