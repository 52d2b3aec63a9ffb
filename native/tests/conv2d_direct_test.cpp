// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Dense direct convolution (forward, float32, fused bias/residual/ReLU) against a naive double reference, on every
// ISA this CPU has (the others print a skip line). Geometries: HRNet's 3x3 stride 1 and 2 and 1x1, output channels
// not a multiple of any micro-kernel's block, grids shorter than one tile and longer than several chunks, H or W = 1,
// odd sizes at stride 2, k = 5, batch 2; through the _ex entry point an even k with pad 1 (DeepSPG's 4x4 stride-2
// down-sampling) and the GELU epilogue. The weight packed once (deepspg_conv2d_pack_weight_f32) gives the same bits.
// Grouped convolutions (deepspg_conv2d_forward_grouped_cpu_f32) against a grouped reference.
#include <cmath>
#include <cstring>
#include <string>

#include <omp.h>

#include "test_common.h"

namespace {

/** Selects `isa`; false (and a skip line naming `what`) when this CPU or build lacks it. */
bool select_or_skip(int32_t isa, const char* what) {
  if (deepspg_conv2d_select_isa(isa) == DEEPSPG_OK) return true;
  std::printf("skip %s: %s\n", what, deepspg_last_error());
  return false;
}

/** act: DEEPSPG_ACT_NONE / _RELU / _GELU; pad -1: k / 2 (the plain entry points are then checked too). */
void run_case(int64_t B, int64_t in, int64_t out, int64_t k, int64_t s, int64_t H, int64_t W, bool bias,
              bool residual, int32_t act, unsigned seed, int64_t pad = -1) {
  const bool relu = act == DEEPSPG_ACT_RELU, plain = pad < 0 && act != DEEPSPG_ACT_GELU;
  const int64_t p = pad < 0 ? k / 2 : pad, Ho = (H + 2 * p - k) / s + 1, Wo = (W + 2 * p - k) / s + 1;
  auto x = dt::randn<float>(B * in * H * W, seed), wt = dt::randn<float>(out * in * k * k, seed + 1, 0.2),
       bs = dt::randn<float>(out, seed + 2), res = dt::randn<float>(B * out * Ho * Wo, seed + 3);
  std::vector<double> want(B * out * Ho * Wo);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t o = 0; o < out; ++o)
      for (int64_t r = 0; r < Ho; ++r)
        for (int64_t c = 0; c < Wo; ++c) {
          const int64_t yi = ((b * out + o) * Ho + r) * Wo + c;
          double acc = (bias ? bs[o] : 0.0) + (residual ? res[yi] : 0.0);
          for (int64_t i = 0; i < in; ++i)
            for (int64_t u = 0; u < k; ++u)
              for (int64_t v = 0; v < k; ++v) {
                const int64_t sr = s * r + u - p, sc = s * c + v - p;
                if (sr < 0 || sr >= H || sc < 0 || sc >= W) continue;
                acc += double(wt[((o * in + i) * k + u) * k + v]) * x[((b * in + i) * H + sr) * W + sc];
              }
          want[yi] = relu                      ? std::fmax(acc, 0.0)
                     : act == DEEPSPG_ACT_GELU ? 0.5 * acc * (1 + std::erf(acc / std::sqrt(2.0)))
                                               : acc;
        }
  for (int32_t isa : {DEEPSPG_CONV2D_ISA_GENERIC, DEEPSPG_CONV2D_ISA_AVX2, DEEPSPG_CONV2D_ISA_AVX512}) {
    char what[200];
    std::snprintf(what, sizeof what,
                  "isa=%d B=%lld in=%lld out=%lld k=%lld s=%lld pad=%lld H=%lld W=%lld bias=%d res=%d act=%d", isa,
                  (long long)B, (long long)in, (long long)out, (long long)k, (long long)s, (long long)p, (long long)H,
                  (long long)W, bias, residual, act);
    if (!select_or_skip(isa, what)) continue;
    dt::expect(deepspg_conv2d_isa() == isa, "selected ISA in use");
    std::vector<float> y(want.size(), NAN);
    if (plain) {
      dt::expect_ok(deepspg_conv2d_forward_cpu_f32(x.data(), wt.data(), bias ? bs.data() : nullptr,
                                                   residual ? res.data() : nullptr, B, in, out, k, s, H, W,
                                                   relu ? 1 : 0, y.data()),
                    what);
      // float sums of in*k*k products of ~N(0, 0.2^2) terms: ~1e-6 relative to their magnitude
      dt::validate(what, y, want, 2e-5 * std::sqrt(double(in * k * k)), 1e-5);
    }
    // the weight packed once for this ISA (the selection back on another ISA: the packed forward runs its own)
    int64_t floats = -1;
    dt::expect_ok(deepspg_conv2d_packed_weight_floats(isa, out, in, k, &floats), what);
    std::vector<float> wp(floats, NAN), yp(want.size(), NAN), ye(want.size(), NAN);
    dt::expect_ok(deepspg_conv2d_pack_weight_f32(isa, wt.data(), out, in, k, wp.data()), what);
    deepspg_conv2d_select_isa(DEEPSPG_CONV2D_ISA_GENERIC);
    if (plain) {
      dt::expect_ok(deepspg_conv2d_forward_packed_cpu_f32(x.data(), isa, wp.data(), bias ? bs.data() : nullptr,
                                                          residual ? res.data() : nullptr, B, in, out, k, s, H, W,
                                                          relu ? 1 : 0, yp.data()),
                    what);
      dt::expect(std::memcmp(y.data(), yp.data(), y.size() * sizeof(float)) == 0, "packed forward bit-identical");
    }
    dt::expect_ok(deepspg_conv2d_forward_packed_ex_cpu_f32(x.data(), isa, wp.data(), bias ? bs.data() : nullptr,
                                                           residual ? res.data() : nullptr, B, in, out, k, s, p, H,
                                                           W, act, ye.data()),
                  what);
    if (plain) {
      dt::expect(std::memcmp(y.data(), ye.data(), y.size() * sizeof(float)) == 0, "_ex forward bit-identical");
    } else {
      std::string we = std::string("_ex ") + what;
      dt::validate(we.c_str(), ye, want, 2e-5 * std::sqrt(double(in * k * k)), 1e-5);
    }
    // Winograd F(4x4, 3x3) on the same ISA: its transforms add rounding (constants up to 8)
    if (k == 3 && s == 1 && p == 1 && act != DEEPSPG_ACT_GELU) {
      std::vector<float> uw, yw(want.size(), NAN);
      dt::expect_ok(deepspg_conv2d_winograd_weight_floats(isa, out, in, &floats), what);
      uw.assign(floats, NAN);
      dt::expect_ok(deepspg_conv2d_winograd_pack_weight_f32(isa, wt.data(), out, in, uw.data()), what);
      dt::expect_ok(deepspg_conv2d_winograd_forward_cpu_f32(x.data(), isa, uw.data(), bias ? bs.data() : nullptr,
                                                            residual ? res.data() : nullptr, B, in, out, H, W,
                                                            relu ? 1 : 0, yw.data()),
                    what);
      double worst = 0, scale = 1;
      for (size_t i = 0; i < want.size(); ++i) {
        worst = std::fmax(worst, std::fabs(yw[i] - want[i]));
        scale = std::fmax(scale, std::fabs(want[i]));
      }
      std::printf("winograd %s: max |err| %.2e (scale %.1f)\n", what, worst, scale);
      std::string ww = std::string("winograd ") + what;
      dt::validate(ww.c_str(), yw, want, 1e-4 * std::sqrt(double(in * k * k)), 1e-4);
    }
  }
  deepspg_conv2d_select_isa(DEEPSPG_CONV2D_ISA_AUTO);
}

