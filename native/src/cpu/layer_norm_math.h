// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Internal: the channel LayerNorm of one tile of positions (spec ARCHITECTURE.md section 1.2, LN_c), shared by the
// LN kernel (channel_layer_norm.cpp) and the fused feed-forward block (ffn_fused.cpp), so that both compute the same
// bits: two passes (mean, then centred variance, biased), accumulated in T, channel by channel over a run of
// consecutive positions (the inner, vectorised loop).
#pragma once

#include <cmath>
#include <cstdint>

namespace deepspg::ops::ln_math {

/**
 * For positions k < len: mu[k] = mean_c x[c][k], rs[k] = 1 / sqrt(var_c x[c][k] + eps), and
 * y[c][k] = (x[c][k] - mu[k]) rs[k] gamma[c] + beta[c], with x[c] = x + c xstride and y[c] = y + c ystride. y may be x
 * (same stride): each element is read before it is written.
 */
template <typename T>
inline void tile(const T* x, int64_t xstride, int64_t channels, int64_t len, const T* gamma, const T* beta, T eps,
                 T* y, int64_t ystride, T* mu, T* rs) {
  const T inv_c = T(1) / static_cast<T>(channels);
#pragma omp simd
  for (int64_t k = 0; k < len; ++k) mu[k] = 0;
  for (int64_t c = 0; c < channels; ++c) {
    const T* xc = x + c * xstride;
#pragma omp simd
    for (int64_t k = 0; k < len; ++k) mu[k] += xc[k];
  }
#pragma omp simd
  for (int64_t k = 0; k < len; ++k) {
    mu[k] *= inv_c;
    rs[k] = 0;
  }
  for (int64_t c = 0; c < channels; ++c) {
    const T* xc = x + c * xstride;
#pragma omp simd
    for (int64_t k = 0; k < len; ++k) {
      const T d = xc[k] - mu[k];
      rs[k] += d * d;
    }
  }
#pragma omp simd
  for (int64_t k = 0; k < len; ++k) rs[k] = T(1) / std::sqrt(rs[k] * inv_c + eps);
  for (int64_t c = 0; c < channels; ++c) {
    const T* xc = x + c * xstride;
    T* yc = y + c * ystride;
    const T gc = gamma[c], bc = beta[c];
#pragma omp simd
    for (int64_t k = 0; k < len; ++k) yc[k] = (xc[k] - mu[k]) * rs[k] * gc + bc;
  }
}

}  // namespace deepspg::ops::ln_math
