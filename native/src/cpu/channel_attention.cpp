// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Fused channel ("transposed") attention, CPU backend (spec ARCHITECTURE.md section 2.3).
//
// Per batch b and head h, rows x_i, y_j, v_j of length N (channels h*c + i of [B, heads*c, N] tensors):
//   forward   P_ij = sum_n x_in y_jn, a_i = sum_n x_in^2, b_j = sum_n y_jn^2          (sweep 1)
//             r_i = max(sqrt a_i, eps), s_j = max(sqrt b_j, eps), G = P / (r s^T), A = softmax_row(tau_h G)
//             o_in = sum_j A_ij v'_jn, v' = v (or v * gate)                            (sweep 2)
//   backward  dA_ij = sum_n do_in v'_jn                                                 (sweep 1)
//             dZ = A .* (dA - rowsum(A .* dA)), dtau_h = sum_b sum_ij dZ_ij G_ij, dG = tau_h dZ,
//             rho_i = sum_j dG_ij G_ij, kappa_j = sum_i dG_ij G_ij (0 for rows whose norm was clamped)
//             dx_in = (sum_j dG_ij y_jn / s_j - rho_i x_in / r_i) / r_i                  (sweep 2)
//             dy_jn = (sum_i dG_ij x_in / r_i - kappa_j y_jn / s_j) / s_j
//             dv'_jn = sum_i A_ij do_in ; dv = dv' (.* gate), dgate = dv' .* v
// Layout: contiguous [B, heads*c, N]; side data G, A [B, heads, c, c], r, s [B, heads, c].
// Dtypes: float, double. Deterministic: N is cut into fixed tiles, per-tile partial sums are kept in double and
// reduced in tile order, so the result does not depend on the OpenMP thread count.
// Source: DeepSPG (SEM, eq. 7-8) and Retinexformer's IG-MSA, both "transposed" attention over channels.
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include <omp.h>

#include "gram_avx512.h"

#include "../common/common.h"

namespace deepspg::ops {

using detail::ChannelAttentionParams;

namespace {

// ---------------------------------------------------------------------------------------------------------------
// tiling

// The portable kernels' tile, 256 columns: the x, y (or do, v) rows of one tile for c = 20 take 2*20*256*4 B = 40 KB,
// about one L1/L2 working set, and N = 65536 still gives 256 tiles per (batch, head) to share between threads (the
// AVX-512 kernels use 1024, avx512::kTile).
constexpr int64_t kTile = 256;

inline int64_t num_tiles(int64_t n, int64_t tile) { return (n + tile - 1) / tile; }

// acc[k] = the sum over the tiles t < tiles, in order, of partial[t * part + k] (one block's per-tile partial sums):
// a fixed order, so the totals do not depend on the thread count that produced the partials.
inline void sum_tiles(const double* partial, int64_t tiles, int64_t part, double* acc) {
  std::fill(acc, acc + part, 0.0);
  for (int64_t t = 0; t < tiles; ++t)
    for (int64_t k = 0; k < part; ++k) acc[k] += partial[t * part + k];
}

// Non-temporal stores. A sweep that moves at least kStreamMinBytes (reads and writes together) is past this VM's
// L3 (16-24 MB effective on the 2-vCPU EPYC; conv2d_direct.cpp streams 1x1 outputs from the same size), so its output
// would leave the cache before the next op reads it anyway: storing it non-temporally skips the read-for-ownership
// of every output line (a third of such a mixing sweep's traffic). See BENCHMARKS.md, session 22.
constexpr int64_t kStreamMinBytes = int64_t(32) << 20;
std::atomic<int64_t> g_stream_min_bytes{kStreamMinBytes};  // deepspg_channel_attention_stream_min_bytes

/** Whether a sweep moving `traffic` bytes is past the L3 (the non-temporal store threshold). */
inline bool past_cache(int64_t traffic) { return traffic >= g_stream_min_bytes.load(); }

/**
 * Whether a sweep that moves `traffic` bytes may store `out` (row stride ld) non-temporally: large enough, not in
 * place (a residual read in the same sweep has the lines in the cache already), and every full 16-float vector the
 * kernels store 64-byte aligned (tiles and strips start at multiples of 16 floats within a row).
 */
template <typename T>
inline bool stream_output(const T* out, int64_t ld, int64_t traffic, const T* residual = nullptr) {
  return std::is_same_v<T, float> && out != nullptr && out != residual && past_cache(traffic) &&
         reinterpret_cast<uintptr_t>(out) % 64 == 0 && ld % 16 == 0;
}

/** Orders this thread's non-temporal stores before the parallel region's closing barrier (x86: sfence). */
inline void store_fence() {
#if defined(__x86_64__)
  _mm_sfence();
#endif
}

/**
 * Hands one sweep's work items (tiles) to the threads of the enclosing parallel region; every thread calls run().
 * Sweeps that fit in the cache keep fixed contiguous shares, the same for every sweep of one size, so a thread
 * meets the tiles it touched in the previous sweep (dynamic shares measured 3-11% slower at the level-2 shape in
 * most runs).
 * Sweeps past the L3 (`balance`: the non-temporal store threshold) have nothing in the cache to meet again and take
 * runs of up to 8 tiles as threads come free: on a shared VM one vCPU is often slower for a while (steal), and with
 * fixed shares the other then waits at the barrier. Runs keep each thread walking its rows on (runs of 2 measured
 * slower). Results do not depend on who runs a tile: partial sums are per tile, reduced in order (sum_tiles), and
 * mixed columns are independent. Measured with kernel_ab (BENCHMARKS.md, session 23).
 */
class TileQueue {
 public:
  TileQueue(int64_t items, bool balance) : items_(items), balance_(balance) {}
  template <class Body>
  void run(Body body) {
    const int64_t threads = omp_get_num_threads(), id = omp_get_thread_num();
    if (!balance_ || threads == 1) {
      for (int64_t w = items_ * id / threads, end = items_ * (id + 1) / threads; w < end; ++w) body(w);
      return;
    }
    const int64_t run = std::clamp<int64_t>(items_ / (4 * threads), 1, 8);
    for (int64_t w0 = next_.fetch_add(run); w0 < items_; w0 = next_.fetch_add(run))
      for (int64_t w = w0, end = std::min(items_, w0 + run); w < end; ++w) body(w);
  }

