/*
 * Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
 *
 * deepspg/kernels.h -- the whole public C ABI of libdeepspg_kernels.
 *
 * Plain C, fixed-width types, raw pointers. No libtorch, no JNI: the Java layer owns tensors, checks shapes and
 * dtypes, makes inputs contiguous and passes data pointers (and, for CUDA, the stream) here.
 *
 * Conventions
 *   - Every function returns DEEPSPG_OK (0) or an error code; deepspg_last_error() gives the message of the last
 *     failure on the calling thread.
 *   - All tensors are dense, contiguous, row-major (C order). Shapes are written next to each pointer.
 *   - *_f32 takes float, *_f64 takes double. Accumulations are done in double on CPU and in float (with a
 *     deterministic tree order) on CUDA.
 *   - CPU functions parallelise with OpenMP over independent work items and reduce partial sums in a fixed order,
 *     so results do not depend on the thread count.
 *   - CUDA functions take a cudaStream_t as void*, launch on it and do not synchronise. Pointers must be device
 *     pointers. Work buffers are passed in by the caller (size from the *_workspace_bytes functions), so the
 *     library never allocates device memory itself.
 */
#ifndef DEEPSPG_KERNELS_H
#define DEEPSPG_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------------------------
 * Library information and errors
 * ------------------------------------------------------------------------------------------------------------- */

#define DEEPSPG_OK 0
#define DEEPSPG_ERR_INVALID_ARGUMENT 1
#define DEEPSPG_ERR_CUDA 2
#define DEEPSPG_ERR_NOT_COMPILED 3
#define DEEPSPG_ERR_OUT_OF_MEMORY 4

/** Version of the kernel library as "major.minor.patch". */
const char* deepspg_version(void);
/** One line: compiler, OpenMP thread count, CUDA architectures compiled in (or "cuda: not compiled"). */
const char* deepspg_build_info(void);
/** Message of the last error on this thread ("" when none). */
const char* deepspg_last_error(void);
/**
 * 1 when this CPU runs the instruction set the CPU kernels were compiled for (DEEPSPG_ARCH, default x86-64-v3:
 * AVX2 + FMA), else 0 (calling any CPU kernel would then crash with an illegal instruction). Safe on any x86-64.
 */
int32_t deepspg_cpu_supported(void);
/** The -march the CPU kernels were compiled for, e.g. "x86-64-v3". Safe on any x86-64. */
const char* deepspg_cpu_arch(void);
/** 1 when the library was compiled with the CUDA kernels, else 0. */
int32_t deepspg_cuda_compiled(void);
/** Number of CUDA devices the driver reports (0 without CUDA kernels, driver or GPU). */
int32_t deepspg_cuda_device_count(void);
/**
 * Process-wide glibc malloc tuning for tensor workloads (mallopt): blocks below mmap_threshold come from the heap and
 * are reused instead of being mmap'ed, page-faulted and zero-filled anew on every allocation; trim_threshold and
 * top_pad keep that much freed memory at the heap top. 0 leaves a setting alone. no_mmap = 1 also stops the heap from
 * handing any block to mmap (M_MMAP_MAX = 0), so that blocks of every size are reused; glibc still maps blocks that a
 * thread's secondary arena (at most 64 MiB) cannot hold, which MALLOC_ARENA_MAX=1 in the environment avoids. Returns
 * DEEPSPG_ERR_NOT_COMPILED on a C library other than glibc, DEEPSPG_ERR_INVALID_ARGUMENT for a negative value or one
 * glibc refuses. The Java layer calls it once at load (org.deepspg.ops.Backends).
 */
int32_t deepspg_tune_allocator(int64_t mmap_threshold, int64_t trim_threshold, int64_t top_pad, int32_t no_mmap);
/**
 * Returns the heap's free pages to the system (glibc malloc_trim(0): the top and every free block's whole pages), for
 * a caller that has just finished a large job and expects smaller ones. Returns DEEPSPG_ERR_NOT_COMPILED on a C
 * library other than glibc.
 */
int32_t deepspg_release_free_memory(void);

/* ---------------------------------------------------------------------------------------------------------------
 * 1. Fused channel ("transposed") attention, spec section 2.3
 *
 * Per batch b and head h, with rows x_i, y_j, v_j of length N = H*W taken from channels h*c + i:
 *   G = normalize_N(X) normalize_N(Y)^T       (c x c, normalize divides by max(||row||, 1e-12))
 *   A = softmax_row(tau_h * G)
 *   O = A (V [.* F])                          (optional value gating by F, same shape as V)
 * Inputs x, y, v, gate, out: [B, heads*c, N]. tau: [heads]. Side outputs saved for backward:
 *   G, A: [B, heads, c, c];  r, s: [B, heads, c] (the clamped row norms of X and Y).
 * Backward takes dout [B, heads*c, N] and the saved side data and writes dx, dy, dv [B, heads*c, N],
 * dgate [B, heads*c, N] (only when gate != NULL; may be NULL to skip) and dtau [heads] (summed over batch).
 * Any of dx, dy, dv, dtau may be NULL to skip that gradient. Deterministic. c <= 64, N >= 1.
 * CPU float32 runs AVX-512F micro-kernels where the CPU has them, else the build's portable vector code (AVX2 in
 * the default x86-64-v3 build); float64 always the portable code. Both accumulate per fixed tile of N (1024 and 256
 * columns) and sum the tiles in double: results do not depend on the thread count, but the two differ by float
 * rounding. deepspg_channel_attention_select_isa forces one (DEEPSPG_CONV2D_ISA_AVX512 or _GENERIC, ids of
 * section 8; _AUTO restores the choice; DEEPSPG_ERR_NOT_COMPILED when the CPU lacks it) so that a caller can check
 * each path against a reference on the machine it runs on; not thread-safe against calls in flight.
 * ------------------------------------------------------------------------------------------------------------- */

