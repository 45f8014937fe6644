/* state_sqlite.c — the daemon's own store as an SQLite file: the first
 * state backend (state_backend.h).
 *
 * WAL lets deadlinectl read while the daemon writes; synchronous FULL makes
 * a committed outbox survive a power cut.  Statements are literals in this
 * file, prepared once and cached by address.
 */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deadlined/log.h"
#include "deadlined/state_backend.h"

/* Forward migrations: migrations[i] takes the schema from version i to
 * i + 1.  Append; never edit a released step. */
#define OB4_COLUMNS \
	"case_ref, rule, seq, closed, level, alerted_level, last_alert, child_ref, team_ref," \
	" team_name, worker_ref, worker_name, worker_email, manager_email," \
	" service_manager_email, anchor, due, state, stage, days_overdue, seen_poll," \
	" first_seen, updated"

/* The columns of obligations a case print covers (state.h). */
#define CASE_PRINT_COVERS \
	"case_ref, rule, seq, fp, closed, level, child_ref, team_ref, team_name, worker_ref," \
	" worker_name, worker_email, manager_email, service_manager_email, anchor, due, state," \
	" stage, days_overdue"

static const char *const migrations[] = {
	/* 0 → 1 */
	"CREATE TABLE obligations ("
	" case_ref TEXT NOT NULL, rule TEXT NOT NULL, seq INTEGER NOT NULL,"
	" child_ref TEXT, team_ref TEXT, team_name TEXT, worker_ref TEXT, worker_name TEXT,"
	" worker_email TEXT, manager_email TEXT, service_manager_email TEXT,"
	" anchor TEXT, due TEXT, closed TEXT, state TEXT NOT NULL,"
	" stage INTEGER NOT NULL DEFAULT 0, days_overdue INTEGER NOT NULL DEFAULT 0,"
	" level INTEGER NOT NULL, alerted_level INTEGER NOT NULL DEFAULT 0, last_alert TEXT,"
	" seen_poll INTEGER, first_seen INTEGER, updated INTEGER,"
	" PRIMARY KEY (case_ref, rule, seq));"
	"CREATE INDEX obligations_open ON obligations(level) WHERE closed IS NULL;"
	"CREATE TABLE notified ("
	" case_ref TEXT NOT NULL, rule TEXT NOT NULL, seq INTEGER NOT NULL,"
	" what TEXT NOT NULL, recipient TEXT NOT NULL, at INTEGER,"
	" PRIMARY KEY (case_ref, rule, seq, what, recipient));"
	"CREATE TABLE outbox ("
	" id INTEGER PRIMARY KEY, msg_id TEXT NOT NULL UNIQUE, receiver TEXT NOT NULL,"
	" recipient TEXT, kind TEXT NOT NULL, case_ref TEXT, rule TEXT,"
	" immediate INTEGER NOT NULL DEFAULT 0, subject TEXT, text TEXT, html TEXT, payload TEXT,"
	" created INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
	" next_attempt INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'pending'"
	"  CHECK (status IN ('pending', 'sent', 'dead')),"
	" last_error TEXT, sent_at INTEGER);"
	"CREATE INDEX outbox_due ON outbox(status, next_attempt);"
	"CREATE TABLE sent_count (recipient TEXT NOT NULL, day TEXT NOT NULL,"
	" n INTEGER NOT NULL, PRIMARY KEY (recipient, day));"
	"CREATE TABLE digests (recipient TEXT NOT NULL, day TEXT NOT NULL,"
	" PRIMARY KEY (recipient, day));"
	"CREATE TABLE acks ("
	" id INTEGER PRIMARY KEY, case_ref TEXT NOT NULL, rule TEXT NOT NULL, seq INTEGER NOT NULL,"
	" until TEXT NOT NULL, reason TEXT NOT NULL, who TEXT NOT NULL, level INTEGER NOT NULL,"
	" created INTEGER NOT NULL);"
	"CREATE INDEX acks_obligation ON acks(case_ref, rule, seq);"
	"CREATE TABLE polls ("
	" id INTEGER PRIMARY KEY, started INTEGER NOT NULL, finished INTEGER,"
	" cases INTEGER, open INTEGER, due_soon INTEGER, overdue INTEGER, findings INTEGER,"
	" enqueued INTEGER);",
	/* 1 → 2: what the running daemon says about itself, for status. */
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);",
	/* 2 → 3: when each case must be evaluated again although its rows did
	 * not change (a clock reaches due-soon or overdue, an overdue count
	 * moves on, a future-dated event arrives), as unix-like seconds of
	 * local time (day * 86400 + second of the day). */
	"CREATE TABLE IF NOT EXISTS rechecks (case_ref TEXT PRIMARY KEY, at INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS rechecks_at ON rechecks(at);",
	/* 3 → 4: deadlined-web's tables (state_web.c): cover while a manager
	 * is away, the web's audit trail, calendar-feed tokens (hashes only),
	 * the directory (teams and workers) as the last poll read it; and
	 * indexes for "whose is this" on open obligations. */
	"CREATE TABLE IF NOT EXISTS cover (id INTEGER PRIMARY KEY, manager TEXT NOT NULL,"
	" deputy TEXT NOT NULL, from_day TEXT NOT NULL, to_day TEXT NOT NULL, who TEXT NOT NULL,"
	" created INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS cover_deputy ON cover(deputy, to_day);"
	"CREATE TABLE IF NOT EXISTS web_audit (id INTEGER PRIMARY KEY, at INTEGER NOT NULL,"
	" who TEXT NOT NULL, origin TEXT, action TEXT NOT NULL, detail TEXT);"
	"CREATE TABLE IF NOT EXISTS calendar_tokens (hash TEXT PRIMARY KEY, person TEXT NOT NULL,"
	" created INTEGER NOT NULL, revoked INTEGER);"
	"CREATE TABLE IF NOT EXISTS directory_teams (team_ref TEXT PRIMARY KEY, name TEXT,"
	" manager_email TEXT, service_manager_email TEXT);"
	"CREATE TABLE IF NOT EXISTS directory_workers (worker_ref TEXT PRIMARY KEY, name TEXT,"
	" email TEXT, team_ref TEXT);"
	"CREATE INDEX IF NOT EXISTS obligations_worker ON obligations(worker_email COLLATE NOCASE,"
	" level DESC, days_overdue DESC, due) WHERE closed IS NULL;"
	"CREATE INDEX IF NOT EXISTS obligations_manager ON obligations(manager_email COLLATE NOCASE,"
	" level DESC, days_overdue DESC, due) WHERE closed IS NULL;"
	"CREATE INDEX IF NOT EXISTS obligations_service_manager"
	" ON obligations(service_manager_email COLLATE NOCASE, level DESC, days_overdue DESC, due)"
	" WHERE closed IS NULL;",
	/* 4 → 5: obligations stored in key order (WITHOUT ROWID), so a full
	 * poll reads them in one sequential walk beside the evaluation, with
	 * what the walk needs first in each row: fp, a fingerprint of the
	 * values a poll writes (NULL: unknown, so rewritten at the next full
	 * poll), and the alert state. */
	"CREATE TABLE obligations5 ("
	" case_ref TEXT NOT NULL, rule TEXT NOT NULL, seq INTEGER NOT NULL, fp INTEGER,"
	" closed TEXT, level INTEGER NOT NULL, alerted_level INTEGER NOT NULL DEFAULT 0,"
	" last_alert TEXT,"
	" child_ref TEXT, team_ref TEXT, team_name TEXT, worker_ref TEXT, worker_name TEXT,"
	" worker_email TEXT, manager_email TEXT, service_manager_email TEXT,"
	" anchor TEXT, due TEXT, state TEXT NOT NULL,"
	" stage INTEGER NOT NULL DEFAULT 0, days_overdue INTEGER NOT NULL DEFAULT 0,"
	" seen_poll INTEGER, first_seen INTEGER, updated INTEGER,"
	" PRIMARY KEY (case_ref, rule, seq)) WITHOUT ROWID;"
	"INSERT INTO obligations5 (" OB4_COLUMNS ") SELECT " OB4_COLUMNS " FROM obligations;"
	"DROP TABLE obligations;"
	"ALTER TABLE obligations5 RENAME TO obligations;"
	"CREATE INDEX obligations_open ON obligations(level) WHERE closed IS NULL;"
	/* ... and version 4's indexes for the web, dropped with the table. */
	"CREATE INDEX obligations_worker ON obligations(worker_email COLLATE NOCASE,"
	" level DESC, days_overdue DESC, due) WHERE closed IS NULL;"
	"CREATE INDEX obligations_manager ON obligations(manager_email COLLATE NOCASE,"
	" level DESC, days_overdue DESC, due) WHERE closed IS NULL;"
	"CREATE INDEX obligations_service_manager"
	" ON obligations(service_manager_email COLLATE NOCASE, level DESC, days_overdue DESC, due)"
	" WHERE closed IS NULL;",
	/* 5 → 6: a print per case (state.h, "Case prints"), so a full poll
	 * walks one row a case and reads a case's obligations only when its
	 * print differs.  Every case with obligations has a row; NULL is
	 * unknown (compare in full), as every existing case starts.  The
	 * triggers make a case's print unknown in the same transaction as any
	 * write to what it covers (all but the alert marks, seen_poll and the
	 * times), whoever writes. */
	"CREATE TABLE IF NOT EXISTS case_prints (case_ref TEXT PRIMARY KEY, print INTEGER) WITHOUT ROWID;"
	"INSERT OR IGNORE INTO case_prints (case_ref) SELECT DISTINCT case_ref FROM obligations;"
	"CREATE TRIGGER IF NOT EXISTS case_prints_insert AFTER INSERT ON obligations BEGIN"
	" INSERT INTO case_prints (case_ref) VALUES (NEW.case_ref)"
	"  ON CONFLICT (case_ref) DO UPDATE SET print = NULL WHERE print IS NOT NULL; END;"
	"CREATE TRIGGER IF NOT EXISTS case_prints_update AFTER UPDATE OF " CASE_PRINT_COVERS
	" ON obligations BEGIN"
	" UPDATE case_prints SET print = NULL WHERE case_ref IN (OLD.case_ref, NEW.case_ref)"
	"  AND print IS NOT NULL; END;"
	"CREATE TRIGGER IF NOT EXISTS case_prints_delete AFTER DELETE ON obligations BEGIN"
	" UPDATE case_prints SET print = NULL WHERE case_ref = OLD.case_ref"
	"  AND print IS NOT NULL; END;",
};

