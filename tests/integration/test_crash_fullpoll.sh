# Crash safety of a chunked full poll: deadlined --once is killed with
# SIGKILL at random moments of its full poll (the evaluation, the short
# transactions that apply what tells nobody, the final transaction with the
# alerts and their messages, delivery) and restarted, first over an empty
# state (tens of thousands of obligations, several chunks) and then day
# after day as the clocks move.  A second state database goes through the
# same days without kills.  Afterwards:
#  - every message made was sent and arrived; nothing arrived that was not
#    made (no alert lost);
#  - no alert (kind, case, rule, seq, stage) arrived in two different
#    messages; the only repeats are a message in flight at a kill, with
#    the same webhook-id (nothing sent twice);
#  - the open obligations, with what was alerted, are those of the run
#    without kills, and the alert of each alerted one at its level reached
#    the receiver;
#  - the open obligations' four indexes, which a first run builds at its
#    end (SQLite), are there again and the tray's query uses them: a first
#    run cut short leaves them to the next full poll.
# CRASH_STORE=postgresql runs the same against the PostgreSQL store
# (test_crash_fullpoll_pg.sh); the store_* functions are all that differ.
. tests/integration/lib.sh
STORE=${CRASH_STORE:-sqlite}
PY=/usr/bin/python3
CASES=${CRASH_CASES:-6000}
DAYS=${CRASH_DAYS:-12}
SCALE=1
if [ "${VALGRIND:-}" = 1 ]; then
	CASES=${CRASH_CASES:-600}
	DAYS=${CRASH_DAYS:-4}
	SCALE=20
	# Too few obligations for several chunks of a full poll's apply
	# (STAGE_CHUNK, 10,000 rows): the kills between chunks are left to
	# the run without valgrind, and said so, never counted as passed.
	not_run "6000 cases and 12 days, and kills between the chunks of a first run" \
		"(under valgrind: $CASES cases, $DAYS days, one chunk)"
fi

make_test_certs || { bad "openssl: $(cat "$TMP/openssl.log")"; finish; exit 1; }
$PY tests/helpers/webhook_server.py --cert "$TMP/server.pem" --key "$TMP/server.key" \
	--port-file "$TMP/port" --log "$TMP/hook.log" --stats "$TMP/hook.stats" \
	--lifetime 1800 2>"$TMP/server.err" &
SRV=$!
trap 'kill $SRV 2>/dev/null; [ "$STORE" = sqlite ] || pg_stop; rm -rf "$TMP"' EXIT
wait_for "$TMP/port" || { bad "webhook server: $(cat "$TMP/server.err")"; finish; exit 1; }
PORT=$(cat "$TMP/port")

# store_q NAME SQL: rows of SQL from the state store NAME (state, ref),
# columns separated by |.  store_group NAME: the configuration on stdin
# with its state group naming that store.  store_free NAME: after a kill,
# the dead daemon's lease ends now rather than in its 15 s (PostgreSQL:
# --once refuses while a lease holds; the kills are what is tested here,
# not the lease).
# store_indexes NAME: how many of the open obligations' four indexes the
# store has; store_tray_plan NAME: the plan of the tray's question.
OPEN_INDEXES="'obligations_open', 'obligations_worker', 'obligations_manager',
	'obligations_service_manager'"
if [ "$STORE" = sqlite ]; then
	store_q() { sqlite3 "$TMP/$1.db" "$2"; }
	store_group() { cat; }
	store_free() { :; }
	store_indexes() {
		store_q "$1" "SELECT count(*) FROM sqlite_master WHERE type = 'index'
			AND name IN ($OPEN_INDEXES)"
	}
	store_tray_plan() {
		store_q "$1" "EXPLAIN QUERY PLAN SELECT case_ref FROM obligations
			WHERE closed IS NULL AND worker_email = 'x@y' COLLATE NOCASE
			ORDER BY level DESC, days_overdue DESC"
	}
else
	. tests/helpers/pg.sh
	pg_start "$TMP/pg" || { bad "PostgreSQL 15 would not start"; finish; exit 1; }
	pg_psql -c "CREATE DATABASE state" -c "CREATE DATABASE ref" > /dev/null
	store_q() { PG_DB=$1 pg_psql -At -c "$2"; }
	# The lease renewed many times a poll: a renewal during the poll's
	# snapshot must not stop it.
	store_group() {
		sed -e '/^state = {/,/^};/d'
		echo "state = { driver = \"postgresql\"; conninfo = \"host=127.0.0.1 port=$PG_PORT dbname=$1 user=postgres\"; };"
		echo "ha = { lease = 5; renew = 0.2; margin = 1; };"
	}
	store_free() {
		store_q "$1" "UPDATE deadlined_lease SET expires_at = now() WHERE expires_at > now()" \
			> /dev/null 2>&1 || true
	}
	store_indexes() {
		store_q "$1" "SELECT count(*) FROM pg_indexes WHERE tablename = 'obligations'
			AND indexname IN ($OPEN_INDEXES)"
	}
	store_tray_plan() {
		store_q "$1" "SET enable_seqscan = off; EXPLAIN SELECT case_ref FROM obligations
			WHERE closed IS NULL AND lower(worker_email) = 'x@y'
			ORDER BY level DESC, days_overdue DESC"
	}
