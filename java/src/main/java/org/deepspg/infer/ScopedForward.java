/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import static org.bytedeco.pytorch.global.torch.cat;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.ConvTranspose2dImpl;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.deepspg.model.DeepSPG;
import org.deepspg.model.DeepSPGConfig;
import org.deepspg.nn.IGAB;
import org.deepspg.nn.IlluminationEstimator;
import org.deepspg.nn.SEM;

/**
 * Memory-bounded inference forward of {@link DeepSPG}: the same data flow as {@link DeepSPG#forward} (spec §1.4),
 * but every block runs in its own {@link PointerScope} and each intermediate is released as soon as the next stage
 * no longer needs it.
 *
 * <p>Why: a JavaCPP tensor handle keeps its storage alive until its scope closes. {@code DeepSPG.forward} creates
 * all its intermediates in the caller's scope, so one inference call holds every activation of the whole network at
 * once — about 18 KB per pixel for DeepSPG-S (a 512×512 tile: ~4.7 GB; a 2-megapixel image: &gt; 20 GB, measured).
 * Here the peak is one block's temporaries plus the U-Net's skips: ~3 KB per pixel for DeepSPG-S (measured in
 * {@code docs/inference.md}).
 *
 * <p>The submodules are read from the network's private fields once (the network is not modified); a field that
 * changes name or type fails loudly at construction, and {@code ScopedForwardTest} checks that the outputs equal
 * {@code DeepSPG.forward} bit for bit. TODO(net): move the per-block scopes into {@code DeepSPG.run} and delete this
 * class.
 */
final class ScopedForward {
  private final DeepSPGConfig config;
  private final IlluminationEstimator est;
  private final Conv2dImpl embed;
  private final List<List<IGAB>> enc;
  private final List<SEM> encSem;
  private final List<Conv2dImpl> down;
  private final List<Conv2dImpl> downI;
  private final List<IGAB> bott;
  private final SEM bottSem;
  private final List<ConvTranspose2dImpl> up;
  private final List<Conv2dImpl> fuse;
  private final List<List<IGAB>> dec;
  private final List<SEM> decSem;
  private final Conv2dImpl mapping;

  @SuppressWarnings("unchecked")
  ScopedForward(DeepSPG net) {
    this.config = net.config();
    this.est = field(net, "est", IlluminationEstimator.class);
    this.embed = field(net, "embed", Conv2dImpl.class);
    this.enc = field(net, "enc", List.class);
    this.encSem = field(net, "encSem", List.class);
    this.down = field(net, "down", List.class);
    this.downI = field(net, "downI", List.class);
    this.bott = field(net, "bott", List.class);
    this.bottSem = config.semEnabled() ? field(net, "bottSem", SEM.class) : null;
    this.up = field(net, "up", List.class);
    this.fuse = field(net, "fuse", List.class);
    this.dec = field(net, "dec", List.class);
    this.decSem = field(net, "decSem", List.class);
    this.mapping = field(net, "mapping", Conv2dImpl.class);
    if (enc.size() != 2 || down.size() != 2 || downI.size() != 2 || up.size() != 2 || fuse.size() != 2
        || dec.size() != 2 || (config.semEnabled() && (encSem.size() != 2 || decSem.size() != 2))) {
      throw new IllegalStateException("ScopedForward: DeepSPG's stage lists changed shape; update ScopedForward");
    }
  }

  private static <T> T field(DeepSPG net, String name, Class<T> type) {
    try {
      Field f = DeepSPG.class.getDeclaredField(name);
      f.setAccessible(true);
      Object v = f.get(net);
      if (!type.isInstance(v)) {
        throw new IllegalStateException("ScopedForward: DeepSPG." + name + " is " + (v == null ? "null"
            : v.getClass().getName()) + ", expected " + type.getName() + "; update ScopedForward");
      }
      return type.cast(v);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("ScopedForward: cannot read DeepSPG." + name + " (" + e
          + "); update ScopedForward", e);
    }
  }

