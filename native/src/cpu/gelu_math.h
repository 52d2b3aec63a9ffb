// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// GELU (exact erf form) and its derivative for the CPU kernels that fuse it (depthwise_conv.cpp).
//
// float: branch-free approximations the compiler vectorises inside `omp simd` loops (with -fno-trapping-math, set for
// the files that include this header in CMakeLists.txt):
//   erf  -- Eigen's rational approximation x P(x^2) / Q(x^2) on [-4, 4] (generic_fast_erf_float), max abs error
//           4.2e-7 against std::erf (measured over [-10, 10] in steps of 1e-4), i.e. GELU within 7e-7 relative;
//           libtorch's own vectorised GELU carries an error of the same order (Abramowitz-Stegun 7.1.26, 1.5e-7).
//   exp  -- Cephes expf (range reduction by ln 2, degree-5 polynomial, 2^n from the exponent bits), relative error
//           below 4e-6 over [-87, 88] and below 2e-7 on the range GELU' uses (-x^2/2 for |x| < 6).
// double: std::erf / std::exp (reference precision; not vectorised).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace deepspg::ops::gelu_math {

constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

inline float clampf(float v, float lo, float hi) { return std::min(std::max(v, lo), hi); }

inline float fast_erf(float a) {
  const float x = clampf(a, -4.f, 4.f);  // erf is +-1 in float beyond
  const float x2 = x * x;
  float p = x2 * -2.72614225801306e-10f + 2.77068142495902e-08f;
  p = x2 * p + -2.10102402082508e-06f;
  p = x2 * p + -5.69250639462346e-05f;
  p = x2 * p + -7.34990630326855e-04f;
  p = x2 * p + -2.95459980854025e-03f;
  p = x2 * p + -1.60960333262415e-02f;
  p = x * p;
  float q = x2 * -1.45660718464996e-05f + -2.13374055278905e-04f;
  q = x2 * q + -1.68282697438203e-03f;
  q = x2 * q + -7.37332916720468e-03f;
  q = x2 * q + -1.42647390514189e-02f;
  return p / q;
}

inline float fast_exp(float v) {
  const float x = clampf(v, -87.f, 88.f);
  const float n = std::floor(x * 1.44269504088896341f + 0.5f);
  const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  float y = 1.9875691500e-4f * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float s;
  std::memcpy(&s, &bits, sizeof s);
  return y * s;
}

inline float gelu(float x) { return 0.5f * x * (1.0f + fast_erf(x * static_cast<float>(kInvSqrt2))); }
inline double gelu(double x) { return 0.5 * x * (1.0 + std::erf(x * kInvSqrt2)); }

/** d gelu / dx = Phi(x) + x phi(x). */
inline float gelu_grad(float x) {
  return 0.5f * (1.0f + fast_erf(x * static_cast<float>(kInvSqrt2))) +
         x * static_cast<float>(kInvSqrt2Pi) * fast_exp(-0.5f * x * x);
}
inline double gelu_grad(double x) {
  return 0.5 * (1.0 + std::erf(x * kInvSqrt2)) + x * kInvSqrt2Pi * std::exp(-0.5 * x * x);
}

}  // namespace deepspg::ops::gelu_math
