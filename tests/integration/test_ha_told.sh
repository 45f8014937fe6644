# The pair tests' "everything was told and sent" (ha_told, tests/helpers/
# ha_lib.sh) must judge one moment of the store, never two.  Session 5's
# CI and one of session 6's valgrind runs failed test_ha_pair with "alerts
# lost": the check had read "no message unsent" before a poll committed and
# "every case noted" after it, so the test stopped the daemons with that
# poll's three messages still pending in the outbox (its own diagnostics
# showed them), and then found no message for its twenty cases.  Nothing
# was lost: the messages waited in the outbox, as a stop leaves them.
# Here a real PostgreSQL holds the two tables, and a poll's commit (its
# notes and its pending messages, in one transaction) lands between any two
# of ha_told's statements: it must say "not yet", then "yes" once sent.
. tests/integration/lib.sh
. tests/helpers/pg.sh
. tests/helpers/ha_lib.sh

ha_pg_start
pg_psql -c "CREATE TABLE outbox (id serial, status text NOT NULL);
	CREATE TABLE notified (case_ref text, recipient text)" > /dev/null

# psql as pg.sh's pg_psql runs it, under another name: pg_psql is wrapped
# below.
psql_raw() {
	"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U postgres \
		-d "${PG_DB:-postgres}" "$@"
}
# A poll that tells case A2 to its three recipients, committed once, right
# after the first statement ha_told makes.
poll_commit() {
	psql_raw -c "BEGIN;
		INSERT INTO notified VALUES ('A2', 'sam'), ('A2', 'tm'), ('A2', 'sm');
		INSERT INTO outbox (status) VALUES ('pending'), ('pending'), ('pending');
		COMMIT" > /dev/null
}
pg_psql -c "INSERT INTO notified VALUES ('A1', 'sam'), ('A1', 'tm'), ('A1', 'sm');
	INSERT INTO outbox (status) VALUES ('sent'), ('sent'), ('sent')" > /dev/null
# pg_psql, and after its first statement the poll's commit (ha_told runs
# pg_psql in command substitutions, so the count is a file).
pg_psql() {
	psql_raw "$@"
	_rc=$?
	echo x >> "$TMP/calls"
	[ "$(wc -l < "$TMP/calls")" = 1 ] && poll_commit
	return $_rc
}
if ha_told 2; then
	bad "ha_told said every case was told and sent while the poll's 3 messages were pending"
else
	ok
fi
[ -s "$TMP/calls" ] && [ "$(pg_psql -At -c "SELECT count(*) FROM outbox WHERE status = 'pending'")" = 3 ] && ok ||
	bad "the poll's commit did not happen between the check's statements (the test did not test)"
pg_psql -c "UPDATE outbox SET status = 'sent'" > /dev/null
ha_told 2 && ok || bad "ha_told did not see 2 cases told and every message sent"
finish
