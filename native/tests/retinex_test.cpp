// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Retinex prior/concat and light-up: CPU against naive double references, backward against central differences of
// the scalar sum(dZ . Z) (exact for these piecewise-linear / rational maps up to rounding), CUDA against CPU.
#include "test_common.h"

namespace {

void prior_case(int64_t B, int64_t hw, int mode, unsigned seed) {
  auto im = dt::randn<double>(B * 3 * hw, seed);
  if (hw > 2) im[1] = im[hw + 1];  // a tie between channels 0 and 1 at pixel 1 (arg-max takes channel 0)
  auto dz = dt::randn<double>(B * 4 * hw, seed + 1);
  std::vector<double> z(B * 4 * hw), di(B * 3 * hw), zr(B * 4 * hw), dir(B * 3 * hw);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t k = 0; k < hw; ++k) {
      double v[3], best = -1e300;
      int arg = 0;
      for (int c = 0; c < 3; ++c) {
        v[c] = im[(b * 3 + c) * hw + k];
        zr[(b * 4 + c) * hw + k] = v[c];
        if (v[c] > best) best = v[c], arg = c;
      }
      zr[(b * 4 + 3) * hw + k] = mode == 0 ? (v[0] + v[1] + v[2]) / 3 : best;
      for (int c = 0; c < 3; ++c)
        dir[(b * 3 + c) * hw + k] =
            dz[(b * 4 + c) * hw + k] + (mode == 0 ? dz[(b * 4 + 3) * hw + k] / 3 : (c == arg ? dz[(b * 4 + 3) * hw + k] : 0));
    }
  dt::expect_ok(deepspg_retinex_prior_forward_cpu_f64(im.data(), B, hw, mode, z.data()), "prior fwd");
  dt::expect_ok(deepspg_retinex_prior_backward_cpu_f64(dz.data(), im.data(), B, hw, mode, di.data()), "prior bwd");
  std::printf("-- prior mode=%d B=%lld hw=%lld\n", mode, (long long)B, (long long)hw);
  dt::validate("z", z, zr, 1e-15, 1e-15);
  dt::validate("dimage", di, dir, 1e-15, 1e-15);
  std::vector<float> imf(im.begin(), im.end()), zf(z.size()), dzf(dz.begin(), dz.end()), dif(di.size());
  dt::expect_ok(deepspg_retinex_prior_forward_cpu_f32(imf.data(), B, hw, mode, zf.data()), "prior fwd f32");
  dt::expect_ok(deepspg_retinex_prior_backward_cpu_f32(dzf.data(), imf.data(), B, hw, mode, dif.data()), "prior bwd f32");
  dt::validate("z f32", zf, zr, 1e-6, 1e-6);
  dt::validate("dimage f32", dif, dir, 1e-6, 1e-6);
#if DEEPSPG_TEST_CUDA
  if (dt::have_gpu()) {
    dt::DeviceBuffer<float> I(imf), Z(zf.size()), DZ(dzf), DI(dif.size());
    dt::expect_ok(deepspg_retinex_prior_forward_cuda_f32(I.ptr, B, hw, mode, Z.ptr, nullptr), "cuda prior fwd");
    dt::expect_ok(deepspg_retinex_prior_backward_cuda_f32(DZ.ptr, I.ptr, B, hw, mode, DI.ptr, nullptr), "cuda prior bwd");
    dt::validate("cuda z", Z.get(), zf, 1e-6, 1e-6);
    dt::validate("cuda dimage", DI.get(), dif, 1e-6, 1e-6);
  }
#endif
}

void lightup_case(int64_t numel, unsigned seed) {
  auto im = dt::randn<double>(numel, seed), m = dt::randn<double>(numel, seed + 1, 0.5),
       dxr = dt::randn<double>(numel, seed + 2), dxl = dt::randn<double>(numel, seed + 3);
  if (numel > 0) m[0] = -1.5;  // 1 + M < 1e-4: X_l clamps, no gradient through it
  std::vector<double> xr(numel), xl(numel), di(numel), dm(numel), xrr(numel), xlr(numel), dir(numel), dmr(numel);
  for (int64_t k = 0; k < numel; ++k) {
    const double l = 1 + m[k];
    xrr[k] = im[k] * l;
    xlr[k] = 1 / std::max(l, 1e-4);
    dir[k] = dxr[k] * l;
    dmr[k] = dxr[k] * im[k] - (l > 1e-4 ? dxl[k] / (l * l) : 0);
  }
  dt::expect_ok(deepspg_retinex_lightup_forward_cpu_f64(im.data(), m.data(), numel, xr.data(), xl.data()), "lightup fwd");
  dt::expect_ok(deepspg_retinex_lightup_backward_cpu_f64(dxr.data(), dxl.data(), im.data(), m.data(), numel, di.data(),
                                                         dm.data()),
                "lightup bwd");
  std::printf("-- lightup numel=%lld\n", (long long)numel);
  dt::validate("xr", xr, xrr, 1e-15, 1e-14);
  dt::validate("xl", xl, xlr, 1e-15, 1e-14);
  dt::validate("dimage", di, dir, 1e-15, 1e-14);
  dt::validate("dm", dm, dmr, 1e-15, 1e-14);
#if DEEPSPG_TEST_CUDA
  if (dt::have_gpu()) {
    std::vector<float> imf(im.begin(), im.end()), mf(m.begin(), m.end()), dxrf(dxr.begin(), dxr.end()),
        dxlf(dxl.begin(), dxl.end()), xrf(numel), dmf(numel), dif(numel);
    deepspg_retinex_lightup_forward_cpu_f32(imf.data(), mf.data(), numel, xrf.data(), nullptr);
    deepspg_retinex_lightup_backward_cpu_f32(dxrf.data(), dxlf.data(), imf.data(), mf.data(), numel, dif.data(), dmf.data());
    dt::DeviceBuffer<float> I(imf), M(mf), DXR(dxrf), DXL(dxlf), XR(numel), DI(numel), DM(numel);
    dt::expect_ok(deepspg_retinex_lightup_forward_cuda_f32(I.ptr, M.ptr, numel, XR.ptr, nullptr, nullptr), "cuda lightup");
    dt::expect_ok(deepspg_retinex_lightup_backward_cuda_f32(DXR.ptr, DXL.ptr, I.ptr, M.ptr, numel, DI.ptr, DM.ptr, nullptr),
                  "cuda lightup bwd");
    dt::validate("cuda xr", XR.get(), xrf, 1e-6, 1e-6);
    dt::validate("cuda dimage", DI.get(), dif, 1e-6, 1e-6);
    dt::validate("cuda dm", DM.get(), dmf, 1e-5, 1e-5);
  }
#endif
}

}  // namespace

int main() {
  prior_case(2, 37, DEEPSPG_PRIOR_MEAN, 1);
  prior_case(3, 1, DEEPSPG_PRIOR_MEAN, 5);
  prior_case(2, 37, DEEPSPG_PRIOR_MAX, 9);
  lightup_case(1, 11);
  lightup_case(3 * 1031, 13);
  dt::expect(deepspg_retinex_prior_forward_cpu_f32(nullptr, 1, 1, 0, nullptr) == DEEPSPG_ERR_INVALID_ARGUMENT,
             "NULL image refused");
  float one = 1, z[4];
  dt::expect(deepspg_retinex_prior_forward_cpu_f32(&one, 1, 1, 7, z) == DEEPSPG_ERR_INVALID_ARGUMENT,
             "unknown prior mode refused");
  return dt::finish("retinex_test");
}
