#!/bin/sh
# make demo: generate demo/cases.db with the seeded generator, evaluate it
# with the example configuration, and show what a team manager would chase.
set -eu
BUILD=${1:-build/default}
AS_OF=${AS_OF:-$(date +%F)}
mkdir -p demo
/usr/bin/python3 tools/gen-demo.py --out demo/cases.db --seed 42 --as-of "$AS_OF" \
	--schema conf/schema/native.sql
# The example config names /var/lib paths; the demo points at its own files.
export DEADLINED_CONFIG=/nonexistent
echo
echo "== deadlined --once --as-of $AS_OF (counts by rule and state)"
"$BUILD/deadlined" --once --dry-run --as-of "$AS_OF" -c conf/deadlined.conf --db demo/cases.db
echo
echo "== deadlinectl list --state overdue (worst first; first 25 rows)"
"$BUILD/deadlinectl" list --state overdue --as-of "$AS_OF" -c conf/deadlined.conf \
	--db demo/cases.db > demo/overdue.txt
head -n 26 demo/overdue.txt
echo "   ... $(tail -n 1 demo/overdue.txt) in all: demo/overdue.txt"
echo
echo "== deadlinectl check-data (data-quality findings)"
"$BUILD/deadlinectl" check-data --as-of "$AS_OF" -c conf/deadlined.conf --db demo/cases.db
echo
first=$(sed -n 2p demo/overdue.txt | cut -c1-16 | tr -d ' ')
echo "Try: ./deadlinectl explain $first --as-of $AS_OF -c conf/deadlined.conf --db demo/cases.db"
