// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Dense k x k convolution, stride 1 or 2, zero padding k/2 (or any pad < k, even k included: the _ex entry point;
// channel groups: the _grouped entry point, stride 1, each group's blocks of outputs on its own input channels),
// float32, with a fused epilogue (bias, residual add, ReLU or GELU), and the weight gradient of 1x1 layers (at the
// end of this file; with the forward on the transposed weight for dx, a 1x1 layer's whole backward). Serves the
// frozen priors' inference (HRNet-W48: BN folded into the weights by the caller), where libtorch's oneDNN-off path
// (im2col + OpenBLAS) reached ~28 % of this CPU's FMA peak, the enhancement network's 1x1 and 4x4 stride-2 layers
// in inference (OpenBLAS ran those on its 256-bit kernels with extra packing and scaling passes), its illumination
// estimator's grouped 5x5 in inference (conv_same.cpp's row passes: 2-3.5x slower), and its 1x1 layers in training.
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
// 3x3 stride-1 layers can also run Winograd F(4x4, 3x3) on the same micro-kernels, wide ones on AVX-512's own
// (deepspg_conv2d_winograd_*, at the end of this file).
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../common/common.h"
#include "conv2d_direct.h"
#include "gelu_math.h"
#include "gram_avx512.h"

namespace deepspg::ops {
namespace {

using direct::Isa;
using direct::kChunk;
using direct::kMaxOb;

/** 1x1 outputs of at least this many bytes are stored non-temporally (run): past the L3 (about 16-24 MB effective on
 * the 2-vCPU EPYC VM), so the next op would read them from memory anyway. Smaller outputs stay cached (DeepSPG-S at
 * 608x416, alternating launches: an 8 MB threshold ran 0-4 % slower than this one). */
constexpr int64_t kStreamMinBytes = int64_t(32) << 20;

struct Geometry {
  int64_t batch, in, out, k, s, h, w;
  int64_t pad = -1;  // zero padding on every side; -1: k / 2 ("same" for odd k)
  int64_t groups = 1;  // channel groups: output o reads input channels [o / co * ci, + ci), ci = in / groups
  int64_t ci() const { return in / groups; }
  int64_t co() const { return out / groups; }
  int64_t p() const { return pad < 0 ? k / 2 : pad; }
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

// The AVX-512 micro-tile: kOb512 output channels x kNv512 vectors of 16 positions (24 accumulators in registers).
constexpr int kOb512 = 6, kNv512 = 4;

/** tile_avx512's accumulation: acc[o][v] over all channels and taps, one FMA per (c, tap, o, v) in that order. */
DEEPSPG_AVX512_INLINE void accumulate_avx512(const float* in, int64_t cstride, const int64_t* off, int taps,
                                             int64_t channels, const float* wp, __m512 (&acc)[kOb512][kNv512]) {
  constexpr int OB = kOb512, NV = kNv512, VL = 16;
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
}

DEEPSPG_AVX512 void tile_avx512(const float* in, int64_t cstride, const int64_t* off, int taps, int64_t channels,
                                const float* wp, float* buf) {
  __m512 acc[kOb512][kNv512];
  accumulate_avx512(in, cstride, off, taps, channels, wp, acc);
  for (int o = 0; o < kOb512; ++o)
    for (int v = 0; v < kNv512; ++v) _mm512_storeu_ps(buf + o * kChunk + v * 16, acc[o][v]);
}

/** The store epilogue's arithmetic on 16 lanes, as run's scalar loop has it: v + bias, + res[0..15] where m is set
 * (res may be null), ReLU'd when asked (a blend on v < 0: NaN and -0 pass). */
DEEPSPG_AVX512_INLINE __m512 epilogue_avx512(__m512 v, __m512 bias, const float* res, __mmask16 m, bool relu) {
  __m512 val = _mm512_add_ps(v, bias);
  if (res) val = _mm512_add_ps(val, _mm512_maskz_loadu_ps(m, res));
  if (relu) {
    const __m512 zero = _mm512_setzero_ps();
    val = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(val, zero, _CMP_LT_OQ), val, zero);
  }
  return val;
}

/** tile_avx512 with run's epilogue applied to the accumulators, for layers whose grid is the output plane (k = 1):
 * the first `nout` outputs' 64 positions stored straight to y[o plane] (+ bias[o], + residual res[o plane], ReLU'd
 * when asked), where the buffer path would write them to the buffer, read them back and store them. The same
 * arithmetic per element as that path (bias added even when it is 0, as there; the ReLU a blend on v < 0).
 * Stream: non-temporal stores (y + o plane 64-byte aligned, the caller's _mm_sfence before y is read). */
template <bool Stream>
DEEPSPG_AVX512 void tile_avx512_out(const float* in, int64_t cstride, const int64_t* off, int taps, int64_t channels,
                                    const float* wp, int64_t nout, const float* bias, const float* res, bool relu,
                                    int64_t plane, float* y) {
  __m512 acc[kOb512][kNv512];
  accumulate_avx512(in, cstride, off, taps, channels, wp, acc);
  for (int o = 0; o < kOb512 && o < nout; ++o) {
    const __m512 bo = _mm512_set1_ps(bias ? bias[o] : 0.0f);
    for (int v = 0; v < kNv512; ++v) {
      const float* r = res ? res + o * plane + v * 16 : nullptr;
      const __m512 val = epilogue_avx512(acc[o][v], bo, r, 0xFFFF, relu);
      if constexpr (Stream) {
        _mm512_stream_ps(y + o * plane + v * 16, val);
      } else {
        _mm512_storeu_ps(y + o * plane + v * 16, val);
      }
    }
  }
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

constexpr Isa kIsas[] = {
    {DEEPSPG_CONV2D_ISA_GENERIC, 4, 8, tile_generic},
    {DEEPSPG_CONV2D_ISA_AVX2, 4, 24, tile_avx2},
    {DEEPSPG_CONV2D_ISA_AVX512, kOb512, 16 * kNv512, tile_avx512},
};

bool cpu_has(int32_t isa) {
  __builtin_cpu_init();
  switch (isa) {
    case DEEPSPG_CONV2D_ISA_AVX512: return detail::cpu_has_avx512f();
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
  if (g.batch < 0 || g.in < 1 || g.out < 1 || g.k < 1 || (g.pad < 0 && g.k % 2 == 0) || g.p() >= g.k ||
      g.groups < 1 || g.in % g.groups != 0 || g.out % g.groups != 0 ||
      (g.s != 1 && g.s != 2) || g.h < 1 || g.w < 1 || g.h + 2 * g.p() < g.k || g.w + 2 * g.p() < g.k) {
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT,
                        "deepspg_conv2d: bad geometry batch=" + std::to_string(g.batch) +
                            " in=" + std::to_string(g.in) + " out=" + std::to_string(g.out) +
                            " k=" + std::to_string(g.k) + " stride=" + std::to_string(g.s) +
                            " pad=" + std::to_string(g.p()) + " h=" + std::to_string(g.h) +
                            " w=" + std::to_string(g.w) + " groups=" + std::to_string(g.groups) +
                            " (need k odd with pad k/2, or 0 <= pad < k; stride 1 or 2; a non-empty output;"
                            " channels divisible by groups)");
  }
  return DEEPSPG_OK;
}

/** Checks a weight's shape alone ([out][in][k][k]: channels >= 1, k >= 1), as the packing entry points need. */
int32_t check_weight(int64_t in_channels, int64_t out_channels, int64_t k) {
  return check_geometry(Geometry{0, in_channels, out_channels, k, 1, k, k, 0});
}

/** dst[j] = src[2 j] for j < n, 16 at a time (the even elements of two vector loads) while those stay within the
 * `avail` readable floats from src, the rest one by one. */
DEEPSPG_AVX512 void even_elements_avx512(const float* src, int64_t n, int64_t avail, float* dst) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  int64_t j = 0;
  for (; j + 16 <= n && 2 * j + 32 <= avail; j += 16) {
    _mm512_storeu_ps(dst + j, _mm512_permutex2var_ps(_mm512_loadu_ps(src + 2 * j), even,
                                                     _mm512_loadu_ps(src + 2 * j + 16)));
  }
  for (; j < n; ++j) dst[j] = src[2 * j];
}

// The phase planes of one batch item: dst[c][qr s + qc][i][j] = xpad[c][s i + qr][s j + qc]. Per row, the columns
// that fall inside the image are [j0, j1): a copy (stride 1) or the even/odd elements (stride 2, AVX-512 when the
// caller runs it), zeros outside.
void pack_input(const Geometry& g, const Isa& isa, const float* x, float* dst) {
  const int64_t s = g.s, p = g.p(), hq = g.hq(), wq = g.wq(), plane = g.plane();
  const int64_t rows = g.in * s * s * hq;
  const bool avx512 = isa.id == DEEPSPG_CONV2D_ISA_AVX512;
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
    // column s j + qc - p lies in [0, w) for j in [j0, j1)
    const int64_t j0 = std::min(wq, std::max<int64_t>(0, (p - qc + s - 1) / s));
    const int64_t last = g.w - 1 + p - qc;  // s j <= last; negative (w = 1, qc = 1, p = 0): no column
    const int64_t j1 = last < 0 ? j0 : std::max(j0, std::min(wq, last / s + 1));
    std::fill(d, d + j0, 0.0f);
    std::fill(d + j1, d + wq, 0.0f);
    const float* src = x + (c * g.h + r) * g.w + s * j0 + qc - p;
    if (s == 1) {
      std::copy(src, src + (j1 - j0), d + j0);
    } else if (avx512) {
      even_elements_avx512(src, j1 - j0, g.w - (s * j0 + qc - p), d + j0);
    } else {
      for (int64_t j = j0; j < j1; ++j) d[j] = src[s * (j - j0)];
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
            const float* residual, int32_t act, float* y) {
  const bool relu = act == DEEPSPG_ACT_RELU, gelu = act == DEEPSPG_ACT_GELU;
  const int64_t batch = g.batch, in_channels = g.in, out_channels = g.out, k = g.k;
  const int ob = isa.ob, taps = static_cast<int>(k * k);
  const int64_t s = g.s, h = g.h, w = g.w, wq = g.wq(), ho = g.ho(), wo = g.wo(), grid = g.grid();
  // per group: ci input and co output channels, ocb blocks of OB outputs, the group's packed weight at wg floats
  const int64_t groups = g.groups, ci = g.ci(), co = g.co(), ocb = (co + ob - 1) / ob;
  const int64_t wg = packed_floats(isa, co, ci, k), chunks = (grid + kChunk - 1) / kChunk;
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
  // k = 1: the grid is the output plane (Wq = Wo), so AVX-512 tiles that end inside it store their epilogue straight
  // to y (tile_avx512_out); GELU and partial tiles take the buffer
  const bool out_direct = k == 1 && isa.id == DEEPSPG_CONV2D_ISA_AVX512 && !gelu;
  // An output far larger than the caches is stored non-temporally: the stores skip reading each line in first (the
  // read-for-ownership that otherwise doubles the write traffic) and do not evict the input. Needs every plane of y
  // 64-byte aligned (libtorch aligns its CPU tensors to 64 bytes; the network's planes are multiples of 16 floats).
  const bool stream = out_direct && batch * out_channels * ho * wo * int64_t(sizeof(float)) >= kStreamMinBytes &&
                      reinterpret_cast<uintptr_t>(y) % 64 == 0 && (ho * wo) % 16 == 0;
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
    for (int64_t b = 0; b < batch; ++b) pack_input(g, isa, x + b * in_channels * h * w, packed.get() + b * item);
  } else if (tail) {
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t c = 0; c < in_channels; ++c)
        std::copy(x + (b * in_channels + c) * grid + tail0, x + (b * in_channels + c + 1) * grid,
                  tail.get() + (b * in_channels + c) * tail_stride);
  }
  const float* base = direct ? x : packed.get();
  const int64_t in_cstride = direct ? grid : cstride;
  const int64_t items = batch * chunks * groups * ocb;
  const int64_t work = items * kChunk * ob * ci * taps;
#pragma omp parallel if (work >= detail::kOmpMinWork)
  {
    alignas(64) float buf[kMaxOb * kChunk];
#pragma omp for schedule(static) nowait
    for (int64_t it = 0; it < items; ++it) {
      const int64_t blk = it % ocb, grp = (it / ocb) % groups, chunk = (it / (ocb * groups)) % chunks;
      const int64_t b = it / (ocb * groups * chunks);
      const int64_t j0 = chunk * kChunk, j1 = std::min(grid, j0 + kChunk);
      const float* in = base + b * item + grp * ci * in_cstride;
      const float* wp = wpack + grp * wg + blk * ci * taps * ob;
      const int64_t o0 = grp * co + blk * ob, o1 = std::min(grp * co + co, o0 + ob);
      int64_t jb = j1;  // the chunk's positions from jb on went through buf
      for (int64_t j = j0; j < j1; j += isa.tile) {
        if (out_direct && j + isa.tile <= tail0) {
          const int64_t plane0 = (b * out_channels + o0) * ho * wo + j;
          (stream ? tile_avx512_out<true> : tile_avx512_out<false>)(
              in + j, in_cstride, off.data(), taps, ci, wp, o1 - o0, bias ? bias + o0 : nullptr,
              residual ? residual + plane0 : nullptr, relu, ho * wo, y + plane0);
          continue;
        }
        jb = std::min(jb, j);
        if (j < tail0) {
          isa.kernel(in + j, in_cstride, off.data(), taps, ci, wp, buf + (j - j0));
        } else {  // direct 1x1 only: the image's last, partial tile
          isa.kernel(tail.get() + (b * in_channels + grp * ci) * tail_stride, tail_stride, off.data(), taps, ci, wp,
                     buf + (j - j0));
        }
      }
      for (int64_t o = o0; o < o1 && jb < j1; ++o) {
        const float* acc = buf + (o - o0) * kChunk;
        const float bo = bias ? bias[o] : 0.0f;
        const int64_t plane = (b * out_channels + o) * ho * wo;
        float* yo = y + plane;
        const float* ro = residual ? residual + plane : nullptr;
        // walk the chunk row segment by row segment of the Wq-wide grid, keeping columns x < wo
        for (int64_t j = jb; j < j1;) {
          const int64_t r = j / wq, x = j % wq, end = std::min(j1, (r + 1) * wq);
          const int64_t xe = std::min(wo, x + (end - j));
          for (int64_t xx = x; xx < xe; ++xx) {
            float v = acc[j - j0 + (xx - x)] + bo;
            if (ro) v += ro[r * wo + xx];
            yo[r * wo + xx] = relu && v < 0.0f ? 0.0f : v;
          }
          if (gelu) {
            float* seg = yo + r * wo;
#pragma omp simd
            for (int64_t xx = x; xx < xe; ++xx) seg[xx] = gelu_math::gelu(seg[xx]);
          }
          j = end;
        }
      }
    }
    if (stream) _mm_sfence();  // this thread's non-temporal stores visible before the region's closing barrier
  }
  return detail::ok();
}


// ---- Winograd F(4x4, 3x3) for 3x3 stride-1 layers (Lavin and Gray, CVPR 2016) ---------------------------------
// Y = A^T [ (G g G^T) . (B^T d B) ] A per 4x4 output tile, d the 6x6 input patch around it. The 36 element-wise
// products summed over input channels are 36 independent matrix products M[xi] = U[xi] V[xi] ([out x in] times
// [in x tiles]), which run on the same micro-kernels as a 1x1 convolution whose "pixels" are the tiles: 36 per 16
// outputs instead of 9 per output, 4x fewer multiply-adds, plus the two transforms (O(in + out) per tile).
// The transformed weight U is computed in double and packed like 36 1x1 weights. float32 error grows with the
// transform's constants (up to 8 in A, 5 in B): the Java side self-checks it like the direct path.
// Three orders of the stages: narrow layers with at least two runs of tiles per thread transform, multiply and
// transform back one run at a time on one thread (wino_narrow_runs: V stays in L2); other narrow layers transform the
// whole image, then share each run's products out by block of outputs; wide layers (below) keep M in a buffer.

constexpr int kWinoN = 36;  // transformed tile elements (6 x 6)

// The 36 products of a layer with few tiles and many channels (HRNet-W48's third and fourth branches: 70 and 20
// tiles at 608x416, 192 and 384 channels) would pad the 64-tile micro-tiles of the 1x1 kernel to 1.8x and 3.2x their
// work. On AVX-512 such "wide" layers (more than kWinoWidePairs channel pairs) run a second micro-kernel instead:
// 24 output channels x 16 tiles per call (one vector load and 24 broadcast FMAs per input channel), weights packed in
// blocks of 24; a run's last few tiles take the same kernel turned around (wino_tail_avx512).
constexpr int64_t kWinoWidePairs = 128 * 128;

/** How a Winograd layer's products run: the micro-kernel's output channels (ob) and tiles (tile) per call, the
 * tiles per work item (tc, a multiple of tile), the row stride of its output buffer (ldm); wide: the 24 x 16 kernel,
 * else the ISA's 1x1 kernel. */
struct WinoGemm {
  bool wide;
  int ob;
  int64_t tile, tc, ldm;
};

WinoGemm wino_gemm(const Isa& isa, int64_t out, int64_t in, int64_t tiles) {
  // wide: runs of up to 256 tiles (wino_wide_products), ldm = tc
  if (isa.id == DEEPSPG_CONV2D_ISA_AVX512 && in * out > kWinoWidePairs) {
    const int64_t tc = std::min<int64_t>(256, (tiles + 15) / 16 * 16);
    return {true, 24, 16, tc, tc};
  }
  return {false, isa.ob, isa.tile, isa.tile * std::max<int64_t>(1, 64 / isa.tile), kChunk};
}

/** The wide layers' micro-kernel: m[o ldm + t] = sum_{c < channels} wp[24 c + o] v[c vstride + t], o < 24, t < 16,
 * one FMA per (c, o) in order of c: a tile's sum is the same whichever kernel computes it (wino_tail_avx512). */
DEEPSPG_AVX512 void wino_tile_avx512_wide(const float* v, int64_t vstride, int64_t channels, const float* wp,
                                          float* m, int64_t ldm) {
  constexpr int OB = 24;
  __m512 acc[OB];  // the loops over o unrolled, so that the 24 accumulators live in registers
#pragma GCC unroll 24
  for (int o = 0; o < OB; ++o) acc[o] = _mm512_setzero_ps();
  for (int64_t c = 0; c < channels; ++c, wp += OB) {
    const __m512 xv = _mm512_loadu_ps(v + c * vstride);
#pragma GCC unroll 24
    for (int o = 0; o < OB; ++o) acc[o] = _mm512_fmadd_ps(_mm512_set1_ps(wp[o]), xv, acc[o]);
  }
#pragma GCC unroll 24
  for (int o = 0; o < OB; ++o) _mm512_storeu_ps(m + o * ldm, acc[o]);
}

/** The wide kernel turned around for a run's last few tiles (nt <= kWinoTailMax): the 24 outputs in the vector lanes
 * (16 + 8, the weights' packed block of 24 loaded as is) and each tile's input broadcast, so the FMAs per channel
 * are 2 nt instead of the 24 of the tile-lane kernels, which fill only nt of their lanes (HRNet-W48's fourth branch:
 * runs of 20 tiles, 16 + 4; the third 70, 64 + 6). The same FMAs per output in the same order of c as
 * wino_tile_avx512_wide: the same bits. m[o ldm + t] for o < 24, t < nt. */
template <int NT>
DEEPSPG_AVX512 void wino_tail_avx512(const float* v, int64_t vstride, int64_t channels, const float* wp, float* m,
                                     int64_t ldm) {
  __m512 lo[NT], hi[NT];  // outputs 0..15 and 16..23 (the high 8 lanes unused)
#pragma GCC unroll 16
  for (int t = 0; t < NT; ++t) lo[t] = hi[t] = _mm512_setzero_ps();
  for (int64_t c = 0; c < channels; ++c, wp += 24) {
    const __m512 w0 = _mm512_loadu_ps(wp), w1 = _mm512_maskz_loadu_ps(0x00FF, wp + 16);
    const float* vc = v + c * vstride;
#pragma GCC unroll 16
    for (int t = 0; t < NT; ++t) {
      const __m512 x = _mm512_set1_ps(vc[t]);
      lo[t] = _mm512_fmadd_ps(w0, x, lo[t]);
      hi[t] = _mm512_fmadd_ps(w1, x, hi[t]);
    }
  }
  alignas(64) float buf[NT][32];
#pragma GCC unroll 16
  for (int t = 0; t < NT; ++t) {
    _mm512_store_ps(buf[t], lo[t]);
    _mm512_store_ps(buf[t] + 16, hi[t]);
  }
  for (int o = 0; o < 24; ++o)
    for (int t = 0; t < NT; ++t) m[o * ldm + t] = buf[t][o];
}

/** Tails of at most this many tiles take wino_tail_avx512 (2 nt FMAs per channel against 24). */
constexpr int kWinoTailMax = 11;

using WinoTail = void (*)(const float*, int64_t, int64_t, const float*, float*, int64_t);
constexpr WinoTail kWinoTails[kWinoTailMax + 1] = {
    nullptr, wino_tail_avx512<1>, wino_tail_avx512<2>, wino_tail_avx512<3>, wino_tail_avx512<4>,
    wino_tail_avx512<5>, wino_tail_avx512<6>, wino_tail_avx512<7>, wino_tail_avx512<8>, wino_tail_avx512<9>,
    wino_tail_avx512<10>, wino_tail_avx512<11>};

/** Floats of a Winograd-packed [out][in][3][3] weight: 36 [out][in] matrices packed in blocks of the GEMM's ob. */
int64_t wino_packed_floats(const Isa& isa, int64_t out, int64_t in) {
  const int64_t ob = wino_gemm(isa, out, in, 1).ob;
  return kWinoN * ((out + ob - 1) / ob) * in * ob;
}

void wino_pack_weight(const Isa& isa, const float* weight, int64_t out, int64_t in, float* wp) {
  static const double G[6][3] = {{1.0 / 4, 0, 0},
                                 {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                 {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                 {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                 {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                 {0, 0, 1}};
  // U[xi][o][c] written straight into the packed layout, wp[xi per + ((o / ob) in + c) ob + o % ob] (no [36][out][in]
  // intermediate: for HRNet-W48 that was 0.9 GB allocated, zeroed and copied once more at the first forward)
  const int64_t per = wino_packed_floats(isa, out, in) / kWinoN, ob = wino_gemm(isa, out, in, 1).ob;
  const int64_t pairs = out * in;
#pragma omp parallel for schedule(static) if (pairs * 36 * 6 >= detail::kOmpMinWork)
  for (int64_t oc = 0; oc < pairs; ++oc) {
    const int64_t o = oc / in, c = oc % in;
    const float* g = weight + oc * 9;
    double t[6][3];  // G g
    for (int i = 0; i < 6; ++i)
      for (int j = 0; j < 3; ++j) t[i][j] = G[i][0] * g[j] + G[i][1] * g[3 + j] + G[i][2] * g[6 + j];
    float* dst = wp + ((o / ob) * in + c) * ob + o % ob;
    for (int i = 0; i < 6; ++i)
      for (int j = 0; j < 6; ++j)
        dst[(i * 6 + j) * per] = static_cast<float>(t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2]);
  }
  // the last block's padding outputs: zeros
  const int64_t ocb = (out + ob - 1) / ob;
  if (ocb * ob > out) {
    for (int xi = 0; xi < kWinoN; ++xi)
      for (int64_t c = 0; c < in; ++c) {
        float* d = wp + xi * per + ((ocb - 1) * in + c) * ob;
        std::fill(d + out - (ocb - 1) * ob, d + ob, 0.0f);
      }
  }
}

/** A run of n output tiles t0 .. t0 + n - 1 (row-major, tw tiles per tile row) of an h x w output plane; the
 * output transform leaves tile t0 + t's value at row r, column s in u[(4 r + s) tc + t]. */
struct TileRun {
  int64_t t0, n, tc, tw, h, w;
};

/** The run's tiles t .. t + m - 1 that lie in one tile row: rows (4 rows of y from (4 ti) * w + 4 tj on) and cols
 * (the valid output columns of each such row). */
struct Segment {
  int64_t m, rows, cols, base;
};

inline Segment segment(const TileRun& g, int64_t t) {
  const int64_t ti = (g.t0 + t) / g.tw, tj = (g.t0 + t) % g.tw, m = std::min(g.n - t, g.tw - tj);
  return {m, std::min<int64_t>(4, g.h - 4 * ti), std::min(4 * m, g.w - 4 * tj), 4 * ti * g.w + 4 * tj};
}

/** Writes a run's tiles to one output channel's plane yo: u + bias (+ residual ro), ReLU'd when asked. Per segment
 * and output row, the run's columns are contiguous in yo. */
void store_tiles(const TileRun& g, const float* u, float bias, const float* ro, bool relu, float* yo) {
  for (int64_t t = 0; t < g.n;) {
    const Segment sg = segment(g, t);
    for (int64_t r = 0; r < sg.rows; ++r) {
      const int64_t base = sg.base + r * g.w;
      const float* ur = u + 4 * r * g.tc + t;
      for (int64_t x = 0; x < sg.cols; ++x) {
        float v = ur[(x & 3) * g.tc + (x >> 2)] + bias;
        if (ro) v += ro[base + x];
        yo[base + x] = relu && v < 0.0f ? 0.0f : v;
      }
    }
    t += sg.m;
  }
}

/** The input transform's B^T d on 16 columns (or tiles) at once: y[k] = (B^T d)[k] for the six inputs d, with the
 * scalar pass's formulas (wino_vertical): 4 d0 - 5 d2 + d4, -4 (d1 + d2) + d3 + d4, 4 (d1 - d2) - d3 + d4,
 * 2 (d3 - d1) - d2 + d4, 2 (d1 - d3) - d2 + d4, 4 d1 - 5 d3 + d5. Shared by both AVX-512 passes. */
DEEPSPG_AVX512_INLINE void wino_bt_avx512(const __m512 (&d)[6], __m512 (&y)[6]) {
  const __m512 four = _mm512_set1_ps(4.0f), five = _mm512_set1_ps(5.0f), two = _mm512_set1_ps(2.0f);
  y[0] = _mm512_add_ps(_mm512_fmsub_ps(four, d[0], _mm512_mul_ps(five, d[2])), d[4]);
  y[1] = _mm512_add_ps(_mm512_fnmadd_ps(four, _mm512_add_ps(d[1], d[2]), d[3]), d[4]);
  y[2] = _mm512_add_ps(_mm512_fmsub_ps(four, _mm512_sub_ps(d[1], d[2]), d[3]), d[4]);
  y[3] = _mm512_add_ps(_mm512_fmsub_ps(two, _mm512_sub_ps(d[3], d[1]), d[2]), d[4]);
  y[4] = _mm512_add_ps(_mm512_fmsub_ps(two, _mm512_sub_ps(d[1], d[3]), d[2]), d[4]);
  y[5] = _mm512_add_ps(_mm512_fmsub_ps(four, d[1], _mm512_mul_ps(five, d[3])), d[5]);
}

/** The input transform's horizontal pass over one row of the vertical pass (t: 4 tw + 2 floats, readable up to
 * 4 tw + 72), 16 tiles per step: the tiles' six inputs t[4 j + i], i < 6, de-interleaved from four (and, shifted by
 * one tile, two more) vector loads by permutes; dst[l xs + j] = (d B)[l] of tile j, masked at the row's end. */
DEEPSPG_AVX512 void wino_input_row_avx512(const float* t, int64_t tw, float* dst, int64_t xs) {
  // (a, b) -> [t[4 j] for j < 8, t[4 j + 1] for j < 8]; odd: t[4 j + 2], t[4 j + 3]
  const __m512i even = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29);
  const __m512i odd = _mm512_setr_epi32(2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31);
  for (int64_t j = 0; j < tw; j += 16) {
    const float* q = t + 4 * j;
    const __m512 a = _mm512_loadu_ps(q), b = _mm512_loadu_ps(q + 16), c = _mm512_loadu_ps(q + 32),
                 d = _mm512_loadu_ps(q + 48);
    const __m512 a4 = _mm512_loadu_ps(q + 4), b4 = _mm512_loadu_ps(q + 20), c4 = _mm512_loadu_ps(q + 36),
                 d4 = _mm512_loadu_ps(q + 52);
    const __m512 ab01 = _mm512_permutex2var_ps(a, even, b), cd01 = _mm512_permutex2var_ps(c, even, d);
    const __m512 ab23 = _mm512_permutex2var_ps(a, odd, b), cd23 = _mm512_permutex2var_ps(c, odd, d);
    const __m512 ab45 = _mm512_permutex2var_ps(a4, even, b4), cd45 = _mm512_permutex2var_ps(c4, even, d4);
    // the low and the high halves of each pair joined (maskz: GCC 12 warns on the unmasked form's undefined source)
    const __m512 x[6] = {_mm512_maskz_shuffle_f32x4(0xFFFF, ab01, cd01, 0x44),
                         _mm512_maskz_shuffle_f32x4(0xFFFF, ab01, cd01, 0xEE),
                         _mm512_maskz_shuffle_f32x4(0xFFFF, ab23, cd23, 0x44),
                         _mm512_maskz_shuffle_f32x4(0xFFFF, ab23, cd23, 0xEE),
                         _mm512_maskz_shuffle_f32x4(0xFFFF, ab45, cd45, 0x44),
                         _mm512_maskz_shuffle_f32x4(0xFFFF, ab45, cd45, 0xEE)};
    const __mmask16 m = gram512::tail_mask(std::min<int64_t>(16, tw - j));
    __m512 y[6];
    wino_bt_avx512(x, y);
#pragma GCC unroll 6
    for (int l = 0; l < 6; ++l) _mm512_mask_storeu_ps(dst + l * xs + j, m, y[l]);
  }
}

/** Zeroes the padding columns of one row of transform_segment's vertical pass (cols floats at t): `left` (at most 1)
 * at its start and `right` (at most 4: the last tile's columns past the image, and the pad) at its end. Written out
 * because GCC makes a call to memset of a loop or std::fill: those calls, for a few floats on every edge segment of
 * every channel, held 3-4 % of HRNet-W48's samples. */
inline void zero_padding(float* t, int64_t cols, int64_t left, int64_t right) {
  if (left > 0) t[0] = 0.0f;
  float* e = t + cols - right;
  switch (right) {
    case 4: e[3] = 0.0f; [[fallthrough]];
    case 3: e[2] = 0.0f; [[fallthrough]];
    case 2: e[1] = 0.0f; [[fallthrough]];
    case 1: e[0] = 0.0f; [[fallthrough]];
    default: break;
  }
}

/** The vertical pass of the input transform, t[k cols + x] = (B^T d)[k] of column lo + x of the six rows p[k],
 * x < n. */
void wino_vertical(const float* const* p, int64_t lo, int64_t n, float* t, int64_t cols) {
  const float *p0 = p[0] + lo, *p1 = p[1] + lo, *p2 = p[2] + lo, *p3 = p[3] + lo, *p4 = p[4] + lo, *p5 = p[5] + lo;
  float *t0 = t, *t1 = t0 + cols, *t2 = t1 + cols, *t3 = t2 + cols, *t4 = t3 + cols, *t5 = t4 + cols;
#pragma omp simd
  for (int64_t xx = 0; xx < n; ++xx) {
    const float d0 = p0[xx], d1 = p1[xx], d2 = p2[xx], d3 = p3[xx], d4 = p4[xx], d5 = p5[xx];
    t0[xx] = 4 * d0 - 5 * d2 + d4;
    t1[xx] = -4 * (d1 + d2) + d3 + d4;
    t2[xx] = 4 * (d1 - d2) - d3 + d4;
    t3[xx] = 2 * (d3 - d1) - d2 + d4;
    t4[xx] = 2 * (d1 - d3) - d2 + d4;
    t5[xx] = 4 * d1 - 5 * d3 + d5;
  }
}

/** One step of wino_vertical_avx512: the six rows' 16 columns d (masked or not by the caller) into t's rows. */
DEEPSPG_AVX512_INLINE void wino_vertical_step(const __m512 (&d)[6], float* q, int64_t cols, __mmask16 m) {
  __m512 y[6];
  wino_bt_avx512(d, y);
#pragma GCC unroll 6
  for (int k = 0; k < 6; ++k) _mm512_mask_storeu_ps(q + k * cols, m, y[k]);
}

/** wino_vertical on AVX-512, 16 columns per step (wino_bt_avx512); plain loads, and masked ones
 * only for the row's last < 16 columns (a masked load that crosses a page is slow on this kind of CPU). With
 * `ahead` > 0, the same columns `ahead` floats further on (the next channel's) are prefetched for the next call. */
DEEPSPG_AVX512 void wino_vertical_avx512(const float* const* p, int64_t lo, int64_t n, float* t, int64_t cols,
                                         int64_t ahead) {
  __m512 d[6];
  int64_t x = 0;
  for (; x + 16 <= n; x += 16) {
#pragma GCC unroll 6
    for (int k = 0; k < 6; ++k) d[k] = _mm512_loadu_ps(p[k] + lo + x);
    if (ahead > 0) {
#pragma GCC unroll 6
      for (int k = 0; k < 6; ++k) _mm_prefetch(reinterpret_cast<const char*>(p[k] + lo + x + ahead), _MM_HINT_T0);
    }
    wino_vertical_step(d, t + x, cols, 0xFFFF);
  }
  if (x < n) {
    const __mmask16 m = gram512::tail_mask(n - x);
#pragma GCC unroll 6
    for (int k = 0; k < 6; ++k) d[k] = _mm512_maskz_loadu_ps(m, p[k] + lo + x);
    wino_vertical_step(d, t + x, cols, m);
  }
}

/** The input transform of tiles tj0 .. tj0 + m - 1 of tile row ti of one channel xc (h x w): V[xi] of tile tj0 + j
 * into dst[xi xs + j]. First a vertical pass over the six input rows (contiguous) into tmp, on the padded columns
 * the tiles span (4 m + 2; rows above or below the image read `zero`, w zeros; columns outside it are zero, as the
 * transform of zeros), then the horizontal one per tile. tmp: 6 (4 m + 2) + 72 floats (the AVX-512 pass's
 * over-read). ahead > 0: the AVX-512 pass prefetches the rows `ahead` floats further on (the caller's next
 * channel: these short rows come from L3 or memory, and their loads held most of the pass's time). */
void transform_segment(const Isa& isa, const float* xc, int64_t h, int64_t w, int64_t ti, int64_t tj0, int64_t m,
                       float* tmp, const float* zero, float* dst, int64_t xs, int64_t ahead = 0) {
  const int64_t cols = 4 * m + 2, c0 = 4 * tj0 - 1;  // padded column pc is image column c0 + pc
  const int64_t lo = std::max<int64_t>(0, c0), hi = std::min(w, c0 + cols);  // the image columns read
  const float* p[6];
  for (int k = 0; k < 6; ++k) {
    const int64_t r = 4 * ti - 1 + k;
    p[k] = r >= 0 && r < h ? xc + r * w : zero;
  }
  if (lo > c0 || hi < c0 + cols) {  // the padding columns (at the image's edges): zeros
    for (int k = 0; k < 6; ++k) zero_padding(tmp + k * cols, cols, lo - c0, c0 + cols - hi);
  }
  const int64_t n = hi - lo;
  if (isa.id == DEEPSPG_CONV2D_ISA_AVX512) {
    wino_vertical_avx512(p, lo, n, tmp + (lo - c0), cols, ahead);
  } else {
    wino_vertical(p, lo, n, tmp + (lo - c0), cols);
  }
  for (int k = 0; k < 6; ++k) {  // xi = 6 k + l at dst + (6 k + l) xs
    const float* t = tmp + k * cols;
    float* dk = dst + 6 * k * xs;
    if (isa.id == DEEPSPG_CONV2D_ISA_AVX512) {
      wino_input_row_avx512(t, m, dk, xs);
      continue;
    }
#pragma omp simd
    for (int64_t tj = 0; tj < m; ++tj) {
      const float* q = t + 4 * tj;
      const float d0 = q[0], d1 = q[1], d2 = q[2], d3 = q[3], d4 = q[4], d5 = q[5];
      dk[tj] = 4 * d0 - 5 * d2 + d4;
      dk[xs + tj] = -4 * (d1 + d2) + d3 + d4;
      dk[2 * xs + tj] = 4 * (d1 - d2) - d3 + d4;
      dk[3 * xs + tj] = 2 * (d3 - d1) - d2 + d4;
      dk[4 * xs + tj] = 2 * (d1 - d3) - d2 + d4;
      dk[5 * xs + tj] = 4 * d1 - 5 * d3 + d5;
    }
  }
}

/** Y = A^T M A for one output channel and a run of n tiles: M[xi][t] = m[xi xs + t] (xi < 36), into
 * out[(4 r + s) tc + t]; wv (24 tc floats) holds the vertical pass. */
void output_transform(const float* m, int64_t xs, int64_t n, int64_t tc, float* wv, float* out) {
  // vertical: wv[r][k][t] = sum_i A^T[r][i] M[6 i + k][t]
  for (int k = 0; k < 6; ++k) {
    const float* p[6];
    for (int i = 0; i < 6; ++i) p[i] = m + (6 * i + k) * xs;
    float *w0 = wv + k * tc, *w1 = w0 + 6 * tc, *w2 = w1 + 6 * tc, *w3 = w2 + 6 * tc;
#pragma omp simd
    for (int64_t t = 0; t < n; ++t) {
      const float a1 = p[1][t] + p[2][t], s1 = p[1][t] - p[2][t];
      const float a2 = p[3][t] + p[4][t], s2 = p[3][t] - p[4][t];
      w0[t] = p[0][t] + a1 + a2;
      w1[t] = s1 + 2 * s2;
      w2[t] = a1 + 4 * a2;
      w3[t] = s1 + 8 * s2 + p[5][t];
    }
  }
  // horizontal: out[r][s][t] = sum_k A^T[s][k] wv[r][k][t]
  for (int r = 0; r < 4; ++r) {
    const float* q = wv + r * 6 * tc;
    float *u0 = out + r * 4 * tc, *u1 = u0 + tc, *u2 = u1 + tc, *u3 = u2 + tc;
#pragma omp simd
    for (int64_t t = 0; t < n; ++t) {
      const float a1 = q[tc + t] + q[2 * tc + t], s1 = q[tc + t] - q[2 * tc + t];
      const float a2 = q[3 * tc + t] + q[4 * tc + t], s2 = q[3 * tc + t] - q[4 * tc + t];
      u0[t] = q[t] + a1 + a2;
      u1[t] = s1 + 2 * s2;
      u2[t] = a1 + 4 * a2;
      u3[t] = s1 + 8 * s2 + q[5 * tc + t];
    }
  }
}

/** output_transform and store_tiles in one pass, in registers, on AVX-512: per segment and 16 of its tiles, the 36
 * elements of M loaded (masked at the segment's end), A^T M A computed as in output_transform (the products by 2,
 * 4 and 8 exact, so FMA or not gives the same floats), then each output row's four columns (16 tiles each)
 * interleaved into 64 consecutive outputs by two rounds of permutes and stored through epilogue_avx512. The
 * two-pass form's buffers (wv, out: 40 floats per tile written and read again) go away. m: M of one output channel,
 * M[xi][t] = m[xi xs + t] for the run's tiles t < g.n. ahead > 0: the lines of
 * y (and of the residual) `ahead` floats further on, the caller's next channel, are prefetched as these are stored
 * (the residual's loads held most of this function's time: narrow layers' chains 4-10 % faster with both). */
DEEPSPG_AVX512 void transform_store_avx512(const TileRun& g, const float* m, int64_t xs, float bias, const float* ro,
                                           bool relu, float* yo, int64_t ahead) {
  const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const __m512i q0 = _mm512_setr_epi32(0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
  const __m512i q1 = _mm512_setr_epi32(8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
  const __m512 vb = _mm512_set1_ps(bias), two = _mm512_set1_ps(2.0f), four = _mm512_set1_ps(4.0f),
               eight = _mm512_set1_ps(8.0f);
  for (int64_t t = 0; t < g.n;) {
    const Segment sg = segment(g, t);
    for (int64_t x = 0; x < sg.cols; x += 64) {  // 16 tiles, output columns x .. x + 63 of the segment
      const int64_t left = std::min<int64_t>(64, sg.cols - x);
      const __mmask16 tm = static_cast<__mmask16>((1u << ((left + 3) / 4)) - 1);
      const float* mt = m + t + x / 4;
      // vertical: wv[r][k] = sum_i A^T[r][i] M[6 i + k]
      __m512 wv[4][6];
#pragma GCC unroll 6
      for (int k = 0; k < 6; ++k) {
        __m512 p[6];
#pragma GCC unroll 6
        for (int i = 0; i < 6; ++i) p[i] = _mm512_maskz_loadu_ps(tm, mt + (6 * i + k) * xs);
        const __m512 a1 = _mm512_add_ps(p[1], p[2]), s1 = _mm512_sub_ps(p[1], p[2]);
        const __m512 a2 = _mm512_add_ps(p[3], p[4]), s2 = _mm512_sub_ps(p[3], p[4]);
        wv[0][k] = _mm512_add_ps(_mm512_add_ps(p[0], a1), a2);
        wv[1][k] = _mm512_fmadd_ps(two, s2, s1);
        wv[2][k] = _mm512_fmadd_ps(four, a2, a1);
        wv[3][k] = _mm512_add_ps(_mm512_fmadd_ps(eight, s2, s1), p[5]);
      }
      for (int64_t r = 0; r < sg.rows; ++r) {
        // horizontal: the row's four columns u[s] = sum_k A^T[s][k] wv[r][k]
        const __m512* q = wv[r];
        const __m512 a1 = _mm512_add_ps(q[1], q[2]), s1 = _mm512_sub_ps(q[1], q[2]);
        const __m512 a2 = _mm512_add_ps(q[3], q[4]), s2 = _mm512_sub_ps(q[3], q[4]);
        const __m512 a = _mm512_add_ps(_mm512_add_ps(q[0], a1), a2), b = _mm512_fmadd_ps(two, s2, s1),
                     c = _mm512_fmadd_ps(four, a2, a1), d = _mm512_add_ps(_mm512_fmadd_ps(eight, s2, s1), q[5]);
        const __m512 ab0 = _mm512_permutex2var_ps(a, lo, b), ab1 = _mm512_permutex2var_ps(a, hi, b);
        const __m512 cd0 = _mm512_permutex2var_ps(c, lo, d), cd1 = _mm512_permutex2var_ps(c, hi, d);
        const __m512 v[4] = {_mm512_permutex2var_ps(ab0, q0, cd0), _mm512_permutex2var_ps(ab0, q1, cd0),
                             _mm512_permutex2var_ps(ab1, q0, cd1), _mm512_permutex2var_ps(ab1, q1, cd1)};
        const int64_t base = sg.base + r * g.w + x;
        for (int kk = 0; kk < 4 && 16 * kk < left; ++kk) {
          const int64_t cnt = std::min<int64_t>(16, left - 16 * kk);
          const __mmask16 mk = static_cast<__mmask16>((1u << cnt) - 1);
          const float* r = ro ? ro + base + 16 * kk : nullptr;
          if (ahead > 0) {  // the next channel's lines (prefetchw measured no better than a plain prefetch)
            if (r) _mm_prefetch(reinterpret_cast<const char*>(r + ahead), _MM_HINT_T0);
            _mm_prefetch(reinterpret_cast<const char*>(yo + base + 16 * kk + ahead), _MM_HINT_T0);
          }
          _mm512_mask_storeu_ps(yo + base + 16 * kk, mk, epilogue_avx512(v[kk], vb, r, mk, relu));
        }
      }
    }
    t += sg.m;
  }
}

/** Y = A^T M A of one output channel's run, + bias (+ residual), ReLU'd when asked, into its plane yo: one pass on
 * AVX-512 (prefetching `ahead` floats further on), else output_transform into (wv, out) and store_tiles. */
void finish_tiles(const Isa& isa, const TileRun& g, const float* m, int64_t xs, float* wv, float* out, float bias,
                  const float* ro, bool relu, float* yo, int64_t ahead = 0) {
  if (isa.id == DEEPSPG_CONV2D_ISA_AVX512) {
    transform_store_avx512(g, m, xs, bias, ro, relu, yo, ahead);
    return;
  }
  output_transform(m, xs, g.n, g.tc, wv, out);
  store_tiles(g, out, bias, ro, relu, yo);
}

/** Stages 2 and 3 of a wide layer (WinoGemm::wide), per run of up to gm.tc tiles: first all 36 products M[xi] =
 * U[xi] V[xi] into a buffer of the calling thread, items (xi, block of 24 outputs) in order so that a thread's
 * consecutive items share U[xi] and V[xi] (147 + 100 KB for 192 channels and 128 tiles, at most 590 + 390 KB: in
 * L2); then the output transform per
 * output channel. M goes through memory (36 out x tc floats, 7 MB for 192 channels and 256 tiles), where the fused
 * order of the narrow layers would read all of V once per block of outputs (8 to 16 times). */
void wino_wide_products(const Isa& isa, const WinoGemm& gm, int64_t in_channels, int64_t out_channels, int64_t h,
                        int64_t w, const float* vb, int64_t tp, int64_t vxs, const float* upack, int64_t per,
                        const float* bias, const float* residual, int32_t relu, float* y) {
  const int64_t tw = (w + 3) / 4, tiles = (h + 3) / 4 * tw, ob = gm.ob, ocb = (out_channels + ob - 1) / ob;
  const int64_t tc = gm.tc, mo = ocb * ob, runs = (tiles + tc - 1) / tc;
  // M[xi]'s stride, one line more than mo x tc floats (a multiple of 4 KB for HRNet-W48's wide layers), so that the
  // output transform's 36 loads per 16 tiles do not all fall into one L1 set
  const int64_t mxs = mo * tc + 16;
  static thread_local std::vector<float> mbuf;  // [36][mxs], the calling thread's
  mbuf.resize(std::max(mbuf.size(), static_cast<size_t>(kWinoN) * mxs));
  float* const m = mbuf.data();
  for (int64_t run = 0; run < runs; ++run) {
    const int64_t t0 = run * tc, t1 = std::min(tiles, t0 + tc), n = t1 - t0;
    const int64_t items = kWinoN * ocb;
#pragma omp parallel for schedule(static) if (items * tc * ob * in_channels >= detail::kOmpMinWork)
    for (int64_t it = 0; it < items; ++it) {
      const int64_t xi = it / ocb, blk = it % ocb;
      const float* in = vb + xi * vxs;
      const float* wp = upack + xi * per + blk * in_channels * ob;
      float* dst = m + xi * mxs + blk * ob * tc;
      for (int64_t j = t0; j < t1; j += gm.tile) {
        if (t1 - j <= kWinoTailMax) {
          kWinoTails[t1 - j](in + j, tp, in_channels, wp, dst + (j - t0), tc);
        } else {
          wino_tile_avx512_wide(in + j, tp, in_channels, wp, dst + (j - t0), tc);
        }
      }
    }
#pragma omp parallel if (out_channels * n * kWinoN * 4 >= detail::kOmpMinWork)
    {
      // wv, out: output_transform's buffers (out: 16 floats of slack, which the AVX-512 store's masked-off lanes
      // may address), kept per thread
      static thread_local std::vector<float> wv, out;
      wv.resize(std::max(wv.size(), static_cast<size_t>(24 * tc)));
      out.resize(std::max(out.size(), static_cast<size_t>(16 * tc + 16)));
#pragma omp for schedule(static)
      for (int64_t o = 0; o < out_channels; ++o) {
        finish_tiles(isa, TileRun{t0, n, tc, tw, h, w}, m + o * tc, mxs, wv.data(), out.data(),
                     bias ? bias[o] : 0.0f, residual ? residual + o * h * w : nullptr, relu != 0, y + o * h * w);
      }
    }
  }
}

/** A narrow layer's Winograd convolution, all three stages per run of gm.tc tiles on one thread: the run's V
 * (36 x in x tc floats: 442 KB for 48 channels) transformed into a buffer of that thread, then for each block of
 * ob outputs M[xi] = U[xi] V[xi] on the 1x1 micro-kernel and Y = A^T M A into y. V never leaves the thread's L2
 * (transformed for the whole image first, it made a round trip through L3 or memory: 7 MB for HRNet-W48's first
 * branch at 608x416, more than the layer's input and output together). */
int32_t wino_narrow_runs(const char* fn, const Isa& isa, const WinoGemm& gm, int64_t in_channels,
                         int64_t out_channels, int64_t h, int64_t w, const float* x, const float* upack, int64_t per,
                         const float* bias, const float* residual, int32_t relu, float* y) {
  const int64_t th = (h + 3) / 4, tw = (w + 3) / 4, tiles = th * tw;
  const int64_t tc = gm.tc, ldm = gm.ldm, ob = gm.ob, ocb = (out_channels + ob - 1) / ob;
  const int64_t runs = (tiles + tc - 1) / tc;
  // V[xi]'s stride: in x tc floats and one line more, so that the 36 rows of a channel and tile (which the input
  // transform writes together) do not all fall into one L1 set (in x tc floats, tc = 64, is a multiple of 4 KB when
  // in is a multiple of 16, as HRNet-W48's 48 and 96 are)
  const int64_t xs = in_channels * tc + 16;
  const int64_t zero_off = 0;
  std::atomic<bool> out_of_memory{false};
#pragma omp parallel if (runs > 1 && tc * out_channels * in_channels * kWinoN >= detail::kOmpMinWork)
  {
    // per thread: vrun [36][xs]; tmp, zero: transform_segment's; mloc [36][ob][ldm]; wv, out: finish_tiles'.
    // A thread that cannot grow them skips its runs (no exception may leave the parallel region) and the call fails.
    static thread_local std::vector<float> vrun, tmp, zero, mloc, wv, out;
    bool ready = true;
    try {
      vrun.resize(std::max(vrun.size(), static_cast<size_t>(kWinoN) * xs));
      tmp.resize(std::max(tmp.size(), static_cast<size_t>(6 * (4 * tc + 2) + 72)));
      if (zero.size() < static_cast<size_t>(w)) zero.assign(w, 0.0f);
      mloc.resize(std::max(mloc.size(), static_cast<size_t>(kWinoN) * ob * ldm));
      wv.resize(std::max(wv.size(), static_cast<size_t>(24 * tc)));
      out.resize(std::max(out.size(), static_cast<size_t>(16 * tc + 16)));
    } catch (const std::bad_alloc&) {
      ready = false;
      out_of_memory.store(true);
    }
#pragma omp for schedule(static)
    for (int64_t run = 0; run < runs; ++run) {
      if (!ready) continue;
      const int64_t t0 = run * tc, n = std::min(tiles, t0 + tc) - t0;
      const int64_t padded = (n + gm.tile - 1) / gm.tile * gm.tile;
      for (int64_t c = 0; c < in_channels; ++c) {
        for (int64_t t = 0; t < n;) {
          const int64_t ti = (t0 + t) / tw, tj = (t0 + t) % tw, m = std::min(n - t, tw - tj);
          transform_segment(isa, x + c * h * w, h, w, ti, tj, m, tmp.data(), zero.data(), vrun.data() + c * tc + t,
                            xs, c + 1 < in_channels ? h * w : 0);
          t += m;
        }
        if (padded > n) {  // the padding tiles the micro-kernel reads: zeros
          for (int xi = 0; xi < kWinoN; ++xi) {
            float* row = vrun.data() + xi * xs + c * tc;
            std::fill(row + n, row + padded, 0.0f);
          }
        }
      }
      for (int64_t blk = 0; blk < ocb; ++blk) {
        for (int xi = 0; xi < kWinoN; ++xi) {
          const float* in = vrun.data() + xi * xs;
          const float* wp = upack + xi * per + blk * in_channels * ob;
          float* buf = mloc.data() + xi * ob * ldm;
          for (int64_t j = 0; j < n; j += gm.tile) isa.kernel(in + j, tc, &zero_off, 1, in_channels, wp, buf + j);
        }
        const int64_t o0 = blk * ob, o1 = std::min(out_channels, o0 + ob);
        for (int64_t o = o0; o < o1; ++o) {
          finish_tiles(isa, TileRun{t0, n, tc, tw, h, w}, mloc.data() + (o - o0) * ldm, ob * ldm, wv.data(),
                       out.data(), bias ? bias[o] : 0.0f, residual ? residual + o * h * w : nullptr, relu != 0,
                       y + o * h * w, o + 1 < out_channels ? h * w : 0);
        }
      }
    }
  }
  if (out_of_memory.load()) {
    return detail::fail(DEEPSPG_ERR_OUT_OF_MEMORY, std::string(fn) + ": out of memory for the Winograd tiles");
  }
  return detail::ok();
}

/** The Winograd convolution of one batch item (3x3, stride 1, pad 1; geometry checked, U packed for `isa`). */
int32_t run_winograd(const char* fn, const Isa& isa, int64_t in_channels, int64_t out_channels, int64_t h,
                     int64_t w, const float* x, const float* upack, const float* bias, const float* residual,
                     int32_t relu, float* y) {
  const int64_t th = (h + 3) / 4, tw = (w + 3) / 4, tiles = th * tw;
  const WinoGemm gm = wino_gemm(isa, out_channels, in_channels, tiles);
  // Narrow layers with runs enough for every thread go per run (wino_narrow_runs); the others transform the whole
  // image first and share each run's products out by block. Both compute every value with the same operations in
  // the same order: the results do not depend on the path.
  if (!gm.wide && (tiles + gm.tc - 1) / gm.tc >= 2 * omp_get_max_threads()) {
    return wino_narrow_runs(fn, isa, gm, in_channels, out_channels, h, w, x, upack,
                            wino_packed_floats(isa, out_channels, in_channels) / kWinoN, bias, residual, relu, y);
  }
  // V's row stride: whole micro-tiles, plus 16 floats so that a channel's row never lies a multiple of 4 KB from the
  // next one (the micro-kernel reads one run of tiles from every channel in turn: at tp = 1024 those loads all fell
  // into one L1 set)
  const int64_t padded = (tiles + gm.tile - 1) / gm.tile * gm.tile, tp = padded + 16;
  // V[xi]'s stride, one line more than in x tp floats for the same reason as wino_narrow_runs' (a multiple of 4 KB
  // for HRNet-W48's wide layers)
  const int64_t vxs = in_channels * tp + 16;
  const int64_t cols = 4 * tw + 2;  // padded input columns a tile row spans
  const int ob = gm.ob;
  const int64_t ocb = (out_channels + ob - 1) / ob;
  const int64_t per = wino_packed_floats(isa, out_channels, in_channels) / kWinoN;
  // Scratch kept per calling thread and grown on demand: a fresh multi-megabyte allocation per call costs its page
  // faults on every image (HRNet-W48 at 608x416: 2.2 MB for its third branch).
  static thread_local std::vector<float> scratch;
  const size_t need = static_cast<size_t>(kWinoN) * vxs;
  try {
    if (scratch.size() < need) scratch.resize(need);
  } catch (const std::bad_alloc&) {
    return detail::fail(DEEPSPG_ERR_OUT_OF_MEMORY, std::string(fn) + ": out of memory for the Winograd tiles");
  }
  float* vb = scratch.data();
  // 1. V[xi][c][t] = (B^T d B)[xi] for tile t of channel c, per (channel, tile row). Padding tiles (t >= tiles)
  // are zero.
  const int64_t rows_work = in_channels * th;
#pragma omp parallel if (rows_work * cols * 12 >= detail::kOmpMinWork)
  {
    // transform_segment's buffers, kept per thread like the others (a fresh pair per call was zero-filled each time)
    static thread_local std::vector<float> tmp, zero;
    tmp.resize(std::max(tmp.size(), static_cast<size_t>(6 * cols + 72)));
    if (zero.size() < static_cast<size_t>(w)) zero.assign(w, 0.0f);
#pragma omp for schedule(static)
    for (int64_t idx = 0; idx < rows_work; ++idx) {
      const int64_t c = idx / th, ti = idx % th;
      transform_segment(isa, x + c * h * w, h, w, ti, 0, tw, tmp.data(), zero.data(),
                        vb + c * tp + ti * tw, vxs);
      if (ti == th - 1 && padded > tiles) {  // the padding tiles the micro-kernels read: zeros
        for (int xi = 0; xi < kWinoN; ++xi) {
          float* row = vb + xi * vxs + c * tp;
          std::fill(row + tiles, row + padded, 0.0f);
        }
      }
    }
  }
  if (gm.wide) {
    wino_wide_products(isa, gm, in_channels, out_channels, h, w, vb, tp, vxs, upack, per, bias, residual, relu, y);
    return detail::ok();
  }
  // 2 + 3, fused per (run of tc tiles, block of ob output channels): M[xi] = U[xi] V[xi] on the 1x1 micro-kernels
  // into a thread-local buffer, then Y = A^T M A for those tiles and channels, bias, residual and ReLU, straight into
  // y: M never goes to memory. Runs outer, blocks inner, so a run's V (36 in x tc floats) stays in cache across its
  // blocks.
  const int64_t tc = gm.tc, ldm = gm.ldm;
  const int64_t runs = (tiles + tc - 1) / tc, items = runs * ocb;
  const int64_t zero = 0;
#pragma omp parallel if (items * tc * ob * in_channels * kWinoN >= detail::kOmpMinWork)
  {
    // mloc: M of the item, [36][ob][ldm]; wv, out: output_transform's buffers. Kept per thread (a fresh mloc per
    // call cost its page faults and zero fill on each layer)
    static thread_local std::vector<float> mloc, wv, out;
    mloc.resize(std::max(mloc.size(), static_cast<size_t>(kWinoN) * ob * ldm));
    wv.resize(std::max(wv.size(), static_cast<size_t>(24 * tc)));
    out.resize(std::max(out.size(), static_cast<size_t>(16 * tc + 16)));
#pragma omp for schedule(static)
    for (int64_t it = 0; it < items; ++it) {
      const int64_t blk = it % ocb, run = it / ocb;
      const int64_t t0 = run * tc, t1 = std::min(tiles, t0 + tc), n = t1 - t0;
      for (int xi = 0; xi < kWinoN; ++xi) {
        const float* in = vb + xi * vxs;
        const float* wp = upack + xi * per + blk * in_channels * ob;
        float* buf = mloc.data() + xi * ob * ldm;
        for (int64_t j = t0; j < t1; j += isa.tile) isa.kernel(in + j, tp, &zero, 1, in_channels, wp, buf + (j - t0));
      }
      const int64_t o0 = blk * ob, o1 = std::min(out_channels, o0 + ob);
      for (int64_t o = o0; o < o1; ++o) {
        finish_tiles(isa, TileRun{t0, n, tc, tw, h, w}, mloc.data() + (o - o0) * ldm, ob * ldm, wv.data(),
                     out.data(), bias ? bias[o] : 0.0f, residual ? residual + o * h * w : nullptr, relu != 0,
                     y + o * h * w, o + 1 < out_channels ? h * w : 0);
      }
    }
  }
  return detail::ok();
}

// ---- 1x1 weight gradient: dweight[o][i] = sum_{b, p} dy[b][o][p] x[b][i][p] (the backward of a 1x1 layer's weight)
//
// The columns of each batch item are cut into tiles of kGradTile; the units (b, tile) are dealt, in order, to at
// most kGradChunks chunks fixed by the shape alone, each summing into its own double partial; the partials are then
// added in chunk order. Within a unit the ISA's Gram kernel sums in float (AVX-512: gram_avx512.h's 5 x 5 register
// blocks; otherwise 16-lane partial sums in a fixed order). Results therefore do not depend on the thread count.
// The x tile (in x kGradTile floats: 320 KB for in = 80) stays in L2 while 5-row blocks of dy stream past it once.

constexpr int64_t kGradTile = 1024;
constexpr int64_t kGradChunks = 16;

/** acc[o in + i] += sum_{k < len} a[o lda + k] b[i ldb + k], 16 float lanes per pair then one double add. */
void grad_tile_generic(const float* a, int64_t lda, int64_t ra, const float* b, int64_t ldb, int64_t rb, int64_t len,
                       double* acc) {
  constexpr int L = 16;
  for (int64_t o = 0; o < ra; ++o) {
    const float* ao = a + o * lda;
    for (int64_t i = 0; i < rb; ++i) {
      const float* bi = b + i * ldb;
      float lanes[L] = {};
      int64_t k = 0;
      for (; k + L <= len; k += L) {
#pragma omp simd
        for (int l = 0; l < L; ++l) lanes[l] += ao[k + l] * bi[k + l];
      }
      for (int l = 0; k + l < len; ++l) lanes[l] += ao[k + l] * bi[k + l];
      float s = 0.0f;
      for (int l = 0; l < L; ++l) s += lanes[l];
      acc[o * rb + i] += static_cast<double>(s);
    }
  }
}

int32_t weight_grad_1x1(const char* fn, const Isa& isa, const float* dy, const float* x, int64_t batch, int64_t in,
                        int64_t out, int64_t hw, float* dweight) {
  const int64_t tiles = (hw + kGradTile - 1) / kGradTile, units = batch * tiles;
  const int64_t chunks = std::min(units, kGradChunks), pairs = out * in;
  thread_local std::vector<double> partial;  // chunks x pairs, kept for the calling thread's next call
  try {
    if (partial.size() < static_cast<size_t>(chunks * pairs)) partial.resize(chunks * pairs);
  } catch (const std::bad_alloc&) {
    return detail::fail(DEEPSPG_ERR_OUT_OF_MEMORY, std::string(fn) + ": out of memory for the partial sums");
  }
  double* part = partial.data();
  const bool avx512 = isa.id == DEEPSPG_CONV2D_ISA_AVX512;
#pragma omp parallel for schedule(static) if (units * pairs * kGradTile >= detail::kOmpMinWork)
  for (int64_t c = 0; c < chunks; ++c) {
    double* acc = part + c * pairs;
    std::fill(acc, acc + pairs, 0.0);
    for (int64_t u = c * units / chunks; u < (c + 1) * units / chunks; ++u) {
      const int64_t b = u / tiles, k0 = (u % tiles) * kGradTile, len = std::min(kGradTile, hw - k0);
      const float* a = dy + b * out * hw + k0;
      const float* xb = x + b * in * hw + k0;
#if defined(__x86_64__)
      if (avx512) {
        gram512::gram(a, hw, out, xb, hw, in, len, acc, in);
        continue;
      }
#endif
      grad_tile_generic(a, hw, out, xb, hw, in, len, acc);
    }
  }
#pragma omp parallel for schedule(static) if (pairs * chunks >= detail::kOmpMinWork)
  for (int64_t e = 0; e < pairs; ++e) {
    double s = 0.0;
    for (int64_t c = 0; c < chunks; ++c) s += part[c * pairs + e];
    dweight[e] = static_cast<float>(s);
  }
  return detail::ok();
}

/** The forward on the current ISA with the weight [out][in / groups][k][k] packed for this call (group by group). */
int32_t forward_unpacked(const char* fn, const Geometry& g, const float* x, const float* weight, const float* bias,
                         const float* residual, int32_t act, float* y) {
  if (int32_t rc = check_geometry(g)) return rc;
  if (g.batch == 0) return detail::ok();
  DEEPSPG_CHECK_PTR(fn, x);
  DEEPSPG_CHECK_PTR(fn, weight);
  DEEPSPG_CHECK_PTR(fn, y);
  const Isa& isa = current_isa();
  const int64_t ci = g.ci(), co = g.co(), wg = packed_floats(isa, co, ci, g.k);
  std::unique_ptr<float[]> wpack;
  try {
    wpack.reset(new float[g.groups * wg]);
  } catch (const std::bad_alloc&) {
    return detail::fail(DEEPSPG_ERR_OUT_OF_MEMORY, std::string(fn) + ": out of memory for the packed weight");
  }
  for (int64_t grp = 0; grp < g.groups; ++grp) {
    pack_weight(isa, weight + grp * co * ci * g.k * g.k, co, ci, g.k, wpack.get() + grp * wg);
  }
  return run(fn, isa, g, x, wpack.get(), bias, residual, act, y);
}

}  // namespace

int32_t direct::resolve(const char* fn, int32_t id, const Isa** out) { return resolve_isa(fn, id, out); }

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
  if (int32_t rc = check_weight(in_channels, out_channels, k)) return rc;
  *floats = packed_floats(*i, out_channels, in_channels, k);
  return detail::ok();
}

int32_t deepspg_conv2d_pack_weight_f32(int32_t isa, const float* weight, int64_t out_channels, int64_t in_channels,
                                       int64_t k, float* packed) {
  const char* fn = "deepspg_conv2d_pack_weight_f32";
  const Isa* i = nullptr;
  if (int32_t rc = resolve_isa(fn, isa, &i)) return rc;
  if (int32_t rc = check_weight(in_channels, out_channels, k)) return rc;
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
  return run(fn, *i, g, x, packed, bias, residual, relu ? DEEPSPG_ACT_RELU : DEEPSPG_ACT_NONE, y);
}

int32_t deepspg_conv2d_forward_packed_ex_cpu_f32(const float* x, int32_t isa, const float* packed, const float* bias,
                                                 const float* residual, int64_t batch, int64_t in_channels,
                                                 int64_t out_channels, int64_t k, int64_t stride, int64_t pad,
                                                 int64_t h, int64_t w, int32_t act, float* y) {
  const char* fn = "deepspg_conv2d_forward_packed_ex_cpu_f32";
  const Isa* i = nullptr;
  if (int32_t rc = resolve_isa(fn, isa, &i)) return rc;
  if (pad < 0) {
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": pad must be >= 0, got " +
                                                          std::to_string(pad));
  }
  if (act != DEEPSPG_ACT_NONE && act != DEEPSPG_ACT_RELU && act != DEEPSPG_ACT_GELU) {
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": unknown activation " +
                                                          std::to_string(act));
  }
  const Geometry g{batch, in_channels, out_channels, k, stride, h, w, pad};
  if (int32_t rc = check_geometry(g)) return rc;
  if (batch == 0) return detail::ok();
  DEEPSPG_CHECK_PTR(fn, x);
  DEEPSPG_CHECK_PTR(fn, packed);
  DEEPSPG_CHECK_PTR(fn, y);
  return run(fn, *i, g, x, packed, bias, residual, act, y);
}

int32_t deepspg_conv2d_forward_cpu_f32(const float* x, const float* weight, const float* bias, const float* residual,
                                       int64_t batch, int64_t in_channels, int64_t out_channels, int64_t k,
                                       int64_t stride, int64_t h, int64_t w, int32_t relu, float* y) {
  const Geometry g{batch, in_channels, out_channels, k, stride, h, w};
  return forward_unpacked("deepspg_conv2d_forward_cpu_f32", g, x, weight, bias, residual,
                          relu ? DEEPSPG_ACT_RELU : DEEPSPG_ACT_NONE, y);
}

int32_t deepspg_conv2d_forward_grouped_cpu_f32(const float* x, const float* weight, const float* bias,
                                               const float* residual, int64_t batch, int64_t in_channels,
                                               int64_t out_channels, int64_t groups, int64_t k, int64_t h, int64_t w,
                                               int32_t act, float* y) {
  const char* fn = "deepspg_conv2d_forward_grouped_cpu_f32";
  if (act != DEEPSPG_ACT_NONE && act != DEEPSPG_ACT_RELU && act != DEEPSPG_ACT_GELU) {
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": unknown activation " +
                                                          std::to_string(act));
  }
  Geometry g{batch, in_channels, out_channels, k, 1, h, w};
  g.groups = groups;
  return forward_unpacked(fn, g, x, weight, bias, residual, act, y);
}

