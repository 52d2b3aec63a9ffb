// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Fused feed-forward block (IGAB's FFN, SEM's GDFN with LN and residual) against a naive double reference, on every
// ISA this CPU has; the IGAB mode also against the unfused native chain it replaces (LN kernel, packed 1x1 with GELU,
// depthwise with GELU, packed 1x1 with residual): bit for bit but in the image's side columns; one thread against all.
// Geometries: several column strips (62 wide) and row bands (32 high) with partial last ones, H or W = 1, hidden widths
// that are not multiples of any micro-kernel's block, no LN, no residual, out != channels, batch 2.
#include <omp.h>

#include <cmath>
#include <cstring>
#include <string>

#include "test_common.h"

namespace {

double gelu(double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); }

struct Case {
  int64_t B, C, hidden, out, H, W;
  int32_t mode;
  bool ln, residual;
  unsigned seed;
};

std::vector<double> reference(const Case& k, const std::vector<float>& x, const std::vector<float>& g,
                              const std::vector<float>& be, const std::vector<float>& win,
                              const std::vector<float>& wdw, const std::vector<float>& wout,
                              const std::vector<float>& res) {
  const int64_t HW = k.H * k.W, mid = k.mode == DEEPSPG_FFN_DW_GATE ? k.hidden / 2 : k.hidden;
  std::vector<double> y(k.B * k.out * HW);
  for (int64_t b = 0; b < k.B; ++b) {
    std::vector<double> n(k.C * HW), h(k.hidden * HW), u(k.hidden * HW), m(mid * HW);
    for (int64_t p = 0; p < HW; ++p) {
      double mu = 0, var = 0;
      for (int64_t c = 0; c < k.C; ++c) mu += x[(b * k.C + c) * HW + p];
      mu /= k.C;
      for (int64_t c = 0; c < k.C; ++c) var += std::pow(x[(b * k.C + c) * HW + p] - mu, 2);
      var /= k.C;
      for (int64_t c = 0; c < k.C; ++c) {
        const double v = x[(b * k.C + c) * HW + p];
        n[c * HW + p] = k.ln ? (v - mu) / std::sqrt(var + 1e-5) * g[c] + be[c] : v;
      }
    }
    for (int64_t o = 0; o < k.hidden; ++o)
      for (int64_t p = 0; p < HW; ++p) {
        double a = 0;
        for (int64_t c = 0; c < k.C; ++c) a += double(win[o * k.C + c]) * n[c * HW + p];
        h[o * HW + p] = k.mode == DEEPSPG_FFN_GELU_DW_GELU ? gelu(a) : a;
      }
    for (int64_t o = 0; o < k.hidden; ++o)
      for (int64_t r = 0; r < k.H; ++r)
        for (int64_t c = 0; c < k.W; ++c) {
          double a = 0;
          for (int64_t i = 0; i < 3; ++i)
            for (int64_t j = 0; j < 3; ++j) {
              const int64_t rr = r + i - 1, cc = c + j - 1;
              if (rr < 0 || rr >= k.H || cc < 0 || cc >= k.W) continue;
              a += double(wdw[o * 9 + i * 3 + j]) * h[o * HW + rr * k.W + cc];
            }
          u[o * HW + r * k.W + c] = a;
        }
    for (int64_t o = 0; o < mid; ++o)
      for (int64_t p = 0; p < HW; ++p)
        m[o * HW + p] = k.mode == DEEPSPG_FFN_GELU_DW_GELU ? gelu(u[o * HW + p])
                                                           : gelu(u[o * HW + p]) * u[(o + mid) * HW + p];
    for (int64_t o = 0; o < k.out; ++o)
      for (int64_t p = 0; p < HW; ++p) {
        double a = k.residual ? res[(b * k.out + o) * HW + p] : 0.0;
        for (int64_t c = 0; c < mid; ++c) a += double(wout[o * mid + c]) * m[c * HW + p];
        y[(b * k.out + o) * HW + p] = a;
      }
  }
  return y;
}

std::vector<float> pack(int32_t isa, const std::vector<float>& w, int64_t out, int64_t in) {
  int64_t floats = -1;
  dt::expect_ok(deepspg_conv2d_packed_weight_floats(isa, out, in, 1, &floats), "pack size");
  std::vector<float> p(floats, NAN);
  dt::expect_ok(deepspg_conv2d_pack_weight_f32(isa, w.data(), out, in, 1, p.data()), "pack");
  return p;
}

