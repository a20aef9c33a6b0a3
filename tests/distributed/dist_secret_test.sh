#!/usr/bin/env bash
# DSN passwords are never printed: a PostgreSQL DSN carrying a password (the test server trusts
# loopback, so the password is simply not needed) goes through `opal tune` with local workers,
# `--launcher none`, `opal status`, `opal db` errors and an unreachable server; the password is
# in no output, no log and no worker's command line (workers get the DSN in $OPAL_STORE).
#   dist_secret_test.sh OPAL
set -euo pipefail
opal="$1"
root="$(cd "$(dirname "$0")/../.." && pwd)"
tmp="$(mktemp -d)"
pg="$tmp/pg"
trap 'kill -9 $(jobs -p) 2>/dev/null || true; "$root/scripts/pg-test-server.sh" stop "$pg" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
secret="Hunter2-s3cret"
"$root/scripts/pg-test-server.sh" start "$pg" 2>/dev/null
port=$(cat "$pg/port")
dsn="postgresql://opal:$secret@127.0.0.1:$port/postgres"
/usr/bin/python3 "$(dirname "$0")/make_two_matmuls.py" "$tmp/m.onnx"
export OPAL_DEVICE_LOCK="$tmp/device.lock"

"$opal" tune "$tmp/m.onnx" --trials 4 --min-trials 2 --launcher none --store "$dsn" >"$tmp/none.out" 2>&1 ||
  { cat "$tmp/none.out"; fail "--launcher none"; }
grep -q "opal:\*\*\*@127.0.0.1" "$tmp/none.out" || { cat "$tmp/none.out"; fail "the worker command lacks the redacted DSN"; }

"$opal" tune "$tmp/m.onnx" --trials 4 --min-trials 2 --workers 2 --store "$dsn" >"$tmp/tune.out" 2>&1 &
tune=$!
cmdlines=""
for _ in $(seq 1 100); do  # the workers' command lines while they run
  for w in $(pgrep -P "$tune" || true); do cmdlines+="$(tr '\0' ' ' <"/proc/$w/cmdline" 2>/dev/null || true)"$'\n'; done
  [[ -n "$cmdlines" ]] && break
  sleep 0.1
done
rc=0; wait "$tune" || rc=$?
[[ $rc == 0 ]] || { cat "$tmp/tune.out"; fail "opal tune with a password in the DSN: exit $rc"; }
[[ -n "$cmdlines" ]] || fail "never saw a worker's command line"
"$opal" status --store "$dsn" >"$tmp/status.out" 2>&1
"$opal" db stats --store "$dsn" >"$tmp/stats.out" 2>&1
"$opal" db stats --store "postgresql://opal:$secret@127.0.0.1:1/nowhere" >"$tmp/unreachable.out" 2>&1 && fail "port 1 answered"
"$opal" db best nosuch --store "${dsn%/*}/nosuchdb" >"$tmp/nodb.out" 2>&1 && fail "a missing database answered"
printf '%s' "$cmdlines" >"$tmp/cmdlines"
for f in none.out tune.out status.out stats.out unreachable.out nodb.out cmdlines; do
  if grep -q "$secret" "$tmp/$f"; then cat "$tmp/$f"; fail "the password appears in $f"; fi
done
grep -q "127.0.0.1:1" "$tmp/unreachable.out" || { cat "$tmp/unreachable.out"; fail "the error does not say which server"; }
echo "DSN secrecy: ok (checked $(cat "$tmp"/*.out "$tmp/cmdlines" | wc -l) lines)"
