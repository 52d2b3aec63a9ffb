/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.deepspg.data.Image;
import org.deepspg.data.ImageReadException;
import org.deepspg.data.ImageTensors;
import org.deepspg.data.Images;
import org.deepspg.data.ReadOptions;
import org.deepspg.model.DeepSPGConfig;
import org.deepspg.model.prior.MissingWeightsException;
import org.deepspg.ops.AttentionContext;
import org.deepspg.ops.OneDnn;

/**
 * Enhances low-light images with a trained DeepSPG network: the one-call entry point for applications and the
 * {@code deepspg enhance} command. A facade over {@link Pipeline} (pad → prior → network → crop, spec §6), the
 * {@code Tiler} (images over {@link TileOptions#maxWholePixels()}, memory bounded by the tile size, attention kept
 * consistent across tiles by a context pass) and the {@code Batcher}; {@code EnhancerLoader} builds it.
 *
 * <pre>{@code
 * try (Enhancer e = Enhancer.builder().checkpoint(Path.of("deepspg-s.pth")).build()) {
 *   Image out = e.enhance(Path.of("dark.jpg"));
 *   Images.writeAtomic(out, Path.of("bright.jpg"));
 * }
 * }</pre>
 *
 * <p>An image goes to the device once and comes back once ({@link ImageTensors}); a tiled image does so per tile,
 * plus one upload of its downscaled context copy. Outputs are clamped to [0, 1] and refused when non-finite or
 * collapsed ({@link BadOutputException}); each pass is checked against the memory limit first ({@link MemoryBudget}).
 *
 * <p><b>Threading.</b> Immutable after {@link Builder#build()} and safe to use from many threads at once, with
 * results identical to sequential calls: the modules are shared read-only, every call runs under its own no-grad and
 * inference mode and holds the oneDNN read lock ({@link OneDnn#shared()}). Parallelism inside one call comes from
 * libtorch's intra-op thread pool (see {@code docs/inference.md}). {@link #close()} waits for running calls to
 * finish; calls that start after it are refused.
 */
public final class Enhancer implements AutoCloseable {
  /** Number of self-ensemble transforms (identity, 3 rotations, and the 4 mirrored versions). */
  public static final int ENSEMBLE_SIZE = Pipeline.ENSEMBLE_SIZE;

  private final EnhancerLoader.Loaded loaded;
  private final Engine engine;
  private final Tiler tiler;
  private final Batcher batcher;
  private final TileOptions tiles;
  private final ReadOptions readOptions;
  /** Set once by {@code EnhancerLoader} after the self-check, before the Enhancer is handed out. */
  volatile OneDnn.Verdict oneDnnVerdict = OneDnn.verdict();
  private final LongAdder images = new LongAdder();
  private volatile boolean closed;
  /** Held (read) by every enhance call, (write) by {@link #close()}, which frees the networks the calls use. */
  private final ReentrantReadWriteLock calls = new ReentrantReadWriteLock();

  Enhancer(Builder b, EnhancerLoader.Loaded loaded) {
    this.loaded = loaded;
    this.engine = new Engine(loaded.pipeline(), loaded.device(), b.ensemble, b.maxMemory);
    this.tiles = b.tiles.fittedTo(engine.pixelsPerPass());
    this.tiler = new Tiler(engine, tiles, b.tileContext);
    this.batcher = new Batcher(engine, tiles, b.batchSize);
    this.readOptions = b.readOptions;
  }

  /** @return a new builder (defaults: bundled model {@code s}, CPU, default tiling, no ensemble, batch 1) */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * @param img the low-light image (any size ≥ 1×1; alpha in [0, 1] is passed through unchanged, and the colour
   *     under fully transparent pixels does not change the result, which holds the enhanced fill of
   *     {@link HiddenPixels} there)
   * @return the enhanced image, same size, metadata (bit depth, grey flag, format) and alpha (a copy) as the input;
   *     for a grey input its three planes are equal, the luma of the enhanced colours (what writers store)
   */
  public Image enhance(Image img) {
    return enhance(img, null);
  }

