// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Dense k x k convolution, stride 1 or 2, zero padding k/2, forward only, float32, with a fused epilogue
// (bias, residual add, ReLU). Serves the frozen priors' inference (HRNet-W48: BN folded into the weights by the
// caller), where libtorch's oneDNN-off path (im2col + OpenBLAS) reached ~28 % of this CPU's FMA peak.
//
//   y[b,o][r][x] = act( bias[o] + residual[b,o][r][x] + sum_{i<C, u,v<k} w[o,i,u,v] xpad[b,i][s r + u][s x + v] )
//
// Method (direct convolution on a "flattened" padded grid):
//  1. The input is copied once (1x1 stride-1 convolutions read it in place) into s*s phase planes per channel, plane (qr, qc) holding xpad[s i + qr][s j + qc]
//     for i < Hq, j < Wq, zeros outside the image (Wq = Wo + (k-1)/s, Hq = Ho + (k-1)/s). Tap (u, v) of output
//     (r, x) is then plane ((u%s) s + v%s) at [r + u/s][x + v/s]: with the output laid out on the same Wq-wide grid
//     (j = r Wq + x), every tap is one constant offset from j, so a run of consecutive j is a contiguous load for
//     every tap, across row ends too. The Wq - Wo columns past each output row are computed and dropped (k=3,
//     s=1: 2 of every Wo + 2), instead of tiles that end at each row's edge (19-pixel rows would waste 40 %).
//  2. Weights are packed [out/OB][C][k k][OB] so that the OB weights of one (channel, tap) are adjacent.
//  3. A micro-kernel keeps OB output channels x NV vectors of consecutive j in registers, runs over all channels
//     and taps (NV vector loads + OB broadcasts per OB*NV FMAs) and stores the tile to a thread-local buffer; the
//     epilogue (bias, residual, ReLU) writes the valid columns of that buffer to y.
// ISAs: AVX-512F (OB 6 x NV 4 x 16 lanes), AVX2+FMA (OB 4 x NV 3 x 8 lanes), portable C++ (any x86-64); chosen at
// run time from CPUID, overridable (deepspg_conv2d_select_isa) so that callers can self-check each path. float
// accumulation in a fixed order per ISA: results do not depend on the thread count.
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../common/common.h"

