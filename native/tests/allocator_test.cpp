// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// deepspg_tune_allocator: accepted values take effect (a block below the new mmap threshold comes from the heap,
// i.e. is no longer reported as mmap'ed by mallinfo2), refused values give a status and a message.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "deepspg/kernels.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

// Keeps the compiler from eliding the malloc/memset/free pairs below (GCC removes unused heap blocks at -O2).
void* volatile g_sink = nullptr;

int main() {
  int failures = 0;
  auto expect = [&](bool ok, const char* what) {
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok) ++failures;
  };
#if defined(__GLIBC__)
  expect(deepspg_tune_allocator(-1, 0, 0) == DEEPSPG_ERR_INVALID_ARGUMENT && std::strlen(deepspg_last_error()) > 0,
         "negative size refused with a message");
  expect(deepspg_tune_allocator(0, 0, 0) == DEEPSPG_OK, "all zero: nothing changed, ok");

  const size_t block = 8u << 20;  // 8 MiB: above glibc's initial 128 KiB threshold, below the tuned one
  auto mapped_while_held = [&] {
    const size_t before = mallinfo2().hblkhd;
    void* p = std::malloc(block);
    std::memset(p, 1, block);
    g_sink = p;
    const size_t during = mallinfo2().hblkhd;
    std::free(g_sink);
    return during - before;
  };
  // Control first (no free of a large block has happened yet, so glibc's dynamic threshold is still 128 KiB).
  expect(mapped_while_held() >= block, "control: with glibc's defaults an 8 MiB block is mmap'ed");
  expect(deepspg_tune_allocator(32 << 20, 256 << 20, 64 << 20) == DEEPSPG_OK, "tuned values accepted");
  expect(mapped_while_held() == 0, "tuned: an 8 MiB block is served from the heap, not by mmap");
#else
  expect(deepspg_tune_allocator(0, 0, 0) == DEEPSPG_ERR_NOT_COMPILED, "non-glibc: reported as not available");
#endif
  std::printf("%s\n", failures == 0 ? "PASSED" : "FAILED");
  return failures == 0 ? 0 : 1;
}
