// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Channel LayerNorm: CPU (double and float) against a naive per-pixel double reference (with the backward written as
// the explicit Jacobian-vector product of the normalisation), CUDA against CPU when a GPU is present. Sizes cover
// C = 1, HW = 1, HW not a multiple of the 128-pixel tile and several tiles per image.
#include <cmath>

#include "test_common.h"

namespace {

constexpr double kEps = 1e-5;

struct Ref {
  std::vector<double> y, mean, rstd, dx, dgamma, dbeta;
};

Ref reference(const std::vector<double>& x, const std::vector<double>& gamma, const std::vector<double>& beta,
              const std::vector<double>& dy, int64_t B, int64_t C, int64_t hw) {
  Ref r;
  r.y.assign(B * C * hw, 0);
  r.dx.assign(B * C * hw, 0);
  r.mean.assign(B * hw, 0);
  r.rstd.assign(B * hw, 0);
  r.dgamma.assign(C, 0);
  r.dbeta.assign(C, 0);
  std::vector<double> xh(C);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t n = 0; n < hw; ++n) {
      auto at = [&](int64_t c) { return (b * C + c) * hw + n; };
      double mu = 0, var = 0;
      for (int64_t c = 0; c < C; ++c) mu += x[at(c)];
      mu /= C;
      for (int64_t c = 0; c < C; ++c) var += (x[at(c)] - mu) * (x[at(c)] - mu);
      var /= C;
      const double rs = 1 / std::sqrt(var + kEps);
      r.mean[b * hw + n] = mu;
      r.rstd[b * hw + n] = rs;
      for (int64_t c = 0; c < C; ++c) {
        xh[c] = (x[at(c)] - mu) * rs;
        r.y[at(c)] = xh[c] * gamma[c] + beta[c];
        r.dgamma[c] += dy[at(c)] * xh[c];
        r.dbeta[c] += dy[at(c)];
      }
      // dx_i = sum_j dy_j gamma_j d xhat_j / d x_i, d xhat_j / d x_i = rs (delta_ij - 1/C - xhat_i xhat_j / C).
      for (int64_t i = 0; i < C; ++i) {
        double s = 0;
        for (int64_t j = 0; j < C; ++j)
          s += dy[at(j)] * gamma[j] * rs * ((i == j ? 1.0 : 0.0) - 1.0 / C - xh[i] * xh[j] / C);
        r.dx[at(i)] = s;
      }
    }
  return r;
}

void run_case(int64_t B, int64_t C, int64_t hw, unsigned seed) {
  std::printf("-- channel_layernorm B=%lld C=%lld HW=%lld\n", (long long)B, (long long)C, (long long)hw);
  const int64_t n = B * C * hw;
  auto x = dt::randn<double>(n, seed, 2.0), dy = dt::randn<double>(n, seed + 1);
  auto gamma = dt::randn<double>(C, seed + 2), beta = dt::randn<double>(C, seed + 3);
  for (auto& v : x) v += 0.5;  // a non-zero mean
  const Ref r = reference(x, gamma, beta, dy, B, C, hw);

  std::vector<double> y(n), mean(B * hw), rstd(B * hw), dx(n), dg(C), db(C);
  dt::expect_ok(deepspg_channel_layernorm_forward_cpu_f64(x.data(), gamma.data(), beta.data(), B, C, hw, kEps,
                                                          y.data(), mean.data(), rstd.data()),
                "fwd f64");
  dt::expect_ok(deepspg_channel_layernorm_backward_cpu_f64(dy.data(), x.data(), gamma.data(), mean.data(), rstd.data(),
                                                           B, C, hw, dx.data(), dg.data(), db.data()),
                "bwd f64");
  dt::validate("y f64", y, r.y, 1e-12, 1e-12);
  dt::validate("mean f64", mean, r.mean, 1e-12, 1e-12);
  dt::validate("rstd f64", rstd, r.rstd, 1e-12, 1e-10);
  // C = 1 makes every x - mu exactly 0 and rstd = 1/sqrt(eps) ~ 316: dx is 0 up to rounding times that factor.
  dt::validate("dx f64", dx, r.dx, 1e-9, 1e-10);
  dt::validate("dgamma f64", dg, r.dgamma, 1e-10, 1e-12);
  dt::validate("dbeta f64", db, r.dbeta, 1e-10, 1e-12);

  // float: C-term sums in float (~C ulp), rstd up to 316 for C = 1 (amplifies the rounding of x - mu), parameter
  // sums over B*HW terms per tile in float and in double across tiles.
  std::vector<float> xf(x.begin(), x.end()), gf(gamma.begin(), gamma.end()), bf(beta.begin(), beta.end()),
      dyf(dy.begin(), dy.end()), yf(n), mf(B * hw), rf(B * hw), dxf(n), dgf(C), dbf(C);
  dt::expect_ok(deepspg_channel_layernorm_forward_cpu_f32(xf.data(), gf.data(), bf.data(), B, C, hw, kEps, yf.data(),
                                                          mf.data(), rf.data()),
                "fwd f32");
  dt::expect_ok(deepspg_channel_layernorm_backward_cpu_f32(dyf.data(), xf.data(), gf.data(), mf.data(), rf.data(), B, C,
                                                           hw, dxf.data(), dgf.data(), dbf.data()),
                "bwd f32");
  dt::validate("y f32", yf, r.y, 2e-5, 1e-5);
  // dx in float loses digits where a pixel's channels nearly agree: x - mu cancels (relative error ~ eps |x| rstd)
  // and dx carries another factor rstd, so its error is ~ eps |x| rstd^2 |dy gamma|. Reference values are therefore
  // compared with that bound added per pixel (stock libtorch float LayerNorm shows the same).
  std::vector<double> bound(n);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t k = 0; k < hw; ++k) {
      double xmax = 0, gmax = 0;
      for (int64_t c = 0; c < C; ++c) {
        xmax = std::fmax(xmax, std::fabs(x[(b * C + c) * hw + k]));
        gmax = std::fmax(gmax, std::fabs(dy[(b * C + c) * hw + k] * gamma[c]));
      }
      const double rs = r.rstd[b * hw + k];
      for (int64_t c = 0; c < C; ++c) bound[(b * C + c) * hw + k] = 4 * 1.2e-7 * xmax * rs * rs * gmax;
    }
  // The same bound serves the CUDA dx below: both are float computations of an ill-conditioned quantity, so each is
  // compared with the double reference rather than with the other.
  auto validate_dx = [&](const char* name, const std::vector<float>& got) {
    int bad = 0;
    double worst = 0;
    for (int64_t e = 0; e < n; ++e) {
      const double tol = 1e-5 + 1e-5 * std::fabs(r.dx[e]) + bound[e];
      const double err = std::fabs(got[e] - r.dx[e]);
      worst = std::fmax(worst, err / tol);
      if (!(err <= tol)) {
        if (bad < 5)
          std::printf("  %s[%lld]: got %.9g want %.9g bound %.3g\n", name, (long long)e, got[e], r.dx[e], bound[e]);
        ++bad;
      }
    }
    std::printf("%s %s: worst error / tolerance %.3g\n", bad ? "FAIL" : "ok  ", name, worst);
    if (bad) ++dt::g_failures;
  };
  validate_dx("dx f32", dxf);
  dt::validate("dgamma f32", dgf, r.dgamma, 1e-3, 1e-5);
  dt::validate("dbeta f32", dbf, r.dbeta, 1e-3, 1e-5);

