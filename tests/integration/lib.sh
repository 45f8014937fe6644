# Shared helpers for the integration tests (sourced, not run).
# Each test counts its checks and exits non-zero if any failed.
: "${BUILD:=build/default}"
DEADLINED=${DEADLINED:-$BUILD/deadlined}
DEADLINECTL=${DEADLINECTL:-$BUILD/deadlinectl}
# Never pick up an administrator's /etc/deadlined/deadlined.conf.
export DEADLINED_CONFIG=/nonexistent/deadlined.conf
TMP=$(mktemp -d "${TMPDIR:-/tmp}/deadlined-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
checks=0
fails=0

ok() { checks=$((checks + 1)); }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL: $*"; }

# expect STATUS STDOUT_WANTED STDERR_PATTERN -- COMMAND...
# STDOUT_WANTED '*' means any; STDERR_PATTERN '' means stderr must be empty,
# '*' means anything.
expect() {
	want_rc=$1 want_out=$2 want_err=$3
	shift 4
	out=$("$@" 2>"$TMP/stderr"); rc=$?
	err=$(cat "$TMP/stderr")
	if [ "$rc" != "$want_rc" ]; then bad "$*: exit $rc, want $want_rc (stderr: $err)"; return; fi
	if [ "$want_out" != '*' ] && [ "$out" != "$want_out" ]; then
		bad "$*: printed '$out', want '$want_out'"; return; fi
	if [ -z "$want_err" ] && [ -n "$err" ]; then bad "$*: unexpected stderr '$err'"; return; fi
	if [ -n "$want_err" ] && [ "$want_err" != '*' ] && ! printf '%s' "$err" | grep -q -- "$want_err"; then
		bad "$*: stderr '$err' lacks '$want_err'"; return; fi
	if [ "$(printf '%s\n' "$err" | wc -l)" -gt 1 ] && [ "$want_rc" = 2 ]; then
		bad "$*: bad input must give one line on stderr, got: $err"; return; fi
	ok
}

finish() {
	echo "$(basename "$0"): $((checks - fails)) of $checks checks passed"
	[ "$fails" -eq 0 ]
}
