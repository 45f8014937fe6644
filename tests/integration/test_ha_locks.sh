# A leader frozen inside a transaction that holds row locks must not hold
# up the next leader.  The frozen leader is a real SIGSTOPped client: a psql
# session tagged as a daemon's state session ("deadlined HOLDER", pgconn.h)
# that takes the lease as HOLDER, as deadlined does, then, in an open
# transaction, locks every obligation (a poll's writes) and the lease row
# FOR SHARE (a fenced commit caught between its fence and its COMMIT), and
# is stopped.  To PostgreSQL that is exactly a frozen daemon: its TCP
# connection stays alive, so its locks would stay for as long as it is
# frozen.  Meanwhile the source changes: ten obligations are met (the next
# poll must update the locked rows) and ten new cases come due.  A real
# daemon, started as the standby, must:
#   - take the lease once it lapses, within lease + renewal of the frozen
#     holder's last renewal in database time (deadlined_lease_history), and
#     say that it ended the lapsed holder's session;
#   - poll and tell all ten new cases to their three recipients, bounded
#     (without the fix its take waits on the lease row and its polls on the
#     obligations' locks, for as long as the frozen client lives);
# and an ack made while the leader is frozen succeeds within a bound (an
# ack only inserts, so this holds with or without the fix).  Resumed, the
# frozen client's COMMIT fails: its session was ended.
#
# The pair logs in as an ordinary role made as docs/OPERATIONS.md section 14
# tells a DBA (LOGIN, owner of the state database, nothing else), and so
# does the frozen client in rounds 1 and 2.  Round 3 is the refusal: the
# frozen client logs in as another ordinary role (a member of the pair's,
# so it may use its tables) whose sessions the pair's role may not end.
# The standby must say so once, naming the holder and what to grant, keep
# trying, and take over once the frozen client resumes and commits.
. tests/integration/lib.sh
. tests/helpers/pg.sh
. tests/helpers/ha_lib.sh

DB=$TMP/cases.db
CONF=$TMP/d.conf
MAIL=$TMP/mail
LEASE=$((2 * TIME_SCALE))
RENEW=$(awk "BEGIN { print 0.5 * $TIME_SCALE }")
MARGIN=$(awk "BEGIN { print 0.3 * $TIME_SCALE }")

ha_pg_start
# The pair's role, as OPERATIONS section 14 makes it; dl_other, a second
# role with the pair's privileges, stands for a machine set up apart.
if pg_psql -c "CREATE ROLE dl_pair LOGIN" -c "CREATE DATABASE deadlined OWNER dl_pair" \
	-c "CREATE ROLE dl_other LOGIN IN ROLE dl_pair" > /dev/null; then ok
else bad "could not make the roles and the database"; fi
PG_DB=deadlined
ha_case_db "$DB"
# add_cases FROM TO: overdue referrals, each told to three recipients.
add_cases() { ha_add_cases "$DB" "$1" "$2"; }
ha_daemon_conf "$CONF" "$DB" "host=127.0.0.1 port=$PG_PORT user=dl_pair dbname=deadlined" \
	"$LEASE" "$RENEW" "$MARGIN" "$MAIL"
# told N: every one of N cases was told to all three and all was sent.
told() { ha_told "$1"; }
# wait_for MS CMD...: until CMD succeeds, at most MS ms; prints the ms taken.
wait_for() {
	_lim=$1; shift
	_t0=$(date +%s%N)
	while :; do
		_ms=$(( ($(date +%s%N) - _t0) / 1000000 ))
		if "$@"; then echo "$_ms"; return 0; fi
		[ "$_ms" -lt "$_lim" ] || { echo "$_ms"; return 1; }
		sleep 0.05
	done
}
held_by() { [ "$(ha_holder)" = "$1" ]; }

# A first daemon tells the first ten cases, then stops cleanly (resigns).
add_cases 0 10
$DEADLINED -c "$CONF" 2> "$TMP/A.err" &
A=$!
PIDS="$A"
wait_for $((20000 * TIME_SCALE)) told 11 > /dev/null && ok || bad "the first ten cases were not told: $(tail -n 5 "$TMP/A.err")"
kill -TERM $A
wait $A
PIDS=""

