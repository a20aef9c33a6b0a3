#!/usr/bin/env bash
# A database restart is routine: `opal tune --workers 2` on a real PostgreSQL server (a private
# one, scripts/pg-test-server.sh) that is restarted twice during the job -- `pg_ctl restart -m
# fast`, then `pg_ctl stop -m immediate` and a start 5 s later. The workers reconnect; the job
# ends with exit 0, every task done, no attempt spent, nothing written before the restarts lost
# and no config measured twice. Usage: dist_pg_restart_test.sh OPAL
set -euo pipefail
opal="$1"
root="$(cd "$(dirname "$0")/../.." && pwd)"
tmp="$(mktemp -d)"
pg="$tmp/pg"
trap 'kill -9 $(jobs -p) 2>/dev/null || true; "$root/scripts/pg-test-server.sh" stop "$pg" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; [[ -f "$tmp/tune.out" ]] && tail -40 "$tmp/tune.out" >&2; exit 1; }
py=/usr/bin/python3
# Durable settings: acknowledged commits must survive the immediate stop (see soak_test.sh).
OPAL_PG_DURABLE=1 "$root/scripts/pg-test-server.sh" start "$pg" 2>/dev/null
store="$(cat "$pg/dsn")"
"$py" "$(dirname "$0")/make_two_matmuls.py" "$tmp/m.onnx"
export OPAL_DEVICE_LOCK="$tmp/device.lock"
records() { "$opal" db export --store "$store" 2>/dev/null | wc -l; }
wait_records() {  # wait_records N: until the store holds N records (60 s at most)
  local deadline=$((SECONDS + 60))
  until [[ "$(records)" -ge "$1" ]]; do ((SECONDS < deadline)) || fail "stuck below $1 records"; sleep 0.3; done
}

"$opal" tune "$tmp/m.onnx" --trials 60 --min-trials 30 --workers 2 --store "$store" >"$tmp/tune.out" 2>&1 &
tune=$!
wait_records 4
echo "--- pg_ctl restart -m fast at $(records) records"
"$root/scripts/pg-test-server.sh" restart "$pg"
n=$(records); wait_records $((n + 4))
"$opal" db export --store "$store" 2>/dev/null >"$tmp/before.jsonl"
echo "--- pg_ctl stop -m immediate at $(records) records, start 5 s later"
"$root/scripts/pg-test-server.sh" crash "$pg"
sleep 5
"$root/scripts/pg-test-server.sh" resume "$pg"
rc=0; wait "$tune" || rc=$?
[[ $rc == 0 ]] || fail "opal tune exit code $rc across two server restarts"
job=$("$opal" status --store "$store" --json | "$py" -c 'import json,sys; print(json.load(sys.stdin)["jobs"][0]["id"])')
"$opal" status "$job" --store "$store" --json | "$py" -c '
import json, sys
job = json.load(sys.stdin)["jobs"][0]
assert job["done"] == job["tasks"] == 2, job
assert all(t["attempts"] == 0 for t in job["task_list"]), job["task_list"]
' || fail "tasks not all done, or a restart spent an attempt"
"$opal" db export --store "$store" 2>/dev/null >"$tmp/after.jsonl"
"$py" -c '
import json, sys
before = set(open(sys.argv[1])); after = list(open(sys.argv[2]))
assert before <= set(after), "records written before the restarts were lost"
keys = [(r["workload_key"], r["config"]) for r in map(json.loads, after)]
assert len(keys) == len(set(keys)), "a config was measured twice"
' "$tmp/before.jsonl" "$tmp/after.jsonl" || fail "lost or repeated records"
n=$(grep -c "reconnected to the PostgreSQL store" "$tmp/tune.out" || true)
[[ "$n" -ge 2 ]] || fail "the processes never reconnected: the restarts did not happen during the job"
echo "($n reconnections)"
echo "distributed (PostgreSQL restarts): ok"