namespace deepspg::ops {
namespace {

constexpr int kMaxOb = 6;
/** Output positions per work item: a multiple of every ISA's tile width (16 x 4 = 64, 8 x 3 = 24, 8). */
constexpr int64_t kChunk = 384;

struct Geometry {
  int64_t batch, in, out, k, s, h, w;
  int64_t p() const { return k / 2; }
  int64_t ho() const { return (h + 2 * p() - k) / s + 1; }
  int64_t wo() const { return (w + 2 * p() - k) / s + 1; }
  int64_t wq() const { return wo() + (k - 1) / s; }
  int64_t hq() const { return ho() + (k - 1) / s; }
  int64_t plane() const { return hq() * wq(); }
  int64_t channel_stride() const { return s * s * plane(); }
  int64_t grid() const { return ho() * wq(); }
};

// ---- micro-kernels: acc[o][j0 + t] for t < NV*VL, o < OB, over all channels and taps, stored to buf[o*kChunk + t]
// in: the packed input of one batch item at grid offset j0; off[t]: offset of tap t; wp: [C][taps][OB].

__attribute__((target("avx512f"))) void tile_avx512(const float* in, int64_t cstride, const int64_t* off, int taps,
                                                     int64_t channels, const float* wp, float* buf) {
  constexpr int OB = 6, NV = 4, VL = 16;
  __m512 acc[OB][NV];
  for (int o = 0; o < OB; ++o)
    for (int v = 0; v < NV; ++v) acc[o][v] = _mm512_setzero_ps();
  for (int64_t c = 0; c < channels; ++c) {
    const float* ic = in + c * cstride;
    for (int t = 0; t < taps; ++t, wp += OB) {
      const float* src = ic + off[t];
      __m512 xv[NV];
      for (int v = 0; v < NV; ++v) xv[v] = _mm512_loadu_ps(src + v * VL);
      for (int o = 0; o < OB; ++o) {
        const __m512 wv = _mm512_set1_ps(wp[o]);
        for (int v = 0; v < NV; ++v) acc[o][v] = _mm512_fmadd_ps(wv, xv[v], acc[o][v]);
      }
    }
  }
  for (int o = 0; o < OB; ++o)
    for (int v = 0; v < NV; ++v) _mm512_storeu_ps(buf + o * kChunk + v * VL, acc[o][v]);
}

__attribute__((target("avx2,fma"))) void tile_avx2(const float* in, int64_t cstride, const int64_t* off, int taps,
                                                   int64_t channels, const float* wp, float* buf) {
  constexpr int OB = 4, NV = 3, VL = 8;
  __m256 acc[OB][NV];
  for (int o = 0; o < OB; ++o)
    for (int v = 0; v < NV; ++v) acc[o][v] = _mm256_setzero_ps();
  for (int64_t c = 0; c < channels; ++c) {
    const float* ic = in + c * cstride;
    for (int t = 0; t < taps; ++t, wp += OB) {
      const float* src = ic + off[t];
      __m256 xv[NV];
      for (int v = 0; v < NV; ++v) xv[v] = _mm256_loadu_ps(src + v * VL);
      for (int o = 0; o < OB; ++o) {
        const __m256 wv = _mm256_broadcast_ss(wp + o);
        for (int v = 0; v < NV; ++v) acc[o][v] = _mm256_fmadd_ps(wv, xv[v], acc[o][v]);
      }
    }
  }
  for (int o = 0; o < OB; ++o)
    for (int v = 0; v < NV; ++v) _mm256_storeu_ps(buf + o * kChunk + v * VL, acc[o][v]);
}

void tile_generic(const float* in, int64_t cstride, const int64_t* off, int taps, int64_t channels, const float* wp,
                  float* buf) {
  constexpr int OB = 4, TW = 8;
  float acc[OB][TW] = {};
  for (int64_t c = 0; c < channels; ++c) {
    const float* ic = in + c * cstride;
    for (int t = 0; t < taps; ++t, wp += OB) {
      const float* src = ic + off[t];
      for (int o = 0; o < OB; ++o)
        for (int x = 0; x < TW; ++x) acc[o][x] += wp[o] * src[x];
    }
  }
  for (int o = 0; o < OB; ++o)
    for (int x = 0; x < TW; ++x) buf[o * kChunk + x] = acc[o][x];
}

struct Isa {
  int32_t id;
  int ob, tile;  // output channels and grid positions per micro-kernel call
  void (*kernel)(const float*, int64_t, const int64_t*, int, int64_t, const float*, float*);
};

constexpr Isa kIsas[] = {
    {DEEPSPG_CONV2D_ISA_GENERIC, 4, 8, tile_generic},
    {DEEPSPG_CONV2D_ISA_AVX2, 4, 24, tile_avx2},
    {DEEPSPG_CONV2D_ISA_AVX512, 6, 64, tile_avx512},
};

bool cpu_has(int32_t isa) {
  __builtin_cpu_init();
  switch (isa) {
    case DEEPSPG_CONV2D_ISA_AVX512: return __builtin_cpu_supports("avx512f");
    case DEEPSPG_CONV2D_ISA_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    default: return true;
  }
}

int32_t best_isa() {
  for (int32_t isa : {DEEPSPG_CONV2D_ISA_AVX512, DEEPSPG_CONV2D_ISA_AVX2})
    if (cpu_has(isa)) return isa;
  return DEEPSPG_CONV2D_ISA_GENERIC;
}

std::atomic<int32_t> g_isa{-1};

/** The entry of kIsas with this id, or nullptr. */
const Isa* find_isa(int32_t id) {
  for (const Isa& i : kIsas)
    if (i.id == id) return &i;
  return nullptr;
}

const Isa& current_isa() {
  int32_t id = g_isa.load(std::memory_order_relaxed);
  if (id < 0) {
    id = best_isa();
    g_isa.store(id, std::memory_order_relaxed);
  }
  const Isa* isa = find_isa(id);
  return isa ? *isa : kIsas[0];
}

int32_t check_geometry(const Geometry& g) {
  if (g.batch < 0 || g.in < 1 || g.out < 1 || g.k < 1 || g.k % 2 == 0 || (g.s != 1 && g.s != 2) || g.h < 1 ||
      g.w < 1 || g.ho() < 1 || g.wo() < 1) {
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT,
                        "deepspg_conv2d: bad geometry batch=" + std::to_string(g.batch) +
                            " in=" + std::to_string(g.in) + " out=" + std::to_string(g.out) +
                            " k=" + std::to_string(g.k) + " stride=" + std::to_string(g.s) +
                            " h=" + std::to_string(g.h) + " w=" + std::to_string(g.w) +
                            " (need k odd, stride 1 or 2, a non-empty output)");
  }
  return DEEPSPG_OK;
}

// The phase planes of one batch item: dst[c][qr s + qc][i][j] = xpad[c][s i + qr][s j + qc].
void pack_input(const Geometry& g, const float* x, float* dst) {
  const int64_t s = g.s, p = g.p(), hq = g.hq(), wq = g.wq(), plane = g.plane();
  const int64_t rows = g.in * s * s * hq;
#pragma omp parallel for schedule(static) if (rows * wq >= detail::kOmpMinWork)
  for (int64_t idx = 0; idx < rows; ++idx) {
    const int64_t i = idx % hq, ph = (idx / hq) % (s * s), c = idx / (hq * s * s);
    const int64_t qr = ph / s, qc = ph % s;
    float* d = dst + c * s * s * plane + ph * plane + i * wq;
    const int64_t r = s * i + qr - p;
    if (r < 0 || r >= g.h) {
      std::fill(d, d + wq, 0.0f);
      continue;
    }
    const float* src = x + (c * g.h + r) * g.w;
    for (int64_t j = 0; j < wq; ++j) {
      const int64_t col = s * j + qc - p;
      d[j] = (col >= 0 && col < g.w) ? src[col] : 0.0f;
    }
  }
}

/** Floats of a weight [out][in][k][k] packed for `isa`: [ceil(out/OB)][in][k k][OB], zero past `out`. */
int64_t packed_floats(const Isa& isa, int64_t out, int64_t in, int64_t k) {
  return (out + isa.ob - 1) / isa.ob * in * k * k * isa.ob;
}

void pack_weight(const Isa& isa, const float* weight, int64_t out, int64_t in, int64_t k, float* wp) {
  const int64_t ob = isa.ob, taps = k * k, ocb = (out + ob - 1) / ob;
#pragma omp parallel for schedule(static) if (out * in * taps >= detail::kOmpMinWork)
  for (int64_t blk = 0; blk < ocb; ++blk)
    for (int64_t c = 0; c < in; ++c)
      for (int64_t t = 0; t < taps; ++t) {
        float* d = wp + ((blk * in + c) * taps + t) * ob;
        for (int64_t j = 0; j < ob; ++j) {
          const int64_t o = blk * ob + j;
          d[j] = o < out ? weight[(o * in + c) * taps + t] : 0.0f;
        }
      }
}

/** Sets *out to the ISA a caller names (AUTO: the current one); an error when unknown or not on this CPU. */
int32_t resolve_isa(const char* fn, int32_t id, const Isa** out) {
  if (id == DEEPSPG_CONV2D_ISA_AUTO) id = current_isa().id;
  *out = find_isa(id);
  if (*out == nullptr) {
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": unknown ISA " + std::to_string(id));
  }
  if (!cpu_has(id)) {
    return detail::fail(DEEPSPG_ERR_NOT_COMPILED, std::string(fn) + ": this CPU lacks ISA " + std::to_string(id));
  }
  return DEEPSPG_OK;
}

