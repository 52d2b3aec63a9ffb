// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Retinex decomposition, CPU backend (spec ARCHITECTURE.md section 3; Retinexformer's one-stage formulation).
//
// Kernel A, prior/concat: z[:, 0:3] = I, z[:, 3] = P with P = (I0 + I1 + I2) / 3 (mean) or max_c I_c (max, first
//   index on ties like torch.max, a NaN in any channel propagates). Backward: dI_c = dZ_c + dZ_3 / 3 (mean) or
//   dZ_c + [c == argmax] dZ_3 (max).
// Kernel B, light-up: X_r = I (1 + M); X_l = 1 / max(1 + M, 1e-4) (visualisation map).
//   Backward: dI = dX_r (1 + M); dM = dX_r I - dX_l X_l^2 (0 where the guard clamps).
// Layout: image / m / xr / xl [B, 3, HW], z [B, 4, HW], contiguous. Dtypes float, double. Elementwise, so
// deterministic; bandwidth-bound, the value of the kernel is one pass instead of three to five elementwise ops.
#include <string>

#include "../common/common.h"

namespace deepspg::ops {
namespace {

template <typename T>
int32_t check_prior(const char* fn, const void* a, const void* b, int64_t batch, int64_t hw, int32_t mode) {
  DEEPSPG_CHECK_PTR(fn, a);
  DEEPSPG_CHECK_PTR(fn, b);
  if (batch < 0 || hw < 0)
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": negative size");
  if (mode != DEEPSPG_PRIOR_MEAN && mode != DEEPSPG_PRIOR_MAX)
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": unknown prior mode " + std::to_string(mode));
  return DEEPSPG_OK;
}

// Index of the channel torch.max(dim=1) returns: the first maximum, or the first NaN (a NaN propagates, as in
// torch.max/amax; plain comparisons kept a NaN only in channel 0 and dropped one in channels 1-2).
template <typename T>
inline int argmax3(T a, T b, T c) {
  int k = 0;
  T m = a;
  if (m == m && (b > m || b != b)) k = 1, m = b;
  if (m == m && (c > m || c != c)) k = 2;
  return k;
}

template <typename T>
int32_t prior_forward(const char* fn, const T* image, int64_t batch, int64_t hw, int32_t mode, T* z) {
  if (int32_t st = check_prior<T>(fn, image, z, batch, hw, mode)) return st;
#pragma omp parallel for schedule(static) if (batch * hw >= detail::kOmpMinWork)
  for (int64_t b = 0; b < batch; ++b) {
    const T* i0 = image + b * 3 * hw;
    const T* i1 = i0 + hw;
    const T* i2 = i1 + hw;
    T* z0 = z + b * 4 * hw;
    T* z1 = z0 + hw;
    T* z2 = z1 + hw;
    T* z3 = z2 + hw;
    if (mode == DEEPSPG_PRIOR_MEAN) {
#pragma omp simd
      for (int64_t k = 0; k < hw; ++k) {
        z0[k] = i0[k], z1[k] = i1[k], z2[k] = i2[k];
        z3[k] = (i0[k] + i1[k] + i2[k]) / T(3);
      }
    } else {
      for (int64_t k = 0; k < hw; ++k) {
        z0[k] = i0[k], z1[k] = i1[k], z2[k] = i2[k];
        const int a = argmax3(i0[k], i1[k], i2[k]);
        z3[k] = a == 0 ? i0[k] : a == 1 ? i1[k] : i2[k];
      }
    }
  }
  return detail::ok();
}

template <typename T>
int32_t prior_backward(const char* fn, const T* dz, const T* image, int64_t batch, int64_t hw, int32_t mode,
                       T* dimage) {
  if (int32_t st = check_prior<T>(fn, dz, dimage, batch, hw, mode)) return st;
  if (mode == DEEPSPG_PRIOR_MAX) DEEPSPG_CHECK_PTR(fn, image);
#pragma omp parallel for schedule(static) if (batch * hw >= detail::kOmpMinWork)
  for (int64_t b = 0; b < batch; ++b) {
    const T* d0 = dz + b * 4 * hw;
    const T* d1 = d0 + hw;
    const T* d2 = d1 + hw;
    const T* d3 = d2 + hw;
    T* g0 = dimage + b * 3 * hw;
    T* g1 = g0 + hw;
    T* g2 = g1 + hw;
    if (mode == DEEPSPG_PRIOR_MEAN) {
#pragma omp simd
      for (int64_t k = 0; k < hw; ++k) {
        const T p = d3[k] / T(3);
        g0[k] = d0[k] + p, g1[k] = d1[k] + p, g2[k] = d2[k] + p;
      }
    } else {
      const T* i0 = image + b * 3 * hw;
      const T* i1 = i0 + hw;
      const T* i2 = i1 + hw;
      for (int64_t k = 0; k < hw; ++k) {
        const int a = argmax3(i0[k], i1[k], i2[k]);
        g0[k] = d0[k] + (a == 0 ? d3[k] : T(0));
        g1[k] = d1[k] + (a == 1 ? d3[k] : T(0));
        g2[k] = d2[k] + (a == 2 ? d3[k] : T(0));
      }
    }
  }
  return detail::ok();
}

