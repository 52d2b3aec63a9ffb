// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Average pooling, float32, CPU, with libtorch's CPU bits, for ESPNetv2's inference (docs/priors.md).
//
// 3x3 average pooling, stride 2, zero padding 1, padding counted (PyTorch's avg_pool2d(x, 3, 2, 1,
// count_include_pad=True)): ESPNetv2's down-samplers pool their input and the network input this way.
//   y[p][i][j] = (sum_{a, e < 3} x[p][2 i + a - 1][2 j + e - 1]) / 9       x zero outside the plane
//   Ho = (H - 1) / 2 + 1, Wo = (W - 1) / 2 + 1
// The nine terms are added in float in row-major window order starting from +0, then divided by 9: libtorch's CPU
// kernel (cpu_avg_pool2d) does the same with the out-of-plane terms skipped, and adding a +0 term leaves a float sum
// unchanged (the sum cannot be -0: it starts at +0), so the result has libtorch's bits. Why: that kernel computes each
// output with scalar code and per-output window bounds; it took 10-13 % of ESPNetv2's encoder at 608x416 (perf,
// 2026-12-06). Here an output row is three input rows' vector sums, in parallel over (plane, output row).
//
// Adaptive average pooling to [Ho, Wo] (PyTorch's adaptive_avg_pool2d: ESPNetv2's pyramid pooling): output (i, j)
// averages rows [floor(i H / Ho), ceil((i + 1) H / Ho)) and columns likewise, the window's terms added in float in
// row-major order from +0, the sum divided by the row count and then by the column count, as libtorch's loop does
// (the same bits). Its loop computes window bounds per output in scalar code (18 % of a full ESPNetv2 forward);
// here the outputs of a row are vector lanes over precomputed column windows.
#include <algorithm>
#include <initializer_list>
#include <string>
#include <vector>

#include "../common/common.h"

namespace deepspg::ops {
namespace {

/** One output row from input rows r0, r1, r2 (any of them a zero row) of width w; wo = (w - 1) / 2 + 1 outputs. */
DEEPSPG_VECTOR_CLONES void pool_row(const float* __restrict r0, const float* __restrict r1,
                                    const float* __restrict r2, int64_t w, float* __restrict y) {
  const int64_t wo = (w - 1) / 2 + 1;
  // Columns 2j-1, 2j, 2j+1 lie in the row for 1 <= j <= (w - 2) / 2; the first and (for odd w) last output are apart.
  const int64_t inner_end = std::min(wo, w / 2);
  auto edge = [&](int64_t j) {
    auto at = [w](const float* r, int64_t c) { return c >= 0 && c < w ? r[c] : 0.0f; };
    float s = 0.0f;
    for (const float* r : {r0, r1, r2})
      for (int64_t c = 2 * j - 1; c <= 2 * j + 1; ++c) s += at(r, c);
    y[j] = s / 9.0f;
  };
  edge(0);
#pragma omp simd
  for (int64_t j = 1; j < inner_end; ++j) {
    const int64_t c = 2 * j;
    float s = 0.0f;
    s += r0[c - 1];
    s += r0[c];
    s += r0[c + 1];
    s += r1[c - 1];
    s += r1[c];
    s += r1[c + 1];
    s += r2[c - 1];
    s += r2[c];
    s += r2[c + 1];
    y[j] = s / 9.0f;
  }
  for (int64_t j = std::max<int64_t>(1, inner_end); j < wo; ++j) edge(j);
}

/**
 * Adaptive average pooling of one output row: window rows [r0, r1) of plane xp (width w), output columns j < wo with
 * windows [c0[j], c0[j] + kw[j]) (kw[j] <= kw_max). Each output's terms are added in row-major window order from +0
 * (a lane past its window adds +0, which leaves the sum's bits unchanged), then divided by the row count and by the
 * column count, as libtorch's loop does; the outputs of the row are vector lanes.
 */
DEEPSPG_VECTOR_CLONES void adaptive_row(const float* xp, int64_t w, int64_t r0, int64_t r1, const int32_t* c0,
                                        const int32_t* kw, int32_t kw_max, int64_t wo, float* __restrict sum,
                                        float* __restrict y) {
  for (int64_t j = 0; j < wo; ++j) sum[j] = 0.0f;
  for (int64_t r = r0; r < r1; ++r) {
    const float* row = xp + r * w;
    for (int32_t t = 0; t < kw_max; ++t) {
#pragma omp simd
      for (int64_t j = 0; j < wo; ++j) {
        const float v = row[c0[j] + std::min(t, kw[j] - 1)];  // in the window whatever t: a plain gather
        sum[j] += t < kw[j] ? v : 0.0f;
      }
    }
  }
  const float kh = static_cast<float>(r1 - r0);
#pragma omp simd
  for (int64_t j = 0; j < wo; ++j) y[j] = sum[j] / kh / static_cast<float>(kw[j]);
}

}  // namespace
}  // namespace deepspg::ops