/** The 1x1 weight gradient on every ISA against a double reference; bitwise the same with 1 and 2 OpenMP threads. */
void grad_case(int64_t B, int64_t in, int64_t out, int64_t hw, unsigned seed) {
  auto dy = dt::randn<float>(B * out * hw, seed), x = dt::randn<float>(B * in * hw, seed + 1);
  std::vector<double> want(out * in, 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t o = 0; o < out; ++o)
      for (int64_t i = 0; i < in; ++i) {
        double acc = 0;
        for (int64_t p = 0; p < hw; ++p) acc += double(dy[(b * out + o) * hw + p]) * x[(b * in + i) * hw + p];
        want[o * in + i] += acc;
      }
  for (int32_t isa : {DEEPSPG_CONV2D_ISA_GENERIC, DEEPSPG_CONV2D_ISA_AVX2, DEEPSPG_CONV2D_ISA_AVX512}) {
    char what[160];
    std::snprintf(what, sizeof what, "weight grad isa=%d B=%lld in=%lld out=%lld hw=%lld", isa, (long long)B,
                  (long long)in, (long long)out, (long long)hw);
    if (!select_or_skip(isa, what)) continue;
    std::vector<float> g1(out * in, NAN), g2(out * in, NAN);
    omp_set_num_threads(1);
    dt::expect_ok(deepspg_conv2d_weight_grad_1x1_cpu_f32(isa, dy.data(), x.data(), B, in, out, hw, g1.data()), what);
    omp_set_num_threads(2);
    dt::expect_ok(deepspg_conv2d_weight_grad_1x1_cpu_f32(DEEPSPG_CONV2D_ISA_AUTO, dy.data(), x.data(), B, in, out,
                                                         hw, g2.data()),
                  what);
    // sums of B*hw products of N(0, 1) terms in float per 1024-column tile: ~1e-7 * sqrt(1024) relative per tile
    dt::validate(what, g1, want, 2e-6 * std::sqrt(double(B * hw)), 1e-5);
    dt::expect(std::memcmp(g1.data(), g2.data(), g1.size() * sizeof(float)) == 0,
               "weight grad independent of the thread count");
  }
  deepspg_conv2d_select_isa(DEEPSPG_CONV2D_ISA_AUTO);
}

