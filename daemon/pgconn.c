/* pgconn.c — libpq connections and statements with deadlines (see pgconn.h). */
#include "deadlined/pgconn.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t pgconn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void pgconn_holder(char *buf, size_t size)
{
	char host[256] = "";

	gethostname(host, sizeof host - 1);
	snprintf(buf, size, "%s:%ld", host, (long)getpid());
}

void pgconn_tag(char *buf, size_t size, const char *holder)
{
	size_t max = size - 1 < PGCONN_TAG_MAX ? size - 1 : PGCONN_TAG_MAX;

	snprintf(buf, max + 1, "%s%s", PGCONN_TAG_PREFIX, holder);
}

/* libpq's messages end in a newline and may span lines; one line here. */
static void set_pq_error(struct dl_error *err, const char *what, const char *msg)
{
	char line[400];
	size_t n;

	snprintf(line, sizeof line, "%s", msg && *msg ? msg : "unknown error");
	for (n = 0; line[n]; n++)
		if (line[n] == '\n' || line[n] == '\r')
			line[n] = ' ';
	while (n > 0 && line[n - 1] == ' ')
		line[--n] = '\0';
	error_set(err, "%s: %s", what, line);
}

int pgconn_check(const char *conninfo, struct dl_error *err)
{
	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", &perr);
	int rc = 0;

	if (!opts) {
		/* libpq's message quotes the text it could not parse, which could
		 * hold a password: say only that it did not parse. */
		PQfreemem(perr);
		error_set(err, "conninfo is not a libpq connection string or URI");
		return -1;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (!strcmp(o->keyword, "password") && o->val && *o->val) {
			error_set(err, "conninfo must not hold a password; give it in "
				  "password_file or password_credential");
			rc = -1;
		}
	PQconninfoFree(opts);
	return rc;
}

void pgconn_describe(const char *conninfo, char *buf, size_t size)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", NULL);
	const char *host = NULL, *port = NULL, *db = NULL;

	for (PQconninfoOption *o = opts; o && o->keyword; o++) {
		if (!strcmp(o->keyword, "host") || (!host && !strcmp(o->keyword, "hostaddr")))
			host = o->val;
		else if (!strcmp(o->keyword, "port"))
			port = o->val;
		else if (!strcmp(o->keyword, "dbname"))
			db = o->val;
	}
	snprintf(buf, size, "PostgreSQL database %s on %s%s%s", db ? db : "(default)",
		 host ? host : "(local socket)", port ? ":" : "", port ? port : "");
	PQconninfoFree(opts);
}

/* Wait until fd is ready for events or deadline; 1 ready, 0 timed out. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - pgconn_now_ms();
		struct pollfd p = { .fd = fd, .events = events };
		int rc;

		if (left <= 0)
			return 0;
		rc = poll(&p, 1, left > 1000 ? 1000 : (int)left);
		if (rc > 0)
			return 1;
		if (rc < 0 && errno != EINTR)
			return 1;    /* let libpq find and report the problem */
	}
}

PGconn *pgconn_connect(const struct pgconn_settings *s, struct dl_error *err)
{
	char idle[16], interval[16], count[16], user_timeout[24], options[160];
	long ka = s->keepalive_ms > 3000 ? s->keepalive_ms : 3000;
	int64_t deadline = pgconn_now_ms() + s->connect_ms;
	PGconn *c;

	if (pgconn_check(s->conninfo, err) < 0)
		return NULL;
	/* Keepalives probe an idle link every third of keepalive_ms; the TCP
	 * user timeout drops one whose sent data goes unacknowledged that long. */
	snprintf(idle, sizeof idle, "%ld", ka / 3000);
	snprintf(interval, sizeof interval, "%ld", ka / 3000 > 1 ? ka / 6000 : 1);
	snprintf(count, sizeof count, "%d", 3);
	snprintf(user_timeout, sizeof user_timeout, "%ld", ka);
	snprintf(options, sizeof options, "-c statement_timeout=%ld -c lock_timeout=%ld "
		 "-c client_min_messages=warning%s", s->statement_ms, s->lock_ms,
		 s->readonly ? " -c default_transaction_read_only=on" : "");
	/* Ours first and the administrator's conninfo last, so what they
	 * wrote wins (libpq keeps the last value of a repeated keyword). */
	const char *keys[] = { "keepalives", "keepalives_idle", "keepalives_interval",
			       "keepalives_count", "tcp_user_timeout", "options",
			       "application_name", "dbname", "password", NULL };
	const char *vals[] = { "1", idle, interval, count, user_timeout, options,
			       s->application_name ? s->application_name : "deadlined",
			       s->conninfo, s->password, NULL };
	if (!s->password)
		keys[8] = NULL;
	c = PQconnectStartParams(keys, vals, 1);
	if (!c) {
		error_set(err, "PostgreSQL: out of memory");
		return NULL;
	}
	for (;;) {
		PostgresPollingStatusType st = PQconnectPoll(c);
		int ready = 1;

		if (st == PGRES_POLLING_OK)
			break;
		if (st == PGRES_POLLING_FAILED) {
			set_pq_error(err, "PostgreSQL connect", PQerrorMessage(c));
			PQfinish(c);
			return NULL;
		}
		ready = wait_fd(PQsocket(c), st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
				deadline);
		if (!ready) {
			error_set(err, "PostgreSQL connect: no answer within %ld ms",
				  s->connect_ms);
			PQfinish(c);
			return NULL;
		}
	}
	PQsetnonblocking(c, 1);
	return c;
}

