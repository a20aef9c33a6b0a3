#!/usr/bin/env bash
# Makes sure opal's Debian dependencies are installed and the build in build/ is up to date.
#   scripts/ensure-built.sh [TARGET...]     (default target: opal)
# Quiet when there is nothing to do; the build log goes to build/build.log.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${OPAL_BUILD_DIR:-$root/build}"

"$root/scripts/install-deps.sh"

if [[ ! -f "$build/build.ninja" ]]; then
  echo "opal: configuring the build in $build (first use)" >&2
  mkdir -p "$build"
  launcher=()
  # ccache, when installed, lets several build directories of one checkout share compiled objects.
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >"$build/configure.log" 2>&1 || {
    cat "$build/configure.log" >&2
    echo "opal: cmake configure failed (log: $build/configure.log)" >&2
    exit 1
  }
fi

targets=("$@")
((${#targets[@]})) || targets=(opal)
if ! ninja -C "$build" -n "${targets[@]}" 2>/dev/null | grep -q "no work to do"; then
  echo "opal: building ${targets[*]} (the first build takes a few minutes)" >&2
  if ! ninja -C "$build" "${targets[@]}" >"$build/build.log" 2>&1; then
    grep -E "error|FAILED" -A3 "$build/build.log" | head -60 >&2 || true
    echo "opal: build failed (full log: $build/build.log)" >&2
    exit 1
  fi
fi
