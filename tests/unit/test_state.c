/* test_state.c — the state database on real SQLite files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "deadlined/state.h"

static char dir[512];
static char path[600];

static int setup(void **state)
{
	(void)state;
	if (test_tmpdir(dir, sizeof dir, "test_state") < 0)
		return -1;
	snprintf(path, sizeof path, "%s/state.db", dir);
	return 0;
}

static int teardown(void **state)
{
	char f[700];

	(void)state;
	for (const char *suffix = ""; suffix; suffix = strcmp(suffix, "") == 0 ? "-wal" :
	     strcmp(suffix, "-wal") == 0 ? "-shm" : NULL) {
		snprintf(f, sizeof f, "%s%s", path, suffix);
		unlink(f);
	}
	rmdir(dir);
	return 0;
}

static struct state *fresh(void)
{
	struct state *st;
	struct dl_error err;

	teardown(NULL);
	assert_int_equal(test_tmpdir(dir, sizeof dir, "test_state"), 0);
	snprintf(path, sizeof path, "%s/state.db", dir);
	if (state_open(&(struct state_conf){ .database = path }, &st, &err) < 0)
		fail_msg("state_open: %s", err.msg);
	return st;
}

static struct state_obligation ob(int level, const char *state)
{
	return (struct state_obligation){ "C1", "icpc", 1, "K1", "T1", "Team", "W1", "Worker",
		"w@x.example", "tm@x.example", "sm@x.example", "2025-01-02", "2025-01-23", NULL,
		state, level > 2 ? level - 2 : 0, level >= 2 ? 3 : 0, level };
}

static void test_migrates_and_refuses_newer(void **s)
{
	struct state *st = fresh();
	struct dl_error err;
	sqlite3 *db;
	int v = -1;
	sqlite3_stmt *q;

	(void)s;
	state_close(st);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	assert_int_equal(v, STATE_SCHEMA_VERSION);
	sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
	sqlite3_finalize(q);
	/* Re-opening the current version is a no-op; a newer one is refused. */
	assert_int_equal(state_open(&(struct state_conf){ .database = path }, &st, &err), 0);
	state_close(st);
	/* Read-only opens read the current version, and refuse another. */
	assert_int_equal(state_open_readonly(&(struct state_conf){ .database = path }, &st,
					     &err), 0);
	state_close(st);
	sqlite3_exec(db, "PRAGMA user_version = 1", NULL, NULL, NULL);
	assert_int_equal(state_open_readonly(&(struct state_conf){ .database = path }, &st,
					     &err), -1);
	assert_non_null(strstr(err.msg, "start the new deadlined once"));
	sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
	sqlite3_close(db);
	assert_int_equal(state_open(&(struct state_conf){ .database = path }, &st, &err), -1);
	assert_non_null(strstr(err.msg, "schema version 99, newer than"));
}

static void test_readonly_makes_nothing(void **s)
{
	char missing[700];
	struct state *st;
	struct dl_error err;

	(void)s;
	snprintf(missing, sizeof missing, "%s/none.db", dir);
	assert_int_equal(state_open_readonly(&(struct state_conf){ .database = missing },
					     &st, &err), -1);
	assert_int_equal(access(missing, F_OK), -1);
}

/* state.driver picks the backend; an unknown one is refused by name and
 * nothing is made. */
static void test_driver(void **s)
{
	struct state *st = (struct state *)1;
	struct dl_error err;
	int64_t when = -1;

	(void)s;
	state_close(fresh());
	assert_true(state_exists(&(struct state_conf){ .database = path }));
	assert_false(state_exists(&(struct state_conf){ .database = "/nonexistent/state.db" }));
	assert_false(state_exists(&(struct state_conf){ .driver = "oracle", .database = path }));
	assert_true(state_driver_known("sqlite"));
	assert_true(state_driver_known("postgresql"));
	assert_false(state_driver_known("oracle"));
	assert_int_equal(state_open(&(struct state_conf){ .driver = "oracle", .database = path },
				    &st, &err), -1);
	assert_null(st);
	assert_string_equal(err.msg, "state database: unknown state.driver 'oracle'; "
			    "expected sqlite, postgresql");
	assert_int_equal(state_open(&(struct state_conf){ .driver = "sqlite", .database = path },
				    &st, &err), 0);
	assert_int_equal(state_first_poll(st, &when, &err), 0);
	assert_int_equal(when, 0);
	state_close(st);
}