fi

$PY tools/gen-demo.py --out "$TMP/cases.db" --seed 7 --cases "$CASES" --as-of 2026-11-23 \
	>/dev/null 2>"$TMP/gen.err" || { bad "gen-demo: $(cat "$TMP/gen.err")"; finish; exit 1; }
ln -sfn "$PWD/conf/rules" "$TMP/rules"
# The example configuration; every alert to the webhook, all items listed,
# no reminders (a reminder's day depends on which polls a kill let finish).
conf() {
	sed -e "s#/var/lib/deadlined/cases.db#$TMP/cases.db#" \
	    -e "s#/var/lib/deadlined/state.db#$TMP/$1.db#" \
	    -e '/^# Where alerts go/,$d' conf/deadlined.conf | store_group "$1"
	cat <<CONF
receivers = {
  hook = { type = "webhook"; url = "https://127.0.0.1:$PORT/ok/$2";
           ca_file = "$TMP/test-ca.pem"; connect_timeout = 2; timeout = 5; };
};
notify = { retry_initial = 1; retry_max = 1; max_items = 100000; reminder_interval = "0 days"; };
routes = ( { notify = [ "hook" ]; } );
CONF
}
conf state crash > "$TMP/d.conf"
conf ref ref > "$TMP/ref.conf"
obligations() { store_q "$1" "SELECT count(*) FROM obligations" 2>/dev/null || echo 0; }
once() { $DEADLINED --once --as-of "$1" -c "$2" >/dev/null 2>>"$TMP/d.err"; }

# timed_ref DAY: the run without kills; its time (ms) is the window the
# kills of that day fall in.
timed_ref() {
	_t0=$(date +%s%N)
	once "$1" "$TMP/ref.conf" || bad "reference run $1 failed: $(tail -n 3 "$TMP/d.err")"
	window=$(( ($(date +%s%N) - _t0) / 1000000 ))
}
timed_ref 2026-11-23
full=$(obligations ref)
if [ "${VALGRIND:-}" = 1 ]; then
	[ "$full" -gt 0 ] && ok || bad "the reference run stored no obligations"
else
	[ "$full" -gt 20000 ] && ok || bad "only $full obligations: too few for several chunks"
fi

# run_killed DAY SEED: one run, killed somewhere in the window (or finished).
kills=0
run_killed() {
	$DEADLINED --once --as-of "$1" -c "$TMP/d.conf" >/dev/null 2>>"$TMP/d.err" &
	_pid=$!
	sleep "$(awk -v s="$2$$" -v w="$window" 'BEGIN { srand(s); printf "%.3f", rand() * w / 1000 }')"
	if kill -KILL $_pid 2>/dev/null; then kills=$((kills + 1)); fi
	wait $_pid 2>/dev/null
	store_free state
}

# The first run, killed as soon as some of its chunks are committed and not
# all (three times), then at random until one finishes (bounded).  bare
# counts the kills that left the store without an open index.
partial=0
bare=0
i=0
while [ $i -lt 3 ]; do
	i=$((i + 1))
	$DEADLINED --once --as-of 2026-11-23 -c "$TMP/d.conf" >/dev/null 2>>"$TMP/d.err" &
	_pid=$!
	while kill -0 $_pid 2>/dev/null; do
		_n=$(obligations state)
		if [ "$_n" -gt 0 ] && [ "$_n" -lt "$full" ]; then
			kill -KILL $_pid 2>/dev/null && partial=$((partial + 1)) && kills=$((kills + 1))
			break
		fi
	done
	wait $_pid 2>/dev/null
	store_free state
	[ "$(store_indexes state)" = 4 ] || bare=$((bare + 1))
done
i=0
while [ $i -lt $((20 * SCALE)) ] && [ "$(obligations state)" != "$full" ]; do
	i=$((i + 1))
	run_killed 2026-11-23 "$i"
