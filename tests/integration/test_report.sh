# deadlinectl report on a hand-built dataset whose figures are worked out by
# hand below, from both sources (the state database and the case database's
# history); bad input; --out; CSV; HTML self-containment; the digest line.
. tests/integration/lib.sh
C=$DEADLINECTL
DB="$TMP/cases.db"
STATE="$TMP/state.db"
CONF="$TMP/deadlined.conf"

cat > "$CONF" <<CONF
source = { database = "$DB"; };
state = { database = "$STATE"; };
notify = { mail_receiver = "box"; digest_time = "08:00"; };
receivers = {
  box = { type = "maildir"; path = "$TMP/mail/Alerts"; from = "deadlines@council.example"; };
};
rules = {
  decision = {
    title = "Referral decisions";
    start = [ "referral" ]; met = [ "referral_decision" ]; cancel = [ "referral_nfa" ];
    due = ( "1 working day" );
    target = {
      value = 85.0;
      comparators = ( { label = "England average"; value = 75.5; } );
      quartiles = [ 50.0, 70.0, 80.0 ];
      source = "test figures";
    };
  };
  visit = {
    title = "Visits";
    start = [ "cla_started" ]; met = [ "cla_visit" ];
    due = ( "5 working days" );
    target = { value = 60; };
  };
};
CONF

sqlite3 "$DB" < conf/schema/native.sql
sqlite3 "$DB" <<'SQL'
INSERT INTO deadlined_teams VALUES
  ('T1', 'Duty', 'duty@council.example', NULL),
  ('T2', 'Assessment', 'assess@council.example', NULL),
  ('T3', 'Empty <team>', 'empty@council.example', NULL);
INSERT INTO deadlined_cases (case_ref, child_ref, team_ref) VALUES
  ('D1', 'C1', 'T1'), ('D2', 'C2', 'T1'), ('D3', 'C3', 'T1'), ('D4', 'C4', 'T2'),
  ('D5', 'C5', 'T2'), ('D6', 'C6', 'T2'), ('D7', 'C7', 'T2'), ('D8', 'C8', 'T1'),
  ('D9', 'C9', 'T1'), ('D10', 'C10', 'T1'), ('D11', 'C11', 'T2'), ('D12', 'C12', 'T1'),
  ('D13', 'C13', 'T1'), ('V1', 'C14', 'T2');
INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES
  ('D1', 'referral', '2024-06-03'), ('D1', 'referral_decision', '2024-06-04'),
  ('D2', 'referral', '2024-06-03'), ('D2', 'referral_decision', '2024-06-05'),
  ('D3', 'referral', '2024-06-10'), ('D3', 'referral_decision', '2024-06-17'),
  ('D4', 'referral', '2024-06-10'), ('D4', 'referral_decision', '2024-06-10'),
  ('D5', 'referral', '2024-06-18'), ('D5', 'referral_nfa', '2024-06-20'),
  ('D6', 'referral', '2024-07-01'), ('D6', 'referral_decision', '2024-07-02'),
  ('D7', 'referral', '2024-07-01'), ('D7', 'referral_decision', '2024-07-05'),
  ('D8', 'referral', '2024-07-22'),
  ('D9', 'referral', '2024-05-20'), ('D9', 'referral_decision', '2024-05-21'),
  ('D10', 'referral', '2024-07-26'), ('D10', 'referral_decision', '2024-08-01'),
  ('D11', 'referral', '2024-07-08'), ('D11', 'referral_decision', '2024-07-09'),
  ('D12', 'referral', '2024-07-15'), ('D12', 'referral_decision', '2024-07-17'),
  ('D13', 'referral', '2024-07-15'), ('D13', 'referral_decision', '2024-07-16'),
  ('V1', 'cla_started', '2024-06-03'), ('V1', 'cla_visit', '2024-06-07');
SQL

