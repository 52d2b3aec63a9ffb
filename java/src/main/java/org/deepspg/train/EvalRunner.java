/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.NoGradGuard;
import org.deepspg.data.Image;
import org.deepspg.data.ImageTensors;
import org.deepspg.data.PairedDataset;
import org.deepspg.eval.Baselines;
import org.deepspg.eval.ColorFidelity;
import org.deepspg.model.ModelFiles;
import org.deepspg.eval.EvalReport;
import org.deepspg.eval.Metrics;
import org.deepspg.eval.NoReferenceReport;
import org.deepspg.infer.Enhancer;
import org.deepspg.infer.Pipeline;
import org.deepspg.io.ProgressBar;
import org.deepspg.model.DeepSPG;
import org.deepspg.model.DeepSPGConfig;
import org.deepspg.model.prior.ImagePrior;
import org.deepspg.model.hrnet.InputNorm;
import org.deepspg.ops.Backends;
import org.deepspg.ops.Devices;
import org.deepspg.model.prior.ImagePriors;

/**
 * Evaluation of a method on paired images (spec §6): PSNR, SSIM and their GT-mean variants per image, averaged, with
 * the enhancement time per image. Methods are the classical baselines or a DeepSPG network loaded from an exported
 * weights file ({@code model_final.pth}, {@code model_best.pth}) or a training checkpoint ({@code last.pth}).
 *
 * <p><b>Transparency.</b> Every method gets the low image as the {@link Enhancer} prepares it ({@link
 * Enhancer#input}: checked, fully transparent pixels filled from the visible ones), so a model scores what {@code
 * deepspg enhance} writes. Pixels the target hides (alpha 0) show nothing, and the colour stored under them is
 * whatever the encoder left: they are left out of every measure ({@link Metrics#evaluate(float[], float[],
 * boolean[], int, int, Metrics.Layout, Metrics.GrayWeights)}, and the colour measures count only the other pixels);
 * a target that hides every pixel is refused. Partly transparent pixels count as stored (straight colour).
 */
public final class EvalRunner {
  /** An enhancement method under evaluation. */
  public interface Method {
    /**
     * @param low the low-light input, as the {@link Enhancer} prepares it ({@link Enhancer#input})
     * @param high the target (only oracle baselines may look at it)
     * @return the enhanced image {@code [3, H, W]} planar, values in [0, 1]
     */
    float[] enhance(Image low, Image high);

    /** @return a short description for the report */
    String name();
  }

  private EvalRunner() {}

  /**
   * Evaluates a method on (the first {@code limit} pairs of) a dataset.
   *
   * @param ds the pairs
   * @param method the method
   * @param limit maximum pairs (0 = all)
   * @return the report (per-image metrics and enhancement seconds)
   * @throws IOException when an image cannot be read
   */
  public static EvalReport run(PairedDataset ds, Method method, int limit) throws IOException {
    return run(ds, method, limit, null);
  }

  /**
   * {@link #run(PairedDataset, Method, int)} with a progress bar.
   *
   * @param ds the pairs
   * @param method the method
   * @param limit maximum pairs (0 = all)
   * @param progress where to draw a progress bar ({@link ProgressBar}), or null for none
   * @return the report
   * @throws IOException when an image cannot be read
   */
  public static EvalReport run(PairedDataset ds, Method method, int limit, PrintStream progress) throws IOException {
    EvalReport rep = new EvalReport(method.name(), Metrics.DEFAULT_GRAY_WEIGHTS);
    forEach(ds, method, limit, progress, (l, low, pred, secs) -> {
      boolean[] shown = shown(l);
      Metrics.Scores s = scores(l, pred, shown);
      float[] in = shownPixels(low.rgb(), shown), out = shownPixels(pred, shown);
      rep.add(EvalReport.ImageResult.of(l.pair().name(), s, secs).withColor(ColorFidelity.newlyClipped(in, out),
          ColorFidelity.hueError(out, shownPixels(l.high().rgb(), shown)).degrees()));
    });
    return rep;
  }

  /**
   * The pixels a pair's target shows (alpha above 0).
   *
   * @param l a pair
   * @return per pixel whether the target shows it, or null when it shows every pixel
   * @throws IllegalArgumentException when the target hides every pixel (nothing to score)
   */
  static boolean[] shown(PairedDataset.Loaded l) {
    float[] a = l.high().alpha();
    if (a == null) return null;
    boolean[] shown = new boolean[a.length];
    int count = 0;
    for (int i = 0; i < a.length; i++) {
      shown[i] = a[i] > 0;
      if (shown[i]) count++;
    }
    if (count == 0) {
      throw new IllegalArgumentException("the target of " + l.pair().name() + " (" + l.pair().high() + ") is fully "
          + "transparent (alpha 0 everywhere): nothing to score");
    }
    return count == a.length ? null : shown;
  }

