// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Channel attention: CPU kernels (f32, f64) against a naive double reference written straight from the spec
// formulas (normalise rows, Gram, softmax, A V, and the backward by the chain rule through each step), float on
// each CPU kernel set (AVX-512, portable), then CUDA against CPU when a GPU is present. Shapes: odd sizes, N = 1,
// a zero row, tau = 0 and large tau, gating.
#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include <omp.h>

#include "test_common.h"

namespace {

struct Ref {
  std::vector<double> out, dx, dy, dv, dgate, dtau;
};

// Naive reference in double: one (b, h) at a time, every step written out.
Ref reference(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& v,
              const std::vector<double>* gate, const std::vector<double>& tau, const std::vector<double>& dout,
              int64_t B, int64_t H, int64_t c, int64_t n) {
  Ref R;
  const size_t tot = static_cast<size_t>(B * H * c * n);
  R.out.assign(tot, 0);
  R.dx.assign(tot, 0);
  R.dy.assign(tot, 0);
  R.dv.assign(tot, 0);
  R.dgate.assign(tot, 0);
  R.dtau.assign(static_cast<size_t>(H), 0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t base = (b * H + h) * c * n;
      auto X = [&](int64_t i, int64_t k) { return x[base + i * n + k]; };
      auto Y = [&](int64_t i, int64_t k) { return y[base + i * n + k]; };
      auto Vp = [&](int64_t i, int64_t k) { return v[base + i * n + k] * (gate ? (*gate)[base + i * n + k] : 1.0); };
      std::vector<double> nx(c), ny(c), G(c * c), A(c * c);
      for (int64_t i = 0; i < c; ++i) {
        double sx = 0, sy = 0;
        for (int64_t k = 0; k < n; ++k) sx += X(i, k) * X(i, k), sy += Y(i, k) * Y(i, k);
        nx[i] = std::sqrt(sx), ny[i] = std::sqrt(sy);
      }
      auto rx = [&](int64_t i) { return std::max(nx[i], 1e-12); };
      auto ry = [&](int64_t i) { return std::max(ny[i], 1e-12); };
      for (int64_t i = 0; i < c; ++i)
        for (int64_t j = 0; j < c; ++j) {
          double s = 0;
          for (int64_t k = 0; k < n; ++k) s += X(i, k) / rx(i) * Y(j, k) / ry(j);
          G[i * c + j] = s;
        }
      for (int64_t i = 0; i < c; ++i) {
        double m = -1e300, z = 0;
        for (int64_t j = 0; j < c; ++j) m = std::max(m, tau[h] * G[i * c + j]);
        for (int64_t j = 0; j < c; ++j) z += std::exp(tau[h] * G[i * c + j] - m);
        for (int64_t j = 0; j < c; ++j) A[i * c + j] = std::exp(tau[h] * G[i * c + j] - m) / z;
      }
      for (int64_t i = 0; i < c; ++i)
        for (int64_t k = 0; k < n; ++k) {
          double s = 0;
          for (int64_t j = 0; j < c; ++j) s += A[i * c + j] * Vp(j, k);
          R.out[base + i * n + k] = s;
        }
      // backward
      auto DO = [&](int64_t i, int64_t k) { return dout[base + i * n + k]; };
      std::vector<double> dA(c * c, 0), dG(c * c), dxh(c * n, 0), dyh(c * n, 0);
      for (int64_t i = 0; i < c; ++i)
        for (int64_t j = 0; j < c; ++j)
          for (int64_t k = 0; k < n; ++k) dA[i * c + j] += DO(i, k) * Vp(j, k);
      for (int64_t j = 0; j < c; ++j)
        for (int64_t k = 0; k < n; ++k) {
          double s = 0;
          for (int64_t i = 0; i < c; ++i) s += A[i * c + j] * DO(i, k);
          const double g = gate ? (*gate)[base + j * n + k] : 1.0;
          R.dv[base + j * n + k] = s * g;
          R.dgate[base + j * n + k] = s * v[base + j * n + k];
        }
      for (int64_t i = 0; i < c; ++i) {
        double dot = 0;
        for (int64_t j = 0; j < c; ++j) dot += A[i * c + j] * dA[i * c + j];
        for (int64_t j = 0; j < c; ++j) {
          const double dz = A[i * c + j] * (dA[i * c + j] - dot);
          R.dtau[h] += dz * G[i * c + j];
          dG[i * c + j] = tau[h] * dz;
        }
      }
      // G = xh yh^T: dxh_i = sum_j dG_ij yh_j, dyh_j = sum_i dG_ij xh_i
      for (int64_t i = 0; i < c; ++i)
        for (int64_t j = 0; j < c; ++j)
          for (int64_t k = 0; k < n; ++k) {
            dxh[i * n + k] += dG[i * c + j] * Y(j, k) / ry(j);
            dyh[j * n + k] += dG[i * c + j] * X(i, k) / rx(i);
          }
      // xh = x / max(|x|, eps): dx = dxh / r - [|x| > eps] x (x . dxh) / r^3
      for (int64_t i = 0; i < c; ++i) {
        double px = 0, py = 0;
        for (int64_t k = 0; k < n; ++k) px += X(i, k) * dxh[i * n + k], py += Y(i, k) * dyh[i * n + k];
        for (int64_t k = 0; k < n; ++k) {
          R.dx[base + i * n + k] =
              dxh[i * n + k] / rx(i) - (nx[i] > 1e-12 ? X(i, k) * px / (rx(i) * rx(i) * rx(i)) : 0.0);
          R.dy[base + i * n + k] =
              dyh[i * n + k] / ry(i) - (ny[i] > 1e-12 ? Y(i, k) * py / (ry(i) * ry(i) * ry(i)) : 0.0);
        }
      }
    }
  return R;
}

template <typename T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

struct Case {
  int64_t B, H, c, n;
  double tau0, tau1;
  bool zero_row, gated;
};

template <typename T>
void run_cpu(const Case& k, unsigned seed, const char* isa = "") {
  const bool f64 = sizeof(T) == 8;
  const size_t tot = static_cast<size_t>(k.B * k.H * k.c * k.n);
  auto x = dt::randn<double>(tot, seed), y = dt::randn<double>(tot, seed + 1), v = dt::randn<double>(tot, seed + 2),
       g = dt::randn<double>(tot, seed + 3), dout = dt::randn<double>(tot, seed + 4);
  if (k.zero_row)
    for (int64_t q = 0; q < k.n; ++q) x[q] = 0, y[(k.B * k.H * k.c - 1) * k.n + q] = 0;
  std::vector<double> tau(static_cast<size_t>(k.H));
  for (int64_t h = 0; h < k.H; ++h) tau[h] = h % 2 ? k.tau1 : k.tau0;
  // Round inputs to T first so the double reference sees exactly the kernel's inputs.
  auto xt = cast<T>(x), yt = cast<T>(y), vt = cast<T>(v), gt = cast<T>(g), dt_ = cast<T>(dout), taut = cast<T>(tau);
  x.assign(xt.begin(), xt.end()), y.assign(yt.begin(), yt.end()), v.assign(vt.begin(), vt.end());
  g.assign(gt.begin(), gt.end()), dout.assign(dt_.begin(), dt_.end()), tau.assign(taut.begin(), taut.end());
  Ref R = reference(x, y, v, k.gated ? &g : nullptr, tau, dout, k.B, k.H, k.c, k.n);

  const size_t side = static_cast<size_t>(k.B * k.H * k.c * k.c), sv = static_cast<size_t>(k.B * k.H * k.c);
  std::vector<T> out(tot), G(side), A(side), r(sv), s(sv), dx(tot), dy(tot), dv(tot), dg(tot), dtau(k.H);
  const T* gp = k.gated ? gt.data() : nullptr;
  int32_t st;
  if constexpr (sizeof(T) == 8) {
    st = deepspg_channel_attention_forward_cpu_f64(xt.data(), yt.data(), vt.data(), gp, taut.data(), k.B, k.H, k.c,
                                                   k.n, out.data(), G.data(), A.data(), r.data(), s.data());
  } else {
    st = deepspg_channel_attention_forward_cpu_f32(xt.data(), yt.data(), vt.data(), gp, taut.data(), k.B, k.H, k.c,
                                                   k.n, out.data(), G.data(), A.data(), r.data(), s.data());
  }
  dt::expect_ok(st, "forward");
  if constexpr (sizeof(T) == 8) {
    st = deepspg_channel_attention_backward_cpu_f64(dt_.data(), xt.data(), yt.data(), vt.data(), gp, taut.data(),
                                                    G.data(), A.data(), r.data(), s.data(), k.B, k.H, k.c, k.n,
                                                    dx.data(), dy.data(), dv.data(), dg.data(), dtau.data());
  } else {
    st = deepspg_channel_attention_backward_cpu_f32(dt_.data(), xt.data(), yt.data(), vt.data(), gp, taut.data(),
                                                    G.data(), A.data(), r.data(), s.data(), k.B, k.H, k.c, k.n,
                                                    dx.data(), dy.data(), dv.data(), dg.data(), dtau.data());
  }
  dt::expect_ok(st, "backward");
  // f64: the kernel and the reference differ only in summation order (~1e-15 relative). f32: inputs are exact, sums
  // of up to N products in float per 256- or 1024-column tile, so ~1e-6 relative; gradients of a zero row scale by
  // 1/eps.
  const double atol = f64 ? 1e-10 : 2e-4, rtol = f64 ? 1e-9 : 2e-3;
  char name[160];
  std::snprintf(name, sizeof name, "%s%s B=%lld H=%lld c=%lld n=%lld tau=%g/%g%s%s", f64 ? "f64" : "f32", isa,
                (long long)k.B, (long long)k.H, (long long)k.c, (long long)k.n, k.tau0, k.tau1,
                k.zero_row ? " zero-row" : "", k.gated ? " gated" : "");
  std::printf("-- %s\n", name);
  dt::validate("out", out, R.out, atol, rtol);
  // Zero-row gradients reach ~1e13 (division by eps): compare them relatively.
  dt::validate("dx", dx, R.dx, atol, k.zero_row ? 1e-3 : rtol);
  dt::validate("dy", dy, R.dy, atol, k.zero_row ? 1e-3 : rtol);
  dt::validate("dv", dv, R.dv, atol, rtol);
  if (k.gated) dt::validate("dgate", dg, R.dgate, atol, rtol);
  dt::validate("dtau", dtau, R.dtau, f64 ? 1e-9 : 1e-3, f64 ? 1e-9 : 2e-3);
}

#if DEEPSPG_TEST_CUDA
// Which gradients the CUDA backward is asked for (the Java layer passes null for inputs that need none).
enum class Grads { kAll, kValueOnly, kInputsOnly };

void run_cuda_vs_cpu(const Case& k, unsigned seed, Grads want = Grads::kAll) {
  const size_t tot = static_cast<size_t>(k.B * k.H * k.c * k.n), side = k.B * k.H * k.c * k.c, sv = k.B * k.H * k.c;
  auto x = dt::randn<float>(tot, seed), y = dt::randn<float>(tot, seed + 1), v = dt::randn<float>(tot, seed + 2),
       g = dt::randn<float>(tot, seed + 3), dout = dt::randn<float>(tot, seed + 4);
  std::vector<float> tau(k.H);
  for (int64_t h = 0; h < k.H; ++h) tau[h] = static_cast<float>(h % 2 ? k.tau1 : k.tau0);
  std::vector<float> out(tot), G(side), A(side), r(sv), s(sv), dx(tot), dy(tot), dv(tot), dg(tot), dtau(k.H);
  const float* gp = k.gated ? g.data() : nullptr;
  dt::expect_ok(deepspg_channel_attention_forward_cpu_f32(x.data(), y.data(), v.data(), gp, tau.data(), k.B, k.H, k.c,
                                                          k.n, out.data(), G.data(), A.data(), r.data(), s.data()),
                "cpu forward");
  dt::expect_ok(deepspg_channel_attention_backward_cpu_f32(dout.data(), x.data(), y.data(), v.data(), gp, tau.data(),
                                                           G.data(), A.data(), r.data(), s.data(), k.B, k.H, k.c, k.n,
                                                           dx.data(), dy.data(), dv.data(), dg.data(), dtau.data()),
                "cpu backward");
  dt::DeviceBuffer<float> X(x), Y(y), V(v), F(g), DO(dout), T(tau), O(tot), GG(side), AA(side), R(sv), S(sv), DX(tot),
      DY(tot), DV(tot), DF(tot), DT(k.H);
  dt::DeviceBuffer<unsigned char> ws(deepspg_channel_attention_workspace_bytes(k.B, k.H, k.c, k.n, 0));
  dt::expect_ok(deepspg_channel_attention_forward_cuda_f32(X.ptr, Y.ptr, V.ptr, k.gated ? F.ptr : nullptr, T.ptr, k.B,
                                                           k.H, k.c, k.n, O.ptr, GG.ptr, AA.ptr, R.ptr, S.ptr, ws.ptr,
                                                           nullptr),
                "cuda forward");
  const bool inputs = want != Grads::kValueOnly, values = want != Grads::kInputsOnly;
  dt::expect_ok(deepspg_channel_attention_backward_cuda_f32(
                    DO.ptr, X.ptr, Y.ptr, V.ptr, k.gated ? F.ptr : nullptr, T.ptr, GG.ptr, AA.ptr, R.ptr, S.ptr, k.B,
                    k.H, k.c, k.n, inputs ? DX.ptr : nullptr, inputs ? DY.ptr : nullptr, values ? DV.ptr : nullptr,
                    values ? DF.ptr : nullptr, values ? DT.ptr : nullptr, ws.ptr, nullptr),
                "cuda backward");
  std::printf("-- cuda vs cpu B=%lld H=%lld c=%lld n=%lld%s\n", (long long)k.B, (long long)k.H, (long long)k.c,
              (long long)k.n, inputs && values ? "" : inputs ? " (dx, dy only)" : " (dv, dgate, dtau only)");
  dt::validate("out", O.get(), out, 1e-5, 1e-4);
  dt::validate("A", AA.get(), A, 1e-6, 1e-4);
  if (inputs) {
    dt::validate("dx", DX.get(), dx, 1e-4, 1e-3);
    dt::validate("dy", DY.get(), dy, 1e-4, 1e-3);
  }
  if (values) {
    dt::validate("dv", DV.get(), dv, 1e-4, 1e-3);
    if (k.gated) dt::validate("dgate", DF.get(), dg, 1e-4, 1e-3);
    dt::validate("dtau", DT.get(), dtau, 1e-3, 1e-3);
  }
}
#endif

// Random float32 inputs of one gated forward+backward: [b, h*c, n] tensors, tau per head.
struct Inputs {
  int64_t b, h, c, n;
  std::vector<float> x, y, v, gate, dout, tau;
  Inputs(int64_t b_, int64_t h_, int64_t c_, int64_t n_, unsigned seed, std::vector<float> tau_)
      : b(b_), h(h_), c(c_), n(n_), tau(std::move(tau_)) {
    const size_t sz = static_cast<size_t>(b * h * c * n);
    x = dt::randn<float>(sz, seed), y = dt::randn<float>(sz, seed + 1), v = dt::randn<float>(sz, seed + 2);
    gate = dt::randn<float>(sz, seed + 3), dout = dt::randn<float>(sz, seed + 4);
  }
};

// The forward and backward with their large outputs `offset` floats past a 64-byte boundary: {out, dx, dy, dv,
// dgate, G, A, r, s, dtau}.
std::vector<std::vector<float>> forward_backward(const Inputs& in, size_t offset, const char* what) {
  const int64_t sz = in.b * in.h * in.c * in.n, cc = in.b * in.h * in.c * in.c, sv = in.b * in.h * in.c;
  dt::Floats out(sz, offset), dx(sz, offset), dy(sz, offset), dv(sz, offset), dg(sz, offset);
  std::vector<float> G(cc), A(cc), r(sv), s(sv), dtau(in.h);
  std::string w = std::string("forward, ") + what;
  dt::expect_ok(deepspg_channel_attention_forward_cpu_f32(in.x.data(), in.y.data(), in.v.data(), in.gate.data(),
                                                          in.tau.data(), in.b, in.h, in.c, in.n, out.p, G.data(),
                                                          A.data(), r.data(), s.data()),
                w.c_str());
  w = std::string("backward, ") + what;
  dt::expect_ok(deepspg_channel_attention_backward_cpu_f32(in.dout.data(), in.x.data(), in.y.data(), in.v.data(),
                                                           in.gate.data(), in.tau.data(), G.data(), A.data(), r.data(),
                                                           s.data(), in.b, in.h, in.c, in.n, dx.p, dy.p, dv.p, dg.p,
                                                           dtau.data()),
                w.c_str());
  return {out.get(sz), dx.get(sz), dy.get(sz), dv.get(sz), dg.get(sz), G, A, r, s, dtau};
}

// Non-temporal stores: at 21 MB per tensor (n = 131072) every sweep moves enough to store its output non-temporally
// when the output is 64-byte aligned (smaller n: with the threshold lowered); the same forward and backward into
// outputs one float past the boundary store through the cache. Both must give the same bits (and the cached path is
// the one the double-loop cases above check).
void run_streamed_vs_cached(unsigned seed, const char* isa, int64_t n) {
  const Inputs in(2, 1, 20, n, seed, {1.5f});
  const auto aligned = forward_backward(in, 0, "aligned outputs");
  const auto unaligned = forward_backward(in, 1, "unaligned outputs");
  const char* names[] = {"out", "dx", "dy", "dv", "dgate", "G", "A", "r", "s", "dtau"};
  for (int k = 0; k < 10; ++k) {
    char what[120];
    std::snprintf(what, sizeof what, "%s: non-temporal (aligned) and cached (unaligned) stores agree, n=%lld%s",
                  names[k], (long long)n, isa);
    dt::expect(aligned[k] == unaligned[k], what);
  }
}

// The gated backward's dv and dgate come from one split of dV' = A^T dO (the AVX-512 mixing's epilogue stores both):
// asking for one of them only, or for both with one aligned and one not (then neither is streamed), gives each the
// same bits as asking for both aligned; dx and dy do not change.
void run_split_subsets(unsigned seed, const char* isa, int64_t n) {
  const Inputs in(2, 1, 23, n, seed, {0.8f});
  const int64_t b = in.b, h = in.h, c = in.c, sz = b * h * c * n, cc = b * h * c * c;
  std::vector<float> out(sz), G(cc), A(cc), r(b * h * c), s(b * h * c);
  dt::expect_ok(deepspg_channel_attention_forward_cpu_f32(in.x.data(), in.y.data(), in.v.data(), in.gate.data(),
                                                          in.tau.data(), b, h, c, n, out.data(), G.data(), A.data(),
                                                          r.data(), s.data()),
                "forward");
  // {dv wanted, its offset in floats, dgate wanted, its offset}
  const struct {
    bool dv;
    size_t dv_off;
    bool dg;
    size_t dg_off;
  } asks[] = {{true, 0, true, 0}, {true, 0, false, 0}, {false, 0, true, 0}, {true, 0, true, 1}, {true, 1, true, 0}};
  std::vector<float> want[4];  // dx, dy, dv, dgate of the first ask
  for (const auto& a : asks) {
    dt::Floats dx(sz, 0), dy(sz, 0), dv(sz, a.dv_off), dg(sz, a.dg_off);
    std::vector<float> dtau(h);
    dt::expect_ok(deepspg_channel_attention_backward_cpu_f32(in.dout.data(), in.x.data(), in.y.data(), in.v.data(),
                                                             in.gate.data(), in.tau.data(), G.data(), A.data(),
                                                             r.data(), s.data(), b, h, c, n, dx.p, dy.p,
                                                             a.dv ? dv.p : nullptr, a.dg ? dg.p : nullptr, dtau.data()),
                  "backward with dv, dgate or both");
    const std::vector<float> got[4] = {dx.get(sz), dy.get(sz), dv.get(sz), dg.get(sz)};
    if (want[0].empty()) {
      for (int k = 0; k < 4; ++k) want[k] = got[k];
      continue;
    }
    char what[160];
    auto kind = [](bool on, size_t off) { return on ? (off ? "unaligned" : "aligned") : "off"; };
    std::snprintf(what, sizeof what, "split (dv %s, dgate %s): the same bits, n=%lld%s", kind(a.dv, a.dv_off),
                  kind(a.dg, a.dg_off), (long long)n, isa);
    dt::expect(got[0] == want[0] && got[1] == want[1], what);
    if (a.dv) dt::expect(got[2] == want[2], what);
    if (a.dg) dt::expect(got[3] == want[3], what);
  }
}

// Who runs a tile must not change a bit: sweeps past the cache hand tiles out as threads come free (TileQueue),
// smaller ones in fixed shares. The non-temporal threshold at 0 makes every sweep balanced (every output here is
// unaligned, so none is streamed); at its maximum every sweep takes fixed shares. 1, 2 and 3 threads each way give
// the 1-thread fixed-share bits: the output, G, A, r, s and every gradient.
void run_schedule_independent(unsigned seed, const char* isa) {
  const Inputs in(3, 2, 20, 3 * 1024 + 40, seed, {0.9f, 1.7f});
  auto run = [&](int threads, int64_t threshold) {
    omp_set_num_threads(threads);
    const int64_t old = deepspg_channel_attention_stream_min_bytes(threshold);
    auto got = forward_backward(in, 1, threshold == 0 ? "balanced shares" : "fixed shares");
    deepspg_channel_attention_stream_min_bytes(old);
    return got;
  };
  const int restore = omp_get_max_threads();
  const auto want = run(1, INT64_MAX);
  for (int threads : {1, 2, 3})
    for (int64_t threshold : {int64_t{0}, INT64_MAX}) {
      char what[120];
      std::snprintf(what, sizeof what, "%d thread(s), %s shares: the 1-thread bits%s", threads,
                    threshold == 0 ? "balanced" : "fixed", isa);
      dt::expect(run(threads, threshold) == want, what);
    }
  omp_set_num_threads(restore);
}

}  // namespace