static void test_obligation_history(void **s)
{
	struct state *st = fresh();
	struct state_obligation o = ob(1, "due-soon");
	struct state_prev prev;
	struct dl_error err;

	(void)s;
	assert_int_equal(state_put_obligation(st, &o, 1, &prev, &err), 0);
	assert_false(prev.found);
	assert_int_equal(state_set_alerted(st, "C1", "icpc", 1, 1, "2025-01-21", &err), 0);
	o = ob(3, "overdue");
	assert_int_equal(state_put_obligation(st, &o, 2, &prev, &err), 0);
	assert_true(prev.found);
	assert_int_equal(prev.level, 1);
	assert_int_equal(prev.alerted_level, 1);
	assert_string_equal(prev.last_alert, "2025-01-21");
	/* Not seen in poll 3: closed as gone. */
	assert_int_equal(state_close_unseen(st, 3, &err), 0);
	o = ob(3, "overdue");
	assert_int_equal(state_put_obligation(st, &o, 3, &prev, &err), 0);
	assert_int_equal(prev.level, -1);
	state_close(st);
}

static void test_note_sent_is_once(void **s)
{
	struct state *st = fresh();
	struct dl_error err;
	bool fresh1, fresh2, fresh3;

	(void)s;
	assert_int_equal(state_note_sent(st, "C1", "icpc", 1, "level:2", "mail:tm@x", &fresh1, &err), 0);
	assert_int_equal(state_note_sent(st, "C1", "icpc", 1, "level:2", "mail:tm@x", &fresh2, &err), 0);
	assert_int_equal(state_note_sent(st, "C1", "icpc", 1, "level:2", "mail:w@x", &fresh3, &err), 0);
	assert_true(fresh1);
	assert_false(fresh2);
	assert_true(fresh3);
	state_close(st);
}

struct seen {
	int n;
	int64_t ids[8];
};

static int collect(void *ctx, const struct state_message *m)
{
	struct seen *s = ctx;

	if (s->n < 8)
		s->ids[s->n] = m->id;
	s->n++;
	return 0;
}

static void test_outbox_lifecycle(void **s)
{
	struct state *st = fresh();
	struct state_message m = { .msg_id = "a@h", .receiver = "mail", .recipient = "tm@x",
		.kind = "overdue", .subject = "S", .text = "T", .html = "H", .payload = "{}",
		.created = 1000, .next_attempt = 1000 };
	struct state_status status;
	struct seen seen = { 0 };
	struct dl_error err;
	int64_t id1, id2;
	int count;

	(void)s;
	assert_int_equal(state_enqueue(st, &m, &id1, &err), 0);
	m.msg_id = "b@h";
	m.next_attempt = 5000;
	assert_int_equal(state_enqueue(st, &m, &id2, &err), 0);
	/* The same Message-ID twice is refused: ids are unique. */
	assert_int_equal(state_enqueue(st, &m, &id2, &err), -1);
	assert_int_equal(state_each_due(st, 2000, 10, collect, &seen, &err), 0);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.ids[0], id1);
	assert_int_equal(state_mark_message(st, id1, "dead", 3, 9999, "HTTP 500", 0, &err), 0);
	assert_int_equal(state_status(st, &status, &err), 0);
	assert_int_equal(status.dead, 1);
	assert_int_equal(status.pending, 1);
	assert_int_equal(state_retry_dead(st, 0, 6000, &count, &err), 0);
	assert_int_equal(count, 1);
	seen.n = 0;
	assert_int_equal(state_each_due(st, 6000, 10, collect, &seen, &err), 0);
	assert_int_equal(seen.n, 2);
	state_close(st);
}

