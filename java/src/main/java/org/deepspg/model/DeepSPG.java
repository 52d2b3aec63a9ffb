/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model;

import static org.bytedeco.pytorch.global.torch.cat;
import static org.bytedeco.pytorch.global.torch.pixel_shuffle;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Supplier;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.ConvTranspose2dImpl;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.ModuleListImpl;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.deepspg.nn.FastConv;
import org.deepspg.nn.IGAB;
import org.deepspg.nn.IlluminationEstimator;
import org.deepspg.nn.Layers;
import org.deepspg.nn.SEM;
import org.deepspg.nn.Shapes;
import org.deepspg.ops.DenseConv;
import org.deepspg.ops.PixelShuffle;
import org.deepspg.ops.WeightPack;

/**
 * The DeepSPG enhancement network (spec §1): illumination estimator + Retinex light-up {@code X_r = I·M + I}, then a
 * 3-scale U-Net of IGABs whose every stage is closed by a SEM fed by an HRNet branch (0/1/2 for scales L0/L1/L2),
 * mapping conv and global residual {@code X_out = mapping(f) + X_r}.
 *
 * <p><b>Parameter names</b> equal the state-dict keys of the PyTorch reference ({@code deepspg_ref.py}):
 * {@code est.*}, {@code embed.weight}, {@code enc.<l>.<b>.*} (IGAB b of encoder level l ∈ {0,1}),
 * {@code enc_sem.<l>.*}, {@code down.<l>.weight}, {@code down_i.<l>.weight} (feature and guide down-samplers),
 * {@code bott.<b>.*}, {@code bott_sem.*}, {@code up.<i>.weight|bias}, {@code fuse.<i>.weight},
 * {@code dec.<i>.<b>.*}, {@code dec_sem.<i>.*} (i = 0 is decoder level L1, i = 1 is decoder level L0),
 * {@code mapping.weight}; inside the blocks see {@link IGAB}, {@link org.deepspg.nn.IGMSA}, {@link SEM},
 * {@link org.deepspg.nn.GDFN}, {@link IlluminationEstimator}. With {@code sem.enabled = false} the {@code *_sem}
 * entries do not exist. {@code named_parameters()} lists them in the reference's state-dict order.
 *
 * <p>Construct outside any {@link org.bytedeco.javacpp.PointerScope} (a scope would release the Java handles of
 * the sub-modules this object keeps).
 */
public final class DeepSPG extends org.deepspg.nn.JavaModule {
  /** Channels of HRNet-W48 branches 0, 1, 2 (strides 4, 8, 16), the default {@code sem.channels} (the SEMs of scales
   * L0, L1, L2 take the widths of the configured prior: {@link DeepSPGConfig#semChannels()}). */
  public static final int[] HRNET_CHANNELS = {48, 96, 192};

  /**
   * Output and selected intermediates of one forward pass.
   *
   * @param output X_out {@code [B, 3, H, W]}
   * @param illuminationFeatures F_lu {@code [B, C, H, W]}
   * @param lightUpResidual M {@code [B, 3, H, W]}
   * @param litUp X_r = I·M + I {@code [B, 3, H, W]}
   * @param encoderL1 output of encoder stage L1 (its SEM when enabled; = skip 1) {@code [B, 2C, H/2, W/2]}
   * @param bottleneck output of the bottleneck stage (its SEM when enabled) {@code [B, 4C, H/4, W/4]}
   */
  public record Intermediates(Tensor output, Tensor illuminationFeatures, Tensor lightUpResidual, Tensor litUp,
      Tensor encoderL1, Tensor bottleneck) {}

  private final DeepSPGConfig config;
  private final IlluminationEstimator est;
  private final Conv2dImpl embed;
  private final List<List<IGAB>> enc = new ArrayList<>();
  private final List<SEM> encSem = new ArrayList<>();
  private final List<FastConv.Dense> down = new ArrayList<>();
  private final List<FastConv.Dense> downI = new ArrayList<>();
  private final List<IGAB> bott = new ArrayList<>();
  private final SEM bottSem;
  private final List<ConvTranspose2dImpl> up = new ArrayList<>();
  private final List<Conv2dImpl> fuse = new ArrayList<>();
  private final List<WeightPack> upFusePack = new ArrayList<>();
  private final List<WeightPack> skipPack = new ArrayList<>();
  private final List<List<IGAB>> dec = new ArrayList<>();
  private final List<SEM> decSem = new ArrayList<>();
  private final Conv2dImpl mapping;

