/* test_report.c — report arithmetic on hand-built obligations; every
 * expected figure is worked out by hand in the comments. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"

#include <math.h>
#include <string.h>

#include <unistd.h>

#include "deadlined/calendar.h"
#include "deadlined/conf.h"
#include "deadlined/render.h"
#include "deadlined/report.h"

static struct calendar *cal;

static int setup(void **state)
{
	struct calendar_options opt = { 0 };
	struct dl_error err;

	(void)state;
	return calendar_new(&opt, &cal, &err);
}

static int teardown(void **state)
{
	(void)state;
	calendar_free(cal);
	return 0;
}

static void test_median(void **state)
{
	int odd[] = { 5, 1, 3 }, even[] = { 4, 1, 3, 1 }, two[] = { 1, 4 }, one[] = { 7 };

	(void)state;
	assert_true(report_median(odd, 3) == 3);
	/* 1 1 3 4: the middle two are 1 and 3, so 2. */
	assert_true(report_median(even, 4) == 2);
	assert_true(report_median(two, 2) == 2.5);
	assert_true(report_median(one, 1) == 7);
	assert_true(report_median(NULL, 0) == -1);
}

static void test_percent(void **state)
{
	struct report_stats s = { .on_time = 122, .late = 112, .cancelled = 9 };
	double pct = -1;

	(void)state;
	/* Harrow's NI 59: 122 of 234 = 52.14%; cancelled ones are not counted. */
	assert_true(report_percent(&s, &pct));
	assert_true(fabs(pct - 52.136752) < 0.0001);
	s = (struct report_stats){ .cancelled = 3, .overdue = 2 };
	assert_false(report_percent(&s, &pct));
}

static void test_rating(void **state)
{
	struct rule_target t = { .value = 85, .better = "higher",
				 .quartiles = { 3, { 50, 70, 80 } } };
	double shown;

	(void)state;
	assert_int_equal(report_rate(&t, 90, &shown), RATING_GREEN);
	assert_int_equal(report_rate(&t, 85, &shown), RATING_GREEN);   /* meets it */
	assert_int_equal(report_rate(&t, 75, &shown), RATING_AMBER);   /* >= median 70 */
	assert_int_equal(report_rate(&t, 70, &shown), RATING_AMBER);
	assert_int_equal(report_rate(&t, 52.1, &shown), RATING_RED);
	assert_true(shown == 52.1);
	assert_int_equal(report_quartile(&t, 82), 1);
	assert_int_equal(report_quartile(&t, 75), 2);
	assert_int_equal(report_quartile(&t, 52.1), 3);
	assert_int_equal(report_quartile(&t, 40), 4);
	t.quartiles.n = 0;
	assert_int_equal(report_rate(&t, 75, &shown), RATING_RED);   /* no amber band */
	assert_int_equal(report_quartile(&t, 75), 0);
	t.value = NAN;
	assert_int_equal(report_rate(&t, 75, &shown), RATING_NONE);
	/* Lower is better: the late percentage against a ceiling of 10. */
	t = (struct rule_target){ .value = 10, .better = "lower",
				  .quartiles = { 3, { 5, 10, 20 } } };
	assert_int_equal(report_rate(&t, 95, &shown), RATING_GREEN);   /* 5% late */
	assert_true(fabs(shown - 5) < 1e-9);
	assert_int_equal(report_rate(&t, 85, &shown), RATING_RED);     /* 15% > median 10 */
	assert_int_equal(report_quartile(&t, 4), 1);
	assert_int_equal(report_quartile(&t, 8), 2);
	assert_int_equal(report_quartile(&t, 15), 3);
	assert_int_equal(report_quartile(&t, 25), 4);
	assert_string_equal(report_rating_name(RATING_AMBER), "amber");
}

/* An item: due and closed as text ("" for open), state, working days late. */
static struct report_item item(const char *team, const char *anchor, const char *due,
			       const char *closed, enum obligation_state st, int late,
			       const char *reason)
{
	return (struct report_item){
		.rule = "r", .case_ref = "c", .team_ref = team, .reason = reason, .seq = 1,
		.anchor = M(anchor), .due = M(due), .closed = *closed ? D(closed) : DATE_NONE,
		.state = st, .late_days = late,
	};
}

