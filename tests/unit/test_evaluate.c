/* test_evaluate.c — one pass over a case database gives, case by case, what
 * each rule of the pack gives for the case's events.
 *
 * A property test, seeded: random cases in a real SQLite case database
 * (conf/schema/native.sql), events of every kind the example configuration
 * knows (start, met and cancel kinds of one rule or of several, and kinds
 * no rule uses), on distinct days.  evaluate_run's obligations and
 * findings must be those of rules_evaluate run for every rule of the pack
 * in turn, in the same order: the evaluation walks only the rules a case's
 * events touch, and this is what would catch a rule left out.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "testpipe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadlined/evaluate.h"
#include "deadlined/strset.h"

#define NCASES 600
#define MAXEV 8
#define SEED 20261206u

static struct conf *conf;
static char dir[512];

struct tcase {
	char ref[16];
	const char *dob;
	int nev;
	const char *kind[MAXEV];
	char when[MAXEV][20];
};

static struct tcase cases[NCASES];

/* What a pass says, one line each, in order. */
struct said {
	char *text;
	size_t len;
	FILE *f;
};

static uint32_t rng = SEED;

static uint32_t rnd(uint32_t n)
{
	rng = rng * 1103515245u + 12345u;
	return (rng >> 8) % n;
}

static void say_obligation(FILE *f, const char *case_ref, const struct obligation *ob)
{
	char a[DATE_MOMENT_BUF], d[DATE_MOMENT_BUF], c[DATE_MOMENT_BUF];

	fprintf(f, "%s %s %d %s %s %s %s %d %d %s\n", case_ref, ob->rule->id, ob->seq,
		rules_state_name(ob->state), date_format_moment(ob->anchor, a),
		date_format_moment(ob->due, d),
		ob->close_kind ? date_format_moment(ob->closed, c) : "-", ob->stage,
		ob->days_overdue, ob->start_kind ? ob->start_kind : "-");
}

static int on_obligation(void *ctx, const struct source_case *c, const struct obligation *ob)
{
	say_obligation(((struct said *)ctx)->f, c->case_ref, ob);
	return 0;
}

static int on_finding(void *ctx, const char *case_ref, const char *problem)
{
	fprintf(((struct said *)ctx)->f, "%s finding: %s\n", case_ref, problem);
	return 0;
}

/* The oracle's callbacks: the case is the one being run. */
static const char *oracle_case;

static int oracle_obligation(void *ctx, const struct obligation *ob)
{
	say_obligation(((struct said *)ctx)->f, oracle_case, ob);
	return 0;
}

static void make_cases(sqlite3 *db)
{
	size_t nkinds = strset_count(conf->kinds);

	for (int i = 0; i < NCASES; i++) {
		struct tcase *t = &cases[i];
		dl_day day = D("2025-06-02") + (dl_day)rnd(400);

		snprintf(t->ref, sizeof t->ref, "REF-%04d", i);
		t->dob = rnd(3) ? "2012-05-17" : NULL;
		t->nev = 1 + (int)rnd(MAXEV);
		pipe_exec(db, "INSERT INTO deadlined_cases VALUES (%Q, 'K', %Q, 'T1', 'W1')",
			  t->ref, t->dob);
		for (int e = 0; e < t->nev; e++) {
			char d[DATE_BUF];

			/* Distinct days: the source's order of one day's events is
			 * its own. */
			day += 1 + (dl_day)rnd(40);
			t->kind[e] = strset_get(conf->kinds, 1 + (int)rnd((uint32_t)nkinds));
			date_format(day, d);
			snprintf(t->when[e], sizeof t->when[e], rnd(5) ? "%s" : "%sT10:30", d);
			pipe_exec(db, "INSERT INTO deadlined_events (case_ref, kind, occurred)"
				  " VALUES (%Q, %Q, %Q)", t->ref, t->kind[e], t->when[e]);
		}
	}
}

/* Every rule for every case, as rules_evaluate gives it. */
static void oracle(struct dl_moment now, struct said *out)
{
	const struct rule *rules = conf->rules.v;

	for (int i = 0; i < NCASES; i++) {
		const struct tcase *t = &cases[i];
		struct rules_event ev[MAXEV];
		struct rules_case rc = { t->ref, DATE_NONE, ev, (size_t)t->nev };

		if (t->dob)
			rc.date_of_birth = D(t->dob);
		for (int e = 0; e < t->nev; e++)
			ev[e] = (struct rules_event){ t->kind[e], M(t->when[e]),
						      conf_kind_id(conf, t->kind[e]) };
		oracle_case = t->ref;
		for (size_t r = 0; r < conf->rules.n; r++)
			assert_int_equal(rules_evaluate(&rules[r], conf->cal, &rc, now,
							oracle_obligation, on_finding, out), 0);
	}
}

static void test_every_rule_of_every_case(void **unused)
{
	struct said got = { 0 }, want = { 0 };
	struct evaluate_hooks hooks = { .obligation = on_obligation, .finding = on_finding,
					.ctx = &got };
	struct evaluate_summary sum;
	struct dl_moment now = M("2026-11-23T12:00");
	struct source *src;
	struct dl_error err;
	sqlite3 *db;

	(void)unused;
	db = pipe_cases(dir);
	pipe_exec(db, "INSERT INTO deadlined_teams VALUES ('T1', 'Duty', 'tm@test.invalid',"
		  " 'sm@test.invalid');"
		  "INSERT INTO deadlined_workers VALUES ('W1', 'Wendy', 'w@test.invalid', 'T1');"
		  "BEGIN");
	make_cases(db);
	pipe_exec(db, "COMMIT");
	sqlite3_close(db);
	assert_non_null(got.f = open_memstream(&got.text, &got.len));
	assert_non_null(want.f = open_memstream(&want.text, &want.len));
	src = pipe_source(dir);
	if (evaluate_run(conf, src, NULL, now, &hooks, &sum, &err) < 0)
		fail_msg("evaluate_run: %s", err.msg);
	source_close(src);
	oracle(now, &want);
	fclose(got.f);
	fclose(want.f);
	assert_string_equal(got.text, want.text);
	/* The property was tested on cases with obligations and findings. */
	assert_true(sum.total[OB_OPEN] + sum.total[OB_OVERDUE] > 50);
	assert_true(sum.total[OB_MET] + sum.total[OB_LATE] > 50);
	assert_true(sum.total[OB_CANCELLED] > 5);
	assert_true(sum.findings > 50);
	evaluate_summary_free(&sum);
	free(got.text);
	free(want.text);
}

static int setup(void **unused)
{
	(void)unused;
	if (test_tmpdir(dir, sizeof dir, "test_evaluate") < 0)
		return -1;
	return test_example_conf(&conf);
}

static int teardown(void **unused)
{
	(void)unused;
	conf_free(conf);
	pipe_rmdir(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_rule_of_every_case),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
