#!/usr/bin/env bash
# Fuzzes the ONNX importer with libFuzzer (clang-14, ASan + UBSan) for SECONDS (default 600).
#   scripts/fuzz.sh [SECONDS]
# Builds in build-fuzz/; the seed corpus is the ONNX backend node-test models and the shared
# models under 2 MB; new inputs go to build-fuzz/corpus. Exit 0 when no crash was found; a crash
# leaves its input in build-fuzz/crash-* and exits non-zero.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-600}"
build="$root/build-fuzz"
"$root/scripts/install-deps.sh"
if [[ ! -f "$build/build.ninja" ]]; then
  CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DOPAL_FUZZ=ON -DOPAL_BUILD_TESTS=OFF >/dev/null
fi
ninja -C "$build" onnx_import_fuzzer >"$build/build.log" 2>&1 || { tail -30 "$build/build.log"; exit 1; }

seeds="$build/seeds"
if [[ ! -d "$seeds" ]]; then
  mkdir -p "$seeds"
  for f in /usr/share/libonnx-testdata/data/node/*/model.onnx; do
    cp "$f" "$seeds/$(basename "$(dirname "$f")").onnx"
  done
  find "$root/../shared/models" -name model.onnx -size -2M -exec sh -c 'cp "$1" "$2/shared_$(basename "$(dirname "$1")").onnx"' _ {} "$seeds" \;
fi
mkdir -p "$build/corpus"
cd "$build"
echo "opal: fuzzing the ONNX importer for ${seconds}s ($(ls "$seeds" | wc -l) seeds)" >&2
set +e
./bin/onnx_import_fuzzer corpus "$seeds" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=6144 \
  -max_len=2000000 -print_final_stats=1 2>&1 | tee "$build/fuzz.log" | grep -E "^#[0-9]+.*(pulse|DONE)|ERROR|SUMMARY|stat::" 
rc=${PIPESTATUS[0]}
set -e
echo "opal: fuzzer exit code $rc (full log: $build/fuzz.log)" >&2
exit "$rc"
