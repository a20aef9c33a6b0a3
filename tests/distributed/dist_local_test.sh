#!/usr/bin/env bash
# Distributed tuning on this machine, end to end with real workers and a real SQLite store:
# local launcher, resume, a worker killed with SIGKILL mid-task (its task is reclaimed after the
# lease expires, nothing written is lost, no config is measured twice), SIGTERM (the task is
# released without spending an attempt). Usage: dist_local_test.sh OPAL
set -euo pipefail
opal="$1"
tmp="$(mktemp -d)"; trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
py=/usr/bin/python3
"$py" "$(dirname "$0")/make_two_matmuls.py" "$tmp/m.onnx"
export OPAL_DEVICE_LOCK="$tmp/device.lock"
json_get() { "$py" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
records() { "$opal" db export --store "$1" 2>/dev/null | wc -l; }
distinct_configs() {
  "$opal" db export --store "$1" 2>/dev/null | "$py" -c \
    'import json,sys; print(len({(r["workload_key"], r["config"]) for r in map(json.loads, sys.stdin)}))'
}

echo "--- local launcher, then resume"
s1="sqlite:$tmp/local.db"
"$opal" -q tune "$tmp/m.onnx" --trials 6 --min-trials 3 --workers 2 --store "$s1" >"$tmp/out1" 2>&1 || { cat "$tmp/out1"; fail "local run"; }
"$opal" status --store "$s1" --json | json_get 'd["jobs"][0]["done"]' | grep -qx 2 || fail "not all tasks done"
n1=$(records "$s1")
[[ "$n1" -ge 6 ]] || fail "expected >= 6 trials, got $n1"
"$opal" -q tune "$tmp/m.onnx" --trials 6 --min-trials 3 --workers 2 --store "$s1" >"$tmp/out2" 2>&1 || { cat "$tmp/out2"; fail "resume run"; }
[[ "$(records "$s1")" == "$n1" ]] || fail "resubmitting a finished job measured again"
[[ "$("$opal" status --store "$s1" --json | json_get 'len(d["jobs"])')" == 1 ]] || fail "resubmission made a new job"

echo "--- a worker killed with SIGKILL"
s2="sqlite:$tmp/kill.db"
"$opal" -q tune "$tmp/m.onnx" --trials 8 --min-trials 4 --launcher none --store "$s2" | grep -q "opal' 'worker'\|opal worker\|'worker'" || fail "--launcher none prints the worker command"
"$opal" -q worker --store "$s2" --lease 2 --worker-id victim >"$tmp/victim.log" 2>&1 &
victim=$!
for _ in $(seq 1 120); do
  [[ "$(records "$s2")" -ge 1 ]] && break
  sleep 0.25
done
[[ "$(records "$s2")" -ge 1 ]] || fail "the victim wrote no trial"
kill -9 "$victim"; wait "$victim" 2>/dev/null || true
"$opal" db export --store "$s2" 2>/dev/null >"$tmp/before.jsonl"
sleep 2.5  # the victim's lease expires
"$opal" -q worker --store "$s2" --exit-when-idle --lease 5 --worker-id rescuer >"$tmp/rescuer.log" 2>&1 || { cat "$tmp/rescuer.log"; fail "rescuer"; }
st=$("$opal" status --store "$s2" --json)
echo "$st" | json_get 'd["jobs"][0]["done"]' | grep -qx 2 || { echo "$st"; fail "tasks not all done after the rescue"; }
job=$(echo "$st" | json_get 'd["jobs"][0]["id"]')
"$opal" status "$job" --store "$s2" --json | "$py" -c '
import json, sys
tasks = json.load(sys.stdin)["jobs"][0]["task_list"]
reclaimed = [t for t in tasks if t["lost"] == 1]
assert reclaimed, "no task was reclaimed: %s" % tasks
assert "victim" in reclaimed[0]["last_error"], reclaimed[0]["last_error"]
assert all(t["attempts"] == 0 for t in tasks), "a lost worker spent an attempt: %s" % tasks
' || fail "reclaimed task lacks its lost-holder count or reason"
"$opal" db export --store "$s2" 2>/dev/null >"$tmp/after.jsonl"
"$py" -c '
import sys
before = set(open(sys.argv[1])); after = set(open(sys.argv[2]))
assert before <= after, "records written before the kill were lost"
' "$tmp/before.jsonl" "$tmp/after.jsonl" || fail "lost records"
[[ "$(distinct_configs "$s2")" == "$(records "$s2")" ]] || fail "a config was measured twice"

echo "--- SIGTERM releases the task"
s3="sqlite:$tmp/term.db"
"$opal" -q tune "$tmp/m.onnx" --trials 40 --min-trials 20 --launcher none --store "$s3" >/dev/null
"$opal" worker --store "$s3" --worker-id polite >"$tmp/polite.log" 2>&1 &
w=$!
for _ in $(seq 1 120); do
  [[ "$(records "$s3")" -ge 1 ]] && break
  sleep 0.25
done
kill -TERM "$w"
rc=0; wait "$w" || rc=$?
[[ $rc == 0 ]] || { cat "$tmp/polite.log"; fail "worker exit code $rc after SIGTERM"; }
grep -q "stopped" "$tmp/polite.log" || { cat "$tmp/polite.log"; fail "worker did not report stopping"; }
"$opal" status --store "$s3" --json | json_get 'd["jobs"][0]["running"]' | grep -qx 0 || fail "task still running after SIGTERM"
job=$("$opal" status --store "$s3" --json | json_get 'd["jobs"][0]["id"]')
"$opal" status "$job" --store "$s3" --json | json_get 'max(t["attempts"] for t in d["jobs"][0]["task_list"])' | grep -qx 0 \
  || fail "a released task spent an attempt"
echo "distributed (local): ok"
