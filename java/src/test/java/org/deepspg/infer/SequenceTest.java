/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deepspg.data.Image;
import org.deepspg.data.Images;
import org.deepspg.model.DeepSPG;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link Enhancer.Sequence}: frames enhanced with the attention of the first. With the bundled model a bright patch
 * (a headlight) in one corner of a sample makes the far corner of the ordinary output about a third darker; in a
 * sequence locked on the frame without it, the far corner stays as it was.
 */
class SequenceTest {
  static Image frame;
  static Image headlight;

  @BeforeAll
  static void frames() throws Exception {
    frame = Images.read(InferTestSupport.sample("aitzgorri.jpg")); // 640x426
    headlight = SequenceTestSupport.withHeadlight(frame, 80);
  }

  @Test
  void aLockedSequenceKeepsTheFirstFramesExposure() throws Exception {
    for (TileOptions tiling : new TileOptions[] {TileOptions.DEFAULT, TileOptions.always(256)}) {
      try (Enhancer e = Enhancer.builder().tiling(tiling).build()) {
        Image plain = e.enhance(frame);
        double[] dimmed = SequenceTestSupport.farCorner(plain, e.enhance(headlight));
        assertTrue(dimmed[0] < -0.15, "the case at hand: the headlight darkens the far corner, " + dimmed[0]);
        try (Enhancer.Sequence s = e.sequence()) {
          assertFalse(s.isLocked());
          Image first = s.enhance(frame);
          assertTrue(s.isLocked());
          double p = InferTestSupport.psnr(plain.rgb(), first.rgb());
          assertTrue(p > 70, "the first frame is the ordinary result: " + p + " dB");
          double[] locked = SequenceTestSupport.farCorner(first, s.enhance(headlight));
          assertTrue(Math.abs(locked[0]) < 1e-3 && locked[1] < 2 / 255.0, tiling + ": the far corner changed by "
              + locked[0] + " (max " + locked[1] + ")");
          // relock: the next frame records its own attention, as an ordinary call does
          s.relock();
          assertFalse(s.isLocked());
          Image own = s.enhance(headlight);
          assertTrue(InferTestSupport.psnr(e.enhance(headlight).rgb(), own.rgb()) > 70, "relocked on the headlight");
          s.close();
          assertThrows(IllegalStateException.class, () -> s.enhance(frame));
        }
      }
    }
  }

  @Test
  void lockedFramesMayChangeSize() throws Exception {
    try (Enhancer e = Enhancer.builder().build(); Enhancer.Sequence s = e.sequence()) {
      s.enhance(frame);
      Image small = Image.of(96, 64, java.util.Arrays.copyOf(frame.rgb(), 3 * 96 * 64));
      Image out = s.enhance(small);
      assertArrayEquals(new int[] {96, 64}, new int[] {out.width(), out.height()});
      assertThrows(IllegalStateException.class, () -> {
        Enhancer other = Enhancer.builder().build();
        Enhancer.Sequence t = other.sequence();
        other.close();
        t.enhance(frame);
      });
    }
  }

  /**
   * The locked matrices belong to the sequence, also when they come from a refinement pass and the caller wraps each
   * frame in a PointerScope of its own (an audit: the refined matrices were attached to the caller's scope and freed
   * with it; the next frame failed with a NullPointerException).
   */
  @Test
  void refinedLocksOutliveTheCallersScopes() throws Exception {
    DeepSPG tiny = InferTestSupport.sharedTiny();
    Image img = InferTestSupport.darkImage(352, 480, 13);
    TileOptions t = new TileOptions(Tiler.MIN_REFINE_TILE, 64, 128, 0).withRefinePasses(1);
    try (Enhancer e = Enhancer.builder().model(tiny).tiling(t).build(); Enhancer.Sequence s = e.sequence()) {
      float[] first;
      try (org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope()) {
        first = s.enhance(img).rgb();
      }
      System.gc();
      float[] second;
      try (org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope()) {
        second = s.enhance(img).rgb();
      }
      assertArrayEquals(first, second, 1e-6f, "the same frame replays the same locked matrices");
      // a locked frame runs its tiles only: no context pass and no refinement pass of its own
      int tiles = s.passes(352, 480);
      assertEquals(2 * tiles, e.passes(352, 480), "the first frame refines");
      java.util.concurrent.atomic.AtomicInteger steps = new java.util.concurrent.atomic.AtomicInteger();
      s.enhance(img, steps::incrementAndGet);
      assertEquals(tiles, steps.get(), "a locked frame's progress");
    }
  }

  /** A frame that fails does not lock the sequence (an audit: it did, before its output was even checked). */
  @Test
  void aFailedFrameDoesNotLock() throws Exception {
    for (TileOptions tiling : new TileOptions[] {TileOptions.never(), TileOptions.always(256)}) {
      try (Enhancer e = Enhancer.builder().tiling(tiling).build(); Enhancer.Sequence s = e.sequence()) {
        RuntimeException boom = new RuntimeException("the caller gave up");
        int[] calls = {0};
        int passes = e.passes(frame.height(), frame.width());
        assertThrows(RuntimeException.class, () -> s.enhance(headlight, () -> {
          if (++calls[0] == passes) throw boom; // after the last pass: the frame did not come out
        }));
        assertFalse(s.isLocked(), tiling + ": a failed frame locked the sequence");
        Image first = s.enhance(frame);
        assertTrue(s.isLocked());
        assertTrue(InferTestSupport.psnr(e.enhance(frame).rgb(), first.rgb()) > 70,
            "locked to the frame that came out");
        assertThrows(IllegalStateException.class, () -> s.enhance(frame, s::relock), "relock inside a call");
        assertTrue(s.isLocked());
      }
    }
  }

