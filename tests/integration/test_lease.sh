# The leader lease (lease.h) against a real PostgreSQL 15 on loopback, with
# three contenders (tests/tools/dl-lease) that journal every action they take
# as leader and the trust window they took it in, on one machine-wide clock.
# Each round disturbs the leader of the moment:
#   - SIGSTOP past the lease, then SIGCONT: another takes over within
#     lease + renewal, and the old holder acts no more under its epoch;
#   - pg_terminate_backend of the leader's connection: it reconnects;
#   - kill -9: another takes over once the lease runs out;
#   - a clean SIGTERM: it resigns, and a standby woken by NOTIFY takes over
#     in under a second;
# then, once a run: PostgreSQL is restarted under them, and a leader whose
# link goes silent (a proxy that stops forwarding but keeps the sockets
# open: a half-open link) loses its trust within the lease while a standby
# takes over.  At the end tests/helpers/lease_check.py proves from the
# journals and from deadlined_lease_history that no two epochs overlapped,
# in local trust or in database time, and that no action fell outside its
# epoch's window.  LEASE_ROUNDS (default 1) repeats the rounds: `make
# soak-ha` runs 100.
. tests/integration/lib.sh
. tests/helpers/pg.sh
. tests/helpers/lease_lib.sh

ROUNDS=${LEASE_ROUNDS:-1}

ha_pg_start
CI="host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres"

for n in A B C; do start $n; done
set -- $(wait_holder "" 5000)
if [ "$1" = none ]; then bad "no leader among three contenders within 5 s"; finish; exit 1; fi
ok
echo "first leader $1 after $2 ms"
round=1
while [ $round -le "$ROUNDS" ]; do
	disrupt $round
	round=$((round + 1))
done

# PostgreSQL restarts under them: a leader again once it is back.  While
# it is down nobody can take the lease: takeovers that span the restart
# are not judged against lease + renewal (lease_check.py --excuse).
restart_from=$(now_ms)
pg_restart
restart_to=$(now_ms)
set -- $(wait_holder "" $((LIMIT + 3000)))
if [ "$1" = none ]; then bad "no leader within $2 ms of PostgreSQL's restart"
else ok; echo "after PostgreSQL's restart $1 leads after $2 ms"; fi
# ... and still one a lease later, so someone reconnected and renewed.
sleep $(( (LEASE + RENEW) / 1000 + 1 ))
set -- $(wait_holder "" $LIMIT)
if [ "$1" = none ]; then bad "nobody renewed the lease after PostgreSQL's restart"; else ok; fi

# A half-open link: X reaches PostgreSQL through a proxy that goes silent.
$PY tests/helpers/tcp_proxy.py "$TMP/proxy.port" "$PG_PORT" --seconds 120 &
PROXY=$!
PIDS="$PIDS $PROXY"
i=0
while [ ! -s "$TMP/proxy.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
start X "host=127.0.0.1 port=$(cat "$TMP/proxy.port") user=postgres dbname=postgres" \
	half "$TMP/journal-half"
set -- $(wait_holder "" 5000 half)
if [ "$1" = X ]; then ok; else bad "X (through the proxy) did not lead 'half': $1"; fi
start Y "$CI" half "$TMP/journal-half"
sleep 1
kill -USR1 $PROXY
set -- $(wait_holder X $LIMIT half)
if [ "$1" = Y ]; then ok; echo "half-open link: Y leads after $2 ms"
else bad "X's link went silent; Y did not take over within $LIMIT ms: $1"; fi
sleep 1
if grep -q "no longer leader" "$TMP/X.err"; then ok
else bad "X, cut off by a silent link, did not step down"; fi
kill -TERM "$(pid X)"
if gone "$(pid X)" 3000; then ok
else bad "X, behind a silent link, did not stop within 3 s of SIGTERM"; fi
ha_retire X

# The checker itself must see an overlap and an action outside its window.
printf 'WIN 1 a 100 200\nWIN 2 b 150 300\nACT 1 a 120\nACT 2 b 310\n' > "$TMP/bad-journal"
if $PY tests/helpers/lease_check.py "$TMP/bad-journal" > "$TMP/check.out"; then
	bad "lease_check.py passed a journal with overlapping epochs"
elif [ "$(grep -c PROBLEM "$TMP/check.out")" = 2 ]; then ok
else bad "lease_check.py on a bad journal: $(cat "$TMP/check.out")"; fi

stop_all
lease_history t "$TMP/history-t"
lease_history half "$TMP/history-half"
# Takeovers from the history, in database time: within lease + renewal of
# the lapsed holder's last renewal, under 1 s of a resignation.
for pair in "journal history-t" "journal-half history-half"; do
	set -- $pair
	if $PY tests/helpers/lease_check.py "$TMP/$1" --history "$TMP/$2" \
		--takeover-ms $((LEASE + RENEW)) --excuse "$restart_from" "$restart_to" \
		> "$TMP/check.out"; then ok
	else bad "$1: $(cat "$TMP/check.out")"; fi
	cat "$TMP/check.out"
done
$PY tests/helpers/lease_check.py "$J" --history "$TMP/history-t" | awk '/^handover_ms/ {
	if ($2 >= 1000) { print "FAIL: a clean stop handed over in " $2 " ms"; bad = 1 }
	n++; if ($2 > max) max = $2 }
	END { print "clean stops: " n ", slowest handover " max " ms"; exit bad }' \
	&& ok || bad "a handover after a clean stop took 1 s or more"
grep -h -i "password" "$TMP"/*.err && bad "a password reached the log"
sanitizer_reports
finish
