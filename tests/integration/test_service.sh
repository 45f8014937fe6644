# deadlined as a systemd service, without booting systemd: the unit file
# checked by systemd-analyze, and the notify protocol through a real
# NOTIFY_SOCKET datagram socket (tests/helpers/notify_listener.py).
. tests/integration/lib.sh
PY=/usr/bin/python3

# ---- the unit ----
# As `make install` writes it, with the built program standing in.
sed "s#@SBINDIR@#$(dirname "$(readlink -f "$DEADLINED")")#g" systemd/deadlined.service \
	> "$TMP/deadlined.service"
out=$(systemd-analyze verify --man=no "$TMP/deadlined.service" 2>&1); rc=$?
[ $rc = 0 ] && [ -z "$out" ] && ok || bad "systemd-analyze verify: rc $rc: $out"
score=$(systemd-analyze security --offline=yes "$TMP/deadlined.service" 2>/dev/null |
	sed -n 's/.*Overall exposure level for deadlined.service: \([0-9.]*\).*/\1/p')
echo "exposure: $score"
[ -n "$score" ] && awk "BEGIN { exit !($score <= 1.5) }" && ok || bad "exposure $score > 1.5"
grep -q '^Type=notify$' "$TMP/deadlined.service" && grep -q '^WatchdogSec=' "$TMP/deadlined.service" \
	&& grep -q '^ExecReload=/bin/kill -HUP \$MAINPID$' "$TMP/deadlined.service" && ok || bad "unit basics"

# ---- a case database, a slow webhook, and the daemon ----
sqlite3 "$TMP/cases.db" < conf/schema/native.sql
sqlite3 "$TMP/cases.db" <<'SQL'
INSERT INTO deadlined_teams VALUES ('T1', 'Duty and Assessment Team', 'tm@council.example', 'sm@council.example');
INSERT INTO deadlined_workers VALUES ('W1', 'Sam Worker', 'sam@council.example', 'T1');
INSERT INTO deadlined_cases VALUES ('A2', 'C2', '2015-05-05', 'T1', 'W1');
INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES ('A2', 'referral', '2024-11-01');
SQL
ln -sfn "$PWD/conf/rules" "$TMP/rules"
make_test_certs || { bad "openssl: $(cat "$TMP/openssl.log")"; finish; exit 1; }
$PY tests/helpers/webhook_server.py --cert "$TMP/server.pem" --key "$TMP/server.key" \
	--port-file "$TMP/port" --log "$TMP/hook.log" --stats "$TMP/hook.stats" --slow 5 \
	--lifetime 60 2>"$TMP/server.err" &
SRV=$!
trap 'kill $SRV $LST $DPID 2>/dev/null; rm -rf "$TMP"' EXIT
wait_for "$TMP/port" || { bad "webhook server: $(cat "$TMP/server.err")"; finish; exit 1; }
PORT=$(cat "$TMP/port")
service_conf() {
	cat > "$TMP/d.conf" <<CONF
source = { database = "$TMP/cases.db"; };
state = { database = "$TMP/state.db"; };
service = { poll_interval = $1; };
rules = {
  @include "rules/referral.conf"
};
receivers = {
  mail = { type = "maildir"; path = "$TMP/mail"; from = "deadlined@test.invalid"; };
  slow = { type = "webhook"; url = "https://127.0.0.1:$PORT/slow"; ca_file = "$TMP/test-ca.pem";
           connect_timeout = 2; timeout = 4; };
};
notify = { mail_receiver = "mail"; };
routes = ( { notify = [ "slow" ]; } );
CONF
}
service_conf 2