/** The convolution with a weight already packed for `isa` (geometry checked, pointers non-null). */
int32_t run(const char* fn, const Isa& isa, const Geometry& g, const float* x, const float* wpack, const float* bias,
            const float* residual, int32_t relu, float* y) {
  const int64_t batch = g.batch, in_channels = g.in, out_channels = g.out, k = g.k;
  const int ob = isa.ob, taps = static_cast<int>(k * k);
  const int64_t s = g.s, h = g.h, w = g.w, wq = g.wq(), ho = g.ho(), wo = g.wo(), grid = g.grid();
  const int64_t ocb = (out_channels + ob - 1) / ob, chunks = (grid + kChunk - 1) / kChunk;
  const int64_t cstride = g.channel_stride();
  std::vector<int64_t> off(taps);
  for (int u = 0; u < k; ++u)
    for (int v = 0; v < k; ++v)
      off[u * k + v] = ((u % s) * s + v % s) * g.plane() + (u / s) * wq + v / s;
  // Valid outputs read inside their own plane; dropped ones past the last item's end by at most a chunk plus
  // (k-1)/s (every tap offset is below one channel's planes minus the last grid row): that is the slack.
  // A 1x1 stride-1 convolution reads x itself (its grid is the image: no padding, no phases), except for the tail
  // of each image that a full tile would overrun, which goes through a small zero-padded copy.
  const bool direct = k == 1 && s == 1;
  const int64_t item = direct ? in_channels * h * w : in_channels * cstride, slack = kChunk + k + 64;
  const int64_t tail0 = direct ? grid / isa.tile * isa.tile : grid;  // first position whose tile would overrun
  const int64_t tail_stride = isa.tile;
  std::unique_ptr<float[]> packed, tail;
  try {
    if (!direct) packed.reset(new float[batch * item + slack]);  // pack_input writes every element but the slack
    if (direct && tail0 < grid) tail.reset(new float[batch * in_channels * tail_stride]());
  } catch (const std::bad_alloc&) {
    return detail::fail(DEEPSPG_ERR_OUT_OF_MEMORY, std::string(fn) + ": out of memory for the packed input");
  }
  if (!direct) {
    std::fill(packed.get() + batch * item, packed.get() + batch * item + slack, 0.0f);
    for (int64_t b = 0; b < batch; ++b) pack_input(g, x + b * in_channels * h * w, packed.get() + b * item);
  } else if (tail) {
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t c = 0; c < in_channels; ++c)
        std::copy(x + (b * in_channels + c) * grid + tail0, x + (b * in_channels + c + 1) * grid,
                  tail.get() + (b * in_channels + c) * tail_stride);
  }
  const float* base = direct ? x : packed.get();
  const int64_t in_cstride = direct ? grid : cstride;
  const int64_t items = batch * chunks * ocb;
  const int64_t work = items * kChunk * ob * in_channels * taps;
