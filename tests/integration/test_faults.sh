# Faults of the case database, under the running service: missing (then
# created), locked by a writer for longer than source.busy_timeout_ms,
# truncated, corrupt, not a database, a relation missing a column (then
# each put right).  For each, the daemon keeps running and feeding the
# watchdog, says what is wrong in its log and in STATUS, closes no
# obligation because of it, and recovers by itself at its next poll.  Then
# a quick check that a broken config on reload leaves the old one working
# (test_service.sh has the rest of reloading).
. tests/integration/lib.sh
. tests/integration/service_lib.sh

DB=$TMP/cases.db
STATE=$TMP/state.db
CONF=$TMP/d.conf
MAIL=$TMP/mail/new
SOURCE_MORE='busy_timeout_ms = 300;'
service_conf "$MAILDIR_RECEIVER" 'mail_receiver = "mail";'

# The good case database, built aside and moved into place whole.
make_cases() {
	rm -f "$TMP/new.db"
	seed_cases "$TMP/new.db"
	cp "$TMP/new.db" "$TMP/good.db"
	mv "$TMP/new.db" "$DB"
}
gone() { q "$STATE" "SELECT count(*) FROM obligations WHERE state = 'gone'"; }
open_obligations() { q "$STATE" "SELECT count(*) FROM obligations WHERE closed IS NULL"; }

# fault WHAT STATUS_PATTERN: the daemon says STATUS_PATTERN in STATUS and in
# its log, keeps running and polling, and closes nothing meanwhile.
fault() {
	check_status "$1: STATUS" "poll failed: .*$2"
	check_log "$1: log" "err: poll failed: case database $DB: .*$2"
	# Two more failed polls, then still alive and nothing closed.
	_n=$(grep -c 'poll failed' "$TMP/d.err")
	wait_until 10 eval '[ "$(grep -c "poll failed" "$TMP/d.err")" -ge $((_n + 2)) ]' \
		&& ok || bad "$1: the daemon stopped polling"
	alive_check "during: $1"
	[ "$(gone)" = 0 ] && [ "$(open_obligations)" = "$OPEN" ] && ok \
		|| bad "$1: obligations closed by a fault: $(gone) gone, $(open_obligations) open"
}

# cleared WHAT: after the fault is put right, the next poll succeeds.
cleared() {
	mark_log
	check_log "$1 put right: a poll" "info: poll: [1-9][0-9]* cases"
	check_status_clear "$1 put right: STATUS" "poll failed"
	status_has "last poll [0-9][0-9]:" && ok || bad "$1: STATUS has no last poll: $(last_status)"
}

start_listener || { finish; exit 1; }

# ---- missing: the daemon starts, says so, and waits for the file ----
start_daemon || { finish; exit 1; }
status_has 'last poll never; poll failed: case database .*unable to open database file (No such file or directory)' \
	&& ok || bad "missing at start: STATUS '$(last_status)'"
grep -q "err: poll failed: case database $DB: unable to open database file (No such file or directory)" \
	"$TMP/d.err" && ok || bad "missing at start: log $(tail -n 3 "$TMP/d.err")"
[ ! -e "$DB" ] && ok || bad "the daemon created the case database"
wait_until 5 eval '[ "$(grep -c "poll failed" "$TMP/d.err")" -ge 3 ]' && ok || bad "no retries while missing"
alive_check "with the case database missing"
make_cases
cleared "missing"
# A1's referral: the decision and the assessment are overdue; the worker,
# the team manager and (escalation) the service manager hear once each.
wait_until 10 eval '[ "$(mails)" = 3 ]' && ok || bad "after the file appeared: $(mails) messages, want 3"
OPEN=$(open_obligations)
[ "$OPEN" = 2 ] && ok || bad "open obligations: $OPEN, want 2"

# ---- locked: a writer holds an exclusive lock for 4 s (> 300 ms) ----
# It also adds a case, committed when it lets go: that case must be alerted.
sqlite3 "$DB" "BEGIN EXCLUSIVE;" \
	"INSERT INTO deadlined_cases VALUES ('A2', 'C2', '2016-06-06', 'T1', 'W1');" \
	"INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES ('A2', 'referral', '2024-11-04');" \
	".shell sleep $((4 * TIME_SCALE))" "COMMIT;" > "$TMP/lock.log" 2>&1 &
