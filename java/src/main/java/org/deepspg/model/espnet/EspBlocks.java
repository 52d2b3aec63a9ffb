/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.espnet;

import static org.bytedeco.pytorch.global.torch.cat;
import static org.bytedeco.pytorch.global.torch.sigmoid;

import java.util.List;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.BatchNorm2dImpl;
import org.bytedeco.pytorch.BatchNormOptions;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.Conv2dOptions;
import org.bytedeco.pytorch.PReLUImpl;
import org.bytedeco.pytorch.PReLUOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.deepspg.nn.FastConv;
import org.deepspg.nn.JavaModule;
import org.deepspg.ops.AvgPool;
import org.deepspg.ops.DenseConv;
import org.deepspg.ops.DepthwiseConv;
import org.deepspg.ops.UpsampleSum;

/** The building blocks of {@link ESPNetv2} (package-private); child names follow the upstream state dict. */
final class EspBlocks {
  private EspBlocks() {}

  /** BatchNorm eps of every BN in the network. */
  static final double BN_EPS = 1e-5;

  /** Conv2d k×k with "same" padding d·(k−1)/2. */
  static Conv2dImpl conv(int in, int out, int k, int stride, int dilation, int groups, boolean bias) {
    if (in % groups != 0 || out % groups != 0) {
      throw new IllegalArgumentException("conv: channels " + in + "->" + out + " not divisible by groups " + groups);
    }
    Conv2dOptions o = new Conv2dOptions(in, out, new LongPointer(k, k));
    o.stride().put(0, stride).put(1, stride);
    int pad = dilation * (k - 1) / 2;
    o.padding().put(new LongPointer(pad, pad));
    o.dilation().put(0, dilation).put(1, dilation);
    o.groups().put(groups);
    o.bias().put(bias);
    return new Conv2dImpl(o);
  }

  /**
   * Runs a convolution built by {@link #conv} on the project's fast paths where its geometry has one, else through
   * {@code Conv2dImpl.forward}: depthwise 3×3 without bias (any dilation, stride 1 or 2) on
   * {@link DepthwiseConv#conv3x3(Tensor, Tensor, int, int)}; at stride 1 without dilation, 1×1 as matrix products
   * ({@link FastConv#pointwise}; grouped: one batched product over the groups) and other 3×3 (grouped or dense) on
   * {@link FastConv#sameConv}. In inference ({@link DenseConv#usable}: float32 CPU, no gradient to record) a dense
   * strided layer (level 1's 3×3 / 2) and a grouped 1×1 with at least {@value FastConv#GROUPED_MIN_OUT} outputs per
   * group run on the direct convolution's kernels instead ({@link DenseConv#forward(Tensor, Tensor, Tensor, Tensor,
   * int, boolean)}, {@link DenseConv#grouped}). Kernel size and groups are read from the weight and the input.
   * libtorch's CPU fallback (oneDNN off) runs a grouped convolution one group at a time through im2col and a tiny
   * matrix product: the EESP branches and 1×1s and most of ESPNetv2's decoder (the EPP branches and merges, the EPW
   * expansions). Same function, same parameters and state dict; differentiable (stock autograd or the native
   * backward) whenever a gradient is recorded.
   *
   * @param conv the layer, built by {@link #conv} ("same" padding d·(k−1)/2)
   * @param stride its stride
   * @param dilation its dilation
   * @param x {@code [B, in, H, W]}
   * @return the layer's output
   */
  static Tensor run(Conv2dImpl conv, int stride, int dilation, Tensor x) {
    Tensor w = conv.weight();
    long in = x.size(1);
    if (w.dim() != 4 || in % w.size(1) != 0) {
      return conv.forward(x); // libtorch names the mismatch
    }
    int groups = (int) (in / w.size(1));
    long k = w.size(2);
    Tensor bias = conv.bias();
    boolean hasBias = bias != null && bias.defined();
    if (k == 3 && w.size(1) == 1 && w.size(0) == in && !hasBias && (stride == 1 || stride == 2)) {
      return DepthwiseConv.conv3x3(x, w, dilation, stride);
    }
    Tensor b = hasBias ? bias : null;
    if (stride != 1 || dilation != 1) {
      if (groups == 1 && dilation == 1 && stride == 2 && k % 2 == 1 && DenseConv.usable(x, w, b)) {
        return DenseConv.forward(x, w, b, null, stride, false);
      }
      return conv.forward(x);
    }
    if (k == 1) {
      if (groups == 1) return FastConv.pointwise(conv, x);
      if (w.size(0) / groups >= FastConv.GROUPED_MIN_OUT && DenseConv.usable(x, w, b)) {
        return DenseConv.grouped(x, w, b, null, groups);
      }
      return pointwiseGrouped(conv, groups, x);
    }
    return k == 3 ? FastConv.sameConv(conv, x, groups) : conv.forward(x);
  }

