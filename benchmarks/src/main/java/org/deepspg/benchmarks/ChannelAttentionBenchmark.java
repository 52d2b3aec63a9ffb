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
import org.deepspg.ops.ChannelAttention;
import org.deepspg.ops.NativeLibrary;
import org.deepspg.testing.Oracles;
import org.openjdk.jmh.annotations.AuxCounters;
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
 * Fused channel attention (our kernel through {@link ChannelAttention}) against the same math composed from stock
 * libtorch ops (normalize → matmul → softmax → matmul, what the reference does), forward and forward+backward, at
 * the DeepSPG-S level-0 shape (d = 20, one head of 20, 256×256, batch 4) and level-2 shape (d = 80, four heads of 20,
 * 64×64, batch 4). Both run on the same JVM and the same intra-op thread count (libtorch's default = cores).
 *
 * <p>Measured: calls per second (the score) and, through the {@code bytes} aux counter, bytes per second under the
 * spec §2.3 traffic model (forward 4·B·d·N floats, forward+backward 12·B·d·N), i.e. the achieved bandwidth of our
 * kernel; for the baseline it is the same model bytes over its time (the stock chain really moves ≈10 and ≈24·B·d·N).
 *
 * <p>Forward+backward hands {@code dout} to autograd as the output's gradient ({@code o.backward(dout)}), the
 * same for both; until 2026-12-05 it ran {@code o.mul(dout).sum().backward()}, whose own stock ops (a product, a
 * sum and the product's backward, ≈ 6 passes over a 21 MB tensor at L0) were a fixed cost in both columns.
 *
 * <p>Pitfalls avoided: inputs are made once per trial and retained (no allocation in the measured loop besides the
 * op's own outputs), each invocation closes its outputs through a PointerScope (no scope crosses invocations), and
 * the result is returned so it is not dead code (JMH samples 05, 08).
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar ChannelAttention -f 1 -wi 3 -i 5}; the peer run
 * ({@code benchmarks/peers/run-peers.sh}) times the forward+backward pair in ms per call ({@code -bm avgt -tu ms})
 * with {@code -p threads=N}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g"})
@State(Scope.Benchmark)
public class ChannelAttentionBenchmark {
  /** "L0": d=20 h=1 256x256; "L2": d=80 h=4 64x64; batch 4 both. */
  @Param({"L0", "L2"})
  public String shape;

  /** Intra-op threads (libtorch's and so our kernels' OpenMP team); 0: the library's default (every processor). */
  @Param({"0"})
  public int threads;

  private Tensor x, y, v, f, tau, dout;
  private int heads;
  private long elems;

  /** Bytes-moved counter (spec §2.3 traffic model), reported per second by JMH. */
  @AuxCounters(AuxCounters.Type.OPERATIONS)
  @State(Scope.Thread)
  public static class Traffic {
    /** bytes of the model's traffic accumulated over the iteration (JMH reports bytes/s; divide by 1e9 for GB/s). */
    public long bytes;
  }

  @Setup(Level.Trial)
  public void setup() {
    NativeLibrary.ensureLoaded();
    if (threads > 0) torch.set_num_threads(threads);
    long b = 4, d, hw;
    if (shape.equals("L0")) {
      d = 20;
      heads = 1;
      hw = 256;
    } else {
      d = 80;
      heads = 4;
      hw = 64;
    }
    elems = b * d * hw * hw;
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(0);
      x = Retained.keep(torch.randn(b, d, hw, hw).set_requires_grad(true));
      y = Retained.keep(torch.randn(b, d, hw, hw).set_requires_grad(true));
      v = Retained.keep(torch.randn(b, d, hw, hw).set_requires_grad(true));
      f = Retained.keep(torch.rand(b, d, hw, hw));
      tau = Retained.keep(torch.ones(heads, 1, 1).set_requires_grad(true));
      dout = Retained.keep(torch.randn(b, d, hw, hw));
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    for (Tensor t : new Tensor[] {x, y, v, f, tau, dout}) t.close();
  }

  private double forwardOnly(boolean fused, Traffic tr) {
    try (PointerScope s = new PointerScope(); org.bytedeco.pytorch.NoGradGuard ng = new org.bytedeco.pytorch.NoGradGuard()) {
      Tensor o = fused ? ChannelAttention.apply(x, y, v, f, tau, heads) : Oracles.attention(x, y, v, f, tau, heads);
      tr.bytes += 4L * elems * 4;
      return o.data_ptr_float().get();
    }
  }

  private double forwardBackward(boolean fused, Traffic tr) {
    try (PointerScope s = new PointerScope()) {
      Tensor o = fused ? ChannelAttention.apply(x, y, v, f, tau, heads) : Oracles.attention(x, y, v, f, tau, heads);
      o.backward(dout, new BoolOptional(), false, new TensorArrayRefOptional()); // upstream gradient = dout
      double r = x.grad().data_ptr_float().get();
      for (Tensor t : new Tensor[] {x, y, v, tau}) t.mutable_grad().reset();
      tr.bytes += 12L * elems * 4;
      return r;
    }
  }

  @Benchmark
  public double fusedForward(Traffic tr) {
    return forwardOnly(true, tr);
  }

  @Benchmark
  public double stockForward(Traffic tr) {
    return forwardOnly(false, tr);
  }

  @Benchmark
  public double fusedForwardBackward(Traffic tr) {
    return forwardBackward(true, tr);
  }

  @Benchmark
  public double stockForwardBackward(Traffic tr) {
    return forwardBackward(false, tr);
  }
}
