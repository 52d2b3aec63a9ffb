/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.data;

import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.bytedeco.pytorch.Tensor;

/**
 * Turns a {@link PairedDataset} into shuffled, augmented mini-batches {@code [B, 3, S, S]} of (low, high).
 *
 * <p><b>Epochs.</b> Epoch {@code e} visits every pair once in an order that is a seeded shuffle
 * ({@code SplittableRandom(mix(seed, e))}, Fisher–Yates) and takes one random crop per pair (spec §4.5). The crop of
 * pair {@code i} in epoch {@code e} comes from its own generator {@code mix(seed, e, i)}, so the batches are the
 * same whatever the thread count or prefetch depth.
 *
 * <p><b>Patch size.</b> Each batch uses {@code S = min over its pairs of }{@link PairAugment#effectivePatch}: the
 * requested patch unless one of the images is smaller, then the largest multiple of 32 that fits all of them
 * (spec §4.6). The coarse-to-fine schedule passes a different patch and batch size per epoch.
 *
 * <p><b>Threading.</b> With {@code workers = 0} batches are decoded and augmented on the caller's thread when
 * {@code next()} is called. With {@code workers >= 1} a private pool of daemon threads decodes and augments up to
 * {@code prefetch} batches ahead into plain Java arrays; the libtorch tensors are created only in {@code next()},
 * on the caller's thread, so they attach to the caller's {@code PointerScope} (STYLE B6: scopes are thread-local).
 * One iterator must be consumed by one thread. {@link #close()} stops the pool.
 */
public final class PairLoader implements AutoCloseable {
  /**
   * A batch as Java arrays.
   *
   * @param low {@code [B, 3, S, S]} low-light patches, row-major
   * @param high {@code [B, 3, S, S]} normal-light patches
   * @param batch B
   * @param size S
   * @param indices the dataset index of each item
   */
  public record BatchData(float[] low, float[] high, int batch, int size, int[] indices) {
    /**
     * @return both as new CPU float tensors {@code [B, 3, S, S]} ({@code [0]} low, {@code [1]} high), attached to
     *     the caller's innermost {@code PointerScope} if one is open
     */
    public Tensor[] toTensors() {
      return new Tensor[] {ImageTensors.tensorOf(low, batch, 3, size, size),
          ImageTensors.tensorOf(high, batch, 3, size, size)};
    }
  }

  /**
   * A batch as tensors.
   *
   * @param low {@code [B, 3, S, S]} float32 CPU
   * @param high {@code [B, 3, S, S]} float32 CPU
   * @param indices the dataset index of each item
   */
  public record Batch(Tensor low, Tensor high, int[] indices) implements AutoCloseable {
    /** Releases both tensors (needed only when no {@code PointerScope} owns them). */
    @Override
    public void close() {
      low.close();
      high.close();
    }
  }

  private final PairedDataset dataset;
  private final PairAugment augment;
  private final long seed;
  private final int prefetch;
  private final ExecutorService pool;

  /**
   * A loader that works on the caller's thread.
   *
   * @param dataset the pairs
   * @param augment the augmentation
   * @param seed the shuffle and crop seed
   */
  public PairLoader(PairedDataset dataset, PairAugment augment, long seed) {
    this(dataset, augment, seed, 0, 0);
  }

  /**
   * @param dataset the pairs
   * @param augment the augmentation
   * @param seed the shuffle and crop seed
   * @param workers background threads (0 = synchronous)
   * @param prefetch batches prepared ahead when {@code workers > 0} (at least 1 then)
   */
  public PairLoader(PairedDataset dataset, PairAugment augment, long seed, int workers, int prefetch) {
    if (workers < 0) throw new IllegalArgumentException("workers must be >= 0, got " + workers);
    if (workers > 0 && prefetch < 1) throw new IllegalArgumentException("prefetch must be >= 1 with workers, got " + prefetch);
    this.dataset = dataset;
    this.augment = augment;
    this.seed = seed;
    this.prefetch = workers > 0 ? prefetch : 0;
    this.pool = workers > 0 ? Executors.newFixedThreadPool(workers, r -> {
      Thread t = new Thread(r, "deepspg-loader");
      t.setDaemon(true);
      return t;
    }) : null;
  }

