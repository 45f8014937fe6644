/* test_source.c — reading the case database from real SQLite files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deadlined/source.h"

static char tmpdir[256];

static const char SCHEMA[] =
	"CREATE TABLE deadlined_cases(case_ref TEXT, child_ref TEXT, date_of_birth TEXT,"
	" team_ref TEXT, worker_ref TEXT);"
	"CREATE TABLE deadlined_events(case_ref TEXT, kind TEXT, occurred TEXT, event_ref TEXT);"
	"CREATE TABLE deadlined_teams(team_ref TEXT, name TEXT, manager_email TEXT,"
	" service_manager_email TEXT);"
	"CREATE TABLE deadlined_workers(worker_ref TEXT, name TEXT, email TEXT, team_ref TEXT);";

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	return test_tmpdir(tmpdir, sizeof tmpdir, "test_source");
}

static int teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void tmp_path(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", tmpdir, name);
}

/* A read-write connection of the test's own, standing for the case
 * management system that owns the database. */
static sqlite3 *writer(const char *path)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK)
		fail_msg("%s: %s", path, sqlite3_errmsg(db));
	return db;
}

static void exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

static void make_db(const char *path, const char *sql)
{
	sqlite3 *db = writer(path);

	exec(db, sql);
	sqlite3_close(db);
}

