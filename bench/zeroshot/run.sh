#!/usr/bin/env bash
# Zero-shot benchmark (slow tier). Tunes the tasks of the training models, trains the cost model
# without the held-out models' workloads, then on every task of the held-out models compares
#   zero-shot (rank SAMPLES configs, measure K)  vs  full tuning (TUNE_TRIALS trials)
# and model-guided search vs random search (trials to reach 95% of the best found).
#   bench/zeroshot/run.sh [OUT_DIR]
# Budgets come from the environment (defaults in brackets): TRAIN_MODELS [resnet18 vgg11
# transformer_l2_d256], TEST_MODELS [mobilenet_v2 resnet50 gpt_tiny], TRAIN_TRIALS per model
# [400], TUNE_TRIALS per task [64], K [8], SAMPLES [2000], MAX_TEST_TASKS per model [6], ROUNDS of
# the final side-by-side re-timing of each search's best config [5].
# Resumable: run it again with the same OUT_DIR and it skips the steps already finished.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
"$root/scripts/ensure-built.sh" opal
opal="${OPAL_BUILD_DIR:-$root/build}/bin/opal"
models="$root/../shared/models"
out="${1:-$(mktemp -d /tmp/opal-zeroshot.XXXXXX)}"
mkdir -p "$out"
TRAIN_MODELS="${TRAIN_MODELS:-resnet18 vgg11 transformer_l2_d256}"
TEST_MODELS="${TEST_MODELS:-mobilenet_v2 resnet50 gpt_tiny}"
TRAIN_TRIALS="${TRAIN_TRIALS:-400}"; TUNE_TRIALS="${TUNE_TRIALS:-64}"; K="${K:-8}"; SAMPLES="${SAMPLES:-2000}"
MAX_TEST_TASKS="${MAX_TEST_TASKS:-6}"; ROUNDS="${ROUNDS:-5}"
train="sqlite:$out/train.db"
echo "opal zero-shot benchmark in $out" >&2

t0=$(date +%s)
for m in $TRAIN_MODELS; do
  [[ -e "$out/train-$m.done" ]] && continue
  "$opal" -q tune "$models/$m/model.onnx" --trials "$TRAIN_TRIALS" --store "$train" >"$out/train-$m.txt"
  touch "$out/train-$m.done"
done
echo "training data: $(( $(date +%s) - t0 )) s of tuning" >&2
excl=(); for m in $TEST_MODELS; do excl+=(--exclude-model "$models/$m/model.onnx"); done
[[ -e "$out/model.json" ]] ||
  "$opal" costmodel train --store "$train" -o "$out/model.json" "${excl[@]}" | tee "$out/costmodel.txt"

: >"$out/tasks.tsv"
touch "$out/times.tsv"
for m in $TEST_MODELS; do
  "$opal" tasks --json "$models/$m/model.onnx" | /usr/bin/python3 -c '
import json, sys
tasks = sorted(json.load(sys.stdin)["tasks"], key=lambda t: -t["share"])[:int(sys.argv[2])]
for t in tasks: print(sys.argv[1], t["key"], json.dumps(t["workload"], separators=(",", ":")), sep="\t")
' "$m" "$MAX_TEST_TASKS" >>"$out/tasks.tsv"
done

while IFS=$'\t' read -r m key wl <&3; do
  for mode in zeroshot tuned random guided; do
    grep -q "^$m	$key	$mode	" "$out/times.tsv" && continue
    store="sqlite:$out/$mode-$key.db"
    rm -f "$out/$mode-$key.db"*
    start=$(date +%s.%N)
    case $mode in
      zeroshot) "$opal" -q tune --workload "$wl" --zero-shot --cost-model "$out/model.json" --measure "$K" \
                  --samples "$SAMPLES" --store "$store" >/dev/null ;;
      tuned)    "$opal" -q tune --workload "$wl" --trials "$TUNE_TRIALS" --store "$store" >/dev/null ;;
      random)   "$opal" -q tune --workload "$wl" --trials "$TUNE_TRIALS" --strategy random --store "$store" >/dev/null ;;
      guided)   "$opal" -q tune --workload "$wl" --trials "$TUNE_TRIALS" --cost-model "$out/model.json" \
                  --retrain-every 16 --store "$store" >/dev/null ;;
    esac
    end=$(date +%s.%N)
    echo -e "$m\t$key\t$mode\t$(awk "BEGIN{print $end - $start}")" >>"$out/times.tsv"
    "$opal" db export --store "$store" 2>/dev/null >"$out/$mode-$key.jsonl"
  done
  # Re-time the four winners side by side: each search's own best trial is biased by clock drift
  # (the searches ran minutes apart) and by the number of trials (the best of many noisy timings).
  [[ -s "$out/remeasure-$key.json" ]] ||
    "$opal" measure --workload "$wl" --store "sqlite:$out/tuned-$key.db" --store "sqlite:$out/zeroshot-$key.db" \
      --store "sqlite:$out/random-$key.db" --store "sqlite:$out/guided-$key.db" --default --rounds "$ROUNDS" \
      --json >"$out/remeasure-$key.json"
done 3<"$out/tasks.tsv"
cat "$out"/tuned-*.jsonl >"$out/heldout.jsonl"
rm -f "$out/heldout.db"

"$opal" db import --store "sqlite:$out/heldout.db" "$out/heldout.jsonl" >/dev/null
"$opal" costmodel eval "$out/model.json" --store "sqlite:$out/heldout.db" --json >"$out/eval.json"
/usr/bin/python3 "$root/bench/zeroshot/report.py" "$out" | tee "$out/report.txt"
