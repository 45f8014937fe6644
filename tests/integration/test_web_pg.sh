# deadlined-web on a PostgreSQL state store (a real PostgreSQL 15, the
# password from a file): the daemon polls into PostgreSQL, deadlined-web
# serves the tray from it (curl from 127.0.0.2, the trusted proxy address);
# an acknowledgement made on the web is in PostgreSQL and the next poll
# sends no reminder for it, and its audit record is in PostgreSQL; a
# calendar feed is made, read and revoked; cover from the web shows the
# deputy the team and sends the deputy the next alerts; /metrics says "none" while no
# daemon holds the lease, "leader" with its holder and epoch (the lease
# table's, read here by psql) while one does, "none" again after it stops.
. tests/integration/lib.sh
. tests/integration/web_lib.sh
trap 'stop_pids; pg_stop; [ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT

if ! pg_start "$TMP/pg"; then
	bad "PostgreSQL 15 would not start (see above)"
	finish
	exit 1
fi
pg_psql -c "CREATE DATABASE state_pg" -c "CREATE ROLE deadlined LOGIN PASSWORD 'pw-Web-Secret-7'" \
	-c "ALTER DATABASE state_pg OWNER TO deadlined"
sed -i '1i host all deadlined 127.0.0.1/32 scram-sha-256' "$PG_DIR/data/pg_hba.conf"
pg_psql -c "SELECT pg_reload_conf()" > /dev/null
printf 'pw-Web-Secret-7\n' > "$TMP/pg-password"
chmod 600 "$TMP/pg-password"
q() { PG_DB=state_pg pg_psql -At -c "$1"; }

WEB_STATE="driver = \"postgresql\"; password_file = \"$TMP/pg-password\";
  conninfo = \"host=127.0.0.1 port=$PG_PORT dbname=state_pg user=deadlined\";" \
	web_setup || bad "first poll into PostgreSQL: $(cat "$TMP/poll1.out")"
[ "$(q "SELECT COUNT(*) FROM obligations WHERE closed IS NULL")" = 6 ] && ok \
	|| bad "the first poll did not store six open obligations in PostgreSQL"
[ ! -e "$TMP/state.db" ] && ok || bad "a SQLite state file was made"
web_start || { bad "deadlined-web did not start: $(cat "$TMP/web.err")"; finish; exit; }
W="http://127.0.0.1:$WEB_PORT"
# as PERSON PATH [curl args]: as the proxy would send it.
as() { _who=$1 _path=$2; shift 2; curl -s --interface 127.0.0.2 -H "X-Forwarded-Email: $_who@council.example" "$@" "$W$_path"; }
code() { as "$@" -o /dev/null -w '%{http_code}'; }
csrf() { as "$1" /cover | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' | head -n 1; }

# ---- the tray, from PostgreSQL ----
tray=$(as tm1 /)
for c in A1 A2 A3 A4 A5; do printf '%s' "$tray" | grep -q "case?ref=$c\"" || bad "tm1's tray lacks $c"; done
printf '%s' "$tray" | grep -q 'case?ref=B1"' && bad "tm1 sees team T2's B1" || ok
printf '%s' "$tray" | grep -q '<h2 id="counts">5 open deadlines</h2>' && ok || bad "tm1's count is not 5"
printf '%s' "$tray" | grep -q 'Duty &lt;script&gt;' && ok || bad "the team's name is not escaped"
[ "$(code w1 '/case?ref=B1')" = 403 ] && ok || bad "w1 opened team T2's case"
[ "$(code stranger /)" = 403 ] && ok || bad "a stranger was not refused"
as admin / | grep -q 'case?ref=B1"' && ok || bad "the administrator does not see B1"
as tm1 '/case?ref=A1' | grep -q 'Started 2025-01-06' && ok || bad "case page from PostgreSQL"

# ---- acknowledging from the web: in PostgreSQL, and the next poll is quiet ----
until=$(date -d '+7 days' +%F)
token=$(as tm1 '/ack?item=A1%7Cdecision' | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' | head -n 1)
loc=$(as tm1 /ack -o /dev/null -w '%{http_code} %{redirect_url}' \
	-d "csrf=$token&item=A1%7Cdecision&reason=Family+moved&until=$until")
case $loc in "303 "*"/?acked=1") ok ;; *) bad "ack POST: $loc" ;; esac
[ "$(q "SELECT who || ' ' || until || ' ' || reason FROM acks WHERE case_ref = 'A1'")" = \
  "tm1@council.example $until Family moved" ] && ok || bad "the ack is not in PostgreSQL: $(q 'SELECT * FROM acks')"
