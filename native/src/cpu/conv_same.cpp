// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Grouped k x k convolution, stride 1, zero padding k/2 ("same" size, k odd), optional bias, CPU backend. Serves
// the illumination estimator's 5x5 conv with 4 groups (spec ARCHITECTURE.md section 1.3), ~0.9 s per 416x608 call
// in libtorch's CPU path with oneDNN off, in training and where the direct convolution is off (inference runs
// conv2d_direct.cpp's grouped entry point, 2-3.5x faster), any dense 3x3 "same" conv (embedding, mapping) and
// ESPNetv2's narrow grouped 3x3.
//
// With p = k/2, G groups, ci = in/G and co = out/G channels per group, output channel o in group g = o / co:
//   forward   y[b,o][r][x] = bias[o] + sum_{i<ci, u,v<k} w[o,i,u,v] x[b, g ci + i][r+u-p][x+v-p]
//   backward  dx = the same conv of dy with the group-transposed, flipped kernel wt[g ci + i, j, u, v] =
//             w[g co + j, i, k-1-u, k-1-v] (in and out swapped within each group)
//             dw[o,i,u,v] = sum_{b,r,x} dy[b,o][r][x] x[b, g ci + i][r+u-p][x+v-p],  dbias[o] = sum dy[b,o]
// Layout: x [B, in, H, W], y [B, out, H, W], weight [out, in/G, k, k] (PyTorch's layout), bias [out], contiguous.
// Dtypes float, double. Parallel over (b, o, band of kBand rows). Each output row is accumulated in a thread-local
// row buffer by one pass per (input channel, u, v); a pass covers exactly the columns where the tap lands inside the
// image, so the loop has no branches and vectorises over the width. dweight/dbias: one partial per work item in
// double, reduced in (batch, band) order: results do not depend on the thread count.
#include <algorithm>
#include <string>
#include <vector>

#include "../common/common.h"

namespace deepspg::ops {
namespace {

constexpr int64_t kBand = 16;

struct Geometry {
  int64_t batch, in, out, groups, k, h, w;
  int64_t ci() const { return in / groups; }
  int64_t co() const { return out / groups; }
  int64_t bands() const { return (h + kBand - 1) / kBand; }
};

int32_t check_geometry(const char* fn, const Geometry& g) {
  if (g.batch < 0 || g.in < 1 || g.out < 1 || g.groups < 1 || g.h < 0 || g.w < 0 || g.k < 1 || g.k % 2 == 0 ||
      g.in % g.groups != 0 || g.out % g.groups != 0) {
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT,
                        std::string(fn) + ": bad geometry batch=" + std::to_string(g.batch) + " in=" +
                            std::to_string(g.in) + " out=" + std::to_string(g.out) + " groups=" +
                            std::to_string(g.groups) + " k=" + std::to_string(g.k) + " h=" + std::to_string(g.h) +
                            " w=" + std::to_string(g.w) + " (need k odd, channels divisible by groups)");
  }
  return DEEPSPG_OK;
}

// acc[x] += wv * src[x + shift] over the columns where 0 <= x + shift < w.
template <typename T>
inline void axpy_shifted(T wv, const T* __restrict src, int64_t shift, int64_t w, T* __restrict acc) {
  const int64_t lo = std::max<int64_t>(0, -shift), hi = std::min<int64_t>(w, w - shift);
#pragma omp simd
  for (int64_t x = lo; x < hi; ++x) acc[x] += wv * src[x + shift];
}

// sum_x g[x] src[x + shift] over the columns where 0 <= x + shift < w.
template <typename T>
inline T dot_shifted(const T* __restrict g, const T* __restrict src, int64_t shift, int64_t w) {
  const int64_t lo = std::max<int64_t>(0, -shift), hi = std::min<int64_t>(w, w - shift);
  T s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t x = lo; x < hi; ++x) s += g[x] * src[x + shift];
  return s;
}

