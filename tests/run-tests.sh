#!/bin/sh
# Run every unit test binary given, then every integration test script, and
# close with one "N passed, N failed" line.  Exit non-zero if anything failed.
# BUILD names the build folder (programs are $BUILD/deadlined, $BUILD/deadlinectl).
set -u
: "${BUILD:=build/default}"
export BUILD
passed=0
failed=0
failed_names=""

run() {
	name=$1; shift
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failed_names="$failed_names $name"
	fi
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
[ "$failed" -eq 0 ] || echo "failed:$failed_names"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
