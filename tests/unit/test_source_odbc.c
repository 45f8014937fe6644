/* test_source_odbc.c — the ODBC backend through a real driver: SQLite's
 * (libsqliteodbc, registered in odbcinst.ini as "SQLite3"), reading the same
 * files as the SQLite backend, which is the reference.  PostgreSQL through
 * psqlODBC is tested by tests/integration/test_odbc.sh, which also runs
 * this program with DL_TEST_ODBC_PG set to a connection string as the
 * server's superuser: then the read-only session is tested there too. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadlined/source.h"

static char tmpdir[256];

static int setup(void **state)
{
	(void)state;
	return test_tmpdir(tmpdir, sizeof tmpdir, "test_source_odbc");
}

static int teardown(void **state)
{
	(void)state;
	return test_rmtree(tmpdir);
}

static void make_db(const char *name, const char *sql, char *path, size_t size)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	snprintf(path, size, "%s/%s", tmpdir, name);
	if (sqlite3_open(path, &db) != SQLITE_OK || sqlite3_exec(db, sql, NULL, NULL, &msg))
		fail_msg("%s: %s", path, msg ? msg : sqlite3_errmsg(db));
	sqlite3_close(db);
}

static const char SCHEMA[] =
	"CREATE TABLE deadlined_cases(case_ref TEXT, child_ref TEXT, date_of_birth TEXT,"
	" team_ref TEXT, worker_ref TEXT, updated INTEGER);"
	"CREATE TABLE deadlined_events(case_ref TEXT, kind TEXT, occurred TEXT, event_ref TEXT);"
	"CREATE TABLE deadlined_teams(team_ref TEXT, name TEXT, manager_email TEXT,"
	" service_manager_email TEXT);"
	"CREATE TABLE deadlined_workers(worker_ref TEXT, name TEXT, email TEXT, team_ref TEXT);"
	/* As native.sql has it: ties on occurred come out by kind. */
	"CREATE INDEX ev ON deadlined_events (case_ref, occurred, kind, event_ref);";

/* Everything the walk must get right: order, duplicates, NULLs, orphans
 * before, between and after the cases, ties on occurred, bytewise order
 * (B before a, ä after z). */
static const char ROWS[] =
	"INSERT INTO deadlined_cases VALUES ('a1', 'C1', '2015-01-01', 'T1', 'W1', 1),"
	" ('B2', NULL, NULL, NULL, NULL, 2), ('a1', 'C9', NULL, 'T9', NULL, 3),"
	" (NULL, 'C0', NULL, 'T1', 'W1', 4), ('z3', 'C3', '2010-02-02', 'T2', 'W2', 5),"
	" ('\xc3\xa4' || '4', 'C4', NULL, 'T1', NULL, 6), ('m5', 'C5', NULL, 'T1', 'W1', 7);"
	"INSERT INTO deadlined_events VALUES ('a1', 'referral', '2024-01-02', 'e1'),"
	" ('a1', 'assessment_started', '2024-01-02', 'e0'), ('a1', NULL, NULL, NULL),"
	" ('a1', 'referral_decision', '2024-01-01T10:00', 'e2'), ('A0', 'referral', '2024-01-01', NULL),"
	" ('A0', 'referral', '2024-01-03', NULL), ('c9', 'cla_started', '2024-02-02', 'x'),"
	" (NULL, 'referral', '2024-01-01', NULL), ('zz', 'pep', '2024-03-03', NULL),"
	" ('z3', 'cla_started', '2024-02-02', 'c1'), ('\xc3\xa4' || '4', 'referral', '2024-05-05', 'r');"
	"INSERT INTO deadlined_teams VALUES ('T2', 'Two', 't2@x', NULL), ('T1', 'One', 't1@x', 'sm@x'),"
	" ('T1', 'Again', 'a@x', NULL), (NULL, 'nobody', NULL, NULL);"
	"INSERT INTO deadlined_workers VALUES ('W2', 'Wendy', NULL, 'T2'), ('W1', 'Will', 'w@x', 'T1');";

struct record {
	char buf[8192];
	size_t len;
};

static void rec_printf(struct record *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	r->len += (size_t)vsnprintf(r->buf + r->len, sizeof r->buf - r->len, fmt, ap);
	va_end(ap);
	assert_true(r->len < sizeof r->buf);
}

static const char *S(const char *s)
{
	return s ? s : "~";
}

static int on_case(void *ctx, const struct source_case *c)
{
	struct record *r = ctx;

	rec_printf(r, "%s %s %s %s %s:", c->case_ref, S(c->child_ref), S(c->date_of_birth),
		   S(c->team_ref), S(c->worker_ref));
	for (size_t i = 0; i < c->nevents; i++)
		rec_printf(r, " %s@%s/%s", S(c->events[i].kind), S(c->events[i].occurred),
			   S(c->events[i].event_ref));
	rec_printf(r, "\n");
	return 0;
}

