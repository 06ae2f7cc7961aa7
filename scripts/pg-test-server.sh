#!/usr/bin/env bash
# Prints the URL of a running PostgreSQL for tests: $TRAWL_TEST_PG_URL if set, else a throwaway
# local cluster in .pgtest/ (started once, reused after). `stop` stops that cluster.
# Usage: pg-test-server.sh [--install] [--socket] | stop. Exit 3 (nothing printed) when no
# PostgreSQL exists; --install (or CI=1) lets root apt-get install it first. --socket prints a URL
# through the server's Unix socket instead of TCP (what benchmarks use: see docs/configuration.md).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="$ROOT/.pgtest"
DATA="$DIR/data"
SOCK="$DIR/sock"
DB=trawl_test
FIRST_PORT="${TRAWL_TEST_PG_PORT:-54329}"
log() { echo "pg-test-server: $*" >&2; }

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

# PostgreSQL refuses to run as root: run its tools as the `postgres` system user then.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if [ "${1:-}" = stop ]; then
  BIN="$(find_bin)"
  if [ -n "$BIN" ] && [ -f "$DATA/postmaster.pid" ]; then
    as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >&2 || true
  fi
  exit 0
fi

if [ -n "${TRAWL_TEST_PG_URL:-}" ]; then
  echo "$TRAWL_TEST_PG_URL"
  exit 0
fi

BIN="$(find_bin)"
if [ -z "$BIN" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && { [ -n "${CI:-}" ] || [[ " $* " == *" --install "* ]]; }; then
    log "installing postgresql with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq postgresql >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq postgresql >/dev/null 2>&1; } || true
    BIN="$(find_bin)"
  fi
  [ -n "$BIN" ] || exit 3
fi

mkdir -p "$DIR"
# The cluster belongs to the postgres user, who must reach it through the repository.
[ "$(id -u)" = 0 ] && chown postgres: "$DIR"
# Two test runners starting at once must not both initdb or start the cluster.
exec 9>"$DIR/.lock"
flock 9

if [ ! -f "$DATA/PG_VERSION" ]; then
  log "creating a throwaway cluster in $DATA"
  as_pg "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
fi
as_pg mkdir -p "$SOCK"

if as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  PORT="$(sed -n 4p "$DATA/postmaster.pid")"
else
  PORT="$FIRST_PORT"
  while port_in_use "$PORT"; do PORT=$((PORT + 1)); done
  # Sized as a production server would be (docs/configuration.md, "PostgreSQL"): a quarter of
  # the memory for shared_buffers, so that benchmarks at 10M notifications measure PostgreSQL as
  # deployed rather than through its 128 MB default. Memory is only used as touched.
  MEM_MB=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 ))
  BUFFERS_MB=$(( MEM_MB / 4 ))
  [ "$BUFFERS_MB" -ge 128 ] || BUFFERS_MB=128
  log "starting PostgreSQL on 127.0.0.1:$PORT (shared_buffers ${BUFFERS_MB}MB)"
  # WAL as for a write-heavy server: a deletion of a million notifications touches most pages of
  # two tables, and with the default 1 GB a checkpoint came every few seconds, each followed by a
  # full image of every page touched again (docs/notes/benchmarks.md); lz4 shrinks those images.
  # fsync stays on: tests should see the same durability as production. The server must not
  # inherit the lock (fd 9), or it would hold it for its whole life.
  as_pg "$BIN/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 60 start \
    -o "-p $PORT -k $SOCK -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200 -c shared_buffers=${BUFFERS_MB}MB -c effective_cache_size=$(( MEM_MB / 2 ))MB -c max_wal_size=8GB -c wal_compression=lz4" >/dev/null 9>&-
fi

psql_pg() { as_pg "$BIN/psql" -h "$SOCK" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ "$(psql_pg -c "select 1 from pg_database where datname = '$DB'")" != 1 ]; then
  psql_pg -c "create database $DB" >/dev/null
fi
if [[ " $* " == *" --socket "* ]]; then
  echo "postgres://postgres@$(node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$SOCK"):$PORT/$DB"
else
  echo "postgres://postgres@127.0.0.1:$PORT/$DB"
fi
