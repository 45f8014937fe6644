/* state_pg.c — the daemon's own store in PostgreSQL, which the daemons of
 * an active/standby pair share: the second state backend (state_backend.h).
 *
 * The same tables as the SQLite store, in one database.  The schema carries
 * a version in deadlined_schema; forward migrations run at open under an
 * advisory lock (two daemons starting at once never race), and a database
 * of a newer schema is refused before anything changes it.  Every
 * statement has a deadline (pgconn.h); a connection lost outside a
 * transaction is made again by the next statement, one lost inside fails
 * every statement until the rollback.
 *
 * The outbox is fenced by the leader lease (lease.h) once state_set_fence
 * names one: a message is claimed only under an epoch that holds in the
 * database at that moment, and marked only while the epoch that claimed it
 * still holds.  Each fenced statement reads the lease row FOR SHARE, so no
 * take can commit between its check and its write.  A leader that was
 * paused or cut off therefore cannot claim again, and what it had claimed
 * stays pending for the new leader, which claims it afresh (a message in
 * flight at the failure may so be sent twice, always with its stable
 * msg_id).  A sent message is counted for its recipient's daily cap in the
 * statement that marks it sent (add_sent only notes what that mark counts),
 * so a cap is counted once across the pair, and not at all for a send the
 * fence refused.  Without a fence (one daemon, deadlinectl) nothing is
 * fenced and add_sent counts at once, as in the SQLite store.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadlined/lease.h"
#include "deadlined/log.h"
#include "deadlined/pgconn.h"
#include "deadlined/receiver.h"
#include "deadlined/state_backend.h"

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
	/* 1 → 2: what the daemon keeps for deadlined-web (SQLite's 3 → 4):
	 * cover while a manager is away, and the directory as the last poll
	 * read it. */
	"CREATE TABLE cover (id bigserial PRIMARY KEY, manager text NOT NULL,"
	" deputy text NOT NULL, from_day text NOT NULL, to_day text NOT NULL, who text NOT NULL,"
	" created bigint NOT NULL);"
	"CREATE INDEX cover_deputy ON cover(deputy, to_day);"
	"CREATE TABLE directory_teams (team_ref text PRIMARY KEY, name text,"
	" manager_email text, service_manager_email text);"
	"CREATE TABLE directory_workers (worker_ref text PRIMARY KEY, name text,"
	" email text, team_ref text);",
	/* 2 → 3: a full poll compares by one walk in key order (state.h): fp,
	 * the fingerprint a poll wrote with the values (NULL: unknown, so
	 * rewritten at the next full poll), and the key in byte order
	 * (COLLATE "C", the order of strcmp and of SQLite) whatever the
	 * database's collation, so the walk reads an index, never sorts. */
	"ALTER TABLE obligations ADD COLUMN fp bigint;"
	"CREATE INDEX obligations_walk ON obligations"
	" (case_ref COLLATE \"C\", rule COLLATE \"C\", seq);",
	/* 3 → 4: deadlined-web's own records (SQLite's 3 → 4 has them):
	 * its audit trail and the hashes of calendar-feed tokens; and "whose
	 * is this" on open obligations, by address in lower case as the web
	 * compares them, so a tray reads its own rows, not every open one. */
	"CREATE TABLE web_audit (id bigserial PRIMARY KEY, at bigint NOT NULL,"
	" who text NOT NULL, origin text, action text NOT NULL, detail text);"
	"CREATE TABLE calendar_tokens (hash text PRIMARY KEY, person text NOT NULL,"
	" created bigint NOT NULL, revoked bigint);"
	"CREATE INDEX calendar_tokens_person ON calendar_tokens(person) WHERE revoked IS NULL;"
	"CREATE INDEX obligations_worker ON obligations(lower(worker_email)) WHERE closed IS NULL;"
	"CREATE INDEX obligations_manager ON obligations(lower(manager_email))"
	" WHERE closed IS NULL;"
	"CREATE INDEX obligations_service_manager ON obligations(lower(service_manager_email))"
	" WHERE closed IS NULL;",
	/* 4 → 5: case prints (state.h "Case prints"; SQLite's 5 → 6): a row
	 * for every case with obligations, NULL (unknown) to start with, and
	 * walked in byte order.  Triggers make a case's print unknown in the
	 * statement that writes its obligations, whoever writes; they are per
	 * statement, over its transition tables, so a first run's COPY of a
	 * chunk is one set-based upsert, not one per row.  (A trigger with
	 * transition tables cannot name columns: every update fires it, alert
	 * marks too, whose cases are compared in full anyway.) */
	"CREATE TABLE case_prints (case_ref text PRIMARY KEY, print bigint);"
	"CREATE UNIQUE INDEX case_prints_walk ON case_prints (case_ref COLLATE \"C\");"
	"INSERT INTO case_prints (case_ref) SELECT DISTINCT case_ref FROM obligations;"
	"CREATE FUNCTION case_prints_unknown() RETURNS trigger LANGUAGE plpgsql AS $f$"
	" BEGIN"
	"  IF TG_OP <> 'DELETE' THEN"
	"   INSERT INTO case_prints (case_ref) SELECT DISTINCT case_ref FROM new_rows"
	"    ON CONFLICT (case_ref) DO UPDATE SET print = NULL"
	"    WHERE case_prints.print IS NOT NULL;"
	"  END IF;"
	"  IF TG_OP <> 'INSERT' THEN"
	"   UPDATE case_prints SET print = NULL WHERE print IS NOT NULL"
	"    AND case_ref IN (SELECT case_ref FROM old_rows);"
	"  END IF;"
	"  RETURN NULL;"
	" END $f$;"
	"CREATE TRIGGER case_prints_insert AFTER INSERT ON obligations"
	" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
	" EXECUTE FUNCTION case_prints_unknown();"
	"CREATE TRIGGER case_prints_update AFTER UPDATE ON obligations"
	" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT"
	" EXECUTE FUNCTION case_prints_unknown();"
	"CREATE TRIGGER case_prints_delete AFTER DELETE ON obligations"
	" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT"
	" EXECUTE FUNCTION case_prints_unknown();",
	/* 5 → 6: a first run's own transactions skip the insert trigger
	 * (deadlined.first_run, set LOCAL in each; see direct_begin): the
	 * poll gives every case its print row itself after the last chunk,
	 * and the store is marked until then.  The trigger's upsert a chunk,
	 * and then an update of every print row it had made, were a third of
	 * a first run's server time (docs/PERFORMANCE.md). */
	"DROP TRIGGER case_prints_insert ON obligations;"
	"CREATE TRIGGER case_prints_insert AFTER INSERT ON obligations"
	" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
	" WHEN (current_setting('deadlined.first_run', true) IS DISTINCT FROM 'on')"
	" EXECUTE FUNCTION case_prints_unknown();",
};

#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))
_Static_assert(sizeof migrations / sizeof migrations[0] == STATE_PG_SCHEMA_VERSION,
	       "a migration for each version");

#define PREPARED 64

/* Rows in COPY's text format on their way to one table of the stage. */
struct copybuf {
	char *p;
	size_t len, cap;
	int64_t rows;
	bool oom;
};

enum { B_OB, B_DIRECT, B_GONE, B_RECHECK, B_ALERTED, B_NOTIFIED, B_PRINT, NBUF };

/* The notified keys of the case a full poll tells about: those stored and
 * those staged, so note_sent is fresh only when neither has it. */
struct notes {
	char *case_ref;
	char *keys;                       /* "rule\x1fseq\x1fwhat\x1frecipient\0" ... */
	size_t len, cap;
};

struct pg_state {
	struct state base;
	struct pgconn_settings s;
	char *conninfo, *password;
	char appname[PGCONN_TAG_MAX + 1];   /* this daemon's tag (pgconn.h) */
	PGconn *conn;
	bool in_tx;
	char *lease;                 /* the fence, or NULL */
	int64_t epoch;
	char count_recipient[320], count_day[16];   /* what the next mark counts */
	const char *prepared[PREPARED];   /* statements prepared on conn, by address */
	int nprepared;
	/* A full poll's stage (stage_begin .. stage_apply; see there). */
	bool staging, stage_made, stage_chunked, stage_direct, notified_empty;
	int64_t stage_now;                /* the database's time at stage_begin */
	struct copybuf buf[NBUF];         /* rows on their way to COPY */
	struct notes notes;               /* one case's notified keys */
};

static struct pg_state *pg(struct state *st)
{
	return (struct pg_state *)st;
}

#define MAXPARAMS 20

/* Text parameters for one statement; NULL stays NULL. */
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

/* Statements with parameters are literals in this file: each is prepared
 * once a connection (named by its place in the cache) and then only run. */
static PGresult *run_prepared(struct pg_state *s, const char *sql, const struct params *p,
			      int64_t deadline, struct dl_error *err)
{
	char name[16];
	int i;

	for (i = 0; i < s->nprepared && s->prepared[i] != sql; i++)
		;
	snprintf(name, sizeof name, "dl%d", i);
	if (i == s->nprepared) {
		if (i == PREPARED)
			return pgconn_exec(&s->conn, sql, p->n, p->v, deadline, err);
		if (pgconn_prepare(&s->conn, name, sql, p->n, deadline, err) < 0)
			return NULL;
		s->prepared[s->nprepared++] = sql;
	}
	return pgconn_exec_prepared(&s->conn, name, p->n, p->v, deadline, err);
}

/* Run one statement, connecting again first if the link was lost (never
 * inside a transaction: what it wrote so far is gone). */
static PGresult *run(struct state *st, const char *sql, const struct params *p,
		     struct dl_error *err)
{
	struct pg_state *s = pg(st);
	int64_t deadline;
	PGresult *r;

	if (!s->conn && s->in_tx) {
		error_set(err, "state database: the connection was lost in the middle of a "
			  "transaction");
		return NULL;
	}
	if (!s->conn) {
		if (!(s->conn = pgconn_connect(&s->s, err))) {
			error_prefix(err, "state database");
			return NULL;
		}
		s->nprepared = 0;
		s->stage_made = false;    /* temporary tables went with the link */
	}
	deadline = pgconn_now_ms() + s->s.statement_ms + 1000;
	r = p ? run_prepared(s, sql, p, deadline, err) :
		pgconn_exec(&s->conn, sql, 0, NULL, deadline, err);
	if (!r)
		error_prefix(err, "state database");
	return r;
}

/* Run a statement whose rows do not matter. */
static int run_done(struct state *st, const char *sql, const struct params *p,
		    struct dl_error *err)
{
	PGresult *r = run(st, sql, p, err);

	PQclear(r);
	return r ? 0 : -1;
}