static void test_acks_and_counts(void **s)
{
	struct state *st = fresh();
	struct state_obligation o = ob(2, "overdue");
	struct state_prev prev;
	struct state_ack ack;
	struct dl_error err;
	bool active, first, again;
	int n;

	(void)s;
	assert_int_equal(state_ack(st, "C1", "icpc", "2025-02-01", "Conference booked", "tm",
				   1, &ack, &err), -1);
	assert_non_null(strstr(err.msg, "no open obligation"));
	assert_int_equal(state_put_obligation(st, &o, 1, &prev, &err), 0);
	assert_int_equal(state_ack(st, "C1", "icpc", "2025-02-01", "Conference booked", "tm",
				   1, &ack, &err), 0);
	assert_int_equal(ack.seq, 1);
	assert_int_equal(ack.level, 2);
	assert_int_equal(state_ack_active(st, "C1", "icpc", 1, 2, "2025-01-31", &active, &err), 0);
	assert_true(active);
	/* Past its date, or once the obligation changed level, it lapses. */
	assert_int_equal(state_ack_active(st, "C1", "icpc", 1, 2, "2025-02-02", &active, &err), 0);
	assert_false(active);
	assert_int_equal(state_ack_active(st, "C1", "icpc", 1, 3, "2025-01-31", &active, &err), 0);
	assert_false(active);
	assert_int_equal(state_add_sent(st, "tm@x", "2025-01-31", &err), 0);
	assert_int_equal(state_add_sent(st, "tm@x", "2025-01-31", &err), 0);
	assert_int_equal(state_count_sent(st, "tm@x", "2025-01-31", &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(state_count_sent(st, "tm@x", "2025-02-01", &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(state_digest_mark(st, "mail:tm@x", "2025-01-31", &first, &err), 0);
	assert_int_equal(state_digest_mark(st, "mail:tm@x", "2025-01-31", &again, &err), 0);
	assert_true(first);
	assert_false(again);
	state_close(st);
}

static void test_rollback_keeps_nothing(void **s)
{
	struct state *st = fresh();
	struct state_message m = { .msg_id = "r@h", .receiver = "mail", .kind = "digest",
		.created = 1, .next_attempt = 1 };
	struct state_status status;
	struct dl_error err;
	int64_t id;

	(void)s;
	assert_int_equal(state_begin(st, &err), 0);
	assert_int_equal(state_enqueue(st, &m, &id, &err), 0);
	state_rollback(st);
	assert_int_equal(state_status(st, &status, &err), 0);
	assert_int_equal(status.pending, 0);
	state_close(st);
}

/* Schema 3 → 5 (the web's 4, then key order) keeps every obligation: every column
 * kept, the fingerprint unknown (so the next full poll rewrites it). */
static void test_migrates_v3_obligations(void **s)
{
	struct state *st = fresh();
	struct state_obligation o = ob(2, "overdue");
	struct state_prev prev;
	struct dl_error err;
	sqlite3 *db;
	sqlite3_stmt *q;

	(void)s;
	state_close(st);
	teardown(NULL);
	assert_int_equal(test_tmpdir(dir, sizeof dir, "test_state"), 0);
	snprintf(path, sizeof path, "%s/state.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
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
		"INSERT INTO obligations VALUES ('C1', 'icpc', 1, 'K1', 'T1', 'Team', 'W1',"
		" 'Worker', 'w@x.example', 'tm@x.example', 'sm@x.example', '2025-01-02',"
		" '2025-01-23', NULL, 'overdue', 0, 3, 2, 2, '2025-01-24', 7, 100, 200);"
		"PRAGMA user_version = 3;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	if (state_open(&(struct state_conf){ .database = path }, &st, &err) < 0)
		fail_msg("state_open: %s", err.msg);
	/* As it was, alert state and all. */
	assert_int_equal(state_put_obligation(st, &o, 8, &prev, &err), 0);
	assert_true(prev.found);
	assert_int_equal(prev.level, 2);
	assert_int_equal(prev.alerted_level, 2);
	assert_string_equal(prev.last_alert, "2025-01-24");
	state_close(st);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT fp IS NULL, first_seen, updated,"
		" (SELECT sql LIKE '%WITHOUT ROWID' FROM sqlite_master WHERE name = 'obligations'),"
		" (SELECT count(*) FROM sqlite_master WHERE name = 'obligations_open')"
		" FROM obligations", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 1);
	assert_int_equal(sqlite3_column_int(q, 1), 100);
	assert_int_equal(sqlite3_column_int(q, 2), 200);
	assert_int_equal(sqlite3_column_int(q, 3), 1);
	assert_int_equal(sqlite3_column_int(q, 4), 1);
	sqlite3_finalize(q);
	sqlite3_close(db);
}

/* A staged poll changes nothing stored until it is applied, and nothing
 * at all when dropped; applied, it writes what it staged. */
static void test_stage_apply_and_abort(void **s)
{
	struct state *st = fresh();
	struct state_obligation o = ob(0, "open"), o2 = ob(2, "overdue");
	struct state_prev prev;
	struct state_stored row;
	struct state_walk *w;
	struct dl_error err;
	bool fresh1;

	(void)s;
	assert_int_equal(state_put_obligation(st, &o, 1, &prev, &err), 0);
	o2.case_ref = "C2";
	o2.fp = 42;
	for (int apply = 0; apply < 2; apply++) {
		assert_int_equal(state_stage_begin(st, true, &err), 0);
		assert_int_equal(state_walk_begin(st, &w, &err), 0);
		assert_int_equal(state_walk_next(w, &row, &err), 1);
		assert_string_equal(row.case_ref, "C1");
		assert_true(row.open);
		assert_int_equal(state_walk_next(w, &row, &err), 0);
		state_walk_end(w);
		assert_int_equal(state_stage_obligation(st, &o2, true, &err), 0);
		assert_int_equal(state_stage_gone(st, "C1", "icpc", 1, &err), 0);
		assert_int_equal(state_set_alerted(st, "C2", "icpc", 1, 2, "2025-01-25", &err), 0);
		assert_int_equal(state_note_sent(st, "C2", "icpc", 1, "level:2", "mail:tm", &fresh1,
						 &err), 0);
		assert_true(fresh1);
		assert_int_equal(state_set_recheck(st, "C2", 1000, &err), 0);
		if (!apply) {
			state_stage_abort(st);
			continue;
		}
		assert_int_equal(state_stage_apply(st, NULL, &err), 0);
		assert_int_equal(state_commit(st, &err), 0);
	}
	/* Applied once (the first was dropped): C1 gone, C2 stored and alerted. */
	o = ob(0, "open");
	assert_int_equal(state_put_obligation(st, &o, 3, &prev, &err), 0);
	assert_int_equal(prev.level, -1);
	assert_int_equal(state_put_obligation(st, &o2, 3, &prev, &err), 0);
	assert_true(prev.found);
	assert_int_equal(prev.alerted_level, 2);
	assert_string_equal(prev.last_alert, "2025-01-25");
	assert_int_equal(state_note_sent(st, "C2", "icpc", 1, "level:2", "mail:tm", &fresh1, &err),
			 0);
	assert_false(fresh1);
	state_close(st);
}

/* The cases due by upto, one a line, in no order. */
static int add_ref(void *ctx, const char *case_ref)
{
	char *buf = ctx;
	size_t len = strlen(buf);

	snprintf(buf + len, 256 - len, "%s\n", case_ref);
	return 0;
}

static void due_by(struct state *st, int64_t upto, char buf[256])
{
	struct dl_error err;

	buf[0] = '\0';
	assert_int_equal(state_each_recheck(st, upto, add_ref, buf, &err), 0);
}

/* A full poll's rechecks replace the stored ones whole; the last staged
 * for a case wins, and one taken back is not applied. */
static void test_staged_rechecks(void **s)
{
	struct state *st = fresh();
	struct dl_error err;
	char buf[256];
	int64_t next;

	(void)s;
	assert_int_equal(state_set_recheck(st, "C9", 500, &err), 0);
	assert_int_equal(state_stage_begin(st, true, &err), 0);
	assert_int_equal(state_set_recheck(st, "C2", 1000, &err), 0);
	assert_int_equal(state_set_recheck(st, "C4", 3000, &err), 0);
	assert_int_equal(state_set_recheck(st, "C3", 2000, &err), 0);
	assert_int_equal(state_set_recheck(st, "C2", 1500, &err), 0);
	assert_int_equal(state_set_recheck(st, "C4", STATE_NO_RECHECK, &err), 0);
	assert_int_equal(state_stage_apply(st, NULL, &err), 0);
	assert_int_equal(state_commit(st, &err), 0);
	assert_int_equal(state_next_recheck(st, &next, &err), 0);
	assert_int_equal(next, 1500);
	due_by(st, 1499, buf);
	assert_string_equal(buf, "");
	due_by(st, 1500, buf);
	assert_string_equal(buf, "C2\n");
	due_by(st, STATE_NO_RECHECK - 1, buf);
	assert_int_equal(strlen(buf), 6);
	assert_non_null(strstr(buf, "C2\n"));
	assert_non_null(strstr(buf, "C3\n"));
	state_close(st);
}

/* A first run writes straight in with a plain insert; an obligation given
 * twice (a source that repeats a case) is written again, not an error. */
static void test_first_run_twice_the_same(void **s)
{
	struct state *st = fresh();
	struct state_obligation o = ob(0, "open"), o2 = ob(2, "overdue");
	struct state_prev prev;
	struct dl_error err;

	(void)s;
	assert_int_equal(state_stage_begin(st, true, &err), 0);
	assert_int_equal(state_stage_obligation(st, &o, false, &err), 0);
	assert_int_equal(state_stage_obligation(st, &o2, false, &err), 0);
	assert_int_equal(state_stage_apply(st, NULL, &err), 0);
	assert_int_equal(state_commit(st, &err), 0);
	assert_int_equal(state_put_obligation(st, &o2, 2, &prev, &err), 0);
	assert_true(prev.found);
	assert_int_equal(prev.level, 2);
	state_close(st);
}

/* A first run, in a thread, until told to stop (or a bound of rows). */
#define FIRST_RUN_CAP 1000000
struct first_run {
	struct state *st;
	atomic_int stop;
	atomic_long rows;
	int rc;
};

static void *first_run_thread(void *arg)
{
	struct first_run *fr = arg;
	struct state_obligation o = ob(0, "met");
	struct dl_error err;

	o.closed = "2025-01-20";
	o.level = -1;
	fr->rc = state_stage_begin(fr->st, true, &err);
	for (long i = 0; fr->rc == 0 && !fr->stop && i < FIRST_RUN_CAP; i++, fr->rows = i) {
		o.seq = (int)i;
		fr->rc = state_stage_obligation(fr->st, &o, false, &err);
	}
	if (fr->rc == 0)
		fr->rc = state_stage_apply(fr->st, NULL, &err);
	if (fr->rc == 0)
		fr->rc = state_commit(fr->st, &err);
	return NULL;
}

static int64_t stored_rows(void)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	int64_t n = 0;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM obligations", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return n;
}

/* A first run commits in chunks and, although it pauses only now and
 * then (DIRECT_HOLD_MS), another writer (deadlinectl ack, the web) gets
 * in while it is still writing, not only after it. */
static void test_first_run_lets_a_writer_in(void **s)
{
	struct first_run fr = { .st = fresh() };
	struct state *other;
	struct dl_error err;
	pthread_t t;
	long rows_then;
	int rc;

	(void)s;
	assert_int_equal(pthread_create(&t, NULL, first_run_thread, &fr), 0);
	/* Until its first chunk is committed: bounded in tries and time. */
	for (int i = 0; i < 60000 && stored_rows() == 0 && fr.rows < FIRST_RUN_CAP; i++)
		usleep(1000);
	assert_int_equal(state_open(&(struct state_conf){ .database = path }, &other, &err), 0);
	state_set_write_wait(other, 60000);     /* a chunk under valgrind is slow */
	rc = state_set_meta(other, "writer", "in", &err);
	rows_then = fr.rows;
	fr.stop = 1;
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(rc, 0);
	assert_true(rows_then < FIRST_RUN_CAP); /* the first run was still writing */
	assert_int_equal(fr.rc, 0);
	assert_int_equal(stored_rows(), fr.rows);
	state_close(other);
	state_close(fr.st);
}

/* Can another connection write now?  (No waiting: busy is an answer.) */
static bool writable_by_other(void)
{
	sqlite3 *db;
	int rc;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	rc = sqlite3_exec(db, "BEGIN IMMEDIATE; INSERT INTO meta VALUES ('other', 'x')"
			  " ON CONFLICT (key) DO NOTHING; COMMIT;", NULL, NULL, NULL);
	sqlite3_close(db);
	assert_true(rc == SQLITE_OK || rc == SQLITE_BUSY);
	return rc == SQLITE_OK;
}

/* A dry run over a store with obligations holds no write lock while it
 * evaluates (an ack gets in), only while it applies what it would write,
 * and writes nothing in the end. */
static void test_dry_run_leaves_the_lock(void **s)
{
	struct state *st = fresh();
	struct state_obligation o = ob(0, "open"), o2 = ob(2, "overdue");
	struct state_prev prev;
	struct dl_error err;

	(void)s;
	assert_int_equal(state_put_obligation(st, &o, 1, &prev, &err), 0);
	o2.case_ref = "C2";
	assert_int_equal(state_stage_begin(st, false, &err), 0);
	assert_int_equal(state_stage_obligation(st, &o2, false, &err), 0);
	assert_true(writable_by_other());
	assert_int_equal(state_stage_apply(st, NULL, &err), 0);
	assert_false(writable_by_other());
	state_rollback(st);
	assert_true(writable_by_other());
	assert_int_equal(state_put_obligation(st, &o2, 2, &prev, &err), 0);
	assert_false(prev.found);
	state_close(st);
}

/* One case's stored print: -1 when it has no row, 0 when unknown (NULL). */
static int64_t print_of(const char *case_ref)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	int64_t v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT COALESCE(print, 0) FROM case_prints"
					    " WHERE case_ref = ?1", -1, &q, NULL), SQLITE_OK);
	sqlite3_bind_text(q, 1, case_ref, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
}

/* How many of the open obligations' four indexes the store has, and
 * whether the tray's question (a worker's open obligations, worst first)
 * is answered through obligations_worker rather than a scan. */
static int open_indexes(bool *tray_indexed)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	int n = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE"
					    " type = 'index' AND name IN ('obligations_open',"
					    " 'obligations_worker', 'obligations_manager',"
					    " 'obligations_service_manager')", -1, &q, NULL), SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	*tray_indexed = false;
	assert_int_equal(sqlite3_prepare_v2(db, "EXPLAIN QUERY PLAN SELECT case_ref FROM obligations"
					    " WHERE closed IS NULL AND worker_email = 'w@x.example'"
					    " COLLATE NOCASE ORDER BY level DESC, days_overdue DESC",
					    -1, &q, NULL), SQLITE_OK);
	while (sqlite3_step(q) == SQLITE_ROW)
		if (strstr((const char *)sqlite3_column_text(q, 3), "INDEX obligations_worker"))
			*tray_indexed = true;
	sqlite3_finalize(q);
	sqlite3_close(db);
	return n;
}

