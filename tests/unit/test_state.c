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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrates_and_refuses_newer),
		cmocka_unit_test(test_readonly_makes_nothing),
		cmocka_unit_test(test_migrates_v3_obligations),
		cmocka_unit_test(test_stage_apply_and_abort),
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
