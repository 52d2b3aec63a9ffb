/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.benchmarks;

import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.nn.IGMSA;
import org.deepspg.ops.FoldedAttention;
import org.deepspg.ops.NativeLibrary;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * One IG-MSA block in inference (attention, positional branch and the block's residual: what IGAB calls) at
 * DeepSPG-S's level-0 width (d = 20, one head) on a full-resolution map, through the folded path
 * ({@link FoldedAttention}: a Gram + values sweep and a mixing sweep) or the unfolded one (q/k/v projection, fused
 * attention, projection; {@code -Ddeepspg.foldedattention=off}). Each path runs in its own fork, so the self-check's
 * verdict is the one the row names (the setup refuses a fork whose verdict differs).
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar Igmsa -p size=1088x1920}
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx6g"})
@State(Scope.Benchmark)
public class IgmsaBenchmark {
  /** H x W of the block's input. */
  @Param({"416x608", "1088x1920"})
  public String size;

  /** folded (FoldedAttention) or unfolded. */
  @Param({"folded", "unfolded"})
  public String path;

  private IGMSA block;
  private Tensor x, illu;

  @Setup(Level.Trial)
  public void setup() {
    System.setProperty(FoldedAttention.MODE_PROPERTY, path.equals("folded") ? "auto" : "off");
    NativeLibrary.ensureLoaded();
    if (FoldedAttention.status().enabled() != path.equals("folded")) {
      throw new IllegalStateException("the folded path's verdict (" + FoldedAttention.status().describe()
          + ") does not fit this row (" + path + ")");
    }
    String[] hw = size.split("x");
    long h = Long.parseLong(hw[0]), w = Long.parseLong(hw[1]);
    torch.manual_seed(0);
    block = new IGMSA(20, 1);
    block.eval();
    try (PointerScope s = new PointerScope()) {
      x = Retained.keep(torch.randn(1, 20, h, w));
      illu = Retained.keep(torch.randn(1, 20, h, w));
    }
  }

  /** @return a value of the output, so that the call is not dead code */
  @Benchmark
  public float forward() {
    try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      return block.forward(x, illu, x).data_ptr_float().get(0);
    }
  }
}
