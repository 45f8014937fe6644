# deadlined-web through Debian's nginx as the sign-on proxy, with curl:
# who sees what, the identity header refused when sent directly, CSRF,
# a GET that changes nothing, acknowledgements reaching the daemon's next
# poll (reminders) and digest, withdrawal, cover, escaping, /metrics.
. tests/integration/lib.sh
. tests/integration/web_lib.sh

web_setup || bad "first poll: $(cat "$TMP/poll1.out")"
web_start || { bad "deadlined-web did not start: $(cat "$TMP/web.err")"; finish; exit; }
nginx_start || { bad "nginx did not start: $(cat "$TMP/nginx/logs/"*)"; finish; exit; }
P="http://127.0.0.1:$PROXY_PORT"
W="http://127.0.0.1:$WEB_PORT"
q() { sqlite3 -cmd '.timeout 5000' "$TMP/state.db" "$1"; }
# as PERSON PATH [curl args]: through the proxy with PERSON's session.
as() { _who=$1 _path=$2; shift 2; curl -s -b "sso=$_who-session" "$@" "$P$_path"; }
code() { _who=$1 _path=$2; shift 2; curl -s -o /dev/null -w '%{http_code}' -b "sso=$_who-session" "$@" "$P$_path"; }
csrf() { as "$1" /cover | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' | head -n 1; }

# ---- who is who ----
[ "$(curl -s -o /dev/null -w '%{http_code}' "$P/")" = 401 ] && ok || bad "no session: not 401"
direct=$(curl -s -w '%{http_code}' -H 'X-Forwarded-Email: admin@council.example' "$W/")
case $direct in *403) ok ;; *) bad "identity header sent directly was not refused: $direct" ;; esac
printf '%s' "$direct" | grep -q 'sign-on proxy' && ok || bad "direct refusal does not say why"
grep -q 'not in web.trusted_proxies; refused' "$TMP/web.err" && ok || bad "direct refusal not logged"
# The proxy replaces a header the browser sends.
as w1 / -H 'X-Forwarded-Email: admin@council.example' | grep -q 'Signed in as w1@council.example' \
	&& ok || bad "the proxy's identity did not win over the browser's header"
out=$(as stranger /)
[ "$(code stranger /)" = 403 ] && printf '%s' "$out" | grep -q 'no open case names you' && ok \
	|| bad "a stranger was not refused plainly"

# A manager whose team has nothing open is known from the directory.
sqlite3 "$TMP/state.db" "SELECT COUNT(*) FROM directory_teams" | grep -qx 2 && ok || bad "directory not saved"
sqlite3 "$TMP/cases.db" "INSERT INTO deadlined_teams VALUES ('T3', 'Quiet', 'tm3@council.example', NULL)"
$DEADLINED -c "$WEB_CONF" --once --as-of 2025-01-08 > /dev/null 2>&1
curl -s -b sso=tm3-session "$P/" -o "$TMP/tm3.html" -w '%{http_code}' | grep -qx 200 \
	&& grep -q 'Nothing open matches' "$TMP/tm3.html" && ok || bad "a manager with nothing open got no empty tray"
tray=$(as tm1 /)
for c in A1 A2 A3 A4 A5; do printf '%s' "$tray" | grep -q "case?ref=$c\"" || bad "tm1 tray lacks $c"; done
printf '%s' "$tray" | grep -q 'case?ref=B1"' && bad "tm1 sees team T2's B1" || ok
printf '%s' "$tray" | grep -q '<script>alert' && bad "team name not escaped" || ok
printf '%s' "$tray" | grep -q 'Duty &lt;script&gt;alert(1)&lt;/script&gt;' && ok || bad "escaped team name missing"
printf '%s' "$tray" | grep -q 'Wendy &quot;W&quot; Worker' && ok || bad "worker name not escaped"
w1=$(as w1 /)
printf '%s' "$w1" | grep -q 'case?ref=A1"' && ! printf '%s' "$w1" | grep -q 'case?ref=A5"' && ok \
	|| bad "worker w1 should see own A1 and not unallocated A5"
[ "$(code w1 '/case?ref=B1')" = 403 ] && ok || bad "worker opened another team's case"
as w1 '/case?ref=B1' | grep -q 'Not your case' && ok || bad "403 page does not explain"
[ "$(code w2 '/case?ref=B1')" = 200 ] && ok || bad "worker cannot open own case"
[ "$(code sm2 '/case?ref=B1')" = 200 ] && [ "$(code sm2 '/case?ref=A1')" = 403 ] && ok \
	|| bad "service manager sees the teams that name them, only"