  /**
   * Enhances one image, calling {@code onPass} after each network pass: once per tile of a tiled image, once for an
   * image that runs whole ({@link #passes} tells how many there will be).
   *
   * @param img the low-light image
   * @param onPass progress callback run on the calling thread, or null; it runs inside the call (holding the oneDNN
   *     read lock), so it must not build an Enhancer ({@link IllegalStateException})
   * @return the enhanced image, as {@link #enhance(Image)}
   * @throws IllegalArgumentException for samples far outside [0, 1] (below -0.5 or above 1.5), NaN or infinite
   *     samples (under a fully transparent pixel any colour goes), or alpha outside [0, 1]
   */
  public Image enhance(Image img, Runnable onPass) {
    checkOpen();
    Image in = input(img);
    Image out = call(() -> one(in, onPass));
    images.increment();
    return out;
  }

  /**
   * @param imgs the images; consecutive ones of the same size that run whole are batched
   *     ({@link Builder#batchSize(int)} at a time)
   * @return the enhanced images in the same order
   */
  public List<Image> enhance(List<Image> imgs) {
    checkOpen();
    imgs.forEach(Enhancer::check); // each image is filled when its turn comes, not all at once
    List<Image> out = call(() -> batcher.enhance(imgs, img -> one(HiddenPixels.filled(img), null)));
    images.add(out.size());
    return out;
  }

  /**
   * Starts a sequence of frames (video, a camera's stills) enhanced with one exposure: see {@link Sequence}. No cut
   * detection: the first frame's exposure holds until {@link Sequence#relock()}.
   *
   * @return a new sequence of this Enhancer (close it to release its attention matrices)
   */
  public Sequence sequence() {
    return sequence(SceneCuts.OFF);
  }

  /**
   * Starts a sequence of frames enhanced with one exposure per scene: see {@link Sequence}.
   *
   * @param cutThreshold the fraction of the frame that must change between two frames for a cut, after which the
   *     sequence locks anew ({@link SceneCuts}; in (0, 1], {@link SceneCuts#SUGGESTED_THRESHOLD} suggested), or
   *     {@link SceneCuts#OFF} to keep one lock for every frame
   * @return a new sequence of this Enhancer (close it to release its attention matrices)
   * @throws IllegalArgumentException for a threshold outside (0, 1] that is not {@link SceneCuts#OFF}
   */
  public Sequence sequence(double cutThreshold) {
    checkOpen();
    return new Sequence(SceneCuts.checkThreshold(cutThreshold));
  }

  /**
   * Frames of one sequence enhanced with the attention of its first frame (the first that comes out). The channel
   * attention is the network's only statistic of the whole image, and so its global exposure: a bright object entering
   * the view (headlights) changes it, and the rest of the frame comes out darker for as long as the object is there. A
   * sequence records the attention matrices of its first frame (after {@link #relock()}: of the next one) and every
   * later frame replays them ({@link AttentionContext}), as the tiles of a large image replay its context's: the
   * exposure stays locked, and a tiled frame needs no context pass of its own. Everything else stays per frame (the
   * illumination prior, every local layer), so a frame that really changes brightness still changes. The first frame's
   * result is the ordinary one (up to float rounding); a frame that runs whole runs twice for it (record, then replay).
   * A frame that fails (unreadable output, an interrupt) does not lock the sequence: the next one that succeeds does.
   *
   * <p>With cut detection ({@link Enhancer#sequence(double)}) a cut ends a scene: when a frame shows another view than
   * the one before it ({@link SceneCuts}: much of its light changed and its structure is another; not a bright object,
   * not motion, not the same view under another light), the sequence locks anew on it, as after {@link #relock()}.
   *
   * <p>Frames may change size (the matrices do not depend on it). {@link Builder#tileContext(boolean)
   * tileContext(false)} tiles record nothing: their frames are enhanced as without a sequence. Calls are serialised;
   * the Enhancer must stay open.
   */
  public final class Sequence implements AutoCloseable {
    private final AttentionLock lock = new AttentionLock();
    private final double cutThreshold;
    private float[] previous; // the last frame's signature (SceneCuts), null before the first or with cuts off
    private volatile double lastScore = Double.NaN;
    private volatile int cuts;
    private Image pending; // a skipped frame the next enhanced one locks to (a resumed run), or null
    private boolean closed;
    private boolean running;

