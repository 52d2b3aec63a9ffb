/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.clip;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.EmbeddingImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.model.io.Checkpoints;
import org.deepspg.model.io.LoadOptions;
import org.deepspg.model.io.LoadReport;
import org.deepspg.model.io.ModuleLoader;
import org.deepspg.model.io.StateDict;
import org.deepspg.model.io.TensorData;
import org.deepspg.model.prior.MissingWeightsException;
import org.deepspg.model.prior.PriorWeights;

/**
 * OpenAI CLIP with a ViT image tower ({@code clip/model.py} at d05afc4), spec §5.2, as a libtorch module tree
 * whose state-dict names equal OpenAI's: {@code visual.conv1.weight, visual.class_embedding,
 * visual.positional_embedding, visual.ln_pre.*, visual.transformer.resblocks.N.{attn.in_proj_weight,
 * attn.in_proj_bias, attn.out_proj.*, ln_1.*, mlp.c_fc.*, mlp.c_proj.*, ln_2.*}, visual.ln_post.*, visual.proj,
 * token_embedding.weight, positional_embedding, transformer.resblocks.N.*, ln_final.*, text_projection,
 * logit_scale}.
 *
 * <p>Attention is computed from {@code in_proj} directly (q scaled by 1/sqrt(head_dim)); QuickGELU
 * {@code x·σ(1.702x)}; LayerNorm eps 1e-5; the text tower uses the causal mask (−inf above the diagonal) and
 * pools at {@code argmax(token ids)} (the EOT token). DeepSPG uses it frozen in fp32 ({@link #freeze()}).
 * New instances get OpenAI's initialisation scheme (random weights; load real weights with {@code load}).
 */
public final class Clip extends org.deepspg.nn.JavaModule {
  /**
   * Output of {@link #logits}.
   *
   * @param perImage [B, T] = exp(logit_scale)·cos(image_b, text_t)
   * @param perText [T, B] the transpose
   */
  public record Logits(Tensor perImage, Tensor perText) {}

  private final ClipConfig config;
  private final VisionTransformer visual;
  private final ClipBlocks.Transformer transformer;
  private final EmbeddingImpl tokenEmbedding;
  private final Tensor positionalEmbedding;
  private final ClipBlocks.LayerNorm lnFinal;
  private final Tensor textProjection;
  private final Tensor logitScale;

  /**
   * Builds the model with OpenAI's random initialisation ({@code CLIP.initialize_parameters}).
   *
   * @param config hyper-parameters, e.g. {@link ClipConfig#vitB16()}
   */
  public Clip(ClipConfig config) {
    if (config == null) {
      throw new IllegalArgumentException("config must not be null");
    }
    this.config = config;
    visual = register_module("visual", new VisionTransformer(config));
    int w = config.transformerWidth();
    transformer = register_module("transformer",
        new ClipBlocks.Transformer(w, config.transformerLayers(), config.transformerHeads()));
    tokenEmbedding = register_module("token_embedding", new EmbeddingImpl(config.vocabSize(), w));
    positionalEmbedding = ClipBlocks.param(this, "positional_embedding",
        torch.randn(config.contextLength(), w).mul(new Scalar(0.01)));
    lnFinal = register_module("ln_final", new ClipBlocks.LayerNorm(w));
    textProjection = ClipBlocks.param(this, "text_projection",
        torch.randn(w, config.embedDim()).mul(new Scalar(Math.pow(w, -0.5))));
    logitScale = ClipBlocks.param(this, "logit_scale", torch.ones().mul(new Scalar(Math.log(1 / 0.07))));
    initializeText();
  }

  /** {@code CLIP.initialize_parameters} for the text tower (normal inits with OpenAI's standard deviations). */
  private void initializeText() {
    try (PointerScope scope = new PointerScope();
        org.bytedeco.pytorch.NoGradGuard guard = new org.bytedeco.pytorch.NoGradGuard()) {
      int w = config.transformerWidth();
      int layers = config.transformerLayers();
      tokenEmbedding.weight().normal_(0, 0.02, new org.bytedeco.pytorch.GeneratorOptional());
      double projStd = Math.pow(w, -0.5) * Math.pow(2.0 * layers, -0.5);
      double attnStd = Math.pow(w, -0.5);
      double fcStd = Math.pow(2.0 * w, -0.5);
      for (ClipBlocks.ResidualAttentionBlock b : transformer.blocks()) {
        b.attn().inProjWeight().normal_(0, attnStd, new org.bytedeco.pytorch.GeneratorOptional());
        b.attn().outProj().weight().normal_(0, projStd, new org.bytedeco.pytorch.GeneratorOptional());
        b.mlp().cFc().weight().normal_(0, fcStd, new org.bytedeco.pytorch.GeneratorOptional());
        b.mlp().cProj().weight().normal_(0, projStd, new org.bytedeco.pytorch.GeneratorOptional());
      }
    }
  }