static long long count(const char *path, const char *sql)
{
	sqlite3 *db = writer(path);
	sqlite3_stmt *st = NULL;
	long long n;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static struct source *open_ok(const char *path, long busy_ms)
{
	struct source *src = NULL;
	struct dl_error err;

	if (source_open(&(struct source_conf){ .database = path, .busy_timeout_ms = busy_ms },
			&src, &err) < 0)
		fail_msg("source_open: %s", err.msg);
	return src;
}

static void open_fails(const char *path, const char *want)
{
	struct source *src = (struct source *)1;
	struct dl_error err = { "" };

	assert_int_equal(source_open(&(struct source_conf){ .database = path, .busy_timeout_ms = 100 },
					     &src, &err), -1);
	assert_null(src);
	if (!strstr(err.msg, want) || !strstr(err.msg, path))
		fail_msg("got \"%s\", want the path and \"%s\"", err.msg, want);
}

/* Everything the source hands over, as one line of text: NULL is "~". */
struct record {
	char log[4096];
	size_t len;
	int ncases, stop_after;
};

__attribute__((format(printf, 2, 3)))
static void rec_printf(struct record *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	r->len += (size_t)vsnprintf(r->log + r->len, sizeof r->log - r->len, fmt, ap);
	va_end(ap);
	assert_true(r->len < sizeof r->log);
}

static const char *S(const char *s)
{
	return s ? s : "~";
}

static int on_case(void *ctx, const struct source_case *c)
{
	struct record *r = ctx;

	assert_non_null(c->case_ref);
	rec_printf(r, "%s(%s,%s,%s,%s)[", c->case_ref, S(c->child_ref), S(c->date_of_birth),
		   S(c->team_ref), S(c->worker_ref));
	for (size_t i = 0; i < c->nevents; i++)
		rec_printf(r, "%s%s@%s#%s", i ? "," : "", S(c->events[i].kind),
			   S(c->events[i].occurred), S(c->events[i].event_ref));
	rec_printf(r, "] ");
	return ++r->ncases == r->stop_after ? 7 : 0;
}

static void on_orphan(void *ctx, const char *case_ref, size_t nevents)
{
	rec_printf(ctx, "orphan:%s*%zu ", case_ref, nevents);
}

static void assert_walk(struct source *src, const char *one, const char *want)
{
	struct record r = { .len = 0 };
	struct dl_error err;

	if (source_each_case(src, one, on_case, on_orphan, &r, &err) != 0)
		fail_msg("source_each_case: %s", err.msg);
	assert_string_equal(r.log, want);
}

static const char CASES[] =
	"INSERT INTO deadlined_cases VALUES"
	" ('C3', 'K3', '2019-02-03', 'T1', NULL),"
	" ('C1', 'K1', '2015-06-01', 'T1', 'W1'),"
	" ('C2', 'K2', '2020-12-31', 'T2', 'W2');"
	"INSERT INTO deadlined_events VALUES"
	" ('C3', 'referral', '2024-03-01', 'E5'),"
	" ('C15', 'referral', '2024-02-01', 'E8'),"
	" ('C1', 'assessment_completed', '2024-01-20', 'E2'),"
	" ('C9', 'referral', '2024-05-01', 'E9'),"
	" ('C1', 'referral', '2024-01-02', 'E1'),"
	" ('C0', 'referral', '2023-12-01', 'E0'),"
	" ('C15', 'assessment_started', '2024-02-02', 'E7'),"
	" ('C1', 'assessment_started', '2024-01-02T09:30', 'E3');";

static struct source *basic_db(const char *name)
{
	char path[512], sql[sizeof SCHEMA + sizeof CASES];

	tmp_path(path, sizeof path, name);
	snprintf(sql, sizeof sql, "%s%s", SCHEMA, CASES);
	make_db(path, sql);
	return open_ok(path, 1000);
}

/* Cases in case_ref order with their events in occurred order; a case
 * without events still comes; events without a case are orphans, wherever
 * they fall in the order. */
static void test_cases_in_order(void **state)
{
	static const char want[] =
		"orphan:C0*1 "
		"C1(K1,2015-06-01,T1,W1)[referral@2024-01-02#E1,"
		"assessment_started@2024-01-02T09:30#E3,assessment_completed@2024-01-20#E2] "
		"orphan:C15*2 "
		"C2(K2,2020-12-31,T2,W2)[] "
		"C3(K3,2019-02-03,T1,~)[referral@2024-03-01#E5] "
		"orphan:C9*1 ";
	struct source *src = basic_db("order.db");

	(void)state;
	assert_walk(src, NULL, want);
	/* A second walk reuses the statements and buffers. */
	assert_walk(src, NULL, want);
	source_close(src);
}

static void test_one_case(void **state)
{
	struct source *src = basic_db("one.db");

	(void)state;
	assert_walk(src, "C1",
		    "C1(K1,2015-06-01,T1,W1)[referral@2024-01-02#E1,"
		    "assessment_started@2024-01-02T09:30#E3,assessment_completed@2024-01-20#E2] ");
	assert_walk(src, "C2", "C2(K2,2020-12-31,T2,W2)[] ");
	assert_walk(src, "C15", "orphan:C15*2 ");
	assert_walk(src, "nope", "");
	assert_walk(src, "c1", "");          /* BINARY: case matters */
	source_close(src);
}

/* A non-zero return from fn stops the walk, and the next walk starts over. */
static void test_stop(void **state)
{
	struct source *src = basic_db("stop.db");
	struct record r = { .stop_after = 2 };
	struct dl_error err;

	(void)state;
	assert_int_equal(source_each_case(src, NULL, on_case, NULL, &r, &err), 7);
	assert_int_equal(r.ncases, 2);
	assert_string_equal(r.log,
			    "C1(K1,2015-06-01,T1,W1)[referral@2024-01-02#E1,"
			    "assessment_started@2024-01-02T09:30#E3,"
			    "assessment_completed@2024-01-20#E2] C2(K2,2020-12-31,T2,W2)[] ");
	assert_walk(src, "C3", "C3(K3,2019-02-03,T1,~)[referral@2024-03-01#E5] ");
	source_close(src);
}

static int check_nulls(void *ctx, const struct source_case *c)
{
	(void)ctx;
	assert_string_equal(c->case_ref, "N1");
	assert_null(c->child_ref);
	assert_null(c->date_of_birth);
	assert_null(c->team_ref);
	assert_null(c->worker_ref);
	assert_int_equal(c->nevents, 2);
	assert_null(c->events[0].kind);
	assert_null(c->events[0].occurred);
	assert_null(c->events[0].event_ref);
	assert_string_equal(c->events[1].kind, "");
	assert_string_equal(c->events[1].occurred, "");
	assert_null(c->events[1].event_ref);
	return 0;
}

/* NULL stays NULL (and the empty string stays empty); a case row without a
 * case_ref is reported, as are events without one. */
static void test_nulls(void **state)
{
	char path[512];
	struct source *src;
	struct dl_error err;

	(void)state;
	tmp_path(path, sizeof path, "nulls.db");
	make_db(path, SCHEMA);
	make_db(path,
		"INSERT INTO deadlined_cases VALUES ('N1', NULL, NULL, NULL, NULL),"
		" (NULL, 'K', NULL, 'T', NULL);"
		"INSERT INTO deadlined_events VALUES ('N1', '', '', NULL),"
		" ('N1', NULL, NULL, NULL), (NULL, 'referral', '2024-01-01', 'X'),"
		" (NULL, 'referral', '2024-01-02', 'Y');");
	src = open_ok(path, 1000);
	assert_walk(src, NULL, "orphan:(null)*0 orphan:(null)*2 N1(~,~,~,~)[~@~#~,@#~] ");
	assert_int_equal(source_each_case(src, NULL, check_nulls, NULL, NULL, &err), 0);
	source_close(src);
}

/* A case_ref listed twice is delivered once, with all its events. */
static void test_duplicate_case(void **state)
{
	char path[512];
	struct source *src;

	(void)state;
	tmp_path(path, sizeof path, "dup.db");
	make_db(path, SCHEMA);
	make_db(path,
		"INSERT INTO deadlined_cases VALUES ('D', 'K', NULL, 'T', NULL),"
		" ('E', 'K2', NULL, 'T', NULL), ('D', 'K', NULL, 'T', NULL);"
		"INSERT INTO deadlined_events VALUES ('D', 'referral', '2024-01-01', NULL),"
		" ('D', 'referral_nfa', '2024-01-03', NULL);");
	src = open_ok(path, 1000);
	assert_walk(src, NULL,
		    "D(K,~,T,~)[referral@2024-01-01#~,referral_nfa@2024-01-03#~] "
		    "orphan:D*0 E(K2,~,T,~)[] ");
	source_close(src);
}

static int check_big(void *ctx, const struct source_case *c)
{
	char want[300];
	int *seen = ctx;

	if (strcmp(c->case_ref, "BIG") == 0) {
		assert_int_equal(c->nevents, 3000);
		for (size_t i = 0; i < c->nevents; i++) {
			snprintf(want, sizeof want, "2024-01-01T%05zu", i + 1);
			assert_string_equal(c->events[i].occurred, want);
			snprintf(want, sizeof want, "%0200zu", i + 1);
			assert_string_equal(c->events[i].event_ref, want);
		}
	} else {
		assert_int_equal(c->nevents, 1);
		assert_string_equal(c->events[0].kind, c->case_ref);
	}
	(*seen)++;
	return 0;
}

/* A case with more events and text than the buffers start with, followed
 * by small ones that reuse them. */
static void test_big_case(void **state)
{
	char path[512];
	struct source *src;
	struct dl_error err;
	int seen = 0;

	(void)state;
	tmp_path(path, sizeof path, "big.db");
	make_db(path, SCHEMA);
	make_db(path,
		"INSERT INTO deadlined_cases VALUES ('A', NULL, NULL, NULL, NULL),"
		" ('BIG', NULL, NULL, NULL, NULL), ('C', NULL, NULL, NULL, NULL);"
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)"
		" INSERT INTO deadlined_events SELECT 'BIG', 'k' || i,"
		" printf('2024-01-01T%05d', i), printf('%0200d', i) FROM n ORDER BY random();"
		"INSERT INTO deadlined_events VALUES ('A', 'A', NULL, NULL), ('C', 'C', NULL, NULL);");
	src = open_ok(path, 1000);
	assert_int_equal(source_each_case(src, NULL, check_big, NULL, &seen, &err), 0);
	assert_int_equal(seen, 3);
	source_close(src);
}

