#!/usr/bin/env bash
# End-to-end latency: models built by opal (after a stated tuning budget) against PyTorch on the
# CPU, same thread count, measured in one run (docs/build.md#benchmark).
#
#   bench/e2e/run.sh [--budget SECONDS_PER_MODEL] [--runs N] [--threads T] [--store DSN] [MODEL...]
#
# Each model goes through `opal deliver --json` (store lookup, tuning of misses within the budget,
# build, benchmark of the library, and bench/e2e/torch_peer.py on the same ONNX file), then
# report.py prints the table: p50 latency of each, the ratio, and where each kernel came from.
# Default models: resnet18 resnet50 mobilenet_v2 transformer_l2_d256 from ../shared/models.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
budget=0 runs=30 threads=2 store="" models=()
while (($#)); do
  case "$1" in
    --budget) budget="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --store) store="$2"; shift 2 ;;
    -h|--help) sed -n 2,11p "$0"; exit 0 ;;
    *) models+=("$1"); shift ;;
  esac
done
((${#models[@]})) || for m in resnet18 resnet50 mobilenet_v2 transformer_l2_d256; do
  models+=("$root/../shared/models/$m/model.onnx")
done
"$root/scripts/ensure-built.sh" opal
out="${OPAL_BENCH_OUT:-$root/build/bench-e2e}"
mkdir -p "$out"
store_args=()
[[ -n "$store" ]] && store_args=(--store "$store")
results=()
for m in "${models[@]}"; do
  name="$(basename "$(dirname "$m")")"
  echo "== $name (budget ${budget}s, $runs runs, $threads threads)" >&2
  "$root/build/bin/opal" deliver "$m" -o "$out/$name" --budget "$budget" --runs "$runs" --threads "$threads" \
    "${store_args[@]}" --json >"$out/$name.json"
  results+=("$out/$name.json")
done
/usr/bin/python3 "$root/bench/e2e/report.py" --budget "$budget" --threads "$threads" "${results[@]}"
