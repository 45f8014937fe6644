# A reload with a mistake leaves the old configuration in force, whatever
# the mistake (issue 14): an @include naming a directory (libconfig 1.5's
# scanner would exit the process), a FIFO (it would block for ever, SIGTERM
# ignored), a device, a number too big.  The running daemon logs the file,
# keeps polling with the old configuration, and still stops on SIGTERM;
# `deadlined -n` and `deadlinectl` refuse the same files at once.
. tests/integration/lib.sh
. tests/integration/service_lib.sh

DB=$TMP/cases.db
STATE=$TMP/state.db
CONF=$TMP/d.conf
MAIL=$TMP/mail/new
seed_cases "$DB"
service_conf "$MAILDIR_RECEIVER" 'mail_receiver = "mail";'
cp "$CONF" "$TMP/good.conf"
mkdir "$TMP/adir"
mkfifo "$TMP/fifo.conf"
ln -s /dev/zero "$TMP/zero.conf"

# with_include NAME: the good configuration, with rules also @including NAME
# one level down (through $TMP/mid.conf), as the main file.
with_include() {
	printf '# mid\n@include "%s"\n' "$1" > "$TMP/mid.conf"
	sed 's#@include "rules/referral.conf"#&\n  @include "mid.conf"#' "$TMP/good.conf" > "$TMP/new.conf"
	mv "$TMP/new.conf" "$CONF"
}

# -n and deadlinectl: refused at once (timeout would say 124), naming the file.
for name in adir fifo.conf zero.conf; do
	with_include "$name"
	out=$(timeout 10 $DEADLINED -n -c "$CONF" 2>&1); rc=$?
	[ $rc = 78 ] && printf '%s' "$out" | grep -q "mid.conf:2: @include: $TMP/$name: is " \
		&& ok || bad "deadlined -n with an include of $name: rc $rc: $out"
	out=$(timeout 10 $DEADLINECTL -c "$CONF" status 2>&1); rc=$?
	[ $rc != 124 ] && [ $rc != 0 ] && printf '%s' "$out" | grep -q "$TMP/$name: is " \
		&& ok || bad "deadlinectl with an include of $name: rc $rc: $out"
done
out=$(timeout 10 $DEADLINED -n -c "$TMP/fifo.conf" 2>&1); rc=$?
[ $rc = 78 ] && printf '%s' "$out" | grep -q "fifo.conf: is a FIFO" \
	&& ok || bad "deadlined -n on a FIFO as the main file: rc $rc: $out"

cp "$TMP/good.conf" "$CONF"
start_listener && start_daemon || { finish; exit 1; }
wait_polls 1 20 || bad "no first poll"

# reload_rejected WHAT PATTERN: after SIGHUP the log names the problem, the
# daemon lives and goes on polling under the old configuration.
reload_rejected() {
	mark_log
	kill -HUP "$DPID"
	check_log "$1: logged" "$2" 20
	check_status "$1: STATUS" "reload rejected"
	wait_polls 2 20 && ok || bad "$1: polling stopped after the reload"
	alive_check "after a reload with $1"
}
with_include adir
reload_rejected "a directory include" "reload: .*mid.conf:2: @include: $TMP/adir: is a directory"
with_include fifo.conf
reload_rejected "a FIFO include" "reload: .*$TMP/fifo.conf: is a FIFO"
with_include zero.conf
reload_rejected "a device include" "reload: .*$TMP/zero.conf: is a device"
sed 's/poll_interval = 1;/poll_interval = 99999999999;/' "$TMP/good.conf" > "$CONF"
reload_rejected "a number too big" "reload: .*service.poll_interval: 99999999999 is too big"

# The old configuration is the one in force: its Maildir still gets mail
# for a new case (poll_interval 1 s, so within a few polls).
before=$(mails)
sqlite3 -cmd '.timeout 5000' "$DB" "INSERT INTO deadlined_cases VALUES ('B2', 'CB2', '2015-05-05', 'T1', 'W1');
INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES ('B2', 'referral', '2024-11-01');"
wait_until 20 eval '[ "$(mails)" -gt "$before" ]' && ok || bad "the old configuration stopped delivering"

# With the FIFO include in place again, SIGTERM stops it promptly and cleanly.
with_include fifo.conf
kill -HUP "$DPID"
sleep 0.5
t0=$(date +%s)
stop_daemon
t1=$(date +%s)
[ "$DRC" = 0 ] && [ $((t1 - t0)) -le $((5 * TIME_SCALE)) ] && ok \
	|| bad "SIGTERM after a FIFO reload: exit $DRC after $((t1 - t0)) s"
finish