    private Sequence(double cutThreshold) {
      this.cutThreshold = cutThreshold;
    }

    /**
     * The network passes a frame of this size makes once the sequence is locked (every frame after the one that
     * locks it): its tiles, without refinement passes, or 1 when it runs whole. The frame that locks the sequence
     * makes {@link Enhancer#passes}. For progress reporting.
     *
     * @param height frame height
     * @param width frame width
     * @return the number of passes
     */
    public int passes(int height, int width) {
      return tiles.tiles(height, width) ? tiler.tileCount(height, width) : 1;
    }

    /**
     * @param frame the next frame
     * @return the enhanced frame, as {@link Enhancer#enhance(Image)}
     */
    public Image enhance(Image frame) {
      return enhance(frame, null);
    }

    /**
     * @param frame the next frame
     * @param onPass as for {@link Enhancer#enhance(Image, Runnable)}
     * @return the enhanced frame
     * @throws IllegalStateException when this sequence or its Enhancer is closed
     */
    public synchronized Image enhance(Image frame, Runnable onPass) {
      if (closed) throw new IllegalStateException("the sequence is closed");
      checkOpen();
      Image in = input(frame);
      next(in);
      running = true;
      try {
        if (pending != null) { // the frame a resumed run locked to; kept when recording it fails, as a frame is
          Image ref = pending;
          call(() -> Engine.locked(() -> lockOn(ref)));
          pending = null;
        }
        Image out = call(() -> locked(in, onPass));
        images.increment();
        return out;
      } finally {
        running = false;
      }
    }

    /**
     * A frame of the sequence that is not enhanced now, because an earlier run did (resuming it): it counts for cut
     * detection as an enhanced frame does, and when the sequence is not locked it becomes the frame the next enhanced
     * one is locked to (recorded then, not now; its samples are copied), as in the run that enhanced it, unless it
     * records nothing (a tiled frame under {@link Builder#tileContext(boolean) tileContext(false)}).
     *
     * @param frame the frame
     * @throws IllegalStateException when this sequence or its Enhancer is closed, or from a frame's callback
     * @throws IllegalArgumentException for samples far outside [0, 1]
     */
    public synchronized void skip(Image frame) {
      Image in = checkBetweenFrames("skip()", frame);
      next(in);
      boolean records = !tiles.tiles(in.height(), in.width()) || tiler.context();
      if (lock.recordings() == null && pending == null && records) {
        pending = Image.of(in.width(), in.height(), in.rgb().clone());
      }
    }

    /**
     * @return the number of cuts seen so far (each locked the sequence anew; does not wait for a frame in progress)
     */
    public int cuts() {
      return cuts;
    }

    /**
     * @return the last frame's {@linkplain SceneCuts#score score} against the frame before it (enhanced or skipped),
     *     NaN for the first frame or with cut detection off (does not wait for a frame in progress)
     */
    public double lastScore() {
      return lastScore;
    }

    /**
     * The checks of a call that takes a frame between frames: open, not from a frame's callback, samples in range.
     *
     * @return the frame as the network takes it ({@link #input})
     */
    private Image checkBetweenFrames(String call, Image frame) {
      if (closed) throw new IllegalStateException("the sequence is closed");
      if (running) throw new IllegalStateException(call + " inside a frame's call: call it between frames");
      checkOpen();
      return input(frame);
    }