#pragma omp parallel if (work >= detail::kOmpMinWork)
  {
    alignas(64) float buf[kMaxOb * kChunk];
#pragma omp for schedule(static)
    for (int64_t it = 0; it < items; ++it) {
      const int64_t blk = it % ocb, chunk = (it / ocb) % chunks, b = it / (ocb * chunks);
      const int64_t j0 = chunk * kChunk, j1 = std::min(grid, j0 + kChunk);
      const float* in = base + b * item;
      const float* wp = wpack + blk * in_channels * taps * ob;
      for (int64_t j = j0; j < j1; j += isa.tile) {
        if (j < tail0) {
          isa.kernel(in + j, in_cstride, off.data(), taps, in_channels, wp, buf + (j - j0));
        } else {  // direct 1x1 only: the image's last, partial tile
          isa.kernel(tail.get() + b * in_channels * tail_stride, tail_stride, off.data(), taps, in_channels, wp,
                     buf + (j - j0));
        }
      }
      const int64_t o0 = blk * ob, o1 = std::min(out_channels, o0 + ob);
      for (int64_t o = o0; o < o1; ++o) {
        const float* acc = buf + (o - o0) * kChunk;
        const float bo = bias ? bias[o] : 0.0f;
        const int64_t plane = (b * out_channels + o) * ho * wo;
        float* yo = y + plane;
        const float* ro = residual ? residual + plane : nullptr;
        // walk the chunk row segment by row segment of the Wq-wide grid, keeping columns x < wo
        for (int64_t j = j0; j < j1;) {
          const int64_t r = j / wq, x = j % wq, end = std::min(j1, (r + 1) * wq);
          const int64_t xe = std::min(wo, x + (end - j));
          for (int64_t xx = x; xx < xe; ++xx) {
            float v = acc[j - j0 + (xx - x)] + bo;
            if (ro) v += ro[r * wo + xx];
            yo[r * wo + xx] = relu && v < 0.0f ? 0.0f : v;
          }
          j = end;
        }
      }
    }
  }
  return detail::ok();
}

}  // namespace
}  // namespace deepspg::ops

