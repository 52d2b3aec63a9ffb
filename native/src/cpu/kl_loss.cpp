// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Semantic KL loss, CPU backend (spec ARCHITECTURE.md section 4.3; DeepSPG eq. 13).
//
// Per pixel of logits [B, K, HW]: P_gt = softmax_K(z_gt / T), log P_out = log_softmax_K(z_out / T),
//   L = 1/(B*HW) sum_{b,pixel} sum_k P_gt (log P_gt - log P_out),   dL/dz_out = (P_out - P_gt) / (T*B*HW).
// (Not kl_div's 'batchmean' nor 'mean': the average is over pixels, not batch items or classes.)
// Value and gradient in one pass over a tile of pixels: the classes of a pixel are HW apart, so a tile of 64 pixels
// keeps its running maxima and sums in small arrays and every class row is read contiguously.
// Dtypes float, double; per-tile double sums reduced in tile order (deterministic). A class whose ground-truth logit
// is -inf has P_gt = 0 and adds 0 log 0 = 0 (not 0 * -inf = NaN), as the limit and scipy's rel_entr have it.
// float: two exponentials per logit (each kept for the last pass instead of recomputing exp(log p)), evaluated with the
// vectorised fast_exp of gelu_math.h (relative error < 4e-6); per-pixel sums in float, like libtorch's float
// log_softmax. The first version used std::exp in double four times per logit and ran 2.5x slower than the stock
// log_softmax chain on the dev VM (BENCHMARKS.md). double: std::exp/std::log throughout (the reference precision).
#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "../common/common.h"
#include "gelu_math.h"