  /**
   * Same contract as {@link DeepSPG#forward(Tensor, Tensor, Tensor, Tensor)} (SEM features null when SEMs are
   * disabled), for inference only (no autograd graph is kept alive across blocks; call under no-grad).
   *
   * @param input {@code [B, 3, H, W]}, H and W multiples of 4
   * @param s0 HRNet branch 0 or null
   * @param s1 HRNet branch 1 or null
   * @param s2 HRNet branch 2 or null
   * @return X_out {@code [B, 3, H, W]} in the caller's scope
   */
  Tensor forward(Tensor input, Tensor s0, Tensor s1, Tensor s2) {
    if (input.dim() != 4 || input.size(1) != 3 || input.size(2) % 4 != 0 || input.size(3) % 4 != 0) {
      throw new IllegalArgumentException("DeepSPG input must be [B, 3, H, W] with H, W multiples of 4");
    }
    if (config.semEnabled() != (s0 != null && s1 != null && s2 != null)) {
      throw new IllegalArgumentException("HRNet features must be given exactly when SEMs are enabled");
    }
    PointerScope outer = PointerScope.getInnerScope();
    List<Tensor> owned = new ArrayList<>();
    try {
      Tensor[] em = new Tensor[2];
      Tensor xr = owned(owned, () -> {
        IlluminationEstimator.Result r = est.forward(input);
        em[0] = retain(r.features());
        return org.deepspg.ops.Retinex.lightUp(input, r.residual()); // fused light-up, as DeepSPG.forward
      });
      owned.add(em[0]);
      Tensor fl = em[0];
      Tensor f = owned(owned, () -> org.deepspg.nn.FastConv.sameConv(embed, xr, 1));
      Tensor[] sx = {s0, s1, s2};
      Tensor[] skips = new Tensor[2];
      Tensor[] ills = new Tensor[2];
      Tensor g = fl;
      for (int l = 0; l < 2; l++) {
        for (IGAB blk : enc.get(l)) {
          f = step(owned, f, blk, g);
        }
        if (config.semEnabled()) {
          f = stepSem(owned, f, encSem.get(l), sx[l]);
        }
        skips[l] = f;
        ills[l] = g;
        final Tensor ff = f;
        final Tensor gg = g;
        final int ll = l;
        f = owned(owned, () -> down.get(ll).forward(ff));
        g = owned(owned, () -> downI.get(ll).forward(gg));
      }
      for (IGAB blk : bott) {
        f = step(owned, f, blk, g);
      }
      release(owned, g);
      if (config.semEnabled()) {
        f = stepSem(owned, f, bottSem, sx[2]);
      }
      for (int i = 0; i < 2; i++) {
        int l = 1 - i;
        final Tensor ff = f;
        final int ii = i;
        final Tensor skip = skips[l];
        f = owned(owned, () -> fuse.get(ii).forward(cat(new TensorVector(up.get(ii).forward(ff), skip), 1)));
        release(owned, ff);
        release(owned, skip);
        for (IGAB blk : dec.get(i)) {
          f = step(owned, f, blk, ills[l]);
        }
        if (l > 0) release(owned, ills[l]);
        if (config.semEnabled()) {
          f = stepSem(owned, f, decSem.get(i), sx[l]);
        }
      }
      final Tensor ff = f;
      Tensor out;
      try (PointerScope s = new PointerScope()) {
        out = org.deepspg.nn.FastConv.sameConv(mapping, ff, 1).add(xr);
        if (outer != null) outer.attach(out);
        else out.retainReference();
      }
      return out;
    } finally {
      for (Tensor t : owned) t.releaseReference();
    }
  }

  private static Tensor step(List<Tensor> owned, Tensor f, IGAB blk, Tensor g) {
    Tensor next = owned(owned, () -> blk.forward(f, g));
    release(owned, f); // block inputs are never skips or guides (those are kept in their own arrays)
    return next;
  }

  private static Tensor stepSem(List<Tensor> owned, Tensor f, SEM sem, Tensor s) {
    Tensor next = owned(owned, () -> sem.forward(f, s));
    release(owned, f);
    return next;
  }

  /** Runs {@code body} in its own scope; the result is retained and recorded in {@code owned}. */
  private static Tensor owned(List<Tensor> owned, Supplier<Tensor> body) {
    Tensor r;
    try (PointerScope s = new PointerScope()) {
      r = retain(body.get());
    }
    owned.add(r);
    return r;
  }

  private static Tensor retain(Tensor t) {
    t.retainReference();
    return t;
  }

  private static void release(List<Tensor> owned, Tensor t) {
    for (int i = owned.size() - 1; i >= 0; i--) {
      if (owned.get(i) == t) {
        owned.remove(i);
        t.releaseReference();
        return;
      }
    }
  }
}
