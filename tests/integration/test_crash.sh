# Crash safety: deadlined --once is killed with SIGKILL at random moments
# over 120 evaluate-and-deliver cycles against a real HTTPS webhook receiver
# on loopback, and restarted each time.  Afterwards every message that
# should have been sent arrived at least once, nothing arrived that should
# not have, and the only duplicates are messages in flight at a kill (at
# most once more each per kill, with the same webhook-id: a kill can catch
# up to max_connections (4) messages in flight).
. tests/integration/lib.sh
PY=/usr/bin/python3
CYCLES=${CRASH_CYCLES:-120}
WINDOW=0.25
if [ "${VALGRIND:-}" = 1 ]; then
	# Under memcheck a run takes over a second to reach its poll, so kills
	# 0-250 ms in would all land in start-up: wider windows, fewer cycles.
	CYCLES=${CRASH_CYCLES:-20}
	WINDOW=3
	not_run "120 cycles with kills 0-250 ms in (under valgrind: $CYCLES cycles, kills 0-$WINDOW s in)"
fi

make_test_certs || { bad "openssl: $(cat "$TMP/openssl.log")"; finish; exit 1; }
$PY tests/helpers/webhook_server.py --cert "$TMP/server.pem" --key "$TMP/server.key" \
	--port-file "$TMP/port" --log "$TMP/hook.log" --stats "$TMP/hook.stats" \
	--lifetime 600 2>"$TMP/server.err" &
SRV=$!
trap 'kill $SRV 2>/dev/null; rm -rf "$TMP"' EXIT
wait_for "$TMP/port" || { bad "webhook server: $(cat "$TMP/server.err")"; finish; exit 1; }
PORT=$(cat "$TMP/port")

sqlite3 "$TMP/cases.db" < conf/schema/native.sql
sqlite3 "$TMP/cases.db" "INSERT INTO deadlined_teams VALUES ('T1', 'Duty', 'tm@council.example', 'sm@council.example');"
ln -sfn "$PWD/conf/rules" "$TMP/rules"
cat > "$TMP/d.conf" <<CONF
source = { database = "$TMP/cases.db"; };
state = { database = "$TMP/state.db"; };
rules = {
  @include "rules/referral.conf"
};
receivers = {
  hook = { type = "webhook"; url = "https://127.0.0.1:$PORT/ok/crash?delay=0.03";
           ca_file = "$TMP/test-ca.pem"; connect_timeout = 2; timeout = 5; };
};
notify = { retry_initial = 1; retry_max = 1; };
routes = ( { notify = [ "hook" ]; } );
CONF

# One cycle: a new overdue referral, then a poll that may be killed.
kills=0
i=1
while [ $i -le "$CYCLES" ]; do
	sqlite3 "$TMP/cases.db" "INSERT INTO deadlined_cases VALUES ('K$i', 'C$i', NULL, 'T1', NULL);
		INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES ('K$i', 'referral', '2024-11-01');"
	$DEADLINED --once --as-of 2025-01-20 -c "$TMP/d.conf" >/dev/null 2>>"$TMP/d.err" &
	pid=$!
	# Somewhere in 0-250 ms: during start-up, the poll's transaction or a send.
	sleep "$(awk -v s="$i$$" -v w="$WINDOW" 'BEGIN { srand(s); printf "%.3f", rand() * w }')"
	if kill -KILL $pid 2>/dev/null; then kills=$((kills + 1)); fi
	wait $pid 2>/dev/null
	i=$((i + 1))
done
# A last poll, not killed, sends whatever is left; retries wait a second.
sleep 1.1
$DEADLINED --once --as-of 2025-01-20 -c "$TMP/d.conf" >/dev/null 2>>"$TMP/d.err" || bad "final poll failed"
sleep 1.1
$DEADLINED --once --as-of 2025-01-20 -c "$TMP/d.conf" >/dev/null 2>>"$TMP/d.err" || bad "final poll failed"

sqlite3 "$TMP/state.db" "SELECT msg_id || ' ' || status FROM outbox" > "$TMP/outbox.txt"
$PY - "$TMP/outbox.txt" "$TMP/hook.log" "$CYCLES" "$kills" <<'PY' > "$TMP/figures" && ok || bad "crash safety: $(cat "$TMP/figures")"
import collections, json, sys
outbox = dict(line.split() for line in open(sys.argv[1]))
received = [json.loads(l) for l in open(sys.argv[2])]
cycles, kills = int(sys.argv[3]), int(sys.argv[4])
ids = collections.Counter(r["headers"]["webhook-id"] for r in received)
unsent = [m for m, s in outbox.items() if s != "sent"]
missing = [m for m in outbox if m not in ids]
unexpected = [m for m in ids if m not in outbox]
dups = {m: n for m, n in ids.items() if n > 1}
extra = sum(n - 1 for n in dups.values())
cases = set()
for r in received:
    for item in json.loads(r["body"]).get("items", []):
        cases.add(item["case_ref"])
want = {"K%d" % i for i in range(1, cycles + 1)}
print("cycles %d, kills %d, messages %d, received %d, messages sent more than once %d "
      "(%d extra deliveries, at most %d of one message), cases alerted %d of %d"
      % (cycles, kills, len(outbox), len(received), len(dups), extra,
         max(dups.values(), default=1), len(cases & want), len(want)))
assert not unsent, ("not sent", unsent)
assert not missing, ("never arrived", missing)
assert not unexpected, ("arrived but never made", unexpected)
# Each extra delivery needs a kill that caught the message in flight.
assert extra <= 4 * kills, (extra, kills)
assert all(n - 1 <= kills for n in dups.values()), dups
assert all(r["verified"] is not False for r in received)
assert want <= cases, sorted(want - cases)
PY
cat "$TMP/figures"
finish
