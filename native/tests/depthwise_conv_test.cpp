// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Depthwise 3x3 convolution (+ optional GELU): CPU (double and float) against a naive double reference written as a
// scatter (every input pixel sends k * value to the outputs it touches, so the backward is not the kernel's
// flipped-stencil formulation), CUDA against CPU when a GPU is present. Sizes cover H or W = 1, C = 1, odd sizes and
// H > 16 (several row bands per plane). The pair (IG-MSA's positional branch + residual) against the chain of single
// calls, bit for bit. The dilated and strided forward against a naive double gather.
#include <cmath>

#include <omp.h>

#include <cstring>

#include "test_common.h"

namespace {

double gelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }
double gelu_grad(double x) {
  return 0.5 * (1.0 + std::erf(x / std::sqrt(2.0))) + x * std::exp(-0.5 * x * x) / std::sqrt(2.0 * M_PI);
}

struct Ref {
  std::vector<double> pre, y, dx, dw;
};

Ref reference(const std::vector<double>& x, const std::vector<double>& k, const std::vector<double>& dy, int64_t B,
              int64_t C, int64_t H, int64_t W, int act) {
  Ref r;
  const int64_t hw = H * W;
  r.pre.assign(B * C * hw, 0.0);
  r.dx.assign(B * C * hw, 0.0);
  r.dw.assign(C * 9, 0.0);
  for (int64_t p = 0; p < B * C; ++p) {
    const int64_t c = p % C;
    for (int64_t sy = 0; sy < H; ++sy)
      for (int64_t sx = 0; sx < W; ++sx)
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 3; ++j) {
            const int64_t oy = sy - i + 1, ox = sx - j + 1;  // x[sy][sx] feeds out[oy][ox] through tap (i, j)
            if (oy < 0 || oy >= H || ox < 0 || ox >= W) continue;
            r.pre[p * hw + oy * W + ox] += k[c * 9 + i * 3 + j] * x[p * hw + sy * W + sx];
          }
  }
  r.y = r.pre;
  std::vector<double> g = dy;
  if (act == DEEPSPG_ACT_GELU)
    for (size_t e = 0; e < g.size(); ++e) r.y[e] = gelu(r.pre[e]), g[e] = dy[e] * gelu_grad(r.pre[e]);
  for (int64_t p = 0; p < B * C; ++p) {
    const int64_t c = p % C;
    for (int64_t sy = 0; sy < H; ++sy)
      for (int64_t sx = 0; sx < W; ++sx)
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 3; ++j) {
            const int64_t oy = sy - i + 1, ox = sx - j + 1;
            if (oy < 0 || oy >= H || ox < 0 || ox >= W) continue;
            const double go = g[p * hw + oy * W + ox];
            r.dx[p * hw + sy * W + sx] += k[c * 9 + i * 3 + j] * go;
            r.dw[c * 9 + i * 3 + j] += x[p * hw + sy * W + sx] * go;
          }
  }
  return r;
}

