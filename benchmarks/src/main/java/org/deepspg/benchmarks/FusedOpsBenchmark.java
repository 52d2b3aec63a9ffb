/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.benchmarks;

import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.ops.EdgeLoss;
import org.deepspg.ops.EdgeOperator;
import org.deepspg.ops.KlLoss;
import org.deepspg.ops.NativeLibrary;
import org.deepspg.ops.PriorMode;
import org.deepspg.ops.Retinex;
import org.deepspg.testing.Oracles;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The Retinex decomposition (prior/concat + light-up), edge-loss and KL-loss kernels against the same math in stock
 * libtorch ops ({@link Oracles}, the tests' references), forward (value) and forward+backward, same JVM and threads.
 * Shapes: Retinex and edge loss on a training batch at DeepSPG-S level 0 (4×3×256×256); KL on ADE20K logits at 1/4
 * resolution of that batch (4×150×64×64).
 *
 * <p>Traffic models (floats): Retinex fwd 3 in + 4 out (prior) and 6 in + 3 out (light-up) per pixel; edge loss 2
 * reads + 1 gradient write per element; KL 2 reads + 1 gradient write per logit. Divide by the measured time for
 * GB/s; BENCHMARKS.md does.
 *
 * <p>Pitfalls avoided: inputs made once per trial and retained, each invocation releases its outputs and gradients in
 * a PointerScope, results returned (JMH samples 05, 08).
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar FusedOps -f 1}
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g"})
@State(Scope.Benchmark)
public class FusedOpsBenchmark {
  /** Which op: retinex, edge, kl. */
  @Param({"retinex", "edge", "kl"})
  public String op;

  /** fused (our kernel) or stock (libtorch ops). */
  @Param({"fused", "stock"})
  public String impl;

  private Tensor a, b;

  @Setup(Level.Trial)
  public void setup() {
    NativeLibrary.ensureLoaded();
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(0);
      if (op.equals("kl")) {
        a = Retained.keep(torch.randn(4, 150, 64, 64).mul(new Scalar(3)).set_requires_grad(true));
        b = Retained.keep(torch.randn(4, 150, 64, 64).mul(new Scalar(3)));
      } else {
        a = Retained.keep(torch.rand(4, 3, 256, 256).set_requires_grad(true));
        b = Retained.keep(op.equals("retinex") ? torch.randn(4, 3, 256, 256).mul(new Scalar(0.3)).set_requires_grad(true)
            : torch.rand(4, 3, 256, 256));
      }
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    a.close();
    b.close();
  }

  private Tensor run() {
    boolean fused = impl.equals("fused");
    switch (op) {
      case "retinex": {
        // Z = [I ; mean I] for the estimator, X_r = I (1 + M): both kernels of spec §3 in one step.
        Tensor z = fused ? Retinex.prior(a, PriorMode.MEAN) : Oracles.prior(a, PriorMode.MEAN);
        Tensor xr = fused ? Retinex.lightUp(a, b) : Oracles.lightUp(a, b);
        return z.sum().add(xr.sum());
      }
      case "edge":
        return fused ? EdgeLoss.apply(a, b, EdgeOperator.DIFF) : Oracles.edge(a, b, EdgeOperator.DIFF);
      default:
        return fused ? KlLoss.apply(a, b, 1.0) : Oracles.kl(a, b, 1.0);
    }
  }

  @Benchmark
  public double forward() {
    try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      return run().item_double();
    }
  }

  @Benchmark
  public double forwardBackward() {
    try (PointerScope s = new PointerScope()) {
      Tensor l = run();
      l.backward();
      double r = a.grad().data_ptr_float().get();
      a.mutable_grad().reset();
      if (b.requires_grad()) b.mutable_grad().reset();
      return r;
    }
  }
}
