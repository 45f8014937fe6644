#!/bin/sh
# run.sh — make bench: every benchmark, one table (docs/PERFORMANCE.md).
#   tests/bench/run.sh BUILD
# BENCH_CASES (default 1000000) sizes the data set, generated once and
# cached (tests/bench/data.sh).  Uses a temporary folder, removed after.
set -eu
BUILD=${1:-build/default}
here=$(cd "$(dirname "$0")/../.." && pwd)
db=$("$here/tests/bench/data.sh" "${BENCH_CASES:-1000000}")
work=$(mktemp -d "${TMPDIR:-/tmp}/deadlined-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
# The throwaway PostgreSQL servers (pgstate.sh, odbc.sh) run as another
# user, who must pass through (not list) this folder to reach its cluster.
chmod o+x "$work"
mkdir "$work/scale"
ln -s "$here/conf/rules" "$work/rules"
# The example configuration, its files in the work folder, mail to a Maildir.
sed -e "s#/var/lib/deadlined/cases.db#$db#" \
    -e "s#/var/lib/deadlined/state.db#$work/scale/state.db#" \
    -e '/^# Where alerts go/,$d' "$here/conf/deadlined.conf" > "$work/deadlined.conf"
cat >> "$work/deadlined.conf" <<CONF
receivers = {
  bench-mail = { type = "maildir"; path = "$work/mail"; from = "deadlined@bench.invalid"; };
};
notify = { mail_receiver = "bench-mail"; };
CONF
echo "deadlined benchmarks: $(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)"
echo "data: $db"
printf '| %-34s | %14s | %-10s | %s\n' "measure" "median" "target" "notes"
"$BUILD/bench/bench_calendar" | sed 's/^/| /'
"$BUILD/bench/bench_scale" "$BUILD/deadlined" "$work/deadlined.conf" "$db" "$work/scale"
"$here/tests/bench/web.sh" "$BUILD" "$work/deadlined.conf" "$work/scale/state.db" "$work/scale"
mkdir "$work/pgstate"
"$here/tests/bench/pgstate.sh" "$BUILD" "$work/pgstate" "$db" "$work/deadlined.conf"
mkdir "$work/delivery"
"$here/tests/bench/delivery.sh" "$BUILD" "$work/delivery"
mkdir "$work/odbc"
"$here/tests/bench/odbc.sh" "$BUILD" "$work/odbc" "$db" "$work/deadlined.conf"
