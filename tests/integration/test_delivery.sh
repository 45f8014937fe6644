# Alerts end to end: deadlined --once against a hand-built case database,
# delivering into Maildirs; dedup across polls and restarts, digests,
# reminders, acks, quiet hours, caps, dead letters and retry.
. tests/integration/lib.sh
C=$DEADLINECTL
D=$DEADLINED

sqlite3 "$TMP/cases.db" < conf/schema/native.sql
sqlite3 "$TMP/cases.db" <<'SQL'
INSERT INTO deadlined_teams VALUES ('T1', 'Duty and Assessment Team', 'tm@council.example', 'sm@council.example');
INSERT INTO deadlined_workers VALUES ('W1', 'Sam Worker', 'sam@council.example', 'T1');
INSERT INTO deadlined_cases VALUES
  ('A2', 'C2', '2015-05-05', 'T1', 'W1'), ('A3', 'C3', '2015-05-05', 'T1', 'W1'),
  ('A4', 'C4', '2015-05-05', 'T1', 'W1'), ('A5', 'C5', '2010-01-01', 'T1', NULL);
INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES
  ('A2', 'referral', '2024-11-01'), ('A3', 'cla_started', '2024-12-02'),
  ('A4', 'cla_started', '2024-12-02'), ('A4', 'placement_started', '2024-12-02'),
  ('A4', 'health_part_a_sent', '2024-12-05'), ('A4', 'cla_visit', '2024-12-06'),
  ('A4', 'care_plan', '2024-12-10'), ('A4', 'initial_health_assessment', '2024-12-20'),
  ('A4', 'cla_review', '2024-12-20'), ('A4', 'pep', '2024-12-20'),
  ('A5', 'missing_returned', '2025-01-16T18:00');
SQL
ln -sfn "$PWD/conf/rules" "$TMP/rules"