[ "$(code admin '/case?ref=B1')" = 200 ] && [ "$(code admin '/case?ref=A1')" = 200 ] && ok \
	|| bad "admin does not see everything"
[ "$(code tm1 '/case?ref=NOPE')" = 404 ] && ok || bad "unknown case not 404"
# Filters: worst first, by rule/state/team.
as admin '/?team=T2' | grep -q 'case?ref=A1"' && bad "team filter" || ok
case_page=$(as tm1 '/case?ref=A1')
printf '%s' "$case_page" | grep -q 'Started 2025-01-06; due 2025-01-07: 1 working day later' && ok \
	|| bad "case page lacks the arithmetic: $case_page"
printf '%s' "$case_page" | grep -q 'href="https://mosaic.council.example/case/A1"' && ok \
	|| bad "case page lacks the case_url link"

# ---- signed links in the first poll's e-mails ----
# link KIND CASE TO: the path of that link in a message to TO.
link() {
	/usr/bin/python3 - "$TMP/mail/new" "$1" "$2" "$3" <<'PY'
import email, email.policy, os, re, sys
d, kind, case, to = sys.argv[1:]
for f in sorted(os.listdir(d)):
    m = email.message_from_binary_file(open(os.path.join(d, f), "rb"), policy=email.policy.default)
    if m["To"] != to:
        continue
    for url in re.findall(r"https://deadlines\.council\.example(/l\?\S+)", m.get_body(("plain",)).get_content()):
        if "k=%s&c=%s&" % (kind, case) in url:
            print(url)
            sys.exit(0)
sys.exit(1)
PY
}
ack_link=$(link ack A1 tm1@council.example) && ok || bad "no signed Acknowledge link for A1 in tm1's e-mail"
open_link=$(link open A1 w1@council.example) && ok || bad "no signed Open link in w1's e-mail"
grep -rq 'https://mosaic.council.example/case/A1' "$TMP/mail/new" && ok || bad "case_url not in e-mails"
page=$(as tm1 "$ack_link")
printf '%s' "$page" | grep -q 'name="reason"' && printf '%s' "$page" | grep -q 'value="A1|decision"' \
	&& ok || bad "tm1's ack link does not open the form"
[ "$(q 'SELECT COUNT(*) FROM acks')" = 0 ] && ok || bad "opening an ack link changed the state"
[ "$(code tm1 "$open_link")" = 403 ] && as tm1 "$open_link" | grep -q 'sent to someone else' && ok \
	|| bad "someone else's link not refused plainly"
[ "$(curl -s -o /dev/null -w '%{http_code}' -b sso=w1-session "$P$open_link")" = 303 ] && ok || bad "w1's own link"
tampered=$(printf '%s' "$ack_link" | sed 's/c=A1&/c=A2\&/')
[ "$(code tm1 "$tampered")" = 403 ] && as tm1 "$tampered" | grep -q 'has been changed' && ok \
	|| bad "tampered link not refused plainly"
# An expired link, signed here with the shared key (an independent HMAC).
expired=$(/usr/bin/python3 - "$TMP/link.key" <<'PY'
import hashlib, hmac, sys
key = open(sys.argv[1], "rb").read().rstrip(b"\r\n")
f = ["link", "ack", "A1", "decision", "tm1@council.example", "1700000000"]
sig = hmac.new(key, b"".join(x.encode() + b"\0" for x in f), hashlib.sha256).hexdigest()
print("/l?k=ack&c=A1&r=decision&to=tm1%40council.example&e=1700000000&s=" + sig)
PY
)
[ "$(code tm1 "$expired")" = 410 ] && as tm1 "$expired" | grep -q 'has expired' && ok || bad "expired link"
[ "$(q 'SELECT COUNT(*) FROM acks')" = 0 ] && ok || bad "a refused link changed the state"

# ---- acknowledging: GET changes nothing, POST needs its token ----
items='item=A1%7Cdecision&item=A2%7Cdecision&item=A3%7Cdecision'
until=$(date -d '+7 days' +%F)
form=$(as tm1 "/ack?$items")
[ "$(q 'SELECT COUNT(*) FROM acks')" = 0 ] && ok || bad "GET of an ack form changed the state"
printf '%s' "$form" | grep -q 'name="reason"' && printf '%s' "$form" | grep -q 'name="until"' \
	&& ok || bad "ack form lacks reason/until"
