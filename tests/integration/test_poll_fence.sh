# A leader deposed in the middle of a full poll into the PostgreSQL store
# commits nothing of it (the fence at every commit, state_pg.c), and loses
# nothing: the next leader's poll makes the same alerts.  deadlined --once
# takes the lease, is stopped (SIGSTOP) during its staged full poll,
# another holder takes the lease with a newer epoch, and it is let go on
# (SIGCONT): it must fail saying it is fenced, with the obligations, the
# notified log, the outbox and the polls exactly as they were when it was
# stopped.
. tests/integration/lib.sh
. tests/helpers/pg.sh
PY=/usr/bin/python3
trap 'pg_stop; rm -rf "$TMP"' EXIT

pg_start "$TMP/pg" || { bad "PostgreSQL 15 would not start"; finish; exit 1; }
pg_psql -c "CREATE DATABASE st" > /dev/null
# Under valgrind every poll is slow enough to be stopped in the middle.
CASES=6000
[ "${VALGRIND:-}" = 1 ] && CASES=1000
$PY tools/gen-demo.py --out "$TMP/cases.db" --seed 11 --cases $CASES --as-of 2026-11-23 \
	> /dev/null 2> "$TMP/gen.err" || { bad "gen-demo: $(cat "$TMP/gen.err")"; finish; exit 1; }
ln -sfn "$PWD/conf/rules" "$TMP/rules"
sed -e "s#/var/lib/deadlined/cases.db#$TMP/cases.db#" -e '/^state = {/,/^};/d' \
    -e '/^# Where alerts go/,$d' conf/deadlined.conf > "$TMP/d.conf"
cat >> "$TMP/d.conf" <<CONF
state = { driver = "postgresql"; conninfo = "host=127.0.0.1 port=$PG_PORT dbname=st user=postgres"; };
ha = { lease = 60; renew = 1; margin = 1; };
receivers = { box = { type = "maildir"; path = "$TMP/mail"; from = "d@council.example"; }; };
notify = { mail_receiver = "box"; reminder_interval = "0 days"; };
CONF
q() { PG_DB=st pg_psql -At -c "$1"; }
# Everything a poll commits, as one line.
stored() {
	q "SELECT (SELECT md5(string_agg(case_ref || rule || seq || level || alerted_level ||
		coalesce(fp, 0) || coalesce(closed, '-'), ',' ORDER BY case_ref, rule, seq))
		FROM obligations), (SELECT count(*) FROM notified), (SELECT count(*) FROM outbox),
		(SELECT count(*) FROM polls), (SELECT count(*) FROM rechecks)"
}

$DEADLINED --once --as-of 2026-11-23 -c "$TMP/d.conf" > /dev/null 2> "$TMP/d.err" \
	&& ok || bad "first run: $(cat "$TMP/d.err")"
q "UPDATE deadlined_lease SET expires_at = now()" > /dev/null

# A week on (alerts to make), stopped once it holds the lease and polls.
$DEADLINED --once --as-of 2026-11-30 -c "$TMP/d.conf" > "$TMP/out" 2> "$TMP/err" &
pid=$!
i=0
while [ $i -lt 500 ] && [ "$(q "SELECT count(*) FROM deadlined_lease WHERE holder LIKE '%:$pid'")" != 1 ]; do
	i=$((i + 1))
	sleep 0.01
done
kill -STOP $pid
before=$(stored)
q "UPDATE deadlined_lease SET holder = 'thief:1', epoch = epoch + 1,
	expires_at = now() + interval '1 hour'" > /dev/null
kill -CONT $pid
wait $pid && bad "the deposed poll succeeded: $(cat "$TMP/out")" || ok
grep -q "fenced" "$TMP/err" && ok || bad "the deposed poll did not say it was fenced: $(cat "$TMP/err")"
after=$(stored)
[ "$before" = "$after" ] && ok || bad "the deposed poll committed: before $before, after $after"

# The thief goes; the next leader's poll makes the week's alerts.
q "UPDATE deadlined_lease SET expires_at = now()" > /dev/null
n0=$(q "SELECT count(*) FROM outbox")
$DEADLINED --once --as-of 2026-11-30 -c "$TMP/d.conf" > "$TMP/out" 2> "$TMP/err" \
	&& ok || bad "the next leader's poll: $(cat "$TMP/err")"
n1=$(q "SELECT count(*) FROM outbox")
[ "$n1" -gt "$n0" ] && ok || bad "the next leader made no messages ($n0 then $n1)"
[ "$(stored)" != "$after" ] && ok || bad "the next leader's poll stored nothing"
finish
