# source.driver = "odbc" against real servers: PostgreSQL 15 (started
# here as nobody, tests/helpers/pg.sh) through psqlODBC, and SQLite files
# through SQLite's ODBC driver.  The same native and SSD data sets the
# SQLite tests use give the same `deadlinectl list --state all --format
# csv` as the SQLite file itself; the login is a role that may only SELECT
# the four views or tables, with its password in a file (or a systemd
# credential) that never shows in any output; a password in the main
# configuration is refused.
. tests/integration/lib.sh
. tests/helpers/pg.sh
. tests/helpers/pg_load.sh
C=$DEADLINECTL
PY=/usr/bin/python3
trap 'pg_stop; rm -rf "$TMP"' EXIT

for drv in "PostgreSQL ANSI" "SQLite3"; do
	if ! odbcinst -q -d -n "$drv" > /dev/null 2>&1; then
		bad "ODBC driver '$drv' is not registered (scripts/deps.sh test: odbc-postgresql, libsqliteodbc)"
		finish
		exit
	fi
done
pg_start "$TMP/pg" || { bad "PostgreSQL 15 would not start"; finish; exit; }

# The daemon's login: a password (with characters ODBC must quote), scram
# over TCP, SELECT on the four relations and nothing else.
PW='s3cret;pa}ss'
printf '%s\n' "$PW" > "$TMP/db-password"
pg_psql -c "CREATE ROLE deadlined LOGIN PASSWORD '$PW'" > /dev/null
sed -i '1i host all deadlined 127.0.0.1/32 scram-sha-256' "$PG_DIR/data/pg_hba.conf"
pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" reload > /dev/null
grant() { # DB RELATIONS...
	_db=$1
	shift
	PG_DB=$_db pg_psql -c "REVOKE ALL ON SCHEMA public FROM PUBLIC" \
		-c "GRANT USAGE ON SCHEMA public TO deadlined" \
		-c "GRANT SELECT ON $(echo "$@" | sed 's/ /, /g') TO deadlined" > /dev/null
}
FOUR="deadlined_cases deadlined_events deadlined_teams deadlined_workers"

