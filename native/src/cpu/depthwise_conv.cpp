// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Depthwise 3x3 convolution (stride 1, zero padding 1, groups = channels, no bias), optionally followed by GELU,
// CPU backend. Every 3x3 depthwise conv of the network (IG-MSA positional branch, IGAB FFN, SEM kv/q, GDFN) is this op
// (spec ARCHITECTURE.md sections 1.5, 2.2); libtorch's CPU path for it was ~3 s per call at 80 x 416 x 608 with oneDNN
// off.
//
// Per plane p = (b, c) with kernel k = weight[c] (3 x 3, row-major) and x zero outside the plane:
//   forward   pre[y][x] = sum_{i,j} k[i][j] x[y+i-1][x+j-1];  y = pre (act none) or gelu(pre) (act gelu)
//   backward  g = dy (act none) or dy * gelu'(pre) (act gelu)
//             dx[y][x] = sum_{i,j} k[2-i][2-j] g[y+i-1][x+j-1]       (the same stencil with the flipped kernel)
//             dk[c][i][j] = sum_b sum_{y,x} g[y][x] x[y+i-1][x+j-1]
// Layout: x, y, pre, dy, dx [B, C, H, W] contiguous; weight, dweight [C, 1, 3, 3]. Dtypes float, double.
// Parallel over (plane, band of kBand rows); the stencil rows take three input-row pointers (a zero row stands in for
// the rows outside the plane) and handle the first and last column apart, so the interior loop is branch-free and
// vectorises over the width. dweight: one partial of 9 doubles per (plane, band), reduced in (batch, band) order,
// so results do not depend on the thread count; on AVX-512 (float) each band's partials are summed in 16-lane vectors
// over all its rows and reduced once (correlate_band_avx512), and the float backward's band is compiled for AVX-512
// too (backward_band_f32): 1.1-2.3x the backward of DeepSPG's training shapes (BENCHMARKS.md, session 28). The band
// sums are process-wide switchable (deepspg_dwconv3x3_backward_avx512): the Java layer's self-check turns them off
// where they fail on the machine.
// The pair (inference, float): IG-MSA's positional branch dw(gelu(dw(x; k1)); k2) plus the block's residual in one
// pass, the intermediate rows in a per-thread ring of three: x and the residual read once, y written once, where the
// chain and the add wrote and read two more full maps.
// The dilated, strided forward (inference, float): ESPNetv2's EESP branches, dilation d and stride s (padding d),
// each output row gathered from input rows i s - d, i s, i s + d and columns j s - d, j s, j s + d, only the kept
// outputs computed (the Java layer's differentiable form stacks d x d sub-images and slices a stride-1 result).
#include <algorithm>
#include <atomic>
#include <string>
#include <type_traits>
#include <vector>

#include "../common/common.h"
#include "gelu_math.h"
#include "gram_avx512.h"  // the AVX-512 function attributes and tail_mask (x86-64 only)

