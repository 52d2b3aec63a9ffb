// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Internal: the register-blocked Gram sweep of the CUDA channel attention (its "blocked" variant, see
// deepspg_channel_attention_cuda_gram in kernels.h), written as the phases one thread runs between barriers, so that
// the same code runs in the CUDA kernel (channel_attention.cu) and in a host simulation of every thread of a block
// (tests/cuda_gram_sim_test.cpp), which checks the index arithmetic and the reduction order on a machine without a
// GPU. Plain C++ apart from the qualifier macro; no CUDA intrinsics.
//
// One block per (chunk of kChunk columns, batch*head). Per tile of `tn` columns:
//   load     all threads: rows [0, cp) x columns [0, tn) of a and b (b times gate when given) into shared memory,
//            coalesced (consecutive threads read consecutive columns); rows >= c and columns past the chunk are 0
//   compute  thread t < P*S owns pair block pb = t / S (kR x kR entries of the c x c product: row block pb / nb,
//            column block pb % nb) and column slice s = t % S (columns s, s + S, ...): kR + kR shared loads feed
//            kR*kR FMAs (the old kernel: 2 loads per FMA). Threads of pair blocks in block row 0 / column 0 also sum
//            the squares of their b / a rows (the row norms).
//   split    (the backward's first sweep, when dv or dgate is asked for) all threads: dv and dgate of the tile's
//            columns from the dO tile and A (SplitArgs), between the same barriers as compute (both only read tiles)
// After the last tile, each thread stores its accumulators (store), and thread t < c*c + 2c adds entry t's S slice
// sums in slice order, in double (reduce): one partial per chunk, in the old kernel's layout [c*c, then c norms of a,
// then c of b], which chunk_sum_kernel adds up. Deterministic: fixed owners and orders throughout.
#pragma once

#include <cstdint>

#include "host_device.h"

namespace deepspg::ops::gram_tiles {

constexpr int kThreads = 256;
constexpr int kR = 4;                  // pair block: kR x kR accumulators per thread
constexpr int kSlots = kR * kR + 2 * kR;  // per thread: the block's products, kR norms of a, kR of b
constexpr int64_t kChunk = 256;        // columns per block (one partial per chunk)

/** Per-thread accumulators (registers on the GPU). */
template <typename T>
struct Acc {
  T p[kR][kR];
  T na[kR];
  T nb[kR];
};

/** Launch geometry for head width c (1..64) and element type T, the same on host and device. */
struct Layout {
  int c;       // head width
  int cp;      // c rounded up to kR (rows c..cp-1 of the tiles are 0)
  int nb;      // pair blocks per side: cp / kR
  int pairs;   // pair blocks: nb * nb (P)
  int slices;  // column slices per pair block: kThreads / P, at least 1 (S)
  int tn;      // columns per shared-memory tile
  int ld;      // tile row stride: tn + 1 (rows one bank apart)

