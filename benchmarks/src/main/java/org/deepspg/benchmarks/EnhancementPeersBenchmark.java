/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.benchmarks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.model.DeepSPG;
import org.deepspg.model.DeepSPGConfig;
import org.deepspg.model.espnet.ESPNetv2;
import org.deepspg.model.hrnet.HRNet;
import org.deepspg.model.hrnet.HRNetConfig;
import org.deepspg.model.prior.EspnetPrior;
import org.deepspg.model.prior.HrnetPrior;
import org.deepspg.model.prior.ImagePrior;
import org.deepspg.ops.Backends;
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
 * Three inference workloads in DeepSPG-Java against ONNX Runtime's Java API running the same network exported from
 * PyTorch, same input size, same JVM, same intra-op thread count:
 *
 * <ul>
 *   <li>{@code network}: the DeepSPG-S enhancement-network forward with SEMs (no prior: the three semantic inputs are
 *       random stand-ins, as in the reference's {@code hr_feats}); ONNX from the spec's PyTorch reference
 *       ({@code benchmarks/peers/deepspg_peers.py});
 *   <li>{@code prior-hrnet-w48}: the paper's prior, {@code HrnetPrior.run} (normalisation, HRNetV2-W48, ADE20K head),
 *       random weights; ONNX from our PyTorch translation ({@code benchmarks/peers/prior_peers.py});
 *   <li>{@code prior-espnetv2}: the light prior, {@code EspnetPrior.run}, with the weights of
 *       {@code -Ddeepspg.espnetWeights=FILE} (else random, s = 0.5, 20 classes); ONNX from the same script;
 *   <li>{@code prior-hrnet-w48-features}, {@code prior-espnetv2-features}: the same priors' {@code features} (the
 *       three SEM maps alone, what enhancement runs: no HRNet head, no ESPNetv2 decoder); ONNX exported with
 *       {@code prior_peers.py --features-only} (outputs f0, f1, f2).
 * </ul>
 *
 * <p>PyTorch eager is timed by the Python scripts; {@code benchmarks/peers/run-peers.sh} runs everything in one go
 * and prints the table of ratios. Random weights: timing only.
 *
 * <p>Measured: milliseconds per forward, batch 1. Setup builds the model and inputs once per trial; each invocation
 * closes its output (PointerScope / try-with-resources), returns a value so nothing is dead code.
 *
 * <p>Run: {@code java -Ddeepspg.onnx=/tmp/deepspg_s.onnx -jar benchmarks/target/benchmarks.jar EnhancementPeers
 * -p threads=2}; the priors' ONNX files come from {@code -Ddeepspg.onnx.prior-hrnet-w48=...} and
 * {@code -Ddeepspg.onnx.prior-espnetv2=...}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 5, time = 5)
@Fork(value = 1, jvmArgsAppend = {"-Xmx6g"})
@State(Scope.Benchmark)
public class EnhancementPeersBenchmark {
  /** Suffix of a prior workload that times {@code ImagePrior.features} (what enhancement runs) instead of run. */
  private static final String FEATURES = "-features";

  /** deepspg: our Java network; onnxruntime: ORT Java on the exported reference. */
  @Param({"deepspg", "onnxruntime"})
  public String engine;

  /**
   * network: the enhancement network; prior-hrnet-w48 / prior-espnetv2: an image prior's {@code run}; with the
   * suffix -features: its {@code features}.
   */
  @Param({"network"})
  public String workload;

  /** Intra-op threads for both engines. */
  @Param({"2"})
  public int threads;

  /** Input height. */
  @Param({"416"})
  public int height;

  /** Input width. */
  @Param({"608"})
  public int width;

  /**
   * "true": oneDNN on, but only where its self-check passes on this machine ({@link OneDnn}); where it fails the trial
   * is refused (a configuration that computes wrong results is not a row). "false": oneDNN off.
   */
  @Param({"false"})
  public String mkldnn;

  private DeepSPG model;
  private ImagePrior prior;
  private Tensor input, s0, s1, s2;
  private OrtEnvironment env;
  private OrtSession session;
  private Map<String, OnnxTensor> feeds;

