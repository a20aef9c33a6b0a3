#!/usr/bin/env bash
# End-to-end latency: models built by opal (after a stated tuning budget) against onnxruntime 1.30
# CPU and PyTorch on the CPU, same thread count, batch 1, the same weights on every side
# (docs/build.md#correctness-and-performance-checks).
#
#   bench/e2e/run.sh [--budget SECONDS_PER_MODEL] [--runs N] [--rounds R] [--threads T] [--store DSN]
#                    [--no-pytorch] [--deliver-args "ARGS"] [MODEL.onnx...]
#
# Each model is first prepared (bench/e2e/prepare.py: weights as initializers, deterministic random
# weights for models exported without them, one input file), so all sides run the same bytes. It
# goes through `opal deliver` once (store lookup, zero-shot / tuning of misses within the budget,
# build). Then R rounds alternate `opal run --bench N`, onnxruntime (bench/e2e/ort_peer.js, default
# session options, intraOpNumThreads = T) and bench/e2e/torch_peer.py --repeats N on the same
# file, so that the machine's clock drift hits every side alike; report.py prints per model the
# medians over rounds of each side's p50 and p90, the median of the per-round ratios onnxruntime /
# opal and PyTorch / opal with their range, opal's output error against onnxruntime's (relative
# L2), and where each kernel's schedule came from.
# onnxruntime comes from npm (onnxruntime-node 1.30.0, installed with --ignore-scripts into
# build/peers/ort on first use; it carries the real libonnxruntime.so.1); needs node and npm.
# Default models: every model in ../shared/models.
# --store names a store of the user's own: the starter knowledge base is imported only into the
# default store (or $OPAL_STORE), so to bench a fresh install use OPAL_STORE=sqlite:NEW.db instead.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
budget=0 runs=30 rounds=5 threads=2 store="" models=() pytorch=1 deliver_args=""
while (($#)); do
  case "$1" in
    --budget) budget="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --store) store="$2"; shift 2 ;;
    --no-pytorch) pytorch=0; shift ;;
    --deliver-args) deliver_args="$2"; shift 2 ;;
    -h|--help) sed -n 2,22p "$0"; exit 0 ;;
    *) models+=("$1"); shift ;;
  esac
done
((${#models[@]})) || for m in "$root"/../shared/models/*/model.onnx; do models+=("$m"); done
"$root/scripts/ensure-built.sh" opal
opal="${OPAL_BUILD_DIR:-$root/build}/bin/opal"
out="${OPAL_BENCH_OUT:-$root/build/bench-e2e}"
ort_dir="${OPAL_ORT_DIR:-$root/build/peers/ort}"
mkdir -p "$out"
if [[ ! -f "$ort_dir/node_modules/onnxruntime-node/package.json" ]]; then
  command -v npm >/dev/null || { echo "bench/e2e: npm is needed for the onnxruntime peer (apt-get install nodejs npm)" >&2; exit 1; }
  echo "== installing onnxruntime-node 1.30.0 into $ort_dir" >&2
  mkdir -p "$ort_dir"
  (cd "$ort_dir" && [[ -f package.json ]] || npm init -y >/dev/null) && \
    (cd "$ort_dir" && npm install --ignore-scripts --no-audit --no-fund onnxruntime-node@1.30.0 >/dev/null)
fi
export OPAL_ORT_MODULE="$ort_dir/node_modules/onnxruntime-node"
store_args=()
[[ -n "$store" ]] && store_args=(--store "$store")
args=()
for m in "${models[@]}"; do
  name="$(basename "$(dirname "$m")")"
  prep="$out/$name.prepared"
  /usr/bin/python3 "$root/bench/e2e/prepare.py" "$m" "$prep"
  inputs=()
  while read -r spec; do inputs+=(--input "$spec"); done < <(/usr/bin/python3 -c "
import json,sys
for x in json.load(open('$prep/inputs.json')): print(x['name'] + '=$prep/' + x['pb'])")
  echo "== $name: deliver (budget ${budget}s), then $rounds rounds of $runs runs each side, $threads threads" >&2
  # shellcheck disable=SC2086
  "$opal" -q deliver "$prep/model.onnx" -o "$out/$name" --budget "$budget" --runs 3 --threads "$threads" \
    --no-pytorch "${store_args[@]}" $deliver_args --json >"$out/$name.deliver.json"
  : >"$out/$name.rounds.jsonl"
  for ((r = 0; r < rounds; r++)); do
    o="$("$opal" -q run "$out/$name" "${inputs[@]}" --bench "$runs" --threads "$threads" --json | tr -d '\n')"
    x="$(node "$root/bench/e2e/ort_peer.js" "$prep" --threads "$threads" --repeats "$runs" \
         --outputs "$out/$name.ort_output.bin" | tr -d '\n')"
    t="null"
    if ((pytorch)); then
      t="$(/usr/bin/python3 "$root/bench/e2e/torch_peer.py" "$prep/model.onnx" "${inputs[@]}" --threads "$threads" \
           --repeats "$runs" --json 2>/dev/null | tr -d '\n')" || t="null"
    fi
    echo "{\"opal\": $o, \"onnxruntime\": $x, \"pytorch\": ${t:-null}}" >>"$out/$name.rounds.jsonl"
  done
  args+=("$out/$name")
done
/usr/bin/python3 "$root/bench/e2e/report.py" --budget "$budget" --threads "$threads" "${args[@]}"
