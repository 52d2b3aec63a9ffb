// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// The CUDA attention's blocked Gram sweep (src/cuda/gram_tiles.h) run on the host: every thread of every block, phase
// by phase, in the order the kernel's barriers allow (all threads load, then all compute; after the last tile all
// store, then all reduce), into one shared-memory array per block as on the GPU. Checks, without a GPU, what a GPU
// run cannot show on its own when it fails: that the tiles cover every column once (odd n, chunk and tile edges),
// that each (i, j) entry and each row norm is read back from the slot of the thread that summed it (c not a multiple
// of the 4 x 4 pair blocks, c > 32 with narrower tiles, one slice per block at c = 64), and that the launch fits the
// 48 KB of shared memory a kernel gets without opting in. Reference: the products and norms in double.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "../src/common/common.h"
#include "../src/cuda/gram_tiles.h"
#include "test_common.h"

namespace {

namespace gt = deepspg::ops::gram_tiles;

// Partials [chunks, c*c + 2c] of one batch*head, as gram_blocked_kernel writes them (and sp's dv, dgate when sp.A).
template <typename T>
std::vector<T> simulate(const T* a, const T* b, const T* gate, int c, int64_t n, bool norms,
                        const gt::SplitArgs<T>& sp = {}) {
  const gt::Layout L = gt::Layout::make<T>(c);
  const int64_t chunks = gt::num_chunks(n), part = static_cast<int64_t>(c) * c + 2 * c;
  std::vector<T> partial(static_cast<size_t>(chunks * part), T(-7));  // untouched entries stay -7
  std::vector<T> smem(static_cast<size_t>(L.smem_elems()), T(99));    // stale shared memory
  std::vector<gt::Acc<T>> acc(gt::kThreads);
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    T* sa = smem.data();
    T* sb = sa + L.cp * L.ld;
    const int64_t col0 = chunk * gt::kChunk, col1 = std::min(n, col0 + gt::kChunk);
    for (auto& x : acc) gt::zero(x);
    for (int64_t t0 = col0; t0 < col1; t0 += L.tn) {
      const int len = static_cast<int>(std::min<int64_t>(L.tn, col1 - t0));
      for (int tid = 0; tid < gt::kThreads; ++tid) gt::load(L, a, b, gate, n, t0, len, sa, sb, tid);
      for (int tid = 0; tid < gt::kThreads; ++tid) gt::compute(L, sa, sb, len, norms, acc[tid], tid);
      if (sp.A != nullptr)
        for (int tid = 0; tid < gt::kThreads; ++tid) gt::split(L, sa, sp, n, t0, len, tid);
    }
    for (int tid = 0; tid < gt::kThreads; ++tid) gt::store(acc[tid], smem.data(), tid);
    for (int tid = 0; tid < gt::kThreads; ++tid)
      gt::reduce(L, smem.data(), norms, partial.data() + chunk * part, tid);
  }
  return partial;
}

template <typename T>
void run_case(int c, int64_t n, bool gated, bool norms, unsigned seed) {
  const size_t tot = static_cast<size_t>(c * n);
  auto a = dt::randn<T>(tot, seed), b = dt::randn<T>(tot, seed + 1), f = dt::randn<T>(tot, seed + 2);
  const T* gate = gated ? f.data() : nullptr;
  const std::vector<T> partial = simulate(a.data(), b.data(), gate, c, n, norms);
  const int64_t chunks = gt::num_chunks(n), cc = static_cast<int64_t>(c) * c, part = cc + 2 * c;
  const int64_t total = norms ? part : cc;
  // the chunk sums as chunk_sum_kernel forms them (double), against the double reference
  std::vector<double> got(static_cast<size_t>(total), 0.0), want(static_cast<size_t>(total), 0.0);
  for (int64_t k = 0; k < chunks; ++k)
    for (int64_t p = 0; p < total; ++p) got[p] += static_cast<double>(partial[k * part + p]);
  for (int i = 0; i < c; ++i)
    for (int64_t col = 0; col < n; ++col) {
      const double ai = a[i * n + col];
      for (int j = 0; j < c; ++j) {
        const double bj = static_cast<double>(b[j * n + col]) * (gated ? static_cast<double>(f[j * n + col]) : 1.0);
        want[i * c + j] += ai * bj;
      }
      if (norms) {
        const double bi = static_cast<double>(b[i * n + col]) * (gated ? static_cast<double>(f[i * n + col]) : 1.0);
        want[cc + i] += ai * ai;
        want[cc + c + i] += bi * bi;
      }
    }
  // rounding of the per-thread float sums: a few eps times the sum of |terms| (about n here); a misplaced slot or a
  // column summed twice or never is off by about sqrt(n) or more
  const double atol = (sizeof(T) == 4 ? 1e-6 : 1e-14) * static_cast<double>(n) * (gated ? 3.0 : 1.0);
  char what[96];
  std::snprintf(what, sizeof what, "%s c=%d n=%lld%s%s", sizeof(T) == 4 ? "f32" : "f64", c, (long long)n,
                gated ? " gated" : "", norms ? " norms" : "");
  dt::validate(what, got, want, atol, sizeof(T) == 4 ? 1e-5 : 1e-12);
  // entries a chunk does not own (the norms when not asked for) are left alone
  if (!norms) {
    bool untouched = true;
    for (int64_t k = 0; k < chunks; ++k)
      for (int64_t p = cc; p < part; ++p) untouched = untouched && partial[k * part + p] == T(-7);
    dt::expect(untouched, "without norms the norm entries are not written");
  }
}