  /**
   * The protocol's scores of an output against a pair's target, over the pixels the target shows.
   *
   * @param l the pair
   * @param pred the output {@code [3, H, W]}
   * @param shown {@link #shown(PairedDataset.Loaded)} of the pair
   * @return the scores
   */
  static Metrics.Scores scores(PairedDataset.Loaded l, float[] pred, boolean[] shown) {
    return Metrics.evaluate(pred, l.high().rgb(), shown, l.high().height(), l.high().width(), Metrics.Layout.CHW,
        Metrics.DEFAULT_GRAY_WEIGHTS);
  }

  /** The samples of the shown pixels of a planar image, as a {@code [3, 1, N]} image (all of it when null). */
  private static float[] shownPixels(float[] rgb, boolean[] shown) {
    if (shown == null) return rgb;
    int n = shown.length, k = 0;
    float[] out = new float[rgb.length];
    for (int c = 0; c < 3; c++) {
      for (int i = 0; i < n; i++) if (shown[i]) out[k++] = rgb[c * n + i];
    }
    return java.util.Arrays.copyOf(out, k);
  }

  /**
   * Scores a method on dark images without ground truth ({@link NoReferenceReport}): newly clipped pixels, hue drift
   * against the input, noise and brightness of the output.
   *
   * @param ds pairs whose low image is the dark input; the high image is what {@link #precomputed} returns (another
   *     method's output) and is not shown to other methods
   * @param method the method
   * @param limit maximum images (0 = all)
   * @return the report
   * @throws IOException when an image cannot be read
   */
  public static NoReferenceReport runNoReference(PairedDataset ds, Method method, int limit) throws IOException {
    return runNoReference(ds, method, limit, null);
  }

  /**
   * {@link #runNoReference(PairedDataset, Method, int)} with a progress bar.
   *
   * @param ds pairs whose low image is the dark input
   * @param method the method
   * @param limit maximum images (0 = all)
   * @param progress where to draw a progress bar ({@link ProgressBar}), or null for none
   * @return the report
   * @throws IOException when an image cannot be read
   */
  public static NoReferenceReport runNoReference(PairedDataset ds, Method method, int limit, PrintStream progress)
      throws IOException {
    NoReferenceReport rep = new NoReferenceReport(method.name());
    forEach(ds, method, limit, progress, (l, low, pred, secs) -> rep.add(NoReferenceReport.Result.measure(
        l.pair().name(), low.rgb(), pred, low.height(), low.width(), method instanceof Precomputed ? 0 : secs)));
    return rep;
  }

  /** What an evaluation does with one pair, its low image as methods get it, the output and the seconds it took. */
  private interface PerImage {
    void accept(PairedDataset.Loaded pair, Image low, float[] output, double seconds);
  }

  /**
   * Runs the method on (the first {@code limit} pairs of) a dataset, timing the enhancement alone (with the input
   * preparation that {@link Enhancer} counts in its own time).
   */
  private static void forEach(PairedDataset ds, Method method, int limit, PrintStream progress, PerImage f)
      throws IOException {
    int n = limit > 0 ? Math.min(limit, ds.size()) : ds.size();
    ProgressBar bar = progress == null ? null : new ProgressBar(progress, "eval", n, 0);
    for (int i = 0; i < n; i++) {
      PairedDataset.Loaded l = ds.load(i);
      long t0 = System.nanoTime();
      Image low = Enhancer.input(l.low()); // what enhance runs the network on: hidden pixels filled
      float[] pred = method.enhance(low, l.high());
      int bad = 0;
      for (float v : pred) if (!Float.isFinite(v)) bad++;
      if (bad > 0) { // scored, NaN read as black gave a plausible-looking SSIM and exit 0
        throw new IllegalArgumentException(method.name() + " gives " + bad + " non-finite values of " + pred.length
            + " on " + l.pair().name() + " (" + l.pair().low() + "): its weights are broken (diverged training?), "
            + "nothing to score");
      }
      f.accept(l, low, pred, (System.nanoTime() - t0) / 1e9);
      if (bar != null) bar.step(1, l.pair().name());
    }
    if (bar != null) bar.finish();
  }

  /**
   * Images another method already made: pair the inputs (low) with its outputs (high) by file name, and this method
   * returns the output, so that {@link #runNoReference} scores any method's results the same way as ours.
   *
   * @param label the report's name for it, e.g. its folder
   * @return the method
   */
  public static Method precomputed(String label) {
    return new Precomputed(label);
  }