# Worked by hand (start day is day 0; no bank holidays from 28 May to 25
# August 2024).  Rule decision is due 1 working day after the referral:
#   D1 T1 Mon 06-03 -> due 06-04, met 06-04: on time (June)
#   D2 T1 Mon 06-03 -> due 06-04, met 06-05: late 1 (June)
#   D3 T1 Mon 06-10 -> due 06-11, met 06-17: late 4 (12,13,14,17) (June)
#   D4 T2 Mon 06-10 -> met the same day: on time (June)
#   D5 T2 Tue 06-18 -> cancelled 06-20 (June)
#   D6 T2 Mon 07-01 -> due 07-02, met 07-02: on time (July)
#   D7 T2 Mon 07-01 -> due 07-02, met 07-05: late 3 (July)
#   D8 T1 Mon 07-22 -> due 07-23, never met: overdue at 07-31 by 6 (24..31)
#   D9 T1 Mon 05-20 -> met 05-21: before the period
#   D10 T1 Fri 07-26 -> due Mon 07-29, met 08-01 (after the period): overdue
#       at 07-31 by 2 (30, 31)
#   D11 T2 Mon 07-08 -> met 07-09: on time (July)
#   D12 T1 Mon 07-15 -> due 07-16, met 07-17: late 1 (July)
#   D13 T1 Mon 07-15 -> met 07-16: on time (July)
# June-July: on time D1 D4 D6 D11 D13 = 5; late D2 D3 D7 D12 = 4 (days
# 1,4,3,1: sorted 1 1 3 4, median (1+3)/2 = 2, worst 4); 5 of 9 = 55.6%;
# cancelled 1 (D5, not in the 9); overdue at end 2 (D8, D10), longest 6.
# Target 85, quartiles 50/70/80: 55.6 misses 85 and is below the median 70:
# red; at or above 50, below 70: the third quartile.
# T1: D1 D13 on time, D2 D3 D12 late (1,4,1: median 1) = 2 of 5 = 40.0%.
# T2: D4 D6 D11 on time, D7 late 3 = 3 of 4 = 75.0%: amber (>= 70, < 85).
# June: 2 of 4 = 50.0% (late 1 and 4: median 2.5); July: 3 of 5 = 60.0%.
# Rule visit: V1 Mon 06-03 + 5 WD = 06-10, visited 06-07: 1 of 1, target 60:
# green.  T3 has no cases.
R="$C -c $CONF report"

# No state database yet: the case database's history, and it says so.
$R --from 2024-06-01 --to 2024-07-31 > "$TMP/cases.txt" 2>"$TMP/err"; rc=$?
[ $rc = 0 ] && [ ! -s "$TMP/err" ] && ok || bad "report from the case database: exit $rc $(cat "$TMP/err")"
grep -q "^Source: the case database's history .*cases.db, evaluated as of the end of 2024-07-31.*there is no state database" \
	"$TMP/cases.txt" && ok || bad "source not named: $(sed -n 2p "$TMP/cases.txt")"
for line in \
	'  On time          5 of 9 (55.6%)' \
	'  Target           85% or more on time: RED, third quartile' \
	'  England average  75.5%' \
	'  Late             4 (median 2, worst 4 working days)' \
	'  Cancelled        1' \
	'  Overdue at end   2 (longest 6 working days)' \
	'  On time          1 of 1 (100.0%)' \
	'  Target           60% or more on time: GREEN' \
	'  decision: on time 2 of 5 (40.0%)' \
	'    late 3 (median 1, worst 4 working days); cancelled 0; overdue at end 2 (longest 6 working days)' \
	'  decision: on time 3 of 4 (75.0%)' \
	'    late 1 (median 3, worst 3 working days); cancelled 1; overdue at end 0' \
	'  2024-06  on time 2 of 4 (50.0%)         late 2, cancelled 1, overdue at end 0' \
	'  2024-07  on time 3 of 5 (60.0%)         late 2, cancelled 0, overdue at end 2' \
	'  2024-07  on time 0 of 0 (none met)      late 0, cancelled 0, overdue at end 0'; do
	grep -qxF -- "$line" "$TMP/cases.txt" && ok || bad "text report lacks '$line'"
done

