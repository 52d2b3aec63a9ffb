// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Internal: DEEPSPG_HD marks the functions of the CUDA kernels' phase headers (gram_tiles.h, loss_tiles.h) that run
// both in the kernels and in their host simulations (tests/cuda_*_sim_test.cpp).
#pragma once

#if defined(__CUDACC__)
#define DEEPSPG_HD __host__ __device__ __forceinline__
#else
#define DEEPSPG_HD inline
#endif
