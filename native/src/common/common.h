// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Shared plumbing of the kernel library: the thread-local error message, argument checks, the params structs.
#pragma once

#include <cstdint>
#include <string>

#include "deepspg/kernels.h"

namespace deepspg::ops::detail {

/** Records msg as this thread's last error and returns code. */
int32_t fail(int32_t code, const std::string& msg);
/** Clears this thread's last error and returns DEEPSPG_OK. */
int32_t ok();
/** This thread's last error message (valid until the next call on this thread). */
const char* last_error_cstr();

/** Row-norm floor of F.normalize: rows with a smaller L2 norm are divided by this instead. */
constexpr double kNormEps = 1e-12;
/** Largest head width the attention kernels accept (the CUDA kernels keep c x c tiles in shared memory). */
constexpr int64_t kMaxHeadChannels = 64;
/**
 * Below this many elements a CPU kernel runs on the calling thread: opening an OpenMP team costs more than the work
 * (measured ~90 us per call with passive waiting on a loaded 2-core machine, vs a few us of arithmetic).
 */
constexpr int64_t kOmpMinWork = int64_t(1) << 15;

/** Guard of 1/(1+M) in the light-up map. */
constexpr double kLightupEps = 1e-4;

/** Columns per block in the CUDA attention sweep 1 (one partial Gram matrix per chunk): the chunked kernel's. */
constexpr int64_t kCudaAttentionChunk = 1024;
/** The same for the blocked Gram kernel (gram_tiles::kChunk); the workspace holds partials for the smaller chunk. */
constexpr int64_t kCudaAttentionBlockedChunk = 256;

/** The CUDA attention's Gram kernel now (deepspg_channel_attention_cuda_gram). */
int32_t cuda_gram_variant();

/** Threads per block of the CUDA loss kernels (one partial sum per block). */
constexpr int64_t kCudaLossThreads = 256;
/** Grid cap of the one-pass CUDA loss kernels (loss_tiles::kMaxBlocks): partials per loss term. */
constexpr int64_t kCudaLossMaxBlocks = 2048;

/** The CUDA loss kernels now (deepspg_cuda_losses). */
int32_t cuda_losses_variant();

inline int64_t round_up_256(int64_t b) { return ((b + 255) / 256) * 256; }

/** One-pass CUDA loss workspace: `parts` double partials, then the 4-byte ticket at this offset (the next 256-byte
 * boundary). */
inline int64_t cuda_loss_ticket_offset(int64_t parts) { return round_up_256(parts * 8); }

/** Output tile of the CUDA depthwise-conv backward (one block each; one partial dweight per tile and plane). */
constexpr int64_t kCudaDwTileW = 32, kCudaDwTileH = 16;

/** Pixels per block of the CUDA channel-LayerNorm parameter-gradient pass (one partial per chunk and channel). */
constexpr int64_t kCudaLnParamChunk = 4096;

/** Number of CUDA depthwise-conv backward tiles of an h x w plane. */
inline int64_t dw_tiles(int64_t h, int64_t w) {
  return ((h + kCudaDwTileH - 1) / kCudaDwTileH) * ((w + kCudaDwTileW - 1) / kCudaDwTileW);
}

/**
 * Byte layout of the CUDA attention workspace: dtau partials [bh] (double), chunk partials
 * [bh, chunks, c*c + 2c] (element type; chunks of kCudaAttentionBlockedChunk columns, the most either Gram kernel
 * writes), their sums [bh, c*c + 2c] (double), backward coefficients [bh, c*c] and diagonals [bh, 2c] (element
 * type).
 */
inline int64_t attention_workspace_bytes(int64_t bh, int64_t c, int64_t n, int64_t elem) {
  const int64_t chunks = (n + kCudaAttentionBlockedChunk - 1) / kCudaAttentionBlockedChunk;
  return round_up_256(bh * 8) + round_up_256(bh * chunks * (c * c + 2 * c) * elem) +
         round_up_256(bh * (c * c + 2 * c) * 8) + round_up_256(bh * c * c * elem) + round_up_256(bh * 2 * c * elem);
}

/** Raw pointers and sizes of one channel-attention call (FA's Flash_fwd_params idea). */
template <typename T>
struct ChannelAttentionParams {
  const T* x;
  const T* y;
  const T* v;
  const T* gate;  // nullable
  const T* tau;   // [heads]
  int64_t batch, heads, c, n;
  T* out;
  T* G;
  T* A;
  T* r;
  T* s;
  // backward
  const T* dout;
  T* dx;
  T* dy;
  T* dv;
  T* dgate;
  T* dtau;
};

/** Whether this CPU has AVX-512F (CPUID; false off x86-64): the run-time choice of the kernels' AVX-512 paths. */
bool cpu_has_avx512f();

/** Validates the sizes shared by every attention entry point; returns DEEPSPG_OK or an error (message set). */
int32_t check_attention_sizes(const char* fn, int64_t batch, int64_t heads, int64_t c, int64_t n);

}  // namespace deepspg::ops::detail

#define DEEPSPG_CHECK_PTR(fn, p)                                                                      \
  do {                                                                                                \
    if ((p) == nullptr)                                                                               \
      return ::deepspg::ops::detail::fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": " #p " is NULL"); \
  } while (0)

// Loops built twice, for AVX-512F (16 lanes) and the library's baseline (x86-64-v3: AVX2, 8 lanes), picked at load
// time from CPUID: the same operations in the same order per element, so both give the same bits. For the functions
// whose float row loops the compiler vectorises (depthwise rows, the fused FFN's rows, the pixel shuffle).
#define DEEPSPG_VECTOR_CLONES __attribute__((target_clones("avx512f", "default")))
