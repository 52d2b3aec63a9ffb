// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Edge loss: value against a naive double reference (explicit difference / Sobel maps), gradient against central
// differences of the value in double (the loss is quadratic, so central differences are exact up to rounding),
// CUDA against CPU.
#include <algorithm>

#include "test_common.h"

namespace {

double ref_loss(const std::vector<double>& o, const std::vector<double>& g, int64_t P, int64_t H, int64_t W, int op) {
  auto E = [&](int64_t p, int64_t i, int64_t j) {
    i = std::clamp<int64_t>(i, 0, H - 1), j = std::clamp<int64_t>(j, 0, W - 1);
    return o[(p * H + i) * W + j] - g[(p * H + i) * W + j];
  };
  double sx = 0, sy = 0, nx, ny;
  if (op == 0) {
    for (int64_t p = 0; p < P; ++p)
      for (int64_t i = 0; i < H; ++i)
        for (int64_t j = 0; j < W; ++j) {
          if (j + 1 < W) sx += std::pow(E(p, i, j + 1) - E(p, i, j), 2);
          if (i + 1 < H) sy += std::pow(E(p, i + 1, j) - E(p, i, j), 2);
        }
    nx = double(P * H * (W - 1)), ny = double(P * (H - 1) * W);
  } else {
    const int K[3][3] = {{-1, 0, 1}, {-2, 0, 2}, {-1, 0, 1}};
    for (int64_t p = 0; p < P; ++p)
      for (int64_t i = 0; i < H; ++i)
        for (int64_t j = 0; j < W; ++j) {
          double gx = 0, gy = 0;
          for (int a = 0; a < 3; ++a)
            for (int b = 0; b < 3; ++b) gx += K[a][b] * E(p, i + a - 1, j + b - 1), gy += K[b][a] * E(p, i + a - 1, j + b - 1);
          sx += gx * gx, sy += gy * gy;
        }
    nx = ny = double(P * H * W);
  }
  return (nx > 0 ? sx / nx : 0) + (ny > 0 ? sy / ny : 0);
}

#if DEEPSPG_TEST_CUDA
// Both CUDA kernel sets (deepspg_cuda_losses) against the CPU float kernel (dt::loss_cuda_vs_cpu).
void cuda_vs_cpu(const std::vector<float>& of, const std::vector<float>& gf, int64_t P, int64_t H, int64_t W, int op,
                 double lossf, const std::vector<float>& gradf) {
  dt::DeviceBuffer<float> O(of), G(gf);
  dt::DeviceBuffer<unsigned char> ws(deepspg_edge_loss_workspace_bytes(P, H, W));
  dt::loss_cuda_vs_cpu(
      "edge",
      [&](double* loss, float* grad) {
        return deepspg_edge_loss_cuda_f32(O.ptr, G.ptr, P, H, W, op, loss, grad, ws.ptr, nullptr);
      },
      lossf, gradf, 1e-6);
}

// Sizes past one block of the one-pass kernels (tiles, halos, the block stride): CUDA against the CPU float kernel.
void cuda_large(int64_t P, int64_t H, int64_t W, int op, unsigned seed) {
  if (!dt::have_gpu()) return;
  const int64_t n = P * H * W;
  auto of = dt::randn<float>(n, seed), gf = dt::randn<float>(n, seed + 1);
  std::vector<float> gradf(n);
  double lossf = -1;
  dt::expect_ok(deepspg_edge_loss_cpu_f32(of.data(), gf.data(), P, H, W, op, &lossf, gradf.data()), "edge f32");
  std::printf("-- edge op=%d P=%lld H=%lld W=%lld (CUDA vs CPU)\n", op, (long long)P, (long long)H, (long long)W);
  cuda_vs_cpu(of, gf, P, H, W, op, lossf, gradf);
}
#endif

void run(int64_t P, int64_t H, int64_t W, int op, unsigned seed) {
  const int64_t n = P * H * W;
  auto o = dt::randn<double>(n, seed), g = dt::randn<double>(n, seed + 1);
  std::vector<double> grad(n), fd(n);
  double loss = -1;
  dt::expect_ok(deepspg_edge_loss_cpu_f64(o.data(), g.data(), P, H, W, op, &loss, grad.data()), "edge f64");
  const double want = ref_loss(o, g, P, H, W, op);
  for (int64_t k = 0; k < n; ++k) {
    const double h = 1e-4, keep = o[k];
    o[k] = keep + h;
    const double lp = ref_loss(o, g, P, H, W, op);
    o[k] = keep - h;
    const double lm = ref_loss(o, g, P, H, W, op);
    o[k] = keep;
    fd[k] = (lp - lm) / (2 * h);
  }
  std::printf("-- edge op=%d P=%lld H=%lld W=%lld\n", op, (long long)P, (long long)H, (long long)W);
  dt::validate("loss", std::vector<double>{loss}, std::vector<double>{want}, 1e-13, 1e-12);
  dt::validate("grad (central differences)", grad, fd, 1e-9, 1e-6);
  std::vector<float> of(o.begin(), o.end()), gf(g.begin(), g.end()), gradf(n);
  double lossf = -1;
  dt::expect_ok(deepspg_edge_loss_cpu_f32(of.data(), gf.data(), P, H, W, op, &lossf, gradf.data()), "edge f32");
  dt::validate("loss f32", std::vector<double>{lossf}, std::vector<double>{want}, 1e-6, 1e-5);
  dt::validate("grad f32", gradf, grad, 1e-6, 1e-4);
#if DEEPSPG_TEST_CUDA
  if (dt::have_gpu()) cuda_vs_cpu(of, gf, P, H, W, op, lossf, gradf);
#endif
}

}  // namespace

int main() {
  run(2, 5, 7, DEEPSPG_EDGE_DIFF, 1);
  run(3, 1, 9, DEEPSPG_EDGE_DIFF, 3);  // H = 1: the Dy term has an empty domain
  run(1, 6, 1, DEEPSPG_EDGE_DIFF, 5);
  run(2, 5, 7, DEEPSPG_EDGE_SOBEL, 7);
  run(1, 2, 3, DEEPSPG_EDGE_SOBEL, 9);
#if DEEPSPG_TEST_CUDA
  for (int op : {DEEPSPG_EDGE_DIFF, DEEPSPG_EDGE_SOBEL}) {
    cuda_large(2, 9, 33, op, 11);
    cuda_large(12, 256, 256, op, 13);  // training's [B*3, 256, 256]
    cuda_large(3, 1080, 1920, op, 15);  // more tiles than the one-pass grid
  }
#endif
  double loss;
  float one = 1;
  dt::expect(deepspg_edge_loss_cpu_f32(&one, &one, 1, 1, 1, 5, &loss, nullptr) == DEEPSPG_ERR_INVALID_ARGUMENT,
             "unknown operator refused");
  return dt::finish("edge_loss_test");
}
