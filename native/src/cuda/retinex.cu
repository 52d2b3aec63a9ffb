// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Retinex decomposition, CUDA backend; same math as src/cpu/retinex.cpp (spec section 3):
//   prior/concat z = [I ; mean_c I or max_c I], backward dI_c = dZ_c + dZ_3/3 (or to the arg-max channel);
//   light-up X_r = I (1 + M), X_l = 1 / max(1 + M, 1e-4), backward dI = dX_r (1 + M), dM = dX_r I - dX_l X_l^2.
// Layout [B, 3, HW] / [B, 4, HW], float. One thread per pixel (prior) or element (light-up); bandwidth-bound.
#include "cuda_common.cuh"

namespace deepspg::ops {
namespace {

constexpr int kThreads = 256;

// The first maximum, or the first NaN (a NaN propagates, as in torch.max; fmaxf would drop it), as the CPU's.
__device__ inline int argmax3(float a, float b, float c) {
  int k = 0;
  float m = a;
  if (m == m && (b > m || b != b)) k = 1, m = b;
  if (m == m && (c > m || c != c)) k = 2;
  return k;
}

__global__ void prior_forward_kernel(const float* __restrict__ im, int64_t batch, int64_t hw, int mode,
                                     float* __restrict__ z) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= batch * hw) return;
  const int64_t b = e / hw, k = e % hw;
  const float i0 = im[b * 3 * hw + k], i1 = im[b * 3 * hw + hw + k], i2 = im[b * 3 * hw + 2 * hw + k];
  float* zb = z + b * 4 * hw + k;
  zb[0] = i0, zb[hw] = i1, zb[2 * hw] = i2;
  const int a = mode == DEEPSPG_PRIOR_MEAN ? 0 : argmax3(i0, i1, i2);
  zb[3 * hw] = mode == DEEPSPG_PRIOR_MEAN ? (i0 + i1 + i2) / 3.0f : a == 0 ? i0 : a == 1 ? i1 : i2;
}

__global__ void prior_backward_kernel(const float* __restrict__ dz, const float* __restrict__ im, int64_t batch,
                                      int64_t hw, int mode, float* __restrict__ di) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= batch * hw) return;
  const int64_t b = e / hw, k = e % hw;
  const float* d = dz + b * 4 * hw + k;
  float* g = di + b * 3 * hw + k;
  if (mode == DEEPSPG_PRIOR_MEAN) {
    const float p = d[3 * hw] / 3.0f;
    g[0] = d[0] + p, g[hw] = d[hw] + p, g[2 * hw] = d[2 * hw] + p;
  } else {
    const float* i = im + b * 3 * hw + k;
    const int a = argmax3(i[0], i[hw], i[2 * hw]);
    g[0] = d[0] + (a == 0 ? d[3 * hw] : 0.0f);
    g[hw] = d[hw] + (a == 1 ? d[3 * hw] : 0.0f);
    g[2 * hw] = d[2 * hw] + (a == 2 ? d[3 * hw] : 0.0f);
  }
}

__global__ void lightup_forward_kernel(const float* __restrict__ im, const float* __restrict__ m, int64_t numel,
                                       float* __restrict__ xr, float* __restrict__ xl) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= numel) return;
  const float l = 1.0f + m[e];
  xr[e] = im[e] * l;
  if (xl != nullptr) xl[e] = 1.0f / fmaxf(l, static_cast<float>(detail::kLightupEps));
}

__global__ void lightup_backward_kernel(const float* __restrict__ dxr, const float* __restrict__ dxl,
                                        const float* __restrict__ im, const float* __restrict__ m, int64_t numel,
                                        float* __restrict__ di, float* __restrict__ dm) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= numel) return;
  const float l = 1.0f + m[e];
  const float gr = dxr ? dxr[e] : 0.0f;
  if (di) di[e] = gr * l;
  if (dm) {
    float g = gr * im[e];
    if (dxl && l > static_cast<float>(detail::kLightupEps)) g -= dxl[e] / (l * l);
    dm[e] = g;
  }
}

int32_t check(const char* fn, const void* a, const void* b, int64_t n) {
  DEEPSPG_CHECK_PTR(fn, a);
  DEEPSPG_CHECK_PTR(fn, b);
  if (n < 0) return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": negative size");
  return DEEPSPG_OK;
}

}  // namespace
}  // namespace deepspg::ops

using namespace deepspg::ops;

extern "C" {

int32_t deepspg_retinex_prior_forward_cuda_f32(const float* image, int64_t batch, int64_t hw, int32_t mode, float* z,
                                               void* stream) {
  if (int32_t st = check(__func__, image, z, batch * hw)) return st;
  if (mode != DEEPSPG_PRIOR_MEAN && mode != DEEPSPG_PRIOR_MAX)
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(__func__) + ": unknown prior mode");
  if (batch * hw == 0) return detail::ok();
  prior_forward_kernel<<<detail::blocks_for(batch * hw, kThreads), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      image, batch, hw, mode, z);
  return detail::check_launch(__func__);
}

int32_t deepspg_retinex_prior_backward_cuda_f32(const float* dz, const float* image, int64_t batch, int64_t hw,
                                                int32_t mode, float* dimage, void* stream) {
  if (int32_t st = check(__func__, dz, dimage, batch * hw)) return st;
  if (mode != DEEPSPG_PRIOR_MEAN && mode != DEEPSPG_PRIOR_MAX)
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(__func__) + ": unknown prior mode");
  if (mode == DEEPSPG_PRIOR_MAX) DEEPSPG_CHECK_PTR(__func__, image);
  if (batch * hw == 0) return detail::ok();
  prior_backward_kernel<<<detail::blocks_for(batch * hw, kThreads), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      dz, image, batch, hw, mode, dimage);
  return detail::check_launch(__func__);
}

int32_t deepspg_retinex_lightup_forward_cuda_f32(const float* image, const float* m, int64_t numel, float* xr,
                                                 float* xl, void* stream) {
  if (int32_t st = check(__func__, image, m, numel)) return st;
  DEEPSPG_CHECK_PTR(__func__, xr);
  if (numel == 0) return detail::ok();
  lightup_forward_kernel<<<detail::blocks_for(numel, kThreads), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      image, m, numel, xr, xl);
  return detail::check_launch(__func__);
}

int32_t deepspg_retinex_lightup_backward_cuda_f32(const float* dxr, const float* dxl, const float* image,
                                                  const float* m, int64_t numel, float* dimage, float* dm,
                                                  void* stream) {
  if (int32_t st = check(__func__, image, m, numel)) return st;
  if (numel == 0) return detail::ok();
  lightup_backward_kernel<<<detail::blocks_for(numel, kThreads), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      dxr, dxl, image, m, numel, dimage, dm);
  return detail::check_launch(__func__);
}

}  // extern "C"