namespace deepspg::ops {
namespace {

// Rows per work item: 16 rows of 608 floats (~39 KB in and out) stay in L2, and H = 416 gives 26 bands per plane so
// even a single plane keeps many threads busy.
constexpr int64_t kBand = 16;

inline int64_t num_bands(int64_t h) { return (h + kBand - 1) / kBand; }

// o[x] = sum_{i,j} k[3i+j] r_i[x+j-1] for one output row; columns -1 and W are zero.
template <typename T>
inline void stencil_row(const T* __restrict r0, const T* __restrict r1, const T* __restrict r2, const T* k, int64_t w,
                        T* __restrict o) {
  const T k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4], k5 = k[5], k6 = k[6], k7 = k[7], k8 = k[8];
  if (w == 1) {
    o[0] = k1 * r0[0] + k4 * r1[0] + k7 * r2[0];
    return;
  }
  o[0] = k1 * r0[0] + k2 * r0[1] + k4 * r1[0] + k5 * r1[1] + k7 * r2[0] + k8 * r2[1];
#pragma omp simd
  for (int64_t x = 1; x < w - 1; ++x) {
    o[x] = k0 * r0[x - 1] + k1 * r0[x] + k2 * r0[x + 1] + k3 * r1[x - 1] + k4 * r1[x] + k5 * r1[x + 1] +
           k6 * r2[x - 1] + k7 * r2[x] + k8 * r2[x + 1];
  }
  const int64_t e = w - 1;
  o[e] = k0 * r0[e - 1] + k1 * r0[e] + k3 * r1[e - 1] + k4 * r1[e] + k6 * r2[e - 1] + k7 * r2[e];
}

// acc[j] += sum_x g[x] s[x+j-1] for j = 0..2 (s zero outside [0, w)).
template <typename T>
inline void correlate_row(const T* __restrict g, const T* __restrict s, int64_t w, double* acc) {
  if (w == 1) {
    acc[1] += static_cast<double>(g[0] * s[0]);
    return;
  }
  T a0 = 0, a1 = 0, a2 = 0;
#pragma omp simd reduction(+ : a0, a1, a2)
  for (int64_t x = 1; x < w - 1; ++x) {
    a0 += g[x] * s[x - 1];
    a1 += g[x] * s[x];
    a2 += g[x] * s[x + 1];
  }
  const int64_t e = w - 1;
  a0 += g[e] * s[e - 1];
  a1 += g[0] * s[0] + g[e] * s[e];
  a2 += g[0] * s[1];
  acc[0] += static_cast<double>(a0);
  acc[1] += static_cast<double>(a1);
  acc[2] += static_cast<double>(a2);
}

template <typename T>
inline void gelu_row(const T* __restrict in, int64_t w, T* __restrict out) {
#pragma omp simd
  for (int64_t x = 0; x < w; ++x) out[x] = gelu_math::gelu(in[x]);
}

template <typename T>
inline void gelu_grad_row(const T* __restrict dy, const T* __restrict pre, int64_t w, T* __restrict g) {
#pragma omp simd
  for (int64_t x = 0; x < w; ++x) g[x] = dy[x] * gelu_math::gelu_grad(pre[x]);
}

template <typename T>
int32_t check_args(const char* fn, int64_t batch, int64_t channels, int64_t h, int64_t w, int32_t act) {
  if (batch < 0 || channels < 0 || h < 0 || w < 0) {
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT,
                        std::string(fn) + ": negative size batch=" + std::to_string(batch) + " channels=" +
                            std::to_string(channels) + " h=" + std::to_string(h) + " w=" + std::to_string(w));
  }
  if (act != DEEPSPG_ACT_NONE && act != DEEPSPG_ACT_GELU)
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": unknown activation " + std::to_string(act));
  return DEEPSPG_OK;
}

/**
 * Output rows [y0, y1) of one plane: y = stencil (act none) or gelu(stencil) with the pre-activation in `pre` (a row
 * of the plane's pre-activation map when the caller keeps one, else one scratch row: pre_stride 0).
 */
template <typename T>
inline void forward_band(const T* xp, const T* k, int64_t h, int64_t w, int64_t y0, int64_t y1, bool gelu, T* pre,
                         int64_t pre_stride, const T* zero, T* yp) {
  for (int64_t r = y0; r < y1; ++r) {
    const T* r0 = r > 0 ? xp + (r - 1) * w : zero;
    const T* r2 = r + 1 < h ? xp + (r + 1) * w : zero;
    if (!gelu) {
      stencil_row(r0, xp + r * w, r2, k, w, yp + r * w);
      continue;
    }
    T* dst = pre + r * pre_stride;
    stencil_row(r0, xp + r * w, r2, k, w, dst);
    gelu_row(dst, w, yp + r * w);
  }
}

/** forward_band for float on AVX-512 where the CPU has it. */
DEEPSPG_VECTOR_CLONES void forward_band_f32(const float* xp, const float* k, int64_t h, int64_t w, int64_t y0,
                                            int64_t y1, bool gelu, float* pre, int64_t pre_stride, const float* zero,
                                            float* yp) {
  forward_band(xp, k, h, w, y0, y1, gelu, pre, pre_stride, zero, yp);
}

