// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// The enhancement network's feed-forward blocks in one pass (inference, float32, CPU): IGAB's FFN and SEM's GDFN,
// each preceded by its channel LayerNorm and followed by its residual add (spec ARCHITECTURE.md sections 1.5, 2.2):
//   n = LN_c(x) (or x when no LN is given),  h = W_in n  ([hidden] channels, 1x1, no bias)
//   DEEPSPG_FFN_GELU_DW_GELU (IGAB):  m = gelu(dw3x3(gelu(h)))                       (mid = hidden channels)
//   DEEPSPG_FFN_DW_GATE      (GDFN):  [u1; u2] = dw3x3(h),  m = gelu(u1) * u2         (mid = hidden / 2)
//   y = W_out m + residual                                                             (1x1, no bias)
// with dw3x3 the depthwise 3x3 convolution, zero padding 1 (h is zero outside the image).
//
// Why: unfused, the hidden maps (4 C channels at full resolution: 80 x 416 x 608 floats = 81 MB at DeepSPG-S's L0)
// are written by W_in, read and written by the depthwise pass and read by W_out: four trips through memory per block,
// each a few hundred multiply-adds per pixel, so the passes ran at memory speed (the convolution epilogue's stores
// were 19 % and the depthwise pass 16 % of a DeepSPG-S forward's samples on the 2-vCPU EPYC). Here they stay in L2.
//
// Method: the image is cut into column strips of kStripW = 62 output columns and bands of kBandRows output rows (one
// work item each). A strip's hidden grid is 64 columns wide (the 62 plus the depthwise halo, one column each side,
// zero outside the image). Down a band, kGroup output rows at a time: the LN + W_in of the hidden rows not yet
// computed (kGroup + 2 for the first group, kGroup after it: the hidden rows live in a ring of kGroup + 2 slots, so
// the two rows above stay in place from the previous group), the depthwise pass on the kGroup rows, then W_out +
// residual into y. The band's first group recomputes two hidden rows of the band above (2 of kBandRows + 2 rows)
// and each strip two columns of its neighbours (2 of 64).
// The 1x1 projections run on the direct convolution's micro-kernels (conv2d_direct.h) with weights packed by
// deepspg_conv2d_pack_weight_f32 for the same ISA; the LN is the LN kernel's own code (layer_norm_math.h), the
// depthwise stencil and GELU the same arithmetic in the same order as depthwise_conv.cpp and the conv epilogue. The
// result is the unfused native path's bit for bit except in the image's first and last columns, where
// depthwise_conv.cpp drops the zero terms and the compiler's FMA contraction rounds the shorter sum differently (a few
// ulp); it does not depend on the thread count.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "../common/common.h"
#include "conv2d_direct.h"
#include "gelu_math.h"
#include "layer_norm_math.h"