/** A narrow Winograd layer runs per run of tiles on each thread when there are at least two runs per thread, else it
 * transforms the whole image first: with 1 thread and with 8 the same shape takes the two paths, which must give the
 * same bits (they compute every value with the same operations). */
void winograd_paths_case(int64_t B, int64_t in, int64_t out, int64_t H, int64_t W, unsigned seed) {
  auto x = dt::randn<float>(B * in * H * W, seed), wt = dt::randn<float>(out * in * 9, seed + 1, 0.2),
       bs = dt::randn<float>(out, seed + 2), res = dt::randn<float>(B * out * H * W, seed + 3);
  for (int32_t isa : {DEEPSPG_CONV2D_ISA_GENERIC, DEEPSPG_CONV2D_ISA_AVX2, DEEPSPG_CONV2D_ISA_AVX512}) {
    char what[160];
    std::snprintf(what, sizeof what, "winograd paths isa=%d B=%lld in=%lld out=%lld %lldx%lld", isa, (long long)B,
                  (long long)in, (long long)out, (long long)H, (long long)W);
    if (!select_or_skip(isa, what)) continue;
    int64_t floats = 0;
    dt::expect_ok(deepspg_conv2d_winograd_weight_floats(isa, out, in, &floats), what);
    std::vector<float> uw(floats), y1(B * out * H * W, NAN), y8(B * out * H * W, NAN);
    dt::expect_ok(deepspg_conv2d_winograd_pack_weight_f32(isa, wt.data(), out, in, uw.data()), what);
    omp_set_num_threads(1);
    dt::expect_ok(deepspg_conv2d_winograd_forward_cpu_f32(x.data(), isa, uw.data(), bs.data(), res.data(), B, in, out,
                                                          H, W, 1, y1.data()),
                  what);
    omp_set_num_threads(8);
    dt::expect_ok(deepspg_conv2d_winograd_forward_cpu_f32(x.data(), isa, uw.data(), bs.data(), res.data(), B, in, out,
                                                          H, W, 1, y8.data()),
                  what);
    dt::expect(std::memcmp(y1.data(), y8.data(), y1.size() * sizeof(float)) == 0, what);
  }
  omp_set_num_threads(2);
  deepspg_conv2d_select_isa(DEEPSPG_CONV2D_ISA_AUTO);
}

/** A 1x1 layer whose output exceeds 32 MB stores AVX-512 tiles non-temporally when y is 64-byte aligned: the same
 * bits as the cached stores into a misaligned copy of y, on 1 and 8 threads, and the double reference's values.
 * 500x520 = 260000 positions: 4062 whole tiles and a tail of 32 (the buffer path) in each of 36 planes (37 MB). */
