// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Bilinear up-sampling of several maps summed in one pass, float32, CPU, forward only: HRNet's fuse layers (branch
// i's output = ReLU(its own map + the stride-2 chains of the finer branches + the resized 1x1 products of the coarser
// ones)) and its segmentation head (the resized per-branch products of the 720-channel 1x1 convolution). libtorch
// writes each resized map to memory and adds them pairwise: for the head, three 720-channel maps at stride 4 (45 MB
// each) and two adds, ~30 ms on the 2-vCPU EPYC, where the sum itself needs one pass over the output.
//
//   out[p][y][x] = act( base[p][y][x] + sum_j resize_j(z_j[p])[y][x] ),   p < planes (batch x channels)
//
// resize_j is PyTorch's upsample_bilinear2d from (h_j, w_j) to (ho, wo) (any sizes, down-sampling too): per axis,
// scale = align_corners ? (in - 1)/(out - 1) (0 when out = 1) : in/out, source coordinate
// s = align_corners ? scale d : max(scale (d + 0.5) - 0.5, 0), i0 = min(floor(s), in - 1), i1 = i0 + (i0 < in - 1),
// l1 = clamp(s - i0, 0, 1), l0 = 1 - l1, in float as libtorch's CPU kernel computes them; the value
// (z[i0][j0] l0w + z[i0][j1] l1w) l0h + (z[i1][j0] l0w + z[i1][j1] l1w) l1h (UpsampleSumTest: within 2e-6 of
// libtorch's float32 resize).
// Per plane, each source row that an output row reads (at most min(h_j, 2 ho) of them: a tall map shrunk to a few rows
// needs only those) is first interpolated along the width into a per-thread buffer, then each output row is the base
// row plus two such rows per map, weighted: contiguous, vectorised over the width. The buffers are allocated before the
// parallel region (an allocation failure is an error code, not std::terminate). Parallel over planes; results do not
// depend on the thread count. base may be NULL (zero) or equal to out.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "../common/common.h"

namespace deepspg::ops {
namespace {

/** One axis of a resize: source indices and weights per output index. */
struct Axis {
  std::vector<int64_t> i0, i1;
  std::vector<float> l0, l1;
};

Axis make_axis(int64_t in, int64_t out, bool align_corners) {
  Axis a;
  a.i0.resize(out);
  a.i1.resize(out);
  a.l0.resize(out);
  a.l1.resize(out);
  const float scale = align_corners ? (out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1) : 0.0f)
                                    : static_cast<float>(in) / static_cast<float>(out);
  for (int64_t d = 0; d < out; ++d) {
    const float s = align_corners ? scale * static_cast<float>(d)
                                  : std::max(scale * (static_cast<float>(d) + 0.5f) - 0.5f, 0.0f);
    const int64_t i = std::min(static_cast<int64_t>(std::floor(s)), in - 1);
    const float l1 = std::min(std::max(s - static_cast<float>(i), 0.0f), 1.0f);
    a.i0[d] = i;
    a.i1[d] = i + (i < in - 1 ? 1 : 0);
    a.l1[d] = l1;
    a.l0[d] = 1.0f - l1;
  }
  return a;
}

}  // namespace
}  // namespace deepspg::ops

using namespace deepspg::ops;

