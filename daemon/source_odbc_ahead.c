/* source_odbc_ahead.c — the ODBC source's ranged walk with readers ahead
 * (source_odbc.h): while this thread walks and evaluates one range of
 * case_ref, source.read_ahead readers, each a thread with a connection of
 * its own in the walk's snapshot, fetch the next ranges.
 */
#include "source_odbc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deadlined/vec.h"

/* --- reading ahead: the next ranges, on connections of their own --- */

/* Why: psqlODBC hands over no row of a range before it has read the whole
 * range, so on one connection the server idles while the client converts
 * and evaluates a range, and the client idles while the server makes the
 * next.  Readers (source.read_ahead threads, each on its own connection)
 * fetch the next ranges meanwhile.  unixODBC serialises calls only on one
 * connection (at its default Threading level); psqlODBC locks each of its
 * connections.  Every reader's transaction imports the walk's snapshot
 * (pg_export_snapshot, SET TRANSACTION SNAPSHOT), so all ranges are read
 * as of one moment, as on one connection.  Ranges are numbered in key
 * order and walked in that order; a reader holds a range back while it is
 * read_ahead or more ahead of the walk, so at most 2 * read_ahead + 1
 * ranges are in memory.  Only this thread calls the tick hook. */

/* A range's rows, copied out of a reader's blocks. */
struct range_row {
	int kind;
	size_t at[NCOLS];        /* offsets in text, or NO_TEXT; at[1] unused */
};

struct range_rows {
	struct range_rows *next; /* on the spare list */
	size_t index;
	struct range_row *row;
	size_t n, cap;
	char *text;
	size_t len, text_cap;
};

struct reader {
	struct ahead *a;
	pthread_t thread;
	bool running;
	SQLHDBC dbc;
	SQLHSTMT executing;      /* under a->lock: the statement SQLCancel may stop */
	struct block b;
	struct dl_error err;
};

struct ahead {
	struct source_odbc *src;
	pthread_mutex_t lock;
	pthread_cond_t moved;    /* a range ready or taken, a failure, a stop */
	struct reader *r;
	size_t nr;               /* readers connected */
	size_t running;          /* of them, with their thread started */
	/* Held while a reader finds the next range's end (a statement), so
	 * that the walk never waits for the server on lock. */
	pthread_mutex_t claim;
	struct range_cursor cursor;     /* under claim */
	size_t claimed;          /* ranges handed out (cursor.claimed, under lock) */
	bool claims_done;        /* a reader found no range left */
	size_t walked;           /* ranges the walk has taken */
	struct range_rows **slot;   /* [index % nr]: ready, not yet taken */
	struct range_rows *spare;
	bool stop;               /* readers end: a failure, the walk over */
	bool failed;
	struct dl_error err;     /* the first reader's failure */
};

static int rows_text(struct range_rows *rr, const char *s, SQLLEN n, size_t *at)
{
	if (!s) {
		*at = NO_TEXT;
		return 0;
	}
	if (rr->len + (size_t)n + 1 > rr->text_cap) {
		size_t cap = rr->text_cap ? rr->text_cap * 2 : 65536;
		char *p;

		while (cap < rr->len + (size_t)n + 1)
			cap *= 2;
		if (!(p = realloc(rr->text, cap)))
			return -1;
		rr->text = p;
		rr->text_cap = cap;
	}
	*at = rr->len;
	memcpy(rr->text + rr->len, s, (size_t)n);
	rr->text[rr->len + (size_t)n] = '\0';
	rr->len += (size_t)n + 1;
	return 0;
}

/* Copy row of b (checked: no value cut short) to rr. */
static int rows_add(struct range_rows *rr, const struct block *b, size_t row)
{
	struct range_row *r;
	void *v = rr->row;

	if (vec_reserve(&v, &rr->cap, rr->n, sizeof *rr->row) < 0)
		return -1;
	rr->row = v;
	r = &rr->row[rr->n];
	r->kind = (int)b->kind[row];
	for (int c = 0; c < NCOLS; c++)
		if (c != 1 && rows_text(rr, odbc_cell(b, c, row), b->ind[c][row], &r->at[c]) < 0)
			return -1;
	rr->n++;
	return 0;
}

static void rows_view(const struct range_rows *rr, size_t i, struct row_view *v)
{
	v->kind = rr->row[i].kind;
	for (int c = 0; c < NCOLS; c++)
		v->v[c] = c == 1 || rr->row[i].at[c] == NO_TEXT ? NULL : rr->text + rr->row[i].at[c];
}