  /** A grouped 1×1 convolution as one batched product: [G, out/G, in/G] × [B, G, in/G, H·W]. */
  private static Tensor pointwiseGrouped(Conv2dImpl conv, int groups, Tensor x) {
    Tensor w = conv.weight();
    long b = x.size(0), in = x.size(1), h = x.size(2), wd = x.size(3), out = w.size(0);
    if (out % groups != 0) {
      throw new IllegalArgumentException("grouped 1x1 conv: " + out + " output channels not divisible by " + groups
          + " groups");
    }
    Tensor wg = w.reshape(groups, out / groups, in / groups);
    Tensor y = b == 1 ? wg.bmm(x.reshape(groups, in / groups, h * wd))
        : wg.matmul(x.reshape(b, groups, in / groups, h * wd));
    Tensor bias = conv.bias();
    if (bias != null && bias.defined()) {
      y = y.reshape(b, out, h * wd).add(bias.reshape(1, out, 1));
    }
    return y.reshape(b, out, h, wd);
  }

  static BatchNorm2dImpl bn(int c) {
    BatchNormOptions o = new BatchNormOptions(c);
    o.eps().put(BN_EPS);
    return new BatchNorm2dImpl(o);
  }

  static PReLUImpl prelu(int c) {
    PReLUOptions o = new PReLUOptions();
    o.num_parameters().put(c);
    return new PReLUImpl(o);
  }

  /** AvgPool 3×3, stride 2, pad 1, count_include_pad = true ({@link AvgPool}: native in inference). */
  static Tensor avgPool(Tensor x) {
    return AvgPool.pool3x3s2(x);
  }

  /**
   * Bilinear resize with align_corners = true: {@link UpsampleSum}'s native pass in inference (libtorch's indices and
   * weights, self-checked), else libtorch's op.
   */
  static Tensor resize(Tensor x, long h, long w) {
    return UpsampleSum.forward(null, new Tensor[] {x}, h, w, true, false);
  }

  static Tensor cat2(Tensor a, Tensor b) {
    return cat(new TensorVector(a, b), 1);
  }

  /** Conv → BN [→ PReLU] with children {@code conv}, {@code bn}, {@code act} (encoder naming). */
  static final class Cbr extends JavaModule {
    private final Conv2dImpl conv;
    private final BatchNorm2dImpl bn;
    private final PReLUImpl act;
    private final int stride;

    Cbr(int in, int out, int k, int stride, int groups, boolean act) {
      conv = register_module("conv", EspBlocks.conv(in, out, k, stride, 1, groups, false));
      bn = register_module("bn", bn(out));
      this.act = act ? register_module("act", prelu(out)) : null;
      this.stride = stride;
    }

    Tensor forward(Tensor x) {
      Tensor y = bn.forward(run(conv, stride, 1, x));
      return act == null ? y : act.forward(y);
    }
  }

  /** BN → PReLU with children {@code bn}, {@code act} (encoder naming). */
  static final class Br extends JavaModule {
    private final BatchNorm2dImpl bn;
    private final PReLUImpl act;

    Br(int c) {
      bn = register_module("bn", bn(c));
      act = register_module("act", prelu(c));
    }

    Tensor forward(Tensor x) {
      return act.forward(bn.forward(x));
    }
  }

  /**
   * A depthwise 3×3 conv with no BN, registered as child {@code conv} (the branches {@code spp_dw.i}); {@link #run}
   * sends it to {@link DepthwiseConv#conv3x3(Tensor, Tensor, int, int)} instead of libtorch's CPU fallback for grouped,
   * dilated convolutions: ESPNetv2 s = 2.0 at 608×416 on 2 threads 400 → 210 ms, s = 0.5 185 → 163 ms (BENCHMARKS.md).
   */
  static final class ConvOnly extends JavaModule {
    private final Conv2dImpl conv;
    private final int dilation;
    private final int stride;

