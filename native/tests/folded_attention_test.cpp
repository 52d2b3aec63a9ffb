// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// The folded IG-MSA sweeps (deepspg_gram_cpu_f32 with and without its projection, deepspg_channel_mix_cpu_f32)
// against naive double loops, on each kernel set this CPU has; the Gram's tile order makes it independent of the
// thread count (1 vs 8 threads, bitwise), the mix may write over its residual.
#include <omp.h>

#include <cstring>

#include "test_common.h"

namespace {

struct Case {
  int64_t b, c, n;
  bool gate, bias, residual;
};

void run_case(const Case& k, unsigned seed, const char* isa) {
  const int64_t b = k.b, c = k.c, n = k.n;
  const auto x = dt::randn<float>(static_cast<size_t>(b * c * n), seed, 1.5);
  // Gram: double reference
  std::vector<double> want(static_cast<size_t>(b * c * c), 0.0);
  for (int64_t q = 0; q < b; ++q)
    for (int64_t i = 0; i < c; ++i)
      for (int64_t j = 0; j < c; ++j) {
        double s = 0;
        for (int64_t t = 0; t < n; ++t) s += double(x[(q * c + i) * n + t]) * double(x[(q * c + j) * n + t]);
        want[(q * c + i) * c + j] = s;
      }
  std::vector<double> got(want.size(), -1.0), got1(want.size(), -2.0);
  // with the projection y = w x in the same sweep (8 threads), without it (1 thread)
  const auto wy = dt::randn<float>(static_cast<size_t>(c * c), seed + 6, 0.3);
  std::vector<float> y(static_cast<size_t>(b * c * n), 9.0f);
  omp_set_num_threads(8);
  dt::expect_ok(deepspg_gram_cpu_f32(x.data(), wy.data(), b, c, n, got.data(), y.data()), "gram + projection");
  omp_set_num_threads(1);
  dt::expect_ok(deepspg_gram_cpu_f32(x.data(), nullptr, b, c, n, got1.data(), nullptr), "gram, 1 thread");
  omp_set_num_threads(2);
  std::vector<double> ywant(y.size());
  for (int64_t q = 0; q < b; ++q)
    for (int64_t i = 0; i < c; ++i)
      for (int64_t t = 0; t < n; ++t) {
        double s = 0;
        for (int64_t j = 0; j < c; ++j) s += double(wy[i * c + j]) * double(x[(q * c + j) * n + t]);
        ywant[static_cast<size_t>((q * c + i) * n + t)] = s;
      }
  char what[160];
  std::snprintf(what, sizeof what, "projection b=%lld c=%lld n=%lld%s", (long long)b, (long long)c, (long long)n,
                isa);
  dt::validate(what, y, ywant, 1e-5 * double(c), 1e-5);
  std::snprintf(what, sizeof what, "gram b=%lld c=%lld n=%lld%s", (long long)b, (long long)c, (long long)n, isa);
  // float products summed in float per tile: relative to the sum of |products|, which is <= n * 1.5^2 * O(1)
  dt::validate(what, got, want, 5e-7 * double(n) + 1e-5, 1e-5);
  dt::expect(std::memcmp(got.data(), got1.data(), got.size() * sizeof(double)) == 0,
             "the Gram does not depend on the thread count");

  // Mix: out = m (v .* gate) + bias + residual
  const auto m = dt::randn<float>(static_cast<size_t>(b * c * c), seed + 1, 0.3);
  const auto v = dt::randn<float>(static_cast<size_t>(b * c * n), seed + 2);
  const auto g = dt::randn<float>(static_cast<size_t>(b * c * n), seed + 3);
  const auto bias = dt::randn<float>(static_cast<size_t>(c), seed + 4);
  const auto res = dt::randn<float>(static_cast<size_t>(b * c * n), seed + 5);
  std::vector<double> mw(static_cast<size_t>(b * c * n));
  for (int64_t q = 0; q < b; ++q)
    for (int64_t i = 0; i < c; ++i)
      for (int64_t t = 0; t < n; ++t) {
        double s = (k.bias ? double(bias[i]) : 0.0) + (k.residual ? double(res[(q * c + i) * n + t]) : 0.0);
        for (int64_t j = 0; j < c; ++j) {
          const size_t e = static_cast<size_t>((q * c + j) * n + t);
          s += double(m[(q * c + i) * c + j]) * double(v[e]) * (k.gate ? double(g[e]) : 1.0);
        }
        mw[static_cast<size_t>((q * c + i) * n + t)] = s;
      }
  std::vector<float> out = k.residual ? res : std::vector<float>(static_cast<size_t>(b * c * n), 7.0f);
  // in place over the residual when there is one
  dt::expect_ok(deepspg_channel_mix_cpu_f32(m.data(), v.data(), k.gate ? g.data() : nullptr,
                                            k.bias ? bias.data() : nullptr, k.residual ? out.data() : nullptr, b, c,
                                            n, out.data()),
                "channel mix");
  std::snprintf(what, sizeof what, "mix b=%lld c=%lld n=%lld gate=%d bias=%d res=%d%s", (long long)b, (long long)c,
                (long long)n, k.gate, k.bias, k.residual, isa);
  dt::validate(what, out, mw, 1e-5 * double(c), 1e-5);
}

// Non-temporal stores: the projection of a 21 MB input and a mix that is not in place move enough to store their
// outputs non-temporally when aligned; into outputs one float past a 64-byte boundary they store through the cache.
// The same bits either way.
void run_streamed_vs_cached(unsigned seed, const char* isa) {
  const int64_t b = 1, c = 20, n = 262144, sz = b * c * n;
  const auto x = dt::randn<float>(sz, seed), wy = dt::randn<float>(c * c, seed + 1, 0.3),
             g = dt::randn<float>(sz, seed + 2), bias = dt::randn<float>(c, seed + 3),
             res = dt::randn<float>(sz, seed + 4);
  std::vector<float> ys[2], outs[2];
  std::vector<double> gram(b * c * c);
  for (size_t offset : {0, 1}) {
    dt::Floats y(sz, offset), out(sz, offset);
    dt::expect_ok(deepspg_gram_cpu_f32(x.data(), wy.data(), b, c, n, gram.data(), y.p), "gram + projection, 21 MB");
    dt::expect_ok(deepspg_channel_mix_cpu_f32(wy.data(), x.data(), g.data(), bias.data(), res.data(), b, c, n, out.p),
                  "mix, not in place, 21 MB");
    ys[offset] = y.get(sz);
    outs[offset] = out.get(sz);
  }
  char what[120];
  std::snprintf(what, sizeof what, "projection: non-temporal and cached stores agree bitwise%s", isa);
  dt::expect(ys[0] == ys[1], what);
  std::snprintf(what, sizeof what, "mix: non-temporal and cached stores agree bitwise%s", isa);
  dt::expect(outs[0] == outs[1], what);
}

}  // namespace

