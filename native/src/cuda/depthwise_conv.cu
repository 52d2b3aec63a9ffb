// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Depthwise 3x3 convolution (+ optional GELU), CUDA backend; same math as src/cpu/depthwise_conv.cpp:
//   forward   pre[y][x] = sum_{i,j} k[i][j] x[y+i-1][x+j-1];  y = pre or gelu(pre)
//   backward  g = dy (or dy * gelu'(pre));  dx[y][x] = sum_{i,j} k[i][j] g[y-i+1][x-j+1];
//             dk[c][i][j] = sum_{b,y,x} g[y][x] x[y+i-1][x+j-1]
// Layout [B, C, H, W] / weight [C, 1, 3, 3], float. Forward: one block per 32x16 output tile of a plane reads x
// with a one-pixel halo into shared memory once. Backward: one block per tile stages g (with GELU, dy * gelu'(pre),
// computed once per element instead of once per tap) and x, each with a one-pixel halo, in shared memory; from there
// it writes dx and this tile's nine dweight sums (warp shuffles, then the warps in order, in double) to the
// workspace; a second kernel adds each channel's tile sums in index order. Both orders are fixed, so dweight is
// deterministic. (The first version, one thread per element re-evaluating GELU' for all nine taps in dx and one
// block per channel for dweight, ran the backward 2.4x slower than PyTorch's cuDNN path on an H200; BENCHMARKS.md.)
// float GELU uses erff/expf (exact to ~1 ulp).
#include <cmath>

#include "cuda_common.cuh"

namespace deepspg::ops {
namespace {

constexpr int kThreads = 256;

__device__ inline float gelu_f(float v) { return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f)); }
__device__ inline float gelu_grad_f(float v) {
  return 0.5f * (1.0f + erff(v * 0.70710678118654752f)) + v * 0.39894228040143268f * expf(-0.5f * v * v);
}

constexpr int kTileW = static_cast<int>(detail::kCudaDwTileW), kTileH = static_cast<int>(detail::kCudaDwTileH);
constexpr int kRowsPerPass = 8;  // 32 x 8 threads, two output rows each
constexpr int kHaloW = kTileW + 2, kHaloH = kTileH + 2;

// The plane and output tile a block of the tiled kernels owns (blockIdx.x = plane * tiles + tile).
struct Tile {
  int64_t p, tile, row0, col0, base;  // plane b*C+c, tile index, first output row/column, plane offset
};
__device__ inline Tile block_tile(int64_t h, int64_t w, int64_t tiles_x, int64_t tiles) {
  Tile t;
  t.p = blockIdx.x / tiles;
  t.tile = blockIdx.x % tiles;
  t.row0 = (t.tile / tiles_x) * kTileH;
  t.col0 = (t.tile % tiles_x) * kTileW;
  t.base = t.p * h * w;
  return t;
}

// Forward: one block per (plane, 32x16 output tile) stages x with a one-pixel halo in shared memory (no per-element
// index division, each input read once from global memory), 32x8 threads with two output rows each.
template <bool kGelu>
__global__ void __launch_bounds__(kTileW* kRowsPerPass)
    dw_forward_tile_kernel(const float* __restrict__ x, const float* __restrict__ k, int64_t channels, int64_t h,
                           int64_t w, int64_t tiles_x, int64_t tiles, float* __restrict__ y,
                           float* __restrict__ pre) {
  __shared__ float xs[kHaloH][kHaloW];
  const int tx = threadIdx.x, ty = threadIdx.y, lane = ty * kTileW + tx;
  const Tile t = block_tile(h, w, tiles_x, tiles);
  for (int i = lane; i < kHaloH * kHaloW; i += kTileW * kRowsPerPass) {
    const int r = i / kHaloW, c = i % kHaloW;
    const int64_t gr = t.row0 + r - 1, gc = t.col0 + c - 1;
    xs[r][c] = gr >= 0 && gr < h && gc >= 0 && gc < w ? x[t.base + gr * w + gc] : 0.f;
  }
  const float* kc = k + (t.p % channels) * 9;
  float kr[9];
#pragma unroll
  for (int tap = 0; tap < 9; ++tap) kr[tap] = kc[tap];
  __syncthreads();
#pragma unroll
  for (int pass = 0; pass < kTileH / kRowsPerPass; ++pass) {
    const int r = ty + pass * kRowsPerPass;
    const int64_t gr = t.row0 + r, gc = t.col0 + tx;
    if (gr >= h || gc >= w) continue;
    float acc = 0.f;
#pragma unroll
    for (int i = 0; i < 3; ++i)
#pragma unroll
      for (int j = 0; j < 3; ++j) acc = fmaf(kr[i * 3 + j], xs[r + i][tx + j], acc);
    const int64_t e = t.base + gr * w + gc;
    if constexpr (kGelu) {
      if (pre != nullptr) pre[e] = acc;
      y[e] = gelu_f(acc);
    } else {
      y[e] = acc;
    }
  }
}

