// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// The one-pass CUDA losses (src/cuda/loss_tiles.h, deepspg_cuda_losses) run on the host: every thread of every block
// of the launch, phase by phase in the order the kernels' barriers allow, with one shared-memory array per block that
// keeps the previous tile's values (as on the GPU), then the last block's ordered sum of the partials. Checks without
// a GPU what a GPU run cannot show on its own when it fails: that the block-strided walk covers every tile and pixel
// once (sizes off the 32 x 8 tiles, single rows and columns, more tiles and pixels than the 2048 blocks), that the
// Sobel halo and ring give every gathered value (a stale one would show), that the edge gradients have the bits of
// the measured kernels' per-pixel arithmetic (transcribed below), the loss values against double references, the KL
// against the CPU kernels, and that the workspace functions leave room for the partials and the ticket.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "../src/common/common.h"
#include "../src/cuda/loss_tiles.h"
#include "test_common.h"

namespace {

namespace lt = deepspg::ops::loss_tiles;

constexpr float kUnset = -12345.f;  // gradient entries not (yet) written

// The fixed tree of the kernels' block_tree over per-thread values.
double tree(std::vector<double> red) {
  for (int stride = lt::kThreads / 2; stride > 0; stride >>= 1)
    for (int tid = 0; tid < lt::kThreads; ++tid) lt::tree_level(red.data(), stride, tid);
  return red[0];
}

// The last block's sum of the partials.
double ordered_total(const std::vector<double>& parts) {
  std::vector<double> red(lt::kThreads);
  for (int tid = 0; tid < lt::kThreads; ++tid)
    red[tid] = lt::ordered_share(parts.data(), static_cast<int64_t>(parts.size()), tid);
  return tree(red);
}

struct Result {
  double loss;
  std::vector<float> grad;  // numel + 64 guard entries
};

// edge_one_pass_kernel<op == SOBEL> on the host, with deepspg_edge_loss_cuda_f32's factors.
Result simulate_edge(const std::vector<float>& o, const std::vector<float>& g, int64_t P, int64_t H, int64_t W, int op,
                     bool with_grad) {
  const lt::EdgeGeom G = lt::EdgeGeom::make(P, H, W);
  const int64_t numel = P * H * W;
  double nx, ny;
  if (op == DEEPSPG_EDGE_DIFF)
    nx = static_cast<double>(P * H * (W - 1)), ny = static_cast<double>(P * (H - 1) * W);
  else
    nx = ny = static_cast<double>(numel);
  const double ix = nx > 0 ? 1.0 / nx : 0.0, iy = ny > 0 ? 1.0 / ny : 0.0, cx = 2 * ix, cy = 2 * iy;
  Result r;
  r.grad.assign(static_cast<size_t>(numel + 64), kUnset);
  float* grad = with_grad ? r.grad.data() : nullptr;
  std::vector<double> part_x(static_cast<size_t>(G.blocks), -7.0), part_y(part_x);
  for (int64_t b = 0; b < G.blocks; ++b) {
    std::vector<float> sm(lt::kSobelSmemFloats, 99.f);  // stale shared memory
    float* se = sm.data();
    float* sgx = se + lt::kEh * lt::kEw;
    float* sgy = sgx + lt::kGh * lt::kGw;
    std::vector<double> sx(lt::kThreads, 0.0), sy(lt::kThreads, 0.0);
    for (int64_t t = b; t < G.tiles; t += G.blocks) {
      int64_t p, i0, j0;
      G.origin(t, &p, &i0, &j0);
      if (op == DEEPSPG_EDGE_DIFF) {
        for (int tid = 0; tid < lt::kThreads; ++tid)
          lt::diff_pixel(G, o.data(), g.data(), p, i0, j0, cx, cy, grad, tid, sx[tid], sy[tid]);
        continue;
      }
      for (int tid = 0; tid < lt::kThreads; ++tid) lt::sobel_load(G, o.data(), g.data(), p, i0, j0, se, tid);
      for (int tid = 0; tid < lt::kThreads; ++tid) lt::sobel_maps(G, i0, j0, se, sgx, sgy, tid, sx[tid], sy[tid]);
      if (grad != nullptr)
        for (int tid = 0; tid < lt::kThreads; ++tid) lt::sobel_grad(G, p, i0, j0, sgx, sgy, cx, grad, tid);
    }
    part_x[b] = tree(sx);
    part_y[b] = tree(sy);
  }
  r.loss = ordered_total(part_x) * ix + ordered_total(part_y) * iy;
  return r;
}

// The measured kernels' gradients (edge_diff_kernel; edge_sobel_kernel's float maps, then edge_sobel_grad_kernel),
// transcribed per pixel.
std::vector<float> measured_edge_grad(const std::vector<float>& o, const std::vector<float>& g, int64_t P, int64_t H,
                                      int64_t W, int op) {
  const int64_t numel = P * H * W;
  auto E = [&](int64_t p, int64_t i, int64_t j) { return o[(p * H + i) * W + j] - g[(p * H + i) * W + j]; };
  std::vector<float> grad(static_cast<size_t>(numel));
  if (op == DEEPSPG_EDGE_DIFF) {
    const double nx = static_cast<double>(P * H * (W - 1)), ny = static_cast<double>(P * (H - 1) * W);
    const double cx = 2 * (nx > 0 ? 1.0 / nx : 0.0), cy = 2 * (ny > 0 ? 1.0 / ny : 0.0);
    for (int64_t p = 0; p < P; ++p)
      for (int64_t i = 0; i < H; ++i)
        for (int64_t j = 0; j < W; ++j) {
          const double c0 = E(p, i, j);
          const double dxr = j + 1 < W ? E(p, i, j + 1) - c0 : 0.0, dyd = i + 1 < H ? E(p, i + 1, j) - c0 : 0.0;
          const double dxl = j > 0 ? c0 - E(p, i, j - 1) : 0.0, dyu = i > 0 ? c0 - E(p, i - 1, j) : 0.0;
          grad[(p * H + i) * W + j] = static_cast<float>(cx * (dxl - dxr) + cy * (dyu - dyd));
        }
    return grad;
  }
  const int K[3][3] = {{-1, 0, 1}, {-2, 0, 2}, {-1, 0, 1}};
  std::vector<float> gx(static_cast<size_t>(numel)), gy(gx);
  for (int64_t p = 0; p < P; ++p)
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < W; ++j) {
        double vx = 0, vy = 0;
        for (int di = -1; di <= 1; ++di)
          for (int dj = -1; dj <= 1; ++dj) {
            const double v = E(p, std::clamp<int64_t>(i + di, 0, H - 1), std::clamp<int64_t>(j + dj, 0, W - 1));
            vx += K[di + 1][dj + 1] * v;
            vy += K[dj + 1][di + 1] * v;
          }
        gx[(p * H + i) * W + j] = static_cast<float>(vx);
        gy[(p * H + i) * W + j] = static_cast<float>(vy);
      }
  const double c = 2.0 / static_cast<double>(numel);
  for (int64_t p = 0; p < P; ++p)
    for (int64_t qi = 0; qi < H; ++qi)
      for (int64_t qj = 0; qj < W; ++qj) {
        double acc = 0;
        for (int64_t pi = qi - 1; pi <= qi + 1; ++pi) {
          if (pi < 0 || pi >= H) continue;
          for (int64_t pj = qj - 1; pj <= qj + 1; ++pj) {
            if (pj < 0 || pj >= W) continue;
            const double vx = gx[(p * H + pi) * W + pj], vy = gy[(p * H + pi) * W + pj];
            for (int di = -1; di <= 1; ++di)
              for (int dj = -1; dj <= 1; ++dj)
                if (std::clamp<int64_t>(pi + di, 0, H - 1) == qi && std::clamp<int64_t>(pj + dj, 0, W - 1) == qj)
                  acc += K[di + 1][dj + 1] * vx + K[dj + 1][di + 1] * vy;
          }
        }
        grad[(p * H + qi) * W + qj] = static_cast<float>(c * acc);
      }
  return grad;
}