void stream_case(unsigned seed) {
  const int64_t in = 8, out = 36, H = 500, W = 520, hw = H * W;
  auto x = dt::randn<float>(in * hw, seed), wt = dt::randn<float>(out * in, seed + 1, 0.2),
       bs = dt::randn<float>(out, seed + 2), res = dt::randn<float>(out * hw, seed + 3);
  std::vector<double> want(out * hw);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t j = 0; j < hw; ++j) {
      double acc = bs[o] + double(res[o * hw + j]);
      for (int64_t i = 0; i < in; ++i) acc += double(wt[o * in + i]) * x[i * hw + j];
      want[o * hw + j] = std::fmax(acc, 0.0);
    }
  // 64-byte aligned storage with one spare cache line: y at +0 floats streams, y at +1 float does not
  std::vector<float> store(out * hw + 16 + 16);
  float* aligned = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(store.data()) + 63) / 64 * 64);
  for (int32_t isa : {DEEPSPG_CONV2D_ISA_AVX2, DEEPSPG_CONV2D_ISA_AVX512}) {
    char what[120];
    std::snprintf(what, sizeof what, "1x1 streaming stores isa=%d in=%lld out=%lld %lldx%lld", isa, (long long)in,
                  (long long)out, (long long)H, (long long)W);
    if (!select_or_skip(isa, what)) continue;
    std::vector<float> cached;
    for (int threads : {1, 8}) {
      for (int64_t shift : {1, 0}) {
        float* y = aligned + shift;
        std::fill(y, y + out * hw, NAN);
        omp_set_num_threads(threads);
        dt::expect_ok(deepspg_conv2d_forward_cpu_f32(x.data(), wt.data(), bs.data(), res.data(), 1, in, out, 1, 1, H,
                                                     W, 1, y),
                      what);
        std::vector<float> got(y, y + out * hw);
        if (cached.empty()) {
          dt::validate(what, got, want, 2e-5 * std::sqrt(double(in)), 1e-5);
          cached = got;
        } else {
          dt::expect(std::memcmp(got.data(), cached.data(), got.size() * sizeof(float)) == 0, what);
        }
      }
    }
  }
  omp_set_num_threads(2);
  deepspg_conv2d_select_isa(DEEPSPG_CONV2D_ISA_AUTO);
}

/**
 * The grouped entry point against a double grouped reference on every ISA (bias, residual, GELU or none), the same
 * bits on 1 and 8 threads; with groups = 1, the same bits as the dense entry point.
 */
void grouped_case(int64_t B, int64_t in, int64_t out, int64_t groups, int64_t k, int64_t H, int64_t W, bool bias,
                  bool residual, int32_t act, unsigned seed) {
  const int64_t ci = in / groups, co = out / groups, p = k / 2;
  auto x = dt::randn<float>(B * in * H * W, seed), wt = dt::randn<float>(out * ci * k * k, seed + 1, 0.2),
       bs = dt::randn<float>(out, seed + 2), res = dt::randn<float>(B * out * H * W, seed + 3);
  std::vector<double> want(B * out * H * W);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t o = 0; o < out; ++o)
      for (int64_t r = 0; r < H; ++r)
        for (int64_t c = 0; c < W; ++c) {
          const int64_t yi = ((b * out + o) * H + r) * W + c;
          double acc = (bias ? bs[o] : 0.0) + (residual ? res[yi] : 0.0);
          for (int64_t i = 0; i < ci; ++i)
            for (int64_t u = 0; u < k; ++u)
              for (int64_t v = 0; v < k; ++v) {
                const int64_t sr = r + u - p, sc = c + v - p;
                if (sr < 0 || sr >= H || sc < 0 || sc >= W) continue;
                acc += double(wt[((o * ci + i) * k + u) * k + v]) * x[((b * in + o / co * ci + i) * H + sr) * W + sc];
              }
          want[yi] = act == DEEPSPG_ACT_GELU ? 0.5 * acc * (1 + std::erf(acc / std::sqrt(2.0))) : acc;
        }
  for (int32_t isa : {DEEPSPG_CONV2D_ISA_GENERIC, DEEPSPG_CONV2D_ISA_AVX2, DEEPSPG_CONV2D_ISA_AVX512}) {
    char what[200];
    std::snprintf(what, sizeof what, "grouped isa=%d B=%lld in=%lld out=%lld groups=%lld k=%lld H=%lld W=%lld act=%d",
                  isa, (long long)B, (long long)in, (long long)out, (long long)groups, (long long)k, (long long)H,
                  (long long)W, act);
    if (!select_or_skip(isa, what)) continue;
    std::vector<float> first;
    for (int threads : {1, 8}) {
      omp_set_num_threads(threads);
      std::vector<float> y(want.size(), NAN);
      dt::expect_ok(deepspg_conv2d_forward_grouped_cpu_f32(x.data(), wt.data(), bias ? bs.data() : nullptr,
                                                           residual ? res.data() : nullptr, B, in, out, groups, k, H,
                                                           W, act, y.data()),
                    what);
      if (first.empty()) {
        dt::validate(what, y, want, 2e-5 * std::sqrt(double(ci * k * k)), 1e-5);
        first = y;
      } else {
        dt::expect(std::memcmp(y.data(), first.data(), y.size() * sizeof(float)) == 0, "grouped: any thread count");
      }
    }
    if (groups == 1 && act != DEEPSPG_ACT_GELU) {
      std::vector<float> yd(want.size(), NAN);
      dt::expect_ok(deepspg_conv2d_forward_cpu_f32(x.data(), wt.data(), bias ? bs.data() : nullptr,
                                                   residual ? res.data() : nullptr, B, in, out, k, 1, H, W, 0,
                                                   yd.data()),
                    what);
      dt::expect(std::memcmp(yd.data(), first.data(), yd.size() * sizeof(float)) == 0, "groups = 1: dense bits");
    }
  }
  omp_set_num_threads(2);
  deepspg_conv2d_select_isa(DEEPSPG_CONV2D_ISA_AUTO);
}

}  // namespace

