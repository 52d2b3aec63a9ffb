/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.train;

import java.util.ArrayList;
import java.util.List;

/**
 * The coarse-to-fine (C2F) progressive-patch schedule of spec §4.6: Restormer/Retinexformer's progressive training
 * rescaled to DeepSPG's batch 16 and 500 epochs. Each stage has an epoch share, a patch size (multiple of 32) and a
 * batch size. With C2F disabled the run uses one stage (patch 128, batch 16 by default).
 */
public final class CoarseToFine {
  /** One stage of the schedule. */
  public record Stage(int fromEpoch, int toEpoch, int patch, int batch) {
    /** @return number of epochs in this stage */
    public int epochs() {
      return toEpoch - fromEpoch + 1;
    }
  }

  // Paper-scale table (500 epochs): epochs 1-150/151-250/251-330/331-400/401-460/461-500.
  private static final int[] ENDS = {150, 250, 330, 400, 460, 500};
  private static final int[] PATCH = {128, 160, 192, 256, 320, 384};
  private static final int[] BATCH = {16, 10, 8, 4, 2, 2};

  private final List<Stage> stages;

  private CoarseToFine(List<Stage> stages) {
    this.stages = List.copyOf(stages);
  }

  /**
   * The spec's six stages with the epoch boundaries scaled to {@code epochs} (stages shorter than one epoch are
   * dropped), patches scaled by {@code patchScale} (rounded to multiples of 32, at least 32) and batches by
   * {@code batchScale} (at least 1). Use scales 1 for the paper's setting.
   *
   * @param epochs total epochs
   * @param patchScale patch multiplier (e.g. 0.5 for a CPU run at half resolution)
   * @param batchScale batch multiplier
   * @return the schedule
   */
  public static CoarseToFine paper(int epochs, double patchScale, double batchScale) {
    if (epochs < 1) throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
    List<Stage> s = new ArrayList<>();
    int prev = 0;
    for (int i = 0; i < ENDS.length; i++) {
      int end = (int) Math.round(ENDS[i] * (double) epochs / 500.0); // in double: ENDS[i] * epochs overflows an int
      if (i == ENDS.length - 1) end = epochs;
      if (end <= prev) continue;
      // clamped before the cast: a huge scale wrapped around to a tiny patch or batch (the caps come later)
      int patch = (int) Math.max(32, Math.min(1 << 20, Math.round(PATCH[i] * patchScale / 32.0) * 32.0));
      int batch = (int) Math.max(1, Math.min(1 << 20, Math.round(BATCH[i] * batchScale)));
      s.add(new Stage(prev + 1, end, patch, batch));
      prev = end;
    }
    return new CoarseToFine(s);
  }

  /**
   * One stage for the whole run (C2F off; ablation Variant 2 uses patch 128, batch 16).
   *
   * @param epochs total epochs
   * @param patch patch size (multiple of 32)
   * @param batch batch size
   * @return the schedule
   */
  public static CoarseToFine fixed(int epochs, int patch, int batch) {
    if (epochs < 1 || patch < 32 || patch % 32 != 0 || batch < 1) {
      throw new IllegalArgumentException("bad fixed schedule: epochs=" + epochs + " patch=" + patch + " batch=" + batch
          + " (patch must be a multiple of 32)");
    }
    return new CoarseToFine(List.of(new Stage(1, epochs, patch, batch)));
  }

  /** @return the stages in order */
  public List<Stage> stages() {
    return stages;
  }

  /**
   * @param epoch 1-based epoch
   * @return the stage that epoch belongs to
   */
  public Stage stageOf(int epoch) {
    for (Stage s : stages) if (epoch >= s.fromEpoch && epoch <= s.toEpoch) return s;
    throw new IllegalArgumentException("epoch " + epoch + " outside the schedule 1.." + lastEpoch());
  }

  /** @return the last epoch of the schedule */
  public int lastEpoch() {
    return stages.get(stages.size() - 1).toEpoch;
  }

  /**
   * Steps of the whole run when an epoch is one pass over {@code pairs} training pairs (one crop per pair; the last
   * incomplete batch of an epoch is dropped, as Retinexformer does, but each epoch has at least one step).
   *
   * @param pairs number of training pairs
   * @return total optimiser steps
   */
  public long totalSteps(int pairs) {
    long n = 0;
    for (Stage s : stages) n += (long) s.epochs() * stepsPerEpoch(pairs, s.batch);
    return n;
  }

  /**
   * @param pairs training pairs
   * @param batch batch size
   * @return steps in one epoch
   */
  public static int stepsPerEpoch(int pairs, int batch) {
    return Math.max(1, pairs / batch);
  }
}
