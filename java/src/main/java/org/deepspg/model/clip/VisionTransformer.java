/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.clip;

import static org.bytedeco.pytorch.global.torch.cat;

import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.Conv2dOptions;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * CLIP's image tower ({@code VisionTransformer} of {@code clip/model.py}, registered as {@code visual}):
 * conv1 (patch embedding, no bias) → [class token; patches] + positional_embedding → ln_pre → transformer
 * → ln_post on the class token → {@code @ proj}. Package-private.
 */
final class VisionTransformer extends org.deepspg.nn.JavaModule {
  private final Conv2dImpl conv1;
  private final Tensor classEmbedding;
  private final Tensor positionalEmbedding;
  private final ClipBlocks.LayerNorm lnPre;
  private final ClipBlocks.Transformer transformer;
  private final ClipBlocks.LayerNorm lnPost;
  private final Tensor proj;
  private final int width;

  VisionTransformer(ClipConfig c) {
    width = c.visionWidth();
    int p = c.visionPatchSize();
    Conv2dOptions o = new Conv2dOptions(3, width, new LongPointer(p, p));
    o.stride().put(new long[] {p, p});
    o.bias().put(false);
    conv1 = register_module("conv1", new Conv2dImpl(o));
    Scalar scale = new Scalar(Math.pow(width, -0.5));
    long tokens = (long) c.gridSize() * c.gridSize() + 1;
    classEmbedding = ClipBlocks.param(this, "class_embedding", torch.randn(width).mul(scale));
    positionalEmbedding = ClipBlocks.param(this, "positional_embedding", torch.randn(tokens, width).mul(scale));
    lnPre = register_module("ln_pre", new ClipBlocks.LayerNorm(width));
    transformer = register_module("transformer",
        new ClipBlocks.Transformer(width, c.visionLayers(), c.visionHeads()));
    lnPost = register_module("ln_post", new ClipBlocks.LayerNorm(width));
    proj = ClipBlocks.param(this, "proj", torch.randn(width, c.embedDim()).mul(scale));
  }

  /**
   * @param x [B, 3, R, R] normalised image
   * @return [B, embedDim]
   */
  Tensor forward(Tensor x) {
    long b = x.size(0);
    Tensor t = conv1.forward(x); // [B, w, g, g]
    t = t.reshape(b, width, -1).permute(0, 2, 1); // [B, g*g, w]
    TensorVector parts = new TensorVector();
    parts.push_back(classEmbedding.to(t.scalar_type()).reshape(1, 1, width).expand(b, 1, width));
    parts.push_back(t);
    t = cat(parts, 1).add(positionalEmbedding.to(t.scalar_type()));
    t = lnPre.forward(t);
    t = transformer.forward(t, null);
    Tensor cls = lnPost.forward(t.select(1, 0)); // [B, w]
    return cls.matmul(proj);
  }
}
