/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.hrnet;

import static org.bytedeco.pytorch.global.torch.upsample_bilinear2d;

import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.deepspg.ops.UpsampleSum;

/**
 * One HighResolutionModule of seg_hrnet: per-branch residual blocks ({@code branches.i.k.*}) then the
 * multi-resolution fuse ({@code fuse_layers.i.j.*}). For output i and input j: j &gt; i 1×1 conv + BN then
 * bilinear resize to branch i's size; j &lt; i a chain of (i−j) 3×3/s2 conv + BN (ReLU after all but the
 * last); j = i identity; sum in order j = 0, 1, …; ReLU. In inference ({@link UpsampleSum#usable}) the sum runs in
 * another order: the chains' last convolutions add it in their epilogue, one native pass adds the resized products
 * and applies the ReLU ({@link UpsampleSum}). Package-private.
 */
final class HighResolutionModule extends org.deepspg.nn.JavaModule {
  private final int numBranches;
  private final Layers.BlockSeq[] branches;
  /** fuse[i][j]: ConvBn (j &gt; i), ConvBnChain (j &lt; i) or null (j = i). Null array when one branch. */
  private final Module[][] fuse;
  private final boolean alignCorners;

  /**
   * @param stage the stage configuration
   * @param inChannels the channels entering each branch (equal to the branch output channels in seg_hrnet)
   */
  HighResolutionModule(HRNetConfig.Stage stage, int[] inChannels, HRNetConfig cfg) {
    this.numBranches = stage.numBranches();
    this.alignCorners = cfg.alignCorners();
    int[] blocks = stage.numBlocks();
    int[] planes = stage.numChannels();
    int[] out = stage.outChannels();
    if (inChannels.length != numBranches) {
      throw new IllegalArgumentException("inChannels has " + inChannels.length + " entries for "
          + numBranches + " branches");
    }
    Module branchList = register_module("branches", new org.deepspg.nn.JavaModule());
    branches = new Layers.BlockSeq[numBranches];
    for (int i = 0; i < numBranches; i++) {
      branches[i] = Layers.makeLayer(stage.block(), inChannels[i], planes[i], blocks[i], 1, cfg);
      branchList.register_module(Integer.toString(i), branches[i]);
    }
    if (numBranches == 1) {
      fuse = null;
      return;
    }
    Module fuseList = register_module("fuse_layers", new org.deepspg.nn.JavaModule());
    fuse = new Module[numBranches][numBranches];
    for (int i = 0; i < numBranches; i++) {
      Module row = fuseList.register_module(Integer.toString(i), new org.deepspg.nn.JavaModule());
      for (int j = 0; j < numBranches; j++) {
        Module m;
        if (j > i) {
          m = new Layers.ConvBn(out[j], out[i], 1, 1, false, cfg);
        } else if (j == i) {
          continue;
        } else {
          Layers.ConvBn[] chain = new Layers.ConvBn[i - j];
          for (int k = 0; k < i - j; k++) {
            boolean last = k == i - j - 1;
            chain[k] = new Layers.ConvBn(out[j], last ? out[i] : out[j], 3, 2, !last, cfg);
          }
          m = new Layers.ConvBnChain(chain);
        }
        fuse[i][j] = row.register_module(Integer.toString(j), m);
      }
    }
  }

  /**
   * @param x one tensor per branch, [B, C_i, H_i, W_i]
   * @param outputs how many of the fused outputs to compute (the first ones; more than the branches: all). Every
   *     branch's blocks still run: each output fuses all of them.
   * @return the first min(outputs, branches) branch tensors after blocks and fuse (+ReLU)
   */
  Tensor[] forward(Tensor[] x, int outputs) {
    if (x.length != numBranches) {
      throw new IllegalArgumentException("expected " + numBranches + " branch inputs, got " + x.length);
    }
    Tensor[] y = new Tensor[numBranches];
    for (int i = 0; i < numBranches; i++) {
      y[i] = branches[i].forward(x[i]);
    }
    if (numBranches == 1) {
      return y;
    }
    Tensor[] outs = new Tensor[Math.min(outputs, numBranches)];
    if (UpsampleSum.usable(y)) {
      // inference: each stride-2 chain's last convolution adds the sum so far in its epilogue, then one pass adds
      // the coarser branches' resized 1x1 products and applies the ReLU (the same sum in another order)
      for (int i = 0; i < outs.length; i++) {
        Tensor acc = y[i];
        for (int j = 0; j < i; j++) {
          acc = ((Layers.ConvBnChain) fuse[i][j]).forwardAdd(y[j], acc);
        }
        Tensor[] ups = new Tensor[numBranches - 1 - i];
        for (int j = i + 1; j < numBranches; j++) {
          ups[j - i - 1] = ((Layers.ConvBn) fuse[i][j]).forward(y[j]);
        }
        outs[i] = UpsampleSum.forward(acc, ups, y[i].size(2), y[i].size(3), alignCorners, true);
      }
      return outs;
    }
    for (int i = 0; i < outs.length; i++) {
      Tensor acc = i == 0 ? y[0] : apply(i, 0, y[0], y[i]);
      for (int j = 1; j < numBranches; j++) {
        acc = acc.add(i == j ? y[j] : apply(i, j, y[j], y[i]));
      }
      outs[i] = acc.relu();
    }
    return outs;
  }

  private Tensor apply(int i, int j, Tensor in, Tensor target) {
    if (j > i) {
      Tensor t = ((Layers.ConvBn) fuse[i][j]).forward(in);
      return upsample_bilinear2d(t, new long[] {target.size(2), target.size(3)}, alignCorners);
    }
    return ((Layers.ConvBnChain) fuse[i][j]).forward(in);
  }
}
