/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import java.util.Locale;
import java.util.concurrent.locks.Lock;
import java.util.function.Supplier;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.deepspg.data.ImageTensors;
import org.deepspg.model.prior.ImagePrior;
import org.deepspg.ops.AttentionContext;
import org.deepspg.ops.OneDnn;
import org.deepspg.ops.Scopes;

/**
 * The {@link Pipeline} on one device, as the Enhancer runs it: no gradients ({@link NoGradGuard} +
 * {@link InferenceMode}), a {@link MemoryBudget} check before each pass, self-ensemble when asked, and host images
 * moved through {@link ImageTensors}: one upload and one download per pass. {@link Tiler} and {@link Batcher} build
 * on it. Immutable and thread-safe.
 */
final class Engine {
  final Pipeline pipeline;
  /** The networks' device; null for the CPU. */
  final Device device;
  final boolean ensemble;
  final long maxMemory;

  Engine(Pipeline pipeline, Device device, boolean ensemble, long maxMemory) {
    this.pipeline = pipeline;
    this.device = device;
    this.ensemble = ensemble;
    this.maxMemory = maxMemory;
  }

  /** @return the number of transforms each pass runs (1, or 8 with self-ensemble) */
  int transforms() {
    return ensemble ? Pipeline.ENSEMBLE_SIZE : 1;
  }

