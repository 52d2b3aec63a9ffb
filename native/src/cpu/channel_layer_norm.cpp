// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Channel LayerNorm of NCHW tensors (spec ARCHITECTURE.md section 1.2, LN_c), CPU backend.
//
// At every pixel n of batch item b, over the C channels (biased variance):
//   forward   mu = mean_c x,  var = mean_c (x - mu)^2,  rstd = 1 / sqrt(var + eps)
//             xhat = (x - mu) rstd,  y = xhat gamma_c + beta_c
//   backward  g = dy gamma_c
//             dx = rstd (g - mean_c g - xhat mean_c(g xhat))
//             dgamma_c = sum_{b,n} dy xhat,  dbeta_c = sum_{b,n} dy
// Layout: x, y, dy, dx [B, C, HW] contiguous; gamma, beta, dgamma, dbeta [C]; mean, rstd [B, HW] (saved by the
// forward for the backward). Dtypes float, double. No permute: the kernel walks channels in the outer loop and a tile
// of kTile pixels in the inner (vectorised) loop, keeping the per-pixel statistics in small tile buffers. Two passes
// (mean, then centred variance), accumulated in the element type. dgamma/dbeta: one partial per tile in double,
// reduced in tile order, so the result does not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "../common/common.h"
#include "layer_norm_math.h"

namespace deepspg::ops {
namespace {

// 128 pixels per tile: C = 160 channels x 128 pixels x 4 B = 80 KB of x per tile (L2), and HW = 253k pixels gives
// ~2000 tiles per image to share between threads.
constexpr int64_t kTile = 128;

template <typename T>
int32_t check_sizes(const char* fn, int64_t batch, int64_t channels, int64_t hw) {
  if (batch < 0 || channels < 1 || hw < 0) {
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT,
                        std::string(fn) + ": need batch >= 0, channels >= 1, hw >= 0, got batch=" +
                            std::to_string(batch) + " channels=" + std::to_string(channels) +
                            " hw=" + std::to_string(hw));
  }
  return DEEPSPG_OK;
}

template <typename T>
int32_t forward_impl(const char* fn, const T* x, const T* gamma, const T* beta, int64_t batch, int64_t channels,
                     int64_t hw, double eps, T* y, T* mean, T* rstd) {
  if (int32_t st = check_sizes<T>(fn, batch, channels, hw)) return st;
  if (!(eps >= 0)) return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": eps must be >= 0");
  if (batch * hw == 0) return detail::ok();
  DEEPSPG_CHECK_PTR(fn, x);
  DEEPSPG_CHECK_PTR(fn, gamma);
  DEEPSPG_CHECK_PTR(fn, beta);
  DEEPSPG_CHECK_PTR(fn, y);
  const int64_t tiles = (hw + kTile - 1) / kTile, C = channels;
  const T teps = static_cast<T>(eps);
#pragma omp parallel for schedule(static) if (batch * C * hw >= detail::kOmpMinWork)
  for (int64_t item = 0; item < batch * tiles; ++item) {
    const int64_t b = item / tiles, n0 = (item % tiles) * kTile, len = std::min(kTile, hw - n0);
    T mu[kTile], rs[kTile];
    ln_math::tile(x + b * C * hw + n0, hw, C, len, gamma, beta, teps, y + b * C * hw + n0, hw, mu, rs);
    if (mean != nullptr)
      for (int64_t k = 0; k < len; ++k) mean[b * hw + n0 + k] = mu[k];
    if (rstd != nullptr)
      for (int64_t k = 0; k < len; ++k) rstd[b * hw + n0 + k] = rs[k];
  }
  return detail::ok();
}

