// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// deepspg_upsample_bilinear_sum_cpu_f32 against a double reference of PyTorch's upsample_bilinear2d formula (the
// Java test compares with libtorch itself): up- and down-sampling, odd sizes, both align_corners settings, base
// absent / present / in place, ReLU, n = 0, 1 vs 2 threads bitwise, bad arguments.
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "deepspg/kernels.h"
#include "test_common.h"

namespace {

/** Source index and weights of output index d (float, as libtorch computes them). */
void source(int64_t in, int64_t out, bool align, int64_t d, int64_t* i0, int64_t* i1, double* l0, double* l1) {
  const float scale = align ? (out > 1 ? float(in - 1) / float(out - 1) : 0.0f) : float(in) / float(out);
  const float s = align ? scale * float(d) : std::fmax(scale * (float(d) + 0.5f) - 0.5f, 0.0f);
  const int64_t i = std::min<int64_t>(int64_t(std::floor(s)), in - 1);
  const float w1 = std::fmin(std::fmax(s - float(i), 0.0f), 1.0f);
  *i0 = i;
  *i1 = i + (i < in - 1 ? 1 : 0);
  *l1 = w1;
  *l0 = 1.0f - w1;
}

void run_case(int64_t planes, int64_t ho, int64_t wo, std::vector<std::pair<int64_t, int64_t>> maps, bool align,
              int base_mode /* 0 none, 1 separate, 2 in place */, bool relu, unsigned seed) {
  char what[200];
  std::snprintf(what, sizeof what, "upsample_sum planes=%lld out=%lldx%lld maps=%zu align=%d base=%d relu=%d",
                (long long)planes, (long long)ho, (long long)wo, maps.size(), align, base_mode, relu);
  std::vector<std::vector<float>> z;
  std::vector<const float*> zp;
  std::vector<int64_t> sizes;
  for (size_t j = 0; j < maps.size(); ++j) {
    z.push_back(dt::randn<float>(planes * maps[j].first * maps[j].second, seed + 1 + unsigned(j)));
    sizes.push_back(maps[j].first);
    sizes.push_back(maps[j].second);
  }
  for (auto& v : z) zp.push_back(v.data());
  auto base = dt::randn<float>(planes * ho * wo, seed);
  std::vector<double> want(planes * ho * wo);
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t y = 0; y < ho; ++y)
      for (int64_t x = 0; x < wo; ++x) {
        double v = base_mode ? base[(p * ho + y) * wo + x] : 0.0;
        for (size_t j = 0; j < maps.size(); ++j) {
          const int64_t hj = maps[j].first, wj = maps[j].second;
          int64_t r0, r1, c0, c1;
          double h0, h1, w0, w1;
          source(hj, ho, align, y, &r0, &r1, &h0, &h1);
          source(wj, wo, align, x, &c0, &c1, &w0, &w1);
          const float* s = z[j].data() + p * hj * wj;
          v += (s[r0 * wj + c0] * w0 + s[r0 * wj + c1] * w1) * h0 + (s[r1 * wj + c0] * w0 + s[r1 * wj + c1] * w1) * h1;
        }
        want[(p * ho + y) * wo + x] = relu && v < 0 ? 0.0 : v;
      }
  std::vector<float> out1(want.size(), NAN), out2;
  const int32_t n = int32_t(maps.size());
  omp_set_num_threads(1);
  if (base_mode == 2) {
    out1 = base;
    dt::expect_ok(deepspg_upsample_bilinear_sum_cpu_f32(out1.data(), n, zp.data(), sizes.data(), planes, ho, wo,
                                                        align, relu, out1.data()),
                  what);
  } else {
    dt::expect_ok(deepspg_upsample_bilinear_sum_cpu_f32(base_mode ? base.data() : nullptr, n, zp.data(),
                                                        sizes.data(), planes, ho, wo, align, relu, out1.data()),
                  what);
  }
  omp_set_num_threads(2);
  out2.assign(want.size(), NAN);
  dt::expect_ok(deepspg_upsample_bilinear_sum_cpu_f32(base_mode ? base.data() : nullptr, n, zp.data(), sizes.data(),
                                                      planes, ho, wo, align, relu, out2.data()),
                what);
  // a few float roundings per term on values of a few units
  dt::validate(what, out1, want, 2e-6 * (1 + double(maps.size())), 1e-6);
  dt::expect(std::memcmp(out1.data(), out2.data(), out1.size() * sizeof(float)) == 0,
             "upsample_sum independent of the thread count (and in place = separate output)");
}

}  // namespace

int main() {
  for (bool align : {false, true}) {
    // HRNet's head at 70x90 input: branches 9x12, 5x6, 3x3 onto 18x23
    run_case(7, 18, 23, {{9, 12}, {5, 6}, {3, 3}}, align, 0, false, 1);
    // a fuse layer: base + two coarser maps, ReLU; exact 2x and 4x
    run_case(5, 16, 24, {{8, 12}, {4, 6}}, align, 1, true, 2);
    run_case(3, 13, 19, {{7, 10}}, align, 2, true, 3);                   // in place, odd sizes
    run_case(2, 5, 4, {{9, 11}, {5, 4}}, align, 1, false, 4);            // down-sampling and an identity map
    run_case(2, 1, 1, {{3, 5}}, align, 1, false, 5);                     // a 1x1 output (scale 0 with align)
    run_case(3, 6, 7, {{1, 1}}, align, 0, true, 6);                      // a 1x1 map: a constant
    run_case(4, 6, 7, {}, align, 1, true, 7);                            // no maps: ReLU(base)
    run_case(40, 40, 50, {{20, 25}, {10, 13}}, align, 1, true, 8);       // enough work for two threads
    run_case(2, 3, 5, {{700, 4}, {2, 900}}, align, 1, false, 9);         // a tall map to 3 rows, a wide one to 5
    // a tall map onto a wide output: the row buffers hold the 1-2 source rows read (were 100000 x 100000 floats:
    // std::bad_alloc inside the parallel region, std::terminate)
    run_case(1, 1, 100000, {{100000, 1}}, align, 0, false, 10);
  }
  // bad arguments are refused with a message
  std::vector<float> buf(64);
  const float* zp[1] = {buf.data()};
  const int64_t good[2] = {2, 2}, bad[2] = {0, 2};
  dt::expect(deepspg_upsample_bilinear_sum_cpu_f32(nullptr, 1, zp, bad, 1, 4, 4, 0, 0, buf.data()) ==
                 DEEPSPG_ERR_INVALID_ARGUMENT,
             "an empty map refused");
  dt::expect(deepspg_upsample_bilinear_sum_cpu_f32(nullptr, 1, zp, good, 1, 0, 4, 0, 0, buf.data()) ==
                 DEEPSPG_ERR_INVALID_ARGUMENT,
             "an empty output refused");
  dt::expect(deepspg_upsample_bilinear_sum_cpu_f32(nullptr, 1, nullptr, good, 1, 4, 4, 0, 0, buf.data()) ==
                 DEEPSPG_ERR_INVALID_ARGUMENT,
             "no map pointers refused");
  dt::expect(deepspg_upsample_bilinear_sum_cpu_f32(nullptr, 1, zp, good, 1, 4, 4, 0, 0, nullptr) ==
                 DEEPSPG_ERR_INVALID_ARGUMENT,
             "no output refused");
  dt::expect_ok(deepspg_upsample_bilinear_sum_cpu_f32(nullptr, 1, zp, good, 0, 4, 4, 0, 0, nullptr), "0 planes");
  return dt::finish("upsample_sum");
}
