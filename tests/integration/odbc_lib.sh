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
