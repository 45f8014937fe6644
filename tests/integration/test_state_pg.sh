# The PostgreSQL state store (state.driver = "postgresql") does what the
# SQLite store does: the same polls (deadlined --once), acknowledgements,
# outbox, status, digests and report give the same answers and the same
# messages from both, on a real PostgreSQL 15.  Also: the password comes
# from a file and never shows; a conninfo holding one is refused; a
# read-only deadlinectl makes nothing in an empty database; a newer schema
# is refused.  Both stores see a first run, then full polls through the
# merge and the stage with obligations met, gone, changed and new; they
# end holding the same rows.
. tests/integration/lib.sh
. tests/helpers/pg.sh
trap 'pg_stop; rm -rf "$TMP"' EXIT
C=$DEADLINECTL
DB=$TMP/cases.db

if ! pg_start "$TMP/pg"; then
	bad "PostgreSQL 15 would not start (see above)"
	finish
	exit 1
fi
pg_psql -c "CREATE DATABASE state_pg" -c "CREATE DATABASE empty_pg" \
	-c "CREATE ROLE deadlined LOGIN PASSWORD 'pw-Secret-42'" \
	-c "ALTER DATABASE state_pg OWNER TO deadlined"
# Password authentication over TCP from now on, for this role.
sed -i '1i host all deadlined 127.0.0.1/32 scram-sha-256' "$PG_DIR/data/pg_hba.conf"
pg_psql -c "SELECT pg_reload_conf()" > /dev/null
printf 'pw-Secret-42\n' > "$TMP/pg-password"
chmod 600 "$TMP/pg-password"

sqlite3 "$DB" < conf/schema/native.sql
sqlite3 "$DB" <<'SQL'
INSERT INTO deadlined_teams VALUES ('T1', 'Duty and Assessment', 'tm@council.example', 'sm@council.example');
INSERT INTO deadlined_workers VALUES ('W1', 'Sam Worker', 'sam@council.example', 'T1');
INSERT INTO deadlined_cases VALUES
  ('A1', 'C1', '2015-05-05', 'T1', 'W1'), ('A2', 'C2', '2015-05-05', 'T1', 'W1'),
  ('A3', 'C3', '2015-05-05', 'T1', 'W1'), ('A4', 'C4', '2015-05-05', 'T1', 'W1'),
  ('A5', 'C5', '2010-01-01', 'T1', NULL);
INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES
  ('A1', 'referral', '2024-12-20'), ('A1', 'referral_decision', '2024-12-20'),
  ('A2', 'referral', '2024-11-01'),
  ('A3', 'cla_started', '2024-12-02'),
  ('A4', 'cla_started', '2024-12-02'), ('A4', 'placement_started', '2024-12-02'),
  ('A4', 'cla_visit', '2024-12-06'),
  ('A5', 'missing_returned', '2025-01-16T18:00');
SQL

cp -r conf/rules "$TMP/rules"

# conf NAME STATE_GROUP: a configuration whose store is STATE_GROUP, over
# a case database of its own ($TMP/NAME-cases.db, a copy made by run).
conf() {
	mkdir -p "$TMP/$1/mail"
	cat > "$TMP/$1.conf" <<CONF
source = { database = "$TMP/$1-cases.db"; };
state = { $2 };
notify = { mail_receiver = "box"; digest_time = "08:00"; };
receivers = {
  box = { type = "maildir"; path = "$TMP/$1/mail/Alerts"; from = "deadlines@council.example"; };
};
rules = {
  @include "rules/referral.conf"
  @include "rules/looked-after.conf"
  @include "rules/missing.conf"
};
CONF
}
conf sqlite "database = \"$TMP/state.db\";"
conf pg "driver = \"postgresql\"; conninfo = \"host=127.0.0.1 port=$PG_PORT dbname=state_pg user=deadlined\"; password_file = \"$TMP/pg-password\";"

