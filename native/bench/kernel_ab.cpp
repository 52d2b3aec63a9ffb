// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Paired A/B of two builds of the kernel library in one process: the fused channel attention's forward and backward
// (level-0 and level-2 shapes of channel_attention_bench) through build A and build B in alternating calls (A B, then
// B A), so both see the same minutes of this VM, whose speed drifts by tens of percent between runs of separate
// processes (BENCHMARKS.md, session 23, "Measuring small changes on this VM"). Prints each build's median times, the
// median of the per-pair ratios B/A (each the geometric mean of one A-B and one B-A pair), and whether B's outputs
// have A's bits. Run it with the same library twice for the noise floor. A against the previous commit:
//   git worktree add /tmp/base HEAD~1 && cmake -S /tmp/base/native -B /tmp/base/build -DDEEPSPG_CUDA=OFF
//   cmake --build /tmp/base/build -j --target deepspg_kernels
//   cmake -S native -B build -DDEEPSPG_CUDA=OFF && cmake --build build -j --target deepspg_kernels kernel_ab
//   MALLOC_ARENA_MAX=1 build/bench/kernel_ab /tmp/base/build/libdeepspg_kernels.so build/libdeepspg_kernels.so
// Optional arguments after the two libraries: pairs per order (default 40; level 2 runs 4x as many), L0 or L2 only
// (without one, each shape runs in a child process of its own).
// The process-wide malloc settings are the Java layer's (deepspg_tune_allocator, as Backends applies them at load):
// without them the backward's per-call buffers return to the OS and fault back in, a fixed ~0.6 ms per call here.
#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "deepspg/kernels.h"

namespace {

double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

/** The entry points of one build, from dlopen (RTLD_LOCAL: both builds stay loaded side by side). */
struct Build {
  decltype(&deepspg_channel_attention_forward_cpu_f32) forward = nullptr;
  decltype(&deepspg_channel_attention_backward_cpu_f32) backward = nullptr;
  decltype(&deepspg_tune_allocator) tune_allocator = nullptr;
  decltype(&deepspg_last_error) last_error = nullptr;

  explicit Build(const char* path) {
    void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      std::fprintf(stderr, "kernel_ab: cannot load %s: %s\n", path, dlerror());
      std::exit(2);
    }
    forward = reinterpret_cast<decltype(forward)>(dlsym(h, "deepspg_channel_attention_forward_cpu_f32"));
    backward = reinterpret_cast<decltype(backward)>(dlsym(h, "deepspg_channel_attention_backward_cpu_f32"));
    tune_allocator = reinterpret_cast<decltype(tune_allocator)>(dlsym(h, "deepspg_tune_allocator"));
    last_error = reinterpret_cast<decltype(last_error)>(dlsym(h, "deepspg_last_error"));
    if (forward == nullptr || backward == nullptr || last_error == nullptr) {
      std::fprintf(stderr, "kernel_ab: %s lacks the channel attention entry points\n", path);
      std::exit(2);
    }
  }
};

/** Floats on a 64-byte boundary, as libtorch allocates tensors (the kernels stream only to aligned outputs). */
struct Buffer {
  float* p;
  size_t n;
  explicit Buffer(int64_t count) : n(static_cast<size_t>(count)) {
    p = static_cast<float*>(std::aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64));
    std::fill(p, p + n, 0.0f);
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { std::free(p); }
  float* data() const { return p; }
  bool operator==(const Buffer& o) const { return n == o.n && std::memcmp(p, o.p, n * sizeof(float)) == 0; }
};

/** One build's outputs of one forward and backward. */
struct Outputs {
  Buffer out, G, A, r, s, dx, dy, dv, dgate, dtau;
  Outputs(int64_t size, int64_t cc, int64_t rows, int64_t heads)
      : out(size), G(cc), A(cc), r(rows), s(rows), dx(size), dy(size), dv(size), dgate(size), dtau(heads) {}
  bool same_bits(const Outputs& o) const {
    return out == o.out && G == o.G && A == o.A && r == o.r && s == o.s && dx == o.dx && dy == o.dy && dv == o.dv &&
           dgate == o.dgate && dtau == o.dtau;
  }
};