// acc[x] += sum_{u,v<K} w[u K + v] rows[u][x + v - K/2] for one output row, K a compile-time size: one pass with K*K
// FMAs per load/store of acc over the interior columns (branch-free), bounds-checked taps on the K/2 border columns.
// rows[u] points at a zero row where row u lies outside the image.
template <typename T, int K>
inline void row_pass(const T* const* rows, const T* w, int64_t width, T* __restrict acc) {
  constexpr int P = K / 2;
  const T* r[K];
  T wk[K * K];
  for (int u = 0; u < K; ++u) r[u] = rows[u];
  for (int t = 0; t < K * K; ++t) wk[t] = w[t];
  auto border = [&](int64_t x) {
    T s = acc[x];
    for (int u = 0; u < K; ++u)
      for (int v = 0; v < K; ++v) {
        const int64_t c = x + v - P;
        if (c >= 0 && c < width) s += wk[u * K + v] * r[u][c];
      }
    acc[x] = s;
  };
  if (width <= 2 * P) {
    for (int64_t x = 0; x < width; ++x) border(x);
    return;
  }
  for (int64_t x = 0; x < P; ++x) border(x);
#pragma omp simd
  for (int64_t x = P; x < width - P; ++x) {
    T s = acc[x];
#pragma GCC unroll 25
    for (int u = 0; u < K; ++u)
#pragma GCC unroll 5
      for (int v = 0; v < K; ++v) s += wk[u * K + v] * r[u][x + v - P];
    acc[x] = s;
  }
  for (int64_t x = width - P; x < width; ++x) border(x);
}

// out[v] += sum_x g[x] src[x + v - K/2] for v < K (src zero outside [0, width)), K a compile-time size.
template <typename T, int K>
inline void dots_pass(const T* __restrict g, const T* __restrict src, int64_t width, double* out) {
  constexpr int P = K / 2;
  T s[K];
  for (int v = 0; v < K; ++v) s[v] = 0;
  auto border = [&](int64_t x) {
    for (int v = 0; v < K; ++v) {
      const int64_t c = x + v - P;
      if (c >= 0 && c < width) s[v] += g[x] * src[c];
    }
  };
  if (width <= 2 * P) {
    for (int64_t x = 0; x < width; ++x) border(x);
  } else {
    for (int64_t x = 0; x < P; ++x) border(x);
    T a[K];
    for (int v = 0; v < K; ++v) a[v] = 0;
    // K independent sums over the interior; the reduction order is fixed per build.
    for (int v = 0; v < K; ++v) {
      T acc = 0;
#pragma omp simd reduction(+ : acc)
      for (int64_t x = P; x < width - P; ++x) acc += g[x] * src[x + v - P];
      a[v] = acc;
    }
    for (int v = 0; v < K; ++v) s[v] += a[v];
    for (int64_t x = width - P; x < width; ++x) border(x);
  }
  for (int v = 0; v < K; ++v) out[v] += static_cast<double>(s[v]);
}

