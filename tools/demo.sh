#!/bin/sh
# make demo: generate demo/cases.db with the seeded generator, evaluate it
# with the example configuration as of the next working morning, deliver
# the alerts into demo/mail/ (a Maildir), and show what a team manager
# would chase.  AS_OF=DATE runs it as if on DATE; DEMO=DIR puts it in DIR.
set -eu
BUILD=${1:-build/default}
TODAY=${AS_OF:-$(date +%F)}
DEMO=${DEMO:-$PWD/demo}
mkdir -p "$DEMO"
/usr/bin/python3 tools/gen-demo.py --out "$DEMO/cases.db" --seed 42 --as-of "$TODAY" \
	--schema conf/schema/native.sql

# The example configuration with the demo's files, and a Maildir instead of
# the council's mail server.  Every run starts from a fresh state.
rm -rf "$DEMO/state.db" "$DEMO/state.db-wal" "$DEMO/state.db-shm" "$DEMO/mail"
ln -sfn "$PWD/conf/rules" "$DEMO/rules"
sed -e "s#/var/lib/deadlined/cases.db#$DEMO/cases.db#" \
    -e "s#/var/lib/deadlined/state.db#$DEMO/state.db#" \
    -e '/^# Where alerts go/,$d' conf/deadlined.conf > "$DEMO/deadlined.conf"
cat >> "$DEMO/deadlined.conf" <<CONF
receivers = {
  demo-mail = { type = "maildir"; path = "$DEMO/mail"; from = "deadlined@demo.invalid"; };
};
notify = {
  mail_receiver = "demo-mail";
  digest_time = "08:30";              # digests for workers and team managers
  digest_roles = [ "worker", "team_manager" ];
};
CONF
export DEADLINED_CONFIG="$DEMO/deadlined.conf"

# Digests go on working days at digest_time, so a demo run on a Saturday
# or a bank holiday "as of now" would show escalations only.  It shows the
# next working morning instead, whatever the day (the calendar's own next
# working day: Monday after a weekend, after Christmas the 29th).
MORNING_DAY=$("$BUILD/deadlinectl" due "$TODAY" "1 working day")
AS_OF=${MORNING_DAY}T08:30
echo "Run on $(date -d "$TODAY" '+%A %Y-%m-%d'); showing what each role would receive on the"
echo "next working morning, $(date -d "$MORNING_DAY" '+%A %Y-%m-%d') at 08:30, when the daily digests go."

echo
echo "== deadlined --once --as-of $AS_OF (counts by rule and state, then delivery)"
"$BUILD/deadlined" --once --as-of "$AS_OF" 2>"$DEMO/deadlined.log"
echo
echo "== deadlinectl list --state overdue (worst first; first 20 rows)"
"$BUILD/deadlinectl" list --state overdue --as-of "$AS_OF" > "$DEMO/overdue.txt"
head -n 21 "$DEMO/overdue.txt"
echo "   ... $(tail -n 1 "$DEMO/overdue.txt") in all: demo/overdue.txt"
echo
echo "== messages delivered into demo/mail/new, by recipient"
grep -h '^To:' "$DEMO"/mail/new/* 2>/dev/null | sort | uniq -c | sort -rn | head -n 15 || true
echo "   $(ls "$DEMO/mail/new" 2>/dev/null | wc -l) messages in all; read one with: less demo/mail/new/\$(ls demo/mail/new | head -n 1)"
echo
echo "== deadlinectl check-data (data-quality findings)"
"$BUILD/deadlinectl" check-data --as-of "$AS_OF"
echo
first=$(sed -n 2p "$DEMO/overdue.txt" | cut -c1-16 | tr -d ' ')
echo "Try: export DEADLINED_CONFIG=$DEMO/deadlined.conf PATH=$PWD:\$PATH"
echo "     deadlinectl explain $first --as-of $AS_OF"
echo "     deadlinectl status"
echo "     (the README's examples work as written once these two are exported)"