/* Run a statement of one row of numbers into v[0 .. n-1] (NULL as 0). */
static int run_numbers(struct state *st, const char *sql, const struct params *p, int64_t *v,
		       int n, struct dl_error *err)
{
	PGresult *r = run(st, sql, p, err);

	if (!r)
		return -1;
	for (int i = 0; i < n; i++)
		v[i] = PQntuples(r) && !PQgetisnull(r, 0, i) ?
			strtoll(PQgetvalue(r, 0, i), NULL, 10) : 0;
	PQclear(r);
	return 0;
}

/* How many rows a statement changed. */
static int run_changes(struct state *st, const char *sql, const struct params *p, int *count,
		       struct dl_error *err)
{
	PGresult *r = run(st, sql, p, err);

	if (!r)
		return -1;
	*count = atoi(PQcmdTuples(r));
	PQclear(r);
	return 0;
}

static const char *col(PGresult *r, int row, int c)
{
	return PQgetisnull(r, row, c) ? NULL : PQgetvalue(r, row, c);
}

static int num(PGresult *r, int row, int c)
{
	return PQgetisnull(r, row, c) ? 0 : atoi(PQgetvalue(r, row, c));
}

static int64_t num64(PGresult *r, int row, int c)
{
	return PQgetisnull(r, row, c) ? 0 : strtoll(PQgetvalue(r, row, c), NULL, 10);
}

/* --- Opening: the schema's version and migrations ------------------------- */

static const char SQL_SCHEMA[] =
	"BEGIN; SELECT pg_advisory_xact_lock(" PGCONN_SCHEMA_LOCK ");"
	"CREATE TABLE IF NOT EXISTS deadlined_schema (version integer NOT NULL);"
	"SELECT coalesce(max(version), 0) FROM deadlined_schema";

static int refuse_other(int v, bool readonly, struct dl_error *err)
{
	if (v > NMIGRATIONS)
		error_set(err, "state database has schema version %d, newer than this deadlined "
			  "understands (%d); refusing to use it (was it written by a newer "
			  "release?)", v, NMIGRATIONS);
	else if (readonly && v < NMIGRATIONS)
		error_set(err, "state database has schema version %d and this release reads "
			  "version %d; start the new deadlined once (it migrates the database)",
			  v, NMIGRATIONS);
	else
		return 0;
	return -1;
}

/* Within the transaction SQL_SCHEMA began: migrate from version v. */
static int migrate_from(struct state *st, int v, struct dl_error *err)
{
	char sql[96];

	if (refuse_other(v, false, err) < 0)
		return -1;
	if (v > 0 && v < NMIGRATIONS)
		log_msg(LOG_NOTICE, "state database: migrating from schema version %d to %d", v,
			NMIGRATIONS);
	for (; v < NMIGRATIONS; v++) {
		snprintf(sql, sizeof sql, "DELETE FROM deadlined_schema;"
			 "INSERT INTO deadlined_schema VALUES (%d)", v + 1);
		if (run_done(st, migrations[v], NULL, err) < 0 || run_done(st, sql, NULL, err) < 0) {
			error_prefix(err, "migrating to schema version %d", v + 1);
			return -1;
		}
	}
	return run_done(st, "COMMIT", NULL, err);
}

static int migrate(struct state *st, struct dl_error *err)
{
	PGresult *r = run(st, SQL_SCHEMA, NULL, err);
	int v;

	if (!r)
		return -1;
	v = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (migrate_from(st, v, err) < 0) {
		run_done(st, "ROLLBACK", NULL, NULL);
		return -1;
	}
	return 0;
}

/* Read-only: nothing is made, and only this release's version is read. */
static int check_version(struct state *st, struct dl_error *err)
{
	int64_t v = 0;
	PGresult *r = run(st, "SELECT to_regclass('deadlined_schema') IS NOT NULL", NULL, err);
	bool exists;

	if (!r)
		return -1;
	exists = *PQgetvalue(r, 0, 0) == 't';
	PQclear(r);
	if (exists && run_numbers(st, "SELECT max(version) FROM deadlined_schema", NULL, &v, 1,
				  err) < 0)
		return -1;
	return refuse_other((int)v, true, err);
}

static void stage_free(struct pg_state *s);

static void pg_close(struct state *st)
{
	struct pg_state *s = pg(st);

	if (!s)
		return;
	pgconn_close(&s->conn);
	if (s->password) {
		explicit_bzero(s->password, strlen(s->password));
		free(s->password);
	}
	free(s->conninfo);
	free(s->lease);
	stage_free(s);
	free(s);
}

static int pg_open(const struct state_conf *conf, bool readonly, struct state **out,
		   struct dl_error *err)
{
	struct pg_state *s = calloc(1, sizeof *s);
	char holder[300];

	*out = NULL;
	if (!s || !(s->conninfo = strdup(conf->conninfo ? conf->conninfo : ""))) {
		free(s);
		error_set(err, "state database: out of memory");
		return -1;
	}
	s->base.ops = &state_pg_ops;
	if (receiver_read_secret(conf->password_file, conf->password_credential, &s->password,
				 err) < 0) {
		error_prefix(err, "state database");
		pg_close(&s->base);
		return -1;
	}
	/* Tagged with our holder name, so that the next leader can end these
	 * sessions if we freeze while leading (lease.h). */
	if (conf->holder)
		snprintf(holder, sizeof holder, "%s", conf->holder);
	else
		pgconn_holder(holder, sizeof holder);
	pgconn_tag(s->appname, sizeof s->appname, holder);
	s->s = (struct pgconn_settings){ .conninfo = s->conninfo, .password = s->password,
		.application_name = readonly ? "deadlinectl" : s->appname,
		.connect_ms = 10000, .statement_ms = 120000, .keepalive_ms = 15000,
		.lock_ms = 5000, .readonly = readonly };
	if ((readonly ? check_version : migrate)(&s->base, err) < 0) {
		pg_close(&s->base);
		return -1;
	}
	*out = &s->base;
	return 0;
}

static bool pg_exists(const struct state_conf *conf)
{
	(void)conf;
	return true;
}

static void pg_describe(const struct state_conf *conf, char *buf, size_t size)
{
	pgconn_describe(conf->conninfo, buf, size);
}

/* How long a write waits for a lock another writer holds. */
static void pg_set_write_wait(struct state *st, int ms)
{
	char sql[64];

	pg(st)->s.lock_ms = ms;
	snprintf(sql, sizeof sql, "SET lock_timeout = %d", ms);
	run_done(st, sql, NULL, NULL);
}

static int pg_set_fence(struct state *st, const char *lease, int64_t epoch)
{
	char *name = lease ? strdup(lease) : NULL;

	if (lease && !name)
		return -1;
	free(pg(st)->lease);
	pg(st)->lease = name;
	pg(st)->epoch = epoch;
	return 0;
}

static int pg_begin(struct state *st, struct dl_error *err)
{
	if (run_done(st, "BEGIN", NULL, err) < 0)
		return -1;
	pg(st)->in_tx = true;
	return 0;
}

static int fence_holds(struct state *st, struct dl_error *err);
static void pg_rollback(struct state *st);

/* A fenced store commits only while its epoch holds the lease: a leader
 * deposed in the middle of a poll commits none of it. */
static int pg_commit(struct state *st, struct dl_error *err)
{
	int rc;

	if (fence_holds(st, err) < 0) {
		pg_rollback(st);
		return -1;
	}
	/* Still in_tx: a link lost now fails the COMMIT, never reconnects. */
	rc = run_done(st, "COMMIT", NULL, err);
	pg(st)->in_tx = false;        /* ended, whether COMMIT succeeded or not */
	return rc;
}

static void pg_rollback(struct state *st)
{
	if (pg(st)->conn && pg(st)->in_tx)
		run_done(st, "ROLLBACK", NULL, NULL);
	pg(st)->in_tx = false;
}

/* --- Obligations ----------------------------------------------------------- */

#define NOW_S "extract(epoch FROM now())::bigint"

/* The row as it was (old, read first: every part of a statement sees the
 * same snapshot), then the write, which leaves a closed obligation that did
 * not change alone and only marks an unchanged open one as seen. */
static const char SQL_PUT_OB[] =
	"WITH old AS (SELECT level, alerted_level, last_alert FROM obligations"
	"  WHERE case_ref = $1 AND rule = $2 AND seq = $3),"
	" put AS ("
	"  INSERT INTO obligations (case_ref, rule, seq, child_ref, team_ref, team_name,"
	"   worker_ref, worker_name, worker_email, manager_email, service_manager_email,"
	"   anchor, due, closed, state, stage, days_overdue, level, seen_poll, fp, first_seen,"
	"   updated)"
	"  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,"
	"   $18, $19, $20, " NOW_S ", " NOW_S ")"
	"  ON CONFLICT (case_ref, rule, seq) DO UPDATE SET child_ref = $4, team_ref = $5,"
	"   team_name = $6, worker_ref = $7, worker_name = $8, worker_email = $9,"
	"   manager_email = $10, service_manager_email = $11, anchor = $12, due = $13,"
	"   closed = $14, state = $15, stage = $16, days_overdue = $17, level = $18,"
	"   seen_poll = $19, fp = $20, updated = CASE WHEN obligations.level <> $18"
	"    OR obligations.state <> $15 THEN " NOW_S " ELSE obligations.updated END"
	"  WHERE obligations.closed IS NULL OR (obligations.child_ref, obligations.team_ref,"
	"   obligations.team_name, obligations.worker_ref, obligations.worker_name,"
	"   obligations.worker_email, obligations.manager_email,"
	"   obligations.service_manager_email, obligations.anchor, obligations.due,"
	"   obligations.closed, obligations.state, obligations.stage,"
	"   obligations.days_overdue, obligations.level) IS DISTINCT FROM"
	"   ($4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16::integer,"
	"    $17::integer, $18::integer))"
	"SELECT level, alerted_level, last_alert FROM old";

/* An obligation's key and values as $1 .. $18 (SQL_PUT_OB's order). */
static void p_obligation(struct params *p, const struct state_obligation *ob)
{
	const char *const text[] = { ob->child_ref, ob->team_ref, ob->team_name, ob->worker_ref,
				     ob->worker_name, ob->worker_email, ob->manager_email,
				     ob->service_manager_email, ob->anchor, ob->due, ob->closed,
				     ob->state };

	p_str(p, ob->case_ref);
	p_str(p, ob->rule);
	p_int(p, ob->seq);
	for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
		p_str(p, text[i]);
	p_int(p, ob->stage);
	p_int(p, ob->days_overdue);
	p_int(p, ob->level);
}

