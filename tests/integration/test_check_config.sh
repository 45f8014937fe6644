# `deadlined -n` checks everything it can without sending (issue 14):
# secret and URL files that are missing, unreadable, open to other users or
# not regular files are errors naming the receiver and the file (before, -n
# said "configuration OK" and the first delivery refused them); a
# credential that cannot be checked outside the service, and a
# configuration with no rules or no receivers, are warnings.
. tests/integration/lib.sh

ln -s "$PWD/conf/rules" "$TMP/rules"
printf 'hunter2\n' > "$TMP/pass"; chmod 600 "$TMP/pass"
printf 'https://example.invalid/hook\n' > "$TMP/url"; chmod 600 "$TMP/url"
printf 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n' > "$TMP/secret"; chmod 600 "$TMP/secret"

# conf PASSWORD_FILE URL_FILE SECRET_FILE [MORE]
conf() {
	cat > "$TMP/d.conf" <<CONF
source = { database = "$TMP/cases.db"; };
state = { database = "$TMP/state.db"; };
rules = {
  @include "rules/referral.conf"
};
receivers = {
  mail = { type = "smtp"; url = "smtp://127.0.0.1:2525"; from = "d@test.invalid";
           username = "d"; password_file = "$1"; };
  hook = { type = "webhook"; url_file = "$2"; secret_file = "$3"; };
  ${4:-}
};
notify = { mail_receiver = "mail"; };
routes = ( { notify = [ "hook" ]; } );
CONF
}

# check_n WHAT WANT_RC PATTERN: deadlined -n exits WANT_RC and says PATTERN.
check_n() {
	out=$(timeout 10 $DEADLINED -n -c "$TMP/d.conf" 2>&1); rc=$?
	[ "$rc" = "$2" ] && printf '%s\n' "$out" | grep -q -- "$3" && ok \
		|| bad "$1: want rc $2 and '$3'; rc $rc: $out"
}

conf "$TMP/pass" "$TMP/url" "$TMP/secret"
check_n "all secrets good" 0 "configuration OK"

chmod 644 "$TMP/pass"
check_n "a password file others can read" 78 "receivers.mail: secret file $TMP/pass is open to other users"
chmod 604 "$TMP/secret"
check_n "two problems, both reported" 78 "receivers.hook: secret file $TMP/secret is open"
chmod 600 "$TMP/pass" "$TMP/secret"

conf "$TMP/nopass" "$TMP/url" "$TMP/secret"
check_n "a missing password file" 78 "receivers.mail: .*$TMP/nopass.*No such file"
conf "$TMP/pass" "$TMP/nourl" "$TMP/secret"
check_n "a missing URL file" 78 "receivers.hook: .*$TMP/nourl.*No such file"
mkfifo "$TMP/fifo"
conf "$TMP/pass" "$TMP/fifo" "$TMP/secret"
check_n "a URL file that is a FIFO" 78 "receivers.hook: .*$TMP/fifo: is a FIFO"
# Unreadable: as root (which reads anything) the check runs as nobody, the
# files staying root's with mode 600.
chmod 711 "$TMP"; chmod 644 "$TMP/d.conf"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	conf "$TMP/pass" "$TMP/url" "$TMP/secret"
	chmod 644 "$TMP/d.conf"
	# The program itself: valgrind, as nobody, could not write its log.
	out=$(timeout 10 setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$BUILD/deadlined" -n -c "$TMP/d.conf" 2>&1); rc=$?
	[ $rc = 78 ] && printf '%s' "$out" | grep -q "receivers.mail: .*$TMP/pass.*Permission denied" \
		&& ok || bad "an unreadable password file: rc $rc: $out"
elif [ "$(id -u)" != 0 ]; then
	chmod 000 "$TMP/secret"
	conf "$TMP/pass" "$TMP/url" "$TMP/secret"
	check_n "an unreadable secret file" 78 "receivers.hook: .*$TMP/secret.*Permission denied"
	chmod 600 "$TMP/secret"
else
	not_run "an unreadable secret file: running as root without setpriv"
fi

# A credential: checked when $CREDENTIALS_DIRECTORY is set (as under
# systemd's ExecStartPre); outside the service it cannot be read.
sed "s#password_file = \"$TMP/pass\"#password_credential = \"smtp-password\"#" "$TMP/d.conf" > "$TMP/c.conf"
mv "$TMP/c.conf" "$TMP/d.conf"
conf_has_cred=$(grep -c password_credential "$TMP/d.conf")
[ "$conf_has_cred" = 1 ] && ok || bad "test set-up: no credential in the configuration"
check_n "a credential outside the service: not checked" 0 "configuration OK (4 rules)"
mkdir "$TMP/creds"
out=$(CREDENTIALS_DIRECTORY=$TMP/creds timeout 10 $DEADLINED -n -c "$TMP/d.conf" 2>&1); rc=$?
[ $rc = 78 ] && printf '%s' "$out" | grep -q "receivers.mail: .*$TMP/creds/smtp-password.*No such file" \
	&& ok || bad "a missing credential: rc $rc: $out"
cp "$TMP/pass" "$TMP/creds/smtp-password"
out=$(CREDENTIALS_DIRECTORY=$TMP/creds timeout 10 $DEADLINED -n -c "$TMP/d.conf" 2>&1); rc=$?
[ $rc = 0 ] && ! printf '%s' "$out" | grep -q warning && ok || bad "a good credential: rc $rc: $out"

# No rules, no receivers: accepted, with a warning each.
cat > "$TMP/d.conf" <<CONF
source = { database = "$TMP/cases.db"; };
CONF
check_n "no rules" 0 "warning: no rules"
check_n "no receivers" 0 "warning: no receivers"
mkfifo "$TMP/ca.pem"
conf "$TMP/pass" "$TMP/url" "$TMP/secret"
sed -i "s#type = \"webhook\";#& ca_file = \"$TMP/ca.pem\";#" "$TMP/d.conf"
check_n "a CA file that is a FIFO" 78 "receivers.hook: ca_file $TMP/ca.pem: is a FIFO"
finish
