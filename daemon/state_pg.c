/* state_pg.c — the daemon's own store in PostgreSQL (see state_pg.h). */
#include "deadlined/state_pg.h"

#include "deadlined/lease.h"
#include "deadlined/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Forward migrations: migrations[i] takes the schema from version i to
 * i + 1.  Append; never edit a released step.  Version 1 holds what the
 * SQLite store's version 3 holds, plus the outbox's claim columns and the
 * lease's tables, which the fence joins. */
static const char *const migrations[] = {
	/* 0 → 1 */
	"CREATE TABLE obligations ("
	" case_ref text NOT NULL, rule text NOT NULL, seq integer NOT NULL,"
	" child_ref text, team_ref text, team_name text, worker_ref text, worker_name text,"
	" worker_email text, manager_email text, service_manager_email text,"
	" anchor text, due text, closed text, state text NOT NULL,"
	" stage integer NOT NULL DEFAULT 0, days_overdue integer NOT NULL DEFAULT 0,"
	" level integer NOT NULL, alerted_level integer NOT NULL DEFAULT 0, last_alert text,"
	" seen_poll bigint, first_seen bigint, updated bigint,"
	" PRIMARY KEY (case_ref, rule, seq));"
	"CREATE INDEX obligations_open ON obligations(level) WHERE closed IS NULL;"
	"CREATE TABLE notified ("
	" case_ref text NOT NULL, rule text NOT NULL, seq integer NOT NULL,"
	" what text NOT NULL, recipient text NOT NULL, at bigint,"
	" PRIMARY KEY (case_ref, rule, seq, what, recipient));"
	"CREATE TABLE outbox ("
	" id bigserial PRIMARY KEY, msg_id text NOT NULL UNIQUE, receiver text NOT NULL,"
	" recipient text, kind text NOT NULL, case_ref text, rule text,"
	" immediate integer NOT NULL DEFAULT 0, subject text, text text, html text, payload text,"
	" created bigint NOT NULL, attempts integer NOT NULL DEFAULT 0,"
	" next_attempt bigint NOT NULL, status text NOT NULL DEFAULT 'pending'"
	"  CHECK (status IN ('pending', 'sent', 'dead')),"
	" last_error text, sent_at bigint,"
	" claim_epoch bigint, claimed_at timestamptz);"
	"CREATE INDEX outbox_due ON outbox(status, next_attempt);"
	"CREATE TABLE sent_count (recipient text NOT NULL, day text NOT NULL,"
	" n integer NOT NULL, PRIMARY KEY (recipient, day));"
	"CREATE TABLE digests (recipient text NOT NULL, day text NOT NULL,"
	" PRIMARY KEY (recipient, day));"
	"CREATE TABLE acks ("
	" id bigserial PRIMARY KEY, case_ref text NOT NULL, rule text NOT NULL,"
	" seq integer NOT NULL, until text NOT NULL, reason text NOT NULL, who text NOT NULL,"
	" level integer NOT NULL, created bigint NOT NULL);"
	"CREATE INDEX acks_obligation ON acks(case_ref, rule, seq);"
	"CREATE TABLE polls ("
	" id bigserial PRIMARY KEY, started bigint NOT NULL, finished bigint,"
	" cases bigint, open bigint, due_soon bigint, overdue bigint, findings bigint,"
	" enqueued bigint);"
	"CREATE TABLE meta (key text PRIMARY KEY, value text);"
	"CREATE TABLE rechecks (case_ref text PRIMARY KEY, at bigint NOT NULL);"
	"CREATE INDEX rechecks_at ON rechecks(at);"
	LEASE_TABLES_SQL,
};

#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

struct state_pg {
	struct pgconn_settings s;
	char *conninfo, *password, *appname;
	PGconn *conn;
	char *lease_name;
	int64_t epoch;
};

#define MAXPARAMS 12

/* Text parameters for one statement. */
struct params {
	const char *v[MAXPARAMS];
	char buf[MAXPARAMS][24];
	int n;
};

static void p_str(struct params *p, const char *s)
{
	p->v[p->n++] = s;
}

static void p_int(struct params *p, int64_t x)
{
	snprintf(p->buf[p->n], sizeof p->buf[0], "%" PRId64, x);
	p->v[p->n] = p->buf[p->n];
	p->n++;
}

/* Run one statement, connecting again first if the link was lost. */
static PGresult *run(struct state_pg *st, const char *sql, const struct params *p,
		     struct dl_error *err)
{
	PGresult *r;

