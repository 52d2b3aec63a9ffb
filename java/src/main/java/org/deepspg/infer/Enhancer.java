/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import static org.bytedeco.pytorch.global.torch.rot90;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Lock;
import java.util.function.Supplier;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.data.Image;
import org.deepspg.data.ImageReadException;
import org.deepspg.data.Images;
import org.deepspg.data.ReadOptions;
import org.deepspg.model.DeepSPG;
import org.deepspg.model.DeepSPGConfig;
import org.deepspg.model.ModelFiles;
import org.deepspg.model.hrnet.HRNet;
import org.deepspg.model.hrnet.InputNorm;
import org.deepspg.model.prior.MissingWeightsException;
import org.deepspg.model.prior.PriorWeights;
import org.deepspg.ops.AttentionContext;
import org.deepspg.ops.Backends;
import org.deepspg.ops.NativeLibrary;
import org.deepspg.ops.OneDnn;
import org.deepspg.ops.Scopes;

/**
 * Enhances low-light images with a trained DeepSPG network: the one-call entry point for applications and the
 * {@code deepspg enhance} command.
 *
 * <pre>{@code
 * try (Enhancer e = Enhancer.builder().checkpoint(Path.of("deepspg-s.pth")).build()) {
 *   Image out = e.enhance(Path.of("dark.jpg"));
 *   Images.writeAtomic(out, Path.of("bright.jpg"));
 * }
 * }</pre>
 *
 * <p><b>Protocol</b> (spec §6): reflect-pad the bottom/right edges to a multiple of 32, run HRNet-W48 on the same
 * padded input when the model has SEMs, run the network, crop back, clamp to [0, 1]. Optional self-ensemble averages
 * the 8 flips/rotations (off by default).
 *
 * <p><b>Large images</b> (more than {@link TileOptions#maxWholePixels()}) are tiled so that memory is bounded by the
 * tile size, not the image size: tiles with overlap, blended with raised-cosine weights ({@link TilePlan}). The only
 * global statistic in the network, the c×c matrix of each channel attention (sums over all pixels), is kept
 * consistent across tiles by {@link AttentionContext}: pass 1 runs the network on a copy downscaled to
 * {@link TileOptions#contextSize()} and records every matrix; pass 2 replays them in each full-resolution tile. All
 * other layers are local (convolutions, per-pixel channel LayerNorms, the Retinex light-up).
 *
 * <p><b>Threading.</b> An Enhancer is immutable after {@link Builder#build()} and safe to use from many threads at
 * once, with results identical to sequential calls. The network and HRNet are shared read-only (eval mode, never
 * modified after loading); every call runs under its own thread-local {@link NoGradGuard} + {@link InferenceMode}
 * and {@link PointerScope}, and tiled calls keep their attention recordings thread-local. Parallelism inside one call
 * comes from libtorch's intra-op thread pool (OpenMP, {@code torch.set_num_threads}), shared by all callers: on a
 * CPU with few cores one caller already uses every core, so extra threads add latency rather than throughput (see
 * {@code docs/inference.md} for measurements). {@link #close()} must not race with running calls.
 */
public final class Enhancer implements AutoCloseable {
  /** Number of self-ensemble transforms (identity, 3 rotations, and the 4 mirrored versions). */
  public static final int ENSEMBLE_SIZE = 8;

  private final DeepSPG net;
  private final DeepSPGConfig config;
  private final HRNet hrnet;
  private final boolean ownsNet;
  private final boolean ownsHrnet;
  private final Device device;
  private final String deviceName;
  private final TileOptions tiles;
  private final boolean ensemble;
  private final boolean tileContext;
  private final int batchSize;
  private final ReadOptions readOptions;
  private final long maxMemory;
  private final String modelSource;
  private volatile OneDnn.Verdict oneDnnVerdict = OneDnn.verdict();
  private final LongAdder hrnetNanos = new LongAdder();
  private final LongAdder networkNanos = new LongAdder();
  private final LongAdder images = new LongAdder();
  private final LongAdder tilesRun = new LongAdder();
  /** The progress callback of the current {@link #enhance(Image, Runnable)} call on this thread, if any. */
  private static final ThreadLocal<Runnable> PROGRESS = new ThreadLocal<>();
  private volatile boolean closed;