  /**
   * Builds the network with fresh weights (spec §1.8 initialisation).
   *
   * @param config the configuration
   */
  public DeepSPG(DeepSPGConfig config) {
    if (config == null) {
      throw new IllegalArgumentException("config is null");
    }
    this.config = config;
    final int c = config.channels();
    final int[] nb = config.blocks();
    final boolean sem = config.semEnabled();
    final SEM.Options so = config.semOptions();
    // Registration order = the reference's attribute order, so named_parameters() follows its state-dict order.
    this.est = register_module("est", new IlluminationEstimator(c, config.retinexPrior()));
    this.embed = register_module("embed", Layers.conv2d(3, c, 3, 1, 1, 1, false));
    ModuleListImpl encL = register_module("enc", new ModuleListImpl());
    ModuleListImpl encSemL = sem ? register_module("enc_sem", new ModuleListImpl()) : null;
    ModuleListImpl downL = register_module("down", new ModuleListImpl());
    ModuleListImpl downIL = register_module("down_i", new ModuleListImpl());
    int d = c;
    for (int l = 0; l < 2; l++) {
      ModuleListImpl blocks = keep(new ModuleListImpl());
      enc.add(igabs(blocks, nb[l], d, c));
      encL.push_back(blocks);
      if (sem) {
        encSem.add(pushed(encSemL, new SEM(d, config.semChannels().get(l), d / c, so)));
      }
      Conv2dImpl dn = Layers.conv2d(d, 2L * d, 4, 2, 1, 1, false);
      Conv2dImpl di = Layers.conv2d(d, 2L * d, 4, 2, 1, 1, false);
      pushed(downL, dn);
      pushed(downIL, di);
      down.add(cache(new FastConv.Dense(dn, 2, 1)));
      downI.add(cache(new FastConv.Dense(di, 2, 1)));
      d *= 2;
    }
    bott.addAll(igabs(register_module("bott", new ModuleListImpl()), nb[2], d, c));
    this.bottSem = sem ? register_module("bott_sem", new SEM(d, config.semChannels().get(2), d / c, so)) : null;
    ModuleListImpl upL = register_module("up", new ModuleListImpl());
    ModuleListImpl fuseL = register_module("fuse", new ModuleListImpl());
    ModuleListImpl decL = register_module("dec", new ModuleListImpl());
    ModuleListImpl decSemL = sem ? register_module("dec_sem", new ModuleListImpl()) : null;
    for (int l = 1; l >= 0; l--) {
      ConvTranspose2dImpl u = Layers.convTranspose2d(d, d / 2, 2, 2, true);
      Conv2dImpl f = Layers.pointwise(d, d / 2, false);
      pushed(upL, u);
      pushed(fuseL, f);
      up.add(u);
      fuse.add(f);
      upFusePack.add(cache(new WeightPack()));
      skipPack.add(cache(new WeightPack()));
      d /= 2;
      ModuleListImpl blocks = keep(new ModuleListImpl());
      dec.add(igabs(blocks, nb[l], d, c));
      decL.push_back(blocks);
      if (sem) {
        decSem.add(pushed(decSemL, new SEM(d, config.semChannels().get(l), d / c, so)));
      }
    }
    this.mapping = register_module("mapping", Layers.conv2d(c, 3, 3, 1, 1, 1, false));
  }

  /** Appends {@code n} IGABs of width {@code d} (heads d / c) to {@code holder}, in order, and returns them. */
  private List<IGAB> igabs(ModuleListImpl holder, int n, int d, int c) {
    List<IGAB> js = new ArrayList<>();
    for (int b = 0; b < n; b++) {
      js.add(pushed(holder, new IGAB(d, d / c)));
    }
    return Collections.unmodifiableList(js);
  }

  /** Appends {@code m} to a stock container and keeps it in this module's Java tree ({@link #close()} reaches it). */
  private <M extends Module> M pushed(ModuleListImpl holder, M m) {
    holder.push_back(m);
    return keep(m);
  }

  /** @return the configuration this network was built from */
  public DeepSPGConfig config() {
    return config;
  }

  /** @return the number of trainable parameter elements */
  public long parameterCount() {
    return FlopCounter.parameterCount(this);
  }

  /**
   * Enhances a batch with SEM guidance.
   *
   * @param input low-light image X_in {@code [B, 3, H, W]}, H and W multiples of 4 (of 32 for HRNet features)
   * @param s0 HRNet branch 0 {@code [B, 48, H/4, W/4]} (any spatial size; nearest-resized)
   * @param s1 HRNet branch 1 {@code [B, 96, H/8, W/8]}
   * @param s2 HRNet branch 2 {@code [B, 192, H/16, W/16]}
   * @return X_out {@code [B, 3, H, W]}
   */
  public Tensor forward(Tensor input, Tensor s0, Tensor s1, Tensor s2) {
    return run(input, s0, s1, s2, null, false).output();
  }

