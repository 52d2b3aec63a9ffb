#!/usr/bin/env bash
# Data-parallel training throughput on this host: `deepspg train` with 1 process (T threads) and with --nproc 2
# (T/2 threads each), same global batch and data; prints steps/s, images/s and the time per step spent in the
# collectives (comm_ms on rank 0: the all-reduces including the wait for the slower worker), each averaged over the logged windows after the first (warm-up).
# Usage: scripts/bench-train-dp.sh DATA_DIR [steps=40] [threads=2] [config=configs/baseline_cpu.properties]
# DATA_DIR: a paired dataset (e.g. from `deepspg data synth`). Run it on an idle machine.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
data="${1:?usage: scripts/bench-train-dp.sh DATA_DIR [steps] [threads] [config]}"
steps="${2:-40}"; threads="${3:-2}"; config="${4:-$root/configs/baseline_cpu.properties}"
out="$(mktemp -d)"
echo "== $(date -u +%F) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load $(cut -d' ' -f1-3 /proc/loadavg)"
common=(--config "$config" --onednn off "data.train=$data" "max_steps=$steps" log.every_steps=10 log.grad_norm_steps=0 val.max_images=1
  checkpoint.every_steps=0 plots=false --overwrite)
summary() { # metrics.jsonl -> mean of the train windows after the first
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rows = [r for r in rows if r.get("kind") == "train" and int(r["step"]) % 10 == 0][1:]
mean = lambda k: sum(r[k] for r in rows) / len(rows) if rows and all(k in r for r in rows) else float("nan")
print(f"{sys.argv[2]:<28} steps/s {mean('steps_per_s'):.3f}  images/s {mean('images_per_s'):.2f}"
      f"  comm ms/step {mean('comm_ms'):.1f}  ({len(rows)} windows of 10 steps)")
PY
}
"$root/deepspg" train "${common[@]}" "run.dir=$out/one" "threads=$threads" >"$out/one.log" 2>&1
summary "$out/one/metrics.jsonl" "1 process x $threads threads"
"$root/deepspg" train "${common[@]}" "run.dir=$out/two" "threads=$((threads / 2 > 0 ? threads / 2 : 1))" --nproc 2 \
  >"$out/two.log" 2>&1
summary "$out/two/metrics.jsonl" "2 processes x $((threads / 2 > 0 ? threads / 2 : 1)) threads"
echo "(logs and run folders: $out)"
