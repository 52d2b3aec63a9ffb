// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Edge loss and semantic KL loss, CUDA backend; same math as src/cpu/edge_loss.cpp and src/cpu/kl_loss.cpp
// (spec sections 4.2 and 4.3). float inputs, double loss. One thread per pixel; each block writes one partial sum
// (fixed tree order), and one block sums the partials in index order, so the loss is deterministic.
#include <cmath>

#include "cuda_common.cuh"

namespace deepspg::ops {
namespace {

constexpr int kThreads = static_cast<int>(detail::kCudaLossThreads);

__device__ __constant__ int kSobel[3][3] = {{-1, 0, 1}, {-2, 0, 2}, {-1, 0, 1}};

__device__ inline float edge_e(const float* o, const float* g, int64_t i, int64_t j, int64_t w) {
  return o[i * w + j] - g[i * w + j];
}

// DIFF: value and gradient at once (the gradient at (i, j) reads only E's 4-neighbourhood).
__global__ void edge_diff_kernel(const float* __restrict__ o, const float* __restrict__ g, int64_t planes, int64_t h,
                                 int64_t w, double cx, double cy, double* __restrict__ part_x,
                                 double* __restrict__ part_y, float* __restrict__ grad) {
  __shared__ double smem[kThreads];
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  double sx = 0, sy = 0;
  if (e < planes * h * w) {
    const int64_t p = e / (h * w), i = (e / w) % h, j = e % w;
    const float* op = o + p * h * w;
    const float* gp = g + p * h * w;
    const double c0 = edge_e(op, gp, i, j, w);
    const double dxr = j + 1 < w ? edge_e(op, gp, i, j + 1, w) - c0 : 0.0;
    const double dyd = i + 1 < h ? edge_e(op, gp, i + 1, j, w) - c0 : 0.0;
    sx = dxr * dxr;
    sy = dyd * dyd;
    if (grad != nullptr) {
      const double dxl = j > 0 ? c0 - edge_e(op, gp, i, j - 1, w) : 0.0;
      const double dyu = i > 0 ? c0 - edge_e(op, gp, i - 1, j, w) : 0.0;
      grad[e] = static_cast<float>(cx * (dxl - dxr) + cy * (dyu - dyd));
    }
  }
  const double bx = detail::block_sum(sx, smem);
  const double by = detail::block_sum(sy, smem);
  if (threadIdx.x == 0) part_x[blockIdx.x] = bx, part_y[blockIdx.x] = by;
}

__device__ inline int64_t clampi(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

// SOBEL pass 1: Gx E, Gy E maps and their squared sums.
__global__ void edge_sobel_kernel(const float* __restrict__ o, const float* __restrict__ g, int64_t planes, int64_t h,
                                  int64_t w, float* __restrict__ gx, float* __restrict__ gy,
                                  double* __restrict__ part_x, double* __restrict__ part_y) {
  __shared__ double smem[kThreads];
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  double sx = 0, sy = 0;
  if (e < planes * h * w) {
    const int64_t p = e / (h * w), i = (e / w) % h, j = e % w;
    const float* op = o + p * h * w;
    const float* gp = g + p * h * w;
    double vx = 0, vy = 0;
    for (int di = -1; di <= 1; ++di)
      for (int dj = -1; dj <= 1; ++dj) {
        const double v = edge_e(op, gp, clampi(i + di, 0, h - 1), clampi(j + dj, 0, w - 1), w);
        vx += kSobel[di + 1][dj + 1] * v;
        vy += kSobel[dj + 1][di + 1] * v;
      }
    gx[e] = static_cast<float>(vx);
    gy[e] = static_cast<float>(vy);
    sx = vx * vx;
    sy = vy * vy;
  }
  const double bx = detail::block_sum(sx, smem);
  const double by = detail::block_sum(sy, smem);
  if (threadIdx.x == 0) part_x[blockIdx.x] = bx, part_y[blockIdx.x] = by;
}

// SOBEL pass 2: gradient as a gather. Output q receives tap t of source p when clamp(p + t) == q; with replicate
// padding such p lie within one pixel of q, so a 3x3 neighbourhood of sources times 9 taps covers them all.
__global__ void edge_sobel_grad_kernel(const float* __restrict__ gx, const float* __restrict__ gy, int64_t planes,
                                       int64_t h, int64_t w, double c, float* __restrict__ grad) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= planes * h * w) return;
  const int64_t p = e / (h * w), qi = (e / w) % h, qj = e % w;
  double acc = 0;
  for (int64_t pi = qi - 1; pi <= qi + 1; ++pi) {
    if (pi < 0 || pi >= h) continue;
    for (int64_t pj = qj - 1; pj <= qj + 1; ++pj) {
      if (pj < 0 || pj >= w) continue;
      const double vx = gx[p * h * w + pi * w + pj], vy = gy[p * h * w + pi * w + pj];
      for (int di = -1; di <= 1; ++di)
        for (int dj = -1; dj <= 1; ++dj)
          if (clampi(pi + di, 0, h - 1) == qi && clampi(pj + dj, 0, w - 1) == qj)
            acc += kSobel[di + 1][dj + 1] * vx + kSobel[dj + 1][di + 1] * vy;
    }
  }
  grad[e] = static_cast<float>(c * acc);
}

__global__ void combine_kernel(const double* __restrict__ sums, double ix, double iy, double* __restrict__ loss) {
  *loss = sums[0] * ix + sums[1] * iy;
}

// KL: one thread per pixel; the K classes of a pixel are HW apart, so neighbouring threads read neighbouring pixels.
__global__ void kl_kernel(const float* __restrict__ zo, const float* __restrict__ zg, int64_t batch, int64_t k,
                          int64_t hw, double it, double scale, double* __restrict__ part, float* __restrict__ grad) {
  __shared__ double smem[kThreads];
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  double kl = 0;
  if (e < batch * hw) {
    const int64_t b = e / hw, q = e % hw;
    const float* o = zo + b * k * hw + q;
    const float* g = zg + b * k * hw + q;
    double mo = -INFINITY, mg = -INFINITY;
    for (int64_t c = 0; c < k; ++c) mo = fmax(mo, it * o[c * hw]), mg = fmax(mg, it * g[c * hw]);
    double so = 0, sg = 0;
    for (int64_t c = 0; c < k; ++c) so += exp(it * o[c * hw] - mo), sg += exp(it * g[c * hw] - mg);
    so = log(so), sg = log(sg);
    for (int64_t c = 0; c < k; ++c) {
      const double lpo = it * o[c * hw] - mo - so, lpg = it * g[c * hw] - mg - sg, pg = exp(lpg);
      kl += pg * (lpg - lpo);
      if (grad != nullptr) grad[b * k * hw + c * hw + q] = static_cast<float>((exp(lpo) - pg) * it * scale);
    }
  }
  const double s = detail::block_sum(kl, smem);
  if (threadIdx.x == 0) part[blockIdx.x] = s;
}

}  // namespace
}  // namespace deepspg::ops

