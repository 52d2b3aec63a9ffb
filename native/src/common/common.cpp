// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// Error plumbing and library information.
#include "common.h"

#include <atomic>
#include <string>

#ifdef _OPENMP
#include <omp.h>
#endif

#ifndef DEEPSPG_VERSION_STRING
#define DEEPSPG_VERSION_STRING "0.1.0"
#endif

namespace deepspg::ops::detail {

namespace {
thread_local std::string g_last_error;
std::atomic<int32_t> g_cuda_gram{DEEPSPG_CUDA_GRAM_CHUNKED};        // deepspg_channel_attention_cuda_gram
std::atomic<int32_t> g_cuda_losses{DEEPSPG_CUDA_LOSSES_MEASURED};  // deepspg_cuda_losses
}  // namespace

int32_t cuda_gram_variant() { return g_cuda_gram.load(std::memory_order_relaxed); }
int32_t cuda_losses_variant() { return g_cuda_losses.load(std::memory_order_relaxed); }

namespace {
/** The kernel selectors' contract (kernels.h): variant < 0 reads, 0..last sets and returns the previous one, anything
 * else is refused with -DEEPSPG_ERR_INVALID_ARGUMENT and changes nothing. */
int32_t select_variant(std::atomic<int32_t>& slot, int32_t variant, int32_t last, const char* fn) {
  if (variant < 0) return slot.load(std::memory_order_relaxed);
  if (variant > last) {
    fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": unknown variant " + std::to_string(variant));
    return -DEEPSPG_ERR_INVALID_ARGUMENT;
  }
  ok();
  return slot.exchange(variant, std::memory_order_relaxed);
}
}  // namespace

int32_t fail(int32_t code, const std::string& msg) {
  g_last_error = msg;
  return code;
}

int32_t ok() {
  g_last_error.clear();
  return DEEPSPG_OK;
}

const char* last_error_cstr() { return g_last_error.c_str(); }

bool cpu_has_avx512f() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}

int32_t check_attention_sizes(const char* fn, int64_t batch, int64_t heads, int64_t c, int64_t n) {
  if (batch < 0 || heads < 1 || c < 1 || n < 1) {
    return fail(DEEPSPG_ERR_INVALID_ARGUMENT, std::string(fn) + ": need batch >= 0, heads >= 1, c >= 1, n >= 1, got batch=" +
                                                  std::to_string(batch) + " heads=" + std::to_string(heads) +
                                                  " c=" + std::to_string(c) + " n=" + std::to_string(n));
  }
  if (c > kMaxHeadChannels) {
    return fail(DEEPSPG_ERR_INVALID_ARGUMENT,
                std::string(fn) + ": head width c=" + std::to_string(c) + " exceeds the supported maximum 64");
  }
  return DEEPSPG_OK;
}

}  // namespace deepspg::ops::detail

#if DEEPSPG_WITH_CUDA
namespace deepspg::ops::detail {
int32_t cuda_device_count();
const char* cuda_arch_list();
}  // namespace deepspg::ops::detail
#endif