# Dates, times, ids and paths differ from run to run and store to store.
norm() {
	sed -E -e "s|$TMP/[a-z]+|TMP|g" -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:]{5,8}/TIME/g' \
		-e 's/<[^>]*@[^>]*>/<ID>/g' -e 's/[0-9a-f]{16,}/HEX/g' -e 's/[0-9]+ (s|ms|seconds?) ago/N ago/g' \
		-e 's/^(state database +).*/\1STORE/' -e 's/(took +)[0-9]+ s/\1N s/' \
		-e '/^pair  /,/^  since  /d' -e '/: lease deadlined: /d' -e 's/(sqlite|pg)-cases\.db/CASES.db/'
}

# change CASES_DB: between two full polls, an obligation met (late), a case
# gone, a case moved to another team and worker, and a new case.
change() {
	sqlite3 "$1" <<'SQL'
INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES ('A2', 'referral_decision', '2025-01-28');
DELETE FROM deadlined_events WHERE case_ref = 'A3';
DELETE FROM deadlined_cases WHERE case_ref = 'A3';
INSERT INTO deadlined_teams VALUES ('T2', 'Children in Care', 'cic@council.example', 'sm@council.example');
INSERT INTO deadlined_workers VALUES ('W2', 'Alex Worker', 'alex@council.example', 'T2');
UPDATE deadlined_cases SET team_ref = 'T2', worker_ref = 'W2' WHERE case_ref = 'A4';
INSERT INTO deadlined_cases VALUES ('A6', 'C6', '2016-02-02', 'T1', 'W1');
INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES ('A6', 'referral', '2025-01-29');
SQL
}

