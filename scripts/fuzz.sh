#!/usr/bin/env bash
# Fuzzes one of opal's input readers with libFuzzer (clang-14, ASan + UBSan) for SECONDS
# (default 600), or until RUNS executions when given.
#   scripts/fuzz.sh [onnx|record|plan] [SECONDS] [RUNS]
#     onnx    the ONNX importer (seeds: the ONNX backend node-test models, shared models < 2 MB)
#     record  `opal db import` JSON lines (seeds: valid and damaged opal.record/1 lines)
#     plan    the planner's catalog, cluster, profile, Sailor-plan and model files (seeds: the
#             files in data/catalog, shared profiles, one per reader)
# Builds in build-fuzz/; new inputs go to build-fuzz/corpus-TARGET. Exit 0 when no crash was
# found; a crash leaves its input in build-fuzz/crash-* and exits non-zero.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then set -- onnx "$@"; fi  # the old form: scripts/fuzz.sh SECONDS
target="${1:-onnx}"
seconds="${2:-600}"
runs="${3:--1}"
build="$root/build-fuzz"
case "$target" in
  onnx) bin=onnx_import_fuzzer ;;
  record) bin=record_line_fuzzer ;;
  plan) bin=plan_input_fuzzer ;;
  *) echo "usage: scripts/fuzz.sh [onnx|record|plan] [SECONDS] [RUNS]" >&2; exit 2 ;;
esac
"$root/scripts/install-deps.sh"
if [[ ! -f "$build/build.ninja" ]]; then
  CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DOPAL_FUZZ=ON -DOPAL_BUILD_TESTS=OFF >/dev/null
fi
ninja -C "$build" "$bin" >"$build/build-$bin.log" 2>&1 || { tail -30 "$build/build-$bin.log"; exit 1; }

seeds="$build/seeds-$target"
[[ -d "$seeds" ]] || "$root/scripts/fuzz_seeds.sh" "$target" "$seeds"
corpus="$build/corpus-$target"
mkdir -p "$corpus"
cd "$build"
echo "opal: fuzzing $target for ${seconds}s ($(ls "$seeds" | wc -l) seeds)" >&2
set +e
"./bin/$bin" "$corpus" "$seeds" -max_total_time="$seconds" -runs="$runs" -timeout=20 -rss_limit_mb=6144 \
  -max_len=2000000 -print_final_stats=1 2>&1 | tee "$build/fuzz-$target.log" |
  grep -E "^#[0-9]+.*(pulse|DONE)|ERROR|SUMMARY|stat::number_of_executed_units"
rc=${PIPESTATUS[0]}
set -e
echo "opal: fuzzer exit code $rc (full log: $build/fuzz-$target.log)" >&2
exit "$rc"
