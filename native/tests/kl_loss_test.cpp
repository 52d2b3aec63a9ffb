// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Semantic KL loss: value against a naive double reference, gradient against the closed form and against central
// differences, CUDA against CPU.
#include <algorithm>

#include "test_common.h"

namespace {

double ref_loss(const std::vector<double>& zo, const std::vector<double>& zg, int64_t B, int64_t K, int64_t HW,
                double T) {
  double tot = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t q = 0; q < HW; ++q) {
      double mo = -1e300, mg = -1e300, so = 0, sg = 0;
      for (int64_t k = 0; k < K; ++k) mo = std::max(mo, zo[(b * K + k) * HW + q] / T), mg = std::max(mg, zg[(b * K + k) * HW + q] / T);
      for (int64_t k = 0; k < K; ++k) so += std::exp(zo[(b * K + k) * HW + q] / T - mo), sg += std::exp(zg[(b * K + k) * HW + q] / T - mg);
      for (int64_t k = 0; k < K; ++k) {
        const double lpo = zo[(b * K + k) * HW + q] / T - mo - std::log(so);
        const double lpg = zg[(b * K + k) * HW + q] / T - mg - std::log(sg);
        if (lpg != -INFINITY) tot += std::exp(lpg) * (lpg - lpo);  // 0 log 0 = 0
      }
    }
  return tot / double(B * HW);
}

#if DEEPSPG_TEST_CUDA
// Both CUDA kernel sets (deepspg_cuda_losses) against the CPU float kernel (dt::loss_cuda_vs_cpu).
void cuda_vs_cpu(const std::vector<float>& of, const std::vector<float>& gf, int64_t B, int64_t K, int64_t HW,
                 double T, double lossf, const std::vector<float>& gradf) {
  dt::DeviceBuffer<float> O(of), G(gf);
  dt::DeviceBuffer<unsigned char> ws(deepspg_kl_loss_workspace_bytes(B, K, HW));
  dt::loss_cuda_vs_cpu(
      "kl",
      [&](double* loss, float* grad) {
        return deepspg_kl_loss_cuda_f32(O.ptr, G.ptr, B, K, HW, T, loss, grad, ws.ptr, nullptr);
      },
      lossf, gradf, 1e-7);
}

// Sizes past one block and past the one-pass grid (the block stride): CUDA against the CPU float kernel.
void cuda_large(int64_t B, int64_t K, int64_t HW, double T, unsigned seed) {
  if (!dt::have_gpu()) return;
  const int64_t n = B * K * HW;
  auto of = dt::randn<float>(n, seed, 3.0), gf = dt::randn<float>(n, seed + 1, 3.0);
  std::vector<float> gradf(n);
  double lossf = -1;
  dt::expect_ok(deepspg_kl_loss_cpu_f32(of.data(), gf.data(), B, K, HW, T, &lossf, gradf.data()), "kl f32");
  std::printf("-- kl B=%lld K=%lld HW=%lld T=%g (CUDA vs CPU)\n", (long long)B, (long long)K, (long long)HW, T);
  cuda_vs_cpu(of, gf, B, K, HW, T, lossf, gradf);
}
#endif