template <typename T>
int32_t lightup_forward(const char* fn, const T* image, const T* m, int64_t numel, T* xr, T* xl) {
  DEEPSPG_CHECK_PTR(fn, image);
  DEEPSPG_CHECK_PTR(fn, m);
  DEEPSPG_CHECK_PTR(fn, xr);
  if (numel < 0) return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": negative size");
  const T eps = static_cast<T>(detail::kLightupEps);
#pragma omp parallel for simd schedule(static) if (numel >= detail::kOmpMinWork)
  for (int64_t k = 0; k < numel; ++k) xr[k] = image[k] * (T(1) + m[k]);
  if (xl != nullptr) {
#pragma omp parallel for simd schedule(static) if (numel >= detail::kOmpMinWork)
    for (int64_t k = 0; k < numel; ++k) {
      const T l = T(1) + m[k];
      xl[k] = T(1) / (l > eps ? l : eps);
    }
  }
  return detail::ok();
}

template <typename T>
int32_t lightup_backward(const char* fn, const T* dxr, const T* dxl, const T* image, const T* m, int64_t numel,
                         T* dimage, T* dm) {
  DEEPSPG_CHECK_PTR(fn, image);
  DEEPSPG_CHECK_PTR(fn, m);
  if (numel < 0) return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": negative size");
  const T eps = static_cast<T>(detail::kLightupEps);
#pragma omp parallel for simd schedule(static) if (numel >= detail::kOmpMinWork)
  for (int64_t k = 0; k < numel; ++k) {
    const T l = T(1) + m[k];
    const T gr = dxr ? dxr[k] : T(0);
    if (dimage) dimage[k] = gr * l;
    if (dm) {
      T g = gr * image[k];
      if (dxl && l > eps) g -= dxl[k] / (l * l);
      dm[k] = g;
    }
  }
  return detail::ok();
}

}  // namespace
}  // namespace deepspg::ops

extern "C" {

int32_t deepspg_retinex_prior_forward_cpu_f32(const float* image, int64_t batch, int64_t hw, int32_t mode, float* z) {
  return deepspg::ops::prior_forward(__func__, image, batch, hw, mode, z);
}
int32_t deepspg_retinex_prior_forward_cpu_f64(const double* image, int64_t batch, int64_t hw, int32_t mode, double* z) {
  return deepspg::ops::prior_forward(__func__, image, batch, hw, mode, z);
}
int32_t deepspg_retinex_prior_backward_cpu_f32(const float* dz, const float* image, int64_t batch, int64_t hw,
                                               int32_t mode, float* dimage) {
  return deepspg::ops::prior_backward(__func__, dz, image, batch, hw, mode, dimage);
}
int32_t deepspg_retinex_prior_backward_cpu_f64(const double* dz, const double* image, int64_t batch, int64_t hw,
                                               int32_t mode, double* dimage) {
  return deepspg::ops::prior_backward(__func__, dz, image, batch, hw, mode, dimage);
}
int32_t deepspg_retinex_lightup_forward_cpu_f32(const float* image, const float* m, int64_t numel, float* xr,
                                                float* xl) {
  return deepspg::ops::lightup_forward(__func__, image, m, numel, xr, xl);
}
int32_t deepspg_retinex_lightup_forward_cpu_f64(const double* image, const double* m, int64_t numel, double* xr,
                                                double* xl) {
  return deepspg::ops::lightup_forward(__func__, image, m, numel, xr, xl);
}
int32_t deepspg_retinex_lightup_backward_cpu_f32(const float* dxr, const float* dxl, const float* image, const float* m,
                                                 int64_t numel, float* dimage, float* dm) {
  return deepspg::ops::lightup_backward(__func__, dxr, dxl, image, m, numel, dimage, dm);
}
int32_t deepspg_retinex_lightup_backward_cpu_f64(const double* dxr, const double* dxl, const double* image,
                                                 const double* m, int64_t numel, double* dimage, double* dm) {
  return deepspg::ops::lightup_backward(__func__, dxr, dxl, image, m, numel, dimage, dm);
}

}  // extern "C"