token=$(printf '%s' "$form" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' | head -n 1)
[ "$(code tm1 /ack -d "$items&reason=Family+moved&until=$until")" = 403 ] && ok || bad "POST without CSRF token accepted"
[ "$(code tm1 /ack -d "csrf=$(csrf w1)&$items&reason=Family+moved&until=$until")" = 403 ] && ok \
	|| bad "another person's CSRF token accepted"
[ "$(code tm1 /ack -d "csrf=$token&$items&until=$until")" = 400 ] && ok || bad "ack without reason accepted"
far=$(date -d '+31 days' +%F)
as tm1 /ack -d "csrf=$token&$items&reason=Family+moved&until=$far" | grep -q 'max_ack_days' && ok \
	|| bad "until beyond max_ack_days accepted"
[ "$(code tm1 /ack -d "csrf=$token&item=B1%7Cdecision&reason=Family+moved&until=$until")" = 400 ] \
	&& ok || bad "tm1 acknowledged another team's case"
[ "$(q 'SELECT COUNT(*) FROM acks')" = 0 ] && ok || bad "a refused POST changed the state"
loc=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -b sso=tm1-session \
	-d "csrf=$token&$items&reason=Family+moved%2C+assessment+overran&until=$until" "$P/ack")
case $loc in "303 "*"/?acked=3") ok ;; *) bad "ack POST: $loc" ;; esac
[ "$(q "SELECT COUNT(*) FROM acks WHERE who = 'tm1@council.example' AND until = '$until'
	AND reason = 'Family moved, assessment overran'")" = 3 ] && ok || bad "acks not in the state store"
[ "$(q "SELECT COUNT(*) FROM web_audit WHERE action = 'ack' AND origin LIKE '127.0.0.1 via proxy'")" = 3 ] \
	&& ok || bad "audit records lack who/where: $(q 'SELECT * FROM web_audit')"
as tm1 / | grep -c "Until $until by tm1@council.example" | grep -qx 3 && ok || bad "tray does not show the acks"

# While something else holds the write lock past the busy timeout (a long
# poll), an ack is refused plainly (503), never lost silently.
/usr/bin/python3 - "$TMP/state.db" "$TMP/locked" <<'PY' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
time.sleep(9)
c.execute("ROLLBACK")
PY
locker=$!
wait_until 10 test -e "$TMP/locked"
busy=$(curl -s -w '%{http_code}' -b sso=tm1-session -d "csrf=$token&item=A4%7Cdecision&reason=Later&until=$until" "$P/ack")
case $busy in *"state database is busy"*503) ok ;; *) bad "ack while the database is locked: $busy" ;; esac
wait "$locker"
[ "$(q "SELECT COUNT(*) FROM acks WHERE case_ref = 'A4'")" = 0 ] && ok || bad "a refused ack was recorded"

# ---- the daemon's next poll: reminders and the digest reflect it ----
before=$(ls "$TMP/mail/new" | sort)
$DEADLINED -c "$WEB_CONF" --once --as-of 2025-01-09 > "$TMP/poll2.out" 2>&1 || bad "second poll: $(cat "$TMP/poll2.out")"
/usr/bin/python3 - "$TMP/mail/new" "$before" <<'PY' && ok || bad "reminders/digest after the web acks"
import sys
sys.path.insert(0, "tests/helpers")
from maildir_new import by_recipient
by = by_recipient(sys.argv[1], sys.argv[2])
w1 = "\n".join(by.get("w1@council.example", []))
assert "A4" in w1, ("worker reminder lacks A4", by.keys(), w1)
for c in ("A1", "A2", "A3"):
    assert c not in w1, ("acknowledged %s reminded" % c, w1)
tm = "\n".join(by.get("tm1@council.example", []))
marked = [l for l in tm.splitlines() if "(acknowledged)" in l]
assert len(marked) == 3, ("digest should mark three acknowledged", tm)
assert any("A4" in l and "(acknowledged)" not in l for l in tm.splitlines()), tm
PY

# ---- withdrawing ----
id=$(q "SELECT id FROM acks WHERE case_ref = 'A1'")
[ "$(code w2 /ack/withdraw -d "csrf=$(csrf w2)&id=$id&ref=A1")" = 404 ] && [ "$(q 'SELECT COUNT(*) FROM acks')" = 3 ] \
	&& ok || bad "w2 withdrew tm1's ack on a case not theirs"