template <typename T>
int32_t forward_impl(const char* fn, const T* x, const T* weight, int64_t batch, int64_t channels, int64_t h,
                     int64_t w, int32_t act, T* y, T* pre) {
  if (int32_t st = check_args<T>(fn, batch, channels, h, w, act)) return st;
  const int64_t planes = batch * channels, hw = h * w;
  if (planes * hw == 0) return detail::ok();
  DEEPSPG_CHECK_PTR(fn, x);
  DEEPSPG_CHECK_PTR(fn, weight);
  DEEPSPG_CHECK_PTR(fn, y);
  const int64_t bands = num_bands(h);
  const std::vector<T> zero(static_cast<size_t>(w), T(0));
  const bool gelu = act == DEEPSPG_ACT_GELU;
#pragma omp parallel if (planes * hw >= detail::kOmpMinWork)
  {
    // Pre-activation row when the caller keeps none (inference).
    std::vector<T> row(gelu && pre == nullptr ? static_cast<size_t>(w) : 0);
#pragma omp for schedule(static)
    for (int64_t item = 0; item < planes * bands; ++item) {
      const int64_t p = item / bands, y0 = (item % bands) * kBand, y1 = std::min(h, y0 + kBand);
      const T* xp = x + p * hw;
      const T* k = weight + (p % channels) * 9;
      T* yp = y + p * hw;
      // the kept pre-activation's rows, or one scratch row for all
      T* pr = pre != nullptr ? pre + p * hw : row.data();
      const int64_t ps = pre != nullptr ? w : 0;
      if constexpr (std::is_same_v<T, float>) {
        forward_band_f32(xp, k, h, w, y0, y1, gelu, pr, ps, zero.data(), yp);
      } else {
        forward_band(xp, k, h, w, y0, y1, gelu, pr, ps, zero.data(), yp);
      }
    }
  }
  return detail::ok();
}

// Rows per work item of the pair: each band recomputes the two intermediate rows at its edges (2 of 34).
constexpr int64_t kPairBand = 32;

/**
 * y = dw(gelu(dw(x; k1)); k2) (+ residual) in one pass: per (plane, band of kPairBand rows), the intermediate rows
 * t = gelu(dw(x; k1)) of the band and its two edge rows go through a ring of three rows, each output row is the stencil
 * of three of them. The two-pass chain's arithmetic in its order (stencil_row, gelu_row, stencil_row, then one add):
 * the same bits.
 */
/** One work item of the pair: output rows [y0, y1) of plane xp / yp (see pair_forward_impl). */
DEEPSPG_VECTOR_CLONES void pair_band(const float* xp, const float* w1, const float* w2, const float* rp, int64_t h,
                                     int64_t w, int64_t y0, int64_t y1, const float* zero, float* ring, float* pre,
                                     float* yp) {
  // intermediate row q (y0 - 1 <= q <= y1) at ring slot (q - y0 + 1) % 3; rows outside the plane are zero
  auto t_row = [&](int64_t q) -> const float* { return q < 0 || q >= h ? zero : ring + (q - y0 + 1) % 3 * w; };
  auto make = [&](int64_t q) {
    if (q < 0 || q >= h) return;
    const float* r0 = q > 0 ? xp + (q - 1) * w : zero;
    const float* r2 = q + 1 < h ? xp + (q + 1) * w : zero;
    stencil_row(r0, xp + q * w, r2, w1, w, pre);
    gelu_row(pre, w, ring + (q - y0 + 1) % 3 * w);
  };
  make(y0 - 1);
  make(y0);
  for (int64_t r = y0; r < y1; ++r) {
    make(r + 1);
    float* yr = yp + r * w;
    stencil_row(t_row(r - 1), t_row(r), t_row(r + 1), w2, w, yr);
    if (rp != nullptr) {
      const float* rr = rp + r * w;
#pragma omp simd
      for (int64_t c = 0; c < w; ++c) yr[c] = yr[c] + rr[c];
    }
  }
}

