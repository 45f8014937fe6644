#!/bin/sh
# deadlinectl's grammar: each command takes only its own options.  Every
# command with every option it does not take exits 2 with one line naming
# the option, before reading any configuration; every option it does take
# gets past the grammar (to the missing configuration, exit 78).  The lists
# below are written from deadlinectl(1)'s synopsis, not from the program.
. "$(dirname "$0")/lib.sh"
C=$DEADLINECTL
NOCONF=$TMP/none.conf

OPTIONS="db as-of state rule team format until reason recipient all from to out source
	count-start-day allow-bad-rows"
# command|its arguments|the options it takes
GRAMMAR='due|2024-01-02 1 day|count-start-day
holidays|2025|
workdays|2024-01-02 2024-02-01|
list||db as-of state rule team format
explain|C1|db as-of
check-data||db as-of format
import-ssd|dir|db allow-bad-rows
ack|C1 icpc|until reason
acks||
cover|m@example.org d@example.org 2024-01-02 2024-01-09|
covers||
status||
outbox||state
retry|1|all
test-notify|mail|recipient
report||db from to team rule format out source'

# The command line for one option: a flag, or the option and a value.
with_value() {
	case $1 in
	all|count-start-day|allow-bad-rows) echo "--$1" ;;
	*) echo "--$1 2024-01-02" ;;
	esac
}

printf '%s\n' "$GRAMMAR" > "$TMP/grammar"
while IFS='|' read -r cmd args takes; do
	for o in $OPTIONS; do
		# shellcheck disable=SC2046,SC2086
		if [ "$cmd" = due ]; then
			set -- due 2024-01-02 "1 day"
		else
			set -- $cmd $args
		fi
		$C -c "$NOCONF" "$@" $(with_value "$o") > "$TMP/out" 2> "$TMP/err"
		rc=$?
		case " $takes " in
		*" $o "*)
			if [ $rc = 78 ] && ! grep -q 'does not take' "$TMP/err"; then ok; else
				bad "$cmd --$o: refused or not reached the configuration (rc $rc): $(cat "$TMP/err")"
			fi ;;
		*)
			if [ $rc = 2 ] && [ ! -s "$TMP/out" ] && [ "$(wc -l < "$TMP/err")" = 1 ] &&
			   grep -q "^deadlinectl: $cmd does not take --$o; it takes" "$TMP/err"; then ok; else
				bad "$cmd --$o: want exit 2 and one line, got rc $rc: $(cat "$TMP/err")"
			fi ;;
		esac
	done
done < "$TMP/grammar"

# The issue's example: refused, naming the first option it does not take,
# and nothing printed.
out=$($C holidays 2025 --until 2030-01-01 --format json 2> "$TMP/err"); rc=$?
[ $rc = 2 ] && [ -z "$out" ] && grep -q 'holidays does not take --until; it takes no options' "$TMP/err" && ok \
	|| bad "holidays with --until --format: rc $rc, out '$out', $(cat "$TMP/err")"
# Options before the command are the command's too.
$C --team T1 holidays 2025 > /dev/null 2> "$TMP/err"; rc=$?
[ $rc = 2 ] && grep -q 'holidays does not take --team; it takes no options' "$TMP/err" && ok \
	|| bad "--team before holidays: rc $rc, $(cat "$TMP/err")"
# --to is a date, for report only; test-notify names its address --recipient.
$C test-notify mail --to check@council.example > /dev/null 2> "$TMP/err"; rc=$?
[ $rc = 2 ] && grep -q 'test-notify does not take --to; it takes --recipient' "$TMP/err" && ok \
	|| bad "test-notify --to: rc $rc, $(cat "$TMP/err")"
# -c, -h and -V go with any command.
$C holidays 2025 --help | grep -q '^usage: deadlinectl' && ok || bad "--help with a command"
$C -V status | grep -q '^deadlinectl ' && ok || bad "-V with a command"
$C holidays 2025 | grep -q '^2025-12-25 Christmas Day' && ok || bad "holidays without options"
finish
