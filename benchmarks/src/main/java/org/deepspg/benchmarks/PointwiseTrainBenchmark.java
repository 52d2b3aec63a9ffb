/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.benchmarks;

import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.nn.FastConv;
import org.deepspg.ops.DenseConv;
import org.deepspg.ops.OneDnn;
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
 * One 1×1 layer of DeepSPG-S in training, forward + backward (gradients of x and W), at the Baseline training step's
 * shapes (batch 4, 128×128 crops; levels 0–2): {@code native} = {@link DenseConv#pointwise} (the training path: direct
 * convolution forward, dx on the transposed weight, dW on the Gram kernel), {@code bmm} = the stock batched matrix
 * product {@link FastConv#channelLinear} with libtorch's autograd (OpenBLAS), which the training path used before.
 * oneDNN off.
 *
 * <p>Traffic model (floats): forward reads x and writes y; backward reads dy and W for dx (written), dy and x for dW.
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar PointwiseTrain -p threads=2}
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g"})
@State(Scope.Benchmark)
public class PointwiseTrainBenchmark {
  /** in x out @ side: the FFN's projections at levels 0–2 and IG-MSA's q/k/v at level 0. */
  @Param({"20x80@128", "80x20@128", "20x60@128", "40x160@64", "80x320@32"})
  public String layer;

  /** native (DenseConv.pointwise) or bmm (stock). */
  @Param({"native", "bmm"})
  public String impl;

  /** Intra-op threads. */
  @Param({"2"})
  public int threads;

  private Tensor x, w, dy;

  @Setup(Level.Trial)
  public void setup() {
    torch.set_num_threads(threads);
    OneDnn.apply(OneDnn.Mode.OFF, null);
    String[] io = layer.split("@")[0].split("x");
    long in = Long.parseLong(io[0]), out = Long.parseLong(io[1]), side = Long.parseLong(layer.split("@")[1]);
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(0);
      x = Retained.keep(torch.randn(4, in, side, side).set_requires_grad(true));
      w = Retained.keep(torch.randn(out, in).set_requires_grad(true));
      dy = Retained.keep(torch.randn(4, out, side, side));
    }
    if (impl.equals("native") && !DenseConv.trainable(x, w)) {
      throw new IllegalStateException("DenseConv.pointwise unusable here: " + DenseConv.status().describe());
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    x.close();
    w.close();
    dy.close();
  }

  @Benchmark
  public double forwardBackward() {
    try (PointerScope s = new PointerScope()) {
      Tensor y = impl.equals("native") ? DenseConv.pointwise(x, w, null, null) : FastConv.channelLinear(w, null, x);
      y.backward(dy, new BoolOptional(), false, new TensorArrayRefOptional());
      double r = w.grad().data_ptr_float().get();
      x.mutable_grad().reset();
      w.mutable_grad().reset();
      return r;
    }
  }
}
