// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// The CUDA entry points of kernels.h for a build without a CUDA compiler: each reports DEEPSPG_ERR_NOT_COMPILED,
// so the C ABI (and the Java binding generated from it) is the same in every build.
#include <string>

#include "common.h"

#define DEEPSPG_STUB(name, ...)                                                                       \
  int32_t name(__VA_ARGS__) {                                                                         \
    return deepspg::ops::detail::fail(DEEPSPG_ERR_NOT_COMPILED,                                       \
                                      std::string(#name) + ": libdeepspg_kernels was built without CUDA"); \
  }

extern "C" {
DEEPSPG_STUB(deepspg_channel_attention_forward_cuda_f32, const float*, const float*, const float*, const float*,
             const float*, int64_t, int64_t, int64_t, int64_t, float*, float*, float*, float*, float*, void*, void*)
DEEPSPG_STUB(deepspg_channel_attention_forward_cuda_f64, const double*, const double*, const double*, const double*,
             const double*, int64_t, int64_t, int64_t, int64_t, double*, double*, double*, double*, double*, void*,
             void*)
DEEPSPG_STUB(deepspg_channel_attention_backward_cuda_f32, const float*, const float*, const float*, const float*,
             const float*, const float*, const float*, const float*, const float*, const float*, int64_t, int64_t,
             int64_t, int64_t, float*, float*, float*, float*, float*, void*, void*)
DEEPSPG_STUB(deepspg_channel_attention_backward_cuda_f64, const double*, const double*, const double*, const double*,
             const double*, const double*, const double*, const double*, const double*, const double*, int64_t,
             int64_t, int64_t, int64_t, double*, double*, double*, double*, double*, void*, void*)
DEEPSPG_STUB(deepspg_retinex_prior_forward_cuda_f32, const float*, int64_t, int64_t, int32_t, float*, void*)
DEEPSPG_STUB(deepspg_retinex_prior_backward_cuda_f32, const float*, const float*, int64_t, int64_t, int32_t, float*,
             void*)
DEEPSPG_STUB(deepspg_retinex_lightup_forward_cuda_f32, const float*, const float*, int64_t, float*, float*, void*)
DEEPSPG_STUB(deepspg_retinex_lightup_backward_cuda_f32, const float*, const float*, const float*, const float*, int64_t,
             float*, float*, void*)
DEEPSPG_STUB(deepspg_edge_loss_cuda_f32, const float*, const float*, int64_t, int64_t, int64_t, int32_t, double*,
             float*, void*, void*)
DEEPSPG_STUB(deepspg_kl_loss_cuda_f32, const float*, const float*, int64_t, int64_t, int64_t, double, double*, float*,
             void*, void*)
}