template <typename T>
void conv_forward(const T* x, const T* weight, const T* bias, const Geometry& g, T* y) {
  const int64_t hw = g.h * g.w, ci = g.ci(), co = g.co(), k = g.k, p = k / 2, bands = g.bands();
  const int64_t items = g.batch * g.out * bands;
  const bool par = g.batch * g.out * hw * ci * k * k >= detail::kOmpMinWork;
  const std::vector<T> zero(static_cast<size_t>(g.w), T(0));
#pragma omp parallel if (par)
  {
    std::vector<T> acc(static_cast<size_t>(g.w));
#pragma omp for schedule(static)
    for (int64_t item = 0; item < items; ++item) {
      const int64_t band = item % bands, o = (item / bands) % g.out, b = item / (bands * g.out);
      const int64_t grp = o / co, y0 = band * kBand, y1 = std::min(g.h, y0 + kBand);
      const T* wo = weight + o * ci * k * k;
      const T* xg = x + (b * g.in + grp * ci) * hw;
      T* yo = y + (b * g.out + o) * hw;
      const T b0 = bias != nullptr ? bias[o] : T(0);
      for (int64_t r = y0; r < y1; ++r) {
        std::fill(acc.begin(), acc.end(), b0);
        for (int64_t i = 0; i < ci; ++i) {
          if (k == 1 || k == 3 || k == 5) {
            const T* rows[5] = {nullptr, nullptr, nullptr, nullptr, nullptr};
            for (int64_t u = 0; u < k; ++u) {
              const int64_t s = r + u - p;
              rows[u] = s >= 0 && s < g.h ? xg + i * hw + s * g.w : zero.data();
            }
            const T* wi = wo + i * k * k;
            if (k == 1) row_pass<T, 1>(rows, wi, g.w, acc.data());
            else if (k == 3) row_pass<T, 3>(rows, wi, g.w, acc.data());
            else row_pass<T, 5>(rows, wi, g.w, acc.data());
            continue;
          }
          for (int64_t u = 0; u < k; ++u) {
            const int64_t s = r + u - p;
            if (s < 0 || s >= g.h) continue;
            const T* src = xg + i * hw + s * g.w;
            const T* wr = wo + (i * k + u) * k;
            for (int64_t v = 0; v < k; ++v) axpy_shifted(wr[v], src, v - p, g.w, acc.data());
          }
        }
        std::copy(acc.begin(), acc.end(), yo + r * g.w);
      }
    }
  }
}

template <typename T>
int32_t forward_impl(const char* fn, const T* x, const T* weight, const T* bias, const Geometry& g, T* y) {
  if (int32_t st = check_geometry(fn, g)) return st;
  if (g.batch * g.h * g.w == 0) return detail::ok();
  DEEPSPG_CHECK_PTR(fn, x);
  DEEPSPG_CHECK_PTR(fn, weight);
  DEEPSPG_CHECK_PTR(fn, y);
  conv_forward(x, weight, bias, g, y);
  return detail::ok();
}

template <typename T>
int32_t backward_impl(const char* fn, const T* dy, const T* x, const T* weight, const Geometry& g, T* dx, T* dweight,
                      T* dbias) {
  if (int32_t st = check_geometry(fn, g)) return st;
  const int64_t ci = g.ci(), co = g.co(), k = g.k, kk = k * k, p = k / 2, hw = g.h * g.w, bands = g.bands();
  if (dweight != nullptr) std::fill(dweight, dweight + g.out * ci * kk, T(0));
  if (dbias != nullptr) std::fill(dbias, dbias + g.out, T(0));
  if (g.batch * hw == 0) return detail::ok();
  DEEPSPG_CHECK_PTR(fn, dy);
  if (dx != nullptr) {
    DEEPSPG_CHECK_PTR(fn, weight);
    // dx = conv(dy, wt) with in/out swapped within each group and the kernel flipped.
    std::vector<T> wt(static_cast<size_t>(g.in * co * kk));
    for (int64_t grp = 0; grp < g.groups; ++grp)
      for (int64_t i = 0; i < ci; ++i)
        for (int64_t j = 0; j < co; ++j)
          for (int64_t t = 0; t < kk; ++t)
            wt[((grp * ci + i) * co + j) * kk + t] = weight[((grp * co + j) * ci + i) * kk + (kk - 1 - t)];
    const Geometry gt{g.batch, g.out, g.in, g.groups, k, g.h, g.w};
    conv_forward<T>(dy, wt.data(), nullptr, gt, dx);
  }
  if (dweight == nullptr && dbias == nullptr) return detail::ok();
  if (dweight != nullptr) DEEPSPG_CHECK_PTR(fn, x);
  const int64_t items = g.batch * g.out * bands, part = ci * kk + 1;
  std::vector<double> partial(static_cast<size_t>(items * part), 0.0);
  const bool par = g.batch * g.out * hw * ci * kk >= detail::kOmpMinWork;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t item = 0; item < items; ++item) {
    const int64_t band = item % bands, o = (item / bands) % g.out, b = item / (bands * g.out);
    const int64_t grp = o / co, y0 = band * kBand, y1 = std::min(g.h, y0 + kBand);
    const T* go = dy + (b * g.out + o) * hw;
    const T* xg = x != nullptr ? x + (b * g.in + grp * ci) * hw : nullptr;
    double* pp = partial.data() + item * part;
    for (int64_t r = y0; r < y1; ++r) {
      const T* grow = go + r * g.w;
      if (dbias != nullptr) {
        T s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t c = 0; c < g.w; ++c) s += grow[c];
        pp[ci * kk] += static_cast<double>(s);
      }
      if (dweight == nullptr) continue;
      for (int64_t i = 0; i < ci; ++i)
        for (int64_t u = 0; u < k; ++u) {
          const int64_t s = r + u - p;
          if (s < 0 || s >= g.h) continue;
          const T* src = xg + i * hw + s * g.w;
          double* out = pp + (i * k + u) * k;
          if (k == 1) dots_pass<T, 1>(grow, src, g.w, out);
          else if (k == 3) dots_pass<T, 3>(grow, src, g.w, out);
          else if (k == 5) dots_pass<T, 5>(grow, src, g.w, out);
          else
            for (int64_t v = 0; v < k; ++v) out[v] += static_cast<double>(dot_shifted(grow, src, v - p, g.w));
        }
    }
  }
  // Deterministic: per output channel, batch by batch, band by band.
  for (int64_t o = 0; o < g.out; ++o) {
    std::vector<double> acc(static_cast<size_t>(part), 0.0);
    for (int64_t b = 0; b < g.batch; ++b)
      for (int64_t band = 0; band < bands; ++band) {
        const double* pp = partial.data() + ((b * g.out + o) * bands + band) * part;
        for (int64_t t = 0; t < part; ++t) acc[t] += pp[t];
      }
    if (dweight != nullptr)
      for (int64_t t = 0; t < ci * kk; ++t) dweight[o * ci * kk + t] = static_cast<T>(acc[t]);
    if (dbias != nullptr) dbias[o] = static_cast<T>(acc[ci * kk]);
  }
  return detail::ok();
}

}  // namespace
}  // namespace deepspg::ops

