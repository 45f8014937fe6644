# `deadlined --once` under a file-size limit (RLIMIT_FSIZE, ulimit -f):
# like the service, it ignores SIGXFSZ, sees the write fail and says so in
# one clear line with a runtime-error status, instead of being killed by
# the signal with nothing said (issue 14).
. tests/integration/lib.sh
. tests/integration/service_lib.sh

DB=$TMP/cases.db
STATE=$TMP/state.db
CONF=$TMP/d.conf
seed_cases "$DB"
# Enough cases that the state database outgrows a few kilobytes.
i=0
{
	echo "BEGIN;"
	while [ $i -lt 300 ]; do
		echo "INSERT INTO deadlined_cases VALUES ('B$i', 'CB$i', '2015-05-05', 'T1', 'W1');"
		echo "INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES ('B$i', 'referral', '2024-11-01');"
		i=$((i + 1))
	done
	echo "COMMIT;"
} | sqlite3 "$DB"
service_conf "$MAILDIR_RECEIVER" 'mail_receiver = "mail";'

(ulimit -f 16; exec $DEADLINED --once -c "$CONF" > "$TMP/once.out" 2> "$TMP/once.err")
rc=$?
[ $rc = 1 ] && ok || bad "--once under a file-size limit: exit $rc (153 is SIGXFSZ), want 1: $(cat "$TMP/once.err")"
grep -Eq "^deadlined: state database $STATE: .*\((File too large|a write was cut short: is the disk full, or a file size limit reached\?)\)" \
	"$TMP/once.err" && [ "$(wc -l < "$TMP/once.err")" = 1 ] && ok \
	|| bad "--once under a file-size limit: want one clear line: $(cat "$TMP/once.err")"
finish