$PY tests/helpers/notify_listener.py "$TMP/notify" "$TMP/notify.log" --seconds 60 &
LST=$!
i=0; while [ ! -S "$TMP/notify" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
NOTIFY_SOCKET="$TMP/notify" WATCHDOG_USEC=2000000 $DEADLINED -c "$TMP/d.conf" 2>"$TMP/d.err" &
DPID=$!
# READY after the first evaluation, with a useful STATUS.
i=0; while ! grep -q 'READY=1' "$TMP/notify.log" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
grep -q 'READY=1' "$TMP/notify.log" && ok || bad "no READY=1: $(cat "$TMP/d.err")"
# STATUS follows READY=1 (soon, but not at once under valgrind).
i=0; while ! grep -q 'STATUS=' "$TMP/notify.log" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
grep -q 'STATUS=0 open, 2 overdue, 0 due soon; outbox .*, dead 0; last poll [0-9][0-9]:' "$TMP/notify.log" \
	&& ok || bad "STATUS line: $(grep STATUS "$TMP/notify.log" | head -3)"
# The first delivery to the slow webhook takes its 4 s timeout, twice over
# (two alerts); the watchdog must still be fed every second (half of 2 s).
sleep 6
/usr/bin/python3 - "$TMP/notify.log" <<'PY' && ok || bad "watchdog cadence: $(grep WATCHDOG "$TMP/notify.log" | tr '\n' ' ')"
import sys
times = [float(l.split()[0]) for l in open(sys.argv[1]) if "WATCHDOG=1" in l]
assert len(times) >= 5, times
gaps = [b - a for a, b in zip(times, times[1:])]
assert max(gaps) < 1.6, gaps
PY

# SIGHUP with a good config: RELOADING=1 then READY=1.
service_conf 3
kill -HUP $DPID
i=0; while ! grep -q 'RELOADING=1' "$TMP/notify.log" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
sleep 0.5
sed -n '/RELOADING=1/,$p' "$TMP/notify.log" | grep -q 'READY=1' && ok || bad "no READY after RELOADING"
grep -q 'reloaded' "$TMP/d.err" && ok || bad "reload not logged"
# A broken config: rejected, the old one stays, STATUS says so.
sed -i 's/poll_interval/poll_intervall/' "$TMP/d.conf"
kill -HUP $DPID
i=0; while ! grep -q 'reload rejected' "$TMP/notify.log" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
grep -q 'STATUS=.*reload rejected: 1 error' "$TMP/notify.log" && ok || bad "rejection not in STATUS"
grep -q "d.conf:[0-9]*: service.poll_intervall: unknown setting" "$TMP/d.err" && ok || bad "rejection not logged with file:line"
kill -0 $DPID 2>/dev/null && ok || bad "daemon died on a bad reload"
# Later polls (every 3 s, the old config) keep saying so until a good reload.
sleep 3.5
grep 'STATUS=' "$TMP/notify.log" | tail -n 1 | grep -q 'last poll .*reload rejected' \
	&& ok || bad "rejection forgotten by the next poll: $(grep STATUS= "$TMP/notify.log" | tail -n 1)"
# deadlinectl status knows whether the daemon runs (the file mended first,
# without a reload, so deadlinectl can read it).
sed -i 's/poll_intervall/poll_interval/' "$TMP/d.conf"
"$DEADLINECTL" -c "$TMP/d.conf" status > "$TMP/status.out" 2>&1
grep -q "loaded .* by the daemon (pid $DPID, running)" "$TMP/status.out" && ok \
	|| bad "status while running: $(cat "$TMP/status.out")"
# SIGTERM: STOPPING=1 and exit 0.
kill -TERM $DPID
i=0; while kill -0 $DPID 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
wait $DPID; rc=$?
[ $rc = 0 ] && ok || bad "exit status $rc after SIGTERM"
grep -q 'STOPPING=1' "$TMP/notify.log" && ok || bad "no STOPPING=1"
"$DEADLINECTL" -c "$TMP/d.conf" status > "$TMP/status.out" 2>&1
grep -q "loaded .* by the daemon (it has stopped since)" "$TMP/status.out" && ok \
	|| bad "status after a clean stop: $(cat "$TMP/status.out")"
# Nothing lost: the alerts are in the Maildir, state says what the webhook got.
[ "$(ls "$TMP/mail/new" | wc -l)" -ge 1 ] && ok || bad "no mail delivered"
finish