extern "C" {

int32_t deepspg_avg_pool3x3s2_cpu_f32(const float* x, int64_t planes, int64_t h, int64_t w, float* y) {
  using namespace deepspg::ops;
  const char* fn = "deepspg_avg_pool3x3s2_cpu_f32";
  if (planes < 0 || h < 0 || w < 0) {
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": negative size planes=" +
                                                          std::to_string(planes) + " h=" + std::to_string(h) +
                                                          " w=" + std::to_string(w));
  }
  if (planes * h * w == 0) return detail::ok();
  DEEPSPG_CHECK_PTR(fn, x);
  DEEPSPG_CHECK_PTR(fn, y);
  const int64_t ho = (h - 1) / 2 + 1, wo = (w - 1) / 2 + 1, rows = planes * ho;
  const std::vector<float> zero(static_cast<size_t>(w), 0.0f);
#pragma omp parallel for schedule(static) if (planes * h * w >= detail::kOmpMinWork)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t p = r / ho, i = r % ho, top = 2 * i - 1;
    const float* xp = x + p * h * w;
    const float* r0 = top >= 0 ? xp + top * w : zero.data();
    const float* r2 = top + 2 < h ? xp + (top + 2) * w : zero.data();
    pool_row(r0, xp + (top + 1) * w, r2, w, y + r * wo);
  }
  return detail::ok();
}

int32_t deepspg_adaptive_avg_pool_cpu_f32(const float* x, int64_t planes, int64_t h, int64_t w, int64_t ho, int64_t wo,
                                          float* y) {
  using namespace deepspg::ops;
  const char* fn = "deepspg_adaptive_avg_pool_cpu_f32";
  if (planes < 0 || h < 1 || w < 1 || ho < 1 || wo < 1 || h > INT32_MAX || w > INT32_MAX) {
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT,
                        std::string(fn) + ": need planes >= 0 and positive sizes, got planes=" + std::to_string(planes) +
                            " input " + std::to_string(h) + "x" + std::to_string(w) + " output " + std::to_string(ho) +
                            "x" + std::to_string(wo));
  }
  if (planes == 0) return detail::ok();
  DEEPSPG_CHECK_PTR(fn, x);
  DEEPSPG_CHECK_PTR(fn, y);
  // window of output index i of n over an input of m: [floor(i m / n), ceil((i + 1) m / n))
  auto first = [](int64_t i, int64_t n, int64_t m) { return i * m / n; };
  auto last = [](int64_t i, int64_t n, int64_t m) { return ((i + 1) * m + n - 1) / n; };
  std::vector<int32_t> c0(static_cast<size_t>(wo)), kw(static_cast<size_t>(wo));
  int32_t kw_max = 0;
  for (int64_t j = 0; j < wo; ++j) {
    c0[j] = static_cast<int32_t>(first(j, wo, w));
    kw[j] = static_cast<int32_t>(last(j, wo, w) - c0[j]);
    kw_max = std::max(kw_max, kw[j]);
  }
  const int64_t rows = planes * ho;
#pragma omp parallel if (planes * h * w >= detail::kOmpMinWork)
  {
    std::vector<float> sum(static_cast<size_t>(wo));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t p = r / ho, i = r % ho;
      adaptive_row(x + p * h * w, w, first(i, ho, h), last(i, ho, h), c0.data(), kw.data(), kw_max, wo, sum.data(),
                   y + r * wo);
    }
  }
  return detail::ok();
}

}  // extern "C"
