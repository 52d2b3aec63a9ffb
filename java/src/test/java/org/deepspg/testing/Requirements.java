/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.bytedeco.pytorch.global.torch;
import org.deepspg.ops.NativeLibrary;

/** Skips tests by stated requirement (STYLE B8; DJL {@code TestRequirements}). */
public final class Requirements {
  private Requirements() {}

  /** Skips the calling test unless libtorch sees a CUDA device and the kernel library has its CUDA kernels. */
  public static void cuda() {
    assumeTrue(cudaAvailable(), "needs a CUDA GPU, the -gpu libtorch build and CUDA kernels");
  }

  /** @return whether {@link #cuda()} would run the test */
  public static boolean cudaAvailable() {
    NativeLibrary.ensureLoaded();
    boolean torchCuda;
    try {
      torchCuda = torch.cuda_is_available();
    } catch (Throwable t) {
      torchCuda = false;
    }
    return torchCuda && NativeLibrary.cudaKernelsCompiled() && NativeLibrary.cudaDeviceCount() > 0;
  }
}
