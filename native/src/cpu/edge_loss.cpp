// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Edge loss, CPU backend (spec ARCHITECTURE.md section 4.2; DeepSPG eq. 12).
//
// E = out - gt per plane [H, W] (planes = B*C).
//   DIFF:  L = mean_{Ox} (Dx E)^2 + mean_{Oy} (Dy E)^2, Dx E(i,j) = E(i,j+1) - E(i,j) on j < W-1, Dy likewise,
//          |Ox| = P*H*(W-1), |Oy| = P*(H-1)*W; dL/dE = (2/|Ox|) Dx^T Dx E + (2/|Oy|) Dy^T Dy E, which at (i,j) reads
//          only E's 4-neighbourhood, so value and gradient come out of one gather pass.
//   SOBEL: Gx = [[-1,0,1],[-2,0,2],[-1,0,1]] (cross-correlation), Gy = Gx^T, replicate padding,
//          L = mean_{P*H*W} (Gx E)^2 + mean (Gy E)^2; the gradient is the adjoint (a scatter) of the padded filter.
// Dtypes float, double; sums in double per plane, reduced in plane order (deterministic).
#include <algorithm>
#include <new>
#include <string>
#include <vector>

#include "../common/common.h"

namespace deepspg::ops {
namespace {

constexpr int kSobel[3][3] = {{-1, 0, 1}, {-2, 0, 2}, {-1, 0, 1}};

template <typename T>
void diff_plane(const T* o, const T* g, int64_t h, int64_t w, double cx, double cy, double* sx, double* sy, T* grad) {
  auto E = [&](int64_t i, int64_t j) { return static_cast<double>(o[i * w + j]) - static_cast<double>(g[i * w + j]); };
  double ax = 0, ay = 0;
  for (int64_t i = 0; i < h; ++i) {
    for (int64_t j = 0; j < w; ++j) {
      const double e = E(i, j);
      const double dxr = j + 1 < w ? E(i, j + 1) - e : 0.0;  // Dx E at (i, j)
      const double dyd = i + 1 < h ? E(i + 1, j) - e : 0.0;  // Dy E at (i, j)
      ax += dxr * dxr;
      ay += dyd * dyd;
      if (grad != nullptr) {
        const double dxl = j > 0 ? e - E(i, j - 1) : 0.0;  // Dx E at (i, j-1)
        const double dyu = i > 0 ? e - E(i - 1, j) : 0.0;  // Dy E at (i-1, j)
        grad[i * w + j] = static_cast<T>(cx * (dxl - dxr) + cy * (dyu - dyd));
      }
    }
  }
  *sx = ax;
  *sy = ay;
}

template <typename T>
void sobel_plane(const T* o, const T* g, int64_t h, int64_t w, double c, double* sx, double* sy, T* grad,
                 std::vector<double>& gx, std::vector<double>& gy) {
  auto E = [&](int64_t i, int64_t j) {
    i = std::clamp<int64_t>(i, 0, h - 1);
    j = std::clamp<int64_t>(j, 0, w - 1);
    return static_cast<double>(o[i * w + j]) - static_cast<double>(g[i * w + j]);
  };
  double ax = 0, ay = 0;
  for (int64_t i = 0; i < h; ++i) {
    for (int64_t j = 0; j < w; ++j) {
      double vx = 0, vy = 0;
      for (int di = -1; di <= 1; ++di)
        for (int dj = -1; dj <= 1; ++dj) {
          const double e = E(i + di, j + dj);
          vx += kSobel[di + 1][dj + 1] * e;
          vy += kSobel[dj + 1][di + 1] * e;  // Gy = Gx^T
        }
      gx[i * w + j] = vx;
      gy[i * w + j] = vy;
      ax += vx * vx;
      ay += vy * vy;
    }
  }
  *sx = ax;
  *sy = ay;
  if (grad == nullptr) return;
  std::vector<double> acc(static_cast<size_t>(h * w), 0.0);
  for (int64_t i = 0; i < h; ++i)
    for (int64_t j = 0; j < w; ++j)
      for (int di = -1; di <= 1; ++di)
        for (int dj = -1; dj <= 1; ++dj) {
          const int64_t qi = std::clamp<int64_t>(i + di, 0, h - 1), qj = std::clamp<int64_t>(j + dj, 0, w - 1);
          acc[qi * w + qj] += c * (kSobel[di + 1][dj + 1] * gx[i * w + j] + kSobel[dj + 1][di + 1] * gy[i * w + j]);
        }
  for (int64_t k = 0; k < h * w; ++k) grad[k] = static_cast<T>(acc[k]);
}

template <typename T>
int32_t edge_loss(const char* fn, const T* out, const T* gt, int64_t planes, int64_t h, int64_t w, int32_t op,
                  double* loss, T* grad) {
  DEEPSPG_CHECK_PTR(fn, out);
  DEEPSPG_CHECK_PTR(fn, gt);
  DEEPSPG_CHECK_PTR(fn, loss);
  if (planes < 0 || h < 1 || w < 1)
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT,
                        std::string(fn) + ": need planes >= 0, h >= 1, w >= 1, got " + std::to_string(planes) + ", " +
                            std::to_string(h) + ", " + std::to_string(w));
  if (op != DEEPSPG_EDGE_DIFF && op != DEEPSPG_EDGE_SOBEL)
    return detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": unknown operator " + std::to_string(op));
  const int64_t hw = h * w;
  double nx, ny;
  if (op == DEEPSPG_EDGE_DIFF) {
    nx = static_cast<double>(planes * h * (w - 1));
    ny = static_cast<double>(planes * (h - 1) * w);
  } else {
    nx = ny = static_cast<double>(planes * hw);
  }
  // An empty domain (W = 1 for Dx, say) contributes 0 to the value and the gradient.
  const double ix = nx > 0 ? 1.0 / nx : 0.0, iy = ny > 0 ? 1.0 / ny : 0.0;
  std::vector<double> sx(static_cast<size_t>(planes)), sy(static_cast<size_t>(planes));
  int out_of_memory = 0;  // a std::bad_alloc must not leave the parallel region (std::terminate): flagged instead
#pragma omp parallel if (planes * hw >= detail::kOmpMinWork)
  {
    std::vector<double> gx, gy;  // Sobel's per-plane gradients: two planes of doubles per thread
    bool ok = true;
    try {
      if (op == DEEPSPG_EDGE_SOBEL) gx.resize(static_cast<size_t>(hw)), gy.resize(static_cast<size_t>(hw));
    } catch (const std::bad_alloc&) {
      ok = false;
#pragma omp atomic write
      out_of_memory = 1;
    }
#pragma omp for schedule(static)
    for (int64_t p = 0; p < planes; ++p) {
      if (!ok) continue;
      T* gp = grad ? grad + p * hw : nullptr;
      if (op == DEEPSPG_EDGE_DIFF)
        diff_plane(out + p * hw, gt + p * hw, h, w, 2 * ix, 2 * iy, &sx[p], &sy[p], gp);
      else
        sobel_plane(out + p * hw, gt + p * hw, h, w, 2 * ix, &sx[p], &sy[p], gp, gx, gy);
    }
  }
  if (out_of_memory) {
    return detail::fail(DEEPSPG_ERR_OUT_OF_MEMORY, std::string(fn) + ": out of memory for the Sobel buffers (" +
                                                       std::to_string(2 * hw) + " doubles per thread)");
  }
  double ax = 0, ay = 0;
  for (int64_t p = 0; p < planes; ++p) ax += sx[p], ay += sy[p];
  *loss = ax * ix + ay * iy;
  return detail::ok();
}

}  // namespace
}  // namespace deepspg::ops

extern "C" {

int32_t deepspg_edge_loss_cpu_f32(const float* out, const float* gt, int64_t planes, int64_t h, int64_t w, int32_t op,
                                  double* loss, float* grad) {
  return deepspg::ops::edge_loss(__func__, out, gt, planes, h, w, op, loss, grad);
}
int32_t deepspg_edge_loss_cpu_f64(const double* out, const double* gt, int64_t planes, int64_t h, int64_t w,
                                  int32_t op, double* loss, double* grad) {
  return deepspg::ops::edge_loss(__func__, out, gt, planes, h, w, op, loss, grad);
}

}  // extern "C"