void run_case(const Case& k) {
  const int64_t HW = k.H * k.W, mid = k.mode == DEEPSPG_FFN_DW_GATE ? k.hidden / 2 : k.hidden;
  auto x = dt::randn<float>(k.B * k.C * HW, k.seed), g = dt::randn<float>(k.C, k.seed + 1, 0.5),
       be = dt::randn<float>(k.C, k.seed + 2, 0.5), win = dt::randn<float>(k.hidden * k.C, k.seed + 3, 0.3),
       wdw = dt::randn<float>(k.hidden * 9, k.seed + 4, 0.3), wout = dt::randn<float>(k.out * mid, k.seed + 5, 0.3),
       res = dt::randn<float>(k.B * k.out * HW, k.seed + 6);
  for (auto& v : g) v += 1.0f;
  const auto want = reference(k, x, g, be, win, wdw, wout, res);
  for (int32_t isa : {DEEPSPG_CONV2D_ISA_GENERIC, DEEPSPG_CONV2D_ISA_AVX2, DEEPSPG_CONV2D_ISA_AVX512}) {
    char what[200];
    std::snprintf(what, sizeof what, "isa=%d B=%lld C=%lld hidden=%lld out=%lld H=%lld W=%lld mode=%d ln=%d res=%d",
                  isa, (long long)k.B, (long long)k.C, (long long)k.hidden, (long long)k.out, (long long)k.H,
                  (long long)k.W, k.mode, k.ln, k.residual);
    if (deepspg_conv2d_select_isa(isa) != DEEPSPG_OK) {
      std::printf("skip %s: %s\n", what, deepspg_last_error());
      continue;
    }
    const auto pin = pack(isa, win, k.hidden, k.C), pout = pack(isa, wout, k.out, mid);
    std::vector<float> y(want.size(), NAN), y1(want.size(), NAN);
    auto fused = [&](std::vector<float>& dst) {
      dt::expect_ok(deepspg_ffn_forward_cpu_f32(x.data(), k.ln ? g.data() : nullptr, k.ln ? be.data() : nullptr,
                                                1e-5, isa, pin.data(), wdw.data(), pout.data(),
                                                k.residual ? res.data() : nullptr, k.B, k.C, k.hidden, k.out, k.mode,
                                                k.H, k.W, dst.data()),
                    what);
    };
    fused(y);
    // float sums of C and mid products of O(1) terms through two GELUs
    dt::validate(what, y, want, 2e-5 * std::sqrt(double(k.C + mid)), 1e-5);
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    fused(y1);
    omp_set_num_threads(threads);
    dt::expect(std::memcmp(y.data(), y1.data(), y.size() * sizeof(float)) == 0, "one thread: the same bits");
    if (k.mode == DEEPSPG_FFN_GELU_DW_GELU) {  // the unfused native chain
      std::vector<float> n(x.size()), h(k.B * k.hidden * HW), m(h.size()), yu(want.size(), NAN);
      if (k.ln) {
        dt::expect_ok(deepspg_channel_layernorm_forward_cpu_f32(x.data(), g.data(), be.data(), k.B, k.C, HW, 1e-5,
                                                                 n.data(), nullptr, nullptr),
                      "LN");
      } else {
        n = x;
      }
      dt::expect_ok(deepspg_conv2d_forward_packed_ex_cpu_f32(n.data(), isa, pin.data(), nullptr, nullptr, k.B, k.C,
                                                             k.hidden, 1, 1, 0, k.H, k.W, DEEPSPG_ACT_GELU, h.data()),
                    "W_in");
      dt::expect_ok(deepspg_dwconv3x3_forward_cpu_f32(h.data(), wdw.data(), k.B, k.hidden, k.H, k.W,
                                                      DEEPSPG_ACT_GELU, m.data(), nullptr),
                    "dw");
      dt::expect_ok(deepspg_conv2d_forward_packed_ex_cpu_f32(m.data(), isa, pout.data(), nullptr,
                                                             k.residual ? res.data() : nullptr, k.B, k.hidden, k.out,
                                                             1, 1, 0, k.H, k.W, DEEPSPG_ACT_NONE, yu.data()),
                    "W_out");
      // the same arithmetic but at the image's first and last columns (FMA contraction of depthwise_conv.cpp's
      // shorter edge sums): a few ulp there, the same bits elsewhere
      double worst = 0, inner = 0;
      for (size_t i = 0; i < y.size(); ++i) {
        const double e = std::fabs(double(y[i]) - yu[i]);
        worst = std::fmax(worst, e);
        const int64_t col = static_cast<int64_t>(i) % k.W;
        if (col != 0 && col != k.W - 1) inner = std::fmax(inner, e);
      }
      std::printf("     %s: max |fused - unfused| %.3g (inner columns %.3g)\n", what, worst, inner);
      dt::expect(inner == 0, "fused = the unfused native chain, bit for bit away from the image's side columns");
      std::string wu = std::string("vs unfused ") + what;
      dt::validate(wu.c_str(), y, std::vector<double>(yu.begin(), yu.end()), 1e-6, 1e-6);
    }
  }
  deepspg_conv2d_select_isa(DEEPSPG_CONV2D_ISA_AUTO);
}

}  // namespace

