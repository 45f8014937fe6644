# deadlinectl due / holidays / workdays: outputs, messages and exit statuses.
. tests/integration/lib.sh
C=$DEADLINECTL

expect 0 2025-01-08 '' -- $C due 2024-12-20 "10 working days"
expect 0 2024-06-30 '' -- $C due 2024-01-01 "26 weeks" --count-start-day
expect 0 2024-04-29 '' -- $C due 2024-01-29 "3 months"
expect 0 2024-06-06T10:30 '' -- $C due 2024-06-03T10:30 "72 hours"
expect 0 2028-01-06 'derived from the Banking' -- $C due 2027-12-20 "10 working days"
expect 0 10 '' -- $C workdays 2024-12-20 2025-01-08
expect 0 -10 '' -- $C workdays 2025-01-08 2024-12-20
expect 0 0 '' -- $C workdays 2024-06-01 2024-06-02

expect 0 "2022-01-03 New Year's Day (substitute day)
2022-04-15 Good Friday
2022-04-18 Easter Monday
2022-05-02 Early May bank holiday
2022-06-02 Spring bank holiday
2022-06-03 Platinum Jubilee bank holiday
2022-08-29 Summer bank holiday
2022-09-19 Bank holiday for the State Funeral of Queen Elizabeth II
2022-12-26 Boxing Day
2022-12-27 Christmas Day (substitute day)" '' -- $C holidays 2022
expect 0 '*' 'derived' -- $C holidays 2031

# Bad input: one line, what and what was expected, status 2.
expect 2 '' 'not a real date' -- $C due 2023-02-30 "1 day"
expect 2 '' 'expected YYYY-MM-DD' -- $C due 31.9.12 "1 day"
expect 2 '' "unknown unit 'fortnights'" -- $C due 2024-01-01 "3 fortnights"
expect 2 '' 'negative numbers are not allowed' -- $C due 2024-01-01 "-3 days"
expect 2 '' 'at most 3660 days' -- $C due 2024-01-01 "99999 days"
expect 2 '' 'due takes 2 arguments' -- $C due 2024-01-01
expect 2 '' "unknown command 'frobnicate'" -- $C frobnicate
expect 2 '' 'is not a year' -- $C holidays 20x4
expect 2 '' 'is not a year' -- $C holidays 1066
expect 2 '' 'outside the calendar' -- $C due 2199-12-30 "10 working days"
expect 2 '' 'unknown option' -- $C --frob due 2024-01-01 "1 day"

# A config file: closure days and extra holidays change the arithmetic.
cat > "$TMP/closures.conf" <<'CONF'
calendar = {
  closure_days = [ "2025-12-29..2025-12-31" ];
  extra_holidays = ( { date = "2025-03-03"; name = "Council foundation day"; } );
};
CONF
expect 0 2026-01-02 '' -- $C -c "$TMP/closures.conf" due 2025-12-24 "1 working day"
expect 0 2025-12-29 '' -- $C due 2025-12-24 "1 working day"
expect 0 '*' '' -- $C -c "$TMP/closures.conf" holidays 2025
$C -c "$TMP/closures.conf" holidays 2025 | grep -q '^2025-03-03 Council foundation day$' && ok || bad "extra holiday not listed"
$C -c "$TMP/closures.conf" holidays 2025 | grep -q '^2025-12-30 Local closure day$' && ok || bad "closure day not listed"
DEADLINED_CONFIG="$TMP/closures.conf" $C due 2025-12-24 "1 working day" | grep -q 2026-01-02 \
	&& ok || bad "DEADLINED_CONFIG not honoured"

# A broken config: exit 78 with file:line.
printf 'calendar = {\n  divison = "england-and-wales";\n};\n' > "$TMP/typo.conf"
expect 78 '' "typo.conf:2: calendar.divison: unknown setting 'divison'; did you mean 'division'" \
	-- $C -c "$TMP/typo.conf" due 2024-01-01 "1 day"
expect 78 '' 'cannot open' -- $C -c "$TMP/missing.conf" due 2024-01-01 "1 day"

finish