/* The four relations as views over a council's own tables, with integer
 * references (which sort 2 before 10) and a NOCASE column (whose own
 * order would put "a1" before "B2"). */
static void test_views(void **state)
{
	char path[512];
	struct source *src;
	struct source_directory dir;
	struct dl_error err;

	(void)state;
	tmp_path(path, sizeof path, "views.db");
	make_db(path,
		"CREATE TABLE person(person_id INTEGER PRIMARY KEY, dob TEXT);"
		"CREATE TABLE referral(referral_id INTEGER PRIMARY KEY, person_id INTEGER,"
		" team TEXT, worker TEXT, referral_date TEXT);"
		"CREATE TABLE assessment(referral_id INTEGER, completed TEXT);"
		"CREATE TABLE plan(plan_id TEXT COLLATE NOCASE, person_id INTEGER, started TEXT);"
		"CREATE TABLE team(id TEXT, title TEXT, tm TEXT, sm TEXT);"
		"CREATE TABLE staff(id TEXT, full_name TEXT, mail TEXT, team TEXT);"
		"INSERT INTO person VALUES (1, '2016-04-05'), (2, NULL);"
		"INSERT INTO referral VALUES (10, 1, 'T1', 'W1', '2024-02-01'),"
		" (2, 2, 'T1', NULL, '2024-01-15');"
		"INSERT INTO assessment VALUES (10, '2024-02-20'), (3, '2024-01-01'),"
		" (2, '2024-01-29');"
		"INSERT INTO plan VALUES ('a1', 1, '2024-03-01'), ('B2', 2, '2024-03-02');"
		"INSERT INTO team VALUES ('T1', 'Referral and Assessment', 'tm@example.org', NULL);"
		"INSERT INTO staff VALUES ('W1', 'A Worker', NULL, 'T1');"
		"CREATE VIEW deadlined_cases AS"
		" SELECT plan_id AS case_ref, person_id AS child_ref, NULL AS date_of_birth,"
		" 'T2' AS team_ref, NULL AS worker_ref FROM plan"
		" UNION ALL SELECT r.referral_id, r.person_id, p.dob, r.team, r.worker"
		" FROM referral r LEFT JOIN person p USING (person_id);"
		"CREATE VIEW deadlined_events AS"
		" SELECT plan_id AS case_ref, 'cp_plan_started' AS kind, started AS occurred,"
		" plan_id AS event_ref FROM plan"
		" UNION ALL SELECT referral_id, 'referral', referral_date, NULL FROM referral"
		" UNION ALL SELECT referral_id, 'assessment_completed', completed, NULL"
		" FROM assessment;"
		"CREATE VIEW deadlined_teams AS SELECT id AS team_ref, title AS name,"
		" tm AS manager_email, sm AS service_manager_email FROM team;"
		"CREATE VIEW deadlined_workers AS SELECT id AS worker_ref, full_name AS name,"
		" mail AS email, team AS team_ref FROM staff;");
	src = open_ok(path, 1000);
	assert_walk(src, NULL,
		    "2(2,~,T1,~)[referral@2024-01-15#~,assessment_completed@2024-01-29#~] "
		    "orphan:3*1 "
		    "10(1,2016-04-05,T1,W1)[referral@2024-02-01#~,"
		    "assessment_completed@2024-02-20#~] "
		    "B2(2,~,T2,~)[cp_plan_started@2024-03-02#B2] "
		    "a1(1,~,T2,~)[cp_plan_started@2024-03-01#a1] ");
	assert_walk(src, "10",
		    "10(1,2016-04-05,T1,W1)[referral@2024-02-01#~,"
		    "assessment_completed@2024-02-20#~] ");
	assert_int_equal(source_load_directory(src, &dir, &err), 0);
	assert_int_equal(dir.nteams, 1);
	assert_string_equal(source_find_team(&dir, "T1")->manager_email, "tm@example.org");
	assert_null(source_find_worker(&dir, "W1")->email);
	source_free_directory(&dir);
	source_close(src);
}

