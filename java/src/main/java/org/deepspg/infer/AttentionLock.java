/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.infer;

import org.deepspg.ops.AttentionContext;

/**
 * The attention matrices of one frame, one recording per ensemble transform, that the later frames of an
 * {@link Enhancer.Sequence} replay. Empty until the first frame records them. Not thread-safe (the sequence
 * serialises its calls).
 */
final class AttentionLock implements AutoCloseable {
  private AttentionContext.Recording[] recordings;

  /** @return the locked recordings, or null before the first frame (owned by this lock) */
  AttentionContext.Recording[] recordings() {
    return recordings;
  }

  /** Takes ownership of a frame's recordings (an empty lock only). */
  void set(AttentionContext.Recording[] rec) {
    if (recordings != null) throw new IllegalStateException("the attention is locked already");
    recordings = rec;
  }

  /** Releases the recordings: the next frame records anew. */
  @Override
  public void close() {
    AttentionContext.Recording.closeAll(recordings);
    recordings = null;
  }
}