# frozen ROUND FENCE: one frozen leader (holder frozen-host:ROUND) locks
# every obligation, and with FENCE=1 the lease row FOR SHARE too, and is
# stopped; the ten cases told last are met and ten new ones come due
# (cases ROUND*10+1 .. ROUND*10+10); a fresh daemon, the standby, must take
# over and tell them.  The daemon that led before resigned cleanly.
# freeze ROUND FENCE ROLE: the frozen client, logged in as ROLE, takes the
# lease as frozen-host:ROUND, locks, and is stopped (F its pid, fd 3 its
# input); then the source changes for the round.
freeze() {
	_holder="frozen-host:$1"
	_met=$(( ($1 - 1) * 10 + 1 )); _new=$(($1 * 10 + 1)); _last=$(($1 * 10 + 10))
	rm -f "$TMP/f.in"; mkfifo "$TMP/f.in"
	PGAPPNAME="deadlined $_holder" "$PG_BIN/psql" -X -q -At -h "$PG_HOST" -p "$PG_PORT" \
		-U "$3" -d deadlined < "$TMP/f.in" > "$TMP/f.out" 2>&1 &
	F=$!
	PIDS="$F"
	exec 3> "$TMP/f.in"
	# The take deadlined runs, as the frozen holder; then its transaction.
	cat >&3 <<SQL
WITH took AS (UPDATE deadlined_lease SET holder = '$_holder', epoch = epoch + 1, acquired_at = now(),
	renewed_at = now(), expires_at = now() + interval '$LEASE seconds'
	WHERE name = 'deadlined' AND expires_at < now() RETURNING *)
INSERT INTO deadlined_lease_history (name, epoch, holder, acquired_at, renewed_at, expires_at)
	SELECT name, epoch, holder, acquired_at, renewed_at, expires_at FROM took;
BEGIN;
SELECT 'rows', count(*) FROM (SELECT 1 FROM obligations FOR UPDATE) x;
SELECT 'fence', count(*) FROM (SELECT 1 FROM deadlined_lease WHERE name = 'deadlined'
	AND $2 = 1 FOR SHARE) x;
SQL
	wait_for 10000 grep -q '^fence|' "$TMP/f.out" > /dev/null ||
		{ bad "the frozen client did not take its locks: $(cat "$TMP/f.out")"; return 1; }
	kill -STOP $F
	held_by "$_holder" && ok || bad "round $1: the frozen client does not hold the lease"
	frozen_at=$(date +%s%N)

	# The source changes: the locked rows must change, and new cases are due.
	i=$_met
	while [ $i -lt $_new ]; do
		echo "INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES ('A$i', 'referral_decision', '2024-11-02');"
		i=$((i + 1))
	done | sqlite3 -cmd '.timeout 20000' "$DB"
	add_cases $_new $_last
}