static void on_orphan(void *ctx, const char *case_ref, size_t nevents)
{
	rec_printf(ctx, "orphan %s %zu\n", case_ref, nevents);
}

static struct source *open_sqlite(const char *path)
{
	struct source_conf sc = { .driver = "sqlite", .database = path };
	struct source *src;
	struct dl_error err;

	if (source_open(&sc, &src, &err) < 0)
		fail_msg("sqlite: %s", err.msg);
	return src;
}

static struct source_conf odbc_conf(const char *connection)
{
	return (struct source_conf){ .driver = "odbc", .connection = connection,
				     .login_timeout = 5, .query_timeout = 10, .fetch_rows = 3 };
}

static struct source *open_odbc(const char *path)
{
	static char conn[512];
	struct source_conf sc;
	struct source *src;
	struct dl_error err;

	snprintf(conn, sizeof conn, "Driver=SQLite3;Database=%s", path);
	sc = odbc_conf(conn);
	if (source_open(&sc, &src, &err) < 0)
		fail_msg("odbc: %s", err.msg);
	return src;
}

static void walk(struct source *src, const char *one, struct record *r)
{
	struct dl_error err;

	r->len = 0;
	r->buf[0] = '\0';
	if (source_each_case(src, one, on_case, on_orphan, r, &err) < 0)
		fail_msg("walk: %s", err.msg);
}

/* Blocks of 3 rows, so cases and orphan groups straddle blocks. */
static void test_walk_as_sqlite(void **state)
{
	char path[512];
	struct record a, b;
	struct source *sq, *od;

	(void)state;
	make_db("walk.db", SCHEMA, path, sizeof path);
	make_db("walk.db", ROWS, path, sizeof path);
	sq = open_sqlite(path);
	od = open_odbc(path);
	walk(sq, NULL, &a);
	walk(od, NULL, &b);
	assert_string_equal(b.buf, a.buf);
	/* What the reference says, so both cannot be wrong alike. */
	assert_non_null(strstr(a.buf, "a1 C1 2015-01-01 T1 W1: ~@~/~ referral_decision@"
				      "2024-01-01T10:00/e2 assessment_started@2024-01-02/e0 "
				      "referral@2024-01-02/e1\n"));
	assert_non_null(strstr(a.buf, "orphan (null) 1\n"));
	assert_non_null(strstr(a.buf, "orphan A0 2\n"));
	assert_non_null(strstr(a.buf, "orphan zz 1\n"));
	for (const char *one = "a1"; one; one = strcmp(one, "a1") == 0 ? "A0" :
	     strcmp(one, "A0") == 0 ? "nope" : NULL) {
		walk(sq, one, &a);
		walk(od, one, &b);
		assert_string_equal(b.buf, a.buf);
	}
	source_close(sq);
	source_close(od);
}

struct ticks {
	int calls, give_up_at;
};

static int count_tick(void *ctx)
{
	struct ticks *t = ctx;

	return ++t->calls == t->give_up_at ? -1 : 0;
}

/* The tick hook runs between blocks (of 3 rows here); a negative return
 * gives the read up with an error, never a short walk that succeeds. */
static void test_tick(void **state)
{
	char path[512];
	struct record r;
	struct ticks t = { 0, 0 };
	struct source *od;
	struct dl_error err;

	(void)state;
	make_db("tick.db", SCHEMA, path, sizeof path);
	make_db("tick.db", ROWS, path, sizeof path);
	od = open_odbc(path);
	source_set_tick(od, count_tick, &t);
	walk(od, NULL, &r);
	assert_true(t.calls > 3);
	t = (struct ticks){ 0, 3 };
	r.len = 0;
	assert_int_equal(source_each_case(od, NULL, on_case, on_orphan, &r, &err), -1);
	assert_int_equal(t.calls, 3);
	assert_non_null(strstr(err.msg, ": read given up"));
	/* Removed: the walk is whole again. */
	source_set_tick(od, NULL, NULL);
	t.calls = 0;
	walk(od, NULL, &r);
	assert_int_equal(t.calls, 0);
	source_close(od);
}

static void test_directory(void **state)
{
	char path[512];
	struct source_directory d;
	struct dl_error err;
	struct source *od;

	(void)state;
	make_db("dir.db", SCHEMA, path, sizeof path);
	make_db("dir.db", ROWS, path, sizeof path);
	od = open_odbc(path);
	assert_int_equal(source_load_directory(od, &d, &err), 0);
	assert_int_equal(d.nteams, 2);
	assert_string_equal(d.teams[0].team_ref, "T1");
	assert_string_equal(d.teams[0].name, "Again");   /* whole rows sorted */
	assert_null(d.teams[1].service_manager_email);
	assert_int_equal(d.nworkers, 2);
	assert_string_equal(source_find_worker(&d, "W2")->name, "Wendy");
	source_free_directory(&d);
	source_close(od);
}