int32_t deepspg_conv2d_winograd_weight_floats(int32_t isa, int64_t out_channels, int64_t in_channels,
                                              int64_t* floats) {
  const char* fn = "deepspg_conv2d_winograd_weight_floats";
  DEEPSPG_CHECK_PTR(fn, floats);
  const Isa* i = nullptr;
  if (int32_t rc = resolve_isa(fn, isa, &i)) return rc;
  if (int32_t rc = check_weight(in_channels, out_channels, 3)) return rc;
  *floats = wino_packed_floats(*i, out_channels, in_channels);
  return detail::ok();
}

int32_t deepspg_conv2d_winograd_pack_weight_f32(int32_t isa, const float* weight, int64_t out_channels,
                                                int64_t in_channels, float* packed) {
  const char* fn = "deepspg_conv2d_winograd_pack_weight_f32";
  const Isa* i = nullptr;
  if (int32_t rc = resolve_isa(fn, isa, &i)) return rc;
  if (int32_t rc = check_weight(in_channels, out_channels, 3)) return rc;
  DEEPSPG_CHECK_PTR(fn, weight);
  DEEPSPG_CHECK_PTR(fn, packed);
  try {
    wino_pack_weight(*i, weight, out_channels, in_channels, packed);
  } catch (const std::bad_alloc&) {
    return detail::fail(DEEPSPG_ERR_OUT_OF_MEMORY, std::string(fn) + ": out of memory for the transformed weight");
  }
  return detail::ok();
}

