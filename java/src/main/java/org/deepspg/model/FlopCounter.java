/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model;

import java.lang.ref.Reference;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.StringTensorDict;
import org.deepspg.nn.GDFN;

/**
 * Analytic parameter and MAC counts of DeepSPG (spec §1.7; a port of {@code shared/design/count.py}).
 *
 * <p>Convention = fvcore's default rules as used by Retinexformer's {@code my_summary}: convolution
 * {@code prod(weight.shape) · prod(out_spatial)} (transposed: {@code · prod(in_spatial)}), bias ignored; linear /
 * matmul MACs; {@code layer_norm} = 5·numel; nearest upsample = numel(out); softmax, L2-normalise, GELU and
 * element-wise ops free. The SEM adapter is counted at HRNet resolution (adapter first, then ×4 nearest upsample).
 * "G" = MACs / 2³⁰. Exact for H, W multiples of 16 (the HRNet branch sizes H/4…H/16 are then integers).
 */
public final class FlopCounter {
  private FlopCounter() {}

  /**
   * One module row of the breakdown.
   *
   * @param name module description (as count.py)
   * @param params trainable parameter elements
   * @param macs multiply-accumulates at the requested size, batch 1
   */
  public record Row(String name, long params, long macs) {
    /** @return MACs / 2³⁰ */
    public double gmacs() {
      return macs / (double) (1L << 30);
    }
  }

  /**
   * Per-module breakdown in forward order (rows as printed by count.py).
   *
   * @param cfg configuration
   * @param h image height (multiple of 16)
   * @param w image width (multiple of 16)
   * @return the rows
   */
  public static List<Row> breakdown(DeepSPGConfig cfg, int h, int w) {
    if (h <= 0 || w <= 0 || h % 16 != 0 || w % 16 != 0) {
      throw new IllegalArgumentException("FlopCounter: H and W must be positive multiples of 16, got " + h + "x" + w);
    }
    final long hwFull = (long) h * w;
    final int c = cfg.channels();
    final int[] nb = cfg.blocks();
    final int[] hr = cfg.semChannelArray();
    List<Row> rows = new ArrayList<>();
    rows.add(estimator(c, hwFull));
    long[] e = conv(3, c, 3, hwFull, 1, false);
    rows.add(new Row("embedding 3x3 3->C", e[0], e[1]));
    int d = c;
    for (int l = 0; l < 2; l++) {
      long hw = hwFull >> (2 * l);
      for (int b = 0; b < nb[l]; b++) {
        rows.add(igab("enc L" + l + " IGAB[" + b + "] d=" + d, d, d / c, hw));
      }
      if (cfg.semEnabled()) {
        rows.add(sem("enc L" + l + " SEM d=" + d + " s=" + hr[l], d, hr[l], d / c, hw, cfg));
      }
      long[] a = conv(d, 2L * d, 4, hw / 4, 1, false);
      rows.add(new Row("down L" + l + "->L" + (l + 1) + " (feature+illum)", 2 * a[0], 2 * a[1]));
      d *= 2;
    }
    long hw2 = hwFull >> 4;
    for (int b = 0; b < nb[2]; b++) {
      rows.add(igab("bottleneck L2 IGAB[" + b + "] d=" + d, d, d / c, hw2));
    }
    if (cfg.semEnabled()) {
      rows.add(sem("bottleneck L2 SEM d=" + d + " s=" + hr[2], d, hr[2], d / c, hw2, cfg));
    }
    for (int l = 1; l >= 0; l--) {
      long hw = hwFull >> (2 * l);
      long[] u = convT(d, d / 2, 2, hw / 4);
      rows.add(new Row("up L" + (l + 1) + "->L" + l + " convT2x2 " + d + "->" + d / 2, u[0], u[1]));
      long[] f = conv(d, d / 2, 1, hw, 1, false);
      rows.add(new Row("fuse L" + l + " 1x1 " + d + "->" + d / 2, f[0], f[1]));
      d /= 2;
      for (int b = 0; b < nb[l]; b++) {
        rows.add(igab("dec L" + l + " IGAB[" + b + "] d=" + d, d, d / c, hw));
      }
      if (cfg.semEnabled()) {
        rows.add(sem("dec L" + l + " SEM d=" + d + " s=" + hr[l], d, hr[l], d / c, hw, cfg));
      }
    }
    long[] m = conv(c, 3, 3, hwFull, 1, false);
    rows.add(new Row("mapping 3x3 C->3", m[0], m[1]));
    return Collections.unmodifiableList(rows);
  }

