// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Pixel shuffle by 2 (PyTorch's pixel_shuffle(x, 2)), float32, CPU: the decoder's up-sampling in inference, after
// the transposed convolution and the fuse's first half composed into one low-resolution 1x1 convolution
// (DeepSPG.java, upFuse):
//   y[b, c][2 i + a][2 j + e] = x[b, 4 c + 2 a + e][i][j]     (a, e in {0, 1})
// Why: libtorch's CPU kernel (cpu_pixel_shuffle) took 2.6 % of a DeepSPG-S forward at 1088x1920 (two calls, 250 MB
// out) in a 2026-12-06 profile, several times its memory traffic. Here each output row is the interleave of two input
// rows, written once, in parallel over (b, c, output row).
#include <algorithm>
#include <string>

#include "../common/common.h"

namespace deepspg::ops {
namespace {

/** y[2 j] = x0[j], y[2 j + 1] = x1[j] for j < w. */
DEEPSPG_VECTOR_CLONES void interleave_row(const float* __restrict x0, const float* __restrict x1, int64_t w,
                                          float* __restrict y) {
#pragma omp simd
  for (int64_t j = 0; j < w; ++j) {
    y[2 * j] = x0[j];
    y[2 * j + 1] = x1[j];
  }
}

}  // namespace
}  // namespace deepspg::ops

extern "C" {

int32_t deepspg_pixel_shuffle2_cpu_f32(const float* x, int64_t batch, int64_t out_channels, int64_t h, int64_t w,
                                       float* y) {
  using namespace deepspg::ops;
  const char* fn = "deepspg_pixel_shuffle2_cpu_f32";
  if (batch < 0 || out_channels < 0 || h < 0 || w < 0) {
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT,
                        std::string(fn) + ": negative size batch=" + std::to_string(batch) + " out_channels=" +
                            std::to_string(out_channels) + " h=" + std::to_string(h) + " w=" + std::to_string(w));
  }
  const int64_t rows = batch * out_channels * 2 * h;  // output rows
  if (rows * w == 0) return detail::ok();
  DEEPSPG_CHECK_PTR(fn, x);
  DEEPSPG_CHECK_PTR(fn, y);
  const int64_t hw = h * w;
#pragma omp parallel for schedule(static) if (rows * w >= detail::kOmpMinWork)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t oy = r % (2 * h), bc = r / (2 * h), i = oy / 2, a = oy % 2;  // bc = b * out_channels + c
    const float* x0 = x + ((4 * bc + 2 * a) * h + i) * w;
    interleave_row(x0, x0 + hw, w, y + r * 2 * w);
  }
  return detail::ok();
}

}  // extern "C"
