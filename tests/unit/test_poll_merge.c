/* test_poll_merge.c — a full poll's merge with the stored obligations, on
 * a real SQLite state file: in key order, out of order (a source whose
 * collation is not byte order), and the fingerprint. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"

#include <string.h>
#include <unistd.h>

#include "deadlined/poll_merge.h"
#include "deadlined/state.h"

static char dir[512], path[600];

static struct state_obligation ob(const char *case_ref, int level)
{
	return (struct state_obligation){ case_ref, "icpc", 1, "K1", "T1", "Team", "W1", "Worker",
		"w@x.example", "tm@x.example", "sm@x.example", "2025-01-02", "2025-01-23",
		level < 0 ? "2025-01-20" : NULL, level < 0 ? "met" : "open", 0, 0, level, 7 };
}

static struct state *store(void)
{
	static const char *const refs[] = { "A", "B", "C", "D", "E" };
	struct state *st;
	struct state_prev prev;
	struct dl_error err;

	assert_int_equal(test_tmpdir(dir, sizeof dir, "test_poll_merge"), 0);
	snprintf(path, sizeof path, "%s/state.db", dir);
	if (state_open(&(struct state_conf){ .database = path }, &st, &err) < 0)
		fail_msg("state_open: %s", err.msg);
	/* A-D open, E closed. */
	for (int i = 0; i < 5; i++) {
		struct state_obligation o = ob(refs[i], i == 4 ? -1 : 0);

		assert_int_equal(state_put_obligation(st, &o, 1, &prev, &err), 0);
	}
	return st;
}

static void cleanup(struct state *st)
{
	char f[700];

	state_close(st);
	for (int i = 0; i < 3; i++) {
		snprintf(f, sizeof f, "%s%s", path, (const char *[]){ "", "-wal", "-shm" }[i]);
		unlink(f);
	}
	rmdir(dir);
}

static void find(struct poll_merge *m, const char *case_ref, bool want, int level)
{
	const struct state_stored *row;
	struct dl_error err;

	if (poll_merge_find(m, case_ref, "icpc", 1, &row, &err) < 0)
		fail_msg("poll_merge_find %s: %s", case_ref, err.msg);
	if (!want) {
		assert_null(row);
		return;
	}
	assert_non_null(row);
	assert_string_equal(row->case_ref, case_ref);
	assert_int_equal(row->prev.level, level);
	assert_int_equal(row->fp, 7);
}

/* Which of A-E are gone after the poll saw `seen` (in that order). */
static void poll_seeing(const char *const *seen, size_t n, const char *want_gone)
{
	struct state *st = store();
	struct poll_merge *m;
	struct state_obligation o;
	struct state_prev prev;
	struct dl_error err;
	char gone[8] = "";
	size_t ngone = 0;

	assert_int_equal(state_stage_begin(st, true, &err), 0);
	assert_int_equal(poll_merge_open(st, POLL_MERGE_WALK, &m, &err), 0);
	for (size_t i = 0; i < n; i++)
		find(m, seen[i], seen[i][0] <= 'E', seen[i][0] == 'E' ? -1 : 0);
	assert_int_equal(poll_merge_finish(m, &err), 0);
	poll_merge_close(m);
	assert_int_equal(state_stage_apply(st, NULL, &err), 0);
	assert_int_equal(state_commit(st, &err), 0);
	for (const char *c = "ABCDE"; *c; c++) {
		char ref[2] = { *c, '\0' };

		o = ob(ref, 0);
		assert_int_equal(state_put_obligation(st, &o, 2, &prev, &err), 0);
		if (prev.level == -1 && *c != 'E')
			gone[ngone++] = *c;
	}
	assert_string_equal(gone, want_gone);
	cleanup(st);
}

static void test_in_key_order(void **s)
{
	(void)s;
	poll_seeing((const char *[]){ "A", "C", "E", "F" }, 4, "BD");
}

/* D, then A behind the walk: A's row is found by key and not closed; B,
 * passed by the walk, is. */
static void test_out_of_order(void **s)
{
	(void)s;
	poll_seeing((const char *[]){ "D", "A", "Z", "C" }, 4, "B");
}

/* An incremental poll of A, B and C that evaluated A and C (B vanished):
 * without a walk, in one transaction; A and C stay, B and (not asked
 * about) D stay open until a poll asks about them. */
static void test_by_key(void **s)
{
	static const char *const refs[] = { "A", "B", "C" };
	struct state *st = store();
	struct poll_merge *m;
	struct state_obligation o;
	struct state_prev prev;
	struct dl_error err;
	char gone[8] = "";
	size_t ngone = 0;

	(void)s;
	assert_int_equal(state_begin(st, &err), 0);
	assert_int_equal(poll_merge_open(st, POLL_MERGE_BY_KEY, &m, &err), 0);
	find(m, "C", true, 0);
	find(m, "A", true, 0);
	assert_int_equal(poll_merge_finish(m, &err), 0);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(poll_merge_forget(m, refs[i], &err), 0);
	poll_merge_close(m);
	assert_int_equal(state_commit(st, &err), 0);
	for (const char *c = "ABCD"; *c; c++) {
		char ref[2] = { *c, '\0' };

		o = ob(ref, 0);
		assert_int_equal(state_put_obligation(st, &o, 2, &prev, &err), 0);
		if (prev.level == -1)
			gone[ngone++] = *c;
	}
	assert_string_equal(gone, "B");
	cleanup(st);
}

static void test_fingerprint(void **s)
{
	struct obligation o = { .anchor = M("2025-01-02"), .due = M("2025-01-23") };
	struct state_obligation so = ob("A", 0);
	uint64_t seed = poll_merge_case_seed(&so);
	int64_t fp = poll_merge_fingerprint(seed, &so, &o);

	(void)s;
	assert_int_not_equal(fp, 0);
	/* Each value counts; NULL is not "". */
	o.due = M("2025-01-24");
	assert_int_not_equal(poll_merge_fingerprint(seed, &so, &o), fp);
	o.due = M("2025-01-23");
	assert_int_equal(poll_merge_fingerprint(seed, &so, &o), fp);
	so.worker_email = "";
	assert_int_not_equal(poll_merge_case_seed(&so), seed);
	so.worker_email = NULL;
	assert_int_not_equal(poll_merge_case_seed(&so), seed);
	so = ob("A", 0);
	so.days_overdue = 1;
	assert_int_not_equal(poll_merge_fingerprint(seed, &so, &o), fp);
	so.days_overdue = 0;
	o.close_kind = "met";
	o.closed = M("2025-01-20");
	assert_int_not_equal(poll_merge_fingerprint(seed, &so, &o), fp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_key_order),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_by_key),
		cmocka_unit_test(test_fingerprint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
