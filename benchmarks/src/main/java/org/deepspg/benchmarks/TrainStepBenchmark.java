/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.benchmarks;

import java.nio.file.Files;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.ops.OneDnn;
import org.deepspg.train.Priors;
import org.deepspg.train.TrainConfig;
import org.deepspg.train.Trainer;
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
 * One training step of the Baseline configuration ({@code configs/baseline_cpu.properties}: DeepSPG-S without SEMs,
 * batch 4 of 128×128 crops, λ_pix = 1, λ_edge = 0.5, Adam, grad-norm clip 0.01) through {@link Trainer#trainStep}:
 * forward, losses, backward, clip, Adam. The PyTorch-eager peer of the same step is
 * {@code benchmarks/peers/deepspg_peers.py --train-step}; {@code run-peers.sh} runs both. Random data (a fixed batch):
 * timing only; the data loader, which runs on its own threads, is not part of it. oneDNN off (it computes wrong
 * convolutions on some CPUs, see {@link OneDnn}).
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar TrainStep -p threads=2}
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 5, time = 5)
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g"})
@State(Scope.Benchmark)
public class TrainStepBenchmark {
  /** Intra-op threads. */
  @Param({"2"})
  public int threads;

  private Trainer trainer;
  private Tensor low, high;

  @Setup(Level.Trial)
  public void setup() throws Exception {
    Properties p = new Properties();
    p.setProperty("variant", "baseline");
    p.setProperty("patch", "128");
    p.setProperty("batch", "4");
    p.setProperty("threads", Integer.toString(threads));
    p.setProperty("run.dir", Files.createTempDirectory("deepspg-bench-train").toString());
    trainer = new Trainer(TrainConfig.fromProperties(p), Priors.NONE);
    OneDnn.apply(OneDnn.Mode.OFF, null);
    try (PointerScope s = new PointerScope()) {
      torch.manual_seed(0);
      low = torch.rand(4, 3, 128, 128).mul(new Scalar(0.2));
      high = torch.rand(4, 3, 128, 128);
      low.retainReference();
      high.retainReference();
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    low.close();
    high.close();
  }

  @Benchmark
  public double step() {
    try (PointerScope s = new PointerScope()) {
      return trainer.trainStep(low, high, 3e-4, false).gradNorm();
    }
  }
}
