#!/bin/sh
# Run every unit test binary given, then every integration test script, and
# close with one "N passed, N failed" line counting individual tests (cmocka
# tests and integration checks).  Exit non-zero if anything failed.
# BUILD names the build folder (programs are $BUILD/deadlined, $BUILD/deadlinectl).
set -u
: "${BUILD:=build/default}"
export BUILD
passed=0
failed=0
failed_names=""
log=$(mktemp "${TMPDIR:-/tmp}/deadlined-run.XXXXXX")
trap 'rm -f "$log"' EXIT


run() {
	name=$1; shift
	"$@" > "$log" 2>&1
	rc=$?
	cat "$log"
	case $name in
	*.sh)
		ok=$(sed -nE 's/.*: ([0-9]+) of ([0-9]+) checks passed.*/\1/p' "$log" | tail -n 1)
		all=$(sed -nE 's/.*: ([0-9]+) of ([0-9]+) checks passed.*/\2/p' "$log" | tail -n 1)
		bad=$(( ${all:-1} - ${ok:-0} )) ;;
	*)
		ok=$(sed -nE 's/.*\[  PASSED  \] ([0-9]+) test.*/\1/p' "$log" | tail -n 1)
		bad=$(sed -nE 's/.*\[  FAILED  \] ([0-9]+) test.*/\1/p' "$log" | tail -n 1) ;;
	esac
	ok=${ok:-0}
	bad=${bad:-0}
	# A crash or a non-zero exit with nothing counted as failed is one failure.
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
	passed=$((passed + ok))
	failed=$((failed + bad))
	[ "$rc" -eq 0 ] || failed_names="$failed_names $name"
}

for t in "$@"; do
	echo "== unit: ${t##*/}"
	run "${t##*/}" "$t"
done
for t in tests/integration/test_*.sh; do
	[ -e "$t" ] || continue
	echo "== integration: ${t##*/}"
	run "${t##*/}" sh "$t"
done

echo
[ -z "$failed_names" ] || echo "failed:$failed_names"
echo "$passed passed, $failed failed"
[ -z "$failed_names" ] && [ "$failed" -eq 0 ]
