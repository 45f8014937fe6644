# The readers ahead (source.read_ahead) under faults and a stop: the
# running service reads a real PostgreSQL 15 through psqlODBC, its tables
# walked in ranges by two readers on connections of their own, while a
# reader's range is held up on the server (a row-level security policy
# sleeps on one case).
# - A reader's session terminated, the grant revoked, a range past
#   source.query_timeout, the server restarted mid-walk: each gives one
#   clear log line, the source shows as unavailable, nothing changes, and
#   the daemon recovers by itself (as test_odbc_faults.sh, there through
#   views and one connection).
# - A stop (SIGTERM) while a reader's range takes 30 s is taken between
#   ranges, not at the poll's end: the daemon exits cleanly well within
#   systemd's TimeoutStopSec (60 s; here within 5 s), says the poll was
#   abandoned, cancels the query and leaves no session behind, and the
#   poll changes nothing: a decision the walk had already read does not
#   close its obligation, and no "resolved" is sent.  The control: the
#   same poll, not held up, does close it.
. tests/integration/lib.sh
. tests/integration/service_lib.sh
. tests/helpers/pg.sh
. tests/integration/odbc_lib.sh
C=$DEADLINECTL
trap 'stop_pids; pg_stop; [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"' EXIT

odbc_driver_or_end
PW=stop-pw
odbc_cases_server "$PW"
PG_DB=cases pg_psql -f conf/schema/native-pg.sql > /dev/null 2>&1 || bad "native-pg.sql failed"
# A1 (sorting first) is long overdue; 4,000 cases after it have no
# events: with fetch_rows = 50 the walk reads them in ranges of 200.  A row
# in slow_flag makes the server wait that many seconds on case Z002000
# (the walk's eleventh range), for the daemon's role only.
PG_DB=cases pg_psql > /dev/null <<'SQL'
INSERT INTO deadlined_teams VALUES ('T1', 'Duty and Assessment Team', 'tm@council.example', 'sm@council.example');
INSERT INTO deadlined_workers VALUES ('W1', 'Sam Worker', 'sam@council.example', 'T1');
INSERT INTO deadlined_cases (case_ref, child_ref, date_of_birth, team_ref, worker_ref)
  VALUES ('A1', 'CA1', '2015-05-05', 'T1', 'W1');
INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES ('A1', 'referral', '2024-11-01');
INSERT INTO deadlined_cases (case_ref, child_ref, date_of_birth, team_ref, worker_ref)
  SELECT 'Z' || lpad(g::text, 6, '0'), 'CZ' || g, '2015-01-01', 'T1', 'W1'
  FROM generate_series(1, 4000) AS g;
CREATE TABLE slow_flag (seconds INT);
CREATE FUNCTION dl_wait(ref TEXT) RETURNS boolean LANGUAGE sql VOLATILE SECURITY DEFINER AS
  $$ SELECT ref <> 'Z002000' OR (SELECT true FROM
       pg_sleep(COALESCE((SELECT max(seconds) FROM slow_flag), 0))) $$;
ALTER TABLE deadlined_cases ENABLE ROW LEVEL SECURITY;
CREATE POLICY walk ON deadlined_cases FOR SELECT TO deadlined USING (dl_wait(case_ref));
ANALYZE;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO deadlined;
GRANT SELECT ON deadlined_cases, deadlined_events, deadlined_teams, deadlined_workers TO deadlined;
SQL
[ $? = 0 ] || bad "setting up the case tables"
cases() { PG_DB=cases pg_psql -c "$1" > /dev/null; }
# held_up: a reader's range is the one sleeping on the server.
sleeping() { PG_DB=cases pg_psql -tAc "SELECT count(*) FROM pg_stat_activity WHERE usename = 'deadlined' AND wait_event = 'PgSleep'"; }
held_up() { wait_until 30 eval '[ "$(sleeping)" = 1 ]' || bad "$1: the slow range never ran"; }
# sessions: the daemon's sessions on the server (its own, and its readers'
# while a walk runs).
sessions() { PG_DB=cases pg_psql -tAc "SELECT count(*) FROM pg_stat_activity WHERE usename = 'deadlined'"; }

DB=$TMP/unused.db
STATE=$TMP/state.db
CONF=$TMP/d.conf
MAIL=$TMP/mail/new
SOURCE_MORE="driver = \"odbc\"; connection = \"Driver=PostgreSQL ANSI;Server=127.0.0.1;Port=$PG_PORT;Database=cases\"; user = \"deadlined\"; credentials = \"$TMP/db-password\"; fetch_rows = 50; read_ahead = 2; query_timeout = 60; login_timeout = $((5 * TIME_SCALE));"
service_conf "$MAILDIR_RECEIVER" 'mail_receiver = "mail"; resolved = true;'


