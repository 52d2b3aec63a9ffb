// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Helpers shared by the CUDA kernels: error plumbing, launch checks, deterministic block reduction.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "../common/common.h"

namespace deepspg::ops::detail {

inline int32_t cuda_fail(const char* fn, cudaError_t e) {
  return fail(DEEPSPG_ERR_CUDA, std::string(fn) + ": " + cudaGetErrorName(e) + ": " + cudaGetErrorString(e));
}

// Checks the launch that just happened (configuration errors surface here; execution errors at the next sync).
inline int32_t check_launch(const char* fn) {
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? ok() : cuda_fail(fn, e);
}

inline unsigned blocks_for(int64_t n, int threads) { return static_cast<unsigned>((n + threads - 1) / threads); }

// Sum of one double per thread over a block of blockDim.x (a power of two <= 1024), in a fixed tree order, so the
// result is deterministic. Every thread must call it. Returns the sum in thread 0.
__device__ inline double block_sum(double v, double* smem) {
  const int t = threadIdx.x;
  smem[t] = v;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
    if (t < stride) smem[t] += smem[t + stride];
    __syncthreads();
  }
  const double s = smem[0];
  __syncthreads();
  return s;
}

// Sums parts[0..count) in index order in a single block and writes *out (deterministic final reduction).
__global__ void ordered_sum_kernel(const double* parts, int64_t count, double scale, double* out);

}  // namespace deepspg::ops::detail