  private record Precomputed(String name) implements Method {
    @Override
    public float[] enhance(Image low, Image high) {
      return high.rgb();
    }
  }

  /**
   * A classical baseline.
   *
   * @param which identity | gamma | clahe
   * @param gamma fixed exponent for "gamma" ({@code out = x^g}), or null for the per-image oracle exponent that
   *     maximises PSNR against the target (an upper bound, not a method)
   * @return the method
   */
  public static Method baseline(String which, Double gamma) {
    String w = which.toLowerCase(Locale.ROOT);
    return switch (w) {
      case "identity" -> method("identity", (lo, hi) -> Baselines.identity(lo.rgb()));
      case "gamma" -> gamma != null
          ? method(String.format(Locale.ROOT, "gamma %.3g", gamma), (lo, hi) -> Baselines.gamma(lo.rgb(), gamma))
          : method("gamma (oracle per image)", (lo, hi) -> Baselines.bestGamma(lo.rgb(), hi.rgb()).image());
      case "clahe" -> method("clahe", (lo, hi) -> Baselines.clahe(lo.rgb(), lo.height(), lo.width()));
      default -> throw new IllegalArgumentException("unknown baseline '" + which + "' (identity, gamma or clahe)");
    };
  }

  private static Method method(String name, java.util.function.BiFunction<Image, Image, float[]> f) {
    return new Method() {
      @Override
      public float[] enhance(Image low, Image high) {
        return f.apply(low, high);
      }

      @Override
      public String name() {
        return name;
      }
    };
  }

  /**
   * A trained DeepSPG network as a method.
   *
   * @param spec a bundled model name ({@code deepspg models}) or the path of a weights file / training checkpoint
   *     carrying the model configuration as metadata ({@link ModelFiles})
   * @param hrnetWeights weights of the image prior the network's SEMs were trained with (HRNet-W48 or ESPNetv2, as
   *     its {@code sem.prior} says; needed when the network has SEMs), or null
   * @param hrnetTopology HRNet topology JSON (null = official W48 ADE20K; HRNet only)
   * @param device "cpu", "cuda" or "auto" ({@link Devices#resolve})
   * @return the method
   * @throws IOException when a file cannot be read (MissingWeightsException for unusable HRNet weights)
   */
  public static Method model(String spec, Path hrnetWeights, Path hrnetTopology, String device) throws IOException {
    return model(spec, null, hrnetWeights, hrnetTopology, device);
  }

  /**
   * {@link #model(String, Path, Path, String)} for a weights file without configuration metadata.
   *
   * @param spec a bundled model name or a weights file
   * @param architecture the network of a weights file that carries no configuration ({@link ModelFiles#preset}),
   *     or null
   * @param hrnetWeights weights of the image prior, or null
   * @param hrnetTopology HRNet topology JSON, or null
   * @param device "cpu", "cuda" or "auto" ({@link Devices#resolve})
   * @return the method
   * @throws IOException when a file cannot be read
   * @throws IllegalArgumentException for an unknown device, or cuda without a CUDA device
   */
  public static Method model(String spec, DeepSPGConfig architecture, Path hrnetWeights, Path hrnetTopology,
      String device) throws IOException {
    Backends.init();
    device = Devices.resolve(device, "--device");
    ModelFiles.Loaded ld = ModelFiles.load(spec, architecture);
    DeepSPG net = ld.net();
    InputNorm norm = ld.hrnetInputNorm();
    String name = "DeepSPG " + (ModelFiles.bundled(spec).isPresent() && !Files.exists(Path.of(spec))
        ? spec.trim().toLowerCase(Locale.ROOT) + " (bundled)" : Path.of(spec).getFileName().toString());
    ImagePrior prior = null;
    if (net.config().semEnabled()) {
      prior = ImagePriors.forModel(net.config(), hrnetWeights, hrnetTopology, norm, ld.source(),
          "CLI: eval --prior-weights FILE");
      ImagePriors.requireTrainedWith(ld.meta(), prior);
    }
    Device dev = new Device(device);
    if (!device.equals("cpu")) { // Module.to recurses through Java peers (see JavaModule): only when needed
      net.to(dev, false);
      if (prior != null) prior.to(dev, torch.ScalarType.Float);
    }
    net.eval();
    Pipeline inf = new Pipeline(net, prior); // refuses a prior other than the one the SEMs were trained with
    String label = name + ", " + net.config().describe();
    return new Method() {
      @Override
      public float[] enhance(Image low, Image high) {
        try (PointerScope s = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
          return ImageTensors.floatsOf(inf.enhance(ImageTensors.toTensor(low, dev)));
        }
      }

      @Override
      public String name() {
        return label;
      }
    };
  }
}