static int pg_put_obligation(struct state *st, const struct state_obligation *ob,
			     int64_t poll, struct state_prev *prev, struct dl_error *err)
{
	struct params p = { .n = 0 };
	PGresult *r;

	p_obligation(&p, ob);
	p_int(&p, poll);
	p_int(&p, ob->fp);
	if (!(r = run(st, SQL_PUT_OB, &p, err)))
		return -1;
	memset(prev, 0, sizeof *prev);
	if (PQntuples(r) == 1) {
		prev->found = true;
		prev->level = num(r, 0, 0);
		prev->alerted_level = num(r, 0, 1);
		snprintf(prev->last_alert, sizeof prev->last_alert, "%s",
			 col(r, 0, 2) ? col(r, 0, 2) : "");
	}
	PQclear(r);
	return 0;
}

/* --- A full poll's stage and walk (state.h) -------------------------------
 *
 * A full poll reads the stored obligations once, in key order, streamed by
 * one COPY on a second connection in the stage's REPEATABLE READ snapshot
 * (pg_export_snapshot; see pg_walk_begin), while what it would change goes
 * into temporary tables of this connection by COPY, a round trip a
 * megabyte.  stage_apply ends the snapshot and applies the
 * stage with a few set-based statements: what tells nobody in short
 * transactions of PG_STAGE_CHUNK rows, then the final transaction with the
 * rechecks, the obligations that alert, the alert marks and the notified
 * log, left open for the poll's messages.  Every commit of a fenced store
 * is fenced (fence_holds): a deposed leader's poll commits nothing more.
 * Over an empty store (a first run) the quiet obligations are copied
 * straight into obligations, a chunk a transaction.  Row locks never block
 * a reader or an ack in PostgreSQL, so no pause is needed between chunks. */

#define PG_STAGE_CHUNK 10000
#define COPY_FLUSH (1 << 20)     /* bytes of a buffer sent at once */

#define OB_COLUMNS \
	"case_ref, rule, seq, child_ref, team_ref, team_name, worker_ref, worker_name," \
	" worker_email, manager_email, service_manager_email, anchor, due, closed, state," \
	" stage, days_overdue, level, fp"
#define OB_UPSERT \
	" ON CONFLICT (case_ref, rule, seq) DO UPDATE SET child_ref = EXCLUDED.child_ref," \
	" team_ref = EXCLUDED.team_ref, team_name = EXCLUDED.team_name," \
	" worker_ref = EXCLUDED.worker_ref, worker_name = EXCLUDED.worker_name," \
	" worker_email = EXCLUDED.worker_email, manager_email = EXCLUDED.manager_email," \
	" service_manager_email = EXCLUDED.service_manager_email, anchor = EXCLUDED.anchor," \
	" due = EXCLUDED.due, closed = EXCLUDED.closed, state = EXCLUDED.state," \
	" stage = EXCLUDED.stage, days_overdue = EXCLUDED.days_overdue," \
	" level = EXCLUDED.level, seen_poll = EXCLUDED.seen_poll, fp = EXCLUDED.fp," \
	" updated = CASE WHEN obligations.level <> EXCLUDED.level" \
	"  OR obligations.state <> EXCLUDED.state THEN EXCLUDED.updated" \
	"  ELSE obligations.updated END"

static const char STAGE_SCHEMA[] =
	"CREATE TEMP TABLE IF NOT EXISTS stage_ob (id bigint GENERATED ALWAYS AS IDENTITY"
	" PRIMARY KEY, alerts boolean NOT NULL, case_ref text, rule text, seq integer, child_ref text,"
	" team_ref text, team_name text, worker_ref text, worker_name text, worker_email text,"
	" manager_email text, service_manager_email text, anchor text, due text, closed text,"
	" state text, stage integer, days_overdue integer, level integer, fp bigint);"
	"CREATE TEMP TABLE IF NOT EXISTS stage_gone (id bigint GENERATED ALWAYS AS IDENTITY"
	" PRIMARY KEY, case_ref text, rule text, seq integer);"
	"CREATE TEMP TABLE IF NOT EXISTS stage_recheck (id bigint GENERATED ALWAYS AS IDENTITY,"
	" case_ref text, at bigint);"
	"CREATE TEMP TABLE IF NOT EXISTS stage_alerted (case_ref text, rule text, seq integer,"
	" level integer, day text);"
	"CREATE TEMP TABLE IF NOT EXISTS stage_notified (case_ref text, rule text, seq integer,"
	" what text, recipient text);"
	/* Keyed by id: after a first run or an upgrade it holds a print for
	 * every case, applied a chunk of ids at a time. */
	"CREATE TEMP TABLE IF NOT EXISTS stage_print (id bigint GENERATED ALWAYS AS IDENTITY"
	" PRIMARY KEY, case_ref text, print bigint)";
static const char STAGE_EMPTY[] =
	"TRUNCATE pg_temp.stage_ob, pg_temp.stage_gone, pg_temp.stage_recheck,"
	" pg_temp.stage_alerted, pg_temp.stage_notified, pg_temp.stage_print RESTART IDENTITY";

static const char *const copy_sql[NBUF] = {
	[B_OB] = "COPY pg_temp.stage_ob (alerts, " OB_COLUMNS ") FROM STDIN",
	[B_DIRECT] = "COPY obligations (" OB_COLUMNS ", seen_poll, first_seen, updated)"
		     " FROM STDIN",
	[B_GONE] = "COPY pg_temp.stage_gone (case_ref, rule, seq) FROM STDIN",
	[B_RECHECK] = "COPY pg_temp.stage_recheck (case_ref, at) FROM STDIN",
	[B_ALERTED] = "COPY pg_temp.stage_alerted (case_ref, rule, seq, level, day) FROM STDIN",
	[B_NOTIFIED] = "COPY pg_temp.stage_notified (case_ref, rule, seq, what, recipient)"
		       " FROM STDIN",
	[B_PRINT] = "COPY pg_temp.stage_print (case_ref, print) FROM STDIN",
};

static int fence_holds(struct state *st, struct dl_error *err);

static bool cb_reserve(struct copybuf *b, size_t more)
{
	if (b->oom || b->len + more <= b->cap)
		return !b->oom;
	size_t cap = (b->len + more) * 2;
	char *p = realloc(b->p, cap);

	if (!p)
		return !(b->oom = true);
	b->p = p;
	b->cap = cap;
	return true;
}

/* One field and its tab; NULL is \N, and backslash, tab and line ends are
 * escaped as COPY's text format reads them. */
static void cb_text(struct copybuf *b, const char *v)
{
	if (!v) {
		/* Three bytes, no NUL: sprintf wrote a fourth past a full buffer. */
		if (cb_reserve(b, 3)) {
			memcpy(b->p + b->len, "\\N\t", 3);
			b->len += 3;
		}
		return;
	}
	if (!cb_reserve(b, strlen(v) * 2 + 1))
		return;
	for (; *v; v++) {
		char c = *v == '\t' ? 't' : *v == '\n' ? 'n' : *v == '\r' ? 'r' : *v;

		if (c != *v || c == '\\')
			b->p[b->len++] = '\\';
		b->p[b->len++] = c;
	}
	b->p[b->len++] = '\t';
}

/* By hand, not sprintf: seven of these a row were a sixth of a first
 * run's CPU in the daemon (vfprintf and its helpers). */
static void cb_int(struct copybuf *b, int64_t v)
{
	char d[24], *p = d + sizeof d;
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	*--p = '\t';
	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	if (cb_reserve(b, (size_t)(d + sizeof d - p))) {
		memcpy(b->p + b->len, p, (size_t)(d + sizeof d - p));
		b->len += (size_t)(d + sizeof d - p);
	}
}

/* The row is complete: its last tab becomes the line's end. */
static void cb_end(struct copybuf *b)
{
	if (!b->oom) {
		b->p[b->len - 1] = '\n';
		b->rows++;
	}
}

static void cb_obligation(struct copybuf *b, const struct state_obligation *ob)
{
	const char *const text[] = { ob->case_ref, ob->rule, NULL, ob->child_ref, ob->team_ref,
				     ob->team_name, ob->worker_ref, ob->worker_name,
				     ob->worker_email, ob->manager_email,
				     ob->service_manager_email, ob->anchor, ob->due, ob->closed,
				     ob->state };

	for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
		if (i == 2)
			cb_int(b, ob->seq);
		else
			cb_text(b, text[i]);
	cb_int(b, ob->stage);
	cb_int(b, ob->days_overdue);
	cb_int(b, ob->level);
	cb_int(b, ob->fp);
}

/* Send what buffer i holds to its table. */
static int flush(struct state *st, int i, struct dl_error *err)
{
	struct pg_state *s = pg(st);
	struct copybuf *b = &s->buf[i];
	int rc;

	if (b->oom) {
		error_set(err, "state database: out of memory staging a full poll");
		return -1;
	}
	if (!b->len)
		return 0;
	if (!s->conn) {
		error_set(err, "state database: the connection was lost in the middle of a "
			  "transaction");
		return -1;
	}
	rc = pgconn_copy_in(&s->conn, copy_sql[i], b->p, b->len,
			    pgconn_now_ms() + s->s.statement_ms + 1000, err);
	b->len = 0;
	if (rc < 0)
		error_prefix(err, "state database");
	return rc;
}

static int flush_all(struct state *st, struct dl_error *err)
{
	for (int i = 0; i < NBUF; i++)
		if (flush(st, i, err) < 0)
			return -1;
	return 0;
}

/* A row ended in buffer i: send the buffer once it is big. */
static int row_done(struct state *st, int i, struct dl_error *err)
{
	cb_end(&pg(st)->buf[i]);
	return pg(st)->buf[i].len >= COPY_FLUSH || pg(st)->buf[i].oom ? flush(st, i, err) : 0;
}

static void notes_reset(struct notes *n)
{
	free(n->case_ref);
	n->case_ref = NULL;
	n->len = 0;
}

static void stage_reset(struct pg_state *s)
{
	for (int i = 0; i < NBUF; i++)
		s->buf[i] = (struct copybuf){ .p = s->buf[i].p, .cap = s->buf[i].cap };
	notes_reset(&s->notes);
}

static void stage_free(struct pg_state *s)
{
	for (int i = 0; i < NBUF; i++)
		free(s->buf[i].p);
	notes_reset(&s->notes);
	free(s->notes.keys);
}

/* A first run's transaction: its COPY straight into obligations skips the
 * insert trigger (schema 6), and the poll writes each case's print row
 * itself, after the case's rows (poll_merge_case_end; state.h).  Its first
 * transaction marks the store and its final one clears the mark; a first
 * run that did not get that far (a crash or failure between chunks) may
 * leave cases with rows and no print row, and the next full poll that
 * finds the mark gives every case its row first (one scan of obligations,
 * once, fenced).  As the SQLite store's first run does. */
