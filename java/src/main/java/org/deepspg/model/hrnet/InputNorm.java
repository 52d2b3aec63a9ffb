/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.model.hrnet;

/** Input normalisation applied by {@link HRNet#forwardRaw} to RGB in [0, 1] (spec §5.1, config {@code hrnet.input_norm}). */
public enum InputNorm {
  /**
   * {@code (x − mean)/std} with ImageNet mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225): what the
   * official HRNet training pipeline feeds, hence what its weights expect (the default).
   */
  IMAGENET,
  /** Raw RGB in [0, 1], no normalisation: what SKF feeds its HRNet. */
  NONE
}
