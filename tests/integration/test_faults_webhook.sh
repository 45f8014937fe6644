# Webhook faults under the running service (test_webhook.sh covers the
# receiver's own answers; this is what the daemon does with them): HTTP
# 500, 429 with Retry-After, a receiver slower than the timeout, a
# connection reset, a 400, and a message older than notify.dead_after.
# One HTTPS server on 127.0.0.1 is broken and mended through its mode file
# (tests/helpers/webhook_server.py /mode).  For each fault: the message
# stays pending with the reason (deadlinectl outbox, the log, STATUS),
# retries are scheduled (backing off, never sooner than Retry-After), the
# daemon keeps feeding the watchdog, and when the fault clears the message
# goes by itself; a dead letter waits for `deadlinectl retry`.  Nothing is
# lost; a message is received twice only when the receiver took it in and
# then failed to answer in time (same webhook-id, so it can drop it).
. tests/integration/lib.sh
. tests/integration/service_lib.sh

DB=$TMP/cases.db
STATE=$TMP/state.db
CONF=$TMP/d.conf
LOG=$TMP/hook.log
MODE=$TMP/mode
C="env DEADLINED_CONFIG=$CONF CREDENTIALS_DIRECTORY=$TMP/creds $DEADLINECTL"
mkdir "$TMP/creds"
printf 'whsec_%s\n' "$(printf 'fault-test-signing-key' | base64)" > "$TMP/creds/hook-secret"
chmod 600 "$TMP/creds/hook-secret"
echo ok > "$MODE"

# The receiver's timeout: 2 s, longer under valgrind (TLS is slow there);
# the slow server takes 3 s more than that.
TIMEOUT=2
[ "$TIME_SCALE" = 1 ] || TIMEOUT=4
make_test_certs || { bad "openssl: $(cat "$TMP/openssl.log")"; finish; exit 1; }
$PY tests/helpers/webhook_server.py --cert "$TMP/server.pem" --key "$TMP/server.key" \
	--port-file "$TMP/port" --log "$LOG" --stats "$TMP/hook.stats" --slow $((TIMEOUT + 3)) \
	--mode-file "$MODE" --secret "cred=$TMP/creds/hook-secret" \
	--lifetime $((300 * TIME_SCALE)) 2>"$TMP/server.err" &
PIDS="$PIDS $!"
wait_for "$TMP/port" || { bad "webhook server: $(cat "$TMP/server.err")"; finish; exit 1; }
PORT=$(cat "$TMP/port")
: > "$LOG"

sqlite3 "$DB" < conf/schema/native.sql
sqlite3 "$DB" "INSERT INTO deadlined_teams VALUES ('T1', 'Duty', 'tm@council.example', 'sm@council.example');"
service_conf "hook = { type = \"webhook\"; url = \"https://127.0.0.1:$PORT/mode\"; ca_file = \"$TMP/test-ca.pem\";
           secret_credential = \"hook-secret\"; connect_timeout = 2; timeout = $TIMEOUT; };" \
	'retry_initial = 1; retry_max = 2;' 'routes = ( { notify = [ "hook" ]; } );'

# A phase: a new overdue case, whose messages are those with id > $LAST.
LAST=0
new_case() {
	LAST=$(q "$STATE" "SELECT COALESCE(MAX(id), 0) FROM outbox")
	sqlite3 -cmd '.timeout 20000' "$DB" "INSERT INTO deadlined_cases VALUES ('$1', 'C-$1', NULL, 'T1', NULL);
		INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES ('$1', 'referral', '2024-11-01');"
	wait_until 10 eval '[ "$(count_new)" -ge 1 ]' || bad "$1: no message made"
}
count_new() { q "$STATE" "SELECT count(*) FROM outbox WHERE id > $LAST ${1:+AND status = '$1'}"; }
first_new() { q "$STATE" "SELECT $1 FROM outbox WHERE id > $LAST ORDER BY id LIMIT 1"; }
# received MSG_ID: how many requests with that webhook-id reached the server.
received() { grep -c "\"webhook-id\": \"$1\"" "$LOG"; }

