#!/usr/bin/env bash
# Zero-shot benchmark (slow tier). Tunes the tasks of the training models, trains the cost model
# without the held-out models' workloads, then on every task of the held-out models compares
#   zero-shot (rank SAMPLES configs, measure K)  vs  full tuning (TUNE_TRIALS trials)
# and model-guided search vs random search (trials to reach 95% of the best found).
#   bench/zeroshot/run.sh [OUT_DIR]
# Budgets come from the environment (defaults in brackets): TRAIN_MODELS [resnet18 vgg11
# transformer_l2_d256], TEST_MODELS [mobilenet_v2 resnet50 gpt_tiny] (names under ../shared/models
# or paths to .onnx files), TRAIN_TRIALS per model [400], TUNE_TRIALS per task [64], K [8], SAMPLES
# [2000], MAX_TEST_TASKS per model [6], ROUNDS of the final side-by-side re-timing of each search's
# best config (with the template's default beside them) [9].
# TRAIN_STORE: train on this store's trials instead of tuning TRAIN_MODELS (a DSN, or "kb" for the
# starter knowledge base in data/kb imported into OUT_DIR/train.db). TEST_WORKLOADS: a file of
# further held-out workloads, one JSON object per line (e.g. memory-bound GEMVs). MODES [zeroshot
# tuned random guided]: the searches run per task. Every held-out task's workload is left out of
# the training rows, whichever store they come from.
# Resumable: run it again with the same OUT_DIR and it skips the steps already finished.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
"$root/scripts/ensure-built.sh" opal
opal="${OPAL_BUILD_DIR:-$root/build}/bin/opal"
models="$root/../shared/models"
out="${1:-$(mktemp -d /tmp/opal-zeroshot.XXXXXX)}"
mkdir -p "$out"
TRAIN_MODELS="${TRAIN_MODELS:-resnet18 vgg11 transformer_l2_d256}"
TEST_MODELS="${TEST_MODELS-mobilenet_v2 resnet50 gpt_tiny}"
TRAIN_TRIALS="${TRAIN_TRIALS:-400}"; TUNE_TRIALS="${TUNE_TRIALS:-64}"; K="${K:-8}"; SAMPLES="${SAMPLES:-2000}"
MAX_TEST_TASKS="${MAX_TEST_TASKS:-6}"; ROUNDS="${ROUNDS:-9}"; MODES="${MODES:-zeroshot tuned random guided}"
TRAIN_STORE="${TRAIN_STORE:-}"; TEST_WORKLOADS="${TEST_WORKLOADS:-}"
echo "opal zero-shot benchmark in $out" >&2
model_path() { [[ "$1" == *.onnx ]] && echo "$1" || echo "$models/$1/model.onnx"; }
model_name() { [[ "$1" == *.onnx ]] && basename "$(dirname "$1")" || echo "$1"; }

# The held-out tasks: the largest of each test model, then the listed workloads.
if [[ ! -s "$out/tasks.tsv" ]]; then
  : >"$out/tasks.tsv.part"
  for m in $TEST_MODELS; do
    "$opal" tasks --json "$(model_path "$m")" | /usr/bin/python3 -c '
import json, sys
tasks = sorted(json.load(sys.stdin)["tasks"], key=lambda t: -t["share"])[:int(sys.argv[2])]
for t in tasks: print(sys.argv[1], t["key"], json.dumps(t["workload"], separators=(",", ":")), sep="\t")
' "$(model_name "$m")" "$MAX_TEST_TASKS" >>"$out/tasks.tsv.part"
  done
  if [[ -n "$TEST_WORKLOADS" ]]; then
    "$opal" tasks --workloads "$TEST_WORKLOADS" --json | /usr/bin/python3 -c '
import json, sys
for t in json.load(sys.stdin)["tasks"]: print("list", t["key"], json.dumps(t["workload"], separators=(",", ":")), sep="\t")
' >>"$out/tasks.tsv.part"
  fi
  mv "$out/tasks.tsv.part" "$out/tasks.tsv"
fi
cut -f3 "$out/tasks.tsv" >"$out/heldout_workloads.jsonl"

