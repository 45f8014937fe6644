# deadlinectl import-ssd and conf/schema/ssd-views.sql: an SSD-shaped CSV
# folder (tests/helpers/gen_ssd.py, seeded, no real person) imported and
# evaluated end to end against due dates worked by hand; malformed CSV;
# atomic re-import; the case system's own due dates compared by check-data.
. tests/integration/lib.sh
C=$DEADLINECTL
CONF=conf/deadlined.conf
PY=/usr/bin/python3
DB="$TMP/cases.db"
SSD="$TMP/ssd"

$PY tests/helpers/gen_ssd.py "$SSD" --seed 7 --filler 200 || bad "gen_ssd.py failed"
rows=$(awk '{ n += $2 } END { print n }' "$SSD/manifest.txt")
files=$(wc -l < "$SSD/manifest.txt")
expect 0 "imported $rows rows from $files files into $DB" '' -- $C import-ssd "$SSD" --db "$DB"

# Every table holds exactly the rows written, under the SSD's own names.
while read -r table n; do
	got=$(sqlite3 "$DB" "SELECT count(*) FROM $table")
	[ "$got" = "$n" ] && ok || bad "$table: $got rows, want $n"
done < "$SSD/manifest.txt"
# Dates in three spellings (ISO, SQL Server datetime, DD/MM/YYYY) stored as
# the daemon's: no value of a date column is left in another form.
expect 0 "0|0|0" '' -- sqlite3 "$DB" "SELECT
  (SELECT count(*) FROM ssd_cin_episodes WHERE cine_referral_date NOT GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
  (SELECT count(*) FROM ssd_person WHERE pers_dob NOT GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
  (SELECT count(*) FROM ssd_cin_episodes WHERE cine_close_date IS NULL AND cine_referral_id >= '900000')"
expect 0 "2024-06-24T21:00|2024-06-25T09:30|2024-06-12T15:00" '' -- sqlite3 "$DB" "SELECT
  (SELECT miss_missing_episode_start_date FROM ssd_missing WHERE miss_table_id = '7001'),
  (SELECT miss_missing_episode_end_date FROM ssd_missing WHERE miss_table_id = '7001'),
  (SELECT occurred FROM deadlined_extra_events WHERE event_ref = 'rhi1')"
# Quotes, commas and line breaks in free text survive.
expect 0 'Health, "GP"' '' -- sqlite3 "$DB" \
	"SELECT cine_referral_source_desc FROM ssd_cin_episodes WHERE cine_referral_id = '1003'"

# Worked by hand, as of Fri 2024-06-28 (start day is day 0; England and
# Wales bank holidays 2024: 1 Jan, 29 Mar, 1 Apr, 6 May, 27 May, 26 Aug):
# REF-1001 referral Mon 05-13, first assessment started 05-14 (the SSD's
#   nearest thing to a decision): decision due +1 WD 05-14, met.  Assessment
#   +45 WD skipping 27 May = Tue 07-16, open.  Owner: the open involvement
#   (T2/W2), not the referral's own team.
# REF-1002 referral and NFA Mon 06-03: decision met; assessment (+45 WD =
#   08-05) cancelled by the NFA.
# REF-1003 referral Thu 05-23, assessment started Wed 05-29: decision due
#   Fri 05-24, late by 2 WD (28, 29; 27 May is a holiday).  Assessment +45
#   WD = 07-26, authorised 06-20: met.
# REF-1004 referral Mon 02-26, started 02-27: met; +45 WD (skipping Easter)
#   = 05-01, authorised 03-20: met.
# S47-2001 s47 Mon 06-03: ICPC +15 WD = Mon 06-24, held 06-21: met.
# S47-2002 s47 Mon 05-20: ICPC +15 WD (skipping 27 May) = Tue 06-11, none
#   held: overdue 13 WD (06-12 .. 06-28), past +5 WD so stage 1.
# S47-2003 s47 Mon 06-10 (+15 WD = 07-01), NFA 06-14: cancelled.
# CPP-4001 plan Mon 01-15: first review +3 m = 04-15, held 04-10: met; next
#   +6 m from 04-10 = 10-10, open.  Plan duration +1 year = 2025-01-15.
# CLA-6001 entered care Mon 03-04 (placements 03-04 and 05-20):
#   review +20 WD (skipping Easter) = 04-03, held 03-28; +3 m = 06-28, held
#   06-20; +6 m = 12-20, open.  A cancelled review row does not count.
#   Care plan of 03-01 (before the placement) counts from 03-04: due +10 WD
#   = 03-18, met.  Visits: +1 week = 03-11 (visited 03-08); +6 weeks =
#   04-19 (04-15); +6 weeks = 05-27 (06-03, late by 5 WD: 28-31 May, 3 Jun);
#   +6 weeks = 07-15, open.  Part A +5 WD = 03-11: not in the SSD, so
#   overdue 75 WD.  IHA +28 days = 04-01, held 03-25; review health (born
#   2015, so 12 months) from 03-25 = 2025-03-25.  PEP +20 WD = 04-03, met by
#   the council's extra event of 03-27; next +4 m = 07-27.
# MISS-7001 returned 06-25T09:30: interview +72 h = 06-28T09:30, overdue.
# MISS-7002 returned 06-10T10:00, interview (extra event) 06-12T15:00: met.
cat > "$TMP/want.csv" <<'EOF'
CLA-6001,care-plan,1,2024-03-04,2024-03-18,met,0,T3,W3,0
CLA-6001,cla-review,1,2024-03-04,2024-04-03,met,0,T3,W3,0
CLA-6001,cla-review,2,2024-03-28,2024-06-28,met,0,T3,W3,0
CLA-6001,cla-review,3,2024-06-20,2024-12-20,open,0,T3,W3,0
CLA-6001,cla-visit,1,2024-03-04,2024-03-11,met,0,T3,W3,0
CLA-6001,cla-visit,2,2024-03-08,2024-04-19,met,0,T3,W3,0
CLA-6001,cla-visit,3,2024-04-15,2024-05-27,late,5,T3,W3,0
CLA-6001,cla-visit,4,2024-06-03,2024-07-15,open,0,T3,W3,0
CLA-6001,health-part-a,1,2024-03-04,2024-03-11,overdue,75,T3,W3,1
CLA-6001,initial-health-assessment,1,2024-03-04,2024-04-01,met,0,T3,W3,0
CLA-6001,pep,1,2024-03-04,2024-04-03,met,0,T3,W3,0
CLA-6001,pep,2,2024-03-27,2024-07-27,open,0,T3,W3,0
CLA-6001,review-health-assessment,1,2024-03-25,2025-03-25,open,0,T3,W3,0
CPP-4001,cp-plan-duration,1,2024-01-15,2025-01-15,open,0,T2,W2,0
CPP-4001,cp-review-conference,1,2024-01-15,2024-04-15,met,0,T2,W2,0
CPP-4001,cp-review-conference,2,2024-04-10,2024-10-10,open,0,T2,W2,0
MISS-7001,return-home-interview,1,2024-06-25T09:30,2024-06-28T09:30,overdue,0,T3,W3,0
MISS-7002,return-home-interview,1,2024-06-10T10:00,2024-06-13T10:00,met,0,T3,W3,0
REF-1001,assessment,1,2024-05-13,2024-07-16,open,0,T2,W2,0
REF-1001,referral-decision,1,2024-05-13,2024-05-14,met,0,T2,W2,0
REF-1002,assessment,1,2024-06-03,2024-08-05,cancelled,0,T1,W1,0
REF-1002,referral-decision,1,2024-06-03,2024-06-04,met,0,T1,W1,0
REF-1003,assessment,1,2024-05-23,2024-07-26,met,0,T1,W1,0
REF-1003,referral-decision,1,2024-05-23,2024-05-24,late,2,T1,W1,0
REF-1004,assessment,1,2024-02-26,2024-05-01,met,0,T3,W3,0
REF-1004,referral-decision,1,2024-02-26,2024-02-27,met,0,T3,W3,0
S47-2001,icpc,1,2024-06-03,2024-06-24,met,0,T1,W1,0
S47-2002,icpc,1,2024-05-20,2024-06-11,overdue,13,T1,W1,1
S47-2003,icpc,1,2024-06-10,2024-07-01,cancelled,0,T1,W1,0
EOF
$C -c $CONF --db "$DB" list --state all --format csv --as-of 2024-06-28 > "$TMP/all.csv" \
	|| bad "list failed"
grep -v '^REF-9' "$TMP/all.csv" | sed 1d | sort > "$TMP/got.csv"
if cmp -s "$TMP/want.csv" "$TMP/got.csv"; then ok
else bad "obligations of the fixed cases differ: $(diff "$TMP/want.csv" "$TMP/got.csv")"; fi
# Each filler referral is a case of its own with its decision and assessment.
expect 0 "200|200" '' -- sqlite3 "$DB" "SELECT
  (SELECT count(*) FROM deadlined_cases WHERE case_ref GLOB 'REF-9*'),
  (SELECT count(DISTINCT case_ref) FROM deadlined_events WHERE case_ref GLOB 'REF-9*' AND kind = 'referral')"
n=$(grep -c '^REF-9[0-9]*,referral-decision,1,' "$TMP/all.csv")
[ "$n" = 200 ] && ok || bad "filler referral-decision obligations: $n, want 200"

# check-data: the team without an address is reported for each of its
# cases (not dropped: they are listed above), and the case system's own
# due dates that differ are reported with both dates; those that agree
# (ICPC 3001, CP review 5001, CLA reviews 8001-8003) are not.
cat > "$TMP/want-findings.csv" <<'EOF'
CPP-4001,rule cp-review-conference: the case system's due date 2024-10-09 differs from deadlined's 2024-10-10 (obligation 2, from cp_review_conference on 2024-04-10; event cppr:5002)
CPP-4001,team 'T2' has no manager e-mail address (deadlined_teams.manager_email is NULL); its alerts reach no manager
REF-1001,team 'T2' has no manager e-mail address (deadlined_teams.manager_email is NULL); its alerts reach no manager
S47-2002,rule icpc: the case system's due date 2024-06-10 differs from deadlined's 2024-06-11 (obligation 1, from s47_started on 2024-05-20; event icpc:3002)
EOF
$C -c $CONF --db "$DB" check-data --format csv --as-of 2024-06-28 | sed '1d; s/"//g' | sort \
	> "$TMP/findings.csv"
if cmp -s "$TMP/want-findings.csv" "$TMP/findings.csv"; then ok
else bad "check-data findings differ: $(diff "$TMP/want-findings.csv" "$TMP/findings.csv")"; fi
# A conference the case system still expects where deadlined's clock was
# cancelled (the enquiry ended in NFA).
sqlite3 "$DB" "INSERT INTO ssd_initial_cp_conference (icpc_icpc_id, icpc_s47_enquiry_id,
  icpc_icpc_target_date) VALUES ('3009', '2003', '2024-07-01')"
$C -c $CONF --db "$DB" check-data --as-of 2024-06-28 | grep -q "^S47-2003 .*rule icpc: the case system's due date 2024-07-01 (event icpc:3009) matches no open obligation of deadlined" \
	&& ok || bad "check-data: an expected due date without an obligation is not reported"
# The native schema has no deadlined_expected_due: nothing to compare.
sqlite3 "$TMP/native.db" < conf/schema/native.sql
expect 0 "0 findings" '' -- $C -c $CONF --db "$TMP/native.db" check-data
# One defined without the columns is an error, not silence.
sqlite3 "$TMP/native.db" "CREATE VIEW deadlined_expected_due AS SELECT 'x' AS case_ref, 'icpc' AS rule"
expect 1 '' "deadlined_expected_due: no such column: due" -- $C -c $CONF --db "$TMP/native.db" check-data

# The daemon end to end: the totals as worked above (filler referrals are
# all closed), the escalation to the service manager of T1.
$DEADLINED --once --dry-run --as-of 2024-06-28 -c $CONF --db "$DB" > "$TMP/once.out" 2>&1 \
	|| bad "deadlined --once failed: $(cat "$TMP/once.out")"
grep -qE '^total +7 +0 +3 ' "$TMP/once.out" && ok || bad "--once totals: $(grep total "$TMP/once.out")"
grep -q 'to sm1@council.example: Escalation (stage 1), overdue 13 working days: Initial child protection conference — case S47-2002' \
	"$TMP/once.out" && ok || bad "--once: no escalation for S47-2002"

# A re-import replaces the data (not appends), keeps the file's mode, and
# leaves no temporary file.
chmod 0604 "$DB"
expect 0 "imported $rows rows from $files files into $DB" '' -- $C import-ssd "$SSD" --db "$DB"
expect 0 "200" '' -- sqlite3 "$DB" "SELECT count(*) FROM deadlined_cases WHERE case_ref GLOB 'REF-9*'"
[ "$(stat -c %a "$DB")" = 604 ] && ok || bad "re-import changed the mode to $(stat -c %a "$DB")"
ls "$TMP" | grep -q 'import-' && bad "a temporary file was left: $(ls "$TMP")" || ok

# Run by a user outside the file's group, the import cannot keep the group,
# and says so: the daemon may read the file through it.
if command -v setpriv >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
	chmod 711 "$TMP"
	mkdir "$TMP/grp"
	cp "$DB" "$TMP/grp/cases.db"
	chown nobody "$TMP/grp" "$TMP/grp/cases.db"
	chgrp 0 "$TMP/grp/cases.db"
	chmod 640 "$TMP/grp/cases.db"
	expect 0 "imported $rows rows from $files files into $TMP/grp/cases.db" \
		"warning: $TMP/grp/cases.db: cannot keep its group (gid 0: Operation not permitted)" \
		-- setpriv --reuid=nobody --regid=nogroup --clear-groups "$BUILD/deadlinectl" \
		import-ssd "$SSD" --db "$TMP/grp/cases.db"
	[ "$(stat -c %a "$TMP/grp/cases.db")" = 640 ] && ok || bad "the mode was not kept"
else
	not_run "group kept or not: needs root and setpriv"
fi

# Bad input: a clear error, file:line, exit 2; nothing changes.
expect 2 '' "$TMP/none: No such file or directory; expected a folder of SSD CSV files" \
	-- $C import-ssd "$TMP/none" --db "$DB"
expect 2 '' "$SSD/manifest.txt: not a folder; expected a folder" \
	-- $C import-ssd "$SSD/manifest.txt" --db "$DB"
expect 1 '' "creating a temporary file beside it: No such file or directory" \
	-- $C import-ssd "$SSD" --db "$TMP/no/such/dir/cases.db"

BAD="$TMP/bad"
mkdir "$BAD"
# A good file with a BOM, CRLF, quoted commas, doubled quotes, a line break
# in a field, an unknown column, SQL Server NULLs and empty fields.
printf '\357\273\277dept_team_id,dept_team_name,dept_local_code\r\nT9,"North, ""East""",X\r\nT8,"Two\r\nlines",NULL\r\nT7,,\r\n' \
	> "$BAD/ssd_department.csv"
# Each kind of bad row, between good ones.
printf 'cine_referral_id,cine_person_id,cine_referral_date\n1,P1,2024-01-05\n2,P2\n3,P3,2024-02-30\n4,P4,05/13/2024\n5,P5,2024-01-05,extra\n6,P"6,2024-01-05\n7,"P7"x,2024-01-05\n8,P8,2024-01-08\n9,"P9,2024-01-09\n' \
	> "$BAD/ssd_cin_episodes.csv"
printf 'not a name,x\n1,2\n' > "$BAD/ssd_cla_health.csv"
: > "$BAD/ssd_missing.csv"
printf 'a\n1\n' > "$BAD/deadlined_cases.csv"
cp "$DB" "$TMP/before.db"
$C import-ssd "$BAD" --db "$DB" > "$TMP/bad.out" 2> "$TMP/bad.err"; rc=$?
[ "$rc" = 2 ] && ok || bad "import of bad rows: exit $rc, want 2"
[ -s "$TMP/bad.out" ] && bad "import of bad rows printed: $(cat "$TMP/bad.out")" || ok
for want in \
	"$BAD/ssd_cin_episodes.csv:3: 2 fields; expected 3 as in the header" \
	"$BAD/ssd_cin_episodes.csv:4: column cine_referral_date: '2024-02-30' is not a date; expected YYYY-MM-DD, YYYY-MM-DD HH:MM\[:SS\] or DD/MM/YYYY" \
	"$BAD/ssd_cin_episodes.csv:5: column cine_referral_date: '05/13/2024' is not a date" \
	"$BAD/ssd_cin_episodes.csv:6: 4 fields; expected 3 as in the header" \
	"$BAD/ssd_cin_episodes.csv:7: field 2: a quote inside an unquoted field; expected the whole field in quotes, with each quote inside it doubled" \
	"$BAD/ssd_cin_episodes.csv:8: field 2: 'x' after a closing quote; expected a comma or the end of the line" \
	"$BAD/ssd_cin_episodes.csv:10: a quoted field that starts on line 10 is not closed at the end of the file" \
	"$BAD/ssd_cla_health.csv:1: column 1 of the header, 'not a name', is not a column name" \
	"$BAD/ssd_missing.csv:1: the file is empty; expected a header line" \
	"$BAD/deadlined_cases.csv: not loaded: expected TABLE.csv" \
	"import-ssd: 10 bad rows: nothing imported, $DB is unchanged (fix the files, or import the good rows with --allow-bad-rows)"; do
	grep -q -- "$want" "$TMP/bad.err" && ok || bad "stderr lacks '$want': $(cat "$TMP/bad.err")"
done
[ "$(grep -c '' "$TMP/bad.err")" = 11 ] && ok || bad "want 10 bad rows and a summary: $(cat "$TMP/bad.err")"
cmp -s "$DB" "$TMP/before.db" && ok || bad "a refused import changed $DB"
ls "$TMP" | grep -q 'import-' && bad "a temporary file was left: $(ls "$TMP")" || ok

# --allow-bad-rows: the good rows go in, the bad are still reported.
expect 0 "imported 5 rows from 2 files into $TMP/partial.db (10 bad rows left out)" \
	"ssd_cin_episodes.csv:3: 2 fields" -- $C import-ssd "$BAD" --db "$TMP/partial.db" --allow-bad-rows
expect 0 '1|8
North, "East"|X
Two<CR><LF>lines|NULL
NULL|NULL' '' -- sqlite3 "$TMP/partial.db" "SELECT group_concat(cine_referral_id, '|') FROM ssd_cin_episodes;
  SELECT dept_team_name, dept_local_code FROM ssd_department WHERE dept_team_id = 'T9';
  SELECT replace(replace(dept_team_name, char(13), '<CR>'), char(10), '<LF>'),
    quote(dept_local_code) FROM ssd_department WHERE dept_team_id = 'T8';
  SELECT quote(dept_team_name), quote(dept_local_code) FROM ssd_department WHERE dept_team_id = 'T7'"
# The views read the partial import; the tables a file was missing for
# are there, empty.
expect 0 "0|0|3" '' -- sqlite3 "$TMP/partial.db" "SELECT
  (SELECT count(*) FROM ssd_missing), (SELECT count(*) FROM deadlined_cases WHERE case_ref GLOB 'S47-*'),
  (SELECT count(*) FROM deadlined_teams)"
[ "$(stat -c %a "$TMP/partial.db")" = 640 ] && ok || bad "a first import is $(stat -c %a "$TMP/partial.db"), want 640"

# Atomic replacement: a reader that has the old file open keeps reading the
# old data, consistently, while the import replaces it; new readers see the
# new data.  One more referral makes the difference.
cp -r "$SSD" "$TMP/ssd2"
printf '1005,P1,2024-06-27,N,T1,W1,,,Self\n' >> "$TMP/ssd2/ssd_cin_episodes.csv"
cat > "$TMP/reader.py" <<'EOF'
import sqlite3, subprocess, sys
db, ctl, folder = sys.argv[1:4]
old = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
def counts(con):
    return (con.execute("SELECT count(*) FROM deadlined_cases").fetchone()[0],
            con.execute("SELECT count(*) FROM deadlined_events").fetchone()[0])
before = counts(old)
r = subprocess.run([ctl, "import-ssd", folder, "--db", db], capture_output=True, text=True)
if r.returncode != 0:
    sys.exit("import failed: " + r.stderr)
during = counts(old)
new = counts(sqlite3.connect("file:%s?mode=ro" % db, uri=True))
print(before == during, new[0] - before[0], new[1] - before[1])
EOF
expect 0 "True 1 1" '' -- $PY "$TMP/reader.py" "$DB" "$C" "$TMP/ssd2"
# And a failing re-import leaves the last good data in place.
$C import-ssd "$BAD" --db "$DB" 2>/dev/null; rc=$?
[ "$rc" = 2 ] && ok || bad "a failing re-import: exit $rc, want 2"
expect 0 "REF-1005" '' -- sqlite3 "$DB" "SELECT case_ref FROM deadlined_cases WHERE case_ref = 'REF-1005'"

finish
