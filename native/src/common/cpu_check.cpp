// Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
//
// CPU feature check, compiled for the x86-64 baseline (see CMakeLists.txt) so it runs on any x86-64 CPU and can tell
// the loader that the AVX2/FMA kernels would not.
#include <cstdint>
#include <cstring>

#ifndef DEEPSPG_ARCH_STRING
#define DEEPSPG_ARCH_STRING "unknown"
#endif

extern "C" {

int32_t deepspg_cpu_supported(void) {
#if defined(__x86_64__) || defined(__i386__)
  const char* arch = DEEPSPG_ARCH_STRING;
  __builtin_cpu_init();
  if (std::strcmp(arch, "x86-64-v3") == 0 || std::strcmp(arch, "x86-64-v4") == 0) {
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2"))) return 0;
  }
  if (std::strcmp(arch, "x86-64-v4") == 0) {
    if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")))
      return 0;
  }
  if (std::strcmp(arch, "x86-64-v2") == 0 && !__builtin_cpu_supports("sse4.2")) return 0;
#endif
  return 1;
}

const char* deepspg_cpu_arch(void) { return DEEPSPG_ARCH_STRING; }

}  // extern "C"
