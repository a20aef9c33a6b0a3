#!/usr/bin/env bash
# Insert rate and top-k latency of the SQLite and PostgreSQL stores at 1e4, 1e5, 1e6 records.
#   bench/store/run.sh [google-benchmark flags, e.g. --benchmark_filter=sqlite]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${OPAL_BUILD_DIR:-$root/build}"
"$root/scripts/ensure-built.sh" store_bench
pg="$(mktemp -d /tmp/opal-bench-pg.XXXXXX)"
trap '"$root/scripts/pg-test-server.sh" stop "$pg"' EXIT
OPAL_PG_DURABLE=1 "$root/scripts/pg-test-server.sh" start "$pg"
OPAL_BENCH_PG_DSN="$(cat "$pg/dsn")" "$build/bin/store_bench" "$@"