  /** Int64 scalars of OpenAI's TorchScript archives that are not model weights ({@code clip.load} drops them). */
  public static final Set<String> ARCHIVE_SCALARS = Set.of("input_resolution", "context_length", "vocab_size");

  /**
   * Copies checkpoint tensors into this model. Accepts a plain {@code state_dict()} or the tensors of an OpenAI
   * TorchScript archive: fp16 values are converted to this model's dtype (fp32) by the copy, and the archive
   * scalars {@link #ARCHIVE_SCALARS} are checked against the configuration and otherwise ignored.
   *
   * @param sd the checkpoint tensors
   * @return what was loaded, dropped and ignored
   * @throws IllegalArgumentException listing every missing key and shape mismatch, or when an archive scalar
   *     contradicts the configuration (the model is unchanged)
   */
  public LoadReport loadStateDict(StateDict sd) {
    requireOpen();
    long[] want = {config.imageResolution(), config.contextLength(), config.vocabSize()};
    String[] names = {"input_resolution", "context_length", "vocab_size"};
    for (int i = 0; i < names.length; i++) {
      TensorData t = sd.get(names[i]);
      if (t != null) {
        long v;
        try (PointerScope scope = new PointerScope()) {
          v = t.toTensor().item_long();
        }
        if (v != want[i]) {
          throw new IllegalArgumentException("checkpoint " + names[i] + " = " + v + " but the configuration has "
              + want[i] + " (" + config + ")");
        }
      }
    }
    return ModuleLoader.load(this, sd, new LoadOptions().ignore(ARCHIVE_SCALARS::contains));
  }

  /**
   * Reads a checkpoint (TorchScript archive such as {@code ViT-B-16.pt}, or a zip/legacy {@code torch.save} of
   * the state dict) and loads it.
   *
   * @param weights the file
   * @return what was loaded, dropped and ignored
   * @throws IOException if the file cannot be read or is not a checkpoint
   * @throws IllegalArgumentException on missing keys or shape mismatches
   */
  public LoadReport loadWeights(Path weights) throws IOException {
    return loadStateDict(Checkpoints.read(weights));
  }

  /**
   * Builds a model for {@code config} and loads {@code weights} into it (fp32, not frozen).
   *
   * @param weights the file, e.g. the user's {@code ViT-B-16.pt}
   * @param config the hyper-parameters (explicit heads)
   * @return the loaded model
   * @throws IOException if the file cannot be read or is not a checkpoint
   * @throws IllegalArgumentException on missing keys or shape mismatches
   */
  public static Clip load(Path weights, ClipConfig config) throws IOException {
    Clip clip = new Clip(config);
    clip.loadWeights(weights);
    return clip;
  }

  /**
   * Loads OpenAI's {@code ViT-B-16.pt} into a {@link ClipConfig#vitB16()} model (fp32) and freezes it.
   *
   * @param weights the user's path to the file (null = not configured)
   * @return the frozen model
   * @throws MissingWeightsException when the path is null, missing, not a checkpoint or holds another model;
   *     the message names the official file, its role (L_mul) and how to run without it
   */
  public static Clip loadPretrained(Path weights) throws MissingWeightsException {
    return PriorWeights.CLIP_VIT_B16
        .loadInto(weights, () -> new Clip(ClipConfig.vitB16()), Clip::loadStateDict)
        .freeze();
  }

  /**
   * The hyper-parameters.
   *
   * @return the configuration
   */
  public ClipConfig config() {
    return config;
  }