static void rows_free(struct range_rows *rr)
{
	while (rr) {
		struct range_rows *next = rr->next;

		free(rr->row);
		free(rr->text);
		free(rr);
		rr = next;
	}
}

/* Under a->lock. */
static struct range_rows *spare_take(struct ahead *a)
{
	struct range_rows *rr = a->spare;

	if (rr)
		a->spare = rr->next;
	else if (!(rr = calloc(1, sizeof *rr)))
		return NULL;
	rr->next = NULL;
	rr->n = rr->len = 0;
	return rr;
}

static void spare_put(struct ahead *a, struct range_rows *rr)
{
	rr->next = a->spare;
	a->spare = rr;
}

static bool stopped(struct ahead *a)
{
	bool stop;

	pthread_mutex_lock(&a->lock);
	stop = a->stop;
	pthread_mutex_unlock(&a->lock);
	return stop;
}

/* Execute st (prepared with sql) for reader rd, where ahead_end can
 * cancel it; rd NULL: the source's own connection, executed as it is.
 * Not started once the readers are stopped. */
SQLRETURN odbc_run_cancellable(struct reader *rd, SQLHSTMT st, const char *sql)
{
	struct ahead *a = rd ? rd->a : NULL;
	SQLRETURN r;

	if (!rd)
		return SQLExecDirect(st, (SQLCHAR *)sql, SQL_NTS);
	pthread_mutex_lock(&a->lock);
	rd->executing = a->stop ? SQL_NULL_HSTMT : st;
	pthread_mutex_unlock(&a->lock);
	if (rd->executing == SQL_NULL_HSTMT)
		return SQL_ERROR;
	r = SQLExecDirect(st, (SQLCHAR *)sql, SQL_NTS);
	pthread_mutex_lock(&a->lock);
	rd->executing = SQL_NULL_HSTMT;
	pthread_mutex_unlock(&a->lock);
	return r;
}

/* Read range rs whole into rr, on the reader's connection. */
static int reader_range(struct reader *rd, const struct range_spec *rs, struct range_rows *rr)
{
	struct ahead *a = rd->a;
	struct source_odbc *src = a->src;
	struct block *b = &rd->b;
	struct walk_stmt ws = { .st = SQL_NULL_HSTMT };
	SQLRETURN r;
	int rc = -1;

	if (odbc_walk_prepare(src, rd->dbc, b, rs->filter, rs->refs, rs->nrefs, &ws, &rd->err) < 0)
		goto out;
	r = odbc_run_cancellable(rd, ws.st, ws.sql);
	if (!SQL_SUCCEEDED(r)) {
		odbc_error(src, SQL_HANDLE_STMT, ws.st, "reading cases and events", &rd->err);
		goto out;
	}
	while (!stopped(a) && (r = SQLFetch(ws.st)) != SQL_NO_DATA) {
		if (!SQL_SUCCEEDED(r)) {
			odbc_error(src, SQL_HANDLE_STMT, ws.st, "reading cases and events", &rd->err);
			goto out;
		}
		for (SQLULEN i = 0; i < b->fetched; i++) {
			if (b->status[i] == SQL_ROW_ERROR) {
				odbc_error(src, SQL_HANDLE_STMT, ws.st, "reading cases and events",
					   &rd->err);
				goto out;
			}
			if (odbc_truncated(src, b, i, &rd->err))
				goto out;
			if (rows_add(rr, b, i) < 0) {
				error_set(&rd->err, "case database %s: out of memory reading cases",
					  src->name);
				goto out;
			}
		}
	}
	rc = 0;
out:
	odbc_walk_unprepare(&ws);
	return rc;
}

