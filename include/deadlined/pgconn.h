/* pgconn.h — one libpq connection that never waits without a bound.
 *
 * The lease and the PostgreSQL state store both talk to the server through
 * this: a connection is made with TCP keepalives, a TCP user timeout and a
 * server-side statement_timeout, and every statement runs asynchronously
 * with a client-side deadline on a monotonic clock.  A half-open link (the
 * peer gone with no FIN or RST) therefore costs at most the deadline: the
 * connection is dropped and the caller reconnects later.  The server side
 * alone cannot notice such a link in time, so the deadline is what counts.
 *
 * The conninfo comes from the configuration and must not hold a password
 * (pgconn_check refuses one); the password comes separately, from a file or
 * a systemd credential.  Neither is ever put into an error message.
 */
#ifndef DEADLINED_PGCONN_H
#define DEADLINED_PGCONN_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deadlined/error.h"

/* The advisory lock (pg_advisory_xact_lock) every maker or migrator of
 * deadlined's tables holds, so two daemons starting at once never race. */
#define PGCONN_SCHEMA_LOCK "7401101"

/* A daemon's name in a pair, "host:pid" (the lease's holder), and the
 * application_name its state sessions carry, "deadlined host:pid" cut to
 * PGCONN_TAG_MAX bytes as PostgreSQL would: the lease ends by this tag the
 * sessions of a holder whose lease lapsed (lease.h), so a frozen leader's
 * open transaction frees its row locks at the takeover.  PGCONN_TAG_SQL is
 * the same tag in SQL, of a holder column. */
#define PGCONN_TAG_PREFIX "deadlined "
#define PGCONN_TAG_MAX 63
#define PGCONN_TAG_SQL(col) "left('" PGCONN_TAG_PREFIX "' || " col ", 63)"
void pgconn_holder(char *buf, size_t size);
void pgconn_tag(char *buf, size_t size, const char *holder);

struct pgconn_settings {
	const char *conninfo;         /* libpq keywords or a URI, no password */
	const char *password;         /* NULL: none (trust, peer, .pgpass) */
	const char *application_name; /* shown in pg_stat_activity */
	long connect_ms;              /* bound on making the connection */
	long statement_ms;            /* statement_timeout on the server */
	long keepalive_ms;            /* dead-peer detection: keepalives and
				       * tcp_user_timeout are derived from it */
	long lock_ms;                 /* lock_timeout on the server; 0: none */
	bool readonly;                /* default_transaction_read_only */
};

/* Milliseconds on CLOCK_BOOTTIME: monotonic, and it keeps counting while
 * the machine (or a frozen VM's guest) is suspended, so a lease trusted
 * "until T" is never stretched by a suspension. */
int64_t pgconn_now_ms(void);

/* Refuse a conninfo that does not parse or that holds a password. */
int pgconn_check(const char *conninfo, struct dl_error *err);

/* "PostgreSQL database D on H:P" from a conninfo, for status lines and
 * logs: only the server and database, never the rest. */
void pgconn_describe(const char *conninfo, char *buf, size_t size);

/* Connect within s->connect_ms; NULL with err on failure. */
PGconn *pgconn_connect(const struct pgconn_settings *s, struct dl_error *err);

/* Run sql with text parameters and wait for its result until deadline_ms
 * (pgconn_now_ms() time).  Returns the last result, which the caller
 * PQclears, when the statement succeeded (PGRES_COMMAND_OK or
 * PGRES_TUPLES_OK).  On an SQL error returns NULL with err set and the
 * connection kept; on a timeout or a broken connection returns NULL with err
 * set, closes the connection and sets *conn to NULL.  With params NULL, sql
 * may hold several statements (libpq's simple protocol). */
PGresult *pgconn_exec(PGconn **conn, const char *sql, int nparams,
		      const char *const *params, int64_t deadline_ms, struct dl_error *err);

/* Prepare sql as statement `name` on this connection (a statement run
 * often is parsed and planned once), and run it; both as pgconn_exec. */
int pgconn_prepare(PGconn **conn, const char *name, const char *sql, int nparams,
		   int64_t deadline_ms, struct dl_error *err);
PGresult *pgconn_exec_prepared(PGconn **conn, const char *name, int nparams,
			       const char *const *params, int64_t deadline_ms,
			       struct dl_error *err);

/* Run sql, a COPY ... FROM STDIN, and send it data (len bytes in COPY's
 * text format) until deadline_ms: bulk writes at one round trip.  0, or
 * -1 with err as pgconn_exec. */
int pgconn_copy_in(PGconn **conn, const char *sql, const char *data, size_t len,
		   int64_t deadline_ms, struct dl_error *err);

/* Run sql, a COPY ... TO STDOUT, and read its rows one at a time: the
 * server streams them while the caller works on the last.  start: 0 or
 * -1 with err; row: 1 with *line (a row in COPY's text format, ending in a
 * newline, valid until the next call), 0 at the end, -1 with err.  A walk
 * left unfinished is ended by closing the connection. */
int pgconn_copy_out(PGconn **conn, const char *sql, int64_t deadline_ms, struct dl_error *err);
int pgconn_copy_row(PGconn **conn, char **line, int64_t deadline_ms, struct dl_error *err);

/* Read what the server sent without blocking (notifications); -1 when the
 * connection is broken (it is then closed and *conn set to NULL). */
int pgconn_consume(PGconn **conn, struct dl_error *err);

void pgconn_close(PGconn **conn);

#endif
