# Webhook delivery over real, verified HTTPS on 127.0.0.1: a throwaway CA
# signs the test server's certificate; dl-send sends through receivers
# configured for each server behaviour and format; the server
# (tests/helpers/webhook_server.py) checks every Standard Webhooks
# signature with Python's hmac and records what it received.
. tests/integration/lib.sh
SEND=$DL_SEND
PY=/usr/bin/python3
CONF=$TMP/deadlined.conf
LOG=$TMP/requests.jsonl
STATS=$TMP/stats.json
SRV_PID=
# The server goes on every path out; it also exits by itself after 120 s.
trap 'if [ -n "$SRV_PID" ]; then kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null; fi; rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM HUP PIPE
# libcurl honours proxy variables; these tests talk to 127.0.0.1 only.
unset https_proxy HTTPS_PROXY all_proxy ALL_PROXY

RAW_SECRET='raw-Secret-7Qm2-never-shown'
CRED_KEY='credential key bytes for tests'
CRED_SECRET="whsec_$(printf '%s' "$CRED_KEY" | base64)"
printf '%s\n' "$RAW_SECRET" > "$TMP/secret"
mkdir "$TMP/creds"
printf '%s\n' "$CRED_SECRET" > "$TMP/creds/hook-secret"
printf 'whsec_%s\n' 'not*base64' > "$TMP/bad-secret"
# deadlined refuses a secret file that other users may read; systemd makes
# credentials 0400 itself.
chmod 600 "$TMP/secret" "$TMP/bad-secret" "$TMP/creds/hook-secret"

# --- A throwaway CA, a certificate for IP:127.0.0.1, and a CA that did not sign it.
make_test_certs || { bad "openssl: $(cat "$TMP/openssl.log")"; finish; exit 1; }

# --- The server, on a free port.
$PY tests/helpers/webhook_server.py --cert "$TMP/server.pem" --key "$TMP/server.key" \
	--port-file "$TMP/port" --log "$LOG" --stats "$STATS" --slow 8 --lifetime 120 \
	--secret "file=$TMP/secret" --secret "cred=$TMP/creds/hook-secret" 2>"$TMP/server.err" &
SRV_PID=$!
wait_for "$TMP/port" || { bad "server did not start: $(cat "$TMP/server.err")"; finish; exit 1; }
PORT=$(cat "$TMP/port")
: > "$LOG"

# --- One receiver a behaviour: hook NAME PATH [SETTINGS]; by default the
# test CA and the secret file.
ca="ca_file = \"$TMP/test-ca.pem\";"
secret="secret_file = \"$TMP/secret\";"
hook() {
	printf '  %s = { type = "webhook"; url = "https://127.0.0.1:%s%s"; connect_timeout = 2; %s };\n' \
		"$1" "$PORT" "$2" "${3-$ca $secret timeout = 5;}"
}
{
	echo 'receivers = {'
	hook ok /ok/plain
	for p in flaky fail busy busydate reset redirect bad; do hook $p /$p; done
	hook slow /slow "$ca timeout = 2;"
	hook teams /ok/teams "$ca $secret format = \"teams\";"
	hook slack /ok/slack "$ca $secret format = \"slack\";"
	hook many '/ok/many?delay=0.1' "$ca $secret max_connections = 4;"
	hook cred /ok/cred "$ca secret_credential = \"hook-secret\";"
	hook nosecret /ok/nosecret "$ca"
	hook wrongca /ok/wrongca "ca_file = \"$TMP/other-ca.pem\";"
	hook syscas /ok/syscas ""
	hook badsecret /ok/badsecret "$ca secret_file = \"$TMP/bad-secret\";"
	hook noca /ok/noca "ca_file = \"$TMP/missing.pem\";"
	printf '  refused = { type = "webhook"; url = "https://127.0.0.1:1/ok"; %s max_connections = 1; };\n' "$ca"
	# The URL itself from a file or a credential (Teams and Slack URLs carry a key).
	printf '  urlfile = { type = "webhook"; url_file = "%s"; %s };\n' "$TMP/url" "$ca"
	printf '  urlcred = { type = "webhook"; url_credential = "hook-url"; %s };\n' "$ca"
	printf '  urlopen = { type = "webhook"; url_file = "%s"; %s };\n' "$TMP/url-open" "$ca"
	echo '};'
} > "$CONF"