#define NMIGRATIONS (sizeof migrations / sizeof migrations[0])
_Static_assert(NMIGRATIONS == STATE_SCHEMA_VERSION, "a migration for each version");
#define CACHE 96

struct sqlite_state {
	struct state base;
	sqlite3 *db;
	char *path;
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cache[CACHE];
	size_t ncache;
	int busy_ms;               /* how long a write waits for another */
	bool staging;              /* between stage_begin and stage_apply */
	bool stage_made;           /* the temp tables exist on this connection */
	bool stage_chunked;        /* apply in short transactions */
	bool stage_direct;         /* an empty store: quiet rows go straight in */
	int64_t stage_rows;        /* rows written straight in */
	int64_t held_since;        /* ms: a first run's last pause (direct_write) */
};

static struct sqlite_state *sq(struct state *st)
{
	return (struct sqlite_state *)st;
}


/* SQLite's words, with the system's reason when it kept one.  A write cut
 * short (a full disk, RLIMIT_FSIZE) leaves none, only SQLITE_IOERR_WRITE. */
static const char *why(struct state *st, const char *msg, char *buf, size_t size)
{
	int e = sqlite3_system_errno(sq(st)->db);
	int code = sqlite3_extended_errcode(sq(st)->db);

	if ((code & 0xff) != SQLITE_IOERR && (code & 0xff) != SQLITE_FULL &&
	    (code & 0xff) != SQLITE_CANTOPEN)
		return msg;
	if (e)
		snprintf(buf, size, "%s (%s)", msg, strerror(e));
	else if (code == SQLITE_IOERR_WRITE)
		snprintf(buf, size, "%s (a write was cut short: is the disk full, or a file "
			 "size limit reached?)", msg);
	else
		return msg;
	return buf;
}

static int db_error(struct state *st, struct dl_error *err, const char *what)
{
	char buf[300];

	error_set(err, "state database %s: %s: %s", sq(st)->path, what,
		  why(st, sqlite3_errmsg(sq(st)->db), buf, sizeof buf));
	return -1;
}

/* A prepared statement for sql (a string literal: cached by address),
 * reset, with bindings from fmt: s text (NULL binds NULL), i int, I int64. */
static sqlite3_stmt *prep(struct state *st, struct dl_error *err, const char *sql,
			  const char *fmt, ...)
{
	sqlite3_stmt *s = NULL;
	va_list ap;
	size_t i;

	for (i = 0; i < sq(st)->ncache && sq(st)->cache[i].sql != sql; i++)
		;
	if (i < sq(st)->ncache) {
		s = sq(st)->cache[i].st;
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
	} else if (sq(st)->ncache == CACHE) {
		/* Every statement is a literal in this file: CACHE counts them. */
		error_set(err, "state database: internal error: more than %d statements", CACHE);
		return NULL;
	} else if (sqlite3_prepare_v3(sq(st)->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL)) {
		db_error(st, err, "prepare");
		return NULL;
	} else {
		sq(st)->cache[sq(st)->ncache].sql = sql;
		sq(st)->cache[sq(st)->ncache++].st = s;
	}
	/* A format that does not match the SQL would bind garbage: refuse. */
	if ((int)strlen(fmt) != sqlite3_bind_parameter_count(s)) {
		error_set(err, "state database: internal error: %zu bindings for %d parameters",
			  strlen(fmt), sqlite3_bind_parameter_count(s));
		return NULL;
	}
	va_start(ap, fmt);
	for (int k = 1; fmt[k - 1]; k++) {
		switch (fmt[k - 1]) {
		case 's': {
			const char *v = va_arg(ap, const char *);

			/* Static: every caller steps before its strings go. */
			if (v)
				sqlite3_bind_text(s, k, v, -1, SQLITE_STATIC);
			break;
		}
		case 'i': sqlite3_bind_int(s, k, va_arg(ap, int)); break;
		case 'I': sqlite3_bind_int64(s, k, va_arg(ap, int64_t)); break;
		}
	}
	va_end(ap);
	return s;
}

/* Run a statement that returns no rows. */
static int done(struct state *st, sqlite3_stmt *s, struct dl_error *err, const char *what)
{
	int rc;

	if (!s)
		return -1;
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_error(st, err, what);
	return 0;
}

