# Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
#
# Decides whether the CUDA kernels are built (DEEPSPG_WITH_CUDA) and for which architectures.
#   DEEPSPG_CUDA=AUTO (default): build them whenever a CUDA compiler is found; ON: require one; OFF: never.
#   CMAKE_CUDA_ARCHITECTURES defaults to 80;90 (A100, H100/H200) and must include both.
set(DEEPSPG_CUDA "AUTO" CACHE STRING "Build the CUDA kernels: AUTO, ON or OFF")
set_property(CACHE DEEPSPG_CUDA PROPERTY STRINGS AUTO ON OFF)

set(DEEPSPG_WITH_CUDA OFF)
if(NOT DEEPSPG_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS "/usr/local/cuda/bin/nvcc")
    set(CMAKE_CUDA_COMPILER "/usr/local/cuda/bin/nvcc")
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES OR CMAKE_CUDA_ARCHITECTURES STREQUAL "")
      set(CMAKE_CUDA_ARCHITECTURES "80;90")
    endif()
    # Static cudart: the library then needs only the driver (libcuda.so, found at run time), so the same .so loads
    # on machines without a CUDA toolkit and reports zero devices there.
    set(CMAKE_CUDA_RUNTIME_LIBRARY Static)
    enable_language(CUDA)
    set(DEEPSPG_WITH_CUDA ON)
  elseif(DEEPSPG_CUDA STREQUAL "ON")
    message(FATAL_ERROR "DEEPSPG_CUDA=ON but no CUDA compiler was found (set CMAKE_CUDA_COMPILER)")
  endif()
endif()
message(STATUS "deepspg: CUDA kernels ${DEEPSPG_WITH_CUDA} (architectures: ${CMAKE_CUDA_ARCHITECTURES})")