# odbc_conf NAME CONNECTION [MORE]: $TMP/NAME.conf, the example
# configuration with its source replaced.
[ -e "$TMP/rules" ] || ln -s "$PWD/conf/rules" "$TMP/rules"
odbc_conf() {
	sed -e "/^source = {/,/^};/c\\
source = { driver = \"odbc\"; connection = \"$2\"; ${3:-} };" \
		-e "s#/var/lib/deadlined/state.db#$TMP/state.db#" conf/deadlined.conf > "$TMP/$1.conf"
}
PGCONN="Driver=PostgreSQL ANSI;Server=127.0.0.1;Port=$PG_PORT"
LOGIN="user = \"deadlined\"; credentials = \"$TMP/db-password\";"

# compare WHAT AS_OF SQLITE_FILE CONF...: list from the file, then through
# each configuration; every output the same, and not trivially small.
compare() {
	_what=$1 _asof=$2 _file=$3
	shift 3
	$C -c conf/deadlined.conf --db "$_file" list --state all --format csv --as-of "$_asof" \
		> "$TMP/want.csv" 2> "$TMP/want.err" || bad "$_what: the SQLite file: $(cat "$TMP/want.err")"
	_n=$(wc -l < "$TMP/want.csv")
	[ "$_n" -gt 20 ] && ok || bad "$_what: only $_n lines from the SQLite file"
	for _c in "$@"; do
		if $C -c "$TMP/$_c.conf" list --state all --format csv --as-of "$_asof" \
				> "$TMP/got.csv" 2> "$TMP/got.err" &&
		   cmp -s "$TMP/want.csv" "$TMP/got.csv"; then
			ok
		else
			bad "$_what through $_c: $(cat "$TMP/got.err"; diff "$TMP/want.csv" "$TMP/got.csv" | head -5)"
		fi
		cat "$TMP/got.err" >> "$TMP/all-output"
	done
}

# --- the native data set (tools/gen-demo.py), as tables --------------------
$PY tools/gen-demo.py --out "$TMP/native.db" --seed 11 --cases 400 --as-of 2025-06-01 > /dev/null ||
	bad "gen-demo.py failed"
PG_DB=postgres pg_psql -c "CREATE DATABASE native" > /dev/null
PG_DB=native pg_psql -f conf/schema/native-pg.sql > /dev/null 2>&1 || bad "native-pg.sql failed"
pg_load_sqlite "$TMP/native.db" native deadlined_cases deadlined_events deadlined_teams \
	deadlined_workers > /dev/null || bad "loading the native data into PostgreSQL"
grant native $FOUR
odbc_conf pg-native "$PGCONN;Database=native" "$LOGIN"
odbc_conf sqlite-native "Driver=SQLite3;Database=$TMP/native.db"
# fetch_rows 7: PostgreSQL is walked in ranges of 28 cases, so the ranges'
# edges (and the NULL and orphan rows past the last) are crossed.
odbc_conf pg-native-ranges "$PGCONN;Database=native" "$LOGIN fetch_rows = 7;"
# The same ranges on one connection, and by three readers.
odbc_conf pg-native-one "$PGCONN;Database=native" "$LOGIN fetch_rows = 7; read_ahead = 0;"
odbc_conf pg-native-three "$PGCONN;Database=native" "$LOGIN fetch_rows = 7; read_ahead = 3;"
compare "native data" 2025-06-01 "$TMP/native.db" pg-native sqlite-native pg-native-ranges \
	pg-native-one pg-native-three

# readers CONF: how many sessions imported a walk's snapshot in one list
# through CONF, as the server logged them (its log line prefix holds the
# backend's pid).
pg_psql -c "ALTER ROLE deadlined SET log_statement = 'all'" > /dev/null
readers() {
	_from=$(wc -l < "$PG_DIR/server.log")
	$C -c "$TMP/$1.conf" list --state all --format csv --as-of 2025-06-01 > /dev/null 2>&1
	tail -n +$((_from + 1)) "$PG_DIR/server.log" | grep "SET TRANSACTION SNAPSHOT '" |
		sed -n 's/.*\[\([0-9]*\)\].*/\1/p' | sort -u | wc -l | tr -d ' '
}
for _c in "pg-native-ranges 2" "pg-native-three 3" "pg-native-one 0"; do
	set -- $_c
	_n=$(readers "$1")
	[ "$_n" = "$2" ] && ok || bad "$1: $_n sessions read ranges ahead, want $2"
done
# A server that exports no snapshot (here: the function revoked; a
# standby of an old release): the walk goes on one connection, the same.
PG_DB=native pg_psql -c "REVOKE EXECUTE ON FUNCTION pg_export_snapshot() FROM PUBLIC" > /dev/null
_n=$(readers pg-native-ranges)
[ "$_n" = 0 ] && ok || bad "no snapshot to share: $_n sessions read ranges ahead, want 0"
compare "native data, no snapshot to share" 2025-06-01 "$TMP/native.db" pg-native-ranges
PG_DB=native pg_psql -c "GRANT EXECUTE ON FUNCTION pg_export_snapshot() TO PUBLIC" > /dev/null
pg_psql -c "ALTER ROLE deadlined RESET log_statement" > /dev/null

# --- the SSD data set (tests/helpers/gen_ssd.py), as views ----------------
$PY tests/helpers/gen_ssd.py "$TMP/ssd" --seed 7 --filler 200 || bad "gen_ssd.py failed"
$C import-ssd "$TMP/ssd" --db "$TMP/ssd.db" > /dev/null || bad "import-ssd failed"
pg_load_sqlite "$TMP/ssd.db" ssd > /dev/null || bad "loading the SSD tables into PostgreSQL"
PG_DB=ssd pg_psql -f conf/schema/ssd-views-pg.sql > "$TMP/views.log" 2>&1 ||
	bad "ssd-views-pg.sql: $(grep -v NOTICE "$TMP/views.log")"
grant ssd $FOUR
odbc_conf pg-ssd "$PGCONN;Database=ssd" "$LOGIN"
odbc_conf sqlite-ssd "Driver=SQLite3;Database=$TMP/ssd.db"
odbc_conf pg-ssd-ranges "$PGCONN;Database=ssd" "$LOGIN fetch_rows = 7;"
compare "SSD views" 2024-06-28 "$TMP/ssd.db" pg-ssd sqlite-ssd pg-ssd-ranges

# The role reads the views, not what they are built on.
out=$(PGPASSWORD=$PW "$PG_BIN/psql" -X -h 127.0.0.1 -p "$PG_PORT" -U deadlined -d ssd -tAc \
	"SELECT count(*) FROM ssd_person" 2>&1) && bad "deadlined read ssd_person: $out" ||
	{ printf '%s' "$out" | grep -q 'permission denied' && ok || bad "ssd_person: $out"; }

# The session is read-only even for a login that could write (the
# superuser, here): test_source_odbc's PostgreSQL part.
DL_TEST_ODBC_PG="$PGCONN;Database=native;UID=postgres" $BUILD/tests/test_source_odbc \
	> "$TMP/ro.log" 2>&1 && grep -q 'PASSED  \] 1 test' "$TMP/ro.log" && ok ||
	bad "read-only session: $(tail -n 8 "$TMP/ro.log")"

# --- credentials ------------------------------------------------------------
# A systemd credential by name (LoadCredential=db-password:...).
odbc_conf cred "$PGCONN;Database=native" 'user = "deadlined"; credentials = "db-password";'
$C -c conf/deadlined.conf --db "$TMP/native.db" list --state all --format csv --as-of 2025-06-01 \
	> "$TMP/want-native.csv"
CREDENTIALS_DIRECTORY=$TMP $C -c "$TMP/cred.conf" list --state all --format csv \
	--as-of 2025-06-01 2>> "$TMP/all-output" | cmp -s - "$TMP/want-native.csv" && ok ||
	bad "credentials from \$CREDENTIALS_DIRECTORY"
# A wrong password: one clear line, runtime failure (1), no password.
printf 'not-it\n' > "$TMP/wrong-password"
odbc_conf wrong "$PGCONN;Database=native" "user = \"deadlined\"; credentials = \"$TMP/wrong-password\";"
expect 1 '' 'password authentication failed for user "deadlined"' -- \
	$C -c "$TMP/wrong.conf" list --as-of 2025-06-01
printf '%s\n' "$err" >> "$TMP/all-output"
# No password file: said so.
odbc_conf nofile "$PGCONN;Database=native" "user = \"deadlined\"; credentials = \"$TMP/none\";"
expect 1 '' "source.credentials: $TMP/none: No such file or directory" -- \
	$C -c "$TMP/nofile.conf" list --as-of 2025-06-01
# A password in the main configuration is refused, as is a source named
# twice or not at all.
odbc_conf inline "$PGCONN;Database=native;UID=deadlined;PWD=$PW"
expect 78 '' 'source.connection: holds a password; put it in a file named by source.credentials' -- \
	$DEADLINED -n -c "$TMP/inline.conf"
odbc_conf both "$PGCONN" 'dsn = "cases";'
expect 78 '' 'needs one of dsn (a data source of odbc.ini) or connection (a connection string), not both' -- \
	$DEADLINED -n -c "$TMP/both.conf"
# Nothing printed anywhere held the password.
grep -qF "$PW" "$TMP/all-output" "$TMP"/*.err && bad "the password was printed" || ok
grep -qF 's3cret' "$TMP/all-output" "$TMP"/*.err && bad "part of the password was printed" || ok

# --- a data source of odbc.ini ----------------------------------------------
cat > "$TMP/odbc.ini" <<INI
[cases]
Driver = PostgreSQL ANSI
Servername = 127.0.0.1
Port = $PG_PORT
Database = native
INI
sed -e "/^source = {/,/^};/c\\
source = { driver = \"odbc\"; dsn = \"cases\"; $LOGIN };" \
	-e "s#/var/lib/deadlined/state.db#$TMP/state.db#" conf/deadlined.conf > "$TMP/dsn.conf"
ODBCINI=$TMP/odbc.ini $C -c "$TMP/dsn.conf" list --state all --format csv --as-of 2025-06-01 \
	2> "$TMP/dsn.err" | cmp -s - "$TMP/want-native.csv" && ok || bad "DSN: $(cat "$TMP/dsn.err")"
finish
