# Helpers for the tests of the lease with contenders (tests/tools/dl-lease)
# in the background (sourced after lib.sh and pg.sh; it sources ha_lib.sh):
# who holds the lease now, bounded waits, the leader of the moment
# disturbed.  Set CI (the conninfo) before start; WORKER_CONF makes each
# contender an outbox worker.
. tests/helpers/ha_lib.sh
HA_END_SIGNAL=TERM
DL_LEASE=$BUILD/tools/dl-lease
LEASE=1500
RENEW=400
MARGIN=200
J=$TMP/journal
# Takeovers must come within the lease plus a renewal interval, plus what
# the test's own polling and a loaded machine add.
LIMIT=$((LEASE + RENEW + 1500))

# start NAME [CONNINFO [LEASE_NAME [JOURNAL]]]: a contender in the background.
start() {
	ha_spawn "$1" "$DL_LEASE" "${2:-$CI}" "${3:-t}" "$1" $LEASE $RENEW $MARGIN "${4:-$J}" \
		${WORKER_CONF:+"$WORKER_CONF"}
}

# holder [LEASE_NAME]: who holds the lease now in database time, or "".
holder() { ha_holder "${1:-t}"; }

# wait_holder NOT MS [LEASE_NAME]: wait (bounded) for a holder other than
# NOT (and not empty); prints it and the milliseconds waited.
wait_holder() { ha_wait_other holder "$1" "$2" "$3"; }

# gone PID MS: wait (bounded) for a process of ours to end (a pid no longer
# ours has ended: waiting on it would wait on a stranger).
gone() {
	_i=0
	while ha_ours "$1" && kill -0 "$1" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -le $(($2 / 50)) ] || return 1
		sleep 0.05
	done
	wait "$1" 2>/dev/null
	return 0
}

# stop_all: SIGTERM every contender and wait (bounded) for each.
stop_all() {
	ha_end TERM
	for p in $PIDS; do gone "$p" 3000; done
	PIDS=""
}

# sanitizer_reports: a report of AddressSanitizer, UBSan or LeakSanitizer in
# any process's log ($TMP/*.err) is a failed check: with a standby ready to
# take over, a crash would otherwise pass unseen.
sanitizer_reports() {
	if grep -l "Sanitizer\|runtime error:" "$TMP"/*.err > "$TMP/san.list" 2>/dev/null; then
		bad "sanitizer reports in $(cat "$TMP/san.list"): $(grep -h -A5 "Sanitizer\|runtime error:" "$TMP"/*.err | head -20)"
	else
		ok
	fi
}

# lease_history LEASE_NAME FILE: the lease's history, for lease_check.py
# (database time, ms; renewed_at "-" when unknown).
lease_history() {
	pg_psql -At -F ' ' -c "SELECT epoch, holder, extract(epoch FROM acquired_at) * 1000,
		extract(epoch FROM expires_at) * 1000,
		coalesce((extract(epoch FROM renewed_at) * 1000)::text, '-'), resigned
		FROM deadlined_lease_history WHERE name = '$1'" > "$2"
}
# now_ms: this machine's clock, which the test's PostgreSQL shares (ms).
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# disrupt ROUND: disturb the leader of the moment four ways, checking that
# another takes over in time each time, and replace those that ended:
#   SIGSTOP past the lease then SIGCONT (it must step down), its connections
#   ended by pg_terminate_backend (it must reconnect), kill -9, SIGTERM
#   (a standby must lead within 1 s).
disrupt() {
	_round=$1
	# SIGSTOP past the lease, then SIGCONT.
	L=$(holder)
	before=$(grep -c "no longer leader" "$TMP/$L.err")
	kill -STOP "$(pid "$L")"
	set -- $(wait_holder "$L" $LIMIT)
	if [ "$1" = none ]; then bad "round $_round: $L stopped, nobody took over in $2 ms"
	else ok; fi
	sleep $(( (LEASE + 500) / 1000 ))
	kill -CONT "$(pid "$L")"
	i=0
	while [ "$(grep -c "no longer leader" "$TMP/$L.err")" -le "$before" ] && [ $i -lt 60 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	if [ "$(grep -c "no longer leader" "$TMP/$L.err")" -gt "$before" ]; then ok
	else bad "round $_round: $L, resumed after its lease, did not step down"; fi

	# pg_terminate_backend of the leader's connection: it comes back.
	L=$(holder)
	pg_psql -At -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = '$L'" > /dev/null
	i=0
	while [ $i -lt 60 ] && [ -z "$(pg_psql -At -c "SELECT 1 FROM pg_stat_activity
			WHERE application_name = '$L'")" ]; do
		sleep 0.05; i=$((i + 1))
	done
	if [ $i -lt 60 ]; then ok; else bad "round $_round: $L did not reconnect in 3 s"; fi
	set -- $(wait_holder "" $LIMIT)
	if [ "$1" = none ]; then bad "round $_round: no leader after pg_terminate_backend"
	else ok; fi

	# kill -9: the lease runs out, another takes over.
	L=$(holder)
	kill -KILL "$(pid "$L")"
	ha_retire "$L"
	set -- $(wait_holder "$L" $LIMIT)
	if [ "$1" = none ]; then bad "round $_round: $L killed, nobody took over in $2 ms"
	else ok; echo "round $_round: kill -9 of $L, $1 leads after $2 ms"; fi
	start D$_round

	# A clean SIGTERM resigns; a standby takes over at once.
	L=$(holder)
	kill -TERM "$(pid "$L")"
	set -- $(wait_holder "$L" 1000)
	if [ "$1" = none ]; then bad "round $_round: $L stopped cleanly, nobody took over in 1 s"
	else ok; fi
	gone "$(pid "$L")" 3000 || bad "round $_round: $L did not exit on SIGTERM"
	ha_retire "$L"
	start E$_round
}