    /** Cut detection for the next frame, enhanced or skipped: a cut relocks. */
    private void next(Image frame) {
      if (cutThreshold == SceneCuts.OFF) return;
      float[] sig = SceneCuts.signature(frame);
      boolean cut = previous != null && SceneCuts.isCut(previous, sig, cutThreshold);
      lastScore = previous == null ? Double.NaN : SceneCuts.score(previous, sig);
      previous = sig;
      if (cut) {
        cuts++;
        lock.close();
        pending = null;
      }
    }

    /**
     * Locks the sequence to a reference frame's attention without enhancing it (a frame without the headlights, or
     * the one the interrupted run of a resumed batch locked to): its context pass (and refinement passes) for a
     * tiled frame, one recording pass for a frame that runs whole. Replaces any lock.
     *
     * @param reference the frame whose exposure the next frames keep
     * @throws IllegalStateException when this sequence or its Enhancer is closed, or from a frame's callback
     * @throws IllegalArgumentException for samples far outside [0, 1]
     */
    public synchronized void lockTo(Image reference) {
      Image in = checkBetweenFrames("lockTo()", reference);
      lock.close();
      pending = null;
      call(() -> Engine.locked(() -> lockOn(in)));
    }

    /** Records a reference frame's attention into the (empty) lock; the caller holds the oneDNN read lock. */
    private Void lockOn(Image reference) {
      int h = reference.height(), w = reference.width();
      if (tiles.tiles(h, w)) {
        tiler.lockTo(reference.rgb(), h, w, lock);
      } else {
        lock.set(recordWhole(reference));
      }
      return null;
    }

    /**
     * Forgets the locked attention: the next frame records it anew (a cut, a new scene).
     *
     * @throws IllegalStateException when called from a frame's progress callback (between frames only)
     */
    public synchronized void relock() {
      if (running) throw new IllegalStateException("relock() inside a frame's call: call it between frames");
      lock.close();
      pending = null;
    }

    /**
     * @return whether the next frame is enhanced with a locked attention: a frame's, or a {@linkplain #skip skipped}
     *     frame's that it records first (false before the first frame and after {@link #relock()}; a cut is seen
     *     when its frame comes, so a cut frame is enhanced unlocked although this said true)
     */
    public synchronized boolean isLocked() {
      return lock.recordings() != null || pending != null;
    }

    /**
     * Releases the locked attention; the sequence cannot be used afterwards.
     *
     * @throws IllegalStateException when called from a frame's progress callback
     */
    @Override
    public synchronized void close() {
      if (running) throw new IllegalStateException("close() inside a frame's call: call it between frames");
      lock.close();
      pending = null;
      closed = true;
    }

    private Image locked(Image img, Runnable onPass) {
      int h = img.height(), w = img.width();
      float[] out = Engine.locked(() -> {
        if (tiles.tiles(h, w)) return tiler.enhance(img.rgb(), h, w, onPass, lock);
        AttentionContext.Recording[] fresh = null; // this frame's, until it has come out whole and locks
        try {
          if (lock.recordings() == null) fresh = recordWhole(img);
          float[] r = engine.run(img.rgb(), 1, h, w, fresh != null ? fresh : lock.recordings());
          OutputGuard.check(img.rgb(), 0, r, 0, r.length);
          if (onPass != null) onPass.run();
          if (fresh != null) {
            lock.set(fresh);
            fresh = null;
          }
          return r;
        } finally {
          AttentionContext.Recording.closeAll(fresh);
        }
      });
      return result(img, out);
    }

    /** The attention of a frame that runs whole: one recording pass (the caller holds the oneDNN read lock). */
    private AttentionContext.Recording[] recordWhole(Image img) {
      engine.checkMemory(1, img.height(), img.width()); // the ordinary message for a frame too large
      return engine.record(img.rgb(), img.height(), img.width(), null);
    }
  }

