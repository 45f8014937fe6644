# odbc_lib.sh — checks the ODBC source's fault tests share (sourced after
# service_lib.sh).  Their case database holds one case, A1, whose two
# obligations are open and were told in three messages; $C is deadlinectl,
# $STATE the state database, $CONF the daemon's configuration.

# nothing_changed WHAT: still three messages, A1's two obligations open.
nothing_changed() {
	_m=$(mails)
	_open=$(q "$STATE" "SELECT count(*) FROM obligations WHERE case_ref = 'A1' AND closed IS NULL")
	_res=$(q "$STATE" "SELECT count(*) FROM outbox WHERE kind = 'resolved'")
	if [ "$_m" = 3 ] && [ "$_open" = 2 ] && [ "$_res" = 0 ]; then ok; else
		bad "$1: $_m messages (want 3), $_open open (want 2), $_res resolved (want 0)"; fi
}

# unavailable WHAT PATTERN: the log says PATTERN in a line naming the case
# database unavailable, STATUS says so, deadlinectl status says so, and
# nothing changed.
unavailable() {
	check_log "$1: log" "err: poll failed: case database .*$2.* (case database unavailable since [0-9-]* [0-9:]*; next try in [0-9]* s)"
	check_status "$1: STATUS" "case database unavailable since"
	$C -c "$CONF" status > "$TMP/status.out" 2>&1
	grep -q "^case database      unavailable since [0-9-]* [0-9:]*: .*$2" "$TMP/status.out" && ok ||
		bad "$1: deadlinectl status: $(grep -i 'case database' "$TMP/status.out")"
	nothing_changed "$1"
	alive_check "$1"
}

# odbc_driver_or_end: psqlODBC must be registered; else a failed check, and
# the test ends.
odbc_driver_or_end() {
	odbcinst -q -d -n "PostgreSQL ANSI" > /dev/null 2>&1 && return 0
	bad "ODBC driver 'PostgreSQL ANSI' is not registered (scripts/deps.sh test: odbc-postgresql)"
	finish
	exit
}

# odbc_cases_server PASSWORD: a throwaway PostgreSQL 15 ($TMP/pg) with an
# empty database cases and the login deadlined (PASSWORD, also in
# $TMP/db-password), which must use it over TCP; the test ends if the
# server will not start.
odbc_cases_server() {
	pg_start "$TMP/pg" || { bad "PostgreSQL 15 would not start"; finish; exit; }
	printf '%s\n' "$1" > "$TMP/db-password"
	pg_psql -c "CREATE ROLE deadlined LOGIN PASSWORD '$1'" -c "CREATE DATABASE cases" > /dev/null
	sed -i '1i host all deadlined 127.0.0.1/32 scram-sha-256' "$PG_DIR/data/pg_hba.conf"
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" reload > /dev/null
}

# recovered WHAT: the log says readable again, STATUS clears, deadlinectl
# status says available, and nothing changed.
recovered() {
	check_log "$1: recovered" "case database readable again (unavailable since" 40
	check_status_clear "$1: STATUS clears" "unavailable" 10
	$C -c "$CONF" status 2>&1 | grep -q '^case database      available$' && ok ||
		bad "$1: deadlinectl status still says unavailable"
	nothing_changed "$1 (after)"
}