# pending_with WHAT PATTERN: the phase's first message is pending, tried at
# least twice, and the outbox, deadlinectl outbox and the log all say why.
pending_with() {
	if wait_until 15 eval '[ "$(first_new "status || attempts")" != pending0 ] &&
		[ "$(first_new status)" = pending ] && [ "$(first_new attempts)" -ge 2 ]'; then ok
	else bad "$1: want pending after 2 tries: $(first_new "status || ' ' || attempts || ' ' || last_error")"; fi
	first_new last_error | grep -q -- "$2" && ok || bad "$1: last error '$(first_new last_error)', want '$2'"
	$C outbox --state pending | grep -q "last error: .*$2" && ok \
		|| bad "$1: deadlinectl outbox: $($C outbox --state pending)"
	log_has "warning: message $(first_new id) via hook will be retried in [0-9]* s: .*$2" && ok \
		|| bad "$1: no retry in the log: $(log_since | tail -n 3)"
	alive_check "during $1"
	[ -n "${3:-}" ] && return 0
	check_status "$1: STATUS" "outbox [1-9][0-9]*, dead 0" 15
}

# mended WHAT: with the receiver answering again, the phase's messages go
# by themselves.
mended() {
	echo ok > "$MODE"
	if wait_until 15 eval '[ "$(count_new pending)" = 0 ] && [ "$(count_new sent)" -ge 1 ]'; then ok
	else bad "$1 mended: $(q "$STATE" "SELECT id, status, attempts, last_error FROM outbox WHERE id > $LAST")"; fi
	check_status "$1 mended: STATUS" "outbox 0, dead 0"
}

start_listener || { finish; exit 1; }
start_daemon CREDENTIALS_DIRECTORY="$TMP/creds" || { finish; exit 1; }

# ---- HTTP 500: retried, backing off, with the same webhook-id ----
echo fail > "$MODE"
mark_log
new_case F1
pending_with "HTTP 500" "HTTP 500: internal error"
mended "HTTP 500"
id=$(first_new msg_id)
n=$(received "$id")
[ "$n" -ge 3 ] && ok || bad "HTTP 500: $n requests for $id, want the failures and the success"
$PY - "$LOG" "$id" <<'PY' && ok || bad "HTTP 500: retries not signed alike"
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
rs = [r for r in rs if r["headers"].get("webhook-id") == sys.argv[2]]
assert all(r["verified"] is True for r in rs), rs
PY

# ---- 429 with Retry-After: 7: the next try waits at least 7 s (8 on the
# whole-second schedule), not retry_max (2 s) ----
echo busy > "$MODE"
mark_log
new_case F2
wait_until 10 eval '[ "$(first_new attempts)" -ge 1 ]' || bad "429: not tried"
wait_ra=$(first_new "next_attempt - strftime('%s', 'now')")
[ "$wait_ra" -ge 6 ] && ok || bad "429: next attempt in $wait_ra s, want about 8"
check_log "429: log" "will be retried in [7-9] s: HTTP 429: slow down"
first_new last_error | grep -q 'HTTP 429: slow down' && ok || bad "429: last error $(first_new last_error)"
echo ok > "$MODE"
id=$(first_new msg_id)
wait_until 15 eval '[ "$(first_new status)" = sent ]' && ok || bad "429: not sent once allowed"
$PY - "$LOG" "$id" <<'PY' && ok || bad "429: Retry-After not honoured"
import json, sys
t = [json.loads(l)["time"] for l in open(sys.argv[1]) if sys.argv[2] in l]
assert len(t) >= 2 and all(b - a >= 7.0 for a, b in zip(t, t[1:])), t
PY

# ---- slower than the timeout: retried; the watchdog is fed meanwhile ----
echo slow > "$MODE"
mark_log
new_case F3
pending_with "timeout" "imed out" no-status
slow_id=$(first_new msg_id)
# While the receiver times out, the daemon should still poll and say so.
regression "STATUS is not updated (and no poll runs) while a timing-out message is retried back to back" \
	-- wait_status "outbox [1-9][0-9]*, dead 0" 8
# backed_off ID: after its second try, each retry of ID started at least
# the timeout plus half of retry_max (1 s) after the one before (less half
# a second: retries are scheduled in whole seconds; back to back would be
# the timeout alone).
backed_off() {
	$PY - "$LOG" "$1" "$TIMEOUT" <<'PY'
import json, sys
t = [json.loads(l)["time"] for l in open(sys.argv[1]) if sys.argv[2] in l]
gaps = [round(b - a, 2) for a, b in zip(t, t[1:])]
print("timeout: %d tries of one message, %s s apart" % (len(t), gaps))
sys.exit(not all(g >= float(sys.argv[3]) + 0.5 for g in gaps[1:]))
PY
}
mended "timeout"
regression "a timed-out message's retry is scheduled from the start of the delivery round, so it is retried at once" \
	-- backed_off "$slow_id"

