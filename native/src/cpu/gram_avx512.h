// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Internal: the AVX-512F Gram micro-kernel, out[i ldo + j] += sum_k a[i, k] b[j, k] over one tile of columns, shared
// by the fused channel attention (its P = X Y^T and dA = dO V'^T sweeps, channel_attention.cpp) and the 1x1
// convolution's weight gradient (dW = dY X^T, conv2d_direct.cpp). Blocks of 5 rows of `a` x 5 rows of `b` hold 25
// accumulators (10 loads per 25 FMAs); each block sums its `len` columns in float and adds the lane sums to `out` in
// double once. Column tails use masked loads. Callers compile these only for CPUs with AVX-512F (they dispatch on
// CPUID); the functions carry the target attribute, so the including file may be built for a lower ISA.
#pragma once

#if defined(__x86_64__)
#include <immintrin.h>

#include <cstdint>

// Function attributes for AVX-512F code in a file built for a lower ISA (also used by channel_attention.cpp and
// conv2d_direct.cpp). FMA is named too: every AVX-512 CPU has it, and GCC's avx512f does not imply it, so without
// it a Debug build (no -march, e.g. the sanitizer builds) could not inline the 256-bit FMA intrinsics.
#define DEEPSPG_AVX512 __attribute__((target("avx512f,fma")))
#define DEEPSPG_AVX512_INLINE __attribute__((target("avx512f,fma"), always_inline)) inline

// GCC 12 warns, wrongly, about the _mm256_undefined_pd() inside its own _mm512_reduce_add_ps.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
namespace deepspg::ops::gram512 {

constexpr int kBlockI = 5, kBlockJ = 5;

inline __mmask16 tail_mask(int64_t rem) { return static_cast<__mmask16>((1u << rem) - 1u); }

template <int I, int J, bool Masked>
DEEPSPG_AVX512_INLINE void step(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t k,
                                     __mmask16 m, __m512 (&acc)[I][J]) {
  __m512 yb[J];
#pragma GCC unroll 8
  for (int j = 0; j < J; ++j)
    yb[j] = Masked ? _mm512_maskz_loadu_ps(m, b + j * ldb + k) : _mm512_loadu_ps(b + j * ldb + k);
#pragma GCC unroll 8
  for (int i = 0; i < I; ++i) {
    const __m512 x = Masked ? _mm512_maskz_loadu_ps(m, a + i * lda + k) : _mm512_loadu_ps(a + i * lda + k);
#pragma GCC unroll 8
    for (int j = 0; j < J; ++j) acc[i][j] = _mm512_fmadd_ps(x, yb[j], acc[i][j]);
  }
}

/** out[i ldo + j] += sum_k a[i, k] b[j, k] for the I x J block (double). */
template <int I, int J>
DEEPSPG_AVX512 void block(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t len, double* out,
                               int64_t ldo) {
  __m512 acc[I][J];
#pragma GCC unroll 8
  for (int i = 0; i < I; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < J; ++j) acc[i][j] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= len; k += 16) step<I, J, false>(a, lda, b, ldb, k, 0xFFFF, acc);
  if (k < len) step<I, J, true>(a, lda, b, ldb, k, tail_mask(len - k), acc);
  for (int i = 0; i < I; ++i)
    for (int j = 0; j < J; ++j) out[i * ldo + j] += static_cast<double>(_mm512_reduce_add_ps(acc[i][j]));
}

template <int I>
DEEPSPG_AVX512 void rows(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t rb, int64_t len,
                              double* out, int64_t ldo) {
  int64_t j = 0;
  for (; j + kBlockJ <= rb; j += kBlockJ) block<I, kBlockJ>(a, lda, b + j * ldb, ldb, len, out + j, ldo);
  switch (rb - j) {
    case 1: block<I, 1>(a, lda, b + j * ldb, ldb, len, out + j, ldo); break;
    case 2: block<I, 2>(a, lda, b + j * ldb, ldb, len, out + j, ldo); break;
    case 3: block<I, 3>(a, lda, b + j * ldb, ldb, len, out + j, ldo); break;
    case 4: block<I, 4>(a, lda, b + j * ldb, ldb, len, out + j, ldo); break;
    default: break;
  }
}

/**
 * out[i ldo + j] += sum_{k < len} a[i lda + k] b[j ldb + k] for i < ra, j < rb (double), in a fixed order: the float
 * sums of each 5 x 5 block over the `len` columns, then one double add per entry.
 */
DEEPSPG_AVX512 inline void gram(const float* a, int64_t lda, int64_t ra, const float* b, int64_t ldb,
                                     int64_t rb, int64_t len, double* out, int64_t ldo) {
  int64_t i = 0;
  for (; i + kBlockI <= ra; i += kBlockI) rows<kBlockI>(a + i * lda, lda, b, ldb, rb, len, out + i * ldo, ldo);
  switch (ra - i) {
    case 1: rows<1>(a + i * lda, lda, b, ldb, rb, len, out + i * ldo, ldo); break;
    case 2: rows<2>(a + i * lda, lda, b, ldb, rb, len, out + i * ldo, ldo); break;
    case 3: rows<3>(a + i * lda, lda, b, ldb, rb, len, out + i * ldo, ldo); break;
    case 4: rows<4>(a + i * lda, lda, b, ldb, rb, len, out + i * ldo, ldo); break;
    default: break;
  }
}

}  // namespace deepspg::ops::gram512
#pragma GCC diagnostic pop

#endif  // __x86_64__
