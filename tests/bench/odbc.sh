#!/bin/sh
# odbc.sh — the ODBC rows of make bench's table.
#   tests/bench/odbc.sh BUILD WORKDIR CASES.DB CONF
# Starts a throwaway PostgreSQL 15 (tests/helpers/pg.sh), loads the cached
# data set into native-pg.sql's tables (tests/helpers/pg_load.sh), times
# psql copying the rows of the statement the ODBC source runs to
# /dev/null (the baseline: the server and the wire, nothing of ours), then
# bench_odbc reads the same through psqlODBC and evaluates every rule.
set -eu
BUILD=$1
W=$2
DB=$3
CONF=$4
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/tests/helpers/pg.sh"
. "$here/tests/helpers/pg_load.sh"
trap 'pg_stop' EXIT INT TERM
row() { printf '| %-34s | %14s | %-10s | %s\n' "$1" "$2" "$3" "$4"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now() { date +%s.%N; }

pg_start "$W/pg" > /dev/null
PG_DB=postgres pg_psql -c "CREATE DATABASE bench" > /dev/null
PG_DB=bench pg_psql -f "$here/conf/schema/native-pg.sql" > /dev/null 2>&1
t0=$(now)
pg_load_sqlite "$DB" bench deadlined_cases deadlined_events deadlined_teams deadlined_workers > /dev/null
t1=$(now)
row "loading into PostgreSQL (not ours)" "$(awk "BEGIN { printf \"%.0f s\", $t1 - $t0 }")" "" \
	"sqlite3 CSV | psql \\copy, indexes, ANALYZE"

# The statement daemon/source_odbc.c runs (SQL_WALK with PostgreSQL's
# COLLATE), every column of every row.
WALK='SELECT case_ref, k, a, b, c, d FROM (SELECT case_ref, 0 AS k, child_ref AS a, date_of_birth AS b, team_ref AS c, worker_ref AS d FROM deadlined_cases UNION ALL SELECT case_ref, 1, kind, occurred, event_ref, NULL FROM deadlined_events) w ORDER BY case_ref COLLATE "C"'
for i in 1 2 3; do
	t0=$(now)
	PG_DB=bench pg_psql -c "\\copy ($WALK) TO /dev/null"
	t1=$(now)
	awk "BEGIN { print $t1 - $t0 }"
done | median > "$W/baseline"
row "baseline: psql \\copy to /dev/null" "$(xargs printf '%.2f s' < "$W/baseline")" "" \
	"the same statement over TCP, median of 3"
"$BUILD/bench/bench_odbc" "$CONF" \
	"Driver=PostgreSQL ANSI;Server=127.0.0.1;Port=$PG_PORT;Database=bench;UID=postgres" \
	"$(cat "$W/baseline")"