int32_t pair_forward_impl(const char* fn, const float* x, const float* k1, const float* k2, const float* residual,
                          int64_t batch, int64_t channels, int64_t h, int64_t w, float* y) {
  if (int32_t st = check_args<float>(fn, batch, channels, h, w, DEEPSPG_ACT_NONE)) return st;
  const int64_t planes = batch * channels, hw = h * w;
  if (planes * hw == 0) return detail::ok();
  DEEPSPG_CHECK_PTR(fn, x);
  DEEPSPG_CHECK_PTR(fn, k1);
  DEEPSPG_CHECK_PTR(fn, k2);
  DEEPSPG_CHECK_PTR(fn, y);
  const int64_t bands = (h + kPairBand - 1) / kPairBand;
  const std::vector<float> zero(static_cast<size_t>(w), 0.0f);
#pragma omp parallel if (planes * hw >= detail::kOmpMinWork)
  {
    std::vector<float> ring(static_cast<size_t>(3 * w)), pre(static_cast<size_t>(w));
#pragma omp for schedule(static)
    for (int64_t item = 0; item < planes * bands; ++item) {
      const int64_t p = item / bands, y0 = (item % bands) * kPairBand, y1 = std::min(h, y0 + kPairBand);
      pair_band(x + p * hw, k1 + (p % channels) * 9, k2 + (p % channels) * 9,
                residual != nullptr ? residual + p * hw : nullptr, h, w, y0, y1, zero.data(), ring.data(),
                pre.data(), y + p * hw);
    }
  }
  return detail::ok();
}

#if defined(__x86_64__)
// GCC 12 warns, wrongly, about the undefined source inside its own _mm512_alignr_epi32 (as gram_avx512.h notes for
// _mm512_reduce_add_ps).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
/** Floats [c, c + 16) of a row of w floats, zeros past w (a masked load for a partial last chunk only). */
DEEPSPG_AVX512_INLINE __m512 load_chunk(const float* row, int64_t w, int64_t c) {
  return c + 16 <= w ? _mm512_loadu_ps(row + c) : _mm512_maskz_loadu_ps(gram512::tail_mask(w - c), row + c);
}

/**
 * dweight's nine partials of one band (rows [y0, y1) of g against rows r - 1, r, r + 1 of x), float, AVX-512: nine
 * 16-lane accumulators over the whole band, reduced once (in double, lane order), where correlate_row reduces three
 * dot products per row and tap row, which costs more than the products at the widths DeepSPG trains (128-wide crops
 * and their halves). x's neighbours one column left and right are lane shifts of its own chunks (lanes outside the row
 * zero), g's tail is masked too. Row r of g is g + (r - goff) * w.
 */
DEEPSPG_AVX512 __attribute__((noinline)) void correlate_band_avx512(const float* g, int64_t goff, const float* x,
                                                                    int64_t h, int64_t w, int64_t y0, int64_t y1,
                                                                    double* acc) {
  __m512 a[9];
  for (int t = 0; t < 9; ++t) a[t] = _mm512_setzero_ps();
  for (int64_t r = y0; r < y1; ++r) {
    const float* gr = g + (r - goff) * w;
    for (int64_t i = 0; i < 3; ++i) {
      const int64_t s = r + i - 1;
      if (s < 0 || s >= h) continue;
      const float* sr = x + s * w;
      __m512 a0 = a[3 * i], a1 = a[3 * i + 1], a2 = a[3 * i + 2];
      // x's chunk at c (cur) with its neighbours prev and next: the columns one left and one right are lane shifts
      // of these (zero outside the row), so every load starts at a chunk; only a partial last chunk is masked.
      __m512 prev = _mm512_setzero_ps(), cur = load_chunk(sr, w, 0);
      for (int64_t c = 0; c < w; c += 16) {
        const __m512 next = c + 16 < w ? load_chunk(sr, w, c + 16) : _mm512_setzero_ps();
        const __m512 gv = load_chunk(gr, w, c);
        const __m512 left = _mm512_castsi512_ps(
            _mm512_alignr_epi32(_mm512_castps_si512(cur), _mm512_castps_si512(prev), 15));  // x[c - 1 + j]
        const __m512 right = _mm512_castsi512_ps(
            _mm512_alignr_epi32(_mm512_castps_si512(next), _mm512_castps_si512(cur), 1));  // x[c + 1 + j]
        a0 = _mm512_fmadd_ps(gv, left, a0);
        a1 = _mm512_fmadd_ps(gv, cur, a1);
        a2 = _mm512_fmadd_ps(gv, right, a2);
        prev = cur;
        cur = next;
      }
      a[3 * i] = a0, a[3 * i + 1] = a1, a[3 * i + 2] = a2;
    }
  }
  for (int t = 0; t < 9; ++t) {
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, a[t]);
    double sum = 0;
    for (int l = 0; l < 16; ++l) sum += static_cast<double>(lanes[l]);
    acc[t] += sum;
  }
}
#pragma GCC diagnostic pop
#endif