// Block = one (plane, tile). partial[((c * batch + b) * tiles + tile) * 9 + tap] = this tile's sum for dweight.
template <bool kGelu, bool kDx, bool kDw>
__global__ void __launch_bounds__(kTileW* kRowsPerPass)
    dw_backward_tile_kernel(const float* __restrict__ dy, const float* __restrict__ x, const float* __restrict__ k,
                            const float* __restrict__ pre, int64_t batch, int64_t channels, int64_t h, int64_t w,
                            int64_t tiles_x, int64_t tiles, float* __restrict__ dx, double* __restrict__ partial) {
  __shared__ float gs[kHaloH][kHaloW];
  __shared__ float xs[kDw ? kHaloH : 1][kDw ? kHaloW : 1];
  __shared__ double warp_sums[kRowsPerPass][9];
  const int tx = threadIdx.x, ty = threadIdx.y, lane = ty * kTileW + tx;
  const Tile t = block_tile(h, w, tiles_x, tiles);
  // Stage g (zero outside the image; its halo only feeds dx) and x (zero padding; only for dweight).
  for (int i = lane; i < kHaloH * kHaloW; i += kTileW * kRowsPerPass) {
    const int r = i / kHaloW, c = i % kHaloW;
    const int64_t gr = t.row0 + r - 1, gc = t.col0 + c - 1;
    const bool inside = gr >= 0 && gr < h && gc >= 0 && gc < w;
    const bool halo = r == 0 || r == kHaloH - 1 || c == 0 || c == kHaloW - 1;
    float g = 0.f;
    if (inside && (kDx || !halo)) {
      const int64_t off = t.base + gr * w + gc;
      g = dy[off];
      if constexpr (kGelu) g *= gelu_grad_f(pre[off]);
    }
    gs[r][c] = g;
    if constexpr (kDw) xs[r][c] = inside ? x[t.base + gr * w + gc] : 0.f;
  }
  __syncthreads();
  const float* kc = k + (t.p % channels) * 9;
  float acc[9] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
#pragma unroll
  for (int pass = 0; pass < kTileH / kRowsPerPass; ++pass) {
    const int r = ty + pass * kRowsPerPass;  // tile row; halo coordinates are (r + 1, tx + 1)
    const int64_t gr = t.row0 + r, gc = t.col0 + tx;
    if (gr >= h || gc >= w) continue;
    if constexpr (kDx) {
      // x[gr][gc] feeds out[gr - i + 1][gc - j + 1] through tap (i, j): halo row r - i + 2, column tx - j + 2.
      float a = 0.f;
#pragma unroll
      for (int i = 0; i < 3; ++i)
#pragma unroll
        for (int j = 0; j < 3; ++j) a = fmaf(kc[i * 3 + j], gs[r + 2 - i][tx + 2 - j], a);
      dx[t.base + gr * w + gc] = a;
    }
    if constexpr (kDw) {
      const float g = gs[r + 1][tx + 1];
#pragma unroll
      for (int i = 0; i < 3; ++i)
#pragma unroll
        for (int j = 0; j < 3; ++j) acc[i * 3 + j] = fmaf(g, xs[r + i][tx + j], acc[i * 3 + j]);
    }
  }
  if constexpr (kDw) {
#pragma unroll
    for (int tap = 0; tap < 9; ++tap) {
      double v = acc[tap];
#pragma unroll
      for (int off = kTileW / 2; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
      if (tx == 0) warp_sums[ty][tap] = v;
    }
    __syncthreads();
    if (ty == 0 && tx < 9) {
      double s = 0.0;
#pragma unroll
      for (int q = 0; q < kRowsPerPass; ++q) s += warp_sums[q][tx];
      const int64_t b = t.p / channels, c = t.p % channels;
      partial[((c * batch + b) * tiles + t.tile) * 9 + tx] = s;
    }
  }
}

// One block per channel: dk[c][tap] = sum of that channel's per-tile sums, each thread a fixed strided subset, then
// a fixed-order tree.
__global__ void dw_weight_reduce_kernel(const double* __restrict__ partial, int64_t per_channel,
                                        float* __restrict__ dk) {
  __shared__ double smem[kThreads];
  const int64_t c = blockIdx.x;
  const double* pc = partial + c * per_channel * 9;
  for (int t = 0; t < 9; ++t) {
    double v = 0.0;
    for (int64_t q = threadIdx.x; q < per_channel; q += blockDim.x) v += pc[q * 9 + t];
    const double s = detail::block_sum(v, smem);
    if (threadIdx.x == 0) dk[c * 9 + t] = static_cast<float>(s);
  }
}

template <bool kGelu>
void launch_backward_tiles(bool want_dx, bool want_dw, dim3 grid, cudaStream_t s, const float* dy, const float* x,
                           const float* k, const float* pre, int64_t batch, int64_t channels, int64_t h, int64_t w,
                           int64_t tiles_x, int64_t tiles, float* dx, double* partial) {
  const dim3 block(kTileW, kRowsPerPass);
  if (want_dx && want_dw) {
    dw_backward_tile_kernel<kGelu, true, true>
        <<<grid, block, 0, s>>>(dy, x, k, pre, batch, channels, h, w, tiles_x, tiles, dx, partial);
  } else if (want_dx) {
    dw_backward_tile_kernel<kGelu, true, false>
        <<<grid, block, 0, s>>>(dy, x, k, pre, batch, channels, h, w, tiles_x, tiles, dx, partial);
  } else {
    dw_backward_tile_kernel<kGelu, false, true>
        <<<grid, block, 0, s>>>(dy, x, k, pre, batch, channels, h, w, tiles_x, tiles, dx, partial);
  }
}

int32_t check(const char* fn, int64_t batch, int64_t channels, int64_t h, int64_t w, int32_t act) {
  if (batch < 0 || channels < 0 || h < 0 || w < 0)
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": negative size");
  if (act != DEEPSPG_ACT_NONE && act != DEEPSPG_ACT_GELU)
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": unknown activation " + std::to_string(act));
  if (channels > 0x7fffffff)
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": too many channels for one grid");
  return DEEPSPG_OK;
}

}  // namespace
}  // namespace deepspg::ops