# The daemon evaluates as of 31 July (D8 and D10 overdue), reasons are
# acknowledged, then it evaluates as of 2 August (D10 met late on 1 August).
mkdir -p "$TMP/mail"
$DEADLINED -c "$CONF" --once --as-of 2024-07-31T18:00 > /dev/null 2>&1 && ok || bad "deadlined --once (31 July)"
$C -c "$CONF" ack D8 decision --until 2099-12-31 --reason 'Awaiting police checks' > /dev/null && ok || bad "ack D8"
$C -c "$CONF" ack D10 decision --until 2099-12-31 --reason 'Worker off sick <script>alert(1)</script> & "more"' > /dev/null \
	&& ok || bad "ack D10"
$DEADLINED -c "$CONF" --once --as-of 2024-08-02T18:00 > /dev/null 2>&1 && ok || bad "deadlined --once (2 August)"

# The team manager's digest of 31 July carries July so far for Duty (T1):
# D13 on time, D12 late (June's are not this month) = 1 of 2.
sqlite3 "$STATE" "SELECT text FROM outbox WHERE kind = 'digest' AND recipient = 'duty@council.example' ORDER BY id LIMIT 1" \
	> "$TMP/digest.txt"
grep -qxF '  Referral decisions: 1 of 2 on time (50.0%), target 85' "$TMP/digest.txt" && ok \
	|| bad "digest line: $(cat "$TMP/digest.txt")"
grep -q 'Visits:' "$TMP/digest.txt" && bad "digest names a rule with nothing met this month" || ok

# The state database (forced: its first poll was today) gives the same
# figures, and the reasons.
$R --from 2024-06-01 --to 2024-07-31 --source state > "$TMP/state.txt" && ok || bad "report --source state"
grep -q '^Source: the state database .*state.db (first poll ' "$TMP/state.txt" && ok || bad "state source not named"
grep -Ev -e '^Source:' -e '^ +[0-9]+  [A-Z]' -e 'Reasons given' "$TMP/state.txt" > "$TMP/state.cut"
grep -v '^Source:' "$TMP/cases.txt" > "$TMP/cases.cut"
diff "$TMP/state.cut" "$TMP/cases.cut" > "$TMP/diff" && ok || bad "sources disagree: $(cat "$TMP/diff")"
grep -qxF '        1  Awaiting police checks' "$TMP/state.txt" && ok || bad "team reasons: $(grep -A3 Reasons "$TMP/state.txt")"

# Left to choose, it takes the state database once the period starts on or
# after the first poll (here moved back to 1 May 2024), else the history.
sqlite3 "$STATE" "UPDATE polls SET started = CAST(strftime('%s', '2024-05-01 12:00:00') AS INTEGER)"
$R --from 2024-06-01 --to 2024-07-31 > "$TMP/auto.txt" && ok || bad "report, source chosen"
grep -q '^Source: the state database .*state.db (first poll 2024-05-01)$' "$TMP/auto.txt" && ok \
	|| bad "auto source after the first poll: $(sed -n 2p "$TMP/auto.txt")"
$R --from 2024-04-01 --to 2024-07-31 > "$TMP/auto.txt" && ok || bad "report, source chosen"
grep -q "^Source: the case database's history .*the period starts before the daemon's first poll (2024-05-01)$" \
	"$TMP/auto.txt" && ok || bad "auto source before the first poll: $(sed -n 2p "$TMP/auto.txt")"

