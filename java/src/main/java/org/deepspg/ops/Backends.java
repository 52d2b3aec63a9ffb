/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import static org.bytedeco.pytorch.global.torch.get_num_threads;
import static org.bytedeco.pytorch.global.torch.globalContext;
import static org.bytedeco.pytorch.global.torch.set_num_threads;

import java.util.Locale;
import org.deepspg.kernels.global.kernels;

/**
 * Process-wide libtorch backend settings of the project.
 *
 * <p><b>oneDNN (mkldnn) starts disabled.</b> libtorch's oneDNN convolution computes wrong results on some CPUs (wrong
 * input gradients for out_channels &lt; 16, NaN forward passes; seen with bytedeco libtorch 2.10.0-1.5.13 on an AMD
 * EPYC with AVX-512, STYLE §0). Every process therefore starts with libtorch's native (non-oneDNN) kernels; only
 * {@link OneDnn#apply} turns oneDNN on, after a self-check on the machine it runs on ({@code --onednn auto}, the
 * CLI default) or when forced ({@code --onednn on}). CUDA (cuDNN) is unaffected. NNPACK is disabled too.
 *
 * <p>{@link #init()} is idempotent and is called by {@link NativeLibrary#ensureLoaded()}, i.e. by every op of this
 * package; code that uses only stock libtorch modules (nn, model, train) must call it once at start-up. Setting the
 * system property {@code deepspg.mkldnn=true} starts with oneDNN enabled instead (for demonstrating the defect with
 * {@code ConvGradientTest}; not supported).
 *
 * <p><b>glibc malloc is tuned for tensor workloads.</b> Every op output and gradient is a fresh block of a few MB to a
 * few hundred MB; with glibc's defaults such blocks are mmap'ed and unmapped (or trimmed off the heap top) on every
 * free, so each new tensor pays page faults and the kernel's zero-filling of its pages, in a pattern that changes
 * with glibc's dynamic threshold over a run. Measured on the 2-core dev machine (BENCHMARKS.md): a DeepSPG-S level-0
 * attention forward+backward took 51 ms in some phases of a run and 27 ms with the tuning, and a DeepSPG-S forward
 * at 608×416 page-faulted ~1.4 GB per call and took 1.05–2.8 s, 0.7 s with the tuning. {@link #init()} therefore
 * sets, through the kernel library, M_MMAP_THRESHOLD = 32 MiB, M_MMAP_MAX = 0 (no block of any size goes to mmap),
 * M_TRIM_THRESHOLD = 1 GiB and M_TOP_PAD = 64 MiB: freed blocks are reused (the effect PyTorch's CPU guides get from
 * preloading jemalloc/tcmalloc). Cost: up to ~1 GiB of freed memory may stay mapped in the process after its peak.
 * Blocks allocated by a thread that uses one of glibc's secondary arenas (at most 64 MiB each) are still mmap'ed
 * when large, and Java threads do get secondary arenas, so {@code MALLOC_ARENA_MAX=1} belongs in the environment
 * too (below). Setting {@code deepspg.malloc=default} leaves glibc alone (e.g. when the application preloads another
 * allocator).
 *
 * <p><b>Environment.</b> libtorch (bytedeco, CPU) runs matrix products on OpenBLAS, whose own thread pool spins for
 * about 2^28 cycles (~0.1 s) after each product before sleeping; on a machine with few cores that spinning takes the
 * cores from libtorch's and our OpenMP threads (seen: ~30 % of all CPU samples of a DeepSPG-S forward in OpenBLAS's
 * wait loop; 608×416 forward 1.5 s → 1.05 s with {@code OPENBLAS_THREAD_TIMEOUT=4}). The OpenMP threads themselves
 * spin {@code GOMP_SPINCOUNT=10000} rounds (a fraction of a millisecond) before they sleep: sleeping at once
 * ({@code OMP_WAIT_POLICY=PASSIVE}, the earlier default, which the tests' environment keeps) made every parallel
 * region wake its threads through the kernel, ~5 % of an HRNet-W48 forward (~500 regions per image). These
 * variables and {@code MALLOC_ARENA_MAX=1} (above) are read when the process or the native libraries start, so they
 * can only come from the environment: {@code ./deepspg} and the benchmark scripts set them, the tests' (java/pom.xml)
 * set {@code OMP_WAIT_POLICY=PASSIVE} instead; an application embedding this library should set them in its launch
 * environment.
 *
 * <p><b>Huge pages.</b> {@code GLIBC_TUNABLES=glibc.malloc.hugetlb=1} (glibc ≥ 2.35) makes malloc ask for transparent
 * huge pages for its heap. {@link #releaseFreeMemory()} (inside a tiled image, and once inference has been idle for a
 * few seconds after one) hands free pages back to the system, and the next image then faults its working set in again: with 4 KiB pages that cost 2.5 s on the development VM (a
 * 640×433 image took 3.5 s instead of 1.05 s right after a tiled one), with 2 MiB pages 0.2 s (1.3 s); a 6000×4000
 * image's peak RSS fell from 2.72 to 2.54 GB with it. Like the variables above it is read at process start. {@link #init()} logs a
 * one-time hint when they are missing, and {@link #environment()} reports them.
 */
