#!/usr/bin/env bash
# The include check (scripts/check_includes.py) passes on the tree as it is and fails, naming
# each file, on planted violations: a tool and a benchmark reaching a store-private header, a
# module including the internal header of a module it does not depend on, and a module including
# another's private header.
#   tests/include_check_test.sh MODULES_JSON
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
modules="$1"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for d in src tools bench tests fuzz; do cp -r "$root/$d" "$tmp/$d"; done
check() { /usr/bin/python3 "$root/scripts/check_includes.py" "$modules" --root "$tmp"; }

check || { echo "FAIL: the unmodified tree has violations"; exit 1; }

echo '#include "store/sql_session.h"' >"$tmp/tools/opal/planted_tool.cc"
echo '#include "lower/lowering.h"' >"$tmp/src/workloads/planted_layer.cc"
echo '#include "store/record_writer.h"' >"$tmp/src/tune/planted_private.cc"
echo '#include "store/sql_session.h"' >"$tmp/bench/store/planted_bench.cc"
set +e
out="$(check 2>&1)"
rc=$?
set -e
echo "$out"
[[ $rc -eq 1 ]] || { echo "FAIL: expected exit 1 with planted violations, got $rc"; exit 1; }
for f in tools/opal/planted_tool.cc src/workloads/planted_layer.cc src/tune/planted_private.cc \
         bench/store/planted_bench.cc; do
  grep -q "$f:1:" <<<"$out" || { echo "FAIL: $f not reported"; exit 1; }
done
echo "PASS: clean tree accepted, 4 planted violations reported"
