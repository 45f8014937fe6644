# The PostgreSQL store's outbox fence (state_pg.h), step by step against a
# real PostgreSQL 15 and a lease row set by hand: a message is claimed only
# under the epoch that holds the lease, marked sent only while the epoch
# that claimed it still holds, taken over by a newer epoch, never marked by
# an older one, and counted for its recipient's daily cap exactly once.
# Also: the schema is made once when two daemons open it at the same
# moment, and a database of a newer schema is refused, untouched.
. tests/integration/lib.sh
. tests/helpers/pg.sh

OUTBOX=$BUILD/tools/dl-outbox
trap 'pg_stop; rm -rf "$TMP"' EXIT

if ! pg_start "$TMP/pg"; then
	bad "PostgreSQL 15 would not start (see above)"
	finish
	exit 1
fi
CI="host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres"
DAY=2026-12-07

# run WANT ARGS...: dl-outbox's output (lines joined by |) must be WANT.
run() {
	_want=$1
	shift
	_out=$("$OUTBOX" "$CI" "$@" 2>"$TMP/err" | paste -sd'|')
	if [ "$_out" = "$_want" ]; then ok
	else bad "dl-outbox $*: printed '$_out', want '$_want' ($(cat "$TMP/err"))"; fi
}
# lease EPOCH HOLDER 'INTERVAL': set the lease row by hand.
lease() {
	pg_psql -c "UPDATE deadlined_lease SET epoch = $1, holder = '$2',
		expires_at = now() + interval '$3' WHERE name = 't'"
}

# Two first opens at once: one makes the schema (every version up to this
# source's), the other waits for it.
"$OUTBOX" "$CI" open > "$TMP/v1" 2>&1 &
P1=$!
"$OUTBOX" "$CI" open > "$TMP/v2" 2>&1
wait $P1
v=$(pg_psql -At -c "SELECT string_agg(version::text, ',') FROM deadlined_schema")
if [ "$v" = "$PG_SCHEMA" ] && [ ! -s "$TMP/v1" ] && [ ! -s "$TMP/v2" ]; then ok
else bad "two first opens: version '$v', '$(cat "$TMP/v1")' and '$(cat "$TMP/v2")'"; fi

pg_psql -c "INSERT INTO deadlined_lease VALUES ('t', 'A', 5, now(), now(), now() + interval '1 hour')"
I1=$("$OUTBOX" "$CI" enqueue m1 w@example.org 100)
I2=$("$OUTBOX" "$CI" enqueue m2 w@example.org 100)
I3=$("$OUTBOX" "$CI" enqueue m3 w@example.org 100)

# Only the epoch that holds the lease may claim.
run fenced claim t 4 1000 10
run fenced claim t 6 1000 10
run "claimed $I1 m1|claimed $I2 m2" claim t 5 1000 2
run sent sent t 5 "$I1" w@example.org $DAY
run 1 count w@example.org $DAY

# The lease expires (a paused leader): epoch 5 can neither mark nor claim.
lease 5 A '-1 second'
run fenced sent t 5 "$I2" w@example.org $DAY
run fenced claim t 5 1000 10
run "$I1 m1 sent|$I2 m2 pending|$I3 m3 pending" list
run 1 count w@example.org $DAY

# Epoch 6 takes over what 5 had claimed; 5 still cannot mark it.
lease 6 B '1 hour'
run "claimed $I2 m2|claimed $I3 m3" claim t 6 1000 10
run fenced sent t 5 "$I2" w@example.org $DAY
run sent sent t 6 "$I2" w@example.org $DAY
run pending retry t 6 "$I3" 2000
run "" claim t 6 1000 10
run "claimed $I3 m3" claim t 6 3000 10

# Epoch 7 takes a claim of 6, which then cannot mark it; 7 can, once.
lease 7 C '1 hour'
run "claimed $I3 m3" claim t 7 3000 10
run fenced sent t 6 "$I3" w@example.org $DAY
run sent sent t 7 "$I3" w@example.org $DAY
run fenced sent t 7 "$I3" w@example.org $DAY
run 3 count w@example.org $DAY
run "$I1 m1 sent|$I2 m2 sent|$I3 m3 sent" list

# A database of a newer schema is refused and left as it was.
pg_psql -c "UPDATE deadlined_schema SET version = 99"
if "$OUTBOX" "$CI" open > "$TMP/out" 2> "$TMP/err"; then
	bad "a schema version 99 database was opened"
elif grep -q "schema version 99, newer than this deadlined understands" "$TMP/err"; then ok
else bad "newer schema: $(cat "$TMP/err")"; fi
if [ "$(pg_psql -At -c "SELECT version FROM deadlined_schema")" = 99 ]; then ok
else bad "the newer schema's version was changed"; fi
finish
