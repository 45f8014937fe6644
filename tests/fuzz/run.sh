#!/bin/sh
# Run fuzz targets under libFuzzer, then minimise their corpora.
#   tests/fuzz/run.sh SECONDS TARGET...      (make fuzz runs every target)
# Each build/fuzz/fuzz_TARGET runs for SECONDS on tests/fuzz/corpus/TARGET/,
# adding the inputs that reach new code there.  Then the corpus is merged
# (-merge=1) into a fresh folder holding only the hand-made seed-* files,
# which keeps the seeds by name and adds only the found inputs that still
# add coverage, and the fresh folder replaces the corpus (see merge below).
# A crash leaves its input in build/fuzz/artifacts/TARGET/ and makes the
# exit status 1.
# Logs: build/fuzz/logs/TARGET.log; a summary line per target at the end.
set -u
secs=${1:?usage: tests/fuzz/run.sh SECONDS TARGET...}
shift
# libFuzzer takes -max_total_time=0 as "for ever".
case $secs in
''|*[!0-9]*|0) echo "fuzz: SECONDS must be a whole number above 0, not '$secs'" >&2; exit 2 ;;
esac
out=build/fuzz
status=0
# A leak inside libconfig 1.5 is upstream's, not ours: see the file.
LSAN_OPTIONS="suppressions=$(pwd)/tests/fuzz/lsan.supp:print_suppressions=0"
export LSAN_OPTIONS
summary=""

# The last figures libFuzzer printed: executions, exec/s, cov, ft, and its
# corpus in memory at the end (before the merge).
figures() {
	execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$1" | tail -n 1)
	rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$1" | tail -n 1)
	last=$(grep -E '^#[0-9]+.*cov: ' "$1" | tail -n 1)
	cov=$(printf '%s' "$last" | sed -nE 's/.*cov: ([0-9]+).*/\1/p')
	ft=$(printf '%s' "$last" | sed -nE 's/.*ft: ([0-9]+).*/\1/p')
	corp=$(printf '%s' "$last" | sed -nE 's/.*corp: ([0-9]+\/[0-9]+[a-zA-Z]*).*/\1/p')
	echo "${execs:-?} executions, ${rate:-?} exec/s, cov ${cov:-?}, ft ${ft:-?}," \
		"corpus ${corp:-?} in the run"
}

# Keeps the seeds by name plus the found inputs that add coverage.  When
# that is more than the corpus budget (200 files, 1 MB), merge again by
# edges alone (-use_counters=0), which keeps far fewer.
merge_into() {
	rm -rf "$3"
	mkdir -p "$3"
	cp "$2"/seed-* "$3"/ 2>/dev/null
	"$out/fuzz_$1" -merge=1 $4 "$3" "$2" >> "$out/logs/$1.merge.log" 2>&1
}

merge() {
	t=$1 corpus=tests/fuzz/corpus/$1 fresh=$out/merge/$1
	: > "$out/logs/$t.merge.log"
	if merge_into "$t" "$corpus" "$fresh" "" &&
	   { [ "$(ls "$fresh" | wc -l)" -le 180 ] && [ "$(cat "$fresh"/* | wc -c)" -le 900000 ] ||
	     merge_into "$t" "$corpus" "$fresh" -use_counters=0; }; then
		rm -rf "$corpus"
		mv "$fresh" "$corpus"
	else
		echo "fuzz: $t: merge failed, corpus left as it was ($out/logs/$t.merge.log)" >&2
		status=1
	fi
}

for t in "$@"; do
	corpus=tests/fuzz/corpus/$t
	mkdir -p "$corpus" "$out/artifacts/$t" "$out/logs"
	dict=""
	[ -f "tests/fuzz/dict/$t.dict" ] && dict="-dict=tests/fuzz/dict/$t.dict"
	echo "== fuzz: $t for $secs s"
	# -timeout: an input slower than 10 s is a hang worth reporting.
	"$out/fuzz_$t" -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$out/artifacts/$t/" $dict "$corpus" > "$out/logs/$t.log" 2>&1
	rc=$?
	line="$t: $(figures "$out/logs/$t.log")"
	if [ "$rc" -ne 0 ]; then
		status=1
		line="$line, CRASH (exit $rc): see $out/logs/$t.log and $out/artifacts/$t/"
		grep -E 'ERROR: |invariant broken|SUMMARY' "$out/logs/$t.log" | head -n 5
	fi
	merge "$t"
	line="$line; kept after merge: $(ls "$corpus" | wc -l) files, $(cat "$corpus"/* | wc -c) bytes"
	echo "$line"
	summary="$summary$line
"
done
echo
printf '%s' "$summary"
exit $status
