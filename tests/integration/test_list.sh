# deadlinectl list/explain/check-data and deadlined --once on a case
# database built from the documented schema, with due dates worked by hand.
. tests/integration/lib.sh
C=$DEADLINECTL
CONF=conf/deadlined.conf
DB="$TMP/cases.db"

sqlite3 "$DB" < conf/schema/native.sql
sqlite3 "$DB" <<'SQL'
INSERT INTO deadlined_teams VALUES ('T1', 'Duty and Assessment', 'tm@council.example', 'sm@council.example');
INSERT INTO deadlined_workers VALUES ('W1', 'Sam Worker', 'sam@council.example', 'T1');
INSERT INTO deadlined_cases VALUES
  ('A1', 'C1', '2015-05-05', 'T1', 'W1'), ('A2', 'C2', '2015-05-05', 'T1', 'W1'),
  ('A3', 'C3', '2015-05-05', 'T1', 'W1'), ('A4', 'C4', '2015-05-05', 'T1', 'W1'),
  ('A5', 'C5', '2010-01-01', 'T1', NULL), ('B1', 'C6', NULL, NULL, 'W9');
INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES
  ('A1', 'referral', '2024-12-20'), ('A1', 'referral_decision', '2024-12-20'),
  ('A2', 'referral', '2024-11-01'),
  ('A3', 'cla_started', '2024-12-02'),
  ('A4', 'cla_started', '2024-12-02'), ('A4', 'placement_started', '2024-12-02'),
  ('A4', 'health_part_a_sent', '2024-12-05'), ('A4', 'cla_visit', '2024-12-06'),
  ('A4', 'care_plan', '2024-12-10'), ('A4', 'initial_health_assessment', '2024-12-20'),
  ('A4', 'cla_review', '2024-12-20'), ('A4', 'pep', '2024-12-20'),
  ('A5', 'missing_returned', '2025-01-16T18:00'),
  ('B1', 'referral', '2023-02-30'), ('B1', 'Referral Made', '2024-01-02'),
  ('B1', NULL, '2024-01-03'), ('Z9', 'referral', '2024-01-04'),
  ('A1', 'observation', '2026-01-01');
SQL

# Worked by hand (start day is day 0; E&W bank holidays):
# A2 referral 2024-11-01: decision due +1 WD = Mon 2024-11-04; 52 WD overdue by
#    2025-01-20.  Assessment +45 WD = 2025-01-08 (skips 25/26 Dec, 1 Jan); 8 WD.
# A3 cla_started Mon 2024-12-02: Part A +5 WD = 12-09 (27 WD overdue); care plan
#    +10 WD = 12-16 (22); IHA +28 d = 12-30 (14); review and PEP +20 WD =
#    2025-01-02 (12).  All past due + 5 WD, so escalation stage 1.
# A4 visited 12-06: next visit +6 weeks = Fri 2025-01-17, 1 WD overdue.
# A5 returned 2025-01-16T18:00: interview +72 h = 2025-01-19T18:00, 1 WD.
# A1's observation is after --as-of and must not count.
expect 0 "case_ref,rule,seq,anchor,due,state,days_overdue,team_ref,worker_ref,stage
A2,referral-decision,1,2024-11-01,2024-11-04,overdue,52,T1,W1,1
A3,health-part-a,1,2024-12-02,2024-12-09,overdue,27,T1,W1,1
A3,care-plan,1,2024-12-02,2024-12-16,overdue,22,T1,W1,1
A3,initial-health-assessment,1,2024-12-02,2024-12-30,overdue,14,T1,W1,1
A3,cla-review,1,2024-12-02,2025-01-02,overdue,12,T1,W1,1
A3,pep,1,2024-12-02,2025-01-02,overdue,12,T1,W1,1
A2,assessment,1,2024-11-01,2025-01-08,overdue,8,T1,W1,1
A4,cla-visit,2,2024-12-06,2025-01-17,overdue,1,T1,W1,0
A5,return-home-interview,1,2025-01-16T18:00,2025-01-19T18:00,overdue,1,T1,,0" '' \
	-- $C -c $CONF --db "$DB" list --format csv --state overdue --as-of 2025-01-20

# The same in JSON: an array of objects with the same keys.
$C -c $CONF --db "$DB" list --format json --state overdue --as-of 2025-01-20 > "$TMP/list.json"
/usr/bin/python3 - "$TMP/list.json" <<'PY' && ok || bad "JSON list"
import json, sys
rows = json.load(open(sys.argv[1]))
assert len(rows) == 9, rows
assert rows[0] == {"case_ref": "A2", "rule": "referral-decision", "seq": 1, "anchor": "2024-11-01",
                   "due": "2024-11-04", "state": "overdue", "days_overdue": 52, "team_ref": "T1",
                   "worker_ref": "W1", "stage": 1}, rows[0]
assert rows[-1]["worker_ref"] is None
PY

# Filters: rule and team; met and open states; A4's review is seq 2, open.
expect 0 "case_ref,rule,seq,anchor,due,state,days_overdue,team_ref,worker_ref,stage
A4,cla-review,2,2024-12-20,2025-03-20,open,0,T1,W1,0" '' \
	-- $C -c $CONF --db "$DB" list --format csv --state open --rule cla-review --as-of 2025-01-20
