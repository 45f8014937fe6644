# The running service reading PostgreSQL through psqlODBC, and that server
# failing under it: stopped, restarted in the middle of a poll, its
# session killed (pg_terminate_backend), the grant revoked, a view that
# fails half-way through the rows, a query past source.query_timeout, a
# wrong password.  Each time: one clear log line a try, a retry sooner
# than the next poll (backing off), STATUS and `deadlinectl status` say the
# case database is unavailable and since when, and nothing changes: no
# obligation is closed and no "resolved" is sent for cases that were not
# read.  When the server is back the daemon carries on by itself.  A stop
# asked for while a slow query runs is honoured.
. tests/integration/lib.sh
. tests/integration/service_lib.sh
. tests/helpers/pg.sh
. tests/integration/odbc_lib.sh
C=$DEADLINECTL
trap 'stop_pids; pg_stop; [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"' EXIT

odbc_driver_or_end
PW=faults-pw
odbc_cases_server "$PW"
# The four relations as views over the council's tables, as in a real
# deployment; two of them can be made to fail on demand: a row of kind
# 'boom' divides by zero as it is read, and a row in slow_flag makes the
# cases view wait that many seconds.
PG_DB=cases pg_psql > /dev/null <<'SQL'
CREATE TABLE cases_data (case_ref TEXT COLLATE "C", child_ref TEXT, date_of_birth TEXT,
    team_ref TEXT, worker_ref TEXT);
CREATE TABLE events_data (case_ref TEXT COLLATE "C", kind TEXT, occurred TEXT, event_ref TEXT);
CREATE TABLE slow_flag (seconds INT);
CREATE FUNCTION dl_wait() RETURNS boolean LANGUAGE sql VOLATILE SECURITY DEFINER AS
  $$ SELECT true FROM pg_sleep(COALESCE((SELECT max(seconds) FROM slow_flag), 0)) $$;
CREATE VIEW deadlined_cases AS
  SELECT case_ref, child_ref, date_of_birth, team_ref, worker_ref
  FROM cases_data CROSS JOIN (SELECT dl_wait() AS w) AS ww WHERE ww.w;
CREATE VIEW deadlined_events AS
  SELECT case_ref, kind,
         CASE WHEN kind = 'boom' THEN CAST(1 / (length(kind) - 4) AS TEXT) ELSE occurred END
           AS occurred, event_ref
  FROM events_data;
CREATE VIEW deadlined_teams AS
  SELECT 'T1'::text AS team_ref, 'Duty and Assessment Team'::text AS name,
         'tm@council.example'::text AS manager_email, 'sm@council.example'::text AS service_manager_email;
CREATE VIEW deadlined_workers AS
  SELECT 'W1'::text AS worker_ref, 'Sam Worker'::text AS name, 'sam@council.example'::text AS email,
         'T1'::text AS team_ref;
INSERT INTO cases_data VALUES ('A1', 'CA1', '2015-05-05', 'T1', 'W1');
INSERT INTO events_data VALUES ('A1', 'referral', '2024-11-01', NULL);
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO deadlined;
GRANT SELECT ON deadlined_cases, deadlined_events, deadlined_teams, deadlined_workers TO deadlined;
SQL
[ $? = 0 ] || bad "setting up the case views"
cases() { PG_DB=cases pg_psql -c "$1" > /dev/null; }

DB=$TMP/unused.db
STATE=$TMP/state.db
CONF=$TMP/d.conf
MAIL=$TMP/mail/new
WATCHDOG_SEC=6
SOURCE_MORE="driver = \"odbc\"; connection = \"Driver=PostgreSQL ANSI;Server=127.0.0.1;Port=$PG_PORT;Database=cases\"; user = \"deadlined\"; credentials = \"$TMP/db-password\"; query_timeout = 2; login_timeout = $((5 * TIME_SCALE));"
service_conf "$MAILDIR_RECEIVER" 'mail_receiver = "mail"; resolved = true;'

start_listener || { finish; exit 1; }
start_daemon || { finish; exit 1; }
wait_until 15 eval '[ "$(mails)" = 3 ]' && ok || bad "first alerts: $(mails), want 3"
nothing_changed "first poll"

# --- the server stops, and comes back --------------------------------------
# With a poll interval of 20 s, the retries back off: 5 s, then 10 s.
stop_daemon
sed -i 's/poll_interval = 1;/poll_interval = 20;/' "$CONF"
start_daemon || { finish; exit 1; }
mark_log
pg_stop
# The first try finds its session gone, the next cannot connect.
wait_until 40 eval '[ "$(log_since | grep -c "poll failed")" -ge 2 ]' || bad "server stopped: no retry"
unavailable "server stopped" "connecting: \[08001\]"
# (Under valgrind a slow first try may already have waited 5 s.)
log_since | grep 'poll failed' | head -n 2 | sed 's/.*next try in \([0-9]*\) s)$/\1/' | paste -sd' ' > "$TMP/waits"
case $(cat "$TMP/waits") in
"5 10"|"10 20") ok ;;
*) bad "server stopped: waits '$(cat "$TMP/waits")', want '5 10'" ;;
esac
pg_restart || bad "PostgreSQL would not start again"
mark_log
recovered "server stopped"
stop_daemon
sed -i 's/poll_interval = 20;/poll_interval = 1;/' "$CONF"
start_daemon || { finish; exit 1; }