/* A reader: claim the next range, read it, hand it over in its turn. */
static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	struct ahead *a = rd->a;
	struct range_rows *rr = NULL;
	struct range_spec rs;
	int rc;

	for (;;) {
		/* The ends are found one range after another. */
		pthread_mutex_lock(&a->claim);
		rc = stopped(a) ? 0 : odbc_range_next(a->src, rd->dbc, rd, &a->cursor, &rs, &rd->err);
		/* Still under claim: the walk must not see "no range left"
		 * before it sees the last range claimed. */
		pthread_mutex_lock(&a->lock);
		if (rc > 0)
			a->claimed = rs.index + 1;
		else if (rc == 0)
			a->claims_done = true;
		if (rc > 0 && !(rr = spare_take(a))) {
			error_set(&rd->err, "case database %s: out of memory", a->src->name);
			rc = -1;
		}
		pthread_mutex_unlock(&a->lock);
		pthread_mutex_unlock(&a->claim);
		if (rc <= 0)
			break;
		rr->index = rs.index;
		if (reader_range(rd, &rs, rr) < 0) {
			rc = -1;
			break;
		}
		pthread_mutex_lock(&a->lock);
		while (!a->stop && rr->index >= a->walked + a->nr)
			pthread_cond_wait(&a->moved, &a->lock);
		if (!a->stop) {
			a->slot[rr->index % a->nr] = rr;
			rr = NULL;
			pthread_cond_broadcast(&a->moved);
		}
		rc = a->stop ? 0 : 1;
		pthread_mutex_unlock(&a->lock);
		if (!rc)
			break;
	}
	pthread_mutex_lock(&a->lock);
	if (rr)
		spare_put(a, rr);
	if (rc < 0 && !a->stop) {
		a->failed = a->stop = true;
		a->err = rd->err;
	}
	pthread_cond_broadcast(&a->moved);
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* The walk's snapshot, exported from its transaction on the source's own
 * connection, into id. */
static int export_snapshot(struct source_odbc *src, char *id, size_t size,
			   struct dl_error *err)
{
	SQLHSTMT st;
	SQLLEN ind;
	SQLRETURN r;

	if (odbc_statement(src, src->dbc, &st, err) < 0)
		return -1;
	r = SQLBindCol(st, 1, SQL_C_CHAR, id, (SQLLEN)size, &ind);
	if (SQL_SUCCEEDED(r))
		r = SQLExecDirect(st, (SQLCHAR *)"SELECT pg_export_snapshot()", SQL_NTS);
	if (SQL_SUCCEEDED(r))
		r = SQLFetch(st);
	if (!SQL_SUCCEEDED(r))
		odbc_error(src, SQL_HANDLE_STMT, st, "exporting the walk's snapshot", err);
	SQLCloseCursor(st);
	SQLFreeHandle(SQL_HANDLE_STMT, st);
	if (!SQL_SUCCEEDED(r))
		return -1;
	/* It goes into SET TRANSACTION SNAPSHOT's text: hex digits and '-'
	 * ("00000003-0000001B-1") and nothing else. */
	if (ind <= 0 || (size_t)ind >= size || id[strspn(id, "0123456789ABCDEFabcdef-")]) {
		error_set(err, "case database %s: exporting the walk's snapshot: an unexpected "
			  "id from pg_export_snapshot()", src->name);
		return -1;
	}
	return 0;
}

/* A reader's connection, read-only, its transaction in the snapshot id. */
static int reader_connect(struct reader *rd, const char *id)
{
	struct source_odbc *src = rd->a->src;
	char sql[128];

	snprintf(sql, sizeof sql, "SET TRANSACTION SNAPSHOT '%s'", id);
	if (odbc_connect(src, src->ranges_conn, &rd->dbc, &rd->err) < 0 ||
	    odbc_setup_session(src, rd->dbc, &rd->err) < 0)
		return -1;
	SQLSetConnectAttr(rd->dbc, SQL_ATTR_AUTOCOMMIT, (SQLPOINTER)SQL_AUTOCOMMIT_OFF, 0);
	if (odbc_exec(src, rd->dbc, sql, "importing the walk's snapshot", &rd->err) < 0)
		return -1;
	return odbc_block_alloc(&rd->b, src->fetch_rows) < 0 ? -1 : 0;
}

static void reader_close(struct reader *rd)
{
	if (rd->dbc != SQL_NULL_HDBC)
		SQLEndTran(SQL_HANDLE_DBC, rd->dbc, SQL_ROLLBACK);
	odbc_disconnect(&rd->dbc);
	odbc_block_free(&rd->b);
}

/* Stop the readers (cancelling what they run), wait for them, let go of
 * everything. */
static void ahead_end(struct ahead *a)
{
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	for (size_t i = 0; i < a->nr; i++)
		if (a->r[i].executing != SQL_NULL_HSTMT)
			SQLCancel(a->r[i].executing);
	pthread_cond_broadcast(&a->moved);
	pthread_mutex_unlock(&a->lock);
	for (size_t i = 0; i < a->nr; i++) {
		if (a->r[i].running)
			pthread_join(a->r[i].thread, NULL);
		reader_close(&a->r[i]);
	}
	for (size_t i = 0; i < a->nr; i++)
		rows_free(a->slot[i]);
	rows_free(a->spare);
	free(a->slot);
	free(a->r);
	pthread_cond_destroy(&a->moved);
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->claim);
}