// Whether the float backward may take correlate_band_avx512 (deepspg_dwconv3x3_backward_avx512; the Java layer's
// self-check turns it off where it fails).
std::atomic<bool> g_backward_avx512{true};

/**
 * One work item of the backward: rows [y0, y1) of one plane (dy, x, pre, dx: the plane's maps; pre null without GELU,
 * x null and acc null without dweight, dx null without dx). kf is the plane's flipped kernel; buf holds the band's
 * rows of g = dy * gelu'(pre) (rows y0 - 1 .. y1) with GELU; acc gets the band's 9 dweight partials.
 */
template <typename T>
inline void backward_band(const T* dy, const T* x, const T* pre, const T* kf, int64_t h, int64_t w, int64_t y0,
                          int64_t y1, const T* zero, T* buf, bool avx512, T* dx, double* acc) {
  const int64_t g0 = std::max<int64_t>(y0 - 1, 0), g1 = std::min(h, y1 + 1);  // rows of g this band reads
  const T* gp;  // row r of g is gp + (r - goff) * w
  int64_t goff;
  if (pre != nullptr) {
    for (int64_t r = g0; r < g1; ++r) gelu_grad_row(dy + r * w, pre + r * w, w, buf + (r - g0) * w);
    gp = buf;
    goff = g0;
  } else {
    gp = dy;
    goff = 0;
  }
  auto grow = [&](int64_t r) { return gp + (r - goff) * w; };
  if (dx != nullptr) {
    for (int64_t r = y0; r < y1; ++r) {
      const T* r0 = r > 0 ? grow(r - 1) : zero;
      const T* r2 = r + 1 < h ? grow(r + 1) : zero;
      stencil_row(r0, grow(r), r2, kf, w, dx + r * w);
    }
  }
  if (acc != nullptr) {
#if defined(__x86_64__)
    if constexpr (std::is_same_v<T, float>) {
      if (avx512) {
        correlate_band_avx512(gp, goff, x, h, w, y0, y1, acc);
        return;
      }
    }
#else
    (void)avx512;
#endif
    for (int64_t r = y0; r < y1; ++r) {
      for (int64_t i = 0; i < 3; ++i) {
        const int64_t s = r + i - 1;
        if (s < 0 || s >= h) continue;
        correlate_row(grow(r), x + s * w, w, acc + 3 * i);
      }
    }
  }
}

/**
 * backward_band for float on AVX-512 where the CPU has it (flatten: the band's row loops must be compiled into each
 * clone; GCC would otherwise call one default-target copy from both).
 */
DEEPSPG_VECTOR_CLONES __attribute__((flatten)) void backward_band_f32(const float* dy, const float* x,
                                                                      const float* pre, const float* kf, int64_t h,
                                                                      int64_t w, int64_t y0, int64_t y1,
                                                                      const float* zero, float* buf, bool avx512,
                                                                      float* dx, double* acc) {
  backward_band(dy, x, pre, kf, h, w, y0, y1, zero, buf, avx512, dx, acc);
}

