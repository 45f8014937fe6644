#!/bin/sh
# data.sh — the benchmark's case database, generated once and cached.
#   tests/bench/data.sh [CASES]   prints the path of the SQLite file
# Seeded (42) and dated (2026-11-23), so the same generator and schema give
# the same file; the cache key is a hash of both, so changing either makes
# a new file.  Kept under $XDG_CACHE_HOME/deadlined-bench (default
# ~/.cache), outside git; old files of other keys are removed.
set -eu
cases=${1:-1000000}
here=$(cd "$(dirname "$0")/../.." && pwd)
key=$(cat "$here/tools/gen-demo.py" "$here/conf/schema/native.sql" | sha256sum | cut -c1-12)
dir=${XDG_CACHE_HOME:-$HOME/.cache}/deadlined-bench
out=$dir/cases-$cases-$key.db
if [ ! -s "$out" ]; then
	mkdir -p "$dir"
	find "$dir" -maxdepth 1 -name "cases-$cases-*.db" ! -name "cases-$cases-$key.db" \
		-exec rm -f {} + 2>/dev/null || true
	echo "bench: generating $cases cases into $out (once; about 2 minutes)" >&2
	/usr/bin/python3 "$here/tools/gen-demo.py" --out "$out" --seed 42 --cases "$cases" \
		--as-of 2026-11-23 >&2
fi
echo "$out"
