// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Channel LayerNorm of NCHW tensors, CUDA backend; same math as src/cpu/channel_layer_norm.cpp:
//   y = (x - mu) rstd gamma + beta per pixel over C;  dx = rstd (g - mean_c g - xhat mean_c(g xhat)), g = dy gamma;
//   dgamma_c = sum dy xhat, dbeta_c = sum dy.
// Layout [B, C, HW], float. Forward and dx: one thread per (b, pixel) walking the channels (neighbouring threads read
// neighbouring pixels, so every channel step is a coalesced row read). dgamma/dbeta: one block per (channel, batch
// item, chunk of kParamChunk pixels) sums its chunk in double (fixed strided subsets per thread, fixed-order tree)
// into the workspace, and one block per channel adds its chunks in index order, so the result is deterministic. (The
// first version ran one block per channel over all B*HW pixels: 20 blocks on a 132-SM H200 made the backward slower
// than PyTorch's stock chain; BENCHMARKS.md.)
#include <cmath>

#include "cuda_common.cuh"

namespace deepspg::ops {
namespace {

constexpr int kThreads = 256;

__global__ void ln_forward_kernel(const float* __restrict__ x, const float* __restrict__ gamma,
                                  const float* __restrict__ beta, int64_t batch, int64_t channels, int64_t hw,
                                  float eps, float* __restrict__ y, float* __restrict__ mean,
                                  float* __restrict__ rstd) {
  const int64_t q = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (q >= batch * hw) return;
  const int64_t b = q / hw, n = q % hw;
  const float* xb = x + b * channels * hw + n;
  float mu = 0.f;
  for (int64_t c = 0; c < channels; ++c) mu += xb[c * hw];
  mu /= static_cast<float>(channels);
  float var = 0.f;
  for (int64_t c = 0; c < channels; ++c) {
    const float d = xb[c * hw] - mu;
    var = fmaf(d, d, var);
  }
  const float rs = rsqrtf(var / static_cast<float>(channels) + eps);
  float* yb = y + b * channels * hw + n;
  for (int64_t c = 0; c < channels; ++c) yb[c * hw] = (xb[c * hw] - mu) * rs * gamma[c] + beta[c];
  if (mean != nullptr) mean[q] = mu;
  if (rstd != nullptr) rstd[q] = rs;
}

__global__ void ln_backward_input_kernel(const float* __restrict__ dy, const float* __restrict__ x,
                                         const float* __restrict__ gamma, const float* __restrict__ mean,
                                         const float* __restrict__ rstd, int64_t batch, int64_t channels, int64_t hw,
                                         float* __restrict__ dx) {
  const int64_t q = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (q >= batch * hw) return;
  const int64_t b = q / hw, n = q % hw;
  const float* xb = x + b * channels * hw + n;
  const float* db = dy + b * channels * hw + n;
  const float mu = mean[q], rs = rstd[q];
  float m1 = 0.f, m2 = 0.f;
  for (int64_t c = 0; c < channels; ++c) {
    const float g = db[c * hw] * gamma[c];
    m1 += g;
    m2 = fmaf(g, (xb[c * hw] - mu) * rs, m2);
  }
  m1 /= static_cast<float>(channels);
  m2 /= static_cast<float>(channels);
  float* ob = dx + b * channels * hw + n;
  for (int64_t c = 0; c < channels; ++c)
    ob[c * hw] = rs * (db[c * hw] * gamma[c] - m1 - (xb[c * hw] - mu) * rs * m2);
}

// Block (chunk, c): chunk = b * chunks_per_item + k covers pixels [k * kParamChunk, (k + 1) * kParamChunk) of batch
// item b. partial[(c * batch * chunks_per_item + chunk) * 2 + {0, 1}] = its sums of dy * xhat and dy.
__global__ void ln_backward_param_chunk_kernel(const float* __restrict__ dy, const float* __restrict__ x,
                                               const float* __restrict__ mean, const float* __restrict__ rstd,
                                               int64_t channels, int64_t hw, int64_t chunks_per_item,
                                               double* __restrict__ partial) {
  __shared__ double smem[kThreads];
  const int64_t chunk = blockIdx.x, c = blockIdx.y, chunks = gridDim.x;
  const int64_t b = chunk / chunks_per_item, n0 = (chunk % chunks_per_item) * detail::kCudaLnParamChunk;
  const int64_t n1 = n0 + detail::kCudaLnParamChunk < hw ? n0 + detail::kCudaLnParamChunk : hw;
  const float* dyc = dy + (b * channels + c) * hw;
  const float* xc = x + (b * channels + c) * hw;
  const float* mb = mean + b * hw;
  const float* rb = rstd + b * hw;
  double sg = 0, sb = 0;
  for (int64_t n = n0 + threadIdx.x; n < n1; n += blockDim.x) {
    const double d = dyc[n];
    sg += d * static_cast<double>((xc[n] - mb[n]) * rb[n]);
    sb += d;
  }
  sg = detail::block_sum(sg, smem);
  sb = detail::block_sum(sb, smem);
  if (threadIdx.x == 0) {
    partial[(c * chunks + chunk) * 2] = sg;
    partial[(c * chunks + chunk) * 2 + 1] = sb;
  }
}

// One block per channel: adds the channel's chunk sums in a fixed order.
__global__ void ln_backward_param_reduce_kernel(const double* __restrict__ partial, int64_t chunks,
                                                float* __restrict__ dgamma, float* __restrict__ dbeta) {
  __shared__ double smem[kThreads];
  const int64_t c = blockIdx.x;
  const double* pc = partial + c * chunks * 2;
  double sg = 0, sb = 0;
  for (int64_t k = threadIdx.x; k < chunks; k += blockDim.x) {
    sg += pc[k * 2];
    sb += pc[k * 2 + 1];
  }
  sg = detail::block_sum(sg, smem);
  sb = detail::block_sum(sb, smem);
  if (threadIdx.x == 0) {
    if (dgamma != nullptr) dgamma[c] = static_cast<float>(sg);
    if (dbeta != nullptr) dbeta[c] = static_cast<float>(sb);
  }
}

int32_t check(const char* fn, int64_t batch, int64_t channels, int64_t hw) {
  if (batch < 0 || channels < 1 || hw < 0)
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT,
                        std::string(fn) + ": need batch >= 0, channels >= 1, hw >= 0, got batch=" +
                            std::to_string(batch) + " channels=" + std::to_string(channels) +
                            " hw=" + std::to_string(hw));
  if (channels > 0x7fffffff)
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": too many channels for one grid");
  return DEEPSPG_OK;
}

}  // namespace
}  // namespace deepspg::ops