	if (!st->conn && !(st->conn = pgconn_connect(&st->s, err))) {
		error_prefix(err, "state database");
		return NULL;
	}
	r = pgconn_exec(&st->conn, sql, p ? p->n : 0, p ? p->v : NULL,
			pgconn_now_ms() + st->s.statement_ms + 1000, err);
	if (!r)
		error_prefix(err, "state database");
	return r;
}

/* Run a statement whose rows do not matter. */
static int run_done(struct state_pg *st, const char *sql, const struct params *p,
		    struct dl_error *err)
{
	PGresult *r = run(st, sql, p, err);

	PQclear(r);
	return r ? 0 : -1;
}

static const char SQL_SCHEMA[] =
	"BEGIN; SELECT pg_advisory_xact_lock(" PGCONN_SCHEMA_LOCK ");"
	"CREATE TABLE IF NOT EXISTS deadlined_schema (version integer NOT NULL);"
	"SELECT coalesce(max(version), 0) FROM deadlined_schema";

/* Within the transaction SQL_SCHEMA began: migrate from version v. */
static int migrate_from(struct state_pg *st, int v, struct dl_error *err)
{
	char sql[96];

	if (v > NMIGRATIONS) {
		error_set(err, "state database has schema version %d, newer than this deadlined "
			  "understands (%d); refusing to use it (was it written by a newer "
			  "release?)", v, NMIGRATIONS);
		return -1;
	}
	if (v > 0 && v < NMIGRATIONS)
		log_msg(LOG_NOTICE, "state database: migrating from schema version %d to %d", v,
			NMIGRATIONS);
	for (; v < NMIGRATIONS; v++) {
		snprintf(sql, sizeof sql, "DELETE FROM deadlined_schema;"
			 "INSERT INTO deadlined_schema VALUES (%d)", v + 1);
		if (run_done(st, migrations[v], NULL, err) < 0 ||
		    run_done(st, sql, NULL, err) < 0) {
			error_prefix(err, "migrating to schema version %d", v + 1);
			return -1;
		}
	}
	return run_done(st, "COMMIT", NULL, err);
}

static int migrate(struct state_pg *st, struct dl_error *err)
{
	PGresult *r = run(st, SQL_SCHEMA, NULL, err);
	int v;

	if (!r)
		return -1;
	v = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (migrate_from(st, v, err) < 0) {
		if (st->conn)
			run_done(st, "ROLLBACK", NULL, NULL);
		return -1;
	}
	return 0;
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		*oom = true;
	return d;
}

int state_pg_open(const struct pgconn_settings *s, struct state_pg **out,
		  struct dl_error *err)
{
	struct state_pg *st = calloc(1, sizeof *st);
	bool oom = !st;

	*out = NULL;
	if (st) {
		st->s = *s;
		if (!st->s.connect_ms)
			st->s.connect_ms = 10000;
		if (!st->s.statement_ms)
			st->s.statement_ms = 60000;
		if (!st->s.keepalive_ms)
			st->s.keepalive_ms = 15000;
		st->s.conninfo = st->conninfo = dup_or_null(s->conninfo, &oom);
		st->s.password = st->password = dup_or_null(s->password, &oom);
		st->s.application_name = st->appname = dup_or_null(s->application_name, &oom);
	}
	if (oom) {
		state_pg_close(st);
		error_set(err, "state database: out of memory");
		return -1;
	}
	if (migrate(st, err) < 0) {
		state_pg_close(st);
		return -1;
	}
	*out = st;
	return 0;
}

void state_pg_close(struct state_pg *st)
{
	if (!st)
		return;
	pgconn_close(&st->conn);
	if (st->password) {
		explicit_bzero(st->password, strlen(st->password));
		free(st->password);
	}
	free(st->conninfo);
	free(st->appname);
	free(st->lease_name);
	free(st);
}