# run NAME: the same steps against one store; what each says goes to
# $TMP/NAME.out, normalised.  The first poll is a first run (an empty
# store), the later ones full polls compared with the store by the merge
# and applied from the stage.
run() {
	_c="$TMP/$1.conf"
	cp "$DB" "$TMP/$1-cases.db"
	{
		echo "== once 2025-01-20"
		$DEADLINED -c "$_c" --once --as-of 2025-01-20T09:00 2>&1
		echo "== ack"
		$C -c "$_c" ack A2 referral-decision --until 2099-12-31 --reason 'Awaiting checks' 2>&1
		$C -c "$_c" ack A9 referral-decision --until 2099-12-31 --reason 'none' 2>&1
		echo "== acks"
		$C -c "$_c" acks 2>&1
		echo "== once 2025-01-27"
		$DEADLINED -c "$_c" --once --as-of 2025-01-27T09:00 2>&1
		change "$TMP/$1-cases.db"
		echo "== once 2025-02-03, after changes"
		$DEADLINED -c "$_c" --once --as-of 2025-02-03T09:00 2>&1
		echo "== once 2025-02-03, again: nothing changed"
		$DEADLINED -c "$_c" --once --as-of 2025-02-03T09:30 2>&1
		echo "== status"
		$C -c "$_c" status 2>&1
		echo "== outbox"
		$C -c "$_c" outbox 2>&1
		echo "== report"
		$C -c "$_c" report --from 2024-11-01 --to 2025-01-31 2>&1
		echo "== mail"
		ls "$TMP/$1/mail/Alerts/new" | wc -l
		grep -h '^Subject:' "$TMP/$1/mail/Alerts/new"/* | sort
	} | norm > "$TMP/$1.out"
}
run sqlite
run pg
$C -c "$TMP/pg.conf" status > "$TMP/pg.status" 2>&1
if cmp -s "$TMP/sqlite.out" "$TMP/pg.out"; then ok
else bad "the PostgreSQL store answers differently:
$(diff "$TMP/sqlite.out" "$TMP/pg.out" | head -40)"; fi
# ... and did real work: messages were sent and an ack counted.
grep -q 'Awaiting checks' "$TMP/pg.out" && ok || bad "the ack is not listed: $(cat "$TMP/pg.out")"
grep -q '^state database *PostgreSQL database state_pg on 127.0.0.1' "$TMP/pg.status" && ok \
	|| bad "status does not name the PostgreSQL store: $(cat "$TMP/pg.status")"
grep -q 'user=\|pw-Secret' "$TMP/pg.status" && bad "status shows more of the conninfo than server and database" || ok
# --once took the pair's lease for its run and gave it up at the end.
grep -q '^pair *no leader: the lease of .*:[0-9]* (epoch 4) ran out' "$TMP/pg.status" && ok \
	|| bad "status after four --once runs: $(grep -A1 '^pair' "$TMP/pg.status")"
[ "$(sed -n '/^== mail/{n;p}' "$TMP/pg.out")" -gt 0 ] && ok || bad "no mail from the PostgreSQL store"
n=$(PG_DB=state_pg pg_psql -At -c "SELECT count(*) FROM obligations")
[ "${n:-0}" -gt 5 ] && ok || bad "$n obligations in PostgreSQL"
# What each store holds after the staged polls, row for row: obligations
# (met, gone, moved, new), the alert marks, rechecks and the notified log.
# The fingerprints too: 64-bit, half of them negative, written to
# PostgreSQL as COPY text by hand (cb_int), to SQLite as bound integers.
q_ob="SELECT case_ref, rule, seq, team_ref, worker_email, manager_email, anchor, due, closed,
	state, stage, days_overdue, level, alerted_level, last_alert, fp FROM obligations"
q_more="SELECT 'recheck', case_ref, CAST(at AS TEXT) FROM rechecks UNION ALL
	SELECT 'notified', case_ref || ' ' || rule || ' ' || CAST(seq AS TEXT) || ' ' || what,
	recipient FROM notified"
sqlite3 -separator '|' "$TMP/state.db" "$q_ob" | sort > "$TMP/ob.sqlite"
PG_DB=state_pg pg_psql -At -c "$q_ob" | sort > "$TMP/ob.pg"
sqlite3 -separator '|' "$TMP/state.db" "$q_more" | sort > "$TMP/more.sqlite"
PG_DB=state_pg pg_psql -At -c "$q_more" | sort > "$TMP/more.pg"
if [ -s "$TMP/ob.pg" ] && cmp -s "$TMP/ob.sqlite" "$TMP/ob.pg"; then ok
else bad "the stores hold different obligations: $(diff "$TMP/ob.sqlite" "$TMP/ob.pg" | head -20)"; fi
n=$(PG_DB=state_pg pg_psql -At -c "SELECT count(*) FROM obligations WHERE fp < 0")
[ "${n:-0}" -gt 0 ] && ok || bad "no negative fingerprint among the rows compared"
if [ -s "$TMP/more.pg" ] && cmp -s "$TMP/more.sqlite" "$TMP/more.pg"; then ok
else bad "the stores hold different rechecks or notified rows: $(diff "$TMP/more.sqlite" "$TMP/more.pg" | head -20)"; fi
# ... and the changes happened: A2's decision met late, A3 gone, A4 moved,
# A6 new; every row a full poll wrote carries its fingerprint.
for want in "^A2|referral-decision|.*|late|" "^A3|.*|gone|gone|" "^A4|.*|alex@council.example|cic@council.example|" "^A6|"; do
	grep -q "$want" "$TMP/ob.pg" && ok || bad "no obligation matching $want in PostgreSQL: $(cat "$TMP/ob.pg")"
done
n=$(PG_DB=state_pg pg_psql -At -c "SELECT count(*) FROM obligations WHERE fp IS NULL AND state <> 'gone'")
[ "$n" = 0 ] && ok || bad "$n obligations without a fingerprint"

# The password never shows, in output or in errors.
grep -rq 'pw-Secret-42' "$TMP"/*.out && bad "the password was printed" || ok
chmod 644 "$TMP/pg-password"
out=$($C -c "$TMP/pg.conf" status 2>&1)
case $out in
*pw-Secret*) bad "the password shows in: $out" ;;
*"other users"*|*"readable"*|*mode*) ok ;;
*) bad "a password file others may read was not refused: $out" ;;
esac
chmod 600 "$TMP/pg-password"

# A password in the conninfo is refused by -n, without repeating it.
conf leak "driver = \"postgresql\"; conninfo = \"host=127.0.0.1 password=pw-Secret-42\";"
out=$($DEADLINED -n -c "$TMP/leak.conf" 2>&1); rc=$?
[ $rc != 0 ] && printf '%s' "$out" | grep -q 'must not hold a password' && ok \
	|| bad "a conninfo with a password: exit $rc, $out"
printf '%s' "$out" | grep -q 'pw-Secret' && bad "the password was repeated: $out" || ok

# Read-only commands make nothing in an empty database.
conf empty "driver = \"postgresql\"; conninfo = \"host=127.0.0.1 port=$PG_PORT dbname=empty_pg user=postgres\";"
$C -c "$TMP/empty.conf" status > "$TMP/out" 2>&1 && bad "status on an empty database succeeded" || ok
grep -q "schema version 0" "$TMP/out" && ok || bad "status on an empty database: $(cat "$TMP/out")"
[ "$(PG_DB=empty_pg pg_psql -At -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" = 0 ] \
	&& ok || bad "a read-only command made tables"

# While another daemon leads the pair, --once refuses to compete with it.
PG_DB=state_pg pg_psql -c "UPDATE deadlined_lease SET holder = 'other:1', epoch = epoch + 1,
	expires_at = now() + interval '1 hour'"
out=$($DEADLINED -c "$TMP/pg.conf" --once --as-of 2025-01-27T09:00 2>&1) \
	&& bad "--once ran while another daemon led" || ok
printf '%s' "$out" | grep -q "another daemon leads the pair.*other:1" && ok || bad "--once: $out"

# A store of schema version 2 (before the full poll's fingerprint and key
# index, and the web's audit, calendar tokens and address indexes) is
# migrated by the next start, its rows kept, and polled in full.
n2=$(PG_DB=state_pg pg_psql -At -c "SELECT count(*) FROM obligations")
PG_DB=state_pg pg_psql -c "DROP INDEX obligations_walk" -c "ALTER TABLE obligations DROP COLUMN fp" \
	-c "DROP TABLE web_audit, calendar_tokens" -c "DROP INDEX obligations_worker,
		obligations_manager, obligations_service_manager" \
	-c "UPDATE deadlined_schema SET version = 2" -c "UPDATE deadlined_lease SET expires_at = now()"
out=$($DEADLINED -c "$TMP/pg.conf" --once --as-of 2025-02-03T10:00 2>&1) && ok || bad "after migration: $out"
v=$(PG_DB=state_pg pg_psql -At -c "SELECT max(version) FROM deadlined_schema")
n3=$(PG_DB=state_pg pg_psql -At -c "SELECT count(*) FROM obligations")
nfp=$(PG_DB=state_pg pg_psql -At -c "SELECT count(*) FROM obligations WHERE fp IS NOT NULL")
[ "$v" = "$PG_SCHEMA" ] && [ "$n3" = "$n2" ] && [ "$nfp" -gt 0 ] && ok \
	|| bad "migrating from version 2: version $v (want $PG_SCHEMA), $n2 then $n3 obligations, $nfp with a fingerprint"
web=$(PG_DB=state_pg pg_psql -At -c "SELECT to_regclass('web_audit') IS NOT NULL
	AND to_regclass('calendar_tokens') IS NOT NULL AND to_regclass('obligations_worker') IS NOT NULL")
[ "$web" = t ] && ok || bad "migrating from version 2: the web's tables and indexes are missing"

# A newer schema is refused and left alone.
PG_DB=state_pg pg_psql -c "UPDATE deadlined_schema SET version = 99"
out=$($DEADLINED -c "$TMP/pg.conf" --once --as-of 2025-01-27T09:00 2>&1) && bad "a newer schema was used" || ok
printf '%s' "$out" | grep -q "schema version 99, newer" && ok || bad "newer schema: $out"
finish