void run_case(int64_t B, int64_t C, int64_t H, int64_t W, int act, unsigned seed) {
  std::printf("-- dwconv3x3 B=%lld C=%lld H=%lld W=%lld act=%d\n", (long long)B, (long long)C, (long long)H,
              (long long)W, act);
  const int64_t n = B * C * H * W;
  auto x = dt::randn<double>(n, seed), k = dt::randn<double>(C * 9, seed + 1, 0.5), dy = dt::randn<double>(n, seed + 2);
  const Ref r = reference(x, k, dy, B, C, H, W, act);

  std::vector<double> y(n), pre(n), dx(n), dw(C * 9);
  dt::expect_ok(deepspg_dwconv3x3_forward_cpu_f64(x.data(), k.data(), B, C, H, W, act, y.data(), pre.data()), "fwd f64");
  dt::expect_ok(deepspg_dwconv3x3_backward_cpu_f64(dy.data(), x.data(), k.data(), pre.data(), B, C, H, W, act,
                                                   dx.data(), dw.data()),
                "bwd f64");
  dt::validate("y f64", y, r.y, 1e-12, 1e-12);
  if (act == DEEPSPG_ACT_GELU) dt::validate("pre f64", pre, r.pre, 1e-12, 1e-12);
  dt::validate("dx f64", dx, r.dx, 1e-12, 1e-12);
  dt::validate("dweight f64", dw, r.dw, 1e-10, 1e-12);

  // float: 9-term stencils of O(1) values (~1e-6 relative), the GELU approximation (< 5e-7 abs on erf) and dweight
  // sums over B*H*W terms accumulated per row in float (~sqrt(W) ulp) and in double across rows.
  std::vector<float> xf(x.begin(), x.end()), kf(k.begin(), k.end()), dyf(dy.begin(), dy.end()), yf(n), pref(n),
      dxf(n), dwf(C * 9);
  dt::expect_ok(deepspg_dwconv3x3_forward_cpu_f32(xf.data(), kf.data(), B, C, H, W, act, yf.data(), pref.data()),
                "fwd f32");
  dt::expect_ok(deepspg_dwconv3x3_backward_cpu_f32(dyf.data(), xf.data(), kf.data(), pref.data(), B, C, H, W, act,
                                                   dxf.data(), dwf.data()),
                "bwd f32");
  dt::validate("y f32", yf, r.y, 1e-5, 1e-5);
  dt::validate("dx f32", dxf, r.dx, 1e-5, 1e-5);
  dt::validate("dweight f32", dwf, r.dw, 1e-4, 1e-5);
  // The inference form (no pre buffer) gives the same output.
  std::vector<float> y2(n);
  dt::expect_ok(deepspg_dwconv3x3_forward_cpu_f32(xf.data(), kf.data(), B, C, H, W, act, y2.data(), nullptr),
                "fwd f32 no pre");
  dt::validate("y f32 without pre", y2, yf, 0, 0);

#if DEEPSPG_TEST_CUDA
  if (dt::have_gpu()) {
    dt::DeviceBuffer<float> X(xf), K(kf), DY(dyf), Y(n), P(n), DX(n), DW(C * 9);
    dt::expect_ok(deepspg_dwconv3x3_forward_cuda_f32(X.ptr, K.ptr, B, C, H, W, act, Y.ptr, P.ptr, nullptr), "cuda fwd");
    dt::DeviceBuffer<unsigned char> WS(static_cast<size_t>(deepspg_dwconv3x3_workspace_bytes(B, C, H, W)));
    dt::expect_ok(deepspg_dwconv3x3_backward_cuda_f32(DY.ptr, X.ptr, K.ptr, P.ptr, B, C, H, W, act, DX.ptr, DW.ptr,
                                                      WS.ptr, nullptr),
                  "cuda bwd");
    dt::validate("cuda y", Y.get(), yf, 1e-5, 1e-5);
    dt::validate("cuda dx", DX.get(), dxf, 1e-5, 1e-5);
    dt::validate("cuda dweight", DW.get(), dwf, 1e-4, 1e-5);
    // The dx-only and dweight-only variants (separate kernel instantiations) give the same values.
    dt::DeviceBuffer<float> DX2(n), DW2(C * 9);
    dt::expect_ok(deepspg_dwconv3x3_backward_cuda_f32(DY.ptr, nullptr, K.ptr, P.ptr, B, C, H, W, act, DX2.ptr,
                                                      nullptr, nullptr, nullptr),
                  "cuda bwd dx only");
    dt::expect_ok(deepspg_dwconv3x3_backward_cuda_f32(DY.ptr, X.ptr, K.ptr, P.ptr, B, C, H, W, act, nullptr, DW2.ptr,
                                                      WS.ptr, nullptr),
                  "cuda bwd dweight only");
    dt::validate("cuda dx only", DX2.get(), DX.get(), 0, 0);
    dt::validate("cuda dweight only", DW2.get(), DW.get(), 0, 0);
    dt::expect(deepspg_dwconv3x3_backward_cuda_f32(DY.ptr, X.ptr, K.ptr, P.ptr, B, C, H, W, act, nullptr, DW2.ptr,
                                                   nullptr, nullptr) == DEEPSPG_ERR_INVALID_ARGUMENT,
               "cuda dweight without workspace rejected");
  } else {
    std::printf("skip cuda (no GPU)\n");
  }
#endif
}

