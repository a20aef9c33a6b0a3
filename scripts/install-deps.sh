#!/usr/bin/env bash
# Installs the Debian packages opal needs. Idempotent: packages already present are skipped,
# and apt-get runs only when something is missing.
#   scripts/install-deps.sh    build + test dependencies (Slurm included: the launcher's test runs a
#                              single-node cluster; pybind11 and pytest for the Python package;
#                              Chromium and plotly.js (python3-plotly) for `opal report` and its test)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libhalide14-0-dev llvm-14-dev clang-14 lld-14 libclang-rt-14-dev
  libonnx-dev libprotobuf-dev protobuf-compiler libonnx-testdata
  libsqlite3-dev sqlite3 libpq-dev postgresql
  libxgboost-dev
  nlohmann-json3-dev libcli11-dev libfmt-dev libspdlog-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  libdnnl-dev libopenblas-dev
  python3-torch python3-onnx python3-numpy
  python3-dev pybind11-dev python3-pytest python3-torchvision
  chromium python3-plotly
  util-linux
  slurm-wlm munge slurm-client
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "opal: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "opal: installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