using namespace deepspg::ops;

extern "C" {

int32_t deepspg_dwconv3x3_forward_cuda_f32(const float* x, const float* weight, int64_t batch, int64_t channels,
                                           int64_t h, int64_t w, int32_t act, float* y, float* pre, void* stream) {
  if (int32_t st = check(__func__, batch, channels, h, w, act)) return st;
  const int64_t total = batch * channels * h * w;
  if (total == 0) return detail::ok();
  DEEPSPG_CHECK_PTR(__func__, x);
  DEEPSPG_CHECK_PTR(__func__, weight);
  DEEPSPG_CHECK_PTR(__func__, y);
  const int64_t tiles_x = (w + kTileW - 1) / kTileW, tiles = detail::dw_tiles(h, w), blocks = batch * channels * tiles;
  if (blocks > 0x7fffffff)
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(__func__) + ": too many tiles for one grid");
  const dim3 grid(static_cast<unsigned>(blocks)), block(kTileW, kRowsPerPass);
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  if (act == DEEPSPG_ACT_GELU) {
    dw_forward_tile_kernel<true><<<grid, block, 0, s>>>(x, weight, channels, h, w, tiles_x, tiles, y, pre);
  } else {
    dw_forward_tile_kernel<false><<<grid, block, 0, s>>>(x, weight, channels, h, w, tiles_x, tiles, y, nullptr);
  }
  return detail::check_launch(__func__);
}

int32_t deepspg_dwconv3x3_backward_cuda_f32(const float* dy, const float* x, const float* weight, const float* pre,
                                            int64_t batch, int64_t channels, int64_t h, int64_t w, int32_t act,
                                            float* dx, float* dweight, void* workspace, void* stream) {
  if (int32_t st = check(__func__, batch, channels, h, w, act)) return st;
  const int64_t total = batch * channels * h * w;
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  if (dweight != nullptr && total == 0 && channels > 0) {
    cudaError_t e = cudaMemsetAsync(dweight, 0, static_cast<size_t>(channels) * 9 * sizeof(float), s);
    if (e != cudaSuccess) return detail::cuda_fail(__func__, e);
  }
  if (total == 0 || (dx == nullptr && dweight == nullptr)) return detail::ok();
  DEEPSPG_CHECK_PTR(__func__, dy);
  DEEPSPG_CHECK_PTR(__func__, weight);
  if (dweight != nullptr) {
    DEEPSPG_CHECK_PTR(__func__, x);
    DEEPSPG_CHECK_PTR(__func__, workspace);
  }
  if (act == DEEPSPG_ACT_GELU) DEEPSPG_CHECK_PTR(__func__, pre);
  const int64_t tiles_x = (w + kTileW - 1) / kTileW, tiles = detail::dw_tiles(h, w), blocks = batch * channels * tiles;
  if (blocks > 0x7fffffff)
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(__func__) + ": too many tiles for one grid");
  const dim3 grid(static_cast<unsigned>(blocks));
  double* partial = static_cast<double*>(workspace);
  if (act == DEEPSPG_ACT_GELU) {
    launch_backward_tiles<true>(dx != nullptr, dweight != nullptr, grid, s, dy, x, weight, pre, batch, channels, h, w,
                                tiles_x, tiles, dx, partial);
  } else {
    launch_backward_tiles<false>(dx != nullptr, dweight != nullptr, grid, s, dy, x, weight, pre, batch, channels, h,
                                 w, tiles_x, tiles, dx, partial);
  }
  if (int32_t st = detail::check_launch(__func__)) return st;
  if (dweight != nullptr) {
    dw_weight_reduce_kernel<<<static_cast<unsigned>(channels), kThreads, 0, s>>>(partial, batch * tiles, dweight);
    if (int32_t st = detail::check_launch(__func__)) return st;
  }
  return detail::ok();
}

}  // extern "C"
