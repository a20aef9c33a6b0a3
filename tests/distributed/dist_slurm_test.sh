#!/usr/bin/env bash
# The Slurm launcher end to end on a real single-node cluster (scripts/slurm-test-cluster.sh):
# `opal tune --launcher slurm --workers 2` submits an sbatch array of workers, follows it, and every
# task is done by a Slurm worker. Usage: dist_slurm_test.sh OPAL
set -euo pipefail
opal="$1"
root="$(cd "$(dirname "$0")/../.." && pwd)"
tmp="$(mktemp -d)"
cluster="$tmp/cluster"
trap '"$root/scripts/slurm-test-cluster.sh" stop "$cluster" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; tail -30 "$tmp"/opal-worker-*.out 2>/dev/null >&2 || true; exit 1; }
py=/usr/bin/python3
"$root/scripts/slurm-test-cluster.sh" start "$cluster"
source "$cluster/env"
"$py" "$(dirname "$0")/make_two_matmuls.py" "$tmp/m.onnx"
export OPAL_DEVICE_LOCK="$tmp/device.lock"
store="sqlite:$tmp/slurm.db"
"$opal" -q tune "$tmp/m.onnx" --trials 4 --min-trials 2 --workers 2 --launcher slurm --time-limit 00:10:00 \
  --slurm-log-dir "$tmp" --store "$store" >"$tmp/out" 2>&1 || { cat "$tmp/out"; fail "opal tune --launcher slurm"; }
st=$("$opal" status --store "$store" --json)
echo "$st" | "$py" -c '
import json, sys
d = json.load(sys.stdin)
job = d["jobs"][0]
assert job["done"] == job["tasks"] == 2, job
assert any(w["id"].startswith("slurm-") for w in d["workers"]), d["workers"]
' || { echo "$st"; fail "job not completed by Slurm workers"; }
ls "$tmp"/opal-worker-*_0.out >/dev/null || fail "no Slurm worker log"
echo "distributed (slurm): ok"