/* As another writer would (deadlinectl, the web, a person with sqlite3). */
static void write_other(const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}

/* Schema 5 → 6: every case with obligations gets a print row, unknown,
 * and the triggers; version 7 is refused. */
static void test_migrates_v5_case_prints(void **s)
{
	struct state *st = fresh();
	struct state_obligation o = ob(0, "open");
	struct state_prev prev;
	struct dl_error err;

	(void)s;
	assert_int_equal(state_put_obligation(st, &o, 1, &prev, &err), 0);
	o.case_ref = "C2";
	assert_int_equal(state_put_obligation(st, &o, 1, &prev, &err), 0);
	state_close(st);
	/* Back to version 5 as it was: no table, no triggers. */
	write_other("DROP TRIGGER case_prints_insert; DROP TRIGGER case_prints_update;"
		    " DROP TRIGGER case_prints_delete; DROP TABLE case_prints;"
		    " PRAGMA user_version = 5;");
	assert_int_equal(state_open(&(struct state_conf){ .database = path }, &st, &err), 0);
	state_close(st);
	assert_int_equal(print_of("C1"), 0);
	assert_int_equal(print_of("C2"), 0);
	write_other("UPDATE case_prints SET print = 9 WHERE case_ref = 'C2'");
	write_other("UPDATE obligations SET worker_name = 'Someone' WHERE case_ref = 'C2'");
	assert_int_equal(print_of("C2"), 0);
	write_other("PRAGMA user_version = 7");
	assert_int_equal(state_open(&(struct state_conf){ .database = path }, &st, &err), -1);
	assert_non_null(strstr(err.msg, "schema version 7, newer than"));
}

