/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.function.Function;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.testing.Tensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Several threads differentiate one shared, retained graph at once ({@code torch.grad} with {@code retain_graph},
 * as a thread pool computing per-sample gradients would): each pass must get exactly the single-threaded gradient,
 * as stock libtorch ops give. {@link NativeFunction} kept one gradient slot per output and input for all passes, so
 * concurrent passes read each other's gradients (or none: "appears to not have been used in the graph").
 */
class ConcurrentBackwardTest {
  private static final int THREADS = 4;
  private static final int ROUNDS = 50;

  @BeforeAll
  static void load() {
    NativeLibrary.ensureLoaded();
  }

  private static Tensor grad(Tensor loss, Tensor x) {
    return torch.grad(new TensorVector(loss), new TensorVector(x), new TensorVector(), new BoolOptional(true),
        false, false).get(0);
  }

  /** Asserts every concurrent pass's gradient equals the single-threaded one, with no exception. */
  private static void assertConcurrentPassesExact(String op, Function<Tensor, Tensor> f) throws Exception {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(3);
      Tensor x = Tensors.randn(2, 6, 7, 7).to(torch.ScalarType.Double).set_requires_grad(true);
      Tensor w = Tensors.randn(2, 6, 7, 7).to(torch.ScalarType.Double);
      Tensor loss = f.apply(x).mul(w).sum();
      Tensor want = grad(loss, x).clone();
      double[] worst = {0};
      List<Throwable> errors = new ArrayList<>();
      CyclicBarrier start = new CyclicBarrier(THREADS);
      Thread[] threads = new Thread[THREADS];
      for (int t = 0; t < THREADS; t++) {
        threads[t] = new Thread(() -> {
          try {
            start.await();
            for (int r = 0; r < ROUNDS; r++) {
              try (PointerScope s = new PointerScope()) {
                double d = Tensors.maxAbs(grad(loss, x).sub(want));
                synchronized (worst) {
                  worst[0] = Math.max(worst[0], d);
                }
              }
            }
          } catch (Throwable e) {
            synchronized (errors) {
              errors.add(e);
            }
          }
        });
        threads[t].start();
      }
      for (Thread t : threads) t.join();
      assertEquals(List.of(), errors.stream().map(Throwable::toString).toList(), op + ": exceptions");
      assertEquals(0.0, worst[0], 1e-12, op + ": worst |concurrent grad - single-thread grad|");
    }
  }

  @Test
  void sameConvConcurrentBackwardPassesGetTheirOwnGradients() throws Exception {
    Tensor k = Tensors.randn(6, 6, 3, 3).to(torch.ScalarType.Double);
    assertConcurrentPassesExact("SameConv", x -> SameConv.apply(x, k, null, 1));
  }

  @Test
  void channelLayerNormConcurrentBackwardPassesGetTheirOwnGradients() throws Exception {
    Tensor g = Tensors.randn(6).to(torch.ScalarType.Double);
    Tensor b = Tensors.randn(6).to(torch.ScalarType.Double);
    assertConcurrentPassesExact("ChannelLayerNormOp", x -> ChannelLayerNormOp.apply(x, g, b, 1e-5));
  }

  @Test
  void depthwiseGeluConcurrentBackwardPassesGetTheirOwnGradients() throws Exception {
    Tensor k = Tensors.randn(6, 1, 3, 3).to(torch.ScalarType.Double);
    assertConcurrentPassesExact("DepthwiseConv.conv3x3Gelu", x -> DepthwiseConv.conv3x3Gelu(x, k));
  }

  @Test
  void channelAttentionConcurrentBackwardPassesGetTheirOwnGradients() throws Exception {
    Tensor tau = Tensors.randn(2).abs().to(torch.ScalarType.Double);
    assertConcurrentPassesExact("ChannelAttention", x -> ChannelAttention.apply(x, x.flip(3), x, null, tau, 2));
  }
}