extern "C" {

const char* deepspg_version(void) { return DEEPSPG_VERSION_STRING; }

const char* deepspg_build_info(void) {
  static const std::string info = [] {
    std::string s = "deepspg_kernels " DEEPSPG_VERSION_STRING "; compiler: ";
#if defined(__clang__)
    s += "clang " __clang_version__;
#elif defined(__GNUC__)
    s += "gcc " __VERSION__;
#else
    s += "unknown";
#endif
#ifdef _OPENMP
    s += "; openmp: " + std::to_string(_OPENMP) + " (max threads " + std::to_string(omp_get_max_threads()) + ")";
#else
    s += "; openmp: off";
#endif
#if DEEPSPG_WITH_CUDA
    s += std::string("; cuda: compiled for ") + deepspg::ops::detail::cuda_arch_list();
#else
    s += "; cuda: not compiled";
#endif
    return s;
  }();
  return info.c_str();
}

const char* deepspg_last_error(void) { return deepspg::ops::detail::last_error_cstr(); }

int32_t deepspg_cuda_compiled(void) {
#if DEEPSPG_WITH_CUDA
  return 1;
#else
  return 0;
#endif
}

int32_t deepspg_channel_attention_cuda_gram(int32_t variant) {
  namespace d = deepspg::ops::detail;
  return d::select_variant(d::g_cuda_gram, variant, DEEPSPG_CUDA_GRAM_BLOCKED, __func__);
}

int32_t deepspg_cuda_losses(int32_t variant) {
  namespace d = deepspg::ops::detail;
  return d::select_variant(d::g_cuda_losses, variant, DEEPSPG_CUDA_LOSSES_ONE_PASS, __func__);
}

int64_t deepspg_channel_attention_workspace_bytes(int64_t batch, int64_t heads, int64_t c, int64_t n, int32_t f64) {
  if (batch < 0 || heads < 0 || c < 0 || n < 0) return 0;
  return deepspg::ops::detail::attention_workspace_bytes(batch * heads, c, n, f64 ? 8 : 4);
}

int64_t deepspg_edge_loss_workspace_bytes(int64_t planes, int64_t h, int64_t w) {
  // Measured kernels: per-block x and y partial sums and their two totals (double), then the Gx and Gy maps (float)
  // that the Sobel variant's gather-form gradient pass reads. One-pass kernels (deepspg_cuda_losses): at most
  // kCudaLossMaxBlocks x and y partials, then the 4-byte ticket at the next 256-byte boundary. Room for both, so
  // that the variant can change between sizing and launch.
  namespace d = deepspg::ops::detail;
  const int64_t numel = planes * h * w;
  const int64_t blocks = (numel + d::kCudaLossThreads - 1) / d::kCudaLossThreads;
  const int64_t measured = d::round_up_256((2 * blocks + 2) * 8) + d::round_up_256(2 * numel * 4);
  const int64_t one_pass = d::cuda_loss_ticket_offset(2 * d::kCudaLossMaxBlocks) + 256;
  return measured > one_pass ? measured : one_pass;
}

int64_t deepspg_dwconv3x3_workspace_bytes(int64_t batch, int64_t channels, int64_t h, int64_t w) {
  // Nine per-tile dweight sums (double) for every plane and tile.
  if (batch <= 0 || channels <= 0 || h <= 0 || w <= 0) return 0;
  return deepspg::ops::detail::round_up_256(channels * batch * deepspg::ops::detail::dw_tiles(h, w) * 9 * 8);
}

int64_t deepspg_channel_layernorm_workspace_bytes(int64_t batch, int64_t channels, int64_t hw) {
  // Two sums (dgamma, dbeta; double) per channel, batch item and chunk of pixels.
  if (batch <= 0 || channels <= 0 || hw <= 0) return 0;
  const int64_t chunks = (hw + deepspg::ops::detail::kCudaLnParamChunk - 1) / deepspg::ops::detail::kCudaLnParamChunk;
  return deepspg::ops::detail::round_up_256(channels * batch * chunks * 2 * 8);
}

int64_t deepspg_kl_loss_workspace_bytes(int64_t batch, int64_t k, int64_t hw) {
  // Measured kernel: one partial (double) per block of pixels; one-pass kernel: at most kCudaLossMaxBlocks partials
  // and the ticket at the next 256-byte boundary (deepspg_cuda_losses). Room for both.
  (void)k;
  namespace d = deepspg::ops::detail;
  const int64_t blocks = (batch * hw + d::kCudaLossThreads - 1) / d::kCudaLossThreads;
  const int64_t measured = d::round_up_256(blocks * 8);
  const int64_t one_pass = d::cuda_loss_ticket_offset(d::kCudaLossMaxBlocks) + 256;
  return measured > one_pass ? measured : one_pass;
}

int32_t deepspg_cuda_device_count(void) {
#if DEEPSPG_WITH_CUDA
  return deepspg::ops::detail::cuda_device_count();
#else
  return 0;
#endif
}

}  // extern "C"
