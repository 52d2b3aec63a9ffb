/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.model.clip.Clip;
import org.deepspg.model.clip.ClipPreprocess;
import org.deepspg.model.clip.ClipTokenizer;
import org.deepspg.model.prior.ImagePrior;
import org.deepspg.ops.EdgeLoss;
import org.deepspg.ops.EdgeOperator;
import org.deepspg.ops.KlLoss;
import org.deepspg.ops.Scopes;

/**
 * The DeepSPG objective (spec §4, paper eq. 15) plus our colour term:
 * {@code L = λ1·L_pix + λ2·L_edge + λ3·L_sem + λ4·L_mul + λ5·L_color}.
 *
 * <ul>
 *   <li>{@code L_pix} = mean squared error over {@code [B, 3, H, W]}.</li>
 *   <li>{@code L_edge} = {@link EdgeLoss} with the configured operator (forward differences or Sobel).</li>
 *   <li>{@code L_sem} = {@link KlLoss}{@code (z_out, z_gt, T)} on the image prior's class logits (HRNet-W48 at 1/4
 *       resolution, ESPNetv2 at 1/2): {@code z_gt = P(X_gt)} without gradient, {@code z_out = P(X_out)} with the
 *       gradient flowing through the frozen prior into X_out (the prior applies its own input normalisation,
 *       {@link ImagePrior#run}).</li>
 *   <li>{@code L_mul = mean_b(⟨e_b, t_L⟩ − ⟨e_b, t_H⟩)}, {@code e_b} = L2-normalised CLIP image embedding of
 *       {@link ClipPreprocess#differentiable} (X_out) (no clamp), {@code t_L, t_H} = L2-normalised text embeddings of
 *       the two prompts, computed once at construction.</li>
 *   <li>{@code L_color = L_over + L_chroma} ({@link #color}; not in the paper, off unless {@code loss.color} &gt; 0):
 *       punishes the faults seen on real dark photos, highlights that saturate where the target does not, and hue
 *       shifts, casts and washed-out colour.</li>
 * </ul>
 * A term whose weight is 0 is not computed (its network is not needed). Each term is returned unweighted as a
 * 0-dim tensor, plus the weighted total.
 *
 * <p>Construct outside a {@link PointerScope} (the text embeddings are kept for the object's lifetime); call
 * {@link #compute} inside the step's scope. Not thread-safe (shares the prior networks).
 */
public final class Losses {
  /**
   * Loss weights.
   *
   * @param pix λ1 (L_pix)
   * @param edge λ2 (L_edge)
   * @param sem λ3 (L_sem)
   * @param mul λ4 (L_mul)
   * @param color λ5 (L_color; 0 in the paper's objective)
   */
  public record Weights(double pix, double edge, double sem, double mul, double color) {
    /** The spec's defaults λ = 1, 0.5, 0.01, 0.01 (no colour term). */
    public static final Weights DEFAULT = new Weights(1, 0.5, 0.01, 0.01);

    /** Validates the weights (finite, ≥ 0). */
    public Weights {
      for (double w : new double[] {pix, edge, sem, mul, color}) {
        if (!(w >= 0) || Double.isInfinite(w)) {
          throw new IllegalArgumentException("loss weights must be finite and >= 0, got pix=" + pix + " edge=" + edge
              + " sem=" + sem + " mul=" + mul + " color=" + color);
        }
      }
    }

    /**
     * The paper's four terms, without the colour term.
     *
     * @param pix λ1
     * @param edge λ2
     * @param sem λ3
     * @param mul λ4
     */
    public Weights(double pix, double edge, double sem, double mul) {
      this(pix, edge, sem, mul, 0);
    }

    /** @return the weights as an array in the order of {@link #NAMES} */
    public double[] toArray() {
      return new double[] {pix, edge, sem, mul, color};
    }
  }

  /** Term names in the order of {@link Terms#terms()} and {@link #gradNorms}. */
  public static final List<String> NAMES = List.of("pix", "edge", "sem", "mul", "color");

  /** Index of the weighted total in {@link Terms#values()} (after the {@link #NAMES} terms). */
  public static final int TOTAL = 5;