// The loss in double from the float E = out - gt (what both kernels difference).
double ref_edge_loss(const std::vector<float>& o, const std::vector<float>& g, int64_t P, int64_t H, int64_t W,
                     int op) {
  auto E = [&](int64_t p, int64_t i, int64_t j) -> double {
    i = std::clamp<int64_t>(i, 0, H - 1), j = std::clamp<int64_t>(j, 0, W - 1);
    return o[(p * H + i) * W + j] - g[(p * H + i) * W + j];
  };
  const int K[3][3] = {{-1, 0, 1}, {-2, 0, 2}, {-1, 0, 1}};
  double sx = 0, sy = 0;
  for (int64_t p = 0; p < P; ++p)
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < W; ++j) {
        if (op == DEEPSPG_EDGE_DIFF) {
          if (j + 1 < W) sx += std::pow(E(p, i, j + 1) - E(p, i, j), 2);
          if (i + 1 < H) sy += std::pow(E(p, i + 1, j) - E(p, i, j), 2);
          continue;
        }
        double vx = 0, vy = 0;
        for (int a = 0; a < 3; ++a)
          for (int b = 0; b < 3; ++b) {
            const double e = E(p, i + a - 1, j + b - 1);
            vx += K[a][b] * e, vy += K[b][a] * e;
          }
        sx += vx * vx, sy += vy * vy;
      }
  const double nx = op == DEEPSPG_EDGE_DIFF ? double(P * H * (W - 1)) : double(P * H * W);
  const double ny = op == DEEPSPG_EDGE_DIFF ? double(P * (H - 1) * W) : double(P * H * W);
  return (nx > 0 ? sx / nx : 0) + (ny > 0 ? sy / ny : 0);
}

