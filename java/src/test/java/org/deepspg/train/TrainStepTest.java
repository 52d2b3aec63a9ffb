/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.model.clip.Clip;
import org.deepspg.model.clip.ClipPreprocess;
import org.deepspg.model.hrnet.HRNet;
import org.deepspg.model.hrnet.HRNetConfig;
import org.deepspg.model.prior.HrnetPrior;
import org.deepspg.ops.Backends;
import org.deepspg.ops.EdgeOperator;
import org.deepspg.testing.PriorFixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One training step with all five losses, and the loss terms against independent computations. */
class TrainStepTest {
  /** float32 losses recomputed through a different code path; sums over ≤ 25k elements: 1e-5 relative is ample. */
  private static final double REL_TOL = 1e-5;

  @BeforeAll
  static void init() {
    Backends.init();
    torch.set_num_threads(1); // the test machine is shared: oversubscribed OpenMP threads are 10-30x slower
  }

  @Test
  void oneStepOfDeepSpgSWithAllLossesGivesFiniteGradientsOnlyToTrainableWeights(@TempDir Path tmp) throws IOException {
    HRNet hr = TrainTestSupport.tinyHrnet(tmp);
    Clip clip = TrainTestSupport.tinyClip();
    Properties p = new Properties();
    p.setProperty("variant", "v3");
    p.setProperty("loss.color", "0.1"); // and our colour term: every term of Losses.NAMES takes part
    p.setProperty("threads", "1");
    p.setProperty("run.dir", tmp.resolve("run").toString());
    TrainConfig cfg = TrainConfig.fromProperties(p);
    assertEquals(20, cfg.model().channels(), "DeepSPG-S");
    Trainer t = new Trainer(cfg, new Priors(hr, clip, TrainTestSupport.tokenizer()));
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(7);
      Tensor low = torch.rand(2, 3, 64, 64).mul(new Scalar(0.2));
      Tensor high = torch.rand(2, 3, 64, 64);
      Trainer.StepStats st = t.trainStep(low, high, 3e-4, true);
      for (int i = 0; i <= Losses.TOTAL; i++) {
        assertTrue(Double.isFinite(st.losses()[i]), "loss term " + i + " = " + st.losses()[i]);
      }
      assertTrue(st.losses()[0] > 0 && st.losses()[1] > 0 && st.losses()[2] > 0, "pix, edge, sem > 0");
      for (int i = 0; i < Losses.TOTAL; i++) {
        assertTrue(st.termGradNorms()[i] > 0 && Double.isFinite(st.termGradNorms()[i]),
            Losses.NAMES.get(i) + " gradient norm w.r.t. X_out = " + st.termGradNorms()[i]);
      }
      assertTrue(st.gradNorm() > 0 && Double.isFinite(st.gradNorm()), "global grad norm " + st.gradNorm());
      StringTensorDict d = t.model().named_parameters(true);
      double sq = 0;
      for (long i = 0; i < d.size(); i++) {
        Tensor g = d.get(i).value().grad();
        String name = d.get(i).key().getString();
        assertTrue(g != null && g.defined(), "no gradient for trainable " + name);
        assertTrue(g.isfinite().all().item_bool(), "non-finite gradient in " + name);
        sq += g.pow(new Scalar(2.0)).sum().item_double();
      }
      // clip_grad_norm_ scales the gradients to norm min(pre-clip norm, 0.01); float32 sums over ~0.6M values
      assertEquals(Math.min(0.01, st.gradNorm()), Math.sqrt(sq), 1e-4 * Math.min(0.01, st.gradNorm()),
          "post-clip gradient norm");
      assertNoGrad(hr, "HRNet");
      assertNoGrad(clip, "CLIP");
    }
  }

  private static void assertNoGrad(Module m, String what) {
    StringTensorDict d = m.named_parameters(true);
    for (long i = 0; i < d.size(); i++) {
      Tensor g = d.get(i).value().grad();
      assertFalse(d.get(i).value().requires_grad(), what + " parameter requires grad: " + d.get(i).key().getString());
      assertTrue(g == null || !g.defined(), what + " parameter got a gradient: " + d.get(i).key().getString());
    }
  }

  /**
   * Each loss term against an independent computation with the fixture priors. This test used to abort the JVM at a
   * varying point (nested JavaCPP callback exceptions); the cause was modules whose Java peers the garbage collector
   * had reclaimed (see org.deepspg.nn.JavaModule and ModuleLifetimeTest), fixed by keeping every child reachable.
   */
  @Test
  void lossTermsMatchIndependentComputationsWithFixturePriors(@TempDir Path tmp) throws IOException {
    Path fx = PriorFixtures.fixtures();
    HRNet hr = HRNet.load(fx.resolve("hrnet/tiny_zip.pth"),
        HRNetConfig.fromJson(fx.resolve("hrnet/config.json"))).freeze();
    Clip clip = TrainTestSupport.tinyClip();
    Losses losses = new Losses(Losses.Weights.DEFAULT, EdgeOperator.DIFF, HrnetPrior.borrow(hr), 1.0, clip,
        TrainTestSupport.tokenizer(), "low-light image", "high-light image");
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(3);
      Tensor gt = torch.rand(2, 3, 64, 64);
      Tensor out = gt.mul(new Scalar(0.7)).add(torch.rand(2, 3, 64, 64).mul(new Scalar(0.1))).detach().requires_grad_(true);
      Losses.Terms t = losses.compute(out, gt);
      // L_sem's gradient reaches X_out through the frozen HRNet (autograd::grad with retain_graph, as in training)
      double[] gn = losses.gradNorms(t, out);
      assertTrue(gn[2] > 0 && Double.isFinite(gn[2]), "L_sem gradient norm w.r.t. X_out " + gn[2]);
      double pix = out.sub(gt).pow(new Scalar(2.0)).mean().item_double();
      assertEquals(pix, t.pix().item_double(), REL_TOL * pix);
      // L_mul through CLIP's own logits: cos = logits / exp(logit_scale), logit_scale = log(100) in OpenAI's init
      double mul;
      try (NoGradGuard ng = new NoGradGuard()) {
        long[][] ids = TrainTestSupport.tokenizer().tokenize(List.of("low-light image", "high-light image"));
        long[] flat = new long[2 * ids[0].length];
        System.arraycopy(ids[0], 0, flat, 0, ids[0].length);
        System.arraycopy(ids[1], 0, flat, ids[0].length, ids[0].length);
        Clip.Logits lg = clip.logits(ClipPreprocess.differentiable(out, clip.config().imageResolution()),
            torch.tensor(flat).reshape(2, ids[0].length));
        Tensor cos = lg.perImage().div(lg.perImage().norm().mul(new Scalar(0)).add(scale(clip)));
        mul = cos.select(1, 0).sub(cos.select(1, 1)).mean().item_double();
      }
      assertEquals(mul, t.mul().item_double(), 1e-5 + REL_TOL * Math.abs(mul), "L_mul");
      double total = 1 * t.pix().item_double() + 0.5 * t.edge().item_double() + 0.01 * t.sem().item_double()
          + 0.01 * t.mul().item_double();
      assertEquals(total, t.total().item_double(), 1e-6 + REL_TOL * Math.abs(total), "weighted total");
      assertTrue(t.sem().item_double() > 0, "KL(P_gt || P_out) > 0 for out != gt");
      t.total().backward(); // consumes the whole graph, as the training step does
      assertTrue(out.grad().defined() && out.grad().isfinite().all().item_bool());
      assertNoGrad(hr, "fixture HRNet");
      assertNoGrad(clip, "CLIP");
    }
  }

  /** exp(logit_scale) of a CLIP model, read from its parameters. */
  private static Tensor scale(Clip clip) {
    StringTensorDict d = clip.named_parameters(true);
    for (long i = 0; i < d.size(); i++) {
      if (d.get(i).key().getString().equals("logit_scale")) return d.get(i).value().exp();
    }
    throw new AssertionError("CLIP has no logit_scale");
  }
}
