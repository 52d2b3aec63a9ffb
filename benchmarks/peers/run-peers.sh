#!/usr/bin/env bash
# Side-by-side benchmark, one run, same machine and thread count, ending in one Markdown report (peers_table.py: the
# table, the fused attention's table and issue 15's targets, met or missed by how much):
#   DeepSPG-S enhancement-network forward: PyTorch eager (Debian python3-torch) on the spec reference, ONNX Runtime
#   Java on its ONNX export, DeepSPG-Java;
#   the image priors' forward (HRNet-W48, ESPNetv2 s=0.5): PyTorch eager on our translation (prior_peers.py), ONNX
#   Runtime Java on its export, DeepSPG-Java's HrnetPrior / EspnetPrior; each as `run` (features + class logits) and
#   as `features` (the three SEM maps alone: what enhancement runs);
#   one Baseline training step (batch 4 @ 128x128): PyTorch eager on the reference, DeepSPG-Java's Trainer;
#   the fused channel attention, forward + backward at the level-0 and level-2 shapes: PyTorch eager on the
#   reference's chain, the same chain of stock libtorch ops in Java, DeepSPG-Java's fused kernels;
#   the machine's fp32 FMA peak, measured (fma_peak.c), for the "% of FMA peak" column;
#   the network forward once more at a large size (default 1088x1920, i.e. 1920x1080 padded to a multiple of 32;
#   "none" skips it: ~10 min of the run).
# Only configurations that compute right results on this machine are timed: oneDNN's row only where its self-check
# passes (the benchmark also refuses the row itself when it does not).
# Usage: benchmarks/peers/run-peers.sh [threads=2] [height=416] [width=608] [large=1088x1920|none]
#   (PEERS_OUT=DIR keeps the raw results)
# Needs: /usr/bin/python3 with torch (apt-get install python3-torch), a C compiler with OpenMP,
# benchmarks/target/benchmarks.jar (mvn install); ESPNetv2 runs with the real s=0.5 Cityscapes weights when
# ../shared/priors/espnetv2 is beside the checkout (random weights otherwise: the same work).
set -euo pipefail
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  echo "run-peers.sh: /usr/bin/python3 cannot import torch (PyTorch eager and the ONNX exports need it):" \
    "apt-get install python3-torch" >&2
  exit 2
fi
root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/benchmarks/peers"
threads="${1:-2}"; h="${2:-416}"; w="${3:-608}"; large="${4:-1088x1920}"
lh=""; lw=""
if [ "$large" != none ]; then lh="${large%x*}"; lw="${large#*x}"; fi
out="${PEERS_OUT:-$(mktemp -d)}"; mkdir -p "$out"
jar="$root/benchmarks/target/benchmarks.jar"
py=/usr/bin/python3
# The same threading environment as ./deepspg (see Backends): the JMH forks inherit it.
export OPENBLAS_THREAD_TIMEOUT="${OPENBLAS_THREAD_TIMEOUT:-4}" \
  MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-1}" GLIBC_TUNABLES="${GLIBC_TUNABLES:-glibc.malloc.hugetlb=1}"
if [ -z "${OMP_WAIT_POLICY:-}" ]; then export GOMP_SPINCOUNT="${GOMP_SPINCOUNT:-10000}"; fi
cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
isa="$(grep -m1 -o -w avx512f /proc/cpuinfo || echo avx2)"
echo "== machine: $(nproc) cores, $cpu ($isa); load: $(cut -d' ' -f1-3 /proc/loadavg); results in $out"
$py - "$out/meta.json" "$(nproc) vCPU $cpu ($isa), $(free -g | awk '/Mem:/{print $2}') GiB" "$threads" "$h" "$w" \
  "benchmarks/peers/run-peers.sh $threads $h $w $large" "$lh" "$lw" <<'PY'
import json, sys, datetime
f, machine, threads, h, w, cmd, lh, lw = sys.argv[1:]
json.dump({"machine": machine, "threads": int(threads), "height": int(h), "width": int(w), "command": cmd,
           "large": [int(lh), int(lw)] if lh else None,
           "date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC")}, open(f, "w"))
PY
echo "== FMA peak ($threads threads)"
cc -O2 -march=native -fopenmp "$here/fma_peak.c" -o "$out/fma_peak"
OMP_NUM_THREADS="$threads" OMP_WAIT_POLICY=ACTIVE "$out/fma_peak" | tee "$out/fma-peak.txt"
echo "== PyTorch eager: network, priors, training step (and the ONNX exports)"
$py "$here/deepspg_peers.py" --threads "$threads" --height "$h" --width "$w" --iters 5 \
  --onnx "$out/network.onnx" 2>/dev/null | tee "$out/eager-network.json"