static const char SQL_DIRECT_TX[] = "SET LOCAL deadlined.first_run = on";
static const char SQL_DIRECT_OFF[] = "SET LOCAL deadlined.first_run = off";
#define PRINTS_PARTIAL_KEY "'case_prints_partial'"
static const char SQL_PRINTS_PARTIAL[] =
	"INSERT INTO meta (key, value) VALUES (" PRINTS_PARTIAL_KEY ", '1')"
	" ON CONFLICT (key) DO NOTHING";
static const char SQL_PRINTS_WHOLE[] = "DELETE FROM meta WHERE key = " PRINTS_PARTIAL_KEY;
#define SQL_PRINTS_CHECK \
	"(EXISTS (SELECT 1 FROM meta WHERE key = " PRINTS_PARTIAL_KEY "))::int"
static const char SQL_PRINTS_REPAIR[] =
	"INSERT INTO case_prints (case_ref) SELECT DISTINCT case_ref FROM obligations"
	" ON CONFLICT (case_ref) DO NOTHING";

static int direct_begin(struct state *st, struct dl_error *err)
{
	return pg_begin(st, err) < 0 ? -1 : run_done(st, SQL_DIRECT_TX, NULL, err);
}

static int repair_prints(struct state *st, struct dl_error *err)
{
	log_msg(LOG_NOTICE, "state database: a first run did not finish; giving every case "
		"its print row");
	if (pg_begin(st, err) < 0)
		return -1;
	if (run_done(st, SQL_PRINTS_REPAIR, NULL, err) < 0 ||
	    run_done(st, SQL_PRINTS_WHOLE, NULL, err) < 0 || pg_commit(st, err) < 0) {
		pg_rollback(st);
		return -1;
	}
	return 0;
}

