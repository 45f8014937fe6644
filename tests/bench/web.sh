#!/bin/sh
# web.sh — deadlined-web under load (make bench): the tray of the team
# manager with the fewest open obligations that still fill 5,000 rows
# (web.max_items, 100 pages of web.page_size 50), in the state database made
# from the benchmark's data set, its first page served to 50 concurrent
# clients by wrk (Debian's) with the default threads (one per core); its
# last page alone; and the first page of the manager with the most, alone,
# on a fresh server (its counts not yet read).
#   tests/bench/web.sh BUILD CONF STATE WORK
# CONF is the benchmark's configuration, whose state database is STATE.
# Prints table rows: median and 99th-percentile response times.
set -eu
BUILD=$1 conf=$2 state=$3 work=$4
pid=
trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null; rm -f "${webconf:-}"' EXIT INT TERM
counts="SELECT manager_email, COUNT(*) n FROM obligations WHERE closed IS NULL
	AND manager_email IS NOT NULL GROUP BY manager_email"
mgr=$(sqlite3 "$state" "SELECT manager_email FROM ($counts) ORDER BY n < 5000, n LIMIT 1")
most=$(sqlite3 "$state" "SELECT manager_email FROM ($counts) ORDER BY n DESC LIMIT 1")
most_n=$(sqlite3 "$state" "SELECT n FROM ($counts) ORDER BY n DESC LIMIT 1")
open=$(sqlite3 "$state" "SELECT COUNT(*) FROM obligations WHERE closed IS NULL
	AND manager_email = '$mgr'")
total=$(sqlite3 "$state" "SELECT COUNT(*) FROM obligations")
# Beside CONF, whose @include lines name files relative to it.
webconf=$(dirname "$conf")/web-bench.conf
{ cat "$conf"; printf 'web = { trusted_proxies = [ "127.0.0.1" ]; max_items = 5000; };\n'; } \
	> "$webconf"
port=$(/usr/bin/python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
"$BUILD/deadlined-web" -c "$webconf" --listen "127.0.0.1:$port" 2>"$work/web.err" &
pid=$!
i=0
until curl -s -o /dev/null "http://127.0.0.1:$port/style.css"; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "web.sh: deadlined-web did not start" >&2; exit 1; }
	sleep 0.1
done
tray() { curl -s -o /dev/null -w '%{time_total}' -H "X-Forwarded-Email: $1" "http://127.0.0.1:$port$2"; }
# The largest first, on the fresh server: nothing read yet.
one=$(tray "$most" /)
rows=$(curl -s -H "X-Forwarded-Email: $mgr" "http://127.0.0.1:$port/" | grep -c 'name="item"')
size=$(curl -s -H "X-Forwarded-Email: $mgr" "http://127.0.0.1:$port/" | wc -c)
pages=$(curl -s -H "X-Forwarded-Email: $mgr" "http://127.0.0.1:$port/" |
	sed -n 's/.*<caption>Open deadlines, page 1 of \([0-9]*\)<.*/\1/p')
alone=$(tray "$mgr" /)
last=$(tray "$mgr" "/?page=$pages")
threads=$(sed -n 's/.*serving with \([0-9]*\) threads.*/\1/p' "$work/web.err")
load=$(cut -d' ' -f1 /proc/loadavg)
wrk -t 2 -c 50 -d 15s --latency -H "X-Forwarded-Email: $mgr" "http://127.0.0.1:$port/" \
	> "$work/wrk.txt"
load="$load before, $(cut -d' ' -f1 /proc/loadavg) after"
p50=$(sed -n 's/^ *50% *\([^ ]*\).*/\1/p' "$work/wrk.txt")
p99=$(sed -n 's/^ *99% *\([^ ]*\).*/\1/p' "$work/wrk.txt")
rps=$(sed -n 's/^Requests\/sec: *//p' "$work/wrk.txt")
timeouts=$(sed -n 's/.*timeout \([0-9]*\).*/\1/p' "$work/wrk.txt")
ms99=$(printf '%s' "$p99" | awk '/ms$/ { print $0 + 0; next } /us$/ { print ($0 + 0) / 1000; next }
	/s$/ { print ($0 + 0) * 1000 }')
verdict=$(awk "BEGIN { print ($ms99 < 100 && $ms99 > 0 && \"${timeouts:-0}\" == 0) ? \"met\" : \"NOT MET\" }")
note="page 1 of $pages, $rows rows ($open open for $mgr; $total obligations stored), $((size / 1024)) KiB"
printf '| %-34s | %14s | %-10s | %s\n' "web tray, 50 clients: median" "$p50" "" \
	"$note; $rps requests/s; $threads threads; machine load $load"
printf '| %-34s | %14s | %-10s | %s\n' "web tray, 50 clients: p99" "$p99" "< 100 ms" \
	"$verdict (wrk, 15 s${timeouts:+, $timeouts timeouts})"
printf '| %-34s | %12s s | %-10s | %s\n' "web tray, one request alone" "$alone" "" \
	"the same page, nothing else asking"
printf '| %-34s | %12s s | %-10s | %s\n' "web tray, last page alone" "$last" "" \
	"page $pages (the worst 4,951st to 5,000th)"
printf '| %-34s | %12s s | %-10s | %s\n' "web tray, largest, first request" "$one" "" \
	"page 1 of $most_n open for $most, its counts read (fresh server)"