int main() {
  // c = 20, 40, 80 (DeepSPG-S's widths), 7 and 23 (row blocks of 5 with rests); n with 1024-column tiles and rests
  // (64-column strips, 16-column strips, masked tails); 1 column.
  const Case cases[] = {
      {1, 1, 1, true, true, true},         {2, 20, 300, true, true, true},    {1, 7, 1100, false, true, false},
      {2, 23, 1100, true, false, true},    {1, 40, 2048 + 93, true, true, true},
      {1, 80, 1024 + 17, true, true, false}, {3, 20, 4096 + 29, false, false, false},
  };
  const int32_t isas[] = {DEEPSPG_CONV2D_ISA_AVX512, DEEPSPG_CONV2D_ISA_GENERIC};
  const char* isa_names[] = {" avx512", " portable"};
  unsigned seed = 3;
  for (const Case& k : cases) {
    for (int q = 0; q < 2; ++q) {
      if (deepspg_channel_attention_select_isa(isas[q]) != DEEPSPG_OK) {
        std::printf("-- %s: not on this CPU\n", isa_names[q]);
        continue;
      }
      run_case(k, seed, isa_names[q]);
    }
    dt::expect_ok(deepspg_channel_attention_select_isa(DEEPSPG_CONV2D_ISA_AUTO), "back to the automatic choice");
    seed += 10;
  }
  for (int q = 0; q < 2; ++q) {
    if (deepspg_channel_attention_select_isa(isas[q]) != DEEPSPG_OK) continue;
    run_streamed_vs_cached(seed++, isa_names[q]);
  }
  dt::expect_ok(deepspg_channel_attention_select_isa(DEEPSPG_CONV2D_ISA_AUTO), "back to the automatic choice");
  // Error paths: sizes and NULL pointers are refused with a message, not a crash.
  float one = 1;
  double d = 0;
  dt::expect(deepspg_gram_cpu_f32(&one, nullptr, 1, 1025, 1, &d, nullptr) == DEEPSPG_ERR_INVALID_ARGUMENT,
             "c = 1025 is refused");
  dt::expect(std::strstr(deepspg_last_error(), "1024") != nullptr, "the message names the limit");
  dt::expect(deepspg_gram_cpu_f32(nullptr, nullptr, 1, 1, 1, &d, nullptr) == DEEPSPG_ERR_INVALID_ARGUMENT,
             "NULL x is refused");
  dt::expect(deepspg_gram_cpu_f32(&one, &one, 1, 1, 1, &d, nullptr) == DEEPSPG_ERR_INVALID_ARGUMENT,
             "a projection weight without its output is refused");
  dt::expect(deepspg_channel_mix_cpu_f32(&one, &one, nullptr, nullptr, nullptr, 1, 1, 0, &one) ==
                 DEEPSPG_ERR_INVALID_ARGUMENT,
             "n = 0 is refused");
  dt::expect(deepspg_channel_mix_cpu_f32(&one, nullptr, nullptr, nullptr, nullptr, 1, 1, 1, &one) ==
                 DEEPSPG_ERR_INVALID_ARGUMENT,
             "NULL v is refused");
  dt::expect_ok(deepspg_gram_cpu_f32(nullptr, nullptr, 0, 1, 1, nullptr, nullptr), "an empty batch is a no-op");
  return dt::finish("folded_attention_test");
}
