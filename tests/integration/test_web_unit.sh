# deadlined-web's systemd units, checked by systemd-analyze as `make
# install` writes them, and socket activation (Accept=no) through
# systemd-socket-activate passing one listening socket, as systemd does.
. tests/integration/lib.sh
. tests/integration/web_lib.sh

dir=$(dirname "$(readlink -f "$BUILD/deadlined")")   # the programs, not valgrind's wrappers
for u in deadlined-web.service deadlined-web.socket; do
	sed "s#@SBINDIR@#$dir#g" "systemd/$u" > "$TMP/$u"
done
out=$(cd "$TMP" && systemd-analyze verify --man=no ./deadlined-web.socket ./deadlined-web.service 2>&1); rc=$?
[ $rc = 0 ] && [ -z "$out" ] && ok || bad "systemd-analyze verify: rc $rc: $out"
score=$(systemd-analyze security --offline=yes "$TMP/deadlined-web.service" 2>/dev/null |
	sed -n 's/.*Overall exposure level for deadlined-web.service: \([0-9.]*\).*/\1/p')
echo "deadlined-web.service exposure: $score"
[ -n "$score" ] && awk "BEGIN { exit !($score <= 2.0) }" && ok || bad "exposure $score > 2.0"
grep -q '^Accept=no$' "$TMP/deadlined-web.socket" && grep -q '^User=deadlined$' "$TMP/deadlined-web.service" \
	&& grep -q '^StateDirectory=deadlined$' "$TMP/deadlined-web.service" && ok \
	|| bad "the web must share the daemon's user and state directory, with Accept=no"
grep -v '^#' "$TMP/deadlined-web.service" | grep -Eiq 'password|secret|webhook|smtp' \
	&& bad "the web unit loads a delivery secret" || ok

# ---- socket activation ----
web_setup || bad "first poll: $(cat "$TMP/poll1.out")"
port=$(pg_free_port)
systemd-socket-activate -l "127.0.0.1:$port" $DEADLINED_WEB -c "$WEB_CONF" 2>>"$TMP/web.err" &
PIDS="$PIDS $!"
wait_until 10 answers "http://127.0.0.1:$port/healthz"
[ "$(curl -s "http://127.0.0.1:$port/healthz")" = ok ] && ok || bad "socket-activated healthz: $(cat "$TMP/web.err")"
# The unit's default: a Unix socket, whose requests may carry the header.
$DEADLINED_WEB -c "$WEB_CONF" --listen "unix:$TMP/web.sock" 2>>"$TMP/web.err" &
PIDS="$PIDS $!"
wait_until 10 test -S "$TMP/web.sock"
out=$(curl -s --unix-socket "$TMP/web.sock" -H 'X-Forwarded-Email: tm1@council.example' http://localhost/)
printf '%s' "$out" | grep -q 'Signed in as tm1@council.example' && printf '%s' "$out" | grep -q 'case?ref=A1"' \
	&& ok || bad "identity through the Unix socket: $(printf '%s' "$out" | head -c 300)"
[ "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$TMP/web.sock" http://localhost/)" = 401 ] \
	&& ok || bad "no header through the Unix socket: not 401"
# Without a socket from systemd and without --listen it says what to do.
out=$($DEADLINED_WEB -c "$WEB_CONF" 2>&1); rc=$?
[ $rc = 3 ] && printf '%s' "$out" | grep -q 'no socket from systemd' && ok || bad "no socket: rc $rc: $out"
out=$($DEADLINED_WEB -c "$WEB_CONF" --listen nonsense 2>&1); rc=$?
[ $rc = 3 ] && printf '%s' "$out" | grep -q 'expected HOST:PORT' && ok || bad "bad --listen: rc $rc: $out"
# A state database from before the web's tables is refused with advice.
sqlite3 "$TMP/state.db" 'PRAGMA user_version = 3'
out=$($DEADLINED_WEB -c "$WEB_CONF" --listen "127.0.0.1:$(pg_free_port)" 2>&1); rc=$?
[ $rc = 3 ] && printf '%s' "$out" | grep -q 'start the new deadlined once' && ok || bad "old schema: rc $rc: $out"
web_stop
finish
