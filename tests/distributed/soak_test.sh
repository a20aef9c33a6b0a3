#!/usr/bin/env bash
# Soak test with faults: real `opal tune --workers W` jobs while the test breaks things.
#   PostgreSQL phase: workers SIGKILLed and SIGSTOPped at random (a stopped worker loses its
#     lease and is continued later), the server restarted twice (`pg_ctl restart -m fast`, then
#     `pg_ctl stop -m immediate` and a start 5 s later).
#   SQLite phase: the store lives on a small tmpfs that a filler file fills up during the job,
#     then the filler is removed.
# Each job must end with exit 0 and every task done; checked against the test's own logs: the
# workers' debug lines of every trial the store acknowledged (OPAL_LOG=debug) must all be in the
# store, no task is completed twice, no (workload, config) is measured twice, no attempt is spent.
#   soak_test.sh OPAL [short|long]
#   short: 4 tasks, 3 workers, 3 kills, 1 stop (fast tier); long: 16 tasks, 6 workers, 24 kills,
#   4 stops (slow tier); both with the two server restarts and the full disk
set -euo pipefail
opal="$1"
mode="${2:-short}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
tmp="$(mktemp -d)"
pg="$tmp/pg"
mnt="$tmp/small-disk"
cleanup() {
  kill -9 $(jobs -p) 2>/dev/null || true
  mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
  "$root/scripts/pg-test-server.sh" stop "$pg" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f "$tmp/chaos.log" ]] && cat "$tmp/chaos.log" >&2; exit 1; }
py=/usr/bin/python3
# The faults come one every `period` seconds, then stop so the job can finish: kills, stops and
# the two restarts must all land while the job runs (the test fails if it ended first).
if [[ "$mode" == long ]]; then
  tasks=16 workers=6 trials=800 kills_wanted=24 stops=4 period=6
else
  tasks=4 workers=3 trials=80 kills_wanted=3 stops=1 period=4
fi
"$py" "$(dirname "$0")/make_matmul_chain.py" "$tmp/m.onnx" "$tasks"
export OPAL_DEVICE_LOCK="$tmp/device.lock" OPAL_LOG=debug
say() { echo "$(date +%T) $*" | tee -a "$tmp/chaos.log"; }
live_workers() { pgrep -P "$1" -r R,S,D || true; }

# Checks one finished job against the store and the workers' own lines in LOG.
check_job() {  # check_job STORE LOG
  local store="$1" log="$2"
  "$opal" db export --store "$store" >"$tmp/export.jsonl" 2>/dev/null || fail "export of $store"
  local job
  job=$("$opal" status --store "$store" --json | "$py" -c 'import json,sys; print(json.load(sys.stdin)["jobs"][0]["id"])')
  "$opal" status "$job" --store "$store" --json >"$tmp/status.json"
  "$py" - "$tmp/export.jsonl" "$log" "$tmp/status.json" <<'EOF' || fail "checks of $1"
import json, re, sys
export = [json.loads(l) for l in open(sys.argv[1])]
log = open(sys.argv[2], errors="replace").read()
job = json.load(open(sys.argv[3]))["jobs"][0]
assert job["done"] == job["tasks"], "not every task is done: %s" % {k: job[k] for k in ("tasks", "done", "failed", "pending", "running")}
assert all(t["attempts"] == 0 for t in job["task_list"]), "a fault spent an attempt: %s" % job["task_list"]
stored = set(re.findall(r"trial stored: ([0-9a-f]{64})", log))
uids = {r["uid"] for r in export}
missing = stored - uids
assert not missing, "%d trials acknowledged to a worker are not in the store" % len(missing)
done = re.findall(r"worker (\S+): task (\d+) done:", log)
per_task = {}
for w, t in done:
    per_task.setdefault(t, []).append(w)
twice = {t: ws for t, ws in per_task.items() if len(ws) > 1}
assert not twice, "tasks completed twice: %s" % twice
assert len(per_task) == job["tasks"], "%d tasks completed in the logs, %d in the job" % (len(per_task), job["tasks"])
keys = [(r["workload_key"], r["config"]) for r in export]
assert len(keys) == len(set(keys)), "a config was measured twice"
lost = sum(t["lost"] for t in job["task_list"])
print("  %d trials in the store, %d acknowledged in the logs (all present), %d tasks done once each, "
      "%d lost holders counted, 0 attempts spent" % (len(export), len(stored), len(per_task), lost))
EOF
}