  /**
   * Image embeddings (not L2-normalised).
   *
   * @param normalizedImage [B, 3, R, R] float, already CLIP-normalised (see {@link ClipPreprocess})
   * @return [B, embedDim]
   * @throws IllegalArgumentException if the shape is not [B, 3, R, R] with R = imageResolution
   */
  public Tensor encodeImage(Tensor normalizedImage) {
    requireOpen();
    int r = config.imageResolution();
    if (normalizedImage == null || normalizedImage.dim() != 4 || normalizedImage.size(1) != 3
        || normalizedImage.size(2) != r || normalizedImage.size(3) != r) {
      throw new IllegalArgumentException("image must be [B, 3, " + r + ", " + r + "], got "
          + (normalizedImage == null ? "null" : shape(normalizedImage)));
    }
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope inner = new PointerScope()) {
      Tensor out = visual.forward(normalizedImage);
      escape(outer, out);
      return out;
    }
  }

  /**
   * Text embeddings (not L2-normalised): token embedding + positional → causal transformer → ln_final → row
   * at argmax(token ids) → {@code @ text_projection}.
   *
   * @param tokens [T, contextLength] integer token ids (int64 or int32), e.g. from the CLIP tokenizer
   * @return [T, embedDim] float
   * @throws IllegalArgumentException if the shape or dtype is wrong or an id is outside the vocabulary
   */
  public Tensor encodeText(Tensor tokens) {
    requireOpen();
    int n = config.contextLength();
    if (tokens == null || tokens.dim() != 2 || tokens.size(1) != n) {
      throw new IllegalArgumentException("tokens must be [T, " + n + "], got "
          + (tokens == null ? "null" : shape(tokens)));
    }
    if (tokens.is_floating_point() || tokens.is_complex()) {
      throw new IllegalArgumentException("tokens must be an integer tensor, got " + tokens.scalar_type());
    }
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope inner = new PointerScope()) {
      Tensor ids = tokens.to(torch.ScalarType.Long);
      if (ids.numel() > 0) {
        long min = ids.min().item_long();
        long max = ids.max().item_long();
        if (min < 0 || max >= config.vocabSize()) {
          throw new IllegalArgumentException("token ids must be in [0, " + config.vocabSize() + "), got ["
              + min + ", " + max + "]");
        }
      }
      long t = ids.size(0);
      int w = config.transformerWidth();
      Tensor x = tokenEmbedding.forward(ids).add(positionalEmbedding); // [T, n, w]
      x = transformer.forward(x, causalMask(n, x));
      x = lnFinal.forward(x);
      Tensor eot = ids.argmax(new org.bytedeco.pytorch.LongOptional(-1), false); // [T]
      Tensor pooled = x.gather(1, eot.reshape(t, 1, 1).expand(t, 1, w)).squeeze(1); // [T, w]
      Tensor out = pooled.matmul(textProjection);
      escape(outer, out);
      return out;
    }
  }

  /**
   * CLIP's forward: {@code exp(logit_scale)·cos} between every image and every text.
   *
   * @param normalizedImage [B, 3, R, R]
   * @param tokens [T, contextLength]
   * @return per-image [B, T] and per-text [T, B] logits
   */
  public Logits logits(Tensor normalizedImage, Tensor tokens) {
    Tensor img = encodeImage(normalizedImage);
    Tensor txt = encodeText(tokens);
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope inner = new PointerScope()) {
      Tensor in = l2normalize(img);
      Tensor tn = l2normalize(txt);
      Tensor perImage = in.matmul(tn.t()).mul(logitScale.exp());
      Tensor perText = perImage.t();
      escape(outer, perImage);
      escape(outer, perText);
      return new Logits(perImage, perText);
    }
  }

  /**
   * Divides each row by its L2 norm, like CLIP ({@code x / x.norm(dim=1, keepdim=True)}).
   *
   * @param x [N, D]
   * @return [N, D] rows of unit length
   */
  public static Tensor l2normalize(Tensor x) {
    Tensor norm = torch.linalg_vector_norm(x, new Scalar(2.0), new long[] {-1}, true,
        new org.bytedeco.pytorch.ScalarTypeOptional());
    return x.div(norm);
  }

  /**
   * Freezes the model: eval mode and {@code requires_grad = false} on every parameter (gradients still flow to
   * inputs that require them).
   *
   * @return this
   */
  public Clip freeze() {
    eval();
    TensorVector ps = parameters();
    for (long i = 0; i < ps.size(); i++) {
      ps.get(i).requires_grad_(false);
    }
    return this;
  }

  /**
   * Number of parameter elements.
   *
   * @return 149,620,737 for {@link ClipConfig#vitB16()}
   */
  public long parameterCount() {
    TensorVector ps = parameters();
    long n = 0;
    for (long i = 0; i < ps.size(); i++) {
      n += ps.get(i).numel();
    }
    return n;
  }

  /** Additive causal mask [n, n]: 0 on and below the diagonal, −inf above (dtype and device of {@code like}). */
  static Tensor causalMask(int n, Tensor like) {
    Tensor m = torch.full(new long[] {n, n}, new Scalar(Float.NEGATIVE_INFINITY));
    return m.triu_(1).to(like.device(), like.scalar_type());
  }

  static String shape(Tensor t) {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < t.dim(); i++) {
      b.append(i == 0 ? "" : ", ").append(t.size(i));
    }
    return b.append(']').toString();
  }

  static void escape(PointerScope outer, Tensor t) {
    if (outer != null) {
      outer.attach(t);
    } else {
      t.retainReference();
    }
  }
}