using namespace deepspg::ops;

extern "C" {

int32_t deepspg_edge_loss_cuda_f32(const float* out, const float* gt, int64_t planes, int64_t h, int64_t w, int32_t op,
                                   double* loss, float* grad, void* workspace, void* stream_) {
  const char* fn = __func__;
  DEEPSPG_CHECK_PTR(fn, out);
  DEEPSPG_CHECK_PTR(fn, gt);
  DEEPSPG_CHECK_PTR(fn, loss);
  DEEPSPG_CHECK_PTR(fn, workspace);
  if (planes < 0 || h < 1 || w < 1) return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": bad size");
  if (op != DEEPSPG_EDGE_DIFF && op != DEEPSPG_EDGE_SOBEL)
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": unknown operator");
  auto stream = static_cast<cudaStream_t>(stream_);
  const int64_t numel = planes * h * w, blocks = (numel + kThreads - 1) / kThreads;
  double nx, ny;
  if (op == DEEPSPG_EDGE_DIFF)
    nx = static_cast<double>(planes * h * (w - 1)), ny = static_cast<double>(planes * (h - 1) * w);
  else
    nx = ny = static_cast<double>(numel);
  const double ix = nx > 0 ? 1.0 / nx : 0.0, iy = ny > 0 ? 1.0 / ny : 0.0;
  if (numel == 0) {
    cudaError_t e = cudaMemsetAsync(loss, 0, sizeof(double), stream);
    return e == cudaSuccess ? detail::ok() : detail::cuda_fail(fn, e);
  }
  char* ws = static_cast<char*>(workspace);
  double* part_x = reinterpret_cast<double*>(ws);
  double* part_y = part_x + blocks;
  double* sums = part_y + blocks;  // [2]: total of the x and of the y partials
  float* gx = reinterpret_cast<float*>(ws + detail::round_up_256((2 * blocks + 2) * 8));
  float* gy = gx + numel;
  if (op == DEEPSPG_EDGE_DIFF) {
    edge_diff_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(out, gt, planes, h, w, 2 * ix, 2 * iy,
                                                                             part_x, part_y, grad);
  } else {
    edge_sobel_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(out, gt, planes, h, w, gx, gy, part_x,
                                                                              part_y);
    if (int32_t st = detail::check_launch(fn)) return st;
    if (grad != nullptr)
      edge_sobel_grad_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(gx, gy, planes, h, w, 2 * ix,
                                                                                     grad);
  }
  if (int32_t st = detail::check_launch(fn)) return st;
  detail::ordered_sum_kernel<<<1, 256, 0, stream>>>(part_x, blocks, 1.0, sums);
  if (int32_t st = detail::check_launch(fn)) return st;
  detail::ordered_sum_kernel<<<1, 256, 0, stream>>>(part_y, blocks, 1.0, sums + 1);
  if (int32_t st = detail::check_launch(fn)) return st;
  combine_kernel<<<1, 1, 0, stream>>>(sums, ix, iy, loss);
  return detail::check_launch(fn);
}

int32_t deepspg_kl_loss_cuda_f32(const float* z_out, const float* z_gt, int64_t batch, int64_t k, int64_t hw,
                                 double temperature, double* loss, float* grad, void* workspace, void* stream_) {
  const char* fn = __func__;
  DEEPSPG_CHECK_PTR(fn, z_out);
  DEEPSPG_CHECK_PTR(fn, z_gt);
  DEEPSPG_CHECK_PTR(fn, loss);
  DEEPSPG_CHECK_PTR(fn, workspace);
  if (batch < 0 || k < 1 || hw < 0) return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": bad size");
  if (!(temperature > 0) || !std::isfinite(temperature))
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": temperature must be finite and > 0");
  auto stream = static_cast<cudaStream_t>(stream_);
  const int64_t pix = batch * hw, blocks = (pix + kThreads - 1) / kThreads;
  if (pix == 0) {
    cudaError_t e = cudaMemsetAsync(loss, 0, sizeof(double), stream);
    return e == cudaSuccess ? detail::ok() : detail::cuda_fail(fn, e);
  }
  double* part = static_cast<double*>(workspace);
  const double scale = 1.0 / static_cast<double>(pix);
  kl_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(z_out, z_gt, batch, k, hw, 1.0 / temperature,
                                                                    scale, part, grad);
  if (int32_t st = detail::check_launch(fn)) return st;
  detail::ordered_sum_kernel<<<1, 256, 0, stream>>>(part, blocks, scale, loss);
  return detail::check_launch(fn);
}

}  // extern "C"