int main() {
  const Case cases[] = {
      {1, 1, 1, 1, 1.0, 1.0, false, false},    {2, 2, 5, 37, 0.7, 1.3, false, false},
      {1, 2, 5, 63, 0.0, 25.0, true, false},   {2, 1, 20, 300, 1.0, 1.0, false, true},
      {1, 4, 3, 513, 0.5, 2.0, false, true},   {1, 1, 64, 97, 1.0, 1.0, false, false},
      {2, 2, 40, 257, 1.0, 3.0, false, false},
      // the AVX-512 kernels' edges: c = 7 and 23 (row blocks of 5 with rests), two 1024-column tiles with a
      // 76-column rest (one 64-column strip, no 16-column strip, a 12-lane masked tail), gated and not
      {1, 2, 7, 1100, 1.0, 2.0, false, true},  {1, 1, 23, 1100, 1.0, 1.0, true, false},
      {3, 1, 20, 4096 + 29, 1.0, 1.0, false, true},
  };
  unsigned seed = 1;
  // float runs on each kernel set this CPU has: AVX-512 (where present) and the portable vector code.
  const int32_t isas[] = {DEEPSPG_CONV2D_ISA_AVX512, DEEPSPG_CONV2D_ISA_GENERIC};
  const char* isa_names[] = {" avx512", " portable"};
  for (const Case& k : cases) {
    run_cpu<double>(k, seed);
    for (int q = 0; q < 2; ++q) {
      if (deepspg_channel_attention_select_isa(isas[q]) != DEEPSPG_OK) {
        std::printf("-- f32%s: not on this CPU\n", isa_names[q]);
        continue;
      }
      dt::expect(deepspg_channel_attention_isa() == isas[q], "the selected ISA is in use");
      run_cpu<float>(k, seed, isa_names[q]);
    }
    dt::expect_ok(deepspg_channel_attention_select_isa(DEEPSPG_CONV2D_ISA_AUTO), "back to the automatic choice");
    seed += 10;
  }
  dt::expect(deepspg_channel_attention_stream_min_bytes(-1) == int64_t(32) << 20, "streaming from 32 MiB by default");
  for (int q = 0; q < 2; ++q) {
    if (deepspg_channel_attention_select_isa(isas[q]) != DEEPSPG_OK) continue;
    run_streamed_vs_cached(seed++, isa_names[q], 131072);
    // every aligned output streamed: a small shape, its second tile 64 + 2 x 16 columns (rows of 16k floats only)
    dt::expect(deepspg_channel_attention_stream_min_bytes(0) == int64_t(32) << 20, "the setter returns the old value");
    run_streamed_vs_cached(seed++, isa_names[q], 1024 + 64 + 16 + 16);
    run_split_subsets(seed++, isa_names[q], 1024 + 64 + 16 + 16);  // streamed where aligned
    deepspg_channel_attention_stream_min_bytes(int64_t(32) << 20);
    run_split_subsets(seed++, isa_names[q], 1024 + 64 + 16 + 5);  // cached, masked tails
    run_schedule_independent(seed++, isa_names[q]);
  }
  dt::expect_ok(deepspg_channel_attention_select_isa(DEEPSPG_CONV2D_ISA_AUTO), "back to the automatic choice");
  dt::expect(deepspg_channel_attention_select_isa(7) == DEEPSPG_ERR_INVALID_ARGUMENT, "an unknown ISA is refused");
  // The scores alone: the forward's G, A, r, s, bit for bit (batch 2, 2 heads of 20, two tiles with a rest).
  {
    const int64_t b = 2, h = 2, c = 20, n = 1100, sz = b * h * c * n, cc = b * h * c * c;
    const auto x = dt::randn<float>(sz, 91), y = dt::randn<float>(sz, 92), v = dt::randn<float>(sz, 93);
    const std::vector<float> tau = {0.7f, 2.0f};
    std::vector<float> out(sz), g1(cc), a1(cc), r1(b * h * c), s1(b * h * c), g2(cc), a2(cc), r2(b * h * c),
        s2(b * h * c);
    dt::expect_ok(deepspg_channel_attention_forward_cpu_f32(x.data(), y.data(), v.data(), nullptr, tau.data(), b, h,
                                                            c, n, out.data(), g1.data(), a1.data(), r1.data(),
                                                            s1.data()),
                  "forward");
    dt::expect_ok(deepspg_channel_attention_scores_cpu_f32(x.data(), y.data(), tau.data(), b, h, c, n, g2.data(),
                                                           a2.data(), r2.data(), s2.data()),
                  "scores");
    dt::expect(g1 == g2 && a1 == a2 && r1 == r2 && s1 == s2, "the scores entry writes the forward's G, A, r, s");
    dt::expect(deepspg_channel_attention_scores_cpu_f32(x.data(), y.data(), tau.data(), b, h, c, n, g2.data(),
                                                        nullptr, r2.data(), s2.data()) == DEEPSPG_ERR_INVALID_ARGUMENT,
               "the scores entry refuses NULL A");
  }
  // Error paths: c above the limit and NULL pointers must be refused with a message, not crash.
  float one = 1;
  dt::expect(deepspg_channel_attention_forward_cpu_f32(&one, &one, &one, nullptr, &one, 1, 1, 65, 1, &one, &one, &one,
                                                       &one, &one) == DEEPSPG_ERR_INVALID_ARGUMENT,
             "c = 65 is refused");
  dt::expect(std::strstr(deepspg_last_error(), "64") != nullptr, "error message names the limit");
  dt::expect(deepspg_channel_attention_forward_cpu_f32(nullptr, &one, &one, nullptr, &one, 1, 1, 1, 1, &one, &one,
                                                       &one, &one, &one) == DEEPSPG_ERR_INVALID_ARGUMENT,
             "NULL x is refused");
#if DEEPSPG_TEST_CUDA
  if (dt::have_gpu()) {
    const Case gpu_cases[] = {{2, 2, 5, 37, 0.7, 1.3, false, false},
                              {2, 1, 20, 65536 + 13, 1.0, 1.0, false, true},
                              {2, 4, 20, 4096, 1.0, 2.0, false, false},
                              {1, 1, 64, 1000, 1.0, 1.0, false, false},
                              {1, 2, 40, 3000, 0.0, 25.0, false, true},
                              // 2,025 chunks per (batch, head): chunk_sum_kernel with several chunks per thread
                              {1, 1, 20, 1920 * 1080, 1.0, 1.0, false, true}};
    // both Gram kernels (deepspg_channel_attention_cuda_gram), the same cases and seeds
    const auto run_cases = [&] {
      unsigned s = seed;
      for (const Case& k : gpu_cases) run_cuda_vs_cpu(k, s++);
      run_cuda_vs_cpu(gpu_cases[1], s++, Grads::kValueOnly);
      run_cuda_vs_cpu(gpu_cases[1], s++, Grads::kInputsOnly);
    };
    dt::for_each_variant(deepspg_channel_attention_cuda_gram, "cuda Gram kernel",
                         {{DEEPSPG_CUDA_GRAM_CHUNKED, "chunked"}, {DEEPSPG_CUDA_GRAM_BLOCKED, "blocked"}}, run_cases);
  } else {
    std::printf("cuda: no GPU, CUDA-vs-CPU cases skipped\n");
  }
#endif
  return dt::finish("channel_attention_test");
}
