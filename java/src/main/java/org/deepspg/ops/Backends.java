/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.bytedeco.pytorch.global.torch.globalContext;

/**
 * Process-wide libtorch backend settings of the project.
 *
 * <p><b>oneDNN (mkldnn) is disabled.</b> libtorch's oneDNN convolution was seen computing wrong input gradients for
 * out_channels &lt; 16 with bytedeco libtorch 2.10.0-1.5.13 on an AMD EPYC/AVX-512 CPU (STYLE §0). The project
 * therefore runs every CPU convolution through libtorch's native (non-oneDNN) kernels, for training and inference
 * alike, so that one configuration is tested ({@code ConvGradientTest} checks float32 conv input gradients against an
 * independent float64 im2col+matmul reference). The cost is CPU convolution speed only; CUDA (cuDNN) is unaffected.
 *
 * <p>{@link #init()} is idempotent and is called by {@link NativeLibrary#ensureLoaded()}, i.e. by every op of this
 * package; code that uses only stock libtorch modules (nn, model, train) must call it once at start-up. Setting the
 * system property {@code deepspg.mkldnn=true} keeps oneDNN enabled (for experiments and for demonstrating the defect
 * with {@code ConvGradientTest}; not supported for training).
 */
public final class Backends {
  /** System property that, when {@code true}, leaves oneDNN enabled. */
  public static final String MKLDNN_PROPERTY = "deepspg.mkldnn";

  private static volatile boolean initialised;

  private Backends() {}

  /** Applies the project's backend settings once per process (thread-safe, idempotent). */
  public static void init() {
    if (initialised) return;
    synchronized (Backends.class) {
      if (initialised) return;
      NativeLibrary.loadLibtorch();
      globalContext().setUserEnabledMkldnn(Boolean.getBoolean(MKLDNN_PROPERTY));
      initialised = true;
    }
  }

  /** @return whether libtorch will use oneDNN for CPU ops now (false after {@link #init()} unless overridden) */
  public static boolean mkldnnEnabled() {
    NativeLibrary.loadLibtorch();
    return globalContext().userEnabledMkldnn();
  }
}