    ConvOnly(int channels, int stride, int dilation) {
      conv = register_module("conv", EspBlocks.conv(channels, channels, 3, stride, dilation, channels, false));
      this.dilation = dilation;
      this.stride = stride;
    }

    Tensor forward(Tensor x) {
      return run(conv, stride, dilation, x);
    }
  }

  /**
   * Dilations of the K = 4 depthwise branches: effective kernel sizes 3, 5, 7, 9; any above {@code rLim}
   * becomes 3; sorted ascending; d = (k − 1)/2.
   */
  static int[] dilations(int rLim) {
    int[] k = {3, 5, 7, 9};
    for (int i = 0; i < k.length; i++) {
      if (k[i] > rLim) {
        k[i] = 3;
      }
    }
    java.util.Arrays.sort(k);
    int[] d = new int[k.length];
    for (int i = 0; i < k.length; i++) {
      d[i] = (k[i] - 1) / 2;
    }
    return d;
  }

  /** EESP block (K = 4 branches, hierarchical feature fusion). */
  static final class Eesp extends JavaModule {
    private final Cbr proj;
    private final ConvOnly[] branches = new ConvOnly[4];
    private final Cbr exp;
    private final Br brAfterCat;
    private final PReLUImpl moduleAct;
    private final boolean strided;

    Eesp(int in, int out, int stride, int rLim) {
      if (out % 4 != 0) {
        throw new IllegalArgumentException("EESP: output channels " + out + " not divisible by 4");
      }
      int n = out / 4;
      strided = stride == 2;
      proj = register_module("proj_1x1", new Cbr(in, n, 1, 1, 4, true));
      JavaModule spp = register_module("spp_dw", new JavaModule());
      int[] d = dilations(rLim);
      for (int i = 0; i < 4; i++) {
        branches[i] = spp.register_module(Integer.toString(i), new ConvOnly(n, stride, d[i]));
      }
      exp = register_module("conv_1x1_exp", new Cbr(out, out, 1, 1, 4, false));
      brAfterCat = register_module("br_after_cat", new Br(out));
      // Registered for the strided block too (the checkpoint holds it) although that block never applies it.
      moduleAct = register_module("module_act", prelu(out));
    }

    Tensor forward(Tensor x) {
      Tensor p = proj.forward(x);
      Tensor[] ys = new Tensor[4];
      ys[0] = branches[0].forward(p);
      for (int i = 1; i < 4; i++) {
        ys[i] = branches[i].forward(p).add(ys[i - 1]);
      }
      Tensor y = exp.forward(brAfterCat.forward(cat(new TensorVector(ys), 1)));
      return strided ? y : moduleAct.forward(y.add(x));
    }
  }

  /** Strided EESP next to an average pool, with input reinforcement from the network input. */
  static final class DownSampler extends JavaModule {
    private final Eesp eesp;
    private final Cbr reinf0;
    private final Cbr reinf1;
    private final PReLUImpl act;

    DownSampler(int in, int out, int rLim) {
      eesp = register_module("eesp", new Eesp(in, out - in, 2, rLim));
      JavaModule reinf = register_module("inp_reinf", new JavaModule());
      reinf0 = reinf.register_module("0", new Cbr(3, 3, 3, 1, 1, true));
      reinf1 = reinf.register_module("1", new Cbr(3, out, 1, 1, 1, false));
      act = register_module("act", prelu(out));
    }

    /**
     * @param x the previous level's output
     * @param pyramid the network input followed by its repeated 3×3/2 average pools, extended here as needed and
     *     shared by the three down-samplers (each used to pool the full-size input again)
     */
    Tensor forward(Tensor x, List<Tensor> pyramid) {
      Tensor a = avgPool(x);
      Tensor out = cat2(a, eesp.forward(x));
      int i = 0;
      do {
        if (++i == pyramid.size()) {
          pyramid.add(avgPool(pyramid.get(i - 1)));
        }
      } while (pyramid.get(i).size(2) != a.size(2));
      Tensor r = pyramid.get(i);
      return act.forward(out.add(reinf1.forward(reinf0.forward(r))));
    }
  }

  /** Conv → BN → PReLU as an {@code nn.Sequential} (decoder naming: children 0, 1, 2). */
  static final class SeqCbr extends JavaModule {
    private final Conv2dImpl conv;
    private final BatchNorm2dImpl bn;
    private final PReLUImpl act;