  private Image one(Image img, Runnable onPass) {
    int h = img.height(), w = img.width();
    float[] out = Engine.locked(() -> {
      if (tiles.tiles(h, w)) return tiler.enhance(img.rgb(), h, w, onPass);
      float[] r = engine.run(img.rgb(), 1, h, w, null);
      OutputGuard.check(img.rgb(), 0, r, 0, r.length);
      if (onPass != null) onPass.run();
      return r;
    });
    return result(img, out);
  }

  /**
   * @param file an image file (EXIF orientation applied, pixel limit of {@link Builder#readOptions(ReadOptions)})
   * @return the enhanced image (metadata of the file: write it back with {@link Images#writeAtomic})
   * @throws ImageReadException when the file cannot be read as an image
   */
  public Image enhance(Path file) throws ImageReadException {
    return enhance(Images.read(file, readOptions));
  }

  /**
   * @param bi an AWT image (any type; alpha is kept)
   * @return a new sRGB image of the same size and kind, as files are written back: grey for a grey input
   *     ({@code TYPE_BYTE_GRAY}, or {@code TYPE_USHORT_GRAY} for 16 bits; the luma of the enhanced colours), 16 bits
   *     per sample for a 16-bit input, else {@code TYPE_3BYTE_BGR} ({@code TYPE_4BYTE_ABGR} with alpha). Until
   *     session 35 every result was 8-bit colour: a black-and-white photo came back tinted.
   */
  public BufferedImage enhance(BufferedImage bi) {
    Image img;
    try {
      img = Images.fromBufferedImage(bi, "memory", null);
    } catch (ImageReadException e) {
      throw new IllegalArgumentException("unsupported BufferedImage: " + e.reason(), e);
    }
    Image out = enhance(img);
    return Images.toBufferedImage(out, out.metadata().bitDepth(), out.metadata().gray(), out.hasAlpha());
  }

  /**
   * Enhances a batch tensor; on the Enhancer's device it stays there (no host copies unless the images are tiled).
   *
   * @param x {@code [B, 3, H, W]} float RGB in [0, 1], any device (not modified)
   * @return {@code [B, 3, H, W]} float32 in [0, 1] on the device of {@code x}, a normal (non-inference) tensor
   *     attached to the caller's innermost PointerScope if one is open
   * @throws IllegalArgumentException for another shape or dtype, or values far outside [0, 1] (below -0.5 or above
   *     1.5: 8-bit samples or a normalised tensor)
   */
  public Tensor enhance(Tensor x) {
    checkOpen();
    if (x == null || x.dim() != 4 || x.size(1) != 3 || x.size(0) < 1 || x.size(2) < 1 || x.size(3) < 1) {
      throw new IllegalArgumentException("expected [B, 3, H, W] with B, H, W >= 1, got " + ImageTensors.shape(x));
    }
    if (!x.is_floating_point()) {
      throw new IllegalArgumentException("expected a floating-point tensor in [0, 1], got " + x.scalar_type());
    }
    if (x.numel() > Integer.MAX_VALUE) throw new IllegalArgumentException("tensor too large: " + ImageTensors.shape(x));
    try (PointerScope s = new PointerScope()) {
      requireUnitRange(x.min().item_double(), x.max().item_double(), "the tensor");
    }
    Tensor out = call(() -> batcher.enhance(x, tiler));
    images.add(x.size(0));
    return out;
  }

  /**
   * Inputs are images in [0, 1]; values far outside (8-bit samples, a mean/std-normalised tensor) are the caller's
   * mistake, which used to come back as a white or black image with no error. Slight overshoots (a resampling filter's
   * ringing) pass unchanged, as before.
   */
  private static final double RANGE_SLACK = 0.5;