template <typename T>
int32_t backward_impl(const char* fn, const T* dy, const T* x, const T* weight, const T* pre, int64_t batch,
                      int64_t channels, int64_t h, int64_t w, int32_t act, T* dx, T* dweight) {
  if (int32_t st = check_args<T>(fn, batch, channels, h, w, act)) return st;
  if (dweight != nullptr)
    for (int64_t i = 0; i < channels * 9; ++i) dweight[i] = 0;
  const int64_t planes = batch * channels, hw = h * w;
  if (planes * hw == 0 || (dx == nullptr && dweight == nullptr)) return detail::ok();
  DEEPSPG_CHECK_PTR(fn, dy);
  DEEPSPG_CHECK_PTR(fn, weight);
  if (dweight != nullptr) DEEPSPG_CHECK_PTR(fn, x);
  const bool gelu = act == DEEPSPG_ACT_GELU;
  if (gelu) DEEPSPG_CHECK_PTR(fn, pre);
  const int64_t bands = num_bands(h);
  std::vector<double> partial(dweight != nullptr ? static_cast<size_t>(planes * bands * 9) : 0, 0.0);
  std::vector<T> flipped(static_cast<size_t>(channels * 9));
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t t = 0; t < 9; ++t) flipped[c * 9 + t] = weight[c * 9 + 8 - t];
  const std::vector<T> zero(static_cast<size_t>(w), T(0));
  const bool avx512 = g_backward_avx512.load(std::memory_order_relaxed) && detail::cpu_has_avx512f();

#pragma omp parallel if (planes * hw >= detail::kOmpMinWork)
  {
    // With GELU the stencil reads g = dy * gelu'(pre) on rows y0-1 .. y1: computed once per band into buf.
    std::vector<T> buf(gelu ? static_cast<size_t>((kBand + 2) * w) : 0);
#pragma omp for schedule(static)
    for (int64_t item = 0; item < planes * bands; ++item) {
      const int64_t p = item / bands, y0 = (item % bands) * kBand, y1 = std::min(h, y0 + kBand);
      const T* kf = flipped.data() + (p % channels) * 9;
      const T* pp = gelu ? pre + p * hw : nullptr;
      T* dxp = dx != nullptr ? dx + p * hw : nullptr;
      double* acc = dweight != nullptr ? partial.data() + item * 9 : nullptr;
      if constexpr (std::is_same_v<T, float>) {
        backward_band_f32(dy + p * hw, x != nullptr ? x + p * hw : nullptr, pp, kf, h, w, y0, y1, zero.data(),
                          buf.data(), avx512, dxp, acc);
      } else {
        backward_band(dy + p * hw, x != nullptr ? x + p * hw : nullptr, pp, kf, h, w, y0, y1, zero.data(), buf.data(),
                      false, dxp, acc);
      }
    }
  }
  if (dweight != nullptr) {
    // Deterministic: per channel, batch by batch, band by band.
    for (int64_t c = 0; c < channels; ++c) {
      double acc[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
      for (int64_t b = 0; b < batch; ++b) {
        const double* pp = partial.data() + (b * channels + c) * bands * 9;
        for (int64_t t = 0; t < bands * 9; ++t) acc[t % 9] += pp[t];
      }
      for (int64_t t = 0; t < 9; ++t) dweight[c * 9 + t] = static_cast<T>(acc[t]);
    }
  }
  return detail::ok();
}

// ---------------------------------------------------------------------------------------------------------------
// dilated and strided forward (inference, float): ESPNetv2's EESP branches

/**
 * One output row of the dilated (d), strided (s) stencil from input rows r0, r1, r2 (rows i s - d, i s, i s + d; a
 * zero row outside the plane): o[j] = sum_{a, e} k[3 a + e] r_a[j s + (e - 1) d], columns outside [0, w) zero; the
 * terms in stencil_row's order. wo = (w - 1) / s + 1 outputs.
 */
