// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// deepspg_tune_allocator: glibc malloc settings for a process that allocates and frees tensors of a few MB to a few
// tens of MB at a high rate (every op output, every gradient). With glibc's defaults such blocks are served by mmap
// and returned by munmap (or the heap top is trimmed) on every free, so each new tensor pays page faults and the
// kernel's zero-filling of every page: measured on the 2-core AMD EPYC dev machine, a channel-attention
// forward+backward at DeepSPG-S level 0 (21 MB tensors) took 51 ms in some phases of a run and 29 ms in others, and
// 27 ms throughout with these settings (see BENCHMARKS.md). This is the same remedy as PyTorch's CPU performance
// guides recommending jemalloc/tcmalloc, without an LD_PRELOAD.
//
// Blocks above glibc's largest mmap threshold (32 MiB) are mmap'ed whatever the threshold: a DeepSPG-S forward at
// 608x416 still page-faulted ~1.4 GB per call (~360k faults, 0.5-2 s of system time, iterations 1.05-2.8 s) until
// no_mmap (M_MMAP_MAX = 0) and MALLOC_ARENA_MAX=1 let the heap serve those too (0.7 s, ~100 faults per call).
#include <algorithm>
#include <string>

#include "common.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

extern "C" int32_t deepspg_tune_allocator(int64_t mmap_threshold, int64_t trim_threshold, int64_t top_pad,
                                          int32_t no_mmap) {
  using deepspg::ops::detail::fail;
#if defined(__GLIBC__)
  if (mmap_threshold < 0 || trim_threshold < 0 || top_pad < 0 || (no_mmap != 0 && no_mmap != 1)) {
    return fail(DEEPSPG_ERR_INVALID_ARGUMENT,
                "deepspg_tune_allocator: sizes must be >= 0 and no_mmap 0 or 1, got mmap_threshold=" +
                    std::to_string(mmap_threshold) + " trim_threshold=" + std::to_string(trim_threshold) +
                    " top_pad=" + std::to_string(top_pad) + " no_mmap=" + std::to_string(no_mmap));
  }
  // mallopt takes int: larger values are clamped. 0 = leave the setting alone.
  const struct {
    int param;
    const char* name;
    int64_t value;
  } settings[] = {{M_MMAP_THRESHOLD, "M_MMAP_THRESHOLD", mmap_threshold},
                  {M_TRIM_THRESHOLD, "M_TRIM_THRESHOLD", trim_threshold},
                  {M_TOP_PAD, "M_TOP_PAD", top_pad}};
  for (const auto& st : settings) {
    if (st.value > 0 && mallopt(st.param, static_cast<int>(std::min<int64_t>(st.value, 0x7fffffff))) != 1) {
      return fail(DEEPSPG_ERR_INVALID_ARGUMENT,
                  std::string("deepspg_tune_allocator: glibc refused ") + st.name + "=" + std::to_string(st.value));
    }
  }
  if (no_mmap == 1 && mallopt(M_MMAP_MAX, 0) != 1) {
    return fail(DEEPSPG_ERR_INVALID_ARGUMENT, "deepspg_tune_allocator: glibc refused M_MMAP_MAX=0");
  }
  return deepspg::ops::detail::ok();
#else
  (void)mmap_threshold, (void)trim_threshold, (void)top_pad, (void)no_mmap;
  return fail(DEEPSPG_ERR_NOT_COMPILED, "deepspg_tune_allocator: only implemented for glibc");
#endif
}

extern "C" int32_t deepspg_release_free_memory(void) {
#if defined(__GLIBC__)
  malloc_trim(0);
  return deepspg::ops::detail::ok();
#else
  return deepspg::ops::detail::fail(DEEPSPG_ERR_NOT_COMPILED,
                                    "deepspg_release_free_memory: only implemented for glibc");
#endif
}
