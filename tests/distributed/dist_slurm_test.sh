#!/usr/bin/env bash
# The Slurm launcher end to end on a real single-node cluster (scripts/slurm-test-cluster.sh):
# `opal tune --launcher slurm --workers 2` submits an sbatch array of workers, follows it, and every
# task is done by a Slurm worker; a worker SIGKILLed mid-job is replaced by a resubmitted array
# element and the job still ends with every task done. Usage: dist_slurm_test.sh OPAL
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

echo "--- a Slurm worker SIGKILLed: its array element is submitted again"
store2="sqlite:$tmp/slurm-kill.db"
rm -f "$tmp"/opal-worker-*.out
"$opal" tune "$tmp/m.onnx" --trials 40 --min-trials 20 --workers 2 --lease 2 --launcher slurm \
  --time-limit 00:10:00 --slurm-log-dir "$tmp" --store "$store2" >"$tmp/out2" 2>&1 &
tune=$!
victim=""
for _ in $(seq 1 240); do  # a worker that has written a trial names its pid in its log
  if [[ "$("$opal" db export --store "$store2" 2>/dev/null | wc -l)" -ge 1 ]]; then
    victim=$(sed -n 's/.*worker slurm-[0-9-]* (pid \([0-9]*\)).*/\1/p' "$tmp"/opal-worker-*.out 2>/dev/null | head -1)
    [[ -n "$victim" ]] && break
  fi
  sleep 0.25
done
[[ -n "$victim" ]] || { cat "$tmp/out2"; fail "no Slurm worker to kill"; }
kill -9 "$victim"
rc=0; wait "$tune" || rc=$?
[[ $rc == 0 ]] || { cat "$tmp/out2"; fail "opal tune --launcher slurm exit code $rc after a worker was killed"; }
grep -q "Slurm workers are gone with .* tasks left; submitting 1 again" "$tmp/out2" ||
  { cat "$tmp/out2"; fail "the lost array element was not submitted again"; }
"$opal" status --store "$store2" --json | "$py" -c '
import json, sys
job = json.load(sys.stdin)["jobs"][0]
assert job["done"] == job["tasks"] == 2, job
' || fail "job not completed after the resubmission"
echo "distributed (slurm): ok"
