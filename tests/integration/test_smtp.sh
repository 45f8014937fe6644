# The smtp receiver end to end: dl-send through libcurl to aiosmtpd servers
# on 127.0.0.1 with certificates from a throwaway CA.  Checks what arrives
# (headers, both parts, the envelope), that nothing from a message can add
# a header or a recipient, one connection a batch, how refusals map to
# permanent and retry, and that TLS and login failures never send in clear.
. tests/integration/lib.sh
SEND=$DL_SEND
PY=/usr/bin/python3
PKI=$TMP/pki
PASSWORD="pw-$$-Zq8sLx2"
FROM=deadlines@council.example
PIDS=""

# Every server started is stopped by its PID, whatever way the test ends.
stop_servers() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	PIDS=""
}
trap 'stop_servers; rm -rf "$TMP"' EXIT
trap 'exit 1' HUP INT TERM
# libcurl honours proxy variables; these tests talk to 127.0.0.1 only.
unset all_proxy ALL_PROXY smtp_proxy SMTP_PROXY smtps_proxy SMTPS_PROXY

# make_ca NAME: a CA key and self-signed certificate in $PKI.
make_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
		-subj "/CN=deadlined test $1" -keyout "$PKI/$1.key" -out "$PKI/$1.crt" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
		2>>"$PKI/openssl.log"
}

# A server certificate for 127.0.0.1 signed by the CA "ca".
make_server_cert() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-subj /CN=127.0.0.1 -keyout "$PKI/server.key" -out "$PKI/server.csr" 2>>"$PKI/openssl.log" &&
	printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
		> "$PKI/server.ext" &&
	openssl x509 -req -in "$PKI/server.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -set_serial 2 \
		-days 1 -extfile "$PKI/server.ext" -out "$PKI/server.crt" 2>>"$PKI/openssl.log"
}