static int pg_stage_begin(struct state *st, bool chunked, struct dl_error *err)
{
	struct pg_state *s = pg(st);
	int64_t v[4];

	if (!s->stage_made || !s->conn) {
		if (run_done(st, STAGE_SCHEMA, NULL, err) < 0)
			return -1;
		s->stage_made = true;
	}
	if (run_numbers(st, "SELECT (NOT EXISTS (SELECT 1 FROM obligations))::int,"
			" (NOT EXISTS (SELECT 1 FROM notified))::int, " NOW_S ", " SQL_PRINTS_CHECK,
			NULL, v, 4, err) < 0 || (v[3] && !v[0] && repair_prints(st, err) < 0))
		return -1;
	/* Chunked, a snapshot of the stored state that the walk and the
	 * lookups read, while the stage is written; a first run has nothing
	 * to read and commits its chunks as it goes.  A dry run: the one
	 * transaction everything goes in. */
	s->stage_direct = v[0] != 0;
	if (pg_begin(st, err) < 0)
		return -1;
	if ((chunked && !s->stage_direct &&
	     run_done(st, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", NULL, err) < 0) ||
	    run_done(st, STAGE_EMPTY, NULL, err) < 0 ||
	    (s->stage_direct && (run_done(st, SQL_DIRECT_TX, NULL, err) < 0 ||
				 run_done(st, SQL_PRINTS_PARTIAL, NULL, err) < 0))) {
		pg_rollback(st);
		return -1;
	}
	s->notified_empty = v[1] != 0;
	s->stage_now = v[2];
	stage_reset(s);
	s->staging = true;
	s->stage_chunked = chunked;
	return 0;
}

static void pg_stage_abort(struct state *st)
{
	if (pg(st)->staging)
		pg_rollback(st);
	pg(st)->staging = false;
	stage_reset(pg(st));
}

static const char SQL_WRITE_OB[] =
	"INSERT INTO obligations (" OB_COLUMNS ", seen_poll, first_seen, updated)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,"
	" $18, $19, 0, " NOW_S ", " NOW_S ")" OB_UPSERT;

/* A first run's quiet obligation, straight into the store; a chunk full
 * is committed (fenced), and the next begun. */
static int direct_write(struct state *st, const struct state_obligation *ob,
			struct dl_error *err)
{
	struct pg_state *s = pg(st);
	struct copybuf *b = &s->buf[B_DIRECT];

	cb_obligation(b, ob);
	cb_int(b, 0);
	cb_int(b, s->stage_now);
	cb_int(b, s->stage_now);
	cb_end(b);
	if (b->rows % PG_STAGE_CHUNK && b->len < 8 * COPY_FLUSH)
		return 0;
	if (flush(st, B_DIRECT, err) < 0)
		return -1;
	if (!s->stage_chunked)
		return 0;
	return pg_commit(st, err) < 0 ? -1 : direct_begin(st, err);
}

static int pg_stage_obligation(struct state *st, const struct state_obligation *ob,
			       bool alerts, struct dl_error *err)
{
	struct pg_state *s = pg(st);
	struct params p = { .n = 0 };

	if (!s->staging) {
		p_obligation(&p, ob);
		p_int(&p, ob->fp);
		return run_done(st, SQL_WRITE_OB, &p, err);
	}
	if (s->stage_direct && !alerts)
		return direct_write(st, ob, err);
	cb_text(&s->buf[B_OB], alerts ? "t" : "f");
	cb_obligation(&s->buf[B_OB], ob);
	return row_done(st, B_OB, err);
}

static const char SQL_CLOSE_GONE[] =
	"UPDATE obligations SET closed = 'gone', state = 'gone', level = -1, fp = NULL,"
	" updated = " NOW_S " WHERE case_ref = $1 AND rule = $2 AND seq = $3 AND closed IS NULL";

/* case_ref, rule, seq into buffer i; more fields may follow. */
static void cb_key(struct copybuf *b, const char *case_ref, const char *rule, int seq)
{
	cb_text(b, case_ref);
	cb_text(b, rule);
	cb_int(b, seq);
}

static int pg_stage_gone(struct state *st, const char *case_ref, const char *rule, int seq,
			 struct dl_error *err)
{
	struct params p = { .n = 0 };

	if (!pg(st)->staging) {
		p_str(&p, case_ref);
		p_str(&p, rule);
		p_int(&p, seq);
		return run_done(st, SQL_CLOSE_GONE, &p, err);
	}
	cb_key(&pg(st)->buf[B_GONE], case_ref, rule, seq);
	return row_done(st, B_GONE, err);
}

/* Staged, also over an empty store: the first run's rows go in by COPY
 * with the insert trigger skipped (direct_begin), and the prints follow in
 * the apply, after the last chunk. */
static int pg_stage_case_print(struct state *st, const char *case_ref, int64_t print,
			       struct dl_error *err)
{
	struct copybuf *b = &pg(st)->buf[B_PRINT];

	cb_text(b, case_ref);
	if (print == STATE_PRINT_UNKNOWN)
		cb_text(b, NULL);
	else
		cb_int(b, print);
	return row_done(st, B_PRINT, err);
}

static int pg_unstage_gone_case(struct state *st, const char *case_ref, struct dl_error *err)
{
	struct params p = { .n = 0 };

	p_str(&p, case_ref);
	return flush(st, B_GONE, err) < 0 ? -1 :
		run_done(st, "DELETE FROM pg_temp.stage_gone WHERE case_ref = $1", &p, err);
}

static int stage_alerted(struct state *st, const char *case_ref, const char *rule, int seq,
			 int level, const char *day, struct dl_error *err)
{
	struct copybuf *b = &pg(st)->buf[B_ALERTED];

	cb_key(b, case_ref, rule, seq);
	cb_int(b, level);
	cb_text(b, day);
	return row_done(st, B_ALERTED, err);
}

/* STATE_NO_RECHECK as NULL: the last row of a case says. */
static int stage_recheck(struct state *st, const char *case_ref, int64_t at,
			 struct dl_error *err)
{
	struct copybuf *b = &pg(st)->buf[B_RECHECK];

	cb_text(b, case_ref);
	if (at == STATE_NO_RECHECK)
		cb_text(b, NULL);
	else
		cb_int(b, at);
	return row_done(st, B_RECHECK, err);
}

static bool notes_add(struct notes *n, const char *key)
{
	size_t k = strlen(key) + 1;

	if (n->len + k > n->cap) {
		char *p = realloc(n->keys, (n->len + k) * 2);

		if (!p)
			return false;
		n->keys = p;
		n->cap = (n->len + k) * 2;
	}
	memcpy(n->keys + n->len, key, k);
	n->len += k;
	return true;
}

static bool notes_have(const struct notes *n, const char *key)
{
	for (size_t at = 0; at < n->len; at += strlen(n->keys + at) + 1)
		if (!strcmp(n->keys + at, key))
			return true;
	return false;
}

/* Hold what the store notified about case_ref (nothing when the log was
 * empty at stage_begin: a first run asks nothing).  A full poll gives each
 * case once, so one case's notes are all the stage must remember. */
static int notes_load(struct state *st, const char *case_ref, struct dl_error *err)
{
	struct notes *n = &pg(st)->notes;
	struct params p = { .n = 0 };
	PGresult *r;
	char key[1024];

	notes_reset(n);
	if (!(n->case_ref = strdup(case_ref))) {
		error_set(err, "out of memory");
		return -1;
	}
	if (pg(st)->notified_empty)
		return 0;
	p_str(&p, case_ref);
	if (!(r = run(st, "SELECT rule || chr(31) || seq || chr(31) || what || chr(31) ||"
		      " recipient FROM notified WHERE case_ref = $1", &p, err)))
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		snprintf(key, sizeof key, "%s", PQgetvalue(r, i, 0));
		if (!notes_add(n, key)) {
			PQclear(r);
			error_set(err, "out of memory");
			return -1;
		}
	}
	PQclear(r);
	return 0;
}

static int stage_note(struct state *st, const char *case_ref, const char *rule, int seq,
		      const char *what, const char *recipient, bool *fresh, struct dl_error *err)
{
	struct notes *n = &pg(st)->notes;
	struct copybuf *b = &pg(st)->buf[B_NOTIFIED];
	char key[1024];

	*fresh = false;
	if ((!n->case_ref || strcmp(n->case_ref, case_ref)) && notes_load(st, case_ref, err) < 0)
		return -1;
	snprintf(key, sizeof key, "%s\x1f%d\x1f%s\x1f%s", rule, seq, what, recipient);
	if (notes_have(n, key))
		return 0;
	if (!notes_add(n, key)) {
		error_set(err, "out of memory");
		return -1;
	}
	*fresh = true;
	cb_key(b, case_ref, rule, seq);
	cb_text(b, what);
	cb_text(b, recipient);
	return row_done(st, B_NOTIFIED, err);
}

/* The apply statements: $1 < id <= $2 picks a chunk of the stage. */
/* A key staged twice (a source that gave a case twice) is written once,
 * as last staged: an upsert may not touch a row twice in one statement. */
static const char SQL_APPLY_OB[] =
	"INSERT INTO obligations (" OB_COLUMNS ", seen_poll, first_seen, updated)"
	" SELECT DISTINCT ON (case_ref, rule, seq) " OB_COLUMNS ", 0, " NOW_S ", " NOW_S
	" FROM pg_temp.stage_ob WHERE id > $1 AND id <= $2 AND alerts = $3"
	" ORDER BY case_ref, rule, seq, id DESC" OB_UPSERT;
static const char SQL_APPLY_GONE[] =
	"UPDATE obligations o SET closed = 'gone', state = 'gone', level = -1, fp = NULL,"
	" updated = " NOW_S " FROM pg_temp.stage_gone g WHERE g.id > $1 AND g.id <= $2"
	" AND o.case_ref = g.case_ref AND o.rule = g.rule AND o.seq = g.seq"
	" AND o.closed IS NULL";
/* A case staged twice (it came again, out of order): the last print. */
static const char SQL_APPLY_PRINT[] =
	"INSERT INTO case_prints (case_ref, print) SELECT DISTINCT ON (case_ref) case_ref, print"
	" FROM pg_temp.stage_print WHERE id > $1 AND id <= $2 ORDER BY case_ref, id DESC"
	" ON CONFLICT (case_ref) DO UPDATE SET print = EXCLUDED.print";
/* Rechecks are replaced whole (a full poll saw every case), writing only
 * what differs: most cases keep theirs from poll to poll. */
static const char SQL_APPLY_RECHECKS[] =
	"CREATE TEMP TABLE IF NOT EXISTS stage_recheck_last (case_ref text PRIMARY KEY,"
	" at bigint);"
	"TRUNCATE pg_temp.stage_recheck_last;"
	"INSERT INTO pg_temp.stage_recheck_last SELECT DISTINCT ON (case_ref) case_ref, at"
	" FROM pg_temp.stage_recheck ORDER BY case_ref, id DESC;"
	"DELETE FROM pg_temp.stage_recheck_last WHERE at IS NULL;"
	"ANALYZE pg_temp.stage_recheck_last;"
	"DELETE FROM rechecks r WHERE NOT EXISTS (SELECT 1 FROM pg_temp.stage_recheck_last s"
	" WHERE s.case_ref = r.case_ref);"
	"INSERT INTO rechecks (case_ref, at) SELECT s.case_ref, s.at"
	" FROM pg_temp.stage_recheck_last s LEFT JOIN rechecks r ON r.case_ref = s.case_ref"
	" WHERE r.at IS DISTINCT FROM s.at"
	" ON CONFLICT (case_ref) DO UPDATE SET at = EXCLUDED.at";
static const char SQL_APPLY_ALERTED[] =
	"UPDATE obligations o SET alerted_level = greatest(o.alerted_level, s.level),"
	" last_alert = coalesce(s.day, o.last_alert) FROM (SELECT case_ref, rule, seq,"
	"  max(level) AS level, max(day) AS day FROM pg_temp.stage_alerted"
	"  GROUP BY case_ref, rule, seq) AS s"
	" WHERE o.case_ref = s.case_ref AND o.rule = s.rule AND o.seq = s.seq";
static const char SQL_APPLY_NOTIFIED[] =
	"INSERT INTO notified (case_ref, rule, seq, what, recipient, at)"
	" SELECT case_ref, rule, seq, what, recipient, " NOW_S " FROM pg_temp.stage_notified"
	" ON CONFLICT DO NOTHING";

/* The end of a snapshot that wrote only the stage: nothing to fence. */
static int commit_stage(struct state *st, struct dl_error *err)
{
	int rc = run_done(st, "COMMIT", NULL, err);

	pg(st)->in_tx = false;
	return rc;
}

/* Run sql ($1 lo, $2 hi, and $3 alerts when alerts >= 0) over the ids up
 * to max, a chunk at a time; each in a transaction of its own (fenced)
 * when own_tx. */
static int apply_chunks(struct state *st, const char *sql, int64_t max, int alerts,
			bool own_tx, const struct state_tick *tick, struct dl_error *err)
{
	for (int64_t lo = 0; lo < max; lo += PG_STAGE_CHUNK) {
		struct params p = { .n = 0 };

		p_int(&p, lo);
		p_int(&p, lo + PG_STAGE_CHUNK);
		if (alerts >= 0)
			p_str(&p, alerts ? "t" : "f");
		if (own_tx && pg_begin(st, err) < 0)
			return -1;
		if (run_done(st, sql, &p, err) < 0 || (own_tx && pg_commit(st, err) < 0)) {
			if (own_tx)
				pg_rollback(st);
			return -1;
		}
		if (tick && tick->fn && tick->fn(tick->ctx) != 0) {
			error_set(err, "state database: applying the poll's changes: stopped");
			return -1;
		}
	}
	return 0;
}

static int pg_stage_apply(struct state *st, const struct state_tick *tick,
			  struct dl_error *err)
{
	struct pg_state *s = pg(st);
	bool chunked = s->stage_chunked;
	int64_t n[3];
	int rc;

	/* Everything staged into its table; the snapshot (and a first run's
	 * last chunk) ends.  The snapshot wrote the stage only, and must not
	 * be fenced: in REPEATABLE READ the lease row, renewed since, cannot
	 * be read FOR SHARE. */
	if (flush_all(st, err) < 0 ||
	    run_numbers(st, "SELECT (SELECT coalesce(max(id), 0) FROM pg_temp.stage_ob),"
			" (SELECT coalesce(max(id), 0) FROM pg_temp.stage_gone),"
			" (SELECT coalesce(max(id), 0) FROM pg_temp.stage_print)", NULL, n, 3,
			err) < 0 ||
	    run_done(st, "ANALYZE pg_temp.stage_ob, pg_temp.stage_gone", NULL, err) < 0 ||
	    (s->stage_direct && run_done(st, SQL_DIRECT_OFF, NULL, err) < 0) ||
	    (chunked && (s->stage_direct ? pg_commit(st, err) : commit_stage(st, err)) < 0)) {
		pg_stage_abort(st);
		return -1;
	}
	s->staging = false;
	stage_reset(s);
	/* What tells nobody first, chunk by chunk; a crash here leaves true
	 * values that the next full poll finds as they are. */
	rc = apply_chunks(st, SQL_APPLY_OB, n[0], 0, chunked, tick, err);
	if (rc == 0)
		rc = apply_chunks(st, SQL_APPLY_GONE, n[1], -1, chunked, tick, err);
	/* The case prints after the rows they describe (state.h). */
	if (rc == 0)
		rc = apply_chunks(st, SQL_APPLY_PRINT, n[2], -1, chunked, tick, err);
	if (rc == 0 && chunked)
		rc = pg_begin(st, err);
	/* Then, in the caller's transaction with the messages they cause,
	 * the obligations that alert and what was told to whom. */
	if (rc == 0)
		rc = run_done(st, SQL_APPLY_RECHECKS, NULL, err);
	if (rc == 0)
		rc = apply_chunks(st, SQL_APPLY_OB, n[0], 1, false, tick, err);
	if (rc == 0)
		rc = run_done(st, SQL_APPLY_ALERTED, NULL, err);
	if (rc == 0)
		rc = run_done(st, SQL_APPLY_NOTIFIED, NULL, err);
	/* Every case has its print row now, committed with the messages. */
	if (rc == 0 && s->stage_direct)
		rc = run_done(st, SQL_PRINTS_WHOLE, NULL, err);
	if (rc < 0)
		pg_rollback(st);
	return rc;
}

/* The stored obligations in key order, streamed by one COPY TO STDOUT on
 * a connection of the walk's own that imports the stage's snapshot: the
 * server reads the key-order index and sends while the poll evaluates,
 * with no round trip a batch. */
struct pg_walk {
	struct state_walk base;
	PGconn *conn;
	char *line;                  /* the current row as COPY sent it */
	bool done;
};

#define STORED_COLUMNS \
	"case_ref, rule, seq, fp, closed IS NULL, level, alerted_level, last_alert"

static void read_stored(PGresult *r, int i, struct state_stored *row)
{
	*row = (struct state_stored){
		col(r, i, 0), col(r, i, 1), num(r, i, 2), num64(r, i, 3),
		*PQgetvalue(r, i, 4) == 't', { true, num(r, i, 5), num(r, i, 6), "" },
	};
	if (row->prev.alerted_level > 0 && col(r, i, 7))
		snprintf(row->prev.last_alert, sizeof row->prev.last_alert, "%s", col(r, i, 7));
}

/* The next field of a COPY text row, unescaped in place; NULL for \N.
 * *at moves past it. */
static char *copy_field(char **at)
{
	char *f = *at, *in = f, *out = f;

	for (; *in && *in != '\t' && *in != '\n'; in++) {
		if (*in == '\\' && in[1]) {
			in++;
			*out++ = *in == 't' ? '\t' : *in == 'n' ? '\n' : *in == 'r' ? '\r' :
				 *in == 'b' ? '\b' : *in == 'f' ? '\f' : *in == 'v' ? '\v' :
				 *in == 'N' ? '\0' : *in;
			if (*in == 'N' && out - 1 == f)
				f = NULL;
			continue;
		}
		*out++ = *in;
	}
	*at = *in ? in + 1 : in;
	*out = '\0';
	return f;
}

/* In a transaction (the stage's), export its snapshot into w->conn and
 * start copy there. */
static int walk_open(struct state *st, struct pg_walk *w, const char *copy,
		     struct dl_error *err)
{
	struct pg_state *s = pg(st);
	int64_t deadline = pgconn_now_ms() + s->s.statement_ms + 1000;
	PGresult *r = run(st, "SELECT pg_export_snapshot()", NULL, err);
	char sql[256];

	if (!r)
		return -1;
	/* Only its own deadline a row bounds it: the COPY lasts the poll. */
	snprintf(sql, sizeof sql, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
		 " SET TRANSACTION SNAPSHOT '%.64s'; SET LOCAL statement_timeout = 0;"
		 " SET LOCAL enable_sort = off", PQgetvalue(r, 0, 0));
	PQclear(r);
	if (!(w->conn = pgconn_connect(&s->s, err)) ||
	    !(r = pgconn_exec(&w->conn, sql, 0, NULL, deadline, err)))
		return -1;
	PQclear(r);
	return pgconn_copy_out(&w->conn, copy, deadline, err);
}

static const char SQL_WALK[] =
	"COPY (SELECT " STORED_COLUMNS " FROM obligations"
	" ORDER BY case_ref COLLATE \"C\", rule COLLATE \"C\", seq) TO STDOUT";
static const char SQL_CASE_WALK[] =
	"COPY (SELECT case_ref, print FROM case_prints ORDER BY case_ref COLLATE \"C\")"
	" TO STDOUT";

static void pg_walk_end(struct state_walk *base)
{
	struct pg_walk *w = (struct pg_walk *)base;

	if (!w)
		return;
	if (w->line)
		PQfreemem(w->line);
	pgconn_close(&w->conn);      /* ends an unfinished COPY */
	free(w);
}

static int walk_begin(struct state *st, const char *copy, const char *what,
		      struct state_walk **out, struct dl_error *err)
{
	struct pg_walk *w = calloc(1, sizeof *w);

	*out = NULL;
	if (!w) {
		error_set(err, "out of memory");
		return -1;
	}
	w->base.st = st;
	/* A first run's store is empty, and its chunks commit as they go. */
	w->done = pg(st)->stage_direct;
	if (!w->done && walk_open(st, w, copy, err) < 0) {
		error_prefix(err, "state database: walking the %s", what);
		pg_walk_end(&w->base);
		return -1;
	}
	*out = &w->base;
	return 0;
}

static int pg_walk_begin(struct state *st, struct state_walk **out, struct dl_error *err)
{
	return walk_begin(st, SQL_WALK, "obligations", out, err);
}

static int pg_case_walk_begin(struct state *st, struct state_walk **out, struct dl_error *err)
{
	return walk_begin(st, SQL_CASE_WALK, "case prints", out, err);
}

/* The walk's next COPY row in w->line; 0 at the end. */
static int walk_row(struct pg_walk *w, const char *what, struct dl_error *err)
{
	int64_t deadline = pgconn_now_ms() + pg(w->base.st)->s.statement_ms + 1000;
	int rc;

	if (w->done)
		return 0;
	rc = pgconn_copy_row(&w->conn, &w->line, deadline, err);
	if (rc <= 0) {
		w->done = true;
		if (rc < 0)
			error_prefix(err, "state database: walking the %s", what);
	}
	return rc;
}

static int pg_case_walk_next(struct state_walk *base, struct state_case_print *row,
			     struct dl_error *err)
{
	struct pg_walk *w = (struct pg_walk *)base;
	int rc = walk_row(w, "case prints", err);
	char *at, *print;

	if (rc <= 0)
		return rc;
	at = w->line;
	row->case_ref = copy_field(&at);
	print = copy_field(&at);
	row->print = print ? strtoll(print, NULL, 10) : STATE_PRINT_UNKNOWN;
	return 1;
}

static int pg_walk_next(struct state_walk *base, struct state_stored *row,
			struct dl_error *err)
{
	struct pg_walk *w = (struct pg_walk *)base;
	int rc = walk_row(w, "obligations", err);
	char *at, *v[8];

	if (rc <= 0)
		return rc;
	at = w->line;
	for (int i = 0; i < 8; i++)
		v[i] = copy_field(&at);
	*row = (struct state_stored){
		v[0], v[1], v[2] ? atoi(v[2]) : 0, v[3] ? strtoll(v[3], NULL, 10) : 0,
		v[4] && *v[4] == 't', { true, v[5] ? atoi(v[5]) : 0, v[6] ? atoi(v[6]) : 0, "" },
	};
	if (row->prev.alerted_level > 0 && v[7])
		snprintf(row->prev.last_alert, sizeof row->prev.last_alert, "%s", v[7]);
	return 1;
}

static int pg_each_stored(struct state *st, const char *case_ref, state_stored_fn fn,
			  void *ctx, struct dl_error *err)
{
	struct params p = { .n = 0 };
	PGresult *r;
	int rc = 0;

	p_str(&p, case_ref);
	if (!(r = run(st, "SELECT " STORED_COLUMNS " FROM obligations WHERE case_ref = $1"
		      " ORDER BY rule COLLATE \"C\", seq", &p, err)))
		return -1;
	for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
		struct state_stored row;

		read_stored(r, i, &row);
		rc = fn(ctx, &row);
	}
	PQclear(r);
	return rc;
}

