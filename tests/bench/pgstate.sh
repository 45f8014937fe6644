#!/bin/sh
# pgstate.sh — the PostgreSQL state store's rows of make bench's table.
#   tests/bench/pgstate.sh BUILD WORKDIR CASES.DB CONF
# Starts a throwaway PostgreSQL 15 (tests/helpers/pg.sh) set up as a small
# production server would be, durable: fsync and synchronous_commit on (a
# committed outbox survives a power cut, as the SQLite store's does), 512
# MB of shared buffers, checkpoints spaced for a bulk load.  CONF (make
# bench's configuration) is copied beside itself (its rules are there) with
# a state group naming an empty database of it; bench_pgstate does the rest.
set -eu
BUILD=$1
W=$2
DB=$3
CONF=$4
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/tests/helpers/pg.sh"
trap 'pg_stop' EXIT INT TERM
PG_OPTS="-c fsync=on -c synchronous_commit=on -c shared_buffers=512MB -c work_mem=64MB \
-c maintenance_work_mem=256MB -c max_wal_size=8GB -c checkpoint_timeout=30min" \
	pg_start "$W/pg" > /dev/null
PG_DB=postgres pg_psql -c "CREATE DATABASE state" > /dev/null
PGCONF=$(dirname "$CONF")/pgstate.conf
sed -e '/^state = {/,/^};/d' "$CONF" > "$PGCONF"
echo "state = { driver = \"postgresql\"; conninfo = \"host=127.0.0.1 port=$PG_PORT dbname=state user=postgres\"; };" \
	>> "$PGCONF"
"$BUILD/bench/bench_pgstate" "$BUILD/deadlined" "$PGCONF" "$DB"