int32_t deepspg_channel_attention_select_isa(int32_t isa);
/** The ISA the CPU float32 attention uses now (DEEPSPG_CONV2D_ISA_AVX512 or _GENERIC, never _AUTO). */
int32_t deepspg_channel_attention_isa(void);
/**
 * Non-temporal stores: the AVX-512 float32 sweeps of this section and of the folded forms (section below) store an
 * output non-temporally (skipping the read of each line before its write) when the sweep moves at least this many
 * bytes (reads and writes together; default 32 MiB: past the L3, where the output would not stay cached anyway), the
 * output is 64-byte aligned with rows of a multiple of 16 floats, and it is not written in place. The same bits
 * either way. Sets the threshold when bytes >= 0 (0: every such output); returns the one in force before the call.
 * For self-checks, which lower it to cover both kinds of store on small shapes and then restore it.
 */
int64_t deepspg_channel_attention_stream_min_bytes(int64_t bytes);

int32_t deepspg_channel_attention_forward_cpu_f32(
    const float* x, const float* y, const float* v, const float* gate, const float* tau,
    int64_t batch, int64_t heads, int64_t c, int64_t n,
    float* out, float* G, float* A, float* r, float* s);
int32_t deepspg_channel_attention_forward_cpu_f64(
    const double* x, const double* y, const double* v, const double* gate, const double* tau,
    int64_t batch, int64_t heads, int64_t c, int64_t n,
    double* out, double* G, double* A, double* r, double* s);

int32_t deepspg_channel_attention_backward_cpu_f32(
    const float* dout, const float* x, const float* y, const float* v, const float* gate, const float* tau,
    const float* G, const float* A, const float* r, const float* s,
    int64_t batch, int64_t heads, int64_t c, int64_t n,
    float* dx, float* dy, float* dv, float* dgate, float* dtau);
int32_t deepspg_channel_attention_backward_cpu_f64(
    const double* dout, const double* x, const double* y, const double* v, const double* gate, const double* tau,
    const double* G, const double* A, const double* r, const double* s,
    int64_t batch, int64_t heads, int64_t c, int64_t n,
    double* dx, double* dy, double* dv, double* dgate, double* dtau);

/**
 * The forward's first sweep alone (CPU, float32): G, A, r, s as deepspg_channel_attention_forward_cpu_f32 writes
 * them, no O (the same code and bits). For a caller that folds the mixing into a following 1x1 projection (SEM's,
 * with deepspg_channel_mix_cpu_f32 of section 1b).
 */
int32_t deepspg_channel_attention_scores_cpu_f32(const float* x, const float* y, const float* tau, int64_t batch,
                                                 int64_t heads, int64_t c, int64_t n, float* G, float* A, float* r,
                                                 float* s);

/** Bytes of device scratch the CUDA attention forward/backward need for these sizes (same value for both). */
int64_t deepspg_channel_attention_workspace_bytes(int64_t batch, int64_t heads, int64_t c, int64_t n, int32_t f64);

/**
 * The Gram sweep (the first sweep of the forward and of the backward) of the CUDA attention:
 * DEEPSPG_CUDA_GRAM_CHUNKED (the default): 1024-column chunks, one (i, j) product per thread over shared-memory
 * tiles (2 shared loads per FMA), measured on an H200; DEEPSPG_CUDA_GRAM_BLOCKED: 256-column chunks, each thread a
 * 4 x 4 block of products over a slice of the tile's columns (8 shared loads per 16 FMAs), for more blocks in flight
 * and less shared-memory traffic per byte read, meant to bring the sweep to the memory bandwidth; its backward also
 * computes dv and dgate in this sweep, from the dO tile on chip, so that the second sweep reads only x and y (9
 * tensor passes instead of 12). The blocked kernel's index arithmetic, reduction order and split are checked here by
 * a host simulation (tests/cuda_gram_sim_test.cpp); it becomes the default only after a GPU run checks it against the
 * CPU kernels (tests/channel_attention_test.cpp runs both) and measures it (benchmarks/gpu/run-gpu-checks.sh times
 * both). Results of the two differ by float rounding; each is deterministic. Sets the variant when variant >= 0 and
 * returns the one in force before the call (variant < 0: only returns it); an unknown variant is refused with
 * -DEEPSPG_ERR_INVALID_ARGUMENT. Process-wide, read at each launch; not thread-safe against calls in flight. The same
 * in a build without CUDA (a setting only).
 */
#define DEEPSPG_CUDA_GRAM_CHUNKED 0
#define DEEPSPG_CUDA_GRAM_BLOCKED 1
int32_t deepspg_channel_attention_cuda_gram(int32_t variant);

int32_t deepspg_channel_attention_forward_cuda_f32(
    const float* x, const float* y, const float* v, const float* gate, const float* tau,
    int64_t batch, int64_t heads, int64_t c, int64_t n,
    float* out, float* G, float* A, float* r, float* s, void* workspace, void* stream);
int32_t deepspg_channel_attention_forward_cuda_f64(
    const double* x, const double* y, const double* v, const double* gate, const double* tau,
    int64_t batch, int64_t heads, int64_t c, int64_t n,
    double* out, double* G, double* A, double* r, double* s, void* workspace, void* stream);
int32_t deepspg_channel_attention_backward_cuda_f32(
    const float* dout, const float* x, const float* y, const float* v, const float* gate, const float* tau,
    const float* G, const float* A, const float* r, const float* s,
    int64_t batch, int64_t heads, int64_t c, int64_t n,
    float* dx, float* dy, float* dv, float* dgate, float* dtau, void* workspace, void* stream);
int32_t deepspg_channel_attention_backward_cuda_f64(
    const double* dout, const double* x, const double* y, const double* v, const double* gate, const double* tau,
    const double* G, const double* A, const double* r, const double* s,
    int64_t batch, int64_t heads, int64_t c, int64_t n,
    double* dx, double* dy, double* dv, double* dgate, double* dtau, void* workspace, void* stream);