static int pg_set_alerted(struct state *st, const char *case_ref, const char *rule, int seq,
			  int level, const char *day, struct dl_error *err)
{
	struct params p = { .n = 0 };

	if (pg(st)->staging)
		return stage_alerted(st, case_ref, rule, seq, level, day, err);
	p_str(&p, case_ref);
	p_str(&p, rule);
	p_int(&p, seq);
	p_int(&p, level);
	p_str(&p, day);
	return run_done(st, "UPDATE obligations SET alerted_level = greatest(alerted_level, $4),"
			" last_alert = coalesce($5, last_alert)"
			" WHERE case_ref = $1 AND rule = $2 AND seq = $3", &p, err);
}

static int pg_close_unseen(struct state *st, int64_t poll, struct dl_error *err)
{
	struct params p = { .n = 0 };

	p_int(&p, poll);
	return run_done(st, "UPDATE obligations SET closed = 'gone', state = 'gone', level = -1,"
			" fp = NULL, updated = " NOW_S " WHERE closed IS NULL"
			" AND (seen_poll IS NULL OR seen_poll < $1)", &p, err);
}

static int pg_close_unseen_case(struct state *st, const char *case_ref, int64_t poll,
				struct dl_error *err)
{
	struct params p = { .n = 0 };

	p_str(&p, case_ref);
	p_int(&p, poll);
	return run_done(st, "UPDATE obligations SET closed = 'gone', state = 'gone', level = -1,"
			" fp = NULL, updated = " NOW_S " WHERE case_ref = $1 AND closed IS NULL"
			" AND (seen_poll IS NULL OR seen_poll < $2)", &p, err);
}

static int pg_set_recheck(struct state *st, const char *case_ref, int64_t at,
			  struct dl_error *err)
{
	struct params p = { .n = 0 };

	if (pg(st)->staging)
		return stage_recheck(st, case_ref, at, err);
	p_str(&p, case_ref);
	if (at == STATE_NO_RECHECK)
		return run_done(st, "DELETE FROM rechecks WHERE case_ref = $1", &p, err);
	p_int(&p, at);
	return run_done(st, "INSERT INTO rechecks (case_ref, at) VALUES ($1, $2)"
			" ON CONFLICT (case_ref) DO UPDATE SET at = EXCLUDED.at", &p, err);
}

static int pg_clear_rechecks(struct state *st, struct dl_error *err)
{
	return run_done(st, "DELETE FROM rechecks", NULL, err);
}

static int pg_each_recheck(struct state *st, int64_t upto, state_ref_fn fn, void *ctx,
			   struct dl_error *err)
{
	struct params p = { .n = 0 };
	PGresult *r;
	int rc = 0;

	p_int(&p, upto);
	if (!(r = run(st, "SELECT case_ref FROM rechecks WHERE at <= $1", &p, err)))
		return -1;
	for (int i = 0; rc == 0 && i < PQntuples(r); i++)
		rc = fn(ctx, PQgetvalue(r, i, 0));
	PQclear(r);
	return rc;
}

static int pg_next_recheck(struct state *st, int64_t *at, struct dl_error *err)
{
	PGresult *r = run(st, "SELECT min(at) FROM rechecks", NULL, err);

	if (!r)
		return -1;
	*at = PQgetisnull(r, 0, 0) ? STATE_NO_RECHECK : num64(r, 0, 0);
	PQclear(r);
	return 0;
}

/* Text is ordered byte by byte, as SQLite does, whatever the database's
 * collation. */
static const char SQL_EACH_OPEN[] =
	"SELECT case_ref, rule, seq, child_ref, team_ref, team_name, worker_ref, worker_name,"
	" worker_email, manager_email, service_manager_email, anchor, due, closed, state,"
	" stage, days_overdue, level, alerted_level, last_alert FROM obligations"
	" WHERE closed IS NULL AND level >= $1"
	" ORDER BY days_overdue DESC, due COLLATE \"C\", case_ref COLLATE \"C\", rule COLLATE \"C\"";

static int pg_each_open(struct state *st, int min_level, state_obligation_fn fn, void *ctx,
			struct dl_error *err)
{
	struct params p = { .n = 0 };
	PGresult *r;
	int rc = 0;

	p_int(&p, min_level);
	if (!(r = run(st, SQL_EACH_OPEN, &p, err)))
		return -1;
	for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
		struct state_obligation ob = {
			col(r, i, 0), col(r, i, 1), num(r, i, 2), col(r, i, 3), col(r, i, 4),
			col(r, i, 5), col(r, i, 6), col(r, i, 7), col(r, i, 8), col(r, i, 9),
			col(r, i, 10), col(r, i, 11), col(r, i, 12), col(r, i, 13), col(r, i, 14),
			num(r, i, 15), num(r, i, 16), num(r, i, 17),
		};
		struct state_prev prev = { true, ob.level, num(r, i, 18), "" };

		snprintf(prev.last_alert, sizeof prev.last_alert, "%s",
			 col(r, i, 19) ? col(r, i, 19) : "");
		rc = fn(ctx, &ob, &prev);
	}
	PQclear(r);
	return rc;
}

static const char SQL_EACH_REPORT[] =
	"SELECT case_ref, rule, seq, team_ref, team_name, anchor, due, closed, state,"
	" days_overdue, (SELECT reason FROM acks a WHERE a.case_ref = o.case_ref"
	"  AND a.rule = o.rule AND a.seq = o.seq ORDER BY a.id DESC LIMIT 1)"
	" FROM obligations o WHERE state <> 'gone' AND substr(anchor, 1, 10) <= $2"
	" AND (closed IS NULL OR substr(closed, 1, 10) >= $1)"
	" AND ($3::text IS NULL OR team_ref = $3) AND ($4::text IS NULL OR rule = $4)"
	" ORDER BY rule COLLATE \"C\", team_ref COLLATE \"C\", case_ref COLLATE \"C\", seq";

static int pg_each_for_report(struct state *st, const char *from, const char *to,
			      const char *team, const char *rule, state_report_fn fn, void *ctx,
			      struct dl_error *err)
{
	struct params p = { .n = 0 };
	PGresult *r;
	int rc = 0;

	p_str(&p, from);
	p_str(&p, to);
	p_str(&p, team);
	p_str(&p, rule);
	if (!(r = run(st, SQL_EACH_REPORT, &p, err)))
		return -1;
	for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
		struct state_obligation ob = {
			.case_ref = col(r, i, 0), .rule = col(r, i, 1), .seq = num(r, i, 2),
			.team_ref = col(r, i, 3), .team_name = col(r, i, 4),
			.anchor = col(r, i, 5), .due = col(r, i, 6), .closed = col(r, i, 7),
			.state = col(r, i, 8), .days_overdue = num(r, i, 9),
		};

		rc = fn(ctx, &ob, col(r, i, 10));
	}
	PQclear(r);
	return rc;
}

static int pg_first_poll(struct state *st, int64_t *when, struct dl_error *err)
{
	return run_numbers(st, "SELECT coalesce(min(started), 0) FROM polls", NULL, when, 1, err);
}

