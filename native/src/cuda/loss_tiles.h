// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Internal: the "one-pass" CUDA edge and KL losses (deepspg_cuda_losses in kernels.h), written as the phases one
// thread runs between barriers, so that the same code runs in the kernels (losses.cu) and in a host simulation of
// every thread of every block (tests/cuda_loss_sim_test.cpp), which checks tiles, halos, edges and the reduction
// order on a machine without a GPU. Plain C++ apart from the qualifier macro and the exponential.
//
// What changes against the measured kernels (one thread per pixel, 64-bit index divisions per pixel, partials of
// 256 pixels summed by two more launches and a combine):
//   * a fixed grid of at most kMaxBlocks blocks walks the tiles with a block stride, so the partials are few, and
//     the last block to finish (an atomic ticket) sums them in index order: one launch per loss (plus a 4-byte
//     memset of the ticket), the same fixed order on every run and every device;
//   * edge loss: 32 x 8 pixel tiles of one plane, index arithmetic per tile, not per pixel;
//   * Sobel: E = out - gt on the tile and a 2-pixel halo in shared memory, Gx and Gy on the tile and a 1-pixel ring
//     from it, the gradient gathered from those: the input read once, no Gx, Gy maps through memory (the measured
//     kernel writes and reads them again: 6 passes for the 3 the traffic model counts);
//   * KL: tiles of 32 pixels, the 8 warps of a block splitting each pixel's classes (all 256 threads busy where
//     the measured kernel has one thread per pixel), float arithmetic with float exponentials as the CPU float
//     kernel (kl_loss.cpp) has, instead of four double exponentials per logit.
// The gradients of the edge loss keep the measured kernels' arithmetic exactly (the simulation checks the bits).
#pragma once

#include <cmath>
#include <cstdint>

#include "host_device.h"