/* ---------------------------------------------------------------------------------------------------------------
 * 1b. The two sweeps of IG-MSA's inference forward with q, k and the projection folded away (CPU, float32)
 *
 * IG-MSA's attention scores use q = Wq x and k = Wk x only through their Gram matrix and row norms, and
 *   K Q^T = Wk (X X^T) Wq^T,   ||k_i||^2 = (Wk (X X^T) Wk^T)_ii,   ||q_j||^2 = (Wq (X X^T) Wq^T)_jj,
 * so one sweep over x gives everything the scores need; the projection after the attention is linear, so
 *   Wp (A (V .* F)) + b + R = (Wp A) (V .* F) + b + R
 * and one more sweep gives the block's output. The caller forms the small matrices between the sweeps.
 *
 * deepspg_gram_cpu_f32: out[b] = X_b X_b^T, X_b = x[b] as [c, N] rows; out [B, c, c] double. Per fixed tile of N
 * (1024 columns on AVX-512, 256 otherwise) in float, the tiles summed in double in order: deterministic. With w
 * [c, c] and y [B, c, N] (both or neither NULL) it also writes y[b] = w X_b (IG-MSA's values) from the same reads.
 * deepspg_channel_mix_cpu_f32: out[b] = m[b] (v[b] .* gate[b]) + bias + residual[b], m [B, c, c] (row i of m
 * weighs the source rows of output row i), v, gate, residual, out [B, c, N]; gate, bias [c] and residual may be
 * NULL; out may be residual (computed in place), not v or gate.
 * Both use the kernel set deepspg_channel_attention_select_isa chose; c <= 1024, N >= 1.
 */
int32_t deepspg_gram_cpu_f32(const float* x, const float* w, int64_t batch, int64_t c, int64_t n, double* out,
                             float* y);
int32_t deepspg_channel_mix_cpu_f32(const float* m, const float* v, const float* gate, const float* bias,
                                    const float* residual, int64_t batch, int64_t c, int64_t n, float* out);

/* ---------------------------------------------------------------------------------------------------------------
 * 2. Retinex decomposition, spec section 3
 *
 * Prior/concat: image [B, 3, HW] -> z [B, 4, HW], z[:,0:3] = image, z[:,3] = prior, where prior is the channel
 *   mean (mode 0) or the channel max (mode 1, first index on ties). Backward: dz [B, 4, HW] -> dimage [B, 3, HW]
 *   (dimage is overwritten). The max variant needs the image to find the arg-max.
 * Light-up: image, m [B, 3, HW] -> xr = image * (1 + m); xl = 1 / max(1 + m, 1e-4) when xl != NULL.
 *   Backward: dxr (and dxl, may be NULL) -> dimage = dxr * (1 + m), dm = dxr * image - dxl * xl^2 (zero where the
 *   guard clamps). dimage / dm may be NULL to skip; both are overwritten.
 * ------------------------------------------------------------------------------------------------------------- */

#define DEEPSPG_PRIOR_MEAN 0
#define DEEPSPG_PRIOR_MAX 1

int32_t deepspg_retinex_prior_forward_cpu_f32(const float* image, int64_t batch, int64_t hw, int32_t mode, float* z);
int32_t deepspg_retinex_prior_forward_cpu_f64(const double* image, int64_t batch, int64_t hw, int32_t mode, double* z);
int32_t deepspg_retinex_prior_backward_cpu_f32(const float* dz, const float* image, int64_t batch, int64_t hw,
                                               int32_t mode, float* dimage);
int32_t deepspg_retinex_prior_backward_cpu_f64(const double* dz, const double* image, int64_t batch, int64_t hw,
                                               int32_t mode, double* dimage);
int32_t deepspg_retinex_lightup_forward_cpu_f32(const float* image, const float* m, int64_t numel, float* xr, float* xl);
int32_t deepspg_retinex_lightup_forward_cpu_f64(const double* image, const double* m, int64_t numel, double* xr,
                                                double* xl);
int32_t deepspg_retinex_lightup_backward_cpu_f32(const float* dxr, const float* dxl, const float* image, const float* m,
                                                 int64_t numel, float* dimage, float* dm);
int32_t deepspg_retinex_lightup_backward_cpu_f64(const double* dxr, const double* dxl, const double* image,
                                                 const double* m, int64_t numel, double* dimage, double* dm);

int32_t deepspg_retinex_prior_forward_cuda_f32(const float* image, int64_t batch, int64_t hw, int32_t mode, float* z,
                                               void* stream);
int32_t deepspg_retinex_prior_backward_cuda_f32(const float* dz, const float* image, int64_t batch, int64_t hw,
                                                int32_t mode, float* dimage, void* stream);
int32_t deepspg_retinex_lightup_forward_cuda_f32(const float* image, const float* m, int64_t numel, float* xr,
                                                 float* xl, void* stream);
int32_t deepspg_retinex_lightup_backward_cuda_f32(const float* dxr, const float* dxl, const float* image,
                                                  const float* m, int64_t numel, float* dimage, float* dm,
                                                  void* stream);

/* ---------------------------------------------------------------------------------------------------------------
 * 3. Edge loss, spec section 4.2
 *
 * E = out - gt, both [P, H, W] with P = B*C planes.
 *   operator 0 (forward differences, no padding):
 *     L = mean_{P*H*(W-1)} (Dx E)^2 + mean_{P*(H-1)*W} (Dy E)^2   (a term with an empty domain counts 0)
 *   operator 1 (3x3 Sobel, replicate padding): L = mean_{P*H*W} (Gx E)^2 + mean_{P*H*W} (Gy E)^2
 * Writes the loss to *loss (double) and dL/d(out) to grad [P, H, W] (grad may be NULL for value only);
 * dL/d(gt) = -grad. Value and gradient in one pass over the planes. Deterministic.
 * CUDA: loss is a device pointer to one double; workspace from deepspg_edge_loss_workspace_bytes.
 * ------------------------------------------------------------------------------------------------------------- */

