// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Edge loss and semantic KL loss, CUDA backend; same math as src/cpu/edge_loss.cpp and src/cpu/kl_loss.cpp
// (spec sections 4.2 and 4.3). float inputs, double loss. Two sets of kernels (deepspg_cuda_losses, kernels.h):
//   measured (the default): one thread per pixel; each block writes one partial sum (fixed tree order), and one
//     block sums the partials in index order, so the loss is deterministic;
//   one-pass: the phases of loss_tiles.h in one launch per loss, the last block adding the partials up.
#include <cmath>

#include "cuda_common.cuh"
#include "loss_tiles.h"

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
      kl += lpg == -INFINITY ? 0.0 : pg * (lpg - lpo);  // 0 log 0 = 0 for a -inf ground-truth logit
      if (grad != nullptr) grad[b * k * hw + c * hw + q] = static_cast<float>((exp(lpo) - pg) * it * scale);
    }
  }
  const double s = detail::block_sum(kl, smem);
  if (threadIdx.x == 0) part[blockIdx.x] = s;
}

// ---- one-pass kernels (loss_tiles.h) ----------------------------------------------------------------------------

namespace lt = loss_tiles;
static_assert(lt::kThreads == kThreads && lt::kMaxBlocks == detail::kCudaLossMaxBlocks,
              "the workspace functions size the one-pass partials with the same constants");

// The fixed tree of detail::block_sum, written with loss_tiles' level step (what the host simulation runs).
__device__ double block_tree(double v, double* red) {
  const int t = threadIdx.x;
  red[t] = v;
  __syncthreads();
  for (int stride = lt::kThreads / 2; stride > 0; stride >>= 1) {
    lt::tree_level(red, stride, t);
    __syncthreads();
  }
  const double s = red[0];
  __syncthreads();
  return s;
}

// Whether this block is the last of the grid to finish: its partials (written by thread 0 before the call) are
// fenced, then it takes a ticket; the block holding the last ticket reads everyone's partials.
__device__ bool last_block(unsigned* ticket) {
  __shared__ bool last;
  __threadfence();
  if (threadIdx.x == 0) last = atomicAdd(ticket, 1u) == gridDim.x - 1;
  __syncthreads();
  return last;
}

// The partials of all blocks in index order (loss_tiles::ordered_share, read through L2: written by other blocks).
__device__ double ordered_total(const double* parts, int64_t count, double* red) {
  double acc = 0;
  for (int64_t k = threadIdx.x; k < count; k += lt::kThreads) acc += __ldcg(parts + k);
  return block_tree(acc, red);
}

// Edge loss, one launch: the grid walks the 32 x 8 tiles with a stride of gridDim.x; c: 2 / n of each term (the
// gradient's factors), ix, iy: 1 / n; *loss = (sum of x terms) ix + (sum of y terms) iy, from the last block.
template <bool Sobel>
__global__ void __launch_bounds__(lt::kThreads)
    edge_one_pass_kernel(const float* __restrict__ o, const float* __restrict__ g, lt::EdgeGeom G, double cx,
                         double cy, double ix, double iy, float* __restrict__ grad, double* part_x, double* part_y,
                         unsigned* ticket, double* loss) {
  __shared__ float sm[Sobel ? lt::kSobelSmemFloats : 1];
  __shared__ double red[lt::kThreads];
  const int tid = threadIdx.x;
  double sx = 0, sy = 0;
  for (int64_t t = blockIdx.x; t < G.tiles; t += gridDim.x) {
    int64_t p, i0, j0;
    G.origin(t, &p, &i0, &j0);
    if constexpr (!Sobel) {
      lt::diff_pixel(G, o, g, p, i0, j0, cx, cy, grad, tid, sx, sy);
    } else {
      float* se = sm;
      float* sgx = se + lt::kEh * lt::kEw;
      float* sgy = sgx + lt::kGh * lt::kGw;
      lt::sobel_load(G, o, g, p, i0, j0, se, tid);
      __syncthreads();
      lt::sobel_maps(G, i0, j0, se, sgx, sgy, tid, sx, sy);
      __syncthreads();  // the next tile's load writes only E, so the gather below needs no barrier after it
      if (grad != nullptr) lt::sobel_grad(G, p, i0, j0, sgx, sgy, cx, grad, tid);
    }
  }
  const double bx = block_tree(sx, red), by = block_tree(sy, red);
  if (tid == 0) part_x[blockIdx.x] = bx, part_y[blockIdx.x] = by;
  if (!last_block(ticket)) return;
  const double tx = ordered_total(part_x, gridDim.x, red), ty = ordered_total(part_y, gridDim.x, red);
  if (tid == 0) *loss = tx * ix + ty * iy;
}