static void test_directory(void **state)
{
	char path[512];
	struct source *src;
	struct source_directory dir;
	const struct source_team *t;
	const struct source_worker *w;
	struct dl_error err;

	(void)state;
	tmp_path(path, sizeof path, "dir.db");
	make_db(path, SCHEMA);
	make_db(path,
		"INSERT INTO deadlined_teams VALUES"
		" ('T2', 'Two', 'two@example.org', 'sm@example.org'),"
		" (NULL, 'Nobody', NULL, NULL),"
		" ('T1', 'One (later row)', 'one@example.org', NULL),"
		" ('T3', 'Three', NULL, NULL),"
		" ('T1', 'One', 'one@example.org', NULL);"
		"INSERT INTO deadlined_workers VALUES ('W2', 'Two', 'w2@example.org', 'T2'),"
		" ('W1', 'One', NULL, 'T1'), (NULL, 'Nobody', NULL, NULL);");
	src = open_ok(path, 1000);
	assert_int_equal(source_load_directory(src, &dir, &err), 0);
	assert_int_equal(dir.nteams, 3);
	assert_int_equal(dir.nworkers, 2);
	assert_string_equal(dir.teams[0].team_ref, "T1");
	assert_string_equal(dir.teams[2].team_ref, "T3");
	t = source_find_team(&dir, "T1");
	assert_non_null(t);
	assert_string_equal(t->name, "One");   /* of two rows, the one sorting first */
	assert_null(t->service_manager_email);
	t = source_find_team(&dir, "T2");
	assert_non_null(t);
	assert_string_equal(t->service_manager_email, "sm@example.org");
	assert_null(source_find_team(&dir, "T3")->manager_email);
	assert_null(source_find_team(&dir, "T4"));
	assert_null(source_find_team(&dir, NULL));
	w = source_find_worker(&dir, "W1");
	assert_non_null(w);
	assert_null(w->email);
	assert_string_equal(w->team_ref, "T1");
	assert_string_equal(source_find_worker(&dir, "W2")->email, "w2@example.org");
	assert_null(source_find_worker(&dir, "W3"));
	source_free_directory(&dir);
	assert_int_equal(dir.nteams, 0);
	source_close(src);
}

