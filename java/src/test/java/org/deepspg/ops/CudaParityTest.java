/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.Function;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.deepspg.testing.Oracles;
import org.deepspg.testing.Parity;
import org.deepspg.testing.Requirements;
import org.deepspg.testing.Tensors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * CUDA backends (STYLE B2.2 three ways): CUDA vs the CPU kernels and CUDA vs the stock-op oracle on the GPU, forward
 * and gradients, and the autograd glue on CUDA tensors. Skipped without a GPU ({@link Requirements#cuda()}).
 */
class CudaParityTest {
  /** fp32 CUDA accumulates in float (tree order) vs double on CPU: spec §2.3 fp32 tolerances. */
  static final double FWD_TOL = 1e-5;

  static final double GRAD_TOL = 1e-4;
  /** float64 CUDA attention vs float64 CPU: both exact to rounding of double sums. */
  static final double F64_TOL = 1e-12;

  static final Device CUDA = new Device("cuda");
  static final Device CPU = new Device("cpu");

  @BeforeEach
  void requireGpu() {
    Requirements.cuda();
  }

  private static Tensor on(Tensor t, Device d) {
    return t.to(d, t.scalar_type());
  }

  /** Runs {@code op} on CUDA copies and on CPU copies of the leaves and compares outputs and gradients. */
  private static void cudaVsCpu(String label, Function<Tensor[], Tensor[]> op, Tensor[] leaves, double tol) {
    Parity.check(label + " cuda-vs-cpu",
        t -> { // ours on CUDA, results moved back to CPU for comparison
          Tensor[] dev = new Tensor[t.length];
          for (int i = 0; i < t.length; i++) dev[i] = t[i] == null ? null : on(t[i], CUDA);
          Tensor[] out = op.apply(dev);
          for (int j = 0; j < out.length; j++) out[j] = on(out[j], CPU);
          return out;
        },
        op, leaves, tol, tol * 10, 21);
  }

  @ParameterizedTest(name = "B={0} h={1} c={2} N={3}x{4} f64={5}")
  @CsvSource({"1, 1, 1, 1, 1, false", "2, 2, 5, 1, 37, false", "2, 4, 20, 64, 64, false", "1, 2, 40, 11, 5959, false",
      "2, 1, 64, 64, 64, false", "2, 2, 5, 7, 9, true", "1, 4, 64, 32, 32, true"})
  void attention(int b, int heads, int c, long h, long w, boolean f64) {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(b + heads + c);
      ScalarType st = f64 ? ScalarType.Double : ScalarType.Float;
      long[] shape = {b, (long) heads * c, h, w};
      Tensor[] leaves = {torch.randn(shape).to(st).requires_grad_(true), torch.randn(shape).to(st).requires_grad_(true),
          torch.randn(shape).to(st).requires_grad_(true), torch.randn(shape).to(st).requires_grad_(true),
          torch.rand(heads).add(new Scalar(0.5)).to(st).requires_grad_(true)};
      Function<Tensor[], Tensor[]> ours = t -> new Tensor[] {ChannelAttention.apply(t[0], t[1], t[2], t[3], t[4], heads)};
      cudaVsCpu("attention", ours, leaves, f64 ? F64_TOL : FWD_TOL);
      if (!f64) {
        Tensor[] dev = new Tensor[leaves.length];
        for (int i = 0; i < dev.length; i++) dev[i] = on(leaves[i].detach(), CUDA).requires_grad_(true);
        Parity.check("attention cuda-vs-oracle", ours,
            t -> new Tensor[] {Oracles.attention(t[0], t[1], t[2], t[3], t[4], heads)}, dev, FWD_TOL, GRAD_TOL, 22);
      }
    }
  }

  @Test
  void retinexAndLosses() {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(23);
      Tensor image = torch.rand(2, 3, 33, 47).requires_grad_(true), m = torch.randn(2, 3, 33, 47).requires_grad_(true);
      for (PriorMode mode : PriorMode.values()) {
        cudaVsCpu("prior " + mode, t -> new Tensor[] {Retinex.prior(t[0], mode)}, new Tensor[] {image}, 1e-6);
      }
      cudaVsCpu("decompose", t -> Retinex.decompose(t[0], t[1]), new Tensor[] {image, m.detach().abs()
          .requires_grad_(true)}, 1e-6);
      cudaVsCpu("lightUp", t -> new Tensor[] {Retinex.lightUp(t[0], t[1])}, new Tensor[] {image, m}, 1e-6);
      Tensor out = torch.rand(2, 3, 33, 47).requires_grad_(true), gt = torch.rand(2, 3, 33, 47).requires_grad_(true);
      for (EdgeOperator op : EdgeOperator.values()) {
        Tensor ref = EdgeLoss.apply(out, gt, op);
        Tensor got = EdgeLoss.apply(on(out, CUDA), on(gt, CUDA), op);
        Tensors.assertClose("edge " + op, on(got, CPU).detach(), ref.detach(), 1e-5, 0);
      }
      Tensor zo = torch.randn(2, 150, 16, 24), zg = torch.randn(2, 150, 16, 24);
      Tensors.assertClose("kl", on(KlLoss.apply(on(zo, CUDA), on(zg, CUDA), 1.0), CPU), KlLoss.apply(zo, zg, 1.0),
          1e-5, 0);
      Tensor zoLeaf = zo.clone().requires_grad_(true);
      cudaVsCpu("kl grad", t -> new Tensor[] {KlLoss.apply(t[0], t[1], 1.0)}, new Tensor[] {zoLeaf, zg}, 1e-5);
    }
  }

  @Test
  void autogradGlueOnCudaReleasesGraphs() {
    int before = NativeFunction.liveGraphs();
    try (PointerScope scope = new PointerScope()) {
      Tensor x = on(torch.randn(1, 4, 8, 8), CUDA).requires_grad_(true);
      Tensor tau = on(torch.ones(2), CUDA).requires_grad_(true);
      for (int i = 0; i < 50; i++) {
        try (PointerScope s = new PointerScope()) {
          ChannelAttention.apply(x, x, x, null, tau, 2).sum().backward();
        }
      }
      assertTrue(x.grad().is_cuda());
      assertTrue(tau.grad().isfinite().all().item_bool());
    }
    assertEquals(before, NativeFunction.liveGraphs());
  }
}