void run(const char* name, const Build* builds, int64_t b, int64_t heads, int64_t c, int64_t hw, int pairs) {
  const int64_t d = heads * c, n = hw * hw, size = b * d * n, cc = b * heads * c * c, rows = b * heads * c;
  std::mt19937 rng(0);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<float> uniform;
  Buffer x(size), y(size), v(size), f(size), dout(size), tau(heads);
  for (int64_t i = 0; i < size; ++i)
    x.p[i] = normal(rng), y.p[i] = normal(rng), v.p[i] = normal(rng), f.p[i] = uniform(rng), dout.p[i] = normal(rng);
  std::fill(tau.p, tau.p + heads, 1.0f);
  Outputs o[2] = {Outputs(size, cc, rows, heads), Outputs(size, cc, rows, heads)};
  // Ratios per two pairs, one in each order (the geometric mean of B/A after A and B/A before A): whatever the
  // second call of a pair gains or loses from the first cancels.
  std::vector<double> fwd[2], bwd[2], ratio_f, ratio_b, ratio_sum;
  double last_f = 0, last_b = 0, last_sum = 0;
  for (int pair = 0; pair < 2 * pairs + 1; ++pair) {  // pair 0 warms up (page faults on the outputs)
    double tf[2], tb[2];
    for (int q = 0; q < 2; ++q) {
      const int k = pair % 2 == 0 ? q : 1 - q;  // A B, then B A
      const Build& lib = builds[k];
      Outputs& w = o[k];
      const double t0 = now_ms();
      int32_t st = lib.forward(x.data(), y.data(), v.data(), f.data(), tau.data(), b, heads, c, n, w.out.data(),
                               w.G.data(), w.A.data(), w.r.data(), w.s.data());
      const double t1 = now_ms();
      if (st == 0)
        st = lib.backward(dout.data(), x.data(), y.data(), v.data(), f.data(), tau.data(), w.G.data(), w.A.data(),
                          w.r.data(), w.s.data(), b, heads, c, n, w.dx.data(), w.dy.data(), w.dv.data(),
                          w.dgate.data(), w.dtau.data());
      const double t2 = now_ms();
      if (st != 0) {
        std::fprintf(stderr, "kernel_ab: build %c failed: %s\n", "AB"[k], lib.last_error());
        std::exit(1);
      }
      tf[k] = t1 - t0, tb[k] = t2 - t1;
    }
    if (pair == 0) continue;
    for (int k = 0; k < 2; ++k) fwd[k].push_back(tf[k]), bwd[k].push_back(tb[k]);
    const double rf = tf[1] / tf[0], rb = tb[1] / tb[0], rs = (tf[1] + tb[1]) / (tf[0] + tb[0]);
    if (pair % 2 == 1) {
      last_f = rf, last_b = rb, last_sum = rs;
      continue;
    }
    ratio_f.push_back(std::sqrt(last_f * rf));
    ratio_b.push_back(std::sqrt(last_b * rb));
    ratio_sum.push_back(std::sqrt(last_sum * rs));
  }
  std::printf("%s  A: forward %6.2f backward %6.2f ms | B: forward %6.2f backward %6.2f ms | B/A: forward %.3f "
              "backward %.3f both %.3f | %s  [medians of %d pairs in each order]\n",
              name, median(fwd[0]), median(bwd[0]), median(fwd[1]), median(bwd[1]), median(ratio_f), median(ratio_b),
              median(ratio_sum), o[0].same_bits(o[1]) ? "same bits" : "BITS DIFFER", pairs);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: kernel_ab LIB_A LIB_B [pairs=40] [L0|L2|all=all]\n");
    return 2;
  }
  const std::string which = argc > 4 ? argv[4] : "all";
  if (which != "all" && which != "L0" && which != "L2") {
    std::fprintf(stderr, "kernel_ab: the shape must be L0, L2 or all, got %s\n", which.c_str());
    return 2;
  }
  const int pairs = argc > 3 ? std::max(1, std::atoi(argv[3])) : 40;
  if (which == "all") {
    // Each shape in a process of its own: run after level 0 in one process, level 2's ratios moved by 1-3 %
    // (BENCHMARKS.md, session 26), as the Winograd harness's later shapes did (session 25).
    const std::string n = std::to_string(pairs);
    for (const char* shape : {"L0", "L2"}) {
      const pid_t pid = fork();
      if (pid == 0) {
        char* args[] = {argv[0], argv[1], argv[2], const_cast<char*>(n.c_str()), const_cast<char*>(shape), nullptr};
        execv("/proc/self/exe", args);
        std::perror("kernel_ab: execv");
        _exit(2);
      }
      int status = 0;
      if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
    }
    return 0;
  }
  const Build builds[2] = {Build(argv[1]), Build(argv[2])};
  // the Java layer's malloc settings (org.deepspg.ops.Backends): 32 MiB mmap threshold, no mmap, 1 GiB trim, 64 MiB
  if (builds[0].tune_allocator != nullptr) builds[0].tune_allocator(int64_t{32} << 20, int64_t{1} << 30, 64 << 20, 1);
  if (which == "L0") run("L0 (b4 d20 h1 256x256)", builds, 4, 1, 20, 256, pairs);
  if (which == "L2") run("L2 (b4 d80 h4  64x64) ", builds, 4, 4, 20, 64, pairs * 4);
  return 0;
}
