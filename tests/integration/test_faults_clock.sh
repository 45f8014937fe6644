# Clock faults under the running service: the time zone changed by a
# reload, the two DST changes of 2025 in Europe/London crossed while
# running, and the wall clock stepped (as NTP or an administrator would)
# forward across midnight and back by an hour.  The daemon must keep
# polling, take each new day's transitions once, and send nothing twice.
# The wall clock is moved with libfaketime (Debian's faketime package),
# through a timestamp file read at every call; CLOCK_MONOTONIC is left
# alone, as a real clock step leaves it.
. tests/integration/lib.sh
. tests/integration/service_lib.sh

DB=$TMP/cases.db
CONF=$TMP/d.conf
MAIL=$TMP/mail/new
# X1 has been overdue for months: alerted once, at the first poll.
seed_cases "$DB" X1

# write_conf ZONE STATE_DB
write_conf() {
	STATE=$2
	service_conf "$MAILDIR_RECEIVER" 'mail_receiver = "mail";'
	sed -i "1i timezone = \"$1\";" "$CONF"
}
no_duplicates() {
	_d=$(cat "$MAIL"/* 2>/dev/null | grep -i '^Message-ID:' | sort | uniq -d)
	[ -z "$_d" ] && ok || bad "$1: a message was sent twice: $_d"
}
# poll_hour_is ZONE: STATUS's last poll is the hour (and minute) now in ZONE.
poll_at_local() {
	_hm=$(TZ=$1 date +%H:%M)
	status_has "last poll $_hm:"
}

start_listener || { finish; exit 1; }

# ======================================================================
# The time zone, changed by a reload.
# ======================================================================
write_conf Europe/London "$TMP/tz.db"
start_daemon || { finish; exit 1; }
wait_until 10 eval '[ "$(mails)" = 3 ]' && ok || bad "first alerts: $(mails), want 3"
for zone in Pacific/Kiritimati Pacific/Pago_Pago America/St_Johns Europe/London; do
	sed -i "s#^timezone = .*#timezone = \"$zone\";#" "$CONF"
	mark_log
	kill -HUP "$DPID"
	check_log "timezone $zone: reloaded" "notice: reloaded $CONF"
	wait_polls 2 && ok || bad "timezone $zone: no polls after the reload"
	# STATUS tells the time of the last poll in the new zone (a minute may
	# have turned meanwhile: one more try).
	wait_until 3 poll_at_local "$zone" && ok || bad "timezone $zone: STATUS '$(last_status)' (it is $(TZ=$zone date +%H:%M) there)"
	alive_check "after changing the time zone to $zone"
done
[ "$(mails)" = 3 ] && ok || bad "time zone changes: $(mails) messages, want 3"
no_duplicates "time zone changes"
stop_daemon
[ "$DRC" = 0 ] && ok || bad "time zones: exit status $DRC"

# ======================================================================
# DST and clock steps, with libfaketime.
# ======================================================================
FAKETIME_LIB=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n 1)
if [ -z "$FAKETIME_LIB" ]; then
	not_run "DST and clock steps: libfaketime is not installed (scripts/deps.sh test installs faketime)"
	finish
	exit
fi
CLOCK=$TMP/faketime
# set_clock 'YYYY-MM-DD HH:MM:SS ZONE': from now on the daemon's wall
# clock reads that, and runs on.
set_clock() {
	printf '%+d\n' $(( $(date -d "$1" +%s) - $(date +%s) )) > "$CLOCK"
}
fake_env() {
	echo LD_PRELOAD="$FAKETIME_LIB" FAKETIME_TIMESTAMP_FILE="$CLOCK" FAKETIME_NO_CACHE=1 \
		FAKETIME_DONT_FAKE_MONOTONIC=1 ASAN_OPTIONS=verify_asan_link_order=0
}
# The daemon's clock as seen by anything run with fake_env.
fake_date() { env $(fake_env) TZ=Europe/London date "$@"; }

# ---- spring forward: 01:00 GMT on 2025-03-30 becomes 02:00 BST ----
write_conf Europe/London "$TMP/spring.db"
rm -rf "$TMP/mail"
set_clock '2025-03-30 00:59:56 GMT'
start_daemon $(fake_env) || { finish; exit 1; }
wait_until 10 eval '[ "$(mails)" = 3 ]' && ok || bad "spring: first alerts: $(mails), want 3"
check_status "spring: polls go on past 01:00 GMT, now 02:00 BST" "last poll 02:00:" 15
wait_polls 3 && ok || bad "spring: polling stopped after the change"
[ "$(q "$STATE" "SELECT count(*) FROM polls WHERE started >= $(date -d '2025-03-30 01:00:00 GMT' +%s)")" -ge 3 ] \
	&& ok || bad "spring: the polls after the change are not recorded as after it"
[ "$(mails)" = 3 ] && ok || bad "spring: $(mails) messages, want 3"
# A step back of an hour (an NTP correction): polls must go on within the
# poll interval, not wait for the wall clock to catch up.
set_clock "$(fake_date -d '-1 hour' '+%F %T %Z')"
regression "after the wall clock steps back an hour, no poll runs for an hour" -- wait_polls 2 5
alive_check "after a step back"
[ "$(mails)" = 3 ] && ok || bad "step back: $(mails) messages, want 3"
no_duplicates "spring and a step back"
stop_daemon
[ "$DRC" = 0 ] && ok || bad "spring: exit status $DRC"

# ---- fall back: 02:00 BST on 2025-10-26 becomes 01:00 GMT; then steps
# forward across midnight, with Y1's referral decision (due Monday the
# 27th) turning due-soon and then overdue, each told once ----
sqlite3 -cmd '.timeout 20000' "$DB" "INSERT INTO deadlined_cases VALUES ('Y1', 'CY1', '2016-06-06', 'T1', 'W1');
	INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES ('Y1', 'referral', '2025-10-24');"
write_conf Europe/London "$TMP/autumn.db"
rm -rf "$TMP/mail"
set_clock '2025-10-26 01:59:56 BST'
start_daemon $(fake_env) || { finish; exit 1; }
wait_until 10 eval '[ "$(mails)" = 3 ]' && ok || bad "autumn: first alerts: $(mails), want 3"
check_status "autumn: polls go on past 02:00 BST, now 01:00 GMT" "last poll 01:00:" 15
wait_polls 3 && ok || bad "autumn: polling stopped after the change"
[ "$(mails)" = 3 ] && ok || bad "autumn: the repeated hour sent something: $(mails) messages, want 3"
# Monday morning: the decision is due today (due-soon: the worker hears).
set_clock '2025-10-27 09:00:00 GMT'
check_status "step to Monday" "last poll 09:00:" 10
wait_until 10 eval '[ "$(mails)" = 4 ]' && ok || bad "Monday: $(mails) messages, want 4"
wait_polls 3
[ "$(mails)" = 4 ] && ok || bad "Monday, more polls: $(mails) messages, want 4"
# Tuesday: overdue (the worker and the team manager hear).
set_clock '2025-10-28 09:00:00 GMT'
check_status "step to Tuesday" "last poll 09:00:" 10
wait_until 10 eval '[ "$(mails)" = 6 ]' && ok || bad "Tuesday: $(mails) messages, want 6"
wait_polls 3
[ "$(mails)" = 6 ] && ok || bad "Tuesday, more polls: $(mails) messages, want 6"
$PY - "$MAIL" <<'PY' && ok || bad "Y1's alerts"
import email, email.policy, glob, sys
subjects = sorted(email.message_from_binary_file(open(f, "rb"), policy=email.policy.default)["Subject"]
                  for f in glob.glob(sys.argv[1] + "/*"))
y1 = [s for s in subjects if "case Y1" in s]
assert len(y1) == 3, subjects
assert sum(s.startswith("Due 2025-10-27: Decision on a referral") for s in y1) == 1, y1
assert sum(s.startswith("Overdue 1 working day: Decision on a referral") for s in y1) == 2, y1
PY
no_duplicates "autumn and steps forward"
alive_check "after the steps forward"
watchdog_check "clock steps"
stop_daemon
[ "$DRC" = 0 ] && ok || bad "autumn: exit status $DRC"
echo "clock faults: 4 time-zone reloads, 2 DST changes, 2 steps forward across midnight, 1 step back"
finish