[ "$(code tm1 /ack/withdraw -d "id=$id&ref=A1")" = 403 ] && ok || bad "withdraw without CSRF accepted"
[ "$(code tm1 /ack/withdraw -d "csrf=$token&id=$id&ref=A1")" = 303 ] && [ "$(q 'SELECT COUNT(*) FROM acks')" = 2 ] \
	&& [ "$(q "SELECT COUNT(*) FROM web_audit WHERE action = 'withdraw'")" = 1 ] && ok || bad "withdraw"

# ---- cover: a deputy sees the covered team while it runs ----
[ "$(code dep /)" = 403 ] && ok || bad "deputy saw a tray before cover"
today=$(date +%F)
[ "$(code tm1 /cover -d "csrf=$(csrf tm1)&deputy=deputy%40council.example&from=$today&to=$until")" = 303 ] \
	&& ok || bad "cover POST"
as dep / | grep -q 'case?ref=A2"' && ok || bad "deputy does not see the covered team"
[ "$(code dep '/case?ref=B1')" = 403 ] && ok || bad "deputy sees a team not covered"
cid=$(q "SELECT id FROM cover")
[ "$(code tm1 /cover/end -d "csrf=$(csrf tm1)&id=$cid")" = 303 ] && [ "$(code dep /)" = 403 ] && ok \
	|| bad "ending cover did not end the deputy's view"

# ---- the calendar feed: a secret, revocable URL, read by Python's icalendar ----
[ "$(code tm1 /calendar/new -d x=1)" = 403 ] && ok || bad "calendar/new without CSRF"
feed=$(as tm1 /calendar/new -d "csrf=$(csrf tm1)" | sed -n 's|.*https://deadlines.council.example\(/calendar/[0-9a-f]*\.ics\).*|\1|p')
[ -n "$feed" ] && ok || bad "no calendar address shown"
[ "$(q 'SELECT COUNT(*) FROM calendar_tokens WHERE revoked IS NULL')" = 1 ] \
	&& [ "$(q "SELECT COUNT(*) FROM calendar_tokens WHERE hash = '${feed#/calendar/}'")" = 0 ] \
	&& ok || bad "the token itself, not its hash, is stored"
curl -s "$W$feed" > "$TMP/tm1.ics"
/usr/bin/python3 - "$TMP/tm1.ics" <<'PY' && ok || bad "calendar feed: $(head -c 600 "$TMP/tm1.ics")"
import sys, datetime, icalendar
cal = icalendar.Calendar.from_ical(open(sys.argv[1], "rb").read())
assert str(cal["VERSION"]) == "2.0", cal["VERSION"]
ev = cal.walk("VEVENT")
got = sorted(str(e["SUMMARY"]).split()[0] for e in ev)
assert got == ["A1", "A2", "A3", "A4", "A5"], got
for e in ev:
    assert e.decoded("DTSTART") == datetime.date(2025, 1, 7), e.decoded("DTSTART")
    assert "Wendy" not in e.to_ical().decode() and "Duty" not in e.to_ical().decode()
PY
as tm1 /calendar/new -d "csrf=$(csrf tm1)" > /dev/null
[ "$(curl -s -o /dev/null -w '%{http_code}' "$W$feed")" = 404 ] && ok || bad "a replaced calendar URL still works"
feed=$(as tm1 /calendar/new -d "csrf=$(csrf tm1)" | sed -n 's|.*https://deadlines.council.example\(/calendar/[0-9a-f]*\.ics\).*|\1|p')
[ "$(curl -s -o /dev/null -w '%{http_code}' "$W$feed")" = 200 ] && ok || bad "new calendar URL"
[ "$(code tm1 /calendar/revoke -d "csrf=$(csrf tm1)")" = 303 ] \
	&& [ "$(curl -s -o /dev/null -w '%{http_code}' "$W$feed")" = 404 ] && ok || bad "revoked calendar URL still works"

# ---- operations ----
curl -s "$W/metrics" > "$TMP/metrics.txt"
grep -q '^deadlined_obligations{state="overdue"} ' "$TMP/metrics.txt" \
	&& [ "$(sed -n 's/^deadlined_messages{receiver="box",status="sent"} //p' "$TMP/metrics.txt")" \
		= "$(q "SELECT COUNT(*) FROM outbox WHERE receiver = 'box' AND status = 'sent'")" ] \
	&& ok || bad "/metrics: $(head -c 600 "$TMP/metrics.txt")"
[ "$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 "$W/metrics")" = 403 ] && ok \
	|| bad "/metrics open to an address not in metrics_allow"