static void test_empty_directory(void **state)
{
	char path[512];
	struct source *src;
	struct source_directory dir;
	struct dl_error err;

	(void)state;
	tmp_path(path, sizeof path, "emptydir.db");
	make_db(path, SCHEMA);
	src = open_ok(path, 1000);
	assert_int_equal(source_load_directory(src, &dir, &err), 0);
	assert_int_equal(dir.nteams + dir.nworkers, 0);
	assert_null(source_find_team(&dir, "T1"));
	assert_null(source_find_worker(&dir, "W1"));
	source_free_directory(&dir);
	assert_walk(src, NULL, "");
	source_close(src);
}

/* A missing file is an error, and is not created. */
static void test_missing_file(void **state)
{
	char path[512];

	(void)state;
	tmp_path(path, sizeof path, "absent.db");
	open_fails(path, "unable to open database file (No such file or directory)");
	assert_int_equal(access(path, F_OK), -1);
}

static void test_not_a_database(void **state)
{
	char path[512];
	FILE *f;

	(void)state;
	tmp_path(path, sizeof path, "notes.txt");
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 100; i++)
		fputs("This is a text file, not a case database.\n", f);
	fclose(f);
	open_fails(path, "not an SQLite database (file is not a database)");
	/* An empty file is an empty database: it has none of the relations. */
	tmp_path(path, sizeof path, "empty.db");
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	open_fails(path, "relation deadlined_cases: no such table: deadlined_cases");
}

static void test_missing_relation(void **state)
{
	char path[512];

	(void)state;
	tmp_path(path, sizeof path, "noworkers.db");
	make_db(path, SCHEMA);
	make_db(path, "DROP TABLE deadlined_workers;");
	open_fails(path, "relation deadlined_workers: no such table: deadlined_workers; "
		   "expected a table or view with columns worker_ref, name, email, team_ref");
	/* A view over a table that has gone is reported the same way. */
	tmp_path(path, sizeof path, "brokenview.db");
	make_db(path, SCHEMA);
	make_db(path, "DROP TABLE deadlined_teams; CREATE TABLE t(a, b, c, d);"
		"CREATE VIEW deadlined_teams AS SELECT a AS team_ref, b AS name,"
		" c AS manager_email, d AS service_manager_email FROM t; DROP TABLE t;");
	open_fails(path, "relation deadlined_teams: no such table: main.t");
}

static void test_missing_column(void **state)
{
	char path[512], want[1024];
	struct source *src = NULL;
	struct dl_error err;

	(void)state;
	tmp_path(path, sizeof path, "nocolumn.db");
	make_db(path, SCHEMA);
	make_db(path, "DROP TABLE deadlined_events;"
		"CREATE TABLE deadlined_events(case_ref TEXT, kind TEXT, happened TEXT,"
		" event_ref TEXT);");
	assert_int_equal(source_open(&(struct source_conf){ .database = path, .busy_timeout_ms = 100 },
					     &src, &err), -1);
	snprintf(want, sizeof want, "case database %s: relation deadlined_events: no such "
		 "column: occurred; expected columns case_ref, kind, occurred, event_ref", path);
	assert_string_equal(err.msg, want);
}

/* Nothing written through the source reaches the file, even with the
 * query_only guard switched off: the connection itself is read-only. */
