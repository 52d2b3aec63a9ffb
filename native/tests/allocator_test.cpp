// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// deepspg_tune_allocator: accepted values take effect (a block below the new mmap threshold, or of any size with
// no_mmap, comes from the heap, i.e. is no longer reported as mmap'ed by mallinfo2), refused values give a status
// and a message.
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
  expect(deepspg_tune_allocator(-1, 0, 0, 0) == DEEPSPG_ERR_INVALID_ARGUMENT && std::strlen(deepspg_last_error()) > 0,
         "negative size refused with a message");
  expect(deepspg_tune_allocator(0, 0, 0, 2) == DEEPSPG_ERR_INVALID_ARGUMENT, "no_mmap other than 0/1 refused");
  expect(deepspg_tune_allocator(0, 0, 0, 0) == DEEPSPG_OK, "all zero: nothing changed, ok");

  const size_t block = 8u << 20;  // 8 MiB: above glibc's initial 128 KiB threshold, below the tuned one
  auto mapped_while_held = [&](size_t bytes) {
    const size_t before = mallinfo2().hblkhd;
    void* p = std::malloc(bytes);
    std::memset(p, 1, bytes);
    g_sink = p;
    const size_t during = mallinfo2().hblkhd;
    std::free(g_sink);
    return during - before;
  };
  // Control first (no free of a large block has happened yet, so glibc's dynamic threshold is still 128 KiB).
  expect(mapped_while_held(block) >= block, "control: with glibc's defaults an 8 MiB block is mmap'ed");
  expect(deepspg_tune_allocator(32 << 20, 256 << 20, 64 << 20, 0) == DEEPSPG_OK, "tuned values accepted");
  expect(mapped_while_held(block) == 0, "tuned: an 8 MiB block is served from the heap, not by mmap");
  // Above glibc's largest threshold (32 MiB) only no_mmap keeps a block on the heap (this is the main thread, so the
  // main arena, which can grow past 64 MiB).
  const size_t big = 96u << 20;
  expect(mapped_while_held(big) >= big, "control: a 96 MiB block is mmap'ed despite the tuned threshold");
  expect(deepspg_tune_allocator(0, 1024 << 20, 0, 1) == DEEPSPG_OK, "no_mmap accepted");
  expect(mapped_while_held(big) == 0, "no_mmap: a 96 MiB block is served from the heap");
  // Freed heap memory stays mapped under the 1 GiB trim threshold until deepspg_release_free_memory returns it.
  void* held = std::malloc(big);
  std::memset(held, 1, big);
  g_sink = held;
  std::free(g_sink);
  const size_t kept = mallinfo2().fordblks;
  expect(deepspg_release_free_memory() == DEEPSPG_OK, "release accepted");
  expect(kept >= big && mallinfo2().keepcost < big, "release: the freed 96 MiB at the heap top went back");
#else
  expect(deepspg_tune_allocator(0, 0, 0, 0) == DEEPSPG_ERR_NOT_COMPILED, "non-glibc: reported as not available");
  expect(deepspg_release_free_memory() == DEEPSPG_ERR_NOT_COMPILED, "non-glibc: release reported as not available");
#endif
  std::printf("%s\n", failures == 0 ? "PASSED" : "FAILED");
  return failures == 0 ? 0 : 1;
}
