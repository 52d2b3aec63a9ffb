/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.bytedeco.pytorch.global.torch.get_num_threads;
import static org.bytedeco.pytorch.global.torch.globalContext;

import org.deepspg.kernels.global.kernels;

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
 *
 * <p><b>glibc malloc is tuned for tensor workloads.</b> Every op output and gradient is a fresh block of a few MB to a
 * few tens of MB; with glibc's defaults such blocks are mmap'ed and unmapped (or trimmed off the heap top) on every
 * free, so each new tensor pays page faults and the kernel's zero-filling of its pages, in a pattern that changes
 * with glibc's dynamic threshold over a run. On the 2-core dev machine this made a DeepSPG-S level-0 attention
 * forward+backward take 51 ms in some phases of a run and 27 ms with the tuning (BENCHMARKS.md). {@link #init()}
 * therefore sets M_MMAP_THRESHOLD = 32 MiB, M_TRIM_THRESHOLD = 256 MiB and M_TOP_PAD = 64 MiB through the kernel
 * library (the effect PyTorch's CPU guides get from preloading jemalloc/tcmalloc). Cost: up to ~256 MiB of freed
 * memory may stay mapped in the process. Setting {@code deepspg.malloc=default} leaves glibc alone (e.g. when the
 * application preloads another allocator).
 *
 * <p><b>Threading environment.</b> libtorch (bytedeco, CPU) runs matrix products on OpenBLAS, whose own thread pool
 * spins for about 2^28 cycles (~0.1 s) after each product before sleeping; on a machine with few cores that spinning
 * takes the cores from libtorch's and our OpenMP threads (seen: ~30 % of all CPU samples of a DeepSPG-S forward in
 * OpenBLAS's wait loop; 608×416 forward 1.5 s → 1.05 s with {@code OPENBLAS_THREAD_TIMEOUT=4}). Both that variable
 * and {@code OMP_WAIT_POLICY=PASSIVE} are read when the native libraries load, so they can only come from the
 * environment: {@code ./deepspg}, the test and benchmark scripts set them; an application embedding this library
 * should set them in its launch environment. {@link #init()} logs a one-time hint when they are missing, and
 * {@link #threading()} reports them.
 */
public final class Backends {
  /** System property that, when {@code true}, leaves oneDNN enabled. */
  public static final String MKLDNN_PROPERTY = "deepspg.mkldnn";

  /** System property: {@code tuned} (default) applies the malloc settings above, {@code default} leaves glibc alone. */
  public static final String MALLOC_PROPERTY = "deepspg.malloc";

  private static final long MMAP_THRESHOLD = 32L << 20;
  private static final long TRIM_THRESHOLD = 256L << 20;
  private static final long TOP_PAD = 64L << 20;

  private static volatile boolean initialised;
  private static volatile String allocator = "not initialised";

  /** Environment variables read at native library load that this project recommends, with the recommended value. */
  private static final String[][] THREAD_ENV = {{"OMP_WAIT_POLICY", "PASSIVE"}, {"OPENBLAS_THREAD_TIMEOUT", "4"}};

  private Backends() {}

  /** Applies the project's backend settings once per process (thread-safe, idempotent). */
  public static void init() {
    if (initialised) return;
    synchronized (Backends.class) {
      if (initialised) return;
      NativeLibrary.loadLibtorch();
      globalContext().setUserEnabledMkldnn(Boolean.getBoolean(MKLDNN_PROPERTY));
      allocator = tuneAllocator(System.getProperty(MALLOC_PROPERTY, "tuned"));
      initialised = true;
      StringBuilder missing = new StringBuilder();
      for (String[] kv : THREAD_ENV) {
        if (System.getenv(kv[0]) == null) {
          missing.append(missing.length() == 0 ? "" : " ").append(kv[0]).append("=").append(kv[1]);
        }
      }
      if (missing.length() > 0 && get_num_threads() > 1) {
        System.getLogger("org.deepspg").log(System.Logger.Level.INFO,
            "CPU inference runs up to ~1.4x faster with " + missing + " in the environment (read at native library "
                + "load; see org.deepspg.ops.Backends)");
      }
    }
  }

  private static String tuneAllocator(String mode) {
    if (mode.equals("default")) return "glibc defaults (" + MALLOC_PROPERTY + "=default)";
    if (!mode.equals("tuned")) {
      throw new IllegalArgumentException(
          "system property " + MALLOC_PROPERTY + " must be 'tuned' or 'default', got '" + mode + "'");
    }
    NativeLibrary.loadLibtorchAndKernels();
    int st = kernels.deepspg_tune_allocator(MMAP_THRESHOLD, TRIM_THRESHOLD, TOP_PAD);
    if (st == kernels.DEEPSPG_OK) return "tuned (mmap threshold 32 MiB, trim threshold 256 MiB, top pad 64 MiB)";
    // Not glibc (or glibc refused): the process runs with its allocator's defaults, which is correct, only slower.
    return "untuned: " + kernels.deepspg_last_error().getString();
  }

  /**
   * @return how the process's malloc is configured: tuned, glibc defaults, or why tuning was not possible
   */
  public static String allocator() {
    init();
    return allocator;
  }

  /** @return the threading environment variables that matter here, as {@code NAME=value} (or {@code NAME unset}) */
  public static String threading() {
    StringBuilder b = new StringBuilder();
    for (String[] kv : THREAD_ENV) {
      String v = System.getenv(kv[0]);
      b.append(b.length() == 0 ? "" : ", ").append(kv[0]);
      b.append(v == null ? " unset (recommended " + kv[1] + ")" : "=" + v);
    }
    return b.toString();
  }

  /** @return whether libtorch will use oneDNN for CPU ops now (false after {@link #init()} unless overridden) */
  public static boolean mkldnnEnabled() {
    NativeLibrary.loadLibtorch();
    return globalContext().userEnabledMkldnn();
  }
}