static void test_read_only(void **state)
{
	static const char *const writes[] = {
		"INSERT INTO deadlined_cases VALUES ('X', NULL, NULL, NULL, NULL)",
		"UPDATE deadlined_cases SET team_ref = 'T9'",
		"DELETE FROM deadlined_events",
		"CREATE TABLE scratch(a)",
		"CREATE TEMP TABLE scratch(a)",
		"CREATE INDEX cases_by_team ON deadlined_cases(team_ref)",
		"DROP TABLE deadlined_workers",
	};
	char path[512];
	struct source *src = basic_db("ro.db");
	struct dl_error err;

	(void)state;
	tmp_path(path, sizeof path, "ro.db");
	for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
		err.msg[0] = '\0';
		if (source_exec_for_test(src, writes[i], &err) != -1)
			fail_msg("%s succeeded", writes[i]);
		assert_non_null(strstr(err.msg, path));
		assert_non_null(strstr(err.msg, "readonly"));
	}
	assert_int_equal(source_exec_for_test(src, "PRAGMA query_only = OFF", &err), 0);
	assert_int_equal(source_exec_for_test(src, writes[0], &err), -1);
	assert_non_null(strstr(err.msg, "attempt to write a readonly database"));
	assert_int_equal(source_exec_for_test(src, writes[1], &err), -1);
	assert_int_equal(source_exec_for_test(src, writes[3], &err), -1);
	assert_int_equal(source_exec_for_test(src, "SELECT count(*) FROM deadlined_cases",
					      &err), 0);
	source_close(src);

	assert_int_equal(count(path, "SELECT count(*) FROM deadlined_cases"), 3);
	assert_int_equal(count(path, "SELECT count(*) FROM deadlined_cases"
			       " WHERE team_ref = 'T9'"), 0);
	assert_int_equal(count(path, "SELECT count(*) FROM deadlined_events"), 8);
	assert_int_equal(count(path, "SELECT count(*) FROM sqlite_schema"), 4);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A writer holding the lock past the busy timeout makes the walk fail,
 * promptly and saying so, and the next walk after it lets go succeeds. */
static void test_busy(void **state)
{
	char path[512];
	struct source *src = basic_db("busy.db"), *other = NULL;
	struct record r = { .len = 0 };
	struct dl_error err = { "" };
	static const struct source_mark none;
	struct source_mark mark;
	enum source_change what;
	sqlite3 *db;
	double t0;

	(void)state;
	tmp_path(path, sizeof path, "busy.db");
	source_close(src);
	src = open_ok(path, 100);
	db = writer(path);
	/* A reserved lock (a write not yet committed) does not block readers,
	 * who see the data as it was. */
	exec(db, "BEGIN IMMEDIATE; DELETE FROM deadlined_cases WHERE case_ref <> 'C2'");
	assert_walk(src, "C1",
		    "C1(K1,2015-06-01,T1,W1)[referral@2024-01-02#E1,"
		    "assessment_started@2024-01-02T09:30#E3,assessment_completed@2024-01-20#E2] ");
	exec(db, "ROLLBACK; BEGIN EXCLUSIVE");
	t0 = now();
	assert_int_equal(source_each_case(src, NULL, on_case, on_orphan, &r, &err), -1);
	assert_true(now() - t0 < 5.0);
	assert_string_equal(r.log, "");
	if (!strstr(err.msg, path) || !strstr(err.msg, "database is locked") ||
	    !strstr(err.msg, "100 ms"))
		fail_msg("unexpected message: %s", err.msg);
	assert_int_equal(source_changed(src, &none, NULL, NULL, &mark, &what, &err), -1);
	assert_non_null(strstr(err.msg, "database is locked"));
	assert_int_equal(source_open(&(struct source_conf){ .database = path, .busy_timeout_ms = 50 },
					     &other, &err), -1);
	assert_non_null(strstr(err.msg, "database is locked"));
	exec(db, "COMMIT");
	sqlite3_close(db);
	assert_walk(src, "C2", "C2(K2,2020-12-31,T2,W2)[] ");
	source_close(src);
}

/* The cases "what changed" names, as "REF,REF," in the order given. */
struct changes {
	char log[256];
};

static int on_changed(void *ctx, const char *case_ref)
{
	struct changes *c = ctx;

	snprintf(c->log + strlen(c->log), sizeof c->log - strlen(c->log), "%s,", case_ref);
	return 0;
}

static enum source_change changed(struct source *src, struct source_mark *mark,
				  struct changes *c)
{
	struct source_mark next;
	enum source_change what;
	struct dl_error err;

	c->log[0] = '\0';
	if (source_changed(src, mark, on_changed, c, &next, &what, &err) < 0)
		fail_msg("source_changed: %s", err.msg);
	*mark = next;
	return what;
}

/* Without a change log or updated_column, SQLite's data_version tells
 * that something changed, not what. */