static void test_read_only(void **state)
{
	char path[512];
	struct dl_error err;
	struct source *od;

	(void)state;
	make_db("ro.db", SCHEMA, path, sizeof path);
	od = open_odbc(path);
	assert_int_equal(source_exec_for_test(od, "INSERT INTO deadlined_teams VALUES "
					      "('T', 'T', NULL, NULL)", &err), -1);
	assert_non_null(strstr(err.msg, "readonly"));
	source_close(od);
}

static void test_missing_relation(void **state)
{
	char path[512], conn[600];
	struct source_conf sc;
	struct source *src = NULL;
	struct dl_error err;

	(void)state;
	make_db("missing.db", "CREATE TABLE deadlined_cases(case_ref TEXT, child_ref TEXT,"
		" date_of_birth TEXT, team_ref TEXT, worker_ref TEXT);"
		"CREATE TABLE deadlined_events(case_ref TEXT, kind TEXT, occurred TEXT);",
		path, sizeof path);
	snprintf(conn, sizeof conn, "Driver=SQLite3;Database=%s", path);
	sc = odbc_conf(conn);
	assert_int_equal(source_open(&sc, &src, &err), -1);
	assert_null(src);
	assert_non_null(strstr(err.msg, "relation deadlined_events (expected a table or view "
					"with columns case_ref, kind, occurred, event_ref)"));
	assert_non_null(strstr(err.msg, "event_ref"));
}

static void test_expected_optional(void **state)
{
	char path[512];
	struct source_expected_list list;
	struct dl_error err;
	struct source *od;
	bool present = true;

	(void)state;
	make_db("exp.db", SCHEMA, path, sizeof path);
	od = open_odbc(path);
	assert_int_equal(source_load_expected(od, &list, &present, &err), 0);
	assert_false(present);
	source_close(od);
	make_db("exp.db", "CREATE TABLE deadlined_expected_due(case_ref, rule, due, event_ref);"
		"INSERT INTO deadlined_expected_due VALUES ('b', 'r', '2024-01-01', NULL),"
		" ('a', 'r', '2024-02-02', 'e');", path, sizeof path);
	od = open_odbc(path);
	assert_int_equal(source_load_expected(od, &list, &present, &err), 0);
	assert_true(present);
	assert_int_equal(list.n, 2);
	assert_string_equal(list.v[0].case_ref, "a");
	source_free_expected(&list);
	source_close(od);
}

/* A value longer than the fetch buffer is an error naming its case, never
 * a silent truncation. */
static void test_long_value(void **state)
{
	char path[512];
	struct record r;
	struct dl_error err;
	struct source *od;

	(void)state;
	make_db("long.db", SCHEMA, path, sizeof path);
	make_db("long.db", "INSERT INTO deadlined_cases VALUES ('L1', printf('%.600c', 'x'),"
		" NULL, NULL, NULL, 0);", path, sizeof path);
	od = open_odbc(path);
	assert_int_equal(source_each_case(od, NULL, on_case, on_orphan, &r, &err), -1);
	assert_non_null(strstr(err.msg, "case L1: a value of 600 bytes; at most 511 fit"));
	source_close(od);
}

static int on_changed(void *ctx, const char *case_ref)
{
	rec_printf(ctx, "%s ", case_ref);
	return 0;
}

