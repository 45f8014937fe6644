# Security, end to end through the running service:
#  - no secret in any output: a full delivery cycle (SMTP with AUTH, the
#    password from a file; a webhook signed with a secret from
#    $CREDENTIALS_DIRECTORY) at log_level debug, with a failed login on
#    the way; stderr, stdout, STATUS, deadlinectl's output and a dump of
#    the state database hold neither secret (nor its base64 forms);
#  - a secret file that other users may read is refused, saying which file
#    and how to fix it, nothing is sent, and delivery resumes by itself
#    after chmod 600; a systemd credential is not judged by its mode;
#  - no header or line injection: every text field of the case database
#    holds CR, LF, NUL (through a BLOB cast and as a BLOB) and the like;
#    what reaches the real SMTP server (aiosmtpd) and the HTTPS webhook has
#    no injected header or recipient, and each message is delivered or
#    cleanly a dead letter, never a crash;
#  - no child's name: a child_name column added to the case table is never
#    read (no daemon source mentions it) and its value, like the date of
#    birth, is in no message, while the child_ref is;
#  - every SQL statement takes its values as bound parameters
#    (tests/helpers/sql_check.py, a static check of daemon/*.c).
. tests/integration/lib.sh
. tests/integration/service_lib.sh

DB=$TMP/cases.db
STATE=$TMP/state.db
CONF=$TMP/d.conf
PASSWORD="Pw-$$-never-in-a-log-8Hq2"
SIGNING_KEY="webhook key bytes $$ never logged"
WHSEC="whsec_$(printf '%s' "$SIGNING_KEY" | base64 -w0)"
CHILD_NAME="Jessamy Quillfeather-Oduya"
DOB=2011-07-19
C="env DEADLINED_CONFIG=$CONF CREDENTIALS_DIRECTORY=$TMP/creds $DEADLINECTL"
ln -s "$PWD/conf/rules" "$TMP/rules"