#define DEEPSPG_EDGE_DIFF 0
#define DEEPSPG_EDGE_SOBEL 1

int32_t deepspg_edge_loss_cpu_f32(const float* out, const float* gt, int64_t planes, int64_t h, int64_t w,
                                  int32_t op, double* loss, float* grad);
int32_t deepspg_edge_loss_cpu_f64(const double* out, const double* gt, int64_t planes, int64_t h, int64_t w,
                                  int32_t op, double* loss, double* grad);
int64_t deepspg_edge_loss_workspace_bytes(int64_t planes, int64_t h, int64_t w);
int32_t deepspg_edge_loss_cuda_f32(const float* out, const float* gt, int64_t planes, int64_t h, int64_t w,
                                   int32_t op, double* loss, float* grad, void* workspace, void* stream);

/* ---------------------------------------------------------------------------------------------------------------
 * 4. Semantic KL loss, spec section 4.3
 *
 * z_out, z_gt: logits [B, K, HW]. P = softmax_K(z / T) per pixel.
 *   L = 1/(B*HW) * sum_{b,pixel} sum_k P_gt (log P_gt - log P_out)
 *   dL/dz_out = (P_out - P_gt) / (T * B * HW)
 * Writes *loss and grad [B, K, HW] (grad may be NULL). Deterministic. T > 0.
 * ------------------------------------------------------------------------------------------------------------- */

int32_t deepspg_kl_loss_cpu_f32(const float* z_out, const float* z_gt, int64_t batch, int64_t k, int64_t hw,
                                double temperature, double* loss, float* grad);
int32_t deepspg_kl_loss_cpu_f64(const double* z_out, const double* z_gt, int64_t batch, int64_t k, int64_t hw,
                                double temperature, double* loss, double* grad);
int64_t deepspg_kl_loss_workspace_bytes(int64_t batch, int64_t k, int64_t hw);
int32_t deepspg_kl_loss_cuda_f32(const float* z_out, const float* z_gt, int64_t batch, int64_t k, int64_t hw,
                                 double temperature, double* loss, float* grad, void* workspace, void* stream);

/**
 * The CUDA edge and KL loss kernels: DEEPSPG_CUDA_LOSSES_MEASURED (the default), measured on an H200: one thread per
 * pixel, partial sums per 256 pixels added up by further launches, the Sobel gradient from Gx and Gy maps written to
 * and read back from the workspace, the KL in double with four double exponentials per logit;
 * DEEPSPG_CUDA_LOSSES_ONE_PASS: one launch per loss (a fixed grid of at most 2048 blocks walks 32 x 8 pixel tiles or
 * 32-pixel KL tiles whose classes the block's 8 warps split; the last block to finish adds the partials up in index
 * order), the Sobel gradient from Gx and Gy kept in shared memory (the inputs read once: 3 tensor passes instead of
 * 6), the KL in float as the CPU float kernel computes it, meant to bring the losses to the memory bandwidth. The
 * one-pass kernels' tiles, halos and reduction order are checked here by a host simulation
 * (tests/cuda_loss_sim_test.cpp, which also checks that the edge gradients have the measured kernels' bits); they
 * become the default only after a GPU run checks them against the CPU kernels (tests/edge_loss_test.cpp and
 * kl_loss_test.cpp run both) and measures them (benchmarks/gpu/run-gpu-checks.sh). Each is deterministic; the loss
 * values of the two differ by rounding. Sets the variant when variant >= 0 and returns the one in force before the
 * call (variant < 0: only returns it); an unknown variant is refused with -DEEPSPG_ERR_INVALID_ARGUMENT.
 * Process-wide, read at each launch. The same in a build without CUDA (a setting only).
 */
#define DEEPSPG_CUDA_LOSSES_MEASURED 0
#define DEEPSPG_CUDA_LOSSES_ONE_PASS 1
int32_t deepspg_cuda_losses(int32_t variant);

/* ---------------------------------------------------------------------------------------------------------------
 * 5. Depthwise 3x3 convolution, spec sections 1.5 and 2.2 (IG-MSA positional branch, IGAB FFN, SEM kv/q, GDFN)
 *
 * Stride 1, zero padding 1, groups = channels, no bias, optionally followed by GELU (exact erf form). Per plane
 * (b, c) with k = weight[c]:
 *   pre[y][x] = sum_{i,j in 0..2} k[i][j] x[y+i-1][x+j-1]     (x zero outside the plane)
 *   y = pre (act DEEPSPG_ACT_NONE) or gelu(pre) (act DEEPSPG_ACT_GELU)
 * x, y, pre: [B, C, H, W]; weight: [C, 1, 3, 3] (PyTorch's depthwise layout). pre is written only with act GELU and
 * only when not NULL (the backward of the GELU variant needs it). float GELU uses a rational erf approximation
 * (|error| < 5e-7); double uses std::erf.
 * Backward: dy [B, C, H, W], x, weight, pre (act GELU only) -> dx [B, C, H, W] and dweight [C, 1, 3, 3] (summed
 * over the batch); either may be NULL to skip it; x may be NULL when dweight is. Deterministic on CPU (per-plane
 * partials in double, reduced in batch order) and CUDA (per-tile sums in a fixed order, then tiles in index order;
 * workspace from deepspg_dwconv3x3_workspace_bytes, may be NULL when dweight is).
 * ------------------------------------------------------------------------------------------------------------- */

#define DEEPSPG_ACT_NONE 0
#define DEEPSPG_ACT_GELU 1
/** ReLU: the dense convolution's epilogue only (section 8). */
#define DEEPSPG_ACT_RELU 2

