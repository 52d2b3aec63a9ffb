/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.deepspg.ops.AttentionContext;
import org.deepspg.ops.Backends;

/**
 * Tiled inference of large images, so that memory is bounded by the tile size, not the image size: tiles with
 * overlap ({@link TilePlan}), each run through the {@link Engine} (one upload and one download per tile), blended on
 * the host with raised-cosine weights.
 *
 * <p>The only global statistic in the network, the c×c matrix of each channel attention (sums over all pixels), is
 * kept consistent across tiles by {@link AttentionContext}: pass 1 runs the network on a copy downscaled to
 * {@link TileOptions#contextSize()} ({@link AreaResize}, one upload) and records every matrix; pass 2 replays them in
 * each full-resolution tile. All other layers are local. Recordings are per call, so one Tiler serves many threads.
 *
 * <p>When pass 1's copy is downscaled, a model with SEMs first runs its image prior on every tile at full resolution
 * and stitches the features into the whole image's maps ({@link Engine#stitchedPriorFeatures}); pass 1 takes those
 * instead of the prior's view of the downscaled copy (objects there look smaller than in the tiles: s-sem on a
 * 1280×852 image 47.9 dB against whole-image inference with it, 58.9 dB with the stitched maps). The maps, up to
 * {@link Engine#MAX_FULL_PRIOR_BYTES}, count in the memory check. Pass 2 runs no prior: a SEM's prior input only
 * feeds its attention scores, which the replay replaces.
 *
 * <p>A downscaled copy's matrices differ from the full image's. {@link TileOptions#refinePasses()} passes between
 * pass 1 and pass 2 bring them closer: each runs every tile under {@link AttentionContext#refine}, which replays the
 * current matrices and sums each attention's terms over the tile's {@link #core} (the cores partition the padded
 * image, so the sums are the full image's), and the matrices those sums make replace the recorded ones. The stitched
 * prior maps stay alive through them: their crops feed the SEMs' queries.
 */
final class Tiler {
  private final Engine engine;
  private final TileOptions tiles;
  private final boolean context;
  private final LongAdder tilesRun = new LongAdder();

  /**
   * @param engine runs the passes
   * @param tiles the tile size, overlap and context size
   * @param context whether tiles replay the attention matrices of a context pass (off only to measure what it buys)
   */
  Tiler(Engine engine, TileOptions tiles, boolean context) {
    this.engine = engine;
    this.tiles = tiles;
    this.context = context;
  }

  /** @return whether tiles replay a context pass's attention (false: a tiled frame records nothing to lock to) */
  boolean context() {
    return context;
  }

  /** @return the tile passes run since construction or {@link #resetCount()} (all threads, refinements included) */
  long tilesRun() {
    return tilesRun.sum();
  }

  void resetCount() {
    tilesRun.reset();
  }

