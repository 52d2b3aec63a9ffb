/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.deepspg.kernels.global.kernels;
import org.deepspg.testing.GradCheck;
import org.deepspg.testing.Parity;
import org.deepspg.testing.Requirements;
import org.deepspg.testing.Tensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link DepthwiseConv} against the stock libtorch op {@code F.conv2d(x, w, padding=1, groups=C)} (+ {@code gelu}):
 * float32 forward and gradients (contiguous and permuted inputs), float64 finite differences, autograd wiring,
 * argument checks, flat native memory, CUDA vs CPU when a GPU exists.
 */
class DepthwiseConvTest {
  /**
   * float32 forward: a 9-term stencil in a different summation order than libtorch's (~1e-7 relative), plus the
   * fused GELU's rational erf approximation (&lt; 5e-7 absolute on erf, i.e. ≤ 1e-6 relative to max |y|).
   */
  static final double FWD_TOL = 2e-6;
  /**
   * float32 gradients: dx is a 9-term stencil; dweight sums B·H·W products (up to ~4,000 here) in float per row and
   * in double across rows, while libtorch sums in float in its own order: ~1e-6 relative to the largest gradient.
   * GELU' adds the erf/exp approximations (~1e-6). 1e-5 leaves a 10x margin.
   */
  static final double GRAD_TOL = 1e-5;

  @BeforeAll
  static void load() {
    NativeLibrary.ensureLoaded();
  }

  /** The stock-op oracle: conv2d with groups = C (libtorch's native kernel; oneDNN is off, see Backends). */
  static Tensor oracle(Tensor x, Tensor w, boolean gelu) {
    Tensor y = torch.conv2d(x, w, new TensorOptional(), new long[] {1, 1}, new long[] {1, 1}, new long[] {1, 1},
        x.size(1));
    return gelu ? torch.gelu(y) : y;
  }

  static Tensor ours(Tensor x, Tensor w, boolean gelu) {
    return gelu ? DepthwiseConv.conv3x3Gelu(x, w) : DepthwiseConv.conv3x3(x, w);
  }

  static Stream<Arguments> shapes() {
    List<Arguments> c = new ArrayList<>();
    long[][] shapes = {{2, 3, 5, 7}, {1, 1, 1, 1}, {1, 2, 1, 9}, {2, 4, 9, 1}, {1, 20, 37, 45}, {3, 5, 17, 3},
        {1, 8, 64, 96}};
    for (long[] s : shapes)
      for (boolean gelu : new boolean[] {false, true})
        for (boolean permuted : new boolean[] {false, true}) c.add(Arguments.of(s, gelu, permuted));
    return c.stream();
  }

  /** Permuted layout: the leaf is [B, H, W, C] and the op sees its NCHW permute (channels-last strides). */
  private static Tensor view(Tensor leaf, boolean permuted) {
    return permuted ? leaf.permute(0, 3, 1, 2) : leaf;
  }

