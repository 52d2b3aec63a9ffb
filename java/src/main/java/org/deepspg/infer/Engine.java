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
      return ImageTensors.floatsOf(pipeline.enhance(x, ensemble, replay));
    } finally {
      IdleRelease.PROCESS.exit();
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
      IdleRelease.PROCESS.exit();
    }
  }

  /**
   * Records the attention matrices of a (downscaled) image, one recording per transform (the context pass of a
   * tiled image): one upload.
   *
   * @param chw {@code [3, h, w]} row-major
   * @param into {@link #transforms()} new recordings
   */
  void record(float[] chw, int h, int w, AttentionContext.Recording[] into) {
    checkMemory(1, h, w, "the attention-context pass of a tiled image (its downscaled copy)",
        "use a smaller context (TileOptions.withContextSize, " + TileOptions.DEFAULT_CONTEXT + " by default)");
    IdleRelease.PROCESS.enter();
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard();
        InferenceMode im = new InferenceMode()) {
      pipeline.record(ImageTensors.tensorOf(chw, device, 1, 3, h, w), into);
    } finally {
      IdleRelease.PROCESS.exit();
    }
  }

  /**
   * Refuses a forward pass whose estimated working set exceeds the memory limit ({@link MemoryBudget}), before it
   * allocates anything: one clear message instead of the process growing until the system kills it.
   */
  void checkMemory(long b, long h, long w) {
    checkMemory(b, h, w, "a pass", "tile the image or use smaller tiles (CLI: --tile N; API: TileOptions.always(N), "
        + "or TileOptions.withMaxWholePixels to tile smaller images than the default 0.5 MP)");
  }

  /** {@link #checkMemory(long, long, long)} naming which pass and what makes it smaller. */
  void checkMemory(long b, long h, long w, String what, String smaller) {
    long ph = Padding.padded(h, Padding.MULTIPLE), pw = Padding.padded(w, Padding.MULTIPLE);
    long need = MemoryBudget.estimate(pipeline.config(), b, ph, pw);
    if (need > maxMemory) {
      throw new IllegalArgumentException(String.format(Locale.ROOT,
          "%s of %dx%d (x%d) needs about %s, more than the memory limit of %s: %s, or raise the limit "
              + "(CLI: --max-memory; API: Enhancer.Builder.maxMemory; -D%s)", what, w, h, b, MemoryBudget.gb(need),
          MemoryBudget.gb(maxMemory), smaller, MemoryBudget.PROPERTY));
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