// KL loss, one launch: the grid walks the 32-pixel tiles with a stride of gridDim.x; *loss = total * scale.
__global__ void __launch_bounds__(lt::kThreads)
    kl_one_pass_kernel(const float* __restrict__ zo, const float* __restrict__ zg, lt::KlGeom G, float it,
                       float gscale, double scale, float* __restrict__ grad, double* part, unsigned* ticket,
                       double* loss) {
  __shared__ float sm[lt::kKlSmemFloats];
  __shared__ double red[lt::kThreads];
  const int tid = threadIdx.x;
  double s = 0;
  for (int64_t t = blockIdx.x; t < G.tiles; t += gridDim.x) {
    int64_t b, q0;
    G.origin(t, &b, &q0);
    lt::kl_max(G, zo, zg, b, q0, it, sm, tid);
    __syncthreads();
    lt::kl_sum(G, zo, zg, b, q0, it, sm, tid);
    __syncthreads();
    s += lt::kl_terms(G, zo, zg, b, q0, it, gscale, sm, grad, tid);
    __syncthreads();  // the next tile's maxima overwrite what kl_terms read
  }
  const double bs = block_tree(s, red);
  if (tid == 0) part[blockIdx.x] = bs;
  if (!last_block(ticket)) return;
  const double total = ordered_total(part, gridDim.x, red);
  if (tid == 0) *loss = total * scale;
}

}  // namespace
}  // namespace deepspg::ops

using namespace deepspg::ops;

namespace {

// The ticket of the one-pass kernels, after `parts` doubles of partials (detail::cuda_loss_ticket_offset); zeroed on
// the stream before each launch (the workspace arrives uninitialised).
unsigned* one_pass_ticket(void* workspace, int64_t parts) {
  return reinterpret_cast<unsigned*>(static_cast<char*>(workspace) + detail::cuda_loss_ticket_offset(parts));
}

}  // namespace

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
  if (detail::cuda_losses_variant() == DEEPSPG_CUDA_LOSSES_ONE_PASS) {
    const lt::EdgeGeom G = lt::EdgeGeom::make(planes, h, w);
    double* part_x = static_cast<double*>(workspace);
    unsigned* ticket = one_pass_ticket(workspace, 2 * G.blocks);
    cudaError_t e = cudaMemsetAsync(ticket, 0, sizeof(unsigned), stream);
    if (e != cudaSuccess) return detail::cuda_fail(fn, e);
    const double cx = 2 * ix, cy = 2 * iy;  // the gradient's factors (Sobel: nx = ny)
    if (op == DEEPSPG_EDGE_DIFF)
      edge_one_pass_kernel<false><<<static_cast<unsigned>(G.blocks), lt::kThreads, 0, stream>>>(
          out, gt, G, cx, cy, ix, iy, grad, part_x, part_x + G.blocks, ticket, loss);
    else
      edge_one_pass_kernel<true><<<static_cast<unsigned>(G.blocks), lt::kThreads, 0, stream>>>(
          out, gt, G, cx, cy, ix, iy, grad, part_x, part_x + G.blocks, ticket, loss);
    return detail::check_launch(fn);
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
  if (detail::cuda_losses_variant() == DEEPSPG_CUDA_LOSSES_ONE_PASS) {
    const lt::KlGeom G = lt::KlGeom::make(batch, k, hw);
    unsigned* ticket = one_pass_ticket(workspace, G.blocks);
    cudaError_t e = cudaMemsetAsync(ticket, 0, sizeof(unsigned), stream);
    if (e != cudaSuccess) return detail::cuda_fail(fn, e);
    const double it = 1.0 / temperature;
    kl_one_pass_kernel<<<static_cast<unsigned>(G.blocks), lt::kThreads, 0, stream>>>(
        z_out, z_gt, G, static_cast<float>(it), static_cast<float>(it * scale), scale, grad, part, ticket, loss);
    return detail::check_launch(fn);
  }
  kl_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(z_out, z_gt, batch, k, hw, 1.0 / temperature,
                                                                    scale, part, grad);
  if (int32_t st = detail::check_launch(fn)) return st;
  detail::ordered_sum_kernel<<<1, 256, 0, stream>>>(part, blocks, scale, loss);
  return detail::check_launch(fn);
}

}  // extern "C"
