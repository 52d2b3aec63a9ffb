# Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
#
# deepspg_warnings(target): the warning set every C++ target of the project builds with.
function(deepspg_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall --expt-relaxed-constexpr>)
endfunction()