# conf NAME NOTIFY-SETTINGS [EXTRA]: a config with the rule pack, a Maildir
# for people and a Maildir "channel" for routes.
conf() {
	cat > "$TMP/$1.conf" <<CONF
source = { database = "$TMP/cases.db"; };
state = { database = "$TMP/$1.db"; };
rules = {
  @include "rules/referral.conf"
  @include "rules/looked-after.conf"
  @include "rules/missing.conf"
};
receivers = {
  mail = { type = "maildir"; path = "$TMP/$1-mail"; from = "deadlined@test.invalid"; };
  channel = { type = "maildir"; path = "$TMP/$1-channel"; from = "deadlined@test.invalid";
              to = [ "channel@council.example" ]; };
  # Nothing listens on port 1: every delivery fails at once.
  nowhere = { type = "webhook"; url = "https://127.0.0.1:1/hook"; connect_timeout = 2; timeout = 3; };
};
notify = { mail_receiver = "mail"; $2 };
$3
CONF
}
count() { ls "$1" 2>/dev/null | wc -l | tr -d ' '; }
to_count() { grep -l "^To: $2" "$1"/* 2>/dev/null | wc -l | tr -d ' '; }

# ---- digests: workers and team managers daily, escalations at once ----
conf dg 'digest_time = "08:30"; digest_roles = [ "worker", "team_manager" ];' \
	'routes = ( { rule = "cla-review"; on = [ "escalation" ]; notify = [ "channel" ]; } );'
expect 0 '*' '*' -- $D --once --as-of 2025-01-20 -c "$TMP/dg.conf"
M="$TMP/dg-mail/new"
# 7 obligations passed escalation stage 1 (A2 x2, A3 x5): the service manager
# hears at once, in one message listing the 7; Sam (8 items) and the team
# manager (9: A5 is unallocated, so its worker alerts go to the team manager)
# get one digest each; the route sends A3's review escalation to the channel.
[ "$(to_count "$M" sm@council.example)" = 1 ] && ok || bad "service manager escalations: $(to_count "$M" sm@council.example)"
[ "$(to_count "$M" sam@council.example)" = 1 ] && ok || bad "worker digest count"
[ "$(to_count "$M" tm@council.example)" = 1 ] && ok || bad "team manager digest count"
[ "$(count "$M")" = 3 ] && ok || bad "messages in all: $(count "$M")"
[ "$(count "$TMP/dg-channel/new")" = 1 ] && ok || bad "route to channel: $(count "$TMP/dg-channel/new")"
/usr/bin/python3 - "$M" <<'PY' && ok || bad "digest content"
import email, email.policy, glob, re, sys
msgs = [email.message_from_binary_file(open(f, "rb"), policy=email.policy.default)
        for f in glob.glob(sys.argv[1] + "/*")]
tm = [m for m in msgs if m["To"] == "tm@council.example"][0]
assert tm["Subject"].startswith("9 overdue"), tm["Subject"]
assert "Duty and Assessment Team" in tm["Subject"], tm["Subject"]
text = tm.get_body(("plain",)).get_content()
for ref in ("A2", "A3", "A4", "A5"):
    assert ref in text, ref
html = tm.get_body(("html",)).get_content()
assert "<html" in html.lower()
sam = [m for m in msgs if m["To"] == "sam@council.example"][0]
assert sam["Subject"].startswith("8 overdue"), sam["Subject"]
sm = [m for m in msgs if m["To"] == "sm@council.example"][0]
assert sm["Subject"].startswith("Escalation"), sm["Subject"]
# The count comes with the worst item's numbers, before any name (issue 14).
assert re.match(r"Escalation \(stage 1\), overdue [0-9]+ working days \(\+6 more\): ", sm["Subject"]), sm["Subject"]
ids = [m["Message-ID"] for m in msgs]
assert len(set(ids)) == len(ids)
PY

# The same poll again, and again as a new process: nothing new.
expect 0 '*' '*' -- $D --once --as-of 2025-01-20 -c "$TMP/dg.conf"
[ "$(count "$M")" = 3 ] && ok || bad "second poll sent again: $(count "$M")"
# The next working day: one digest each, nothing else.
expect 0 '*' '*' -- $D --once --as-of 2025-01-21 -c "$TMP/dg.conf"
[ "$(count "$M")" = 5 ] && ok || bad "next day's digests: $(count "$M")"
# A Saturday: no digest, but A4's visit (due Fri 01-17) and A5's return
# interview (due 2025-01-19T18:00) passed due + 5 working days on Friday
# 24th: the service manager hears of both, in one message.
expect 0 '*' '*' -- $D --once --as-of 2025-01-25 -c "$TMP/dg.conf"
[ "$(count "$M")" = 6 ] && ok || bad "Saturday: $(count "$M") messages, want 6"
[ "$(to_count "$M" sm@council.example)" = 2 ] && ok || bad "Saturday escalations"
DEADLINED_CONFIG="$TMP/dg.conf" $C status > "$TMP/status.txt"; rc=$?
[ $rc = 0 ] && grep -q 'outbox .* 0 pending, 7 sent, 0 dead' "$TMP/status.txt" && ok || bad "status: rc $rc $(cat "$TMP/status.txt")"
# An acknowledged item stays in the next digest, marked as such (text,
# HTML and JSON-free: these are e-mails), and nothing else is.
env DEADLINED_CONFIG="$TMP/dg.conf" $C ack A3 cla-review --until 2099-01-01 \
	--reason 'Review booked' > /dev/null 2>&1 || bad "ack for the digest"
ls "$M" > "$TMP/before-monday"
expect 0 '*' '*' -- $D --once --as-of 2025-01-27 -c "$TMP/dg.conf"
/usr/bin/python3 - "$M" "$TMP/before-monday" <<'PY' && ok || bad "acknowledged item in the digest"
import email, email.policy, os, sys
old = set(open(sys.argv[2]).read().split())
new = [f for f in os.listdir(sys.argv[1]) if f not in old]
msgs = [email.message_from_binary_file(open(os.path.join(sys.argv[1], f), "rb"),
        policy=email.policy.default) for f in new]
sam = [m for m in msgs if m["To"] == "sam@council.example"]
assert len(sam) == 1, [m["To"] for m in msgs]
text = sam[0].get_body(("plain",)).get_content()
marked = [l for l in text.splitlines() if "(acknowledged)" in l]
assert len(marked) == 1, marked
html = sam[0].get_body(("html",)).get_content()
assert html.count("(acknowledged)") == 1, html.count("(acknowledged)")
PY

# ---- immediate mode: reminders and acks ----
conf im 'reminder_interval = "5 working days";'
expect 0 '*' '*' -- $D --once --as-of 2025-01-20 -c "$TMP/im.conf"
M="$TMP/im-mail/new"
# Each recipient hears once, listing their part: Sam the 8 overdue he works,
# the team manager 9 (A5 is unallocated), the service manager the 7
# escalations.
[ "$(to_count "$M" sam@council.example)" = 1 ] && ok || bad "worker alerts: $(to_count "$M" sam@council.example)"
[ "$(to_count "$M" tm@council.example)" = 1 ] && ok || bad "tm alerts: $(to_count "$M" tm@council.example)"
[ "$(to_count "$M" sm@council.example)" = 1 ] && ok || bad "sm alerts: $(to_count "$M" sm@council.example)"
expect 0 '*' 'acknowledged' -- sh -c "DEADLINED_CONFIG='$TMP/im.conf' $C ack A3 cla-review --until 2099-01-01 --reason 'Review booked for 3 Feb; IRO on leave' >&2"
DEADLINED_CONFIG="$TMP/im.conf" $C acks | grep -q 'A3 .*cla-review .*2099-01-01 .*Review booked' && ok || bad "acks list"
expect 2 '' 'in the past' -- env DEADLINED_CONFIG="$TMP/im.conf" $C ack A3 pep --until 2001-01-01 --reason 'x y z'
expect 2 '' 'no open obligation' -- env DEADLINED_CONFIG="$TMP/im.conf" $C ack A4 care-plan --until 2099-01-01 --reason 'done already'
before=$(count "$M")
# 5 working days later (2025-01-27): reminders to worker and team manager for
# A2's two and A3's five obligations less the acknowledged review (6 each);
# A4's visit (due 01-17) and A5's interview passed due + 5 working days, so
# they escalate to the service manager instead: 3 messages.
expect 0 '*' '*' -- $D --once --as-of 2025-01-27 -c "$TMP/im.conf"
after=$(count "$M")
[ $((after - before)) = 3 ] && ok || bad "reminders: $((after - before)) messages, want 3"
/usr/bin/python3 - "$M" <<'PY' && ok || bad "reminder content, or the acknowledged review was reminded"
import email, email.policy, glob, re, sys
msgs = [email.message_from_binary_file(open(f, "rb"), policy=email.policy.default)
        for f in glob.glob(sys.argv[1] + "/*")]
texts = [m.get_body(("plain",)).get_content() for m in msgs]
reminders = [t for t in texts if "Still overdue" in t or "still overdue" in t]
assert len(reminders) == 2, [t[:300] for t in texts]
for t in reminders:
    assert t.count("A3") == 4, t
    assert "Looked-after child review" not in t, t
PY
expect 0 '*' '*' -- $D --once --as-of 2025-01-28 -c "$TMP/im.conf"
[ "$(count "$M")" = "$after" ] && ok || bad "reminded twice within the interval"

# ---- quiet hours and caps hold messages; escalations go through ----
h=$(date +%-H); m=$(date +%-M)
from=$(printf '%02d:%02d' $(( (h + 23) % 24 )) "$m")
until=$(printf '%02d:%02d' $(( (h + 1) % 24 )) "$m")
conf qh "quiet_hours = \"$from-$until\";"
expect 0 '*' '*' -- $D --once --as-of 2025-01-20 -c "$TMP/qh.conf"
[ "$(count "$TMP/qh-mail/new")" = 1 ] && ok || bad "quiet hours: $(count "$TMP/qh-mail/new") sent, want the escalations' one"
DEADLINED_CONFIG="$TMP/qh.conf" $C outbox --state pending | grep -q 'held: quiet hours' && ok || bad "held messages not shown"
# A cap of one a day: Sam's reminders (2025-01-27) wait for tomorrow.
conf cap 'daily_cap = 1;'
expect 0 '*' '*' -- $D --once --as-of 2025-01-20 -c "$TMP/cap.conf"
expect 0 '*' '*' -- $D --once --as-of 2025-01-27 -c "$TMP/cap.conf"
[ "$(to_count "$TMP/cap-mail/new" sam@council.example)" = 1 ] && ok || bad "cap: sam got $(to_count "$TMP/cap-mail/new" sam@council.example)"
DEADLINED_CONFIG="$TMP/cap.conf" $C outbox --state pending | grep -q 'held: daily cap reached' && ok || bad "cap hold not shown"

# ---- dead letters and retry: a webhook nobody answers ----
conf dl 'dead_after = "0 days";' 'routes = ( { on = [ "escalation" ]; notify = [ "nowhere" ]; } );'
expect 0 '*' '*' -- $D --once --as-of 2025-01-20 -c "$TMP/dl.conf"
DEADLINED_CONFIG="$TMP/dl.conf" $C status > "$TMP/status.txt"; rc=$?
[ $rc = 1 ] && grep -q '1 dead letter' "$TMP/status.txt" && ok || bad "dead letters in status: rc $rc $(cat "$TMP/status.txt")"
DEADLINED_CONFIG="$TMP/dl.conf" $C outbox --state dead | grep -q 'last error: .*Couldn.t connect' && ok || bad "dead letters listed with errors"
expect 0 '1 dead letter queued again; the daemon sends it at its next delivery' '' \
	-- env DEADLINED_CONFIG="$TMP/dl.conf" $C retry --all
expect 2 '' 'not a message id' -- env DEADLINED_CONFIG="$TMP/dl.conf" $C retry x1
expect 2 '' 'or --all' -- env DEADLINED_CONFIG="$TMP/dl.conf" $C retry

# ---- test-notify: a test message now, and what the receiver said ----
DEADLINED_CONFIG="$TMP/dg.conf" $C test-notify mail --recipient check@council.example | grep -q '^mail: delivered' \
	&& ok || bad "test-notify mail"
/usr/bin/python3 - "$TMP/dg-mail/new" <<'PY' && ok || bad "test message not in the Maildir"
import email, email.policy, glob, re, sys
msgs = [email.message_from_binary_file(open(f, "rb"), policy=email.policy.default)
        for f in glob.glob(sys.argv[1] + "/*")]
test = [m for m in msgs if m["To"] == "check@council.example"]
assert len(test) == 1 and "test message" in test[0]["Subject"], [m["Subject"] for m in test]
PY
DEADLINED_CONFIG="$TMP/dg.conf" $C test-notify channel | grep -q '^channel: delivered' && ok || bad "test-notify to a receiver's own address"
out=$(DEADLINED_CONFIG="$TMP/dg.conf" $C test-notify nowhere); rc=$?
[ $rc = 1 ] && printf '%s' "$out" | grep -q "^nowhere: failed (would be retried): .*Couldn't connect" && ok || bad "test-notify failure: rc $rc $out"
expect 2 '' "no receiver 'nope'" -- env DEADLINED_CONFIG="$TMP/dg.conf" $C test-notify nope
expect 2 '' "give --recipient ADDRESS" -- env DEADLINED_CONFIG="$TMP/dg.conf" $C test-notify mail

# ---- dry run: lists, stores nothing ----
conf dry 'digest_time = "08:30";'
expect 0 '*' '*' -- $D --once --dry-run --as-of 2025-01-20 -c "$TMP/dry.conf"
$D --once --dry-run --as-of 2025-01-20 -c "$TMP/dry.conf" | grep -q '^would send via mail to sm@council.example: ' && ok || bad "dry run lists"
[ ! -e "$TMP/dry.db" ] && [ "$(count "$TMP/dry-mail/new")" = 0 ] && ok || bad "dry run stored or sent"

# ---- a team with no manager addresses: warned once a role, not once an
# obligation (3 cases, 6 overdue obligations, 2 polls) ----
sqlite3 "$TMP/noaddr-cases.db" < conf/schema/native.sql
sqlite3 "$TMP/noaddr-cases.db" <<'SQL'
INSERT INTO deadlined_teams VALUES ('T9', 'Team Without Addresses', NULL, NULL);
INSERT INTO deadlined_workers VALUES ('W9', 'Kim Worker', 'kim@council.example', 'T9');
INSERT INTO deadlined_cases VALUES ('N1', 'CN1', '2015-05-05', 'T9', 'W9'),
  ('N2', 'CN2', '2015-05-05', 'T9', 'W9'), ('N3', 'CN3', '2015-05-05', 'T9', 'W9');
INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES ('N1', 'referral', '2024-11-01'),
  ('N2', 'referral', '2024-11-01'), ('N3', 'referral', '2024-11-01');
SQL
conf noaddr ''
sed -i "s#$TMP/cases.db#$TMP/noaddr-cases.db#" "$TMP/noaddr.conf"
$D --once --as-of 2025-01-20 -c "$TMP/noaddr.conf" 2> "$TMP/noaddr.err"
$D --once --as-of 2025-01-21 -c "$TMP/noaddr.conf" 2>> "$TMP/noaddr.err"
n_tm=$(grep -c 'no e-mail address for the team_manager of team T9 (first seen on case N1' "$TMP/noaddr.err")
n_sm=$(grep -c 'no e-mail address for the service_manager of team T9' "$TMP/noaddr.err")
[ "$n_tm" = 1 ] && [ "$n_sm" = 1 ] && ok \
	|| bad "no-address warnings: $n_tm for the team manager, $n_sm for the service manager, want one each: $(head -n 4 "$TMP/noaddr.err")"
[ "$(to_count "$TMP/noaddr-mail/new" kim@council.example)" -ge 1 ] && ok || bad "the worker was not told"

# ---- an ack while the daemon's poll holds the state database (a full
# poll of a million cases holds it about 25 s): it waits, not fails at 5 s.
sqlite3 "$TMP/dg.db" "BEGIN IMMEDIATE;" ".shell sleep 7" "COMMIT;" > "$TMP/lock.out" 2>&1 &
LOCK=$!
sleep 1
t0=$(date +%s)
expect 0 '*' '' -- env DEADLINED_CONFIG="$TMP/dg.conf" $C ack A2 referral-decision \
	--until 2099-01-01 --reason 'Decision recorded late'
waited=$(( $(date +%s) - t0 ))
wait $LOCK
[ "$waited" -ge 4 ] && ok || bad "the ack did not wait for the writer ($waited s): was the lock held?"

finish