using namespace deepspg::ops;

extern "C" {

int32_t deepspg_conv2d_select_isa(int32_t isa) {
  const Isa* i = nullptr;
  if (int32_t rc = resolve_isa("deepspg_conv2d_select_isa", isa == DEEPSPG_CONV2D_ISA_AUTO ? best_isa() : isa, &i)) {
    return rc;
  }
  g_isa.store(i->id, std::memory_order_relaxed);
  return detail::ok();
}

int32_t deepspg_conv2d_isa(void) { return current_isa().id; }

int32_t deepspg_conv2d_packed_weight_floats(int32_t isa, int64_t out_channels, int64_t in_channels, int64_t k,
                                            int64_t* floats) {
  const char* fn = "deepspg_conv2d_packed_weight_floats";
  DEEPSPG_CHECK_PTR(fn, floats);
  const Isa* i = nullptr;
  if (int32_t rc = resolve_isa(fn, isa, &i)) return rc;
  if (int32_t rc = check_geometry(Geometry{0, in_channels, out_channels, k, 1, k, k})) return rc;
  *floats = packed_floats(*i, out_channels, in_channels, k);
  return detail::ok();
}

int32_t deepspg_conv2d_pack_weight_f32(int32_t isa, const float* weight, int64_t out_channels, int64_t in_channels,
                                       int64_t k, float* packed) {
  const char* fn = "deepspg_conv2d_pack_weight_f32";
  const Isa* i = nullptr;
  if (int32_t rc = resolve_isa(fn, isa, &i)) return rc;
  if (int32_t rc = check_geometry(Geometry{0, in_channels, out_channels, k, 1, k, k})) return rc;
  DEEPSPG_CHECK_PTR(fn, weight);
  DEEPSPG_CHECK_PTR(fn, packed);
  pack_weight(*i, weight, out_channels, in_channels, k, packed);
  return detail::ok();
}

int32_t deepspg_conv2d_forward_packed_cpu_f32(const float* x, int32_t isa, const float* packed, const float* bias,
                                              const float* residual, int64_t batch, int64_t in_channels,
                                              int64_t out_channels, int64_t k, int64_t stride, int64_t h, int64_t w,
                                              int32_t relu, float* y) {
  const char* fn = "deepspg_conv2d_forward_packed_cpu_f32";
  const Isa* i = nullptr;
  if (int32_t rc = resolve_isa(fn, isa, &i)) return rc;
  const Geometry g{batch, in_channels, out_channels, k, stride, h, w};
  if (int32_t rc = check_geometry(g)) return rc;
  if (batch == 0) return detail::ok();
  DEEPSPG_CHECK_PTR(fn, x);
  DEEPSPG_CHECK_PTR(fn, packed);
  DEEPSPG_CHECK_PTR(fn, y);
  return run(fn, *i, g, x, packed, bias, residual, relu, y);
}

int32_t deepspg_conv2d_forward_cpu_f32(const float* x, const float* weight, const float* bias, const float* residual,
                                       int64_t batch, int64_t in_channels, int64_t out_channels, int64_t k,
                                       int64_t stride, int64_t h, int64_t w, int32_t relu, float* y) {
  const char* fn = "deepspg_conv2d_forward_cpu_f32";
  const Geometry g{batch, in_channels, out_channels, k, stride, h, w};
  if (int32_t rc = check_geometry(g)) return rc;
  if (batch == 0) return detail::ok();
  DEEPSPG_CHECK_PTR(fn, x);
  DEEPSPG_CHECK_PTR(fn, weight);
  DEEPSPG_CHECK_PTR(fn, y);
  const Isa& isa = current_isa();
  std::unique_ptr<float[]> wpack;
  try {
    wpack.reset(new float[packed_floats(isa, out_channels, in_channels, k)]);
  } catch (const std::bad_alloc&) {
    return detail::fail(DEEPSPG_ERR_OUT_OF_MEMORY, std::string(fn) + ": out of memory for the packed weight");
  }
  pack_weight(isa, weight, out_channels, in_channels, k, wpack.get());
  return run(fn, isa, g, x, wpack.get(), bias, residual, relu, y);
}

}  // extern "C"