  @Setup(Level.Trial)
  public void setup() throws Exception {
    if (engine.equals("deepspg")) {
      Backends.init();
      torch.set_num_threads(threads);
      torch.manual_seed(0);
      model = new DeepSPG(DeepSPGConfig.s());
      model.eval();
      if (Boolean.parseBoolean(mkldnn)) {
        OneDnn.Verdict v = OneDnn.apply(OneDnn.Mode.AUTO, List.of(new OneDnn.Probe("DeepSPG-S forward 1x3x96x128",
            () -> {
              try (NoGradGuard g = new NoGradGuard()) {
                Tensor x = OneDnn.fixedRandom(new long[] {1, 3, 96, 128}, 5).abs().mul(new Scalar(0.3));
                return model.forward(x, OneDnn.fixedRandom(new long[] {1, 48, 24, 32}, 6),
                    OneDnn.fixedRandom(new long[] {1, 96, 12, 16}, 7), OneDnn.fixedRandom(new long[] {1, 192, 6, 8}, 8));
              }
            })));
        if (!v.enabled()) {
          throw new IllegalStateException("not timed: oneDNN " + v.describe() + " (wrong results on this machine)");
        }
      } else {
        OneDnn.apply(OneDnn.Mode.OFF, null);
      }
      if (!workload.equals("network")) {
        prior = buildPrior();
        try (PointerScope s = new PointerScope()) {
          input = Retained.keep(torch.rand(1, 3, height, width));
        }
        return;
      }
      try (PointerScope s = new PointerScope()) {
        input = Retained.keep(torch.rand(1, 3, height, width).mul(new org.bytedeco.pytorch.Scalar(0.3)));
        s0 = Retained.keep(torch.randn(1, 48, height / 4, width / 4));
        s1 = Retained.keep(torch.randn(1, 96, height / 8, width / 8));
        s2 = Retained.keep(torch.randn(1, 192, height / 16, width / 16));
      }
    } else {
      String path = workload.equals("network") ? System.getProperty("deepspg.onnx", "/tmp/deepspg_s.onnx")
          : System.getProperty("deepspg.onnx." + workload, "/tmp/deepspg_" + workload + ".onnx");
      env = OrtEnvironment.getEnvironment();
      OrtSession.SessionOptions o = new OrtSession.SessionOptions();
      o.setIntraOpNumThreads(threads);
      o.setInterOpNumThreads(1);
      o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      session = env.createSession(path, o);
      feeds = new HashMap<>();
      if (!workload.equals("network")) {
        feeds.put("input", random(new long[] {1, 3, height, width}, 1, 1f));
        return;
      }
      feeds.put("input", random(new long[] {1, 3, height, width}, 1, 0.3f));
      feeds.put("s0", random(new long[] {1, 48, height / 4, width / 4}, 2, 1));
      feeds.put("s1", random(new long[] {1, 96, height / 8, width / 8}, 3, 1));
      feeds.put("s2", random(new long[] {1, 192, height / 16, width / 16}, 4, 1));
    }
  }

  private ImagePrior buildPrior() throws Exception {
    switch (workload.replace(FEATURES, "")) {
      case "prior-hrnet-w48":
        return new HrnetPrior(new HRNet(HRNetConfig.w48Ade20k()));
      case "prior-espnetv2":
        String w = System.getProperty("deepspg.espnetWeights");
        return w == null || w.isEmpty() ? new EspnetPrior(new ESPNetv2(new ESPNetv2.Config(0.5, 20)))
            : EspnetPrior.load(Path.of(w));
      default:
        throw new IllegalArgumentException("workload: network, prior-hrnet-w48 or prior-espnetv2 (+ " + FEATURES
            + "), got " + workload);
    }
  }

  private OnnxTensor random(long[] shape, long seed, float scale) throws Exception {
    int n = 1;
    for (long d : shape) n *= (int) d;
    float[] a = new float[n];
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = 0; i < n; i++) a[i] = (float) r.nextDouble() * scale;
    return OnnxTensor.createTensor(env, FloatBuffer.wrap(a), shape);
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    if (session != null) {
      for (OnnxTensor t : feeds.values()) t.close();
      session.close();
    }
    if (input != null) for (Tensor t : new Tensor[] {input, s0, s1, s2}) if (t != null) t.close();
    if (prior != null) prior.close();
  }

  @Benchmark
  public float forward() throws Exception {
    if (session != null) {
      try (OrtSession.Result r = session.run(feeds)) {
        return ((float[][][][]) r.get(0).getValue())[0][0][0][0];
      }
    }
    try (PointerScope s = new PointerScope(); InferenceMode im = new InferenceMode()) {
      if (prior != null) {
        if (workload.endsWith(FEATURES)) {
          return prior.features(input)[0].data_ptr_float().get();
        }
        return prior.run(input).logits().data_ptr_float().get();
      }
      Tensor o = model.forward(input, s0, s1, s2);
      return o.data_ptr_float().get();
    }
  }
}