  /**
   * The image prior as a function of what it sees, for {@code sem.prior_input = retinex}: the network calls it once
   * per forward with its own Retinex light-up X_r (detached, under no-grad) and feeds the three maps to the SEMs.
   */
  @FunctionalInterface
  public interface LitUpPrior {
    /**
     * @param litUp X_r {@code [B, 3, H, W]} (detached)
     * @return the prior's three feature maps for the SEMs of scales L0, L1, L2
     */
    Tensor[] features(Tensor litUp);
  }

  /**
   * Enhances a batch with SEM guidance whose prior sees the network's light-up X_r ({@code sem.prior_input =
   * retinex}; docs/priors.md: a dark input misleads a segmentation prior, the lit-up image much less).
   *
   * @param input low-light image X_in {@code [B, 3, H, W]}
   * @param prior computes the features from X_r
   * @return X_out {@code [B, 3, H, W]}
   */
  public Tensor forward(Tensor input, LitUpPrior prior) {
    if (prior == null) throw new IllegalArgumentException("prior is null");
    return run(input, null, null, null, prior, false).output();
  }

  /**
   * Enhances a batch without semantic guidance; only for {@code sem.enabled = false} (ablation Baseline).
   *
   * @param input low-light image X_in {@code [B, 3, H, W]}, H and W multiples of 4
   * @return X_out {@code [B, 3, H, W]}
   */
  public Tensor forward(Tensor input) {
    return run(input, null, null, null, null, false).output();
  }

  /**
   * Forward pass that also returns intermediates (for tests and visualisation). With SEMs disabled pass
   * {@code null} for the HRNet features.
   *
   * @param input {@code [B, 3, H, W]}
   * @param s0 HRNet branch 0 {@code [B, 48, h0, w0]} or null when SEMs are disabled
   * @param s1 HRNet branch 1 {@code [B, 96, h1, w1]} or null when SEMs are disabled
   * @param s2 HRNet branch 2 {@code [B, 192, h2, w2]} or null when SEMs are disabled
   * @return output and intermediates
   */
  public Intermediates forwardWithIntermediates(Tensor input, Tensor s0, Tensor s1, Tensor s2) {
    return run(input, s0, s1, s2, null, true);
  }

  private void checkPriorFeatures(Tensor[] sx, Tensor input) {
    for (int l = 0; l < 3; l++) {
      Shapes.requireNchw("DeepSPG prior feature map " + l + " (" + config.semPrior() + ")", sx[l],
          config.semChannels().get(l));
      if (sx[l].size(0) != input.size(0)) {
        throw new IllegalArgumentException("DeepSPG: prior feature map " + l + " batch " + Shapes.str(sx[l])
            + " does not match input " + Shapes.str(input));
      }
    }
  }