int32_t deepspg_dwconv3x3_forward_cpu_f32(const float* x, const float* weight, int64_t batch, int64_t channels,
                                          int64_t h, int64_t w, int32_t act, float* y, float* pre);
/**
 * IG-MSA's positional branch and its block's residual in one pass (inference, CPU, float):
 * y = dwconv3x3(gelu(dwconv3x3(x, weight1)), weight2) + residual (residual [B, C, H, W] or NULL), both convolutions
 * as deepspg_dwconv3x3_forward_cpu_f32 computes them (stride 1, zero padding 1, no bias, GELU exact erf form). The
 * same bits as the two calls and a float add, without writing and reading the intermediate and the sum.
 */
int32_t deepspg_dwconv3x3_pair_forward_cpu_f32(const float* x, const float* weight1, const float* weight2,
                                               const float* residual, int64_t batch, int64_t channels, int64_t h,
                                               int64_t w, float* y);
/**
 * Dilated and strided (inference, CPU, float): y = conv2d(x, weight, stride, padding = dilation, dilation, groups =
 * C), no activation, for ESPNetv2's EESP branches (dilation 1-4, stride 1 or 2):
 *   y[b, c][i][j] = sum_{a,e in 0..2} k[a][e] x[i s + (a-1) d][j s + (e-1) d]     (x zero outside the plane)
 * x [B, C, H, W], y [B, C, (H - 1) / s + 1, (W - 1) / s + 1]; dilation d >= 1, stride s 1 or 2. Parallel over output
 * rows (results independent of the thread count).
 */
int32_t deepspg_dwconv3x3_dilated_forward_cpu_f32(const float* x, const float* weight, int64_t batch,
                                                  int64_t channels, int64_t h, int64_t w, int64_t dilation,
                                                  int64_t stride, float* y);
int32_t deepspg_dwconv3x3_forward_cpu_f64(const double* x, const double* weight, int64_t batch, int64_t channels,
                                          int64_t h, int64_t w, int32_t act, double* y, double* pre);
int32_t deepspg_dwconv3x3_backward_cpu_f32(const float* dy, const float* x, const float* weight, const float* pre,
                                           int64_t batch, int64_t channels, int64_t h, int64_t w, int32_t act,
                                           float* dx, float* dweight);
/**
 * Whether the float CPU backward sums dweight with its AVX-512 band kernel (enable 1, the default, on CPUs with
 * AVX-512F) or with the portable per-row sums (0). DEEPSPG_ERR_NOT_COMPILED for 1 where this build or CPU has no
 * AVX-512F. Process-wide; the Java layer turns it off when its self-check fails on the machine.
 */
int32_t deepspg_dwconv3x3_backward_avx512(int32_t enable);
int32_t deepspg_dwconv3x3_backward_cpu_f64(const double* dy, const double* x, const double* weight,
                                           const double* pre, int64_t batch, int64_t channels, int64_t h, int64_t w,
                                           int32_t act, double* dx, double* dweight);
int32_t deepspg_dwconv3x3_forward_cuda_f32(const float* x, const float* weight, int64_t batch, int64_t channels,
                                           int64_t h, int64_t w, int32_t act, float* y, float* pre, void* stream);
/** Bytes of device scratch the CUDA backward needs for dweight (0 for an empty input). */
int64_t deepspg_dwconv3x3_workspace_bytes(int64_t batch, int64_t channels, int64_t h, int64_t w);
int32_t deepspg_dwconv3x3_backward_cuda_f32(const float* dy, const float* x, const float* weight, const float* pre,
                                            int64_t batch, int64_t channels, int64_t h, int64_t w, int32_t act,
                                            float* dx, float* dweight, void* workspace, void* stream);

/* ---------------------------------------------------------------------------------------------------------------
 * 6. Channel LayerNorm of NCHW tensors, spec section 1.2 (LN_c)
 *
 * At every pixel, over the C channels (biased variance):
 *   y = (x - mu) rstd gamma_c + beta_c,   rstd = 1 / sqrt(var + eps)
 * x, y: [B, C, HW]; gamma, beta: [C]; mean, rstd: [B, HW] (saved for the backward; either may be NULL in the
 * forward when no backward follows). C >= 1, eps >= 0.
 * Backward: dy, x, gamma, mean, rstd -> dx [B, C, HW], dgamma [C], dbeta [C] (each may be NULL to skip it).
 * Deterministic (parameter gradients reduced in a fixed order). CUDA: workspace from
 * deepspg_channel_layernorm_workspace_bytes (may be NULL when dgamma and dbeta are).
 * ------------------------------------------------------------------------------------------------------------- */

int32_t deepspg_channel_layernorm_forward_cpu_f32(const float* x, const float* gamma, const float* beta,
                                                  int64_t batch, int64_t channels, int64_t hw, double eps, float* y,
                                                  float* mean, float* rstd);
int32_t deepspg_channel_layernorm_forward_cpu_f64(const double* x, const double* gamma, const double* beta,
                                                  int64_t batch, int64_t channels, int64_t hw, double eps, double* y,
                                                  double* mean, double* rstd);
int32_t deepspg_channel_layernorm_backward_cpu_f32(const float* dy, const float* x, const float* gamma,
                                                   const float* mean, const float* rstd, int64_t batch,
                                                   int64_t channels, int64_t hw, float* dx, float* dgamma,
                                                   float* dbeta);
int32_t deepspg_channel_layernorm_backward_cpu_f64(const double* dy, const double* x, const double* gamma,
                                                   const double* mean, const double* rstd, int64_t batch,
                                                   int64_t channels, int64_t hw, double* dx, double* dgamma,
                                                   double* dbeta);
int32_t deepspg_channel_layernorm_forward_cuda_f32(const float* x, const float* gamma, const float* beta,
                                                   int64_t batch, int64_t channels, int64_t hw, double eps, float* y,
                                                   float* mean, float* rstd, void* stream);
