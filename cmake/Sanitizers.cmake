# Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
#
# DEEPSPG_SANITIZE=address|undefined|thread adds the sanitizer to every C++ target (debug the CPU kernels with
# `cmake -S native -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDEEPSPG_SANITIZE=address`).
set(DEEPSPG_SANITIZE "" CACHE STRING "Sanitizer for the C++ code: address, undefined, thread or empty")
if(DEEPSPG_SANITIZE)
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-fsanitize=${DEEPSPG_SANITIZE}> $<$<COMPILE_LANGUAGE:CXX>:-fno-omit-frame-pointer>)
  add_link_options(-fsanitize=${DEEPSPG_SANITIZE})
endif()