static void test_changed_no_log(void **state)
{
	char path[512];
	struct source *src = basic_db("version.db");
	struct source_mark mark = { .set = false };
	struct changes c;
	sqlite3 *db;

	(void)state;
	tmp_path(path, sizeof path, "version.db");
	assert_int_equal(changed(src, &mark, &c), SOURCE_ALL);      /* from nothing */
	assert_true(mark.set);
	assert_int_equal(changed(src, &mark, &c), SOURCE_UNCHANGED);
	assert_int_equal(changed(src, &mark, &c), SOURCE_UNCHANGED);
	db = writer(path);
	exec(db, "INSERT INTO deadlined_events VALUES ('C2', 'referral', '2024-06-01', NULL)");
	assert_int_equal(changed(src, &mark, &c), SOURCE_ALL);
	assert_string_equal(c.log, "");
	assert_int_equal(changed(src, &mark, &c), SOURCE_UNCHANGED);
	assert_walk(src, "C2", "C2(K2,2020-12-31,T2,W2)[referral@2024-06-01#~] ");
	/* A relation remade: the relations must be checked again. */
	exec(db, "CREATE VIEW other AS SELECT 1");
	assert_int_equal(changed(src, &mark, &c), SOURCE_REOPEN);
	sqlite3_close(db);
	source_close(src);
}

/* With the change log of conf/schema/native.sql: the cases, by name, and
 * "everything" for a change to a team. */
static void test_changed_log(void **state)
{
	char path[512], other[512], sql[600];
	struct source_mark mark = { .set = false }, kept;
	struct source *src;
	struct changes c;
	sqlite3 *db;

	(void)state;
	tmp_path(path, sizeof path, "log.db");
	tmp_path(other, sizeof other, "log-import.db");
	make_db(path, SCHEMA);
	make_db(path, "CREATE TABLE deadlined_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
		" case_ref TEXT);"
		"CREATE TRIGGER ev AFTER INSERT ON deadlined_events BEGIN"
		" INSERT INTO deadlined_changes (case_ref) VALUES (NEW.case_ref); END;"
		"CREATE TRIGGER tm AFTER INSERT ON deadlined_teams BEGIN"
		" INSERT INTO deadlined_changes (case_ref) VALUES (NULL); END;");
	src = open_ok(path, 100);
	db = writer(path);
	exec(db, "INSERT INTO deadlined_events VALUES ('C1', 'referral', '2024-01-02', NULL)");
	assert_int_equal(changed(src, &mark, &c), SOURCE_ALL);
	assert_int_equal(mark.change_seq, 1);
	exec(db, "INSERT INTO deadlined_events VALUES ('C2', 'referral', '2024-01-02', NULL);"
		 "INSERT INTO deadlined_events VALUES ('C1', 'referral', '2024-01-03', NULL)");
	kept = mark;
	assert_int_equal(changed(src, &mark, &c), SOURCE_CASES);
	assert_string_equal(c.log, "C2,C1,");
	assert_int_equal(mark.change_seq, 3);
	assert_int_equal(changed(src, &mark, &c), SOURCE_UNCHANGED);
	/* The same mark asked again (a poll that failed) gives the same answer. */
	assert_int_equal(changed(src, &kept, &c), SOURCE_CASES);
	assert_string_equal(c.log, "C2,C1,");
	exec(db, "INSERT INTO deadlined_teams VALUES ('T9', 'New', 'm@x', NULL)");
	assert_int_equal(changed(src, &mark, &c), SOURCE_ALL);
	assert_int_equal(mark.change_seq, 4);
	/* Another file renamed over the path: open it again. */
	snprintf(sql, sizeof sql, "VACUUM INTO '%s'", other);
	exec(db, sql);
	sqlite3_close(db);
	assert_int_equal(rename(other, path), 0);
	assert_int_equal(changed(src, &mark, &c), SOURCE_REOPEN);
	source_close(src);
	src = open_ok(path, 100);
	memset(&mark, 0, sizeof mark);
	assert_int_equal(changed(src, &mark, &c), SOURCE_ALL);
	/* A mark from another connection means nothing to this one. */
	assert_int_equal(changed(src, &kept, &c), SOURCE_ALL);
	source_close(src);
}

/* source.updated_column names the cases moved past the mark. */
static void test_changed_column(void **state)
{
	char path[512];
	struct source_mark mark = { .set = false };
	struct source *src = NULL;
	struct changes c;
	struct dl_error err;
	sqlite3 *db;

	(void)state;
	tmp_path(path, sizeof path, "column.db");
	make_db(path, SCHEMA);
	make_db(path, "ALTER TABLE deadlined_cases ADD COLUMN touched INTEGER;"
		"INSERT INTO deadlined_cases VALUES ('C1', 'K1', NULL, 'T1', NULL, 5);"
		"INSERT INTO deadlined_cases VALUES ('C2', 'K2', NULL, 'T1', NULL, 7)");
	if (source_open(&(struct source_conf){ .driver = "sqlite", .database = path,
					       .updated_column = "touched" }, &src, &err) < 0)
		fail_msg("source_open: %s", err.msg);
	assert_int_equal(changed(src, &mark, &c), SOURCE_ALL);
	assert_true(mark.updated.set && mark.updated.is_number);
	assert_true(mark.updated.number == 7);
	db = writer(path);
	exec(db, "UPDATE deadlined_cases SET touched = 9 WHERE case_ref = 'C1'");
	sqlite3_close(db);
	assert_int_equal(changed(src, &mark, &c), SOURCE_CASES);
	assert_string_equal(c.log, "C1,");
	assert_true(mark.updated.number == 9);
	source_close(src);
}