// The backward's first sweep with the split: a = dO, b = v (times the gate); dv and dgate against double references.
template <typename T>
void run_split_case(int c, int64_t n, bool gated, bool want_dv, bool want_dgate, unsigned seed) {
  const size_t tot = static_cast<size_t>(c * n);
  auto dO = dt::randn<T>(tot, seed), v = dt::randn<T>(tot, seed + 1), f = dt::randn<T>(tot, seed + 2);
  auto A = dt::randn<T>(static_cast<size_t>(c * c), seed + 3, 0.3);
  std::vector<T> dv(tot, T(-5)), dgate(tot, T(-5));
  const T* gate = gated ? f.data() : nullptr;
  const gt::SplitArgs<T> sp{A.data(), v.data(), gate, want_dv ? dv.data() : nullptr,
                            want_dgate ? dgate.data() : nullptr};
  simulate(dO.data(), v.data(), gate, c, n, false, sp);
  std::vector<double> dv_ref(tot), dg_ref(tot);
  for (int j = 0; j < c; ++j)
    for (int64_t k = 0; k < n; ++k) {
      double d = 0;
      for (int i = 0; i < c; ++i) d += static_cast<double>(A[i * c + j]) * static_cast<double>(dO[i * n + k]);
      dv_ref[j * n + k] = gated ? d * static_cast<double>(f[j * n + k]) : d;
      dg_ref[j * n + k] = d * static_cast<double>(v[j * n + k]);
    }
  char what[96];
  std::snprintf(what, sizeof what, "%s split c=%d n=%lld%s dv", sizeof(T) == 4 ? "f32" : "f64", c, (long long)n,
                gated ? " gated" : "");
  const double tol = sizeof(T) == 4 ? 1e-5 : 1e-13;
  if (want_dv) dt::validate(what, dv, dv_ref, tol, tol);
  if (want_dgate && gated) {
    what[std::strlen(what) - 2] = '\0';
    std::strncat(what, "dgate", sizeof what - std::strlen(what) - 1);
    dt::validate(what, dgate, dg_ref, tol, tol);
  }
  // an output not asked for (or dgate without a gate) is not written
  if (!want_dv) dt::expect(std::all_of(dv.begin(), dv.end(), [](T x) { return x == T(-5); }), "dv not written");
  if (!want_dgate || !gated)
    dt::expect(std::all_of(dgate.begin(), dgate.end(), [](T x) { return x == T(-5); }), "dgate not written");
}

template <typename T>
void check_layouts() {
  for (int c = 1; c <= 64; ++c) {
    const gt::Layout L = gt::Layout::make<T>(c);
    const bool fits = L.smem_elems() * static_cast<int64_t>(sizeof(T)) <= 48 * 1024;
    const bool covers = L.pairs * L.slices <= gt::kThreads && L.cp >= c && L.cp % gt::kR == 0 && L.slices >= 1;
    if (!fits || !covers) {
      std::printf("FAIL layout %s c=%d: %lld bytes of shared memory, %d pair blocks x %d slices\n",
                  sizeof(T) == 4 ? "f32" : "f64", c, (long long)(L.smem_elems() * sizeof(T)), L.pairs, L.slices);
      ++dt::g_failures;
    }
  }
}

}  // namespace

int main() {
  static_assert(gt::kChunk == deepspg::ops::detail::kCudaAttentionBlockedChunk, "workspace sized for this chunk");
  check_layouts<float>();
  check_layouts<double>();
  unsigned seed = 1;
  struct Shape {
    int c;
    int64_t n;
  };
  // c: one pair block (1, 4), partial pair blocks (3, 5, 17, 33), the model's 20, c > 32 with 64-column tiles (33,
  // 40), one slice per pair block (64); n: one or two columns, one partial tile, exactly a chunk, a chunk and one,
  // several chunks with a tail.
  const Shape shapes[] = {{1, 1},   {3, 37},   {4, 256},  {5, 257},   {20, 1000}, {20, 4096 + 13},
                          {33, 300}, {40, 513}, {64, 129}, {64, 1024}, {17, 2}};
  for (const Shape& s : shapes) {
    for (int v = 0; v < 4; ++v) {
      const bool gated = v & 1, norms = v & 2;
      run_case<float>(s.c, s.n, gated, norms, seed++);
      if (v == 3 || s.c == 20) run_case<double>(s.c, s.n, gated, norms, seed++);
    }
  }
  const Shape split_shapes[] = {{20, 1000}, {5, 257}, {40, 513}, {64, 129}, {1, 3}};
  for (const Shape& s : split_shapes) {
    run_split_case<float>(s.c, s.n, true, true, true, seed++);
    run_split_case<float>(s.c, s.n, false, true, true, seed++);
    run_split_case<float>(s.c, s.n, true, false, true, seed++);
    run_split_case<float>(s.c, s.n, true, true, false, seed++);
    run_split_case<double>(s.c, s.n, true, true, true, seed++);
  }
  // the selector: default chunked, set and restore, unknown refused
  dt::check_selector(deepspg_channel_attention_cuda_gram, "Gram kernel", DEEPSPG_CUDA_GRAM_CHUNKED,
                     DEEPSPG_CUDA_GRAM_BLOCKED, 7);
  return dt::finish("cuda_gram_sim_test");
}