int32_t deepspg_conv2d_winograd_forward_cpu_f32(const float* x, int32_t isa, const float* packed, const float* bias,
                                                const float* residual, int64_t batch, int64_t in_channels,
                                                int64_t out_channels, int64_t h, int64_t w, int32_t relu, float* y) {
  const char* fn = "deepspg_conv2d_winograd_forward_cpu_f32";
  const Isa* i = nullptr;
  if (int32_t rc = resolve_isa(fn, isa, &i)) return rc;
  if (int32_t rc = check_geometry(Geometry{batch, in_channels, out_channels, 3, 1, h, w})) return rc;
  if (batch == 0) return detail::ok();
  DEEPSPG_CHECK_PTR(fn, x);
  DEEPSPG_CHECK_PTR(fn, packed);
  DEEPSPG_CHECK_PTR(fn, y);
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t xo = b * in_channels * h * w, yo = b * out_channels * h * w;
    if (int32_t rc = run_winograd(fn, *i, in_channels, out_channels, h, w, x + xo, packed, bias,
                                  residual ? residual + yo : nullptr, relu, y + yo)) {
      return rc;
    }
  }
  return detail::ok();
}

int32_t deepspg_conv2d_weight_grad_1x1_cpu_f32(int32_t isa, const float* dy, const float* x, int64_t batch,
                                               int64_t in_channels, int64_t out_channels, int64_t hw,
                                               float* dweight) {
  const char* fn = "deepspg_conv2d_weight_grad_1x1_cpu_f32";
  const Isa* i = nullptr;
  if (int32_t rc = resolve_isa(fn, isa, &i)) return rc;
  if (batch < 0 || in_channels < 1 || out_channels < 1 || hw < 1) {
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT,
                        std::string(fn) + ": bad shape batch=" + std::to_string(batch) + " in=" +
                            std::to_string(in_channels) + " out=" + std::to_string(out_channels) + " hw=" +
                            std::to_string(hw) + " (need batch >= 0, channels >= 1, hw >= 1)");
  }
  DEEPSPG_CHECK_PTR(fn, dweight);
  if (batch == 0) {
    std::fill(dweight, dweight + out_channels * in_channels, 0.0f);
    return detail::ok();
  }
  DEEPSPG_CHECK_PTR(fn, dy);
  DEEPSPG_CHECK_PTR(fn, x);
  return weight_grad_1x1(fn, *i, dy, x, batch, in_channels, out_channels, hw, dweight);
}

}  // extern "C"
