/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import static org.bytedeco.pytorch.global.torch.rot90;

import java.util.concurrent.atomic.LongAdder;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.deepspg.data.ImageTensors;
import org.deepspg.model.DeepSPG;
import org.deepspg.model.DeepSPGConfig;
import org.deepspg.model.prior.ImagePrior;
import org.deepspg.ops.AttentionContext;
import org.deepspg.ops.Scopes;

/**
 * The one forward pipeline of a DeepSPG network (spec §6), on tensors: reflect-pad the bottom/right edges to a
 * multiple of 32 ({@link Padding}, the one padding rule), run the image prior (the {@link ImagePrior} the model's
 * SEMs were trained with: HRNet-W48 or ESPNetv2, when the model has SEMs) on the padded input or, with
 * {@code sem.prior_input = retinex}, on the network's own light-up X_r, run the network, crop back. Training
 * ({@code Trainer}), evaluation ({@code EvalRunner}), tiling ({@code Tiler}), batching ({@code Batcher}) and the
 * {@link Enhancer} all run it.
 *
 * <p><b>Gradients.</b> The pipeline opens no no-grad guard around the network: under grad mode (training) the
 * result carries the autograd graph to the network's parameters; callers that only infer open a
 * {@link NoGradGuard} (and {@code InferenceMode}) themselves. The prior is frozen and always runs without recording
 * gradients (its features are inputs of the SEMs, never trained). Training patches are multiples of 32, so the
 * padding is a no-op there.
 *
 * <p><b>Threading.</b> Immutable; the modules are shared read-only, so many threads may run one pipeline at once.
 * Results are attached to the caller's innermost {@link PointerScope}; temporaries are released on return.
 */
public final class Pipeline {
  /** Number of self-ensemble transforms (identity, 3 rotations, and the 4 mirrored versions). */
  public static final int ENSEMBLE_SIZE = 8;

  private final DeepSPG net;
  private final ImagePrior prior;
  private final LongAdder priorNanos = new LongAdder();
  private final LongAdder networkNanos = new LongAdder();

  /**
   * @param net the network (on the device the inputs will be on)
   * @param prior the image prior the network's SEMs were trained with ({@link DeepSPGConfig#semPrior()}), when the
   *     network has SEMs (ignored otherwise); the pipeline does not close it
   * @throws IllegalArgumentException when the network has SEMs and no prior, or another prior, is given
   */
  public Pipeline(DeepSPG net, ImagePrior prior) {
    if (net.config().semEnabled()) {
      if (prior == null) {
        throw new IllegalArgumentException("the model has SEMs (sem.enabled=true): " + net.config().semPrior()
            + " weights are needed");
      }
      net.config().requireSemPrior(prior.id(), prior.featureChannels());
    }
    this.net = net;
    this.prior = net.config().semEnabled() ? prior : null;
  }

  /** @return the image prior (null for a model without SEMs) */
  public ImagePrior prior() {
    return prior;
  }

  /** @return the network's configuration */
  public DeepSPGConfig config() {
    return net.config();
  }

  /**
   * Pad → prior → network → crop.
   *
   * @param x {@code [B, 3, H, W]} float in [0, 1], on the network's device
   * @return {@code [B, 3, H, W]}, not clamped (the training losses see the raw output)
   * @throws IllegalArgumentException for a tensor that is not {@code [B, 3, H, W]}
   */
  public Tensor forward(Tensor x) {
    return forward(x, null);
  }