  /**
   * The tile plans of an image (rows, columns): of all tile shapes that hold at most as many padded pixels as the
   * square tile ({@link TileOptions#tileSize()}²: the memory bound), with sides from half to twice the square's and
   * multiples of 32 (each height with the widest width the area allows: near-minimal, not an exhaustive search), the
   * one whose tiles together cover the fewest pixels (plus a small cost per tile; of the shapes within 2 % of that,
   * the fewest tiles, then the squarest), each axis's tiles shortened as far as their count allows. Square tiles of
   * 512 covered a 1920×1080 frame in 15 tiles, 1.9× its pixels; 10 tiles of 576×448 cover 1.24×. An image thinner
   * than the shortest side takes tiles as long as the area allows along its long side (2×240,000: 30 tiles of
   * 32×8,064 instead of 536 of 32×512).
   */
  TilePlan[] plans(int h, int w) {
    int m = Padding.MULTIPLE, ov = tiles.overlap(), tile = tiles.tileSize();
    long area = (long) tile * tile;
    int minSide = (int) Padding.padded(Math.max(ov + m, tile / 2 / m * m), m); // tiles are multiples of 32
    List<int[]> shapes = new ArrayList<>(); // {tile height, tile width, cost / 1024, tiles}
    double least = Double.MAX_VALUE;
    for (int th = minSide; ; th += m) {
      long effH = Padding.padded(Math.min(th, h), m);
      long allowed = area / effH / m * m;
      int tw;
      if (w <= allowed) tw = (int) Math.max(Padding.padded(w, m), Padding.padded(ov + m, m)); // one tile across
      else if (allowed >= minSide) tw = (int) allowed;
      else break;
      int sy = shortened(h, th), sx = shortened(w, tw);
      int[][] ly = TilePlan.layout(h, sy, ov, m), lx = TilePlan.layout(w, sx, ov, m);
      double cost = paddedSum(ly) * (double) paddedSum(lx) + (double) ly[0].length * lx[0].length * TILE_COST_PIXELS;
      shapes.add(new int[] {sy, sx, (int) Math.min(Integer.MAX_VALUE, Math.round(cost / 1024)),
          ly[0].length * lx[0].length});
      least = Math.min(least, cost / 1024);
      if (th >= h) break; // taller tiles than the image change nothing
    }
    // Of the shapes within 2 % of the least work, the fewest tiles, then the squarest (the shortest tile borders).
    int[] best = null;
    for (int[] sh : shapes) {
      if (sh[2] > least * 1.02) continue;
      if (best == null || sh[3] < best[3] || (sh[3] == best[3] && skew(sh) < skew(best))) best = sh;
    }
    return new TilePlan[] {TilePlan.of(h, best[0], ov, m), TilePlan.of(w, best[1], ov, m)};
  }

  private static double skew(int[] shape) {
    return Math.max(shape[0], shape[1]) / (double) Math.min(shape[0], shape[1]);
  }

  /** The context copy's square never goes below this side to fit the memory limit (the pass is refused instead). */
  static final int MIN_CONTEXT = 128;

  /**
   * The context copy's shape: the image fitted to the pixels of a {@link TileOptions#contextSize()} square
   * ({@link AreaResize#fitPixels}), or smaller when that pass would exceed the memory limit while the tiles do not (a
   * small {@code --max-memory}, or a model with an HRNet-W48 prior in a small container): the attention then comes
   * from a coarser copy, which is better than refusing an image whose tiles fit. Noted once per Tiler through
   * {@code System.Logger}.
   */
  int[] contextShape(int h, int w) {
    int side = tiles.contextSize();
    int[] cs = AreaResize.fitPixels(h, w, side, Padding.MULTIPLE);
    if (!context || engine.fits(1, cs[0], cs[1])) return cs;
    while (side > MIN_CONTEXT && !engine.fits(1, cs[0], cs[1])) {
      side = Math.max(MIN_CONTEXT, side * 3 / 4);
      cs = AreaResize.fitPixels(h, w, side, Padding.MULTIPLE);
    }
    if (engine.fits(1, cs[0], cs[1]) && contextNoted.compareAndSet(false, true)) {
      System.getLogger("org.deepspg").log(System.Logger.Level.INFO, "the attention context of a " + w + "x" + h
          + " image runs on a " + cs[1] + "x" + cs[0] + " copy instead of one of up to " + tiles.contextSize() + "x"
          + tiles.contextSize() + " px, to stay within the memory limit of " + MemoryBudget.gb(engine.maxMemory));
    }
    return cs;
  }

  private final AtomicBoolean contextNoted = new AtomicBoolean();

  /** What one more tile costs, in pixels' worth of network work (its crop, upload, blending and fixed overheads). */
  static final int TILE_COST_PIXELS = 64 * 64;

  /** The shortest tile length (multiple of 32) whose tiles along a side are as few as those of {@code tile}. */
  private int shortened(int size, int tile) {
    int m = Padding.MULTIPLE, ov = tiles.overlap();
    int n = TilePlan.layout(size, tile, ov, m)[0].length;
    if (n == 1) return tile;
    int best = tile;
    for (int t = tile - m; t >= ov + m && TilePlan.layout(size, t, ov, m)[0].length == n; t -= m) best = t;
    return best;
  }