# CSV: every figure, by hand (rule, team, month sections).
expect 0 'section,rule,title,team_ref,team_name,from,to,on_time,met,percent_on_time,late,cancelled,overdue_at_end,median_late_days,worst_late_days,worst_overdue_days,target,better,rating,reasons
rule,decision,Referral decisions,,,2024-06-01,2024-07-31,5,9,55.6,4,1,2,2.0,4,6,85.0,higher,red,"1 x Awaiting police checks; 1 x Worker off sick <script>alert(1)</script> & ""more"""
rule,visit,Visits,,,2024-06-01,2024-07-31,1,1,100.0,0,0,0,,0,0,60.0,higher,green,
team,decision,Referral decisions,T1,Duty,2024-06-01,2024-07-31,2,5,40.0,3,0,2,1.0,4,6,85.0,higher,red,"1 x Awaiting police checks; 1 x Worker off sick <script>alert(1)</script> & ""more"""
team,visit,Visits,T1,Duty,2024-06-01,2024-07-31,0,0,,0,0,0,,0,0,60.0,higher,,
team,decision,Referral decisions,T2,Assessment,2024-06-01,2024-07-31,3,4,75.0,1,1,0,3.0,3,0,85.0,higher,amber,
team,visit,Visits,T2,Assessment,2024-06-01,2024-07-31,1,1,100.0,0,0,0,,0,0,60.0,higher,green,
month,decision,Referral decisions,,,2024-06-01,2024-06-30,2,4,50.0,2,1,0,2.5,4,0,85.0,higher,red,
month,visit,Visits,,,2024-06-01,2024-06-30,1,1,100.0,0,0,0,,0,0,60.0,higher,green,
month,decision,Referral decisions,,,2024-07-01,2024-07-31,3,5,60.0,2,0,2,2.0,3,6,85.0,higher,red,"1 x Awaiting police checks; 1 x Worker off sick <script>alert(1)</script> & ""more"""
month,visit,Visits,,,2024-07-01,2024-07-31,0,0,,0,0,0,,0,0,60.0,higher,,' '' \
	-- $R --from 2024-06-01 --to 2024-07-31 --source state --format csv

# An empty period; a period with nothing due (D9 was met on 21 May); May.
$R --from 2024-01-01 --to 2024-01-31 --source state > "$TMP/empty.txt" && ok || bad "empty period"
[ "$(grep -c '^  On time          0 of 0 (none met)$' "$TMP/empty.txt")" = 2 ] && ok || bad "empty period figures: $(cat "$TMP/empty.txt")"
grep -qxF 'No team had a clock met, cancelled or overdue in the period.' "$TMP/empty.txt" && ok || bad "empty period teams"
expect 0 'section,rule,title,team_ref,team_name,from,to,on_time,met,percent_on_time,late,cancelled,overdue_at_end,median_late_days,worst_late_days,worst_overdue_days,target,better,rating,reasons
rule,decision,Referral decisions,,,2024-05-22,2024-05-31,0,0,,0,0,0,,0,0,85.0,higher,,
rule,visit,Visits,,,2024-05-22,2024-05-31,0,0,,0,0,0,,0,0,60.0,higher,,
month,decision,Referral decisions,,,2024-05-22,2024-05-31,0,0,,0,0,0,,0,0,85.0,higher,,
month,visit,Visits,,,2024-05-22,2024-05-31,0,0,,0,0,0,,0,0,60.0,higher,,' '' \
	-- $R --from 2024-05-22 --to 2024-05-31 --source state --format csv
expect 0 '*' '' -- $R --from 2024-05-01 --to 2024-05-31 --source state --rule decision --format csv
printf '%s\n' "$out" | grep -qx 'rule,decision,Referral decisions,,,2024-05-01,2024-05-31,1,1,100.0,0,0,0,,0,0,85.0,higher,green,' \
	&& ok || bad "May: $out"

# A team with no cases: shown, with nothing in it; a team and a rule.
expect 0 'section,rule,title,team_ref,team_name,from,to,on_time,met,percent_on_time,late,cancelled,overdue_at_end,median_late_days,worst_late_days,worst_overdue_days,target,better,rating,reasons
rule,decision,Referral decisions,,,2024-06-01,2024-07-31,0,0,,0,0,0,,0,0,85.0,higher,,
team,decision,Referral decisions,T3,,2024-06-01,2024-07-31,0,0,,0,0,0,,0,0,85.0,higher,,
month,decision,Referral decisions,,,2024-06-01,2024-06-30,0,0,,0,0,0,,0,0,85.0,higher,,
month,decision,Referral decisions,,,2024-07-01,2024-07-31,0,0,,0,0,0,,0,0,85.0,higher,,' '' \
	-- $R --from 2024-06-01 --to 2024-07-31 --team T3 --rule decision --format csv
