#!/usr/bin/env bash
# Runs opal's tests: installs the Debian packages they need, builds, runs the test tiers.
#   ./test.sh           fast tier (what CI runs)
#   ./test.sh --slow    slow tier too (soak, fuzz corpus, long tuning)
#   ./test.sh -R REGEX  only tests whose name matches
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${OPAL_BUILD_DIR:-$root/build}"
labels="fast"
ctest_args=()
while (($#)); do
  case "$1" in
    --slow) labels="fast|slow" ;;
    -R) ctest_args+=(-R "$2"); shift ;;
    *) echo "usage: ./test.sh [--slow] [-R REGEX]" >&2; exit 2 ;;
  esac
  shift
done

"$root/scripts/ensure-built.sh" all
cd "$build"
ctest -L "$labels" --output-on-failure -j2 --timeout 900 "${ctest_args[@]}"
