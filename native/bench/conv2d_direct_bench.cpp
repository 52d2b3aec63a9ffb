// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// CPU micro-benchmark of the dense direct convolution (deepspg_conv2d_forward_cpu_f32), straight through the C ABI:
// HRNet-W48's convolution shapes at a 608x416 input (3x3 stride 1 on each branch, the stem's stride-2 3x3, a 1x1),
// best of reps, for every ISA this CPU has, as GFLOP/s (2 FLOP per multiply-accumulate); with the weight packed on
// each call (deepspg_conv2d_forward_cpu_f32) and packed once (deepspg_conv2d_forward_packed_cpu_f32); the 3x3
// stride-1 shapes also through Winograd F(4x4, 3x3) (deepspg_conv2d_winograd_forward_cpu_f32), in effective GFLOP/s;
// then DeepSPG-S's IG-MSA q/k/v 1x1 layers (outputs of 32 MB or more: the non-temporal stores).
//   cmake --build build --target conv2d_direct_bench && OMP_NUM_THREADS=2 build/bench/conv2d_direct_bench [reps]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "deepspg/kernels.h"

namespace {

/** 64-byte aligned storage, as libtorch allocates tensors (the 1x1 path's non-temporal stores need it). */
template <class T>
struct Aligned64 {
  using value_type = T;
  Aligned64() = default;
  template <class U>
  Aligned64(const Aligned64<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(std::aligned_alloc(64, (n * sizeof(T) + 63) / 64 * 64)); }
  void deallocate(T* p, size_t) { std::free(p); }
  template <class U>
  bool operator==(const Aligned64<U>&) const { return true; }
  template <class U>
  bool operator!=(const Aligned64<U>&) const { return false; }
};

double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

void run(const char* name, int64_t in, int64_t out, int64_t k, int64_t s, int64_t h, int64_t w, int reps) {
  const int64_t p = k / 2, ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1;
  std::mt19937 rng(0);
  std::normal_distribution<float> normal;
  std::vector<float, Aligned64<float>> x(in * h * w), wt(out * in * k * k), b(out), y(out * ho * wo);
  for (auto& v : x) v = normal(rng);
  for (auto& v : wt) v = 0.1f * normal(rng);
  for (auto& v : b) v = normal(rng);
  const double gflop = 2.0 * out * in * k * k * ho * wo * 1e-9;
  for (int32_t isa : {DEEPSPG_CONV2D_ISA_AVX2, DEEPSPG_CONV2D_ISA_AVX512}) {
    if (deepspg_conv2d_select_isa(isa) != DEEPSPG_OK) continue;
    int64_t floats = 0;
    deepspg_conv2d_packed_weight_floats(isa, out, in, k, &floats);
    std::vector<float> wp(floats);
    deepspg_conv2d_pack_weight_f32(isa, wt.data(), out, in, k, wp.data());
    double best = 1e30, best_packed = 1e30;
    for (int r = 0; r < reps; ++r) {
      double t0 = now_ms();
      if (deepspg_conv2d_forward_cpu_f32(x.data(), wt.data(), b.data(), nullptr, 1, in, out, k, s, h, w, 1,
                                         y.data()) != DEEPSPG_OK) {
        std::fprintf(stderr, "%s: %s\n", name, deepspg_last_error());
        std::exit(1);
      }
      best = std::min(best, now_ms() - t0);
      t0 = now_ms();
      if (deepspg_conv2d_forward_packed_cpu_f32(x.data(), isa, wp.data(), b.data(), nullptr, 1, in, out, k, s, h, w,
                                                1, y.data()) != DEEPSPG_OK) {
        std::fprintf(stderr, "%s: %s\n", name, deepspg_last_error());
        std::exit(1);
      }
      best_packed = std::min(best_packed, now_ms() - t0);
    }
    std::printf("%-28s isa %d  %8.3f ms  %6.1f GFLOP/s | packed once: %8.3f ms  %6.1f GFLOP/s  (%.3f GFLOP)\n", name,
                isa, best, gflop / best * 1e3, best_packed, gflop / best_packed * 1e3, gflop);
    if (k == 3 && s == 1) {  // Winograd F(4x4, 3x3): "GFLOP/s" of the direct convolution's FLOPs (effective)
      deepspg_conv2d_winograd_weight_floats(isa, out, in, &floats);
      std::vector<float> up(floats);
      deepspg_conv2d_winograd_pack_weight_f32(isa, wt.data(), out, in, up.data());
      double best_w = 1e30;
      for (int r = 0; r < reps; ++r) {
        const double t0 = now_ms();
        if (deepspg_conv2d_winograd_forward_cpu_f32(x.data(), isa, up.data(), b.data(), nullptr, 1, in, out, h, w, 1,
                                                    y.data()) != DEEPSPG_OK) {
          std::fprintf(stderr, "%s: %s\n", name, deepspg_last_error());
          std::exit(1);
        }
        best_w = std::min(best_w, now_ms() - t0);
      }
      std::printf("%-28s isa %d  winograd F(4,3): %8.3f ms  %6.1f effective GFLOP/s  (%.2fx the packed direct)\n", name,
                  isa, best_w, gflop / best_w * 1e3, best_packed / best_w);
    }
  }
  deepspg_conv2d_select_isa(DEEPSPG_CONV2D_ISA_AUTO);
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 5;
  run("stem 64->64 3x3/2 208x304", 64, 64, 3, 2, 208, 304, reps);
  run("branch1 48->48 3x3 104x152", 48, 48, 3, 1, 104, 152, reps);
  run("branch2 96->96 3x3 52x76", 96, 96, 3, 1, 52, 76, reps);
  run("branch3 192->192 3x3 26x38", 192, 192, 3, 1, 26, 38, reps);
  run("branch4 384->384 3x3 13x19", 384, 384, 3, 1, 13, 19, reps);
  run("layer1 256->64 1x1 104x152", 256, 64, 1, 1, 104, 152, reps);
  run("fuse 48->96 3x3/2 104x152", 48, 96, 3, 2, 104, 152, reps);
  run("fuse 96->192 3x3/2 52x76", 96, 192, 3, 2, 52, 76, reps);
  run("fuse 192->384 3x3/2 26x38", 192, 384, 3, 2, 26, 38, reps);
  run("head 720->720 1x1 104x152", 720, 720, 1, 1, 104, 152, reps);
  // DeepSPG-S's IG-MSA q/k/v (d -> 3d) at L0, L1, L2 of a 1088x1920 input, and at L0 of 416x608
  run("qkv 20->60 1x1 1088x1920", 20, 60, 1, 1, 1088, 1920, reps);
  run("qkv 40->120 1x1 544x960", 40, 120, 1, 1, 544, 960, reps);
  run("qkv 80->240 1x1 272x480", 80, 240, 1, 1, 272, 480, reps);
  run("qkv 20->60 1x1 416x608", 20, 60, 1, 1, 416, 608, reps);
  return 0;
}