expect 0 '*' '' -- $R --from 2024-06-01 --to 2024-07-31 --team T2 --rule decision --format csv --source state
printf '%s\n' "$out" | grep -qx 'rule,decision,Referral decisions,,,2024-06-01,2024-07-31,3,4,75.0,1,1,0,3.0,3,0,85.0,higher,amber,' \
	&& ok || bad "T2 alone: $out"

# Bad input: one line, exit 2; a bad config: file:line, exit 78.
expect 2 '' "report: --from 2024-07-31 is after --to 2024-06-01" -- $R --from 2024-07-31 --to 2024-06-01
expect 2 '' "report: --from: " -- $R --from 2024-02-30 --to 2024-06-01
expect 2 '' "report: --to: " -- $R --from 2024-01-01 --to yesterday
expect 2 '' "report needs --from DATE and --to DATE" -- $R --from 2024-01-01
expect 2 '' "expected text, csv or html" -- $R --from 2024-01-01 --to 2024-01-31 --format pdf
expect 2 '' "no rule 'nope'" -- $R --from 2024-01-01 --to 2024-01-31 --rule nope
expect 2 '' "expected state or cases" -- $R --from 2024-01-01 --to 2024-01-31 --source both
sed 's/quartiles = \[ 50.0, 70.0, 80.0 \];/quartiles = [ 80.0, 70.0, 50.0 ];/; s/value = 60;/value = 160;/' \
	"$CONF" > "$TMP/bad.conf"
expect 78 '' '*' -- $R --from 2024-01-01 --to 2024-01-31 -c "$TMP/bad.conf"
grep -q "bad.conf:15: rules.decision.target.quartiles: entry 2: expected a percentage from 0 to 100, not below the entry before it" "$TMP/stderr" \
	&& ok || bad "quartiles error: $(cat "$TMP/stderr")"
grep -q "bad.conf:23: rules.visit.target.value: 160 is out of range; expected 0 to 100" "$TMP/stderr" && ok || bad "range: $(cat "$TMP/stderr")"
sed 's/value = 85.0;/better = "up";/' "$CONF" > "$TMP/bad2.conf"
expect 78 '' '*' -- $R --from 2024-01-01 --to 2024-01-31 -c "$TMP/bad2.conf"
grep -q "bad2.conf:[0-9]*: rules.decision.target: a target needs value" "$TMP/stderr" && ok || bad "no value: $(cat "$TMP/stderr")"
grep -q "bad2.conf:[0-9]*: rules.decision.target: better = \"up\": expected \"higher\" or \"lower\"" "$TMP/stderr" && ok || bad "better: $(cat "$TMP/stderr")"

# --out: written whole, no temporary file left, the same as stdout.
expect 0 '' '' -- $R --from 2024-06-01 --to 2024-07-31 --source state --format csv --out "$TMP/out.csv"
$R --from 2024-06-01 --to 2024-07-31 --source state --format csv | cmp -s - "$TMP/out.csv" && ok || bad "--out differs from stdout"
[ "$(ls "$TMP" | grep -c '^out.csv')" = 1 ] && ok || bad "--out left a temporary file: $(ls "$TMP")"
expect 1 '' "--out $TMP/no/such/dir/r.html: cannot create" -- $R --from 2024-06-01 --to 2024-07-31 --out "$TMP/no/such/dir/r.html"