  /** lockTo: the exposure of a reference frame that is not enhanced, the same as if it had been the first frame. */
  @Test
  void lockToAReferenceFrame() throws Exception {
    for (TileOptions tiling : new TileOptions[] {TileOptions.DEFAULT, TileOptions.always(256)}) {
      try (Enhancer e = Enhancer.builder().tiling(tiling).build(); Enhancer.Sequence first = e.sequence();
          Enhancer.Sequence referenced = e.sequence()) {
        first.enhance(frame);
        Image want = first.enhance(headlight);
        referenced.enhance(headlight); // locked to the headlight frame itself, then replaced
        referenced.lockTo(frame);
        assertTrue(referenced.isLocked());
        assertArrayEquals(want.rgb(), referenced.enhance(headlight).rgb(), 0f, tiling.toString());
        assertThrows(IllegalStateException.class, () -> referenced.enhance(frame, () -> referenced.lockTo(frame)));
      }
    }
  }

  /**
   * A cut (another sample) locks the sequence anew on the cut frame, whose output is then the ordinary one; with cut
   * detection off (the default) the new scene is enhanced with the first scene's exposure. The headlight frame is no
   * cut.
   */
  @Test
  void aCutLocksAnew() throws Exception {
    Image other = Images.read(InferTestSupport.sample("fig-bowl.jpg"));
    try (Enhancer e = Enhancer.builder().build(); Enhancer.Sequence s = e.sequence(SceneCuts.SUGGESTED_THRESHOLD);
        Enhancer.Sequence off = e.sequence()) {
      Image plain = e.enhance(other);
      s.enhance(frame);
      assertTrue(Double.isNaN(s.lastScore()));
      s.enhance(headlight);
      assertEquals(0, s.cuts(), "the headlight is no cut: " + s.lastScore());
      Image cut = s.enhance(other);
      assertEquals(1, s.cuts());
      assertTrue(s.lastScore() >= SceneCuts.SUGGESTED_THRESHOLD);
      assertTrue(InferTestSupport.psnr(plain.rgb(), cut.rgb()) > 70, "after a cut the ordinary result");
      off.enhance(frame);
      double p = InferTestSupport.psnr(plain.rgb(), off.enhance(other).rgb());
      assertTrue(p < 45, "the case at hand: the first scene's exposure on the second is another result: " + p);
      assertEquals(0, off.cuts());
      assertTrue(Double.isNaN(off.lastScore()));
      assertThrows(IllegalArgumentException.class, () -> e.sequence(0));
    }
  }

  /**
   * skip(): a frame enhanced by an earlier run locks the next enhanced frame as if this run had enhanced it, and
   * counts for cuts (a resumed run).
   */
  @Test
  void skippedFramesLockAndCut() throws Exception {
    Image other = Images.read(InferTestSupport.sample("fig-bowl.jpg"));
    Image otherLit = SequenceTestSupport.withHeadlight(other, 80);
    try (Enhancer e = Enhancer.builder().build(); Enhancer.Sequence run = e.sequence(SceneCuts.SUGGESTED_THRESHOLD);
        Enhancer.Sequence resumed = e.sequence(SceneCuts.SUGGESTED_THRESHOLD)) {
      run.enhance(frame);
      Image want = run.enhance(headlight);
      run.enhance(other);
      Image wantOther = run.enhance(otherLit);
      resumed.skip(frame);
      assertTrue(resumed.isLocked(), "the skipped frame is the lock");
      assertArrayEquals(want.rgb(), resumed.enhance(headlight).rgb(), 0f);
      resumed.skip(other);
      assertEquals(1, resumed.cuts(), "a skipped frame counts for cuts");
      assertArrayEquals(wantOther.rgb(), resumed.enhance(otherLit).rgb(), 0f, "locked to the skipped cut frame");
      assertThrows(IllegalStateException.class, () -> resumed.enhance(frame, () -> resumed.skip(frame)));
    }
  }

  /**
   * An audit: a skipped tiled frame under tileContext(false), which records nothing in an uninterrupted run, became
   * the lock of the resumed one (outputs 0.32 apart); and a frame half of NaN samples scored as a cut (NaN read as
   * black) and dropped the lock.
   */
  @Test
  void skipFollowsWhatAFrameRecordsAndNaNIsNoCut() throws Exception {
    TileOptions small = TileOptions.always(256);
    try (Enhancer e = Enhancer.builder().tiling(small).tileContext(false).build();
        Enhancer.Sequence s = e.sequence(SceneCuts.SUGGESTED_THRESHOLD)) {
      s.skip(frame);
      assertFalse(s.isLocked(), "a tiled frame without context records nothing: nothing to lock to");
    }
    float[] half = frame.rgb().clone();
    int plane = frame.width() * frame.height();
    java.util.Arrays.fill(half, plane, plane + plane / 2, Float.NaN); // the top half of the green plane
    float[] sig = SceneCuts.signature(Image.of(frame.width(), frame.height(), half));
    long left = 0;
    for (int k = 0; k < SceneCuts.GRID * SceneCuts.GRID; k++) if (!Float.isNaN(sig[k])) left++;
    assertEquals(SceneCuts.GRID * SceneCuts.GRID / 2, left, "the cells of the finite half");
    assertEquals(0, SceneCuts.score(SceneCuts.signature(frame), sig), 1e-9,
        "the finite half of a frame compares with the same half of its scene");
  }
}
