#!/usr/bin/env bash
# A throwaway local PostgreSQL for development and tests: 127.0.0.1:5433, trust auth,
# database omniroute_test. Usage: scripts/pg-dev.sh [start|stop|status|url]
set -euo pipefail

PORT=${OMNIROUTE_PG_PORT:-5433}
DATA=${OMNIROUTE_PG_DIR:-/tmp/omniroute-pg-dev}
DB=omniroute_test
URL="postgresql+asyncpg://postgres@127.0.0.1:$PORT/$DB"

pg_bin() {
    local dir
    dir=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
    if [[ -z "$dir" ]] && command -v pg_ctl >/dev/null; then
        dir=$(dirname "$(command -v pg_ctl)")
    fi
    if [[ -z "$dir" || ! -x "$dir/initdb" ]]; then
        echo "PostgreSQL server binaries not found; install them (Debian: apt-get install postgresql)" >&2
        exit 1
    fi
    echo "$dir"
}

# The server refuses to run as root, so root hands it to the postgres user.
as_pg() {
    if [[ $EUID -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

running() {
    [[ -f "$DATA/PG_VERSION" ]] && as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

start() {
    if [[ ! -f "$DATA/PG_VERSION" ]]; then
        mkdir -p "$DATA"
        chmod 700 "$DATA"
        [[ $EUID -eq 0 ]] && chown postgres:postgres "$DATA"
        as_pg "$BIN/initdb" -D "$DATA" -A trust -U postgres --no-sync >/dev/null
    fi
    if running; then
        echo "PostgreSQL already running on 127.0.0.1:$PORT (data $DATA)"
    else
        as_pg "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" \
            -o "-k /tmp -h 127.0.0.1 -p $PORT -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            -w start >/dev/null
        echo "PostgreSQL started on 127.0.0.1:$PORT (data $DATA, log $DATA/server.log)"
    fi
    local exists
    exists=$("$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$DB'")
    if [[ "$exists" != 1 ]]; then
        "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres "$DB"
        echo "created database $DB"
    fi
    echo "export OMNIROUTE_TEST_PG_URL=$URL"
}

stop() {
    if running; then
        as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
        echo "PostgreSQL stopped (data kept in $DATA)"
    else
        echo "PostgreSQL is not running"
    fi
}

BIN=$(pg_bin)
case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    status)
        if running; then echo "running on 127.0.0.1:$PORT ($URL)"; else echo "stopped"; exit 3; fi
        ;;
    url) echo "$URL" ;;
    *) echo "usage: $0 [start|stop|status|url]" >&2; exit 2 ;;
esac