template <typename T>
int32_t backward_impl(const char* fn, const T* dy, const T* x, const T* gamma, const T* mean, const T* rstd,
                      int64_t batch, int64_t channels, int64_t hw, T* dx, T* dgamma, T* dbeta) {
  if (int32_t st = check_sizes<T>(fn, batch, channels, hw)) return st;
  const int64_t C = channels;
  for (int64_t c = 0; c < C; ++c) {
    if (dgamma != nullptr) dgamma[c] = 0;
    if (dbeta != nullptr) dbeta[c] = 0;
  }
  if (batch * hw == 0 || (dx == nullptr && dgamma == nullptr && dbeta == nullptr)) return detail::ok();
  DEEPSPG_CHECK_PTR(fn, dy);
  DEEPSPG_CHECK_PTR(fn, x);
  DEEPSPG_CHECK_PTR(fn, gamma);
  DEEPSPG_CHECK_PTR(fn, mean);
  DEEPSPG_CHECK_PTR(fn, rstd);
  const int64_t tiles = (hw + kTile - 1) / kTile;
  const bool param_grads = dgamma != nullptr || dbeta != nullptr;
  std::vector<double> partial(param_grads ? static_cast<size_t>(batch * tiles * 2 * C) : 0, 0.0);
  const T inv_c = T(1) / static_cast<T>(C);
#pragma omp parallel for schedule(static) if (batch * C * hw >= detail::kOmpMinWork)
  for (int64_t item = 0; item < batch * tiles; ++item) {
    const int64_t b = item / tiles, n0 = (item % tiles) * kTile, len = std::min(kTile, hw - n0);
    const T* xb = x + b * C * hw + n0;
    const T* db = dy + b * C * hw + n0;
    const T* mu = mean + b * hw + n0;
    const T* rs = rstd + b * hw + n0;
    if (param_grads) {
      double* pp = partial.data() + item * 2 * C;
      for (int64_t c = 0; c < C; ++c) {
        const T* xc = xb + c * hw;
        const T* dc = db + c * hw;
        T sg = 0, sb = 0;
#pragma omp simd reduction(+ : sg, sb)
        for (int64_t k = 0; k < len; ++k) {
          sg += dc[k] * (xc[k] - mu[k]) * rs[k];
          sb += dc[k];
        }
        pp[c] = static_cast<double>(sg);
        pp[C + c] = static_cast<double>(sb);
      }
    }
    if (dx == nullptr) continue;
    T m1[kTile], m2[kTile];  // mean_c g, mean_c g xhat
#pragma omp simd
    for (int64_t k = 0; k < len; ++k) m1[k] = 0, m2[k] = 0;
    for (int64_t c = 0; c < C; ++c) {
      const T* xc = xb + c * hw;
      const T* dc = db + c * hw;
      const T gc = gamma[c];
#pragma omp simd
      for (int64_t k = 0; k < len; ++k) {
        const T g = dc[k] * gc;
        m1[k] += g;
        m2[k] += g * (xc[k] - mu[k]) * rs[k];
      }
    }
#pragma omp simd
    for (int64_t k = 0; k < len; ++k) m1[k] *= inv_c, m2[k] *= inv_c;
    T* dxb = dx + b * C * hw + n0;
    for (int64_t c = 0; c < C; ++c) {
      const T* xc = xb + c * hw;
      const T* dc = db + c * hw;
      T* oc = dxb + c * hw;
      const T gc = gamma[c];
#pragma omp simd
      for (int64_t k = 0; k < len; ++k) {
        const T xhat = (xc[k] - mu[k]) * rs[k];
        oc[k] = rs[k] * (dc[k] * gc - m1[k] - xhat * m2[k]);
      }
    }
  }
  if (param_grads) {
    // Deterministic: per channel, tile by tile in (batch, pixel) order.
    for (int64_t c = 0; c < C; ++c) {
      double sg = 0, sb = 0;
      for (int64_t item = 0; item < batch * tiles; ++item) {
        sg += partial[item * 2 * C + c];
        sb += partial[item * 2 * C + C + c];
      }
      if (dgamma != nullptr) dgamma[c] = static_cast<T>(sg);
      if (dbeta != nullptr) dbeta[c] = static_cast<T>(sb);
    }
  }
  return detail::ok();
}

}  // namespace
}  // namespace deepspg::ops

// ---------------------------------------------------------------------------------------------------------------
// C ABI

extern "C" {

int32_t deepspg_channel_layernorm_forward_cpu_f32(const float* x, const float* gamma, const float* beta,
                                                  int64_t batch, int64_t channels, int64_t hw, double eps, float* y,
                                                  float* mean, float* rstd) {
  return deepspg::ops::forward_impl(__func__, x, gamma, beta, batch, channels, hw, eps, y, mean, rstd);
}

int32_t deepspg_channel_layernorm_forward_cpu_f64(const double* x, const double* gamma, const double* beta,
                                                  int64_t batch, int64_t channels, int64_t hw, double eps, double* y,
                                                  double* mean, double* rstd) {
  return deepspg::ops::forward_impl(__func__, x, gamma, beta, batch, channels, hw, eps, y, mean, rstd);
}

int32_t deepspg_channel_layernorm_backward_cpu_f32(const float* dy, const float* x, const float* gamma,
                                                   const float* mean, const float* rstd, int64_t batch,
                                                   int64_t channels, int64_t hw, float* dx, float* dgamma,
                                                   float* dbeta) {
  return deepspg::ops::backward_impl(__func__, dy, x, gamma, mean, rstd, batch, channels, hw, dx, dgamma, dbeta);
}

int32_t deepspg_channel_layernorm_backward_cpu_f64(const double* dy, const double* x, const double* gamma,
                                                   const double* mean, const double* rstd, int64_t batch,
                                                   int64_t channels, int64_t hw, double* dx, double* dgamma,
                                                   double* dbeta) {
  return deepspg::ops::backward_impl(__func__, dy, x, gamma, mean, rstd, batch, channels, hw, dx, dgamma, dbeta);
}

#if !DEEPSPG_WITH_CUDA
// Entry points of src/cuda/channel_layer_norm.cu for a build without a CUDA compiler (same ABI in every build).
int32_t deepspg_channel_layernorm_forward_cuda_f32(const float*, const float*, const float*, int64_t, int64_t, int64_t,
                                                   double, float*, float*, float*, void*) {
  return deepspg::ops::detail::fail(
      DEEPSPG_ERR_NOT_COMPILED, "deepspg_channel_layernorm_forward_cuda_f32: libdeepspg_kernels was built without CUDA");
}
int32_t deepspg_channel_layernorm_backward_cuda_f32(const float*, const float*, const float*, const float*,
                                                    const float*, int64_t, int64_t, int64_t, float*, float*, float*,
                                                    void*, void*) {
  return deepspg::ops::detail::fail(
      DEEPSPG_ERR_NOT_COMPILED,
      "deepspg_channel_layernorm_backward_cuda_f32: libdeepspg_kernels was built without CUDA");
}
#endif

}  // extern "C"