int main() {
  run_case(1, 3, 5, 3, 1, 7, 9, true, false, DEEPSPG_ACT_NONE, 1);
  run_case(2, 16, 13, 3, 1, 19, 13, true, true, DEEPSPG_ACT_RELU, 2);  // HRNet's narrowest rows; 13 = 2*6 + 1 = 3*4 + 1
  run_case(1, 48, 48, 3, 1, 26, 38, false, true, DEEPSPG_ACT_RELU, 3);    // several chunks of 384
  run_case(1, 8, 7, 3, 2, 17, 23, true, false, DEEPSPG_ACT_RELU, 4);      // stride 2, odd sizes
  run_case(2, 6, 10, 3, 2, 16, 12, false, false, DEEPSPG_ACT_NONE, 5);   // stride 2, even sizes
  run_case(1, 24, 9, 1, 1, 11, 31, true, false, DEEPSPG_ACT_RELU, 6);     // 1x1
  run_case(1, 5, 4, 1, 2, 9, 9, true, false, DEEPSPG_ACT_NONE, 7);       // 1x1 stride 2 (HRNet's downsample)
  // 1x1 layers store whole tiles' epilogues straight to y on AVX-512: full tiles, a partial one, a tail block of 1
  run_case(2, 20, 13, 1, 1, 17, 29, true, true, DEEPSPG_ACT_RELU, 19);
  run_case(1, 7, 8, 1, 2, 33, 41, false, true, DEEPSPG_ACT_NONE, 20);  // stride 2: 17x21 outputs
  run_case(1, 5, 4, 1, 2, 7, 1, true, false, DEEPSPG_ACT_NONE, 15);      // 1x1 stride 2 on one column (no odd phase)
  stream_case(21);
  run_case(1, 4, 3, 5, 1, 6, 8, true, true, DEEPSPG_ACT_NONE, 8);        // k = 5
  run_case(1, 2, 3, 3, 1, 1, 1, true, false, DEEPSPG_ACT_NONE, 9);       // 1x1 image
  run_case(1, 3, 2, 3, 2, 1, 17, false, false, DEEPSPG_ACT_RELU, 10);     // H = 1, stride 2
  run_case(1, 70, 6, 3, 1, 3, 200, true, true, DEEPSPG_ACT_RELU, 11);     // many channels, one chunk per row pair
  run_case(1, 5, 7, 3, 1, 23, 70, true, true, DEEPSPG_ACT_RELU, 12);     // Winograd: 18x6 tiles, runs span tile rows
  // Winograd per run of tiles (at least two runs per thread: 12x18 tiles, 4 runs of 64 or 5 of 48), odd sizes
  run_case(2, 5, 7, 3, 1, 45, 70, true, true, DEEPSPG_ACT_RELU, 16);
  winograd_paths_case(2, 5, 7, 45, 70, 17);
  winograd_paths_case(1, 48, 20, 37, 61, 18);  // 10x16 tiles: 3 runs of 64
  // Winograd of wide layers (more than 128*128 channel pairs: AVX-512's 24 x 16 kernel): 20 tiles with 130 outputs
  // (a tail block of 10), then 342 tiles (two runs of at most 256) with 2 batch items
  run_case(1, 136, 130, 3, 1, 13, 19, true, true, DEEPSPG_ACT_RELU, 13);
  run_case(2, 129, 129, 3, 1, 70, 75, true, false, DEEPSPG_ACT_NONE, 14);
  // grouped: the illumination estimator's 5x5 with 4 groups of 5 (5 of a 6-output block), several chunks, batch 2;
  // 3x3 with 2 groups of 7 outputs (a block and a tail); 1x1 grouped (the in-place path, its tail tile); groups = 1
  grouped_case(2, 20, 20, 4, 5, 21, 37, true, false, DEEPSPG_ACT_NONE, 22);
  grouped_case(1, 6, 14, 2, 3, 9, 11, true, true, DEEPSPG_ACT_GELU, 23);
  grouped_case(2, 8, 12, 4, 1, 7, 13, false, true, DEEPSPG_ACT_NONE, 24);
  grouped_case(1, 5, 7, 1, 3, 8, 10, true, true, DEEPSPG_ACT_NONE, 25);
  std::vector<float> zg(64);
  dt::expect(deepspg_conv2d_forward_grouped_cpu_f32(zg.data(), zg.data(), nullptr, nullptr, 1, 6, 4, 4, 3, 2, 2, 0,
                                                    zg.data()) == DEEPSPG_ERR_INVALID_ARGUMENT,
             "channels not divisible by groups refused");
  dt::expect(deepspg_conv2d_forward_grouped_cpu_f32(zg.data(), zg.data(), nullptr, nullptr, 1, 4, 4, 0, 3, 2, 2, 0,
                                                    zg.data()) == DEEPSPG_ERR_INVALID_ARGUMENT,
             "groups = 0 refused");
  // bad geometry is refused with a message
  std::vector<float> z(16);
  dt::expect(deepspg_conv2d_forward_cpu_f32(z.data(), z.data(), nullptr, nullptr, 1, 1, 1, 2, 1, 2, 2, 0, z.data()) ==
                 DEEPSPG_ERR_INVALID_ARGUMENT,
             "even k refused");
  dt::expect(deepspg_conv2d_forward_cpu_f32(z.data(), z.data(), nullptr, nullptr, 1, 1, 1, 3, 3, 2, 2, 0, z.data()) ==
                 DEEPSPG_ERR_INVALID_ARGUMENT,
             "stride 3 refused");
  dt::expect(deepspg_conv2d_select_isa(42) == DEEPSPG_ERR_INVALID_ARGUMENT, "unknown ISA refused");
  int64_t floats = 0;
  dt::expect(deepspg_conv2d_packed_weight_floats(42, 1, 1, 3, &floats) == DEEPSPG_ERR_INVALID_ARGUMENT,
             "packing for an unknown ISA refused");
  dt::expect(deepspg_conv2d_pack_weight_f32(DEEPSPG_CONV2D_ISA_AUTO, z.data(), 1, 1, 0, z.data()) ==
                 DEEPSPG_ERR_INVALID_ARGUMENT,
             "packing k = 0 refused");
  dt::expect(deepspg_conv2d_forward_packed_ex_cpu_f32(z.data(), DEEPSPG_CONV2D_ISA_GENERIC, z.data(), nullptr,
                                                      nullptr, 1, 1, 1, 2, 1, 2, 2, 2, DEEPSPG_ACT_NONE, z.data()) ==
                 DEEPSPG_ERR_INVALID_ARGUMENT,
             "pad >= k refused");
  dt::expect(deepspg_conv2d_forward_packed_ex_cpu_f32(z.data(), DEEPSPG_CONV2D_ISA_GENERIC, z.data(), nullptr,
                                                      nullptr, 1, 1, 1, 1, 1, 0, 2, 2, 7, z.data()) ==
                 DEEPSPG_ERR_INVALID_ARGUMENT,
             "unknown activation refused");
  run_case(1, 20, 40, 4, 2, 26, 38, false, false, DEEPSPG_ACT_NONE, 14, 1);  // DeepSPG's down-sampling 4x4/2, pad 1
  run_case(2, 7, 5, 4, 2, 9, 13, true, true, DEEPSPG_ACT_RELU, 15, 1);     // odd sizes, batch 2
  run_case(1, 20, 80, 1, 1, 17, 45, false, false, DEEPSPG_ACT_GELU, 16);   // IGAB's 1x1 d -> 4d with its GELU
  run_case(1, 6, 11, 3, 1, 12, 20, true, true, DEEPSPG_ACT_GELU, 17, 0);   // 3x3 "valid" (pad 0), GELU
  dt::expect(deepspg_conv2d_forward_packed_cpu_f32(z.data(), 42, z.data(), nullptr, nullptr, 1, 1, 1, 1, 1, 2, 2, 0,
                                                   z.data()) == DEEPSPG_ERR_INVALID_ARGUMENT,
             "packed forward on an unknown ISA refused");
  // HRNet-W48's first branch at 608x416: 988 tiles
  run_case(1, 48, 48, 3, 1, 104, 152, true, true, DEEPSPG_ACT_RELU, 12);
  run_case(1, 384, 20, 3, 1, 13, 19, true, false, DEEPSPG_ACT_RELU, 13);   // its fourth: 20 tiles, 384 channels
  dt::expect(deepspg_conv2d_winograd_weight_floats(DEEPSPG_CONV2D_ISA_GENERIC, 0, 5, &floats) ==
                 DEEPSPG_ERR_INVALID_ARGUMENT,
             "Winograd weight without outputs refused");
  dt::expect(deepspg_conv2d_winograd_forward_cpu_f32(z.data(), 42, z.data(), nullptr, nullptr, 1, 1, 1, 2, 2, 0,
                                                     z.data()) == DEEPSPG_ERR_INVALID_ARGUMENT,
             "Winograd forward on an unknown ISA refused");
  dt::expect(deepspg_conv2d_winograd_forward_cpu_f32(nullptr, DEEPSPG_CONV2D_ISA_GENERIC, z.data(), nullptr, nullptr,
                                                     1, 1, 1, 2, 2, 0, z.data()) != DEEPSPG_OK,
             "Winograd forward without x refused");
  dt::expect_ok(deepspg_conv2d_winograd_weight_floats(DEEPSPG_CONV2D_ISA_GENERIC, 13, 5, &floats), "size");
  dt::expect(floats == 36 * 4 * 5 * 4, "generic Winograd packing: 36 1x1 weights of 13 outputs in 4 blocks of 4");
  dt::expect_ok(deepspg_conv2d_packed_weight_floats(DEEPSPG_CONV2D_ISA_GENERIC, 13, 5, 3, &floats), "size");
  dt::expect(floats == 4 * 5 * 9 * 4, "generic packing: 13 outputs in 4 blocks of 4");
  // the 1x1 weight gradient: tails of the 5x5 blocks and of 16 lanes, several tiles and chunks, DeepSPG's shapes
  grad_case(1, 1, 1, 1, 20);
  grad_case(3, 7, 13, 37, 21);
  grad_case(2, 11, 9, 2500, 22);    // 3 tiles per item, the last one partial
  grad_case(4, 20, 80, 4096, 23);   // IGAB's d -> 4d at L0 on 64x64 crops: 16 units in 16 chunks
  grad_case(9, 6, 4, 1030, 24);     // 18 units in 16 chunks
  grad_case(1, 80, 320, 64, 25);
  {
    std::vector<float> g(6, NAN);
    dt::expect_ok(deepspg_conv2d_weight_grad_1x1_cpu_f32(DEEPSPG_CONV2D_ISA_AUTO, nullptr, nullptr, 0, 2, 3, 5,
                                                         g.data()),
                  "weight grad of an empty batch");
    dt::expect(g[0] == 0.0f && g[5] == 0.0f, "weight grad of an empty batch is zero");
    dt::expect(deepspg_conv2d_weight_grad_1x1_cpu_f32(DEEPSPG_CONV2D_ISA_AUTO, g.data(), g.data(), 1, 0, 3, 5,
                                                      g.data()) == DEEPSPG_ERR_INVALID_ARGUMENT,
               "weight grad without input channels refused");
    dt::expect(deepspg_conv2d_weight_grad_1x1_cpu_f32(42, g.data(), g.data(), 1, 1, 1, 1, g.data()) ==
                   DEEPSPG_ERR_INVALID_ARGUMENT,
               "weight grad on an unknown ISA refused");
  }
  return dt::finish("conv2d_direct");
}
