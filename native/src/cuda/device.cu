// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Device queries and the shared ordered-sum kernel.
#include "cuda_common.cuh"

namespace deepspg::ops::detail {

int32_t cuda_device_count() {
  int n = 0;
  // Without a driver or GPU this reports an error; that simply means no device.
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error state of the runtime
    return 0;
  }
  return n;
}

const char* cuda_arch_list() { return DEEPSPG_CUDA_ARCHS; }

__global__ void ordered_sum_kernel(const double* parts, int64_t count, double scale, double* out) {
  __shared__ double smem[256];
  double acc = 0;
  // Thread t sums a fixed strided subset in index order; the tree below combines them in a fixed order.
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x) acc += parts[k];
  const double s = block_sum(acc, smem);
  if (threadIdx.x == 0) *out = s * scale;
}

}  // namespace deepspg::ops::detail