  private Enhancer(Builder b, DeepSPG net, DeepSPGConfig config, String source, boolean ownsNet, HRNet hrnet,
      boolean ownsHrnet, Device device, String deviceName) {
    this.net = net;
    this.config = config;
    this.modelSource = source;
    this.ownsNet = ownsNet;
    this.hrnet = hrnet;
    this.ownsHrnet = ownsHrnet;
    this.device = device;
    this.deviceName = deviceName;
    this.tiles = b.tiles;
    this.ensemble = b.ensemble;
    this.tileContext = b.tileContext;
    this.batchSize = b.batchSize;
    this.readOptions = b.readOptions;
    this.maxMemory = b.maxMemory;
  }

  /** @return a new builder (defaults: bundled model {@code s}, CPU, default tiling, no ensemble, batch 1) */
  public static Builder builder() {
    return new Builder();
  }

  // ------------------------------------------------------------------------------------------------------------
  // Public API

  /**
   * Enhances one image.
   *
   * @param img the low-light image (any size ≥ 1×1; alpha is passed through unchanged)
   * @return the enhanced image, same size, metadata (bit depth, grey flag, format) and alpha as the input
   */
  public Image enhance(Image img) {
    checkOpen();
    float[] out = locked(() -> enhancePlanar(img.rgb(), img.height(), img.width()));
    images.increment();
    return new Image(img.width(), img.height(), out, img.alpha(), img.metadata());
  }

  /**
   * Enhances one image, calling {@code onPass} after each network pass: once per tile of a tiled image, once for an
   * image that runs whole ({@link #passes} tells how many there will be).
   *
   * @param img the low-light image
   * @param onPass progress callback, run on the calling thread
   * @return the enhanced image, as {@link #enhance(Image)}
   */
  public Image enhance(Image img, Runnable onPass) {
    PROGRESS.set(onPass);
    try {
      return enhance(img);
    } finally {
      PROGRESS.remove();
    }
  }

  /**
   * Enhances several images; consecutive images of the same size that run whole are batched
   * ({@link Builder#batchSize(int)} at a time).
   *
   * @param imgs the images
   * @return the enhanced images in the same order
   */
  public List<Image> enhance(List<Image> imgs) {
    checkOpen();
    List<Image> out = new ArrayList<>(imgs.size());
    int i = 0;
    while (i < imgs.size()) {
      Image first = imgs.get(i);
      int h = first.height(), w = first.width();
      int j = i + 1;
      if (!tiles.tiles(h, w)) {
        while (j < imgs.size() && j - i < batchSize && imgs.get(j).height() == h && imgs.get(j).width() == w
            && !tiles.tilesBatch(j - i + 1, h, w)) {
          j++;
        }
      }
      if (j - i == 1) {
        out.add(enhance(first));
      } else {
        int n = 3 * h * w;
        float[] batch = new float[(j - i) * n];
        for (int k = i; k < j; k++) System.arraycopy(imgs.get(k).rgb(), 0, batch, (k - i) * n, n);
        int nb = j - i;
        float[] res = locked(() -> runWholeFloats(batch, nb, h, w));
        for (int k = i; k < j; k++) {
          float[] o = new float[n];
          System.arraycopy(res, (k - i) * n, o, 0, n);
          Image src = imgs.get(k);
          out.add(new Image(w, h, o, src.alpha(), src.metadata()));
          images.increment();
        }
      }
      i = j;
    }
    return out;
  }

  /**
   * Reads, enhances and returns an image file (EXIF orientation applied, pixel limit of
   * {@link Builder#readOptions(ReadOptions)}).
   *
   * @param file the image file
   * @return the enhanced image (metadata of the file: write it back with {@link Images#writeAtomic})
   * @throws ImageReadException when the file cannot be read as an image
   */
  public Image enhance(Path file) throws ImageReadException {
    return enhance(Images.read(file, readOptions));
  }

  /**
   * Enhances an AWT image.
   *
   * @param bi the image (any type; alpha is kept)
   * @return a new 8-bit sRGB image of the same size ({@code TYPE_3BYTE_BGR}, or {@code TYPE_4BYTE_ABGR} with alpha)
   */
  public BufferedImage enhance(BufferedImage bi) {
    Image img;
    try {
      img = Images.fromBufferedImage(bi, "memory", null);
    } catch (ImageReadException e) {
      throw new IllegalArgumentException("unsupported BufferedImage: " + e.getMessage(), e);
    }
    Image out = enhance(img);
    return Images.toBufferedImage(out, 8, false, out.hasAlpha());
  }