void bad_arguments() {
  float v = 0;
  dt::expect(deepspg_dwconv3x3_forward_cpu_f32(&v, &v, 1, 1, -1, 1, 0, &v, nullptr) == DEEPSPG_ERR_INVALID_ARGUMENT,
             "negative size rejected");
  dt::expect(deepspg_dwconv3x3_forward_cpu_f32(&v, &v, 1, 1, 1, 1, 7, &v, nullptr) == DEEPSPG_ERR_INVALID_ARGUMENT,
             "unknown activation rejected");
  dt::expect(deepspg_dwconv3x3_forward_cpu_f32(nullptr, &v, 1, 1, 1, 1, 0, &v, nullptr) == DEEPSPG_ERR_INVALID_ARGUMENT,
             "null x rejected");
  dt::expect(deepspg_dwconv3x3_backward_cpu_f32(&v, &v, &v, nullptr, 1, 1, 1, 1, 1, &v, &v) ==
                 DEEPSPG_ERR_INVALID_ARGUMENT,
             "gelu backward without pre rejected");
  dt::expect_ok(deepspg_dwconv3x3_forward_cpu_f32(nullptr, nullptr, 0, 3, 4, 4, 0, nullptr, nullptr), "empty batch");
}

/**
 * The pair y = dw(gelu(dw(x; k1)); k2) + residual against the chain of two single calls and a float add: the same
 * bits, on 1 and 8 threads (bands of 32 rows: shapes with several bands and partial last ones).
 */
void pair_case(int64_t B, int64_t C, int64_t H, int64_t W, bool residual, unsigned seed) {
  const int64_t n = B * C * H * W;
  auto x = dt::randn<float>(n, seed), k1 = dt::randn<float>(C * 9, seed + 1, 0.4),
       k2 = dt::randn<float>(C * 9, seed + 2, 0.4), res = dt::randn<float>(n, seed + 3);
  std::vector<float> t(n), want(n);
  dt::expect_ok(deepspg_dwconv3x3_forward_cpu_f32(x.data(), k1.data(), B, C, H, W, DEEPSPG_ACT_GELU, t.data(),
                                                  nullptr),
                "pair: chain, first");
  dt::expect_ok(deepspg_dwconv3x3_forward_cpu_f32(t.data(), k2.data(), B, C, H, W, DEEPSPG_ACT_NONE, want.data(),
                                                  nullptr),
                "pair: chain, second");
  if (residual) {
    for (int64_t i = 0; i < n; ++i) want[i] = want[i] + res[i];
  }
  char what[120];
  std::snprintf(what, sizeof what, "pair B=%lld C=%lld H=%lld W=%lld residual=%d", (long long)B, (long long)C,
                (long long)H, (long long)W, residual);
  for (int threads : {1, 8}) {
    omp_set_num_threads(threads);
    std::vector<float> y(n, NAN);
    dt::expect_ok(deepspg_dwconv3x3_pair_forward_cpu_f32(x.data(), k1.data(), k2.data(),
                                                         residual ? res.data() : nullptr, B, C, H, W, y.data()),
                  what);
    dt::expect(std::memcmp(y.data(), want.data(), n * sizeof(float)) == 0, what);
  }
  omp_set_num_threads(2);
}