public final class Backends {
  /** System property that, when {@code true}, leaves oneDNN enabled. */
  public static final String MKLDNN_PROPERTY = "deepspg.mkldnn";

  /** System property: {@code tuned} (default) applies the malloc settings above, {@code default} leaves glibc alone. */
  public static final String MALLOC_PROPERTY = "deepspg.malloc";

  private static final long MMAP_THRESHOLD = 32L << 20;
  private static final long TRIM_THRESHOLD = 1L << 30;
  private static final long TOP_PAD = 64L << 20;

  private static volatile boolean initialised;
  private static volatile String allocator = "not initialised";
  private static volatile String threads = "not initialised";

  /** System property: libtorch intra-op threads (default: {@code OMP_NUM_THREADS}, else every available processor). */
  public static final String THREADS_PROPERTY = "deepspg.threads";

  /**
   * Environment variables read at process or library start that this project recommends, with their values; a third
   * element names a variable that, when set instead, counts as the same choice (the OpenMP wait: a spin count, or a
   * policy chosen by the user).
   */
  private static final String[][] RECOMMENDED_ENV = {
    {"GOMP_SPINCOUNT", "10000", "OMP_WAIT_POLICY"}, {"OPENBLAS_THREAD_TIMEOUT", "4"}, {"MALLOC_ARENA_MAX", "1"},
    {"GLIBC_TUNABLES", "glibc.malloc.hugetlb=1"}
  };

  /** @return the variable of {@code kv} that is set (its alternative when only that one is), else null */
  private static String setName(String[] kv) {
    if (System.getenv(kv[0]) != null) {
      return kv[0];
    }
    return kv.length > 2 && System.getenv(kv[2]) != null ? kv[2] : null;
  }

  private Backends() {}

  /** Applies the project's backend settings once per process (thread-safe, idempotent). */
  public static void init() {
    if (initialised) return;
    synchronized (Backends.class) {
      if (initialised) return;
      NativeLibrary.loadLibtorch();
      globalContext().setUserEnabledMkldnn(Boolean.getBoolean(MKLDNN_PROPERTY));
      // NNPACK is never the right choice here (it only serves some convolutions on CPUs it supports; ours run on
      // our kernels), and asking for it prints "Could not initialize NNPACK! Reason: Unsupported hardware." before
      // every convolution on CPUs it does not know. libtorch checks this flag before it initialises NNPACK.
      globalContext().setUserEnabledNNPACK(false);
      allocator = tuneAllocator(System.getProperty(MALLOC_PROPERTY, "tuned"));
      threads = chooseThreads();
      initialised = true;
      StringBuilder missing = new StringBuilder();
      for (String[] kv : RECOMMENDED_ENV) {
        if (setName(kv) == null) {
          missing.append(missing.length() == 0 ? "" : " ").append(kv[0]).append("=").append(kv[1]);
        }
      }
      if (missing.length() > 0 && get_num_threads() > 1) {
        System.getLogger("org.deepspg").log(System.Logger.Level.INFO,
            "CPU inference runs up to ~2x faster with " + missing + " in the environment (read at process and "
                + "native library start; see org.deepspg.ops.Backends)");
      }
    }
  }

