// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Depthwise 3x3 convolution (+ optional GELU), CUDA backend; same math as src/cpu/depthwise_conv.cpp:
//   forward   pre[y][x] = sum_{i,j} k[i][j] x[y+i-1][x+j-1];  y = pre or gelu(pre)
//   backward  g = dy (or dy * gelu'(pre));  dx[y][x] = sum_{i,j} k[i][j] g[y-i+1][x-j+1];
//             dk[c][i][j] = sum_{b,y,x} g[y][x] x[y+i-1][x+j-1]
// Layout [B, C, H, W] / weight [C, 1, 3, 3], float. Forward and dx: one thread per element (the 3x3 neighbourhood
// comes from L1/L2). dweight: one block per channel; each thread sums a fixed strided subset of (b, y, x) in double,
// then a fixed-order tree reduction, so the result is deterministic. float GELU uses erff/expf (exact to ~1 ulp).
#include <cmath>

#include "cuda_common.cuh"

namespace deepspg::ops {
namespace {

constexpr int kThreads = 256;

__device__ inline float gelu_f(float v) { return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f)); }
__device__ inline float gelu_grad_f(float v) {
  return 0.5f * (1.0f + erff(v * 0.70710678118654752f)) + v * 0.39894228040143268f * expf(-0.5f * v * v);
}

__global__ void dw_forward_kernel(const float* __restrict__ x, const float* __restrict__ k, int64_t total,
                                  int64_t channels, int64_t h, int64_t w, int act, float* __restrict__ y,
                                  float* __restrict__ pre) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= total) return;
  const int64_t col = e % w, row = (e / w) % h, p = e / (h * w);
  const float* xp = x + p * h * w;
  const float* kc = k + (p % channels) * 9;
  float acc = 0.f;
#pragma unroll
  for (int i = 0; i < 3; ++i) {
    const int64_t r = row + i - 1;
    if (r < 0 || r >= h) continue;
#pragma unroll
    for (int j = 0; j < 3; ++j) {
      const int64_t c = col + j - 1;
      if (c < 0 || c >= w) continue;
      acc = fmaf(kc[i * 3 + j], xp[r * w + c], acc);
    }
  }
  if (act == DEEPSPG_ACT_GELU) {
    if (pre != nullptr) pre[e] = acc;
    y[e] = gelu_f(acc);
  } else {
    y[e] = acc;
  }
}

__device__ inline float upstream(const float* dy, const float* pre, int act, int64_t idx) {
  return act == DEEPSPG_ACT_GELU ? dy[idx] * gelu_grad_f(pre[idx]) : dy[idx];
}

__global__ void dw_backward_input_kernel(const float* __restrict__ dy, const float* __restrict__ pre,
                                         const float* __restrict__ k, int64_t total, int64_t channels, int64_t h,
                                         int64_t w, int act, float* __restrict__ dx) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= total) return;
  const int64_t col = e % w, row = (e / w) % h, p = e / (h * w);
  const int64_t base = p * h * w;
  const float* kc = k + (p % channels) * 9;
  float acc = 0.f;
#pragma unroll
  for (int i = 0; i < 3; ++i) {
    const int64_t r = row - i + 1;  // x[row][col] feeds out[r][c] through tap (i, j)
    if (r < 0 || r >= h) continue;
#pragma unroll
    for (int j = 0; j < 3; ++j) {
      const int64_t c = col - j + 1;
      if (c < 0 || c >= w) continue;
      acc = fmaf(kc[i * 3 + j], upstream(dy, pre, act, base + r * w + c), acc);
    }
  }
  dx[e] = acc;
}

// One block per channel: dk[c] = sum over (b, row, col) of g * shifted x.
__global__ void dw_backward_weight_kernel(const float* __restrict__ dy, const float* __restrict__ x,
                                          const float* __restrict__ pre, int64_t batch, int64_t channels, int64_t h,
                                          int64_t w, int act, float* __restrict__ dk) {
  __shared__ double smem[kThreads];
  const int64_t c = blockIdx.x, hw = h * w;
  double acc[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t q = threadIdx.x; q < batch * hw; q += blockDim.x) {
    const int64_t b = q / hw, n = q % hw, row = n / w, col = n % w;
    const int64_t base = (b * channels + c) * hw;
    const float g = upstream(dy, pre, act, base + n);
#pragma unroll
    for (int i = 0; i < 3; ++i) {
      const int64_t r = row + i - 1;
      if (r < 0 || r >= h) continue;
#pragma unroll
      for (int j = 0; j < 3; ++j) {
        const int64_t cc = col + j - 1;
        if (cc < 0 || cc >= w) continue;
        acc[i * 3 + j] += static_cast<double>(g) * static_cast<double>(x[base + r * w + cc]);
      }
    }
  }
#pragma unroll
  for (int t = 0; t < 9; ++t) {
    const double s = detail::block_sum(acc[t], smem);
    if (threadIdx.x == 0) dk[c * 9 + t] = static_cast<float>(s);
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
  dw_forward_kernel<<<detail::blocks_for(total, kThreads), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      x, weight, total, channels, h, w, act, y, act == DEEPSPG_ACT_GELU ? pre : nullptr);
  return detail::check_launch(__func__);
}

int32_t deepspg_dwconv3x3_backward_cuda_f32(const float* dy, const float* x, const float* weight, const float* pre,
                                            int64_t batch, int64_t channels, int64_t h, int64_t w, int32_t act,
                                            float* dx, float* dweight, void* stream) {
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
  if (dweight != nullptr) DEEPSPG_CHECK_PTR(__func__, x);
  if (act == DEEPSPG_ACT_GELU) DEEPSPG_CHECK_PTR(__func__, pre);
  if (dx != nullptr) {
    dw_backward_input_kernel<<<detail::blocks_for(total, kThreads), kThreads, 0, s>>>(dy, pre, weight, total, channels,
                                                                                       h, w, act, dx);
    if (int32_t st = detail::check_launch(__func__)) return st;
  }
  if (dweight != nullptr) {
    dw_backward_weight_kernel<<<static_cast<unsigned>(channels), kThreads, 0, s>>>(dy, x, pre, batch, channels, h, w,
                                                                                   act, dweight);
    if (int32_t st = detail::check_launch(__func__)) return st;
  }
  return detail::ok();
}

}  // extern "C"
