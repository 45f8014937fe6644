# Helpers for the tests that run deadlined as a service (sourced after
# lib.sh): a notify listener standing in for systemd, the daemon in the
# background, and bounded waits on what it says in STATUS= and its log.
# Every process started here is stopped by its PID on the way out.
PY=/usr/bin/python3
PIDS=""          # helpers (servers, listeners) to stop at exit
DPID=""          # the daemon, while running
DRC=""           # its exit status, once stopped
LOGMARK=0        # lines of $TMP/d.err before the current step

stop_pids() {
	for _p in $DPID $PIDS; do
		kill "$_p" 2>/dev/null
		wait "$_p" 2>/dev/null
	done
	DPID=""
	PIDS=""
}
# KEEP_TMP=1 keeps $TMP (logs, databases, what the servers got) to look at.
trap 'stop_pids; [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"' EXIT
trap 'exit 1' HUP INT TERM
# libcurl honours proxy variables; these tests talk to 127.0.0.1 only.
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY smtp_proxy SMTP_PROXY \
	smtps_proxy SMTPS_PROXY no_proxy NO_PROXY

# wait_until SECONDS COMMAND...: until COMMAND succeeds, checked every
# 0.1 s, for at most SECONDS (times TIME_SCALE under valgrind).
wait_until() {
	_limit=$(($1 * 10 * TIME_SCALE))
	shift
	_i=0
	while ! "$@" 2>/dev/null; do
		[ "$_i" -ge "$_limit" ] && return 1
		sleep 0.1
		_i=$((_i + 1))
	done
	return 0
}

# start_listener: systemd's notification socket, logged to $TMP/notify.log
# ("<seconds> <datagram>" a line); it exits by itself after a while.
start_listener() {
	$PY tests/helpers/notify_listener.py "$TMP/notify" "$TMP/notify.log" \
		--seconds $((300 * TIME_SCALE)) &
	PIDS="$PIDS $!"
	wait_until 5 test -S "$TMP/notify" || { bad "notify listener did not start"; return 1; }
}

# start_daemon [NAME=VALUE...]: deadlined -c $CONF in the background, as
# systemd would run it (NOTIFY_SOCKET, a watchdog), with the environment
# given; waits for READY=1.  Its stderr is appended to $TMP/d.err.
WATCHDOG_SEC=${WATCHDOG_SEC:-3}
start_daemon() {
	: > "$TMP/notify.log"
	mark_log
	env NOTIFY_SOCKET="$TMP/notify" WATCHDOG_USEC=$((WATCHDOG_SEC * TIME_SCALE * 1000000)) \
		"$@" $DEADLINED -c "$CONF" 2>>"$TMP/d.err" &
	DPID=$!
	DRC=""
	# STATUS= follows READY=1 at once, but not at once under valgrind.
	if ! wait_until 20 grep -q 'STATUS=' "$TMP/notify.log" ||
	   ! grep -q 'READY=1' "$TMP/notify.log"; then
		bad "deadlined did not become ready: $(tail -n 5 "$TMP/d.err")"
		return 1
	fi
}

# stop_daemon: SIGTERM, then its exit status in $DRC.
stop_daemon() {
	[ -n "$DPID" ] || return 0
	kill -TERM "$DPID" 2>/dev/null
	wait_until 20 eval '! kill -0 "$DPID"' || kill -KILL "$DPID" 2>/dev/null
	wait "$DPID"
	DRC=$?
	DPID=""
}