  /**
   * Enhances {@code b} planar images of one size held on the host: one upload, the pipeline, one download.
   *
   * @param data {@code [b, 3, h, w]} row-major
   * @param replay recorded attention per transform (tiles), or null
   * @return the clamped result, same layout (not yet checked by {@link OutputGuard})
   */
  float[] run(float[] data, int b, int h, int w, AttentionContext.Recording[] replay) {
    checkMemory(b, h, w);
    IdleRelease.PROCESS.enter();
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard();
        InferenceMode im = new InferenceMode()) {
      Tensor x = ImageTensors.tensorOf(data, device, b, 3, h, w);
      return ImageTensors.floatsOf(pipeline.enhance(x, ensemble, replay, replay == null ? null : unusedPrior(x)));
    } finally {
      IdleRelease.PROCESS.exit(maxMemory);
    }
  }

  /**
   * Enhances a batch that is already on the networks' device; no transfers.
   *
   * @param x {@code [B, 3, H, W]} float on {@link #device}
   * @return the clamped result, an inference tensor in the caller's scope (use it outside inference mode only in
   *     functional operations)
   */
  Tensor run(Tensor x) {
    checkMemory(x.size(0), x.size(2), x.size(3));
    PointerScope outer = PointerScope.getInnerScope();
    IdleRelease.PROCESS.enter();
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard();
        InferenceMode im = new InferenceMode()) {
      return Scopes.escape(pipeline.enhance(x, ensemble, null), outer);
    } finally {
      IdleRelease.PROCESS.exit(maxMemory);
    }
  }

  /**
   * Records the attention matrices of a (downscaled) image, one recording per transform (the context pass of a
   * tiled image): one upload. With {@code full} (a SEM model's tiled image, {@link #stitchedPriorFeatures}) the SEMs
   * take the full image's prior features in place of the prior's view of the downscaled copy.
   *
   * @param chw the downscaled image {@code [3, h, w]}
   * @param full its original's three prior feature maps, or null
   * @return {@link #transforms()} new recordings, the caller's to close (closed here when the pass fails)
   */
  AttentionContext.Recording[] record(float[] chw, int h, int w, FullPrior full) {
    checkMemory(1, h, w, full == null ? 0 : full.bytes(), "the attention-context pass of a tiled image (the image "
        + "or its downscaled copy)", "use a smaller context (API: TileOptions.withContextSize, "
        + TileOptions.DEFAULT_CONTEXT + " px by default)");
    AttentionContext.Recording[] into = new AttentionContext.Recording[transforms()];
    boolean done = false;
    IdleRelease.PROCESS.enter();
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard();
        InferenceMode im = new InferenceMode()) {
      for (int t = 0; t < into.length; t++) into[t] = new AttentionContext.Recording();
      pipeline.record(ImageTensors.tensorOf(chw, device, 1, 3, h, w), full == null ? null : full.maps(), into);
      done = true;
      return into;
    } finally {
      if (!done) AttentionContext.Recording.closeAll(into);
      IdleRelease.PROCESS.exit(maxMemory);
    }
  }

  /**
   * A refinement pass over one tile ({@link Pipeline#refine}): one upload, the outputs discarded, the window's sums
   * added to {@code into}.
   *
   * @param tile the tile {@code [3, h, w]}
   * @param from per transform, the recording to replay
   * @param into per transform, the image's statistics
   * @param window the tile's core in its padded input
   * @param full the image's stitched prior maps (their crop feeds the SEMs' queries), or null to run the prior
   * @param y0 the tile's first row in the image
   * @param x0 its first column
   */
  void refine(float[] tile, int h, int w, AttentionContext.Recording[] from, AttentionContext.Statistics[] into,
      AttentionContext.Window window, FullPrior full, int y0, int x0) {
    checkMemory(1, h, w, full == null ? 0 : full.bytes(), "a pass", TILE_ADVICE);
    IdleRelease.PROCESS.enter();
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard();
        InferenceMode im = new InferenceMode()) {
      Tensor[] features = full == null || pipeline.prior() == null ? null
          : full.crop(window.height(), window.width(), pipeline.prior().featureStrides(), y0, x0);
      pipeline.refine(ImageTensors.tensorOf(tile, device, 1, 3, h, w), from, into, window, features);
    } finally {
      IdleRelease.PROCESS.exit(maxMemory);
    }
  }

  /** A full image's prior feature maps (for the image padded to multiples of 32), owned until {@link #close()}. */
  record FullPrior(Tensor[] maps, long bytes) implements AutoCloseable {
    /**
     * A tile's part of the maps.
     *
     * @param hp the tile's padded height
     * @param wp its padded width
     * @param strides the maps' strides
     * @param y0 the tile's first row in the image (a multiple of 32)
     * @param x0 its first column (a multiple of 32)
     * @return views {@code [1, C_l, hp / s_l, wp / s_l]} (in the caller's scope)
     */
    Tensor[] crop(int hp, int wp, int[] strides, int y0, int x0) {
      Tensor[] out = new Tensor[maps.length];
      for (int l = 0; l < maps.length; l++) {
        int s = strides[l];
        out[l] = maps[l].narrow(2, y0 / s, hp / s).narrow(3, x0 / s, wp / s);
      }
      return out;
    }

    @Override
    public void close() {
      for (Tensor t : maps) t.releaseReference();
    }
  }

  /** The full image's prior maps may take at most this much (beyond it the context and each tile run the prior). */
  static final long MAX_FULL_PRIOR_BYTES = 512L << 20;

  /**
   * Whether a tiled image's passes may hold the stitched prior maps ({@link #stitchedPriorFeatures}): a SEM model, maps
   * of at most {@link #MAX_FULL_PRIOR_BYTES}, and the largest pass still within the memory limit with them. Otherwise
   * the prior runs on the context copy and on each tile as before, so the maps never make a run fail the memory check
   * that it passed without them.
   *
   * @param passes the largest passes the maps stay alive through, {height, width} each (the context, a tile)
   * @return the maps' bytes, or -1 when they should not be made
   */
  long fullPriorBytes(int h, int w, int[]... passes) {
    ImagePrior prior = pipeline.prior();
    if (prior == null) return -1;
    long hp = Padding.padded(h, Padding.MULTIPLE), wp = Padding.padded(w, Padding.MULTIPLE);
    int[] ch = prior.featureChannels(), st = prior.featureStrides();
    long bytes = 0;
    for (int l = 0; l < ch.length; l++) bytes += ch[l] * (hp / st[l]) * (wp / st[l]) * 4L;
    if (bytes > MAX_FULL_PRIOR_BYTES) return -1;
    for (int[] p : passes) {
      if (estimate(1, p[0], p[1]) + bytes > maxMemory) return -1;
    }
    return bytes;
  }

  /**
   * The prior's feature maps of a whole tiled image without running it on the whole image: the prior runs on each
   * tile at full resolution ({@link Pipeline#priorFeatures}) and each map cell is taken from the tile whose core
   * (the tile up to the middles of its overlaps) holds it. Tile starts are multiples of 32, so every tile's cells lie
   * on the full image's grid. For a SEM model's tiled image: its context pass sees the objects' features at the
   * tiles' scale.
   *
   * @param chw the image {@code [3, h, w]}
   * @param py the rows' tile plan
   * @param px the columns' tile plan
   * @param bytes the maps' size as {@link #fullPriorBytes} gave it (ask it first whether the memory limit allows them)
   * @return the maps for the image padded to multiples of 32, or null for a model without SEMs, or a prior whose maps
   *     do not come out at its declared strides or whose strides do not divide 32
   */
  FullPrior stitchedPriorFeatures(float[] chw, int h, int w, TilePlan py, TilePlan px, long bytes) {
    if (pipeline.prior() == null) return null;
    long hp = Padding.padded(h, Padding.MULTIPLE), wp = Padding.padded(w, Padding.MULTIPLE);
    Tensor[] maps = null;
    int[] stride = pipeline.prior().featureStrides();
    IdleRelease.PROCESS.enter();
    try (NoGradGuard ng = new NoGradGuard(); InferenceMode im = new InferenceMode()) {
      for (int ty = 0; ty < py.count(); ty++) {
        int y0 = py.start(ty), th = py.end(ty) - y0;
        int cy0 = ty == 0 ? 0 : (y0 + py.end(ty - 1)) / 2; // the core: up to the middles of the overlaps
        int cy1 = ty == py.count() - 1 ? h : (py.end(ty) + py.start(ty + 1)) / 2;
        for (int tx = 0; tx < px.count(); tx++) {
          int x0 = px.start(tx), tw = px.end(tx) - x0;
          int cx0 = tx == 0 ? 0 : (x0 + px.end(tx - 1)) / 2;
          int cx1 = tx == px.count() - 1 ? w : (px.end(tx) + px.start(tx + 1)) / 2;
          float[] tile = Tiler.crop(chw, h, w, y0, x0, th, tw);
          checkMemory(1, th, tw);
          try (PointerScope scope = new PointerScope()) {
            Tensor[] f = pipeline.priorFeatures(ImageTensors.tensorOf(tile, device, 1, 3, th, tw));
            if (maps == null) {
              long tp = Padding.padded(th, Padding.MULTIPLE);
              maps = new Tensor[3];
              for (int l = 0; l < 3; l++) {
                if (Padding.MULTIPLE % stride[l] != 0 || f[l].size(2) * stride[l] != tp) return null;
              }
              try (PointerScope keep = new PointerScope()) {
                for (int l = 0; l < 3; l++) {
                  maps[l] = f[l].new_empty(new long[] {1, f[l].size(1), hp / stride[l], wp / stride[l]});
                  maps[l].retainReference();
                }
              }
            }
            for (int l = 0; l < 3; l++) {
              long s = stride[l];
              // the tile's cells whose top-left pixel lies in its core; the last row/column takes the padding too
              long r0 = Math.floorDiv(cy0 + s - 1, s), r1 = cy1 == h ? hp / s : Math.floorDiv(cy1 + s - 1, s);
              long c0 = Math.floorDiv(cx0 + s - 1, s), c1 = cx1 == w ? wp / s : Math.floorDiv(cx1 + s - 1, s);
              long rr = Math.min(r1, y0 / s + f[l].size(2)), cc = Math.min(c1, x0 / s + f[l].size(3));
              if (rr <= r0 || cc <= c0) continue;
              maps[l].narrow(2, r0, rr - r0).narrow(3, c0, cc - c0)
                  .copy_(f[l].narrow(2, r0 - y0 / s, rr - r0).narrow(3, c0 - x0 / s, cc - c0));
            }
          }
        }
      }
      FullPrior out = new FullPrior(maps, bytes);
      maps = null;
      return out;
    } finally {
      if (maps != null) for (Tensor t : maps) if (t != null) t.releaseReference();
      IdleRelease.PROCESS.exit(maxMemory);
    }
  }

  /**
   * Refuses a forward pass whose estimated working set exceeds the memory limit ({@link MemoryBudget}), before it
   * allocates anything: one clear message instead of the process growing until the system kills it.
   */
  void checkMemory(long b, long h, long w) {
    checkMemory(b, h, w, "a pass", TILE_ADVICE);
  }

  private static final String TILE_ADVICE = "tile the image or use smaller tiles (CLI: --tile N; API: "
      + "TileOptions.always(N), or TileOptions.withMaxWholePixels to tile smaller images than the default 0.5 MP)";

  /**
   * Prior features for a pass that replays recorded attention (a tile): zeros of 1×1 pixels, which the SEMs resize
   * to their levels. The prior enters a SEM only through its queries, which only feed the attention scores, and the
   * replay replaces those with the recorded matrices; so a tile's own prior features cannot change its output (a SEM
   * audit: zero features change nothing under replay, 33/255 without) and the prior need not run per tile
   * (HRNet-W48: most of a tile's time). Null for a model without SEMs.
   */
  private Tensor[] unusedPrior(Tensor x) {
    ImagePrior prior = pipeline.prior();
    if (prior == null) return null;
    int[] ch = prior.featureChannels();
    Tensor[] z = new Tensor[ch.length];
    for (int l = 0; l < ch.length; l++) z[l] = x.new_zeros(new long[] {x.size(0), ch[l], 1, 1});
    return z;
  }

  /** @return whether a pass over {@code b} images of this size passes {@link #checkMemory(long, long, long)} */
  boolean fits(long b, long h, long w) {
    return estimate(b, h, w) <= maxMemory;
  }

  /** @return the most padded pixels one pass may hold within the memory limit ({@link MemoryBudget#estimate}) */
  long pixelsPerPass() {
    return maxMemory / Math.max(1, MemoryBudget.estimate(pipeline.config(), 1, 1, 1));
  }

  /** {@link MemoryBudget#estimate} of a pass over images of this size, padded as the pipeline pads them. */
  private long estimate(long b, long h, long w) {
    return MemoryBudget.estimate(pipeline.config(), b, Padding.padded(h, Padding.MULTIPLE),
        Padding.padded(w, Padding.MULTIPLE));
  }

  /** {@link #checkMemory(long, long, long)} naming which pass and what makes it smaller. */
  void checkMemory(long b, long h, long w, String what, String smaller) {
    checkMemory(b, h, w, 0, what, smaller);
  }

  /** {@link #checkMemory(long, long, long, String, String)} with {@code extra} bytes held beside the pass. */
  void checkMemory(long b, long h, long w, long extra, String what, String smaller) {
    long need = estimate(b, h, w) + extra;
    if (need > maxMemory) {
      String n = MemoryBudget.gb(need), l = MemoryBudget.gb(maxMemory);
      if (n.equals(l)) n = MemoryBudget.gb(need, 3); // "needs about 0.31 GB, more than ... 0.31 GB"
      throw new IllegalArgumentException(String.format(Locale.ROOT,
          "%s of %dx%d (x%d) needs about %s, more than the memory limit of %s: %s, or raise the limit "
              + "(CLI: --max-memory; API: Enhancer.Builder.maxMemory; -D%s)", what, w, h, b, n, l, smaller,
          MemoryBudget.PROPERTY));
    }
  }

  /**
   * Runs inference while no oneDNN self-check can flip the process-wide setting (the read side of
   * {@link OneDnn#shared()}).
   *
   * @param inference the work
   * @param <T> its result type
   * @return its result
   */
  static <T> T locked(Supplier<T> inference) {
    Lock l = OneDnn.shared();
    l.lock();
    try {
      return inference.get();
    } finally {
      l.unlock();
    }
  }
}