int main() {
  // IGAB at L0 of DeepSPG-S (d = 20): three strips (the last 6 wide) and two bands (the last 5 high)
  run_case({1, 20, 80, 20, 37, 130, DEEPSPG_FFN_GELU_DW_GELU, true, true, 1});
  run_case({1, 8, 32, 8, 33, 62, DEEPSPG_FFN_GELU_DW_GELU, false, true, 7});  // one full strip, no LN
  // GDFN (e = 2: hidden 2 * 40), batch 2
  run_case({2, 20, 80, 20, 9, 70, DEEPSPG_FFN_DW_GATE, true, true, 2});
  // hidden not a multiple of 4 or 6, out != channels, no LN, no residual, one strip
  run_case({1, 7, 26, 5, 6, 11, DEEPSPG_FFN_DW_GATE, false, false, 3});
  run_case({1, 8, 32, 8, 35, 200, DEEPSPG_FFN_DW_GATE, true, true, 8});  // two interior strips: LN straight from x
  run_case({1, 5, 13, 9, 70, 3, DEEPSPG_FFN_GELU_DW_GELU, true, false, 4});  // three bands of a narrow image
  run_case({2, 3, 6, 3, 1, 1, DEEPSPG_FFN_GELU_DW_GELU, true, true, 5});     // 1x1 image
  run_case({1, 4, 8, 4, 1, 63, DEEPSPG_FFN_DW_GATE, true, true, 6});         // H = 1, two strips (63 = 62 + 1)
  // refused with a message
  std::vector<float> z(64, 0.0f);
  auto call = [&](const float* g, const float* b, int32_t isa, int64_t hidden, int32_t mode, int64_t h) {
    return deepspg_ffn_forward_cpu_f32(z.data(), g, b, 1e-5, isa, z.data(), z.data(), z.data(), nullptr, 1, 1,
                                       hidden, 1, mode, h, 2, z.data());
  };
  dt::expect(call(nullptr, nullptr, DEEPSPG_CONV2D_ISA_GENERIC, 2, 7, 2) == DEEPSPG_ERR_INVALID_ARGUMENT,
             "unknown mode refused");
  dt::expect(call(nullptr, nullptr, DEEPSPG_CONV2D_ISA_GENERIC, 3, DEEPSPG_FFN_DW_GATE, 2) ==
                 DEEPSPG_ERR_INVALID_ARGUMENT,
             "odd hidden width in the gate mode refused");
  dt::expect(call(z.data(), nullptr, DEEPSPG_CONV2D_ISA_GENERIC, 2, DEEPSPG_FFN_GELU_DW_GELU, 2) ==
                 DEEPSPG_ERR_INVALID_ARGUMENT,
             "LN gamma without beta refused");
  dt::expect(call(nullptr, nullptr, 42, 2, DEEPSPG_FFN_GELU_DW_GELU, 2) == DEEPSPG_ERR_INVALID_ARGUMENT,
             "unknown ISA refused");
  dt::expect(call(nullptr, nullptr, DEEPSPG_CONV2D_ISA_GENERIC, 2, DEEPSPG_FFN_GELU_DW_GELU, 0) ==
                 DEEPSPG_ERR_INVALID_ARGUMENT,
             "empty image refused");
  return dt::finish("ffn_fused");
}