# start_server NAME ARGS...: runs tests/helpers/smtp_server.py, saving into
# $TMP/NAME; sets PORT once it listens.
start_server() {
	name=$1
	shift
	$PY tests/helpers/smtp_server.py --out "$TMP/$name" --port-file "$TMP/$name.port" \
		--lifetime 60 "$@" 2>"$TMP/$name.log" &
	PIDS="$PIDS $!"
	i=0
	while [ ! -s "$TMP/$name.port" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	PORT=$(cat "$TMP/$name.port" 2>/dev/null)
	if [ -z "$PORT" ]; then
		bad "server $name did not start: $(cat "$TMP/$name.log")"
		finish
		exit 1
	fi
}

# write_conf FILE URL CA_FILE PASSWORD_FILE [TIMEOUT]; no AUTH when
# PASSWORD_FILE is empty.
write_conf() {
	auth=${4:+"username = \"alerts\"; password_file = \"$4\";"}
	cat > "$1" <<EOF
receivers = {
  mail = { type = "smtp"; url = "$2"; from = "$FROM"; ca_file = "$3"; $auth
           connect_timeout = 5; timeout = ${5:-10}; };
};
EOF
}

# send CONF FIELDS...: dl-send's output in $out, its status in $rc; every
# output is kept to look for the password at the end.
send() {
	conf=$1
	shift
	out=$("$SEND" -c "$conf" mail "$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" >> "$TMP/all-output"
}

# stat_of SERVER KEY: a count from the server's stats.json.
stat_of() {
	$PY -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
		"$TMP/$1/stats.json" "$2"
}

# pycheck WHAT ARGS...: the Python on stdin, with mailcheck importable.
pycheck() {
	what=$1
	shift
	if PYTHONPATH=$TMP $PY - "$@" 2>"$TMP/py.err"; then ok; else bad "$what: $(cat "$TMP/py.err")"; fi
}

cat > "$TMP/mailcheck.py" <<'PY'
import email, email.policy, email.utils, json

def load(path):
    with open(path, "rb") as f:
        return email.message_from_binary_file(f, policy=email.policy.default)

def meta(eml):
    return json.load(open(eml[:-4] + ".json"))

def parts(msg):
    assert msg.get_content_type() == "multipart/alternative", msg.get_content_type()
    out = {}
    for p in msg.iter_parts():
        assert p.get_content_charset() == "utf-8", p["Content-Type"]
        assert p["Content-Transfer-Encoding"] == "quoted-printable", p["Content-Transfer-Encoding"]
        out[p.get_content_type()] = p.get_content().replace("\r\n", "\n")
    return out
PY

mkdir -p "$PKI"
printf '%s\n' "$PASSWORD" > "$PKI/password"
printf 'not-the-password\n' > "$PKI/wrong-password"
# deadlined refuses a secret file that other users may read.
chmod 600 "$PKI/password" "$PKI/wrong-password"
if ! make_ca ca || ! make_ca other || ! make_server_cert; then
	bad "openssl could not make the test CA: $(cat "$PKI/openssl.log")"
	finish
	exit 1
fi
TLS="--cert $PKI/server.crt --key $PKI/server.key"
AUTH="--user alerts --password-file $PKI/password"

start_server main $TLS $AUTH --refuse refused@council.example \
	--tempfail later@council.example --stall stall@council.example --reject-data REJECT-ME
MAIN=$PORT
start_server clear --tls none
CLEAR=$PORT
start_server smtps --tls smtps $TLS $AUTH
SMTPS=$PORT

write_conf "$TMP/good.conf" "smtp://127.0.0.1:$MAIN" "$PKI/ca.crt" "$PKI/password"

# One message: an em dash in the subject, UTF-8, a line longer than
# quoted-printable's 76, a leading dot and trailing blanks in the text.
LONG=$(printf 'x%.0s' $(seq 1 120))
TEXT="3 overdue — see below.\n.leading dot\n$LONG\ntrailing space   \nend"
send "$TMP/good.conf" subject="3 overdue — Duty and Assessment Team" msg_id=alert-1@deadlined.test \
	text="$TEXT" html='<p>3 overdue &mdash; caf&eacute; é</p>'
want_lines '0 ok 0 250 2\.0\.0 Ok: queued as 0001' "one message"
pycheck "headers and parts of one message" "$TMP/main/0001.eml" "$TEXT" <<'PY'
import sys, email.utils
from mailcheck import load, meta, parts
m = load(sys.argv[1])
assert m["Subject"] == "3 overdue \u2014 Duty and Assessment Team", m["Subject"]
assert m["From"] == "deadlines@council.example", m["From"]
assert m["To"] == "manager@council.example", m["To"]
assert m["Message-ID"] == "<alert-1@deadlined.test>", m["Message-ID"]
assert email.utils.parsedate_to_datetime(m["Date"]).timestamp() == 1767225600, m["Date"]
assert m["MIME-Version"] == "1.0"
assert m["Auto-Submitted"] == "auto-generated"
p = parts(m)
assert list(p) == ["text/plain", "text/html"], list(p)
assert p["text/plain"] == sys.argv[2].replace("\\n", "\n"), repr(p["text/plain"])
assert p["text/html"] == "<p>3 overdue &mdash; caf&eacute; \u00e9</p>", repr(p["text/html"])
raw = open(sys.argv[1], "rb").read()
assert max(len(l) for l in raw.split(b"\r\n")) <= 998
info = meta(sys.argv[1])
assert info["mail_from"] == "deadlines@council.example", info
assert info["rcpt_tos"] == ["manager@council.example"], info
assert info["tls"], info
PY

# Header injection: a subject with CRLF stays one Subject header, no Bcc,
# one recipient; a recipient or message id with CRLF is refused.
send "$TMP/good.conf" subject='Alert\r\nBcc: evil@x.example' \
	--next to='victim@council.example\r\nBcc: evil@x.example' \
	--next to='victim@council.example>, <evil@x.example' \
	--next msg_id='id@x\r\nBcc: evil@x.example'
want_lines "0 ok 0 250 .*\|1 permanent 0 recipient 'victim@council\.example\?\?Bcc: evil@x\.example' is not a bare address .*\|2 permanent 0 recipient .* is not a bare address .*\|3 permanent 0 message id 'id@x\?\?Bcc: evil@x\.example' is not usable in a Message-ID header" \
	"CR/LF in subject, to, msg_id"
pycheck "a subject with CRLF adds no header and no recipient" "$TMP/main" <<'PY'
import os, sys
from mailcheck import load, meta
names = sorted(f for f in os.listdir(sys.argv[1]) if f.endswith(".eml"))
assert len(names) == 2, names
path = os.path.join(sys.argv[1], names[-1])
m = load(path)
assert m["Bcc"] is None and "evil" not in str(m.get("To")), m.items()
assert m["Subject"] == "Alert Bcc: evil@x.example", m["Subject"]
raw = open(path, "rb").read()
assert b"\nBcc" not in raw and b"\rBcc" not in raw, raw
assert meta(path)["rcpt_tos"] == ["manager@council.example"], meta(path)
PY

# A batch goes over one connection, each message to its own recipient; a
# long subject is folded over several encoded-words and reads back whole.
LONGSUBJ="12 overdue, 3 due soon — Duty and Assessment Team (North) — Children in Care — café"
conns=$(stat_of main connections)
send "$TMP/good.conf" to=a@council.example --next to=b@council.example subject="$LONGSUBJ" \
	--next to=c@council.example \
	--next to=d@council.example --next to=e@council.example
want_lines "0 ok 0 250 .*0003\|1 ok 0 250 .*0004\|2 ok 0 250 .*0005\|3 ok 0 250 .*0006\|4 ok 0 250 .*0007" "batch of 5"
[ "$(stat_of main connections)" = $((conns + 1)) ] && ok || bad "batch of 5 used $(( $(stat_of main connections) - conns )) connections, want 1"
pycheck "batch: one recipient each, same connection" "$TMP/main" "$LONGSUBJ" <<'PY'
import os, sys
from mailcheck import load, meta
info = [meta(os.path.join(sys.argv[1], "%04d.eml" % n)) for n in range(3, 8)]
assert [i["rcpt_tos"] for i in info] == [[c + "@council.example"] for c in "abcde"], info
assert len({i["conn"] for i in info}) == 1, info
raw = open(os.path.join(sys.argv[1], "0004.eml"), "rb").read()
words = [l for l in raw.split(b"\r\n") if b"=?UTF-8?B?" in l]
assert len(words) > 1 and max(len(l) for l in words) <= 78, words
m = load(os.path.join(sys.argv[1], "0004.eml"))
assert m["Subject"] == sys.argv[2], m["Subject"]
assert m["To"] == "b@council.example", m["To"]
PY

# 550 is permanent, 451 retry; the messages after them still go.
send "$TMP/good.conf" to=refused@council.example --next to=later@council.example --next
want_lines "0 permanent 0 recipient refused: 550 5\.1\.1 <refused@council\.example>: Recipient address rejected\|1 retry 0 recipient deferred: 451 4\.3\.0 .*\|2 ok 0 250 .*0008" \
	"550 and 451"
[ "$rc" = 1 ] && ok || bad "dl-send exit $rc after a refusal, want 1"

# 554 at the end of the data is permanent too.
send "$TMP/good.conf" text='REJECT-ME please' --next
want_lines "0 permanent 0 message refused: 554 5\.6\.0 Message content rejected\|1 ok 0 250 .*0009" \
	"554 after the data"

# No login where one is needed: a problem of the setup, so retry, and the
# rest of the batch waits.
write_conf "$TMP/no-auth.conf" "smtp://127.0.0.1:$MAIN" "$PKI/ca.crt" ""
send "$TMP/no-auth.conf" --next
want_lines "0 retry 0 .*530 5\.7\.0 Authentication required\|1 retry 0 not tried: message 0 failed: .*530.*" \
	"530 without a login"

# A server that never answers costs one timeout, not one a message.
write_conf "$TMP/slow.conf" "smtp://127.0.0.1:$MAIN" "$PKI/ca.crt" "$PKI/password" 2
start=$(date +%s)
send "$TMP/slow.conf" to=stall@council.example --next --next
took=$(( $(date +%s) - start ))
want_lines "0 retry 0 .*[Tt]imed out.*\|1 retry 0 not tried: message 0 failed: .*\|2 retry 0 not tried: .*" "stalled server"
[ "$took" -le 5 ] && ok || bad "stalled batch took ${took}s, want about 2"

# TLS: another CA's certificate is not trusted; nothing is sent.
before=$(stat_of main messages)
write_conf "$TMP/other-ca.conf" "smtp://127.0.0.1:$MAIN" "$PKI/other.crt" "$PKI/password"
send "$TMP/other-ca.conf" --next
want_lines "0 retry 0 TLS: the server's certificate did not verify against .*other\.crt: .*\|1 retry 0 not tried: .*certificate did not verify.*" \
	"certificate from another CA"
write_conf "$TMP/no-ca.conf" "smtp://127.0.0.1:$MAIN" "$PKI/missing.crt" "$PKI/password"
send "$TMP/no-ca.conf"
want_lines "0 retry 0 TLS: cannot use ca_file .*missing\.crt.*" "missing ca_file"
# A wrong password is refused and nothing is sent.
write_conf "$TMP/wrong-pw.conf" "smtp://127.0.0.1:$MAIN" "$PKI/ca.crt" "$PKI/wrong-password"
send "$TMP/wrong-pw.conf"
want_lines "0 retry 0 login refused, check username and password: 535 .*" "wrong password"
[ "$(stat_of main auth_failures)" -ge 1 ] && ok || bad "the server saw no failed login"
[ "$(stat_of main messages)" = "$before" ] && ok || bad "a message arrived despite TLS or login failing"

# smtp:// to a server without STARTTLS fails rather than sending in clear.
write_conf "$TMP/clear.conf" "smtp://127.0.0.1:$CLEAR" "$PKI/ca.crt" "$PKI/password"
send "$TMP/clear.conf"
want_lines "0 retry 0 the server does not offer STARTTLS; not sending in clear .*" "no STARTTLS"
[ "$(stat_of clear messages)" = 0 ] && ok || bad "a message was sent in clear"

# smtps:// is implicit TLS.
write_conf "$TMP/smtps.conf" "smtps://127.0.0.1:$SMTPS" "$PKI/ca.crt" "$PKI/password"
send "$TMP/smtps.conf"
want_lines "0 ok 0 250 .*0001" "smtps"
pycheck "smtps message arrived" "$TMP/smtps/0001.eml" <<'PY'
import sys
from mailcheck import load, parts
assert parts(load(sys.argv[1]))["text/html"] == "<p>HTML body.</p>"
PY

# The password never shows, whatever happened.
grep -qF "$PASSWORD" "$TMP/all-output" && bad "the password appeared in dl-send's output" || ok

stop_servers
finish
