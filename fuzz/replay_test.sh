#!/usr/bin/env bash
# The fast tier's run of the fuzz targets without libFuzzer (TARGET_replay, fuzz/replay_main.cc):
# each replays its seeds (scripts/fuzz_seeds.sh) and the inputs fuzzing once found
# (fuzz/regressions/TARGET). Any crash, abort or hang fails the test.
#   fuzz/replay_test.sh ROOT ONNX_REPLAY RECORD_REPLAY PLAN_REPLAY
set -euo pipefail
root="$1"
declare -A bin=([onnx]="$2" [record]="$3" [plan]="$4")
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for t in onnx record plan; do
  "$root/scripts/fuzz_seeds.sh" "$t" "$tmp/seeds-$t"
  n=$(find "$tmp/seeds-$t" -type f | wc -l)
  if (( n == 0 )); then echo "fuzz replay: no seeds for $t" >&2; exit 1; fi
  echo "== $t: $n seeds, $(ls "$root/fuzz/regressions/$t" | wc -l) regressions"
  timeout 300 "${bin[$t]}" "$tmp/seeds-$t" "$root/fuzz/regressions/$t"
done
