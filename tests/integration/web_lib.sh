# Helpers for the deadlined-web tests (sourced after lib.sh): a small case
# database evaluated by the real daemon, deadlined-web on a loopback port,
# and Debian's nginx in front of it as the single sign-on proxy would be.
# Every process started here is stopped by its PID on the way out.
. tests/integration/service_lib.sh   # PIDS, stop_pids, wait_until
. tests/helpers/pg.sh                  # pg_free_port
DEADLINED_WEB=${DEADLINED_WEB:-$BUILD/deadlined-web}
[ -z "$VG" ] || DEADLINED_WEB="$VG $(readlink -f "$DEADLINED_WEB")"
web_stop() { stop_pids; }
answers() { curl -s -o /dev/null "$1"; }

# Team T1 (manager tm1, worker w1: cases A1-A4, A5 unallocated), team T2
# (manager tm2, service manager sm2, worker w2: case B1).  Each referral
# on Monday 2025-01-06 is due a working day later; on Wednesday 01-08 all
# are a working day overdue, on Thursday two, so no escalation comes
# between the two polls the tests run.  Team T1's name carries markup that
# must arrive escaped.
WEB_CONF=$TMP/deadlined.conf
web_setup() {
	sqlite3 "$TMP/cases.db" < conf/schema/native.sql
	sqlite3 "$TMP/cases.db" <<'SQL'
INSERT INTO deadlined_teams VALUES
  ('T1', 'Duty <script>alert(1)</script>', 'tm1@council.example', NULL),
  ('T2', 'Assessment', 'tm2@council.example', 'sm2@council.example');
INSERT INTO deadlined_workers VALUES
  ('W1', 'Wendy "W" Worker', 'w1@council.example', 'T1'),
  ('W2', 'Walt Worker', 'w2@council.example', 'T2');
INSERT INTO deadlined_cases VALUES
  ('A1', 'C1', NULL, 'T1', 'W1'), ('A2', 'C2', NULL, 'T1', 'W1'), ('A3', 'C3', NULL, 'T1', 'W1'),
  ('A4', 'C4', NULL, 'T1', 'W1'), ('A5', 'C5', NULL, 'T1', NULL), ('B1', 'C6', NULL, 'T2', 'W2');
INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES
  ('A1', 'referral', '2025-01-06'), ('A2', 'referral', '2025-01-06'),
  ('A3', 'referral', '2025-01-06'), ('A4', 'referral', '2025-01-06'),
  ('A5', 'referral', '2025-01-06'), ('B1', 'referral', '2025-01-06');
SQL
	# WEB_MANY=N: team T3 (manager tm3) gets N cases M1..MN as well, for
	# the tray's pages.
	[ "${WEB_MANY:-0}" = 0 ] || sqlite3 "$TMP/cases.db" <<SQL
INSERT INTO deadlined_teams VALUES ('T3', 'Many', 'tm3@council.example', NULL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $WEB_MANY)
INSERT INTO deadlined_cases SELECT 'M' || i, 'CM' || i, NULL, 'T3', NULL FROM n;
INSERT INTO deadlined_events (case_ref, kind, occurred)
  SELECT case_ref, 'referral', CASE WHEN case_ref GLOB 'M*[05]' THEN '2025-01-03'
    WHEN case_ref GLOB 'M*9' THEN '2025-01-08' ELSE '2025-01-06' END
  FROM deadlined_cases WHERE team_ref = 'T3';
SQL
	head -c 48 /dev/urandom | base64 > "$TMP/link.key"
	# WEB_STATE: the state group's settings (default: SQLite in $TMP).
	_state=${WEB_STATE:-"database = \"$TMP/state.db\";"}
	cat > "$WEB_CONF" <<CONF
source = { database = "$TMP/cases.db"; };
state = { $_state };
notify = { mail_receiver = "box"; digest_time = "00:00"; digest_roles = [ "team_manager" ];
           reminder_interval = "1 working day"; };
receivers = {
  box = { type = "maildir"; path = "$TMP/mail"; from = "deadlines@council.example"; };
};
rules = {
  decision = { title = "Referral decisions"; start = [ "referral" ];
               met = [ "referral_decision" ]; due = ( "1 working day" ); };
};
web = {
  trusted_proxies = [ "127.0.0.2" ];
  admins = [ "admin@council.example" ];
  case_url = "https://mosaic.council.example/case/{case_ref}";
  base_url = "https://deadlines.council.example";
  link_key_file = "$TMP/link.key";
  metrics_allow = [ "127.0.0.1" ];
  max_ack_days = 30;
  ${WEB_EXTRA:-}
};
CONF
	$DEADLINED -c "$WEB_CONF" --once --as-of 2025-01-08 > "$TMP/poll1.out" 2>&1
}

# deadlined-web on 127.0.0.1:$WEB_PORT; waits until it answers.
web_start() {
	WEB_PORT=$(pg_free_port)
	$DEADLINED_WEB -c "$WEB_CONF" --listen "127.0.0.1:$WEB_PORT" 2>>"$TMP/web.err" &
	WEB_PID=$!
	PIDS="$PIDS $WEB_PID"
	wait_until 10 answers "http://127.0.0.1:$WEB_PORT/healthz"
}

# web_quit: SIGTERM to deadlined-web, which must exit 0 with nothing from
# the sanitizers (make check SANITIZE=1) in its stderr; then the rest.
web_quit() {
	kill "$WEB_PID" 2>/dev/null
	wait "$WEB_PID"
	_rc=$?
	[ "$_rc" = 0 ] && ! grep -Eq 'Sanitizer|runtime error' "$TMP/web.err" && ok \
		|| bad "deadlined-web stopped with $_rc: $(grep -E -A5 'Sanitizer|runtime error' "$TMP/web.err" | head -n 20)"
	web_stop
}

# nginx on 127.0.0.1:$PROXY_PORT, connecting to deadlined-web from
# 127.0.0.2 (the one trusted proxy address).  It plays the SSO module: a
# session cookie stands for a signed-in person, and the identity header is
# always set by the proxy, replacing whatever the browser sent.
nginx_start() {
	PROXY_PORT=$(pg_free_port)
	mkdir -p "$TMP/nginx/logs" "$TMP/nginx/tmp"
	cat > "$TMP/nginx/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
master_process off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/logs/error.log warn;
events { worker_connections 64; }
http {
  access_log $TMP/nginx/logs/access.log;
  client_body_temp_path $TMP/nginx/tmp/body;
  proxy_temp_path $TMP/nginx/tmp/proxy;
  fastcgi_temp_path $TMP/nginx/tmp/fastcgi;
  uwsgi_temp_path $TMP/nginx/tmp/uwsgi;
  scgi_temp_path $TMP/nginx/tmp/scgi;
  map \$cookie_sso \$sso_email {
    default "";
    tm1-session tm1@council.example;
    tm2-session tm2@council.example;
    sm2-session sm2@council.example;
    w1-session w1@council.example;
    w2-session w2@council.example;
    dep-session deputy@council.example;
    admin-session admin@council.example;
    stranger-session stranger@council.example;
    tm3-session tm3@council.example;
  }
  server {
    listen 127.0.0.1:$PROXY_PORT;
    location / {
      proxy_pass http://127.0.0.1:$WEB_PORT;
      proxy_bind 127.0.0.2;
      proxy_set_header X-Forwarded-Email \$sso_email;
      proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_set_header Host \$host;
    }
  }
}
NGINX
	/usr/sbin/nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" 2>>"$TMP/nginx/logs/stderr" &
	PIDS="$PIDS $!"
	wait_until 10 answers "http://127.0.0.1:$PROXY_PORT/style.css"
}
