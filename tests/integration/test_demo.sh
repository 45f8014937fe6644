# For a newcomer (issue 14): `make demo` on a Saturday still shows what each
# role gets on the next working morning, and says so; every README example
# marked "runs after make demo" works as written afterwards; a plain `make`
# on a machine without a library names the Debian packages to install.
. tests/integration/lib.sh
PY=/usr/bin/python3
DEMO=$TMP/demo
BIN=$(cd "$(dirname "$DEADLINECTL")" && pwd)

# ---- the demo, run on Saturday 5 December 2026 ----
out=$(AS_OF=2026-12-05 DEMO=$DEMO sh tools/demo.sh "$BUILD" 2>&1); rc=$?
[ $rc = 0 ] && ok || bad "demo: rc $rc: $(printf '%s' "$out" | tail -n 5)"
printf '%s\n' "$out" | grep -q "^Run on Saturday 2026-12-05; showing what each role would receive on the$" &&
printf '%s\n' "$out" | grep -q "^next working morning, Monday 2026-12-07 at 08:30" \
	&& ok || bad "the demo does not say which morning it shows: $(printf '%s' "$out" | sed -n 2,4p)"
# Workers and team managers get their digests, not only the service
# managers their escalations.
$PY - "$DEMO/mail/new" > "$TMP/kinds" <<'PY'
import email, email.header, glob, sys
for f in glob.glob(sys.argv[1] + "/*"):
    m = email.message_from_file(open(f))
    subject = str(email.header.make_header(email.header.decode_header(m["Subject"])))
    to = m["To"]
    kind = "escalation" if subject.startswith("Escalation") else "digest"
    who = "manager" if ".manager@" in to else "worker"
    print(kind, who)
PY
for want in "digest worker" "digest manager" "escalation manager"; do
	grep -qx "$want" "$TMP/kinds" && ok || bad "the Saturday demo sent no $want message: $(sort "$TMP/kinds" | uniq -c)"
done
# Christmas Eve: the next working morning is after the bank holidays and the
# example configuration's closure days (29-31 December 2026).
out=$(AS_OF=2026-12-24 DEMO=$DEMO sh tools/demo.sh "$BUILD" 2>&1)
printf '%s\n' "$out" | grep -q "^next working morning, Monday 2027-01-04 at 08:30" \
	&& ok || bad "the demo on Christmas Eve: $(printf '%s' "$out" | sed -n 2,4p)"

# ---- the README's examples, each block as written ----
mkdir "$TMP/run"
$PY - README.md "$TMP/run" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
blocks = re.findall(r"<!-- README example: runs after make demo[^>]*-->\n```sh\n(.*?)```", text, re.S)
for i, b in enumerate(blocks):
    open("%s/block%d.sh" % (sys.argv[2], i), "w").write(b)
print(len(blocks))
PY
n=$(ls "$TMP/run" | wc -l)
[ "$n" -ge 3 ] && ok || bad "found $n marked README examples, want at least 3"
for f in "$TMP/run"/block*.sh; do
	out=$(cd "$TMP/run" && env DEADLINED_CONFIG="$DEMO/deadlined.conf" PATH="$BIN:$PATH" \
		sh -e -x "$f" 2>&1); rc=$?
	[ $rc = 0 ] && ok || bad "README example $(basename "$f") failed (rc $rc): $(printf '%s' "$out" | tail -n 6)"
done
[ -s "$TMP/run/q2-duty.html" ] && ok || bad "the report example wrote no q2-duty.html"

# ---- a plain make without a library ----
# pkg-config and dpkg-query stand-ins: libcurl's development package missing.
mkdir "$TMP/stub"
printf '#!/bin/sh\nexit 1\n' > "$TMP/stub/pkg-config"
cat > "$TMP/stub/dpkg-query" <<'SH'
#!/bin/sh
for a; do p=$a; done
[ "$p" = libcurl4-openssl-dev ] && { printf 'not-installed'; exit 0; }
printf 'installed'
SH
chmod +x "$TMP/stub/pkg-config" "$TMP/stub/dpkg-query"
out=$(PATH="$TMP/stub:$PATH" make -s build-deps 2>&1); rc=$?
[ $rc != 0 ] && printf '%s\n' "$out" | grep -q "apt-get install -y libcurl4-openssl-dev" \
	&& ok || bad "plain make without libcurl: rc $rc: $out"
finish