  /**
   * @param cfg configuration
   * @param h image height (multiple of 16)
   * @param w image width (multiple of 16)
   * @return total MACs at batch 1
   */
  public static long macs(DeepSPGConfig cfg, int h, int w) {
    long s = 0;
    for (Row r : breakdown(cfg, h, w)) {
      s += r.macs();
    }
    return s;
  }

  /**
   * The spec's "G" figure: fvcore MACs / 2³⁰ (DeepSPG-S 6.630, DeepSPG-L 24.771 at 256×256).
   *
   * @param cfg configuration
   * @param h image height (multiple of 16)
   * @param w image width (multiple of 16)
   * @return MACs / 2³⁰ at batch 1
   */
  public static double gflops(DeepSPGConfig cfg, int h, int w) {
    return macs(cfg, h, w) / (double) (1L << 30);
  }

  /**
   * Analytic parameter count (S 567,213; L 2,142,593).
   *
   * @param cfg configuration
   * @return trainable parameter elements of {@code new DeepSPG(cfg)}
   */
  public static long parameterCount(DeepSPGConfig cfg) {
    long s = 0;
    for (Row r : breakdown(cfg, 256, 256)) {
      s += r.params();
    }
    return s;
  }

  /**
   * Counts the elements of a module's parameters (recursively, each registered tensor once per name).
   *
   * @param module any libtorch module
   * @return Σ numel over {@code module.named_parameters(true)}
   */
  public static long parameterCount(Module module) {
    StringTensorDict ps = module.named_parameters(true);
    long n = 0;
    for (long i = 0; i < ps.size(); i++) {
      n += ps.get(i).value().numel();
    }
    Reference.reachabilityFence(ps); // items are references into the dict
    return n;
  }

  // ---- per-module closed forms (count.py) ----------------------------------------------------------------------

  /** {params, macs} of a conv; bias counted in params only. */
  private static long[] conv(long cin, long cout, long k, long hwOut, long groups, boolean bias) {
    long wgt = cout * (cin / groups) * k * k;
    return new long[] {wgt + (bias ? cout : 0), wgt * hwOut};
  }

  /** {params, macs} of a transposed conv with bias (MACs over the input positions). */
  private static long[] convT(long cin, long cout, long k, long hwIn) {
    long wgt = cin * cout * k * k;
    return new long[] {wgt + cout, wgt * hwIn};
  }

  private static Row estimator(long c, long hw) {
    long[] a = conv(4, c, 1, hw, 1, true);
    long[] b = conv(c, c, 5, hw, 4, true);
    long[] m = conv(c, 3, 1, hw, 1, true);
    return new Row("illumination estimator", a[0] + b[0] + m[0], a[1] + b[1] + m[1]);
  }

  /** IGAB: params 12d² + 57d + h. */
  private static Row igab(String name, long d, long heads, long hw) {
    long c = d / heads;
    long p = 3 * d * d + heads + d * d + d + 18 * d + 2 * d + 8 * d * d + 36 * d;
    long m = (3 * d * d + d * d + 18 * d + 8 * d * d + 36 * d) * hw + 2 * heads * c * c * hw + 5 * d * hw;
    return new Row(name, p, m);
  }

  /** SEM: params 10d² + (70+s)d + h for e = 2, depthwise q, separate LNs. */
  private static Row sem(String name, long d, long s, long heads, long hw, DeepSPGConfig cfg) {
    long c = d / heads;
    long hf = GDFN.hiddenWidth((int) d, cfg.semFfnExpansion());
    long lns = cfg.semSharedLn() ? 2 : 3;
    long p = s * d + d + 2 * lns * d; // adapter 1x1 (+bias), LayerNorm affine params
    long m = s * d * (hw / 16) + d * hw; // adapter at HRNet resolution + nearest x4 upsample
    m += 3 * 5 * d * hw; // three layer_norm calls (the shared LN is still applied to R and S)
    p += 2 * d * d + 18 * d;
    m += (2 * d * d + 18 * d) * hw; // kv 1x1 + dw 3x3
    long qk = cfg.semQDense() ? 9 * d * d : 9 * d;
    p += d * d + qk;
    m += (d * d + qk) * hw; // q 1x1 + 3x3
    p += heads;
    m += 2 * heads * c * c * hw; // temperature; Q K^T and A V
    p += d * d;
    m += d * d * hw; // project out
    long g = d * 2 * hf + 2 * hf * 9 + hf * d; // GDFN
    p += g;
    m += g * hw;
    return new Row(name, p, m);
  }
}