/** Bytes of device scratch the CUDA backward needs for dgamma/dbeta (0 for an empty input). */
int64_t deepspg_channel_layernorm_workspace_bytes(int64_t batch, int64_t channels, int64_t hw);
int32_t deepspg_channel_layernorm_backward_cuda_f32(const float* dy, const float* x, const float* gamma,
                                                    const float* mean, const float* rstd, int64_t batch,
                                                    int64_t channels, int64_t hw, float* dx, float* dgamma,
                                                    float* dbeta, void* workspace, void* stream);

/* ---------------------------------------------------------------------------------------------------------------
 * 7. Grouped k x k "same" convolution (stride 1, zero padding k/2, k odd, optional bias), CPU only
 *
 * Serves the illumination estimator's 5x5 conv with 4 groups (spec section 1.3) and dense 3x3 convs. With p = k/2,
 * ci = in/groups and co = out/groups, output channel o (group g = o / co):
 *   y[b,o][r][x] = bias[o] + sum_{i<ci, u,v<k} w[o,i,u,v] x[b, g*ci + i][r+u-p][x+v-p]   (x zero outside)
 * x [B, in, H, W], y [B, out, H, W], weight [out, in/groups, k, k] (PyTorch's layout), bias [out] or NULL.
 * Backward: dy -> dx [B, in, H, W], dweight [out, in/groups, k, k], dbias [out] (each may be NULL to skip it; x may
 * be NULL when dweight is). Deterministic (partials in double, reduced in batch order). CUDA callers use cuDNN.
 * ------------------------------------------------------------------------------------------------------------- */

int32_t deepspg_conv_same_forward_cpu_f32(const float* x, const float* weight, const float* bias, int64_t batch,
                                          int64_t in_channels, int64_t out_channels, int64_t groups, int64_t k,
                                          int64_t h, int64_t w, float* y);
int32_t deepspg_conv_same_forward_cpu_f64(const double* x, const double* weight, const double* bias, int64_t batch,
                                          int64_t in_channels, int64_t out_channels, int64_t groups, int64_t k,
                                          int64_t h, int64_t w, double* y);
int32_t deepspg_conv_same_backward_cpu_f32(const float* dy, const float* x, const float* weight, int64_t batch,
                                           int64_t in_channels, int64_t out_channels, int64_t groups, int64_t k,
                                           int64_t h, int64_t w, float* dx, float* dweight, float* dbias);
int32_t deepspg_conv_same_backward_cpu_f64(const double* dy, const double* x, const double* weight, int64_t batch,
                                           int64_t in_channels, int64_t out_channels, int64_t groups, int64_t k,
                                           int64_t h, int64_t w, double* dx, double* dweight, double* dbias);

/* ---------------------------------------------------------------------------------------------------------------
 * 8. Dense k x k convolution, stride 1 or 2, zero padding k/2 (or any, _ex), forward (and the 1x1 layer's weight
 *    gradient), float32, CPU only, fused epilogue
 *
 * The frozen priors' inference path (HRNet-W48 with BatchNorm folded into weight and bias by the caller). With
 * p = k/2, s the stride, Ho = (h + 2p - k)/s + 1, Wo likewise:
 *   y[b,o][r][x] = act(bias[o] + residual[b,o][r][x] + sum_{i<in, u,v<k} w[o,i,u,v] x[b,i][s r + u - p][s x + v - p])
 * (x zero outside the image; act = ReLU when relu != 0, else identity). x [B, in, h, w], weight [out, in, k, k]
 * (PyTorch's layout), bias [out] or NULL, residual [B, out, Ho, Wo] or NULL, y [B, out, Ho, Wo].
 * Unlike the rest of this library it accumulates in float (like a BLAS sgemm), in a fixed order per ISA: results
 * do not depend on the thread count, but do differ between ISAs by float rounding.
 * The micro-kernel's instruction set is chosen at first use from CPUID (AVX-512F, else AVX2+FMA, else portable
 * C++); deepspg_conv2d_select_isa forces one (DEEPSPG_CONV2D_ISA_AUTO restores the choice) so that a caller can
 * check each path against a reference on the machine it runs on. Not thread-safe against concurrent
 * deepspg_conv2d_select_isa calls (a call in flight uses the ISA it started with).
 *
 * A frozen network can pack each weight once for an ISA (deepspg_conv2d_pack_weight_f32 into
 * deepspg_conv2d_packed_weight_floats floats, layout [ceil(out/OB)][in][k k][OB] with the ISA's OB output channels
 * per block, zero-filled) and run deepspg_conv2d_forward_packed_cpu_f32 with the same ISA on every call:
 * deepspg_conv2d_forward_cpu_f32 packs the weight anew on each call (one pass over it, a pure copy) and is otherwise
 * the same computation, bit for bit. The packed forward runs the ISA it is given (AUTO: the current one), which
 * must be the one the weight was packed for.
 * ------------------------------------------------------------------------------------------------------------- */

#define DEEPSPG_CONV2D_ISA_AUTO (-1)
#define DEEPSPG_CONV2D_ISA_GENERIC 0
#define DEEPSPG_CONV2D_ISA_AVX2 2
#define DEEPSPG_CONV2D_ISA_AVX512 3

/** Forces the ISA of deepspg_conv2d_forward_cpu_f32; DEEPSPG_ERR_NOT_COMPILED when this CPU lacks it. */
int32_t deepspg_conv2d_select_isa(int32_t isa);
/** The ISA deepspg_conv2d_forward_cpu_f32 uses now (one of DEEPSPG_CONV2D_ISA_*, never AUTO). */
int32_t deepspg_conv2d_isa(void);
int32_t deepspg_conv2d_forward_cpu_f32(const float* x, const float* weight, const float* bias, const float* residual,
                                       int64_t batch, int64_t in_channels, int64_t out_channels, int64_t k,
                                       int64_t stride, int64_t h, int64_t w, int32_t relu, float* y);
