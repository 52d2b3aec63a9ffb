/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

/**
 * When and how {@link Enhancer} tiles large images (see {@code docs/inference.md}).
 *
 * @param tileSize side of the square tile in pixels (multiple of 32, ≥ 64 and ≥ overlap + 32): a tile holds at most
 *     its square's pixels, in the shape that covers the image with the least work (sides from half to twice this;
 *     thin images longer along their long side)
 * @param overlap minimum overlap between neighbouring tiles in pixels (blended with raised-cosine weights)
 * @param contextSize side of the square whose pixels the downscaled copy may hold (both padded to multiples of
 *     32), the copy whose attention matrices every tile replays ({@link AreaResize#fitPixels}; a panorama keeps as
 *     many pixels as a square photo); an image that fits (any whose long side is at most this does) uses itself (no
 *     downscaling), which makes tiling match whole-image inference up to the tiles' border effects
 * @param maxWholePixels images with more pixels (H·W) than this are tiled; smaller ones run whole. 0 tiles
 *     everything, {@link Long#MAX_VALUE} never tiles
 * @param refinePasses passes over the tiles, between the context pass and the output's, that bring the downscaled
 *     context's attention matrices toward the full image's (0 to {@value #MAX_REFINE_PASSES}; each costs about
 *     one more pass over the tiles; run only when the context copy is downscaled (an image larger than the context,
 *     or a context shrunk to the memory limit) and the tiles are at least 256 px; one pass is what was measured to
 *     help, more do not converge monotonically; {@code docs/inference.md})
 */
public record TileOptions(int tileSize, int overlap, int contextSize, long maxWholePixels, int refinePasses) {
  /** Default tile side. */
  public static final int DEFAULT_TILE = 512;
  /** Default overlap. */
  public static final int DEFAULT_OVERLAP = 64;
  /** Default side of the context copy's square (0.59 MP: 1024×576 for a 16:9 image, 913×608 for 3:2). */
  public static final int DEFAULT_CONTEXT = 768;
  /**
   * Default threshold: images above 0.5 megapixels are tiled. Whole-image inference of DeepSPG-S needs about
   * up to 1.06 GB per megapixel on CPU, with SEMs and HRNet-W48 up to 2.26 GB (measured, {@link MemoryBudget}); this
   * keeps every forward pass below ~0.55 GB (~1.15 GB).
   */
  public static final long DEFAULT_MAX_WHOLE_PIXELS = 500_000L;
  /** The most refinement passes accepted (by then the matrices have long stopped changing in 8 bits). */
  public static final int MAX_REFINE_PASSES = 8;
  /** The defaults. */
  public static final TileOptions DEFAULT =
      new TileOptions(DEFAULT_TILE, DEFAULT_OVERLAP, DEFAULT_CONTEXT, DEFAULT_MAX_WHOLE_PIXELS);

  /**
   * Options without refinement passes.
   *
   * @param tileSize tile side
   * @param overlap overlap
   * @param contextSize side of the context copy's square
   * @param maxWholePixels tiling threshold
   */
  public TileOptions(int tileSize, int overlap, int contextSize, long maxWholePixels) {
    this(tileSize, overlap, contextSize, maxWholePixels, 0);
  }

  /**
   * Validates the fields.
   *
   * @param tileSize tile side
   * @param overlap overlap
   * @param contextSize side of the context copy's square
   * @param maxWholePixels tiling threshold
   * @param refinePasses refinement passes
   */
  public TileOptions {
    if (tileSize < 64 || tileSize % Padding.MULTIPLE != 0) {
      throw new IllegalArgumentException("tile size must be a multiple of 32 and >= 64, got " + tileSize);
    }
    if (overlap < 0 || overlap + Padding.MULTIPLE > tileSize) {
      throw new IllegalArgumentException("overlap must be in [0, tile - 32], got " + overlap + " for tile " + tileSize);
    }
    if (contextSize < 32) {
      throw new IllegalArgumentException("context size must be >= 32, got " + contextSize);
    }
    if (maxWholePixels < 0) {
      throw new IllegalArgumentException("maxWholePixels must be >= 0, got " + maxWholePixels);
    }
    if (refinePasses < 0 || refinePasses > MAX_REFINE_PASSES) {
      throw new IllegalArgumentException("refinement passes must be in [0, " + MAX_REFINE_PASSES + "], got "
          + refinePasses);
    }
  }

  /**
   * Tiles every image with the given tile side ({@link #overlapFor} its overlap; other fields default).
   *
   * @param tileSize tile side (multiple of 32, ≥ 64)
   * @return the options
   */
  public static TileOptions always(int tileSize) {
    return new TileOptions(tileSize, overlapFor(tileSize), DEFAULT_CONTEXT, 0);
  }