start_listener || { finish; exit 1; }
start_daemon || { finish; exit 1; }
wait_until 90 eval '[ "$(mails)" = 3 ]' && ok || bad "first alerts: $(mails), want 3"
wait_until 30 eval '[ "$(polls_done)" -ge 2 ]' || bad "no second poll"
nothing_changed "first polls"

# --- a reader's session terminated while its range is held up -------------
mark_log
cases "INSERT INTO slow_flag VALUES (30)"
held_up "reader terminated"
[ "$(sessions)" = 3 ] && ok || bad "$(sessions) sessions while the walk waits, want 3 (its own and 2 readers)"
cases "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'deadlined' AND wait_event = 'PgSleep'"
unavailable "reader terminated" "reading cases and events: .*\(terminat\|08S01\|server closed\)"
cases "DELETE FROM slow_flag"
recovered "reader terminated"

# --- the grant revoked: the readers' statements are refused ----------------
mark_log
cases "REVOKE SELECT ON deadlined_events FROM deadlined"
unavailable "grant revoked" "permission denied for table deadlined_events"
cases "GRANT SELECT ON deadlined_events TO deadlined"
recovered "grant revoked"

# --- the server restarted while a range is held up --------------------------
mark_log
cases "INSERT INTO slow_flag VALUES (30)"
held_up "restart mid-walk"
pg_restart || bad "PostgreSQL would not start again"
unavailable "restart mid-walk" "\(terminat\|08S01\|server closed\|connect\)"
cases "DELETE FROM slow_flag"
recovered "restart mid-walk"

# --- a range past source.query_timeout (3 s) --------------------------------
stop_daemon
SOURCE_MORE="$(printf '%s' "$SOURCE_MORE" | sed 's/query_timeout = 60/query_timeout = 3/')"
service_conf "$MAILDIR_RECEIVER" 'mail_receiver = "mail"; resolved = true;'
cases "INSERT INTO slow_flag VALUES (30)"
start_daemon || { finish; exit 1; }
unavailable "query timeout" "statement timeout"
cases "DELETE FROM slow_flag"
recovered "query timeout"
stop_daemon
SOURCE_MORE="$(printf '%s' "$SOURCE_MORE" | sed 's/query_timeout = 3/query_timeout = 60/')"
service_conf "$MAILDIR_RECEIVER" 'mail_receiver = "mail"; resolved = true;'
start_daemon || { finish; exit 1; }

# The decision is made, and case Z002000 made slow, at one moment: the
# first poll that sees them reads the decision in its first range, then
# waits for the eleventh, and is stopped there.
cases "BEGIN; INSERT INTO deadlined_events (case_ref, kind, occurred)
  VALUES ('A1', 'referral_decision', '2024-11-20'); INSERT INTO slow_flag VALUES (30); COMMIT"
mark_log
held_up "stop mid-walk"
t0=$(date +%s)
stop_daemon
t1=$(date +%s)
[ "$DRC" = 0 ] && ok || bad "stop mid-poll: exit $DRC"
[ $((t1 - t0)) -le $((5 * TIME_SCALE)) ] && ok || bad "stop mid-poll took $((t1 - t0)) s"
log_has "poll abandoned: stopping (nothing was changed)" && ok ||
	bad "no 'poll abandoned' line: $(log_since | tail -n 3)"
log_has "poll: " && bad "a poll finished after the stop: $(log_since | grep 'poll: ')" || ok
nothing_changed "stopped mid-poll"
wait_until 10 eval '[ "$(sessions)" = 0 ]' && ok || bad "$(sessions) sessions left after the stop"
cases "DELETE FROM slow_flag"

# --- the control: not stopped, the same poll closes A1's obligation --------
start_daemon || { finish; exit 1; }
wait_until 90 eval '[ "$(q "$STATE" "SELECT count(*) FROM outbox WHERE kind = '"'resolved'"'")" -gt 0 ]' &&
	ok || bad "the decision was not resolved: $(q "$STATE" "SELECT kind FROM outbox")"
[ "$(q "$STATE" "SELECT closed FROM obligations WHERE case_ref = 'A1' AND rule = 'referral-decision'")" = 2024-11-20 ] &&
	ok || bad "the decision did not close its obligation"
stop_daemon
[ "$DRC" = 0 ] && ok || bad "the last stop: exit $DRC"
finish