DEEPSPG_VECTOR_CLONES void dilated_row(const float* __restrict r0, const float* __restrict r1,
                                       const float* __restrict r2, const float* k, int64_t w, int64_t d, int64_t s,
                                       float* __restrict o) {
  const float k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4], k5 = k[5], k6 = k[6], k7 = k[7], k8 = k[8];
  const int64_t wo = (w - 1) / s + 1;
  // columns j s - d and j s + d both inside for j in [j0, j1)
  const int64_t j0 = std::min(wo, (d + s - 1) / s);
  const int64_t j1 = std::max(j0, std::min(wo, w > d ? (w - d - 1) / s + 1 : 0));
  auto edge = [&](int64_t j) {
    const int64_t c = j * s, cl = c - d, cr = c + d;
    auto at = [w](const float* r, int64_t col) { return col >= 0 && col < w ? r[col] : 0.0f; };
    o[j] = k0 * at(r0, cl) + k1 * r0[c] + k2 * at(r0, cr) + k3 * at(r1, cl) + k4 * r1[c] + k5 * at(r1, cr) +
           k6 * at(r2, cl) + k7 * r2[c] + k8 * at(r2, cr);
  };
  for (int64_t j = 0; j < j0; ++j) edge(j);
  if (s == 1) {
#pragma omp simd
    for (int64_t j = j0; j < j1; ++j) {
      o[j] = k0 * r0[j - d] + k1 * r0[j] + k2 * r0[j + d] + k3 * r1[j - d] + k4 * r1[j] + k5 * r1[j + d] +
             k6 * r2[j - d] + k7 * r2[j] + k8 * r2[j + d];
    }
  } else {
#pragma omp simd
    for (int64_t j = j0; j < j1; ++j) {
      const int64_t c = 2 * j;
      o[j] = k0 * r0[c - d] + k1 * r0[c] + k2 * r0[c + d] + k3 * r1[c - d] + k4 * r1[c] + k5 * r1[c + d] +
             k6 * r2[c - d] + k7 * r2[c] + k8 * r2[c + d];
    }
  }
  for (int64_t j = j1; j < wo; ++j) edge(j);
}

int32_t dilated_forward_impl(const char* fn, const float* x, const float* weight, int64_t batch, int64_t channels,
                             int64_t h, int64_t w, int64_t dilation, int64_t stride, float* y) {
  if (int32_t st = check_args<float>(fn, batch, channels, h, w, DEEPSPG_ACT_NONE)) return st;
  if (dilation < 1 || (stride != 1 && stride != 2)) {
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": dilation " + std::to_string(dilation) +
                                                          " (>= 1) and stride " + std::to_string(stride) +
                                                          " (1 or 2) out of range");
  }
  const int64_t planes = batch * channels, hw = h * w;
  if (planes * hw == 0) return detail::ok();
  DEEPSPG_CHECK_PTR(fn, x);
  DEEPSPG_CHECK_PTR(fn, weight);
  DEEPSPG_CHECK_PTR(fn, y);
  const int64_t ho = (h - 1) / stride + 1, wo = (w - 1) / stride + 1, rows = planes * ho;
  const std::vector<float> zero(static_cast<size_t>(w), 0.0f);
#pragma omp parallel for schedule(static) if (planes * hw >= detail::kOmpMinWork)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t p = r / ho, c = (r % ho) * stride;  // c: the centre input row
    const float* xp = x + p * hw;
    const float* r0 = c >= dilation ? xp + (c - dilation) * w : zero.data();
    const float* r2 = c + dilation < h ? xp + (c + dilation) * w : zero.data();
    dilated_row(r0, xp + c * w, r2, weight + (p % channels) * 9, w, dilation, stride, y + r * wo);
  }
  return detail::ok();
}

}  // namespace
}  // namespace deepspg::ops

// ---------------------------------------------------------------------------------------------------------------
// C ABI

