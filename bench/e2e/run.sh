#!/usr/bin/env bash
# End-to-end latency: models built by opal (after a stated tuning budget) against PyTorch on the
# CPU, same thread count, batch 1 (docs/build.md#correctness-and-performance-checks).
#
#   bench/e2e/run.sh [--budget SECONDS_PER_MODEL] [--runs N] [--rounds R] [--threads T] [--store DSN] [MODEL...]
#
# Each model goes through `opal deliver` once (store lookup, tuning of misses within the budget,
# build). Then R rounds alternate `opal run --bench N` on the built library and
# bench/e2e/torch_peer.py --repeats N on the same ONNX file, so that the machine's clock drift hits
# both sides alike; report.py prints per model the median over rounds of each side's p50, the
# median of the per-round ratios and their range, and where each kernel came from.
# Default models: resnet18 resnet50 mobilenet_v2 transformer_l2_d256 from ../shared/models.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
budget=0 runs=30 rounds=5 threads=2 store="" models=()
while (($#)); do
  case "$1" in
    --budget) budget="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --store) store="$2"; shift 2 ;;
    -h|--help) sed -n 2,13p "$0"; exit 0 ;;
    *) models+=("$1"); shift ;;
  esac
done
((${#models[@]})) || for m in resnet18 resnet50 mobilenet_v2 transformer_l2_d256; do
  models+=("$root/../shared/models/$m/model.onnx")
done
"$root/scripts/ensure-built.sh" opal
opal="$root/build/bin/opal"
out="${OPAL_BENCH_OUT:-$root/build/bench-e2e}"
mkdir -p "$out"
store_args=()
[[ -n "$store" ]] && store_args=(--store "$store")
args=()
for m in "${models[@]}"; do
  name="$(basename "$(dirname "$m")")"
  echo "== $name: deliver (budget ${budget}s), then $rounds rounds of $runs runs each side, $threads threads" >&2
  "$opal" -q deliver "$m" -o "$out/$name" --budget "$budget" --runs 3 --threads "$threads" --no-pytorch \
    "${store_args[@]}" --json >"$out/$name.deliver.json"
  : >"$out/$name.rounds.jsonl"
  for ((r = 0; r < rounds; r++)); do
    o="$("$opal" -q run "$out/$name" --bench "$runs" --threads "$threads" --json | tr -d '\n')"
    t="$(/usr/bin/python3 "$root/bench/e2e/torch_peer.py" "$m" --threads "$threads" --repeats "$runs" --json 2>/dev/null | tr -d '\n')"
    echo "{\"opal\": $o, \"pytorch\": $t}" >>"$out/$name.rounds.jsonl"
  done
  args+=("$out/$name")
done
/usr/bin/python3 "$root/bench/e2e/report.py" --budget "$budget" --threads "$threads" "${args[@]}"