namespace deepspg::ops {
namespace {

constexpr int64_t kPix = 64;

// One tile of len <= kPix pixels of batch item b, float: returns the tile's KL sum, writes its gradient. eo, eg:
// scratch of k * kPix floats.
double kl_tile_f32(const float* o, const float* g, int64_t k, int64_t hw, int64_t len, float it, float gscale,
                   float* grad, float* eo, float* eg) {
  float mo[kPix], mg[kPix], so[kPix], sg[kPix], lso[kPix], lsg[kPix], kl[kPix];
  for (int64_t q = 0; q < len; ++q) mo[q] = mg[q] = -INFINITY, so[q] = sg[q] = kl[q] = 0.f;
  for (int64_t c = 0; c < k; ++c)
#pragma omp simd
    for (int64_t q = 0; q < len; ++q) {
      mo[q] = std::max(mo[q], it * o[c * hw + q]);
      mg[q] = std::max(mg[q], it * g[c * hw + q]);
    }
  for (int64_t c = 0; c < k; ++c)
#pragma omp simd
    for (int64_t q = 0; q < len; ++q) {
      const float a = gelu_math::fast_exp(it * o[c * hw + q] - mo[q]);
      const float e = gelu_math::fast_exp(it * g[c * hw + q] - mg[q]);
      eo[c * kPix + q] = a;
      eg[c * kPix + q] = e;
      so[q] += a;
      sg[q] += e;
    }
  for (int64_t q = 0; q < len; ++q) {
    lso[q] = mo[q] + std::log(so[q]);
    lsg[q] = mg[q] + std::log(sg[q]);
    so[q] = 1.f / so[q];
    sg[q] = 1.f / sg[q];
  }
  for (int64_t c = 0; c < k; ++c) {
#pragma omp simd
    for (int64_t q = 0; q < len; ++q) {
      const float pg = eg[c * kPix + q] * sg[q], lpg = it * g[c * hw + q] - lsg[q];
      kl[q] += lpg == -INFINITY ? 0.f : pg * (lpg - (it * o[c * hw + q] - lso[q]));  // 0 log 0 = 0
    }
    if (grad != nullptr) {
#pragma omp simd
      for (int64_t q = 0; q < len; ++q)
        grad[c * hw + q] = (eo[c * kPix + q] * so[q] - eg[c * kPix + q] * sg[q]) * gscale;
    }
  }
  double s = 0;
  for (int64_t q = 0; q < len; ++q) s += kl[q];
  return s;
}

template <typename T>
int32_t kl_loss(const char* fn, const T* zo, const T* zg, int64_t batch, int64_t k, int64_t hw, double temperature,
                double* loss, T* grad) {
  DEEPSPG_CHECK_PTR(fn, zo);
  DEEPSPG_CHECK_PTR(fn, zg);
  DEEPSPG_CHECK_PTR(fn, loss);
  if (batch < 0 || k < 1 || hw < 0)
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": need batch >= 0, k >= 1, hw >= 0");
  if (!(temperature > 0) || !std::isfinite(temperature))
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT,
                        std::string(fn) + ": temperature must be finite and > 0, got " + std::to_string(temperature));
  const int64_t tiles = (hw + kPix - 1) / kPix, items = batch * tiles;
  if (items == 0) {
    *loss = 0;
    return detail::ok();
  }
  const double it = 1.0 / temperature, scale = 1.0 / (static_cast<double>(batch) * static_cast<double>(hw));
  std::vector<double> part(static_cast<size_t>(items));
  if constexpr (std::is_same_v<T, float>) {
    const float itf = static_cast<float>(it), gscale = static_cast<float>(it * scale);
#pragma omp parallel if (batch * k * hw >= detail::kOmpMinWork)
    {
      std::vector<float> scratch(static_cast<size_t>(2 * k * kPix));
#pragma omp for schedule(static)
      for (int64_t w = 0; w < items; ++w) {
        const int64_t b = w / tiles, p0 = (w % tiles) * kPix, len = std::min(kPix, hw - p0);
        const int64_t off = b * k * hw + p0;
        part[w] = kl_tile_f32(zo + off, zg + off, k, hw, len, itf, gscale, grad == nullptr ? nullptr : grad + off,
                              scratch.data(), scratch.data() + k * kPix);
      }
    }
    double total = 0;
    for (int64_t w = 0; w < items; ++w) total += part[w];
    *loss = total * scale;
    return detail::ok();
  }
#pragma omp parallel for schedule(static) if (batch * k * hw >= detail::kOmpMinWork)
  for (int64_t w = 0; w < items; ++w) {
    const int64_t b = w / tiles, p0 = (w % tiles) * kPix, len = std::min(kPix, hw - p0);
    const T* o = zo + b * k * hw + p0;
    const T* g = zg + b * k * hw + p0;
    double mo[kPix], mg[kPix], so[kPix], sg[kPix], kl[kPix];
    for (int64_t q = 0; q < len; ++q) mo[q] = mg[q] = -INFINITY, so[q] = sg[q] = kl[q] = 0;
    for (int64_t c = 0; c < k; ++c)
      for (int64_t q = 0; q < len; ++q) {
        mo[q] = std::max(mo[q], it * o[c * hw + q]);
        mg[q] = std::max(mg[q], it * g[c * hw + q]);
      }
    for (int64_t c = 0; c < k; ++c)
      for (int64_t q = 0; q < len; ++q) {
        so[q] += std::exp(it * o[c * hw + q] - mo[q]);
        sg[q] += std::exp(it * g[c * hw + q] - mg[q]);
      }
    for (int64_t q = 0; q < len; ++q) so[q] = std::log(so[q]), sg[q] = std::log(sg[q]);
    for (int64_t c = 0; c < k; ++c)
      for (int64_t q = 0; q < len; ++q) {
        const double lpo = it * o[c * hw + q] - mo[q] - so[q];
        const double lpg = it * g[c * hw + q] - mg[q] - sg[q];
        const double pg = std::exp(lpg);
        kl[q] += lpg == -INFINITY ? 0.0 : pg * (lpg - lpo);  // a class P_gt gives 0 (a -inf logit) adds 0 log 0 = 0
        if (grad != nullptr) grad[b * k * hw + p0 + c * hw + q] = static_cast<T>((std::exp(lpo) - pg) * it * scale);
      }
    double s = 0;
    for (int64_t q = 0; q < len; ++q) s += kl[q];
    part[w] = s;
  }
  double total = 0;
  for (int64_t w = 0; w < items; ++w) total += part[w];
  *loss = total * scale;
  return detail::ok();
}

}  // namespace
}  // namespace deepspg::ops

extern "C" {

int32_t deepspg_kl_loss_cpu_f32(const float* z_out, const float* z_gt, int64_t batch, int64_t k, int64_t hw,
                                double temperature, double* loss, float* grad) {
  return deepspg::ops::kl_loss(__func__, z_out, z_gt, batch, k, hw, temperature, loss, grad);
}
int32_t deepspg_kl_loss_cpu_f64(const double* z_out, const double* z_gt, int64_t batch, int64_t k, int64_t hw,
                                double temperature, double* loss, double* grad) {
  return deepspg::ops::kl_loss(__func__, z_out, z_gt, batch, k, hw, temperature, loss, grad);
}

}  // extern "C"
