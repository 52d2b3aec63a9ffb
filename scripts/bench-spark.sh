#!/usr/bin/env bash
# Copyright 2026 The DeepSPG-Java Authors. Licensed under the Apache License, Version 2.0.
# spark-enhance throughput against plain enhance on the same images (docs/scaling.md): run on an idle machine after
#   mvn -B -q package -DskipTests -pl spark -am
# Usage: scripts/bench-spark.sh [INPUT_DIR (default samples)] [extra model flags, e.g. --onednn off]
# Prints each command's own summary line (its images/s excludes JVM and Spark start-up; the wall time includes them).
set -euo pipefail
cd "$(dirname "$0")/.."
in="${1:-samples}"
shift || true
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
run() {
  local name="$1"; shift
  local t0 t1
  t0=$(date +%s.%N)
  "$@" 2>/dev/null | grep -E "enhanced [0-9]+ of" | sed "s/^/$name: /"
  t1=$(date +%s.%N)
  echo "$name: wall $(echo "$t1 - $t0" | bc) s (JVM start included)"
}
run "enhance         " ./deepspg enhance "$in" -o "$out/plain" "$@"
run "spark local[1]  " ./deepspg spark-enhance "$in" -o "$out/l1" --master 'local[1]' "$@"
run "spark local[2]  " ./deepspg spark-enhance "$in" -o "$out/l2" --master 'local[2]' "$@"
for f in "$out"/plain/*; do cmp -s "$f" "$out/l1/$(basename "$f")" || echo "DIFFERS: $(basename "$f") (local[1])"; done