curl -s -D - -o /dev/null -b sso=tm1-session "$P/" | grep -qi "^content-security-policy: default-src 'none'" \
	&& ok || bad "no CSP header"

# ---- the timeliness report: the figures of deadlinectl report ----
sqlite3 "$TMP/cases.db" "INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES
  ('A4', 'referral_decision', '2025-01-09'), ('B1', 'referral_decision', '2025-01-07')"
$DEADLINED -c "$WEB_CONF" --once --as-of 2025-01-10 > "$TMP/poll3.out" 2>&1 || bad "third poll"
rep=$(as tm1 '/report?from=2025-01-01&to=2025-01-31')
printf '%s' "$rep" | grep -q '<th scope="row">Referral decisions</th><td>0 of 1</td>' && ok \
	|| bad "tm1's report (team T1: A4 met late): $rep"
as tm1 '/report?from=2025-01-01&to=2025-01-31&team=T1&format=csv' > "$TMP/web.csv"
DEADLINED_CONFIG="$WEB_CONF" $DEADLINECTL report --from 2025-01-01 --to 2025-01-31 --team T1 \
	--source state --format csv > "$TMP/ctl.csv" 2>&1
[ -s "$TMP/web.csv" ] && cmp -s "$TMP/web.csv" "$TMP/ctl.csv" && ok \
	|| bad "web CSV differs from deadlinectl report's: $(diff "$TMP/web.csv" "$TMP/ctl.csv" | head -5)"
[ "$(code tm1 '/report?from=2025-01-01&to=2025-01-31&team=T2')" = 403 ] && ok || bad "tm1 reported on team T2"
as admin '/report?from=2025-01-01&to=2025-01-31' | grep -q '<td>1 of 2</td>' && ok || bad "admin's all-team report"

# ---- cover from deadlinectl: the deputy hears what the manager hears, and why ----
expect 2 '' 'not an e-mail address' -- env DEADLINED_CONFIG="$WEB_CONF" $DEADLINECTL cover tm2 dep2@council.example 2025-01-01 2025-01-31
expect 2 '' 'FROM on or before TO' -- env DEADLINED_CONFIG="$WEB_CONF" $DEADLINECTL cover tm2@council.example dep2@council.example 2025-02-01 2025-01-31
expect 0 '*' '' -- env DEADLINED_CONFIG="$WEB_CONF" $DEADLINECTL cover TM2@council.example dep2@council.example 2025-01-01 2025-01-31
soon=$(date -d '+5 days' +%F)
DEADLINED_CONFIG="$WEB_CONF" $DEADLINECTL cover tm2@council.example dep3@council.example "$today" "$soon" > /dev/null
out=$(DEADLINED_CONFIG="$WEB_CONF" $DEADLINECTL covers)
printf '%s' "$out" | grep -q "tm2@council.example .*dep3@council.example .*$today $soon" \
	&& ! printf '%s' "$out" | grep -q dep2 && ok || bad "deadlinectl covers (now and to come only): $out"
sqlite3 "$TMP/cases.db" "INSERT INTO deadlined_cases VALUES ('B2', 'C7', NULL, 'T2', 'W2');
  INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES ('B2', 'referral', '2025-01-09')"
before=$(ls "$TMP/mail/new" | sort)
$DEADLINED -c "$WEB_CONF" --once --as-of 2025-01-13 > "$TMP/poll4.out" 2>&1 || bad "fourth poll"
/usr/bin/python3 - "$TMP/mail/new" "$before" <<'PY' && ok || bad "the deputy was not told, or not told why"
import sys
sys.path.insert(0, "tests/helpers")
from maildir_new import by_recipient
to = by_recipient(sys.argv[1], sys.argv[2])
assert "tm2@council.example" in to, list(to)
dep = to.get("dep2@council.example", [])
assert dep, ("no message to the deputy", list(to))
text = dep[0]
assert "B2" in text and "covering for tm2@council.example" in text, text[:500]
PY

# ---- bad configuration: deadlined -n names the setting ----
printf 'web = { trusted_proxies = [ "proxy.example" ]; max_ack_days = 0; };\n' > "$TMP/bad.conf"
out=$($DEADLINED -n -c "$TMP/bad.conf" 2>&1); rc=$?
[ $rc != 0 ] && printf '%s' "$out" | grep -q 'web.trusted_proxies' && printf '%s' "$out" | grep -q 'web.max_ack_days' \
	&& ok || bad "deadlined -n on a bad web group: rc $rc: $out"

web_quit
finish
