// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// 3x3 average pooling, stride 2, zero padding 1, padding counted (PyTorch's avg_pool2d(x, 3, 2, 1,
// count_include_pad=True)), float32, CPU: ESPNetv2's down-samplers pool their input and the network input this way
// (the image prior's encoder, docs/priors.md).
//   y[p][i][j] = (sum_{a, e < 3} x[p][2 i + a - 1][2 j + e - 1]) / 9       x zero outside the plane
//   Ho = (H - 1) / 2 + 1, Wo = (W - 1) / 2 + 1
// The nine terms are added in float in row-major window order starting from +0, then divided by 9: libtorch's CPU
// kernel (cpu_avg_pool2d) does the same with the out-of-plane terms skipped, and adding a +0 term leaves a float sum
// unchanged (the sum cannot be -0: it starts at +0), so the result has libtorch's bits. Why: that kernel computes each
// output with scalar code and per-output window bounds; it took 10-13 % of ESPNetv2's encoder at 608x416 (perf,
// 2026-12-06). Here an output row is three input rows' vector sums, in parallel over (plane, output row).
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

}  // extern "C"