# HTML: one self-contained file; data escaped.
$R --from 2024-06-01 --to 2024-07-31 --source state --format html --out "$TMP/report.html" && ok || bad "html report"
grep -qi '<script' "$TMP/report.html" && bad "HTML contains <script" || ok
grep -Eqi '(src|href)[[:space:]]*=[[:space:]]*["'"'"']?(https?:)?//' "$TMP/report.html" && bad "HTML loads something from elsewhere" || ok
grep -Eqi '@import|url\(' "$TMP/report.html" && bad "HTML CSS loads something" || ok
grep -qF 'Worker off sick &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;more&quot;' "$TMP/report.html" && ok || bad "reason not escaped"
[ "$(grep -c '<svg ' "$TMP/report.html")" = 2 ] && ok || bad "want two SVG charts"
grep -q '@page { size: A4' "$TMP/report.html" && ok || bad "no A4 page rule"
/usr/bin/python3 - "$TMP/report.html" <<'PY' && ok || bad "HTML is not well-formed enough to parse"
import html.parser, sys
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.stack = []; self.polylines = 0; self.rects = 0
    def handle_starttag(self, tag, attrs):
        if tag == "polyline": self.polylines += 1
        if tag == "rect": self.rects += 1
        if tag not in ("meta", "br", "line", "rect", "circle", "polyline"): self.stack.append(tag)
    def handle_endtag(self, tag):
        if tag in ("line", "rect", "circle", "polyline"): return
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-3:])
        self.stack.pop()
p = P(); p.feed(open(sys.argv[1], encoding="utf-8").read())
assert not p.stack, p.stack
# Two bars (both rules met something); the decision line spans June-July,
# the visit line only June (a lone point, no polyline segment of 2+).
assert p.rects == 2, p.rects
assert p.polylines == 2, p.polylines
PY

# Rendered by headless Chromium: a PNG of the expected size, not blank.
BROWSER=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$BROWSER" ]; then
	not_run "HTML rendering: chromium is not installed (scripts/deps.sh test installs it)"
else
	HOME="$TMP" timeout 60 "$BROWSER" --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--no-first-run --disable-extensions --user-data-dir="$TMP/chromium" \
		--window-size=1240,1754 --screenshot="$TMP/report.png" "file://$TMP/report.html" \
		> "$TMP/chromium.log" 2>&1
	/usr/bin/python3 - "$TMP/report.png" <<'PY' && ok || bad "chromium rendering: $(tail -3 "$TMP/chromium.log")"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, ihdr = 8, b"", None
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR": ihdr = struct.unpack(">IIBBBBB", body)
    if kind == b"IDAT": idat += body
    pos += 12 + n
w, h, depth, colour = ihdr[:4]
assert (w, h) == (1240, 1754), (w, h)
assert depth == 8 and colour in (2, 6), (depth, colour)
bpp = 3 if colour == 2 else 4
raw, stride, prev, rows = zlib.decompress(idat), w * bpp, bytearray(w * bpp), []
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line); prev = line
colours, dark, red = set(), 0, 0
for line in rows[::4]:
    for x in range(0, stride, bpp * 4):
        px = tuple(line[x:x + 3]); colours.add(px)
        dark += sum(px) < 200
        red += px[0] > 180 and px[1] < 90 and px[2] < 60
assert dark > 500, "too little text: %d dark samples" % dark
assert red > 20, "no red bar (the decision rule is rated red): %d" % red
assert len(colours) > 20, "too few colours: %d" % len(colours)
print("rendered %dx%d, %d colours sampled, %d dark, %d red" % (w, h, len(colours), dark, red))
PY
	# Printed: A4 pages (595 x 842 points), the whole report on one or two.
	HOME="$TMP" timeout 60 "$BROWSER" --headless --no-sandbox --disable-gpu --no-first-run \
		--disable-extensions --user-data-dir="$TMP/chromium" --no-pdf-header-footer \
		--print-to-pdf="$TMP/report.pdf" "file://$TMP/report.html" > "$TMP/chromium.log" 2>&1
	/usr/bin/python3 - "$TMP/report.pdf" <<'PY' && ok || bad "chromium printing: $(tail -3 "$TMP/chromium.log")"
import re, sys
pdf = open(sys.argv[1], "rb").read()
boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([0-9.]+)\s+([0-9.]+)\s*\]", pdf)
pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
assert boxes and all(abs(float(w) - 595) < 2 and abs(float(h) - 842) < 2 for w, h in boxes), boxes
assert 1 <= pages <= 2, pages
print("printed on %d A4 page(s)" % pages)
PY
fi

finish