  /**
   * An image as the network takes it, what every {@code enhance} overload does first: checked (alpha in [0, 1], the
   * visible samples finite and near [0, 1]), then its fully transparent pixels filled from the visible ones
   * ({@link HiddenPixels}). For callers that run the network themselves and must see what {@code enhance} sees
   * ({@code deepspg eval}, training's validation).
   *
   * @param img the low-light image
   * @return {@code img} itself when it has no fully transparent pixel, else a filled copy (alpha shared)
   * @throws IllegalArgumentException as {@link #enhance(Image, Runnable)}
   */
  public static Image input(Image img) {
    check(img);
    return HiddenPixels.filled(img);
  }

  /**
   * Checks what the network will see of an image: alpha in [0, 1], and the visible samples (those under alpha 0 are
   * replaced, so any value goes there) finite and near [0, 1].
   */
  static void check(Image img) {
    float[] a = img.alpha(), v = img.rgb();
    int w = img.width(), n = w * img.height();
    if (a != null) {
      for (int i = 0; i < n; i++) {
        if (!(a[i] >= 0 && a[i] <= 1)) {
          throw new IllegalArgumentException(String.format(Locale.ROOT, "alpha must hold values in [0, 1], got %s at"
              + " x %d, y %d", a[i], i % w, i / w));
        }
      }
    }
    float min = Float.POSITIVE_INFINITY, max = Float.NEGATIVE_INFINITY;
    for (int c = 0; c < 3; c++) {
      for (int p = 0; p < n; p++) {
        if (a != null && !(a[p] > 0)) continue;
        float f = v[c * n + p];
        if (!Float.isFinite(f)) {
          throw new IllegalArgumentException(String.format(Locale.ROOT, "the image holds %s sample at x %d, y %d"
              + " (channel %d)", Float.isNaN(f) ? "a NaN" : "an infinite", p % w, p / w, c));
        }
        min = Math.min(min, f);
        max = Math.max(max, f);
      }
    }
    if (min <= max) requireUnitRange(min, max, "the image"); // else nothing is visible
  }

  /**
   * The image an enhanced one comes back as: its source's size, metadata and alpha (copied: the caller may reuse its
   * buffers), and for a grey source three equal planes, the BT.601 luma of the enhanced colours, as writers store it.
   */
  static Image result(Image src, float[] rgb) {
    if (src.metadata().gray()) {
      int n = src.width() * src.height();
      for (int i = 0; i < n; i++) rgb[i] = rgb[n + i] = rgb[2 * n + i] = Images.luma(rgb, n, i);
    }
    float[] a = src.alpha();
    return new Image(src.width(), src.height(), rgb, a == null ? null : a.clone(), src.metadata());
  }

  private static void requireUnitRange(double min, double max, String what) {
    if (Double.isNaN(min) || Double.isNaN(max)) throw new IllegalArgumentException(what + " holds NaN samples");
    if (min < -RANGE_SLACK || max > 1 + RANGE_SLACK) {
      throw new IllegalArgumentException(String.format(Locale.ROOT, "%s must hold values in [0, 1], got values "
          + "from %g to %g%s", what, min, max, max > 2 ? " (8-bit samples? divide them by 255)" : ""));
    }
  }

  /**
   * The network passes {@link #enhance(Image)} makes for an image of this size (the context pass of a tiled image not
   * counted): its tiles (once more per refinement pass, {@link TileOptions#refinePasses()}), or 1 when it runs
   * whole. For progress reporting.
   *
   * @param height image height
   * @param width image width
   * @return the number of passes
   */
  public int passes(int height, int width) {
    return tiles.tiles(height, width) ? tiler.tilePasses(height, width) : 1;
  }

  /**
   * Cumulative timings since construction or {@link #resetStats()}.
   *
   * @param images images enhanced
   * @param tiles tile passes run by the tiled path, a refinement pass's included (0 when every image ran whole)
   * @param hrnetNanos time in image-prior forward passes (HRNet or ESPNetv2; 0 for models without SEMs)
   * @param networkNanos time in the enhancement network (including the context pass of tiled images)
   */
  public record Stats(long images, long tiles, long hrnetNanos, long networkNanos) {}

