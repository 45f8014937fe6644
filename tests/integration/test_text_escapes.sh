# Case data in deadlinectl's text output (issue 14): a line feed, carriage
# return or invalid UTF-8 in a case reference, a team, a worker or an event
# kind is shown as a visible escape (\n, \r, \xff) in check-data, list and
# explain, never as a forged line or raw bytes; CSV and JSON carry the data.
. tests/integration/lib.sh
C=$DEADLINECTL
DB=$TMP/cases.db
ln -s "$PWD/conf/rules" "$TMP/rules"
cat > "$TMP/d.conf" <<CONF
source = { database = "$DB"; };
state = { database = "$TMP/state.db"; };
rules = {
  @include "rules/referral.conf"
};
CONF
sqlite3 "$DB" < conf/schema/native.sql
sqlite3 "$DB" <<'SQL'
INSERT INTO deadlined_teams VALUES ('T1'||char(10)||'FORGED team', 'Duty', 'tm@council.example', NULL);
INSERT INTO deadlined_workers VALUES ('W'||char(13)||'1', 'Sam', 's@council.example', 'T1');
INSERT INTO deadlined_cases VALUES ('A1'||char(10)||'FORGED case', 'C1', '2015-05-05',
  'T1'||char(10)||'FORGED team', 'W'||char(13)||'1');
INSERT INTO deadlined_cases VALUES (CAST(X'41FF32' AS TEXT), 'C2', '2015-05-05', 'T9', NULL);
INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES
  ('A1'||char(10)||'FORGED case', 'referral', '2024-11-01'),
  ('A1'||char(10)||'FORGED case', 'referral'||char(10)||'FORGED kind', '2024-11-02'),
  (CAST(X'41FF32' AS TEXT), 'referral', '2024-13-01');
SQL
# clean OUTPUT WHAT: no line starts FORGED, no byte 0xFF, no CR.
clean() {
	if printf '%s' "$1" | grep -q '^FORGED' || printf '%s' "$1" | LC_ALL=C grep -q "$(printf '[\377\r]')"; then
		bad "$2: $(printf '%s' "$1" | od -c | head -n 8)"
	else
		ok
	fi
}
out=$($C -c "$TMP/d.conf" check-data --as-of 2025-01-20 2>&1)
clean "$out" "check-data"
printf '%s' "$out" | grep -q 'A1\\nFORGED case' && ok || bad "check-data does not show the case: $out"
printf '%s' "$out" | grep -q 'A\\xff2' && ok || bad "check-data does not show the bad byte: $out"
out=$($C -c "$TMP/d.conf" list --state all --as-of 2025-01-20 2>&1)
clean "$out" "list"
out=$($C -c "$TMP/d.conf" explain "$(printf 'A1\nFORGED case')" --as-of 2025-01-20 2>&1)
clean "$out" "explain"
printf '%s' "$out" | grep -q 'Case A1\\nFORGED case: child C1, team T1\\nFORGED team, worker W\\r1' \
	&& ok || bad "explain's header: $out"
# CSV carries the data as it is (quoted).
$C -c "$TMP/d.conf" check-data --format csv --as-of 2025-01-20 | grep -q '^"A1$' && ok \
	|| bad "CSV changed the data"
finish
