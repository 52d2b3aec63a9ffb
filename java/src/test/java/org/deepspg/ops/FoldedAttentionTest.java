/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.testing.Tensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link FoldedAttention}: the float64 unfolded composition within float rounding, the float32 unfolded path (the
 * fused attention and the projection) likewise, in IG-MSA's form and SEM's; writing over the residual, also one that
 * is the values or the gate; the tiling protocol's record and replay; the self-check's verdict and its off switch;
 * when it may be used; argument checks.
 */
class FoldedAttentionTest {
  @BeforeAll
  static void load() {
    NativeLibrary.ensureLoaded();
  }

  /** Weights scaled like trained 1×1 layers (rows of norm ≈ 1). */
  private static Tensor weight(int d) {
    return Tensors.randn(d, d).mul(new Scalar(1.0 / Math.sqrt(d)));
  }

  @Test
  void residualThatIsTheValuesOrTheGateIsWrittenOverCorrectly() {
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      torch.manual_seed(29);
      int d = 8, heads = 2;
      Tensor wp = weight(d), bp = Tensors.randn(d), tau = torch.rand(heads).add(new Scalar(0.5));
      for (long[] sh : new long[][] {{1, d, 4, 4}, {2, d, 33, 17}}) {
        Tensor x = Tensors.randn(sh), y = Tensors.randn(sh), v = Tensors.randn(sh);
        Tensor want = FoldedAttention.attentionProjected(x, y, v, tau, heads, wp, bp, v.clone(), false);
        Tensor vc = v.clone();
        Tensor got = FoldedAttention.attentionProjected(x, y, vc, tau, heads, wp, bp, vc, true);
        assertTrue(got == vc, "the result is written into the residual");
        assertEquals(0.0, Tensors.maxAbs(got.sub(want)), "attentionProjected with residual = v");
        // a residual that is a view of the values' storage, not the same Java object
        vc = v.clone();
        got = FoldedAttention.attentionProjected(x, y, vc, tau, heads, wp, bp, vc.view(sh), true);
        assertEquals(0.0, Tensors.maxAbs(got.sub(want)), "attentionProjected with residual a view of v");

        FoldedAttention.Scores s = FoldedAttention.scores(x, weight(d), weight(d), weight(d), tau, heads);
        Tensor ref = FoldedAttention.mix(s, null, wp, bp, s.values().clone(), false);
        assertEquals(0.0, Tensors.maxAbs(FoldedAttention.mix(s, null, wp, bp, s.values(), true).sub(ref)),
            "mix with residual = values");
        s = FoldedAttention.scores(x, weight(d), weight(d), weight(d), tau, heads);
        Tensor g = y.clone();
        ref = FoldedAttention.mix(s, g, wp, bp, g.clone(), false);
        assertEquals(0.0, Tensors.maxAbs(FoldedAttention.mix(s, g, wp, bp, g, true).sub(ref)),
            "mix with residual = gate");
      }
    }
  }

  @Test
  void selfCheckPasses() {
    KernelStatus s = FoldedAttention.status();
    assertTrue(s.enabled(), s.describe());
    assertTrue(s.maxRelError() <= FoldedAttention.TOLERANCE, s.describe());
    assertTrue(s.describe().startsWith("folded: on (self-check passed"), s.describe());
  }

  @ParameterizedTest(name = "B={0} d={1} heads={2} {3}x{4} gate={5} bias={6} residual={7}")
  @CsvSource({
    "1, 20, 1, 70, 96, true, true, true", // DeepSPG-S level 0: 6,720 pixels, 7 tiles with a rest
    "2, 40, 2, 17, 33, true, true, false", // level 1
    "1, 80, 4, 9, 20, true, false, true", // level 2
    "1, 7, 1, 3, 5, false, false, false",
    "1, 24, 3, 1, 1, true, true, true"
  })
  void matchesTheUnfoldedComposition(int b, int d, int heads, int h, int w, boolean gated, boolean biased,
      boolean res) {
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      torch.manual_seed(17 + d);
      Tensor x = Tensors.randn(b, d, h, w);
      Tensor gate = gated ? Tensors.randn(b, d, h, w) : null;
      Tensor wv = weight(d), wq = weight(d), wk = weight(d), wp = weight(d);
      Tensor bp = biased ? Tensors.randn(d) : null;
      Tensor tau = Tensors.randn(heads, 1, 1).abs().add(new Scalar(0.5));
      Tensor r = res ? Tensors.randn(b, d, h, w) : null;
      long calls = FoldedAttention.calls();
      Tensor y = FoldedAttention.forward(x, wv, gate, wq, wk, wp, bp, tau, heads, r, false, true);
      assertEquals(calls + 1, FoldedAttention.calls());
      Tensor ref = FoldedAttention.reference(OpSupport.toDouble(x), OpSupport.toDouble(wv),
          gate == null ? null : OpSupport.toDouble(gate), OpSupport.toDouble(wq), OpSupport.toDouble(wk),
          OpSupport.toDouble(wp), bp == null ? null : OpSupport.toDouble(bp), OpSupport.toDouble(tau), heads,
          r == null ? null : OpSupport.toDouble(r));
      Tensors.assertClose("vs float64", OpSupport.toDouble(y), ref, 1e-5, 1e-5);
      // the float32 path it replaces: the fused attention on q = Wq x, k = Wk x, v = Wv x, then the projection
      Tensor x3 = x.reshape(b, d, (long) h * w);
      Tensor q = wq.matmul(x3).reshape(b, d, h, w);
      Tensor k = wk.matmul(x3).reshape(b, d, h, w);
      Tensor v = wv.matmul(x3).reshape(b, d, h, w);
      Tensors.assertClose("the values of the first sweep", FoldedAttention.scores(x, wv, wq, wk, tau, heads).values(),
          v, 1e-5, 1e-5);
      Tensor o = ChannelAttention.apply(k, q, v, gate, tau, heads);
      Tensor unfolded = wp.matmul(o.reshape(b, d, (long) h * w)).reshape(b, d, h, w);
      if (bp != null) unfolded = unfolded.add(bp.reshape(1, d, 1, 1));
      if (r != null) unfolded = unfolded.add(r);
      Tensors.assertClose("vs the unfolded float32 path", y, unfolded, 1e-4, 1e-4);
      if (r != null) {
        Tensor rc = r.clone();
        Tensor inPlace = FoldedAttention.forward(x, wv, gate, wq, wk, wp, bp, tau, heads, rc, true, true);
        assertTrue(inPlace.data_ptr().equals(rc.data_ptr()), "the result is written over the residual");
        assertTrue(inPlace.equal(y), "the same bits in place");
      }
    }
  }

  @ParameterizedTest(name = "SEM form: B={0} d={1} heads={2} {3}x{4} residual={5}")
  @CsvSource({"1, 20, 1, 70, 96, true", "2, 40, 2, 17, 33, false", "1, 80, 4, 9, 20, true"})
  void attentionProjectedMatchesTheAttentionThenTheProjection(int b, int d, int heads, int h, int w, boolean res) {
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      torch.manual_seed(23 + d);
      Tensor x = Tensors.randn(b, d, h, w);
      Tensor y = Tensors.randn(b, d, h, w);
      Tensor v = Tensors.randn(b, d, h, w);
      Tensor wp = weight(d);
      Tensor tau = Tensors.randn(heads, 1, 1).abs().add(new Scalar(0.5));
      Tensor r = res ? Tensors.randn(b, d, h, w) : null;
      long calls = FoldedAttention.calls();
      Tensor out = FoldedAttention.attentionProjected(x, y, v, tau, heads, wp, null, r, false);
      assertEquals(calls + 1, FoldedAttention.calls());
      Tensor o = ChannelAttention.apply(x, y, v, null, tau, heads);
      Tensor want = wp.matmul(o.reshape(b, d, (long) h * w)).reshape(b, d, h, w);
      if (r != null) want = want.add(r);
      Tensors.assertClose("vs the attention then the projection", out, want, 1e-4, 1e-5);
      Tensor o64 = ChannelAttention.reference(OpSupport.toDouble(x), OpSupport.toDouble(y), OpSupport.toDouble(v),
          null, OpSupport.toDouble(tau), heads);
      Tensor want64 = OpSupport.toDouble(wp).matmul(o64.reshape(b, d, (long) h * w)).reshape(b, d, h, w);
      if (r != null) want64 = want64.add(OpSupport.toDouble(r));
      Tensors.assertClose("vs float64", OpSupport.toDouble(out), want64, 1e-5, 1e-5);
    }
  }

  @Test
  void recordsAndReplaysItsMatricesLikeTheFusedAttention() {
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      torch.manual_seed(5);
      int d = 40, heads = 2;
      Tensor x1 = Tensors.randn(1, d, 12, 16);
      Tensor x2 = Tensors.randn(1, d, 12, 16).mul(new Scalar(3)).add(new Scalar(1)); // other scores
      Tensor gate = Tensors.randn(1, d, 12, 16);
      Tensor wv = weight(d), wq = weight(d), wk = weight(d), wp = weight(d);
      Tensor bp = Tensors.randn(d);
      Tensor tau = torch.ones(heads, 1, 1).mul(new Scalar(2));
      try (AttentionContext.Recording rec = new AttentionContext.Recording()) {
        Tensor recorded;
        try (AttentionContext.Scope s = AttentionContext.record(rec)) {
          recorded = FoldedAttention.forward(x1, wv, gate, wq, wk, wp, bp, tau, heads, null, false, true);
        }
        assertEquals(1, rec.calls(), "one matrix recorded");
        Tensor x13 = x1.reshape(1, d, 12 * 16);
        Tensor[] side = new Tensor[1];
        try (AttentionContext.Recording unfolded = new AttentionContext.Recording()) {
          try (AttentionContext.Scope s = AttentionContext.record(unfolded)) {
            ChannelAttention.apply(wk.matmul(x13).reshape(1, d, 12, 16), wq.matmul(x13).reshape(1, d, 12, 16),
                wv.matmul(x13).reshape(1, d, 12, 16), gate, tau, heads);
          }
          side[0] = unfolded.matrix(0).clone();
        }
        Tensors.assertClose("the recorded A is the fused attention's", rec.matrix(0), side[0], 1e-5, 1e-6);
        Tensor replayed;
        try (AttentionContext.Scope s = AttentionContext.replay(rec)) {
          replayed = FoldedAttention.forward(x2, wv, gate, wq, wk, wp, bp, tau, heads, null, false, true);
          assertEquals(1, s.calls(), "one matrix replayed");
        }
        // the replay mixes x2's values with x1's matrices
        Tensor x23 = x2.reshape(1, d, 12 * 16);
        Tensor want = wp.matmul(ChannelAttention.applyMatrix(rec.matrix(0), wv.matmul(x23).reshape(1, d, 12, 16), gate)
            .reshape(1, d, 12 * 16)).reshape(1, d, 12, 16).add(bp.reshape(1, d, 1, 1));
        Tensors.assertClose("replay uses the recorded A", replayed, want, 1e-5, 1e-5);
        Tensor own = FoldedAttention.forward(x2, wv, gate, wq, wk, wp, bp, tau, heads, null, false, true);
        assertTrue(own.sub(replayed).abs().max().item_double() > 1e-3, "x2's own scores give another output");
      }
      // SEM's form: records the fused attention's own A, replays it on other maps
      try (AttentionContext.Recording rec = new AttentionContext.Recording();
          AttentionContext.Recording stock = new AttentionContext.Recording()) {
        try (AttentionContext.Scope s = AttentionContext.record(rec)) {
          FoldedAttention.attentionProjected(x1, gate, x1, tau, heads, wp, null, null, false);
        }
        try (AttentionContext.Scope s = AttentionContext.record(stock)) {
          ChannelAttention.apply(x1, gate, x1, null, tau, heads);
        }
        assertEquals(1, rec.calls());
        assertTrue(rec.matrix(0).equal(stock.matrix(0)), "the same kernel's A, bit for bit");
        Tensor replayed;
        try (AttentionContext.Scope s = AttentionContext.replay(rec)) {
          replayed = FoldedAttention.attentionProjected(x2, gate, x2, tau, heads, wp, null, null, false);
        }
        Tensor want = wp.matmul(ChannelAttention.applyMatrix(rec.matrix(0), x2, null).reshape(1, d, 12 * 16))
            .reshape(1, d, 12, 16);
        Tensors.assertClose("SEM form: replay uses the recorded A", replayed, want, 1e-5, 1e-5);
      }
    }
  }

  @Test
  void offSwitchKeepsTheUnfoldedPath() {
    String saved = System.getProperty(FoldedAttention.MODE_PROPERTY);
    try {
      System.setProperty(FoldedAttention.MODE_PROPERTY, "off");
      KernelStatus off = FoldedAttention.recheck();
      assertFalse(off.enabled());
      assertEquals("folded: off (deepspg.foldedattention=off)", off.describe());
      try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
        assertFalse(FoldedAttention.usable(Tensors.randn(1, 2, 3, 3)), "not usable when off");
      }
    } finally {
      if (saved == null) {
        System.clearProperty(FoldedAttention.MODE_PROPERTY);
      } else {
        System.setProperty(FoldedAttention.MODE_PROPERTY, saved);
      }
      assertTrue(FoldedAttention.recheck().enabled(), "back on");
    }
  }

  @Test
  void usableOnlyForFloat32CpuWithoutAGradient() {
    try (PointerScope scope = new PointerScope()) {
      Tensor x = Tensors.randn(1, 4, 5, 5);
      Tensor w = Tensors.randn(4, 4);
      assertTrue(FoldedAttention.usable(x, w, null));
      assertFalse(FoldedAttention.usable(x, w.clone().requires_grad_(true)), "a weight that needs a gradient");
      assertFalse(FoldedAttention.usable(x.clone().requires_grad_(true), w), "an input that needs one");
      assertFalse(FoldedAttention.usable(x.to(torch.ScalarType.Double), w), "float64");
      try (NoGradGuard ng = new NoGradGuard()) {
        assertTrue(FoldedAttention.usable(x.clone().requires_grad_(true), w), "grad mode off");
      }
    }
  }

  @Test
  void refusesBadArguments() {
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      Tensor x = Tensors.randn(1, 4, 5, 5);
      Tensor w = Tensors.randn(4, 4);
      Tensor tau = torch.ones(2, 1, 1);
      assertThrows(IllegalArgumentException.class,
          () -> FoldedAttention.scores(x, Tensors.randn(4, 3), w, w, tau, 2), "weight shape");
      assertThrows(IllegalArgumentException.class, () -> FoldedAttention.scores(x, w, w, w, tau, 3), "heads");
      assertThrows(IllegalArgumentException.class,
          () -> FoldedAttention.scores(x, w, w, w, tau.mul(new Scalar(Double.NaN)), 2), "non-finite tau");
      assertThrows(IllegalArgumentException.class, () -> FoldedAttention.scores(x.to(torch.ScalarType.Double),
          w, w, w, tau, 2), "float64");
      FoldedAttention.Scores s = FoldedAttention.scores(x, w, w, w, tau, 2);
      assertThrows(IllegalArgumentException.class,
          () -> FoldedAttention.mix(s, Tensors.randn(1, 4, 5, 4), w, null, null, false), "gate's shape");
      assertThrows(IllegalArgumentException.class,
          () -> FoldedAttention.mix(s, null, w, Tensors.randn(3), null, false), "bias");
      assertThrows(IllegalArgumentException.class,
          () -> FoldedAttention.mix(s, null, w, null, Tensors.randn(2, 4, 5, 5), false), "residual's shape");
      Tensor wide = Tensors.randn(1, 65, 3, 3);
      assertThrows(IllegalArgumentException.class, () -> FoldedAttention.attentionProjected(wide, wide, wide,
          torch.ones(1), 1, Tensors.randn(65, 65), null, null, false), "c above the fused attention's limit");
      assertThrows(IllegalArgumentException.class, () -> FoldedAttention.attentionProjected(x, Tensors.randn(1, 4, 5,
          4), x, tau, 2, w, null, null, false), "y's shape");
    }
  }
}