int state_pg_version(struct state_pg *st, int *version, struct dl_error *err)
{
	PGresult *r = run(st, "SELECT coalesce(max(version), 0) FROM deadlined_schema", NULL,
			  err);

	if (!r)
		return -1;
	*version = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

int state_pg_set_fence(struct state_pg *st, const char *lease_name, int64_t epoch)
{
	char *name = strdup(lease_name);

	if (!name)
		return -1;
	free(st->lease_name);
	st->lease_name = name;
	st->epoch = epoch;
	return 0;
}

/* The fence: the lease row, read FOR SHARE so that no take (an UPDATE of
 * it) can commit between this statement's check and its write; $1 the
 * lease, $2 the epoch. */
#define FENCE \
	"fence AS (SELECT epoch FROM deadlined_lease WHERE name = $1 AND epoch = $2" \
	" AND expires_at > now() FOR SHARE)"

static void p_fence(struct state_pg *st, struct params *p)
{
	p_str(p, st->lease_name ? st->lease_name : "");
	p_int(p, st->epoch);
}

static const char SQL_ENQUEUE[] =
	"INSERT INTO outbox (msg_id, receiver, recipient, kind, case_ref, rule, immediate,"
	" subject, text, html, payload, created, next_attempt)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id";

int state_pg_enqueue(struct state_pg *st, const struct state_message *m, int64_t *id,
		     struct dl_error *err)
{
	struct params p = { .n = 0 };
	PGresult *r;

	p_str(&p, m->msg_id);
	p_str(&p, m->receiver);
	p_str(&p, m->recipient);
	p_str(&p, m->kind);
	p_str(&p, m->case_ref);
	p_str(&p, m->rule);
	p_int(&p, m->immediate);
	p_str(&p, m->subject);
	p_str(&p, m->text);
	p_str(&p, m->html);
	p_str(&p, m->payload);
	p_int(&p, m->created);
	if (!(r = run(st, SQL_ENQUEUE, &p, err)))
		return -1;
	*id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}

#define MESSAGE_COLUMNS \
	"id, msg_id, receiver, recipient, kind, case_ref, rule, immediate, subject, text," \
	" html, payload, created, next_attempt, attempts, status, last_error"

static const char *col(PGresult *r, int row, int c)
{
	return PQgetisnull(r, row, c) ? NULL : PQgetvalue(r, row, c);
}

/* Row `row` of r, from column first on, as MESSAGE_COLUMNS. */
static void read_message(PGresult *r, int row, int first, struct state_message *m)
{
	int c = first;

	m->id = strtoll(PQgetvalue(r, row, c++), NULL, 10);
	m->msg_id = col(r, row, c++);
	m->receiver = col(r, row, c++);
	m->recipient = col(r, row, c++);
	m->kind = col(r, row, c++);
	m->case_ref = col(r, row, c++);
	m->rule = col(r, row, c++);
	m->immediate = atoi(PQgetvalue(r, row, c++));
	m->subject = col(r, row, c++);
	m->text = col(r, row, c++);
	m->html = col(r, row, c++);
	m->payload = col(r, row, c++);
	m->created = strtoll(PQgetvalue(r, row, c++), NULL, 10);
	m->next_attempt = strtoll(PQgetvalue(r, row, c++), NULL, 10);
	m->attempts = atoi(PQgetvalue(r, row, c++));
	m->status = col(r, row, c++);
	m->last_error = col(r, row, c);
}

/* Walk r's rows from column first on; rows whose id is NULL are skipped
 * (the fence's row when nothing was claimed). */
static int each_row(PGresult *r, int first, state_message_fn fn, void *ctx)
{
	int rc = 0;

	for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
		struct state_message m;

		if (PQgetisnull(r, i, first))
			continue;
		read_message(r, i, first, &m);
		rc = fn(ctx, &m);
	}
	return rc;
}

/* Claims are taken from any older epoch (its holder can no longer mark
 * them) but never from a newer one; SKIP LOCKED keeps two claimers of the
 * same epoch from waiting on each other. */
static const char SQL_CLAIM[] =
	"WITH " FENCE ","
	" claimed AS ("
	"  UPDATE outbox SET claim_epoch = $2, claimed_at = now()"
	"   WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt <= $3"
	"                  AND coalesce(claim_epoch, 0) <= $2"
	"                ORDER BY immediate DESC, id LIMIT $4 FOR UPDATE SKIP LOCKED)"
	"     AND EXISTS (SELECT 1 FROM fence)"
	"  RETURNING " MESSAGE_COLUMNS ")"
	"SELECT f.held, c.* FROM (SELECT EXISTS (SELECT 1 FROM fence) AS held) f"
	" LEFT JOIN claimed c ON true ORDER BY c.immediate DESC, c.id";

int state_pg_claim_due(struct state_pg *st, int64_t now, int max, state_message_fn fn,
		       void *ctx, struct dl_error *err)
{
	struct params p = { .n = 0 };
	PGresult *r;
	int rc;

	p_fence(st, &p);
	p_int(&p, now);
	p_int(&p, max);
	if (!(r = run(st, SQL_CLAIM, &p, err)))
		return -1;
	rc = *PQgetvalue(r, 0, 0) == 't' ? each_row(r, 1, fn, ctx) : STATE_PG_FENCED;
	PQclear(r);
	return rc;
}