[ "$(q "SELECT who || ' ' || origin || ' ' || action || ' ' || detail FROM web_audit WHERE action = 'ack'")" = \
  "tm1@council.example 127.0.0.2 ack A1 decision #1 until $until: Family moved" ] && ok \
	|| bad "the ack's audit record is not in PostgreSQL: $(q 'SELECT * FROM web_audit')"
as tm1 / | grep -q "Until $until by tm1@council.example" && ok || bad "the tray does not show the ack"

# ---- cover from the web ----
today=$(date +%F)
[ "$(code tm1 /cover -d "csrf=$(csrf tm1)&deputy=deputy%40council.example&from=$today&to=$until")" = 303 ] \
	&& ok || bad "cover POST"
[ "$(q "SELECT manager || ' ' || deputy FROM cover")" = "tm1@council.example deputy@council.example" ] \
	&& ok || bad "cover is not in PostgreSQL: $(q 'SELECT * FROM cover')"
as deputy / | grep -q 'case?ref=A2"' && ok || bad "the deputy does not see the covered team"
[ "$(code deputy '/case?ref=B1')" = 403 ] && ok || bad "the deputy sees a team not covered"

# The next poll: no reminder for what was acknowledged on the web.
before=$(ls "$TMP/mail/new" | sort)
$DEADLINED -c "$WEB_CONF" --once --as-of 2025-01-09 > "$TMP/poll2.out" 2>&1 || bad "second poll: $(cat "$TMP/poll2.out")"
/usr/bin/python3 - "$TMP/mail/new" "$before" <<'PY' && ok || bad "reminders after the web's ack"
import sys
sys.path.insert(0, "tests/helpers")
from maildir_new import by_recipient
by = by_recipient(sys.argv[1], sys.argv[2])
w1 = "\n".join(by.get("w1@council.example", []))
assert "A2" in w1, ("worker reminder lacks A2", sorted(by), w1)
assert "A1" not in w1, ("acknowledged A1 reminded", w1)
PY
# A poll on a day the cover runs: the deputy hears what tm1 hears, and why.
before=$(ls "$TMP/mail/new" | sort)
$DEADLINED -c "$WEB_CONF" --once --as-of "$(date -d 'next monday' +%F)" > "$TMP/poll3.out" 2>&1 \
	|| bad "third poll: $(cat "$TMP/poll3.out")"
/usr/bin/python3 - "$TMP/mail/new" "$before" <<'PY' && ok || bad "the deputy was not told, or not why"
import sys
sys.path.insert(0, "tests/helpers")
from maildir_new import by_recipient
by = by_recipient(sys.argv[1], sys.argv[2])
dep = " ".join("\n".join(by.get("deputy@council.example", [])).split())
assert "A2" in dep and "covering for tm1@council.example" in dep, ("deputy", sorted(by), dep[:300])
PY

# ---- the calendar feed from PostgreSQL: only the token's hash is kept ----
feed=$(as tm1 /calendar/new -d "csrf=$(csrf tm1)" | sed -n 's|.*\(/calendar/[0-9a-f]*\.ics\).*|\1|p' | head -n 1)
[ -n "$feed" ] && [ "$(q "SELECT COUNT(*) FROM calendar_tokens WHERE revoked IS NULL
	AND person = 'tm1@council.example' AND hash <> '${feed#/calendar/}'")" = 1 ] && ok \
	|| bad "calendar token in PostgreSQL: '$feed', $(q 'SELECT person, revoked FROM calendar_tokens')"
