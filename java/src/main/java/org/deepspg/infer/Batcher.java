/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import static org.bytedeco.pytorch.global.torch.cat;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.deepspg.data.Image;
import org.deepspg.data.ImageTensors;
import org.deepspg.ops.Scopes;

/**
 * Batched inference: consecutive images of the same size that run whole go through the {@link Engine} together,
 * {@code batchSize} at a time, while the batch's padded size fits {@link TileOptions#tilesBatch}; other images run
 * one by one. A batch of host images is one upload and one download; a batch tensor on the device stays there.
 * Results equal one-by-one inference up to float noise. Immutable and thread-safe.
 */
final class Batcher {
  private final Engine engine;
  private final TileOptions tiles;
  private final int batchSize;

  /**
   * @param engine runs the passes
   * @param tiles decides which sizes run whole
   * @param batchSize images per pass (≥ 1)
   */
  Batcher(Engine engine, TileOptions tiles, int batchSize) {
    if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
    this.engine = engine;
    this.tiles = tiles;
    this.batchSize = batchSize;
  }

  /**
   * @param imgs the images
   * @param i index of the first image of a batch
   * @return the index after the last image of the batch that starts at {@code i} ({@code i + 1}: a single image)
   */
  int batchEnd(List<Image> imgs, int i) {
    Image first = imgs.get(i);
    int h = first.height(), w = first.width();
    int j = i + 1;
    if (tiles.tiles(h, w)) return j;
    int end = i + perPass(imgs.size() - i, h, w);
    while (j < end && imgs.get(j).height() == h && imgs.get(j).width() == w) j++;
    return j;
  }

  /**
   * Images of one size that run whole per pass: as many as {@code batchSize} allows while the padded batch fits
   * {@link TileOptions#tilesBatch} (for a list, {@link #batchEnd} also stops where the size changes), at least one.
   *
   * @param b images in all
   * @param h height
   * @param w width
   * @return images per pass
   */
  int perPass(int b, int h, int w) {
    int per = 1;
    while (per < Math.min(batchSize, b) && !tiles.tilesBatch(per + 1, h, w)) per++;
    return per;
  }

  /**
   * Enhances images in batches.
   *
   * @param imgs the images, checked ({@link Enhancer#check}); batched ones are filled ({@link HiddenPixels}) as their
   *     batch is made
   * @param single how a lone image is enhanced (whole or tiled; it fills the image itself)
   * @return the enhanced images in order, each with the alpha and metadata of its input
   */
  List<Image> enhance(List<Image> imgs, UnaryOperator<Image> single) {
    List<Image> out = new ArrayList<>(imgs.size());
    for (int i = 0, j; i < imgs.size(); i = j) {
      if (i > 0 && Thread.currentThread().isInterrupted()) { // a cancelled request stops between images
        throw new java.util.concurrent.CancellationException("interrupted after " + i + " of " + imgs.size()
            + " images");
      }
      j = batchEnd(imgs, i);
      if (j - i == 1) {
        out.add(single.apply(imgs.get(i)));
        continue;
      }
      int h = imgs.get(i).height(), w = imgs.get(i).width(), n = 3 * h * w, nb = j - i;
      float[] batch = new float[nb * n];
      for (int k = 0; k < nb; k++) System.arraycopy(HiddenPixels.filled(imgs.get(i + k)).rgb(), 0, batch, k * n, n);
      float[] res = Engine.locked(() -> engine.run(batch, nb, h, w, null));
      for (int k = 0; k < nb; k++) {
        OutputGuard.check(batch, k * n, res, k * n, n);
        float[] o = new float[n];
        System.arraycopy(res, k * n, o, 0, n);
        Image src = imgs.get(i + k);
        out.add(Enhancer.result(src, o));
      }
    }
    return out;
  }

  /**
   * Enhances a batch tensor: on the device in chunks of {@link #perPass} images (as {@link #batchEnd} groups a list)
   * when its images run whole; image by image through {@code tiler} (one download and one upload each) when they are
   * tiled.
   *
   * @param x {@code [B, 3, H, W]} float (checked by the caller), any device
   * @param tiler for images that are tiled
   * @return {@code [B, 3, H, W]} float32 on the device of {@code x}, a normal (non-inference) tensor in the caller's
   *     scope
   */
  Tensor enhance(Tensor x, Tiler tiler) {
    int b = (int) x.size(0), h = (int) x.size(2), w = (int) x.size(3);
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor xs = engine.device == null ? x.cpu().to(torch.ScalarType.Float)
          : x.to(engine.device, torch.ScalarType.Float);
      List<Tensor> parts = new ArrayList<>();
      if (tiles.tiles(h, w)) {
        for (int i = 0; i < b; i++) {
          float[] chw = ImageTensors.floatsOf(xs.select(0, i));
          float[] res = Engine.locked(() -> tiler.enhance(chw, h, w, null));
          parts.add(ImageTensors.tensorOf(res, engine.device, 1, 3, h, w));
        }
      } else {
        int per = perPass(b, h, w);
        for (int i = 0; i < b; i += per) {
          Tensor chunk = xs.narrow(0, i, Math.min(per, b - i));
          Tensor y = Engine.locked(() -> engine.run(chunk));
          OutputGuard.check(chunk, y);
          parts.add(y);
        }
      }
      // cat outside inference mode: the result is a normal tensor the caller may use anywhere.
      Tensor out = cat(new TensorVector(parts.toArray(new Tensor[0])), 0);
      return Scopes.escape(out.to(x.device(), torch.ScalarType.Float), outer);
    }
  }
}