/* Marks only as the claiming epoch, and only while it holds. */
static const char SQL_MARK_SENT[] =
	"WITH " FENCE ","
	" m AS ("
	"  UPDATE outbox SET status = 'sent', attempts = $4, sent_at = $5, next_attempt = $5,"
	"         last_error = $6"
	"   WHERE id = $3 AND claim_epoch = $2 AND status = 'pending'"
	"     AND EXISTS (SELECT 1 FROM fence) RETURNING recipient),"
	" c AS ("
	"  INSERT INTO sent_count (recipient, day, n)"
	"  SELECT recipient, $7::text, 1 FROM m WHERE recipient IS NOT NULL"
	"  ON CONFLICT (recipient, day) DO UPDATE SET n = sent_count.n + 1)"
	"SELECT count(*) FROM m";

static const char SQL_MARK[] =
	"WITH " FENCE ","
	" m AS ("
	"  UPDATE outbox SET status = $4, attempts = $5, next_attempt = $6, last_error = $7"
	"   WHERE id = $3 AND claim_epoch = $2 AND status = 'pending'"
	"     AND EXISTS (SELECT 1 FROM fence) RETURNING id)"
	"SELECT count(*) FROM m";

/* 0 when one row changed, STATE_PG_FENCED when none did. */
static int run_mark(struct state_pg *st, const char *sql, const struct params *p,
		    struct dl_error *err)
{
	PGresult *r = run(st, sql, p, err);
	int rc;

	if (!r)
		return -1;
	rc = atoi(PQgetvalue(r, 0, 0)) == 1 ? 0 : STATE_PG_FENCED;
	PQclear(r);
	return rc;
}

int state_pg_mark_sent(struct state_pg *st, int64_t id, int attempts, int64_t sent_at,
		       const char *detail, const char *day, struct dl_error *err)
{
	struct params p = { .n = 0 };

	p_fence(st, &p);
	p_int(&p, id);
	p_int(&p, attempts);
	p_int(&p, sent_at);
	p_str(&p, detail);
	p_str(&p, day);
	return run_mark(st, SQL_MARK_SENT, &p, err);
}

int state_pg_mark_message(struct state_pg *st, int64_t id, const char *status, int attempts,
			  int64_t next_attempt, const char *last_error, struct dl_error *err)
{
	struct params p = { .n = 0 };

	if (strcmp(status, "pending") && strcmp(status, "dead")) {
		error_set(err, "state database: internal error: mark as '%s'", status);
		return -1;
	}
	p_fence(st, &p);
	p_int(&p, id);
	p_str(&p, status);
	p_int(&p, attempts);
	p_int(&p, next_attempt);
	p_str(&p, last_error);
	return run_mark(st, SQL_MARK, &p, err);
}

int state_pg_count_sent(struct state_pg *st, const char *recipient, const char *day,
			int *count, struct dl_error *err)
{
	struct params p = { .n = 0 };
	PGresult *r;

	p_str(&p, recipient);
	p_str(&p, day);
	r = run(st, "SELECT coalesce(sum(n), 0) FROM sent_count WHERE recipient = $1"
		" AND day = $2", &p, err);
	if (!r)
		return -1;
	*count = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

int state_pg_retry_dead(struct state_pg *st, int64_t id, int64_t now, int *count,
			struct dl_error *err)
{
	struct params p = { .n = 0 };
	PGresult *r;

	/* created moves on so that dead_after counts from the retry. */
	p_int(&p, id);
	p_int(&p, now);
	r = run(st, "UPDATE outbox SET status = 'pending', next_attempt = $2, created = $2"
		" WHERE status = 'dead' AND ($1 = 0 OR id = $1)", &p, err);
	if (!r)
		return -1;
	*count = atoi(PQcmdTuples(r));
	PQclear(r);
	return 0;
}

int state_pg_each_message(struct state_pg *st, const char *status, state_message_fn fn,
			  void *ctx, struct dl_error *err)
{
	struct params p = { .n = 0 };
	PGresult *r;
	int rc;

	p_str(&p, status);
	r = run(st, "SELECT " MESSAGE_COLUMNS " FROM outbox WHERE $1::text IS NULL"
		" OR status = $1 ORDER BY id", &p, err);
	if (!r)
		return -1;
	rc = each_row(r, 0, fn, ctx);
	PQclear(r);
	return rc;
}