/* Every write to what a case print covers makes it unknown in the same
 * transaction, whoever writes; the alert marks do not; a staged print is
 * written by the apply, after the rows. */
static void test_case_print_dropped_by_writes(void **s)
{
	static const char *const refs[] = { "C1", "C2", "C3", "C4", "C5" };
	struct state *st = fresh();
	struct state_obligation o = ob(0, "open");
	struct state_prev prev;
	struct dl_error err;

	(void)s;
	for (size_t i = 0; i < 5; i++) {
		o.case_ref = refs[i];
		assert_int_equal(state_put_obligation(st, &o, 1, &prev, &err), 0);
		/* A new case's row comes with its obligations, unknown. */
		assert_int_equal(print_of(refs[i]), 0);
	}
	/* Prints staged by a full poll are applied. */
	assert_int_equal(state_stage_begin(st, true, &err), 0);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(state_stage_case_print(st, refs[i], 100 + (int64_t)i, &err), 0);
	assert_int_equal(print_of("C1"), 0);
	assert_int_equal(state_stage_apply(st, NULL, &err), 0);
	assert_int_equal(state_commit(st, &err), 0);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(print_of(refs[i]), 100 + (int64_t)i);
	/* The poll's own write of a changed row (an incremental poll). */
	o.case_ref = "C1";
	o.worker_name = "Another";
	assert_int_equal(state_put_obligation(st, &o, 2, &prev, &err), 0);
	assert_int_equal(print_of("C1"), 0);
	/* An alert mark is not covered. */
	assert_int_equal(state_set_alerted(st, "C2", "icpc", 1, 1, "2025-01-24", &err), 0);
	assert_int_equal(print_of("C2"), 101);
	/* Closed as gone. */
	assert_int_equal(state_close_unseen_case(st, "C2", INT64_MAX, &err), 0);
	assert_int_equal(print_of("C2"), 0);
	/* Another writer's update, insert and delete. */
	write_other("UPDATE obligations SET due = '2025-02-01' WHERE case_ref = 'C3'");
	assert_int_equal(print_of("C3"), 0);
	write_other("INSERT INTO obligations (case_ref, rule, seq, state, level)"
		    " VALUES ('C4', 'other', 1, 'open', 0)");
	assert_int_equal(print_of("C4"), 0);
	write_other("DELETE FROM obligations WHERE case_ref = 'C5'");
	assert_int_equal(print_of("C5"), 0);
	state_close(st);
}