$py "$here/prior_peers.py" --prior hrnet-w48 --threads "$threads" --height "$h" --width "$w" --iters 5 \
  --onnx "$out/prior-hrnet-w48.onnx" 2>/dev/null | tee "$out/eager-prior-hrnet-w48.json"
espnet="$root/../shared/priors/espnetv2/espnetv2_s_0.5_city_1024x512.pth"
ew=(); [ -f "$espnet" ] && ew=(--weights "$espnet")
$py "$here/prior_peers.py" --prior espnetv2 --scale 0.5 --classes 20 "${ew[@]}" --threads "$threads" \
  --height "$h" --width "$w" --iters 9 --onnx "$out/prior-espnetv2.onnx" 2>/dev/null \
  | tee "$out/eager-prior-espnetv2.json"
# the same priors' SEM features alone (ImagePrior#features: what enhancement runs)
$py "$here/prior_peers.py" --prior hrnet-w48 --features-only --threads "$threads" --height "$h" --width "$w" \
  --iters 5 --onnx "$out/prior-hrnet-w48-features.onnx" 2>/dev/null | tee "$out/eager-prior-hrnet-w48-features.json"
$py "$here/prior_peers.py" --prior espnetv2 --features-only --scale 0.5 --classes 20 "${ew[@]}" \
  --threads "$threads" --height "$h" --width "$w" --iters 9 --onnx "$out/prior-espnetv2-features.onnx" 2>/dev/null \
  | tee "$out/eager-prior-espnetv2-features.json"
$py "$here/deepspg_peers.py" --threads "$threads" --train-step --warmup 3 --iters 20 2>/dev/null \
  | tee "$out/eager-train-step.json"
# the fused channel attention's workload (issue 15 item 4): the reference's chain, forward + backward
for shape in L0 L2; do
  $py "$here/deepspg_peers.py" --threads "$threads" --attention "$shape" --warmup 3 --iters 20 2>/dev/null \
    | tee "$out/eager-attention-$shape.json"
done
if [ -n "$lh" ]; then
  $py "$here/deepspg_peers.py" --threads "$threads" --height "$lh" --width "$lw" --warmup 1 --iters 2 \
    --row network-large --onnx "$out/network-large.onnx" 2>/dev/null | tee "$out/eager-network-large.json"
fi
verdict="$("$root/deepspg" info 2>/dev/null | sed -n 's/^oneDNN: //p')"
echo "== oneDNN on this machine: $verdict"
mk=false
case "$verdict" in on*) mk=false,true ;; esac
echo "== ONNX Runtime Java and DeepSPG-Java (JMH, ms/op)"
java -Ddeepspg.onnx="$out/network.onnx" -Ddeepspg.onnx.prior-hrnet-w48="$out/prior-hrnet-w48.onnx" \
  -Ddeepspg.onnx.prior-espnetv2="$out/prior-espnetv2.onnx" \
  -Ddeepspg.onnx.prior-hrnet-w48-features="$out/prior-hrnet-w48-features.onnx" \
  -Ddeepspg.onnx.prior-espnetv2-features="$out/prior-espnetv2-features.onnx" \
  -Ddeepspg.espnetWeights="$([ -f "$espnet" ] && echo "$espnet")" \
  -jar "$jar" EnhancementPeers -p threads="$threads" -p height="$h" -p width="$w" -p mkldnn="$mk" \
  -p workload=network,prior-hrnet-w48,prior-espnetv2,prior-hrnet-w48-features,prior-espnetv2-features \
  -rf json -rff "$out/jmh-peers.json" 2>&1 | grep -E "^(Benchmark|EnhancementPeers)"
if [ -n "$lh" ]; then
  echo "== the network at ${lh}x${lw}: ONNX Runtime Java and DeepSPG-Java (JMH, ms/op)"
  java -Ddeepspg.onnx="$out/network-large.onnx" -jar "$jar" EnhancementPeers -p threads="$threads" \
    -p height="$lh" -p width="$lw" -p mkldnn="$mk" -p workload=network -wi 2 -i 3 -w 10 -r 10 \
    -rf json -rff "$out/jmh-peers-large.json" 2>&1 | grep -E "^(Benchmark|EnhancementPeers)"
fi
echo "== one Baseline training step: DeepSPG-Java (JMH, ms/op)"
java -jar "$jar" TrainStep -p threads="$threads" -rf json -rff "$out/jmh-train.json" 2>&1 \
  | grep -E "^(Benchmark|TrainStep)"
echo "== the fused channel attention, forward+backward, against the stock libtorch chain (JMH, ms/op)"
java -jar "$jar" "ChannelAttentionBenchmark.*ForwardBackward" -p threads="$threads" -p shape=L0,L2 -bm avgt -tu ms \
  -rf json -rff "$out/jmh-attention.json" 2>&1 | grep -E "^(Benchmark|ChannelAttention)"
echo "== the report"
$py "$here/peers_table.py" "$out" | tee "$out/table.md"