/**
 * A grouped "same" convolution (stride 1, zero padding k/2, k odd) on the current ISA's micro-kernels, weight packed
 * on each call: output channel o reads input channels [g ci, g ci + ci) of its group g = o / co (ci = in / groups,
 * co = out / groups), PyTorch's conv2d(groups=...). weight [out, in / groups, k, k], bias [out] or NULL, residual
 * [B, out, h, w] or NULL, act one of DEEPSPG_ACT_*; groups = 1 is deepspg_conv2d_forward_cpu_f32's computation, bit
 * for bit. Serves the illumination estimator's 5x5 conv with 4 groups in inference (3.5x faster than
 * deepspg_conv_same_forward_cpu_f32 at 20 x 416 x 608 on the 2-vCPU EPYC), with float accumulation in the order of
 * this section (results differ from deepspg_conv_same's by float rounding).
 */
int32_t deepspg_conv2d_forward_grouped_cpu_f32(const float* x, const float* weight, const float* bias,
                                               const float* residual, int64_t batch, int64_t in_channels,
                                               int64_t out_channels, int64_t groups, int64_t k, int64_t h, int64_t w,
                                               int32_t act, float* y);
/** Floats of a [out, in, k, k] weight packed for `isa` (AUTO: the current one), into *floats. */
int32_t deepspg_conv2d_packed_weight_floats(int32_t isa, int64_t out_channels, int64_t in_channels, int64_t k,
                                            int64_t* floats);
/** Packs a [out, in, k, k] weight for `isa` (AUTO: the current one) into `packed`. */
int32_t deepspg_conv2d_pack_weight_f32(int32_t isa, const float* weight, int64_t out_channels, int64_t in_channels,
                                       int64_t k, float* packed);
/** deepspg_conv2d_forward_cpu_f32 with a weight packed for `isa`, on that ISA's micro-kernel. */
int32_t deepspg_conv2d_forward_packed_cpu_f32(const float* x, int32_t isa, const float* packed, const float* bias,
                                              const float* residual, int64_t batch, int64_t in_channels,
                                              int64_t out_channels, int64_t k, int64_t stride, int64_t h, int64_t w,
                                              int32_t relu, float* y);

/** The packed forward with any zero padding 0 <= pad < k (even k allowed, e.g. the 4x4 stride-2 pad-1
 * down-sampling of DeepSPG; Ho = (h + 2 pad - k)/s + 1) and an activation applied last: DEEPSPG_ACT_NONE,
 * DEEPSPG_ACT_RELU or DEEPSPG_ACT_GELU (exact erf form, the rational approximation of section 5, |error| < 5e-7). */
int32_t deepspg_conv2d_forward_packed_ex_cpu_f32(const float* x, int32_t isa, const float* packed, const float* bias,
                                                 const float* residual, int64_t batch, int64_t in_channels,
                                                 int64_t out_channels, int64_t k, int64_t stride, int64_t pad,
                                                 int64_t h, int64_t w, int32_t act, float* y);

/* The weight gradient of a 1x1 stride-1 layer (the backward's dweight; its dx is this section's forward with the
 * transposed weight [in, out, 1, 1]): dweight[o, i] = sum_{b < batch, p < hw} dy[b, o, p] x[b, i, p], dy [B, out, hw],
 * x [B, in, hw], dweight [out, in] (overwritten; zeros for batch 0). On `isa`'s Gram kernel (AUTO: the current one;
 * AVX-512F blocks of 5 x 5 row pairs, otherwise portable C++): float sums over tiles of 1024 columns, added in
 * double in an order fixed by the shape, so results do not depend on the thread count. Keeps a scratch of up to
 * 16 x out x in doubles per calling thread for its next call. */
int32_t deepspg_conv2d_weight_grad_1x1_cpu_f32(int32_t isa, const float* dy, const float* x, int64_t batch,
                                               int64_t in_channels, int64_t out_channels, int64_t hw,
                                               float* dweight);

/* Winograd F(4x4, 3x3) for 3x3 stride-1 convolutions (pad 1): the same result as deepspg_conv2d_forward_cpu_f32
 * with k = 3, stride = 1, up to float32 rounding of the transforms (errors a few times the direct path's; callers
 * self-check them), with 4x fewer multiply-adds. The weight is transformed once (U = G g G^T in double, then 36
 * [out][in] matrices packed like 1x1 weights for `isa`: deepspg_conv2d_winograd_weight_floats floats); the forward
 * runs on that ISA's micro-kernels. On AVX-512, layers of more than 128 x 128 channel pairs run a second
 * micro-kernel (24 output channels x 16 tiles, weights packed in blocks of 24) that suits few tiles, with the 36
 * products of runs of up to 256 tiles going through a buffer. Scratch: 36 (in + out) x ceil(H/4) ceil(W/4) floats
 * (rounded up to whole micro-tiles), kept per calling thread for its next call. */
int32_t deepspg_conv2d_winograd_weight_floats(int32_t isa, int64_t out_channels, int64_t in_channels,
                                              int64_t* floats);
int32_t deepspg_conv2d_winograd_pack_weight_f32(int32_t isa, const float* weight, int64_t out_channels,
                                                int64_t in_channels, float* packed);
int32_t deepspg_conv2d_winograd_forward_cpu_f32(const float* x, int32_t isa, const float* packed, const float* bias,
                                                const float* residual, int64_t batch, int64_t in_channels,
                                                int64_t out_channels, int64_t h, int64_t w, int32_t relu, float* y);

