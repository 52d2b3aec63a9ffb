// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Grouped k x k "same" convolution: CPU (double and float) against a naive double reference written as a scatter
// (each input pixel sends w * value to the outputs it touches, so dx is not computed as the kernel's transposed conv).
// Geometries: the estimator's 5x5 with 4 groups, dense 3x3 (3 -> 8, 8 -> 3), k = 1, depthwise, H or W = 1, and
// H > 16 (several row bands).
#include <cmath>

#include "test_common.h"

namespace {

void run_case(int64_t B, int64_t in, int64_t out, int64_t G, int64_t k, int64_t H, int64_t W, bool bias,
              unsigned seed) {
  std::printf("-- conv_same B=%lld in=%lld out=%lld groups=%lld k=%lld H=%lld W=%lld bias=%d\n", (long long)B,
              (long long)in, (long long)out, (long long)G, (long long)k, (long long)H, (long long)W, bias ? 1 : 0);
  const int64_t ci = in / G, co = out / G, p = k / 2, hw = H * W;
  auto x = dt::randn<double>(B * in * hw, seed), wt = dt::randn<double>(out * ci * k * k, seed + 1, 0.3),
       bs = dt::randn<double>(out, seed + 2), dy = dt::randn<double>(B * out * hw, seed + 3);
  std::vector<double> y(B * out * hw, 0), dx(B * in * hw, 0), dw(out * ci * k * k, 0), db(out, 0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t o = 0; o < out; ++o) {
      const int64_t g = o / co;
      for (int64_t r = 0; r < H; ++r)
        for (int64_t c = 0; c < W; ++c) {
          y[(b * out + o) * hw + r * W + c] += bias ? bs[o] : 0.0;
          db[o] += dy[(b * out + o) * hw + r * W + c];
        }
      for (int64_t i = 0; i < ci; ++i)
        for (int64_t sr = 0; sr < H; ++sr)
          for (int64_t sc = 0; sc < W; ++sc)
            for (int64_t u = 0; u < k; ++u)
              for (int64_t v = 0; v < k; ++v) {
                const int64_t r = sr - u + p, c = sc - v + p;  // x[sr][sc] feeds y[r][c] through tap (u, v)
                if (r < 0 || r >= H || c < 0 || c >= W) continue;
                const int64_t xi = (b * in + g * ci + i) * hw + sr * W + sc, yi = (b * out + o) * hw + r * W + c;
                const int64_t wi = ((o * ci + i) * k + u) * k + v;
                y[yi] += wt[wi] * x[xi];
                dx[xi] += wt[wi] * dy[yi];
                dw[wi] += x[xi] * dy[yi];
              }
    }
  std::vector<double> y64(y.size()), dx64(dx.size()), dw64(dw.size()), db64(out);
  dt::expect_ok(deepspg_conv_same_forward_cpu_f64(x.data(), wt.data(), bias ? bs.data() : nullptr, B, in, out, G, k, H,
                                                  W, y64.data()),
                "fwd f64");
  dt::expect_ok(deepspg_conv_same_backward_cpu_f64(dy.data(), x.data(), wt.data(), B, in, out, G, k, H, W, dx64.data(),
                                                   dw64.data(), db64.data()),
                "bwd f64");
  dt::validate("y f64", y64, y, 1e-12, 1e-12);
  dt::validate("dx f64", dx64, dx, 1e-12, 1e-12);
  dt::validate("dweight f64", dw64, dw, 1e-10, 1e-12);
  dt::validate("dbias f64", db64, db, 1e-10, 1e-12);
  // float: sums of ci*k*k (<= 125) products per output (~1e-6 relative) and of B*H*W for the weight gradient.
  std::vector<float> xf(x.begin(), x.end()), wf(wt.begin(), wt.end()), bf(bs.begin(), bs.end()),
      dyf(dy.begin(), dy.end()), yf(y.size()), dxf(dx.size()), dwf(dw.size()), dbf(out);
  dt::expect_ok(deepspg_conv_same_forward_cpu_f32(xf.data(), wf.data(), bias ? bf.data() : nullptr, B, in, out, G, k, H,
                                                  W, yf.data()),
                "fwd f32");
  dt::expect_ok(deepspg_conv_same_backward_cpu_f32(dyf.data(), xf.data(), wf.data(), B, in, out, G, k, H, W, dxf.data(),
                                                   dwf.data(), dbf.data()),
                "bwd f32");
  dt::validate("y f32", yf, y, 1e-5, 1e-5);
  dt::validate("dx f32", dxf, dx, 1e-5, 1e-5);
  dt::validate("dweight f32", dwf, dw, 1e-4, 1e-5);
  dt::validate("dbias f32", dbf, db, 1e-4, 1e-5);
}

}  // namespace

int main() {
  unsigned seed = 3;
  run_case(2, 8, 8, 4, 5, 7, 9, true, seed += 5);    // estimator-like: 5x5, 4 groups, bias
  run_case(1, 20, 20, 4, 5, 37, 23, true, seed += 5);
  run_case(1, 3, 8, 1, 3, 19, 11, false, seed += 5);  // embedding-like
  run_case(2, 8, 3, 1, 3, 6, 5, false, seed += 5);    // mapping-like
  run_case(1, 4, 6, 2, 1, 3, 4, true, seed += 5);     // k = 1
  run_case(1, 5, 5, 5, 3, 4, 4, false, seed += 5);    // depthwise
  run_case(1, 4, 4, 1, 5, 1, 7, true, seed += 5);     // H = 1
  run_case(1, 4, 4, 2, 3, 6, 1, true, seed += 5);     // W = 1
  run_case(1, 2, 2, 1, 5, 3, 3, false, seed += 5);    // kernel larger than the image
  float v = 0;
  dt::expect(deepspg_conv_same_forward_cpu_f32(&v, &v, nullptr, 1, 3, 4, 2, 3, 1, 1, &v) == DEEPSPG_ERR_INVALID_ARGUMENT,
             "channels not divisible by groups rejected");
  dt::expect(deepspg_conv_same_forward_cpu_f32(&v, &v, nullptr, 1, 1, 1, 1, 4, 1, 1, &v) == DEEPSPG_ERR_INVALID_ARGUMENT,
             "even k rejected");
  return dt::finish("conv_same_test");
}