/* Set up to read_ahead readers in the snapshot of the transaction open on
 * the source's connection.  Those that cannot connect (the role's
 * connection limit, say) are done without: none means the walk goes on
 * one connection.  -1: the snapshot could not be exported (or no memory). */
static int ahead_start(struct source_odbc *src, struct ahead *a, struct dl_error *err)
{
	pthread_condattr_t ca;
	char id[64];
	size_t n = src->read_ahead;

	*a = (struct ahead){ .src = src, .cursor.stage = RANGE_FIRST };
	if (export_snapshot(src, id, sizeof id, err) < 0)
		return -1;
	if (!(a->r = calloc(n, sizeof *a->r)) || !(a->slot = calloc(n, sizeof *a->slot))) {
		free(a->r);
		error_set(err, "case database %s: out of memory", src->name);
		return -1;
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->claim, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->moved, &ca);
	pthread_condattr_destroy(&ca);
	for (a->nr = 0; a->nr < n; a->nr++) {
		struct reader *rd = &a->r[a->nr];

		*rd = (struct reader){ .a = a, .dbc = SQL_NULL_HDBC, .executing = SQL_NULL_HSTMT };
		if (reader_connect(rd, id) < 0) {
			reader_close(rd);
			break;
		}
	}
	for (size_t i = 0; i < a->nr; i++)
		if ((a->r[i].running = pthread_create(&a->r[i].thread, NULL, reader_main,
						      &a->r[i]) == 0))
			a->running++;
	return 0;
}

/* The next range in key order into *out: 1, or 0 when the walk is done,
 * or -1 (err set: a reader failed, or the tick hook gave up).  The tick
 * hook is called at least every quarter of a second while this waits. */
static int ahead_take(struct walk *w, struct ahead *a, struct range_rows **out)
{
	struct timespec ts;
	int rc;

	if (odbc_walk_tick(w, SQL_NULL_HSTMT) < 0)
		return -1;
	pthread_mutex_lock(&a->lock);
	for (;;) {
		struct range_rows *rr = a->slot[a->walked % a->nr];

		if (a->failed) {
			*w->err = a->err;
			rc = -1;
			break;
		}
		if (rr && rr->index == a->walked) {
			a->slot[a->walked++ % a->nr] = NULL;
			pthread_cond_broadcast(&a->moved);
			*out = rr;
			rc = 1;
			break;
		}
		if (a->claims_done && a->walked == a->claimed) {
			rc = 0;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += 250000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (pthread_cond_timedwait(&a->moved, &a->lock, &ts) == ETIMEDOUT) {
			pthread_mutex_unlock(&a->lock);
			if (odbc_walk_tick(w, SQL_NULL_HSTMT) < 0)
				return -1;
			pthread_mutex_lock(&a->lock);
		}
	}
	pthread_mutex_unlock(&a->lock);
	return rc;
}

/* The walk from the readers' ranges, in key order. */
static int walk_ahead(struct walk *w, struct ahead *a)
{
	struct range_rows *rr;
	struct row_view v;
	int rc;

	while ((rc = ahead_take(w, a, &rr)) > 0) {
		int r = 0;

		for (size_t i = 0; r == 0 && i < rr->n; i++) {
			rows_view(rr, i, &v);
			r = odbc_walk_row(w, &v);
		}
		pthread_mutex_lock(&a->lock);
		spare_put(a, rr);
		pthread_mutex_unlock(&a->lock);
		if (r)
			return r;
	}
	return rc;
}

/* The ranged walk: by readers when any could be set up, else on the
 * source's own connection.  The caller holds the transaction. */
int odbc_walk_ranges(struct walk *w)
{
	struct source_odbc *src = w->src;
	struct ahead a;
	int rc;

	if (!src->read_ahead || !src->ranges_conn)
		return odbc_walk_chunks(w);
	if (ahead_start(src, &a, w->err) < 0) {
		/* A server that exports no snapshot: one connection, in a
		 * transaction begun again (the failure ended the first). */
		SQLEndTran(SQL_HANDLE_DBC, src->dbc, SQL_ROLLBACK);
		w->err->msg[0] = '\0';
		return odbc_walk_chunks(w);
	}
	rc = a.running ? walk_ahead(w, &a) : odbc_walk_chunks(w);
	ahead_end(&a);
	return rc;
}