LOCK=$!
PIDS="$PIDS $LOCK"
fault "locked" "database is locked"
log_has "database is locked (another connection held it for more than 300 ms)" && ok \
	|| bad "the lock message does not give the busy timeout: $(log_since | tail -n 2)"
wait "$LOCK"
[ -s "$TMP/lock.log" ] && bad "the lock holder failed: $(cat "$TMP/lock.log")"
OPEN=4
cleared "locked"
wait_until 10 eval '[ "$(open_obligations)" = 4 ] && [ "$(mails)" = 6 ]' && ok \
	|| bad "the case committed under the lock: $(open_obligations) open, $(mails) messages, want 4 and 6"
cp "$DB" "$TMP/good.db"

# ---- truncated mid-page ----
truncate -s 3000 "$DB"
fault "truncated" "database disk image is malformed"
cp "$TMP/good.db" "$DB"
cleared "truncated"

# ---- corrupt: pages 2 and 3 overwritten with noise ----
cp "$TMP/good.db" "$DB"
yes corrupt | head -c 8192 | dd of="$DB" bs=4096 seek=1 conv=notrunc 2>/dev/null
fault "corrupt" "malformed"
cp "$TMP/good.db" "$DB"
cleared "corrupt"

# ---- not a database at all (the header overwritten) ----
printf 'this is not SQLite at all, only text\n' | dd of="$DB" conv=notrunc 2>/dev/null
fault "not a database" "not an SQLite database"
cp "$TMP/good.db" "$DB"
cleared "not a database"

# ---- a relation missing a column the contract needs ----
sqlite3 "$DB" "CREATE TABLE c AS SELECT case_ref, child_ref, date_of_birth, team_ref
	FROM deadlined_cases; DROP TABLE deadlined_cases; ALTER TABLE c RENAME TO deadlined_cases;"
fault "missing column" "relation deadlined_cases: no such column: worker_ref"
log_has "expected columns case_ref, child_ref, date_of_birth, team_ref, worker_ref" && ok \
	|| bad "the missing-column message does not name the contract's columns"
# ... and a relation missing altogether (a view dropped, say).
cp "$TMP/good.db" "$DB"
sqlite3 "$DB" "ALTER TABLE deadlined_teams RENAME TO old_teams;"
fault "missing relation" "relation deadlined_teams: no such table"
cp "$TMP/good.db" "$DB"
cleared "missing relation"

# ---- a broken config on reload: the old one stays and polls go on ----
cp "$CONF" "$TMP/good.conf"
sed -i 's/poll_interval = 1/poll_interval = one/' "$CONF"
mark_log
kill -HUP "$DPID"
check_status "broken reload" "reload rejected: 1 error in $CONF (old configuration kept)"
wait_polls 2 && ok || bad "no polls after a rejected reload"
alive_check "after a broken reload"
cp "$TMP/good.conf" "$CONF"
kill -HUP "$DPID"
check_status_clear "good reload after a broken one" "reload rejected"

# ---- nothing lost, nothing twice, and a clean stop ----
watchdog_check "through the case-database faults"
stop_daemon
[ "$DRC" = 0 ] && ok || bad "exit status $DRC after SIGTERM"
[ "$(mails)" = 6 ] && ok || bad "messages in the Maildir: $(mails), want 6 (3 a case)"
[ "$(q "$STATE" "SELECT count(*) FROM outbox WHERE status = 'sent'")" = 6 ] && ok \
	|| bad "outbox: $(q "$STATE" "SELECT status, count(*) FROM outbox GROUP BY status")"
ids=$(cat "$MAIL"/* | grep -i '^Message-ID:' | sort | uniq -d)
[ -z "$ids" ] && ok || bad "a message arrived twice: $ids"
[ "$(gone)" = 0 ] && ok || bad "obligations closed as gone: $(gone)"
faults=$(grep -c 'err: poll failed' "$TMP/d.err")
echo "case-database faults: 7 kinds, $faults failed polls, $(polls_done) good polls, daemon never restarted"
finish