curl -s "$W$feed" > "$TMP/tm1.ics"
/usr/bin/python3 - "$TMP/tm1.ics" <<'PY' && ok || bad "calendar feed from PostgreSQL: $(head -c 400 "$TMP/tm1.ics")"
import sys, icalendar
cal = icalendar.Calendar.from_ical(open(sys.argv[1], "rb").read())
got = sorted(str(e["SUMMARY"]).split()[0] for e in cal.walk("VEVENT"))
assert got and all(c.startswith("A") for c in got), got
PY
[ "$(code tm1 /calendar/revoke -d "csrf=$(csrf tm1)")" = 303 ] \
	&& [ "$(curl -s -o /dev/null -w '%{http_code}' "$W$feed")" = 404 ] && ok \
	|| bad "a revoked calendar URL still works on PostgreSQL"

# ---- /metrics: the pair's role, from the lease in PostgreSQL ----
m=$(curl -s "$W/metrics")
# (deadlined --once took the lease for its poll and let it go.)
printf '%s\n' "$m" | grep -q '^deadlined_ha_role{role="none",holder="[^"]*"} 1$' && ok \
	|| bad "no daemon holds the lease, but metrics say: $(printf '%s\n' "$m" | grep ha_role)"
printf 'ha = { lease = 15; renew = 1; };\nservice = { poll_interval = 3600; };\n' | cat "$WEB_CONF" - > "$TMP/ha.conf"
$DEADLINED -c "$TMP/ha.conf" 2> "$TMP/ha.err" &
ha=$!
PIDS="$PIDS $ha"
held() { [ -n "$(q "SELECT epoch FROM deadlined_lease WHERE expires_at > now() AND holder LIKE '%:$ha'")" ]; }
wait_until 20 held || bad "the daemon took no lease: $(cat "$TMP/ha.err")"
epoch=$(q "SELECT epoch FROM deadlined_lease WHERE holder LIKE '%:$ha'")
holder=$(q "SELECT holder FROM deadlined_lease WHERE holder LIKE '%:$ha'")
m=$(curl -s "$W/metrics")
printf '%s\n' "$m" | grep -qx "deadlined_ha_role{role=\"leader\",holder=\"$holder\"} 1" && ok \
	|| bad "metrics do not name the leader $holder: $(printf '%s\n' "$m" | grep ha_)"
printf '%s\n' "$m" | grep -qx "deadlined_ha_epoch $epoch" && ok || bad "metrics' epoch is not $epoch"
since=$(printf '%s\n' "$m" | sed -n 's/^deadlined_ha_leader_since_seconds //p')
now=$(date +%s)
[ -n "$since" ] && [ "$since" -le "$now" ] && [ "$since" -gt $((now - 120)) ] && ok \
	|| bad "leader since $since (now $now)"
left=$(printf '%s\n' "$m" | sed -n 's/^deadlined_ha_lease_remaining_seconds //p')
awk "BEGIN { exit !($left > 0 && $left <= 15) }" && ok || bad "lease remaining $left"
kill "$ha"
wait "$ha"
m=$(curl -s "$W/metrics")
printf '%s\n' "$m" | grep -q '^deadlined_ha_role{role="none",holder=' && ok \
	|| bad "after a clean stop the metrics still say: $(printf '%s\n' "$m" | grep ha_role)"
! grep -q 'pw-Web-Secret-7' "$TMP/web.err" "$TMP/ha.err" "$TMP/poll1.out" "$TMP/poll2.out" "$TMP/poll3.out" && ok \
	|| bad "the password was logged"

web_quit
finish