# --- the session killed ------------------------------------------------------
mark_log
# The daemon's session, once it has one (it reconnects after a failure).
killed=0
for _try in 1 2 3 4 5 6 7 8 9 10; do
	killed=$(PG_DB=cases pg_psql -tAc "SELECT count(*) FROM (SELECT pg_terminate_backend(pid)
		FROM pg_stat_activity WHERE usename = 'deadlined') AS k")
	[ "$killed" -ge 1 ] && break
	sleep 0.5
done
[ "$killed" -ge 1 ] && ok || bad "session killed: the daemon had no session to kill"
check_log "session killed" "poll failed: case database .*\(terminat\|connection\|08S01\|server closed\)" 15
recovered "session killed"

# --- the grant revoked -------------------------------------------------------
mark_log
cases "REVOKE SELECT ON deadlined_events FROM deadlined"
unavailable "grant revoked" "permission denied for view deadlined_events"
cases "GRANT SELECT ON deadlined_events TO deadlined"
recovered "grant revoked"

# --- a view that fails half-way: rows before A1 read, then an error ----------
# A0 sorts before A1: a poll that stopped there and went on regardless
# would find A1 gone and close its obligations.
mark_log
cases "INSERT INTO cases_data VALUES ('A0', 'CA0', NULL, 'T1', 'W1');
       INSERT INTO events_data VALUES ('A0', 'boom', '2024-11-02', NULL)"
unavailable "view fails" "division by zero"
cases "DELETE FROM events_data WHERE kind = 'boom'; DELETE FROM cases_data WHERE case_ref = 'A0'"
recovered "view fails"

# --- a query past source.query_timeout (2 s) ---------------------------------
mark_log
cases "INSERT INTO slow_flag VALUES (30)"
unavailable "query timeout" "statement timeout"
cases "DELETE FROM slow_flag"
recovered "query timeout"
watchdog_check "slow queries"

# --- restarted in the middle of a poll ---------------------------------------
stop_daemon
SOURCE_MORE="$(printf '%s' "$SOURCE_MORE" | sed 's/query_timeout = 2/query_timeout = 60/')"
service_conf "$MAILDIR_RECEIVER" 'mail_receiver = "mail"; resolved = true;'
start_daemon || { finish; exit 1; }
mark_log
cases "INSERT INTO slow_flag VALUES (20)"
# Wait until the daemon's query is the one sleeping, then restart.
wait_until 20 eval '[ "$(PG_DB=cases pg_psql -tAc "SELECT count(*) FROM pg_stat_activity WHERE usename = '"'deadlined'"' AND query LIKE '"'%deadlined_cases%'"' AND state = '"'active'"'")" = 1 ]' &&
	ok || bad "the slow query never ran"
pg_stop
pg_restart || bad "PostgreSQL would not start again"
cases "DELETE FROM slow_flag"
check_log "restart mid-poll" "poll failed: case database .*(case database unavailable since" 20
recovered "restart mid-poll"

# --- a stop while a slow query runs ------------------------------------------
cases "INSERT INTO slow_flag VALUES (6)"
wait_until 20 eval '[ "$(PG_DB=cases pg_psql -tAc "SELECT count(*) FROM pg_stat_activity WHERE usename = '"'deadlined'"' AND state = '"'active'"'")" = 1 ]' ||
	bad "the slow query never ran (stop)"
t0=$(date +%s)
stop_daemon
t1=$(date +%s)
[ "$DRC" = 0 ] && ok || bad "stop during a slow query: exit $DRC"
[ $((t1 - t0)) -le $((10 * TIME_SCALE)) ] && ok || bad "stop took $((t1 - t0)) s"
cases "DELETE FROM slow_flag"
nothing_changed "stopped mid-query"

# --- a wrong password: the file is read again at each try --------------------
printf 'wrong\n' > "$TMP/db-password"
start_daemon || { finish; exit 1; }
mark_log
unavailable "wrong password" 'password authentication failed for user "deadlined"'
printf '%s\n' "$PW" > "$TMP/db-password"
recovered "wrong password"
grep -q "$PW" "$TMP/d.err" "$TMP/notify.log" "$TMP/status.out" && bad "the password was logged" || ok

# --- the control: a case really gone is closed, and "resolved" sent ----------
# (so the checks above could have failed)
cases "INSERT INTO events_data VALUES ('A1', 'referral_decision', '2024-11-20', NULL)"
wait_until 20 eval '[ "$(q "$STATE" "SELECT count(*) FROM outbox WHERE kind = '"'resolved'"'")" -gt 0 ]' &&
	ok || bad "a decision made late was not resolved: $(q "$STATE" "SELECT kind FROM outbox")"
[ "$(q "$STATE" "SELECT closed FROM obligations WHERE case_ref = 'A1' AND rule = 'referral-decision'")" = 2024-11-20 ] &&
	ok || bad "the decision did not close its obligation"
stop_daemon
finish
