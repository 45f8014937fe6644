#!/bin/sh
# TLS to the case database, verified.  A throwaway CA and server
# certificates are made here with openssl; PostgreSQL 15 (tests/helpers/
# pg.sh) serves TLS and refuses plain TCP to the daemon's role, so a read
# that works went over TLS.  The daemon reaches it through psqlODBC with
# SSLMode=verify-full and the CA as root certificate (pqopt sslrootcert):
#   - the server's certificate names 127.0.0.1 and comes from the CA: read;
#   - a certificate from the CA for another name, or one for the right
#     name from a CA the daemon does not know: the connection is refused,
#     one clear log line says why, the case database is reported
#     unavailable, and nothing is closed or resolved;
#   - the right certificate back: the daemon carries on by itself.
. tests/integration/lib.sh
. tests/integration/service_lib.sh
. tests/helpers/pg.sh
. tests/integration/odbc_lib.sh
C=$DEADLINECTL
trap 'stop_pids; pg_stop; [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"' EXIT

odbc_driver_or_end

# --- certificates --------------------------------------------------------
# ca NAME: a self-signed CA.  cert NAME CA SAN: a server certificate for
# SAN (an openssl subjectAltName value) signed by CA.
P=$TMP/pki
mkdir -p "$P"
ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$P/$1.key" -out "$P/$1.crt" -days 2 -subj "/CN=deadlined test $1" \
		> /dev/null 2>&1
}
cert() {
	printf 'subjectAltName = %s\n' "$3" > "$P/$1.ext"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$P/$1.key" -out "$P/$1.csr" -subj "/CN=$1" > /dev/null 2>&1 &&
	openssl x509 -req -in "$P/$1.csr" -CA "$P/$2.crt" -CAkey "$P/$2.key" -CAcreateserial \
		-days 2 -extfile "$P/$1.ext" -out "$P/$1.crt" > /dev/null 2>&1
}
ca ca && ca other-ca && cert good ca "IP:127.0.0.1" && cert wrong-name ca "DNS:db.wrong.example" &&
	cert unknown-ca other-ca "IP:127.0.0.1" && ok || bad "openssl could not make the certificates"

pg_start "$TMP/pg" || { bad "PostgreSQL 15 would not start"; finish; exit; }
# serve NAME: the server presents NAME's certificate to new connections
# (a reload; waits until a TLS handshake shows it).
serve() {
	pg_ssl "$P/$1.crt" "$P/$1.key" || { bad "pg_ssl $1 failed"; return 1; }
	openssl x509 -in "$P/$1.crt" -noout -fingerprint -sha256 > "$TMP/want.fp"
	wait_until 10 eval 'openssl s_client -starttls postgres -connect 127.0.0.1:$PG_PORT \
		< /dev/null 2> /dev/null | openssl x509 -noout -fingerprint -sha256 2> /dev/null |
		cmp -s - "$TMP/want.fp"' || bad "the server does not present $1's certificate"
}
PW=tls-pw
printf '%s\n' "$PW" > "$TMP/db-password"
pg_psql -c "CREATE ROLE deadlined LOGIN PASSWORD '$PW'" -c "CREATE DATABASE cases" > /dev/null
# The daemon's role: TLS only.
sed -i '1i hostnossl all deadlined 127.0.0.1/32 reject\nhostssl all deadlined 127.0.0.1/32 scram-sha-256' \
	"$PG_DIR/data/pg_hba.conf"
serve good
PG_DB=cases pg_psql -f conf/schema/native-pg.sql > /dev/null 2>&1 || bad "native-pg.sql failed"
PG_DB=cases pg_psql > /dev/null <<'SQL' || bad "setting up the case tables"
INSERT INTO deadlined_teams VALUES ('T1', 'Duty and Assessment Team', 'tm@council.example', 'sm@council.example');
INSERT INTO deadlined_workers VALUES ('W1', 'Sam Worker', 'sam@council.example', 'T1');
INSERT INTO deadlined_cases (case_ref, child_ref, date_of_birth, team_ref, worker_ref)
  VALUES ('A1', 'CA1', '2015-05-05', 'T1', 'W1');
INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES ('A1', 'referral', '2024-11-01');
GRANT SELECT ON deadlined_cases, deadlined_events, deadlined_teams, deadlined_workers TO deadlined;
SQL

# Plain TCP is refused to the role: the checks below cannot pass without TLS.
out=$(PGPASSWORD=$PW PGSSLMODE=disable "$PG_BIN/psql" -X -h 127.0.0.1 -p "$PG_PORT" -U deadlined \
	-d cases -tAc "SELECT 1" 2>&1) && bad "plain TCP was let in: $out" ||
	{ printf '%s' "$out" | grep -q 'no encryption' && ok || bad "plain TCP: $out"; }

DB=$TMP/unused.db
STATE=$TMP/state.db
CONF=$TMP/d.conf
MAIL=$TMP/mail/new
SOURCE_MORE="driver = \"odbc\"; connection = \"Driver=PostgreSQL ANSI;Server=127.0.0.1;Port=$PG_PORT;Database=cases;SSLMode=verify-full;pqopt={sslrootcert=$P/ca.crt}\"; user = \"deadlined\"; credentials = \"$TMP/db-password\"; login_timeout = $((5 * TIME_SCALE));"
service_conf "$MAILDIR_RECEIVER" 'mail_receiver = "mail"; resolved = true;'


# refused WHAT CERT PATTERN: the server presents CERT; a fresh daemon
# cannot connect, says PATTERN once a try in a line naming the case
# database unavailable, STATUS and deadlinectl status say so, and nothing
# changed.
refused() {
	stop_daemon
	serve "$2"
	start_daemon || return 1
	unavailable "$1" "connecting: .*$3"
	[ "$(log_since | grep -c "$3")" = "$(log_since | grep -c 'poll failed')" ] && ok ||
		bad "$1: the reason is not on the failure's own line: $(log_since | tail -n 5)"
}

start_listener || { finish; exit 1; }
start_daemon || { finish; exit 1; }
# The right certificate: read over TLS, and the first alerts sent.
wait_until 15 eval '[ "$(mails)" = 3 ]' && ok || bad "first alerts over TLS: $(mails), want 3: $(tail -n 3 "$TMP/d.err")"
nothing_changed "first poll"
log_since | grep -q 'poll failed' && bad "a poll failed with the right certificate: $(grep 'poll failed' "$TMP/d.err" | head -n 1)" || ok

# libpq's words: "server certificate for "db.wrong.example" does not match
# host name "127.0.0.1"" and "certificate verify failed".
refused "wrong name" wrong-name 'does not match host name "127.0.0.1"'
refused "unknown CA" unknown-ca 'certificate verify failed'

# The right certificate again: the daemon carries on by itself.
mark_log
serve good
check_log "recovered" "case database readable again (unavailable since" $((20 * TIME_SCALE))
check_status_clear "recovered: STATUS clears" "unavailable" 10
nothing_changed "recovered"
grep -qF "$PW" "$TMP/d.err" "$TMP/notify.log" "$TMP/status.out" && bad "the password was logged" || ok
stop_daemon
[ "$DRC" = 0 ] && ok || bad "deadlined exited $DRC"
finish