/* ---------------------------------------------------------------------------------------------------------------
 * 9. Fused feed-forward block (IGAB's FFN, SEM's GDFN) with its LayerNorm and residual, forward only, float32, CPU
 *
 *   n = LN_c(x) (the channel LayerNorm of section 6 with ln_gamma, ln_beta, eps; n = x when both are NULL)
 *   h = W_in n                                               W_in [hidden, channels], 1x1, no bias
 *   DEEPSPG_FFN_GELU_DW_GELU (IGAB):  m = gelu(dw(gelu(h)))   mid = hidden channels
 *   DEEPSPG_FFN_DW_GATE (GDFN):       [u1; u2] = dw(h) (u1 the first hidden/2 channels), m = gelu(u1) * u2,
 *                                     mid = hidden / 2 channels
 *   y = W_out m + residual                                   W_out [out, mid], 1x1, no bias; residual may be NULL
 * dw: the depthwise 3x3 convolution of section 5 (w_dw [hidden, 1, 3, 3], zero padding 1); gelu: the float GELU of
 * section 5. x [B, channels, h, w], residual and y [B, out, h, w] (y must not overlap x or residual). W_in and W_out
 * are packed by deepspg_conv2d_pack_weight_f32 (k = 1) for `isa`, the ISA this call runs (AUTO: the current one).
 * One pass per strip of 62 columns and band of 32 rows, the hidden maps kept in per-thread buffers (1.5 channels +
 * 1.5 hidden + 1 mid kB per thread) instead of memory. The same arithmetic as the unfused native path (LN,
 * packed 1x1 with GELU epilogue, depthwise with GELU, packed 1x1 with residual) to float rounding; independent of the
 * thread count.
 * ------------------------------------------------------------------------------------------------------------- */

#define DEEPSPG_FFN_GELU_DW_GELU 0
#define DEEPSPG_FFN_DW_GATE 1

int32_t deepspg_ffn_forward_cpu_f32(const float* x, const float* ln_gamma, const float* ln_beta, double eps,
                                    int32_t isa, const float* w_in_packed, const float* w_dw,
                                    const float* w_out_packed, const float* residual, int64_t batch,
                                    int64_t channels, int64_t hidden, int64_t out_channels, int32_t mode, int64_t h,
                                    int64_t w, float* y);

/* ---------------------------------------------------------------------------------------------------------------
 * 10. Sum of bilinear up-samplings (HRNet's fuse layers and segmentation head), forward only, float32, CPU
 *
 *   out[p] = act(base[p] + sum_{j < n} resize_j(z_j[p]))      p < planes (batch x channels), act = ReLU if relu
 *
 * resize_j is PyTorch's upsample_bilinear2d (align_corners as given, no scale factors) of z_j [planes, h_j, w_j]
 * (sizes[2j], sizes[2j+1]) to [planes, ho, wo]: the same source indices and weights, computed in float as libtorch's
 * CPU kernel does (within a few float roundings of it); the sum over maps in order j = 0, 1, ... after base. base
 * [planes, ho, wo] may be NULL (zero) or equal to out (in place); n may be 0 (out = act(base)). One pass over the
 * output, parallel over planes (results independent of the thread count); scratch: h_j x wo floats per map and
 * thread.
 * ------------------------------------------------------------------------------------------------------------- */

int32_t deepspg_upsample_bilinear_sum_cpu_f32(const float* base, int32_t n, const float* const* z,
                                              const int64_t* sizes, int64_t planes, int64_t ho, int64_t wo,
                                              int32_t align_corners, int32_t relu, float* out);

/* ---------------------------------------------------------------------------------------------------------------
 * 11. Pixel shuffle by 2 (the decoder's up-sampling in inference), CPU, float32
 *
 *   y[b, c][2 i + a][2 j + e] = x[b, 4 c + 2 a + e][i][j]      x [B, 4 C, h, w], y [B, C, 2 h, 2 w], a, e in {0, 1}
 *
 * PyTorch's pixel_shuffle(x, 2); a pure copy (the same bits). out_channels is C. Parallel over output rows.
 * ------------------------------------------------------------------------------------------------------------- */

int32_t deepspg_pixel_shuffle2_cpu_f32(const float* x, int64_t batch, int64_t out_channels, int64_t h, int64_t w,
                                       float* y);

/* ---------------------------------------------------------------------------------------------------------------
 * 12. Average pooling (ESPNetv2's down-samplers and pyramid pooling), CPU, float32
 *
 * 3x3, stride 2, zero padding 1, padding counted:
 *
 *   y[p][i][j] = (sum_{a, e < 3} x[p][2 i + a - 1][2 j + e - 1]) / 9        x zero outside its [h, w] plane
 *
 * PyTorch's avg_pool2d(x, 3, 2, 1, ceil_mode=False, count_include_pad=True) with libtorch's CPU bits: the nine terms
 * added in float in row-major window order, then divided by 9. x [planes, h, w], y [planes, (h - 1) / 2 + 1,
 * (w - 1) / 2 + 1] (planes = batch x channels). Parallel over output rows.
 * ------------------------------------------------------------------------------------------------------------- */

int32_t deepspg_avg_pool3x3s2_cpu_f32(const float* x, int64_t planes, int64_t h, int64_t w, float* y);

/**
 * Adaptive average pooling to [ho, wo] (PyTorch's adaptive_avg_pool2d; ESPNetv2's pyramid pooling and excitation) with
 * libtorch's CPU bits: output (i, j) averages rows [floor(i h / ho), ceil((i + 1) h / ho)) and columns likewise, its
 * terms added in float in row-major order, the sum divided by the row count, then by the column count. x [planes, h,
 * w], y [planes, ho, wo]; all sizes positive (planes may be 0). Parallel over output rows.
 */
int32_t deepspg_adaptive_avg_pool_cpu_f32(const float* x, int64_t planes, int64_t h, int64_t w, int64_t ho, int64_t wo,
                                          float* y);

#ifdef __cplusplus
}
#endif

#endif /* DEEPSPG_KERNELS_H */