static int pg_note_sent(struct state *st, const char *case_ref, const char *rule, int seq,
			const char *what, const char *recipient, bool *fresh, struct dl_error *err)
{
	struct params p = { .n = 0 };
	int n;

	if (pg(st)->staging)
		return stage_note(st, case_ref, rule, seq, what, recipient, fresh, err);
	p_str(&p, case_ref);
	p_str(&p, rule);
	p_int(&p, seq);
	p_str(&p, what);
	p_str(&p, recipient);
	if (run_changes(st, "INSERT INTO notified (case_ref, rule, seq, what, recipient, at)"
			" VALUES ($1, $2, $3, $4, $5, " NOW_S ") ON CONFLICT DO NOTHING", &p, &n,
			err) < 0)
		return -1;
	*fresh = n > 0;
	return 0;
}

/* --- The outbox, fenced ------------------------------------------------------ */

static int pg_enqueue(struct state *st, const struct state_message *m, int64_t *id,
		      struct dl_error *err)
{
	struct params p = { .n = 0 };

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
	p_int(&p, m->next_attempt);
	return run_numbers(st, "INSERT INTO outbox (msg_id, receiver, recipient, kind, case_ref,"
			   " rule, immediate, subject, text, html, payload, created, next_attempt)"
			   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
			   " RETURNING id", &p, id, 1, err);
}

#define MESSAGE_COLUMNS \
	"id, msg_id, receiver, recipient, kind, case_ref, rule, immediate, subject, text," \
	" html, payload, created, next_attempt, attempts, status, last_error"

/* Walk r's rows as MESSAGE_COLUMNS from column first on; a row whose id is
 * NULL (the fence's, when nothing was claimed) is skipped. */
static int each_row(PGresult *r, int first, state_message_fn fn, void *ctx)
{
	int rc = 0;

	for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
		int c = first;
		struct state_message m;

		if (PQgetisnull(r, i, c))
			continue;
		m = (struct state_message){
			num64(r, i, c), col(r, i, c + 1), col(r, i, c + 2), col(r, i, c + 3),
			col(r, i, c + 4), col(r, i, c + 5), col(r, i, c + 6), num(r, i, c + 7),
			col(r, i, c + 8), col(r, i, c + 9), col(r, i, c + 10), col(r, i, c + 11),
			num64(r, i, c + 12), num64(r, i, c + 13), num(r, i, c + 14),
			col(r, i, c + 15), col(r, i, c + 16),
		};
		rc = fn(ctx, &m);
	}
	return rc;
}

/* The fence: the lease row, read FOR SHARE so that no take (an UPDATE of
 * it) can commit between this statement's check and its write; $1 the
 * lease, $2 the epoch. */
#define FENCE \
	"fence AS (SELECT epoch FROM deadlined_lease WHERE name = $1 AND epoch = $2" \
	" AND expires_at > now() FOR SHARE)"

static void p_fence(struct state *st, struct params *p)
{
	p_str(p, pg(st)->lease);
	p_int(p, pg(st)->epoch);
}

static int fenced(struct state *st, struct dl_error *err, const char *what)
{
	error_set(err, STATE_FENCED_PREFIX "%s refused: epoch %" PRId64 " no longer holds lease "
		  "%s (another daemon leads now)", what, pg(st)->epoch, pg(st)->lease);
	return -1;
}

/* The lease row, FOR SHARE until the transaction ends: no take commits
 * before this transaction does.  0 without a fence. */
static int fence_holds(struct state *st, struct dl_error *err)
{
	struct params p = { .n = 0 };
	PGresult *r;
	int n;

	if (!pg(st)->lease)
		return 0;
	p_fence(st, &p);
	if (!(r = run(st, "SELECT 1 FROM deadlined_lease WHERE name = $1 AND epoch = $2"
		      " AND expires_at > now() FOR SHARE", &p, err)))
		return -1;
	n = PQntuples(r);
	PQclear(r);
	return n == 1 ? 0 : fenced(st, err, "committing a poll");
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

static int pg_each_due(struct state *st, int64_t now, int max, state_message_fn fn, void *ctx,
		       struct dl_error *err)
{
	struct params p = { .n = 0 };
	PGresult *r;
	int rc;

	if (pg(st)->lease)
		p_fence(st, &p);
	p_int(&p, now);
	p_int(&p, max);
	if (!pg(st)->lease) {
		if (!(r = run(st, "SELECT " MESSAGE_COLUMNS " FROM outbox WHERE status = 'pending'"
			      " AND next_attempt <= $1 ORDER BY immediate DESC, id LIMIT $2", &p,
			      err)))
			return -1;
		rc = each_row(r, 0, fn, ctx);
	} else {
		if (!(r = run(st, SQL_CLAIM, &p, err)))
			return -1;
		rc = *PQgetvalue(r, 0, 0) == 't' ? each_row(r, 1, fn, ctx) :
			fenced(st, err, "claiming messages");
	}
	PQclear(r);
	return rc;
}

static int pg_each_message(struct state *st, const char *status, state_message_fn fn,
			   void *ctx, struct dl_error *err)
{
	struct params p = { .n = 0 };
	PGresult *r;
	int rc;

	p_str(&p, status);
	if (!(r = run(st, "SELECT " MESSAGE_COLUMNS " FROM outbox WHERE $1::text IS NULL"
		      " OR status = $1 ORDER BY id", &p, err)))
		return -1;
	rc = each_row(r, 0, fn, ctx);
	PQclear(r);
	return rc;
}

/* Fenced: only the claiming epoch marks, only while it holds; a message
 * marked sent is counted for the recipient and day add_sent noted. */
static const char SQL_MARK_FENCED[] =
	"WITH " FENCE ","
	" m AS ("
	"  UPDATE outbox SET status = $4, attempts = $5, next_attempt = $6, last_error = $7,"
	"         sent_at = CASE WHEN $8 > 0 THEN $8 ELSE sent_at END"
	"   WHERE id = $3 AND claim_epoch = $2 AND status = 'pending'"
	"     AND EXISTS (SELECT 1 FROM fence) RETURNING recipient),"
	" c AS ("
	"  INSERT INTO sent_count (recipient, day, n)"
	"  SELECT recipient, $9::text, 1 FROM m"
	"   WHERE $4 = 'sent' AND $9::text IS NOT NULL AND recipient = $10"
	"  ON CONFLICT (recipient, day) DO UPDATE SET n = sent_count.n + 1)"
	"SELECT count(*) FROM m";

static const char SQL_MARK[] =
	"UPDATE outbox SET status = $2, attempts = $3, next_attempt = $4, last_error = $5,"
	" sent_at = CASE WHEN $6 > 0 THEN $6 ELSE sent_at END WHERE id = $1";

static int pg_mark_message(struct state *st, int64_t id, const char *status, int attempts,
			   int64_t next_attempt, const char *last_error, int64_t sent_at,
			   struct dl_error *err)
{
	struct pg_state *s = pg(st);
	struct params p = { .n = 0 };
	int64_t marked;
	bool counts = !strcmp(status, "sent") && s->count_day[0];
	int rc;

	if (s->lease)
		p_fence(st, &p);
	p_int(&p, id);
	p_str(&p, status);
	p_int(&p, attempts);
	p_int(&p, next_attempt);
	p_str(&p, last_error);
	p_int(&p, sent_at);
	if (!s->lease)
		return run_done(st, SQL_MARK, &p, err);
	p_str(&p, counts ? s->count_day : NULL);
	p_str(&p, counts ? s->count_recipient : NULL);
	rc = run_numbers(st, SQL_MARK_FENCED, &p, &marked, 1, err);
	s->count_day[0] = '\0';
	if (rc < 0)
		return -1;
	return marked == 1 ? 0 : fenced(st, err, "marking a message");
}

static int pg_retry_dead(struct state *st, int64_t id, int64_t now, int *count,
			 struct dl_error *err)
{
	struct params p = { .n = 0 };

	/* created moves on so that dead_after counts from the retry. */
	p_int(&p, id);
	p_int(&p, now);
	return run_changes(st, "UPDATE outbox SET status = 'pending', next_attempt = $2,"
			   " created = $2 WHERE status = 'dead' AND ($1 = 0 OR id = $1)", &p,
			   count, err);
}

static int pg_count_sent(struct state *st, const char *recipient, const char *day, int *count,
			 struct dl_error *err)
{
	struct params p = { .n = 0 };
	int64_t n;

	p_str(&p, recipient);
	p_str(&p, day);
	if (run_numbers(st, "SELECT n FROM sent_count WHERE recipient = $1 AND day = $2", &p,
			&n, 1, err) < 0)
		return -1;
	*count = (int)n;
	return 0;
}

static int pg_add_sent(struct state *st, const char *recipient, const char *day,
		       struct dl_error *err)
{
	struct params p = { .n = 0 };

	if (pg(st)->lease) {
		/* Counted by the fenced mark that follows (see the top). */
		snprintf(pg(st)->count_recipient, sizeof pg(st)->count_recipient, "%s", recipient);
		snprintf(pg(st)->count_day, sizeof pg(st)->count_day, "%s", day);
		return 0;
	}
	p_str(&p, recipient);
	p_str(&p, day);
	return run_done(st, "INSERT INTO sent_count (recipient, day, n) VALUES ($1, $2, 1)"
			" ON CONFLICT (recipient, day) DO UPDATE SET n = sent_count.n + 1", &p,
			err);
}

static int pg_digest_mark(struct state *st, const char *recipient, const char *day,
			  bool *fresh, struct dl_error *err)
{
	struct params p = { .n = 0 };
	int n;

	p_str(&p, recipient);
	p_str(&p, day);
	if (run_changes(st, "INSERT INTO digests (recipient, day) VALUES ($1, $2)"
			" ON CONFLICT DO NOTHING", &p, &n, err) < 0)
		return -1;
	*fresh = n > 0;
	return 0;
}

/* --- Acknowledgements, polls, status, meta ------------------------------------ */

static int pg_ack(struct state *st, const char *case_ref, const char *rule, const char *until,
		  const char *reason, const char *who, int64_t now, struct state_ack *out,
		  struct dl_error *err)
{
	struct params p = { .n = 0 };
	PGresult *r;
	int found;

	p_str(&p, case_ref);
	p_str(&p, rule);
	p_str(&p, until);
	p_str(&p, reason);
	p_str(&p, who);
	p_int(&p, now);
	/* One statement: the latest open obligation and the ack on it. */
	r = run(st, "WITH o AS (SELECT seq, level FROM obligations WHERE case_ref = $1"
		"  AND rule = $2 AND closed IS NULL ORDER BY seq DESC LIMIT 1),"
		" a AS (INSERT INTO acks (case_ref, rule, seq, until, reason, who, level, created)"
		"  SELECT $1, $2, seq, $3, $4, $5, level, $6 FROM o)"
		"SELECT seq, level FROM o", &p, err);
	if (!r)
		return -1;
	*out = (struct state_ack){ case_ref, rule, 0, until, reason, who, 0, now };
	found = PQntuples(r);
	if (found) {
		out->seq = num(r, 0, 0);
		out->level = num(r, 0, 1);
	}
	PQclear(r);
	if (!found) {
		error_set(err, "no open obligation of rule %s on case %s in the state database "
			  "(has the daemon evaluated it yet?)", rule, case_ref);
		return -1;
	}
	return 0;
}

static int pg_ack_active(struct state *st, const char *case_ref, const char *rule, int seq,
			 int level, const char *day, bool *active, struct dl_error *err)
{
	struct params p = { .n = 0 };
	int64_t n;

	p_str(&p, case_ref);
	p_str(&p, rule);
	p_int(&p, seq);
	p_int(&p, level);
	p_str(&p, day);
	if (run_numbers(st, "SELECT count(*) FROM acks WHERE case_ref = $1 AND rule = $2"
			" AND seq = $3 AND level = $4 AND until >= $5", &p, &n, 1, err) < 0)
		return -1;
	*active = n > 0;
	return 0;
}

static int pg_each_ack(struct state *st, state_ack_fn fn, void *ctx, struct dl_error *err)
{
	PGresult *r = run(st, "SELECT case_ref, rule, seq, until, reason, who, level, created"
			  " FROM acks ORDER BY id", NULL, err);
	int rc = 0;

	if (!r)
		return -1;
	for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
		struct state_ack a = { col(r, i, 0), col(r, i, 1), num(r, i, 2), col(r, i, 3),
				       col(r, i, 4), col(r, i, 5), num(r, i, 6), num64(r, i, 7) };

		rc = fn(ctx, &a);
	}
	PQclear(r);
	return rc;
}