// Ground-truth logits of -inf (a class impossible there): P_gt = 0 adds 0 log 0 = 0, not 0 * -inf = NaN.
void run_neg_inf(int64_t B, int64_t K, int64_t HW, double T, unsigned seed) {
  const int64_t n = B * K * HW;
  auto zo = dt::randn<double>(n, seed, 3.0), zg = dt::randn<double>(n, seed + 1, 3.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t q = 0; q < HW; q += 3) zg[(b * K) * HW + q] = -INFINITY;  // class 0 at every third pixel
  const double want = ref_loss(zo, zg, B, K, HW, T);
  std::vector<double> grad(n);
  double loss = -1;
  dt::expect_ok(deepspg_kl_loss_cpu_f64(zo.data(), zg.data(), B, K, HW, T, &loss, grad.data()), "kl f64 -inf");
  std::printf("-- kl -inf ground-truth logits B=%lld K=%lld HW=%lld\n", (long long)B, (long long)K, (long long)HW);
  dt::validate("loss -inf", std::vector<double>{loss}, std::vector<double>{want}, 1e-13, 1e-12);
  std::vector<float> of(zo.begin(), zo.end()), gf(zg.begin(), zg.end()), gradf(n);
  double lossf = -1;
  dt::expect_ok(deepspg_kl_loss_cpu_f32(of.data(), gf.data(), B, K, HW, T, &lossf, gradf.data()), "kl f32 -inf");
  dt::validate("loss f32 -inf", std::vector<double>{lossf}, std::vector<double>{want}, 1e-5, 1e-5);
  dt::validate("grad f32 -inf", gradf, grad, 1e-7, 1e-4);
#if DEEPSPG_TEST_CUDA
  if (dt::have_gpu()) cuda_vs_cpu(of, gf, B, K, HW, T, lossf, gradf);
#endif
}

void run(int64_t B, int64_t K, int64_t HW, double T, unsigned seed) {
  const int64_t n = B * K * HW;
  auto zo = dt::randn<double>(n, seed, 3.0), zg = dt::randn<double>(n, seed + 1, 3.0);
  std::vector<double> grad(n), fd(n);
  double loss = -1;
  dt::expect_ok(deepspg_kl_loss_cpu_f64(zo.data(), zg.data(), B, K, HW, T, &loss, grad.data()), "kl f64");
  const double want = ref_loss(zo, zg, B, K, HW, T);
  for (int64_t k = 0; k < n; ++k) {
    const double h = 1e-5, keep = zo[k];
    zo[k] = keep + h;
    const double lp = ref_loss(zo, zg, B, K, HW, T);
    zo[k] = keep - h;
    const double lm = ref_loss(zo, zg, B, K, HW, T);
    zo[k] = keep;
    fd[k] = (lp - lm) / (2 * h);
  }
  std::printf("-- kl B=%lld K=%lld HW=%lld T=%g\n", (long long)B, (long long)K, (long long)HW, T);
  dt::validate("loss", std::vector<double>{loss}, std::vector<double>{want}, 1e-13, 1e-12);
  dt::validate("grad (central differences)", grad, fd, 1e-8, 1e-5);
  std::vector<float> of(zo.begin(), zo.end()), gf(zg.begin(), zg.end()), gradf(n);
  double lossf = -1;
  dt::expect_ok(deepspg_kl_loss_cpu_f32(of.data(), gf.data(), B, K, HW, T, &lossf, gradf.data()), "kl f32");
  dt::validate("loss f32", std::vector<double>{lossf}, std::vector<double>{want}, 1e-5, 1e-5);
  dt::validate("grad f32", gradf, grad, 1e-7, 1e-4);
#if DEEPSPG_TEST_CUDA
  if (dt::have_gpu()) cuda_vs_cpu(of, gf, B, K, HW, T, lossf, gradf);
#endif
}

}  // namespace

int main() {
  run(2, 7, 37, 1.0, 1);
  run(1, 150, 65, 2.0, 3);  // more than one 64-pixel tile, ADE20K's 150 classes
  run(1, 1, 5, 1.0, 5);     // one class: KL is 0 everywhere
  run_neg_inf(2, 6, 70, 1.0, 13);  // two 64-pixel tiles with a rest
#if DEEPSPG_TEST_CUDA
  cuda_large(4, 150, 64 * 64, 1.0, 7);       // training's shape
  cuda_large(1, 150, 270 * 480, 1.0, 9);     // HRNet's classes at 1920x1080 / 4
  cuda_large(1, 3, 2048 * 256 + 77, 2.0, 11);  // more pixels than the one-pass grid's threads
#endif
  double loss;
  float one = 1;
  dt::expect(deepspg_kl_loss_cpu_f32(&one, &one, 1, 1, 1, 0.0, &loss, nullptr) == DEEPSPG_ERR_INVALID_ARGUMENT,
             "temperature 0 refused");
  return dt::finish("kl_loss_test");
}