static const char *col(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

static int one_row(struct state *st, const char *sql, int64_t *v, int n, struct dl_error *err);

static int exec(struct state *st, const char *sql, struct dl_error *err)
{
	char *msg = NULL;

	char buf[300];

	if (sqlite3_exec(sq(st)->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		error_set(err, "state database %s: %s", sq(st)->path,
			  why(st, msg ? msg : "error", buf, sizeof buf));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int schema_version(struct state *st, int *version, struct dl_error *err)
{
	sqlite3_stmt *s;

	if (sqlite3_prepare_v2(sq(st)->db, "PRAGMA user_version", -1, &s, NULL))
		return db_error(st, err, "read schema version");
	*version = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
	sqlite3_finalize(s);
	return 0;
}

static int refuse_newer(struct state *st, struct dl_error *err)
{
	int v;

	if (schema_version(st, &v, err) < 0)
		return -1;
	if (v > (int)NMIGRATIONS) {
		error_set(err, "state database %s has schema version %d, newer than this "
			  "deadlined understands (%zu); refusing to use it (was it written by a "
			  "newer release?)", sq(st)->path, v, NMIGRATIONS);
		return -1;
	}
	return 0;
}

static int migrate(struct state *st, struct dl_error *err)
{
	char sql[64];
	int v;

	if (refuse_newer(st, err) < 0 || schema_version(st, &v, err) < 0)
		return -1;
	if (v == (int)NMIGRATIONS)
		return 0;
	if (exec(st, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	if (v > 0)
		log_msg(LOG_NOTICE, "state database %s: migrating from schema version %d to %zu",
			sq(st)->path, v, NMIGRATIONS);
	for (; v < (int)NMIGRATIONS; v++) {
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
		if (exec(st, migrations[v], err) < 0 || exec(st, sql, err) < 0) {
			exec(st, "ROLLBACK", NULL);
			error_prefix(err, "migrating to schema version %d", v + 1);
			return -1;
		}
	}
	return exec(st, "COMMIT", err);
}

static void sqlite_close(struct state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < sq(st)->ncache; i++)
		sqlite3_finalize(sq(st)->cache[i].st);
	sqlite3_close(sq(st)->db);
	free(sq(st)->path);
	free(st);
}

/* Look again every 2 ms, up to busy_ms: a full poll leaves a writer gaps
 * of STAGE_PAUSE_MS between its short transactions, which SQLite's own
 * handler (up to 100 ms between looks) would mostly miss. */
static int busy_wait(void *ctx, int n)
{
	static __thread struct timespec start;
	struct state *st = ctx;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (n == 0)
		start = now;
	if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >=
	    sq(st)->busy_ms)
		return 0;
	sqlite3_sleep(2);
	return 1;
}

/* Open path; read-only opens neither create nor migrate. */
static int open_db(const char *path, bool readonly, struct state **out, struct dl_error *err)
{
	struct sqlite_state *s = calloc(1, sizeof *s);
	int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;

	*out = NULL;
	if (!s || !(s->path = strdup(path ? path : ""))) {
		free(s);
		error_set(err, "out of memory");
		return -1;
	}
	s->base.ops = &state_sqlite_ops;
	if (sqlite3_open_v2(s->path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		error_set(err, "state database %s: cannot open: %s (does its folder exist and "
			  "is it writable?)", s->path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
		sqlite_close(&s->base);
		return -1;
	}
	s->busy_ms = 5000;
	sqlite3_busy_handler(s->db, busy_wait, &s->base);
	*out = &s->base;
	return 0;
}

static int open_writable(struct state *st, struct dl_error *err)
{
	/* A newer release's database is refused before anything changes it.
	 * WAL lets deadlinectl read while the daemon writes; FULL makes a
	 * committed outbox survive a power cut, which is the point of it. */
	if (refuse_newer(st, err) < 0 ||
	    exec(st, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;", err) < 0)
		return -1;
	return migrate(st, err);
}

static int open_readonly(struct state *st, struct dl_error *err)
{
	int v;

	if (schema_version(st, &v, err) < 0)
		return -1;
	if (v != (int)NMIGRATIONS) {
		error_set(err, "state database %s has schema version %d and this release "
			  "reads version %zu; %s", sq(st)->path, v, NMIGRATIONS,
			  v < (int)NMIGRATIONS ?
			  "start the new deadlined once (it migrates the database)" :
			  "it was written by a newer deadlined");
		return -1;
	}
	return 0;
}

static int sqlite_open(const struct state_conf *conf, bool readonly, struct state **out,
		       struct dl_error *err)
{
	struct state *st;

	if (open_db(conf->database, readonly, &st, err) < 0)
		return -1;
	if ((readonly ? open_readonly : open_writable)(st, err) < 0) {
		sqlite_close(st);
		return -1;
	}
	*out = st;
	return 0;
}

static bool sqlite_exists(const struct state_conf *conf)
{
	return conf->database && access(conf->database, F_OK) == 0;
}

static void sqlite_describe(const struct state_conf *conf, char *buf, size_t size)
{
	snprintf(buf, size, "%s", conf->database ? conf->database : "");
}

static void sqlite_set_write_wait(struct state *st, int ms)
{
	sq(st)->busy_ms = ms;
}

static int sqlite_begin(struct state *st, struct dl_error *err)
{
	return exec(st, "BEGIN IMMEDIATE", err);
}

static int sqlite_commit(struct state *st, struct dl_error *err)
{
	return exec(st, "COMMIT", err);
}

static void sqlite_rollback(struct state *st)
{
	exec(st, "ROLLBACK", NULL);
}

static const char SQL_GET_OB[] =
	"SELECT level, alerted_level, last_alert, child_ref, team_ref, team_name,"
	" worker_ref, worker_name, worker_email, manager_email, service_manager_email,"
	" anchor, due, closed, state, stage, days_overdue FROM obligations"
	" WHERE case_ref = ?1 AND rule = ?2 AND seq = ?3";
/* One obligation as a poll writes it: ?1-?3 the key, ?4-?18 the values,
 * ?19 the poll, ?20 the fingerprint, ?21 the time (bound, not strftime:
 * this runs for millions of rows).  Upserts take their values from
 * `excluded`, so the same text serves a row of values and a staged row. */
#define OB_UPSERT \
	" ON CONFLICT (case_ref, rule, seq) DO UPDATE SET child_ref = excluded.child_ref," \
	" team_ref = excluded.team_ref, team_name = excluded.team_name," \
	" worker_ref = excluded.worker_ref, worker_name = excluded.worker_name," \
	" worker_email = excluded.worker_email, manager_email = excluded.manager_email," \
	" service_manager_email = excluded.service_manager_email, anchor = excluded.anchor," \
	" due = excluded.due, closed = excluded.closed, state = excluded.state," \
	" stage = excluded.stage, days_overdue = excluded.days_overdue," \
	" level = excluded.level, seen_poll = excluded.seen_poll, fp = excluded.fp," \
	" updated = CASE WHEN obligations.level != excluded.level" \
	"  OR obligations.state != excluded.state THEN excluded.updated" \
	"  ELSE obligations.updated END"
#define OB_WRITE_COLUMNS \
	"case_ref, rule, seq, child_ref, team_ref, team_name, worker_ref, worker_name," \
	" worker_email, manager_email, service_manager_email, anchor, due, closed, state," \
	" stage, days_overdue, level, seen_poll, fp"
#define OB_INSERT \
	"INSERT INTO obligations (" OB_WRITE_COLUMNS ", first_seen, updated)" \
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17," \
	" ?18, ?19, ?20, ?21, ?21)"
static const char SQL_PUT_OB[] = OB_INSERT OB_UPSERT;
/* A first run's insert: no upsert to plan for each row. */
static const char SQL_ADD_OB[] = OB_INSERT;
static const char SQL_SEEN_OB[] =
	"UPDATE obligations SET seen_poll = ?4 WHERE case_ref = ?1 AND rule = ?2 AND seq = ?3";

static bool same_text(sqlite3_stmt *s, int i, const char *v)
{
	const char *c = (const char *)sqlite3_column_text(s, i);

	return c && v ? strcmp(c, v) == 0 : c == v;
}

/* Is the stored row (SQL_GET_OB's) what ob would write? */
static bool unchanged(sqlite3_stmt *s, const struct state_obligation *ob)
{
	const char *const v[] = { ob->child_ref, ob->team_ref, ob->team_name, ob->worker_ref,
				  ob->worker_name, ob->worker_email, ob->manager_email,
				  ob->service_manager_email, ob->anchor, ob->due, ob->closed,
				  ob->state };

	if (sqlite3_column_int(s, 0) != ob->level || sqlite3_column_int(s, 15) != ob->stage ||
	    sqlite3_column_int(s, 16) != ob->days_overdue)
		return false;
	for (int i = 0; i < 12; i++)
		if (!same_text(s, 3 + i, v[i]))
			return false;
	return true;
}

static sqlite3_stmt *bind_obligation(struct state *st, const char *sql,
				     const struct state_obligation *ob, int64_t poll,
				     struct dl_error *err)
{
	return prep(st, err, sql, "ssi" "ssssssssssss" "iiiIII", ob->case_ref, ob->rule, ob->seq,
		    ob->child_ref, ob->team_ref, ob->team_name, ob->worker_ref, ob->worker_name,
		    ob->worker_email, ob->manager_email, ob->service_manager_email, ob->anchor,
		    ob->due, ob->closed, ob->state, ob->stage, ob->days_overdue, ob->level, poll,
		    ob->fp, (int64_t)time(NULL));
}

static int sqlite_put_obligation(struct state *st, const struct state_obligation *ob,
			 int64_t poll, struct state_prev *prev, struct dl_error *err)
{
	sqlite3_stmt *s = prep(st, err, SQL_GET_OB, "ssi", ob->case_ref, ob->rule, ob->seq);
	bool same = false;
	int rc;

	if (!s)
		return -1;
	memset(prev, 0, sizeof *prev);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		prev->found = true;
		prev->level = sqlite3_column_int(s, 0);
		prev->alerted_level = sqlite3_column_int(s, 1);
		snprintf(prev->last_alert, sizeof prev->last_alert, "%s", col(s, 2) ? col(s, 2) : "");
		same = unchanged(s, ob);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(st, err, "read obligation");
	/* Most obligations of a poll are as they were: a closed one needs no
	 * write at all, an open one only this poll's mark (which keeps
	 * state_close_unseen_case from closing it). */
	if (same)
		return ob->closed ? 0 : done(st, prep(st, err, SQL_SEEN_OB, "ssiI", ob->case_ref,
						      ob->rule, ob->seq, poll), err,
					     "write obligation");
	return done(st, bind_obligation(st, SQL_PUT_OB, ob, poll, err), err, "write obligation");
}

/* ---- a full poll's stage (see state.h) ------------------------------ */

/* Rows of the stage per short transaction: a few tens of milliseconds. */
#define STAGE_CHUNK 10000
/* And the pause after each, longer than a waiting writer's poll (busy_wait). */
#define STAGE_PAUSE_MS 10
/* A first run pauses only once it has held the write lock this long: its
 * chunks of STAGE_CHUNK rows take 60-120 ms each, and a pause after every
 * one was a tenth of its wall time.  A writer still gets in within this
 * and one chunk (and often sooner: in the checkpoint after a commit). */
#define DIRECT_HOLD_MS 250

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The stage lives in this connection's temporary database: writing it
 * takes no lock on the state database, so acks and retries go on. */
static const char STAGE_SCHEMA[] =
	"CREATE TEMP TABLE IF NOT EXISTS stage_ob (id INTEGER PRIMARY KEY,"
	" alerts INTEGER NOT NULL, case_ref TEXT, rule TEXT, seq INTEGER, child_ref TEXT,"
	" team_ref TEXT, team_name TEXT, worker_ref TEXT, worker_name TEXT, worker_email TEXT,"
	" manager_email TEXT, service_manager_email TEXT, anchor TEXT, due TEXT, closed TEXT,"
	" state TEXT, stage INTEGER, days_overdue INTEGER, level INTEGER, seen_poll INTEGER,"
	" fp INTEGER);"
	"CREATE TEMP TABLE IF NOT EXISTS stage_gone (id INTEGER PRIMARY KEY, case_ref TEXT,"
	" rule TEXT, seq INTEGER);"
	"CREATE INDEX IF NOT EXISTS temp.stage_gone_case ON stage_gone(case_ref);"
	"CREATE TEMP TABLE IF NOT EXISTS stage_recheck (id INTEGER PRIMARY KEY, case_ref TEXT,"
	" at INTEGER);"
	"CREATE TEMP TABLE IF NOT EXISTS stage_notified (case_ref TEXT, rule TEXT, seq INTEGER,"
	" what TEXT, recipient TEXT, PRIMARY KEY (case_ref, rule, seq, what, recipient));"
	"CREATE TEMP TABLE IF NOT EXISTS stage_alerted (id INTEGER PRIMARY KEY, case_ref TEXT,"
	" rule TEXT, seq INTEGER, level INTEGER, day TEXT);"
	"CREATE TEMP TABLE IF NOT EXISTS stage_print (id INTEGER PRIMARY KEY,"
	" case_ref TEXT UNIQUE, print INTEGER);";
static const char STAGE_EMPTY[] =
	"DELETE FROM temp.stage_ob; DELETE FROM temp.stage_gone; DELETE FROM temp.stage_recheck;"
	" DELETE FROM temp.stage_notified; DELETE FROM temp.stage_alerted;"
	" DELETE FROM temp.stage_print;";

static const char SQL_STAGE_OB[] =
	"INSERT INTO temp.stage_ob (case_ref, rule, seq, child_ref, team_ref, team_name,"
	" worker_ref, worker_name, worker_email, manager_email, service_manager_email, anchor,"
	" due, closed, state, stage, days_overdue, level, seen_poll, fp, alerts)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
	" ?18, ?19, ?20, ?21)";
static const char SQL_STAGE_GONE[] =
	"INSERT INTO temp.stage_gone (case_ref, rule, seq) VALUES (?1, ?2, ?3)";
static const char SQL_CLOSE_GONE[] =
	"UPDATE obligations SET closed = 'gone', state = 'gone', level = -1, fp = NULL,"
	" updated = strftime('%s', 'now') WHERE case_ref = ?1 AND rule = ?2 AND seq = ?3"
	" AND closed IS NULL";
/* A later print for the same case (it came again, out of order) wins. */
static const char SQL_STAGE_PRINT[] =
	"INSERT OR REPLACE INTO temp.stage_print (case_ref, print) VALUES (?1, NULLIF(?2, 0))";
static const char SQL_PUT_PRINT[] =
	"INSERT INTO case_prints (case_ref, print) VALUES (?1, NULLIF(?2, 0))"
	" ON CONFLICT (case_ref) DO UPDATE SET print = excluded.print";
static const char SQL_UNSTAGE_GONE[] = "DELETE FROM temp.stage_gone WHERE case_ref = ?1";
/* The staged rechecks are a log, applied in order so the last for a case
 * wins: a unique index on case_ref, kept up for every case a full poll
 * stages, cost 4 % of the poll at 1,000,000 cases. */
static const char SQL_STAGE_RECHECK[] =
	"INSERT INTO temp.stage_recheck (case_ref, at) VALUES (?1, ?2)";
static const char SQL_UNSTAGE_RECHECK[] = "DELETE FROM temp.stage_recheck WHERE case_ref = ?1";
static const char SQL_STAGE_ALERTED[] =
	"INSERT INTO temp.stage_alerted (case_ref, rule, seq, level, day)"
	" VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_NOTIFIED_BEFORE[] =
	"SELECT 1 FROM notified WHERE case_ref = ?1 AND rule = ?2 AND seq = ?3 AND what = ?4"
	" AND recipient = ?5";
static const char SQL_STAGE_NOTIFIED[] =
	"INSERT OR IGNORE INTO temp.stage_notified (case_ref, rule, seq, what, recipient)"
	" VALUES (?1, ?2, ?3, ?4, ?5)";

/* Fresh when neither the stored log nor this stage has it yet. */
static int stage_note_sent(struct state *st, const char *case_ref, const char *rule, int seq,
			   const char *what, const char *recipient, bool *fresh,
			   struct dl_error *err)
{
	sqlite3_stmt *s = prep(st, err, SQL_NOTIFIED_BEFORE, "ssiss", case_ref, rule, seq, what,
			       recipient);
	int rc;

	if (!s)
		return -1;
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(st, err, "read notified");
	*fresh = false;
	if (rc == SQLITE_ROW)
		return 0;
	if (done(st, prep(st, err, SQL_STAGE_NOTIFIED, "ssiss", case_ref, rule, seq, what,
			  recipient), err, "stage notified") < 0)
		return -1;
	*fresh = sqlite3_changes(sq(st)->db) > 0;
	return 0;
}

static const char SQL_ANY_OB[] = "SELECT EXISTS (SELECT 1 FROM obligations)";

/* The quiet chunks of a full poll tell nobody, so they need not reach the
 * disk one by one: under NORMAL a commit is not synced, and a crash keeps
 * the database whole but may lose the last chunks, which the next full
 * poll writes again.  The final transaction, with the poll's messages, is
 * under FULL, and its sync makes every chunk before it durable too. */
static int quiet_sync(struct state *st, bool quiet, struct dl_error *err)
{
	if (quiet)
		return exec(st, "PRAGMA synchronous = NORMAL", err);
	return exec(st, "PRAGMA synchronous = FULL", err);
}

/* A first run checkpoints its WAL every 64 MB rather than every 4 MB
 * (SQLite's 1,000 pages): each checkpoint syncs the WAL and the database,
 * and about 500 of them were a tenth of a first run's wall time at a
 * million cases (docs/PERFORMANCE.md, "firstrun7").  What a crash keeps is
 * as before (quiet_sync); the WAL file keeps the size it reached. */
static int direct_checkpoints(struct state *st, bool direct, struct dl_error *err)
{
	if (direct)
		return exec(st, "PRAGMA wal_autocheckpoint = 16384", err);
	return exec(st, "PRAGMA wal_autocheckpoint = 1000", err);
}

/* Over an empty store (a first run) the poll writes every case's print
 * row itself, after the case's rows (poll_merge_case_end; state.h): the
 * case_prints triggers, a statement for each of millions of rows
 * inserted, are off on this connection while it writes directly (other
 * connections keep them). */
static int direct_triggers(struct state *st, bool on, struct dl_error *err)
{
	int now;

	if (sqlite3_db_config(sq(st)->db, SQLITE_DBCONFIG_ENABLE_TRIGGER, on ? 1 : 0, &now) !=
	    SQLITE_OK || now != (on ? 1 : 0)) {
		if (err)
			error_set(err, "state database %s: cannot turn triggers %s", sq(st)->path,
				  on ? "on" : "off");
		return -1;
	}
	return 0;
}

/* A first run whose direct writes did not all commit (a crash or failure
 * between chunks) may leave cases with rows and no print row, the
 * triggers being off: its first transaction marks the store, its final
 * one clears the mark, and the next full poll that finds the mark gives
 * every case its row first (one scan of obligations, once). */
static const char SQL_PRINTS_PARTIAL[] =
	"INSERT OR REPLACE INTO meta (key, value) VALUES ('case_prints_partial', '1')";
static const char SQL_PRINTS_WHOLE[] = "DELETE FROM meta WHERE key = 'case_prints_partial'";
static const char SQL_PRINTS_CHECK[] =
	"SELECT EXISTS (SELECT 1 FROM meta WHERE key = 'case_prints_partial')";
static const char SQL_PRINTS_REPAIR[] =
	"BEGIN IMMEDIATE;"
	" INSERT OR IGNORE INTO case_prints (case_ref) SELECT DISTINCT case_ref FROM obligations;"
	" DELETE FROM meta WHERE key = 'case_prints_partial'; COMMIT;";

/* The open obligations' indexes (the tray, the digests, each_open).  A
 * first run drops them in its first transaction, with the mark above, and
 * builds them once at its end (open_indexes): a scan and a sort each,
 * instead of each open row going into four B-trees at random places as it
 * comes, which wrote as many index pages to the WAL as table pages.  The
 * same mark makes the next full poll build them if the run was cut short;
 * IF NOT EXISTS, as that run may have built some.  They must stay the
 * latest migration's definitions word for word (test_state checks it): a
 * migration that changes one changes it here too. */
static const char SQL_OPEN_INDEXES_DROP[] =
	"DROP INDEX IF EXISTS obligations_open; DROP INDEX IF EXISTS obligations_worker;"
	" DROP INDEX IF EXISTS obligations_manager;"
	" DROP INDEX IF EXISTS obligations_service_manager;";
static const char SQL_INDEX_OPEN[] =
	"CREATE INDEX IF NOT EXISTS obligations_open ON obligations(level) WHERE closed IS NULL";
static const char SQL_INDEX_WORKER[] =
	"CREATE INDEX IF NOT EXISTS obligations_worker ON obligations(worker_email COLLATE NOCASE,"
	" level DESC, days_overdue DESC, due) WHERE closed IS NULL";
static const char SQL_INDEX_MANAGER[] =
	"CREATE INDEX IF NOT EXISTS obligations_manager ON obligations(manager_email COLLATE NOCASE,"
	" level DESC, days_overdue DESC, due) WHERE closed IS NULL";
static const char SQL_INDEX_SERVICE_MANAGER[] =
	"CREATE INDEX IF NOT EXISTS obligations_service_manager"
	" ON obligations(service_manager_email COLLATE NOCASE, level DESC, days_overdue DESC, due)"
	" WHERE closed IS NULL";

/* Build one (sql: one of the four above): when chunked, in a short
 * transaction of its own with a pause after it, so that a waiting writer
 * waits for one index at most (a scan of the table: 1 to 3 s at a
 * million cases). */
static int open_index(struct state *st, const char *sql, bool chunked, struct dl_error *err)
{
	if (chunked && sqlite_begin(st, err) < 0)
		return -1;
	if (exec(st, sql, err) < 0 || (chunked && sqlite_commit(st, err) < 0)) {
		if (chunked)
			sqlite_rollback(st);
		return -1;
	}
	if (chunked)
		sqlite3_sleep(STAGE_PAUSE_MS);
	return 0;
}

static int open_indexes(struct state *st, bool chunked, struct dl_error *err)
{
	return open_index(st, SQL_INDEX_OPEN, chunked, err) < 0 ||
	       open_index(st, SQL_INDEX_WORKER, chunked, err) < 0 ||
	       open_index(st, SQL_INDEX_MANAGER, chunked, err) < 0 ||
	       open_index(st, SQL_INDEX_SERVICE_MANAGER, chunked, err) < 0 ? -1 : 0;
}

static int repair_prints(struct state *st, struct dl_error *err)
{
	int64_t partial = 0;

	if (one_row(st, SQL_PRINTS_CHECK, &partial, 1, err) < 0)
		return -1;
	if (!partial)
		return 0;
	log_msg(LOG_NOTICE, "state database %s: a first run did not finish; giving every case "
		"its print row and building the open obligations' indexes", sq(st)->path);
	if (open_indexes(st, true, err) < 0 || exec(st, SQL_PRINTS_REPAIR, err) < 0) {
		exec(st, "ROLLBACK", NULL);
		return -1;
	}
	return 0;
}

static int sqlite_stage_begin(struct state *st, bool chunked, struct dl_error *err)
{
	int64_t any = 1;

	if (!sq(st)->stage_made) {
		if (exec(st, "PRAGMA temp_store = FILE;", err) < 0 || exec(st, STAGE_SCHEMA, err) < 0)
			return -1;
		sq(st)->stage_made = true;
	}
	if (repair_prints(st, err) < 0)
		return -1;
	/* A deferred transaction: a read snapshot of the stored state, and
	 * writes to the temporary stage only, so that nobody waits for the
	 * evaluation; a dry run too (it rolls back what it applies). */
	if ((chunked && quiet_sync(st, true, err) < 0) || exec(st, "BEGIN", err) < 0)
		return -1;
	if (exec(st, STAGE_EMPTY, err) < 0 || one_row(st, SQL_ANY_OB, &any, 1, err) < 0) {
		exec(st, "ROLLBACK", NULL);
		return -1;
	}
	sq(st)->staging = true;
	sq(st)->stage_chunked = chunked;
	/* A first run has nothing to compare or keep unchanged on failure:
	 * what tells nobody is written at once (in chunks when chunked), not
	 * staged twice.  A dry run over an empty store so writes into the one
	 * write transaction it rolls back: nothing is stored yet that anyone
	 * could be acknowledging. */
	if (!any && !chunked && (exec(st, "COMMIT", err) < 0 ||
				 exec(st, "BEGIN IMMEDIATE", err) < 0))
		return -1;
	sq(st)->stage_direct = !any;
	sq(st)->stage_rows = 0;
	sq(st)->held_since = now_ms();
	if (any)
		return 0;
	if (exec(st, SQL_PRINTS_PARTIAL, err) < 0 || exec(st, SQL_OPEN_INDEXES_DROP, err) < 0 ||
	    direct_checkpoints(st, true, err) < 0) {
		exec(st, "ROLLBACK", NULL);
		sq(st)->staging = false;
		return -1;
	}
	return direct_triggers(st, false, err);
}

/* In direct mode, end a chunk: commit (a killed daemon loses only the
 * chunk in progress), pause for a waiting writer once the lock has been
 * held DIRECT_HOLD_MS, and go on in a new transaction. */
static int direct_write(struct state *st, const struct state_obligation *ob,
			struct dl_error *err)
{
	sqlite3_stmt *s = bind_obligation(st, SQL_ADD_OB, ob, 0, err);
	int rc = s ? sqlite3_step(s) : SQLITE_ERROR;

	if (s)
		sqlite3_reset(s);
	/* Already there (a source that gives a case twice): as any poll. */
	if (rc == SQLITE_CONSTRAINT)
		rc = done(st, bind_obligation(st, SQL_PUT_OB, ob, 0, err), err,
			  "write obligation") < 0 ? SQLITE_ERROR : SQLITE_DONE;
	else if (s && rc != SQLITE_DONE)
		db_error(st, err, "write obligation");
	if (rc != SQLITE_DONE)
		return -1;
	if (!sq(st)->stage_chunked || ++sq(st)->stage_rows % STAGE_CHUNK)
		return 0;
	if (exec(st, "COMMIT", err) < 0)
		return -1;
	if (now_ms() - sq(st)->held_since >= DIRECT_HOLD_MS) {
		sqlite3_sleep(STAGE_PAUSE_MS);
		sq(st)->held_since = now_ms();
	}
	return exec(st, "BEGIN", err);
}

static void sqlite_stage_abort(struct state *st)
{
	if (sq(st)->staging)
		exec(st, "ROLLBACK", NULL);
	sq(st)->staging = false;
	quiet_sync(st, false, NULL);
	direct_triggers(st, true, NULL);
	direct_checkpoints(st, false, NULL);
}

static int sqlite_stage_obligation(struct state *st, const struct state_obligation *ob,
			   bool alerts, struct dl_error *err)
{
	sqlite3_stmt *s;

	if (!sq(st)->staging)
		return done(st, bind_obligation(st, SQL_PUT_OB, ob, 0, err), err,
			    "write obligation");
	if (sq(st)->stage_direct && !alerts)
		return direct_write(st, ob, err);
	s = prep(st, err, SQL_STAGE_OB, "ssi" "ssssssssssss" "iiiIIi", ob->case_ref,
			       ob->rule, ob->seq, ob->child_ref, ob->team_ref, ob->team_name,
			       ob->worker_ref, ob->worker_name, ob->worker_email, ob->manager_email,
			       ob->service_manager_email, ob->anchor, ob->due, ob->closed,
			       ob->state, ob->stage, ob->days_overdue, ob->level, (int64_t)0,
			       ob->fp, (int)alerts);

	return done(st, s, err, "stage obligation");
}

static int sqlite_stage_gone(struct state *st, const char *case_ref, const char *rule, int seq,
		     struct dl_error *err)
{
	if (!sq(st)->staging)
		return done(st, prep(st, err, SQL_CLOSE_GONE, "ssi", case_ref, rule, seq), err,
			    "close gone");
	return done(st, prep(st, err, SQL_STAGE_GONE, "ssi", case_ref, rule, seq), err,
		    "stage gone");
}

/* Over an empty store the case's rows are in already (direct_write; an
 * alerting one is staged, but such a case gets no print): the print
 * follows them into the same or a later transaction. */
static int sqlite_stage_case_print(struct state *st, const char *case_ref, int64_t print,
				   struct dl_error *err)
{
	sqlite3_stmt *s;

	if (sq(st)->staging && !sq(st)->stage_direct)
		s = prep(st, err, SQL_STAGE_PRINT, "sI", case_ref, print);
	else
		s = prep(st, err, SQL_PUT_PRINT, "sI", case_ref, print);
	return done(st, s, err, "stage case print");
}

static int sqlite_unstage_gone_case(struct state *st, const char *case_ref, struct dl_error *err)
{
	return done(st, prep(st, err, SQL_UNSTAGE_GONE, "s", case_ref), err, "stage gone");
}

/* The apply statements: ?1 < id <= ?2 picks a chunk of the stage. */
static const char SQL_APPLY_OB[] =
	"INSERT INTO obligations (" OB_WRITE_COLUMNS ", first_seen, updated)"
	" SELECT " OB_WRITE_COLUMNS ", strftime('%s', 'now'), strftime('%s', 'now')"
	" FROM temp.stage_ob WHERE id > ?1 AND id <= ?2 AND alerts = ?3 ORDER BY id" OB_UPSERT;
static const char SQL_APPLY_GONE[] =
	"UPDATE obligations SET closed = 'gone', state = 'gone', level = -1, fp = NULL,"
	" updated = strftime('%s', 'now') WHERE closed IS NULL AND (case_ref, rule, seq) IN"
	" (SELECT case_ref, rule, seq FROM temp.stage_gone WHERE id > ?1 AND id <= ?2)";
static const char SQL_APPLY_PRINT[] =
	"INSERT INTO case_prints (case_ref, print) SELECT case_ref, print FROM temp.stage_print"
	" WHERE id > ?1 AND id <= ?2 ORDER BY id"
	" ON CONFLICT (case_ref) DO UPDATE SET print = excluded.print";
static const char SQL_APPLY_RECHECK[] =
	"INSERT OR REPLACE INTO rechecks (case_ref, at) SELECT case_ref, at"
	" FROM temp.stage_recheck WHERE id > ?1 AND id <= ?2 ORDER BY id";
static const char SQL_APPLY_ALERTED[] =
	"UPDATE obligations SET alerted_level = MAX(alerted_level, s.level),"
	" last_alert = COALESCE(s.day, last_alert) FROM (SELECT case_ref, rule, seq,"
	"  MAX(level) AS level, MAX(day) AS day FROM temp.stage_alerted"
	"  GROUP BY case_ref, rule, seq) AS s"
	" WHERE obligations.case_ref = s.case_ref AND obligations.rule = s.rule"
	" AND obligations.seq = s.seq";
static const char SQL_APPLY_NOTIFIED[] =
	"INSERT OR IGNORE INTO notified (case_ref, rule, seq, what, recipient, at)"
	" SELECT case_ref, rule, seq, what, recipient, strftime('%s', 'now')"
	" FROM temp.stage_notified";


static int stage_max(struct state *st, const char *sql, int64_t *max, struct dl_error *err)
{
	return one_row(st, sql, max, 1, err);
}

/* Run sql (bindings ?1 lo, ?2 hi, and ?3 when alerts >= 0) over the ids
 * up to max, in chunks; in short transactions of their own when chunked,
 * with a pause after each so that a waiting writer gets in. */
static int apply_chunks(struct state *st, const char *sql, int64_t max, int alerts,
			bool chunked, const struct state_tick *tick, struct dl_error *err)
{
	for (int64_t lo = 0; lo < max; lo += STAGE_CHUNK) {
		sqlite3_stmt *s = alerts >= 0 ? prep(st, err, sql, "IIi", lo, lo + STAGE_CHUNK, alerts)
					      : prep(st, err, sql, "II", lo, lo + STAGE_CHUNK);

		if (!s || (chunked && sqlite_begin(st, err) < 0))
			return -1;
		if (done(st, s, err, "apply the poll's changes") < 0 ||
		    (chunked && sqlite_commit(st, err) < 0)) {
			if (chunked)
				sqlite_rollback(st);
			return -1;
		}
		if (tick && tick->fn && tick->fn(tick->ctx) != 0) {
			error_set(err, "state database %s: applying the poll's changes: stopped",
				  sq(st)->path);
			return -1;
		}
		if (chunked && lo + STAGE_CHUNK < max)
			sqlite3_sleep(STAGE_PAUSE_MS);
	}
	return 0;
}

static const char SQL_STAGE_MAX_OB[] = "SELECT COALESCE(MAX(id), 0) FROM temp.stage_ob";
static const char SQL_STAGE_MAX_GONE[] = "SELECT COALESCE(MAX(id), 0) FROM temp.stage_gone";
static const char SQL_STAGE_MAX_PRINT[] = "SELECT COALESCE(MAX(id), 0) FROM temp.stage_print";
static const char SQL_STAGE_MAX_RECHECK[] =
	"SELECT COALESCE(MAX(id), 0) FROM temp.stage_recheck";

static int sqlite_stage_apply(struct state *st, const struct state_tick *tick,
			      struct dl_error *err)
{
	bool chunked = sq(st)->stage_chunked;
	bool snapshot = chunked || !sq(st)->stage_direct;
	int64_t n_ob, n_gone, n_recheck, n_print;
	int rc;

	/* The read snapshot ends; a dry run then applies it all in one write
	 * transaction, which its caller rolls back. */
	if (direct_triggers(st, true, err) < 0 || stage_max(st, SQL_STAGE_MAX_OB, &n_ob, err) < 0 ||
	    stage_max(st, SQL_STAGE_MAX_GONE, &n_gone, err) < 0 ||
	    stage_max(st, SQL_STAGE_MAX_RECHECK, &n_recheck, err) < 0 ||
	    stage_max(st, SQL_STAGE_MAX_PRINT, &n_print, err) < 0 ||
	    (snapshot && exec(st, "COMMIT", err) < 0) ||
	    (snapshot && !chunked && sqlite_begin(st, err) < 0)) {
		sqlite_stage_abort(st);
		return -1;
	}
	sq(st)->staging = false;
	/* What tells nobody first, chunk by chunk; a crash here leaves true
	 * values that the next full poll finds as they are. */
	rc = apply_chunks(st, SQL_APPLY_OB, n_ob, 0, chunked, tick, err);
	if (rc == 0)
		rc = apply_chunks(st, SQL_APPLY_GONE, n_gone, -1, chunked, tick, err);
	/* The case prints after the rows they describe (state.h). */
	if (rc == 0)
		rc = apply_chunks(st, SQL_APPLY_PRINT, n_print, -1, chunked, tick, err);
	/* A first run's open indexes, before the mark goes (see above). */
	if (rc == 0 && sq(st)->stage_direct)
		rc = open_indexes(st, chunked, err);
	if (rc == 0 && chunked)
		rc = quiet_sync(st, false, err);
	if (rc == 0 && sq(st)->stage_direct)
		rc = direct_checkpoints(st, false, err);
	if (rc == 0 && chunked)
		rc = sqlite_begin(st, err);
	/* The rechecks are replaced whole: a full poll saw every case. */
	if (rc == 0)
		rc = exec(st, "DELETE FROM rechecks", err);
	if (rc == 0 && sq(st)->stage_direct)
		rc = exec(st, SQL_PRINTS_WHOLE, err);
	if (rc == 0)
		rc = apply_chunks(st, SQL_APPLY_RECHECK, n_recheck, -1, false, tick, err);
	/* Then, in the caller's transaction with the messages they cause,
	 * the obligations that alert and what was told to whom. */
	if (rc == 0)
		rc = apply_chunks(st, SQL_APPLY_OB, n_ob, 1, false, tick, err);
	if (rc == 0)
		rc = done(st, prep(st, err, SQL_APPLY_ALERTED, ""), err, "apply alerts");
	if (rc == 0)
		rc = done(st, prep(st, err, SQL_APPLY_NOTIFIED, ""), err, "apply notified");
	if (rc < 0 && (!chunked || sqlite3_get_autocommit(sq(st)->db) == 0))
		sqlite_rollback(st);
	if (rc < 0) {
		quiet_sync(st, false, NULL);
		direct_checkpoints(st, false, NULL);
	}
	return rc;
}

/* ---- the stored obligations in key order ---------------------------- */

struct sqlite_walk {
	struct state_walk base;
	sqlite3_stmt *s;
};

static const char SQL_WALK[] =
	"SELECT case_ref, rule, seq, fp, closed IS NULL, level, alerted_level, last_alert"
	" FROM obligations ORDER BY case_ref, rule, seq";
static const char SQL_STORED_CASE[] =
	"SELECT case_ref, rule, seq, fp, closed IS NULL, level, alerted_level, last_alert"
	" FROM obligations WHERE case_ref = ?1 ORDER BY rule, seq";

static void read_stored(sqlite3_stmt *s, struct state_stored *row)
{
	*row = (struct state_stored){
		col(s, 0), col(s, 1), sqlite3_column_int(s, 2), sqlite3_column_int64(s, 3),
		sqlite3_column_int(s, 4) != 0,
		{ true, sqlite3_column_int(s, 5), sqlite3_column_int(s, 6), "" },
	};
	/* Set only with an alert; not snprintf: this runs for every stored
	 * obligation. */
	if (row->prev.alerted_level > 0 && col(s, 7)) {
		size_t n = (size_t)sqlite3_column_bytes(s, 7);

		n = n < sizeof row->prev.last_alert ? n : sizeof row->prev.last_alert - 1;
		memcpy(row->prev.last_alert, col(s, 7), n);
		row->prev.last_alert[n] = '\0';
	}
}

/* A walk has its own statement, not the cache's: it steps for the whole
 * poll. */
static int walk_prepare(struct state *st, const char *sql, const char *what,
			struct state_walk **out, struct dl_error *err)
{
	struct sqlite_walk *w = calloc(1, sizeof *w);

	*out = NULL;
	if (!w) {
		error_set(err, "out of memory");
		return -1;
	}
	w->base.st = st;
	if (sqlite3_prepare_v2(sq(st)->db, sql, -1, &w->s, NULL) != SQLITE_OK) {
		free(w);
		return db_error(st, err, what);
	}
	*out = &w->base;
	return 0;
}

static int sqlite_walk_begin(struct state *st, struct state_walk **out, struct dl_error *err)
{
	return walk_prepare(st, SQL_WALK, "walk obligations", out, err);
}

static int sqlite_walk_next(struct state_walk *base, struct state_stored *row,
			    struct dl_error *err)
{
	struct sqlite_walk *w = (struct sqlite_walk *)base;
	int rc = sqlite3_step(w->s);

	if (rc == SQLITE_ROW) {
		read_stored(w->s, row);
		return 1;
	}
	return rc == SQLITE_DONE ? 0 : db_error(base->st, err, "walk obligations");
}

static void sqlite_walk_end(struct state_walk *base)
{
	struct sqlite_walk *w = (struct sqlite_walk *)base;

	sqlite3_finalize(w->s);
	free(w);
}

static const char SQL_CASE_WALK[] =
	"SELECT case_ref, print FROM case_prints ORDER BY case_ref";

static int sqlite_case_walk_begin(struct state *st, struct state_walk **out,
				  struct dl_error *err)
{
	return walk_prepare(st, SQL_CASE_WALK, "walk case prints", out, err);
}

static int sqlite_case_walk_next(struct state_walk *base, struct state_case_print *row,
				 struct dl_error *err)
{
	struct sqlite_walk *w = (struct sqlite_walk *)base;
	int rc = sqlite3_step(w->s);

	if (rc == SQLITE_ROW) {
		row->case_ref = col(w->s, 0);
		row->print = sqlite3_column_int64(w->s, 1);   /* NULL reads 0: unknown */
		return 1;
	}
	return rc == SQLITE_DONE ? 0 : db_error(base->st, err, "walk case prints");
}

static int sqlite_each_stored(struct state *st, const char *case_ref, state_stored_fn fn, void *ctx,
		      struct dl_error *err)
{
	sqlite3_stmt *s = prep(st, err, SQL_STORED_CASE, "s", case_ref);
	int rc = 0, step = SQLITE_DONE;

	if (!s)
		return -1;
	while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW) {
		struct state_stored row;

		read_stored(s, &row);
		rc = fn(ctx, &row);
	}
	sqlite3_reset(s);
	if (rc == 0 && step != SQLITE_DONE)
		return db_error(st, err, "read obligations");
	return rc;
}

static const char SQL_SET_ALERTED[] =
	"UPDATE obligations SET alerted_level = MAX(alerted_level, ?4),"
	" last_alert = COALESCE(?5, last_alert) WHERE case_ref = ?1 AND rule = ?2 AND seq = ?3";

static int sqlite_set_alerted(struct state *st, const char *case_ref, const char *rule, int seq,
		      int level, const char *day, struct dl_error *err)
{
	if (sq(st)->staging)
		return done(st, prep(st, err, SQL_STAGE_ALERTED, "ssiis", case_ref, rule, seq, level,
				     day), err, "stage alerted");
	return done(st, prep(st, err, SQL_SET_ALERTED, "ssiis", case_ref, rule, seq, level, day),
		    err, "mark alerted");
}

static const char SQL_CLOSE_UNSEEN[] =
	"UPDATE obligations SET closed = 'gone', state = 'gone', level = -1, fp = NULL,"
	" updated = strftime('%s', 'now') WHERE closed IS NULL"
	" AND (seen_poll IS NULL OR seen_poll < ?1)";

static int sqlite_close_unseen(struct state *st, int64_t poll, struct dl_error *err)
{
	return done(st, prep(st, err, SQL_CLOSE_UNSEEN, "I", poll), err, "close unseen");
}

static const char SQL_CLOSE_UNSEEN_CASE[] =
	"UPDATE obligations SET closed = 'gone', state = 'gone', level = -1, fp = NULL,"
	" updated = strftime('%s', 'now') WHERE case_ref = ?1 AND closed IS NULL"
	" AND (seen_poll IS NULL OR seen_poll < ?2)";

static int sqlite_close_unseen_case(struct state *st, const char *case_ref, int64_t poll,
			    struct dl_error *err)
{
	return done(st, prep(st, err, SQL_CLOSE_UNSEEN_CASE, "sI", case_ref, poll), err,
		    "close unseen");
}

static const char SQL_SET_RECHECK[] =
	"INSERT OR REPLACE INTO rechecks (case_ref, at) VALUES (?1, ?2)";
static const char SQL_DEL_RECHECK[] = "DELETE FROM rechecks WHERE case_ref = ?1";

static int sqlite_set_recheck(struct state *st, const char *case_ref, int64_t at,
		      struct dl_error *err)
{
	if (sq(st)->staging)
		return done(st, at == STATE_NO_RECHECK ?
			    prep(st, err, SQL_UNSTAGE_RECHECK, "s", case_ref) :
			    prep(st, err, SQL_STAGE_RECHECK, "sI", case_ref, at), err, "stage recheck");
	if (at == STATE_NO_RECHECK)
		return done(st, prep(st, err, SQL_DEL_RECHECK, "s", case_ref), err,
			    "clear recheck");
	return done(st, prep(st, err, SQL_SET_RECHECK, "sI", case_ref, at), err, "set recheck");
}

static const char SQL_CLEAR_RECHECKS[] = "DELETE FROM rechecks";

static int sqlite_clear_rechecks(struct state *st, struct dl_error *err)
{
	return done(st, prep(st, err, SQL_CLEAR_RECHECKS, ""), err, "clear rechecks");
}

static const char SQL_EACH_RECHECK[] =
	"SELECT case_ref FROM rechecks WHERE at <= ?1";

static int sqlite_each_recheck(struct state *st, int64_t upto, state_ref_fn fn, void *ctx,
		       struct dl_error *err)
{
	sqlite3_stmt *s = prep(st, err, SQL_EACH_RECHECK, "I", upto);
	int rc = 0, step = SQLITE_DONE;

	if (!s)
		return -1;
	while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW)
		rc = fn(ctx, col(s, 0));
	sqlite3_reset(s);
	if (rc == 0 && step != SQLITE_DONE)
		return db_error(st, err, "read rechecks");
	return rc;
}

static const char SQL_NEXT_RECHECK[] = "SELECT MIN(at) FROM rechecks";

static int sqlite_next_recheck(struct state *st, int64_t *at, struct dl_error *err)
{
	sqlite3_stmt *s = prep(st, err, SQL_NEXT_RECHECK, "");
	int rc;

	if (!s)
		return -1;
	*at = STATE_NO_RECHECK;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		*at = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : db_error(st, err, "read next recheck");
}

static const char SQL_EACH_OPEN[] =
	"SELECT case_ref, rule, seq, child_ref, team_ref, team_name, worker_ref, worker_name,"
	" worker_email, manager_email, service_manager_email, anchor, due, closed, state,"
	" stage, days_overdue, level, alerted_level, last_alert FROM obligations"
	" WHERE closed IS NULL AND level >= ?1 ORDER BY days_overdue DESC, due, case_ref, rule";

static int sqlite_each_open(struct state *st, int min_level, state_obligation_fn fn, void *ctx,
		    struct dl_error *err)
{
	sqlite3_stmt *s = prep(st, err, SQL_EACH_OPEN, "i", min_level);
	int rc = 0, step;

	if (!s)
		return -1;
	while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW) {
		struct state_obligation ob = {
			col(s, 0), col(s, 1), sqlite3_column_int(s, 2), col(s, 3), col(s, 4),
			col(s, 5), col(s, 6), col(s, 7), col(s, 8), col(s, 9), col(s, 10),
			col(s, 11), col(s, 12), col(s, 13), col(s, 14), sqlite3_column_int(s, 15),
			sqlite3_column_int(s, 16), sqlite3_column_int(s, 17),
		};
		struct state_prev prev = { true, ob.level, sqlite3_column_int(s, 18), "" };

		snprintf(prev.last_alert, sizeof prev.last_alert, "%s", col(s, 19) ? col(s, 19) : "");
		rc = fn(ctx, &ob, &prev);
	}
	sqlite3_reset(s);
	if (rc == 0 && step != SQLITE_DONE)
		return db_error(st, err, "read open obligations");
	return rc;
}

static const char SQL_EACH_REPORT[] =
	"SELECT case_ref, rule, seq, team_ref, team_name, anchor, due, closed, state,"
	" days_overdue, (SELECT reason FROM acks a WHERE a.case_ref = o.case_ref"
	"  AND a.rule = o.rule AND a.seq = o.seq ORDER BY a.id DESC LIMIT 1)"
	" FROM obligations o WHERE state != 'gone' AND substr(anchor, 1, 10) <= ?2"
	" AND (closed IS NULL OR substr(closed, 1, 10) >= ?1)"
	" AND (?3 IS NULL OR team_ref = ?3) AND (?4 IS NULL OR rule = ?4)"
	" ORDER BY rule, team_ref, case_ref, seq";

static int sqlite_each_for_report(struct state *st, const char *from, const char *to,
			  const char *team, const char *rule, state_report_fn fn, void *ctx,
			  struct dl_error *err)
{
	sqlite3_stmt *s = prep(st, err, SQL_EACH_REPORT, "ssss", from, to, team, rule);
	int rc = 0, step;

	if (!s)
		return -1;
	while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW) {
		struct state_obligation ob = {
			.case_ref = col(s, 0), .rule = col(s, 1), .seq = sqlite3_column_int(s, 2),
			.team_ref = col(s, 3), .team_name = col(s, 4), .anchor = col(s, 5),
			.due = col(s, 6), .closed = col(s, 7), .state = col(s, 8),
			.days_overdue = sqlite3_column_int(s, 9),
		};

		rc = fn(ctx, &ob, col(s, 10));
	}
	sqlite3_reset(s);
	if (rc == 0 && step != SQLITE_DONE)
		return db_error(st, err, "read obligations for a report");
	return rc;
}

static const char SQL_FIRST_POLL[] = "SELECT COALESCE(MIN(started), 0) FROM polls";

static int sqlite_first_poll(struct state *st, int64_t *when, struct dl_error *err)
{
	return one_row(st, SQL_FIRST_POLL, when, 1, err);
}

static const char SQL_NOTE[] =
	"INSERT OR IGNORE INTO notified (case_ref, rule, seq, what, recipient, at)"
	" VALUES (?1, ?2, ?3, ?4, ?5, strftime('%s', 'now'))";

static int sqlite_note_sent(struct state *st, const char *case_ref, const char *rule, int seq,
		    const char *what, const char *recipient, bool *fresh, struct dl_error *err)
{
	if (sq(st)->staging)
		return stage_note_sent(st, case_ref, rule, seq, what, recipient, fresh, err);
	if (done(st, prep(st, err, SQL_NOTE, "ssiss", case_ref, rule, seq, what, recipient),
		 err, "note notified") < 0)
		return -1;
	*fresh = sqlite3_changes(sq(st)->db) > 0;
	return 0;
}

static const char SQL_ENQUEUE[] =
	"INSERT INTO outbox (msg_id, receiver, recipient, kind, case_ref, rule, immediate,"
	" subject, text, html, payload, created, next_attempt)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

static int sqlite_enqueue(struct state *st, const struct state_message *m, int64_t *id,
		  struct dl_error *err)
{
	sqlite3_stmt *s = prep(st, err, SQL_ENQUEUE, "ssssssissssII", m->msg_id, m->receiver,
			       m->recipient, m->kind, m->case_ref, m->rule, m->immediate,
			       m->subject, m->text, m->html, m->payload, m->created,
			       m->next_attempt);

	if (done(st, s, err, "enqueue") < 0)
		return -1;
	*id = sqlite3_last_insert_rowid(sq(st)->db);
	return 0;
}

#define MESSAGE_COLUMNS \
	"id, msg_id, receiver, recipient, kind, case_ref, rule, immediate, subject, text," \
	" html, payload, created, next_attempt, attempts, status, last_error FROM outbox"

static void read_message(sqlite3_stmt *s, struct state_message *m)
{
	*m = (struct state_message){
		sqlite3_column_int64(s, 0), col(s, 1), col(s, 2), col(s, 3), col(s, 4),
		col(s, 5), col(s, 6), sqlite3_column_int(s, 7), col(s, 8), col(s, 9),
		col(s, 10), col(s, 11), sqlite3_column_int64(s, 12), sqlite3_column_int64(s, 13),
		sqlite3_column_int(s, 14), col(s, 15), col(s, 16),
	};
}

static int each_message(struct state *st, sqlite3_stmt *s, state_message_fn fn, void *ctx,
			struct dl_error *err)
{
	int rc = 0, step;

	if (!s)
		return -1;
	while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW) {
		struct state_message m;

		read_message(s, &m);
		rc = fn(ctx, &m);
	}
	sqlite3_reset(s);
	if (rc == 0 && step != SQLITE_DONE)
		return db_error(st, err, "read outbox");
	return rc;
}

static const char SQL_DUE[] =
	"SELECT " MESSAGE_COLUMNS " WHERE status = 'pending' AND next_attempt <= ?1"
	" ORDER BY immediate DESC, id LIMIT ?2";

static int sqlite_each_due(struct state *st, int64_t now, int max, state_message_fn fn, void *ctx,
		   struct dl_error *err)
{
	return each_message(st, prep(st, err, SQL_DUE, "Ii", now, max), fn, ctx, err);
}

static const char SQL_EACH_STATUS[] =
	"SELECT " MESSAGE_COLUMNS " WHERE ?1 IS NULL OR status = ?1 ORDER BY id";

static int sqlite_each_message(struct state *st, const char *status, state_message_fn fn, void *ctx,
		       struct dl_error *err)
{
	return each_message(st, prep(st, err, SQL_EACH_STATUS, "s", status), fn, ctx, err);
}

static const char SQL_MARK[] =
	"UPDATE outbox SET status = ?2, attempts = ?3, next_attempt = ?4, last_error = ?5,"
	" sent_at = CASE WHEN ?6 > 0 THEN ?6 ELSE sent_at END WHERE id = ?1";

static int sqlite_mark_message(struct state *st, int64_t id, const char *status, int attempts,
		       int64_t next_attempt, const char *last_error, int64_t sent_at,
		       struct dl_error *err)
{
	return done(st, prep(st, err, SQL_MARK, "IsiIsI", id, status, attempts, next_attempt,
			     last_error, sent_at), err, "update outbox");
}

static const char SQL_RETRY[] =
	"UPDATE outbox SET status = 'pending', next_attempt = ?2, created = ?2"
	" WHERE status = 'dead' AND (?1 = 0 OR id = ?1)";

static int sqlite_retry_dead(struct state *st, int64_t id, int64_t now, int *count,
		     struct dl_error *err)
{
	/* created moves on so that dead_after counts from the retry. */
	if (done(st, prep(st, err, SQL_RETRY, "II", id, now), err, "retry") < 0)
		return -1;
	*count = sqlite3_changes(sq(st)->db);
	return 0;
}

static const char SQL_COUNT_SENT[] =
	"SELECT n FROM sent_count WHERE recipient = ?1 AND day = ?2";
static const char SQL_ADD_SENT[] =
	"INSERT INTO sent_count (recipient, day, n) VALUES (?1, ?2, 1)"
	" ON CONFLICT (recipient, day) DO UPDATE SET n = n + 1";

static int sqlite_count_sent(struct state *st, const char *recipient, const char *day, int *count,
		     struct dl_error *err)
{
	sqlite3_stmt *s = prep(st, err, SQL_COUNT_SENT, "ss", recipient, day);
	int rc;

	if (!s)
		return -1;
	rc = sqlite3_step(s);
	*count = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_error(st, err, "count sent");
}

static int sqlite_add_sent(struct state *st, const char *recipient, const char *day,
		   struct dl_error *err)
{
	return done(st, prep(st, err, SQL_ADD_SENT, "ss", recipient, day), err, "count sent");
}

static const char SQL_DIGEST[] =
	"INSERT OR IGNORE INTO digests (recipient, day) VALUES (?1, ?2)";

static int sqlite_digest_mark(struct state *st, const char *recipient, const char *day,
		      bool *fresh, struct dl_error *err)
{
	if (done(st, prep(st, err, SQL_DIGEST, "ss", recipient, day), err, "mark digest") < 0)
		return -1;
	*fresh = sqlite3_changes(sq(st)->db) > 0;
	return 0;
}

static const char SQL_LATEST_OPEN[] =
	"SELECT seq, level FROM obligations WHERE case_ref = ?1 AND rule = ?2"
	" AND closed IS NULL ORDER BY seq DESC LIMIT 1";
static const char SQL_ADD_ACK[] =
	"INSERT INTO acks (case_ref, rule, seq, until, reason, who, level, created)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

static int sqlite_ack(struct state *st, const char *case_ref, const char *rule, const char *until,
	      const char *reason, const char *who, int64_t now, struct state_ack *out,
	      struct dl_error *err)
{
	sqlite3_stmt *s = prep(st, err, SQL_LATEST_OPEN, "ss", case_ref, rule);
	int rc;

	if (!s)
		return -1;
	rc = sqlite3_step(s);
	*out = (struct state_ack){ case_ref, rule, 0, until, reason, who, 0, now };
	if (rc == SQLITE_ROW) {
		out->seq = sqlite3_column_int(s, 0);
		out->level = sqlite3_column_int(s, 1);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW) {
		error_set(err, "no open obligation of rule %s on case %s in the state database "
			  "(has the daemon evaluated it yet?)", rule, case_ref);
		return -1;
	}
	return done(st, prep(st, err, SQL_ADD_ACK, "ssisssiI", case_ref, rule, out->seq, until,
			     reason, who, out->level, now), err, "record ack");
}

static const char SQL_ACK_ACTIVE[] =
	"SELECT 1 FROM acks WHERE case_ref = ?1 AND rule = ?2 AND seq = ?3 AND level = ?4"
	" AND until >= ?5 LIMIT 1";

static int sqlite_ack_active(struct state *st, const char *case_ref, const char *rule, int seq,
		     int level, const char *day, bool *active, struct dl_error *err)
{
	sqlite3_stmt *s = prep(st, err, SQL_ACK_ACTIVE, "ssiis", case_ref, rule, seq, level, day);
	int rc;

	if (!s)
		return -1;
	rc = sqlite3_step(s);
	*active = rc == SQLITE_ROW;
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_error(st, err, "read acks");
}

static const char SQL_EACH_ACK[] =
	"SELECT case_ref, rule, seq, until, reason, who, level, created FROM acks ORDER BY id";

static int sqlite_each_ack(struct state *st, state_ack_fn fn, void *ctx, struct dl_error *err)
{
	sqlite3_stmt *s = prep(st, err, SQL_EACH_ACK, "");
	int rc = 0, step;

	if (!s)
		return -1;
	while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW) {
		struct state_ack a = { col(s, 0), col(s, 1), sqlite3_column_int(s, 2), col(s, 3),
				       col(s, 4), col(s, 5), sqlite3_column_int(s, 6),
				       sqlite3_column_int64(s, 7) };

		rc = fn(ctx, &a);
	}
	sqlite3_reset(s);
	if (rc == 0 && step != SQLITE_DONE)
		return db_error(st, err, "read acks");
	return rc;
}

static const char SQL_POLL_BEGIN[] = "INSERT INTO polls (started) VALUES (?1)";
static const char SQL_POLL_END[] =
	"UPDATE polls SET finished = ?2, cases = ?3, open = ?4, due_soon = ?5, overdue = ?6,"
	" findings = ?7, enqueued = ?8 WHERE id = ?1";

static int sqlite_poll_begin(struct state *st, int64_t started, int64_t *id, struct dl_error *err)
{
	if (done(st, prep(st, err, SQL_POLL_BEGIN, "I", started), err, "record poll") < 0)
		return -1;
	*id = sqlite3_last_insert_rowid(sq(st)->db);
	return 0;
}

static int sqlite_poll_end(struct state *st, const struct state_poll *p, struct dl_error *err)
{
	return done(st, prep(st, err, SQL_POLL_END, "IIIIIIII", p->id, p->finished,
			     (int64_t)p->cases, (int64_t)p->open, (int64_t)p->due_soon,
			     (int64_t)p->overdue, (int64_t)p->findings, (int64_t)p->enqueued),
		    err, "record poll");
}

static const char SQL_STATUS_POLL[] =
	"SELECT id, started, finished, cases, open, due_soon, overdue, findings, enqueued"
	" FROM polls WHERE finished IS NOT NULL ORDER BY id DESC LIMIT 1";
static const char SQL_STATUS_OB[] =
	"SELECT COALESCE(SUM(level = 0), 0), COALESCE(SUM(level = 1), 0),"
	" COALESCE(SUM(level >= 2), 0), COALESCE(SUM(level >= 3), 0)"
	" FROM obligations WHERE closed IS NULL";
static const char SQL_STATUS_OUT[] =
	"SELECT COALESCE(SUM(status = 'pending'), 0), COALESCE(SUM(status = 'sent'), 0),"
	" COALESCE(SUM(status = 'dead'), 0),"
	" COALESCE(MIN(CASE WHEN status = 'pending' THEN created END), 0) FROM outbox";

static int one_row(struct state *st, const char *sql, int64_t *v, int n, struct dl_error *err)
{
	sqlite3_stmt *s = prep(st, err, sql, "");
	int rc;

	if (!s)
		return -1;
	rc = sqlite3_step(s);
	for (int i = 0; i < n; i++)
		v[i] = rc == SQLITE_ROW ? sqlite3_column_int64(s, i) : 0;
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_error(st, err, "status");
}

static int sqlite_status(struct state *st, struct state_status *out, struct dl_error *err)
{
	int64_t p[9], o[4], m[4];

	if (one_row(st, SQL_STATUS_POLL, p, 9, err) < 0 ||
	    one_row(st, SQL_STATUS_OB, o, 4, err) < 0 || one_row(st, SQL_STATUS_OUT, m, 4, err) < 0)
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

static const char SQL_SET_META[] =
	"INSERT INTO meta (key, value) VALUES (?1, ?2)"
	" ON CONFLICT (key) DO UPDATE SET value = ?2";
static const char SQL_GET_META[] = "SELECT value FROM meta WHERE key = ?1";
static const char SQL_NEXT_ATTEMPT[] =
	"SELECT COALESCE(MIN(next_attempt), 0) FROM outbox WHERE status = 'pending'";

static int sqlite_set_meta(struct state *st, const char *key, const char *value, struct dl_error *err)
{
	return done(st, prep(st, err, SQL_SET_META, "ss", key, value), err, "write meta");
}

static int sqlite_get_meta(struct state *st, const char *key, char *buf, size_t size,
		   struct dl_error *err)
{
	sqlite3_stmt *s = prep(st, err, SQL_GET_META, "s", key);
	int rc;

	if (!s)
		return -1;
	rc = sqlite3_step(s);
	snprintf(buf, size, "%s", rc == SQLITE_ROW && col(s, 0) ? col(s, 0) : "");
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_error(st, err, "read meta");
}

static int sqlite_next_attempt(struct state *st, int64_t *when, struct dl_error *err)
{
	return one_row(st, SQL_NEXT_ATTEMPT, when, 1, err);
}

/* ---- cover, for deadlined-web (its other tables: state_web.c) ---- */

static const char SQL_COVER_DEPUTY[] =
	"SELECT deputy FROM cover WHERE manager = lower(?1) AND from_day <= ?2 AND to_day >= ?2"
	" ORDER BY id DESC LIMIT 1";

static int sqlite_cover_deputy(struct state *st, const char *manager, const char *day,
			       char *deputy, size_t size, struct dl_error *err)
{
	sqlite3_stmt *s = prep(st, err, SQL_COVER_DEPUTY, "ss", manager, day);
	int rc;

	if (!s)
		return -1;
	rc = sqlite3_step(s);
	snprintf(deputy, size, "%s", rc == SQLITE_ROW && col(s, 0) ? col(s, 0) : "");
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_error(st, err, "read cover");
}

/* ---- the directory as the last poll read it, for deadlined-web ---- */

static const char SQL_DIR_CLEAR_TEAMS[] = "DELETE FROM directory_teams";
static const char SQL_DIR_CLEAR_WORKERS[] = "DELETE FROM directory_workers";
static const char SQL_DIR_TEAM[] =
	"INSERT OR REPLACE INTO directory_teams VALUES (?1, ?2, ?3, ?4)";
static const char SQL_DIR_WORKER[] =
	"INSERT OR REPLACE INTO directory_workers VALUES (?1, ?2, ?3, ?4)";

static int sqlite_clear_directory(struct state *st, struct dl_error *err)
{
	return done(st, prep(st, err, SQL_DIR_CLEAR_TEAMS, ""), err, "clear directory") < 0 ||
	       done(st, prep(st, err, SQL_DIR_CLEAR_WORKERS, ""), err, "clear directory") < 0 ?
	       -1 : 0;
}

static int sqlite_put_team(struct state *st, const char *ref, const char *name,
			   const char *manager, const char *service_manager, struct dl_error *err)
{
	return done(st, prep(st, err, SQL_DIR_TEAM, "ssss", ref, name, manager, service_manager),
		    err, "write directory");
}

static int sqlite_put_worker(struct state *st, const char *ref, const char *name,
			     const char *email, const char *team_ref, struct dl_error *err)
{
	return done(st, prep(st, err, SQL_DIR_WORKER, "ssss", ref, name, email, team_ref), err,
		    "write directory");
}

const struct state_ops state_sqlite_ops = {
	.driver = "sqlite",
	.exists = sqlite_exists,
	.describe = sqlite_describe,
	.open = sqlite_open,
	.set_write_wait = sqlite_set_write_wait,
	.close = sqlite_close,
	.begin = sqlite_begin,
	.commit = sqlite_commit,
	.rollback = sqlite_rollback,
	.put_obligation = sqlite_put_obligation,
	.set_alerted = sqlite_set_alerted,
	.stage_begin = sqlite_stage_begin,
	.stage_obligation = sqlite_stage_obligation,
	.stage_gone = sqlite_stage_gone,
	.unstage_gone_case = sqlite_unstage_gone_case,
	.stage_apply = sqlite_stage_apply,
	.stage_abort = sqlite_stage_abort,
	.walk_begin = sqlite_walk_begin,
	.walk_next = sqlite_walk_next,
	.walk_end = sqlite_walk_end,
	.each_stored = sqlite_each_stored,
	.case_walk_begin = sqlite_case_walk_begin,
	.case_walk_next = sqlite_case_walk_next,
	.stage_case_print = sqlite_stage_case_print,
	.close_unseen = sqlite_close_unseen,
	.close_unseen_case = sqlite_close_unseen_case,
	.set_recheck = sqlite_set_recheck,
	.clear_rechecks = sqlite_clear_rechecks,
	.each_recheck = sqlite_each_recheck,
	.next_recheck = sqlite_next_recheck,
	.each_open = sqlite_each_open,
	.each_for_report = sqlite_each_for_report,
	.first_poll = sqlite_first_poll,
	.note_sent = sqlite_note_sent,
	.enqueue = sqlite_enqueue,
	.each_due = sqlite_each_due,
	.mark_message = sqlite_mark_message,
	.retry_dead = sqlite_retry_dead,
	.each_message = sqlite_each_message,
	.count_sent = sqlite_count_sent,
	.add_sent = sqlite_add_sent,
	.digest_mark = sqlite_digest_mark,
	.ack = sqlite_ack,
	.ack_active = sqlite_ack_active,
	.each_ack = sqlite_each_ack,
	.poll_begin = sqlite_poll_begin,
	.poll_end = sqlite_poll_end,
	.status = sqlite_status,
	.set_meta = sqlite_set_meta,
	.get_meta = sqlite_get_meta,
	.next_attempt = sqlite_next_attempt,
	.cover_deputy = sqlite_cover_deputy,
	.clear_directory = sqlite_clear_directory,
	.put_team = sqlite_put_team,
	.put_worker = sqlite_put_worker,
};