static void test_stats(void **state)
{
	struct report_item v[] = {
		/* June 2024 (no bank holidays from 28 May to 25 August). */
		item("A", "2024-06-03", "2024-06-04", "2024-06-04", OB_MET, 0, NULL),
		item("A", "2024-06-03", "2024-06-04", "2024-06-05", OB_LATE, 1, "sick"),
		item("A", "2024-06-10", "2024-06-11", "2024-06-17", OB_LATE, 4, "police"),
		item("B", "2024-06-10", "2024-06-11", "2024-06-10", OB_MET, 0, NULL),
		item("B", "2024-06-18", "2024-06-19", "2024-06-20", OB_CANCELLED, 0, "sick"),
		item("B", "2024-06-17", "2024-06-18", "2024-06-25", OB_LATE, 5, "sick"),
		/* Met after June, due in it: overdue at 30 June by 27, 28 = 2. */
		item("A", "2024-06-24", "2024-06-26", "2024-07-02", OB_LATE, 4, "police"),
		/* Never met, due 06-20: overdue at 30 June by 21, 24..28 = 6. */
		item("B", "2024-06-19", "2024-06-20", "", OB_OVERDUE, 0, NULL),
		/* Due on the last day, date only: not yet overdue at its end. */
		item("A", "2024-06-27", "2024-06-28", "", OB_OVERDUE, 0, NULL),
		/* Due at 09:00 on the 28th: overdue by the end of that day, 0 days. */
		item("B", "2024-06-25T09:00", "2024-06-28T09:00", "", OB_OVERDUE, 0, NULL),
		/* Before the period. */
		item("A", "2024-05-20", "2024-05-21", "2024-05-21", OB_MET, 0, NULL),
	};
	size_t n = sizeof v / sizeof v[0];
	struct report_stats s;

	(void)state;
	/* June, every team: on time 2; late 1, 4, 5 (median 4, worst 5);
	 * cancelled 1; overdue at the end: items 7, 8 and 10 (longest 6). */
	assert_int_equal(report_stats(v, n, cal, D("2024-06-01"), D("2024-06-28"), NULL, &s), 0);
	assert_int_equal(s.on_time, 2);
	assert_int_equal(s.late, 3);
	assert_true(s.median_late == 4);
	assert_int_equal(s.worst_late, 5);
	assert_int_equal(s.cancelled, 1);
	assert_int_equal(s.overdue, 3);
	assert_int_equal(s.worst_overdue, 6);
	/* Reasons of the late and the overdue, most given first: sick (items
	 * 2, 6; the cancelled one is not late), police (3, 7). Equal counts
	 * sort by text. */
	assert_int_equal(s.nreasons, 2);
	assert_string_equal(s.reasons[0].text, "police");
	assert_int_equal(s.reasons[0].n, 2);
	assert_string_equal(s.reasons[1].text, "sick");
	assert_int_equal(s.reasons[1].n, 2);
	report_stats_free(&s);

	/* Team A to 30 June: on time 1; late 1, 4 (median 2.5); overdue: item 7
	 * (27, 28: 2 working days; 29 and 30 are a weekend) and item 9 (due
	 * the 28th, passed by the end of the 30th: 0 working days). */
	assert_int_equal(report_stats(v, n, cal, D("2024-06-01"), D("2024-06-30"), "A", &s), 0);
	assert_int_equal(s.on_time, 1);
	assert_int_equal(s.late, 2);
	assert_true(s.median_late == 2.5);
	assert_int_equal(s.overdue, 2);
	assert_int_equal(s.worst_overdue, 2);
	report_stats_free(&s);

	/* A team with nothing, and a period with nothing in it. */
	assert_int_equal(report_stats(v, n, cal, D("2024-06-01"), D("2024-06-30"), "C", &s), 0);
	assert_int_equal(s.on_time + s.late + s.cancelled + s.overdue, 0);
	assert_true(s.median_late == -1);
	report_stats_free(&s);
	assert_int_equal(report_stats(v, n, cal, D("2024-01-01"), D("2024-01-31"), NULL, &s), 0);
	assert_int_equal(s.on_time + s.late + s.cancelled + s.overdue, 0);
	report_stats_free(&s);
	assert_int_equal(report_stats(v, 0, cal, D("2024-06-01"), D("2024-06-30"), NULL, &s), 0);
	assert_int_equal(s.on_time + s.late, 0);
	report_stats_free(&s);

	/* One day, 17 June: item 3 met late that day; overdue at its end:
	 * item 6 is not yet due (18th), so none. */
	assert_int_equal(report_stats(v, n, cal, D("2024-06-17"), D("2024-06-17"), NULL, &s), 0);
	assert_int_equal(s.late, 1);
	assert_int_equal(s.on_time, 0);
	assert_int_equal(s.overdue, 0);
	report_stats_free(&s);
}

static void test_format_names(void **state)
{
	enum report_format f;

	(void)state;
	assert_int_equal(report_parse_format("html", &f), 0);
	assert_int_equal(f, REPORT_HTML);
	assert_int_equal(report_parse_format("csv", &f), 0);
	assert_int_equal(f, REPORT_CSV);
	assert_int_equal(report_parse_format("text", &f), 0);
	assert_int_equal(f, REPORT_TEXT);
	assert_int_equal(report_parse_format("pdf", &f), -1);
}

/* A state database on a real file, filled as the daemon fills it. */
static void put(struct state *st, const char *case_ref, const char *team, const char *anchor,
		const char *due, const char *closed, const char *state, int late)
{
	struct state_obligation ob = {
		.case_ref = case_ref, .rule = "initial-assessment", .seq = 1, .team_ref = team,
		.team_name = team, .anchor = anchor, .due = due, .closed = closed, .state = state,
		.days_overdue = late, .level = closed ? -1 : 2,
	};
	struct state_prev prev;
	struct dl_error err;

	if (state_put_obligation(st, &ob, 1, &prev, &err) < 0)
		fail_msg("put: %s", err.msg);
}

