#!/usr/bin/env bash
# Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
#
# Every GPU check this project has that needs no JVM, in one go, for a machine with an NVIDIA GPU, CUDA, CMake and
# PyTorch: the kernel CTests (their CUDA-vs-CPU cases run only where a GPU is present) and
# cuda_kernels_vs_torch.py (parity against torch float64 autograd, then timing against the stock torch chains).
#   benchmarks/gpu/run-gpu-checks.sh [OUTDIR]        (default out/gpu; logs and a JSON of the results go there)
# Builds native/ into native/build-gpu (sm_90) unless a build is already there. Exit status 1 when anything failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${DEEPSPG_GPU_BUILD:-native/build-gpu}
out=${1:-out/gpu}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
if [ ! -x "$build/tests/channel_attention_test" ]; then
  cmake -S native -B "$build" -DDEEPSPG_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 >"$out/build.log" 2>&1 &&
    cmake --build "$build" -j"$(nproc)" >>"$out/build.log" 2>&1 || { echo "build failed, see $out/build.log"; exit 1; }
fi
export LD_LIBRARY_PATH="$PWD/$build${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
status=0
for t in channel_attention cuda_gram_sim cuda_loss_sim retinex edge_loss kl_loss depthwise_conv channel_layer_norm \
    conv_same allocator; do
  echo "== $t" >>"$out/ctests.log"
  if "$build/tests/${t}_test" >>"$out/ctests.log" 2>&1; then
    echo "ctest $t: passed"
  else
    echo "ctest $t: FAILED"
    status=1
  fi
done
grep -c '^ok' "$out/ctests.log" | sed 's/^/ctest checks ok: /'
grep -i 'cuda' "$out/ctests.log" | grep -iv '^ok' | sort | uniq -c | head -20
python3 benchmarks/gpu/cuda_kernels_vs_torch.py "$build/libdeepspg_kernels.so" --gram chunked --losses measured \
  --json "$out/gpu-kernels.json" 2>&1 | tee "$out/gpu-kernels.txt" || status=1
# The candidates that are not yet the default, each in a process of its own, so that a fault in one cannot cost the
# rows above: the attention's blocked Gram kernel, the one-pass loss kernels.
python3 benchmarks/gpu/cuda_kernels_vs_torch.py "$build/libdeepspg_kernels.so" --gram blocked --attention-only \
  --json "$out/gpu-attention-blocked.json" 2>&1 | tee "$out/gpu-attention-blocked.txt" || status=1
python3 benchmarks/gpu/cuda_kernels_vs_torch.py "$build/libdeepspg_kernels.so" --losses one-pass --losses-only \
  --json "$out/gpu-losses-one-pass.json" 2>&1 | tee "$out/gpu-losses-one-pass.txt" || status=1
exit $status