namespace deepspg::ops::loss_tiles {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 2048;  // grid cap: partials per loss term
constexpr int kTileW = 32, kTileH = 8;  // kTileW * kTileH == kThreads: one pixel of a tile per thread
constexpr int kEw = kTileW + 4, kEh = kTileH + 4;  // E with a 2-pixel halo (Sobel)
constexpr int kGw = kTileW + 2, kGh = kTileH + 2;  // Gx, Gy with a 1-pixel ring (Sobel)
static_assert(kTileW * kTileH == kThreads, "one pixel per thread");

/** Shared memory of the Sobel kernel, in floats: E, then Gx, then Gy. */
constexpr int kSobelSmemFloats = kEh * kEw + 2 * kGh * kGw;

DEEPSPG_HD int64_t clampi(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

DEEPSPG_HD int sobel_tap(int a, int b) {  // {{-1, 0, 1}, {-2, 0, 2}, {-1, 0, 1}}[a][b]
  return (b - 1) * (a == 1 ? 2 : 1);
}

/** The tiles of [planes, h, w] and the launch over them. */
struct EdgeGeom {
  int64_t planes, h, w;
  int64_t tx, ty;   // tiles per row, per column of a plane
  int64_t tiles;    // planes * ty * tx
  int64_t blocks;   // min(tiles, kMaxBlocks): the grid, and the partials per term

  DEEPSPG_HD static EdgeGeom make(int64_t planes, int64_t h, int64_t w) {
    EdgeGeom g;
    g.planes = planes, g.h = h, g.w = w;
    g.tx = (w + kTileW - 1) / kTileW;
    g.ty = (h + kTileH - 1) / kTileH;
    g.tiles = planes * g.ty * g.tx;
    g.blocks = g.tiles < kMaxBlocks ? g.tiles : kMaxBlocks;
    return g;
  }
  /** Tile t's plane and its top-left pixel. */
  DEEPSPG_HD void origin(int64_t t, int64_t* p, int64_t* i0, int64_t* j0) const {
    const int64_t per = tx * ty, r = t % per;
    *p = t / per;
    *i0 = r / tx * kTileH;
    *j0 = r % tx * kTileW;
  }
};

DEEPSPG_HD float edge_e(const float* o, const float* g, int64_t k) { return o[k] - g[k]; }

/** Forward differences at thread tid's pixel of tile (p, i0, j0): adds its squared differences to sx, sy and writes
 * its gradient (cx, cy: 2 / nx, 2 / ny) when grad is given; the measured edge_diff_kernel's arithmetic. */
DEEPSPG_HD void diff_pixel(const EdgeGeom& G, const float* o, const float* g, int64_t p, int64_t i0, int64_t j0,
                           double cx, double cy, float* grad, int tid, double& sx, double& sy) {
  const int64_t i = i0 + tid / kTileW, j = j0 + tid % kTileW, w = G.w;
  if (i >= G.h || j >= w) return;
  const int64_t base = p * G.h * w, e = base + i * w + j;
  const double c0 = edge_e(o, g, e);
  const double dxr = j + 1 < w ? edge_e(o, g, e + 1) - c0 : 0.0;
  const double dyd = i + 1 < G.h ? edge_e(o, g, e + w) - c0 : 0.0;
  sx += dxr * dxr;
  sy += dyd * dyd;
  if (grad != nullptr) {
    const double dxl = j > 0 ? c0 - edge_e(o, g, e - 1) : 0.0;
    const double dyu = i > 0 ? c0 - edge_e(o, g, e - w) : 0.0;
    grad[e] = static_cast<float>(cx * (dxl - dxr) + cy * (dyu - dyd));
  }
}

/** Sobel phase 1, all threads: E on the tile's rows i0 - 2 .. i0 + kTileH + 1 and columns j0 - 2 .. j0 + kTileW + 1,
 * clamped into the plane (replicate padding), into se[kEh][kEw]. Consecutive threads read consecutive columns. */
DEEPSPG_HD void sobel_load(const EdgeGeom& G, const float* o, const float* g, int64_t p, int64_t i0, int64_t j0,
                           float* se, int tid) {
  const int64_t base = p * G.h * G.w;
  for (int e = tid; e < kEh * kEw; e += kThreads) {
    const int64_t i = clampi(i0 - 2 + e / kEw, 0, G.h - 1), j = clampi(j0 - 2 + e % kEw, 0, G.w - 1);
    se[e] = edge_e(o, g, base + i * G.w + j);
  }
}

/** Sobel phase 2, all threads (after a barrier): Gx, Gy at the pixels of rows i0 - 1 .. i0 + kTileH and columns
 * j0 - 1 .. j0 + kTileW that lie in the plane, into sgx, sgy [kGh][kGw] (as floats, what the measured kernel stores);
 * the squares of those in the tile itself (each pixel of the plane in exactly one tile) added to sx, sy. */
DEEPSPG_HD void sobel_maps(const EdgeGeom& G, int64_t i0, int64_t j0, const float* se, float* sgx, float* sgy,
                           int tid, double& sx, double& sy) {
  for (int e = tid; e < kGh * kGw; e += kThreads) {
    const int r = e / kGw, s = e % kGw;
    const int64_t pi = i0 - 1 + r, pj = j0 - 1 + s;
    if (pi < 0 || pi >= G.h || pj < 0 || pj >= G.w) continue;
    double vx = 0, vy = 0;
    for (int di = -1; di <= 1; ++di)
      for (int dj = -1; dj <= 1; ++dj) {
        const double v = se[(r + 1 + di) * kEw + (s + 1 + dj)];
        vx += sobel_tap(di + 1, dj + 1) * v;
        vy += sobel_tap(dj + 1, di + 1) * v;
      }
    sgx[e] = static_cast<float>(vx);
    sgy[e] = static_cast<float>(vy);
    if (r >= 1 && r <= kTileH && s >= 1 && s <= kTileW) sx += vx * vx, sy += vy * vy;
  }
}

/** Sobel phase 3, all threads (after a barrier): the gradient at thread tid's pixel q of the tile, gathered from the
 * Gx, Gy of the sources p within one pixel of q (with replicate padding, tap t of p lands on clamp(p + t)); c = 2 / n.
 * The measured edge_sobel_grad_kernel's arithmetic and order. Away from the plane's border exactly one tap of each
 * source lands on q, t = q - p, so the nine sources' terms are added without the 81 clamped comparisons (the same
 * terms in the same order: the same bits). */
DEEPSPG_HD void sobel_grad(const EdgeGeom& G, int64_t p, int64_t i0, int64_t j0, const float* sgx, const float* sgy,
                           double c, float* grad, int tid) {
  const int64_t qi = i0 + tid / kTileW, qj = j0 + tid % kTileW;
  if (qi >= G.h || qj >= G.w) return;
  double acc = 0;
  if (qi >= 1 && qi + 1 < G.h && qj >= 1 && qj + 1 < G.w) {
    for (int a = 0; a < 3; ++a)      // source row qi - 1 + a, tap row di = 1 - a
      for (int b = 0; b < 3; ++b) {  // source column qj - 1 + b, tap column dj = 1 - b
        const int64_t m = (qi - i0 + a) * kGw + (qj - j0 + b);
        const double vx = sgx[m], vy = sgy[m];
        acc += sobel_tap(2 - a, 2 - b) * vx + sobel_tap(2 - b, 2 - a) * vy;
      }
    grad[p * G.h * G.w + qi * G.w + qj] = static_cast<float>(c * acc);
    return;
  }
  for (int64_t pi = qi - 1; pi <= qi + 1; ++pi) {
    if (pi < 0 || pi >= G.h) continue;
    for (int64_t pj = qj - 1; pj <= qj + 1; ++pj) {
      if (pj < 0 || pj >= G.w) continue;
      const int64_t m = (pi - i0 + 1) * kGw + (pj - j0 + 1);
      const double vx = sgx[m], vy = sgy[m];
      for (int di = -1; di <= 1; ++di)
        for (int dj = -1; dj <= 1; ++dj)
          if (clampi(pi + di, 0, G.h - 1) == qi && clampi(pj + dj, 0, G.w - 1) == qj)
            acc += sobel_tap(di + 1, dj + 1) * vx + sobel_tap(dj + 1, di + 1) * vy;
    }
  }
  grad[p * G.h * G.w + qi * G.w + qj] = static_cast<float>(c * acc);
}

/** The KL's tiles: kKlPix consecutive pixels of one batch item per tile, a lane of each warp per pixel, the warps
 * splitting the classes (warp w: classes w, w + kKlGroups, ...), so that a tile keeps all 256 threads busy and each
 * warp's loads of one class are 32 consecutive floats (the measured kernel's one thread per pixel gives the training
 * shape, 4 x 64 x 64 pixels, 64 blocks for 132 SMs, each thread walking 150 classes three times). */
constexpr int kKlPix = 32;
constexpr int kKlGroups = kThreads / kKlPix;
/** Shared memory of the KL kernel, in floats: per thread its classes' maximum of z_out / T and of z_gt / T, then
 * their sums of exp(z / T - max). */
constexpr int kKlSmemFloats = 4 * kThreads;

struct KlGeom {
  int64_t batch, k, hw;
  int64_t per;     // tiles per batch item
  int64_t tiles;   // batch * per
  int64_t blocks;  // min(tiles, kMaxBlocks): the grid, and the partials

  DEEPSPG_HD static KlGeom make(int64_t batch, int64_t k, int64_t hw) {
    KlGeom g;
    g.batch = batch, g.k = k, g.hw = hw;
    g.per = (hw + kKlPix - 1) / kKlPix;
    g.tiles = batch * g.per;
    g.blocks = g.tiles < kMaxBlocks ? g.tiles : kMaxBlocks;
    return g;
  }
  /** Tile t's batch item and first pixel. */
  DEEPSPG_HD void origin(int64_t t, int64_t* b, int64_t* q0) const {
    *b = t / per;
    *q0 = t % per * kKlPix;
  }
};

DEEPSPG_HD float fexp(float x) {
#if defined(__CUDA_ARCH__)
  return expf(x);
#else
  return std::exp(x);
#endif
}

DEEPSPG_HD float flog(float x) {
#if defined(__CUDA_ARCH__)
  return logf(x);
#else
  return std::log(x);
#endif
}

DEEPSPG_HD float fmax_like_std(float a, float b) { return a < b ? b : a; }  // std::max(a, b), as the CPU kernel

/** KL phase 1, all threads: the maxima of it * z over thread tid's classes at its pixel, into sm[tid] (z_out) and
 * sm[kThreads + tid] (z_gt); -inf for a pixel past the batch item's end or a warp without classes. */
DEEPSPG_HD void kl_max(const KlGeom& G, const float* zo, const float* zg, int64_t b, int64_t q0, float it, float* sm,
                       int tid) {
  const int64_t q = q0 + tid % kKlPix;
  float mo = -INFINITY, mg = -INFINITY;
  if (q < G.hw) {
    const float* o = zo + b * G.k * G.hw + q;
    const float* g = zg + b * G.k * G.hw + q;
    for (int64_t c = tid / kKlPix; c < G.k; c += kKlGroups) {
      mo = fmax_like_std(mo, it * o[c * G.hw]);
      mg = fmax_like_std(mg, it * g[c * G.hw]);
    }
  }
  sm[tid] = mo;
  sm[kThreads + tid] = mg;
}

/** The pixel's maxima over all classes from kl_max's slots (the warps' in order: the same value in every warp). */
DEEPSPG_HD void kl_pixel_max(const float* sm, int tid, float& mo, float& mg) {
  const int lane = tid % kKlPix;
  mo = mg = -INFINITY;
  for (int w = 0; w < kKlGroups; ++w) {
    mo = fmax_like_std(mo, sm[w * kKlPix + lane]);
    mg = fmax_like_std(mg, sm[kThreads + w * kKlPix + lane]);
  }
}

/** KL phase 2, all threads (after a barrier): sums of exp(it * z - max) over thread tid's classes, into
 * sm[2 kThreads + tid] (z_out) and sm[3 kThreads + tid] (z_gt). */
DEEPSPG_HD void kl_sum(const KlGeom& G, const float* zo, const float* zg, int64_t b, int64_t q0, float it, float* sm,
                       int tid) {
  const int64_t q = q0 + tid % kKlPix;
  float so = 0.f, sg = 0.f;
  if (q < G.hw) {
    float mo, mg;
    kl_pixel_max(sm, tid, mo, mg);
    const float* o = zo + b * G.k * G.hw + q;
    const float* g = zg + b * G.k * G.hw + q;
    for (int64_t c = tid / kKlPix; c < G.k; c += kKlGroups)
      so += fexp(it * o[c * G.hw] - mo), sg += fexp(it * g[c * G.hw] - mg);
  }
  sm[2 * kThreads + tid] = so;
  sm[3 * kThreads + tid] = sg;
}

/** KL phase 3, all threads (after a barrier): thread tid's classes' terms P_gt (log P_gt - log P_out) at its pixel,
 * returned (float, as kl_tile_f32 of the CPU kernel), and their gradient (P_out - P_gt) gscale written when grad is
 * given (gscale = 1 / (T B hw)). The sums over the warps are added in warp order. */
DEEPSPG_HD float kl_terms(const KlGeom& G, const float* zo, const float* zg, int64_t b, int64_t q0, float it,
                          float gscale, const float* sm, float* grad, int tid) {
  const int lane = tid % kKlPix;
  const int64_t q = q0 + lane;
  if (q >= G.hw) return 0.f;
  float mo, mg, so = 0.f, sg = 0.f;
  kl_pixel_max(sm, tid, mo, mg);
  for (int w = 0; w < kKlGroups; ++w)
    so += sm[2 * kThreads + w * kKlPix + lane], sg += sm[3 * kThreads + w * kKlPix + lane];
  const float lso = mo + flog(so), lsg = mg + flog(sg), rso = 1.f / so, rsg = 1.f / sg;
  const int64_t base = b * G.k * G.hw + q;
  float kl = 0.f;
  for (int64_t c = tid / kKlPix; c < G.k; c += kKlGroups) {
    const float zgc = it * zg[base + c * G.hw], zoc = it * zo[base + c * G.hw];
    const float pg = fexp(zgc - mg) * rsg;
    kl += zgc - lsg == -INFINITY ? 0.f : pg * ((zgc - lsg) - (zoc - lso));  // 0 log 0 = 0 (a -inf logit)
    if (grad != nullptr) grad[base + c * G.hw] = (fexp(zoc - mo) * rso - pg) * gscale;
  }
  return kl;
}

/** The final sum, first phase: thread tid's share of parts[0, count), in index order (tid, tid + kThreads, ...). */
DEEPSPG_HD double ordered_share(const double* parts, int64_t count, int tid) {
  double acc = 0;
  for (int64_t k = tid; k < count; k += kThreads) acc += parts[k];
  return acc;
}

/** One level of the fixed tree over smem[0, kThreads): thread tid < stride adds smem[tid + stride] (the levels run
 * stride = kThreads / 2, ..., 1, a barrier after each; smem[0] is the sum, as detail::block_sum forms it). */
DEEPSPG_HD void tree_level(double* smem, int stride, int tid) {
  if (tid < stride) smem[tid] += smem[tid + stride];
}

}  // namespace deepspg::ops::loss_tiles