/* A team's month so far as a digest shows it: report's figures, render's
 * words. */
static int digest_lines(const struct conf *conf, struct state *st, const char *team,
			dl_day today, char ***lines, size_t *n, struct dl_error *err)
{
	struct report r;
	int rc;

	*lines = NULL;
	*n = 0;
	if (report_month_to_date(&r, conf, st, team, today, err) < 0)
		return -1;
	rc = render_month_lines(&r, NULL, lines, n);
	report_free(&r);
	return rc;
}

static void test_digest_lines(void **unused)
{
	char dir[512], conf_path[600], db[600], ref[32], f[700];
	struct dl_errors errors = { 0 };
	struct conf *conf;
	struct state *st;
	struct dl_error err;
	char **lines;
	size_t n;
	FILE *cf;

	(void)unused;
	assert_int_equal(test_tmpdir(dir, sizeof dir, "test_report"), 0);
	snprintf(conf_path, sizeof conf_path, "%s/deadlined.conf", dir);
	snprintf(db, sizeof db, "%s/state.db", dir);
	cf = fopen(conf_path, "w");
	assert_non_null(cf);
	fprintf(cf, "rules = {\n"
		"  initial-assessment = { title = \"Initial assessments\"; start = [ \"referral\" ];\n"
		"    met = [ \"initial_assessment_completed\" ]; due = ( \"10 working days\" );\n"
		"    target = { value = 85; }; };\n"
		"  other = { title = \"Other\"; start = [ \"referral\" ]; met = [ \"observation\" ];\n"
		"    due = ( \"5 days\" ); };\n"
		"};\n");
	fclose(cf);
	if (conf_load(conf_path, &conf, &errors) < 0)
		fail_msg("conf: %s", errors.n ? errors.msg[0] : "?");
	assert_int_equal(state_open(&(struct state_conf){ .database = db }, &st, &err), 0);
	/* The example: 18 of 21 on time this month (November 2026),
	 * with what must not count: October, another team, a clock still open,
	 * one cancelled, and one whose case vanished while open. */
	for (int i = 0; i < 21; i++) {
		snprintf(ref, sizeof ref, "N%d", i);
		put(st, ref, "T1", "2026-11-02", "2026-11-16", i < 18 ? "2026-11-16" : "2026-11-18",
		    i < 18 ? "met" : "late", i < 18 ? 0 : 2);
	}
	put(st, "O1", "T1", "2026-10-01", "2026-10-15", "2026-10-30", "late", 11);
	put(st, "X1", "T2", "2026-11-02", "2026-11-16", "2026-11-20", "late", 4);
	put(st, "C1", "T1", "2026-11-02", "2026-11-16", "2026-11-05", "cancelled", 0);
	put(st, "P1", "T1", "2026-11-02", "2026-11-16", NULL, "overdue", 7);
	put(st, "G1", "T1", "2026-11-02", "2026-11-16", "gone", "gone", 0);

	assert_int_equal(digest_lines(conf, st, "T1", D("2026-11-23"), &lines, &n, &err), 0);
	assert_int_equal(n, 1);   /* "other" has nothing met: no line */
	assert_string_equal(lines[0], "Initial assessments: 18 of 21 on time (85.7%), target 85");

	/* As a digest shows it: text, and HTML with the line escaped. */
	{
		char *evil[] = { "A <b>rule</b> & more: 1 of 2 on time (50.0%)" };
		struct alert a = { .kind = ALERT_DIGEST, .audience = "T1", .msg_id = "m",
				   .month_lines = evil, .nmonth_lines = 1 };
		struct rendered out = { 0 };

		assert_int_equal(render_alert(&a, &out, &err), 0);
		assert_non_null(strstr(out.text, "This month so far (met on time):\n"
				       "  A <b>rule</b> & more: 1 of 2 on time (50.0%)\n"));
		assert_non_null(strstr(out.html, "A &lt;b&gt;rule&lt;/b&gt; &amp; more"));
		render_free(&out);
	}
	render_lines_free(lines, n);

	/* Team T2 has one late; a team with nothing has no lines. */
	assert_int_equal(digest_lines(conf, st, "T2", D("2026-11-23"), &lines, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(lines[0], "Initial assessments: 0 of 1 on time (0.0%), target 85");
	render_lines_free(lines, n);
	assert_int_equal(digest_lines(conf, st, "T9", D("2026-11-23"), &lines, &n, &err), 0);
	assert_int_equal(n, 0);
	render_lines_free(lines, n);

	state_close(st);
	conf_free(conf);
	for (const char *suffix = ""; suffix; suffix = strcmp(suffix, "") == 0 ? "-wal" :
	     strcmp(suffix, "-wal") == 0 ? "-shm" : NULL) {
		snprintf(f, sizeof f, "%s%s", db, suffix);
		unlink(f);
	}
	unlink(conf_path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_median),
		cmocka_unit_test(test_percent),
		cmocka_unit_test(test_rating),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_format_names),
		cmocka_unit_test(test_digest_lines),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
