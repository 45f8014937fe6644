# What a timeliness report and the filters say about things that are not
# there (issue 14): the Source line names the database without its folder
# (the report goes to a panel); a rule with no version in force in the
# period and no clock in it is left out of the tables and named once; a
# --team that is not in the case database is an error naming the teams
# there are, for report and list alike, and so is an unknown --rule.
. tests/integration/lib.sh
C=$DEADLINECTL
DB="$TMP/cases.db"
CONF="$TMP/deadlined.conf"
cat > "$CONF" <<CONF
source = { database = "$DB"; };
state = { database = "$TMP/state.db"; };
rules = {
  old = { title = "Old decisions"; start = [ "referral" ]; met = [ "referral_decision" ];
          due = ( "3 working days" ); effective_until = "2013-03-31"; };
  decision = { title = "Referral decisions"; start = [ "referral" ];
               met = [ "referral_decision" ]; due = ( "1 working day" ); };
  visit = { title = "Visits"; start = [ "cla_started" ]; met = [ "cla_visit" ];
            due = ( "5 working days" ); };
};
CONF
sqlite3 "$DB" < conf/schema/native.sql
sqlite3 "$DB" <<'SQL'
INSERT INTO deadlined_teams VALUES ('DA', 'Duty', 'duty@council.example', NULL),
  ('CIC', 'Children in care', 'cic@council.example', NULL);
INSERT INTO deadlined_cases (case_ref, child_ref, team_ref) VALUES ('D1', 'C1', 'DA');
INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES
  ('D1', 'referral', '2024-06-03'), ('D1', 'referral_decision', '2024-06-04');
SQL

out=$($C -c "$CONF" report --from 2024-04-01 --to 2024-06-30 2>&1); rc=$?
[ $rc = 0 ] && ok || bad "report: rc $rc: $out"
src=$(printf '%s\n' "$out" | grep '^Source:')
case "$src" in
*"$TMP"*|*/*) bad "the Source line names a path: $src" ;;
*"history cases.db,"*) ok ;;
*) bad "the Source line does not name cases.db: $src" ;;
esac
printf '%s\n' "$out" | grep -q '^Old decisions (old)' && bad "a rule not in force shows as a row: $out" || ok
printf '%s\n' "$out" | grep -q '^Not in force in the period (no clocks): Old decisions (old)$' \
	&& ok || bad "the rule left out is not named: $out"
# In force but with nothing in the period: still a row (a real zero).
printf '%s\n' "$out" | grep -q '^Visits (visit)' && ok || bad "a rule in force left out: $out"
# A period the old rule was in force in: it is back.
$C -c "$CONF" report --from 2013-01-01 --to 2013-03-31 2>&1 | grep -q '^Old decisions (old)' \
	&& ok || bad "the old rule missing from its own period"
# CSV and HTML leave it out too.
$C -c "$CONF" report --from 2024-04-01 --to 2024-06-30 --format csv | grep -q ',old,' \
	&& bad "CSV has a row for the rule not in force" || ok
$C -c "$CONF" report --from 2024-04-01 --to 2024-06-30 --format html > "$TMP/r.html"
grep -q "$TMP" "$TMP/r.html" && bad "the HTML names a path" || ok
grep -q 'Not in force in the period (no clocks): Old decisions (old)' "$TMP/r.html" \
	&& ok || bad "the HTML does not name the rule left out"

# Filters naming what does not exist.
expect 2 '' "report: --team: no team 'T1' in the case database; its teams are CIC, DA" \
	-- $C -c "$CONF" report --from 2024-04-01 --to 2024-06-30 --team T1
expect 2 '' "--team: no team 'T1' in the case database; its teams are CIC, DA" \
	-- $C -c "$CONF" list --team T1
expect 2 '' "no rule 'nope'" -- $C -c "$CONF" list --rule nope
expect 0 '*' '' -- $C -c "$CONF" list --team DA --state all
finish
