# The maildir receiver through dl-send: the folders are made, messages land
# in new/ as complete e-mails with both parts, a message sent again (after a
# crash) is not written twice even once a reader has moved it to cur/, and
# nothing from a message can add a header.
. tests/integration/lib.sh
SEND=$DL_SEND
PY=/usr/bin/python3
BOX=$TMP/mail/Alerts

cat > "$TMP/md.conf" <<EOF
receivers = {
  box = { type = "maildir"; path = "$BOX"; from = "deadlines@council.example"; };
  bad = { type = "maildir"; path = "$TMP/a-file/Alerts"; from = "deadlines@council.example"; };
};
EOF
mkdir -p "$TMP/mail"
: > "$TMP/a-file"

# send RECEIVER FIELDS...: output in $out, status in $rc.
send() {
	out=$("$SEND" -c "$TMP/md.conf" "$@" 2>&1)
	rc=$?
}


count() {
	find "$BOX/$1" -type f | wc -l
}

NAME='[0-9a-f]{32}\.deadlined'
send box subject="3 overdue — Duty and Assessment Team" msg_id=a1@deadlined.test \
	text='Line one\nLine two é\n' html='<p>caf&eacute; é</p>' \
	--next msg_id=a2@deadlined.test to=tm@council.example
want_lines "0 ok 0 delivered as new/$NAME\|1 ok 0 delivered as new/$NAME" "two messages"
[ "$(stat -c %a "$BOX" "$BOX/tmp" "$BOX/new" "$BOX/cur" | sort -u)" = 700 ] && ok \
	|| bad "maildir folders are not 0700: $(stat -c '%n %a' "$BOX" "$BOX"/*)"
[ "$(count new)" = 2 ] && [ "$(count tmp)" = 0 ] && ok || bad "want 2 files in new/, none in tmp/"

/usr/bin/python3 - "$BOX/new" <<'PY' && ok || bad "maildir messages do not parse as the e-mails sent"
import email, email.policy, email.utils, os, stat, sys
msgs = {}
for name in os.listdir(sys.argv[1]):
    path = os.path.join(sys.argv[1], name)
    raw = open(path, "rb").read()
    assert b"\r" not in raw, "maildir files end lines with LF"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, oct(os.stat(path).st_mode)
    m = email.message_from_bytes(raw, policy=email.policy.default)
    msgs[m["Message-ID"]] = m
a, b = msgs["<a1@deadlined.test>"], msgs["<a2@deadlined.test>"]
assert a["Subject"] == "3 overdue \u2014 Duty and Assessment Team", a["Subject"]
assert a["From"] == "deadlines@council.example" and a["To"] == "manager@council.example"
assert email.utils.parsedate_to_datetime(a["Date"]).timestamp() == 1767225600, a["Date"]
assert a.get_content_type() == "multipart/alternative"
parts = {p.get_content_type(): p.get_content() for p in a.iter_parts()}
assert parts == {"text/plain": "Line one\nLine two \u00e9\n",
                 "text/html": "<p>caf&eacute; \u00e9</p>"}, parts
assert b["To"] == "tm@council.example" and b["Subject"] == "Test subject"
PY

# Sent again after a crash: the same name, not a second copy.
send box msg_id=a1@deadlined.test --next msg_id=a2@deadlined.test
want_lines "0 ok 0 already delivered: new/$NAME\|1 ok 0 already delivered: new/$NAME" "same msg_id again"
[ "$(count new)" = 2 ] && ok || bad "a message sent again was written again"

# A reader moved one to cur/ and flagged it seen: still not written again.
first=$(ls "$BOX/new" | head -n 1)
mv "$BOX/new/$first" "$BOX/cur/$first:2,S"
send box msg_id=a1@deadlined.test --next msg_id=a2@deadlined.test --next msg_id=a3@deadlined.test
want_lines "(0 ok 0 already delivered: cur/$NAME\|1 ok 0 already delivered: new/$NAME|0 ok 0 already delivered: new/$NAME\|1 ok 0 already delivered: cur/$NAME)\|2 ok 0 delivered as new/$NAME" \
	"a message in cur/"
[ "$(count new)" = 2 ] && [ "$(count cur)" = 1 ] && ok || bad "cur/ message written again"

# CR/LF in a subject is folded away; in an address it is refused.
send box msg_id=b1@deadlined.test subject='Alert\r\nBcc: evil@x.example' \
	--next msg_id=b2@deadlined.test to='tm@council.example\r\nBcc: evil@x.example'
want_lines "0 ok 0 delivered as new/$NAME\|1 permanent 0 recipient 'tm@council\.example\?\?Bcc: evil@x\.example' is not a bare address .*" \
	"CR/LF in subject and to"
grep -l 'b1@deadlined' "$BOX/new"/* | xargs -r grep -q '^Bcc' && bad "a Bcc header was injected" || ok
grep -rq 'b2@deadlined' "$BOX" && bad "a refused message was written" || ok

# A maildir that cannot be made fails when the receiver opens, clearly.
send bad
[ "$rc" = 1 ] && printf '%s' "$out" | grep -q "receiver bad: cannot create the maildir $TMP/a-file/Alerts: Not a directory" \
	&& ok || bad "unusable maildir path: exit $rc: $out"
finish