# A team the case database does not have is an error naming those it has
# (issue 14), not an empty list that looks like a team with nothing due.
expect 2 '' "no team 'NOPE' in the case database; its teams are T1" \
	-- $C -c $CONF --db "$DB" list --format csv --team NOPE --as-of 2025-01-20
$C -c $CONF --db "$DB" list --state all --as-of 2025-01-20 --format csv | grep -q '^A1,referral-decision,1,2024-12-20,2024-12-23,met,0,' \
	&& ok || bad "met on time not listed with --state all"
# The people's table fits 80 columns.
$C -c $CONF --db "$DB" list --as-of 2025-01-20 | awk 'length > 80 { exit 1 }' && ok || bad "table wider than 80"

# explain shows the arithmetic, holidays by name.
$C -c $CONF --db "$DB" explain A3 --as-of 2025-01-20 > "$TMP/explain.txt"
grep -q '#1 2024-12-02 (cla_started) + 20 working days = due 2025-01-02' "$TMP/explain.txt" && ok || bad "explain arithmetic"
grep -q '2024-12-25 Christmas Day, 2024-12-26 Boxing Day, 2025-01-01 New Year.s Day; 8 weekend days' "$TMP/explain.txt" \
	&& ok || bad "explain skipped days: $(grep skipped "$TMP/explain.txt" | head -3)"
expect 2 '' "no case 'NOPE'" -- $C -c $CONF --db "$DB" explain NOPE
$C -c $CONF --db "$DB" explain B1 --as-of 2025-01-20 | grep -A9 '^Data problems:' | grep -q "unknown event kind 'Referral Made'" \
	&& ok || bad "explain lists the case's data problems"
expect 78 '' 'has no rules' -- $C --db "$DB" list

# check-data: every bad row named with its case, the rest still evaluated.
$C -c $CONF --db "$DB" check-data --format csv > "$TMP/findings.csv"
for want in "B1,event 'referral': '2023-02-30' is not a real date" "B1,unknown event kind 'Referral Made'" \
	"B1,event on 2024-01-03 has no kind" "B1,case has no team" "B1,worker 'W9' is not in deadlined_workers" \
	"Z9,1 event for a case that is not in deadlined_cases"; do
	grep -qF "$want" "$TMP/findings.csv" && ok || bad "check-data lacks: $want"
done

# deadlined --once: a summary with totals; exit statuses.
expect 0 '*' '' -- $DEADLINED --once --dry-run --as-of 2025-01-20 -c $CONF --db "$DB"
$DEADLINED --once --dry-run --as-of 2025-01-20 -c $CONF --db "$DB" | grep -qE '^total +[0-9]+ +[0-9]+ +9 ' \
	&& ok || bad "--once total overdue"
expect 1 '' "missing.db" -- $DEADLINED --once --dry-run -c $CONF --db "$TMP/missing.db"
expect 2 '' "not a state" -- $C -c $CONF --db "$DB" list --state late-ish
expect 2 '' "no rule 'nope'" -- $C -c $CONF --db "$DB" list --rule nope
expect 2 '' "not a format" -- $C -c $CONF --db "$DB" list --format xml
expect 2 '' "not a real date" -- $C -c $CONF --db "$DB" list --as-of 2025-02-30
expect 0 'deadlined: conf/deadlined.conf: configuration OK (19 rules)' '' -- $DEADLINED -n -c $CONF
printf 'rules = { x = { title = "X"; start = [ "referral" ]; due = ( "10 workdays" ); }; };\n' > "$TMP/bad.conf"
expect 78 '' "bad.conf:1: rules.x.due\[1\]: '10 workdays' has an unknown unit" -- $DEADLINED -n -c "$TMP/bad.conf"
# Valid but would not do what it seems: -n warns (exit 0), one line each.
cat > "$TMP/warn.conf" <<'CONF'
rules = { x = { title = "X"; start = [ "referral" ]; due = ( "10 working days" ); }; };
receivers = {
  m = { type = "maildir"; path = "/nonexistent/mail"; from = "a@council.example"; };
  t = { type = "webhook"; url = "https://hooks.example/abc"; format = "teams"; };
};
routes = ( { notify = [ "m" ]; } );
CONF
out=$($DEADLINED -n -c "$TMP/warn.conf" 2>"$TMP/warn.err"); rc=$?
[ $rc = 0 ] && [ "$out" = "deadlined: $TMP/warn.conf: configuration OK (1 rule, with warnings)" ] \
	&& ok || bad "-n with warnings: exit $rc, '$out'"
grep -q "^deadlined: warning: rules.x names the role 'worker', but notify.mail_receiver is not set" \
	"$TMP/warn.err" && ok || bad "no warning for roles without a mail receiver: $(cat "$TMP/warn.err")"
grep -q "^deadlined: warning: routes\[0\] names receiver 'm', which has no 'to'" "$TMP/warn.err" \
	&& ok || bad "no warning for a receiver without 'to': $(cat "$TMP/warn.err")"
grep -q "^deadlined: warning: receivers.t: a teams URL carries its own key" "$TMP/warn.err" \
	&& ok || bad "no warning for a Teams URL in the file: $(cat "$TMP/warn.err")"
[ "$(wc -l < "$TMP/warn.err")" = 3 ] && ok || bad "want 3 warnings: $(cat "$TMP/warn.err")"
finish