/* A first run writes its rows with the triggers off and each case's print
 * row after them; one that stops between chunks leaves cases with rows
 * and no print row, which the next full poll must give one (else a case
 * that then vanishes would never be walked, its obligations never gone). */
static void test_first_run_cut_short_gets_prints(void **s)
{
	struct state *st = fresh();
	struct state_obligation o = ob(0, "open");
	struct dl_error err;
	char ref[16];
	bool tray;

	(void)s;
	assert_int_equal(state_stage_begin(st, true, &err), 0);
	for (int i = 0; i < 10001; i++) {
		snprintf(ref, sizeof ref, "C%05d", i);
		o.case_ref = ref;
		assert_int_equal(state_stage_obligation(st, &o, false, &err), 0);
	}
	state_stage_abort(st);   /* the first chunk stays */
	assert_int_equal(print_of("C00000"), -1);
	/* The open indexes are built at a first run's end: none yet. */
	assert_int_equal(open_indexes(&tray), 0);
	assert_false(tray);
	assert_int_equal(state_stage_begin(st, true, &err), 0);
	state_stage_abort(st);
	assert_int_equal(print_of("C00000"), 0);
	assert_int_equal(print_of("C09999"), 0);
	assert_int_equal(print_of("C10000"), -1);   /* never stored */
	/* ... and the next full poll built them. */
	assert_int_equal(open_indexes(&tray), 4);
	assert_true(tray);
	state_close(st);
}

