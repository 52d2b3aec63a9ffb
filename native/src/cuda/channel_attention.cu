// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Fused channel ("transposed") attention, CUDA backend. Same math as src/cpu/channel_attention.cpp (spec
// ARCHITECTURE.md section 2.3):
//   forward   O = softmax_row(tau_h normalize_N(X) normalize_N(Y)^T) (V [.* F])     per (batch, head)
//   backward  dX, dY, dV (dF), dtau from dO and the saved c x c side data (G, A, r, s)
// Layout: contiguous [B, heads*c, N]; G, A [B, heads, c, c]; r, s [B, heads, c]. Dtypes float, double.
// Deterministic: each block reduces a fixed chunk of columns, chunk partials are summed in a fixed order by one block
// per (batch, head, entry), and every other output element is written by exactly one thread.
//
// Kernels (two sweeps each way, as the spec's traffic model counts: fwd 4 B d N elements, bwd 8 B d N):
//   gram_kernel         sweep 1: per chunk of columns, c x c dot products (+ row sums of squares) from
//                       shared-memory tiles of kTileN columns; one partial per chunk in the workspace
//   gram_blocked_kernel the same partials from 256-column chunks, 4 x 4 products per thread (gram_tiles.h); chosen by
//                       deepspg_channel_attention_cuda_gram, not the default until a GPU run has checked and timed it
//   chunk_sum_kernel    one block per (b, h, entry): the chunk partials added up (fixed strided subsets + tree)
//   forward_finalize    one block per (b, h): norms, G, softmax -> A
//   apply_kernel        sweep 2: one thread per column n, the column of V' kept in registers, O[:, n] = A V'[:, n]
//   backward_finalize   dZ, dG, rho, kappa -> coefficient matrices, per-(b, h) dtau partials
//   backward_apply      sweep 2: one thread per column: dx, dy, dv (dgate)
//   dtau_kernel         sums the dtau partials over the batch in order
#include <algorithm>
#include <cmath>

#include "cuda_common.cuh"
#include "gram_tiles.h"