namespace deepspg::ops {
namespace {

using direct::Isa;
using direct::kChunk;

constexpr int64_t kGridW = 64;              // hidden-grid columns of a strip
constexpr int64_t kStripW = kGridW - 2;     // output columns of a strip
constexpr int64_t kGroup = 4;               // output rows per step
constexpr int64_t kRows = kGroup + 2;       // hidden rows held (a group and its halo)
constexpr int64_t kBandRows = 32;           // output rows per work item
static_assert(kRows * kGridW <= kChunk, "one step's hidden rows must fit the micro-kernel's output buffer");

// The LN, depthwise and GELU loops: DEEPSPG_VECTOR_CLONES (common.h), an AVX-512F and a baseline build, same bits.

struct Shape {
  int64_t batch, channels, hidden, mid, out, h, w;
  int32_t mode;
};

/** One thread's buffers: the LN'd input rows, the hidden rows, the depthwise output, the micro-kernel output. */
struct Scratch {
  float* xn;   // [channels][kRows kGridW] (+ slack)
  float* hid;  // [hidden][kRows kGridW] (+ slack)
  float* mid;  // [mid][kGroup kGridW] (+ slack); columns kStripW, kStripW + 1 of each row are don't-care
  float* buf;  // [kMaxOb][kChunk]
};

// a micro-kernel tile may read up to one tile past the last channel's rows, the stencil two floats past the last row
constexpr int64_t kSlack = 64;

int64_t scratch_floats(const Shape& s) {
  return s.channels * kRows * kGridW + kSlack + s.hidden * kRows * kGridW + kSlack + s.mid * kGroup * kGridW + kSlack +
         direct::kMaxOb * kChunk;
}

/**
 * Hidden rows [r_first, r_first + m) of strip column c0 into the ring of hidden rows, row r_first + k at slot
 * (slot + k) mod kRows: gathers x (zero outside the image), applies LN per position, W_in on the micro-kernel, then
 * GELU (IGAB) and zeroes positions outside the image.
 */
DEEPSPG_VECTOR_CLONES void hidden_rows(const Shape& s, const Isa& isa, const float* xb, const float* gamma,
                                       const float* beta, float eps, const float* w_in, int64_t c0, int64_t r_first,
                                       int64_t m, int64_t slot, const Scratch& t) {
  const int64_t C = s.channels, n = m * kGridW, hw = s.h * s.w;
  const int64_t g_lo = std::max<int64_t>(0, 1 - c0), g_hi = std::min<int64_t>(kGridW, s.w - c0 + 1);  // valid cols
  const int64_t xs = kRows * kGridW;  // xn channel stride
  alignas(64) float mu[kGridW], rs[kGridW];
  for (int64_t k = 0; k < m; ++k) {
    const int64_t r = r_first + k;
    float* d = t.xn + k * kGridW;
    if (r < 0 || r >= s.h) {
      for (int64_t c = 0; c < C; ++c) std::fill(d + c * xs, d + c * xs + kGridW, 0.0f);
      continue;
    }
    const float* src = xb + r * s.w + (c0 - 1);
    if (gamma != nullptr && g_lo == 0 && g_hi == kGridW) {
      // a row inside the image: the LN reads x itself (per position the same arithmetic, the same bits)
      ln_math::tile(src, hw, C, kGridW, gamma, beta, eps, d, xs, mu, rs);
      continue;
    }
    for (int64_t c = 0; c < C; ++c) {
      float* dc = d + c * xs;
      std::fill(dc, dc + g_lo, 0.0f);
      std::memcpy(dc + g_lo, src + c * hw + g_lo, sizeof(float) * static_cast<size_t>(g_hi - g_lo));
      std::fill(dc + g_hi, dc + kGridW, 0.0f);
    }
    if (gamma != nullptr) ln_math::tile(d, xs, C, kGridW, gamma, beta, eps, d, xs, mu, rs);  // in place
  }
  const int64_t zero = 0;
  const int ob = isa.ob;
  const bool gelu = s.mode == DEEPSPG_FFN_GELU_DW_GELU;
  for (int64_t blk = 0; blk * ob < s.hidden; ++blk) {
    const float* wp = w_in + blk * C * ob;
    for (int64_t j = 0; j < n; j += isa.tile) isa.kernel(t.xn + j, xs, &zero, 1, C, wp, t.buf + j);
    const int64_t o1 = std::min<int64_t>(s.hidden, blk * ob + ob);
    for (int64_t o = blk * ob; o < o1; ++o) {
      const float* acc = t.buf + (o - blk * ob) * kChunk;
      for (int64_t k = 0; k < m; ++k) {
        float* d = t.hid + o * kRows * kGridW + (slot + k) % kRows * kGridW;
        const int64_t r = r_first + k;
        if (r < 0 || r >= s.h) {
          std::fill(d, d + kGridW, 0.0f);
          continue;
        }
        const float* a = acc + k * kGridW;
        if (gelu) {
          // the conv epilogue's order: v = acc + 0 (no bias), then gelu
#pragma omp simd
          for (int64_t g = 0; g < kGridW; ++g) d[g] = gelu_math::gelu(a[g] + 0.0f);
        } else {
#pragma omp simd
          for (int64_t g = 0; g < kGridW; ++g) d[g] = a[g] + 0.0f;
        }
        std::fill(d, d + g_lo, 0.0f);
        std::fill(d + g_hi, d + kGridW, 0.0f);
      }
    }
  }
}

/**
 * o[x] = the 3x3 stencil of rows r0, r1, r2 at grid column x + 1 (depthwise_conv.cpp's order), for x < kGridW: whole
 * vectors, no scalar remainder; columns kStripW and kStripW + 1 read past the row (into the next row or the slack)
 * and are dropped by the caller.
 */
inline void stencil(const float* __restrict r0, const float* __restrict r1, const float* __restrict r2,
                    const float* k, float* __restrict o) {
  const float k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4], k5 = k[5], k6 = k[6], k7 = k[7], k8 = k[8];
#pragma omp simd
  for (int64_t x = 0; x < kGridW; ++x) {
    o[x] = k0 * r0[x] + k1 * r0[x + 1] + k2 * r0[x + 2] + k3 * r1[x] + k4 * r1[x + 1] + k5 * r1[x + 2] +
           k6 * r2[x] + k7 * r2[x + 1] + k8 * r2[x + 2];
  }
}

/**
 * The depthwise pass and the mid activation for `rows` output rows: output row i reads the hidden rows at ring slots
 * (top + i), (top + i + 1), (top + i + 2) mod kRows.
 */
DEEPSPG_VECTOR_CLONES void mid_rows(const Shape& s, const float* w_dw, int64_t rows, int64_t top, const Scratch& t) {
  alignas(64) float u[kGridW], v[kGridW];
  const int64_t hs = kRows * kGridW, ms = kGroup * kGridW;
  for (int64_t c = 0; c < s.mid; ++c) {
    for (int64_t i = 0; i < rows; ++i) {
      float* o = t.mid + c * ms + i * kGridW;
      const int64_t s0 = (top + i) % kRows * kGridW, s1 = (top + i + 1) % kRows * kGridW,
                    s2 = (top + i + 2) % kRows * kGridW;
      const float* h1 = t.hid + c * hs;
      stencil(h1 + s0, h1 + s1, h1 + s2, w_dw + c * 9, u);
      if (s.mode == DEEPSPG_FFN_GELU_DW_GELU) {
#pragma omp simd
        for (int64_t x = 0; x < kGridW; ++x) o[x] = gelu_math::gelu(u[x]);
      } else {
        const float* h2 = t.hid + (c + s.mid) * hs;
        stencil(h2 + s0, h2 + s1, h2 + s2, w_dw + (c + s.mid) * 9, v);
#pragma omp simd
        for (int64_t x = 0; x < kGridW; ++x) o[x] = gelu_math::gelu(u[x]) * v[x];
      }
    }
  }
}

/** W_out + residual for output rows [r0, r0 + rows) of the strip at column c0. */
void out_rows(const Shape& s, const Isa& isa, const float* w_out, const float* rb, int64_t c0, int64_t r0,
              int64_t rows, float* yb, const Scratch& t) {
  const int64_t zero = 0, n = rows * kGridW, ms = kGroup * kGridW, hw = s.h * s.w;
  const int64_t cols = std::min(kStripW, s.w - c0);
  const int ob = isa.ob;
  for (int64_t blk = 0; blk * ob < s.out; ++blk) {
    const float* wp = w_out + blk * s.mid * ob;
    for (int64_t j = 0; j < n; j += isa.tile) isa.kernel(t.mid + j, ms, &zero, 1, s.mid, wp, t.buf + j);
    const int64_t o1 = std::min<int64_t>(s.out, blk * ob + ob);
    for (int64_t o = blk * ob; o < o1; ++o) {
      const float* acc = t.buf + (o - blk * ob) * kChunk;
      for (int64_t i = 0; i < rows; ++i) {
        const int64_t at = o * hw + (r0 + i) * s.w + c0;
        const float* a = acc + i * kGridW;
        float* d = yb + at;
        if (rb != nullptr) {
          const float* res = rb + at;
#pragma omp simd
          for (int64_t x = 0; x < cols; ++x) d[x] = (a[x] + 0.0f) + res[x];
        } else {
#pragma omp simd
          for (int64_t x = 0; x < cols; ++x) d[x] = a[x] + 0.0f;
        }
      }
    }
  }
}

int32_t run(const char* fn, const Isa& isa, const Shape& s, const float* x, const float* gamma, const float* beta,
            float eps, const float* w_in, const float* w_dw, const float* w_out, const float* residual, float* y) {
  const int64_t strips = (s.w + kStripW - 1) / kStripW, bands = (s.h + kBandRows - 1) / kBandRows;
  const int64_t items = s.batch * strips * bands, per = scratch_floats(s);
  const int64_t work = s.batch * s.h * s.w * (s.channels + s.out) * s.hidden;
  const int threads = work >= detail::kOmpMinWork ? omp_get_max_threads() : 1;
  std::unique_ptr<float[]> scratch;
  try {
    scratch.reset(new float[static_cast<size_t>(threads * per)]());
  } catch (const std::bad_alloc&) {
    return detail::fail(DEEPSPG_ERR_OUT_OF_MEMORY, std::string(fn) + ": out of memory for the scratch buffers");
  }
  const int64_t chw = s.channels * s.h * s.w, ohw = s.out * s.h * s.w;
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    float* base = scratch.get() + omp_get_thread_num() * per;
    Scratch t{base, nullptr, nullptr, nullptr};
    t.hid = t.xn + s.channels * kRows * kGridW + kSlack;
    t.mid = t.hid + s.hidden * kRows * kGridW + kSlack;
    t.buf = t.mid + s.mid * kGroup * kGridW + kSlack;
#pragma omp for schedule(static)
    for (int64_t it = 0; it < items; ++it) {
      const int64_t band = it % bands, strip = (it / bands) % strips, b = it / (bands * strips);
      const int64_t c0 = strip * kStripW, r_begin = band * kBandRows, r_end = std::min(s.h, r_begin + kBandRows);
      const float* xb = x + b * chw;
      for (int64_t r = r_begin; r < r_end; r += kGroup) {
        // hidden row q of the band lives at ring slot (q - r_begin + 1) mod kRows: the previous group's last two
        // rows stay where they are as this group's first two, the four new ones take the slots freed
        const int64_t rows = std::min(kGroup, r_end - r), top = (r - r_begin) % kRows;
        if (r == r_begin) {
          hidden_rows(s, isa, xb, gamma, beta, eps, w_in, c0, r - 1, rows + 2, 0, t);
        } else {
          hidden_rows(s, isa, xb, gamma, beta, eps, w_in, c0, r + 1, rows, (top + 2) % kRows, t);
        }
        mid_rows(s, w_dw, rows, top, t);
        out_rows(s, isa, w_out, residual ? residual + b * ohw : nullptr, c0, r, rows, y + b * ohw, t);
      }
    }
  }
  return detail::ok();
}

}  // namespace
}  // namespace deepspg::ops