void pgconn_close(PGconn **conn)
{
	if (*conn)
		PQfinish(*conn);
	*conn = NULL;
}

/* Send what libpq holds and read until the result is complete. */
static int await_result(PGconn *c, int64_t deadline, struct dl_error *err)
{
	for (;;) {
		int flush = PQflush(c);

		if (flush < 0) {
			set_pq_error(err, "PostgreSQL", PQerrorMessage(c));
			return -1;
		}
		if (flush == 0 && !PQisBusy(c))
			return 0;
		if (!wait_fd(PQsocket(c), flush ? POLLIN | POLLOUT : POLLIN, deadline)) {
			error_set(err, "PostgreSQL: no answer by the deadline "
				  "(connection dropped)");
			return -1;
		}
		if (!PQconsumeInput(c)) {
			set_pq_error(err, "PostgreSQL", PQerrorMessage(c));
			return -1;
		}
	}
}

/* Wait for the result of what was sent; see pgconn_exec. */
static PGresult *finish(PGconn **conn, int sent, int64_t deadline_ms, struct dl_error *err)
{
	PGresult *r, *last = NULL;
	char what[400] = "";

	if (!sent) {
		set_pq_error(err, "PostgreSQL", PQerrorMessage(*conn));
		pgconn_close(conn);
		return NULL;
	}
	if (await_result(*conn, deadline_ms, err) < 0) {
		pgconn_close(conn);
		return NULL;
	}
	while ((r = PQgetResult(*conn))) {
		ExecStatusType st = PQresultStatus(r);

		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && !what[0])
			snprintf(what, sizeof what, "%s", PQresultErrorMessage(r));
		PQclear(last);
		last = r;
	}
	if (what[0] || !last) {
		PQclear(last);
		set_pq_error(err, "PostgreSQL", what[0] ? what : PQerrorMessage(*conn));
		if (PQstatus(*conn) != CONNECTION_OK)
			pgconn_close(conn);
		return NULL;
	}
	return last;
}

static bool connected(PGconn **conn, struct dl_error *err)
{
	if (!*conn)
		error_set(err, "PostgreSQL: not connected");
	return *conn != NULL;
}

PGresult *pgconn_exec(PGconn **conn, const char *sql, int nparams,
		      const char *const *params, int64_t deadline_ms, struct dl_error *err)
{
	if (!connected(conn, err))
		return NULL;
	/* Without parameters the simple protocol runs several statements. */
	return finish(conn, params ? PQsendQueryParams(*conn, sql, nparams, NULL, params, NULL,
						       NULL, 0) : PQsendQuery(*conn, sql),
		      deadline_ms, err);
}

int pgconn_prepare(PGconn **conn, const char *name, const char *sql, int nparams,
		   int64_t deadline_ms, struct dl_error *err)
{
	PGresult *r;

	if (!connected(conn, err))
		return -1;
	r = finish(conn, PQsendPrepare(*conn, name, sql, nparams, NULL), deadline_ms, err);
	PQclear(r);
	return r ? 0 : -1;
}

PGresult *pgconn_exec_prepared(PGconn **conn, const char *name, int nparams,
			       const char *const *params, int64_t deadline_ms,
			       struct dl_error *err)
{
	if (!connected(conn, err))
		return NULL;
	return finish(conn, PQsendQueryPrepared(*conn, name, nparams, params, NULL, NULL, 0),
		      deadline_ms, err);
}

/* Hand libpq one piece of a COPY (or its end, data NULL), waiting while
 * its buffers are full: the connection is non-blocking. */