    SeqCbr(int in, int out, int k, int groups) {
      conv = register_module("0", EspBlocks.conv(in, out, k, 1, 1, groups, false));
      bn = register_module("1", bn(out));
      act = register_module("2", prelu(out));
    }

    Tensor forward(Tensor x) {
      return act.forward(bn.forward(run(conv, 1, 1, x)));
    }
  }

  /** BN → PReLU as an {@code nn.Sequential} (children 0, 1). */
  static final class SeqBr extends JavaModule {
    private final BatchNorm2dImpl bn;
    private final PReLUImpl act;

    SeqBr(int c) {
      bn = register_module("0", bn(c));
      act = register_module("1", prelu(c));
    }

    Tensor forward(Tensor x) {
      return act.forward(bn.forward(x));
    }
  }

  /** Efficient pyramid pooling: projection, five scale branches, shuffle, merge. */
  static final class Epp extends JavaModule {
    static final double[] SCALES = {2.0, 1.5, 1.0, 0.5, 0.1};
    private final Conv2dImpl[] stages = new Conv2dImpl[SCALES.length];
    private final SeqCbr projection;
    private final SeqBr mergeBr;
    private final SeqCbr mergeConv;
    private final Conv2dImpl mergeOut;
    private final SeqBr finalBr;
    private final int p;

    Epp(int in, int out, int p, boolean last) {
      this.p = p;
      JavaModule st = register_module("stages", new JavaModule());
      for (int i = 0; i < SCALES.length; i++) {
        stages[i] = st.register_module(Integer.toString(i), conv(p, p, 3, 1, 1, p, false));
      }
      JavaModule proj = register_module("projection_layer", new JavaModule());
      projection = proj.register_module("cbr", new SeqCbr(in, p, 1, 1));
      JavaModule merge = register_module("merge_layer", new JavaModule());
      mergeBr = merge.register_module("0", new JavaModule()).register_module("br", new SeqBr(5 * p));
      mergeConv = merge.register_module("2", new JavaModule()).register_module("cbr", new SeqCbr(5 * p, p, 3, p));
      mergeOut = merge.register_module("3", conv(p, out, 1, 1, 1, 1, last));
      finalBr = last ? null : register_module("br", new JavaModule()).register_module("br", new SeqBr(out));
    }

    Tensor forward(Tensor x) {
      Tensor y = projection.forward(x);
      long h = y.size(2);
      long w = y.size(3);
      Tensor[] parts = new Tensor[SCALES.length];
      for (int i = 0; i < SCALES.length; i++) {
        double s = SCALES[i];
        long hs = Math.max(5, (long) Math.ceil(h * s));
        long ws = Math.max(5, (long) Math.ceil(w * s));
        if (s > 1) {
          parts[i] = AvgPool.adaptive(run(stages[i], 1, 1, resize(y, hs, ws)), h, w);
        } else if (s < 1) {
          parts[i] = resize(run(stages[i], 1, 1, AvgPool.adaptive(y, hs, ws)), h, w);
        } else {
          parts[i] = run(stages[i], 1, 1, y);
        }
      }
      Tensor m = mergeBr.forward(cat(new TensorVector(parts), 1));
      // Channel shuffle, 5 groups: new channel j·5 + g <- old g·P + j.
      m = m.view(m.size(0), SCALES.length, p, h, w).transpose(1, 2).reshape(m.size(0), SCALES.length * p, h, w);
      Tensor o = run(mergeOut, 1, 1, mergeConv.forward(m));
      return finalBr == null ? o : finalBr.forward(o);
    }
  }

  /** Efficient point-wise merge: a 3×3 grouped CBR gated per channel by a squeeze-and-excitation weight. */
  static final class Epw extends JavaModule {
    private final Conv2dImpl wt;
    private final SeqCbr expansion;

    Epw(int in, int out) {
      wt = register_module("wt_layer", new JavaModule()).register_module("1", conv(in, out, 1, 1, 1, 1, false));
      expansion = register_module("expansion_layer", new JavaModule())
          .register_module("cbr", new SeqCbr(in, out, 3, gcd(in, out)));
    }

    Tensor forward(Tensor x) {
      Tensor gate = sigmoid(run(wt, 1, 1, AvgPool.adaptive(x, 1, 1)));
      return expansion.forward(x).mul(gate);
    }
  }

  static int gcd(int a, int b) {
    return b == 0 ? a : gcd(b, a % b);
  }
}
