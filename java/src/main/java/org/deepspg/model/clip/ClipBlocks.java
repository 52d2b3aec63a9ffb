/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.clip;

import static org.bytedeco.pytorch.global.torch.layer_norm;
import static org.bytedeco.pytorch.global.torch.linear;
import static org.bytedeco.pytorch.global.torch.softmax;

import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/** The transformer pieces of OpenAI's {@code clip/model.py} with its state-dict names (package-private). */
final class ClipBlocks {
  private ClipBlocks() {}

  /**
   * Registers {@code t} as parameter {@code name} of {@code m} and returns {@code t} itself. The value that
   * {@code Module.register_parameter} returns is a reference into the module's parameter dictionary, which
   * dangles once the dictionary grows; {@code t} shares the TensorImpl with the registered parameter (so
   * in-place loading, {@code set_data} and {@code Module.to} stay visible through it).
   */
  static Tensor param(Module m, String name, Tensor t) {
    m.register_parameter(name, t);
    return t;
  }

  /** LayerNorm over the last dimension, eps 1e-5, parameters {@code weight} (ones) and {@code bias} (zeros). */
  static final class LayerNorm extends org.deepspg.nn.JavaModule {
    static final double EPS = 1e-5;
    private final Tensor weight;
    private final Tensor bias;
    private final long width;

    LayerNorm(long width) {
      this.width = width;
      weight = ClipBlocks.param(this, "weight", torch.ones(width));
      bias = ClipBlocks.param(this, "bias", torch.zeros(width));
    }

    Tensor forward(Tensor x) {
      return layer_norm(x, new long[] {width}, new TensorOptional(weight), new TensorOptional(bias), EPS, false);
    }
  }

  /**
   * {@code nn.MultiheadAttention} as CLIP uses it (self-attention, need_weights=False): parameters
   * {@code in_proj_weight} [3w, w] = [W_q; W_k; W_v], {@code in_proj_bias} [3w], {@code out_proj.weight/bias}.
   * q is scaled by 1/sqrt(head_dim) before q·kᵀ; an additive mask (−inf above the diagonal for text) is
   * added to the scores.
   */
  static final class Attention extends org.deepspg.nn.JavaModule {
    private final Tensor inProjWeight;
    private final Tensor inProjBias;
    private final LinearImpl outProj;
    private final int width;
    private final int heads;

    Attention(int width, int heads) {
      this.width = width;
      this.heads = heads;
      // Default init of nn.MultiheadAttention: xavier-uniform in_proj_weight, zero biases.
      double bound = Math.sqrt(6.0 / (width + 3.0 * width));
      inProjWeight = ClipBlocks.param(this, "in_proj_weight",
          torch.rand(3L * width, width).mul(new org.bytedeco.pytorch.Scalar(2 * bound))
              .sub(new org.bytedeco.pytorch.Scalar(bound)));
      inProjBias = ClipBlocks.param(this, "in_proj_bias", torch.zeros(3L * width));
      outProj = register_module("out_proj", new LinearImpl(width, width));
      torch.zeros_(outProj.bias());
    }

    Tensor inProjWeight() {
      return inProjWeight;
    }

    LinearImpl outProj() {
      return outProj;
    }

    /**
     * @param x [B, L, w]
     * @param mask additive [L, L] mask or null
     * @return [B, L, w]
     */
    Tensor forward(Tensor x, Tensor mask) {
      long b = x.size(0);
      long l = x.size(1);
      long hd = width / heads;
      Tensor qkv = linear(x, inProjWeight, new TensorOptional(inProjBias)).reshape(b, l, 3, heads, hd)
          .permute(2, 0, 3, 1, 4); // [3, B, H, L, hd]
      Tensor q = qkv.select(0, 0).mul(new org.bytedeco.pytorch.Scalar(1.0 / Math.sqrt(hd)));
      Tensor k = qkv.select(0, 1);
      Tensor v = qkv.select(0, 2);
      Tensor scores = q.matmul(k.transpose(-2, -1)); // [B, H, L, L]
      if (mask != null) {
        scores = scores.add(mask);
      }
      Tensor o = softmax(scores, -1).matmul(v); // [B, H, L, hd]
      return outProj.forward(o.transpose(1, 2).reshape(b, l, width));
    }
  }

  /** {@code mlp}: c_fc (w → 4w) → QuickGELU → c_proj (4w → w). */
  static final class Mlp extends org.deepspg.nn.JavaModule {
    private final LinearImpl cFc;
    private final LinearImpl cProj;

    Mlp(int width) {
      cFc = register_module("c_fc", new LinearImpl(width, 4L * width));
      cProj = register_module("c_proj", new LinearImpl(4L * width, width));
    }

    LinearImpl cFc() {
      return cFc;
    }

    LinearImpl cProj() {
      return cProj;
    }

    Tensor forward(Tensor x) {
      Tensor h = cFc.forward(x);
      return cProj.forward(quickGelu(h));
    }
  }

  /** QuickGELU {@code x·σ(1.702x)}. */
  static Tensor quickGelu(Tensor x) {
    return x.mul(x.mul(new org.bytedeco.pytorch.Scalar(1.702)).sigmoid());
  }

  /** Pre-LN residual block: x + attn(ln_1(x)); x + mlp(ln_2(x)). */
  static final class ResidualAttentionBlock extends org.deepspg.nn.JavaModule {
    private final Attention attn;
    private final LayerNorm ln1;
    private final Mlp mlp;
    private final LayerNorm ln2;

    ResidualAttentionBlock(int width, int heads) {
      attn = register_module("attn", new Attention(width, heads));
      ln1 = register_module("ln_1", new LayerNorm(width));
      mlp = register_module("mlp", new Mlp(width));
      ln2 = register_module("ln_2", new LayerNorm(width));
    }

    Attention attn() {
      return attn;
    }

    Mlp mlp() {
      return mlp;
    }

    Tensor forward(Tensor x, Tensor mask) {
      Tensor y = x.add(attn.forward(ln1.forward(x), mask));
      return y.add(mlp.forward(ln2.forward(y)));
    }
  }

  /** {@code Transformer}: {@code resblocks.0 … resblocks.(layers−1)}. */
  static final class Transformer extends org.deepspg.nn.JavaModule {
    private final ResidualAttentionBlock[] blocks;
    private final int width;

    Transformer(int width, int layers, int heads) {
      this.width = width;
      Module seq = register_module("resblocks", new org.deepspg.nn.JavaModule());
      blocks = new ResidualAttentionBlock[layers];
      for (int i = 0; i < layers; i++) {
        blocks[i] = seq.register_module(Integer.toString(i), new ResidualAttentionBlock(width, heads));
      }
    }

    ResidualAttentionBlock[] blocks() {
      return blocks;
    }

    int width() {
      return width;
    }

    /**
     * @param x [B, L, w]
     * @param mask additive [L, L] or null
     */
    Tensor forward(Tensor x, Tensor mask) {
      Tensor y = x;
      for (ResidualAttentionBlock b : blocks) {
        y = b.forward(y, mask);
      }
      return y;
    }
  }
}
