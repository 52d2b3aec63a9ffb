/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.nn;

import static org.bytedeco.pytorch.global.torch.conv2d;
import static org.bytedeco.pytorch.global.torch.gelu;
import static org.bytedeco.pytorch.global.torch.rand;
import static org.bytedeco.pytorch.global.torch.randn;
import static org.bytedeco.pytorch.global.torch.zeros;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.ops.DenseConv;
import org.deepspg.ops.PriorMode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Building blocks: channel LN math, initialisation (spec §1.8), and the behaviour of each config switch. */
class BlocksTest {
  /** float64 LN against its closed form: only rounding of a handful of ops on O(1) values. */
  private static final double F64_TOL = 1e-12;
  /** float32 block outputs that should be the same function computed through different (dense vs dw) kernels. */
  private static final double F32_TOL = 1e-5;
  /**
   * skf_residual on per-pixel standardised input: LN(R) = R·(1+1e-5)^-½ differs from R by ≤ 5e-6·|R| (|R| ≤ ~3),
   * carried through a residual block; 1e-4 leaves margin while a real difference is O(0.1) (checked below).
   */
  private static final double SKF_TOL = 1e-4;

  @BeforeAll
  static void backends() {
    org.deepspg.ops.Backends.init();
    torch.manual_seed(11);
  }

