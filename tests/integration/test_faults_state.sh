# Faults of the daemon's own state database, under the running service:
#  - the disk fills: a small RLIMIT_FSIZE (ulimit -f), and a small tmpfs
#    filled up (in a user and mount namespace, when the kernel allows one);
#    the daemon keeps running, says so in its log and STATUS, loses nothing
#    committed, and carries on when there is room again;
#  - a state database from schema version 1 is migrated at start, keeping
#    what it holds; one from a newer release (user_version 99) is refused
#    with a clear message and exit status 1, and left as it was.
. tests/integration/lib.sh
. tests/integration/service_lib.sh

DB=$TMP/cases.db
CONF=$TMP/d.conf
MAIL=$TMP/mail/new
seed_cases "$DB"

# write_conf STATE_DB: the service's config, with the state database there.
write_conf() {
	STATE=$1
	# max_items: every one of the 200 cases added below is listed, so
	# that each can be looked for.
	service_conf "$MAILDIR_RECEIVER" 'mail_receiver = "mail"; max_items = 1000;'
}

# add_cases FROM TO: overdue referrals B<FROM>..B<TO>, each a new case; a
# poll that takes them in writes well over 100 kB to the state database.
add_cases() {
	$PY - "$DB" "$1" "$2" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for i in range(int(sys.argv[2]), int(sys.argv[3]) + 1):
    db.execute("INSERT INTO deadlined_cases VALUES (?, ?, '2015-05-05', 'T1', 'W1')",
               ("B%d" % i, "CB%d" % i))
    db.execute("INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES (?, 'referral', '2024-11-01')",
               ("B%d" % i,))
db.commit()
PY
}

start_listener || { finish; exit 1; }

# =====================================================================
# RLIMIT_FSIZE: the state database may not grow past a limit.
# =====================================================================
write_conf "$TMP/state.db"
start_daemon || { finish; exit 1; }
wait_until 10 eval '[ "$(mails)" = 3 ]' && ok || bad "first alerts: $(mails), want 3"
stop_daemon
# Everything in the main file, and a note of what is committed now.
q "$STATE" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
q "$STATE" "SELECT msg_id, status FROM outbox ORDER BY id" > "$TMP/committed-outbox"
size=$(stat -c %s "$STATE")
# ulimit -f counts 512-byte blocks in some shells, 1024 in others.
(ulimit -f 1; head -c 2000 /dev/zero > "$TMP/probe") 2>/dev/null
block=$(stat -c %s "$TMP/probe")
[ "$block" = 512 ] || block=1024
# Room for the file as it is and for ordinary polls' write-ahead log (a few
# pages each), not for a poll that takes in 200 new cases.
limit=$(( (size + 160 * 1024) / block ))

# (1) As the daemon is today, RLIMIT_FSIZE's signal kills it: nothing in the
# log, no STATUS.  A daemon should ignore SIGXFSZ and see the write fail.
xfsz_survives() {
	(ulimit -f "$limit"; exec env NOTIFY_SOCKET="$TMP/notify" $DEADLINED -c "$CONF") \
		2>>"$TMP/xfsz.err" &
	_pid=$!
	wait_until 20 grep -q 'info: poll: ' "$TMP/xfsz.err" || { kill "$_pid"; wait "$_pid"; return 1; }
	add_cases 1 200
	wait_until 10 grep -q 'poll failed: state database' "$TMP/xfsz.err"
	if kill -0 "$_pid" 2>/dev/null; then
		kill -TERM "$_pid"; wait "$_pid"
		return 0
	fi
	wait "$_pid"
	echo "deadlined under RLIMIT_FSIZE: exit status $? (SIGXFSZ is 25: 128 + 25 = 153)"
	return 1
}
regression "deadlined is killed by SIGXFSZ when a write passes RLIMIT_FSIZE" -- xfsz_survives
# Put the database back as it was before (1), whatever it did.
sqlite3 -cmd '.timeout 20000' "$DB" "DELETE FROM deadlined_cases WHERE case_ref LIKE 'B%';
	DELETE FROM deadlined_events WHERE case_ref LIKE 'B%';"
