/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import java.util.Locale;
import org.bytedeco.pytorch.global.torch;

/**
 * The one rule for a device name given by a user (enhance, eval, bench, train, spark-enhance): {@code cpu},
 * {@code cuda} (also {@code gpu}) or {@code auto}. CUDA needs both a device that libtorch sees and this project's
 * kernels built with CUDA ({@code -Pgpu}); the message says which is missing.
 */
public final class Devices {
  private Devices() {}

  /**
   * @param name cpu, cuda, gpu or auto (any case; null = cpu)
   * @param where how the user gave it, for messages ("--device", "config key 'device'")
   * @return "cpu" or "cuda"
   * @throws IllegalArgumentException for another name, or CUDA where it cannot run
   */
  public static String resolve(String name, String where) {
    String n = name == null ? "cpu" : name.trim().toLowerCase(Locale.ROOT);
    return switch (n) {
      case "cpu" -> "cpu";
      case "auto" -> cudaUsable() ? "cuda" : "cpu";
      case "cuda", "gpu" -> {
        if (!cudaUsable()) {
          throw new IllegalArgumentException(where + " is cuda but " + (torch.cuda_is_available()
              ? "this project's kernels were built without CUDA (build with -Pgpu)" : "libtorch sees no CUDA device")
              + "; use cpu");
        }
        yield "cuda";
      }
      default -> throw new IllegalArgumentException("unknown device '" + name + "' (" + where + "); use cpu, cuda or "
          + "auto");
    };
  }

  /** @return whether CUDA can run here: a device libtorch sees and kernels built with CUDA */
  public static boolean cudaUsable() {
    return NativeLibrary.cudaKernelsCompiled() && torch.cuda_is_available();
  }
}