# send RECEIVER [FIELD=VALUE ...]: dl-send's stdout in $out, exit status in
# $rc; everything it printed is also kept, to look for secrets at the end.
send() {
	out=$("$SEND" -c "$CONF" "$@" 2>"$TMP/send.err"); rc=$?
	cat "$TMP/send.err" >> "$TMP/all-output"
	printf '%s\n' "$out" >> "$TMP/all-output"
}

# check NAME PYTHON: run PYTHON with recs (the server's records, by path
# prefix: recs("/ok/plain")) and stats; an assertion failing fails NAME.
check() {
	if $PY - "$LOG" "$STATS" "$2" > "$TMP/check.out" 2>&1 <<'PY'
import json, sys, time
lines = [json.loads(l) for l in open(sys.argv[1])]
stats = json.load(open(sys.argv[2]))
def recs(prefix):
    return [r for r in lines if r["path"].startswith(prefix)]
exec(sys.argv[3])
PY
	then ok; else bad "$1: $(tail -n 3 "$TMP/check.out")"; fi
}

# is NAME WANT: dl-send printed exactly WANT.
is() {
	[ "$out" = "$2" ] && ok || bad "$1: printed '$out' (exit $rc), want '$2'"
}

# --- 2xx: delivered, signed with the secret file's bytes, webhook-id = msg_id.
send ok msg_id=hook-1@deadlined.test
is "204" "0 ok 0 HTTP 204"
[ "$rc" = 0 ] && ok || bad "204: exit $rc"
check "signed request" '
(r,) = recs("/ok/plain"); h = r["headers"]
assert r["verified"] is True and r["signed_by"] == "file", r
assert h["webhook-id"] == "hook-1@deadlined.test", h
assert abs(int(h["webhook-timestamp"]) - time.time()) < 60, h
assert h["content-type"] == "application/json", h
assert h["user-agent"].startswith("deadlined/"), h
assert "expect" not in h, h
assert r["body"] == "{\"schema\":\"deadlined.alert/v1\",\"type\":\"test\"}", r["body"]'

# --- A retry of the same message carries the same webhook-id.
send flaky msg_id=flaky-1@deadlined.test
is "flaky first" "0 retry 0 HTTP 500: flaky"
send flaky msg_id=flaky-1@deadlined.test
is "flaky again" "0 ok 0 HTTP 204"
check "same webhook-id on retry" '
rs = recs("/flaky")
assert [r["headers"]["webhook-id"] for r in rs] == ["flaky-1@deadlined.test"] * 2, rs
assert all(r["verified"] for r in rs), rs'

# --- Server errors: retry, with the start of the body on one line.
send fail
case $out in
"0 retry 0 HTTP 500: internal error second line xxxxx"*) ok ;;
*) bad "500: printed '$out'" ;;
esac
# "0 retry 0 HTTP 500: " + 100 bytes of the body + "…" (3 bytes)
[ "$(printf '%s' "$out" | wc -c)" = 123 ] && ok || bad "500: want 100 bytes of the body"
send busy
is "429 Retry-After: 7" "0 retry 7 HTTP 429: slow down"
send busydate
case $out in
"0 retry 1"[12][0-9]" HTTP 503") ok ;;
*) bad "503 with an HTTP-date Retry-After 120 s on: printed '$out'" ;;
esac

# --- A server slower than the timeout (2 s): retry, within the bound.
start=$(date +%s%N)
send slow
ms=$(( ($(date +%s%N) - start) / 1000000 ))
case $out in
"0 retry 0 "*"imed out"*) ok ;;
*) bad "slow: printed '$out'" ;;
esac
[ "$ms" -lt 5000 ] && ok || bad "slow: took $ms ms, want < 5000 (timeout 2 s + 3)"
echo "slow server, timeout 2 s: gave up after $ms ms"

# --- A connection reset without an answer: retry.
send reset
case $out in
"0 retry 0 "?*) ok ;;
*) bad "reset: printed '$out'" ;;
esac

# --- Redirects are not followed; other 4xx are permanent.
send redirect
is "302" "0 permanent 0 HTTP 302: redirects are not followed; give the final https:// URL"
check "redirect not followed" 'assert recs("/redirect") and not recs("/ok/redirected")'
send bad
is "400" "0 permanent 0 HTTP 400: bad request"

# --- TLS is verified: a certificate from another CA, or the system's CAs
# that do not know the test CA, fail before anything is sent.
send wrongca
case $out in
"0 retry 0 "*certificate*) ok ;;
*) bad "wrong CA: printed '$out'" ;;
esac
send syscas
case $out in
"0 retry 0 "*certificate*) ok ;;
*) bad "system CAs: printed '$out'" ;;
esac
check "nothing sent without trust" '
assert not recs("/ok/wrongca") and not recs("/ok/syscas")
assert stats["tls_failures"] >= 2, stats'