 private:
  const int64_t items_;
  const bool balance_;
  std::atomic<int64_t> next_{0};
};

// The folded sweeps' channel limit (the block width d, not a head's c): DeepSPG uses d <= 80.
constexpr int64_t kMaxFoldedChannels = 1024;

// Register-blocked micro-kernels written with GCC/Clang vector extensions: 32-byte vectors are AVX2 registers in
// the default x86-64-v3 build (two SSE registers on x86-64-v2, plain scalar code elsewhere). This file is compiled
// with -ffp-contract=fast so that `acc += a * b` on vectors becomes one FMA (ISO C++ mode disables contraction).
template <typename T>
struct Simd {
  typedef T V __attribute__((vector_size(32)));
  static constexpr int64_t W = 32 / sizeof(T);
  static inline V load(const T* p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static inline void store(T* p, V v) { std::memcpy(p, &v, sizeof v); }
  static inline V splat(T s) { return V{} + s; }
  static inline T sum(V v) {
    T s = 0;
    for (int64_t l = 0; l < W; ++l) s += v[l];
    return s;
  }
};

// Dot products of all row pairs of two [c, len] blocks (row strides lda, ldb) into out[i*c + j] (+=, in double).
// Blocks of 4 rows of `a` x 2 rows of `b` keep 8 vector accumulators in registers: 6 loads per 8 FMAs, against 2 per
// FMA for one dot product at a time. Lanes are summed in a fixed order, so the result is deterministic per build.
template <typename T>
inline void gram_tile(const T* a, int64_t lda, const T* b, int64_t ldb, int64_t c, int64_t len, double* out) {
  using S = Simd<T>;
  using V = typename S::V;
  constexpr int64_t W = S::W;
  const int64_t lv = len - len % W;
  auto dot = [&](const T* x, const T* y) {  // remainder rows: one accumulator
    V acc{};
    for (int64_t k = 0; k < lv; k += W) acc += S::load(x + k) * S::load(y + k);
    T s = S::sum(acc);
    for (int64_t k = lv; k < len; ++k) s += x[k] * y[k];
    return s;
  };
  int64_t i = 0;
  for (; i + 4 <= c; i += 4) {
    const T* a0 = a + i * lda;
    const T* a1 = a0 + lda;
    const T* a2 = a1 + lda;
    const T* a3 = a2 + lda;
    int64_t j = 0;
    for (; j + 2 <= c; j += 2) {
      const T* b0 = b + j * ldb;
      const T* b1 = b0 + ldb;
      V s00{}, s01{}, s10{}, s11{}, s20{}, s21{}, s30{}, s31{};
      for (int64_t k = 0; k < lv; k += W) {
        const V y0 = S::load(b0 + k), y1 = S::load(b1 + k);
        V x = S::load(a0 + k);
        s00 += x * y0, s01 += x * y1;
        x = S::load(a1 + k);
        s10 += x * y0, s11 += x * y1;
        x = S::load(a2 + k);
        s20 += x * y0, s21 += x * y1;
        x = S::load(a3 + k);
        s30 += x * y0, s31 += x * y1;
      }
      T r[8] = {S::sum(s00), S::sum(s01), S::sum(s10), S::sum(s11),
                S::sum(s20), S::sum(s21), S::sum(s30), S::sum(s31)};
      for (int64_t k = lv; k < len; ++k) {
        const T y0 = b0[k], y1 = b1[k];
        r[0] += a0[k] * y0, r[1] += a0[k] * y1, r[2] += a1[k] * y0, r[3] += a1[k] * y1;
        r[4] += a2[k] * y0, r[5] += a2[k] * y1, r[6] += a3[k] * y0, r[7] += a3[k] * y1;
      }
      for (int64_t u = 0; u < 4; ++u) {
        out[(i + u) * c + j] += static_cast<double>(r[2 * u]);
        out[(i + u) * c + j + 1] += static_cast<double>(r[2 * u + 1]);
      }
    }
    for (; j < c; ++j)
      for (int64_t u = 0; u < 4; ++u) out[(i + u) * c + j] += static_cast<double>(dot(a + (i + u) * lda, b + j * ldb));
  }
  for (; i < c; ++i)
    for (int64_t j = 0; j < c; ++j) out[i * c + j] += static_cast<double>(dot(a + i * lda, b + j * ldb));
}

template <typename T>
inline void sumsq_tile(const T* a, int64_t c, int64_t ld, int64_t len, double* out) {
  for (int64_t i = 0; i < c; ++i) {
    const T* ai = a + i * ld;
    T acc = 0;
#pragma omp simd reduction(+ : acc)
    for (int64_t k = 0; k < len; ++k) acc += ai[k] * ai[k];
    out[i] += static_cast<double>(acc);
  }
}

// Row stride of the per-thread tile buffers: a tile's row plus one cache line. Rows exactly 4 KB apart (the AVX-512
// tile of 1024 floats) fall into the same L1 set, and a mixing strip's 20 source rows x 4 lines then overflow its 12
// ways and are fetched from L2 again by every row block; one line more per row spreads them over the sets. In-cache
// mixing, one core: 116-126 GFLOP/s with rows 8 or 16 KB apart, 166-179 one line further apart (session 23).
constexpr int64_t kBufPad = 16;
inline int64_t buf_ld(int64_t tile) { return tile + kBufPad; }

// Copies v (times gate when given) of one tile into buf [c, len] (row stride bld); returns the pointer to use and its
// stride.
template <typename T>
inline const T* gated_tile(const T* v, const T* gate, int64_t c, int64_t ld, int64_t len, T* buf, int64_t bld,
                           int64_t* out_ld) {
  if (gate == nullptr) {
    *out_ld = ld;
    return v;
  }
  for (int64_t j = 0; j < c; ++j) {
    const T* vj = v + j * ld;
    const T* fj = gate + j * ld;
    T* bj = buf + j * bld;
#pragma omp simd
    for (int64_t k = 0; k < len; ++k) bj[k] = vj[k] * fj[k];
  }
  *out_ld = bld;
  return buf;
}

/**
 * The backward's gated split of mixed rows (dV' = A^T dO): dv = dV' .* gate and dgate = dV' .* v, stored by the
 * mixing's epilogue in place of the mixed rows, so dV' makes no round trip through a buffer; a null dv or dgate is
 * skipped. Pointers at row 0, column 0 of the current block; rows `ld` apart.
 */
template <typename T>
struct Split {
  const T* gate;
  T* dv;
  const T* v;
  T* dgate;
  int64_t ld;
  /** The same split moved `rows` rows down and `cols` columns right. */
  Split at(int64_t rows, int64_t cols) const {
    const int64_t o = rows * ld + cols;
    return {gate + o, dv != nullptr ? dv + o : nullptr, v + o, dgate != nullptr ? dgate + o : nullptr, ld};
  }
};

// out[i, :] = sum_j M_ij * src[j, :] for one tile, plus diag_i * self[i, :] when diag != null, else plus self[i, :]
// when self != null, plus bias_i when bias != null (the sum starts from these); M is used transposed when
// `transpose`. out may be self (each element is read before the same block writes it). Blocks of 4 output rows x 2
// vectors of columns stay in 8 vector registers while j runs over all source rows: per j, 2 loads and 4 broadcasts
// feed 8 FMAs, and each output is stored once (the previous version re-read and re-wrote every output row c/4 times).
template <typename T>
inline void mix_tile(const T* M, const T* src, int64_t src_ld, int64_t c, int64_t len, T* out, int64_t out_ld,
                     bool transpose, const T* diag = nullptr, const T* self = nullptr, int64_t self_ld = 0,
                     const T* bias = nullptr) {
  using S = Simd<T>;
  using V = typename S::V;
  constexpr int64_t W = S::W;
  auto m = [&](int64_t i, int64_t j) { return transpose ? M[j * c + i] : M[i * c + j]; };
  auto start = [&](int64_t i, int64_t k) {  // the scalar start of out[i, k]
    const T s = self == nullptr ? T(0) : diag != nullptr ? diag[i] * self[i * self_ld + k] : self[i * self_ld + k];
    return bias != nullptr ? s + bias[i] : s;
  };
  auto init = [&](int64_t i, int64_t k) {
    const V s = self == nullptr ? V{}
                : diag != nullptr ? S::load(self + i * self_ld + k) * diag[i]
                                  : S::load(self + i * self_ld + k);
    return bias != nullptr ? s + bias[i] : s;
  };
  int64_t i = 0;
  for (; i + 4 <= c; i += 4) {
    int64_t k = 0;
    for (; k + 2 * W <= len; k += 2 * W) {
      V o00 = init(i, k), o01 = init(i, k + W), o10 = init(i + 1, k), o11 = init(i + 1, k + W);
      V o20 = init(i + 2, k), o21 = init(i + 2, k + W), o30 = init(i + 3, k), o31 = init(i + 3, k + W);
      for (int64_t j = 0; j < c; ++j) {
        const T* sj = src + j * src_ld + k;
        const V s0 = S::load(sj), s1 = S::load(sj + W);
        V w = S::splat(m(i, j));
        o00 += w * s0, o01 += w * s1;
        w = S::splat(m(i + 1, j));
        o10 += w * s0, o11 += w * s1;
        w = S::splat(m(i + 2, j));
        o20 += w * s0, o21 += w * s1;
        w = S::splat(m(i + 3, j));
        o30 += w * s0, o31 += w * s1;
      }
      S::store(out + i * out_ld + k, o00), S::store(out + i * out_ld + k + W, o01);
      S::store(out + (i + 1) * out_ld + k, o10), S::store(out + (i + 1) * out_ld + k + W, o11);
      S::store(out + (i + 2) * out_ld + k, o20), S::store(out + (i + 2) * out_ld + k + W, o21);
      S::store(out + (i + 3) * out_ld + k, o30), S::store(out + (i + 3) * out_ld + k + W, o31);
    }
    for (; k < len; ++k)  // column tail (len % 16): scalar
      for (int64_t u = i; u < i + 4; ++u) {
        T acc = start(u, k);
        for (int64_t j = 0; j < c; ++j) acc += m(u, j) * src[j * src_ld + k];
        out[u * out_ld + k] = acc;
      }
  }
  for (; i < c; ++i) {  // row tail (c % 4): one row at a time
    T* oi = out + i * out_ld;
    for (int64_t k = 0; k < len; ++k) oi[k] = start(i, k);
    for (int64_t j = 0; j < c; ++j) {
      const T mj = m(i, j);
      const T* sj = src + j * src_ld;
#pragma omp simd
      for (int64_t k = 0; k < len; ++k) oi[k] += mj * sj[k];
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// kernel sets: the drivers below run either the portable vector-extension kernels above (any dtype; AVX2 in the
// default build) or the AVX-512 ones below (float only), chosen per call from the selected ISA.

template <typename T>
struct PortableKernels {
  static constexpr int64_t kTile = ::deepspg::ops::kTile;
  static void gram(const T* a, int64_t lda, const T* b, int64_t ldb, int64_t c, int64_t len, double* out) {
    gram_tile(a, lda, b, ldb, c, len, out);
  }
  static void sumsq(const T* a, int64_t c, int64_t ld, int64_t len, double* out) { sumsq_tile(a, c, ld, len, out); }
  static void mix(const T* M, const T* src, int64_t src_ld, int64_t c, int64_t len, T* out, int64_t out_ld,
                  bool transpose, const T* diag, const T* self, int64_t self_ld, const T* bias = nullptr,
                  bool /*stream: these store through the cache*/ = false) {
    mix_tile(M, src, src_ld, c, len, out, out_ld, transpose, diag, self, self_ld, bias);
  }
  /** mix_split needs a [c, tile] buffer per thread. */
  static constexpr bool kSplitBuffer = true;
  /** dV' = A^T src for one tile into buf [c, len], then split into sp.dv and sp.dgate (see Split). */
  static void mix_split(const T* A, const T* src, int64_t src_ld, int64_t c, int64_t len, const Split<T>& sp, T* buf,
                        bool /*stream: these store through the cache*/) {
    mix_tile(A, src, src_ld, c, len, buf, len, /*transpose=*/true);
    auto product = [len](const T* a, const T* b, T* out) {
#pragma omp simd
      for (int64_t k = 0; k < len; ++k) out[k] = a[k] * b[k];
    };
    for (int64_t j = 0; j < c; ++j) {
      if (sp.dv != nullptr) product(buf + j * len, sp.gate + j * sp.ld, sp.dv + j * sp.ld);
      if (sp.dgate != nullptr) product(buf + j * len, sp.v + j * sp.ld, sp.dgate + j * sp.ld);
    }
  }
};

#if defined(__x86_64__)
#define DEEPSPG_ATTENTION_AVX512 1

// AVX-512F kernels (16 floats per register, 32 registers). Gram: gram_avx512.h's 5 x 5 register blocks (10 loads per
// 25 FMAs), reduced to scalars once per tile; mixing: for c = 20 all 20 output rows x 1 vector (mix_rows), else
// blocks of 5 output rows x 4 vectors (64 columns, mix_columns), 20 accumulators either way while j runs over the
// source rows; column tails use masked loads and stores, so no scalar loops remain. Tiles of 1024 columns (4 KB of a
// row, one page) cut the per-tile reductions to a quarter of 256-column tiles' while a tile's two c = 20 row blocks
// (160 KB) stay in L2; in-cache and full-size runs measured 5x5 blocks and 1024 columns ahead of 4x5 and 512.
// GCC 12 warns, wrongly, about the _mm256_undefined_pd() inside its own _mm512_reduce_add_ps.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
namespace avx512 {

constexpr int64_t kTile = 1024;
constexpr int kMixI = 5;

using gram512::tail_mask;

/** Squared row norms of one tile, += into out[i] (double): four rows at a time, so eight FMA chains are in flight. */
DEEPSPG_AVX512 void sumsq(const float* a, int64_t c, int64_t ld, int64_t len, double* out) {
  int64_t i = 0;
  for (; i + 4 <= c; i += 4) {
    __m512 s[4][2];
    for (int u = 0; u < 4; ++u) s[u][0] = s[u][1] = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 32 <= len; k += 32)
      for (int u = 0; u < 4; ++u) {
        const __m512 p = _mm512_loadu_ps(a + (i + u) * ld + k), q = _mm512_loadu_ps(a + (i + u) * ld + k + 16);
        s[u][0] = _mm512_fmadd_ps(p, p, s[u][0]), s[u][1] = _mm512_fmadd_ps(q, q, s[u][1]);
      }
    for (; k < len; k += 16)
      for (int u = 0; u < 4; ++u) {
        const __m512 p = _mm512_maskz_loadu_ps(tail_mask(std::min<int64_t>(16, len - k)), a + (i + u) * ld + k);
        s[u][0] = _mm512_fmadd_ps(p, p, s[u][0]);
      }
    for (int u = 0; u < 4; ++u)
      out[i + u] += static_cast<double>(_mm512_reduce_add_ps(_mm512_add_ps(s[u][0], s[u][1])));
  }
  for (; i < c; ++i) {
    __m512 s0 = _mm512_setzero_ps();
    for (int64_t k = 0; k < len; k += 16) {
      const __m512 p = _mm512_maskz_loadu_ps(tail_mask(std::min<int64_t>(16, len - k)), a + i * ld + k);
      s0 = _mm512_fmadd_ps(p, p, s0);
    }
    out[i] += static_cast<double>(_mm512_reduce_add_ps(s0));
  }
}

/** Stores one vector of a mixing block: masked (the lanes of m), non-temporally, or through the cache. */
template <bool Masked, bool Stream>
DEEPSPG_AVX512_INLINE void put(float* p, __m512 v, __mmask16 m) {
  if (Masked) {
    _mm512_mask_storeu_ps(p, m, v);
  } else if (Stream) {
    _mm512_stream_ps(p, v);
  } else {
    _mm512_storeu_ps(p, v);
  }
}

/**
 * Rows i0 .. i0+I-1 of out = M src (+ diag .* self, or + self when diag is null) (+ bias) for K vectors of columns
 * from k: M element (i, j) at M[i*mi + j*mj] (so that M or its transpose is read without a copy). Masked: K == 1 and
 * only the lanes of m. Splits: the rows go through `sp` (see Split) instead of into out.
 */
template <int I, int K, bool Masked, bool Stream, bool Splits = false>
DEEPSPG_AVX512_INLINE void mix_block(const float* M, int64_t mi, int64_t mj, int64_t c, const float* src,
                                     int64_t src_ld, float* out, int64_t out_ld, const float* diag,
                                     const float* self, int64_t self_ld, const float* bias, __mmask16 m,
                                     const Split<float>& sp = {}) {
  __m512 acc[I][K];
#pragma GCC unroll 32
  for (int i = 0; i < I; ++i)
#pragma GCC unroll 32
    for (int q = 0; q < K; ++q) {
      if (self == nullptr) {
        acc[i][q] = _mm512_setzero_ps();
      } else {
        const float* p = self + i * self_ld + 16 * q;
        const __m512 sv = Masked ? _mm512_maskz_loadu_ps(m, p) : _mm512_loadu_ps(p);
        acc[i][q] = diag == nullptr ? sv : _mm512_mul_ps(_mm512_set1_ps(diag[i]), sv);
      }
      if (bias != nullptr) acc[i][q] = _mm512_add_ps(acc[i][q], _mm512_set1_ps(bias[i]));
    }
  for (int64_t j = 0; j < c; ++j) {
    const float* sj = src + j * src_ld;
    __m512 s[K];
#pragma GCC unroll 32
    for (int q = 0; q < K; ++q) s[q] = Masked ? _mm512_maskz_loadu_ps(m, sj + 16 * q) : _mm512_loadu_ps(sj + 16 * q);
#pragma GCC unroll 32
    for (int i = 0; i < I; ++i) {
      const __m512 w = _mm512_set1_ps(M[i * mi + j * mj]);
#pragma GCC unroll 32
      for (int q = 0; q < K; ++q) acc[i][q] = _mm512_fmadd_ps(w, s[q], acc[i][q]);
    }
  }
#pragma GCC unroll 32
  for (int i = 0; i < I; ++i)
#pragma GCC unroll 32
    for (int q = 0; q < K; ++q) {
      if constexpr (Splits) {
        const int64_t o = i * sp.ld + 16 * q;
        if (sp.dv != nullptr) {
          const __m512 f = Masked ? _mm512_maskz_loadu_ps(m, sp.gate + o) : _mm512_loadu_ps(sp.gate + o);
          put<Masked, Stream>(sp.dv + o, _mm512_mul_ps(acc[i][q], f), m);
        }
        if (sp.dgate != nullptr) {
          const __m512 v = Masked ? _mm512_maskz_loadu_ps(m, sp.v + o) : _mm512_loadu_ps(sp.v + o);
          put<Masked, Stream>(sp.dgate + o, _mm512_mul_ps(acc[i][q], v), m);
        }
      } else {
        put<Masked, Stream>(out + i * out_ld + 16 * q, acc[i][q], m);
      }
    }
}

/** One strip of K vectors (or one masked vector) of columns of every output row: row blocks of kMixI, then the rest. */
template <int K, bool Masked, bool Stream, bool Splits>
DEEPSPG_AVX512 void mix_strip(const float* M, int64_t mi, int64_t mj, int64_t c, const float* src, int64_t src_ld,
                              float* out, int64_t out_ld, const float* diag, const float* self, int64_t self_ld,
                              const float* bias, __mmask16 m, const Split<float>& sp) {
  int64_t i = 0;
  for (; i + kMixI <= c; i += kMixI)
    mix_block<kMixI, K, Masked, Stream, Splits>(M + i * mi, mi, mj, c, src, src_ld, out + i * out_ld, out_ld,
                                                diag ? diag + i : nullptr, self ? self + i * self_ld : nullptr,
                                                self_ld, bias ? bias + i : nullptr, m, Splits ? sp.at(i, 0) : sp);
  switch (c - i) {
#define DEEPSPG_MIX_TAIL(R)                                                                                          \
  case R:                                                                                                            \
    mix_block<R, K, Masked, Stream, Splits>(M + i * mi, mi, mj, c, src, src_ld, out + i * out_ld, out_ld,            \
                                            diag ? diag + i : nullptr, self ? self + i * self_ld : nullptr, self_ld, \
                                            bias ? bias + i : nullptr, m, Splits ? sp.at(i, 0) : sp);                \
    break;
    DEEPSPG_MIX_TAIL(1)
    DEEPSPG_MIX_TAIL(2)
    DEEPSPG_MIX_TAIL(3)
    DEEPSPG_MIX_TAIL(4)
#undef DEEPSPG_MIX_TAIL
    default: break;
  }
}

/**
 * mix() for one kind of store: Stream stores every full vector non-temporally (a masked column tail: cached);
 * Splits: the rows go through `sp` (out is not written).
 */
template <bool Stream, bool Splits = false>
DEEPSPG_AVX512 void mix_columns(const float* M, const float* src, int64_t src_ld, int64_t c, int64_t len, float* out,
                                int64_t out_ld, bool transpose, const float* diag, const float* self, int64_t self_ld,
                                const float* bias, const Split<float>& sp = {}) {
  const int64_t mi = transpose ? 1 : c, mj = transpose ? c : 1;
  auto cols = [&](int64_t k) { return Splits ? sp.at(0, k) : sp; };
  int64_t k = 0;
  for (; k + 64 <= len; k += 64)
    mix_strip<4, false, Stream, Splits>(M, mi, mj, c, src + k, src_ld, out + k, out_ld, diag,
                                        self ? self + k : nullptr, self_ld, bias, 0xFFFF, cols(k));
  for (; k + 16 <= len; k += 16)
    mix_strip<1, false, Stream, Splits>(M, mi, mj, c, src + k, src_ld, out + k, out_ld, diag,
                                        self ? self + k : nullptr, self_ld, bias, 0xFFFF, cols(k));
  if (k < len)
    mix_strip<1, true, false, Splits>(M, mi, mj, c, src + k, src_ld, out + k, out_ld, diag, self ? self + k : nullptr,
                                      self_ld, bias, tail_mask(len - k), cols(k));
}

// All-rows mixing, for c = kRowBlock = 20 (every attention head of DeepSPG, and the folded mixing at level 0): all 20
// output rows x one vector of columns in 20 accumulators; each source vector is loaded once and multiplied into every
// row by FMAs with an embedded broadcast of the weight (vfmadd231ps zmm, zmm, m32{1to16}) from a packed copy of M
// (20 x 20 floats, in L1): 1 vector load and 20 weight loads per 20 FMAs, and no source line has to stay in L1 for a
// later row block. mix_columns' 5 x 4 blocks read each 64-column source strip once per row block, and a strip's rows
// read in place lie a multiple of 4 KB apart at the attention's sizes (H*W a multiple of 1024), in one L1 set. Same
// sums in the same order as mix_block (j ascending from the same start), so the same bits. Measured (session 30,
// paired builds, 2 threads): forward+backward 0.915 of the time at level 0 and 0.88 at level 2, the folded mixing
// at c = 20 0.75 (416x608 and 1088x1920); blocks of 20 rows for c = 40 and 80 were 10-14 % slower at 416x608's
// levels 1 and 2 (each source strip then read once per block), so those keep mix_columns.
constexpr int kRowBlock = 20;

/** mix_columns' contract for c = kRowBlock rows, on the all-rows blocks. */
template <bool Stream, bool Splits = false>
DEEPSPG_AVX512 void mix_rows(const float* M, const float* src, int64_t src_ld, int64_t len, float* out,
                             int64_t out_ld, bool transpose, const float* diag, const float* self, int64_t self_ld,
                             const float* bias, const Split<float>& sp = {}) {
  constexpr int R = kRowBlock;
  alignas(64) float W[R * R];  // W[j R + r] = M element (r, j): the weights of source row j, contiguous
  for (int64_t j = 0; j < R; ++j)
    for (int64_t r = 0; r < R; ++r) W[j * R + r] = transpose ? M[j * R + r] : M[r * R + j];
  auto cols = [&](int64_t k) { return Splits ? sp.at(0, k) : sp; };
  int64_t k = 0;
  for (; k + 16 <= len; k += 16)
    mix_block<R, 1, false, Stream, Splits>(W, 1, R, R, src + k, src_ld, out + k, out_ld, diag,
                                           self ? self + k : nullptr, self_ld, bias, 0xFFFF, cols(k));
  if (k < len)
    mix_block<R, 1, true, false, Splits>(W, 1, R, R, src + k, src_ld, out + k, out_ld, diag, self ? self + k : nullptr,
                                         self_ld, bias, tail_mask(len - k), cols(k));
}

/**
 * mix_tile on AVX-512 (same contract), plus `stream`: out (64-byte aligned, out_ld a multiple of 16) is stored
 * non-temporally. c = 20: mix_rows; otherwise mix_columns, column strips outer, so that a 64-column strip of all c
 * source rows stays in L1 (when its rows do not share L1 sets) while every row block reads it.
 */
DEEPSPG_AVX512 void mix(const float* M, const float* src, int64_t src_ld, int64_t c, int64_t len, float* out,
                        int64_t out_ld, bool transpose, const float* diag, const float* self, int64_t self_ld,
                        const float* bias, bool stream) {
  if (c == kRowBlock) {
    if (stream) {
      mix_rows<true>(M, src, src_ld, len, out, out_ld, transpose, diag, self, self_ld, bias);
    } else {
      mix_rows<false>(M, src, src_ld, len, out, out_ld, transpose, diag, self, self_ld, bias);
    }
  } else if (stream) {
    mix_columns<true>(M, src, src_ld, c, len, out, out_ld, transpose, diag, self, self_ld, bias);
  } else {
    mix_columns<false>(M, src, src_ld, c, len, out, out_ld, transpose, diag, self, self_ld, bias);
  }
}

/**
 * The backward's dV' = A^T src for one tile, split by its epilogue into sp.dv and sp.dgate (see Split; at least one
 * of them present); `stream`: both 64-byte aligned, sp.ld a multiple of 16, full vectors stored non-temporally.
 */
DEEPSPG_AVX512 void mix_split(const float* A, const float* src, int64_t src_ld, int64_t c, int64_t len,
                              const Split<float>& sp, bool stream) {
  float* out = sp.dv != nullptr ? sp.dv : sp.dgate;  // not written: only walked along with the split's outputs
  if (c == kRowBlock) {
    if (stream) {
      mix_rows<true, true>(A, src, src_ld, len, out, sp.ld, /*transpose=*/true, nullptr, nullptr, 0, nullptr, sp);
    } else {
      mix_rows<false, true>(A, src, src_ld, len, out, sp.ld, /*transpose=*/true, nullptr, nullptr, 0, nullptr, sp);
    }
  } else if (stream) {
    mix_columns<true, true>(A, src, src_ld, c, len, out, sp.ld, /*transpose=*/true, nullptr, nullptr, 0, nullptr, sp);
  } else {
    mix_columns<false, true>(A, src, src_ld, c, len, out, sp.ld, /*transpose=*/true, nullptr, nullptr, 0, nullptr, sp);
  }
}

}  // namespace avx512
#pragma GCC diagnostic pop

struct Avx512Kernels {
  static constexpr int64_t kTile = avx512::kTile;
  static void gram(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t c, int64_t len, double* out) {
    gram512::gram(a, lda, c, b, ldb, c, len, out, c);
  }
  static void sumsq(const float* a, int64_t c, int64_t ld, int64_t len, double* out) {
    avx512::sumsq(a, c, ld, len, out);
  }
  static void mix(const float* M, const float* src, int64_t src_ld, int64_t c, int64_t len, float* out,
                  int64_t out_ld, bool transpose, const float* diag, const float* self, int64_t self_ld,
                  const float* bias = nullptr, bool stream = false) {
    avx512::mix(M, src, src_ld, c, len, out, out_ld, transpose, diag, self, self_ld, bias, stream);
  }
  /** The split is the mixing's epilogue: no buffer. */
  static constexpr bool kSplitBuffer = false;
  static void mix_split(const float* A, const float* src, int64_t src_ld, int64_t c, int64_t len,
                        const Split<float>& sp, float* /*buf*/, bool stream) {
    avx512::mix_split(A, src, src_ld, c, len, sp, stream);
  }
};
#endif  // __x86_64__

// ---------------------------------------------------------------------------------------------------------------
// mixing

/**
 * out[b] = m[b] (v[b] .* gate[b]) + bias + residual[b] for c-row blocks b of [batch, c, n] tensors, tile by tile (the
 * gated values of a tile copied once): the forward's second sweep (one block per batch and head, m = A) and the folded
 * forms' mixing (deepspg_channel_mix_cpu_f32).
 */
template <typename T, typename KS>
int32_t channel_mix_impl(const T* m, const T* v, const T* gate, const T* bias, const T* residual, int64_t batch,
                         int64_t c, int64_t n, T* out) {
  constexpr int64_t tile = KS::kTile;
  const int64_t tiles = num_tiles(n, tile), cc = c * c;
  const bool par = batch * c * n >= detail::kOmpMinWork;
  const int64_t tensor = batch * c * n * static_cast<int64_t>(sizeof(T));
  const int64_t traffic = tensor * (2 + (gate != nullptr) + (residual != nullptr));
  const bool stream = stream_output(out, n, traffic, residual);
  TileQueue queue(batch * tiles, past_cache(traffic));
#pragma omp parallel if (par)
  {
    std::vector<T> vbuf(gate ? static_cast<size_t>(c * buf_ld(tile)) : 0);
    queue.run([&](int64_t w) {
      const int64_t b = w / tiles, t = w % tiles;
      const int64_t off = b * c * n + t * tile, len = std::min(tile, n - t * tile);
      int64_t vld = 0;
      const T* vt = gated_tile(v + off, gate ? gate + off : nullptr, c, n, len, vbuf.data(), buf_ld(tile), &vld);
      KS::mix(m + b * cc, vt, vld, c, len, out + off, n, /*transpose=*/false, nullptr,
              residual ? residual + off : nullptr, n, bias, stream);
    });
    if (stream) store_fence();
  }
  return detail::ok();
}

// ---------------------------------------------------------------------------------------------------------------
// forward

template <typename T, typename KS>
int32_t forward_impl(const ChannelAttentionParams<T>& p) {
  constexpr int64_t tile = KS::kTile;
  const int64_t c = p.c, n = p.n, bh = p.batch * p.heads, tiles = num_tiles(n, tile);
  const int64_t cc = c * c, part = cc + 2 * c;  // per tile: P (c*c), a (c), b (c)
  if (bh == 0) return detail::ok();
  std::vector<double> partial(static_cast<size_t>(bh * tiles * part), 0.0);
  const bool par = bh * c * n >= detail::kOmpMinWork;

  // Sweep 1: per-tile partial Gram matrix and squared norms (x and y read).
  TileQueue queue(bh * tiles, past_cache(2 * bh * c * n * static_cast<int64_t>(sizeof(T))));
#pragma omp parallel if (par)
  queue.run([&](int64_t w) {
    const int64_t g = w / tiles, t = w % tiles;
    const int64_t off = g * c * n + t * tile, len = std::min(tile, n - t * tile);
    double* pp = partial.data() + w * part;
    KS::gram(p.x + off, n, p.y + off, n, c, len, pp);
    KS::sumsq(p.x + off, c, n, len, pp + cc);
    KS::sumsq(p.y + off, c, n, len, pp + cc + c);
  });

  // Finalize per (b, head): reduce tiles in order, normalise, softmax.
#pragma omp parallel for schedule(static) if (par)
  for (int64_t g = 0; g < bh; ++g) {
    std::vector<double> acc(static_cast<size_t>(part));
    sum_tiles(partial.data() + g * tiles * part, tiles, part, acc.data());
    const double tau = static_cast<double>(p.tau[g % p.heads]);
    T* G = p.G + g * cc;
    T* A = p.A + g * cc;
    std::vector<double> rr(c), ss(c);
    for (int64_t i = 0; i < c; ++i) {
      rr[i] = std::max(std::sqrt(acc[cc + i]), detail::kNormEps);
      ss[i] = std::max(std::sqrt(acc[cc + c + i]), detail::kNormEps);
      p.r[g * c + i] = static_cast<T>(rr[i]);
      p.s[g * c + i] = static_cast<T>(ss[i]);
    }
    std::vector<double> z(c);
    for (int64_t i = 0; i < c; ++i) {
      double zmax = -INFINITY;
      for (int64_t j = 0; j < c; ++j) {
        const double gij = acc[i * c + j] / (rr[i] * ss[j]);
        G[i * c + j] = static_cast<T>(gij);
        z[j] = tau * gij;
        zmax = std::max(zmax, z[j]);
      }
      double sum = 0;
      for (int64_t j = 0; j < c; ++j) {
        z[j] = std::exp(z[j] - zmax);
        sum += z[j];
      }
      for (int64_t j = 0; j < c; ++j) A[i * c + j] = static_cast<T>(z[j] / sum);
    }
  }

  if (p.out == nullptr) return detail::ok();  // the scores alone (deepspg_channel_attention_scores_cpu_f32)

  // Sweep 2: O = A V'.
  return channel_mix_impl<T, KS>(p.A, p.v, p.gate, nullptr, nullptr, bh, c, n, p.out);
}

// ---------------------------------------------------------------------------------------------------------------
// backward

template <typename T, typename KS>
int32_t backward_impl(const ChannelAttentionParams<T>& p) {
  constexpr int64_t tile = KS::kTile;
  const int64_t c = p.c, n = p.n, bh = p.batch * p.heads, tiles = num_tiles(n, tile), cc = c * c;
  if (p.dtau != nullptr)
    for (int64_t h = 0; h < p.heads; ++h) p.dtau[h] = 0;
  if (bh == 0) return detail::ok();
  std::vector<double> partial(static_cast<size_t>(bh * tiles * cc), 0.0);
  const bool par = bh * c * n >= detail::kOmpMinWork;
  const bool want_dv = p.dv != nullptr || (p.gate != nullptr && p.dgate != nullptr);

  // Sweep 1, over dO and V (and F) only: dA = dO V'^T (per-tile partials), and dV' = A^T dO (A is known from the
  // forward), split into dv = dV' (.* F) and dgate = dV' .* V while the tile is in cache (KS::mix_split).
  // traffic: dO, v (and F) read, dv (and dgate) written
  const int64_t tensor = bh * c * n * static_cast<int64_t>(sizeof(T));
  const int64_t traffic1 = tensor * (2 + (p.gate != nullptr) + (p.dv != nullptr) + (p.dgate != nullptr));
  const bool stream_dv = stream_output(p.dv, n, traffic1), stream_dgate = stream_output(p.dgate, n, traffic1);
  // the split stores both of its outputs one way: streamed when every one present may be
  const bool stream_split = (p.dv == nullptr || stream_dv) && (p.dgate == nullptr || stream_dgate);
  TileQueue queue1(bh * tiles, past_cache(traffic1));
#pragma omp parallel if (par)
  {
    // dbuf: dV' of one tile for kernel sets whose split is not an epilogue (PortableKernels)
    std::vector<T> vbuf(p.gate ? static_cast<size_t>(c * buf_ld(tile)) : 0),
        dbuf(KS::kSplitBuffer && p.gate && want_dv ? static_cast<size_t>(c * tile) : 0);
    queue1.run([&](int64_t w) {
      const int64_t g = w / tiles, t = w % tiles;
      const int64_t off = g * c * n + t * tile, len = std::min(tile, n - t * tile);
      int64_t vld = 0;
      const T* vt =
          gated_tile(p.v + off, p.gate ? p.gate + off : nullptr, c, n, len, vbuf.data(), buf_ld(tile), &vld);
      KS::gram(p.dout + off, n, vt, vld, c, len, partial.data() + w * cc);
      if (!want_dv) return;
      if (p.gate == nullptr) {  // dv = A^T dO straight into dv
        KS::mix(p.A + g * cc, p.dout + off, n, c, len, p.dv + off, n, /*transpose=*/true, nullptr, nullptr, 0,
                nullptr, stream_dv);
        return;
      }
      const Split<T> sp{p.gate + off, p.dv ? p.dv + off : nullptr, p.v + off, p.dgate ? p.dgate + off : nullptr, n};
      KS::mix_split(p.A + g * cc, p.dout + off, n, c, len, sp, dbuf.data(), stream_split);
    });
    if (stream_dv || stream_dgate) store_fence();
  }

  // Finalize: per (b, head) coefficient matrices for sweep 2, and dtau contributions.
  // cx_ij = dG_ij / (r_i s_j), dxdiag_i = -rho_i / r_i^2; cy_ij = dG_ij / (r_i s_j) (used transposed),
  // dydiag_j = -kappa_j / s_j^2.
  std::vector<T> cxy(static_cast<size_t>(bh * cc)), dxdiag(static_cast<size_t>(bh * c)),
      dydiag(static_cast<size_t>(bh * c));
  std::vector<double> dtau_part(static_cast<size_t>(bh), 0.0);
#pragma omp parallel for schedule(static) if (par)
  for (int64_t g = 0; g < bh; ++g) {
    std::vector<double> dA(cc), dZ(cc), dG(cc);
    sum_tiles(partial.data() + g * tiles * cc, tiles, cc, dA.data());
    const T* A = p.A + g * cc;
    const T* G = p.G + g * cc;
    const T* r = p.r + g * c;
    const T* s = p.s + g * c;
    const double tau = static_cast<double>(p.tau[g % p.heads]);
    double dtau = 0;
    for (int64_t i = 0; i < c; ++i) {
      double dot = 0;
      for (int64_t j = 0; j < c; ++j) dot += static_cast<double>(A[i * c + j]) * dA[i * c + j];
      for (int64_t j = 0; j < c; ++j) {
        const double dz = static_cast<double>(A[i * c + j]) * (dA[i * c + j] - dot);
        dZ[i * c + j] = dz;
        dtau += dz * static_cast<double>(G[i * c + j]);
        dG[i * c + j] = tau * dz;
      }
    }
    dtau_part[g] = dtau;
    for (int64_t i = 0; i < c; ++i) {
      double rho = 0, kappa = 0;
      for (int64_t j = 0; j < c; ++j) {
        rho += dG[i * c + j] * static_cast<double>(G[i * c + j]);
        kappa += dG[j * c + i] * static_cast<double>(G[j * c + i]);
      }
      const double ri = static_cast<double>(r[i]), si = static_cast<double>(s[i]);
      // A clamped norm (row norm <= eps) passes no gradient through the norm, as in PyTorch's F.normalize.
      dxdiag[g * c + i] = static_cast<T>(ri > detail::kNormEps ? -rho / (ri * ri) : 0.0);
      dydiag[g * c + i] = static_cast<T>(si > detail::kNormEps ? -kappa / (si * si) : 0.0);
      for (int64_t j = 0; j < c; ++j)
        cxy[g * cc + i * c + j] = static_cast<T>(dG[i * c + j] / (ri * static_cast<double>(s[j])));
    }
  }
  if (p.dtau != nullptr) {
    // Deterministic: batch order, head by head.
    for (int64_t g = 0; g < bh; ++g) p.dtau[g % p.heads] += static_cast<T>(dtau_part[g]);
  }

  // Sweep 2, over X and Y only: dx and dy, mixed straight from the tensors. (Until session 29 the tiles of X and Y
  // were first copied into buffers with padded rows, which had measured faster at level 0 when the copy was added,
  // in c684503, before session 23's changes to the sweeps; kernel_ab then put the backward without it at 0.91 of the
  // time at level 0 and 0.78-0.82 at level 2, same bits. Copies before the Gram sweeps, and buffering the forward's
  // output rows, measured slower too.)
  if (p.dx == nullptr && p.dy == nullptr) return detail::ok();
  const int64_t traffic2 = tensor * (2 + (p.dx != nullptr) + (p.dy != nullptr));  // x, y read; dx, dy written
  const bool stream_dx = stream_output(p.dx, n, traffic2), stream_dy = stream_output(p.dy, n, traffic2);
  TileQueue queue2(bh * tiles, past_cache(traffic2));
#pragma omp parallel if (par)
  {
    queue2.run([&](int64_t w) {
      const int64_t g = w / tiles, t = w % tiles;
      const int64_t off = g * c * n + t * tile, len = std::min(tile, n - t * tile);
      const T* M = cxy.data() + g * cc;
      const T* xt = p.x + off;
      const T* yt = p.y + off;
      if (p.dx != nullptr)
        KS::mix(M, yt, n, c, len, p.dx + off, n, false, dxdiag.data() + g * c, xt, n, nullptr, stream_dx);
      if (p.dy != nullptr)
        KS::mix(M, xt, n, c, len, p.dy + off, n, true, dydiag.data() + g * c, yt, n, nullptr, stream_dy);
    });
    if (stream_dx || stream_dy) store_fence();
  }
  return detail::ok();
}

// ---------------------------------------------------------------------------------------------------------------
// The folded forwards' sweeps (inference; IG-MSA: the Gram of the block input, then the gated mixing with the
// projection folded in; SEM: the mixing after the scores): see deepspg_gram_cpu_f32 and deepspg_channel_mix_cpu_f32
// in kernels.h

template <typename KS>
int32_t gram_impl(const float* x, const float* w, int64_t batch, int64_t c, int64_t n, double* out, float* y) {
  constexpr int64_t tile = KS::kTile;
  const int64_t tiles = num_tiles(n, tile), cc = c * c;
  std::vector<double> partial(static_cast<size_t>(batch * tiles * cc), 0.0);
  const bool par = batch * c * n >= detail::kOmpMinWork;
  // x read, and y written when the projection is asked for
  const int64_t traffic = (y != nullptr ? 2 : 1) * batch * c * n * static_cast<int64_t>(sizeof(float));
  const bool stream = stream_output(y, n, traffic);
  TileQueue queue(batch * tiles, past_cache(traffic));
#pragma omp parallel if (par)
  {
    queue.run([&](int64_t item) {
      const int64_t b = item / tiles, t = item % tiles;
      const int64_t off = b * c * n + t * tile, len = std::min(tile, n - t * tile);
      KS::gram(x + off, n, x + off, n, c, len, partial.data() + item * cc);
      // the projection reads the tile the Gram has just brought into the cache
      if (y != nullptr)
        KS::mix(w, x + off, n, c, len, y + off, n, /*transpose=*/false, nullptr, nullptr, 0, nullptr, stream);
    });
    if (stream) store_fence();
  }
  for (int64_t b = 0; b < batch; ++b) sum_tiles(partial.data() + b * tiles * cc, tiles, cc, out + b * cc);
  return detail::ok();
}

// ---------------------------------------------------------------------------------------------------------------
// ISA selection

std::atomic<int32_t> g_isa{-1};

/** AVX-512 needs the CPU's AVX-512F and this build's AVX-512 kernels (x86-64 only). */
bool cpu_has_avx512() {
#if DEEPSPG_ATTENTION_AVX512
  return detail::cpu_has_avx512f();
#else
  return false;
#endif
}

int32_t best_isa() { return cpu_has_avx512() ? DEEPSPG_CONV2D_ISA_AVX512 : DEEPSPG_CONV2D_ISA_GENERIC; }

int32_t current_isa() {
  int32_t id = g_isa.load(std::memory_order_relaxed);
  if (id < 0) {
    id = best_isa();
    g_isa.store(id, std::memory_order_relaxed);
  }
  return id;
}

/** run(KS{}) with the kernel set of the selected ISA: AVX-512 for float when selected, else the portable one. */
template <typename T, typename Run>
int32_t with_kernels(Run run) {
#if DEEPSPG_ATTENTION_AVX512
  if constexpr (std::is_same_v<T, float>) {
    if (current_isa() == DEEPSPG_CONV2D_ISA_AVX512) return run(Avx512Kernels{});
  }
#endif
  return run(PortableKernels<T>{});
}

template <typename T>
int32_t forward_entry(const char* fn, const T* x, const T* y, const T* v, const T* gate, const T* tau, int64_t batch,
                      int64_t heads, int64_t c, int64_t n, T* out, T* G, T* A, T* r, T* s) {
  if (int32_t st = detail::check_attention_sizes(fn, batch, heads, c, n)) return st;
  DEEPSPG_CHECK_PTR(fn, x);
  DEEPSPG_CHECK_PTR(fn, y);
  DEEPSPG_CHECK_PTR(fn, v);
  DEEPSPG_CHECK_PTR(fn, tau);
  DEEPSPG_CHECK_PTR(fn, out);
  DEEPSPG_CHECK_PTR(fn, G);
  DEEPSPG_CHECK_PTR(fn, A);
  DEEPSPG_CHECK_PTR(fn, r);
  DEEPSPG_CHECK_PTR(fn, s);
  ChannelAttentionParams<T> p{};
  p.x = x, p.y = y, p.v = v, p.gate = gate, p.tau = tau;
  p.batch = batch, p.heads = heads, p.c = c, p.n = n;
  p.out = out, p.G = G, p.A = A, p.r = r, p.s = s;
  return with_kernels<T>([&](auto ks) { return forward_impl<T, decltype(ks)>(p); });
}

template <typename T>
int32_t backward_entry(const char* fn, const T* dout, const T* x, const T* y, const T* v, const T* gate, const T* tau,
                       const T* G, const T* A, const T* r, const T* s, int64_t batch, int64_t heads, int64_t c,
                       int64_t n, T* dx, T* dy, T* dv, T* dgate, T* dtau) {
  if (int32_t st = detail::check_attention_sizes(fn, batch, heads, c, n)) return st;
  DEEPSPG_CHECK_PTR(fn, dout);
  DEEPSPG_CHECK_PTR(fn, x);
  DEEPSPG_CHECK_PTR(fn, y);
  DEEPSPG_CHECK_PTR(fn, v);
  DEEPSPG_CHECK_PTR(fn, tau);
  DEEPSPG_CHECK_PTR(fn, G);
  DEEPSPG_CHECK_PTR(fn, A);
  DEEPSPG_CHECK_PTR(fn, r);
  DEEPSPG_CHECK_PTR(fn, s);
  ChannelAttentionParams<T> p{};
  p.dout = dout, p.x = x, p.y = y, p.v = v, p.gate = gate, p.tau = tau;
  p.G = const_cast<T*>(G), p.A = const_cast<T*>(A), p.r = const_cast<T*>(r), p.s = const_cast<T*>(s);
  p.batch = batch, p.heads = heads, p.c = c, p.n = n;
  p.dx = dx, p.dy = dy, p.dv = dv, p.dgate = gate ? dgate : nullptr, p.dtau = dtau;
  return with_kernels<T>([&](auto ks) { return backward_impl<T, decltype(ks)>(p); });
}

int32_t scores_entry(const char* fn, const float* x, const float* y, const float* tau, int64_t batch, int64_t heads,
                     int64_t c, int64_t n, float* G, float* A, float* r, float* s) {
  if (int32_t st = detail::check_attention_sizes(fn, batch, heads, c, n)) return st;
  DEEPSPG_CHECK_PTR(fn, x);
  DEEPSPG_CHECK_PTR(fn, y);
  DEEPSPG_CHECK_PTR(fn, tau);
  DEEPSPG_CHECK_PTR(fn, G);
  DEEPSPG_CHECK_PTR(fn, A);
  DEEPSPG_CHECK_PTR(fn, r);
  DEEPSPG_CHECK_PTR(fn, s);
  ChannelAttentionParams<float> p{};
  p.x = x, p.y = y, p.tau = tau;
  p.batch = batch, p.heads = heads, p.c = c, p.n = n;
  p.G = G, p.A = A, p.r = r, p.s = s;  // out = nullptr: no second sweep
  return with_kernels<float>([&](auto ks) { return forward_impl<float, decltype(ks)>(p); });
}

/** Sizes of the folded sweeps: batch >= 0, 1 <= c <= kMaxFoldedChannels, n >= 1. */
int32_t check_folded_sizes(const char* fn, int64_t batch, int64_t c, int64_t n) {
  if (batch < 0 || c < 1 || c > kMaxFoldedChannels || n < 1) {
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT,
                        std::string(fn) + ": need batch >= 0, 1 <= c <= " + std::to_string(kMaxFoldedChannels) +
                            ", n >= 1, got batch=" + std::to_string(batch) + " c=" + std::to_string(c) +
                            " n=" + std::to_string(n));
  }
  return DEEPSPG_OK;
}

}  // namespace
}  // namespace deepspg::ops

// ---------------------------------------------------------------------------------------------------------------
// C ABI

extern "C" {

int32_t deepspg_channel_attention_select_isa(int32_t isa) {
  const char* fn = "deepspg_channel_attention_select_isa";
  if (isa == DEEPSPG_CONV2D_ISA_AUTO) isa = deepspg::ops::best_isa();
  if (isa != DEEPSPG_CONV2D_ISA_GENERIC && isa != DEEPSPG_CONV2D_ISA_AVX512) {
    return deepspg::ops::detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": unknown ISA " +
                                                                        std::to_string(isa));
  }
  if (isa == DEEPSPG_CONV2D_ISA_AVX512 && !deepspg::ops::cpu_has_avx512()) {
    return deepspg::ops::detail::fail(DEEPSPG_ERR_NOT_COMPILED, std::string(fn) + ": this CPU lacks AVX-512F");
  }
  deepspg::ops::g_isa.store(isa, std::memory_order_relaxed);
  return deepspg::ops::detail::ok();
}

int64_t deepspg_channel_attention_stream_min_bytes(int64_t bytes) {
  return bytes >= 0 ? deepspg::ops::g_stream_min_bytes.exchange(bytes) : deepspg::ops::g_stream_min_bytes.load();
}

int32_t deepspg_channel_attention_isa(void) { return deepspg::ops::current_isa(); }

int32_t deepspg_channel_attention_forward_cpu_f32(const float* x, const float* y, const float* v, const float* gate,
                                                  const float* tau, int64_t batch, int64_t heads, int64_t c, int64_t n,
                                                  float* out, float* G, float* A, float* r, float* s) {
  return deepspg::ops::forward_entry(__func__, x, y, v, gate, tau, batch, heads, c, n, out, G, A, r, s);
}

int32_t deepspg_channel_attention_forward_cpu_f64(const double* x, const double* y, const double* v,
                                                  const double* gate, const double* tau, int64_t batch, int64_t heads,
                                                  int64_t c, int64_t n, double* out, double* G, double* A, double* r,
                                                  double* s) {
  return deepspg::ops::forward_entry(__func__, x, y, v, gate, tau, batch, heads, c, n, out, G, A, r, s);
}

int32_t deepspg_channel_attention_backward_cpu_f32(const float* dout, const float* x, const float* y, const float* v,
                                                   const float* gate, const float* tau, const float* G, const float* A,
                                                   const float* r, const float* s, int64_t batch, int64_t heads,
                                                   int64_t c, int64_t n, float* dx, float* dy, float* dv, float* dgate,
                                                   float* dtau) {
  return deepspg::ops::backward_entry(__func__, dout, x, y, v, gate, tau, G, A, r, s, batch, heads, c, n, dx, dy, dv,
                                      dgate, dtau);
}

int32_t deepspg_channel_attention_backward_cpu_f64(const double* dout, const double* x, const double* y,
                                                   const double* v, const double* gate, const double* tau,
                                                   const double* G, const double* A, const double* r, const double* s,
                                                   int64_t batch, int64_t heads, int64_t c, int64_t n, double* dx,
                                                   double* dy, double* dv, double* dgate, double* dtau) {
  return deepspg::ops::backward_entry(__func__, dout, x, y, v, gate, tau, G, A, r, s, batch, heads, c, n, dx, dy, dv,
                                      dgate, dtau);
}

int32_t deepspg_channel_attention_scores_cpu_f32(const float* x, const float* y, const float* tau, int64_t batch,
                                                 int64_t heads, int64_t c, int64_t n, float* G, float* A, float* r,
                                                 float* s) {
  return deepspg::ops::scores_entry(__func__, x, y, tau, batch, heads, c, n, G, A, r, s);
}

int32_t deepspg_gram_cpu_f32(const float* x, const float* w, int64_t batch, int64_t c, int64_t n, double* out,
                             float* y) {
  const char* fn = __func__;
  if (int32_t st = deepspg::ops::check_folded_sizes(fn, batch, c, n)) return st;
  if (batch == 0) return deepspg::ops::detail::ok();
  DEEPSPG_CHECK_PTR(fn, x);
  DEEPSPG_CHECK_PTR(fn, out);
  if ((w == nullptr) != (y == nullptr)) {
    return deepspg::ops::detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT,
                                      std::string(fn) + ": the projection needs both w and y (or neither)");
  }
  return deepspg::ops::with_kernels<float>(
      [&](auto ks) { return deepspg::ops::gram_impl<decltype(ks)>(x, w, batch, c, n, out, y); });
}

int32_t deepspg_channel_mix_cpu_f32(const float* m, const float* v, const float* gate, const float* bias,
                                    const float* residual, int64_t batch, int64_t c, int64_t n, float* out) {
  const char* fn = __func__;
  if (int32_t st = deepspg::ops::check_folded_sizes(fn, batch, c, n)) return st;
  if (batch == 0) return deepspg::ops::detail::ok();
  DEEPSPG_CHECK_PTR(fn, m);
  DEEPSPG_CHECK_PTR(fn, v);
  DEEPSPG_CHECK_PTR(fn, out);
  return deepspg::ops::with_kernels<float>([&](auto ks) {
    return deepspg::ops::channel_mix_impl<float, decltype(ks)>(m, v, gate, bias, residual, batch, c, n, out);
  });
}

}  // extern "C"