# ======================================================================
# Every SQL statement uses bound parameters.
# ======================================================================
$PY tests/helpers/sql_check.py daemon/*.c > "$TMP/sql.txt"; rc=$?
[ $rc = 0 ] && ok || bad "SQL built from something else than literals: $(tail -n 5 "$TMP/sql.txt")"
grep '^SQL call sites' "$TMP/sql.txt"
grep ': dynamic' "$TMP/sql.txt" | sed 's/^/  /'
# ... and the check does catch a value pasted into SQL.
cat > "$TMP/bad.c" <<'C'
static int find(sqlite3 *db, const char *case_ref)
{
	char sql[256];

	snprintf(sql, sizeof sql, "SELECT 1 FROM t WHERE case_ref = '%s'", case_ref);
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}
C
$PY tests/helpers/sql_check.py "$TMP/bad.c" > "$TMP/sql-bad.txt" && bad "sql_check missed a pasted value" \
	|| { grep -q 'bad.c:6 sqlite3_exec(sql) in find()' "$TMP/sql-bad.txt" && ok || bad "sql_check: $(cat "$TMP/sql-bad.txt")"; }

# ======================================================================
# No child name: nothing in the daemon reads one.
# ======================================================================
out=$(grep -rn 'child_name' daemon/ include/)
[ -z "$out" ] && ok || bad "the daemon mentions child_name: $out"

# ======================================================================
# Receivers: SMTP (STARTTLS, AUTH) and an HTTPS webhook.
# ======================================================================
make_test_certs || { bad "openssl: $(cat "$TMP/openssl.log")"; finish; exit 1; }
printf '%s\n' "$PASSWORD" > "$TMP/password"
chmod 600 "$TMP/password"
printf 'wrong-%s\n' "$$" > "$TMP/wrong-password"
chmod 600 "$TMP/wrong-password"
mkdir "$TMP/creds"
printf '%s\n' "$WHSEC" > "$TMP/creds/hook-secret"
# Mode 0644: a credential is systemd's to protect, not judged by its mode.
chmod 644 "$TMP/creds/hook-secret"

$PY tests/helpers/smtp_server.py --out "$TMP/smtp" --port-file "$TMP/smtp.port" \
	--lifetime $((300 * TIME_SCALE)) --cert "$TMP/server.pem" --key "$TMP/server.key" \
	--user alerts --password-file "$TMP/password" 2>"$TMP/smtp.err" &
PIDS="$PIDS $!"
$PY tests/helpers/webhook_server.py --cert "$TMP/server.pem" --key "$TMP/server.key" \
	--port-file "$TMP/hook.port" --log "$TMP/hook.log" --stats "$TMP/hook.stats" \
	--secret "cred=$TMP/creds/hook-secret" --lifetime $((300 * TIME_SCALE)) 2>"$TMP/hook.err" &
PIDS="$PIDS $!"
wait_for "$TMP/smtp.port" && wait_for "$TMP/hook.port" \
	|| { bad "servers: $(cat "$TMP/smtp.err" "$TMP/hook.err")"; finish; exit 1; }
SMTP_PORT=$(cat "$TMP/smtp.port")
HOOK_PORT=$(cat "$TMP/hook.port")

# write_conf PASSWORD_FILE
write_conf() {
	cat > "$CONF" <<CONF
source = { database = "$DB"; };
state = { database = "$STATE"; };
service = { poll_interval = 1; log_level = "debug"; };
rules = {
  @include "rules/referral.conf"
};
receivers = {
  mail = { type = "smtp"; url = "smtp://127.0.0.1:$SMTP_PORT"; from = "deadlines@council.example";
           ca_file = "$TMP/test-ca.pem"; username = "alerts"; password_file = "$1";
           connect_timeout = 2; timeout = 10; };
  hook = { type = "webhook"; url = "https://127.0.0.1:$HOOK_PORT/ok/generic"; ca_file = "$TMP/test-ca.pem";
           secret_credential = "hook-secret"; connect_timeout = 2; timeout = 10; };
  teams = { type = "webhook"; url = "https://127.0.0.1:$HOOK_PORT/ok/teams"; format = "teams";
            ca_file = "$TMP/test-ca.pem"; secret_credential = "hook-secret"; connect_timeout = 2; timeout = 10; };
};
notify = { mail_receiver = "mail"; retry_initial = 1; retry_max = 2; };
routes = ( { notify = [ "hook", "teams" ]; } );
CONF
}

# ======================================================================
# The case database: an ordinary case with a child's name beside it, and
# cases whose every text field tries to break a line or a header.
# ======================================================================
sqlite3 "$DB" < conf/schema/native.sql
sqlite3 "$DB" "ALTER TABLE deadlined_cases ADD COLUMN child_name TEXT;"
$PY - "$DB" "$CHILD_NAME" "$DOB" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
name, dob = sys.argv[2], sys.argv[3]
db.execute("INSERT INTO deadlined_teams VALUES ('T1', 'Duty', 'tm@council.example', 'sm@council.example')")
db.execute("INSERT INTO deadlined_workers VALUES ('W1', 'Sam Worker', 'sam@council.example', 'T1')")
db.execute("INSERT INTO deadlined_cases VALUES ('OK1', 'CHILD-REF-77', ?, 'T1', 'W1', ?)", (dob, name))
db.execute("INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES ('OK1', 'referral', '2024-11-01')")
# A data-quality finding, which the daemon logs at debug level.
db.execute("INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES ('OK1', 'not_a_kind', '2024-11-02')")

# Text that tries to end a header or a line and start another.
evil = ["A\r\nBcc: evil@x.example", "x\nX-Injected: 1", "y\rX-Injected: 1",
        "z\r\n\r\nX-Injected: 1", "Bcc: evil@x.example\r\n", "\u2028X-Injected: 1\u0085",
        "t\x0bX-Injected: 1\x0c", "tab\tX-Injected:\t1",
        "e\x1b]0;retitled\x07\x1b[2J", "c1\u009b31m\x7f"]
for i, e in enumerate(evil):
    t, w, c = "T" + e + str(i), "W" + e + str(i), "K" + e + str(i)
    db.execute("INSERT INTO deadlined_teams VALUES (?, ?, ?, ?)",
               (t, "Team " + e, "tm@council.example", "sm%d@council.example%s" % (i, e)))
    db.execute("INSERT INTO deadlined_workers VALUES (?, ?, ?, ?)",
               (w, "Worker " + e, "w%d@council.example%s" % (i, e), t))
    db.execute("INSERT INTO deadlined_cases VALUES (?, ?, ?, ?, ?, ?)",
               (c, "C" + e, "2015-05-05", t, w, name))
    db.execute("INSERT INTO deadlined_events (case_ref, kind, occurred, event_ref) VALUES (?, 'referral', ?, ?)",
               (c, "2024-11-%02d" % (i + 1), "E" + e))
# A team without e-mail addresses: the daemon warns, naming the case.
db.execute("INSERT INTO deadlined_teams VALUES ('TNOMAIL', 'No mail', NULL, NULL)")
db.execute("INSERT INTO deadlined_cases VALUES (?, 'CN', NULL, 'TNOMAIL', NULL, NULL)",
           ("N\ndeadlined: err: a forged line",))
db.execute("INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES (?, 'referral', '2024-11-20')",
           ("N\ndeadlined: err: a forged line",))
# NUL inside TEXT (the C API cuts it there) and inside BLOBs, via SQL casts.
nul = "x'4e554c000d0a4263633a206576696c40782e6578616d706c65'"   # NUL\0\r\nBcc: evil@x.example
db.executescript("""
INSERT INTO deadlined_teams VALUES (CAST(%(n)s AS TEXT), CAST(%(n)s AS TEXT), 'tm@council.example',
    CAST(x'736d3240636f756e63696c2e6578616d706c65000d0a4263633a206576696c40782e6578616d706c65' AS TEXT));
INSERT INTO deadlined_workers VALUES (CAST(%(n)s AS TEXT), %(n)s, %(n)s, CAST(%(n)s AS TEXT));
INSERT INTO deadlined_cases VALUES (CAST(%(n)s AS TEXT), %(n)s, NULL, CAST(%(n)s AS TEXT),
    CAST(%(n)s AS TEXT), NULL);
INSERT INTO deadlined_events (case_ref, kind, occurred, event_ref) VALUES
    (CAST(%(n)s AS TEXT), 'referral', '2024-11-11', %(n)s);
INSERT INTO deadlined_cases VALUES (%(n)s, CAST(x'4300' AS TEXT), NULL, 'T1', NULL, NULL);
INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES (%(n)s, 'referral', '2024-11-12');
""" % {"n": nul})
db.commit()
PY

# ======================================================================
# A secret file open to other users: refused, named, nothing sent.
# ======================================================================
cp "$TMP/password" "$TMP/open-password"
chmod 644 "$TMP/open-password"
write_conf "$TMP/open-password"
start_listener || { finish; exit 1; }
start_daemon CREDENTIALS_DIRECTORY="$TMP/creds" || { finish; exit 1; }
check_log "open secret file: log" "receiver mail: secret file $TMP/open-password is open to other users (mode 0644); refusing it: run chmod 600 $TMP/open-password"
wait_until 10 eval '[ "$(q "$STATE" "SELECT count(*) FROM outbox WHERE receiver = '"'mail'"' AND attempts > 0 AND last_error LIKE '"'%chmod 600%'"'")" -ge 1 ]' \
	&& ok || bad "open secret file: not in the outbox: $(q "$STATE" "SELECT DISTINCT last_error FROM outbox WHERE receiver = 'mail'")"
$C outbox --state pending | grep -q "last error: receiver mail: secret file $TMP/open-password is open to other users" \
	&& ok || bad "open secret file: deadlinectl outbox: $($C outbox --state pending | head -n 4)"
[ ! -e "$TMP/smtp/0001.eml" ] && [ "$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["connections"])' "$TMP/smtp/stats.json")" = 0 ] \
	&& ok || bad "open secret file: the SMTP server was contacted"
# The webhook's credential (mode 0644) was used: those messages went.
wait_until 10 eval '[ "$(q "$STATE" "SELECT count(*) FROM outbox WHERE receiver = '"'hook'"' AND status = '"'sent'"'")" -ge 1 ]' \
	&& ok || bad "credential of mode 0644 refused: $(q "$STATE" "SELECT DISTINCT last_error FROM outbox WHERE receiver = 'hook'")"
alive_check "with a secret file open to others"
# chmod 600: the next retry opens the receiver; nothing else to do.
chmod 600 "$TMP/open-password"
wait_until 20 eval '[ -e "$TMP/smtp/0001.eml" ]' && ok || bad "after chmod 600: nothing sent"

# ======================================================================
# A wrong password on the way, then the whole cycle; nothing pending.
# ======================================================================
write_conf "$TMP/wrong-password"
mark_log
kill -HUP "$DPID"
check_log "wrong password: reloaded" "reloaded"
# The daemon may be reading the case database (a poll, slow under
# valgrind): wait for its read lock instead of failing at once.
sqlite3 -cmd '.timeout 20000' "$DB" "INSERT INTO deadlined_cases VALUES ('OK2', 'CHILD-REF-78', '$DOB', 'T1', 'W1', '$CHILD_NAME');
	INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES ('OK2', 'referral', '2024-11-02');"
check_log "wrong password: refused" "login refused, check username and password: 535"
write_conf "$TMP/password"
kill -HUP "$DPID"
settled() { [ "$(q "$STATE" "SELECT count(*) FROM outbox WHERE status = 'pending'")" = 0 ]; }
wait_until 30 settled && ok || bad "messages still pending: $(q "$STATE" "SELECT id, receiver, recipient, last_error FROM outbox WHERE status = 'pending'" | head -n 5)"
wait_polls 2
alive_check "after the whole cycle"
$C status > "$TMP/ctl.out" 2>&1
$C outbox >> "$TMP/ctl.out" 2>&1
$C list --state all >> "$TMP/ctl.out" 2>&1
$C check-data >> "$TMP/ctl.out" 2>&1
$C test-notify hook >> "$TMP/ctl.out" 2>&1
$C test-notify mail --recipient check@council.example >> "$TMP/ctl.out" 2>&1
watchdog_check "security cycle"
stop_daemon
[ "$DRC" = 0 ] && ok || bad "exit status $DRC after SIGTERM"
sqlite3 "$STATE" .dump > "$TMP/state.dump"

# ======================================================================
# No secret anywhere the daemon or deadlinectl wrote.
# ======================================================================
grep -q 'debug: ' "$TMP/d.err" && ok || bad "no debug lines: log_level debug not in effect"
PLAIN_AUTH=$(printf '\0alerts\0%s' "$PASSWORD" | base64 -w0)
B64_PASSWORD=$(printf '%s' "$PASSWORD" | base64 -w0)
B64_KEY=$(printf '%s' "$SIGNING_KEY" | base64 -w0)
for s in "$PASSWORD" "$PLAIN_AUTH" "$B64_PASSWORD" "$SIGNING_KEY" "$WHSEC" "$B64_KEY"; do
	if grep -aqF -- "$s" "$TMP/d.err" "$TMP/notify.log" "$TMP/ctl.out" "$TMP/state.dump"; then
		bad "a secret is in the output: $(grep -alF -- "$s" "$TMP/d.err" "$TMP/notify.log" "$TMP/ctl.out" "$TMP/state.dump")"
	else ok; fi
done
# Nor in what was sent (a webhook signature is an HMAC, not the key).
grep -aqF -e "$PASSWORD" -e "$SIGNING_KEY" -e "$WHSEC" "$TMP/hook.log" "$TMP"/smtp/*.eml \
	&& bad "a secret was sent" || ok

# ======================================================================
# What arrived: no injected header or recipient; names and dates of birth
# nowhere; every message delivered or a clean dead letter.
# ======================================================================
$PY - "$TMP/smtp" "$TMP/hook.log" "$CHILD_NAME" "$DOB" <<'PY' > "$TMP/inject.txt" && ok || bad "injection: $(cat "$TMP/inject.txt")"
import email, email.policy, glob, json, os, re, sys
smtp, hook, name, dob = sys.argv[1:5]
allowed = {"date", "message-id", "from", "to", "subject", "mime-version", "content-type",
           "auto-submitted"}
mails = sorted(glob.glob(os.path.join(smtp, "*.eml")))
assert mails
child_refs = 0
for path in mails:
    raw = open(path, "rb").read()
    head, _, body = raw.partition(b"\r\n\r\n")
    # Every header line ends CRLF; no bare CR or LF, no NUL anywhere.
    assert b"\x00" not in raw, path
    for line in head.split(b"\r\n"):
        assert b"\r" not in line and b"\n" not in line, (path, line)
    m = email.message_from_bytes(raw, policy=email.policy.default)
    names = {k.lower() for k in m.keys()}
    assert names <= allowed, (path, names - allowed)
    assert m["Bcc"] is None and m["Cc"] is None and m["X-Injected"] is None, path
    assert re.fullmatch(r"[a-z0-9]+@council\.example", m["To"]), (path, m["To"])
    meta = json.load(open(path[:-4] + ".json"))
    assert meta["rcpt_tos"] == [m["To"]] and meta["tls"], meta
    for part in m.walk():
        if part.get_content_maintype() != "text":
            continue
        text = part.get_content()
        for line in text.splitlines():
            assert not re.match(r"\s*(Bcc|X-Injected|To|Cc):", line, re.I), (path, line)
        assert name not in text and dob not in text, path
        child_refs += "CHILD-REF-77" in text
    assert name not in m["Subject"], path
reqs = [json.loads(l) for l in open(hook)]
for r in reqs:
    assert "x-injected" not in r["headers"] and "bcc" not in r["headers"], r["headers"]
    assert r["verified"] is True, r
    doc = json.loads(r["body"])
    assert name not in r["body"] and dob not in r["body"], r["path"]
    child_refs += "CHILD-REF-77" in r["body"]
assert child_refs >= 2, "the child_ref is in no message"
print("%d mails, %d webhook requests: no injected header or recipient, no NUL, no name, "
      "no date of birth; child_ref shown %d times" % (len(mails), len(reqs), child_refs))
PY
cat "$TMP/inject.txt"
# Each message went, or is a dead letter for an address that is not one.
q "$STATE" "SELECT status || '|' || COALESCE(last_error, '') FROM outbox WHERE status != 'sent'" > "$TMP/unsent"
if grep -v '^dead|recipient .* is not a bare address' "$TMP/unsent" | grep -q .; then
	bad "messages neither sent nor cleanly dead: $(head -n 5 "$TMP/unsent")"
else ok; fi
dead=$(wc -l < "$TMP/unsent")
[ "$dead" -ge 8 ] && ok || bad "only $dead dead letters for the bad addresses"
echo "outbox: $(q "$STATE" "SELECT count(*) FROM outbox WHERE status = 'sent'") sent, $dead dead letters (addresses holding CR/LF/NUL)"
! grep -aq "$CHILD_NAME" "$TMP/d.err" "$TMP/state.dump" "$TMP/ctl.out" && ok || bad "the child's name is in a log or the state"
# deadlinectl's text for a terminal carries no control character from the
# data (ESC sequences could retitle or clear it): only newline and tab.
$PY - "$TMP/ctl.out" <<'PY' && ok || bad "deadlinectl printed control characters from the data"
import re, sys
text = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
bad = re.findall(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text)
assert not bad, [hex(ord(c)) for c in bad][:10]
PY
# Data cannot forge a line of the log (on stderr; the journal keeps a
# message whole by itself).
regression "a case_ref holding a line feed starts a forged line in the stderr log" \
	-- eval '! grep -aq "^deadlined: err: a forged line" "$TMP/d.err"'
# Every case of the evil data was evaluated: no events orphaned.
regression "a BLOB case_ref after another case loses its events (reported as orphans, never alerted)" \
	-- eval '! $C check-data | grep -q "not in deadlined_cases"' 
finish
