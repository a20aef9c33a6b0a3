#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests, on loopback and a free port, in DIR.
#   scripts/pg-test-server.sh start DIR   -> initdb + start; writes the DSN to DIR/dsn
#   scripts/pg-test-server.sh stop DIR    -> stops it and removes DIR
# PostgreSQL refuses to run as root: as root the server runs as the `postgres` user.
set -euo pipefail
cmd="${1:?usage: pg-test-server.sh start|stop DIR}"
dir="${2:?usage: pg-test-server.sh start|stop DIR}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[[ -x "$bin/initdb" ]] || { echo "pg-test-server: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

as_owner=()
if [[ $(id -u) -eq 0 ]]; then
  as_owner=(runuser -u postgres --)
fi

# Tests run with fsync off (fast, disposable); OPAL_PG_DURABLE=1 keeps PostgreSQL's defaults
# (benchmarks use it so their figures hold for a real server).
fast_opts="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
[[ "${OPAL_PG_DURABLE:-0}" == 1 ]] && fast_opts=""

case "$cmd" in
  start)
    "$(dirname "$0")/pg-test-server.sh" stop "$dir" 2>/dev/null || true
    mkdir -p "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres "$dir"
    "${as_owner[@]}" "$bin/initdb" -D "$dir/data" -A trust -U opal --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-k $dir -p $port -h 127.0.0.1 $fast_opts -c max_connections=200" \
      start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    echo "$port" >"$dir/port"
    echo "postgresql://opal@127.0.0.1:$port/postgres" >"$dir/dsn"
    echo "pg-test-server: PostgreSQL on 127.0.0.1:$port (data in $dir)" >&2
    ;;
  stop)
    if [[ -f "$dir/data/postmaster.pid" ]]; then
      "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  restart)  # used by tests that check clients survive a server restart
    "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 restart \
      -o "-k $dir -p $(cat "$dir/port") -h 127.0.0.1 $fast_opts -c max_connections=200" \
      -l "$dir/server.log" >/dev/null
    ;;
  *) echo "usage: pg-test-server.sh start|stop|restart DIR" >&2; exit 2 ;;
esac
