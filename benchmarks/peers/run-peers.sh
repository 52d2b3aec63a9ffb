#!/usr/bin/env bash
# Side-by-side benchmark, one run, same machine and thread count:
#   DeepSPG-S enhancement-network forward: PyTorch eager (Debian python3-torch) on the spec reference, ONNX Runtime
#   Java on its ONNX export, DeepSPG-Java;
#   one Baseline training step (batch 4 @ 128x128): PyTorch eager on the reference, DeepSPG-Java's Trainer.
# Usage: benchmarks/peers/run-peers.sh [threads=2] [height=416] [width=608]
# Needs: /usr/bin/python3 with torch (apt-get install python3-torch), benchmarks/target/benchmarks.jar (mvn install).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
threads="${1:-2}"; h="${2:-416}"; w="${3:-608}"
onnx="$(mktemp -d)/deepspg_s.onnx"
# The same threading environment as ./deepspg (see Backends): the JMH forks inherit it.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}" OPENBLAS_THREAD_TIMEOUT="${OPENBLAS_THREAD_TIMEOUT:-4}" \
  MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-1}" GLIBC_TUNABLES="${GLIBC_TUNABLES:-glibc.malloc.hugetlb=1}"
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== PyTorch eager (and ONNX export to $onnx)"
/usr/bin/python3 "$root/benchmarks/peers/deepspg_peers.py" --threads "$threads" --height "$h" --width "$w" \
  --iters 5 --onnx "$onnx" 2>/dev/null
# Only configurations that compute right results on this machine are timed: oneDNN's row only where its
# self-check passes (the benchmark also refuses the row itself when it does not).
verdict="$("$root/deepspg" info 2>/dev/null | sed -n 's/^oneDNN: //p')"
echo "== oneDNN on this machine: $verdict"
mk=false
case "$verdict" in on*) mk=false,true ;; esac
echo "== ONNX Runtime Java and DeepSPG-Java (JMH, ms/op)"
java -Ddeepspg.onnx="$onnx" -jar "$root/benchmarks/target/benchmarks.jar" EnhancementPeers \
  -p threads="$threads" -p height="$h" -p width="$w" -p mkldnn="$mk" -rf json -rff /tmp/peers-jmh.json 2>&1 \
  | grep -E "^(Benchmark|EnhancementPeers)"
echo "== one Baseline training step, batch 4 @ 128x128: PyTorch eager"
/usr/bin/python3 "$root/benchmarks/peers/deepspg_peers.py" --threads "$threads" --train-step --warmup 3 --iters 20 \
  2>/dev/null
echo "== one Baseline training step: DeepSPG-Java (JMH, ms/op)"
java -jar "$root/benchmarks/target/benchmarks.jar" TrainStep -p threads="$threads" -rf json -rff /tmp/peers-train.json \
  2>&1 | grep -E "^(Benchmark|TrainStep)"
