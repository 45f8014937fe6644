# Three outbox workers (tests/tools/dl-lease with a receiver) share one
# PostgreSQL 15 store and its lease, and deliver to a real HTTPS webhook
# receiver (tests/helpers/webhook_server.py) while messages keep arriving and
# the leader of the moment is disturbed (SIGSTOP past the lease then SIGCONT,
# pg_terminate_backend, kill -9 in the middle of a batch, a clean SIGTERM).
# From the receiver's own log and the workers' journals
# (tests/helpers/lease_check.py):
#   - every message reached the receiver (zero lost);
#   - a message reached it twice only when a send was cut off before it was
#     marked sent (in flight at a failure), and always with its stable id
#     (the webhook-id header);
#   - every send lies inside its epoch's trust window: nothing was sent by a
#     stale leader, and no two epochs overlap (journals and lease history);
#   - every takeover came within lease + renewal of the lapsed holder's last
#     renewal, and within 1 s of a resignation (lease history, database time);
#   - each message counted once towards the recipient's daily count.
# HA_ROUNDS (default 1) repeats the disturbances: `make soak-ha` runs more.
. tests/integration/lib.sh
. tests/helpers/pg.sh
. tests/helpers/lease_lib.sh

ROUNDS=${HA_ROUNDS:-1}
N=$((150 * ROUNDS))
LOG=$TMP/receiver.log

make_test_certs || { bad "openssl: $(cat "$TMP/openssl.log")"; finish; exit 1; }
$PY tests/helpers/webhook_server.py --cert "$TMP/server.pem" --key "$TMP/server.key" \
	--port-file "$TMP/port" --log "$LOG" --stats "$TMP/stats" \
	--lifetime $((300 * ROUNDS)) 2> "$TMP/server.err" &
PIDS="$PIDS $!"
i=0
while [ ! -s "$TMP/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
[ -s "$TMP/port" ] || { bad "webhook server did not start: $(cat "$TMP/server.err")"; finish; exit 1; }
ha_pg_start
CI="host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres"
WORKER_CONF=$TMP/worker.conf
cat > "$WORKER_CONF" <<CONF
receivers = {
  r = { type = "webhook"; url = "https://127.0.0.1:$(cat "$TMP/port")/ok/ha?delay=0.05";
        ca_file = "$TMP/test-ca.pem"; connect_timeout = 1; timeout = 2; };
};
CONF
"$BUILD/tools/dl-outbox" "$CI" open || { bad "the store would not open"; finish; exit 1; }

# Messages m1 .. mN arrive 15 at a time, every 0.6 s, in the background;
# each takes the receiver 50 ms, so a disturbance finds a batch under way.
(
	i=1
	while [ $i -le $N ]; do
		pg_psql -c "INSERT INTO outbox (msg_id, receiver, recipient, kind, payload,
			created, next_attempt) SELECT 'm' || g, 'r', 'w@example.org', 'overdue',
			'{\"id\": \"m' || g || '\"}', extract(epoch FROM now())::bigint, 0
			FROM generate_series($i, $((i + 14))) g" || exit 1
		i=$((i + 15))
		sleep 0.6
	done
) &
FEED=$!

for n in A B C; do start $n; done
set -- $(wait_holder "" 5000)
if [ "$1" = none ]; then
	bad "no leader among three workers within 5 s: $(cat "$TMP"/?.err)"; finish; exit 1
fi
ok
round=1
while [ $round -le "$ROUNDS" ]; do
	disrupt $round
	round=$((round + 1))
done
wait $FEED || bad "feeding the outbox failed"

# Everything is sent, in bounded time.
# (30 s, and a second more for each 20 messages: a soak's backlog.)
i=0
while [ $i -lt $((300 + N / 2)) ]; do
	left=$(pg_psql -At -c "SELECT $N - count(*) FILTER (WHERE status = 'sent') FROM outbox")
	[ "$left" = 0 ] && break
	sleep 0.1
	i=$((i + 1))
done
if [ "$left" = 0 ]; then ok; else bad "$left of $N messages still not sent after $((i / 10)) s"; fi
stop_all
lease_history t "$TMP/history"
if $PY tests/helpers/lease_check.py "$J" --history "$TMP/history" --takeover-ms $((LEASE + RENEW)) \
		--receiver-log "$LOG" \
		--messages $N > "$TMP/check.out"; then ok
else bad "$(cat "$TMP/check.out")"; fi
cat "$TMP/check.out"
count=$(pg_psql -At -c "SELECT sum(n) FROM sent_count WHERE recipient = 'w@example.org'")
if [ "$count" = "$N" ]; then ok; else bad "daily counts add up to $count, want $N (once each)"; fi
sanitizer_reports
finish