frozen() {
	freeze "$1" "$2" dl_pair || return 1

	# The standby (without the fifo: the frozen client must see its end).
	$DEADLINED -c "$CONF" 2> "$TMP/B$1.err" 3>&- &
	B=$!
	PIDS="$PIDS $B"

	# An ack while the leader is frozen.
	t0=$(date +%s%N)
	if $DEADLINECTL -c "$CONF" 3>&- ack A0 referral-decision --until 2099-12-31 \
		--reason 'checked' > "$TMP/ack.out" 2>&1; then
		ms=$(( ($(date +%s%N) - t0) / 1000000 ))
		[ $ms -lt $((3000 * TIME_SCALE)) ] && ok || bad "round $1: the ack took $ms ms"
		echo "round $1: ack while the leader is frozen: $ms ms"
	else
		bad "round $1: the ack while the leader is frozen failed: $(cat "$TMP/ack.out")"
	fi

	# Everything told within lease + renewal + a few polls of the freeze
	# (without the fix: never, while the frozen client lives).
	BOUND=$((8000 * TIME_SCALE))
	if wait_for $BOUND told $((_last + 1)) > /dev/null; then
		ok
		echo "round $1 (fence $2): all new cases told" \
			"$(( ($(date +%s%N) - frozen_at) / 1000000 )) ms after the freeze"
	else
		bad "round $1 (fence $2): with a leader frozen holding row locks, the new cases were
not all told within $BOUND ms of the freeze: $(pg_psql -At -c "SELECT status, count(*) FROM outbox GROUP BY 1");
$(grep -v 'poll: 0 cases' "$TMP/B$1.err" | tail -n 6)"
	fi
	[ "$(pg_psql -At -c "SELECT count(*) FROM obligations WHERE rule = 'referral-decision'
		AND substr(case_ref, 2)::int BETWEEN $_met AND $((_new - 1)) AND closed IS NOT NULL")" = 10 ] \
		&& ok || bad "round $1: the met obligations (rows the frozen leader locked) were not updated"
	grep -q "ended 1 session(s) of $_holder, whose lease lapsed" "$TMP/B$1.err" && ok ||
		bad "round $1: the new leader did not say it ended the lapsed holder's session"

	# Takeover in database time, from the history.
	took=$(pg_psql -At -c "SELECT (extract(epoch FROM n.acquired_at - h.renewed_at) * 1000)::int
		FROM deadlined_lease_history h JOIN deadlined_lease_history n
		ON n.name = h.name AND n.epoch = h.epoch + 1 WHERE h.holder = '$_holder'")
	echo "round $1: takeover from the frozen holder's last renewal: ${took:-none} ms (database time)"
	[ -n "$took" ] && [ "$took" -le $(awk "BEGIN { print ($LEASE + $RENEW) * 1000 }") ] && ok ||
		bad "round $1: takeover from the frozen holder took ${took:-no} ms (lease + renewal)"

	# Resumed, the frozen client's transaction cannot commit.
	kill -CONT $F
	echo "COMMIT;" >&3
	exec 3>&-
	wait $F
	grep -q "terminat\|server closed the connection\|connection to server was lost" "$TMP/f.out" \
		&& ok || bad "round $1: the frozen client's session was not ended: $(cat "$TMP/f.out")"
	kill -TERM $B
	wait $B
	PIDS=""
}
# refusals: how often PostgreSQL refused to end dl_other's session so far.
refusals() {
	grep -c 'must be a member of the role whose process is being terminated' \
		"$PG_DIR/server.log"
}
refused_often() { [ "$(refusals)" -ge 5 ]; }
# taken_from HOLDER: someone else holds the lease now.
taken_from() {
	[ "$(pg_psql -At -c "SELECT count(*) FROM deadlined_lease
		WHERE expires_at > now() AND holder <> '$1'" 2>/dev/null)" = 1 ]
}

# Round 3: the frozen client is dl_other's, so the standby may not end its
# session; it holds the lease row FOR SHARE, so no take can succeed until
# it resumes and commits.
refused() {
	freeze 3 1 dl_other || return 1
	$DEADLINED -c "$CONF" 2> "$TMP/B3.err" 3>&- &
	B=$!
	PIDS="$PIDS $B"
	# Five refused tries (each before a take try) after the lease lapsed.
	if wait_for $((10000 * TIME_SCALE)) refused_often > /dev/null; then
		ok
	else
		bad "round 3: PostgreSQL did not refuse five tries to end dl_other's session: $(tail -n 5 "$TMP/B3.err")"
	fi
	kill -0 $B 2>/dev/null && ok || bad "round 3: the standby died while refused: $(tail -n 5 "$TMP/B3.err")"
	taken_from "$_holder" && bad "round 3: the lease was taken while the frozen client held its row" || ok
	resumed_at=$(date +%s%N)
	kill -CONT $F
	echo "COMMIT;" >&3
	if wait_for $((3000 * TIME_SCALE)) taken_from "$_holder" > /dev/null; then
		ok
		echo "round 3 (refused): taken $(( ($(date +%s%N) - resumed_at) / 1000000 )) ms after the frozen client resumed and committed"
	else
		bad "round 3: the standby did not take over within $((3000 * TIME_SCALE)) ms of the frozen client's commit: $(tail -n 5 "$TMP/B3.err")"
	fi
	wait_for $((8000 * TIME_SCALE)) told $((_last + 1)) > /dev/null && ok ||
		bad "round 3: the new cases were not all told after the takeover"
	echo "round 3: PostgreSQL refused $(refusals) tries; the standby logged $(wc -l < "$TMP/B3.err") lines"
	# Said once, in one line naming what, whom and what to grant.
	n=$(grep -c "could not end a lapsed leader's sessions" "$TMP/B3.err")
	[ "$n" = 1 ] && ok || bad "round 3: the refusal was logged $n times, not once: $(head -n 20 "$TMP/B3.err")"
	line=$(grep "could not end a lapsed leader's sessions" "$TMP/B3.err")
	echo "round 3: $line"
	case $line in
	*"$_holder"*dl_other*"GRANT pg_signal_backend TO dl_pair"*) ok ;;
	*) bad "round 3: the refusal does not name the holder, its role and the grant: $line" ;;
	esac
	# Each failed take (its statement waits on the lease row) fails by the
	# server's statement timeout or by the daemon's deadline: each said
	# once, not at every try.
	n=$(grep -c "lease deadlined: PostgreSQL" "$TMP/B3.err")
	[ "$n" -le 2 ] && ok || bad "round 3: the failed takes were logged $n times: $(head -n 20 "$TMP/B3.err")"
	[ "$(wc -l < "$TMP/B3.err")" -le 20 ] && ok ||
		bad "round 3: the standby logged $(wc -l < "$TMP/B3.err") lines: $(head -n 30 "$TMP/B3.err")"
	exec 3>&-
	wait $F
	grep -q "terminat" "$TMP/f.out" && bad "round 3: dl_other's session was ended: $(cat "$TMP/f.out")" || ok
	kill -TERM $B
	wait $B && ok || bad "round 3: the standby did not stop cleanly: $(tail -n 5 "$TMP/B3.err")"
	PIDS=""
}
frozen 1 0       # its poll's row locks
frozen 2 1       # ... and the lease row, caught between its commit's fence and COMMIT
refused          # as round 2, but the frozen client's role may not be signalled
finish
