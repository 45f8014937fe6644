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
not_run=0
known=0

ok() { checks=$((checks + 1)); }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL: $*"; }
# not_run WHY: a check that could not run here; counted apart, never as passed.
not_run() { not_run=$((not_run + 1)); echo "NOT RUN: $*"; }
# known_bug WHAT -- COMMAND...: a check of a daemon bug already reported and
# not yet fixed.  Failing, it is counted apart as a known bug (not passed,
# not failed); passing, it counts as passed and says the bug looks fixed.
known_bug() {
	_what=$1
	shift 2
	if "$@"; then
		ok
		echo "FIXED? known bug no longer shows: $_what"
	else
		known=$((known + 1))
		echo "KNOWN BUG: $_what"
	fi
}

# regression WHAT -- COMMAND...: a check of a daemon bug that was found by
# these tests and fixed; it must stay fixed.
regression() {
	_what=$1
	shift 2
	if "$@"; then ok; else bad "regression: $_what"; fi
}

# VALGRIND=1: every run of deadlined, deadlinectl and dl-send (and of any
# command given to $VG) is under memcheck.  Its reports go to files, so the
# tests' checks of stderr stay as they are, and finish counts each report
# as a failed check: an error, or a block definitely lost.
DL_SEND=${DL_SEND:-$BUILD/tools/dl-send}
VG=
TIME_SCALE=1
if [ "${VALGRIND:-}" = 1 ]; then
	if ! command -v valgrind >/dev/null 2>&1; then
		echo "FAIL: VALGRIND=1 but valgrind is not installed (scripts/deps.sh test)"
		exit 1
	fi
	mkdir "$TMP/vg-bin" "$TMP/vg-logs"
	cat > "$TMP/vg-bin/vg" <<VG
#!/bin/sh
exec valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \\
	--show-leak-kinds=definite --quiet --suppressions="$PWD/tests/valgrind.supp" \\
	--log-file="$TMP/vg-logs/\${1##*/}.%p.log" "\$@"
VG
	for _p in "$DEADLINED" "$DEADLINECTL" "$DL_SEND"; do
		printf '#!/bin/sh\nexec "%s/vg-bin/vg" "%s" "$@"\n' "$TMP" "$(readlink -f "$_p")" \
			> "$TMP/vg-bin/${_p##*/}"
	done
	chmod +x "$TMP/vg-bin/"*
	DEADLINED=$TMP/vg-bin/deadlined
	DEADLINECTL=$TMP/vg-bin/deadlinectl
	DL_SEND=$TMP/vg-bin/dl-send
	VG=$TMP/vg-bin/vg
	# Waits for the daemon's own steps stretch this much under memcheck.
	TIME_SCALE=3
	echo "under valgrind memcheck: deadlined, deadlinectl, dl-send"
fi

# valgrind_reports: each memcheck report so far is a failed check.
valgrind_reports() {
	[ -d "$TMP/vg-logs" ] || return 0
	echo "valgrind: $(ls "$TMP/vg-logs" | wc -l) processes run under memcheck"
	for _f in "$TMP/vg-logs"/*.log; do
		[ -s "$_f" ] || continue
		bad "valgrind: ${_f##*/}:
$(head -n 60 "$_f")"
		: > "$_f"
	done
}

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
	valgrind_reports
	_extra=""
	[ "$not_run" -eq 0 ] || _extra=" ($not_run not run)"
	[ "$known" -eq 0 ] || _extra="$_extra ($known known bugs)"
	echo "$(basename "$0"): $((checks - fails)) of $checks checks passed$_extra"
	[ "$fails" -eq 0 ]
}

# want_lines EXTENDED_REGEX WHAT: $out, its lines joined with '|', matches
# the whole regex (for tools that print one line a result).
want_lines() {
	joined=$(printf '%s\n' "$out" | paste -sd'|')
	if printf '%s' "$joined" | grep -qE "^$1\$"; then ok; else bad "$2: got '$joined'"; fi
}

# make_test_certs: a throwaway CA ($TMP/test-ca.pem), a server certificate
# for IP:127.0.0.1 signed by it ($TMP/server.pem, .key) and a second CA
# that did not sign it ($TMP/other-ca.pem).  Returns non-zero on failure
# with openssl's words in $TMP/openssl.log.
make_test_certs() {
	cat > "$TMP/openssl.cnf" <<'CNF'
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1
CNF
	_newkey="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
	{
		for _ca in test-ca other-ca; do
			openssl req -x509 $_newkey -days 2 -subj "/CN=$_ca" -config "$TMP/openssl.cnf" \
				-extensions ca -keyout "$TMP/$_ca.key" -out "$TMP/$_ca.pem" || return 1
		done
		openssl req -new $_newkey -subj "/CN=127.0.0.1" -config "$TMP/openssl.cnf" \
			-keyout "$TMP/server.key" -out "$TMP/server.csr" &&
		openssl x509 -req -in "$TMP/server.csr" -CA "$TMP/test-ca.pem" \
			-CAkey "$TMP/test-ca.key" -CAcreateserial -days 2 -extfile "$TMP/openssl.cnf" \
			-extensions server -out "$TMP/server.pem"
	} > "$TMP/openssl.log" 2>&1
}

# wait_for FILE [TENTHS]: until FILE is non-empty (default 10 s).
wait_for() {
	_i=0
	while [ ! -s "$1" ] && [ "$_i" -lt "${2:-100}" ]; do sleep 0.1; _i=$((_i + 1)); done
	[ -s "$1" ]
}