using namespace deepspg::ops;

extern "C" {

int32_t deepspg_ffn_forward_cpu_f32(const float* x, const float* ln_gamma, const float* ln_beta, double eps,
                                    int32_t isa, const float* w_in_packed, const float* w_dw,
                                    const float* w_out_packed, const float* residual, int64_t batch,
                                    int64_t channels, int64_t hidden, int64_t out_channels, int32_t mode, int64_t h,
                                    int64_t w, float* y) {
  const char* fn = "deepspg_ffn_forward_cpu_f32";
  const Isa* i = nullptr;
  if (int32_t rc = direct::resolve(fn, isa, &i)) return rc;
  if (mode != DEEPSPG_FFN_GELU_DW_GELU && mode != DEEPSPG_FFN_DW_GATE) {
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": unknown mode " + std::to_string(mode));
  }
  if (batch < 0 || channels < 1 || hidden < 1 || out_channels < 1 || h < 1 || w < 1 ||
      (mode == DEEPSPG_FFN_DW_GATE && hidden % 2 != 0) || channels > (int64_t(1) << 20) ||
      hidden > (int64_t(1) << 20) || out_channels > (int64_t(1) << 20)) {
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT,
                        std::string(fn) + ": bad sizes batch=" + std::to_string(batch) +
                            " channels=" + std::to_string(channels) + " hidden=" + std::to_string(hidden) +
                            " out=" + std::to_string(out_channels) + " h=" + std::to_string(h) +
                            " w=" + std::to_string(w) + " (the gate mode needs an even hidden width)");
  }
  if ((ln_gamma == nullptr) != (ln_beta == nullptr) || !(eps >= 0)) {
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT,
                        std::string(fn) + ": give both LN gamma and beta or neither, and eps >= 0");
  }
  if (batch == 0) return detail::ok();
  DEEPSPG_CHECK_PTR(fn, x);
  DEEPSPG_CHECK_PTR(fn, w_in_packed);
  DEEPSPG_CHECK_PTR(fn, w_dw);
  DEEPSPG_CHECK_PTR(fn, w_out_packed);
  DEEPSPG_CHECK_PTR(fn, y);
  const Shape s{batch, channels, hidden, mode == DEEPSPG_FFN_DW_GATE ? hidden / 2 : hidden, out_channels, h, w, mode};
  return run(fn, *i, s, x, ln_gamma, ln_beta, static_cast<float>(eps), w_in_packed, w_dw, w_out_packed, residual, y);
}

}  // extern "C"
