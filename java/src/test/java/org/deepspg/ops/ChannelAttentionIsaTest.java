/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.kernels.global.kernels;
import org.deepspg.testing.Oracles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The CPU attention's kernel choice: the self-check accepts the best kernel set on this machine, each set this CPU
 * has passes the probes (which store every aligned output non-temporally, then restore the threshold), and with the
 * kernels off the op still gives the oracle's values and gradients.
 */
class ChannelAttentionIsaTest {
  @BeforeAll
  static void load() {
    NativeLibrary.ensureLoaded();
  }

  @AfterEach
  void restore() {
    System.clearProperty(ChannelAttention.MODE_PROPERTY);
    ChannelAttention.recheck();
  }

  @Test
  void selfCheckAcceptsTheBestKernelSetOfThisCpu() {
    ChannelAttention.Status s = ChannelAttention.recheck();
    assertTrue(s.enabled(), s.describe());
    assertTrue(s.maxRelError() <= ChannelAttention.TOLERANCE, s.describe());
    boolean avx512 = kernels.deepspg_channel_attention_select_isa(kernels.DEEPSPG_CONV2D_ISA_AVX512)
        == kernels.DEEPSPG_OK;
    ChannelAttention.recheck(); // the probe above changed the selection
    assertEquals(avx512 ? "avx512" : "portable", ChannelAttention.status().isa(), s.describe());
    assertEquals(avx512 ? kernels.DEEPSPG_CONV2D_ISA_AVX512 : kernels.DEEPSPG_CONV2D_ISA_GENERIC,
        kernels.deepspg_channel_attention_isa());
  }

  @Test
  void selfCheckRunsUnderInferenceModeAndNoGrad() {
    // the CLI's first attention call comes inside NoGradGuard + InferenceMode (the probes need autograd)
    try (NoGradGuard ng = new NoGradGuard(); InferenceMode im = new InferenceMode()) {
      ChannelAttention.Status s = ChannelAttention.recheck();
      assertTrue(s.enabled(), s.describe());
    }
  }

  @Test
  void everyKernelSetOfThisCpuPassesTheProbes() {
    int tried = 0;
    for (int isa : new int[] {kernels.DEEPSPG_CONV2D_ISA_AVX512, kernels.DEEPSPG_CONV2D_ISA_GENERIC}) {
      if (kernels.deepspg_channel_attention_select_isa(isa) != kernels.DEEPSPG_OK) continue;
      tried++;
      double err = ChannelAttention.probeError();
      assertTrue(err <= ChannelAttention.TOLERANCE, "isa " + isa + ": error " + err);
      assertTrue(err > 0, "isa " + isa + ": float32 against float64 cannot be exact; the probe compared nothing");
    }
    assertTrue(tried >= 1, "the portable kernels exist on every CPU");
  }

  @Test
  void probesCoverNonTemporalStoresAndRestoreTheThreshold() {
    long threshold = kernels.deepspg_channel_attention_stream_min_bytes(-1);
    assertEquals(32L << 20, threshold, "the kernels' default: stream past 32 MiB of traffic");
    ChannelAttention.probeError();
    FoldedAttention.probeError();
    assertEquals(threshold, kernels.deepspg_channel_attention_stream_min_bytes(-1),
        "the probes lower the threshold to 0 for themselves only");
  }

  @Test
  void portableModeSkipsAvx512() {
    System.setProperty(ChannelAttention.MODE_PROPERTY, "portable");
    ChannelAttention.Status s = ChannelAttention.recheck();
    assertEquals("portable", s.isa(), s.describe());
    assertEquals(kernels.DEEPSPG_CONV2D_ISA_GENERIC, kernels.deepspg_channel_attention_isa());
  }

  @Test
  void offComputesTheOracleWithGradients() {
    System.setProperty(ChannelAttention.MODE_PROPERTY, "off");
    ChannelAttention.Status s = ChannelAttention.recheck();
    assertFalse(s.enabled(), s.describe());
    assertTrue(s.describe().contains("off"), s.describe());
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(3);
      Tensor x = torch.randn(2, 10, 6, 7).set_requires_grad(true);
      Tensor y = torch.randn(2, 10, 6, 7).set_requires_grad(true);
      Tensor v = torch.randn(2, 10, 6, 7).set_requires_grad(true);
      Tensor f = torch.rand(2, 10, 6, 7);
      Tensor tau = torch.ones(2, 1, 1).mul(new Scalar(1.7)).set_requires_grad(true);
      Tensor got = ChannelAttention.apply(x, y, v, f, tau, 2);
      got.sum().backward();
      Tensor[] gotGrads = {x.grad().clone(), y.grad().clone(), v.grad().clone(), tau.grad().clone()};
      for (Tensor t : new Tensor[] {x, y, v, tau}) t.mutable_grad().reset();
      Tensor want = Oracles.attention(x, y, v, f, tau, 2);
      want.sum().backward();
      Tensor[] wantGrads = {x.grad(), y.grad(), v.grad(), tau.grad()};
      assertTrue(got.detach().sub(want.detach()).abs().max().item_double() < 1e-5);
      for (int k = 0; k < 4; k++) {
        assertTrue(gotGrads[k].sub(wantGrads[k]).abs().max().item_double() < 1e-4, "gradient " + k);
      }
    }
  }
}