  private Intermediates run(Tensor input, Tensor s0, Tensor s1, Tensor s2, LitUpPrior litUpPrior, boolean keep) {
    requireOpen();
    Shapes.requireNchw("DeepSPG input", input, 3);
    Tensor w = embed.weight();
    if (input.scalar_type().value != w.scalar_type().value || input.is_cuda() != w.is_cuda()) {
      throw new IllegalArgumentException("DeepSPG input " + Shapes.str(input) + " is " + input.scalar_type() + " on "
          + input.device().str().getString() + " but the network's weights are " + w.scalar_type() + " on "
          + w.device().str().getString() + ": convert the input (Tensor.to) or the network (Module.to) to match");
    }
    if (input.size(2) % 4 != 0 || input.size(3) % 4 != 0 || input.size(2) < 4 || input.size(3) < 4) {
      throw new IllegalArgumentException("DeepSPG input: H and W must be positive multiples of 4 (two stride-2 "
          + "levels), got " + Shapes.str(input));
    }
    Tensor[] sx = {s0, s1, s2};
    if (config.semEnabled() && litUpPrior == null) {
      checkPriorFeatures(sx, input);
    } else if (litUpPrior != null && !config.semEnabled()) {
      throw new IllegalArgumentException("DeepSPG: SEMs are disabled (sem.enabled=false); pass no prior");
    } else if (s0 != null || s1 != null || s2 != null) {
      throw new IllegalArgumentException("DeepSPG: SEMs are disabled (sem.enabled=false); pass no HRNet features");
    }
    // Without autograd (inference) every stage runs in its own scope and each intermediate is released once no later
    // stage reads it (see Stages); with autograd, or when intermediates are returned, everything stays in the caller's
    // scope. The data flow is the same either way.
    try (Stages st = new Stages(!keep && !GradMode.is_enabled())) {
      Tensor[] em = new Tensor[2];
      Tensor xr = st.run(() -> {
        IlluminationEstimator.Result er = est.forward(input);
        em[0] = st.alsoKeep(er.features());
        em[1] = keep ? er.residual() : null;
        return lightUp(input, er.residual());
      });
      if (litUpPrior != null) { // sem.prior_input = retinex: the prior sees X_r; its features are constants
        Tensor[] pf;
        try (org.bytedeco.pytorch.NoGradGuard ng = new org.bytedeco.pytorch.NoGradGuard()) {
          pf = litUpPrior.features(xr.detach());
        }
        if (pf == null || pf.length != 3) throw new IllegalStateException("the prior must give three feature maps");
        System.arraycopy(pf, 0, sx, 0, 3);
        checkPriorFeatures(sx, input);
      }
      Tensor fl = em[0];
      Tensor f = st.run(() -> FastConv.sameConv(embed, xr, 1)); // native 3x3 3->C: ~2x Conv2dImpl
      Tensor[] skips = new Tensor[2];
      Tensor[] ills = new Tensor[2];
      Tensor g = fl;
      for (int l = 0; l < 2; l++) {
        for (IGAB blk : enc.get(l)) {
          f = st.replace(f, blk, g);
        }
        if (config.semEnabled()) {
          f = st.replace(f, encSem.get(l), sx[l]);
        }
        skips[l] = f;
        ills[l] = g;
        final Tensor ff = f;
        final Tensor gg = g;
        final int ll = l;
        f = st.run(() -> down.get(ll).apply(ff));
        g = st.run(() -> downI.get(ll).apply(gg));
      }
      for (IGAB blk : bott) {
        f = st.replace(f, blk, g);
      }
      st.release(g);
      if (config.semEnabled()) {
        f = st.replace(f, bottSem, sx[2]);
      }
      Tensor bottleneck = f;
      for (int i = 0; i < 2; i++) {
        final int l = 1 - i;
        final int ii = i;
        final Tensor ff = f;
        f = st.run(() -> upFuse(ii, ff, skips[l]));
        st.release(ff);
        st.release(skips[l]);
        for (IGAB blk : dec.get(i)) {
          f = st.replace(f, blk, ills[l]);
        }
        if (l > 0) st.release(ills[l]);
        if (config.semEnabled()) {
          f = st.replace(f, decSem.get(i), sx[l]);
        }
      }
      final Tensor ff = f;
      Tensor out = st.result(st.run(() -> FastConv.sameConv(mapping, ff, 1).add(xr)));
      return keep ? new Intermediates(out, fl, em[1], xr, skips[1], bottleneck)
          : new Intermediates(out, null, null, null, null, null);
    }
  }

  /**
   * Decoder step i: {@code fuse(cat(up(f), skip))}, the 2×2 stride-2 transposed convolution and the 1×1 fuse. In
   * inference ({@link DenseConv#usable}) the transposed convolution and the fuse's first half compose into one 1×1
   * convolution at the low resolution ({@code d → 4·d/2} channels, weight {@code Wc[(o,a,b), c] = Σ_m Wf[o, m]
   * Wu[c, m, a, b]}, bias {@code Σ_m Wf[o, m] b_u[m]}) followed by a pixel shuffle ({@link PixelShuffle}), plus the
   * fuse's second half on the skip with the shuffled map as its residual: the same linear map with 2/3 of the
   * multiply-adds and no concatenation (float rounding differs). Training on float32 CPU ({@link DenseConv#trainable})
   * runs the same composition on the differentiable {@link DenseConv#pointwise}, the composed weight and bias computed
   * from the parameters in the graph.
   */
  private Tensor upFuse(int i, Tensor f, Tensor skip) {
    ConvTranspose2dImpl u = up.get(i);
    Conv2dImpl fz = fuse.get(i);
    Tensor wu = u.weight(), bu = u.bias(), wf = fz.weight();
    boolean inference = DenseConv.usable(f, wu, bu, wf) && DenseConv.usable(skip);
    if (!inference && !(DenseConv.trainable(f, wu, bu, wf) && DenseConv.trainable(skip))) {
      return fz.forward(cat(new TensorVector(u.forward(f), skip), 1));
    }
    long in = wu.size(0), mid = wu.size(1), out = wf.size(0);
    Tensor wf2 = wf.reshape(out, 2 * mid);
    Tensor wfa = wf2.narrow(1, 0, mid);
    Tensor bc = wfa.mv(bu).repeat_interleave(4);
    Supplier<Tensor> composed = () -> wfa.mm(wu.permute(1, 2, 3, 0).reshape(mid, 4 * in)).reshape(out * 4, in);
    Supplier<Tensor> second = () -> wf2.narrow(1, mid, mid);
    if (!inference) { // training: the same composition, differentiable (weight and bias built from the parameters)
      Tensor t = pixel_shuffle(DenseConv.pointwise(f, composed.get(), bc, null), 2);
      return DenseConv.pointwise(skip, second.get(), null, t);
    }
    Tensor t = FastConv.linear(upFusePack.get(i), composed, bc, f, null, false, wu, wf);
    Tensor up = PixelShuffle.usable(t) ? PixelShuffle.forward(t) : pixel_shuffle(t, 2);
    return FastConv.linear(skipPack.get(i), second, null, skip, up, false, wf); // the up-sampled map as residual
  }

