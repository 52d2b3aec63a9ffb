// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Tiny test harness for the kernel CTests (no framework): random inputs, llm.c-style validate_result, CUDA helpers.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <random>
#include <utility>
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

/** A kernel selector of the C ABI (deepspg_channel_attention_cuda_gram, deepspg_cuda_losses). */
using Selector = int32_t (*)(int32_t);

/** Runs f() once with each of a selector's variants, announcing it ("-- what: name"), then restores the one before. */
template <typename F>
void for_each_variant(Selector select, const char* what,
                      std::initializer_list<std::pair<int32_t, const char*>> variants, F f) {
  for (const auto& [variant, name] : variants) {
    const int32_t before = select(variant);
    std::printf("-- %s: %s\n", what, name);
    f();
    select(before);
  }
}

/** Runs f() once with each CUDA loss kernel set (deepspg_cuda_losses). */
template <typename F>
void for_each_cuda_losses(F f) {
  for_each_variant(deepspg_cuda_losses, "cuda loss kernels",
                   {{DEEPSPG_CUDA_LOSSES_MEASURED, "measured"}, {DEEPSPG_CUDA_LOSSES_ONE_PASS, "one-pass"}}, f);
}

/** A selector's contract: `initial` in force, setting `other` returns it, an unknown variant is refused and changes
 * nothing; restores `initial`. */
inline void check_selector(Selector select, const char* what, int32_t initial, int32_t other, int32_t unknown) {
  char msg[128];
  std::snprintf(msg, sizeof msg, "%s: default variant %d", what, initial);
  expect(select(-1) == initial, msg);
  std::snprintf(msg, sizeof msg, "%s: setting returns the previous variant", what);
  expect(select(other) == initial, msg);
  std::snprintf(msg, sizeof msg, "%s: the variant is set", what);
  expect(select(-1) == other, msg);
  std::snprintf(msg, sizeof msg, "%s: unknown variant refused", what);
  expect(select(unknown) == -DEEPSPG_ERR_INVALID_ARGUMENT, msg);
  std::snprintf(msg, sizeof msg, "%s: a refused call changes nothing", what);
  expect(select(-1) == other, msg);
  select(initial);
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

/** A CUDA loss on both kernel sets against the CPU float kernel's loss and gradient: launch(loss, grad) runs it on
 * device buffers (grad may be null), twice per set on one workspace (the one-pass ticket left by the first call must
 * not change the second's result), the second time for the value only. */
template <typename Launch>
void loss_cuda_vs_cpu(const char* what, Launch launch, double lossf, const std::vector<float>& gradf,
                      double grad_atol) {
  DeviceBuffer<float> GR(gradf.size());
  DeviceBuffer<double> L(1);
  char msg[96];
  for_each_cuda_losses([&] {
    std::snprintf(msg, sizeof msg, "cuda %s", what);
    expect_ok(launch(L.ptr, GR.ptr), msg);
    const std::vector<double> first = L.get();
    validate("cuda loss", first, std::vector<double>{lossf}, 1e-6, 1e-5);
    validate("cuda grad", GR.get(), gradf, grad_atol, 1e-4);
    std::snprintf(msg, sizeof msg, "cuda %s again, value only", what);
    expect_ok(launch(L.ptr, nullptr), msg);
    std::snprintf(msg, sizeof msg, "cuda %s: the same loss again, without the gradient", what);
    expect(L.get() == first, msg);
  });
}
#endif

}  // namespace dt
