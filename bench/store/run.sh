#!/usr/bin/env bash
# Insert rate, top-k latency, scan rate and size per record of the SQLite and PostgreSQL stores at
# 1e4, 1e5, ... records (default up to 1e6; --max 10000000 for 1e7 needs ~15 GB of disk and hours).
#   bench/store/run.sh [--max N] [--backends sqlite,postgresql] [--queries Q] [--json FILE]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${OPAL_BUILD_DIR:-$root/build}"
"$root/scripts/ensure-built.sh" store_bench
pg="$(mktemp -d /tmp/opal-bench-pg.XXXXXX)"
trap '"$root/scripts/pg-test-server.sh" stop "$pg"' EXIT
OPAL_PG_DURABLE=1 "$root/scripts/pg-test-server.sh" start "$pg"
OPAL_BENCH_PG_DSN="$(cat "$pg/dsn")" "$build/bin/store_bench" "$@"