  /** @return the timings so far (summed over threads) */
  public Stats stats() {
    Pipeline p = loaded.pipeline();
    return new Stats(images.sum(), tiler.tilesRun(), p.priorNanos(), p.networkNanos());
  }

  /** Zeroes the timings. */
  public void resetStats() {
    images.reset();
    tiler.resetCount();
    loaded.pipeline().resetTimings();
  }

  /** @return the network's configuration */
  public DeepSPGConfig config() {
    return loaded.pipeline().config();
  }

  /** @return where the weights came from ("bundled s (...)", a file path, "module") */
  public String modelSource() {
    return loaded.source();
  }

  /** @return "cpu" or "cuda" */
  public String device() {
    return loaded.deviceName();
  }

  /** @return the tiling options in use: the builder's, fitted to the memory limit ({@link TileOptions#fittedTo}) */
  public TileOptions tileOptions() {
    return tiles;
  }

  /** @return the oneDNN decision in force when this Enhancer was built (self-check verdict under AUTO) */
  public OneDnn.Verdict oneDnn() {
    return oneDnnVerdict;
  }

  /** @return whether self-ensemble is on */
  public boolean ensemble() {
    return engine.ensemble;
  }

  /** @return whether an image prior (HRNet or ESPNetv2) runs: the model has SEMs */
  public boolean usesHrnet() {
    return config().semEnabled();
  }

  /**
   * Releases the networks this Enhancer loaded itself (not modules passed to the builder), freeing their memory at
   * once; waits for calls running on other threads to finish first. Calls made afterwards throw
   * {@link IllegalStateException}. Idempotent.
   *
   * @throws IllegalStateException when called from inside a call of this Enhancer (an {@code onPass} callback)
   */
  @Override
  public void close() {
    if (calls.getReadHoldCount() > 0) {
      throw new IllegalStateException("Enhancer.close() called from inside one of its own calls (onPass)");
    }
    calls.writeLock().lock();
    try {
      if (closed) return;
      closed = true;
      if (loaded.ownsNet()) loaded.net().close();
      if (loaded.ownsPrior()) loaded.prior().close();
    } finally {
      calls.writeLock().unlock();
    }
  }

  private void checkOpen() {
    if (closed) throw new IllegalStateException("Enhancer is closed");
  }

  /** Runs a call that uses the networks, which {@link #close()} then waits for. */
  private <T> T call(Supplier<T> body) {
    calls.readLock().lock();
    try {
      checkOpen();
      return body.get();
    } finally {
      calls.readLock().unlock();
    }
  }

  /** {@link Pipeline#transform}, under the name EnhancerTest has used since the ensemble was added here. */
  static Tensor transform(Tensor x, int t) {
    return Pipeline.transform(x, t);
  }

  /** {@link Pipeline#inverse}, likewise. */
  static Tensor inverse(Tensor y, int t) {
    return Pipeline.inverse(y, t);
  }

  /**
   * Configures and loads an {@link Enhancer}; its settings and their defaults are the inherited setters (model,
   * device, tiling, ensemble, batch size, oneDNN mode, memory limit, read options). Not thread-safe; {@link #build()}
   * may be called repeatedly.
   */
  public static final class Builder extends EnhancerOptions {
    private Builder() {}

    /**
     * Loads the networks.
     *
     * @return the Enhancer
     * @throws IOException when the model cannot be loaded (a missing bundled model says so)
     * @throws MissingWeightsException when the model has SEMs and no usable HRNet weights were given
     * @throws IllegalArgumentException for a bad device name, or CUDA requested where it is unavailable
     */
    public Enhancer build() throws IOException {
      return EnhancerLoader.load(this);
    }
  }
}
