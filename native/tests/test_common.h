// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Tiny test harness for the kernel CTests (no framework): random inputs, llm.c-style validate_result, CUDA helpers.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "deepspg/kernels.h"

#if DEEPSPG_TEST_CUDA
#include <cuda_runtime.h>
#endif

namespace dt {

inline int g_failures = 0;

template <typename T>
std::vector<T> randn(size_t n, unsigned seed, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> d(0.0, 1.0);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(scale * d(rng));
  return v;
}

// |got - want| <= atol + rtol |want| for every element; prints the first few mismatches and max error.
template <typename T, typename U>
bool validate(const char* what, const std::vector<T>& got, const std::vector<U>& want, double atol, double rtol) {
  if (got.size() != want.size()) {
    std::printf("FAIL %s: size %zu vs %zu\n", what, got.size(), want.size());
    ++g_failures;
    return false;
  }
  double maxerr = 0;
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double g = static_cast<double>(got[i]), w = static_cast<double>(want[i]), e = std::fabs(g - w);
    maxerr = std::fmax(maxerr, e);
    if (!(e <= atol + rtol * std::fabs(w))) {
      if (bad < 5) std::printf("  %s[%zu]: got %.9g want %.9g\n", what, i, g, w);
      ++bad;
    }
  }
  std::printf("%s %s: max abs err %.3g over %zu values\n", bad ? "FAIL" : "ok  ", what, maxerr, got.size());
  if (bad) ++g_failures;
  return bad == 0;
}

inline void expect_ok(int32_t st, const char* what) {
  if (st != DEEPSPG_OK) {
    std::printf("FAIL %s: status %d: %s\n", what, st, deepspg_last_error());
    ++g_failures;
  }
}

inline void expect(bool cond, const char* what) {
  if (!cond) {
    std::printf("FAIL %s\n", what);
    ++g_failures;
  }
}

inline int finish(const char* name) {
  std::printf("%s: %s (%d failure%s)\n", name, g_failures ? "FAILED" : "passed", g_failures, g_failures == 1 ? "" : "s");
  return g_failures ? 1 : 0;
}

// count floats starting `offset` floats past a 64-byte boundary: offset 0 lets a kernel store them non-temporally
// (it needs 64-byte alignment), offset 1 makes it store through the cache; the same results either way.
struct Floats {
  std::vector<float> raw;
  float* p;
  Floats(size_t count, size_t offset) : raw(count + 16 + offset, -3.0f) {
    const auto a = reinterpret_cast<uintptr_t>(raw.data());
    p = raw.data() + (64 - a % 64) % 64 / sizeof(float) + offset;
  }
  std::vector<float> get(size_t count) const { return std::vector<float>(p, p + count); }
};

inline bool have_gpu() { return deepspg_cuda_compiled() && deepspg_cuda_device_count() > 0; }

/** Runs f() once with each CUDA loss kernel set (deepspg_cuda_losses), announcing it, then restores the one before. */
template <typename F>
void for_each_cuda_losses(F f) {
  for (int32_t variant : {DEEPSPG_CUDA_LOSSES_MEASURED, DEEPSPG_CUDA_LOSSES_ONE_PASS}) {
    const int32_t before = deepspg_cuda_losses(variant);
    std::printf("-- cuda loss kernels: %s\n", variant == DEEPSPG_CUDA_LOSSES_ONE_PASS ? "one-pass" : "measured");
    f();
    deepspg_cuda_losses(before);
  }
}

#if DEEPSPG_TEST_CUDA
template <typename T>
struct DeviceBuffer {
  T* ptr = nullptr;
  size_t n = 0;
  explicit DeviceBuffer(size_t count) : n(count) { cudaMalloc(&ptr, std::max<size_t>(1, n) * sizeof(T)); }
  explicit DeviceBuffer(const std::vector<T>& h) : DeviceBuffer(h.size()) {
    cudaMemcpy(ptr, h.data(), n * sizeof(T), cudaMemcpyHostToDevice);
  }
  std::vector<T> get() const {
    std::vector<T> h(n);
    cudaDeviceSynchronize();
    cudaMemcpy(h.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost);
    return h;
  }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};
#endif

}  // namespace dt