static int pg_poll_begin(struct state *st, int64_t started, int64_t *id, struct dl_error *err)
{
	struct params p = { .n = 0 };

	p_int(&p, started);
	return run_numbers(st, "INSERT INTO polls (started) VALUES ($1) RETURNING id", &p, id, 1,
			   err);
}

static int pg_poll_end(struct state *st, const struct state_poll *sp, struct dl_error *err)
{
	const int64_t v[] = { sp->id, sp->finished, sp->cases, sp->open, sp->due_soon,
			      sp->overdue, sp->findings, sp->enqueued };
	struct params p = { .n = 0 };

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		p_int(&p, v[i]);
	return run_done(st, "UPDATE polls SET finished = $2, cases = $3, open = $4,"
			" due_soon = $5, overdue = $6, findings = $7, enqueued = $8 WHERE id = $1",
			&p, err);
}

static int pg_status(struct state *st, struct state_status *out, struct dl_error *err)
{
	int64_t p[9], o[4], m[4];

	if (run_numbers(st, "SELECT id, started, finished, cases, open, due_soon, overdue,"
			" findings, enqueued FROM polls WHERE finished IS NOT NULL"
			" ORDER BY id DESC LIMIT 1", NULL, p, 9, err) < 0 ||
	    run_numbers(st, "SELECT count(*) FILTER (WHERE level = 0),"
			" count(*) FILTER (WHERE level = 1), count(*) FILTER (WHERE level >= 2),"
			" count(*) FILTER (WHERE level >= 3) FROM obligations"
			" WHERE closed IS NULL", NULL, o, 4, err) < 0 ||
	    run_numbers(st, "SELECT count(*) FILTER (WHERE status = 'pending'),"
			" count(*) FILTER (WHERE status = 'sent'),"
			" count(*) FILTER (WHERE status = 'dead'),"
			" coalesce(min(created) FILTER (WHERE status = 'pending'), 0)"
			" FROM outbox", NULL, m, 4, err) < 0)
		return -1;
	*out = (struct state_status){
		.last = { p[0], p[1], p[2], (long)p[3], (long)p[4], (long)p[5], (long)p[6],
			  (long)p[7], (long)p[8] },
		.open = (long)o[0], .due_soon = (long)o[1], .overdue = (long)o[2],
		.escalated = (long)o[3], .pending = (long)m[0], .sent = (long)m[1],
		.dead = (long)m[2], .oldest_pending = m[3],
	};
	return 0;
}

static int pg_set_meta(struct state *st, const char *key, const char *value,
		       struct dl_error *err)
{
	struct params p = { .n = 0 };

	p_str(&p, key);
	p_str(&p, value);
	return run_done(st, "INSERT INTO meta (key, value) VALUES ($1, $2)"
			" ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", &p, err);
}

static int pg_get_meta(struct state *st, const char *key, char *buf, size_t size,
		       struct dl_error *err)
{
	struct params p = { .n = 0 };
	PGresult *r;

	p_str(&p, key);
	if (!(r = run(st, "SELECT value FROM meta WHERE key = $1", &p, err)))
		return -1;
	snprintf(buf, size, "%s", PQntuples(r) && col(r, 0, 0) ? col(r, 0, 0) : "");
	PQclear(r);
	return 0;
}

static int pg_next_attempt(struct state *st, int64_t *when, struct dl_error *err)
{
	return run_numbers(st, "SELECT coalesce(min(next_attempt), 0) FROM outbox"
			   " WHERE status = 'pending'", NULL, when, 1, err);
}

/* The most recently taken lease (a store holds one a pair). */
static int pg_leader(struct state *st, struct state_leader *out, struct dl_error *err)
{
	PGresult *r = run(st, "SELECT name, holder, epoch, floor(extract(epoch FROM acquired_at))::bigint,"
			  " (extract(epoch FROM expires_at - now()) * 1000)::bigint"
			  " FROM deadlined_lease WHERE epoch > 0 ORDER BY acquired_at DESC LIMIT 1",
			  NULL, err);

	if (!r)
		return -1;
	out->shared = true;
	if (PQntuples(r) == 1) {
		out->found = true;
		snprintf(out->name, sizeof out->name, "%s", PQgetvalue(r, 0, 0));
		snprintf(out->holder, sizeof out->holder, "%s", PQgetvalue(r, 0, 1));
		out->epoch = num64(r, 0, 2);
		out->since = num64(r, 0, 3);
		out->expires_in_ms = num64(r, 0, 4);
	}
	PQclear(r);
	return 0;
}

/* --- Cover and the directory (for deadlined-web) ------------------------ */

static int pg_cover_deputy(struct state *st, const char *manager, const char *day,
			   char *deputy, size_t size, struct dl_error *err)
{
	struct params p = { .n = 0 };
	PGresult *r;

	p_str(&p, manager);
	p_str(&p, day);
	if (!(r = run(st, "SELECT deputy FROM cover WHERE manager = lower($1) AND from_day <= $2"
		      " AND to_day >= $2 ORDER BY id DESC LIMIT 1", &p, err)))
		return -1;
	snprintf(deputy, size, "%s", PQntuples(r) && col(r, 0, 0) ? col(r, 0, 0) : "");
	PQclear(r);
	return 0;
}

static int pg_clear_directory(struct state *st, struct dl_error *err)
{
	return run_done(st, "DELETE FROM directory_teams", NULL, err) < 0 ||
	       run_done(st, "DELETE FROM directory_workers", NULL, err) < 0 ? -1 : 0;
}

/* One row of the directory: four text values into table. */
static int put_directory(struct state *st, const char *sql, const char *a, const char *b,
			 const char *c, const char *d, struct dl_error *err)
{
	struct params p = { .n = 0 };

	p_str(&p, a);
	p_str(&p, b);
	p_str(&p, c);
	p_str(&p, d);
	return run_done(st, sql, &p, err);
}

static int pg_put_team(struct state *st, const char *ref, const char *name,
		       const char *manager, const char *service_manager, struct dl_error *err)
{
	return put_directory(st, "INSERT INTO directory_teams VALUES ($1, $2, $3, $4)"
			     " ON CONFLICT (team_ref) DO UPDATE SET name = EXCLUDED.name,"
			     " manager_email = EXCLUDED.manager_email,"
			     " service_manager_email = EXCLUDED.service_manager_email",
			     ref, name, manager, service_manager, err);
}

static int pg_put_worker(struct state *st, const char *ref, const char *name,
			 const char *email, const char *team_ref, struct dl_error *err)
{
	return put_directory(st, "INSERT INTO directory_workers VALUES ($1, $2, $3, $4)"
			     " ON CONFLICT (worker_ref) DO UPDATE SET name = EXCLUDED.name,"
			     " email = EXCLUDED.email, team_ref = EXCLUDED.team_ref",
			     ref, name, email, team_ref, err);
}

const struct state_ops state_pg_ops = {
	.driver = "postgresql",
	.open = pg_open,
	.exists = pg_exists,
	.describe = pg_describe,
	.set_write_wait = pg_set_write_wait,
	.close = pg_close,
	.set_fence = pg_set_fence,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.put_obligation = pg_put_obligation,
	.set_alerted = pg_set_alerted,
	.stage_begin = pg_stage_begin,
	.stage_obligation = pg_stage_obligation,
	.stage_gone = pg_stage_gone,
	.unstage_gone_case = pg_unstage_gone_case,
	.stage_apply = pg_stage_apply,
	.stage_abort = pg_stage_abort,
	.walk_begin = pg_walk_begin,
	.walk_next = pg_walk_next,
	.walk_end = pg_walk_end,
	.each_stored = pg_each_stored,
	.case_walk_begin = pg_case_walk_begin,
	.case_walk_next = pg_case_walk_next,
	.stage_case_print = pg_stage_case_print,
	.close_unseen = pg_close_unseen,
	.close_unseen_case = pg_close_unseen_case,
	.set_recheck = pg_set_recheck,
	.clear_rechecks = pg_clear_rechecks,
	.each_recheck = pg_each_recheck,
	.next_recheck = pg_next_recheck,
	.each_open = pg_each_open,
	.each_for_report = pg_each_for_report,
	.first_poll = pg_first_poll,
	.note_sent = pg_note_sent,
	.enqueue = pg_enqueue,
	.each_due = pg_each_due,
	.mark_message = pg_mark_message,
	.retry_dead = pg_retry_dead,
	.each_message = pg_each_message,
	.count_sent = pg_count_sent,
	.add_sent = pg_add_sent,
	.digest_mark = pg_digest_mark,
	.ack = pg_ack,
	.ack_active = pg_ack_active,
	.each_ack = pg_each_ack,
	.poll_begin = pg_poll_begin,
	.poll_end = pg_poll_end,
	.status = pg_status,
	.set_meta = pg_set_meta,
	.get_meta = pg_get_meta,
	.next_attempt = pg_next_attempt,
	.leader = pg_leader,
	.cover_deputy = pg_cover_deputy,
	.clear_directory = pg_clear_directory,
	.put_team = pg_put_team,
	.put_worker = pg_put_worker,
};