  /**
   * Enhances a batch tensor.
   *
   * @param x {@code [B, 3, H, W]} float RGB in [0, 1], any device (not modified)
   * @return {@code [B, 3, H, W]} float32 in [0, 1] on the device of {@code x}, a normal (non-inference) tensor
   *     attached to the caller's innermost {@link PointerScope} if one is open
   */
  public Tensor enhance(Tensor x) {
    checkOpen();
    if (x == null || x.dim() != 4 || x.size(1) != 3 || x.size(0) < 1 || x.size(2) < 1 || x.size(3) < 1) {
      throw new IllegalArgumentException("expected [B, 3, H, W] with B, H, W >= 1, got " + shape(x));
    }
    if (!x.is_floating_point()) {
      throw new IllegalArgumentException("expected a floating-point tensor in [0, 1], got " + x.scalar_type());
    }
    long b = x.size(0), h = x.size(2), w = x.size(3);
    if (b * h * w * 3 > Integer.MAX_VALUE) throw new IllegalArgumentException("tensor too large: " + shape(x));
    PointerScope outer = PointerScope.getInnerScope();
    float[] all = Images.floatsOf(x);
    int n = (int) (3 * h * w);
    for (int i = 0; i < b; i += tiles.tiles(h, w) ? 1 : batchSize) {
      int k = tiles.tiles(h, w) ? 1 : (int) Math.min(batchSize, b - i);
      float[] chunk = new float[k * n];
      System.arraycopy(all, i * n, chunk, 0, k * n);
      float[] res = locked(() -> k == 1 ? enhancePlanar(chunk, (int) h, (int) w)
          : runWholeFloats(chunk, k, (int) h, (int) w));
      System.arraycopy(res, 0, all, i * n, k * n);
    }
    images.add(b);
    try (PointerScope s = new PointerScope()) {
      Tensor out = Images.tensorOf(all, b, 3, h, w);
      Tensor placed = x.is_cuda() ? out.to(x.device(), torch.ScalarType.Float) : out;
      return Scopes.escape(placed, outer);
    }
  }

  /**
   * Cumulative timings since construction or {@link #resetStats()}.
   *
   * @param images images enhanced
   * @param tiles tiles run by the tiled path (0 when every image ran whole)
   * @param hrnetNanos time in HRNet forward passes (0 for models without SEMs)
   * @param networkNanos time in the enhancement network (including the context pass of tiled images)
   */
  public record Stats(long images, long tiles, long hrnetNanos, long networkNanos) {}

  /** @return the timings so far (summed over threads) */
  public Stats stats() {
    return new Stats(images.sum(), tilesRun.sum(), hrnetNanos.sum(), networkNanos.sum());
  }

  /** Zeroes the timings. */
  public void resetStats() {
    images.reset();
    tilesRun.reset();
    hrnetNanos.reset();
    networkNanos.reset();
  }

  /** @return the network's configuration */
  public DeepSPGConfig config() {
    return config;
  }

  /** @return where the weights came from ("bundled s (...)", a file path, "module") */
  public String modelSource() {
    return modelSource;
  }

  /** @return "cpu" or "cuda" */
  public String device() {
    return deviceName;
  }

  /** @return the tiling options */
  public TileOptions tileOptions() {
    return tiles;
  }

  /** @return the oneDNN decision in force when this Enhancer was built (self-check verdict under AUTO) */
  public OneDnn.Verdict oneDnn() {
    return oneDnnVerdict;
  }

  /** @return whether self-ensemble is on */
  public boolean ensemble() {
    return ensemble;
  }

  /** @return whether an HRNet prior runs (the model has SEMs) */
  public boolean usesHrnet() {
    return config.semEnabled();
  }

  /** Releases the networks this Enhancer loaded itself (not modules passed to the builder). */
  @Override
  public synchronized void close() {
    if (closed) return;
    closed = true;
    if (ownsNet) net.close();
    if (ownsHrnet && hrnet != null) hrnet.close();
  }

  // ------------------------------------------------------------------------------------------------------------
  // Core

  private void checkOpen() {
    if (closed) throw new IllegalStateException("Enhancer is closed");
  }

  /** Whole-image or tiled inference of one planar image {@code [3, H, W]}. */
  float[] enhancePlanar(float[] chw, int h, int w) {
    if (chw.length != 3L * h * w) {
      throw new IllegalArgumentException("expected 3x" + h + "x" + w + " values, got " + chw.length);
    }
    if (tiles.tiles(h, w)) return enhanceTiled(chw, h, w);
    float[] out = runWholeFloats(chw, 1, h, w);
    progressed();
    return out;
  }

