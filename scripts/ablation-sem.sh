#!/usr/bin/env bash
# The semantic-prior ablation (docs/training.md, "The semantic-prior ablation"): the same data, schedule and seed for
#   base   the Baseline (no SEMs),
#   sem    + image semantics: SEMs guided by ESPNetv2 (the prior sees the network's light-up X_r),
#   semkl  + image semantics + the semantic KL loss L_sem (λ3 = 0.01) on the same prior,
# then `deepspg eval` of each final model on the test split, one JSON per run and a table of the means over seeds.
# Usage: scripts/ablation-sem.sh DATA_DIR PRIOR_WEIGHTS OUT_DIR [seeds="0 1"] [variants="base sem semkl"] [KEY=VALUE...]
#   e.g. scripts/ablation-sem.sh /data/synth espnetv2_s_0.5_city_1024x512.pth runs/ablation "0 1" "base sem" epochs=48
# Runs that already have model_final.pth are not trained again; a run with a last.pth continues from it (--resume),
# so the script can be stopped and started again. Training time: ~1 h (base) and ~1.6 h (sem, s=0.5 prior) per
# 4,032 steps on 2 cores of the development VM (BENCHMARKS.md).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
data="${1:?usage: scripts/ablation-sem.sh DATA_DIR PRIOR_WEIGHTS OUT_DIR [seeds] [variants] [KEY=VALUE...]}"
prior="${2:?prior weights}"; out="${3:?output folder}"; seeds="${4:-0 1}"; variants="${5:-base sem semkl}"
shift $(( $# < 5 ? $# : 5 ))
extra=("$@")
mkdir -p "$out"
for seed in $seeds; do
  for v in $variants; do
    run="$out/$v-seed$seed"
    case "$v" in
      base) keys=() ;;
      sem) keys=(sem.enabled=true sem.prior=espnetv2 sem.prior_input=retinex "prior.weights=$prior") ;;
      semkl) keys=(sem.enabled=true sem.prior=espnetv2 sem.prior_input=retinex "prior.weights=$prior" loss.sem=0.01) ;;
      *) echo "unknown variant $v (base, sem, semkl)" >&2; exit 2 ;;
    esac
    if [ ! -f "$run/model_final.pth" ]; then
      echo "== $(date -u +%FT%TZ) train $v seed $seed -> $run"
      if [ -f "$run/last.pth" ]; then
        "$root/deepspg" train --resume "$run/last.pth" >>"$run.console.log" 2>&1
      else
        "$root/deepspg" train --config "$root/configs/baseline_cpu.properties" "data.train=$data" "seed=$seed" \
          "run.dir=$run" "${keys[@]}" "${extra[@]}" >"$run.console.log" 2>&1
      fi
    fi
    if [ ! -f "$run/eval.json" ]; then
      pw=(); [ "$v" = base ] || pw=(--prior-weights "$prior")
      "$root/deepspg" eval --data "$data" --split test --model "$run/model_final.pth" "${pw[@]}" --per-image \
        --json "$run/eval.json" >"$run.eval.log" 2>&1
    fi
  done
done
/usr/bin/python3 - "$out" $variants <<'PY'
import glob, json, os, statistics, sys
out, variants = sys.argv[1], sys.argv[2:]
print(f"{'variant':<8} {'seeds':>5} {'PSNR':>14} {'SSIM':>16} {'GT-mean PSNR':>14} {'clip%':>6} {'hue°':>6}")
for v in variants:
    rs = []
    for f in sorted(glob.glob(os.path.join(out, f"{v}-seed*", "eval.json"))):
        rs.append(json.load(open(f)))
    if not rs: continue
    def ms(k, scale=1):
        xs = [r[k] * scale for r in rs if r.get(k) is not None]
        return (statistics.mean(xs), (max(xs) - min(xs)) / 2 if len(xs) > 1 else 0.0) if xs else (float("nan"), 0)
    p, s, g = ms("psnr"), ms("ssim"), ms("psnr_gtmean")
    c, h = ms("newly_clipped", 100), ms("hue_error_deg")
    print(f"{v:<8} {len(rs):>5} {p[0]:>8.2f} ±{p[1]:.2f} {s[0]:>9.4f} ±{s[1]:.4f} {g[0]:>8.2f} ±{g[1]:.2f}"
          f" {c[0]:>6.2f} {h[0]:>6.1f}")
PY
