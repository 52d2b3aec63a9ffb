/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.bytedeco.pytorch.global.torch.globalContext;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AutoGradMode;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Whether libtorch's oneDNN (mkldnn) CPU kernels may be used: off unless a self-check <em>on this machine</em> proves
 * them right.
 *
 * <p><b>Why.</b> oneDNN's convolutions are faster than libtorch's fallback for dense convolutions (the HRNet prior
 * runs about 2× faster with them), but on some CPUs they compute wrong results: on a 2-vCPU AMD EPYC with AVX-512
 * (avx512_vp2intersect, bf16, vbmi2, vnni) bytedeco libtorch 2.10.0-1.5.13 returns NaN for a DeepSPG-S forward pass,
 * and a 3×3 convolution with 3 or 8 output channels on a 208×208 input differs from the fallback by 2.4 on values of
 * magnitude 6 (its input gradients for out_channels &lt; 16 were wrong too). Shipping "on" because it was right on
 * the developer's CPU once made {@code deepspg demo} write black images on that machine. So the decision is taken
 * where the code runs:
 *
 * <ul>
 *   <li>{@link Mode#OFF}: never use oneDNN (the default of every process, set by {@link Backends#init()}).</li>
 *   <li>{@link Mode#AUTO}: run {@link #check probes} — the caller's own computation (a small forward of the loaded
 *       model on a fixed input) and one convolution of each shape class the models use ({@link #convProbes}) —
 *       once with oneDNN off and once on, and enable oneDNN only if every output is finite and agrees to float32
 *       tolerance ({@link #TOLERANCE} relative to the output's magnitude).</li>
 *   <li>{@link Mode#ON}: enable without checking (experiments; the Enhancer's output guard still refuses outputs
 *       that are non-finite or collapsed, but it cannot see subtly wrong ones).</li>
 * </ul>
 *
 * <p>The setting is process-wide (libtorch has no per-thread switch). A check therefore holds {@link #exclusive()}
 * while it flips the setting, and code that must not see it flip mid-computation (every Enhancer call) holds
 * {@link #shared()}. Once a check has failed, oneDNN stays off for the rest of the process, whatever a later
 * {@code AUTO} check would say. The verdict is reported by {@link #verdict()} ({@code deepspg info}, {@code bench}).
 */
public final class OneDnn {
  /**
   * System property with the mode {@link #defaultMode()} returns ({@code auto} when unset). The test suite sets it to
   * {@code off} so that unit tests run one configuration on every machine; tests of the user path set modes
   * explicitly or run the CLI in a fresh process.
   */
  public static final String MODE_PROPERTY = "deepspg.onednn";

  /** Relative tolerance of the self-check: max |on − off| ≤ TOLERANCE · max(1, max |off|). */
  public static final double TOLERANCE = 1e-3;

  /** How a process may use oneDNN. */
  public enum Mode {
    /** Never. */
    OFF,
    /** Only after the self-check passed on this machine. */
    AUTO,
    /** Without checking. */
    ON;

    /**
     * @param s {@code on}, {@code off} or {@code auto} (case-insensitive)
     * @return the mode
     * @throws IllegalArgumentException for anything else
     */
    public static Mode parse(String s) {
      String v = s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
      return switch (v) {
        case "on" -> ON;
        case "off" -> OFF;
        case "auto" -> AUTO;
        default -> throw new IllegalArgumentException("oneDNN mode must be on, off or auto, got '" + s + "'");
      };
    }
  }

  /**
   * One computation of the self-check.
   *
   * @param name what it computes (reported when it fails)
   * @param run computes the output on the CPU; called twice (oneDNN off, then on) inside a {@link PointerScope}
   */
  public record Probe(String name, Supplier<Tensor> run) {}

  /**
   * The current decision.
   *
   * @param enabled whether oneDNN is on
   * @param mode the mode that decided it
   * @param checked whether a self-check ran
   * @param maxRelDiff the largest relative difference the check saw (NaN when none ran or an output was non-finite)
   * @param failedProbe the first probe that failed, or null
   */
  public record Verdict(boolean enabled, Mode mode, boolean checked, double maxRelDiff, String failedProbe) {
    /** @return one line such as {@code on, self-check passed (max rel. diff 2.1e-06)} */
    public String describe() {
      if (mode == Mode.OFF && !checked) return "off";
      if (mode == Mode.ON && !checked) return enabled ? "on, not checked (--onednn on)" : "off";
      if (enabled) return String.format(Locale.ROOT, "on, self-check passed (max rel. diff %.1e)", maxRelDiff);
      return String.format(Locale.ROOT, "off: self-check failed on %s, max rel. diff %s", failedProbe,
          Double.isNaN(maxRelDiff) ? "NaN (non-finite output)" : String.format(Locale.ROOT, "%.1e", maxRelDiff));
    }
  }

  private static final ReentrantReadWriteLock LOCK = new ReentrantReadWriteLock();
  private static volatile Verdict verdict = new Verdict(false, Mode.OFF, false, Double.NaN, null);
  /**
   * libtorch's oneDNN setting between checks (a check flips it while it runs), as {@link #apply} last left it; false
   * before any, as {@link Backends#init()} leaves it.
   */
  private static volatile boolean settled = Boolean.getBoolean(Backends.MKLDNN_PROPERTY);
  /** The first failed check of this process (oneDNN then stays off under AUTO), or null. */
  private static volatile Verdict failure;
  /** The verdict of {@link #convProbes convProbes(false)}, which do not depend on the model: run once. */
  private static Verdict convVerdict;

  private OneDnn() {}

  /** @return the mode of {@link #MODE_PROPERTY}, {@link Mode#AUTO} when it is unset */
  public static Mode defaultMode() {
    return Mode.parse(System.getProperty(MODE_PROPERTY, "auto"));
  }

  /** @return the lock every inference call holds so that a self-check cannot flip oneDNN under it */
  public static Lock shared() {
    return LOCK.readLock();
  }

  /** @return the lock a self-check holds while it flips oneDNN */
  public static Lock exclusive() {
    return LOCK.writeLock();
  }

  /**
   * Fails fast where taking {@link #exclusive()} would wait forever: this thread holds {@link #shared()} (it runs
   * inside an inference call, e.g. in an Enhancer's progress callback), which the exclusive lock waits for.
   *
   * @param what what needs the exclusive lock, for the message
   * @throws IllegalStateException when this thread holds the shared lock
   */
  public static void requireNotShared(String what) {
    if (LOCK.getReadHoldCount() > 0) {
      throw new IllegalStateException(what + " inside an inference call (e.g. an Enhancer's onPass callback) would "
          + "wait for that call to end and never return: do it before or after the call");
    }
  }

  /** @return the current decision (off before any {@link #apply}) */
  public static Verdict verdict() {
    return verdict;
  }

  /**
   * Applies a mode process-wide.
   *
   * @param mode OFF, AUTO (runs the probes) or ON
   * @param probes the caller's computations to check under AUTO (ignored otherwise); {@link #convProbes} are checked
   *     too, once per process
   * @return the new decision
   */
  public static Verdict apply(Mode mode, List<Probe> probes) {
    Backends.init();
    // Nothing to flip (OFF or ON where the setting is already so, AUTO once a check of this process has failed and
    // oneDNN is off): no exclusive lock, so a model loaded beside running inference does not wait for every running
    // call and hold up the ones arriving (a library audit, session 35: a 160x108 request took 11 s instead of 0.2-0.6
    // behind an --onednn off build that waited for a 1600x1200 call).
    boolean target = mode == Mode.ON;
    if (mode != Mode.AUTO || failure != null) {
      Lock r = shared(); // excludes a concurrent flip (settled and the setting change only under the exclusive lock)
      r.lock();
      try {
        if (settled == target) {
          Verdict v = mode == Mode.AUTO ? failure : new Verdict(target, mode, false, Double.NaN, null);
          verdict = v;
          return v;
        }
      } finally {
        r.unlock();
      }
    }
    requireNotShared("a oneDNN self-check");
    Lock l = exclusive();
    l.lock();
    try {
      Verdict v;
      switch (mode) {
        case OFF -> v = new Verdict(false, Mode.OFF, false, Double.NaN, null);
        case ON -> v = new Verdict(true, Mode.ON, false, Double.NaN, null);
        default -> {
          // The caller's own computation first (its failure is the most telling), then the convolution classes.
          v = failure != null ? failure : check(probes == null ? List.of() : probes);
          if (v.enabled()) {
            if (convVerdict == null) convVerdict = check(convProbes(false));
            v = convVerdict.enabled()
                ? new Verdict(true, Mode.AUTO, true, Math.max(v.maxRelDiff(), convVerdict.maxRelDiff()), null)
                : convVerdict;
          }
        }
      }
      globalContext().setUserEnabledMkldnn(v.enabled());
      settled = v.enabled();
      if (v.checked() && !v.enabled() && failure == null) failure = v;
      verdict = v;
      return v;
    } finally {
      l.unlock();
    }
  }

  /**
   * Runs each probe with oneDNN off and on and compares. Restores the oneDNN setting it found (off once a check of
   * this process has failed); does not change {@link #verdict()}.
   *
   * @param probes the computations
   * @return enabled = all passed
   */
  public static Verdict check(List<Probe> probes) {
    Backends.init();
    requireNotShared("a oneDNN self-check");
    Lock l = exclusive();
    l.lock();
    boolean before = globalContext().userEnabledMkldnn();
    double worst = 0;
    try (NoGradGuard ng = new NoGradGuard()) {
      for (Probe p : probes) {
        double d;
        try (PointerScope s = new PointerScope()) {
          globalContext().setUserEnabledMkldnn(false);
          Tensor ref = p.run().get().to(torch.ScalarType.Double);
          globalContext().setUserEnabledMkldnn(true);
          Tensor got = p.run().get().to(torch.ScalarType.Double);
          d = relDiff(ref, got);
        } finally {
          globalContext().setUserEnabledMkldnn(false);
        }
        if (!(d <= TOLERANCE)) return new Verdict(false, Mode.AUTO, true, d, p.name());
        worst = Math.max(worst, d);
      }
      return new Verdict(true, Mode.AUTO, true, worst, null);
    } finally {
      globalContext().setUserEnabledMkldnn(before && failure == null);
      settled = before && failure == null;
      l.unlock();
    }
  }

  /** max |got − ref| / max(1, max |ref|); NaN when either has a non-finite value or the shapes differ. */
  static double relDiff(Tensor ref, Tensor got) {
    if (!java.util.Arrays.equals(ref.shape(), got.shape())) return Double.NaN;
    if (!torch.isfinite(ref).all().item_bool() || !torch.isfinite(got).all().item_bool()) return Double.NaN;
    if (ref.numel() == 0) return 0;
    double scale = Math.max(1.0, ref.abs().max().item_double());
    return got.sub(ref).abs().max().item_double() / scale;
  }

  /**
   * One convolution of each shape class DeepSPG and its priors run through libtorch (not through this project's
   * kernels), on fixed pseudo-random data: dense 3×3 stride 1 with few (3, 8) and many output channels, 3×3 stride 2
   * (HRNet stem), 4×4 stride 2 (down-sampling), 1×1, grouped 5×5 (illumination estimator), depthwise 3×3 and the 2×2
   * stride-2 transposed convolution (up-sampling), at 104×104 and 208×208 (oneDNN picks its algorithm by size; the
   * wrong results above appear from 104×104 on).
   *
   * @param gradients also compare the input and weight gradients (for training)
   * @return the probes
   */
  public static List<Probe> convProbes(boolean gradients) {
    // {in, out, kernel, stride, padding, groups}
    long[][] geo = {{3, 20, 3, 1, 1, 1}, {20, 3, 3, 1, 1, 1}, {20, 8, 3, 1, 1, 1}, {48, 48, 3, 1, 1, 1},
      {3, 64, 3, 2, 1, 1}, {20, 40, 4, 2, 1, 1}, {80, 40, 1, 1, 0, 1}, {20, 20, 5, 1, 2, 4}, {40, 40, 3, 1, 1, 40}};
    List<Probe> out = new ArrayList<>();
    for (int hw : new int[] {104, 208}) {
      for (long[] g : geo) {
        String name = String.format(Locale.ROOT, "conv %d->%d k%d s%d g%d at %dx%d", g[0], g[1], g[2], g[3], g[5],
            hw, hw);
        out.add(new Probe(name, () -> conv(g, hw, gradients)));
      }
      out.add(new Probe("transposed conv 80->40 k2 s2 at " + hw / 2 + "x" + hw / 2,
          () -> convTransposed(hw / 2, gradients)));
    }
    return out;
  }

  /** A convolution of fixed geometry applied to an input and a weight. */
  private interface ConvFn {
    Tensor apply(Tensor x, Tensor w);
  }

  private static Tensor conv(long[] g, int hw, boolean gradients) {
    Tensor x = fixedRandom(new long[] {1, g[0], hw, hw}, 1 + g[0] * 31 + g[1]);
    Tensor w = fixedRandom(new long[] {g[1], g[0] / g[5], g[2], g[2]}, 2 + g[2]).mul(new Scalar(0.1));
    return run(x, w, gradients, (xx, ww) -> torch.conv2d(xx, ww, new TensorOptional(), new long[] {g[3], g[3]},
        new long[] {g[4], g[4]}, new long[] {1, 1}, g[5]));
  }

  private static Tensor convTransposed(int hw, boolean gradients) {
    Tensor x = fixedRandom(new long[] {1, 80, hw, hw}, 7);
    Tensor w = fixedRandom(new long[] {80, 40, 2, 2}, 8).mul(new Scalar(0.1));
    return run(x, w, gradients, (xx, ww) -> torch.conv_transpose2d(xx, ww, new TensorOptional(), new long[] {2, 2},
        new long[] {0, 0}, new long[] {0, 0}, 1, new long[] {1, 1}));
  }

  /**
   * The output of {@code f}; with {@code gradients}, the output, input gradient and weight gradient (for a fixed
   * pseudo-random upstream gradient) concatenated flat.
   */
  private static Tensor run(Tensor x, Tensor w, boolean gradients, ConvFn f) {
    if (!gradients) return f.apply(x, w);
    try (AutoGradMode on = new AutoGradMode(true)) {
      Tensor xg = x.detach().requires_grad_(true);
      Tensor wg = w.detach().requires_grad_(true);
      Tensor y = f.apply(xg, wg);
      Tensor up = fixedRandom(y.shape(), 11);
      y.backward(up, new BoolOptional(), false, new TensorArrayRefOptional());
      return torch.cat(new TensorVector(y.detach().flatten(), xg.grad().flatten(), wg.grad().flatten()), 0);
    }
  }

  /**
   * @param shape the shape
   * @param seed the generator seed
   * @return a float32 CPU tensor of uniform [-1, 1) values from a seeded generator (the same on every call)
   */
  public static Tensor fixedRandom(long[] shape, long seed) {
    Generator gen = torch.make_generator_cpu(seed);
    return torch.empty(shape, new TensorOptions(torch.ScalarType.Float), new MemoryFormatOptional())
        .uniform_(-1.0, 1.0, new GeneratorOptional(gen));
  }
}
