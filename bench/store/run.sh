#!/usr/bin/env bash
# Insert rate, top-k latency, scan rate and size per record of the SQLite and PostgreSQL stores at
# 1e4, 1e5, ... records (default up to 1e6; --max 10000000 for 1e7 needs ~15 GB of disk).
#   bench/store/run.sh [--max N] [--backends sqlite,postgresql] [--queries Q] [--batch B] [--json FILE]
# $OPAL_BENCH_DIR (default: a temporary folder under /tmp) holds both databases while it runs;
# they are deleted at the end.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${OPAL_BUILD_DIR:-$root/build}"
"$root/scripts/ensure-built.sh" store_bench
work="$(mktemp -d "${OPAL_BENCH_DIR:-/tmp}/opal-bench.XXXXXX")"
chmod 755 "$work"
pg="$work/pg"
trap '"$root/scripts/pg-test-server.sh" stop "$pg"; rm -rf "$work"' EXIT
OPAL_PG_DURABLE=1 OPAL_PG_PARENT="$work" "$root/scripts/pg-test-server.sh" start "$pg"
OPAL_BENCH_PG_DSN="$(cat "$pg/dsn")" "$build/bin/store_bench" --keep "$work/sqlite" "$@"