/* The open obligations' indexes as the schema stores them (sqlite_master's
 * normalised CREATE statements), in name order. */
static char *open_index_sql(void)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	char *sql = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT group_concat(sql, ';') FROM (SELECT sql"
					    " FROM sqlite_master WHERE type = 'index' AND name LIKE"
					    " 'obligations\\_%' ESCAPE '\\' ORDER BY name)", -1, &q, NULL),
			 SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
		sql = strdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	sqlite3_close(db);
	assert_non_null(sql);
	return sql;
}

/* A whole first run leaves the open obligations' indexes (dropped while it
 * writes, built at its end) and the tray's query using them; so does a dry
 * run's, whose rollback takes back the drop too.  The indexes it builds are
 * the migrations' own, word for word: state_sqlite.c writes them twice. */
static void test_first_run_builds_open_indexes(void **s)
{
	struct state *st = fresh();
	struct state_obligation o = ob(2, "overdue");
	struct dl_error err;
	char *migrated = open_index_sql(), *built;
	bool tray;

	(void)s;
	for (int chunked = 1; chunked >= 0; chunked--) {
		assert_int_equal(state_stage_begin(st, chunked, &err), 0);
		assert_int_equal(state_stage_obligation(st, &o, false, &err), 0);
		assert_int_equal(state_stage_apply(st, NULL, &err), 0);
		if (chunked)
			assert_int_equal(state_commit(st, &err), 0);
		else
			state_rollback(st);
		assert_int_equal(open_indexes(&tray), 4);
		assert_true(tray);
		built = open_index_sql();
		assert_string_equal(built, migrated);
		free(built);
		if (chunked) {
			state_close(st);
			st = fresh();
		}
	}
	free(migrated);
	state_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrates_and_refuses_newer),
		cmocka_unit_test(test_readonly_makes_nothing),
		cmocka_unit_test(test_migrates_v3_obligations),
		cmocka_unit_test(test_migrates_v5_case_prints),
		cmocka_unit_test(test_case_print_dropped_by_writes),
		cmocka_unit_test(test_first_run_cut_short_gets_prints),
		cmocka_unit_test(test_first_run_builds_open_indexes),
		cmocka_unit_test(test_stage_apply_and_abort),
		cmocka_unit_test(test_staged_rechecks),
		cmocka_unit_test(test_dry_run_leaves_the_lock),
		cmocka_unit_test(test_first_run_twice_the_same),
		cmocka_unit_test(test_first_run_lets_a_writer_in),
		cmocka_unit_test(test_driver),
		cmocka_unit_test(test_obligation_history),
		cmocka_unit_test(test_note_sent_is_once),
		cmocka_unit_test(test_outbox_lifecycle),
		cmocka_unit_test(test_acks_and_counts),
		cmocka_unit_test(test_rollback_keeps_nothing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