void edge_case(int64_t P, int64_t H, int64_t W, int op, unsigned seed) {
  const int64_t numel = P * H * W;
  const auto o = dt::randn<float>(static_cast<size_t>(numel), seed), g = dt::randn<float>(numel, seed + 1);
  const Result r = simulate_edge(o, g, P, H, W, op, true);
  const std::vector<float> want = measured_edge_grad(o, g, P, H, W, op);
  char what[112];
  const char* name = op == DEEPSPG_EDGE_DIFF ? "diff" : "sobel";
  std::snprintf(what, sizeof what, "edge %s %lldx%lldx%lld (%lld tiles): gradient has the measured kernel's bits",
                name, (long long)P, (long long)H, (long long)W, (long long)lt::EdgeGeom::make(P, H, W).tiles);
  dt::expect(std::memcmp(r.grad.data(), want.data(), want.size() * sizeof(float)) == 0, what);
  std::snprintf(what, sizeof what, "edge %s %lldx%lldx%lld: guard past the gradient untouched", name, (long long)P,
                (long long)H, (long long)W);
  dt::expect(std::all_of(r.grad.begin() + numel, r.grad.end(), [](float x) { return x == kUnset; }), what);
  std::snprintf(what, sizeof what, "edge %s %lldx%lldx%lld loss", name, (long long)P, (long long)H, (long long)W);
  dt::validate(what, std::vector<double>{r.loss}, std::vector<double>{ref_edge_loss(o, g, P, H, W, op)}, 0, 1e-12);
  // the value without the gradient: the same bits, nothing written
  const Result v = simulate_edge(o, g, P, H, W, op, false);
  std::snprintf(what, sizeof what, "edge %s %lldx%lldx%lld value only: same loss, gradient not written", name,
                (long long)P, (long long)H, (long long)W);
  dt::expect(v.loss == r.loss && std::all_of(v.grad.begin(), v.grad.end(), [](float x) { return x == kUnset; }),
             what);
  // the workspace holds the partials of both terms and the ticket
  const lt::EdgeGeom G = lt::EdgeGeom::make(P, H, W);
  const int64_t need = deepspg::ops::detail::cuda_loss_ticket_offset(2 * G.blocks) + 4;
  dt::expect(need <= deepspg_edge_loss_workspace_bytes(P, H, W), "edge workspace holds the one-pass partials");
}