namespace deepspg::ops {
namespace {

// ---------------------------------------------------------------------------------------------------------------
// launch geometry

constexpr int kThreads = 256;
// Columns per shared-memory tile: a [c, kTileN] tile of X and of Y for c = 64 in float takes 2*64*65*4 = 33 KB
// (row stride padded by one element to avoid bank conflicts between rows). Double uses half as many columns.
template <typename T>
constexpr int tile_n() {
  return sizeof(T) == 4 ? 64 : 32;
}
// Columns per block in sweep 1. N = 65,536 (256x256) gives 64 chunks per (batch, head), enough blocks for an H100's
// 132 SMs at batch 4, while the chunk partials (c^2 + 2c values each) stay ~1% of the input traffic; chunk_sum_kernel
// adds them up with one block per entry, so large N (2,025 chunks at 1920x1080) costs no serial sum.
constexpr int64_t kChunk = detail::kCudaAttentionChunk;
static_assert(gram_tiles::kChunk == detail::kCudaAttentionBlockedChunk, "the workspace holds one partial per chunk");
// Largest number of (i, j) products one thread owns in sweep 1: (64*64 + 2*64) / 256 rounded up.
constexpr int kMaxPairsPerThread = (64 * 64 + 2 * 64 + kThreads - 1) / kThreads;

inline int64_t num_chunks(int64_t n) { return (n + kChunk - 1) / kChunk; }

template <typename T>
struct Workspace {
  T* partial;    // [bh, chunks, c*c + 2c]
  double* sums;  // [bh, c*c + 2c]: the chunk partials added up (chunk_sum_kernel)
  T* coef;       // backward: [bh, c*c] (dG_ij / (r_i s_j))
  T* diag;       // backward: [bh, 2c] (-rho/r^2, -kappa/s^2)
  double* dtau;  // backward: [bh]
};

// Same layout as detail::attention_workspace_bytes.
template <typename T>
Workspace<T> carve(void* ws, int64_t bh, int64_t c, int64_t n) {
  const int64_t part = c * c + 2 * c, elem = sizeof(T);
  char* p = static_cast<char*>(ws);
  Workspace<T> w{};
  w.dtau = reinterpret_cast<double*>(p);
  p += detail::round_up_256(bh * 8);
  w.partial = reinterpret_cast<T*>(p);
  p += detail::round_up_256(bh * num_chunks(n) * part * elem);
  w.sums = reinterpret_cast<double*>(p);
  p += detail::round_up_256(bh * part * 8);
  w.coef = reinterpret_cast<T*>(p);
  p += detail::round_up_256(bh * c * c * elem);
  w.diag = reinterpret_cast<T*>(p);
  return w;
}

// ---------------------------------------------------------------------------------------------------------------
// sweep 1: Gram partials. a = X (or dO), b = Y (or V, times gate if given). with_norms adds sum(a^2), sum(b^2).

template <typename T>
__global__ void gram_kernel(const T* __restrict__ a, const T* __restrict__ b, const T* __restrict__ gate, int64_t c,
                            int64_t n, bool with_norms, T* __restrict__ partial) {
  constexpr int TN = tile_n<T>();
  extern __shared__ unsigned char smem_raw[];
  T* sa = reinterpret_cast<T*>(smem_raw);  // [c, TN + 1]
  T* sb = sa + c * (TN + 1);               // [c, TN + 1]
  const int64_t g = blockIdx.y, chunk = blockIdx.x, chunks = gridDim.x;
  const int64_t base = g * c * n, col0 = chunk * kChunk, col1 = min(n, col0 + kChunk);
  const int64_t cc = c * c, total = with_norms ? cc + 2 * c : cc;

  T acc[kMaxPairsPerThread];
#pragma unroll
  for (int q = 0; q < kMaxPairsPerThread; ++q) acc[q] = 0;

  for (int64_t t0 = col0; t0 < col1; t0 += TN) {
    const int len = static_cast<int>(min(static_cast<int64_t>(TN), col1 - t0));
    for (int e = threadIdx.x; e < c * TN; e += blockDim.x) {
      const int row = e / TN, k = e % TN;
      T va = 0, vb = 0;
      if (k < len) {
        const int64_t idx = base + row * n + t0 + k;
        va = a[idx];
        vb = b[idx];
        if (gate != nullptr) vb *= gate[idx];
      }
      sa[row * (TN + 1) + k] = va;
      sb[row * (TN + 1) + k] = vb;
    }
    __syncthreads();
#pragma unroll
    for (int q = 0; q < kMaxPairsPerThread; ++q) {
      const int64_t p = threadIdx.x + static_cast<int64_t>(q) * blockDim.x;
      if (p < total) {
        const T* ra;
        const T* rb;
        if (p < cc) {
          ra = sa + (p / c) * (TN + 1);
          rb = sb + (p % c) * (TN + 1);
        } else if (p < cc + c) {
          ra = rb = sa + (p - cc) * (TN + 1);
        } else {
          ra = rb = sb + (p - cc - c) * (TN + 1);
        }
        T s = 0;
        for (int k = 0; k < len; ++k) s += ra[k] * rb[k];
        acc[q] += s;
      }
    }
    __syncthreads();
  }
  T* out = partial + (g * chunks + chunk) * (cc + 2 * c);
#pragma unroll
  for (int q = 0; q < kMaxPairsPerThread; ++q) {
    const int64_t p = threadIdx.x + static_cast<int64_t>(q) * blockDim.x;
    if (p < total) out[p] = acc[q];
  }
}

// ---------------------------------------------------------------------------------------------------------------
// sweep 1, "blocked" variant (deepspg_channel_attention_cuda_gram): the phases of gram_tiles.h between barriers, one
// block per (chunk of gram_tiles::kChunk columns, batch*head). Same partial layout as gram_kernel.

// Split (the backward, asking for dv or dgate): also dv, dgate of each tile (gram_tiles::split), pointers of sp at the
// tensors' start like a and b. A template flag, so that the plain Gram keeps its smaller register count (47 against 75
// for float with ptxas 13.0, sm_90: 5 against 3 blocks of 256 threads per SM; asking for 4 blocks with the
// split made ptxas spill). Occupancy is for the first GPU run to tune.
template <typename T, bool Split>
__global__ void __launch_bounds__(gram_tiles::kThreads)
    gram_blocked_kernel(const T* __restrict__ a, const T* __restrict__ b, const T* __restrict__ gate, int c,
                        int64_t n, bool with_norms, T* __restrict__ partial, gram_tiles::SplitArgs<T> sp) {
  namespace gt = gram_tiles;
  extern __shared__ unsigned char smem_raw[];
  const gt::Layout L = gt::Layout::make<T>(c);
  T* sa = reinterpret_cast<T*>(smem_raw);  // [cp, ld]
  T* sb = sa + L.cp * L.ld;                // [cp, ld]
  const int64_t g = blockIdx.y, chunk = blockIdx.x, chunks = gridDim.x;
  const int64_t base = g * c * n, col0 = chunk * gt::kChunk, col1 = min(n, col0 + gt::kChunk);
  const int tid = threadIdx.x;
  if (Split) {  // this batch*head's A and rows
    sp.A += g * c * c;
    sp.v += base;
    if (sp.gate != nullptr) sp.gate += base;
    if (sp.dv != nullptr) sp.dv += base;
    if (sp.dgate != nullptr) sp.dgate += base;
  }
  gt::Acc<T> acc;
  gt::zero(acc);
  for (int64_t t0 = col0; t0 < col1; t0 += L.tn) {
    const int len = static_cast<int>(min(static_cast<int64_t>(L.tn), col1 - t0));
    gt::load(L, a + base, b + base, gate != nullptr ? gate + base : nullptr, n, t0, len, sa, sb, tid);
    __syncthreads();
    gt::compute(L, sa, sb, len, with_norms, acc, tid);
    if (Split) gt::split(L, sa, sp, n, t0, len, tid);
    __syncthreads();
  }
  T* red = sa;  // the tiles are no longer read
  gt::store(acc, red, tid);
  __syncthreads();
  gt::reduce(L, red, with_norms, partial + (g * chunks + chunk) * (static_cast<int64_t>(c) * c + 2 * c), tid);
}

// Launches sweep 1 on `variant` (deepspg_channel_attention_cuda_gram, read once per call by the caller, so that its
// later launches agree with this one); returns the chunks per batch*head (the partials chunk_sum_kernel adds up).
// sp: the blocked kernel's split (sp.A null: none); the chunked kernel never splits (its backward_apply_kernel
// computes dv and dgate).
template <typename T>
int64_t launch_gram(int32_t variant, const T* a, const T* b, const T* gate, int64_t c, int64_t n, bool with_norms,
                    int64_t bh, T* partial, gram_tiles::SplitArgs<T> sp, cudaStream_t stream) {
  if (variant == DEEPSPG_CUDA_GRAM_BLOCKED) {
    const gram_tiles::Layout L = gram_tiles::Layout::make<T>(static_cast<int>(c));
    const int64_t chunks = gram_tiles::num_chunks(n);
    const dim3 grid(static_cast<unsigned>(chunks), static_cast<unsigned>(bh));
    const size_t shm = L.smem_elems() * sizeof(T);
    if (sp.A != nullptr) {
      gram_blocked_kernel<T, true><<<grid, gram_tiles::kThreads, shm, stream>>>(a, b, gate, static_cast<int>(c), n,
                                                                                 with_norms, partial, sp);
    } else {
      gram_blocked_kernel<T, false><<<grid, gram_tiles::kThreads, shm, stream>>>(a, b, gate, static_cast<int>(c), n,
                                                                                  with_norms, partial, sp);
    }
    return chunks;
  }
  const int64_t chunks = num_chunks(n);
  const size_t shm = 2 * c * (tile_n<T>() + 1) * sizeof(T);
  gram_kernel<T><<<dim3(static_cast<unsigned>(chunks), static_cast<unsigned>(bh)), kThreads, shm, stream>>>(
      a, b, gate, c, n, with_norms, partial);
  return chunks;
}

// ---------------------------------------------------------------------------------------------------------------
// chunk sums: block (p, g) adds entry p of (batch, head) g's chunk partials; each thread a fixed strided subset of
// the chunks in double, then a fixed-order tree, so the result is deterministic. Many blocks instead of one per
// (b, h): at 1920x1080 that serial sum over 2,025 chunks made the forward slower than PyTorch's stock chain.

template <typename T>
__global__ void chunk_sum_kernel(const T* __restrict__ partial, int64_t chunks, int64_t part,
                                 double* __restrict__ sums) {
  __shared__ double smem[kThreads];
  const int64_t p = blockIdx.x, g = blockIdx.y;
  double acc = 0;
  for (int64_t k = threadIdx.x; k < chunks; k += blockDim.x) {
    acc += static_cast<double>(partial[(g * chunks + k) * part + p]);
  }
  const double s = detail::block_sum(acc, smem);
  if (threadIdx.x == 0) sums[g * part + p] = s;
}

// Threads for chunk_sum_kernel: a power of two (block_sum's tree) from 32 to kThreads, about one per chunk.
inline int chunk_sum_threads(int64_t chunks) {
  int t = 32;
  while (t < kThreads && t < chunks) t *= 2;
  return t;
}

// ---------------------------------------------------------------------------------------------------------------
// forward finalize: one block per (b, h)

template <typename T>
__global__ void forward_finalize_kernel(const double* __restrict__ sums, const T* __restrict__ tau,
                                        int64_t heads, int64_t c, T* __restrict__ G, T* __restrict__ A,
                                        T* __restrict__ r, T* __restrict__ s) {
  extern __shared__ double sum[];  // [c*c + 2c]
  const int64_t g = blockIdx.x, cc = c * c, part = cc + 2 * c;
  for (int64_t p = threadIdx.x; p < part; p += blockDim.x) sum[p] = sums[g * part + p];
  __syncthreads();
  const double eps = detail::kNormEps;
  for (int64_t i = threadIdx.x; i < c; i += blockDim.x) {
    r[g * c + i] = static_cast<T>(fmax(sqrt(sum[cc + i]), eps));
    s[g * c + i] = static_cast<T>(fmax(sqrt(sum[cc + c + i]), eps));
  }
  const double t = static_cast<double>(tau[g % heads]);
  for (int64_t i = threadIdx.x; i < c; i += blockDim.x) {
    const double ri = fmax(sqrt(sum[cc + i]), eps);
    double zmax = -INFINITY;
    for (int64_t j = 0; j < c; ++j) {
      const double gij = sum[i * c + j] / (ri * fmax(sqrt(sum[cc + c + j]), eps));
      G[g * cc + i * c + j] = static_cast<T>(gij);
      zmax = fmax(zmax, t * gij);
    }
    double tot = 0;
    for (int64_t j = 0; j < c; ++j) tot += exp(t * static_cast<double>(G[g * cc + i * c + j]) - zmax);
    for (int64_t j = 0; j < c; ++j)
      A[g * cc + i * c + j] = static_cast<T>(exp(t * static_cast<double>(G[g * cc + i * c + j]) - zmax) / tot);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// sweep 2 forward: O[:, n] = A V'[:, n], one thread per column, V' column in registers

template <typename T, int MAXC>
__global__ void apply_kernel(const T* __restrict__ A, const T* __restrict__ v, const T* __restrict__ gate, int64_t c,
                             int64_t n, T* __restrict__ out) {
  __shared__ T sA[MAXC * MAXC];
  const int64_t g = blockIdx.y;
  for (int64_t e = threadIdx.x; e < c * c; e += blockDim.x) sA[e] = A[g * c * c + e];
  __syncthreads();
  const int64_t col = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (col >= n) return;
  const int64_t base = g * c * n + col;
  T vc[MAXC];
#pragma unroll
  for (int j = 0; j < MAXC; ++j) {
    vc[j] = 0;
    if (j < c) vc[j] = gate ? v[base + j * n] * gate[base + j * n] : v[base + j * n];
  }
  for (int64_t i = 0; i < c; ++i) {
    T o = 0;
#pragma unroll
    for (int j = 0; j < MAXC; ++j)
      if (j < c) o += sA[i * c + j] * vc[j];
    out[base + i * n] = o;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// backward finalize: one block per (b, h); thread i handles row i of dZ and column i for kappa

template <typename T>
__global__ void backward_finalize_kernel(const double* __restrict__ sums, const T* __restrict__ tau,
                                         int64_t heads, int64_t c, const T* __restrict__ G, const T* __restrict__ A,
                                         const T* __restrict__ r, const T* __restrict__ s, T* __restrict__ coef,
                                         T* __restrict__ diag, double* __restrict__ dtau_part) {
  extern __shared__ double sh[];  // dA / dG [c*c], then per-row dtau [c]
  double* dG = sh;
  double* rowdtau = sh + c * c;
  const int64_t g = blockIdx.x, cc = c * c, part = cc + 2 * c;
  for (int64_t p = threadIdx.x; p < cc; p += blockDim.x) dG[p] = sums[g * part + p];  // dA for now
  __syncthreads();
  const double t = static_cast<double>(tau[g % heads]);
  const T* Ag = A + g * cc;
  const T* Gg = G + g * cc;
  for (int64_t i = threadIdx.x; i < c; i += blockDim.x) {
    double dot = 0;
    for (int64_t j = 0; j < c; ++j) dot += static_cast<double>(Ag[i * c + j]) * dG[i * c + j];
    double dt = 0;
    for (int64_t j = 0; j < c; ++j) {
      const double dz = static_cast<double>(Ag[i * c + j]) * (dG[i * c + j] - dot);
      dt += dz * static_cast<double>(Gg[i * c + j]);
      dG[i * c + j] = t * dz;  // row i is owned by this thread
    }
    rowdtau[i] = dt;
  }
  __syncthreads();
  const double eps = detail::kNormEps;
  for (int64_t i = threadIdx.x; i < c; i += blockDim.x) {
    double rho = 0, kappa = 0;
    for (int64_t j = 0; j < c; ++j) {
      rho += dG[i * c + j] * static_cast<double>(Gg[i * c + j]);
      kappa += dG[j * c + i] * static_cast<double>(Gg[j * c + i]);
    }
    const double ri = static_cast<double>(r[g * c + i]), si = static_cast<double>(s[g * c + i]);
    diag[g * 2 * c + i] = static_cast<T>(ri > eps ? -rho / (ri * ri) : 0.0);
    diag[g * 2 * c + c + i] = static_cast<T>(si > eps ? -kappa / (si * si) : 0.0);
    for (int64_t j = 0; j < c; ++j)
      coef[g * cc + i * c + j] = static_cast<T>(dG[i * c + j] / (ri * static_cast<double>(s[g * c + j])));
  }
  if (threadIdx.x == 0) {
    double acc = 0;
    for (int64_t i = 0; i < c; ++i) acc += rowdtau[i];
    dtau_part[g] = acc;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// sweep 2 backward: one thread per column

template <typename T, int MAXC>
__global__ void backward_apply_kernel(const T* __restrict__ dout, const T* __restrict__ x, const T* __restrict__ y,
                                      const T* __restrict__ v, const T* __restrict__ gate, const T* __restrict__ A,
                                      const T* __restrict__ coef, const T* __restrict__ diag, int64_t c, int64_t n,
                                      T* __restrict__ dx, T* __restrict__ dy, T* __restrict__ dv,
                                      T* __restrict__ dgate) {
  // Dynamic shared memory [c*c] coefficients, [c*c] A, [2c] diagonals: up to 66 KB for c = 64 in double, above the
  // 48 KB default, so the launcher raises the kernel's limit when needed.
  extern __shared__ unsigned char smem_raw[];
  const int64_t g = blockIdx.y, cc = c * c;
  T* sM = reinterpret_cast<T*>(smem_raw);
  T* sA = sM + cc;
  T* sD = sA + cc;
  for (int64_t e = threadIdx.x; e < cc; e += blockDim.x) {
    sM[e] = coef[g * cc + e];
    sA[e] = A[g * cc + e];
  }
  for (int64_t e = threadIdx.x; e < 2 * c; e += blockDim.x) sD[e] = diag[g * 2 * c + e];
  __syncthreads();
  const int64_t col = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (col >= n) return;
  const int64_t base = g * c * n + col;
  T xc[MAXC], yc[MAXC];
#pragma unroll
  for (int j = 0; j < MAXC; ++j) {
    xc[j] = j < c ? x[base + j * n] : T(0);
    yc[j] = j < c ? y[base + j * n] : T(0);
  }
  if (dx != nullptr) {
    for (int64_t i = 0; i < c; ++i) {
      T acc = 0;
#pragma unroll
      for (int j = 0; j < MAXC; ++j)
        if (j < c) acc += sM[i * c + j] * yc[j];
      T xi = 0;
#pragma unroll
      for (int j = 0; j < MAXC; ++j)
        if (j == i) xi = xc[j];
      dx[base + i * n] = acc + sD[i] * xi;
    }
  }
  if (dy != nullptr) {
    for (int64_t j = 0; j < c; ++j) {
      T acc = 0;
#pragma unroll
      for (int i = 0; i < MAXC; ++i)
        if (i < c) acc += sM[i * c + j] * xc[i];
      T yj = 0;
#pragma unroll
      for (int i = 0; i < MAXC; ++i)
        if (i == j) yj = yc[i];
      dy[base + j * n] = acc + sD[c + j] * yj;
    }
  }
  if (dv != nullptr || dgate != nullptr) {
    // reuse xc for the dO column
#pragma unroll
    for (int i = 0; i < MAXC; ++i) xc[i] = i < c ? dout[base + i * n] : T(0);
    for (int64_t j = 0; j < c; ++j) {
      T acc = 0;
#pragma unroll
      for (int i = 0; i < MAXC; ++i)
        if (i < c) acc += sA[i * c + j] * xc[i];
      const int64_t idx = base + j * n;
      if (gate == nullptr) {
        if (dv) dv[idx] = acc;
      } else {
        if (dv) dv[idx] = acc * gate[idx];
        if (dgate) dgate[idx] = acc * v[idx];
      }
    }
  }
}

template <typename T>
__global__ void dtau_kernel(const double* __restrict__ part, int64_t batch, int64_t heads, T* __restrict__ dtau) {
  const int64_t h = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (h >= heads) return;
  double acc = 0;
  for (int64_t b = 0; b < batch; ++b) acc += part[b * heads + h];
  dtau[h] = static_cast<T>(acc);
}

// ---------------------------------------------------------------------------------------------------------------
// launchers

template <typename T, typename F>
void dispatch_maxc(int64_t c, F&& f) {
  if (c <= 16)
    f(std::integral_constant<int, 16>{});
  else if (c <= 32)
    f(std::integral_constant<int, 32>{});
  else
    f(std::integral_constant<int, 64>{});
}

template <typename T>
int32_t forward_cuda(const char* fn, const T* x, const T* y, const T* v, const T* gate, const T* tau, int64_t batch,
                     int64_t heads, int64_t c, int64_t n, T* out, T* G, T* A, T* r, T* s, void* ws, void* stream_) {
  if (int32_t st = detail::check_attention_sizes(fn, batch, heads, c, n)) return st;
  DEEPSPG_CHECK_PTR(fn, x);
  DEEPSPG_CHECK_PTR(fn, y);
  DEEPSPG_CHECK_PTR(fn, v);
  DEEPSPG_CHECK_PTR(fn, tau);
  DEEPSPG_CHECK_PTR(fn, out);
  DEEPSPG_CHECK_PTR(fn, ws);
  const int64_t bh = batch * heads;
  if (bh == 0) return detail::ok();
  if (bh > 65535) return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": batch*heads > 65535");
  auto stream = static_cast<cudaStream_t>(stream_);
  Workspace<T> w = carve<T>(ws, bh, c, n);
  const int64_t chunks =
      launch_gram<T>(detail::cuda_gram_variant(), x, y, nullptr, c, n, true, bh, w.partial, {}, stream);
  if (int32_t st = detail::check_launch(fn)) return st;
  const int64_t part = c * c + 2 * c;
  chunk_sum_kernel<T><<<dim3(static_cast<unsigned>(part), static_cast<unsigned>(bh)), chunk_sum_threads(chunks), 0,
                        stream>>>(w.partial, chunks, part, w.sums);
  if (int32_t st = detail::check_launch(fn)) return st;
  forward_finalize_kernel<T><<<static_cast<unsigned>(bh), 64, (c * c + 2 * c) * sizeof(double), stream>>>(
      w.sums, tau, heads, c, G, A, r, s);
  if (int32_t st = detail::check_launch(fn)) return st;
  dispatch_maxc<T>(c, [&](auto mc) {
    constexpr int MAXC = decltype(mc)::value;
    apply_kernel<T, MAXC><<<dim3(detail::blocks_for(n, 128), static_cast<unsigned>(bh)), 128, 0, stream>>>(
        A, v, gate, c, n, out);
  });
  return detail::check_launch(fn);
}

template <typename T>
int32_t launch_dtau(const char* fn, const double* part, int64_t batch, int64_t heads, T* dtau, cudaStream_t stream) {
  dtau_kernel<T><<<detail::blocks_for(heads, 64), 64, 0, stream>>>(part, batch, heads, dtau);
  return detail::check_launch(fn);
}

template <typename T>
int32_t backward_cuda(const char* fn, const T* dout, const T* x, const T* y, const T* v, const T* gate, const T* tau,
                      const T* G, const T* A, const T* r, const T* s, int64_t batch, int64_t heads, int64_t c,
                      int64_t n, T* dx, T* dy, T* dv, T* dgate, T* dtau, void* ws, void* stream_) {
  if (int32_t st = detail::check_attention_sizes(fn, batch, heads, c, n)) return st;
  DEEPSPG_CHECK_PTR(fn, dout);
  DEEPSPG_CHECK_PTR(fn, x);
  DEEPSPG_CHECK_PTR(fn, y);
  DEEPSPG_CHECK_PTR(fn, v);
  DEEPSPG_CHECK_PTR(fn, tau);
  DEEPSPG_CHECK_PTR(fn, ws);
  const int64_t bh = batch * heads;
  auto stream = static_cast<cudaStream_t>(stream_);
  if (bh == 0) {
    if (dtau) {
      cudaError_t e = cudaMemsetAsync(dtau, 0, heads * sizeof(T), stream);
      if (e != cudaSuccess) return detail::cuda_fail(fn, e);
    }
    return detail::ok();
  }
  if (bh > 65535) return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": batch*heads > 65535");
  Workspace<T> w = carve<T>(ws, bh, c, n);
  // the blocked kernel computes dv and dgate in this sweep, while dO, v and the gate are on chip; the chunked one in
  // backward_apply_kernel, which then reads them a second time
  const int32_t variant = detail::cuda_gram_variant();
  const bool split = variant == DEEPSPG_CUDA_GRAM_BLOCKED && (dv != nullptr || dgate != nullptr);
  const gram_tiles::SplitArgs<T> sp =
      split ? gram_tiles::SplitArgs<T>{A, v, gate, dv, gate != nullptr ? dgate : nullptr} : gram_tiles::SplitArgs<T>{};
  const int64_t chunks = launch_gram<T>(variant, dout, v, gate, c, n, false, bh, w.partial, sp, stream);
  if (int32_t st = detail::check_launch(fn)) return st;
  chunk_sum_kernel<T><<<dim3(static_cast<unsigned>(c * c), static_cast<unsigned>(bh)), chunk_sum_threads(chunks), 0,
                        stream>>>(w.partial, chunks, c * c + 2 * c, w.sums);
  if (int32_t st = detail::check_launch(fn)) return st;
  backward_finalize_kernel<T><<<static_cast<unsigned>(bh), 64, (c * c + c) * sizeof(double), stream>>>(
      w.sums, tau, heads, c, G, A, r, s, w.coef, w.diag, w.dtau);
  if (int32_t st = detail::check_launch(fn)) return st;
  if (dx == nullptr && dy == nullptr && (split || (dv == nullptr && (gate == nullptr || dgate == nullptr)))) {
    return dtau != nullptr ? launch_dtau(fn, w.dtau, batch, heads, dtau, stream) : detail::ok();
  }
  const size_t shm2 = (2 * c * c + 2 * c) * sizeof(T);
  cudaError_t attr = cudaSuccess;
  dispatch_maxc<T>(c, [&](auto mc) {
    constexpr int MAXC = decltype(mc)::value;
    if (shm2 > 48 * 1024)
      attr = cudaFuncSetAttribute(backward_apply_kernel<T, MAXC>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                  static_cast<int>(shm2));
    if (attr != cudaSuccess) return;
    backward_apply_kernel<T, MAXC><<<dim3(detail::blocks_for(n, 128), static_cast<unsigned>(bh)), 128, shm2, stream>>>(
        dout, x, y, v, gate, A, w.coef, w.diag, c, n, dx, dy, split ? nullptr : dv,
        split || gate == nullptr ? nullptr : dgate);
  });
  if (attr != cudaSuccess) return detail::cuda_fail(fn, attr);
  if (int32_t st = detail::check_launch(fn)) return st;
  return dtau != nullptr ? launch_dtau(fn, w.dtau, batch, heads, dtau, stream) : detail::ok();
}

}  // namespace

}  // namespace deepspg::ops

// ---------------------------------------------------------------------------------------------------------------
// C ABI

extern "C" {

int32_t deepspg_channel_attention_forward_cuda_f32(const float* x, const float* y, const float* v, const float* gate,
                                                   const float* tau, int64_t batch, int64_t heads, int64_t c,
                                                   int64_t n, float* out, float* G, float* A, float* r, float* s,
                                                   void* workspace, void* stream) {
  return deepspg::ops::forward_cuda(__func__, x, y, v, gate, tau, batch, heads, c, n, out, G, A, r, s, workspace,
                                    stream);
}
int32_t deepspg_channel_attention_forward_cuda_f64(const double* x, const double* y, const double* v,
                                                   const double* gate, const double* tau, int64_t batch, int64_t heads,
                                                   int64_t c, int64_t n, double* out, double* G, double* A, double* r,
                                                   double* s, void* workspace, void* stream) {
  return deepspg::ops::forward_cuda(__func__, x, y, v, gate, tau, batch, heads, c, n, out, G, A, r, s, workspace,
                                    stream);
}
int32_t deepspg_channel_attention_backward_cuda_f32(const float* dout, const float* x, const float* y, const float* v,
                                                    const float* gate, const float* tau, const float* G,
                                                    const float* A, const float* r, const float* s, int64_t batch,
                                                    int64_t heads, int64_t c, int64_t n, float* dx, float* dy,
                                                    float* dv, float* dgate, float* dtau, void* workspace,
                                                    void* stream) {
  return deepspg::ops::backward_cuda(__func__, dout, x, y, v, gate, tau, G, A, r, s, batch, heads, c, n, dx, dy, dv,
                                     dgate, dtau, workspace, stream);
}
int32_t deepspg_channel_attention_backward_cuda_f64(const double* dout, const double* x, const double* y,
                                                    const double* v, const double* gate, const double* tau,
                                                    const double* G, const double* A, const double* r, const double* s,
                                                    int64_t batch, int64_t heads, int64_t c, int64_t n, double* dx,
                                                    double* dy, double* dv, double* dgate, double* dtau,
                                                    void* workspace, void* stream) {
  return deepspg::ops::backward_cuda(__func__, dout, x, y, v, gate, tau, G, A, r, s, batch, heads, c, n, dx, dy, dv,
                                     dgate, dtau, workspace, stream);
}

}  // extern "C"