  /** Whole-image inference of {@code b} planar images of one size. */
  private float[] runWholeFloats(float[] data, int b, int h, int w) {
    checkMemory(b, h, w);
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard();
        InferenceMode im = new InferenceMode()) {
      Tensor x = toDevice(Images.tensorOf(data, b, 3, h, w));
      Tensor y = runTransforms(x, null);
      float[] out = Images.floatsOf(y);
      int n = 3 * h * w;
      for (int k = 0; k < b; k++) OutputGuard.check(data, k * n, out, k * n, n);
      return out;
    }
  }

  /**
   * Refuses a forward pass whose estimated working set exceeds the memory limit ({@link MemoryBudget}), before it
   * allocates anything: one clear message instead of the process growing until the system kills it.
   */
  private void checkMemory(long b, long h, long w) {
    long ph = Padding.padded(h, Padding.MULTIPLE), pw = Padding.padded(w, Padding.MULTIPLE);
    long need = MemoryBudget.estimate(config, b, ph, pw);
    if (need > maxMemory) {
      throw new IllegalArgumentException(String.format(java.util.Locale.ROOT,
          "a %dx%d pass (x%d) needs about %s, more than the memory limit of %s: let it be tiled (--tile 512, the "
              + "default) or raise the limit (--max-memory / -D%s)", w, h, b, MemoryBudget.gb(need),
          MemoryBudget.gb(maxMemory), MemoryBudget.PROPERTY));
    }
  }

  private static void progressed() {
    Runnable r = PROGRESS.get();
    if (r != null) r.run();
  }

  /** Runs inference while no oneDNN self-check can flip the process-wide setting (see {@link OneDnn}). */
  private static float[] locked(Supplier<float[]> inference) {
    Lock l = OneDnn.shared();
    l.lock();
    try {
      return inference.get();
    } finally {
      l.unlock();
    }
  }

  /**
   * Tiled inference: pass 1 records the attention matrices on a (downscaled) copy, pass 2 replays them per tile and
   * blends the tiles.
   */
  private float[] enhanceTiled(float[] chw, int h, int w) {
    int nt = ensemble ? ENSEMBLE_SIZE : 1;
    AttentionContext.Recording[] rec = tileContext ? new AttentionContext.Recording[nt] : null;
    try {
      if (rec != null) {
        recordContext(chw, h, w, rec);
        // The context pass is the largest transient of a tiled image (~1 GB at 768x512); the tiles need less, so
        // what it leaves mapped for reuse (Backends) would only raise the peak.
        Backends.releaseFreeMemory();
      }
      TilePlan[] plan = plans(h, w);
      TilePlan py = plan[0], px = plan[1];
      int n = h * w;
      float[] out = new float[3 * n];
      for (int ty = 0; ty < py.count(); ty++) {
        int y0 = py.start(ty), th = py.end(ty) - y0;
        float[] wy = py.weights(ty);
        for (int tx = 0; tx < px.count(); tx++) {
          int x0 = px.start(tx), tw = px.end(tx) - x0;
          float[] wx = px.weights(tx);
          checkMemory(1, th, tw);
          float[] tile = new float[3 * th * tw];
          for (int c = 0; c < 3; c++) {
            for (int y = 0; y < th; y++) {
              System.arraycopy(chw, c * n + (y0 + y) * w + x0, tile, (c * th + y) * tw, tw);
            }
          }
          float[] res;
          try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard();
              InferenceMode im = new InferenceMode()) {
            Tensor x = toDevice(Images.tensorOf(tile, 1, 3, th, tw));
            res = Images.floatsOf(runTransforms(x, rec));
          }
          tilesRun.increment();
          progressed();
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
          for (int x = 0; x < w; x++) out[o + x] /= sy[y] * sx[x];
        }
      }
      OutputGuard.check(chw, 0, out, 0, 3 * n);
      return out;
    } finally {
      if (rec != null) {
        for (AttentionContext.Recording r : rec) {
          if (r != null) r.close();
        }
      }
      // The tiles leave up to ~1 GiB of freed tensor memory mapped for reuse (Backends); the large image's output
      // and its encoding come next, so give it back (6000x4000 peak RSS: docs/inference.md).
      Backends.releaseFreeMemory();
    }
  }

  /**
   * The tile plans of a tiled image (rows, columns). Square tiles, except for an image thinner than a tile: its short
   * side is padded to 32 anyway, so its tiles grow along the long side to the same area (2×240,000: 30 tiles of
   * 32×8192 instead of 536 of 32×512).
   */
  private TilePlan[] plans(int h, int w) {
    int tileH = tiles.tileSize(), tileW = tiles.tileSize();
    long area = (long) tileH * tileW;
    if (h < tiles.tileSize()) tileW = longSideTile(area, h);
    else if (w < tiles.tileSize()) tileH = longSideTile(area, w);
    return new TilePlan[] {TilePlan.of(h, tileH, tiles.overlap(), Padding.MULTIPLE),
        TilePlan.of(w, tileW, tiles.overlap(), Padding.MULTIPLE)};
  }

  /**
   * The network passes {@link #enhance(Image)} makes for an image of this size (the context pass of a tiled image not
   * counted): its tiles, or 1 when it runs whole. For progress reporting.
   *
   * @param height image height
   * @param width image width
   * @return the number of passes
   */
  public int passes(int height, int width) {
    if (!tiles.tiles(height, width)) return 1;
    TilePlan[] p = plans(height, width);
    return p[0].count() * p[1].count();
  }

  /** Tile length along the long side of a thin image: the square tile's area over the padded short side. */
  private int longSideTile(long area, int shortSide) {
    long t = area / Padding.padded(shortSide, Padding.MULTIPLE) / Padding.MULTIPLE * Padding.MULTIPLE;
    return (int) Math.max(tiles.tileSize(), Math.min(1 << 20, t));
  }

  /** Pass 1: runs the (downscaled) image once per transform and records the attention matrices. */
  private void recordContext(float[] chw, int h, int w, AttentionContext.Recording[] rec) {
    int[] cs = AreaResize.fit(h, w, tiles.contextSize());
    checkMemory(1, cs[0], cs[1]);
    float[] small = cs[0] == h && cs[1] == w ? chw : AreaResize.resize(chw, 3, h, w, cs[0], cs[1]);
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard();
        InferenceMode im = new InferenceMode()) {
      Tensor cx = toDevice(Images.tensorOf(small, 1, 3, cs[0], cs[1]));
      for (int t = 0; t < rec.length; t++) {
        rec[t] = new AttentionContext.Recording();
        try (PointerScope s = new PointerScope(); AttentionContext.Scope r = AttentionContext.record(rec[t])) {
          runOnce(transform(cx, t));
        }
      }
    }
  }

  /**
   * Runs the network on {@code x} (device tensor, any size) with or without self-ensemble, replaying {@code rec[t]}
   * for transform t when given; returns the clamped result.
   */
  private Tensor runTransforms(Tensor x, AttentionContext.Recording[] rec) {
    int nt = ensemble ? ENSEMBLE_SIZE : 1;
    Tensor acc = null;
    for (int t = 0; t < nt; t++) {
      Tensor y;
      if (rec != null) {
        try (AttentionContext.Scope r = AttentionContext.replay(rec[t])) {
          y = runOnce(transform(x, t));
        }
      } else {
        y = runOnce(transform(x, t));
      }
      y = inverse(y, t);
      acc = acc == null ? y : acc.add(y);
    }
    if (nt > 1) acc = acc.div(new Scalar((double) nt));
    return acc.clamp(new org.bytedeco.pytorch.ScalarOptional(new Scalar(0.0)),
        new org.bytedeco.pytorch.ScalarOptional(new Scalar(1.0)));
  }

  /** Pad to 32, (HRNet +) network, crop. */
  private Tensor runOnce(Tensor x) {
    long h = x.size(2), w = x.size(3);
    Tensor xp = Padding.reflectPad(x, Padding.MULTIPLE).contiguous();
    Tensor y;
    long t0 = System.nanoTime();
    if (config.semEnabled()) {
      HRNet.Output o = hrnet.forwardRaw(xp);
      long t1 = System.nanoTime();
      hrnetNanos.add(t1 - t0);
      y = net.forward(xp, o.features().get(0), o.features().get(1), o.features().get(2));
      networkNanos.add(System.nanoTime() - t1);
    } else {
      y = net.forward(xp);
      networkNanos.add(System.nanoTime() - t0);
    }
    return Padding.crop(y, h, w);
  }

  /**
   * The Enhancer's own computation for the oneDNN self-check: prior (if any) and network on a fixed dark 96×128
   * input, unclamped (a clamp could hide differences in the saturated range).
   */
  private OneDnn.Probe selfCheckProbe() {
    return new OneDnn.Probe("model forward (" + config.describe() + ", 1x3x96x128)", () -> {
      try (NoGradGuard ng = new NoGradGuard(); InferenceMode im = new InferenceMode()) {
        Tensor x = OneDnn.fixedRandom(new long[] {1, 3, 96, 128}, 42).abs().mul(new Scalar(0.3));
        return runOnce(x).clone();
      }
    });
  }

  /** Self-ensemble transform t ∈ [0, 8): optional horizontal flip (t ≥ 4), then t mod 4 quarter turns. */
  static Tensor transform(Tensor x, int t) {
    Tensor y = (t & 4) != 0 ? x.flip(3) : x;
    int k = t & 3;
    return k == 0 ? y : rot90(y, k, 2, 3);
  }

  /** Inverse of {@link #transform}. */
  static Tensor inverse(Tensor y, int t) {
    int k = t & 3;
    Tensor z = k == 0 ? y : rot90(y, 4 - k, 2, 3);
    return (t & 4) != 0 ? z.flip(3) : z;
  }

  private Tensor toDevice(Tensor cpu) {
    return device == null ? cpu : cpu.to(device, torch.ScalarType.Float);
  }

  private static String shape(Tensor t) {
    if (t == null) return "null";
    StringBuilder sb = new StringBuilder("[");
    for (long i = 0; i < t.dim(); i++) sb.append(i == 0 ? "" : ", ").append(t.size(i));
    return sb.append(']').toString();
  }

  // ------------------------------------------------------------------------------------------------------------
  // Builder

  /** Configures and loads an {@link Enhancer}. Not thread-safe; {@link #build()} may be called repeatedly. */
  public static final class Builder {
    private String bundled;
    private Path checkpoint;
    private DeepSPGConfig arch;
    private DeepSPG module;
    private Path hrnetWeights;
    private HRNet hrnetModule;
    private String device = "cpu";
    private TileOptions tiles = TileOptions.DEFAULT;
    private boolean ensemble;
    private boolean tileContext = true;
    private OneDnn.Mode oneDnn = OneDnn.defaultMode();
    private int batchSize = 1;
    private ReadOptions readOptions = ReadOptions.DEFAULT;
    private long maxMemory = MemoryBudget.defaultLimit();

    private Builder() {}

    /**
     * The most native memory one forward pass may take (estimated from its shape before it runs,
     * {@link MemoryBudget}); a larger pass is refused with an {@link IllegalArgumentException}. Default: system
     * property {@value MemoryBudget#PROPERTY}, else 80 % of physical memory.
     *
     * @param bytes the limit (at least 64 MiB)
     * @return this
     */
    public Builder maxMemory(long bytes) {
      if (bytes < (64L << 20)) throw new IllegalArgumentException("memory limit below 64 MiB: " + bytes);
      this.maxMemory = bytes;
      return this;
    }

    /**
     * Uses a bundled model (the default is {@link ModelFiles#DEFAULT_NAME}; {@link ModelFiles#BUNDLED} lists them).
     *
     * @param name a bundled model's name, e.g. {@code s}
     * @return this
     */
    public Builder bundled(String name) {
      this.bundled = name;
      this.checkpoint = null;
      this.module = null;
      return this;
    }

    /**
     * Uses a trained model named the way {@code --model} names it: a bundled model's name, else a weights file path
     * (an existing file of that name wins over a bundled name, as in {@link ModelFiles#load}).
     *
     * @param nameOrPath a bundled name ({@link ModelFiles#BUNDLED}) or a weights file; null = the default model
     * @param architecture for a weights file without metadata, or null; must be null for a bundled model
     * @return this
     * @throws IllegalArgumentException when an architecture is given for a bundled model
     */
    public Builder model(String nameOrPath, DeepSPGConfig architecture) {
      String m = nameOrPath == null ? ModelFiles.DEFAULT_NAME : nameOrPath.trim();
      if (!java.nio.file.Files.exists(Path.of(m)) && ModelFiles.bundled(m).isPresent()) {
        if (architecture != null) {
          throw new IllegalArgumentException("an architecture applies to a weights file, not to bundled '" + m + "'");
        }
        return bundled(m.toLowerCase(java.util.Locale.ROOT));
      }
      return checkpoint(Path.of(m), architecture);
    }

    /**
     * Uses a weights file that carries its configuration ({@code deepspg.properties} entry).
     *
     * @param file the weights file
     * @return this
     */
    public Builder checkpoint(Path file) {
      return checkpoint(file, null);
    }

    /**
     * Uses a weights file with an explicit architecture (needed when the file has no metadata; checked against it
     * otherwise).
     *
     * @param file the weights file
     * @param architecture e.g. {@link DeepSPGConfig#s()}, or null to require the file's metadata
     * @return this
     */
    public Builder checkpoint(Path file, DeepSPGConfig architecture) {
      this.checkpoint = file;
      this.arch = architecture;
      this.bundled = null;
      this.module = null;
      return this;
    }

    /**
     * Uses an already loaded network (not closed by the Enhancer; must not be modified while in use).
     *
     * @param net the network
     * @return this
     */
    public Builder model(DeepSPG net) {
      this.module = net;
      this.bundled = null;
      this.checkpoint = null;
      return this;
    }

    /**
     * HRNet-W48 ADE20K weights for models with SEMs (ignored otherwise).
     *
     * @param weights {@code hrnet_ade20k_4312_torch04.pth}
     * @return this
     */
    public Builder hrnetWeights(Path weights) {
      this.hrnetWeights = weights;
      this.hrnetModule = null;
      return this;
    }

    /**
     * An already loaded HRNet whose branches 0–2 have 48/96/192 channels (not closed by the Enhancer).
     *
     * @param net the network (frozen / eval mode)
     * @return this
     */
    public Builder hrnet(HRNet net) {
      this.hrnetModule = net;
      this.hrnetWeights = null;
      return this;
    }

    /**
     * @param name {@code cpu}, {@code cuda} (fails at build time without a GPU and CUDA kernels) or {@code auto}
     * @return this
     */
    public Builder device(String name) {
      this.device = name;
      return this;
    }

    /**
     * @param options tiling options (default {@link TileOptions#DEFAULT})
     * @return this
     */
    public Builder tiling(TileOptions options) {
      if (options == null) throw new IllegalArgumentException("tile options are null");
      this.tiles = options;
      return this;
    }

    /**
     * @param on average the 8 flips/rotations (8× the compute)
     * @return this
     */
    public Builder ensemble(boolean on) {
      this.ensemble = on;
      return this;
    }

    /**
     * Switches the shared attention context of tiled inference off (each tile then computes its own attention
     * matrices: visible seams). Only for measuring what the context buys; default on.
     *
     * @param on whether tiles replay the attention matrices of the context pass
     * @return this
     */
    public Builder tileContext(boolean on) {
      this.tileContext = on;
      return this;
    }

    /**
     * Whether libtorch's oneDNN (mkldnn) CPU kernels may run, for the whole process (see {@link OneDnn}).
     *
     * <p>oneDNN runs the dense convolutions of the HRNet prior about 2× faster than libtorch's fallback, but on some
     * CPUs it computes wrong results (NaN forward passes of DeepSPG-S were seen on an AVX-512 AMD EPYC). Under
     * {@link OneDnn.Mode#AUTO} (the default) {@link #build()} runs a self-check on this machine: a small forward of
     * the loaded model (with its prior) on a fixed input and one convolution of each shape class the models use, with
     * oneDNN off and on; oneDNN is enabled only if the results agree to float32 tolerance (costs well under a second
     * the first time). {@link OneDnn.Mode#OFF} never enables it; {@link OneDnn.Mode#ON} enables it unchecked. The
     * setting is process-wide: do not build an Enhancer with AUTO or ON in a process that also trains. Ignored on
     * CUDA. Whatever the setting, the Enhancer refuses outputs that are non-finite or collapsed
     * ({@link BadOutputException}). The verdict: {@link Enhancer#oneDnn()}.
     *
     * @param mode OFF, AUTO (default; system property {@value OneDnn#MODE_PROPERTY} changes the default) or ON
     * @return this
     */
    public Builder oneDnn(OneDnn.Mode mode) {
      if (mode == null) throw new IllegalArgumentException("oneDNN mode is null");
      this.oneDnn = mode;
      return this;
    }

    /**
     * @param n images per forward pass for same-size images run whole (≥ 1, default 1)
     * @return this
     */
    public Builder batchSize(int n) {
      if (n < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + n);
      this.batchSize = n;
      return this;
    }

    /**
     * @param options pixel limit etc. for {@link Enhancer#enhance(Path)}
     * @return this
     */
    public Builder readOptions(ReadOptions options) {
      if (options == null) throw new IllegalArgumentException("read options are null");
      this.readOptions = options;
      return this;
    }

    /**
     * Loads the networks.
     *
     * @return the Enhancer
     * @throws IOException when the model cannot be loaded (a missing bundled model says so)
     * @throws MissingWeightsException when the model has SEMs and no usable HRNet weights were given
     * @throws IllegalArgumentException for a bad device name, or CUDA requested where it is unavailable
     */
    public Enhancer build() throws IOException {
      String dev = resolveDevice(device);
      // Modules must be built outside any PointerScope (a scope would release their Java handles); scopes are
      // thread-local, so load on a fresh thread where none is open.
      AtomicReference<Object> result = new AtomicReference<>();
      Thread t = new Thread(() -> {
        try {
          result.set(load(dev));
        } catch (Throwable e) {
          result.set(e);
        }
      }, "deepspg-enhancer-load");
      t.start();
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while loading the model", e);
      }
      Object r = result.get();
      if (r instanceof Enhancer e) return e;
      if (r instanceof IOException e) throw e;
      if (r instanceof RuntimeException e) throw e;
      if (r instanceof Error e) throw e;
      throw new IllegalStateException("loading failed", (Throwable) r);
    }

    private Enhancer load(String dev) throws IOException {
      NativeLibrary.ensureLoaded();
      DeepSPG net;
      DeepSPGConfig cfg;
      String source;
      InputNorm norm = InputNorm.IMAGENET;
      boolean ownsNet;
      if (module != null) {
        net = module;
        cfg = module.config();
        source = "module " + cfg.describe();
        ownsNet = false;
      } else {
        ModelFiles.Loaded l = checkpoint != null ? ModelFiles.loadFile(checkpoint, arch)
            : ModelFiles.loadBundled(bundled == null ? ModelFiles.DEFAULT_NAME : bundled);
        norm = l.hrnetInputNorm();
        net = l.net();
        cfg = l.config();
        source = l.source();
        ownsNet = true;
      }
      HRNet hr = null;
      boolean ownsHr = false;
      try {
        if (cfg.semEnabled()) {
          if (hrnetModule != null) {
            hr = hrnetModule;
            int[] ch = hr.config().featureChannels();
            for (int i = 0; i < 3; i++) {
              if (ch[i] != DeepSPG.HRNET_CHANNELS[i]) {
                throw new IllegalArgumentException("HRNet branch " + i + " has " + ch[i] + " channels; the SEMs need "
                    + DeepSPG.HRNET_CHANNELS[i]);
              }
            }
          } else if (hrnetWeights != null) {
            hr = HRNet.loadPretrained(hrnetWeights).inputNorm(norm); // as the model was trained
            ownsHr = true;
          } else {
            throw PriorWeights.HRNET_W48_ADE20K.missing(null, "the model " + cfg.describe() + " (" + source
                + ") has SEMs, which need HRNet-W48 features, but no HRNet weights were given (CLI: --hrnet PATH; "
                + "API: Enhancer.builder().hrnetWeights(path))", null);
          }
          // No eval() calls here: DeepSPG has no mode-dependent layers, and Module.eval() on a network whose
          // container sub-modules lost their Java peers to GC fails (see docs/inference.md, known issues).
          if (hr.is_training()) {
            throw new IllegalArgumentException("the HRNet module is in training mode; call freeze() first");
          }
        }
        Device d = null;
        if (dev.equals("cuda")) {
          d = new Device("cuda");
          net.to(d, false);
          if (hr != null) hr.to(d, false);
        }
        Enhancer e = new Enhancer(this, net, cfg, source, ownsNet, hr, ownsHr, d, dev);
        if (d == null) {
          e.oneDnnVerdict = OneDnn.apply(oneDnn, List.of(e.selfCheckProbe()));
          e.resetStats();
        }
        return e;
      } catch (IOException | RuntimeException e) {
        if (ownsNet) net.close();
        if (ownsHr) hr.close();
        throw e;
      }
    }

    private static String resolveDevice(String name) {
      String n = name == null ? "cpu" : name.trim().toLowerCase(java.util.Locale.ROOT);
      boolean gpu = NativeLibrary.cudaKernelsCompiled() && torch.cuda_is_available();
      return switch (n) {
        case "cpu" -> "cpu";
        case "auto" -> gpu ? "cuda" : "cpu";
        case "cuda", "gpu" -> {
          if (!gpu) {
            throw new IllegalArgumentException("device cuda requested but "
                + (torch.cuda_is_available() ? "the kernels were built without CUDA (build with -Pgpu)"
                    : "libtorch sees no CUDA device") + "; use --device cpu or auto");
          }
          yield "cuda";
        }
        default -> throw new IllegalArgumentException("unknown device '" + name + "'; use cpu, cuda or auto");
      };
    }
  }
}
