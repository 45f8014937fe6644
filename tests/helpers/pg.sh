# A throwaway PostgreSQL 15 server for tests (sourced, not run).
#
# PostgreSQL refuses to run as root, so the cluster belongs to an
# unprivileged user (nobody unless PG_USER is set) and lives in a folder of
# the test's own; it listens on 127.0.0.1 only, on a free port, and on a
# Unix socket in the same folder.  Nothing of the machine's own clusters
# (/var/lib/postgresql) is touched.
#
#   pg_start DIR     initdb + start (with $PG_OPTS); sets PG_PORT, PG_HOST, PG_DIR, PG_BIN
#   pg_psql SQL...   run SQL as the superuser "postgres" in database postgres
#   pg_stop          stop the server started by pg_start (fast shutdown)
#   pg_restart       stop and start it again on the same port
#   pg_ssl CERT KEY  serve TLS with CERT and KEY (PEM files; copied into the
#                    cluster, owned by its user); again to change them
#   PG_SCHEMA        the state store's schema version this source declares
#                    (STATE_PG_SCHEMA_VERSION), what a migration must reach
#
# Returns non-zero (with a message on stderr) when PostgreSQL 15 is not
# installed or will not start; callers count that as a failed check, never
# as a pass.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_USER=${PG_USER:-nobody}
# The server's settings: tests need no durability (fsync off); make bench
# sets its own (tests/bench/pgstate.sh).
PG_OPTS=${PG_OPTS:--c fsync=off}
PG_SCHEMA=$(sed -n 's/^#define STATE_PG_SCHEMA_VERSION \([0-9]*\).*/\1/p' include/deadlined/state.h)

# A port nothing listens on now; PostgreSQL then binds it itself, and a
# rare race with another test is caught by pg_start's own retry.
pg_free_port() {
	/usr/bin/python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

pg_as() { runuser -u "$PG_USER" -- "$@"; }

pg_start() {
	PG_DIR=$1
	if [ ! -x "$PG_BIN/initdb" ]; then
		echo "pg.sh: $PG_BIN/initdb not found (apt-get install postgresql-15)" >&2
		return 1
	fi
	mkdir -p "$PG_DIR"
	# The server's user must reach its folder: let others pass through
	# (not list) the test's own temporary folder above it.
	chmod o+x "$(dirname "$PG_DIR")"
	chown "$PG_USER" "$PG_DIR"
	chmod 700 "$PG_DIR"
	if ! pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust \
			--no-sync -E UTF8 --locale=C.UTF-8 > "$PG_DIR/initdb.log" 2>&1; then
		echo "pg.sh: initdb failed:" >&2
		cat "$PG_DIR/initdb.log" >&2
		return 1
	fi
	PG_HOST=127.0.0.1
	_pg_try=0
	while [ $_pg_try -lt 5 ]; do
		PG_PORT=$(pg_free_port)
		if pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
			-o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PG_DIR $PG_OPTS" \
			start > /dev/null 2>&1; then
			export PG_PORT PG_HOST PG_DIR
			return 0
		fi
		_pg_try=$((_pg_try + 1))
	done
	echo "pg.sh: PostgreSQL would not start:" >&2
	tail -n 20 "$PG_DIR/server.log" >&2
	return 1
}

pg_psql() {
	"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U postgres \
		-d "${PG_DB:-postgres}" "$@"
}

pg_stop() {
	[ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ] || return 0
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop > /dev/null 2>&1 || true
}

pg_restart() {
	pg_stop
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
		-o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PG_DIR $PG_OPTS" \
		start > /dev/null 2>&1
}

# ssl and its files are read again at a reload; only connections made
# after it see the new certificate.
pg_ssl() {
	cp "$1" "$PG_DIR/data/server.crt" && cp "$2" "$PG_DIR/data/server.key" &&
		chown "$PG_USER" "$PG_DIR/data/server.crt" "$PG_DIR/data/server.key" &&
		chmod 600 "$PG_DIR/data/server.key" &&
		pg_psql -c "ALTER SYSTEM SET ssl = on" -c "SELECT pg_reload_conf()" > /dev/null
}
