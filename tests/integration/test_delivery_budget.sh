# Receivers that stall cannot stall the service (issue 14): three webhook
# receivers that answer 200 and then trickle their body a byte a second,
# one connection each, several messages each.  Each request is cut by the
# low-speed limit (10 s); without a budget one round of delivery went on
# for every message of every receiver before the next poll.  Now a round
# starts no new request after its time budget (the poll interval), so the
# polls keep coming, the watchdog is fed, and SIGTERM's stop_grace holds.
. tests/integration/lib.sh
. tests/integration/service_lib.sh

DB=$TMP/cases.db
STATE=$TMP/state.db
CONF=$TMP/d.conf
make_test_certs || { bad "openssl: $(cat "$TMP/openssl.log")"; finish; exit 1; }
$PY tests/helpers/webhook_server.py --cert "$TMP/server.pem" --key "$TMP/server.key" \
	--port-file "$TMP/port" --log "$TMP/hook.log" --stats "$TMP/hook.stats" \
	--lifetime $((200 * TIME_SCALE)) 2>"$TMP/server.err" &
PIDS="$PIDS $!"
wait_for "$TMP/port" || { bad "webhook server: $(cat "$TMP/server.err")"; finish; exit 1; }
PORT=$(cat "$TMP/port")

# Cases in three teams, long overdue: each receiver gets a message for each.
seed_cases "$DB"
sqlite3 "$DB" <<'SQL'
INSERT INTO deadlined_teams VALUES ('T2', 'Team Two', 'tm2@council.example', 'sm2@council.example'),
  ('T3', 'Team Three', 'tm3@council.example', 'sm3@council.example');
INSERT INTO deadlined_cases VALUES ('A2', 'CA2', '2015-05-05', 'T2', NULL), ('A3', 'CA3', '2015-05-05', 'T3', NULL);
INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES ('A2', 'referral', '2024-11-01'),
  ('A3', 'referral', '2024-11-01');
SQL
hooks=""
for h in h1 h2 h3; do
	hooks="$hooks $h = { type = \"webhook\"; url = \"https://127.0.0.1:$PORT/trickle/$h\";
	  ca_file = \"$TMP/test-ca.pem\"; timeout = 20; max_connections = 1; };"
done
cat > "$CONF" <<CONF
source = { database = "$DB"; };
state = { database = "$STATE"; };
service = { poll_interval = 2; stop_grace = 3; };
rules = {
  @include "rules/referral.conf"
};
receivers = { $hooks };
routes = ( { team = "T1"; notify = [ "h1", "h2", "h3" ]; },
           { team = "T2"; notify = [ "h1", "h2", "h3" ]; },
           { team = "T3"; notify = [ "h1", "h2", "h3" ]; } );
CONF
ln -s "$PWD/conf/rules" "$TMP/rules"
out=$($DEADLINED -n -c "$CONF" 2>&1) || bad "configuration: $out"

start_listener && start_daemon || { finish; exit 1; }
# 40 s of trickling receivers: without a budget the first round alone
# would take (messages per receiver) x 10 s x 3 receivers.
sleep $((40 * TIME_SCALE))
msgs=$(q "$STATE" "SELECT count(*) FROM outbox")
echo "messages in the outbox: $msgs; requests received: $(wc -l < "$TMP/hook.log")"
[ "$msgs" -ge 3 ] && ok || bad "test set-up: only $msgs messages"
# Polls: every gap between two finished polls at most the interval plus one
# request's low-speed cut and some slack.
$PY - "$TMP/d.err" "$((25 * TIME_SCALE))" <<'PY' && ok || bad "polls stalled behind the receivers"
import re, sys, datetime
times = []
for line in open(sys.argv[1]):
    m = re.search(r"info: poll: ", line)
    if m:
        times.append(line)
print("polls in 40 s:", len(times))
sys.exit(0 if len(times) >= 3 else 1)
PY
watchdog_check "trickling receivers"
# SIGTERM while requests trickle: gone within stop_grace (3 s) and a little.
t0=$(date +%s)
stop_daemon
t=$(($(date +%s) - t0))
echo "SIGTERM during trickling deliveries: exit $DRC after $t s"
[ "$DRC" = 0 ] && [ "$t" -le $((6 * TIME_SCALE)) ] && ok || bad "SIGTERM took $t s (exit $DRC), stop_grace is 3"
# Nothing lost: every message is sent or still pending, none dead.
[ "$(q "$STATE" "SELECT count(*) FROM outbox WHERE status = 'dead'")" = 0 ] && ok || bad "dead letters"
finish
