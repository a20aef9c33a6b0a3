#!/usr/bin/env bash
# Workers that die are replaced: `opal tune --workers 2` on a real SQLite store, each of its two
# workers SIGKILLed once mid-task; the local launcher starts new ones and the command ends with
# every task done, exit 0, nothing written before the kills lost, no config measured twice and
# no attempt spent. Then a job whose workers keep dying: the launcher gives up after
# --max-restarts and `opal tune` exits non-zero naming what is left and how to resume; the same
# command again finishes it. Usage: dist_restart_test.sh OPAL
set -euo pipefail
opal="$1"
tmp="$(mktemp -d)"; trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
py=/usr/bin/python3
"$py" "$(dirname "$0")/make_two_matmuls.py" "$tmp/m.onnx"
export OPAL_DEVICE_LOCK="$tmp/device.lock"
records() { "$opal" db export --store "$1" 2>/dev/null | wc -l; }
workers_of() { pgrep -P "$1" -r R,S,D || true; }  # the launcher's live children: its workers
wait_for() {  # wait_for SECONDS COMMAND...: until the command succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do ((SECONDS < deadline)) || return 1; sleep 0.2; done
}

echo "--- each worker SIGKILLed once"
s1="sqlite:$tmp/kill.db"
"$opal" tune "$tmp/m.onnx" --trials 40 --min-trials 20 --workers 2 --lease 2 --store "$s1" >"$tmp/tune.out" 2>&1 &
tune=$!
has_records() { [[ "$(records "$s1")" -ge "$1" ]]; }
two_workers() { [[ "$(workers_of "$tune" | wc -l)" -eq 2 ]]; }
wait_for 60 has_records 2 || fail "no trial written"
wait_for 10 two_workers || fail "the launcher does not run 2 workers"
killed=()
for round in 1 2; do
  victim=$(workers_of "$tune" | head -1)
  for k in "${killed[@]}"; do [[ "$victim" != "$k" ]] || victim=$(workers_of "$tune" | tail -1); done
  kill -9 "$victim"
  killed+=("$victim")
  echo "killed worker $victim"
  n=$(records "$s1")
  wait_for 60 has_records $((n + 2)) || { cat "$tmp/tune.out"; fail "no progress after kill $round"; }
done
"$opal" db export --store "$s1" 2>/dev/null >"$tmp/before.jsonl"
rc=0; wait "$tune" || rc=$?
[[ $rc == 0 ]] || { cat "$tmp/tune.out"; fail "opal tune exit code $rc after its workers were killed"; }
grep -q "died (signal 9); starting a new worker" "$tmp/tune.out" || { cat "$tmp/tune.out"; fail "no restart reported"; }
[[ "${OPAL_TEST_VERBOSE:-0}" == 1 ]] && cat "$tmp/tune.out"
job=$("$opal" status --store "$s1" --json | "$py" -c 'import json,sys; print(json.load(sys.stdin)["jobs"][0]["id"])')
"$opal" status "$job" --store "$s1" --json | "$py" -c '
import json, sys
job = json.load(sys.stdin)["jobs"][0]
assert job["done"] == job["tasks"] == 2, job
tasks = job["task_list"]
assert all(t["attempts"] == 0 for t in tasks), tasks
' || fail "tasks not all done, or an attempt was spent by a killed worker"
"$opal" db export --store "$s1" 2>/dev/null >"$tmp/after.jsonl"
"$py" -c '
import json, sys
before = set(open(sys.argv[1])); after = list(open(sys.argv[2]))
assert before <= set(after), "records written before the kills were lost"
keys = [(r["workload_key"], r["config"]) for r in map(json.loads, after)]
assert len(keys) == len(set(keys)), "a config was measured twice"
' "$tmp/before.jsonl" "$tmp/after.jsonl" || fail "lost or repeated records"

echo "--- workers that keep dying: the launcher gives up, then the same command resumes"
s2="sqlite:$tmp/giveup.db"
cmd=("$opal" tune "$tmp/m.onnx" --trials 24 --min-trials 12 --workers 1 --lease 1 --max-restarts 1 --store "$s2")
"${cmd[@]}" >"$tmp/giveup.out" 2>&1 &
tune=$!
victim=0
for round in 1 2; do
  new_worker() { w=$(workers_of "$tune"); [[ -n "$w" && "$w" != "$victim" ]]; }
  wait_for 30 new_worker || { cat "$tmp/giveup.out"; fail "no worker to kill (round $round)"; }
  victim=$w
  sleep 1
  kill -9 "$victim"
done
rc=0; wait "$tune" || rc=$?
[[ $rc == 7 ]] || { cat "$tmp/giveup.out"; fail "expected exit 7 when the workers gave up, got $rc"; }
grep -q "tasks are left" "$tmp/giveup.out" && grep -q "run the same command again to resume" "$tmp/giveup.out" ||
  { cat "$tmp/giveup.out"; fail "the message does not say what is left and how to resume"; }
[[ "${OPAL_TEST_VERBOSE:-0}" == 1 ]] && cat "$tmp/giveup.out"
"${cmd[@]}" >"$tmp/resume.out" 2>&1 || { cat "$tmp/resume.out"; fail "resuming"; }
"$opal" status --store "$s2" --json | "$py" -c '
import json, sys
job = json.load(sys.stdin)["jobs"][0]
assert job["done"] == job["tasks"] == 2, job
' || fail "the resumed job did not finish"
echo "distributed (restarts): ok"