  /** Sum of a layout's tile lengths, each padded to 32 as the network pads it. */
  private static long paddedSum(int[][] layout) {
    long s = 0;
    for (int i = 0; i < layout[0].length; i++) s += Padding.padded(layout[1][i] - layout[0][i], Padding.MULTIPLE);
    return s;
  }

  /** @return the number of tiles of an image of this size */
  int tileCount(int h, int w) {
    TilePlan[] p = plans(h, w);
    return p[0].count() * p[1].count();
  }

  /**
   * A tile's pixels.
   *
   * @param chw the image {@code [3, h, w]}
   * @return {@code [3, th, tw]} from row {@code y0}, column {@code x0}
   */
  static float[] crop(float[] chw, int h, int w, int y0, int x0, int th, int tw) {
    float[] tile = new float[3 * th * tw];
    for (int c = 0; c < 3; c++) {
      for (int y = 0; y < th; y++) System.arraycopy(chw, (c * h + y0 + y) * w + x0, tile, (c * th + y) * tw, tw);
    }
    return tile;
  }

  /**
   * Records a tiled image's attention context into an empty lock, without enhancing it ({@link
   * Enhancer.Sequence#lockTo}).
   */
  void lockTo(float[] chw, int h, int w, AttentionLock lock) {
    TilePlan[] plan = plans(h, w);
    try {
      lock.set(contextOf(chw, h, w, plan[0], plan[1], null));
    } finally {
      IdleRelease.PROCESS.request();
    }
  }

  /**
   * Tiles below this side run no refinement passes: their cores end 16 px from their edges, where the tiles' border
   * effects outweigh what the sums correct (an audit: a 769×600 photo in tiles of 128, 53.15 dB against the whole
   * image without refinement, 45.95 with; in tiles of 256, 53.11 → 63.50).
   */
  static final int MIN_REFINE_TILE = 256;

  /**
   * Refinement passes an image runs: the options' when its context copy is downscaled (else it is exact) and the
   * tiles are at least {@link #MIN_REFINE_TILE} (noted once per Tiler otherwise).
   */
  private int refinePasses(boolean downscaled) {
    if (!context || !downscaled || tiles.refinePasses() == 0) return 0;
    if (tiles.tileSize() >= MIN_REFINE_TILE) return tiles.refinePasses();
    if (refineNoted.compareAndSet(false, true)) {
      System.getLogger("org.deepspg").log(System.Logger.Level.INFO, "no refinement passes with tiles of "
          + tiles.tileSize() + " px: they need tiles of at least " + MIN_REFINE_TILE + " px");
    }
    return 0;
  }

  private final AtomicBoolean refineNoted = new AtomicBoolean();

  /**
   * The network passes over tiles that {@link #enhance} makes for an image of this size: its tiles, once more per
   * refinement pass.
   *
   * @param h image height
   * @param w image width
   * @return the number of tile passes
   */
  int tilePasses(int h, int w) {
    int[] cs = contextShape(h, w);
    return tileCount(h, w) * (1 + refinePasses(cs[0] != h || cs[1] != w));
  }

  /**
   * The core of tile {@code i} along one axis, in the padded image: from the middle of its overlap with the previous
   * tile to the middle of the next one, each rounded down to a multiple of 32 (tile starts are multiples of 32, so
   * it stays inside both tiles), the first from 0 and the last to the padded size. The cores partition the padded
   * image, and their bounds fall on the cells of every level of the network.
   *
   * @return {start, end}
   */
  static int[] core(TilePlan p, int i) {
    int m = Padding.MULTIPLE;
    int start = i == 0 ? 0 : (p.start(i) + p.end(i - 1)) / 2 / m * m;
    int end = i == p.count() - 1 ? (int) Padding.padded(p.size(), m) : (p.end(i) + p.start(i + 1)) / 2 / m * m;
    return new int[] {start, end};
  }