static void test_updated_column(void **state)
{
	char path[512], conn[600];
	struct source_mark mark = { 0 }, next;
	enum source_change what;
	struct source_conf sc;
	struct record r = { .len = 0 };
	struct dl_error err;
	struct source *od;

	(void)state;
	make_db("upd.db", SCHEMA, path, sizeof path);
	make_db("upd.db", ROWS, path, sizeof path);
	snprintf(conn, sizeof conn, "Driver=SQLite3;Database=%s", path);
	sc = odbc_conf(conn);
	sc.updated_column = "updated";
	if (source_open(&sc, &od, &err) < 0)
		fail_msg("%s", err.msg);
	/* From nothing: everything, and where the column stands. */
	assert_int_equal(source_changed(od, &mark, on_changed, &r, &next, &what, &err), 0);
	assert_int_equal(what, SOURCE_ALL);
	assert_true(next.updated.set && next.updated.is_number);
	assert_true(next.updated.number == 7);
	mark = next;
	assert_int_equal(source_changed(od, &mark, on_changed, &r, &next, &what, &err), 0);
	assert_int_equal(what, SOURCE_UNCHANGED);
	assert_int_equal(r.len, 0);
	make_db("upd.db", "UPDATE deadlined_cases SET updated = 9 WHERE case_ref = 'z3';"
		"UPDATE deadlined_cases SET updated = 8 WHERE case_ref = 'm5';", path, sizeof path);
	assert_int_equal(source_changed(od, &mark, on_changed, &r, &next, &what, &err), 0);
	assert_int_equal(what, SOURCE_CASES);
	assert_true(strcmp(r.buf, "z3 m5 ") == 0 || strcmp(r.buf, "m5 z3 ") == 0);
	assert_true(next.updated.number == 9);
	source_close(od);
	/* Without the column nothing tells: everything, every time. */
	sc.updated_column = NULL;
	if (source_open(&sc, &od, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(source_changed(od, &next, on_changed, &r, &mark, &what, &err), 0);
	assert_int_equal(what, SOURCE_ALL);
	source_close(od);
}

/* The password file: read at connect, never in a message. */
static void test_credentials(void **state)
{
	char path[512], pw[600], conn[1200];
	struct source_conf sc;
	struct source *src = NULL;
	struct dl_error err;
	FILE *f;

	(void)state;
	make_db("cred.db", SCHEMA, path, sizeof path);
	snprintf(pw, sizeof pw, "%s/pw", tmpdir);
	f = fopen(pw, "w");
	fputs("Sesame42\n", f);
	fclose(f);
	/* A file the driver cannot open, in a folder named like the password
	 * (as if it had been typed there by mistake): it must not come out. */
	snprintf(conn, sizeof conn, "Driver=SQLite3;Database=%s/Sesame42/none.db", tmpdir);
	sc = odbc_conf(conn);
	sc.credentials = pw;
	assert_int_equal(source_open(&sc, &src, &err), -1);
	assert_null(strstr(err.msg, "Sesame42"));
	assert_non_null(strstr(err.msg, "/***/none.db"));
	/* A systemd credential by name, or a clear message without one. */
	snprintf(conn, sizeof conn, "Driver=SQLite3;Database=%s", path);
	sc = odbc_conf(conn);
	sc.credentials = "pw";
	unsetenv("CREDENTIALS_DIRECTORY");
	assert_int_equal(source_open(&sc, &src, &err), -1);
	assert_non_null(strstr(err.msg, "$CREDENTIALS_DIRECTORY is not set"));
	setenv("CREDENTIALS_DIRECTORY", tmpdir, 1);
	assert_int_equal(source_open(&sc, &src, &err), 0);
	source_close(src);
	sc.credentials = "nope";
	assert_int_equal(source_open(&sc, &src, &err), -1);
	assert_non_null(strstr(err.msg, "/nope: No such file"));
	unsetenv("CREDENTIALS_DIRECTORY");
}

static void test_no_driver(void **state)
{
	struct source_conf sc = odbc_conf("Driver=NoSuchDriver;Database=x");
	struct source *src = NULL;
	struct dl_error err;

	(void)state;
	assert_int_equal(source_open(&sc, &src, &err), -1);
	assert_non_null(strstr(err.msg, "case database Driver=NoSuchDriver;Database=x: connecting: "
					"[01000]"));
	sc = odbc_conf(NULL);
	assert_int_equal(source_open(&sc, &src, &err), -1);
	assert_non_null(strstr(err.msg, "needs source.dsn or source.connection"));
}

/* PostgreSQL: the session is read-only even for a login that may write. */
static void test_pg_read_only(void **state)
{
	struct source_conf sc = odbc_conf(getenv("DL_TEST_ODBC_PG"));
	struct source *src;
	struct dl_error err;

	(void)state;
	if (source_open(&sc, &src, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(source_exec_for_test(src, "CREATE TABLE deadlined_x (a int)", &err), -1);
	assert_non_null(strstr(err.msg, "read-only transaction"));
	assert_int_equal(source_exec_for_test(src, "DELETE FROM deadlined_teams", &err), -1);
	assert_non_null(strstr(err.msg, "read-only transaction"));
	source_close(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk_as_sqlite),
		cmocka_unit_test(test_tick),
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_read_only),
		cmocka_unit_test(test_missing_relation),
		cmocka_unit_test(test_expected_optional),
		cmocka_unit_test(test_long_value),
		cmocka_unit_test(test_updated_column),
		cmocka_unit_test(test_credentials),
		cmocka_unit_test(test_no_driver),
	};
	const struct CMUnitTest pg_tests[] = {
		cmocka_unit_test(test_pg_read_only),
	};

	if (getenv("DL_TEST_ODBC_PG"))
		return cmocka_run_group_tests(pg_tests, NULL, NULL);
	return cmocka_run_group_tests(tests, setup, teardown);
}