/* source.driver picks the backend; an unknown one is refused by name. */
static void test_driver(void **state)
{
	char path[512];
	struct source *src = (struct source *)1;
	struct dl_error err;

	(void)state;
	tmp_path(path, sizeof path, "driver.db");
	make_db(path, SCHEMA);
	assert_true(source_driver_known("sqlite"));
	assert_false(source_driver_known("oracle"));
	assert_int_equal(source_open(&(struct source_conf){ .driver = "oracle", .database = path },
				     &src, &err), -1);
	assert_null(src);
	assert_string_equal(err.msg, "case database: unknown source.driver 'oracle'; "
			    "expected sqlite, odbc");
	assert_int_equal(source_open(&(struct source_conf){ .driver = "sqlite", .database = path },
				     &src, &err), 0);
	assert_non_null(src);
	assert_walk(src, NULL, "");
	source_close(src);
}

/* A writer committing in the middle of a walk (possible in WAL mode) does
 * not show through: the walk reads one snapshot. */
struct midwalk {
	struct record r;
	sqlite3 *db;
};

static int commit_midwalk(void *ctx, const struct source_case *c)
{
	struct midwalk *m = ctx;

	if (strcmp(c->case_ref, "C1") == 0)
		exec(m->db, "INSERT INTO deadlined_events VALUES ('C3', 'cla_started',"
		     " '2024-04-01', 'NEW'); INSERT INTO deadlined_cases VALUES"
		     " ('C4', NULL, NULL, NULL, NULL)");
	return on_case(&m->r, c);
}

static void test_snapshot(void **state)
{
	char path[512];
	struct source *src;
	struct midwalk m = { .r.len = 0 };
	struct dl_error err;

	(void)state;
	tmp_path(path, sizeof path, "wal.db");
	make_db(path, SCHEMA);
	make_db(path, "PRAGMA journal_mode = WAL");
	make_db(path, CASES);
	m.db = writer(path);
	src = open_ok(path, 1000);
	assert_int_equal(source_each_case(src, NULL, commit_midwalk, NULL, &m, &err), 0);
	assert_null(strstr(m.r.log, "NEW"));
	assert_null(strstr(m.r.log, "C4"));
	assert_walk(src, "C3", "C3(K3,2019-02-03,T1,~)[referral@2024-03-01#E5,"
		    "cla_started@2024-04-01#NEW] ");
	assert_walk(src, "C4", "C4(~,~,~,~)[] ");
	sqlite3_close(m.db);
	source_close(src);
}

/* A walk started from inside fn is refused rather than corrupting the
 * outer one. */
static int nested(void *ctx, const struct source_case *c)
{
	struct source *src = ctx;
	struct dl_error err;

	(void)c;
	assert_int_equal(source_each_case(src, NULL, nested, NULL, src, &err), -1);
	assert_int_equal(source_each_case(src, "C1", nested, NULL, src, &err), -1);
	return 0;
}

static void test_nested_walk(void **state)
{
	struct source *src = basic_db("nested.db");
	struct dl_error err;

	(void)state;
	assert_int_equal(source_each_case(src, NULL, nested, NULL, src, &err), 0);
	assert_walk(src, "C2", "C2(K2,2020-12-31,T2,W2)[] ");
	source_close(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases_in_order),
		cmocka_unit_test(test_one_case),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_nulls),
		cmocka_unit_test(test_duplicate_case),
		cmocka_unit_test(test_big_case),
		cmocka_unit_test(test_views),
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_empty_directory),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_not_a_database),
		cmocka_unit_test(test_missing_relation),
		cmocka_unit_test(test_missing_column),
		cmocka_unit_test(test_read_only),
		cmocka_unit_test(test_busy),
		cmocka_unit_test(test_changed_no_log),
		cmocka_unit_test(test_changed_log),
		cmocka_unit_test(test_changed_column),
		cmocka_unit_test(test_driver),
		cmocka_unit_test(test_snapshot),
		cmocka_unit_test(test_nested_walk),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