  /**
   * libtorch's own choice of intra-op threads is 1 on the 2-vCPU development VM (its core detection), which left half
   * the machine idle: DeepSPG-S Baseline at 600×400 took 953 ms with 1 thread, 698 ms with 2 (BENCHMARKS.md). Unless
   * {@code OMP_NUM_THREADS} or {@value #THREADS_PROPERTY} says otherwise, use every processor the JVM may use.
   */
  private static String chooseThreads() {
    String prop = System.getProperty(THREADS_PROPERTY);
    if (prop != null) {
      int n;
      try {
        n = Integer.parseInt(prop.trim());
      } catch (NumberFormatException e) {
        n = 0;
      }
      if (n < 1) throw new IllegalArgumentException("system property " + THREADS_PROPERTY + " must be >= 1, got " + prop);
      set_num_threads(n);
      return n + " (" + THREADS_PROPERTY + ")";
    }
    if (System.getenv("OMP_NUM_THREADS") != null) {
      return get_num_threads() + " (OMP_NUM_THREADS)";
    }
    int n = Runtime.getRuntime().availableProcessors();
    if (get_num_threads() != n) set_num_threads(n);
    return n + " (available processors)";
  }

  /** @return how many intra-op threads libtorch uses and why, as chosen at {@link #init()} */
  public static String threads() {
    init();
    return threads;
  }

  private static String tuneAllocator(String mode) {
    if (mode.equals("default")) return "glibc defaults (" + MALLOC_PROPERTY + "=default)";
    if (!mode.equals("tuned")) {
      throw new IllegalArgumentException(
          "system property " + MALLOC_PROPERTY + " must be 'tuned' or 'default', got '" + mode + "'");
    }
    NativeLibrary.loadLibtorchAndKernels();
    int st = kernels.deepspg_tune_allocator(MMAP_THRESHOLD, TRIM_THRESHOLD, TOP_PAD, 1);
    if (st == kernels.DEEPSPG_OK) {
      return "tuned (no mmap, mmap threshold 32 MiB, trim threshold 1 GiB, top pad 64 MiB)";
    }
    // Not glibc (or glibc refused): the process runs with its allocator's defaults, which is correct, only slower.
    return "untuned: " + kernels.deepspg_last_error().getString();
  }

  /**
   * Returns the C heap's free pages to the system (glibc {@code malloc_trim}). With the tuning above up to ~1 GiB of
   * freed tensor memory stays mapped for reuse; a caller that has just finished a large job (the {@code Enhancer}
   * after a tiled image) calls this so that the memory is not held while it does other work. A no-op when the tuning
   * is off or the C library is not glibc.
   */
  public static void releaseFreeMemory() {
    if (releasesFreeMemory()) kernels.deepspg_release_free_memory();
  }

  /** @return whether {@link #releaseFreeMemory()} returns anything (the tuning is on), rather than doing nothing */
  public static boolean releasesFreeMemory() {
    init();
    return allocator.startsWith("tuned");
  }

  /**
   * @return how the process's malloc is configured: tuned, glibc defaults, or why tuning was not possible
   */
  public static String allocator() {
    init();
    return allocator;
  }

  /**
   * @return whether JavaCPP polls the process's RSS on every native allocation ({@link
   *     NativeLibrary#MAX_PHYSICAL_BYTES_PROPERTY}; off by default in this library), e.g. "RSS polling off
   *     (org.bytedeco.javacpp.maxPhysicalBytes=0)"
   */
  public static String javaCppMemoryCheck() {
    long limit = org.bytedeco.javacpp.Pointer.maxPhysicalBytes();
    return limit <= 0
        ? "RSS polling off (" + NativeLibrary.MAX_PHYSICAL_BYTES_PROPERTY + "=0)"
        : String.format(Locale.ROOT, "RSS polled on every native allocation, limit %.1f GiB (set -D%s=0 before the "
            + "first tensor to turn it off)", limit / (double) (1L << 30), NativeLibrary.MAX_PHYSICAL_BYTES_PROPERTY);
  }

  /** @return the recommended environment variables, as {@code NAME=value} (or {@code NAME unset (recommended v)}) */
  public static String environment() {
    StringBuilder b = new StringBuilder();
    for (String[] kv : RECOMMENDED_ENV) {
      String name = setName(kv);
      b.append(b.length() == 0 ? "" : ", ");
      b.append(name == null ? kv[0] + " unset (recommended " + kv[1] + ")" : name + "=" + System.getenv(name));
    }
    return b.toString();
  }

  /** @return whether libtorch will use oneDNN for CPU ops now (false after {@link #init()} unless overridden) */
  public static boolean mkldnnEnabled() {
    NativeLibrary.loadLibtorch();
    return globalContext().userEnabledMkldnn();
  }
}