# ---- connection reset without an answer ----
echo reset > "$MODE"
mark_log
new_case F4
pending_with "reset" "."
first_new last_error | grep -qi 'reset\|recv\|empty reply\|closed\|SSL' && ok \
	|| bad "reset: last error '$(first_new last_error)'"
mended "reset"
reset_id=$(first_new msg_id)

# ---- HTTP 400: permanent, a dead letter at once; deadlinectl retry ----
echo bad > "$MODE"
mark_log
new_case F5
wait_until 10 eval '[ "$(first_new status)" = dead ]' && ok || bad "400: not a dead letter: $(first_new status)"
[ "$(first_new attempts)" = 1 ] && ok || bad "400: tried $(first_new attempts) times"
check_log "400: log" "err: dead letter $(first_new id) (.* via hook): HTTP 400: bad request; retry with 'deadlinectl retry $(first_new id)'"
check_status "400: STATUS" "dead 1"
echo ok > "$MODE"
wait_polls 2
[ "$(first_new status)" = dead ] && ok || bad "400: a dead letter went without being retried"
expect 0 "1 dead letter queued again; the daemon sends it at its next delivery" '' \
	-- $C retry "$(first_new id)"
wait_until 10 eval '[ "$(first_new status)" = sent ]' && ok || bad "400: not sent after retry"
check_status "400 retried: STATUS" "outbox 0, dead 0"

# ---- older than notify.dead_after (2 days): a dead letter; retry --all ----
echo fail > "$MODE"
mark_log
new_case F6
wait_until 10 eval '[ "$(first_new attempts)" -ge 2 ]' || bad "dead_after: not retried"
[ "$(first_new status)" = pending ] && ok || bad "dead_after: young message not pending"
# Made three days ago, as far as the daemon can tell.
q "$STATE" "UPDATE outbox SET created = created - 3 * 86400 WHERE id > $LAST"
wait_until 10 eval '[ "$(first_new status)" = dead ]' && ok || bad "dead_after: not a dead letter: $(first_new status)"
check_log "dead_after: log" "err: dead letter $(first_new id) .*HTTP 500"
check_status "dead_after: STATUS" "dead [1-9]"
out=$($C status); rc=$?
[ $rc = 1 ] && printf '%s\n' "$out" | grep -q 'outbox .* [1-9][0-9]* dead letters' && ok \
	|| bad "dead_after: deadlinectl status: rc $rc: $out"
$C outbox --state dead | grep -q 'last error: HTTP 500' && ok || bad "dead_after: deadlinectl outbox --state dead"
echo ok > "$MODE"
expect 0 '*' '' -- $C retry --all
wait_until 10 eval '[ "$(count_new dead)" = 0 ] && [ "$(count_new pending)" = 0 ]' && ok \
	|| bad "dead_after: not sent after retry --all"
check_status "dead_after retried: STATUS" "outbox 0, dead 0"

# ---- figures: nothing lost, duplicates only where the server took a
# message in and then did not answer in time ----
watchdog_check "through the webhook faults"
stop_daemon
[ "$DRC" = 0 ] && ok || bad "exit status $DRC after SIGTERM"
q "$STATE" "SELECT msg_id || ' ' || status || ' ' || attempts FROM outbox" > "$TMP/outbox.txt"
$PY - "$TMP/outbox.txt" "$LOG" "$slow_id" <<'PY' > "$TMP/figures" && ok || bad "webhook faults: $(cat "$TMP/figures")"
import collections, json, sys
outbox = {l.split()[0]: (l.split()[1], int(l.split()[2])) for l in open(sys.argv[1])}
reqs = [json.loads(l) for l in open(sys.argv[2])]
ids = collections.Counter(r["headers"]["webhook-id"] for r in reqs)
good = collections.Counter(r["headers"]["webhook-id"] for r in reqs if r["as"] == "ok")
# A request answered too late was still taken in whole by the receiver.
late = collections.Counter(r["headers"]["webhook-id"] for r in reqs if r["as"] == "slow")
print("webhook faults: 6 kinds, %d messages, %d attempts, %d requests received, "
      "%d answered 2xx, %d taken in but answered too late"
      % (len(outbox), sum(a for _, a in outbox.values()), len(reqs), sum(good.values()),
         sum(late.values())))
assert all(s == "sent" for s, _ in outbox.values()), outbox
assert set(ids) == set(outbox), set(ids) ^ set(outbox)
assert all(r["verified"] is True for r in reqs)
assert all(n == 1 for n in good.values()) and set(good) == set(outbox), good
assert set(late) <= {sys.argv[3]}, late
PY
cat "$TMP/figures"
finish
