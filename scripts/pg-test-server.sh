#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests, on loopback and a free port, in DIR.
#   scripts/pg-test-server.sh start DIR   -> initdb + start; writes the DSN to DIR/dsn
#   scripts/pg-test-server.sh stop DIR    -> stops it and removes DIR
#   scripts/pg-test-server.sh restart DIR -> pg_ctl restart -m fast (clients must reconnect)
#   scripts/pg-test-server.sh crash DIR   -> pg_ctl stop -m immediate, data kept (as a power cut)
#   scripts/pg-test-server.sh resume DIR  -> starts the stopped server again on the same port
# OPAL_PG_MAX_CONNECTIONS (default 200) for benchmarks with hundreds of clients.
# OPAL_PG_PARENT (default /tmp): where a root-run server's own folder is made (benchmarks of
# 10^7 records put their gigabytes on a disk of their choosing).
# PostgreSQL refuses to run as root: as root the server runs as the `postgres` user, and its
# files (data, socket, log) live in a postgres-owned folder under /tmp named in DIR/server-dir,
# since DIR may sit in a checkout the postgres user cannot enter (a mktemp -d or a 0700 home).
set -euo pipefail
cmd="${1:?usage: pg-test-server.sh start|stop DIR}"
dir="$(realpath -m "${2:?usage: pg-test-server.sh start|stop DIR}")"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[[ -x "$bin/initdb" ]] || { echo "pg-test-server: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

as_owner=()
srv="$dir"  # where the server's own files live
if [[ $(id -u) -eq 0 ]]; then
  as_owner=(runuser -u postgres --)
  cd /  # runuser keeps the cwd, which postgres may not be allowed to enter
  if [[ "$cmd" != start ]]; then srv="$(cat "$dir/server-dir" 2>/dev/null || echo "$dir")"; fi
fi

# Tests run with fsync off (fast, disposable); OPAL_PG_DURABLE=1 keeps PostgreSQL's defaults
# (benchmarks use it so their figures hold for a real server).
fast_opts="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
[[ "${OPAL_PG_DURABLE:-0}" == 1 ]] && fast_opts=""
fast_opts="$fast_opts -c max_connections=${OPAL_PG_MAX_CONNECTIONS:-200}"
[[ -f "$dir/options" && "$cmd" != start ]] && fast_opts="$(cat "$dir/options")"  # as it was started

case "$cmd" in
  start)
    "$(dirname "$0")/pg-test-server.sh" stop "$dir" 2>/dev/null || true
    mkdir -p "$dir"
    if [[ $(id -u) -eq 0 ]]; then
      srv="$(mktemp -d "${OPAL_PG_PARENT:-/tmp}/opal-pg.XXXXXX")"
      chown postgres "$srv"
      echo "$srv" >"$dir/server-dir"
    fi
    "${as_owner[@]}" "$bin/initdb" -D "$srv/data" -A trust -U opal --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "${as_owner[@]}" "$bin/pg_ctl" -D "$srv/data" -l "$srv/server.log" -w -t 30 \
      -o "-k $srv -p $port -h 127.0.0.1 $fast_opts" \
      start >/dev/null || { cat "$srv/server.log" >&2; exit 1; }
    echo "$port" >"$dir/port"
    echo "$fast_opts" >"$dir/options"
    echo "postgresql://opal@127.0.0.1:$port/postgres" >"$dir/dsn"
    echo "pg-test-server: PostgreSQL on 127.0.0.1:$port (data in $srv)" >&2
    ;;
  stop)
    if [[ -f "$srv/data/postmaster.pid" ]]; then
      "${as_owner[@]}" "$bin/pg_ctl" -D "$srv/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    if [[ "$srv" != "$dir" ]]; then rm -rf "$srv"; fi
    ;;
  restart)  # used by tests that check clients survive a server restart
    "${as_owner[@]}" "$bin/pg_ctl" -D "$srv/data" -m fast -w -t 30 restart \
      -o "-k $srv -p $(cat "$dir/port") -h 127.0.0.1 $fast_opts" \
      -l "$srv/server.log" >/dev/null
    ;;
  crash)
    "${as_owner[@]}" "$bin/pg_ctl" -D "$srv/data" -m immediate -w -t 30 stop >/dev/null
    ;;
  resume)
    "${as_owner[@]}" "$bin/pg_ctl" -D "$srv/data" -l "$srv/server.log" -w -t 60 \
      -o "-k $srv -p $(cat "$dir/port") -h 127.0.0.1 $fast_opts" start >/dev/null ||
      { tail -20 "$srv/server.log" >&2; exit 1; }
    ;;
  *) echo "usage: pg-test-server.sh start|stop|restart|crash|resume DIR" >&2; exit 2 ;;
esac