  /**
   * Where the intermediates of one forward pass live. Not scoped (autograd on, or intermediates returned): every
   * handle stays in the caller's {@link PointerScope}, as for any libtorch call; the Java autograd functions
   * ({@code ops.NativeFunction}) rely on the handles they were given. Scoped (inference): each stage runs in its own
   * scope, its result is kept by this object, and {@link #release} drops a handle as soon as no later stage reads it,
   * so one call holds one block's temporaries plus the U-Net's skips, about 3 KB per pixel for DeepSPG-S, instead of
   * every activation, about 18 KB per pixel (docs/inference.md: a 2-megapixel image needed over 20 GB).
   */
  private static final class Stages implements AutoCloseable {
    private final boolean scoped;
    private final List<Tensor> owned = new ArrayList<>();

    Stages(boolean scoped) {
      this.scoped = scoped;
    }

    /** Runs one stage; its result is owned by this object (scoped) or by the caller's scope. */
    Tensor run(Supplier<Tensor> stage) {
      if (!scoped) return stage.get();
      Tensor r;
      try (PointerScope s = new PointerScope()) {
        r = alsoKeep(stage.get());
      }
      return r;
    }

    /** Inside {@link #run}: keeps a second result of the stage alive past its scope. */
    Tensor alsoKeep(Tensor t) {
      if (scoped) {
        t.retainReference();
        owned.add(t);
      }
      return t;
    }

    /** One IGAB on {@code f} guided by {@code g}; {@code f} is released (block inputs are never skips or guides). */
    Tensor replace(Tensor f, IGAB blk, Tensor g) {
      Tensor next = run(() -> blk.forward(f, g));
      release(f);
      return next;
    }

    /** One SEM on {@code f} with HRNet features {@code s}; {@code f} is released. */
    Tensor replace(Tensor f, SEM sem, Tensor s) {
      Tensor next = run(() -> sem.forward(f, s));
      release(f);
      return next;
    }

    /** Drops this object's handle of {@code t} (no-op when not scoped or not owned). */
    void release(Tensor t) {
      if (scoped && disown(t)) t.releaseReference();
    }

    /** Hands {@code t} over to the caller's scope (or, with no scope open, to the caller). */
    Tensor result(Tensor t) {
      if (!scoped) return t;
      disown(t);
      PointerScope outer = PointerScope.getInnerScope();
      if (outer != null) {
        outer.attach(t);
        t.releaseReference();
      }
      return t;
    }

    /** Removes this very handle (identity, not {@code Pointer.equals}) from the owned list; false if absent. */
    private boolean disown(Tensor t) {
      for (int i = owned.size() - 1; i >= 0; i--) {
        if (owned.get(i) == t) {
          owned.remove(i);
          return true;
        }
      }
      return false;
    }

    @Override
    public void close() {
      for (Tensor t : owned) t.releaseReference();
      owned.clear();
    }
  }

  /**
   * The Retinex light-up {@code X_r = I ⊙ (1 + M)} of an input: the first stage of every forward and the image a
   * {@code sem.prior_input = retinex} prior sees. Pixel-local (1×1 and 5×5 convolutions), so a large image's X_r can
   * be computed tile by tile.
   *
   * @param input {@code [B, 3, H, W]}
   * @return X_r, same shape
   */
  public Tensor lightUp(Tensor input) {
    requireOpen();
    Shapes.requireNchw("DeepSPG input", input, 3);
    return lightUp(input, est.forward(input).residual());
  }

  /** Retinex light-up {@code X_r = I ⊙ (1 + M)} (spec §3 Kernel B) through the fused kernel. */
  private static Tensor lightUp(Tensor image, Tensor m) {
    return org.deepspg.ops.Retinex.lightUp(image, m);
  }
}