extern "C" {

int32_t deepspg_upsample_bilinear_sum_cpu_f32(const float* base, int32_t n, const float* const* z,
                                              const int64_t* sizes, int64_t planes, int64_t ho, int64_t wo,
                                              int32_t align_corners, int32_t relu, float* out) {
  const char* fn = "deepspg_upsample_bilinear_sum_cpu_f32";
  if (n < 0 || planes < 0 || ho < 1 || wo < 1) {
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": bad geometry n=" + std::to_string(n) +
                                                          " planes=" + std::to_string(planes) + " out " +
                                                          std::to_string(ho) + "x" + std::to_string(wo));
  }
  if (n > 0) {
    DEEPSPG_CHECK_PTR(fn, z);
    DEEPSPG_CHECK_PTR(fn, sizes);
  }
  for (int32_t j = 0; j < n; ++j) {
    if (sizes[2 * j] < 1 || sizes[2 * j + 1] < 1) {
      return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": map " + std::to_string(j) +
                                                            " has size " + std::to_string(sizes[2 * j]) + "x" +
                                                            std::to_string(sizes[2 * j + 1]));
    }
    if (planes > 0 && z[j] == nullptr) {
      return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": map " + std::to_string(j) + " is NULL");
    }
  }
  if (planes == 0) return detail::ok();
  DEEPSPG_CHECK_PTR(fn, out);
  std::vector<Axis> rows(n), cols(n);
  std::vector<std::vector<int64_t>> used(n);  // per map: the source rows the output reads, in buffer order
  int64_t buffer = 0;                         // floats of one plane's width-interpolated rows, all maps
  try {
    for (int32_t j = 0; j < n; ++j) {
      rows[j] = make_axis(sizes[2 * j], ho, align_corners != 0);
      cols[j] = make_axis(sizes[2 * j + 1], wo, align_corners != 0);
      // rows[j].i0/i1 become buffer rows: each source row that an output row reads gets one, in first-use order
      std::vector<int64_t> slot(static_cast<size_t>(sizes[2 * j]), -1);
      for (int64_t y = 0; y < ho; ++y) {
        for (int64_t* r : {&rows[j].i0[y], &rows[j].i1[y]}) {
          if (slot[*r] < 0) {
            slot[*r] = static_cast<int64_t>(used[j].size());
            used[j].push_back(*r);
          }
          *r = slot[*r];
        }
      }
      buffer += static_cast<int64_t>(used[j].size()) * wo;
    }
  } catch (const std::bad_alloc&) {
    return detail::fail(DEEPSPG_ERR_OUT_OF_MEMORY, std::string(fn) + ": out of memory for the resize tables");
  }
  const int64_t plane = ho * wo;
  const int threads = planes * plane * (1 + 2 * n) >= detail::kOmpMinWork ? omp_get_max_threads() : 1;
  std::unique_ptr<float[]> scratch;
  try {
    scratch.reset(new float[static_cast<size_t>(threads * buffer)]);
  } catch (const std::bad_alloc&) {
    return detail::fail(DEEPSPG_ERR_OUT_OF_MEMORY, std::string(fn) + ": out of memory for the row buffers");
  }
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    float* const hrows = scratch.get() + omp_get_thread_num() * buffer;
#pragma omp for schedule(static)
    for (int64_t p = 0; p < planes; ++p) {
      // 1. each map's source rows that the output reads, along the width: hrows[j][k][x] for source row used[j][k]
      float* hr = hrows;
      for (int32_t j = 0; j < n; ++j) {
        const int64_t hj = sizes[2 * j], wj = sizes[2 * j + 1];
        const float* zp = z[j] + p * hj * wj;
        const int64_t *c0 = cols[j].i0.data(), *c1 = cols[j].i1.data();
        const float *w0 = cols[j].l0.data(), *w1 = cols[j].l1.data();
        for (int64_t r : used[j]) {
          const float* src = zp + r * wj;
          for (int64_t x = 0; x < wo; ++x) hr[x] = src[c0[x]] * w0[x] + src[c1[x]] * w1[x];
          hr += wo;
        }
      }
      // 2. each output row: base + two weighted rows per map, ReLU'd when asked
      const float* bp = base ? base + p * plane : nullptr;
      float* op = out + p * plane;
      for (int64_t y = 0; y < ho; ++y) {
        float* dst = op + y * wo;
        if (bp) {
          if (bp != op) std::copy(bp + y * wo, bp + (y + 1) * wo, dst);  // in place (base == out): already there
        } else {
          std::fill(dst, dst + wo, 0.0f);
        }
        const float* maps = hrows;
        for (int32_t j = 0; j < n; ++j) {
          const float* a = maps + rows[j].i0[y] * wo;
          const float* b = maps + rows[j].i1[y] * wo;
          const float l0 = rows[j].l0[y], l1 = rows[j].l1[y];
#pragma omp simd
          for (int64_t x = 0; x < wo; ++x) dst[x] += a[x] * l0 + b[x] * l1;
          maps += static_cast<int64_t>(used[j].size()) * wo;
        }
        if (relu) {
#pragma omp simd
          for (int64_t x = 0; x < wo; ++x) dst[x] = dst[x] < 0.0f ? 0.0f : dst[x];
        }
      }
    }
  }
  return detail::ok();
}

}  // extern "C"