done
# Then day by day as the clocks move, each day's runs killed somewhere.
day=0
while [ $day -lt "$DAYS" ]; do
	day=$((day + 1))
	d=$(date -u -d "2026-11-23 + $day days" +%Y-%m-%d)
	timed_ref "$d"
	run_killed "$d" "$day"
	run_killed "$d" "$day$day"
done
# Last runs, not killed, send what is left (retries wait a second).
once "$d" "$TMP/d.conf" || bad "final run failed: $(tail -n 3 "$TMP/d.err")"
sleep 1.1
once "$d" "$TMP/d.conf" || bad "final run failed: $(tail -n 3 "$TMP/d.err")"
once "$d" "$TMP/ref.conf" || bad "final reference run failed"
[ "$partial" -ge 2 ] && ok || bad "only $partial kills landed between the chunks of a first run"
# Whatever the kills cut short, the open indexes are back and used.  (The
# SQLite store builds them at a first run's end: a kill in it leaves none;
# under valgrind, kills between chunks are not run, as said above.)
if [ "$STORE" = sqlite ] && [ "${VALGRIND:-}" != 1 ]; then
	[ "$bare" -ge 1 ] && ok || bad "no kill left the store without its open indexes"
fi
n=$(store_indexes state)
[ "$n" = 4 ] && ok || bad "$n of the 4 open obligations' indexes after the runs ($bare kills left some out)"
if store_tray_plan state | grep -q "obligations_worker"; then ok; else
	bad "the tray's query does not use obligations_worker: $(store_tray_plan state | head -n 3)"
fi

# The open obligations and what was alerted, against the run without kills.
cols="case_ref, rule, seq, state, stage, days_overdue, level, alerted_level"
q="SELECT $cols FROM obligations WHERE level >= 0 ORDER BY case_ref, rule, seq"
store_q state "$q" > "$TMP/open.crash"
store_q ref "$q" > "$TMP/open.ref"
if cmp -s "$TMP/open.crash" "$TMP/open.ref"; then ok; else
	bad "open obligations differ from the run without kills: $(diff "$TMP/open.ref" "$TMP/open.crash" | head -n 5)"
fi
store_q state "SELECT msg_id || ' ' || status FROM outbox" > "$TMP/outbox.txt"
# Each alerted open obligation, with the kind of its alert at that level.
store_q state "SELECT case_ref || ' ' || rule || ' ' || seq || ' ' ||
	CASE alerted_level WHEN 1 THEN 'due-soon' WHEN 2 THEN 'overdue' ELSE 'escalation' END
	FROM obligations WHERE level >= 1 AND alerted_level = level" > "$TMP/alerted.txt"
$PY - "$TMP/outbox.txt" "$TMP/hook.log" "$TMP/alerted.txt" "$kills" "$partial" <<'PY' \
	> "$TMP/figures" && ok || bad "chunked full poll crash safety: $(cat "$TMP/figures")"
import collections, json, sys
outbox = dict(line.split() for line in open(sys.argv[1]))
received = [r for r in map(json.loads, open(sys.argv[2])) if r["path"].startswith("/ok/crash")]
alerted = {tuple(l.split()) for l in open(sys.argv[3])}
kills, partial = int(sys.argv[4]), int(sys.argv[5])
ids = collections.Counter(r["headers"]["webhook-id"] for r in received)
bodies = {}
for r in received:
    bodies[r["headers"]["webhook-id"]] = json.loads(r["body"])
seen = collections.defaultdict(set)     # alert -> distinct messages
for mid, doc in bodies.items():
    for it in doc.get("items", []):
        seen[(doc["type"], it["case_ref"], it["rule"], it["seq"], it["stage"])].add(mid)
doubled = {k: v for k, v in seen.items() if len(v) > 1}
told = {(k[1], k[2], str(k[3]), k[0]) for k in seen}
unsent = [m for m, s in outbox.items() if s != "sent"]
missing = [m for m in outbox if m not in ids]
unexpected = [m for m in ids if m not in outbox]
extra = sum(n - 1 for n in ids.values())
print("kills %d (%d between chunks of a first run), messages %d, received %d, alerts %d, "
      "repeats of a message in flight %d, alerted obligations %d"
      % (kills, partial, len(outbox), len(received), len(seen), extra, len(alerted)))
assert not unsent, ("not sent", unsent[:5])
assert not missing, ("never arrived", missing[:5])
assert not unexpected, ("arrived but never made", unexpected[:5])
assert not doubled, ("an alert in two messages", list(doubled.items())[:3])
assert extra <= 4 * kills, (extra, kills)
assert alerted <= told, ("alerted but never arrived", sorted(alerted - told)[:5])
assert all(r["verified"] is not False for r in received)
PY
cat "$TMP/figures"
finish