// ---------------------------------------------------------------------------------------------------------------
// C ABI

extern "C" {

int32_t deepspg_conv_same_forward_cpu_f32(const float* x, const float* weight, const float* bias, int64_t batch,
                                          int64_t in_channels, int64_t out_channels, int64_t groups, int64_t k,
                                          int64_t h, int64_t w, float* y) {
  const deepspg::ops::Geometry g{batch, in_channels, out_channels, groups, k, h, w};
  return deepspg::ops::forward_impl(__func__, x, weight, bias, g, y);
}

int32_t deepspg_conv_same_forward_cpu_f64(const double* x, const double* weight, const double* bias, int64_t batch,
                                          int64_t in_channels, int64_t out_channels, int64_t groups, int64_t k,
                                          int64_t h, int64_t w, double* y) {
  const deepspg::ops::Geometry g{batch, in_channels, out_channels, groups, k, h, w};
  return deepspg::ops::forward_impl(__func__, x, weight, bias, g, y);
}

int32_t deepspg_conv_same_backward_cpu_f32(const float* dy, const float* x, const float* weight, int64_t batch,
                                           int64_t in_channels, int64_t out_channels, int64_t groups, int64_t k,
                                           int64_t h, int64_t w, float* dx, float* dweight, float* dbias) {
  const deepspg::ops::Geometry g{batch, in_channels, out_channels, groups, k, h, w};
  return deepspg::ops::backward_impl(__func__, dy, x, weight, g, dx, dweight, dbias);
}

int32_t deepspg_conv_same_backward_cpu_f64(const double* dy, const double* x, const double* weight, int64_t batch,
                                           int64_t in_channels, int64_t out_channels, int64_t groups, int64_t k,
                                           int64_t h, int64_t w, double* dx, double* dweight, double* dbias) {
  const deepspg::ops::Geometry g{batch, in_channels, out_channels, groups, k, h, w};
  return deepspg::ops::backward_impl(__func__, dy, x, weight, g, dx, dweight, dbias);
}

}  // extern "C"