  /**
   * The overlap that goes with a tile side: a quarter of it rounded down to 32, at least 32 and at most
   * {@link #DEFAULT_OVERLAP}. (Without the floor, tiles of 64 and 96 had none: seams up to 82/255 at their edges.)
   *
   * @param tileSize tile side (multiple of 32, ≥ 64)
   * @return the overlap in pixels
   */
  public static int overlapFor(int tileSize) {
    int quarter = tileSize / 4 / Padding.MULTIPLE * Padding.MULTIPLE;
    return Math.min(DEFAULT_OVERLAP, Math.max(Padding.MULTIPLE, quarter));
  }

  /**
   * What {@code --tile N} selects: images larger than N×N run as tiles of at most N×N pixels ({@link #overlapFor}
   * overlap); 0 never tiles.
   *
   * @param tileSize 0, or a tile side (multiple of 32, ≥ 64)
   * @return the options
   * @throws IllegalArgumentException for another side
   */
  public static TileOptions ofSide(int tileSize) {
    if (tileSize == 0) return never();
    if (tileSize < 64 || tileSize % Padding.MULTIPLE != 0) {
      throw new IllegalArgumentException("tile side must be 0 or a multiple of 32 that is >= 64, got " + tileSize);
    }
    return new TileOptions(tileSize, overlapFor(tileSize), DEFAULT_CONTEXT, (long) tileSize * tileSize);
  }

  /** @return options that never tile */
  public static TileOptions never() {
    return new TileOptions(DEFAULT_TILE, DEFAULT_OVERLAP, DEFAULT_CONTEXT, Long.MAX_VALUE);
  }

  /**
   * The default tile size fitted to a memory limit: where a pass over a tile of {@link #DEFAULT_TILE} or a whole image
   * of {@link #DEFAULT_MAX_WHOLE_PIXELS} would hold more padded pixels than the limit allows, the tile side becomes the
   * largest multiple of 32 whose square fits (at least 64, with its {@link #overlapFor} overlap) and images above the
   * pixels that fit are tiled. Options of another tile side or threshold ({@code --tile N}, {@link #always},
   * {@link #ofSide}) are the caller's choice and come back as they are; so do options that fit.
   *
   * @param pixelsPerPass the most padded pixels one pass may hold
   * @return the options to use
   */
  public TileOptions fittedTo(long pixelsPerPass) {
    boolean defaultSize = tileSize == DEFAULT_TILE && overlap == DEFAULT_OVERLAP
        && maxWholePixels == DEFAULT_MAX_WHOLE_PIXELS;
    if (!defaultSize || ((long) tileSize * tileSize <= pixelsPerPass && maxWholePixels <= pixelsPerPass)) return this;
    int side = (int) Math.max(64, Math.min(tileSize, (long) Math.sqrt((double) pixelsPerPass)
        / Padding.MULTIPLE * Padding.MULTIPLE));
    return new TileOptions(side, overlapFor(side), contextSize, Math.min(maxWholePixels, pixelsPerPass), refinePasses);
  }

  /**
   * @param size tile side
   * @return a copy with that tile side
   */
  public TileOptions withTileSize(int size) {
    return new TileOptions(size, overlap, contextSize, maxWholePixels, refinePasses);
  }

  /**
   * @param px overlap
   * @return a copy with that overlap
   */
  public TileOptions withOverlap(int px) {
    return new TileOptions(tileSize, px, contextSize, maxWholePixels, refinePasses);
  }

  /**
   * @param side side of the context copy's square
   * @return a copy with that context size
   */
  public TileOptions withContextSize(int side) {
    return new TileOptions(tileSize, overlap, side, maxWholePixels, refinePasses);
  }

  /**
   * @param pixels tiling threshold
   * @return a copy with that threshold
   */
  public TileOptions withMaxWholePixels(long pixels) {
    return new TileOptions(tileSize, overlap, contextSize, pixels, refinePasses);
  }

  /**
   * @param passes refinement passes (0 to {@value #MAX_REFINE_PASSES})
   * @return a copy with that many passes between the context pass and the output's
   */
  public TileOptions withRefinePasses(int passes) {
    return new TileOptions(tileSize, overlap, contextSize, maxWholePixels, passes);
  }

  /**
   * Whether an image is tiled: by the pixels a whole-image pass would really process, i.e. after padding both sides
   * to a multiple of 32. A long thin image (2×240,000: 0.48 MP) pads to 32×240,000 = 7.7 MP and is tiled; by its
   * nominal pixel count it ran whole and took 15–20 GB.
   *
   * @param height image height
   * @param width image width
   * @return whether an image of that size is tiled
   */
  public boolean tiles(long height, long width) {
    return tilesBatch(1, height, width);
  }

  /**
   * Whether a batch of same-size images would exceed the whole-image threshold together (each image padded).
   *
   * @param count images in the batch
   * @param height image height
   * @param width image width
   * @return whether the batch is too large to run as one pass
   */
  public boolean tilesBatch(long count, long height, long width) {
    return count * Padding.padded(height, Padding.MULTIPLE) * Padding.padded(width, Padding.MULTIPLE)
        > maxWholePixels;
  }
}