echo "--- PostgreSQL: kills, stops and two server restarts during the job"
# Durable settings (fsync, synchronous_commit on): an acknowledged commit must survive the
# immediate stop below, which the test server's fast settings do not promise.
OPAL_PG_DURABLE=1 "$root/scripts/pg-test-server.sh" start "$pg" 2>/dev/null
store="$(cat "$pg/dsn")"
"$opal" tune "$tmp/m.onnx" --trials "$trials" --min-trials 8 --workers "$workers" --lease 2 --max-restarts 100 \
  --store "$store" >"$tmp/pg-tune.log" 2>&1 &
tune=$!
kills=0 stopped=0 restarts=0 round=0
while kill -0 "$tune" 2>/dev/null && ((kills < kills_wanted || stopped < stops || restarts < 2)); do
  sleep "$period"
  kill -0 "$tune" 2>/dev/null || break
  round=$((round + 1))
  mapfile -t live < <(live_workers "$tune")
  if ((round == 3 && restarts == 0)); then
    say "pg_ctl restart -m fast"; "$root/scripts/pg-test-server.sh" restart "$pg"; restarts=1; continue
  fi
  if ((round == 6 && restarts == 1)); then
    say "pg_ctl stop -m immediate"; "$root/scripts/pg-test-server.sh" crash "$pg"; sleep 5
    say "start"; "$root/scripts/pg-test-server.sh" resume "$pg"; restarts=2; continue
  fi
  ((${#live[@]})) || continue
  victim=${live[$((RANDOM % ${#live[@]}))]}
  if ((stopped < stops && (RANDOM % 4 == 0 || kills >= kills_wanted))); then
    say "SIGSTOP worker $victim (SIGCONT in 6 s, after its lease expired)"
    kill -STOP "$victim"; (sleep 6; kill -CONT "$victim" 2>/dev/null || true) &
    stopped=$((stopped + 1))
  elif ((kills < kills_wanted)); then
    say "SIGKILL worker $victim"; kill -9 "$victim" 2>/dev/null && kills=$((kills + 1))
  fi
done
say "faults over; letting the job finish"
rc=0; wait "$tune" || rc=$?
[[ $rc == 0 ]] || { tail -30 "$tmp/pg-tune.log"; fail "opal tune (PostgreSQL) exit code $rc"; }
((kills >= kills_wanted && stopped >= stops)) ||
  fail "the job ended after $kills kills and $stopped stops (wanted $kills_wanted and $stops): make it longer"
((restarts == 2)) || fail "the job ended before the two server restarts"
say "PostgreSQL job done: $kills kills, $stopped stops, $restarts server restarts"
grep -q "reconnected to the PostgreSQL store" "$tmp/pg-tune.log" || fail "no process saw the server restarts"
check_job "$store" "$tmp/pg-tune.log"

echo "--- SQLite: the store's disk fills up during the job"
mkdir -p "$mnt"
mount -t tmpfs -o size=64m tmpfs "$mnt" || fail "cannot mount a small tmpfs (needs root)"
lite="sqlite:$mnt/records.db"
"$opal" tune "$tmp/m.onnx" --trials "$trials" --min-trials 8 --workers "$workers" --lease 2 --store "$lite" \
  >"$tmp/lite-tune.log" 2>&1 &
tune=$!
until [[ "$("$opal" db export --store "$lite" 2>/dev/null | wc -l)" -ge 6 ]]; do
  kill -0 "$tune" 2>/dev/null || fail "the SQLite job ended before the disk filled"
  sleep 0.5
done
dd if=/dev/zero of="$mnt/filler" bs=1M 2>/dev/null || true  # until the disk is full
say "disk full ($(df --output=avail -k "$mnt" | tail -1 | tr -d ' ') KiB left)"
sleep 6
rm -f "$mnt/filler"
say "filler removed"
rc=0; wait "$tune" || rc=$?
[[ $rc == 0 ]] || { tail -30 "$tmp/lite-tune.log"; fail "opal tune (SQLite) exit code $rc after the disk filled"; }
grep -q "the disk holding the store .* is full" "$tmp/lite-tune.log" || fail "no write met the full disk"
check_job "$lite" "$tmp/lite-tune.log"
echo "soak ($mode): ok"