  /** L_over's margin m: an output channel above {@code max(target, 1 − m)} counts as newly saturated. */
  public static final double OVER_MARGIN = 0.05;

  /**
   * The losses of one batch.
   *
   * @param pix L_pix, 0-dim (null when λ1 = 0)
   * @param edge L_edge, 0-dim (null when λ2 = 0)
   * @param sem L_sem, 0-dim (null when λ3 = 0)
   * @param mul L_mul, 0-dim (null when λ4 = 0)
   * @param color L_color, 0-dim (null when λ5 = 0)
   * @param total the weighted sum, 0-dim
   */
  public record Terms(Tensor pix, Tensor edge, Tensor sem, Tensor mul, Tensor color, Tensor total) {
    /** @return the unweighted terms in the order of {@link #NAMES} (null entries for skipped terms) */
    public Tensor[] terms() {
      return new Tensor[] {pix, edge, sem, mul, color};
    }

    /** @return the values as doubles (NaN for skipped terms) in the order of {@link #NAMES}, then the total */
    public double[] values() {
      Tensor[] t = terms();
      double[] v = new double[TOTAL + 1];
      for (int i = 0; i < TOTAL; i++) v[i] = t[i] == null ? Double.NaN : t[i].item_double();
      v[TOTAL] = total.item_double();
      return v;
    }
  }

  private final Weights weights;
  private final EdgeOperator edgeOperator;
  private final ImagePrior prior;
  private final double temperature;
  private final Clip clip;
  private final Tensor textDiff; // [1, D] = t_L − t_H (normalised), or null

  /**
   * @param weights λ1..λ5
   * @param edgeOperator derivative of L_edge
   * @param prior the frozen image prior (required when λ3 &gt; 0, else may be null)
   * @param temperature T of L_sem (&gt; 0)
   * @param clip frozen CLIP (required when λ4 &gt; 0, else may be null)
   * @param tokenizer CLIP tokenizer (required when λ4 &gt; 0)
   * @param lowText prompt t_L, e.g. "low-light image"
   * @param highText prompt t_H, e.g. "high-light image"
   */
  public Losses(Weights weights, EdgeOperator edgeOperator, ImagePrior prior, double temperature, Clip clip,
      ClipTokenizer tokenizer, String lowText, String highText) {
    if (weights == null || edgeOperator == null) throw new IllegalArgumentException("weights and edge operator are required");
    if (weights.sem > 0 && prior == null) {
      throw new IllegalArgumentException("L_sem has weight " + weights.sem + " but no image prior was given");
    }
    if (weights.mul > 0 && (clip == null || tokenizer == null)) {
      throw new IllegalArgumentException("L_mul has weight " + weights.mul + " but no CLIP model/tokenizer was given");
    }
    if (weights.pix + weights.edge + weights.sem + weights.mul + weights.color <= 0) {
      throw new IllegalArgumentException("at least one loss weight must be > 0");
    }
    if (!(temperature > 0)) throw new IllegalArgumentException("temperature must be > 0, got " + temperature);
    this.weights = weights;
    this.edgeOperator = edgeOperator;
    this.prior = prior;
    this.temperature = temperature;
    this.clip = clip;
    if (weights.mul > 0) {
      Tensor[] t = textEmbeddings(clip, tokenizer, lowText, highText);
      try (PointerScope s = new PointerScope()) {
        textDiff = t[0].sub(t[1]).detach();
        textDiff.retainReference();
      }
      t[0].close();
      t[1].close();
    } else {
      textDiff = null;
    }
  }

  /** @return the weights */
  public Weights weights() {
    return weights;
  }