  @ParameterizedTest(name = "{0} gelu={1} permuted={2}")
  @MethodSource("shapes")
  void matchesStockConv(long[] s, boolean gelu, boolean permuted) {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(s[1] * 100 + s[2] * 10 + s[3]);
      Tensor x = (permuted ? torch.randn(s[0], s[2], s[3], s[1]) : torch.randn(s)).requires_grad_(true);
      Tensor w = torch.randn(s[1], 1, 3, 3).mul(new org.bytedeco.pytorch.Scalar(0.5)).requires_grad_(true);
      Parity.check("dwconv gelu=" + gelu + " permuted=" + permuted,
          t -> new Tensor[] {ours(view(t[0], permuted), t[1], gelu)},
          t -> new Tensor[] {oracle(view(t[0], permuted), t[1], gelu)},
          new Tensor[] {x, w}, FWD_TOL, GRAD_TOL, 3);
    }
  }

  /** The dilated/strided form (ESPNetv2's EESP branches) against conv2d(stride s, padding d, dilation d, groups C). */
  @ParameterizedTest(name = "{0} d={1} s={2}")
  @MethodSource("dilatedCases")
  void dilatedMatchesStockConv(long[] s, int d, int stride) {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(d * 10L + stride + s[2]);
      Tensor x = torch.randn(s).requires_grad_(true);
      Tensor w = torch.randn(s[1], 1, 3, 3).mul(new org.bytedeco.pytorch.Scalar(0.5)).requires_grad_(true);
      Parity.check("dwconv d=" + d + " s=" + stride,
          t -> new Tensor[] {DepthwiseConv.conv3x3(t[0], t[1], d, stride)},
          t -> new Tensor[] {torch.conv2d(t[0], t[1], new TensorOptional(), new long[] {stride, stride},
              new long[] {d, d}, new long[] {d, d}, t[0].size(1))},
          new Tensor[] {x, w}, FWD_TOL, GRAD_TOL, 7);
    }
  }

  /**
   * The same cases in inference (no gradient recorded): the native dilated, strided pass (d = 1 with s = 1 keeps the
   * plain kernel), against float32 and float64 conv2d; a permuted (channels-last) input is copied first.
   */
  @ParameterizedTest(name = "{0} d={1} s={2}")
  @MethodSource("dilatedCases")
  void dilatedInferenceMatchesStockConv(long[] s, int d, int stride) {
    KernelStatus st = DepthwiseConv.dilatedStatus();
    assertTrue(st.enabled(), st.describe());
    assertTrue(st.maxRelError() <= DepthwiseConv.DILATED_TOLERANCE, st.describe());
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      torch.manual_seed(d * 10L + stride + s[2]);
      Tensor leaf = torch.randn(s[0], s[2], s[3], s[1]);
      Tensor w = torch.randn(s[1], 1, 3, 3).mul(new org.bytedeco.pytorch.Scalar(0.5));
      for (Tensor x : new Tensor[] {leaf.permute(0, 3, 1, 2).contiguous(), leaf.permute(0, 3, 1, 2)}) {
        long before = DepthwiseConv.dilatedCalls();
        Tensor got = DepthwiseConv.conv3x3(x, w, d, stride);
        assertEquals(d > 1 || stride == 2 ? 1 : 0, DepthwiseConv.dilatedCalls() - before, "the native pass ran");
        Tensor want = torch.conv2d(x, w, new TensorOptional(), new long[] {stride, stride}, new long[] {d, d},
            new long[] {d, d}, x.size(1));
        assertArrayEquals(want.sizes().vec().get(), got.sizes().vec().get());
        Tensors.assertClose("dwconv d=" + d + " s=" + stride, got, want, FWD_TOL, FWD_TOL);
        Tensor want64 = torch.conv2d(x.to(ScalarType.Double), w.to(ScalarType.Double), new TensorOptional(),
            new long[] {stride, stride}, new long[] {d, d}, new long[] {d, d}, x.size(1));
        Tensors.assertClose("dwconv d=" + d + " s=" + stride + " vs float64", got.to(ScalarType.Double), want64,
            FWD_TOL, FWD_TOL);
      }
    }
  }

  /**
   * The backward's AVX-512 weight-gradient sums: on (self-check passed) on a CPU with AVX-512F, and the float
   * backward with them on and off agrees with the float64 kernel at a training shape (128 wide) and an odd one.
   */
  @Test
  void backwardWeightGradientSumsPassTheirSelfCheckAndAgreeWithTheRowSums() {
    KernelStatus st = DepthwiseConv.backwardStatus();
    boolean avx512 = kernels.deepspg_dwconv3x3_backward_avx512(1) == kernels.DEEPSPG_OK;
    try {
      assertEquals(avx512, st.enabled(), st.describe());
      if (avx512) assertTrue(st.maxRelError() <= DepthwiseConv.BACKWARD_TOLERANCE, st.describe());
      for (int on : avx512 ? new int[] {1, 0} : new int[] {0}) {
        kernels.deepspg_dwconv3x3_backward_avx512(on);
        assertTrue(DepthwiseConv.backwardProbeError() <= DepthwiseConv.BACKWARD_TOLERANCE, "probes, avx512=" + on);
        for (long[] sh : new long[][] {{4, 20, 24, 128}, {1, 3, 20, 45}}) {
          try (PointerScope scope = new PointerScope()) {
            torch.manual_seed(sh[3]);
            Tensor x = torch.randn(sh[0], sh[1], sh[2], sh[3]).requires_grad_(true);
            Tensor w = torch.randn(sh[1], 1, 3, 3).mul(new org.bytedeco.pytorch.Scalar(0.5)).requires_grad_(true);
            Tensor dy = torch.randn(sh[0], sh[1], sh[2], sh[3]);
            DepthwiseConv.conv3x3Gelu(x, w).backward(dy, new org.bytedeco.pytorch.BoolOptional(), false,
                new org.bytedeco.pytorch.TensorArrayRefOptional());
            Tensor x64 = x.detach().to(ScalarType.Double).requires_grad_(true);
            Tensor w64 = w.detach().to(ScalarType.Double).requires_grad_(true);
            DepthwiseConv.conv3x3Gelu(x64, w64).backward(dy.to(ScalarType.Double),
                new org.bytedeco.pytorch.BoolOptional(), false, new org.bytedeco.pytorch.TensorArrayRefOptional());
            Tensors.assertClose("dweight avx512=" + on, w.grad().to(ScalarType.Double), w64.grad(), 1e-4, 1e-5);
            Tensors.assertClose("dx avx512=" + on, x.grad().to(ScalarType.Double), x64.grad(), 1e-5, 1e-5);
          }
        }
      }
    } finally {
      kernels.deepspg_dwconv3x3_backward_avx512(st.enabled() ? 1 : 0);
    }
  }

  static Stream<Arguments> dilatedCases() {
    List<Arguments> c = new ArrayList<>();
    long[][] shapes = {{2, 3, 12, 16}, {1, 5, 13, 10}, {1, 4, 7, 9}, {2, 2, 1, 5}, {1, 32, 26, 38}};
    for (long[] s : shapes)
      for (int d : new int[] {1, 2, 3, 4})
        for (int st : new int[] {1, 2}) c.add(Arguments.of(s, d, st));
    return c.stream();
  }

  @Test
  void dilatedGradCheckFloat64() {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(21);
      Tensor x = torch.randn(1, 2, 7, 5).to(ScalarType.Double).requires_grad_(true);
      Tensor w = torch.randn(2, 1, 3, 3).to(ScalarType.Double).requires_grad_(true);
      GradCheck.check("dwconv d=3 s=2", t -> new Tensor[] {DepthwiseConv.conv3x3(t[0], t[1], 3, 2)},
          new Tensor[] {x, w}, 22);
      assertThrows(IllegalArgumentException.class, () -> DepthwiseConv.conv3x3(x, w, 0, 1));
      assertThrows(IllegalArgumentException.class, () -> DepthwiseConv.conv3x3(x, w, 2, 3));
    }
  }

  /** Only one of the two inputs requires grad: the other gets none and the first matches the oracle. */
  @ParameterizedTest(name = "gelu={0}")
  @ValueSource(booleans = {false, true})
  void partialRequiresGrad(boolean gelu) {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(5);
      Tensor x = torch.randn(2, 3, 6, 5), w = torch.randn(3, 1, 3, 3);
      Parity.check("weight only", t -> new Tensor[] {ours(t[0], t[1], gelu)},
          t -> new Tensor[] {oracle(t[0], t[1], gelu)}, new Tensor[] {x, w.requires_grad_(true)}, FWD_TOL, GRAD_TOL, 4);
      Tensor w2 = torch.randn(3, 1, 3, 3);
      Parity.check("x only", t -> new Tensor[] {ours(t[0], t[1], gelu)},
          t -> new Tensor[] {oracle(t[0], t[1], gelu)}, new Tensor[] {x.requires_grad_(true), w2}, FWD_TOL, GRAD_TOL,
          5);
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2, 3})
  void gradCheckFloat64(long seed) {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(seed);
      Tensor x = torch.randn(2, 3, 4, 5).to(ScalarType.Double).requires_grad_(true);
      Tensor w = torch.randn(3, 1, 3, 3).to(ScalarType.Double).requires_grad_(true);
      GradCheck.check("dwconv", t -> new Tensor[] {DepthwiseConv.conv3x3(t[0], t[1])}, new Tensor[] {x, w}, seed);
      GradCheck.check("dwconv+gelu", t -> new Tensor[] {DepthwiseConv.conv3x3Gelu(t[0], t[1])}, new Tensor[] {x, w},
          seed + 10);
      Tensor x1 = torch.randn(1, 2, 1, 3).to(ScalarType.Double).requires_grad_(true);
      Tensor w1 = torch.randn(2, 1, 3, 3).to(ScalarType.Double).requires_grad_(true);
      GradCheck.check("dwconv H=1", t -> new Tensor[] {DepthwiseConv.conv3x3Gelu(t[0], t[1])}, new Tensor[] {x1, w1},
          seed + 20);
    }
  }

  /** float64 forward equals the float64 stock conv to rounding. */
  @Test
  void float64MatchesStock() {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(9);
      Tensor x = torch.randn(2, 4, 19, 23).to(ScalarType.Double), w = torch.randn(4, 1, 3, 3).to(ScalarType.Double);
      Tensors.assertClose("f64 forward", DepthwiseConv.conv3x3(x, w), oracle(x, w, false), 1e-12, 1e-12);
      Tensors.assertClose("f64 gelu forward", DepthwiseConv.conv3x3Gelu(x, w), oracle(x, w, true), 1e-12, 1e-12);
    }
  }

  /** No grad mode and inputs without requires_grad give plain outputs (no graph). */
  @Test
  void noGraphWithoutGrad() {
    try (PointerScope scope = new PointerScope()) {
      int before = NativeFunction.liveGraphs();
      Tensor x = torch.randn(1, 2, 4, 4).requires_grad_(true), w = torch.randn(2, 1, 3, 3);
      try (NoGradGuard g = new NoGradGuard()) {
        Tensor y = DepthwiseConv.conv3x3Gelu(x, w);
        assertFalse(y.requires_grad());
      }
      assertFalse(DepthwiseConv.conv3x3(x.detach(), w).requires_grad());
      assertEquals(before, NativeFunction.liveGraphs());
      assertTrue(DepthwiseConv.conv3x3(x, w).requires_grad());
    }
  }

  @Test
  void emptyBatch() {
    try (PointerScope scope = new PointerScope()) {
      Tensor x = torch.randn(0, 3, 4, 4).requires_grad_(true), w = torch.randn(3, 1, 3, 3).requires_grad_(true);
      Tensor y = DepthwiseConv.conv3x3Gelu(x, w);
      assertEquals(0, y.numel());
      y.sum().backward();
      assertEquals(0.0, w.grad().abs().sum().item_double());
    }
  }

  @Test
  void rejectsBadArguments() {
    try (PointerScope scope = new PointerScope()) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> DepthwiseConv.conv3x3(torch.randn(1, 3, 4, 4), torch.randn(4, 1, 3, 3)));
      assertTrue(e.getMessage().contains("[4, 1, 3, 3]") && e.getMessage().contains("[1, 3, 4, 4]"), e.getMessage());
      e = assertThrows(IllegalArgumentException.class,
          () -> DepthwiseConv.conv3x3(torch.randn(1, 3, 4, 4), torch.randn(3, 1, 5, 5)));
      assertTrue(e.getMessage().contains("[3, 1, 5, 5]"), e.getMessage());
      e = assertThrows(IllegalArgumentException.class,
          () -> DepthwiseConv.conv3x3(torch.randn(3, 4, 4), torch.randn(3, 1, 3, 3)));
      assertTrue(e.getMessage().contains("[3, 4, 4]"), e.getMessage());
      assertThrows(IllegalArgumentException.class,
          () -> DepthwiseConv.conv3x3Gelu(torch.randn(1, 3, 4, 4), torch.randn(3, 1, 3, 3).to(ScalarType.Double)));
      assertThrows(IllegalArgumentException.class,
          () -> DepthwiseConv.conv3x3(torch.randn(1, 3, 4, 4).to(ScalarType.Int), torch.randn(3, 1, 3, 3)));
    }
  }

  /**
   * 2,000 forward+backward calls leave native memory flat and free every graph (method of NativeFunctionTest): RSS
   * after the first round vs after the last must grow by less than 16 MiB. A graph leaked per call would keep its
   * saved x and pre-activation (1x8x16x16 floats, 8 KB each) plus glue: over 24 MB across the 1,500 measured calls.
   */
  @Test
  void manyCallsKeepNativeMemoryFlat() {
    Tensor x = torch.randn(1, 8, 16, 16).requires_grad_(true), w = torch.randn(8, 1, 3, 3).requires_grad_(true);
    int before = NativeFunction.liveGraphs();
    long[] rss = new long[4];
    for (int r = 0; r < rss.length; r++) {
      for (int i = 0; i < 500; i++) {
        try (PointerScope s = new PointerScope()) {
          DepthwiseConv.conv3x3Gelu(x, w).sum().backward();
        }
      }
      System.gc();
      rss[r] = Pointer.physicalBytes();
    }
    assertEquals(before, NativeFunction.liveGraphs(), "graphs left alive");
    long growth = rss[rss.length - 1] - rss[0];
    assertTrue(growth < (16L << 20), "RSS grew by " + (growth >> 10) + " KiB");
  }

  @ParameterizedTest(name = "gelu={0}")
  @ValueSource(booleans = {false, true})
  void cudaMatchesCpu(boolean gelu) {
    Requirements.cuda();
    try (PointerScope scope = new PointerScope()) {
      Device cuda = new Device("cuda"), cpu = new Device("cpu");
      torch.manual_seed(12);
      Tensor x = torch.randn(2, 6, 23, 17).requires_grad_(true), w = torch.randn(6, 1, 3, 3).requires_grad_(true);
      Parity.check("dwconv cuda-vs-cpu gelu=" + gelu,
          t -> new Tensor[] {ours(t[0].to(cuda, t[0].scalar_type()), t[1].to(cuda, t[1].scalar_type()), gelu)
              .to(cpu, t[0].scalar_type())},
          t -> new Tensor[] {ours(t[0], t[1], gelu)}, new Tensor[] {x, w}, FWD_TOL, GRAD_TOL, 13);
      Parity.check("dwconv cuda-vs-oracle gelu=" + gelu,
          t -> new Tensor[] {ours(t[0].to(cuda, t[0].scalar_type()), t[1].to(cuda, t[1].scalar_type()), gelu)
              .to(cpu, t[0].scalar_type())},
          t -> new Tensor[] {oracle(t[0], t[1], gelu)}, new Tensor[] {x, w}, FWD_TOL, GRAD_TOL, 14);
    }
  }
}