t0=$(date +%s)
if [[ "$TRAIN_STORE" == kb ]]; then
  train="sqlite:$out/train.db"
  [[ -e "$out/train-kb.done" ]] || {
    rm -f "$out/train.db"*
    "$opal" db import --store "$train" "$root/data/kb/records.jsonl.gz" >&2
    touch "$out/train-kb.done"
  }
elif [[ -n "$TRAIN_STORE" ]]; then
  train="$TRAIN_STORE"
else
  train="sqlite:$out/train.db"
  for m in $TRAIN_MODELS; do
    [[ -e "$out/train-$m.done" ]] && continue
    "$opal" -q tune "$models/$m/model.onnx" --trials "$TRAIN_TRIALS" --store "$train" >"$out/train-$m.txt"
    touch "$out/train-$m.done"
  done
  echo "training data: $(( $(date +%s) - t0 )) s of tuning" >&2
fi
excl=(--exclude-workloads "$out/heldout_workloads.jsonl")
for m in $TEST_MODELS; do excl+=(--exclude-model "$(model_path "$m")"); done
[[ -e "$out/model.json" ]] ||
  "$opal" costmodel train --store "$train" -o "$out/model.json" "${excl[@]}" | tee "$out/costmodel.txt"

touch "$out/times.tsv"
while IFS=$'\t' read -r m key wl <&3; do
  for mode in $MODES; do
    grep -q "^$m	$key	$mode	" "$out/times.tsv" && continue
    store="sqlite:$out/$mode-$key.db"
    rm -f "$out/$mode-$key.db"*
    start=$(date +%s.%N)
    case $mode in
      zeroshot) "$opal" -q tune --workload "$wl" --zero-shot --cost-model "$out/model.json" --measure "$K" \
                  --samples "$SAMPLES" --store "$store" --json >"$out/zeroshot-$key.json" ;;
      tuned)    "$opal" -q tune --workload "$wl" --trials "$TUNE_TRIALS" --store "$store" >/dev/null ;;
      random)   "$opal" -q tune --workload "$wl" --trials "$TUNE_TRIALS" --strategy random --store "$store" >/dev/null ;;
      guided)   "$opal" -q tune --workload "$wl" --trials "$TUNE_TRIALS" --cost-model "$out/model.json" \
                  --retrain-every 16 --store "$store" >/dev/null ;;
    esac
    end=$(date +%s.%N)
    echo -e "$m\t$key\t$mode\t$(awk "BEGIN{print $end - $start}")" >>"$out/times.tsv"
    "$opal" db export --store "$store" 2>/dev/null >"$out/$mode-$key.jsonl"
  done
  # Re-time the winners side by side: each search's own best trial is biased by clock drift (the
  # searches ran minutes apart) and by the number of trials (the best of many noisy timings). The
  # zero-shot's winner is the config it chose (after its own side-by-side re-timing), passed as
  # --config (report.py reads the source "config 1" as the zero-shot's); the others' are their
  # stores' best records.
  if [[ ! -s "$out/remeasure-$key.json" ]]; then
    src=()
    for mode in $MODES; do
      if [[ $mode == zeroshot ]]; then
        src+=(--config "$(/usr/bin/python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["tasks"][0]["config"]))' "$out/zeroshot-$key.json")")
      else
        src+=(--store "sqlite:$out/$mode-$key.db")
      fi
    done
    "$opal" measure --workload "$wl" "${src[@]}" --default --rounds "$ROUNDS" --json >"$out/remeasure-$key.json"
  fi
done 3<"$out/tasks.tsv"
cat "$out"/tuned-*.jsonl >"$out/heldout.jsonl"
rm -f "$out/heldout.db"

"$opal" db import --store "sqlite:$out/heldout.db" "$out/heldout.jsonl" >/dev/null
"$opal" costmodel eval "$out/model.json" --store "sqlite:$out/heldout.db" --json >"$out/eval.json"
/usr/bin/python3 "$root/bench/zeroshot/report.py" "$out" | tee "$out/report.txt"
