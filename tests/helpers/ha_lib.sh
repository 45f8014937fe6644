# The set-up the tests of an active/standby pair share (sourced after lib.sh
# and pg.sh): the processes they start and end, the throwaway PostgreSQL,
# the case database and the daemons' configuration, and bounded waits for
# a leader.
#
# A pid is only ours while its process lives.  /bin/sh (dash) reaps a
# background child as soon as it ends, and its pid is then free: with
# pid_max 32768 and a test forking a psql, a date and a sleep every 50 ms
# (and the rest of a shared machine forking too), it comes round again
# within minutes.  So a process the test killed or stopped is retired
# (ha_retire): its pid file becomes NAME.gone and its pid leaves PIDS, and
# nothing signals or waits on it again; and the cleanup signals only pids
# that are still children of this shell (ha_ours), so that one the test
# forgot to retire cannot hit a stranger's process either.
PY=/usr/bin/python3
PIDS=""
# The signal the cleanup ends what is left with (test_lease: TERM).
HA_END_SIGNAL=KILL

# ha_ours PID: PID is a child of this shell still (ended or not yet
# reaped), not a pid the system has since given to another process.
ha_ours() {
	_st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	_st=${_st##*) }
	set -- $_st
	[ "$2" = "$$" ]
}

# ha_end SIGNAL: every process in PIDS still ours, resumed and signalled.
ha_end() {
	for _p in $PIDS; do
		ha_ours "$_p" || continue
		kill -CONT "$_p" 2>/dev/null
		kill -"$1" "$_p" 2>/dev/null
	done
}

ha_cleanup() {
	ha_end "$HA_END_SIGNAL"
	pg_stop
	rm -rf "$TMP"
}
trap ha_cleanup EXIT

# ha_pg_start: the throwaway PostgreSQL in $TMP/pg, or the test ends here.
ha_pg_start() {
	if ! pg_start "$TMP/pg"; then
		bad "PostgreSQL 15 would not start (see above)"
		finish
		exit 1
	fi
}

# ha_spawn NAME CMD...: CMD in the background, its stderr in $TMP/NAME.err,
# its pid in $TMP/NAME.pid and in PIDS.
ha_spawn() {
	_name=$1; shift
	"$@" 2>> "$TMP/$_name.err" &
	echo $! > "$TMP/$_name.pid"
	PIDS="$PIDS $!"
}
pid() { cat "$TMP/$1.pid"; }
# ha_retire NAME: a process the test killed or stopped is forgotten, pid
# file and all: its pid may be reused, by a later process of the test (a
# 100-round soak saw a daemon killed in round 58 "lead" again in round 92
# through a reused pid, and the test read the dead one's log) or by anything
# else on the machine, which the cleanup must not signal.
ha_retire() {
	_p=$(pid "$1")
	mv "$TMP/$1.pid" "$TMP/$1.gone"
	PIDS=$(for _q in $PIDS; do [ "$_q" = "$_p" ] || printf '%s ' "$_q"; done)
}

# ha_holder [LEASE_NAME]: who holds a lease now in database time, or "".
ha_holder() {
	pg_psql -At -c "SELECT holder FROM deadlined_lease WHERE expires_at > now()
		${1:+AND name = '$1'}" 2>/dev/null
}

# ha_wait_other PROBE NOT MS [ARG]: wait (bounded) until `PROBE [ARG]` prints
# something other than NOT (and not empty); prints it and the milliseconds
# waited ("none MS" and status 1 when MS ran out).  Polls every 50 ms.
ha_wait_other() {
	_t0=$(date +%s%N)
	while :; do
		_w=$("$1" ${4:+"$4"})
		_ms=$(( ($(date +%s%N) - _t0) / 1000000 ))
		if [ -n "$_w" ] && [ "$_w" != "$2" ]; then echo "$_w $_ms"; return 0; fi
		[ "$_ms" -lt "$3" ] || { echo "none $_ms"; return 1; }
		sleep 0.05
	done
}

# ---- real daemons (test_ha_pair, test_ha_locks) --------------------------

# ha_case_db DB: the case database with one team and one worker, and the
# rules beside it ($TMP/rules).
ha_case_db() {
	ln -s "$PWD/conf/rules" "$TMP/rules"
	sqlite3 "$1" < conf/schema/native.sql
	sqlite3 "$1" "INSERT INTO deadlined_teams VALUES ('T1', 'Duty', 'tm@council.example', 'sm@council.example');
		INSERT INTO deadlined_workers VALUES ('W1', 'Sam', 'sam@council.example', 'T1');"
}

# ha_add_cases DB FROM TO: overdue referrals, each a new case, told to the
# worker, the manager and (escalated) the service manager, all in one
# transaction (a poll sees all of them or none).  The daemons read DB
# meanwhile: wait up to 20 s for their locks.
ha_add_cases() {
	_i=$2
	{
		echo "BEGIN;"
		while [ "$_i" -le "$3" ]; do
			echo "INSERT INTO deadlined_cases VALUES ('A$_i', 'C$_i', '2015-05-05', 'T1', 'W1');
			      INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES ('A$_i', 'referral', '2024-11-01');"
			_i=$((_i + 1))
		done
		echo "COMMIT;"
	} | sqlite3 -bail -cmd '.timeout 20000' "$1"
}

# ha_daemon_conf CONF DB CONNINFO LEASE RENEW MARGIN MAILDIR: a pair
# member's configuration: the referral rules over DB, its state in
# PostgreSQL, a poll a second, mail to a Maildir.  daily_cap is high: the
# tests count what was sent across the pair themselves (a soak of more
# than 28 rounds would reach the default cap of 200, and the rest would
# wait, by design, for tomorrow).
ha_daemon_conf() {
	cat > "$1" <<CONF
source = { database = "$2"; };
state = { driver = "postgresql"; conninfo = "$3"; };
ha = { lease = $4; renew = $5; margin = $6; };
service = { poll_interval = 1; };
rules = {
  @include "rules/referral.conf"
};
receivers = { mail = { type = "maildir"; path = "$7"; from = "deadlined@test.invalid"; }; };
notify = { mail_receiver = "mail"; daily_cap = 100000; };
CONF
}

# ha_told N: every one of N cases was told to all three recipients, and
# all that was made was sent, at one moment of the store: one statement,
# one snapshot.  Two statements let a poll commit between them (its notes
# and its pending messages), and the test stopped the daemons with those
# messages unsent (test_ha_told.sh).
ha_told() {
	[ "$(pg_psql -At -c "SELECT (SELECT count(*) FROM outbox WHERE status <> 'sent') = 0
		AND (SELECT count(DISTINCT (case_ref, recipient)) FROM notified) = $(($1 * 3))" \
		2>/dev/null)" = t ]
}

# leader: the name of the daemon whose lease runs now (its holder is
# "HOST:PID", PID in a live NAME.pid), or "".
leader() {
	_h=$(ha_holder)
	for _f in "$TMP"/*.pid; do
		[ -e "$_f" ] && [ "${_h##*:}" = "$(cat "$_f")" ] && { basename "$_f" .pid; return; }
	done
}
# wait_leader NOT MS: a leader other than NOT within MS ms; "NAME MS" or "none MS".
wait_leader() { ha_wait_other leader "$1" "$2"; }