  /**
   * One refinement pass ({@link AttentionContext#refine}): every tile replays {@code rec} and adds its core's sums;
   * the matrices they make replace {@code rec}'s (the old recordings are closed).
   */
  private void refine(float[] chw, int h, int w, TilePlan py, TilePlan px, AttentionContext.Recording[] rec,
      Engine.FullPrior prior, Runnable onTile) {
    AttentionContext.Statistics[] st = new AttentionContext.Statistics[rec.length];
    for (int t = 0; t < st.length; t++) st[t] = new AttentionContext.Statistics();
    for (int ty = 0; ty < py.count(); ty++) {
      int y0 = py.start(ty), th = py.end(ty) - y0;
      int[] cy = core(py, ty);
      for (int tx = 0; tx < px.count(); tx++) {
        if (Thread.currentThread().isInterrupted()) {
          throw new java.util.concurrent.CancellationException("interrupted: a " + w + "x" + h + " image stopped "
              + "in a refinement pass of its attention context");
        }
        int x0 = px.start(tx), tw = px.end(tx) - x0;
        int[] cx = core(px, tx);
        AttentionContext.Window core = new AttentionContext.Window(cy[0] - y0, cy[1] - y0, cx[0] - x0, cx[1] - x0,
            (int) Padding.padded(th, Padding.MULTIPLE), (int) Padding.padded(tw, Padding.MULTIPLE));
        engine.refine(crop(chw, h, w, y0, x0, th, tw), th, tw, rec, st, core, prior, y0, x0);
        tilesRun.increment();
        if (onTile != null) onTile.run();
      }
    }
    AttentionContext.Recording[] next = new AttentionContext.Recording[rec.length];
    try {
      for (int t = 0; t < rec.length; t++) {
        if (st[t].calls() != rec[t].calls()) { // an attention that replays without counting: a bug, not a user error
          throw new IllegalStateException("attention refinement counted " + st[t].calls() + " of "
              + rec[t].calls() + " attention calls");
        }
        next[t] = st[t].toRecording();
      }
    } catch (RuntimeException e) {
      AttentionContext.Recording.closeAll(next);
      throw e;
    }
    for (int t = 0; t < rec.length; t++) {
      rec[t].close();
      rec[t] = next[t];
    }
  }

  /**
   * The attention context of a tiled image, one recording per transform (the caller closes them): the context pass
   * on the image's copy, then the refinement passes. When the copy is downscaled, a SEM model's prior runs once per
   * tile at full resolution, before anything else, and its features, stitched into the whole image's maps, feed the
   * context pass and the refinement passes (the copy's own prior sees objects smaller than the tiles do: s-sem at
   * 1280x852 47.9 dB against the whole image, 58.9 dB so; BENCHMARKS "Session 34"). A context of the whole image runs
   * its own prior, on exactly the whole image. The tiles run no prior: under the replayed attention their SEMs' prior
   * input cannot change their output (Engine.run).
   *
   * @param onTile run after each refinement pass's tile, or null
   */
  AttentionContext.Recording[] contextOf(float[] chw, int h, int w, TilePlan py, TilePlan px, Runnable onTile) {
    int[] cs = contextShape(h, w);
    boolean downscaled = cs[0] != h || cs[1] != w;
    long bytes = downscaled ? engine.fullPriorBytes(h, w, cs, new int[] {py.maxLength(), px.maxLength()}) : -1;
    AttentionContext.Recording[] rec = null;
    Engine.FullPrior prior = null;
    boolean done = false;
    try {
      prior = bytes >= 0 ? engine.stitchedPriorFeatures(chw, h, w, py, px, bytes) : null;
      float[] small = downscaled ? AreaResize.resize(chw, 3, h, w, cs[0], cs[1]) : chw;
      rec = engine.record(small, cs[0], cs[1], prior);
      // The context pass is the largest transient of a tiled image (up to 768x768 pixels); the tiles need less, so what
      // it leaves mapped for reuse (Backends) would only raise the peak.
      Backends.releaseFreeMemory();
      for (int p = 0; p < refinePasses(downscaled); p++) refine(chw, h, w, py, px, rec, prior, onTile);
      done = true;
      return rec;
    } finally {
      if (prior != null) prior.close();
      if (!done) AttentionContext.Recording.closeAll(rec);
    }
  }

