# conf/schema/ssd-views-mssql.sql: no SQL Server runs here, so the T-SQL
# views are parsed (python3-sqlglot, tsql dialect) and searched for what
# T-SQL lacks, and the checker itself is shown to catch each such mistake.
. tests/integration/lib.sh
PY=/usr/bin/python3
CHECK="$PY tests/helpers/tsql_check.py"
TWIN=conf/schema/ssd-views.sql

if ! $PY -c 'import sqlglot' 2>/dev/null; then
	bad "python3-sqlglot is not installed (scripts/deps.sh test)"
	finish
	exit
fi

out=$($CHECK conf/schema/ssd-views-mssql.sql $TWIN 2>&1) && ok || bad "ssd-views-mssql.sql: $out"
printf '%s\n' "$out" | grep -q ': 18 batches, 9 views, 0 problems$' && ok || bad "counts: $out"

# Each mistake in a copy is found, with its line.
mutate() { # NAME SED-EXPRESSION PATTERN
	sed "$2" conf/schema/ssd-views-mssql.sql > "$TMP/$1.sql"
	cmp -s "$TMP/$1.sql" conf/schema/ssd-views-mssql.sql && { bad "$1: the edit changed nothing"; return; }
	out=$($CHECK "$TMP/$1.sql" $TWIN 2>&1) && bad "$1: not caught" ||
		{ printf '%s\n' "$out" | grep -q -- "$3" && ok || bad "$1: $out"; }
}
mutate concat "s/CONCAT('REF-', e.cine_referral_id)/'REF-' || e.cine_referral_id/" '|| is not T-SQL'
mutate sortkey 's/ORDER BY CASE WHEN invo_involvement_end_date IS NULL THEN 0 ELSE 1 END,/ORDER BY invo_involvement_end_date IS NOT NULL,/' 'predicate as a sort key'
mutate alias 's/^) ranked$/)/' 'derived table needs a name'
mutate batch '/^DROP VIEW IF EXISTS ssd_dl_referral_owner;$/{n;d}' 'alone in its batch'
mutate max 's/CASE WHEN c.lacp_cla_care_plan_start_date > l.started/MAX(c.lacp_cla_care_plan_start_date, l.started), CASE WHEN 1 = 1/' 'two-argument MAX'
mutate syntax 's/^WHERE n = 1;$/WHERE n = ;/' 'does not parse'
mutate views 's/^CREATE VIEW deadlined_expected_due AS/CREATE VIEW deadlined_expected AS/' "views \\["
finish