  /**
   * {@link #forward(Tensor)}, with the SEMs fed {@code given} (prior features computed elsewhere: those of the full
   * image for the downscaled copy of a tiled one) instead of running the prior, when not null.
   */
  private Tensor forward(Tensor x, Tensor[] given) {
    if (x == null || x.dim() != 4 || x.size(1) != 3) {
      throw new IllegalArgumentException("expected [B, 3, H, W], got " + ImageTensors.shape(x));
    }
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      long h = x.size(2), w = x.size(3);
      Tensor xp = Padding.reflectPad(x, Padding.MULTIPLE).contiguous();
      long t0 = System.nanoTime();
      Tensor y;
      if (prior != null && given != null) {
        y = net.forward(xp, given[0], given[1], given[2]);
        networkNanos.add(System.nanoTime() - t0);
      } else if (prior != null) {
        if (DeepSPGConfig.PRIOR_INPUT_RETINEX.equals(net.config().semPriorInput())) {
          long[] inPrior = new long[1];
          y = net.forward(xp, litUp -> { // the network calls it under no-grad with its light-up X_r
            long a = System.nanoTime();
            Tensor[] f = prior.features(litUp);
            inPrior[0] += System.nanoTime() - a;
            return f;
          });
          priorNanos.add(inPrior[0]);
          networkNanos.add(System.nanoTime() - t0 - inPrior[0]);
        } else {
          Tensor[] f;
          try (NoGradGuard ng = new NoGradGuard()) {
            f = prior.features(xp);
          }
          long t1 = System.nanoTime();
          priorNanos.add(t1 - t0);
          y = net.forward(xp, f[0], f[1], f[2]);
          networkNanos.add(System.nanoTime() - t1);
        }
      } else {
        y = net.forward(xp);
        networkNanos.add(System.nanoTime() - t0);
      }
      return Scopes.escape(Padding.crop(y, h, w), outer);
    }
  }

  /**
   * {@link #forward} clamped to [0, 1]: what evaluation and inference keep.
   *
   * @param x {@code [B, 3, H, W]} in [0, 1], on the network's device
   * @return {@code [B, 3, H, W]} in [0, 1], contiguous
   */
  public Tensor enhance(Tensor x) {
    return enhance(x, false, null);
  }

  /**
   * The enhanced image with optional self-ensemble (the mean of the outputs of the 8 flips/rotations of the image
   * padded to a multiple of 32, each inverted, then cropped) and optional replay of recorded attention matrices
   * ({@link AttentionContext}), clamped to [0, 1].
   *
   * @param x {@code [B, 3, H, W]} in [0, 1], on the network's device
   * @param ensemble whether to average the {@value #ENSEMBLE_SIZE} transforms
   * @param replay per transform, the recording to replay (tiles of a large image), or null
   * @return {@code [B, 3, H, W]} in [0, 1], contiguous
   */
  public Tensor enhance(Tensor x, boolean ensemble, AttentionContext.Recording[] replay) {
    return enhance(x, ensemble, replay, null);
  }

  /**
   * {@link #enhance(Tensor, boolean, AttentionContext.Recording[])} with the SEMs fed {@code features} (transformed
   * with each ensemble transform) instead of running the prior, when not null: a tile that replays recorded attention
   * passes placeholders, since its SEMs' prior input only feeds the attention scores that the replay replaces.
   *
   * @param x {@code [1, 3, H, W]} in [0, 1]
   * @param ensemble whether to average the {@value #ENSEMBLE_SIZE} transforms
   * @param replay per transform, the recording to replay, or null
   * @param features three maps (any size: the SEMs resize them to their levels), or null
   * @return {@code [1, 3, H, W]} in [0, 1], contiguous
   */
  public Tensor enhance(Tensor x, boolean ensemble, AttentionContext.Recording[] replay, Tensor[] features) {
    int nt = ensemble ? ENSEMBLE_SIZE : 1;
    if (replay != null && replay.length != nt) {
      throw new IllegalArgumentException(replay.length + " recordings for " + nt + " transforms");
    }
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor xe = ensembleInput(x, nt);
      Tensor acc = null;
      for (int t = 0; t < nt; t++) {
        Tensor y;
        Tensor[] given = transformed(features, t);
        if (replay != null) {
          try (AttentionContext.Scope r = AttentionContext.replay(replay[t])) {
            y = forward(transform(xe, t), given);
          }
        } else {
          y = forward(transform(xe, t), given);
        }
        y = inverse(y, t);
        acc = acc == null ? y : acc.add(y);
      }
      if (nt > 1) acc = Padding.crop(acc.div(new Scalar((double) nt)), x.size(2), x.size(3));
      Tensor out = acc.clamp(new ScalarOptional(new Scalar(0.0)), new ScalarOptional(new Scalar(1.0))).contiguous();
      return Scopes.escape(out, outer);
    }
  }

  /**
   * Runs {@code x} once per transform and records each transform's attention matrices (the context pass of tiled
   * inference); the outputs are discarded.
   *
   * @param x {@code [1, 3, H, W]} on the network's device
   * @param into one new recording per transform ({@code 1} or {@value #ENSEMBLE_SIZE})
   */
  public void record(Tensor x, AttentionContext.Recording[] into) {
    record(x, null, into);
  }

  /**
   * {@link #record(Tensor, AttentionContext.Recording[])} with the SEMs fed prior features of the full-resolution
   * image ({@link #priorFeatures}, stitched over its tiles; transformed with each ensemble transform) instead of the
   * prior's view of the downscaled copy, where objects appear smaller than in the tiles (a context pass of a 1280×852
   * image: 47.9 dB against whole-image inference with its own prior, 58.9 dB with the full image's features).
   *
   * @param x the downscaled image {@code [1, 3, h, w]}
   * @param features the full image's three prior feature maps {@code [1, C_l, ·, ·]} (any size: the SEMs resize
   *     them to their levels), or null to run the prior on {@code x}
   * @param into one new recording per transform
   */
  public void record(Tensor x, Tensor[] features, AttentionContext.Recording[] into) {
    try (PointerScope scope = new PointerScope()) {
      Tensor xe = ensembleInput(x, into.length);
      for (int t = 0; t < into.length; t++) {
        Tensor[] given = transformed(features, t);
        try (AttentionContext.Scope r = AttentionContext.record(into[t])) {
          forward(transform(xe, t), given);
        }
      }
    }
  }

  /**
   * One refinement pass over a tile ({@link AttentionContext#refine}): runs {@code x} once per transform, replaying
   * {@code from} and adding the sums over {@code window} (the tile's core, in the padded tile) to {@code into}; the
   * outputs are discarded.
   *
   * @param x a tile {@code [1, 3, H, W]} on the network's device
   * @param from per transform, the recording to replay
   * @param into per transform, the statistics the tiles of this image share
   * @param window the tile's core in its padded input, untransformed
   * @param features the tile's three prior maps (a model with SEMs: their queries feed the sums), or null to run the
   *     prior on the tile
   */
  public void refine(Tensor x, AttentionContext.Recording[] from, AttentionContext.Statistics[] into,
      AttentionContext.Window window, Tensor[] features) {
    if (from.length != into.length) {
      throw new IllegalArgumentException(from.length + " recordings for " + into.length + " statistics");
    }
    try (PointerScope scope = new PointerScope()) {
      Tensor xe = ensembleInput(x, from.length);
      for (int t = 0; t < from.length; t++) {
        Tensor[] given = transformed(features, t);
        try (AttentionContext.Scope r = AttentionContext.refine(from[t], into[t], transform(window, t))) {
          forward(transform(xe, t), given);
        }
      }
    }
  }

  /**
   * Where {@link #transform(Tensor, int)} moves a window of the padded input: flips mirror its bounds, quarter turns
   * swap rows and columns as {@code rot90} over dims (2, 3) does (pixel (r, c) of an H×W map goes to (W−1−c, r) for
   * one turn).
   *
   * @param w a window of the untransformed input
   * @param t the transform
   * @return the same pixels' window in the transformed input
   */
  static AttentionContext.Window transform(AttentionContext.Window w, int t) {
    int top = w.top(), bottom = w.bottom(), left = w.left(), right = w.right(), h = w.height(), wd = w.width();
    if ((t & 4) != 0) {
      int l = wd - right;
      right = wd - left;
      left = l;
    }
    return switch (t & 3) {
      case 1 -> new AttentionContext.Window(wd - right, wd - left, top, bottom, wd, h);
      case 2 -> new AttentionContext.Window(h - bottom, h - top, wd - right, wd - left, h, wd);
      case 3 -> new AttentionContext.Window(left, right, h - bottom, h - top, wd, h);
      default -> new AttentionContext.Window(top, bottom, left, right, h, wd);
    };
  }

  /**
   * The image the ensemble's transforms are applied to: padded at its bottom and right to a multiple of 32 before
   * any flip or turn, so that every transform sees the same padded image (and its pixels in the same places) and
   * {@link #forward} pads none of them again. Padding after the transform put the padding of some transforms at the
   * original top or left edge, where a tile of a tiled image, which starts inside the image, has real pixels instead:
   * tiled and whole-image ensembles differed along the top and left edges (picos-de-europa at 517×333 with tiles of
   * 128 and the bundled model: 51.4 dB, up to 32/255), and the prior's maps of the padded image, transformed, no
   * longer lay on the pixels they came from. One transform (no ensemble) is left to {@link #forward}.
   */
  private static Tensor ensembleInput(Tensor x, int transforms) {
    if (transforms == 1 || x == null || x.dim() != 4) return x; // forward names a wrong shape
    return Padding.reflectPad(x, Padding.MULTIPLE);
  }

  /** The prior's maps under ensemble transform t (contiguous), or null without maps or without SEMs. */
  private Tensor[] transformed(Tensor[] features, int t) {
    if (features == null || prior == null) return null;
    Tensor[] g = new Tensor[features.length];
    for (int l = 0; l < g.length; l++) g[l] = transform(features[l], t).contiguous();
    return g;
  }

  /**
   * The prior's three feature maps for an image (a tile of a large one), as {@link #forward} computes them: on the
   * image padded to a multiple of 32, or on the network's light-up X_r of it ({@code sem.prior_input = retinex},
   * pixel-local). The prior sees only the tile, so its features differ from the whole image's near the tile's edges
   * (the stitching takes each cell from the tile whose core holds it).
   *
   * @param x {@code [1, 3, H, W]} in [0, 1], on the network's device (under no-grad)
   * @return the maps of the padded image, in the caller's scope; null for a model without SEMs
   */
  public Tensor[] priorFeatures(Tensor x) {
    if (prior == null) return null;
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      long t0 = System.nanoTime();
      Tensor xp = Padding.reflectPad(x, Padding.MULTIPLE).contiguous();
      Tensor in = DeepSPGConfig.PRIOR_INPUT_RETINEX.equals(net.config().semPriorInput()) ? net.lightUp(xp) : xp;
      Tensor[] f = prior.features(in);
      for (int l = 0; l < f.length; l++) f[l] = Scopes.escape(f[l], outer);
      priorNanos.add(System.nanoTime() - t0);
      return f;
    }
  }

  /** @return nanoseconds spent in the prior since construction or {@link #resetTimings()} (all threads) */
  public long priorNanos() {
    return priorNanos.sum();
  }

  /** @return nanoseconds spent in the network since construction or {@link #resetTimings()} (all threads) */
  public long networkNanos() {
    return networkNanos.sum();
  }

  /** Zeroes the timings. */
  public void resetTimings() {
    priorNanos.reset();
    networkNanos.reset();
  }

  /**
   * Self-ensemble transform t ∈ [0, 8): optional horizontal flip (t ≥ 4), then t mod 4 quarter turns.
   *
   * @param x {@code [B, C, H, W]}
   * @param t the transform
   * @return the transformed tensor
   */
  public static Tensor transform(Tensor x, int t) {
    Tensor y = (t & 4) != 0 ? x.flip(3) : x;
    int k = t & 3;
    return k == 0 ? y : rot90(y, k, 2, 3);
  }

  /**
   * Inverse of {@link #transform}.
   *
   * @param y a transformed tensor
   * @param t the transform
   * @return the tensor in the original orientation
   */
  public static Tensor inverse(Tensor y, int t) {
    int k = t & 3;
    Tensor z = k == 0 ? y : rot90(y, 4 - k, 2, 3);
    return (t & 4) != 0 ? z.flip(3) : z;
  }
}
