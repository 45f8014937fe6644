#!/bin/sh
# make demo: generate demo/cases.db with the seeded generator, evaluate it
# with the example configuration, deliver the alerts into demo/mail/ (a
# Maildir), and show what a team manager would chase.
set -eu
BUILD=${1:-build/default}
AS_OF=${AS_OF:-$(date +%F)}
DEMO=$PWD/demo
mkdir -p "$DEMO"
/usr/bin/python3 tools/gen-demo.py --out "$DEMO/cases.db" --seed 42 --as-of "$AS_OF" \
	--schema conf/schema/native.sql

# The example configuration with the demo's files, and a Maildir instead of
# the council's mail server.  Every run starts from a fresh state.
rm -rf "$DEMO/state.db" "$DEMO/state.db-wal" "$DEMO/state.db-shm" "$DEMO/mail"
ln -sfn ../conf/rules "$DEMO/rules"
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
echo "Try: DEADLINED_CONFIG=demo/deadlined.conf ./deadlinectl explain $first --as-of $AS_OF"
echo "     DEADLINED_CONFIG=demo/deadlined.conf ./deadlinectl status"
