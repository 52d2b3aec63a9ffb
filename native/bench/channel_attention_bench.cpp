// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// CPU micro-benchmark of the fused channel attention kernels, straight through the C ABI (no JVM, no libtorch):
// forward and backward wall time at the DeepSPG-S level-0 and level-2 shapes (batch 4, value gating on, as in
// IG-MSA) on each kernel set this CPU has (AVX-512 and the portable vector code, in alternating rounds), and the
// arithmetic rate against the FLOP count of the math (forward 2 c^2 N sweeps of FMAs per (batch, head), backward 4).
//   cmake -S native -B build -DDEEPSPG_CUDA=OFF && cmake --build build -j --target channel_attention_bench
//   OMP_NUM_THREADS=2 build/bench/channel_attention_bench [reps]
// The JMH benchmark (benchmarks/, ChannelAttentionBenchmark) measures the same op through Java and autograd.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "deepspg/kernels.h"

namespace {

double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

void run(const char* name, int64_t b, int64_t heads, int64_t c, int64_t hw, int reps) {
  const int64_t d = heads * c, n = hw * hw, size = b * d * n, cc = b * heads * c * c;
  std::mt19937 rng(0);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<float> uniform;
  std::vector<float> x(size), y(size), v(size), f(size), dout(size), out(size), dx(size), dy(size), dv(size),
      df(size), G(cc), A(cc), r(b * heads * c), s(b * heads * c), tau(heads, 1.0f), dtau(heads);
  for (int64_t i = 0; i < size; ++i) {
    x[i] = normal(rng), y[i] = normal(rng), v[i] = normal(rng), f[i] = uniform(rng), dout[i] = normal(rng);
  }
  // Each ISA this CPU has, in alternating rounds (this VM's speed drifts by tens of percent over minutes, so a
  // comparison is only fair within one window); best of all rounds per ISA.
  const int32_t isas[] = {DEEPSPG_CONV2D_ISA_AVX512, DEEPSPG_CONV2D_ISA_GENERIC};
  const char* isa_names[] = {"avx512", "portable"};
  double best_f[2] = {1e30, 1e30}, best_b[2] = {1e30, 1e30};
  for (int rep = 0; rep < reps; ++rep) {
    for (int k = 0; k < 2; ++k) {
      if (deepspg_channel_attention_select_isa(isas[k]) != 0) continue;  // this CPU lacks it
      double t0 = now_ms();
      if (deepspg_channel_attention_forward_cpu_f32(x.data(), y.data(), v.data(), f.data(), tau.data(), b, heads, c,
                                                    n, out.data(), G.data(), A.data(), r.data(), s.data()) != 0) {
        std::fprintf(stderr, "forward failed: %s\n", deepspg_last_error());
        std::exit(1);
      }
      double t1 = now_ms();
      if (deepspg_channel_attention_backward_cpu_f32(dout.data(), x.data(), y.data(), v.data(), f.data(), tau.data(),
                                                     G.data(), A.data(), r.data(), s.data(), b, heads, c, n,
                                                     dx.data(), dy.data(), dv.data(), df.data(), dtau.data()) != 0) {
        std::fprintf(stderr, "backward failed: %s\n", deepspg_last_error());
        std::exit(1);
      }
      double t2 = now_ms();
      if (rep > 0) {  // the first call pays page faults on the outputs
        best_f[k] = std::min(best_f[k], t1 - t0);
        best_b[k] = std::min(best_b[k], t2 - t1);
      }
    }
  }
  deepspg_channel_attention_select_isa(DEEPSPG_CONV2D_ISA_AUTO);
  const double fma = static_cast<double>(b * heads) * c * c * n;  // one c x c x N product
  for (int k = 0; k < 2; ++k) {
    if (best_f[k] >= 1e30) continue;
    std::printf("%s %-8s forward %7.2f ms (%5.1f GFLOP/s)   backward %7.2f ms (%5.1f GFLOP/s)   [best of %d]\n", name,
                isa_names[k], best_f[k], 2 * 2 * fma / best_f[k] / 1e6, best_b[k], 4 * 2 * fma / best_b[k] / 1e6,
                reps - 1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 10;
  run("L0 (b4 d20 h1 256x256)", 4, 1, 20, 256, reps);
  run("L2 (b4 d80 h4  64x64) ", 4, 4, 20, 64, reps);
  return 0;
}