#if DEEPSPG_TEST_CUDA
  if (dt::have_gpu()) {
    dt::DeviceBuffer<float> X(xf), G(gf), Bt(bf), DY(dyf), Y(n), M(B * hw), R(B * hw), DX(n), DG(C), DB(C);
    dt::expect_ok(deepspg_channel_layernorm_forward_cuda_f32(X.ptr, G.ptr, Bt.ptr, B, C, hw, kEps, Y.ptr, M.ptr, R.ptr,
                                                             nullptr),
                  "cuda fwd");
    dt::DeviceBuffer<unsigned char> WS(static_cast<size_t>(deepspg_channel_layernorm_workspace_bytes(B, C, hw)));
    dt::expect_ok(deepspg_channel_layernorm_backward_cuda_f32(DY.ptr, X.ptr, G.ptr, M.ptr, R.ptr, B, C, hw, DX.ptr,
                                                              DG.ptr, DB.ptr, WS.ptr, nullptr),
                  "cuda bwd");
    dt::validate("cuda y", Y.get(), yf, 2e-5, 1e-5);
    dt::validate("cuda mean", M.get(), mf, 1e-5, 1e-5);
    dt::validate("cuda rstd", R.get(), rf, 1e-5, 1e-5);
    validate_dx("cuda dx", DX.get());
    dt::validate("cuda dgamma", DG.get(), dgf, 1e-3, 1e-5);
    dt::validate("cuda dbeta", DB.get(), dbf, 1e-3, 1e-5);
  } else {
    std::printf("skip cuda (no GPU)\n");
  }
#endif
}

void bad_arguments() {
  float v = 0;
  dt::expect(deepspg_channel_layernorm_forward_cpu_f32(&v, &v, &v, 1, 0, 1, kEps, &v, nullptr, nullptr) ==
                 DEEPSPG_ERR_INVALID_ARGUMENT,
             "C = 0 rejected");
  dt::expect(deepspg_channel_layernorm_forward_cpu_f32(&v, &v, &v, 1, 1, 1, -1.0, &v, nullptr, nullptr) ==
                 DEEPSPG_ERR_INVALID_ARGUMENT,
             "negative eps rejected");
  dt::expect(deepspg_channel_layernorm_forward_cpu_f32(&v, nullptr, &v, 1, 1, 1, kEps, &v, nullptr, nullptr) ==
                 DEEPSPG_ERR_INVALID_ARGUMENT,
             "null gamma rejected");
  dt::expect_ok(deepspg_channel_layernorm_forward_cpu_f32(nullptr, nullptr, nullptr, 0, 4, 9, kEps, nullptr, nullptr,
                                                          nullptr),
                "empty batch");
}

}  // namespace

int main() {
  unsigned seed = 11;
  // {2, 5, 9000}: several pixel chunks per batch item in the CUDA parameter-gradient pass.
  const int64_t shapes[][3] = {{2, 3, 35},   {1, 1, 1},     {1, 1, 200},   {3, 20, 1},
                               {2, 7, 300},  {1, 40, 1000}, {1, 160, 129}, {2, 5, 9000}};
  for (const auto& s : shapes) run_case(s[0], s[1], s[2], seed += 5);
  bad_arguments();
  return dt::finish("channel_layer_norm_test");
}
