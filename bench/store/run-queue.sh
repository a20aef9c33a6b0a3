#!/usr/bin/env bash
# The task queue at fleet scale: 64 and 256 worker processes on one PostgreSQL server (its
# durable defaults, max_connections 1000: each worker holds 3 connections), one minute each.
#   bench/store/run-queue.sh [WORKERS...]    (default: 64 256; $QUEUE_SECONDS per run, default 60; $QUEUE_TASKS, default 200000)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${OPAL_BUILD_DIR:-$root/build}"
"$root/scripts/ensure-built.sh" queue_bench
pg="$(mktemp -d /tmp/opal-bench-pg.XXXXXX)"
trap '"$root/scripts/pg-test-server.sh" stop "$pg"' EXIT
OPAL_PG_DURABLE=1 OPAL_PG_MAX_CONNECTIONS=1000 "$root/scripts/pg-test-server.sh" start "$pg"
workers=("$@")
((${#workers[@]})) || workers=(64 256)
for n in "${workers[@]}"; do
  echo "--- $n workers"
  OPAL_BENCH_PG_DSN="$(cat "$pg/dsn")" "$build/bin/queue_bench" --workers "$n" --tasks "${QUEUE_TASKS:-200000}" --seconds "${QUEUE_SECONDS:-60}"
done