# --- Nothing listening: retry; the rest of the batch is not tried.
send refused --next --next
case $out in
"0 retry 0 "*"onnect"*"
1 retry 0 not tried: an earlier message failed: "*"
2 retry 0 not tried: "*) ok ;;
*) bad "refused: printed '$out'" ;;
esac

# --- A msg_id that would inject a header is refused; the batch goes on.
send ok 'msg_id=evil\r\nX-Injected: 1' --next msg_id=hook-2@deadlined.test
is "header injection" "0 permanent 0 the msg_id is not one header line
1 ok 0 HTTP 204"
check "no injected header" '
assert [r["headers"]["webhook-id"] for r in recs("/ok/plain")] == ["hook-1@deadlined.test", "hook-2@deadlined.test"]
assert not any("x-injected" in r["headers"] for r in lines)'

# --- Teams and Slack: valid JSON of the right shape; case data as data.
# (dl-send turns \\ into \, so the JSON holds \n.)
ITEM='{"case_ref":"A<1>&\"x\"\\nB","child_ref":"C1","rule":"cla-review","rule_title":"CLA review","seq":1,"anchor":"2024-12-02","due":"2025-01-02","state":"overdue","stage":1,"days_overdue":12,"team":{"ref":"T1","name":"Duty & Assessment"},"worker":{"ref":"W1","name":"Sam <Worker>"}}'
PAYLOAD="{\"schema\":\"deadlined.alert/v1\",\"type\":\"overdue\",\"subject\":\"x\",\"items\":[$ITEM,$ITEM]}"
SUBJ='2 overdue <A&B> "Duty"'
send teams "subject=$SUBJ" "payload=$PAYLOAD"
is "teams" "0 ok 0 HTTP 204"
check "teams body" '
(r,) = recs("/ok/teams"); assert r["verified"] is True
assert len(r["body"]) > 1024 and "expect" not in r["headers"], r["headers"]
m = json.loads(r["body"]); (a,) = m["attachments"]; card = a["content"]
assert m["type"] == "message" and a["contentType"] == "application/vnd.microsoft.card.adaptive"
assert a["contentUrl"] is None and card["type"] == "AdaptiveCard" and card["version"] == "1.4"
head, fs, _ = card["body"]
assert head["type"] == "TextBlock" and head["text"] == "2 overdue <A&B> \"Duty\"" and head["weight"] == "Bolder"
facts = {f["title"]: f["value"] for f in fs["facts"]}
assert fs["type"] == "FactSet" and facts["Case"] == "A<1>&\"x\" B" and facts["Worker"] == "Sam <Worker>", facts
assert facts["Rule"] == "CLA review" and facts["Due"] == "2025-01-02" and facts["Overdue"] == "12 working days", facts'
send slack "subject=$SUBJ" "payload=$PAYLOAD"
is "slack" "0 ok 0 HTTP 204"
check "slack body" '
(r,) = recs("/ok/slack"); assert r["verified"] is True
m = json.loads(r["body"])
assert m["text"] == "2 overdue &lt;A&amp;B&gt; \"Duty\"", m["text"]
head, sec, _ = m["blocks"]
assert head["type"] == "header" and head["text"] == {"type": "plain_text", "text": "2 overdue <A&B> \"Duty\""}, head
texts = [f["text"] for f in sec["fields"]]
assert texts[0] == "*Case*\nA&lt;1&gt;&amp;\"x\" B" and "*Worker*\nSam &lt;Worker&gt;" in texts, texts'

# --- 50 messages over at most 4 connections, all delivered.
set -- many msg_id=many-0
i=1
while [ $i -lt 50 ]; do set -- "$@" --next "msg_id=many-$i"; i=$((i + 1)); done
cp "$STATS" "$STATS.before"
start=$(date +%s%N)
send "$@"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$rc" = 0 ] && [ "$(printf '%s\n' "$out" | grep -c ' ok 0 HTTP 204$')" = 50 ] && ok \
	|| bad "50 messages: exit $rc, $(printf '%s\n' "$out" | grep -vc ' ok ') not ok"
