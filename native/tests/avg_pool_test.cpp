// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Adaptive average pooling against libtorch's loop, bit for bit, at ESPNetv2's pyramid shapes and odd ones; 3x3 / 2
// average pooling (padding 1, counted) against libtorch's CPU loop (cpu_avg_pool2d: the in-plane terms of
// the window added in float, row-major, from 0, divided by 9), bit for bit: odd and even sizes, one row or column,
// 1x1, planes large enough for the parallel path, one thread against all, signed zeros and infinities; negative sizes
// refused.
#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "test_common.h"

namespace {

std::vector<float> reference(const std::vector<float>& x, int64_t P, int64_t H, int64_t W) {
  const int64_t Ho = (H - 1) / 2 + 1, Wo = (W - 1) / 2 + 1;
  std::vector<float> y(P * Ho * Wo);
  for (int64_t p = 0; p < P; ++p)
    for (int64_t i = 0; i < Ho; ++i)
      for (int64_t j = 0; j < Wo; ++j) {
        const int64_t h0 = std::max<int64_t>(2 * i - 1, 0), h1 = std::min<int64_t>(2 * i + 2, H);
        const int64_t w0 = std::max<int64_t>(2 * j - 1, 0), w1 = std::min<int64_t>(2 * j + 2, W);
        float s = 0.0f;
        for (int64_t a = h0; a < h1; ++a)
          for (int64_t e = w0; e < w1; ++e) s += x[(p * H + a) * W + e];
        y[(p * Ho + i) * Wo + j] = s / static_cast<float>(int64_t{9});
      }
  return y;
}

void run_case(int64_t P, int64_t H, int64_t W, unsigned seed, bool special = false) {
  auto x = dt::randn<float>(P * H * W, seed);
  if (special) {  // signed zeros everywhere in the first plane, an infinity in the second
    for (int64_t k = 0; k < H * W; ++k) x[k] = (k % 2) ? -0.0f : 0.0f;
    if (P > 1) x[H * W + (H / 2) * W + W / 2] = std::numeric_limits<float>::infinity();
  }
  const auto want = reference(x, P, H, W);
  char what[96];
  for (int threads : {1, omp_get_max_threads()}) {
    omp_set_num_threads(threads);
    std::vector<float> y(want.size(), -7.0f);
    std::snprintf(what, sizeof what, "avg pool P=%lld H=%lld W=%lld threads=%d", (long long)P, (long long)H,
                  (long long)W, threads);
    dt::expect_ok(deepspg_avg_pool3x3s2_cpu_f32(x.data(), P, H, W, y.data()), what);
    dt::expect(std::memcmp(y.data(), want.data(), y.size() * sizeof(float)) == 0, what);
  }
}

/** libtorch's adaptive loop: windows [floor(i h / ho), ceil((i + 1) h / ho)), row-major float sums, / kh / kw. */
std::vector<float> adaptive_reference(const std::vector<float>& x, int64_t P, int64_t H, int64_t W, int64_t Ho,
                                      int64_t Wo) {
  std::vector<float> y(P * Ho * Wo);
  for (int64_t p = 0; p < P; ++p)
    for (int64_t i = 0; i < Ho; ++i)
      for (int64_t j = 0; j < Wo; ++j) {
        const int64_t h0 = i * H / Ho, h1 = ((i + 1) * H + Ho - 1) / Ho;
        const int64_t w0 = j * W / Wo, w1 = ((j + 1) * W + Wo - 1) / Wo;
        float s = 0.0f;
        for (int64_t a = h0; a < h1; ++a)
          for (int64_t e = w0; e < w1; ++e) s += x[(p * H + a) * W + e];
        y[(p * Ho + i) * Wo + j] = s / static_cast<float>(h1 - h0) / static_cast<float>(w1 - w0);
      }
  return y;
}

void adaptive_case(int64_t P, int64_t H, int64_t W, int64_t Ho, int64_t Wo, unsigned seed) {
  const auto x = dt::randn<float>(P * H * W, seed);
  const auto want = adaptive_reference(x, P, H, W, Ho, Wo);
  char what[112];
  for (int threads : {1, omp_get_max_threads()}) {
    omp_set_num_threads(threads);
    std::vector<float> y(want.size(), -7.0f);
    std::snprintf(what, sizeof what, "adaptive pool P=%lld %lldx%lld -> %lldx%lld threads=%d", (long long)P,
                  (long long)H, (long long)W, (long long)Ho, (long long)Wo, threads);
    dt::expect_ok(deepspg_adaptive_avg_pool_cpu_f32(x.data(), P, H, W, Ho, Wo, y.data()), what);
    dt::expect(std::memcmp(y.data(), want.data(), y.size() * sizeof(float)) == 0, what);
  }
}

}  // namespace

int main() {
  run_case(1, 1, 1, 1);
  run_case(2, 1, 2, 2);
  run_case(2, 2, 1, 3);
  run_case(3, 1, 37, 4);
  run_case(3, 37, 1, 5);
  run_case(2, 5, 7, 6);
  run_case(2, 6, 8, 7);
  run_case(4, 33, 48, 8);
  run_case(3, 416, 608, 9);   // ESPNetv2's pyramid: the network input at 608x416
  run_case(16, 208, 305, 10);  // level 1's maps, an odd width; large enough for the parallel path
  run_case(2, 9, 11, 11, /*special=*/true);
  // ESPNetv2's pyramid pooling at 608x416 (level-2 maps 104x152): scale 2 and 1.5 back down, 0.5 and 0.1 (at least
  // 5) down, the excitation's 1x1; windows that overlap (1.5), an output larger than the input, a single row
  adaptive_case(3, 208, 304, 104, 152, 12);
  adaptive_case(3, 156, 228, 104, 152, 13);
  adaptive_case(3, 104, 152, 52, 76, 14);
  adaptive_case(3, 104, 152, 11, 16, 15);
  adaptive_case(2, 26, 38, 5, 5, 16);
  adaptive_case(4, 104, 152, 1, 1, 17);
  adaptive_case(2, 7, 9, 11, 13, 18);
  adaptive_case(2, 1, 37, 1, 5, 19);
  adaptive_case(64, 52, 76, 26, 38, 20);  // large enough for the parallel path
  std::vector<float> z(4);
  dt::expect(deepspg_adaptive_avg_pool_cpu_f32(z.data(), 1, 2, 2, 0, 1, z.data()) == DEEPSPG_ERR_INVALID_ARGUMENT,
             "empty output refused");
  dt::expect_ok(deepspg_adaptive_avg_pool_cpu_f32(nullptr, 0, 4, 4, 2, 2, nullptr), "no planes");
  dt::expect(deepspg_avg_pool3x3s2_cpu_f32(z.data(), 1, -1, 1, z.data()) == DEEPSPG_ERR_INVALID_ARGUMENT,
             "negative size refused");
  dt::expect_ok(deepspg_avg_pool3x3s2_cpu_f32(nullptr, 0, 4, 4, nullptr), "no planes");
  return dt::finish("avg_pool_test");
}