  @Test
  void channelLayerNormMatchesClosedForm() {
    ChannelLayerNorm ln = new ChannelLayerNorm(5);
    ln.to(torch.ScalarType.Double, false);
    try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      Tensor w = param(ln, "ln.weight");
      Tensor b = param(ln, "ln.bias");
      w.copy_(randn(5).to(torch.ScalarType.Double));
      b.copy_(randn(5).to(torch.ScalarType.Double));
      Tensor x = randn(2, 5, 3, 4).to(torch.ScalarType.Double).mul(new Scalar(3.0)).add(new Scalar(1.0));
      Tensor mu = x.mean(new long[] {1}, true, new ScalarTypeOptional());
      Tensor var = x.sub(mu).square().mean(new long[] {1}, true, new ScalarTypeOptional());
      Tensor ref = x.sub(mu).div(var.add(new Scalar(1e-5)).sqrt()).mul(w.reshape(1, 5, 1, 1))
          .add(b.reshape(1, 5, 1, 1));
      assertTrue(maxAbs(ln.forward(x).sub(ref)) <= F64_TOL);
      assertThrows(IllegalArgumentException.class, () -> ln.forward(randn(2, 4, 3, 4)));
    }
  }

  @Test
  void initialisationFollowsSpec() {
    IGMSA a = new IGMSA(160, 4);
    try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      for (String n : new String[] {"q.weight", "k.weight", "v.weight", "proj.weight"}) {
        Tensor w = param(a, n);
        double std = w.std().item_double();
        // 25,600 samples: the sample std of N(0, 0.02²) has relative s.d. ≈ 0.44 %; ±5 % is > 10 sigma.
        assertTrue(Math.abs(std / 0.02 - 1) < 0.05, n + " std " + std);
        assertTrue(maxAbs(w) < 0.15, n + " max " + maxAbs(w)); // 7.5 sigma of N(0, 0.02²)
      }
      assertEquals(0.0, maxAbs(param(a, "proj.bias")));
      assertEquals(0.0, maxAbs(param(a, "rescale").sub(new Scalar(1.0))));
      // Depthwise 3x3 PE conv: PyTorch default Kaiming-uniform(a=√5) → U(±1/√fan_in), fan_in = 9.
      assertTrue(maxAbs(param(a, "pos.0.weight")) <= 1.0 / 3.0 + 1e-7);
      SEM sem = new SEM(40, 96, 2, SEM.Options.defaults());
      assertEquals(0.0, maxAbs(param(sem, "temperature").sub(new Scalar(1.0))));
      assertEquals(0.0, maxAbs(param(sem, "ln_r.ln.weight").sub(new Scalar(1.0))));
      assertEquals(0.0, maxAbs(param(sem, "ln_f.ln.bias")));
      // Adapter bias U(±1/√s), s = 96.
      assertTrue(maxAbs(param(sem, "adapt.bias")) <= 1.0 / Math.sqrt(96) + 1e-7);
      Tensor t = zeros(10000);
      Layers.truncNormal(t, 0.0, 1.0, -0.5, 0.5);
      assertTrue(maxAbs(t) <= 0.5 && maxAbs(t) > 0.49, "truncated to ±0.5: " + maxAbs(t));
    }
  }

  @Test
  void positionalBranchUsesUngatedValues() {
    IGMSA a = new IGMSA(8, 2);
    try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      Tensor x = randn(2, 8, 5, 7);
      // Guide F = 0 zeroes the gated values V ⊙ F, so the attention path contributes only the projection bias.
      Tensor out = a.forward(x, zeros(2, 8, 5, 7));
      Tensor v = param(a, "v.weight").matmul(x.reshape(2, 8, 35)).reshape(2, 8, 5, 7);
      Tensor pe = dw3(gelu(dw3(v, param(a, "pos.0.weight"))), param(a, "pos.2.weight"));
      Tensor ref = pe.add(param(a, "proj.bias").reshape(1, 8, 1, 1));
      assertTrue(maxAbs(out.sub(ref)) <= F32_TOL, "max diff " + maxAbs(out.sub(ref)));
    }
  }

  @Test
  void semSharedLnEqualsSeparateLnsWithEqualWeights() {
    SEM sep = new SEM(8, 6, 2, SEM.Options.defaults());
    SEM shared = new SEM(8, 6, 2, new SEM.Options(2.0, false, true, false));
    try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      randomiseLn(sep, "ln_r.ln");
      copyCommon(sep, shared);
      param(sep, "ln_s.ln.weight").copy_(param(sep, "ln_r.ln.weight"));
      param(sep, "ln_s.ln.bias").copy_(param(sep, "ln_r.ln.bias"));
      Tensor r = randn(2, 8, 8, 12);
      Tensor sm = rand(2, 6, 2, 3);
      assertTrue(maxAbs(sep.forward(r, sm).sub(shared.forward(r, sm))) <= F32_TOL);
      assertTrue(!shared.named_parameters(true).contains("ln_s.ln.weight"));
    }
  }

  @Test
  void semDenseQConvWithDiagonalWeightsEqualsDepthwise() {
    SEM dw = new SEM(8, 6, 2, SEM.Options.defaults());
    SEM dense = new SEM(8, 6, 2, new SEM.Options(2.0, true, false, false));
    try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      copyCommon(dw, dense);
      Tensor wd = param(dense, "q_dw.weight");
      assertEquals(4, wd.dim());
      assertEquals(8, wd.size(1));
      wd.zero_();
      Tensor wdw = param(dw, "q_dw.weight");
      for (int i = 0; i < 8; i++) {
        wd.select(0, i).select(0, i).copy_(wdw.select(0, i).select(0, 0));
      }
      Tensor r = randn(1, 8, 8, 12);
      Tensor sm = rand(1, 6, 2, 3);
      assertTrue(maxAbs(dw.forward(r, sm).sub(dense.forward(r, sm))) <= F32_TOL);
    }
  }

  @Test
  void semSkfResidualDiffersOnlyByTheNormalisedResidual() {
    SEM pre = new SEM(8, 6, 2, SEM.Options.defaults());
    SEM skf = new SEM(8, 6, 2, new SEM.Options(2.0, false, false, true));
    try (PointerScope s = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      copyCommon(pre, skf);
      Tensor x = randn(1, 8, 8, 12);
      Tensor xc = x.sub(x.mean(new long[] {1}, true, new ScalarTypeOptional()));
      Tensor std = xc.square().mean(new long[] {1}, true, new ScalarTypeOptional()).sqrt();
      Tensor r = xc.div(std); // per-pixel standardised over channels: LN_r(R) ≈ R (γ = 1, β = 0)
      Tensor sm = rand(1, 6, 2, 3);
      assertTrue(maxAbs(pre.forward(r, sm).sub(skf.forward(r, sm))) <= SKF_TOL);
      Tensor r2 = r.mul(new Scalar(3.0)).add(new Scalar(1.0)); // LN_r(R) ≠ R: the switch must matter
      assertTrue(maxAbs(pre.forward(r2, sm).sub(skf.forward(r2, sm))) > 0.1);
    }
  }

  @Test
  void maxPriorEqualsMeanOnGreyImagesAndRoutesGradientToFirstArgmax() {
    IlluminationEstimator mean = new IlluminationEstimator(8, PriorMode.MEAN);
    IlluminationEstimator max = new IlluminationEstimator(8, PriorMode.MAX);
    try (PointerScope s = new PointerScope()) {
      try (NoGradGuard g = new NoGradGuard()) {
        copyCommon(mean, max);
      }
      Tensor grey = rand(1, 1, 6, 10).expand(1, 3, 6, 10).contiguous();
      Tensor i1 = grey.clone().requires_grad_(true);
      Tensor i2 = grey.clone().requires_grad_(true);
      IlluminationEstimator.Result a = mean.forward(i1);
      IlluminationEstimator.Result b = max.forward(i2);
      assertTrue(maxAbs(a.residual().sub(b.residual())) <= F32_TOL);
      Tensor dm = randn(1, 3, 6, 10);
      a.residual().mul(dm).sum().backward();
      b.residual().mul(dm).sum().backward();
      // With ties, d/dI of the prior goes 1/3 to each channel (mean) or all to channel 0 (max):
      // (dI_max − dI_mean) = [2/3, −1/3, −1/3]·dP.
      Tensor diff = i2.grad().sub(i1.grad());
      Tensor d0 = diff.select(1, 0);
      Tensor d1 = diff.select(1, 1);
      assertTrue(maxAbs(d1) > 1e-3, "prior gradient must be non-trivial");
      assertTrue(maxAbs(d1.sub(diff.select(1, 2))) <= F32_TOL);
      assertTrue(maxAbs(d0.add(d1.mul(new Scalar(2.0)))) <= F32_TOL);
      try (NoGradGuard g = new NoGradGuard()) {
        Tensor colour = rand(1, 3, 6, 10);
        assertTrue(maxAbs(mean.forward(colour).residual().sub(max.forward(colour).residual())) > 1e-4);
      }
    }
  }

  @Test
  void groupedSameConvRunsTheDirectKernelInInferenceOnly() {
    // the estimator's 5x5 with 4 groups: DenseConv.grouped without a gradient, SameConv with one; the same function;
    // the embedding's 3x3 3->20 too, the mapping's 20->3 and 1-output groups not
    Conv2dImpl dconv = Layers.conv2d(20, 20, 5, 1, 2, 4, true);
    Conv2dImpl merge = Layers.conv2d(10, 2, 3, 1, 1, 2, false); // 1 output per group: stays on SameConv
    Conv2dImpl mapping = Layers.conv2d(20, 3, 3, 1, 1, 1, true); // 3 outputs: stays on SameConv
    Conv2dImpl embed = Layers.conv2d(3, 20, 3, 1, 1, 1, true); // dense, 20 outputs: the direct kernel
    try (PointerScope s = new PointerScope()) {
      Tensor x = randn(1, 20, 13, 29);
      Tensor ref = conv2d(x.to(torch.ScalarType.Double), dconv.weight().to(torch.ScalarType.Double),
          new TensorOptional(dconv.bias().to(torch.ScalarType.Double)), new long[] {1, 1}, new long[] {2, 2},
          new long[] {1, 1}, 4);
      Tensor trained = FastConv.sameConv(dconv, x, 4); // the weight needs a gradient: SameConv
      long calls = DenseConv.calls();
      Tensor inferred;
      try (NoGradGuard g = new NoGradGuard()) {
        inferred = FastConv.sameConv(dconv, x, 4);
        FastConv.sameConv(merge, randn(1, 10, 6, 7), 2);
        FastConv.sameConv(mapping, x, 1);
        Tensor e = randn(1, 3, 6, 7);
        Tensor ref3 = conv2d(e, embed.weight(), new TensorOptional(embed.bias()), new long[] {1, 1}, new long[] {1, 1},
            new long[] {1, 1}, 1);
        assertTrue(maxAbs(FastConv.sameConv(embed, e, 1).sub(ref3)) <= 1e-5 * maxAbs(ref3));
      }
      assertEquals(DenseConv.status().enabled() ? calls + 2 : calls, DenseConv.calls(),
          "inference of the 5-output groups and the 20-output dense layer on the direct kernel, 1 or 3 outputs not");
      assertTrue(trained.requires_grad());
      double scale = maxAbs(ref);
      assertTrue(maxAbs(inferred.to(torch.ScalarType.Double).sub(ref)) <= 1e-5 * scale);
      assertTrue(maxAbs(trained.detach().to(torch.ScalarType.Double).sub(ref)) <= 1e-5 * scale);
    }
  }

  @Test
  void gdfnHiddenWidthIsPythonInt() {
    assertEquals(40, GDFN.hiddenWidth(20, 2.0));
    assertEquals(53, GDFN.hiddenWidth(20, 2.66)); // int(53.2)
    assertEquals(212, GDFN.hiddenWidth(80, 2.66)); // int(212.8)
    assertThrows(IllegalArgumentException.class, () -> GDFN.hiddenWidth(1, 0.5));
  }

  // ---- helpers --------------------------------------------------------------------------------------------------

  static Tensor param(Module m, String name) {
    StringTensorDict ps = m.named_parameters(true);
    if (!ps.contains(name)) {
      throw new IllegalArgumentException("no parameter " + name);
    }
    return new Tensor(ps.get(name));
  }

  /** Copies every parameter of {@code from} whose name and shape also exist in {@code to}. */
  static void copyCommon(Module from, Module to) {
    StringTensorDict src = from.named_parameters(true);
    StringTensorDict dst = to.named_parameters(true);
    for (long i = 0; i < src.size(); i++) {
      String n = src.get(i).key().getString();
      if (dst.contains(n) && java.util.Arrays.equals(shape(dst.get(n)), shape(src.get(i).value()))) {
        dst.get(n).copy_(src.get(i).value());
      }
    }
  }

  static long[] shape(Tensor t) {
    long[] s = new long[(int) t.dim()];
    for (int i = 0; i < s.length; i++) {
      s[i] = t.size(i);
    }
    return s;
  }

  static void randomiseLn(Module m, String prefix) {
    param(m, prefix + ".weight").copy_(randn(param(m, prefix + ".weight").size(0)).mul(new Scalar(0.3))
        .add(new Scalar(1.0)));
    param(m, prefix + ".bias").copy_(randn(param(m, prefix + ".bias").size(0)).mul(new Scalar(0.1)));
  }

  static Tensor dw3(Tensor x, Tensor w) {
    return conv2d(x, w, new TensorOptional(), new long[] {1, 1}, new long[] {1, 1}, new long[] {1, 1}, x.size(1));
  }

  static double maxAbs(Tensor t) {
    return t.abs().max().item_double();
  }

}