alive() { [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; }

# alive_check WHAT: a check that the daemon is still running.
alive_check() {
	if alive; then ok; else bad "deadlined died $1: $(tail -n 5 "$TMP/d.err")"; fi
}

# The last STATUS= the daemon sent.
last_status() { grep 'STATUS=' "$TMP/notify.log" | tail -n 1 | cut -d' ' -f2-; }
status_has() { last_status | grep -q -- "$1"; }
status_lacks() { ! last_status | grep -q -- "$1"; }

# wait_status PATTERN [SECONDS] / wait_status_clear PATTERN [SECONDS]
wait_status() { wait_until "${2:-10}" status_has "$1"; }
wait_status_clear() { wait_until "${2:-10}" status_lacks "$1"; }

# check_status WHAT PATTERN [SECONDS]: a check that STATUS comes to say PATTERN.
check_status() {
	if wait_status "$2" "${3:-10}"; then ok; else bad "$1: STATUS is '$(last_status)'"; fi
}

# check_status_clear WHAT PATTERN [SECONDS]: ... and that it stops saying it.
check_status_clear() {
	if wait_status_clear "$2" "${3:-10}"; then ok; else bad "$1: STATUS is '$(last_status)'"; fi
}

# The daemon's log since the last mark_log.
mark_log() { LOGMARK=$(cat "$TMP/d.err" 2>/dev/null | wc -l); }
log_since() { tail -n +$((LOGMARK + 1)) "$TMP/d.err" 2>/dev/null; }
log_has() { log_since | grep -q -- "$1"; }

# check_log WHAT PATTERN [SECONDS]: a check that the log comes to say PATTERN.
check_log() {
	if wait_until "${3:-10}" log_has "$2"; then ok; else bad "$1: log lacks '$2': $(log_since | tail -n 5)"; fi
}

# polls_done: the number of polls the daemon finished (from its log).
polls_done() { grep -c 'info: poll: ' "$TMP/d.err" 2>/dev/null; }

# wait_polls N [SECONDS]: until N more polls than now have finished.
wait_polls() {
	_want=$(($(polls_done) + $1))
	wait_until "${2:-10}" eval '[ "$(polls_done)" -ge "$_want" ]'
}

# q DB SQL: one query with a busy timeout (the daemon may be writing).
q() { sqlite3 -cmd '.timeout 5000' "$1" "$2"; }

# watchdog_check: no two WATCHDOG=1 pings further apart than systemd's
# WatchdogSec allows (the daemon pings at half of it).
watchdog_check() {
	if $PY - "$TMP/notify.log" "$((WATCHDOG_SEC * TIME_SCALE))" <<'PY'
import sys
lines = [l.split(None, 1) for l in open(sys.argv[1])]
ready = [float(t) for t, what in lines if what.startswith("READY=1")]
pings = [float(t) for t, what in lines if what.startswith("WATCHDOG=1")]
end = max((float(t) for t, _ in lines), default=0)
# From READY=1 on, through the last thing it said.
t = ready[:1] + pings + [end]
gaps = [b - a for a, b in zip(t, t[1:])]
if not ready or max(gaps) >= float(sys.argv[2]):
    print("watchdog pings:", len(pings), "largest gap:", max(gaps, default=None))
    sys.exit(1)
PY
	then ok; else bad "watchdog starved ($1)"; fi
}

# seed_cases DB [CASE]: the contract's tables in DB, with team T1, worker W1
# and one case (A1 unless named) whose referral of 2024-11-01 is long
# overdue: the worker, team manager and service manager are all told.
seed_cases() {
	sqlite3 "$1" < conf/schema/native.sql
	sqlite3 "$1" <<SQL
INSERT INTO deadlined_teams VALUES ('T1', 'Duty and Assessment Team', 'tm@council.example', 'sm@council.example');
INSERT INTO deadlined_workers VALUES ('W1', 'Sam Worker', 'sam@council.example', 'T1');
INSERT INTO deadlined_cases VALUES ('${2:-A1}', 'C${2:-A1}', '2015-05-05', 'T1', 'W1');
INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES ('${2:-A1}', 'referral', '2024-11-01');
SQL
}

# The usual receiver: a Maildir in $TMP/mail, carrying e-mail to the roles.
MAILDIR_RECEIVER="mail = { type = \"maildir\"; path = \"$TMP/mail\"; from = \"deadlined@test.invalid\"; };"

# service_conf RECEIVERS NOTIFY [MORE]: $CONF for the service, reading $DB
# (with $SOURCE_MORE's settings) and keeping $STATE, polling every second,
# with the referral rules (conf/rules linked into $TMP), the receivers and
# notify settings given, and MORE (top-level settings) at the end.
service_conf() {
	[ -e "$TMP/rules" ] || ln -s "$PWD/conf/rules" "$TMP/rules"
	cat > "$CONF" <<CONF
source = { database = "$DB"; ${SOURCE_MORE:-} };
state = { database = "$STATE"; };
service = { poll_interval = 1; };
rules = {
  @include "rules/referral.conf"
};
receivers = {
  $1
};
notify = { $2 };
${3:-}
CONF
}

# The number of messages in the Maildir.
mails() { ls "$MAIL" 2>/dev/null | wc -l | tr -d ' '; }