  /**
   * @param batch batch size B
   * @param dropLast whether a last incomplete batch is dropped
   * @return batches in one epoch
   */
  public int batchesPerEpoch(int batch, boolean dropLast) {
    int n = dataset.size();
    return dropLast ? n / batch : (n + batch - 1) / batch;
  }

  /**
   * The visiting order of an epoch.
   *
   * @param epoch epoch number (any int; 0 or 1 based as the caller likes)
   * @return a permutation of {@code 0 .. size-1}
   */
  public int[] order(int epoch) {
    int n = dataset.size();
    int[] p = new int[n];
    for (int i = 0; i < n; i++) p[i] = i;
    SplittableRandom r = new SplittableRandom(Synthesizer.mix(seed ^ Synthesizer.mix(epoch)));
    for (int i = n - 1; i > 0; i--) {
      int j = r.nextInt(i + 1);
      int t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  /**
   * The batches of one epoch as tensors.
   *
   * @param epoch epoch number
   * @param patch requested patch side (multiple of 32)
   * @param batch batch size B
   * @param dropLast drop a last incomplete batch
   * @return an iterator over the batches; {@code next()} throws {@link UncheckedIOException} when an image cannot
   *     be read
   */
  public Iterator<Batch> epoch(int epoch, int patch, int batch, boolean dropLast) {
    Iterator<BatchData> it = epochArrays(epoch, patch, batch, dropLast);
    return new Iterator<>() {
      @Override
      public boolean hasNext() {
        return it.hasNext();
      }

      @Override
      public Batch next() {
        BatchData d = it.next();
        Tensor[] t = d.toTensors();
        return new Batch(t[0], t[1], d.indices());
      }
    };
  }

  /**
   * The batches of one epoch as Java arrays (no libtorch involved).
   *
   * @param epoch epoch number
   * @param patch requested patch side (multiple of 32)
   * @param batch batch size B
   * @param dropLast drop a last incomplete batch
   * @return an iterator over the batches
   */
  public Iterator<BatchData> epochArrays(int epoch, int patch, int batch, boolean dropLast) {
    return epochArrays(epoch, patch, batch, dropLast, 0, 1);
  }

  /**
   * One worker's share of the batches of an epoch (data-parallel training): batch {@code b} of the epoch is the same
   * global batch of {@code batch} pairs for every worker, and worker {@code shard} of {@code shards} gets the
   * contiguous slice {@code [shard·n/shards, (shard+1)·n/shards)} of its {@code n} pairs, cropped exactly as the
   * whole batch would be (the crop side is the one of the global batch: the images of the other slices are probed,
   * not decoded). Concatenating the slices of all workers gives {@link #epochArrays(int, int, int, boolean)}'s batch.
   *
   * @param epoch epoch number
   * @param patch requested patch side (multiple of 32)
   * @param batch global batch size B
   * @param dropLast drop a last incomplete batch
   * @param shard this worker's index, 0 .. shards-1
   * @param shards number of workers (B must be a multiple of it when dropLast)
   * @return an iterator over this worker's slices
   */
  public Iterator<BatchData> epochArrays(int epoch, int patch, int batch, boolean dropLast, int shard, int shards) {
    if (batch < 1) throw new IllegalArgumentException("batch must be >= 1, got " + batch);
    if (shards < 1 || shard < 0 || shard >= shards) {
      throw new IllegalArgumentException("shard " + shard + " of " + shards + " does not exist");
    }
    if (batch % shards != 0) {
      throw new IllegalArgumentException("batch " + batch + " cannot be split evenly over " + shards + " workers");
    }
    PairAugment.effectivePatch(patch, patch, patch); // validates the patch
    int[] order = order(epoch);
    int count = batchesPerEpoch(batch, dropLast);
    return new Iterator<>() {
      private int next;
      private final Deque<Future<BatchData>> ahead = new ArrayDeque<>();
      private int submitted;

      private void fill() {
        while (pool != null && submitted < count && ahead.size() < prefetch) {
          int b = submitted++;
          ahead.add(pool.submit(() -> make(epoch, order, b, batch, patch, shard, shards)));
        }
      }

      @Override
      public boolean hasNext() {
        return next < count;
      }

      @Override
      public BatchData next() {
        if (next >= count) throw new NoSuchElementException();
        int b = next++;
        if (pool == null) return make(epoch, order, b, batch, patch, shard, shards);
        fill();
        Future<BatchData> f = ahead.poll();
        try {
          BatchData d = f.get();
          fill();
          return d;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while waiting for a batch", e);
        } catch (ExecutionException e) {
          Throwable c = e.getCause();
          if (c instanceof RuntimeException r) throw r;
          throw new IllegalStateException("loading batch " + b + " failed", c);
        }
      }
    };
  }

  private BatchData make(int epoch, int[] order, int b, int batch, int patch, int shard, int shards) {
    int start = b * batch, end = Math.min(order.length, start + batch), all = end - start;
    int from = start + shard * all / shards, to = start + (shard + 1) * all / shards, n = to - from;
    PairedDataset.Loaded[] items = new PairedDataset.Loaded[n];
    int s = Integer.MAX_VALUE;
    try {
      for (int i = 0; i < n; i++) {
        items[i] = dataset.load(order[from + i]);
        s = Math.min(s, patchOf(patch, items[i].pair(), items[i].low().width(), items[i].low().height()));
      }
      for (int j = start; j < end; j++) { // the other workers' pairs bound the crop side too
        if (j >= from && j < to) continue;
        PairedDataset.Pair pair = dataset.pair(order[j]);
        int[] wh = Images.probe(pair.low(), dataset.options().read());
        s = Math.min(s, patchOf(patch, pair, wh[0], wh[1]));
      }
    } catch (ImageReadException e) {
      throw new UncheckedIOException(e);
    }
    int per = 3 * s * s;
    float[] lo = new float[n * per], hi = new float[n * per];
    int[] idx = new int[n];
    for (int i = 0; i < n; i++) {
      idx[i] = order[from + i];
      Image l = items[i].low(), h = items[i].high();
      SplittableRandom r = new SplittableRandom(Synthesizer.mix(seed ^ Synthesizer.mix(epoch ^ Synthesizer.mix(idx[i]))));
      PairAugment.Transform t = augment.draw(s, l.width(), l.height(), r);
      PairAugment.apply(l.rgb(), 3, l.width(), l.height(), t, lo, i * per);
      PairAugment.apply(h.rgb(), 3, h.width(), h.height(), t, hi, i * per);
    }
    return new BatchData(lo, hi, n, s, idx);
  }

  /** {@link PairAugment#effectivePatch}, naming the pair and its files when the images are too small to crop. */
  private static int patchOf(int patch, PairedDataset.Pair pair, int width, int height) {
    try {
      return PairAugment.effectivePatch(patch, width, height);
    } catch (IllegalArgumentException e) {
      if (Math.min(width, height) >= PairAugment.MULTIPLE) throw e; // the patch itself is wrong, not the pair
      throw new DatasetException("pair " + pair.name() + " (" + pair.low() + ", " + pair.high() + "): "
          + e.getMessage() + "; remove the pair or enlarge its images");
    }
  }

  /** @return the dataset */
  public PairedDataset dataset() {
    return dataset;
  }

  /** Stops the background threads (if any). */
  @Override
  public void close() {
    if (pool != null) pool.shutdownNow();
  }
}