using namespace deepspg::ops;

extern "C" {

int32_t deepspg_channel_layernorm_forward_cuda_f32(const float* x, const float* gamma, const float* beta,
                                                   int64_t batch, int64_t channels, int64_t hw, double eps, float* y,
                                                   float* mean, float* rstd, void* stream) {
  if (int32_t st = check(__func__, batch, channels, hw)) return st;
  if (!(eps >= 0)) return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(__func__) + ": eps must be >= 0");
  if (batch * hw == 0) return detail::ok();
  DEEPSPG_CHECK_PTR(__func__, x);
  DEEPSPG_CHECK_PTR(__func__, gamma);
  DEEPSPG_CHECK_PTR(__func__, beta);
  DEEPSPG_CHECK_PTR(__func__, y);
  ln_forward_kernel<<<detail::blocks_for(batch * hw, kThreads), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      x, gamma, beta, batch, channels, hw, static_cast<float>(eps), y, mean, rstd);
  return detail::check_launch(__func__);
}

int32_t deepspg_channel_layernorm_backward_cuda_f32(const float* dy, const float* x, const float* gamma,
                                                    const float* mean, const float* rstd, int64_t batch,
                                                    int64_t channels, int64_t hw, float* dx, float* dgamma,
                                                    float* dbeta, void* workspace, void* stream) {
  if (int32_t st = check(__func__, batch, channels, hw)) return st;
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  const bool param_grads = dgamma != nullptr || dbeta != nullptr;
  if (batch * hw == 0) {
    for (float* p : {dgamma, dbeta}) {
      if (p == nullptr) continue;
      cudaError_t e = cudaMemsetAsync(p, 0, static_cast<size_t>(channels) * sizeof(float), s);
      if (e != cudaSuccess) return detail::cuda_fail(__func__, e);
    }
    return detail::ok();
  }
  if (dx == nullptr && !param_grads) return detail::ok();
  DEEPSPG_CHECK_PTR(__func__, dy);
  DEEPSPG_CHECK_PTR(__func__, x);
  DEEPSPG_CHECK_PTR(__func__, gamma);
  DEEPSPG_CHECK_PTR(__func__, mean);
  DEEPSPG_CHECK_PTR(__func__, rstd);
  if (param_grads) DEEPSPG_CHECK_PTR(__func__, workspace);
  if (dx != nullptr) {
    ln_backward_input_kernel<<<detail::blocks_for(batch * hw, kThreads), kThreads, 0, s>>>(dy, x, gamma, mean, rstd,
                                                                                            batch, channels, hw, dx);
    if (int32_t st = detail::check_launch(__func__)) return st;
  }
  if (param_grads) {
    const int64_t per_item = (hw + detail::kCudaLnParamChunk - 1) / detail::kCudaLnParamChunk;
    const int64_t chunks = batch * per_item;
    if (chunks > 0x7fffffff || channels > 65535)
      return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(__func__) + ": too large for one grid");
    double* partial = static_cast<double*>(workspace);
    const dim3 grid(static_cast<unsigned>(chunks), static_cast<unsigned>(channels));
    ln_backward_param_chunk_kernel<<<grid, kThreads, 0, s>>>(dy, x, mean, rstd, channels, hw, per_item, partial);
    if (int32_t st = detail::check_launch(__func__)) return st;
    ln_backward_param_reduce_kernel<<<static_cast<unsigned>(channels), kThreads, 0, s>>>(partial, chunks, dgamma,
                                                                                         dbeta);
    if (int32_t st = detail::check_launch(__func__)) return st;
  }
  return detail::ok();
}

}  // extern "C"