extern "C" {

int32_t deepspg_dwconv3x3_forward_cpu_f32(const float* x, const float* weight, int64_t batch, int64_t channels,
                                          int64_t h, int64_t w, int32_t act, float* y, float* pre) {
  return deepspg::ops::forward_impl(__func__, x, weight, batch, channels, h, w, act, y, pre);
}

int32_t deepspg_dwconv3x3_dilated_forward_cpu_f32(const float* x, const float* weight, int64_t batch,
                                                  int64_t channels, int64_t h, int64_t w, int64_t dilation,
                                                  int64_t stride, float* y) {
  return deepspg::ops::dilated_forward_impl(__func__, x, weight, batch, channels, h, w, dilation, stride, y);
}

int32_t deepspg_dwconv3x3_pair_forward_cpu_f32(const float* x, const float* weight1, const float* weight2,
                                               const float* residual, int64_t batch, int64_t channels, int64_t h,
                                               int64_t w, float* y) {
  return deepspg::ops::pair_forward_impl(__func__, x, weight1, weight2, residual, batch, channels, h, w, y);
}

int32_t deepspg_dwconv3x3_forward_cpu_f64(const double* x, const double* weight, int64_t batch, int64_t channels,
                                          int64_t h, int64_t w, int32_t act, double* y, double* pre) {
  return deepspg::ops::forward_impl(__func__, x, weight, batch, channels, h, w, act, y, pre);
}

int32_t deepspg_dwconv3x3_backward_cpu_f32(const float* dy, const float* x, const float* weight, const float* pre,
                                           int64_t batch, int64_t channels, int64_t h, int64_t w, int32_t act,
                                           float* dx, float* dweight) {
  return deepspg::ops::backward_impl(__func__, dy, x, weight, pre, batch, channels, h, w, act, dx, dweight);
}

int32_t deepspg_dwconv3x3_backward_avx512(int32_t enable) {
  using deepspg::ops::detail::fail;
  if (enable != 0 && enable != 1)
    return fail(DEEPSPG_ERR_INVALID_ARGUMENT, "deepspg_dwconv3x3_backward_avx512: enable must be 0 or 1, got " +
                                                  std::to_string(enable));
#if defined(__x86_64__)
  const bool has = deepspg::ops::detail::cpu_has_avx512f();
#else
  const bool has = false;
#endif
  if (enable == 1 && !has)
    return fail(DEEPSPG_ERR_NOT_COMPILED, "deepspg_dwconv3x3_backward_avx512: this build or CPU has no AVX-512F");
  deepspg::ops::g_backward_avx512.store(enable == 1, std::memory_order_relaxed);
  return deepspg::ops::detail::ok();
}

int32_t deepspg_dwconv3x3_backward_cpu_f64(const double* dy, const double* x, const double* weight,
                                           const double* pre, int64_t batch, int64_t channels, int64_t h, int64_t w,
                                           int32_t act, double* dx, double* dweight) {
  return deepspg::ops::backward_impl(__func__, dy, x, weight, pre, batch, channels, h, w, act, dx, dweight);
}

#if !DEEPSPG_WITH_CUDA
// Entry points of src/cuda/depthwise_conv.cu for a build without a CUDA compiler (same ABI in every build).
int32_t deepspg_dwconv3x3_forward_cuda_f32(const float*, const float*, int64_t, int64_t, int64_t, int64_t, int32_t,
                                           float*, float*, void*) {
  return deepspg::ops::detail::fail(DEEPSPG_ERR_NOT_COMPILED,
                                    "deepspg_dwconv3x3_forward_cuda_f32: libdeepspg_kernels was built without CUDA");
}
int32_t deepspg_dwconv3x3_backward_cuda_f32(const float*, const float*, const float*, const float*, int64_t, int64_t,
                                            int64_t, int64_t, int32_t, float*, float*, void*, void*) {
  return deepspg::ops::detail::fail(DEEPSPG_ERR_NOT_COMPILED,
                                    "deepspg_dwconv3x3_backward_cuda_f32: libdeepspg_kernels was built without CUDA");
}
#endif

}  // extern "C"