/** The dilated, strided forward (ESPNetv2's EESP branches) against a naive double gather; 1 and 8 threads alike. */
void dilated_case(int64_t B, int64_t C, int64_t H, int64_t W, int64_t d, int64_t s, unsigned seed) {
  const int64_t Ho = (H - 1) / s + 1, Wo = (W - 1) / s + 1;
  auto x = dt::randn<float>(B * C * H * W, seed);
  auto k = dt::randn<float>(C * 9, seed + 1, 0.4);
  std::vector<double> want(B * C * Ho * Wo, 0.0);
  for (int64_t p = 0; p < B * C; ++p)
    for (int64_t i = 0; i < Ho; ++i)
      for (int64_t j = 0; j < Wo; ++j)
        for (int64_t a = 0; a < 3; ++a)
          for (int64_t e = 0; e < 3; ++e) {
            const int64_t r = i * s + (a - 1) * d, c = j * s + (e - 1) * d;
            if (r < 0 || r >= H || c < 0 || c >= W) continue;
            want[(p * Ho + i) * Wo + j] +=
                static_cast<double>(k[(p % C) * 9 + a * 3 + e]) * static_cast<double>(x[(p * H + r) * W + c]);
          }
  char what[120];
  std::snprintf(what, sizeof what, "dilated B=%lld C=%lld H=%lld W=%lld d=%lld s=%lld", (long long)B, (long long)C,
                (long long)H, (long long)W, (long long)d, (long long)s);
  std::vector<float> first;
  for (int threads : {1, 8}) {
    omp_set_num_threads(threads);
    std::vector<float> y(want.size(), NAN);
    dt::expect_ok(deepspg_dwconv3x3_dilated_forward_cpu_f32(x.data(), k.data(), B, C, H, W, d, s, y.data()), what);
    if (first.empty()) {
      dt::validate(what, y, want, 1e-5, 1e-5);
      first = y;
    } else {
      dt::expect(std::memcmp(y.data(), first.data(), y.size() * sizeof(float)) == 0, what);
    }
  }
  omp_set_num_threads(2);
  float v = 0;
  dt::expect(deepspg_dwconv3x3_dilated_forward_cpu_f32(&v, &v, 1, 1, 1, 1, 0, 1, &v) == DEEPSPG_ERR_INVALID_ARGUMENT,
             "dilation 0 rejected");
  dt::expect(deepspg_dwconv3x3_dilated_forward_cpu_f32(&v, &v, 1, 1, 1, 1, 1, 3, &v) == DEEPSPG_ERR_INVALID_ARGUMENT,
             "stride 3 rejected");
}

}  // namespace

int main() {
  unsigned seed = 1;
  const int64_t shapes[][4] = {{2, 3, 5, 7}, {1, 1, 1, 1}, {1, 2, 1, 9}, {2, 2, 9, 1}, {1, 1, 2, 2},
                               {1, 4, 37, 45}, {3, 5, 17, 3}, {1, 2, 33, 64}, {2, 3, 50, 70}};
  for (const auto& s : shapes)
    for (int act : {DEEPSPG_ACT_NONE, DEEPSPG_ACT_GELU}) run_case(s[0], s[1], s[2], s[3], act, seed += 7);
  const int64_t pairs[][4] = {{1, 1, 1, 1}, {2, 3, 5, 7}, {1, 2, 1, 9}, {1, 2, 33, 64}, {2, 3, 70, 41}, {1, 4, 64, 17}};
  for (const auto& s : pairs)
    for (bool res : {false, true}) pair_case(s[0], s[1], s[2], s[3], res, seed += 7);
  // ESPNetv2's branches (d 1-4, s 1 or 2) at odd and even sizes, planes narrower than the dilation, one row / column
  const int64_t dilated[][6] = {{1, 3, 13, 18, 2, 1}, {2, 2, 13, 18, 3, 1}, {1, 2, 26, 37, 4, 1}, {1, 3, 13, 18, 1, 2},
                                {2, 2, 13, 19, 2, 2}, {1, 2, 26, 37, 3, 2}, {1, 2, 27, 40, 4, 2}, {1, 2, 3, 3, 4, 1},
                                {1, 2, 2, 5, 3, 2}, {1, 1, 1, 1, 2, 2}, {1, 2, 1, 70, 2, 2}, {1, 2, 70, 1, 3, 1},
                                {1, 4, 37, 45, 1, 1}, {1, 8, 104, 152, 2, 2}};
  for (const auto& s : dilated) dilated_case(s[0], s[1], s[2], s[3], s[4], s[5], seed += 7);
  bad_arguments();
  return dt::finish("depthwise_conv_test");
}