// kl_one_pass_kernel on the host, with deepspg_kl_loss_cuda_f32's factors.
Result simulate_kl(const std::vector<float>& zo, const std::vector<float>& zg, int64_t B, int64_t K, int64_t HW,
                   double T, bool with_grad = true) {
  const lt::KlGeom G = lt::KlGeom::make(B, K, HW);
  const double it = 1.0 / T, scale = 1.0 / static_cast<double>(B * HW);
  const float itf = static_cast<float>(it), gscale = static_cast<float>(it * scale);
  Result r;
  r.grad.assign(static_cast<size_t>(B * K * HW + 64), kUnset);
  float* grad = with_grad ? r.grad.data() : nullptr;
  std::vector<double> part(static_cast<size_t>(G.blocks), -7.0);
  for (int64_t blk = 0; blk < G.blocks; ++blk) {
    std::vector<float> sm(lt::kKlSmemFloats, 99.f);  // stale shared memory
    std::vector<double> s(lt::kThreads, 0.0);
    for (int64_t t = blk; t < G.tiles; t += G.blocks) {
      int64_t b, q0;
      G.origin(t, &b, &q0);
      for (int tid = 0; tid < lt::kThreads; ++tid) lt::kl_max(G, zo.data(), zg.data(), b, q0, itf, sm.data(), tid);
      for (int tid = 0; tid < lt::kThreads; ++tid) lt::kl_sum(G, zo.data(), zg.data(), b, q0, itf, sm.data(), tid);
      for (int tid = 0; tid < lt::kThreads; ++tid)
        s[tid] += lt::kl_terms(G, zo.data(), zg.data(), b, q0, itf, gscale, sm.data(), grad, tid);
    }
    part[blk] = tree(s);
  }
  r.loss = ordered_total(part) * scale;
  return r;
}

