// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// The fp32 FMA peak of this machine, measured: every OpenMP thread runs independent chains of fused multiply-adds
// on 8-lane (256-bit) and 16-lane (512-bit, where the compiler targets AVX-512) vectors for ~0.5 s each; prints
// the best GFLOP/s (1 FMA = 2 FLOP) of the two widths. The denominator of the "% of FMA peak" column of
// benchmarks/peers/run-peers.sh: a measured figure instead of a guess at the clock and the FMA units.
// Build and run: cc -O2 -march=native -fopenmp fma_peak.c -o fma_peak && OMP_NUM_THREADS=2 ./fma_peak
#include <omp.h>
#include <stdio.h>

#define CHAINS 12          // independent accumulators: enough to cover FMA latency x throughput
#define ITERS 4000000L
#define STEP(v) v = v * a + b;
#define ALL(X) X(v0) X(v1) X(v2) X(v3) X(v4) X(v5) X(v6) X(v7) X(v8) X(v9) X(v10) X(v11)
#define SUM(v) for (int l = 0; l < (int)(sizeof(v) / sizeof(float)); l++) sink += v[l];

// One FMA chain kernel per vector width; the accumulators stay in registers (no array, no memory operands).
#define KERNEL(NAME, LANES)                                                        \
  typedef float NAME##_v __attribute__((vector_size(LANES * 4)));                 \
  static double NAME(void) {                                                       \
    double t0 = omp_get_wtime();                                                   \
    float sink = 0;                                                                \
    _Pragma("omp parallel reduction(+ : sink)") {                                \
      NAME##_v a, b;                                                               \
      for (int l = 0; l < LANES; l++) { a[l] = 0.999999f; b[l] = 1e-7f; }         \
      NAME##_v v0 = a, v1 = a + b, v2 = a + 2 * b, v3 = a + 3 * b, v4 = a + 4 * b, v5 = a + 5 * b, \
          v6 = a + 6 * b, v7 = a + 7 * b, v8 = a + 8 * b, v9 = a + 9 * b, v10 = a + 10 * b, v11 = a + 11 * b; \
      for (long i = 0; i < ITERS; i++) {                                           \
        ALL(STEP)                                                                  \
        __asm__ volatile("" : "+x"(v0), "+x"(v1), "+x"(v2), "+x"(v3));            \
      }                                                                            \
      ALL(SUM)                                                                     \
    }                                                                              \
    double s = omp_get_wtime() - t0;                                               \
    if (sink == 12345.f) printf(" ");                                              \
    return 2.0 * LANES * CHAINS * ITERS * omp_get_max_threads() / s / 1e9;         \
  }

KERNEL(fma256, 8)
KERNEL(fma512, 16)

int main(void) {
  double best256 = 0, best512 = 0, g;
  for (int rep = 0; rep < 3; rep++) {
    g = fma256(); if (g > best256) best256 = g;
    g = fma512(); if (g > best512) best512 = g;
  }
  printf("threads %d\ngflops_256bit %.1f\ngflops_512bit %.1f\npeak_gflops %.1f\n", omp_get_max_threads(), best256,
         best512, best256 > best512 ? best256 : best512);
  return 0;
}