  template <typename T>
  DEEPSPG_HD static Layout make(int c) {
    Layout L;
    L.c = c;
    L.cp = (c + kR - 1) / kR * kR;
    L.nb = L.cp / kR;
    L.pairs = L.nb * L.nb;
    L.slices = L.pairs >= kThreads ? 1 : kThreads / L.pairs;
    // two [cp, tn + 1] tiles: at most 2 * 64 * 65 * 4 = 33 KB (float, c > 32) and 2 * 32 * 129 * 4 = 33 KB (float,
    // c <= 32); double tiles are half as wide
    const int wide = c <= 32 ? 128 : 64;
    L.tn = sizeof(T) == 4 ? wide : wide / 2;
    L.ld = L.tn + 1;
    return L;
  }
  /** Elements of T in shared memory: the two tiles, or the slice sums of store(), whichever is larger. */
  DEEPSPG_HD int64_t smem_elems() const {
    const int64_t tiles = 2 * static_cast<int64_t>(cp) * ld, red = static_cast<int64_t>(kThreads) * kSlots;
    return tiles > red ? tiles : red;
  }
};

/** Chunks (blocks, partials) per batch*head for n columns. */
DEEPSPG_HD int64_t num_chunks(int64_t n) { return (n + kChunk - 1) / kChunk; }

template <typename T>
DEEPSPG_HD void zero(Acc<T>& acc) {
  for (int i = 0; i < kR; ++i) {
    for (int j = 0; j < kR; ++j) acc.p[i][j] = 0;
    acc.na[i] = 0;
    acc.nb[i] = 0;
  }
}

/**
 * Thread tid's share of loading columns [col0, col0 + len) of rows [0, c) of a and b (row stride n, pointers at this
 * batch*head's row 0) into sa, sb ([cp, ld] each); len <= tn. Zero elsewhere in [cp, tn].
 */
template <typename T>
DEEPSPG_HD void load(const Layout& L, const T* a, const T* b, const T* gate, int64_t n, int64_t col0, int len, T* sa,
                     T* sb, int tid) {
  for (int e = tid; e < L.cp * L.tn; e += kThreads) {
    const int row = e / L.tn, k = e % L.tn;
    T va = 0, vb = 0;
    if (row < L.c && k < len) {
      const int64_t idx = static_cast<int64_t>(row) * n + col0 + k;
      va = a[idx];
      vb = b[idx];
      if (gate != nullptr) vb *= gate[idx];
    }
    sa[row * L.ld + k] = va;
    sb[row * L.ld + k] = vb;
  }
}

/** Thread tid's products over the len columns of the tiles (and the row norms when `norms`). */
template <typename T>
DEEPSPG_HD void compute(const Layout& L, const T* sa, const T* sb, int len, bool norms, Acc<T>& acc, int tid) {
  if (tid >= L.pairs * L.slices) return;
  const int pb = tid / L.slices, s = tid % L.slices;
  const int bi = pb / L.nb, bj = pb % L.nb;
  const T* ra = sa + bi * kR * L.ld;
  const T* rb = sb + bj * kR * L.ld;
  const bool norm_a = norms && bj == 0, norm_b = norms && bi == 0;
  for (int k = s; k < len; k += L.slices) {
    T va[kR], vb[kR];
    for (int r = 0; r < kR; ++r) {
      va[r] = ra[r * L.ld + k];
      vb[r] = rb[r * L.ld + k];
    }
    for (int r = 0; r < kR; ++r)
      for (int q = 0; q < kR; ++q) acc.p[r][q] += va[r] * vb[q];
    if (norm_a)
      for (int r = 0; r < kR; ++r) acc.na[r] += va[r] * va[r];
    if (norm_b)
      for (int q = 0; q < kR; ++q) acc.nb[q] += vb[q] * vb[q];
  }
}

/**
 * The backward's dV' = A^T dO over one tile (batch*head pointers at row 0, column 0; A its [c, c] attention matrix):
 * with a gate, dv = dV' .* gate and dgate = dV' .* v (v and gate read again from global memory, where this block has
 * just read them: the tile holds only their product); without one, dv = dV'. dv or dgate may be null.
 */
template <typename T>
struct SplitArgs {
  const T* A;
  const T* v;
  const T* gate;
  T* dv;
  T* dgate;
};

/**
 * Thread tid's share of the split over the tile's len columns starting at column col0: output (j, k) for
 * e = j * tn + k = tid, tid + kThreads, ... (consecutive threads: consecutive columns of one row, coalesced stores),
 * summed over i in order from the dO tile sa, as the chunked kernels' backward_apply_kernel does.
 */
template <typename T>
DEEPSPG_HD void split(const Layout& L, const T* sa, const SplitArgs<T>& sp, int64_t n, int64_t col0, int len,
                      int tid) {
  for (int e = tid; e < L.c * L.tn; e += kThreads) {
    const int j = e / L.tn, k = e % L.tn;
    if (k >= len) continue;
    T acc = 0;
    for (int i = 0; i < L.c; ++i) acc += sp.A[i * L.c + j] * sa[i * L.ld + k];
    const int64_t idx = static_cast<int64_t>(j) * n + col0 + k;
    if (sp.gate == nullptr) {
      if (sp.dv != nullptr) sp.dv[idx] = acc;
    } else {
      if (sp.dv != nullptr) sp.dv[idx] = acc * sp.gate[idx];
      if (sp.dgate != nullptr) sp.dgate[idx] = acc * sp.v[idx];
    }
  }
}

/** Thread tid's accumulators into red[tid * kSlots ...] (shared memory, after the last tile's barrier). */
template <typename T>
DEEPSPG_HD void store(const Acc<T>& acc, T* red, int tid) {
  T* o = red + static_cast<int64_t>(tid) * kSlots;
  for (int r = 0; r < kR; ++r)
    for (int q = 0; q < kR; ++q) o[r * kR + q] = acc.p[r][q];
  for (int r = 0; r < kR; ++r) {
    o[kR * kR + r] = acc.na[r];
    o[kR * kR + kR + r] = acc.nb[r];
  }
}

/**
 * Entries tid, tid + kThreads, ... of this chunk's partial ([c*c] products, then c norms of a and c of b when
 * `norms`): the S slice sums of the owning thread block, added in slice order in double.
 */
template <typename T>
DEEPSPG_HD void reduce(const Layout& L, const T* red, bool norms, T* partial, int tid) {
  const int cc = L.c * L.c, total = norms ? cc + 2 * L.c : cc;
  for (int p = tid; p < total; p += kThreads) {
    int pb, slot;
    if (p < cc) {
      const int i = p / L.c, j = p % L.c;
      pb = (i / kR) * L.nb + j / kR;
      slot = (i % kR) * kR + j % kR;
    } else if (p < cc + L.c) {  // norm of a's row i: kept by the blocks of column block 0
      const int i = p - cc;
      pb = (i / kR) * L.nb;
      slot = kR * kR + i % kR;
    } else {  // norm of b's row j: kept by the blocks of row block 0
      const int j = p - cc - L.c;
      pb = j / kR;
      slot = kR * kR + kR + j % kR;
    }
    double sum = 0;
    for (int s = 0; s < L.slices; ++s) sum += static_cast<double>(red[(pb * L.slices + s) * kSlots + slot]);
    partial[p] = static_cast<T>(sum);
  }
}

}  // namespace deepspg::ops::gram_tiles
