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
if [[ ! -d "$seeds" ]]; then
  mkdir -p "$seeds"
  case "$target" in
    onnx)
      for f in /usr/share/libonnx-testdata/data/node/*/model.onnx; do
        cp "$f" "$seeds/$(basename "$(dirname "$f")").onnx"
      done
      find "$root/../shared/models" -name model.onnx -size -2M \
        -exec sh -c 'cp "$1" "$2/shared_$(basename "$(dirname "$1")").onnx"' _ {} "$seeds" \;
      ;;
    record)
      # Valid lines (uid = SHA-256 of the canonical content), then damaged copies of them.
      /usr/bin/python3 - "$seeds" <<'EOF'
import hashlib, json, sys
def line(i, status="ok"):
    r = {"workload_key": "dense-%016x" % i, "workload": '{"op":"dense","m":%d}' % i, "op": "dense",
         "target_key": "cpu-x86_64-avx512-k", "target_coarse_key": "cpu-x86_64-avx512", "target": "cpu",
         "framework": "halide", "framework_version": "2", "config": '{"knobs":{"t":%d}}' % i,
         "status": status, "error": "" if status == "ok" else "boom", "times_s": [0.001 * i, 0.0012],
         "median_s": 0.0011, "gflops": 1.5, "timestamp_us": 1700000000000000 + i,
         "provenance": {"opal_version": "0.1", "compiler": "gcc", "halide_version": "14",
                        "llvm_version": "14", "host": "h", "worker_id": "w"}}
    text = json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    r["uid"] = hashlib.sha256(text.encode()).hexdigest()
    r["format"] = "opal.record/1"
    return json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
d = sys.argv[1]
open(d + "/valid.jsonl", "w").write("\n".join(line(i) for i in range(1, 4)) + "\n")
open(d + "/failed.jsonl", "w").write(line(7, "crash") + "\n")
open(d + "/edited.jsonl", "w").write(line(9).replace('"gflops":1.5', '"gflops":2.5') + "\n")
open(d + "/truncated.jsonl", "w").write(line(11)[:200] + "\n")
EOF
      ;;
    plan)
      i=0
      add() { printf "\\x$(printf %02x "$1")" >"$seeds/seed$i"; cat "$2" >>"$seeds/seed$i"; i=$((i + 1)); }
      add 0 "$root/data/catalog/gpus.json"
      for f in "$root"/data/catalog/clusters/*.json; do add 1 "$f"; done
      for f in $(find "$root/../shared" -name profile.json -size -512k 2>/dev/null | head -4); do add 2 "$f"; done
      for f in $(find "$root/../shared" -path '*sailor*' -name '*.json' -size -64k 2>/dev/null | head -4); do add 3 "$f"; done
      for f in "$root"/data/catalog/models/*.json; do add 4 "$f"; done
      ;;
  esac
fi
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