// hot > 0: classes hot (z_out) and 2 hot + 1 (z_gt) of every pixel raised by 150, so that each pixel's maximum sits in
// one warp's classes and exp(z / T - max) overflows unless that warp's maximum is taken.
void kl_case(int64_t B, int64_t K, int64_t HW, double T, unsigned seed, int64_t hot = 0) {
  const int64_t n = B * K * HW;
  auto zo = dt::randn<float>(static_cast<size_t>(n), seed, 2.0), zg = dt::randn<float>(n, seed + 1, 2.0);
  if (hot > 0)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t q = 0; q < HW; ++q) zo[(b * K + hot) * HW + q] += 150.f, zg[(b * K + 2 * hot + 1) * HW + q] += 150.f;
  const Result r = simulate_kl(zo, zg, B, K, HW, T);
  std::vector<double> o64(zo.begin(), zo.end()), g64(zg.begin(), zg.end()), grad64(static_cast<size_t>(n));
  double loss64 = -1, loss32 = -1;
  std::vector<float> grad32(static_cast<size_t>(n));
  dt::expect_ok(deepspg_kl_loss_cpu_f64(o64.data(), g64.data(), B, K, HW, T, &loss64, grad64.data()), "kl f64");
  dt::expect_ok(deepspg_kl_loss_cpu_f32(zo.data(), zg.data(), B, K, HW, T, &loss32, grad32.data()), "kl f32");
  char what[112];
  std::snprintf(what, sizeof what, "kl %lldx%lldx%lld T=%g (%lld tiles) loss vs double", (long long)B, (long long)K,
                (long long)HW, T, (long long)lt::KlGeom::make(B, K, HW).tiles);
  dt::validate(what, std::vector<double>{r.loss}, std::vector<double>{loss64}, 1e-6, 1e-5);
  std::snprintf(what, sizeof what, "kl %lldx%lldx%lld loss vs the CPU float kernel", (long long)B, (long long)K,
                (long long)HW);
  dt::validate(what, std::vector<double>{r.loss}, std::vector<double>{loss32}, 1e-6, 1e-5);
  const std::vector<float> grad(r.grad.begin(), r.grad.begin() + n);
  // the gradient is (P_out - P_gt) / (T B HW): float probabilities, a few 1e-7 of 1 / (T B HW) off
  const double gs = 1.0 / (T * static_cast<double>(B * HW));
  std::snprintf(what, sizeof what, "kl %lldx%lldx%lld gradient vs double", (long long)B, (long long)K, (long long)HW);
  dt::validate(what, grad, grad64, 2e-6 * gs, 1e-4);
  std::snprintf(what, sizeof what, "kl %lldx%lldx%lld: guard past the gradient untouched", (long long)B, (long long)K,
                (long long)HW);
  dt::expect(std::all_of(r.grad.begin() + n, r.grad.end(), [](float x) { return x == kUnset; }), what);
  const Result v = simulate_kl(zo, zg, B, K, HW, T, false);
  std::snprintf(what, sizeof what, "kl %lldx%lldx%lld value only: same loss, gradient not written", (long long)B,
                (long long)K, (long long)HW);
  dt::expect(v.loss == r.loss && std::all_of(v.grad.begin(), v.grad.end(), [](float x) { return x == kUnset; }),
             what);
  const int64_t need = deepspg::ops::detail::cuda_loss_ticket_offset(lt::KlGeom::make(B, K, HW).blocks) + 4;
  dt::expect(need <= deepspg_kl_loss_workspace_bytes(B, K, HW), "kl workspace holds the one-pass partials");
}

}  // namespace

int main() {
  for (int op : {DEEPSPG_EDGE_DIFF, DEEPSPG_EDGE_SOBEL}) {
    edge_case(1, 1, 1, op, 1);
    edge_case(2, 5, 7, op, 3);
    edge_case(3, 1, 9, op, 5);    // one row: Dy's domain empty
    edge_case(1, 6, 1, op, 7);    // one column
    edge_case(1, 8, 32, op, 9);   // exactly one tile
    edge_case(2, 9, 33, op, 11);  // one pixel past a tile both ways
    edge_case(2, 17, 70, op, 13);
    edge_case(12, 64, 64, op, 15);     // training's [B*3, 64, 64]
    edge_case(1, 1080, 1920, op, 17);  // 8100 tiles on 2048 blocks: the block stride
  }
  kl_case(1, 1, 5, 1.0, 21);          // one class: warps 1..7 without classes
  kl_case(2, 7, 33, 0.5, 23);         // fewer classes than warps, a 1-pixel tail tile
  kl_case(3, 19, 64, 1.0, 25);        // classes not a multiple of the 8 warps
  kl_case(4, 150, 64 * 64, 1.0, 27);  // training's shape: 512 tiles
  kl_case(1, 3, 2048 * 32 * 3 + 77, 2.0, 29);  // more tiles than 2048 blocks: the block stride
  kl_case(2, 150, 100, 1.0, 31, 7);  // the maxima in the last warp's classes (7 and 15)
  // the selector: default measured, set and restore, unknown refused
  dt::check_selector(deepspg_cuda_losses, "loss kernels", DEEPSPG_CUDA_LOSSES_MEASURED, DEEPSPG_CUDA_LOSSES_ONE_PASS,
                     5);
  return dt::finish("cuda_loss_sim_test");
}