  /**
   * The L2-normalised CLIP text embeddings of two prompts, computed without gradient.
   *
   * @param clip the model
   * @param tokenizer its tokenizer
   * @param low prompt t_L
   * @param high prompt t_H
   * @return {@code [1, D]} each: {@code [0]} t_L, {@code [1]} t_H (owned by the caller: not attached to any scope)
   */
  public static Tensor[] textEmbeddings(Clip clip, ClipTokenizer tokenizer, String low, String high) {
    Tensor tl, th;
    try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      long[][] ids = tokenizer.tokenize(List.of(low, high), clip.config().contextLength(), true);
      long[] flat = new long[ids.length * ids[0].length];
      for (int i = 0; i < ids.length; i++) System.arraycopy(ids[i], 0, flat, i * ids[0].length, ids[0].length);
      Tensor tok = torch.tensor(flat).reshape(ids.length, ids[0].length).to(clipDevice(clip), torch.ScalarType.Long);
      Tensor e = Clip.l2normalize(clip.encodeText(tok));
      tl = e.narrow(0, 0, 1).clone();
      th = e.narrow(0, 1, 1).clone();
      tl.retainReference();
      th.retainReference();
    }
    return new Tensor[] {tl, th};
  }

  private static org.bytedeco.pytorch.Device clipDevice(Clip clip) {
    TensorVector ps = clip.parameters(); // keep the vector alive while reading its element
    org.bytedeco.pytorch.Device d = ps.get(0).device();
    ps.close();
    return d;
  }

  /**
   * Computes the losses of a batch. Call with grad mode on for training (the result's graph reaches
   * {@code out}); the ground-truth branches run without gradient.
   *
   * @param out X_out {@code [B, 3, H, W]} (the network output)
   * @param gt X_gt {@code [B, 3, H, W]}
   * @return the unweighted terms and the weighted total (attached to the caller's scope)
   */
  public Terms compute(Tensor out, Tensor gt) {
    if (out == null || gt == null || out.dim() != 4 || out.size(1) != 3 || !java.util.Arrays.equals(
        out.sizes().vec().get(), gt.sizes().vec().get())) {
      throw new IllegalArgumentException("losses need out and gt of equal shape [B, 3, H, W], got "
          + (out == null ? "null" : java.util.Arrays.toString(out.sizes().vec().get())) + " and "
          + (gt == null ? "null" : java.util.Arrays.toString(gt.sizes().vec().get())));
    }
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope inner = new PointerScope()) {
      Tensor pix = null, edge = null, sem = null, mul = null, color = null;
      Tensor total = null;
      if (weights.pix > 0) {
        pix = out.sub(gt).pow(new Scalar(2.0)).mean();
        total = plus(total, pix.mul(new Scalar(weights.pix)));
      }
      if (weights.edge > 0) {
        edge = EdgeLoss.apply(out, gt, edgeOperator);
        total = plus(total, edge.mul(new Scalar(weights.edge)));
      }
      if (weights.sem > 0) {
        Tensor zGt;
        try (NoGradGuard ng = new NoGradGuard()) {
          zGt = prior.run(gt).logits();
        }
        Tensor zOut = prior.run(out).logits();
        sem = KlLoss.apply(zOut, zGt, temperature);
        total = plus(total, sem.mul(new Scalar(weights.sem)));
      }
      if (weights.mul > 0) {
        Tensor x = ClipPreprocess.differentiable(out, clip.config().imageResolution());
        Tensor e = Clip.l2normalize(clip.encodeImage(x)); // [B, D]
        mul = e.matmul(textDiff.to(e).t()).mean();
        total = plus(total, mul.mul(new Scalar(weights.mul)));
      }
      if (weights.color > 0) {
        color = color(out, gt);
        total = plus(total, color.mul(new Scalar(weights.color)));
      }
      Tensor[] keep = {pix, edge, sem, mul, color, total};
      for (Tensor t : keep) if (t != null) Scopes.escape(t, outer);
      return new Terms(pix, edge, sem, mul, color, total);
    }
  }

  /**
   * {@code L_color = L_over + L_chroma} of an output against its target, both {@code [B, 3, H, W]} in [0, 1] sRGB.
   *
   * <ul>
   *   <li>{@code L_over = mean(relu(X − max(Y, 1 − m)) · [Y < 1 − m])} over all channel values, m =
   *       {@value #OVER_MARGIN}: zero unless an output channel rises above both its target and 1 − m where the target
   *       is not itself saturated, i.e. the "newly clipped" values of {@code deepspg eval}. L_pix punishes such an
   *       overshoot no more than any other error of the same size; this term adds a push that only highlights get.
   *       Exceeding a saturated target costs nothing here (the output is clamped to 1 anyway).</li>
   *   <li>{@code L_chroma = mean_p |x − y|² / (mean_p |y|² + f)} with {@code x = X − mean_c X},
   *       {@code y = Y − mean_c Y} the pixels' chroma vectors (the RGB components off the grey axis): the colour
   *       part of the pixel error, {@code |x − y|² = (|x| − |y|)² + 2·|x|·|y|·(1 − cos θ)}, i.e. saturation error
   *       plus hue error weighted by both chromas; a cast on a grey target costs {@code |x|²}. Normalised by the
   *       target's chroma energy (plus a floor of {@value #CHROMA_FLOOR}), so a dim, nearly grey scene, where L_pix
   *       hardly sees a colour error, weighs its colours as much as a vivid one.
   *       History: the first version was the hue term alone, {@code |x|·|y|·(1 − cos θ)}, which a grey output zeroes:
   *       the network learnt to grey colours out (saturation kept 0.44 on 26 real dark photos, against 0.93 for the
   *       bundled {@code s}). Weighting the hue term by {@code |y|²} instead left colour on grey targets free: a
   *       quarter of the way through training the outputs had casts and 1.31× the input's saturation. This term
   *       covers both; on the phone data preset, whose shadows are magenta, it teaches a green cast instead
   *       (docs/data.md).</li>
   * </ul>
   *
   * @param out X {@code [B, 3, H, W]} (gradients flow into it)
   * @param gt Y {@code [B, 3, H, W]}
   * @return the 0-dim loss
   */
  public static Tensor color(Tensor out, Tensor gt) {
    Scalar knee = new Scalar(1 - OVER_MARGIN);
    Tensor over = out.sub(gt.clamp_min(knee)).relu().mul(gt.lt(knee)).mean();
    Tensor x = out.sub(out.mean(CHANNEL, true, new ScalarTypeOptional()));
    Tensor y = gt.sub(gt.mean(CHANNEL, true, new ScalarTypeOptional()));
    Tensor y2 = channelSum(y.pow(new Scalar(2.0)));
    Tensor chroma = channelSum(x.sub(y).pow(new Scalar(2.0))).mean().div(y2.mean().add(new Scalar(CHROMA_FLOOR)));
    return over.add(chroma);
  }

  /** Added to L_chroma's denominator: a scene with less chroma energy than this has no hue worth keeping. */
  static final double CHROMA_FLOOR = 1e-4;

  private static final long[] CHANNEL = {1};

  private static Tensor channelSum(Tensor t) {
    return t.sum(CHANNEL, false, new ScalarTypeOptional());
  }

  private static Tensor plus(Tensor a, Tensor b) {
    return a == null ? b : a.add(b);
  }

  /**
   * Gradient norms of the weighted terms w.r.t. X_out (spec §4 calibration rule: at initialisation λ3·L_sem and
   * λ4·L_mul should each have 5–20 % of the gradient norm of λ1·L_pix). Uses {@code autograd::grad} with
   * {@code retain_graph}, so the graph stays usable for the training backward that follows.
   *
   * @param terms the result of {@link #compute} (with a graph)
   * @param out the X_out the terms were computed from
   * @return {@code ||∂(λ_i·L_i)/∂X_out||_2} in the order of {@link #NAMES} (NaN for skipped terms)
   */
  public double[] gradNorms(Terms terms, Tensor out) {
    double[] w = weights.toArray();
    Tensor[] t = terms.terms();
    double[] r = new double[TOTAL];
    try (PointerScope s = new PointerScope()) {
      for (int i = 0; i < TOTAL; i++) {
        if (t[i] == null || !t[i].requires_grad()) {
          r[i] = Double.NaN;
          continue;
        }
        TensorVector g = torch.grad(new TensorVector(t[i]), new TensorVector(out), new TensorVector(),
            new BoolOptional(true), false, false);
        r[i] = w[i] * g.get(0).norm().item_double();
      }
    }
    return r;
  }
}
