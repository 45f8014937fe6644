#!/bin/sh
# Run every unit test binary given, then every integration test script, and
# close with one "N passed, N failed" line counting individual tests (cmocka
# tests and integration checks), plus the checks that could not run here
# and those of known, reported bugs when there are any (neither counts as
# passed).  Exit non-zero if anything failed.
# BUILD names the build folder (programs are $BUILD/deadlined, $BUILD/deadlinectl).
set -u
: "${BUILD:=build/default}"
export BUILD
passed=0
failed=0
not_run=0
known=0
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
		bad=$(( ${all:-1} - ${ok:-0} ))
		n=$(sed -nE 's/.*checks passed.*\(([0-9]+) not run\).*/\1/p' "$log" | tail -n 1)
		k=$(sed -nE 's/.*checks passed.*\(([0-9]+) known bugs?\).*/\1/p' "$log" | tail -n 1)
		not_run=$((not_run + ${n:-0}))
		known=$((known + ${k:-0})) ;;
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
# Under valgrind, the slow tests listed in tests/valgrind-skip are left out,
# each said so and counted as not run.
valgrind_skips() {
	[ "${VALGRIND:-}" = 1 ] || return 1
	_why=$(sed -nE "s/^${1##*/}[[:space:]]+//p" tests/valgrind-skip)
	[ -n "$_why" ] || return 1
	echo "== integration: ${1##*/}: not run under valgrind: $_why"
	not_run=$((not_run + 1))
}

for t in tests/integration/test_*.sh; do
	[ -e "$t" ] || continue
	valgrind_skips "$t" && continue
	echo "== integration: ${t##*/}"
	start=$(date +%s)
	run "${t##*/}" sh "$t"
	echo "(${t##*/}: $(( $(date +%s) - start )) s)"
done

echo
[ -z "$failed_names" ] || echo "failed:$failed_names"
extra=""
[ "$not_run" -eq 0 ] || extra="$extra, $not_run not run"
[ "$known" -eq 0 ] || extra="$extra, $known known bugs"
echo "$passed passed, $failed failed$extra"
[ -z "$failed_names" ] && [ "$failed" -eq 0 ]
