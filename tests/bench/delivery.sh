#!/bin/sh
# delivery.sh — the delivery rows of make bench's table.
#   tests/bench/delivery.sh BUILD WORKDIR
# Webhooks: 10,000 messages to Debian's nginx on 127.0.0.1 over HTTPS
# (configured here to answer 204; a throwaway CA and certificate), counting
# the TLS connections nginx saw.  SMTP: 1,000 messages to the aiosmtpd
# helper with STARTTLS, in batches of 100 (one connection a batch, as the
# service sends) and one message a batch (a connection each).  Servers are
# stopped by their PIDs.
set -eu
BUILD=$1
W=$2
here=$(cd "$(dirname "$0")/../.." && pwd)
NGINX=${NGINX:-/usr/sbin/nginx}
PIDS=""
trap 'for p in $PIDS; do kill "$p" 2>/dev/null || true; done' EXIT INT TERM
unset all_proxy ALL_PROXY https_proxy HTTPS_PROXY smtp_proxy SMTP_PROXY

row() { printf '| %-34s | %14s | %-10s | %s\n' "$1" "$2" "$3" "$4"; }
free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

mkdir -p "$W/pki" "$W/nginx"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj "/CN=deadlined bench CA" -keyout "$W/pki/ca.key" -out "$W/pki/ca.crt" \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
	2>>"$W/pki/openssl.log"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 \
	-keyout "$W/pki/server.key" -out "$W/pki/server.csr" 2>>"$W/pki/openssl.log"
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
	> "$W/pki/server.ext"
openssl x509 -req -in "$W/pki/server.csr" -CA "$W/pki/ca.crt" -CAkey "$W/pki/ca.key" \
	-set_serial 2 -days 1 -extfile "$W/pki/server.ext" -out "$W/pki/server.crt" \
	2>>"$W/pki/openssl.log"

# ---- webhooks through nginx ----
if [ -x "$NGINX" ]; then
	port=$(free_port)
	cat > "$W/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log;
events { worker_connections 256; }
http {
    log_format conn '\$connection';
    access_log $W/nginx/access.log conn;
    client_body_temp_path $W/nginx/body;
    proxy_temp_path $W/nginx/proxy;
    fastcgi_temp_path $W/nginx/fastcgi;
    uwsgi_temp_path $W/nginx/uwsgi;
    scgi_temp_path $W/nginx/scgi;
    keepalive_requests 100000;
    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate $W/pki/server.crt;
        ssl_certificate_key $W/pki/server.key;
        location / { return 204; }
    }
}
CONF
	"$NGINX" -p "$W/nginx" -e "$W/nginx/error.log" -c "$W/nginx/nginx.conf" &
	PIDS="$PIDS $!"
	i=0
	until curl -s -o /dev/null --cacert "$W/pki/ca.crt" "https://127.0.0.1:$port/" || [ $i -ge 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	: > "$W/webhook.times"
	for run in 1 2 3; do
		: > "$W/nginx/access.log"
		kill -USR1 "$(cat "$W/nginx/nginx.pid")"    # reopen the log
		sleep 0.2
		set -- $("$BUILD/bench/bench_delivery" webhook "https://127.0.0.1:$port/hook" \
			"$W/pki/ca.crt" 10000)
		[ "$2" = 10000 ] || { echo "bench: webhook: only $2 of 10000 accepted" >&2; exit 1; }
		echo "$1" >> "$W/webhook.times"
		sleep 0.2
		conns=$(sort -u "$W/nginx/access.log" | wc -l)
		reqs=$(wc -l < "$W/nginx/access.log")
	done
	t=$(median < "$W/webhook.times")
	row "webhook: 10,000 to nginx (HTTPS)" "$t s" "< 5 s" \
		"$(awk -v t="$t" 'BEGIN { printf "%.0f messages/s", 10000 / t }'); $reqs requests over $conns connections (max_connections 8)"
else
	row "webhook: 10,000 to nginx (HTTPS)" "skipped" "< 5 s" "no $NGINX (scripts/deps.sh bench)"
fi

# ---- SMTP: a connection a batch against a connection a message ----
smtp() {
	name=$1 batch=$2
	/usr/bin/python3 "$here/tests/helpers/smtp_server.py" --out "$W/$name" \
		--port-file "$W/$name.port" --cert "$W/pki/server.crt" --key "$W/pki/server.key" \
		--lifetime 300 2>"$W/$name.log" &
	spid=$!
	PIDS="$PIDS $spid"
	i=0
	while [ ! -s "$W/$name.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	set -- $("$BUILD/bench/bench_delivery" smtp "smtp://127.0.0.1:$(cat "$W/$name.port")" \
		"$W/pki/ca.crt" 1000 "$batch")
	[ "$2" = 1000 ] || { echo "bench: smtp: only $2 of 1000 accepted" >&2; exit 1; }
	kill "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	echo "$1 $(sed -n 's/.*"connections": *\([0-9]*\).*/\1/p' "$W/$name/stats.json")"
}
set -- $(smtp smtp-batch 100)
tb=$1 cb=$2
set -- $(smtp smtp-single 1)
ts=$1 cs=$2
row "SMTP: 1,000, batches of 100" "$tb s" "" \
	"$(awk -v t="$tb" 'BEGIN { printf "%.0f messages/s", 1000 / t }'); $cb connections (STARTTLS)"
row "SMTP: 1,000, a connection each" "$ts s" "" \
	"$(awk -v t="$ts" -v b="$tb" 'BEGIN { printf "%.0f messages/s; %.1fx slower", 1000 / t, t / b }'); $cs connections"