start_daemon || { finish; exit 1; }
wait_polls 1
stop_daemon
q "$STATE" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
q "$STATE" "SELECT msg_id, status FROM outbox ORDER BY id" > "$TMP/committed-outbox"
committed_obligations=$(q "$STATE" "SELECT count(*) FROM obligations")

# (2) With SIGXFSZ ignored (as a daemon should do itself), a write past the
# limit fails with EFBIG: the state database's disk is as good as full.
(trap '' XFSZ; ulimit -f "$limit"; exec env NOTIFY_SOCKET="$TMP/notify" \
	WATCHDOG_USEC=$((WATCHDOG_SEC * TIME_SCALE * 1000000)) $DEADLINED -c "$CONF") 2>>"$TMP/d.err" &
DPID=$!
: > "$TMP/notify.log"
mark_log
wait_until 20 grep -q 'READY=1' "$TMP/notify.log" && ok || bad "not ready under RLIMIT_FSIZE: $(log_since)"
wait_polls 2 && ok || bad "no polls under RLIMIT_FSIZE before the fault: $(log_since | tail -n 3)"
add_cases 1 200
check_log "RLIMIT_FSIZE: log" "err: poll failed: state database $STATE: .*disk I/O error (a write was cut short: is the disk full, or a file size limit reached?)"
check_status "RLIMIT_FSIZE: STATUS" "poll failed: state database .*disk I/O error"
n=$(grep -c 'poll failed: state database' "$TMP/d.err")
wait_until 10 eval '[ "$(grep -c "poll failed: state database" "$TMP/d.err")" -ge $((n + 2)) ]' \
	&& ok || bad "RLIMIT_FSIZE: the daemon stopped polling"
alive_check "with the state database's file size limited"
# deadlinectl still reads the state, and what was committed is all there.
out=$(DEADLINED_CONFIG=$CONF $DEADLINECTL status 2>&1); rc=$?
[ $rc = 0 ] && printf '%s\n' "$out" | grep -q 'outbox  *0 pending, 3 sent, 0 dead letters' && ok \
	|| bad "deadlinectl status while the disk is full: rc $rc: $out"
watchdog_check "RLIMIT_FSIZE"
stop_daemon
[ "$DRC" = 0 ] && ok || bad "exit status $DRC after SIGTERM with the disk full"
[ "$(q "$STATE" "PRAGMA integrity_check")" = ok ] && ok || bad "state database damaged"
q "$STATE" "SELECT msg_id, status FROM outbox ORDER BY id" > "$TMP/outbox-after"
cmp -s "$TMP/committed-outbox" "$TMP/outbox-after" && ok || bad "the committed outbox changed"
[ "$(q "$STATE" "SELECT count(*) FROM obligations")" = "$committed_obligations" ] && ok \
	|| bad "committed obligations changed under the fault"
# The limit lifted (a restart): the 200 cases are taken in and alerted, in
# one message a recipient and kind; nothing is sent twice.
start_daemon || { finish; exit 1; }
wait_until 20 eval '[ "$(mails)" = 6 ]' && ok || bad "after the limit was lifted: $(mails) messages, want 6"
[ "$(q "$STATE" "SELECT count(*) FROM obligations WHERE closed IS NULL")" = 402 ] && ok \
	|| bad "open obligations after the restart: $(q "$STATE" "SELECT count(*) FROM obligations WHERE closed IS NULL"), want 402"