  /**
   * Enhances one planar image tile by tile (the caller holds the oneDNN read lock).
   *
   * @param chw {@code [3, h, w]} row-major
   * @param onTile run after each tile, or null
   * @return the blended result, checked by {@link OutputGuard}
   */
  float[] enhance(float[] chw, int h, int w, Runnable onTile) {
    return enhance(chw, h, w, onTile, null);
  }

  /**
   * {@link #enhance(float[], int, int, Runnable)} for a frame of a sequence with locked attention: when {@code lock}
   * holds recordings the tiles replay them (no context pass, no prior, no refinement); when it is empty the context
   * pass runs as usual and, once the frame has come out whole, its recordings stay in the lock for the next frames.
   *
   * @param lock the sequence's lock, or null (an image of its own)
   */
  float[] enhance(float[] chw, int h, int w, Runnable onTile, AttentionLock lock) {
    boolean given = context && lock != null && lock.recordings() != null;
    TilePlan[] plan = plans(h, w);
    TilePlan py = plan[0], px = plan[1];
    AttentionContext.Recording[] rec = given ? lock.recordings() : null;
    boolean handed = given; // whether rec belongs to the lock (closed by it, not here)
    try {
      if (context && !given) rec = contextOf(chw, h, w, py, px, onTile);
      int n = h * w;
      float[] out = new float[3 * n];
      for (int ty = 0; ty < py.count(); ty++) {
        int y0 = py.start(ty), th = py.end(ty) - y0;
        float[] wy = py.weights(ty);
        for (int tx = 0; tx < px.count(); tx++) {
          if (Thread.currentThread().isInterrupted()) { // a request timeout (Future.cancel(true)) stops between tiles
            throw new java.util.concurrent.CancellationException("interrupted: a " + w + "x" + h + " image stopped "
                + "after " + (ty * px.count() + tx) + " of " + py.count() * px.count() + " tiles");
          }
          int x0 = px.start(tx), tw = px.end(tx) - x0;
          float[] wx = px.weights(tx);
          float[] tile = crop(chw, h, w, y0, x0, th, tw);
          float[] res = engine.run(tile, 1, th, tw, rec);
          tilesRun.increment();
          if (onTile != null) onTile.run();
          for (int c = 0; c < 3; c++) {
            for (int y = 0; y < th; y++) {
              float wyv = wy[y];
              int o = c * n + (y0 + y) * w + x0;
              int r = (c * th + y) * tw;
              for (int x = 0; x < tw; x++) out[o + x] += wyv * wx[x] * res[r + x];
            }
          }
        }
      }
      float[] sy = py.weightSum(), sx = px.weightSum();
      for (int c = 0; c < 3; c++) {
        for (int y = 0; y < h; y++) {
          int o = c * n + y * w;
          // a weighted mean of values in [0, 1] can round just past 1: clamped again, as the untiled output is
          for (int x = 0; x < w; x++) out[o + x] = Math.min(1f, out[o + x] / (sy[y] * sx[x]));
        }
      }
      OutputGuard.check(chw, 0, out, 0, 3 * n);
      if (lock != null && rec != null && !given) { // only a frame that came out whole locks the sequence
        lock.set(rec);
        handed = true;
      }
      return out;
    } finally {
      if (!handed) AttentionContext.Recording.closeAll(rec);
      // The tiles leave up to ~1 GiB of freed tensor memory mapped for reuse (Backends). Returned at once, the next
      // image of a batch faulted it all in again (3.5 s instead of 1.05 s); returned once inference is idle, a batch
      // keeps reusing it and a quiet process still gives it back.
      IdleRelease.PROCESS.request();
    }
  }
}
