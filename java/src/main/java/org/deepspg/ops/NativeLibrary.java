/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 */
package org.deepspg.ops;

import java.util.Locale;
import org.bytedeco.javacpp.Loader;
import org.deepspg.kernels.global.kernels;

/**
 * Loads libtorch and {@code libdeepspg_kernels} once, and turns load failures into a message that names the missing
 * artifact and the fix (STYLE B5). Every façade calls {@link #ensureLoaded()} before its first kernel call.
 */
public final class NativeLibrary {
  private static volatile boolean loaded;
  private static volatile boolean torchLoaded;
  private static volatile boolean ready;
  private static volatile Throwable failure;
  private static volatile boolean extracted;

  private NativeLibrary() {}

  /**
   * Loads the native libraries (idempotent, thread-safe) and applies {@link Backends#init()}.
   *
   * @throws IllegalStateException naming the artifact to add when a library cannot be loaded
   */
  public static void ensureLoaded() {
    if (ready) return;
    loadLibtorchAndKernels();
    Backends.init();
    ready = true;
  }

  /**
   * Extracts bytedeco's OpenBLAS and libtorch native libraries into the JavaCPP cache before anything loads them
   * (idempotent; files already cached are only checked). Measured on the dev VM: when the cache is empty, JavaCPP's
   * own extract-while-loading sequence crashed the JVM (SIGSEGV in {@code pthread_mutex_lock} during
   * {@code torch.<clinit>}) on 5 of 5 first runs, and never once the files were in place (3 of 3 with this
   * pre-extraction; the second run always worked). So the very first {@code ./deepspg demo} on a fresh machine would
   * have crashed. Called by every load path here and first thing by the CLI; failures are left to the regular load.
   */
  public static void extractLibraries() {
    configureJavaCpp();
    if (extracted) return;
    synchronized (NativeLibrary.class) {
      if (extracted) return;
      String platform = Loader.getPlatform();
      for (String pkg : new String[] {"/org/bytedeco/openblas/", "/org/bytedeco/pytorch/"}) {
        for (String dir : new String[] {platform, platform + "-gpu"}) {
          try {
            Loader.cacheResources(NativeLibrary.class, pkg + dir + "/");
          } catch (Exception | LinkageError e) {
            // Not present (e.g. no -gpu build on the classpath) or not extractable: Loader.load reports real trouble.
          }
        }
      }
      extracted = true;
    }
  }

  /**
   * JavaCPP's system property for its process-RSS limit: while it is above 0, JavaCPP reads the process's resident
   * size ({@code /proc/self/statm}, a system call) every time it registers a native object's deallocator, i.e. for
   * every tensor handle, to call {@code System.gc()} and finally throw {@link OutOfMemoryError} past the limit
   * (default twice the Java heap).
   */
  public static final String MAX_PHYSICAL_BYTES_PROPERTY = "org.bytedeco.javacpp.maxPhysicalBytes";

  /**
   * Turns JavaCPP's RSS polling off ({@value #MAX_PHYSICAL_BYTES_PROPERTY} = 0) unless the application set the
   * property itself. The project frees native memory deterministically (PointerScope), libtorch reports its own
   * allocation failures (which the CLI turns into "not enough memory"), and the polling cost half of every native op's
   * fixed cost: the fused attention on a 4×20×4×4 input, 2 threads, 170 → 80 µs per forward and 680 → 320 µs per
   * forward + backward (2026-12-06, BENCHMARKS.md session 28). JavaCPP reads the property once, when its
   * {@code Pointer} class initialises, so this runs first on every load path (the CLI calls
   * {@link #extractLibraries()} before anything else); an application that creates tensors before its first call
   * into this library keeps JavaCPP's default unless it sets the property (or passes it with {@code -D}).
   */
  static void configureJavaCpp() {
    if (System.getProperty(MAX_PHYSICAL_BYTES_PROPERTY) == null
        && System.getProperty(MAX_PHYSICAL_BYTES_PROPERTY.toLowerCase(Locale.ROOT)) == null) {
      System.setProperty(MAX_PHYSICAL_BYTES_PROPERTY, "0");
    }
  }

  private static void loadTorch() {
    extractLibraries();
    Loader.load(org.bytedeco.pytorch.global.torch.class);
  }

  /** Loads libtorch only (used by {@link Backends}); same error reporting as {@link #ensureLoaded()}. */
  static void loadLibtorch() {
    if (torchLoaded) return;
    synchronized (NativeLibrary.class) {
      if (torchLoaded) return;
      try {
        loadTorch();
        torchLoaded = true;
      } catch (Throwable t) {
        throw error(t);
      }
    }
  }

  /** Loads libtorch and the kernel library without applying {@link Backends#init()} (also used by {@link Backends}). */
  static void loadLibtorchAndKernels() {
    synchronized (NativeLibrary.class) {
      if (loaded) return;
      if (failure != null) throw error(failure);
      try {
        // libtorch first: its bundled libgomp is then the OpenMP runtime our kernels bind to as well.
        loadTorch();
        Loader.load(kernels.class);
        if (kernels.deepspg_cpu_supported() == 0) {
          throw new UnsatisfiedLinkError("libdeepspg_kernels was compiled for " + kernels.deepspg_cpu_arch().getString()
              + " (AVX2/FMA), which this CPU does not support; rebuild with "
              + "mvn install -Ddeepspg.arch=x86-64-v2 (or cmake -DDEEPSPG_ARCH=x86-64-v2)");
        }
        torchLoaded = true;
        loaded = true;
      } catch (Throwable t) {
        failure = t;
        throw error(t);
      }
    }
  }