static int put_copy(PGconn *c, const char *data, size_t len, int64_t deadline,
		    struct dl_error *err)
{
	for (;;) {
		int rc = data ? PQputCopyData(c, data, (int)len) : PQputCopyEnd(c, NULL);

		if (rc > 0)
			return 0;
		if (rc < 0 || PQflush(c) < 0) {
			set_pq_error(err, "PostgreSQL COPY", PQerrorMessage(c));
			return -1;
		}
		if (!wait_fd(PQsocket(c), POLLOUT | POLLIN, deadline)) {
			error_set(err, "PostgreSQL COPY: no progress by the deadline "
				  "(connection dropped)");
			return -1;
		}
		if (!PQconsumeInput(c)) {
			set_pq_error(err, "PostgreSQL COPY", PQerrorMessage(c));
			return -1;
		}
	}
}

/* Send a COPY statement and wait for the server to enter COPY mode (want:
 * PGRES_COPY_IN or PGRES_COPY_OUT).  On an SQL error its message is kept
 * and the rest of the results read, so a sound connection stays usable;
 * a broken one is closed. */
static int copy_start(PGconn **conn, const char *sql, ExecStatusType want, int64_t deadline_ms,
		      struct dl_error *err)
{
	PGresult *r;

	if (!connected(conn, err))
		return -1;
	if (!PQsendQuery(*conn, sql)) {
		set_pq_error(err, "PostgreSQL", PQerrorMessage(*conn));
		pgconn_close(conn);
		return -1;
	}
	if (await_result(*conn, deadline_ms, err) < 0) {
		pgconn_close(conn);
		return -1;
	}
	r = PQgetResult(*conn);
	if (PQresultStatus(r) == want) {
		PQclear(r);
		return 0;
	}
	set_pq_error(err, "PostgreSQL", r ? PQresultErrorMessage(r) : PQerrorMessage(*conn));
	PQclear(r);
	while ((r = PQgetResult(*conn)))
		PQclear(r);
	if (PQstatus(*conn) != CONNECTION_OK)
		pgconn_close(conn);
	return -1;
}

int pgconn_copy_in(PGconn **conn, const char *sql, const char *data, size_t len,
		   int64_t deadline_ms, struct dl_error *err)
{
	const size_t piece = 1 << 16;
	PGresult *r;

	if (copy_start(conn, sql, PGRES_COPY_IN, deadline_ms, err) < 0)
		return -1;
	for (size_t at = 0; at < len; at += piece)
		if (put_copy(*conn, data + at, len - at < piece ? len - at : piece, deadline_ms,
			     err) < 0) {
			pgconn_close(conn);
			return -1;
		}
	if (put_copy(*conn, NULL, 0, deadline_ms, err) < 0) {
		pgconn_close(conn);
		return -1;
	}
	r = finish(conn, 1, deadline_ms, err);
	PQclear(r);
	return r ? 0 : -1;
}

int pgconn_copy_out(PGconn **conn, const char *sql, int64_t deadline_ms, struct dl_error *err)
{
	return copy_start(conn, sql, PGRES_COPY_OUT, deadline_ms, err);
}

int pgconn_copy_row(PGconn **conn, char **line, int64_t deadline_ms, struct dl_error *err)
{
	PGresult *r;
	int n;

	if (*line)
		PQfreemem(*line);
	*line = NULL;
	if (!connected(conn, err))
		return -1;
	while ((n = PQgetCopyData(*conn, line, 1)) == 0) {
		if (!wait_fd(PQsocket(*conn), POLLIN, deadline_ms)) {
			error_set(err, "PostgreSQL COPY: no rows by the deadline (connection dropped)");
			pgconn_close(conn);
			return -1;
		}
		if (!PQconsumeInput(*conn))
			break;
	}
	if (n > 0)
		return 1;
	if (n == -1) {
		/* The end of the rows: the COPY's own result says how it went. */
		r = finish(conn, 1, deadline_ms, err);
		PQclear(r);
		return r ? 0 : -1;
	}
	if (*conn) {
		set_pq_error(err, "PostgreSQL COPY", PQerrorMessage(*conn));
		pgconn_close(conn);
	}
	return -1;
}

int pgconn_consume(PGconn **conn, struct dl_error *err)
{
	if (!*conn)
		return -1;
	if (!PQconsumeInput(*conn) || PQstatus(*conn) != CONNECTION_OK) {
		set_pq_error(err, "PostgreSQL", PQerrorMessage(*conn));
		pgconn_close(conn);
		return -1;
	}
	return 0;
}
