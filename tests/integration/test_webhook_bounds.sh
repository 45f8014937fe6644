# A webhook receiver that misbehaves cannot hold a delivery for long
# (issue 14): one that answers 200 and then streams a body for ever, one
# that trickles its body a byte a second, and one that trickles even its
# status line.  Each request ends well within the receiver's timeout; one
# whose status line arrived is judged by it (so a 200 is delivered, not
# sent again and again), one whose status never came is retried.
. tests/integration/lib.sh
PY=/usr/bin/python3
CONF=$TMP/deadlined.conf
SRV_PID=
trap 'if [ -n "$SRV_PID" ]; then kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null; fi; rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM HUP PIPE
unset https_proxy HTTPS_PROXY all_proxy ALL_PROXY

make_test_certs || { bad "openssl: $(cat "$TMP/openssl.log")"; finish; exit 1; }
$PY tests/helpers/webhook_server.py --cert "$TMP/server.pem" --key "$TMP/server.key" \
	--port-file "$TMP/port" --log "$TMP/requests.jsonl" --stats "$TMP/stats.json" \
	--lifetime 120 2>"$TMP/server.err" &
SRV_PID=$!
wait_for "$TMP/port" || { bad "server did not start: $(cat "$TMP/server.err")"; finish; exit 1; }
PORT=$(cat "$TMP/port")

# timeout 20 s: what bounds these requests must be less (the low-speed
# limit: half the timeout, at least 10 s).
{
	echo 'receivers = {'
	for p in stream trickle drip ok; do
		printf '  %s = { type = "webhook"; url = "https://127.0.0.1:%s/%s"; ca_file = "%s"; timeout = 20; };\n' \
			"$p" "$PORT" "$p" "$TMP/test-ca.pem"
	done
	echo '};'
} > "$CONF"

# timed RECEIVER WANT MAX_SECONDS WHAT: dl-send's first line starts WANT, in
# at most MAX_SECONDS (times TIME_SCALE).
timed() {
	t0=$(date +%s)
	out=$(timeout 60 $VG "$DL_SEND" -c "$CONF" "$1" 2>&1); rc=$?
	t=$(($(date +%s) - t0))
	case "$out" in
	"$2"*) [ "$t" -le $(($3 * TIME_SCALE)) ] && ok || bad "$4: took $t s, want at most $3: $out" ;;
	*) bad "$4: rc $rc after $t s: $out (want '$2 ...')" ;;
	esac
}
timed ok "0 ok" 10 "a plain receiver"
timed stream "0 ok" 5 "200 then a body for ever: cut at the response bound, delivered"
timed trickle "0 ok" 15 "200 then a body a byte a second: cut by the low-speed limit, delivered"
timed drip "0 retry" 15 "a status line a byte a second: cut by the low-speed limit, retried"
finish