grep -l 'B200' "$MAIL"/* >/dev/null && ok || bad "the last new case is in no message"
stop_daemon
ids=$(cat "$MAIL"/* | grep -i '^Message-ID:' | sort | uniq -d)
[ -z "$ids" ] && ok || bad "a message arrived twice: $ids"
fsize_fails=$(grep -c 'poll failed: state database' "$TMP/d.err")

# =====================================================================
# A small tmpfs, filled up: ENOSPC, and room again without a restart.
# =====================================================================
MNT=$TMP/mnt
mkdir "$MNT"
if ! unshare -rm sh -c "mount -t tmpfs -o size=2m tmpfs '$MNT'" 2>"$TMP/unshare.err"; then
	not_run "a full tmpfs: no user and mount namespace here ($(cat "$TMP/unshare.err"))"
	tmpfs_fails=0
else
	sqlite3 -cmd '.timeout 20000' "$DB" "DELETE FROM deadlined_cases WHERE case_ref LIKE 'B%';
		DELETE FROM deadlined_events WHERE case_ref LIKE 'B%';"
	rm -rf "$TMP/mail"
	write_conf "$MNT/state.db"
	: > "$TMP/notify.log"
	mark_log
	# unshare execs sh, which execs the daemon: $! is the daemon.
	env NOTIFY_SOCKET="$TMP/notify" WATCHDOG_USEC=$((WATCHDOG_SEC * TIME_SCALE * 1000000)) \
		unshare -rm sh -c 'mount -t tmpfs -o size=2m tmpfs "$1" && shift && exec "$@"' sh \
		"$MNT" $DEADLINED -c "$CONF" 2>>"$TMP/d.err" &
	DPID=$!
	wait_until 20 grep -q 'READY=1' "$TMP/notify.log" && ok || bad "not ready on tmpfs: $(log_since)"
	wait_until 10 eval '[ "$(mails)" = 3 ]' && ok || bad "tmpfs: first alerts: $(mails), want 3"
	# The daemon's files, seen through its own mount namespace.
	IN=/proc/$DPID/root$MNT
	head -c 4M /dev/zero > "$IN/filler" 2>/dev/null
	[ "$(stat -f -c %a "$IN")" = 0 ] && ok || bad "the tmpfs is not full: $(stat -f -c '%a of %b blocks free' "$IN")"
	add_cases 1 50
	check_log "full tmpfs: log" "err: poll failed: state database $MNT/state.db: .*database or disk is full"
	check_status "full tmpfs: STATUS" "poll failed: state database .*database or disk is full"
	n=$(grep -c 'poll failed: state database' "$TMP/d.err")
	wait_until 10 eval '[ "$(grep -c "poll failed: state database" "$TMP/d.err")" -ge $((n + 2)) ]' \
		&& ok || bad "full tmpfs: the daemon stopped polling"
	alive_check "with its tmpfs full"
	[ "$(mails)" = 3 ] && ok || bad "tmpfs: messages while full: $(mails)"
	# Room again: the next poll takes the 50 cases in, no restart.
	rm -f "$IN/filler"
	check_status_clear "tmpfs with room again" "poll failed"
	wait_until 10 eval '[ "$(mails)" = 6 ]' && ok || bad "tmpfs: after room came back: $(mails), want 6"
	# SQLite resolves /proc/PID/root to "/", so it reads a copy (WAL frames
	# carry checksums: a frame caught half-written is ignored).
	snap() {
		mkdir -p "$TMP/snap"
		cp "$IN/state.db" "$TMP/snap/state.db" && cp "$IN/state.db-wal" "$TMP/snap/state.db-wal" &&
			sqlite3 "$TMP/snap/state.db" "$1"
		rm -f "$TMP/snap/"*
	}
	[ "$(snap "SELECT count(*) FROM obligations WHERE closed IS NULL")" = 102 ] && ok \
		|| bad "tmpfs: open obligations $(snap "SELECT count(*) FROM obligations WHERE closed IS NULL"), want 102"
	[ "$(snap "PRAGMA integrity_check")" = ok ] && ok || bad "tmpfs: state database damaged"
	watchdog_check "full tmpfs"
	stop_daemon
	[ "$DRC" = 0 ] && ok || bad "tmpfs: exit status $DRC after SIGTERM"
	tmpfs_fails=$(log_since | grep -c 'poll failed: state database')
fi

# =====================================================================
# Schema versions.
# =====================================================================
rm -rf "$TMP/mail"
write_conf "$TMP/v1.db"
# Version 1 is version 2 without the meta table: made by today's daemon,
# then taken back by hand, with a message still pending in its outbox.
expect 0 '*' '*' -- $DEADLINED --once -c "$CONF"
CUR=$(sqlite3 "$STATE" 'PRAGMA user_version')    # this release's schema version
now=$(date +%s)
sqlite3 "$STATE" "DROP TABLE meta; PRAGMA user_version = 1;
	INSERT INTO outbox (msg_id, receiver, recipient, kind, subject, text, created, next_attempt)
	VALUES ('v1-pending@deadlined.test', 'mail', 'tm@council.example', 'overdue',
		'Left pending by an older release', 'still to send', $now, $now);"
[ "$(sqlite3 "$STATE" 'PRAGMA user_version')" = 1 ] && ok || bad "could not make a v1 database"
before=$(mails)
start_daemon || { finish; exit 1; }
[ "$(q "$STATE" 'PRAGMA user_version')" = "$CUR" ] && ok || bad "v1 not migrated: user_version $(q "$STATE" 'PRAGMA user_version')"
log_has "notice: state database $STATE: migrating from schema version 1 to $CUR" && ok \
	|| bad "the migration was not logged: $(log_since | head -n 3)"
[ "$(q "$STATE" "SELECT value FROM meta WHERE key = 'pid'")" = "$DPID" ] && ok || bad "no meta after migrating"
wait_until 10 eval 'grep -l "^Message-ID: <v1-pending@deadlined.test>" "$MAIL"/* >/dev/null 2>&1' \
	&& ok || bad "the v1 outbox's pending message was not sent"
wait_polls 2
# The obligations it held were kept: nothing alerted again.
[ "$(mails)" = $((before + 1)) ] && ok || bad "after migrating: $(mails) messages, want $((before + 1))"
stop_daemon
[ "$DRC" = 0 ] && ok || bad "v1: exit status $DRC"

# A newer one is refused, with a clear message, exit status 1, no READY,
# and left as it was.
cp "$STATE" "$TMP/v99.db"
write_conf "$TMP/v99.db"
sqlite3 "$STATE" "CREATE TABLE future (x); PRAGMA user_version = 99;"
# In rollback-journal mode, so that switching it to WAL would show.
[ "$(sqlite3 "$STATE" 'PRAGMA journal_mode = DELETE')" = delete ] || bad "v99: not in DELETE mode"
sqlite3 "$STATE" .dump > "$TMP/v99.orig"
: > "$TMP/notify.log"
env NOTIFY_SOCKET="$TMP/notify" $DEADLINED -c "$CONF" > "$TMP/v99.out" 2> "$TMP/v99.err" &
pid=$!
wait_until 20 eval '! kill -0 $pid' && ok || { bad "deadlined kept running on a v99 database"; kill $pid; }
wait $pid
rc=$?
[ $rc = 1 ] && ok || bad "v99: exit status $rc, want 1"
grep -q "err: cannot start: state database $STATE has schema version 99, newer than this deadlined understands ($CUR); refusing to use it" \
	"$TMP/v99.err" && ok || bad "v99 message: $(cat "$TMP/v99.err")"
[ "$(wc -l < "$TMP/v99.err")" = 1 ] && ok || bad "v99: more than one line: $(cat "$TMP/v99.err")"
! grep -q 'READY=1' "$TMP/notify.log" && ok || bad "READY=1 on a refused database"
sqlite3 "$STATE" .dump | cmp -s - "$TMP/v99.orig" && [ "$(sqlite3 "$STATE" 'PRAGMA user_version')" = 99 ] \
	&& ok || bad "the v99 database was changed"
[ "$(sqlite3 "$STATE" 'PRAGMA journal_mode')" = delete ] && [ ! -e "$STATE-wal" ] && ok \
	|| bad "the refused v99 database was switched to WAL"
expect 1 '' 'schema version 99, newer than this deadlined understands' -- $DEADLINED --once -c "$CONF"
expect 1 '' 'schema version 99' -- env DEADLINED_CONFIG="$CONF" $DEADLINECTL status

echo "state-database faults: RLIMIT_FSIZE ($fsize_fails failed polls, then a restart), full tmpfs" \
	"($tmpfs_fails failed polls, recovered without a restart), schema v1 migrated, v99 refused"
finish