  /**
   * The native libraries could not be unpacked: JavaCPP's cache folder (about 480 MB of libtorch, OpenBLAS and our
   * kernels; {@code ~/.javacpp/cache}, else under {@code java.io.tmpdir}) cannot be created or written, or its
   * filesystem is full, as on a container with a read-only root filesystem. The environment's problem, not the
   * installation's: the CLI reports it in one line (exit 2) with the property that moves the cache.
   */
  public static final class CacheException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    CacheException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** Free space JavaCPP's cache needs for a first extraction (the CPU libraries take about 480 MB). */
  private static final long CACHE_BYTES = 600L << 20;

  /** What keeps JavaCPP's cache from taking the libraries, or null when the cache folder looks usable. */
  private static String cacheProblem() {
    java.io.File dir;
    try {
      dir = Loader.getCacheDir();
    } catch (java.io.IOException | RuntimeException e) {
      return "JavaCPP cannot create its cache folder for the native libraries (" + e.getMessage() + ")";
    }
    if (!dir.canWrite()) return "JavaCPP's cache folder " + dir + " is not writable";
    String[] jars = dir.list((d, name) -> name.startsWith("pytorch-") && name.endsWith(".jar"));
    boolean unpacked = jars != null && jars.length > 0; // a first run left libtorch there
    long free = dir.getUsableSpace();
    if ((!unpacked && free < CACHE_BYTES) || free < (16L << 20)) {
      return "JavaCPP's cache folder " + dir + " has " + (free >> 20) + " MB free; unpacking the native libraries "
          + "needs about " + (CACHE_BYTES >> 20) + " MB";
    }
    return null;
  }

  private static IllegalStateException error(Throwable t) {
    String cache = cacheProblem();
    if (cache != null) {
      return new CacheException(cache + ". Point it at a writable folder with room: start the JVM with "
          + "-Dorg.bytedeco.javacpp.cachedir=DIR (./deepspg: DEEPSPG_JAVA_OPTS=-Dorg.bytedeco.javacpp.cachedir=DIR). "
          + "Cause: " + t, t);
    }
    return new IllegalStateException(
        "DeepSPG native libraries could not be loaded for platform " + Loader.getPlatform() + ": " + t
            + ". Needed on the class path: org.bytedeco:pytorch:2.10.0-1.5.13 with classifier "
            + Loader.getPlatform() + " (or " + Loader.getPlatform() + "-gpu with -Pgpu), "
            + "org.bytedeco:javacpp:1.5.13:" + Loader.getPlatform()
            + " and org.deepspg:deepspg-kernels built for this platform (mvn install from the repository root).",
        t);
  }

  /** @return the file the kernel library was loaded from (JavaCPP's cache or the build folder) */
  public static String libraryPath() {
    ensureLoaded();
    String[] paths = Loader.getLoadedLibraries().entrySet().stream()
        .filter(e -> e.getKey().contains("deepspg_kernels") || e.getValue().contains("deepspg_kernels"))
        .map(java.util.Map.Entry::getValue).toArray(String[]::new);
    return paths.length == 0 ? "unknown" : paths[0];
  }

  /** @return the kernel library's version string */
  public static String kernelVersion() {
    ensureLoaded();
    return kernels.deepspg_version().getString();
  }

  /**
   * A libtorch (c10) error message without the C++ stack trace it carries ("Exception raised from ... (most recent
   * call first):" and "frame #N: ..." lines), which says nothing to a user; the exception itself keeps it.
   *
   * @param message the message, or null
   * @return its lines before the trace (the message unchanged when it has none)
   */
  public static String withoutCppTrace(String message) {
    if (message == null) return null;
    int cut = message.indexOf("\nException raised from ");
    int frame = message.indexOf("\nframe #");
    if (frame >= 0 && (cut < 0 || frame < cut)) cut = frame;
    return cut < 0 ? message : message.substring(0, cut).strip();
  }

  /** @return one line describing how the kernel library was built (compiler, OpenMP, CUDA architectures) */
  public static String buildInfo() {
    ensureLoaded();
    return kernels.deepspg_build_info().getString();
  }

  /** @return true when the kernel library contains the CUDA kernels */
  public static boolean cudaKernelsCompiled() {
    ensureLoaded();
    return kernels.deepspg_cuda_compiled() != 0;
  }

  /** @return the number of CUDA devices the kernel library sees (0 without driver or GPU) */
  public static int cudaDeviceCount() {
    ensureLoaded();
    return kernels.deepspg_cuda_device_count();
  }

  /**
   * Throws when a kernel returned a non-zero status, with the library's message for this thread.
   *
   * @param status the kernel's return code
   * @param op the op name for the message
   */
  static void check(int status, String op) {
    if (status == kernels.DEEPSPG_OK) return;
    String msg = kernels.deepspg_last_error().getString();
    if (status == kernels.DEEPSPG_ERR_INVALID_ARGUMENT) throw new IllegalArgumentException(op + ": " + msg);
    throw new IllegalStateException(op + " failed (status " + status + "): " + msg);
  }
}