check "50 messages, 4 connections" '
rs = recs("/ok/many")
assert sorted(r["headers"]["webhook-id"] for r in rs) == sorted("many-%d" % i for i in range(50)), len(rs)
assert all(r["verified"] for r in rs)
conns = {r["conn"] for r in rs}
opened = stats["connections"] - json.load(open(sys.argv[2] + ".before"))["connections"]
assert 1 < len(conns) <= 4 and opened == len(conns), (conns, opened)
most = max(r["concurrent"] for r in rs)
assert 1 < most <= 4, most
print("connections used:", len(conns), "most in flight:", most)'
# Concurrency is proven above by the server's count of requests in flight;
# the time is a figure to read, not a pass mark (machines here are shared).
echo "50 messages, max_connections 4, server 0.1 s each: $ms ms; $(cat "$TMP/check.out")"

# --- A secret from $CREDENTIALS_DIRECTORY, "whsec_" + base64: the key is
# the decoded bytes, as Standard Webhooks verifiers expect.
out=$(CREDENTIALS_DIRECTORY=$TMP/creds "$SEND" -c "$CONF" cred 2>&1); rc=$?
printf '%s\n' "$out" >> "$TMP/all-output"
is "credential" "0 ok 0 HTTP 204"
check "signed with the credential" '(r,) = recs("/ok/cred"); assert r["signed_by"] == "cred", r'
send cred
[ "$rc" = 1 ] && grep -q 'CREDENTIALS_DIRECTORY is not set' "$TMP/send.err" && ok \
	|| bad "credential without \$CREDENTIALS_DIRECTORY: exit $rc, $(cat "$TMP/send.err")"

# --- No secret: no signature header.
send nosecret
is "unsigned" "0 ok 0 HTTP 204"
check "unsigned request" '(r,) = recs("/ok/nosecret"); assert "webhook-signature" not in r["headers"] and r["verified"] is None'

# --- A bad whsec_ secret stops the receiver opening, and is not shown.
send badsecret
[ "$rc" = 1 ] && grep -q 'receiver badsecret: .*not base64' "$TMP/send.err" && ok \
	|| bad "bad secret: exit $rc, $(cat "$TMP/send.err")"

# --- A CA file that is not there stops the receiver opening.
send noca
[ "$rc" = 1 ] && grep -q "receiver noca: ca_file $TMP/missing.pem: No such file" "$TMP/send.err" && ok \
	|| bad "missing ca_file: exit $rc, $(cat "$TMP/send.err")"

# --- A URL from url_file or url_credential is used, and never printed;
# a URL file other users may read is refused like any secret file.
URL_KEY=sig-4f2a9c77e1
printf 'https://127.0.0.1:%s/ok/urlfile?key=%s\n' "$PORT" "$URL_KEY" > "$TMP/url"
printf 'https://127.0.0.1:%s/ok/urlcred?key=%s\n' "$PORT" "$URL_KEY" > "$TMP/creds/hook-url"
cp "$TMP/url" "$TMP/url-open"
chmod 600 "$TMP/url" "$TMP/creds/hook-url"
chmod 644 "$TMP/url-open"
send urlfile
is "url_file" "0 ok 0 HTTP 204"
out=$(CREDENTIALS_DIRECTORY=$TMP/creds "$SEND" -c "$CONF" urlcred 2>&1); rc=$?
printf '%s\n' "$out" >> "$TMP/all-output"
is "url_credential" "0 ok 0 HTTP 204"
check "URL from a file and a credential" '
assert len(recs("/ok/urlfile")) == 1 and len(recs("/ok/urlcred")) == 1, lines[-3:]'
send urlopen
[ "$rc" = 1 ] && grep -q "receiver urlopen: secret file $TMP/url-open is open to other users" \
	"$TMP/send.err" && ok || bad "world-readable url_file: exit $rc, $(cat "$TMP/send.err")"
echo 'receivers = { both = { type = "webhook"; url = "https://127.0.0.1/"; url_file = "/x"; }; };' \
	> "$TMP/both.conf"
expect 78 '' "$TMP/both.conf:1: receivers.both: a webhook receiver needs exactly one of url, url_file" \
	-- "$DEADLINED" -c "$TMP/both.conf" -n

# --- The secrets never appear in anything printed or sent as a header.
for s in "$RAW_SECRET" "$CRED_SECRET" "$CRED_KEY" 'not*base64'; do
	if grep -qF -- "$s" "$TMP/all-output" "$LOG"; then bad "a secret was printed or sent: $s"; else ok; fi
done
# The URL's key reaches the server, of course, but nothing printed.
grep -qF -- "$URL_KEY" "$TMP/all-output" && bad "the URL from url_file was printed" || ok
[ -s "$TMP/server.err" ] && bad "server stderr: $(cat "$TMP/server.err")" || ok
finish
