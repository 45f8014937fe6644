/* test_calendar.c — working days, bank holidays and closure days. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "deadlined/calendar.h"
#include "deadlined/duration.h"

static struct calendar *cal;


static int setup(void **state)
{
	struct dl_error err;

	(void)state;
	return calendar_new(NULL, &cal, &err);
}

static int teardown(void **state)
{
	(void)state;
	calendar_free(cal);
	return 0;
}

static void assert_add(const char *start, int n, bool day1, const char *want)
{
	dl_day out;
	char buf[DATE_BUF];
	struct dl_error err;

	assert_int_equal(calendar_add_workdays(cal, D(start), n, day1, &out, &err), 0);
	if (out != D(want))
		fail_msg("%s + %d working days%s: got %s, want %s", start, n,
			 day1 ? " (start is day 1)" : "", date_format(out, buf), want);
}

/* Known answers across Christmas, New Year and Easter. */
static void test_known_dates(void **state)
{
	(void)state;
	assert_add("2024-12-20", 10, false, "2025-01-08");   /* the README's example */
	assert_add("2021-12-24", 1, false, "2021-12-29");    /* both Christmas substitutes */
	assert_add("2022-12-30", 1, false, "2023-01-03");    /* New Year substitute */
	assert_add("2025-04-17", 1, false, "2025-04-22");    /* Good Friday, Easter Monday */
	assert_add("2026-12-24", 1, false, "2026-12-29");    /* Boxing Day substitute */
	assert_add("2024-06-01", 1, false, "2024-06-03");    /* start on a Saturday */
	assert_add("2025-12-25", 1, false, "2025-12-29");    /* start on a holiday */
	assert_add("2024-06-03", 0, false, "2024-06-03");
	assert_add("2024-06-01", 0, false, "2024-06-01");
}

/* Every one-off the 1971 pattern would miss. */
static void test_one_offs(void **state)
{
	(void)state;
	assert_add("2020-05-07", 1, false, "2020-05-11");    /* VE Day 2020-05-08 */
	assert_true(calendar_is_working_day(cal, D("2020-05-04")));  /* moved away */
	assert_add("2022-06-01", 1, false, "2022-06-06");    /* Platinum Jubilee */
	assert_true(calendar_is_working_day(cal, D("2022-05-30")));
	assert_add("2022-09-16", 1, false, "2022-09-20");    /* State Funeral */
	assert_add("2023-05-05", 1, false, "2023-05-09");    /* Coronation */
	assert_string_equal(calendar_day_name(cal, D("2023-05-08")),
			    "Bank holiday for the coronation of King Charles III");
	/* Known one-offs before the published table. */
	assert_false(calendar_is_working_day(cal, D("2012-06-05")));
	assert_false(calendar_is_working_day(cal, D("2012-06-04")));
	assert_true(calendar_is_working_day(cal, D("2012-05-28")));
	assert_false(calendar_is_working_day(cal, D("2011-04-29")));
}

/* Years outside the published data follow the 1971 Act pattern. */
static void test_derived_years(void **state)
{
	static const char *const y2016[] = { "2016-01-01", "2016-03-25", "2016-03-28",
		"2016-05-02", "2016-05-30", "2016-08-29", "2016-12-26", "2016-12-27" };
	static const char *const y2032[] = { "2032-01-01", "2032-03-26", "2032-03-29",
		"2032-05-03", "2032-05-31", "2032-08-30", "2032-12-27", "2032-12-28" };
	struct calendar_day_name days[16];

	(void)state;
	assert_int_equal(calendar_holidays(cal, 2016, days, 16), 8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(days[i].day, D(y2016[i]));
	assert_int_equal(calendar_holidays(cal, 2032, days, 16), 8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(days[i].day, D(y2032[i]));
	/* 2033: Christmas on a Sunday: Boxing Day Monday, Christmas Tuesday. */
	assert_false(calendar_is_working_day(cal, D("2033-12-26")));
	assert_false(calendar_is_working_day(cal, D("2033-12-27")));
	assert_true(calendar_year_is_derived(cal, 2028));
	assert_true(calendar_year_is_derived(cal, 2016));
	assert_false(calendar_year_is_derived(cal, 2025));
	assert_true(calendar_span_is_derived(cal, D("2027-12-01"), D("2028-01-10")));
	assert_false(calendar_span_is_derived(cal, D("2024-12-01"), D("2025-01-10")));
}

/* A span's years, at each year's first and last day and beyond the
 * calendar's range: against the year of each day by date_year. */
static void test_span_years(void **state)
{
	(void)state;
	assert_false(calendar_span_is_derived(cal, D("2027-12-31"), D("2027-12-31")));
	assert_true(calendar_span_is_derived(cal, D("2027-12-31"), D("2028-01-01")));
	assert_true(calendar_span_is_derived(cal, D("2016-12-31"), D("2017-01-01")));
	assert_false(calendar_span_is_derived(cal, D("2017-01-01"), D("2027-12-31")));
	assert_false(calendar_span_is_derived(cal, D("2028-01-01"), D("2027-12-31")));
	assert_true(calendar_span_is_derived(cal, D("1899-12-31"), D("1899-12-31")));
	assert_true(calendar_span_is_derived(cal, D("2200-01-01"), D("2200-01-01")));
	for (dl_day d = D("1899-12-25"); d <= D("2200-01-05"); d++) {
		bool want = calendar_year_is_derived(cal, date_year(d));

		if (calendar_span_is_derived(cal, d, d) != want)
			fail_msg("day %d: span derived %d, year %d derived %d", d, !want,
				 date_year(d), want);
	}
}

/* The published table has eight holidays a year except for the one-offs. */
static void test_published_counts(void **state)
{
	struct calendar_day_name days[16];

	(void)state;
	for (int y = 2017; y <= 2027; y++) {
		size_t want = y == 2022 ? 10 : y == 2023 ? 9 : 8;

		if (calendar_holidays(cal, y, days, 16) != want)
			fail_msg("%d: %zu holidays, want %zu", y,
				 calendar_holidays(cal, y, days, 16), want);
	}
}

static void test_count_start_day(void **state)
{
	(void)state;
	assert_add("2024-06-03", 10, false, "2024-06-17");
	assert_add("2024-06-03", 10, true, "2024-06-14");
	/* A start on a non-working day: day 1 is the next working day. */
	assert_add("2024-06-01", 1, true, "2024-06-03");
}

/* The Children in Need census validator's convention: the start day is
 * day 1 even when it is not a working day.  Checked against a plain walk
 * (day 1 is the start; each later working day counts one more) for every
 * start from December 2026 to January 2027 (weekends, Christmas, New
 * Year) and every length to 25 working days. */
static void test_cin_census_day_one(void **state)
{
	char a[DATE_BUF], b[DATE_BUF];
	struct dl_error err;

	(void)state;
	for (dl_day start = D("2026-12-01"); start <= D("2027-01-31"); start++) {
		for (int n = 0; n <= 25; n++) {
			dl_day want = start, got, day1;
			int counted = 1;

			while (n > 0 && counted < n)
				counted += calendar_is_working_day(cal, ++want);
			assert_int_equal(calendar_add_workdays(cal, start, n, CALENDAR_DAY1_ALWAYS,
							       &got, &err), 0);
			if (got != want)
				fail_msg("%s + %d working days, start always day 1: got %s, want %s",
					 date_format(start, a), n, date_format(got, b),
					 date_format(want, b));
			/* On a working day the two day-1 conventions agree. */
			assert_int_equal(calendar_add_workdays(cal, start, n, CALENDAR_DAY1_IF_WORKING,
							       &day1, &err), 0);
			if (calendar_is_working_day(cal, start))
				assert_int_equal(day1, got);
		}
	}
	/* Sat 21 Nov 2026 is day 1, Thu 10 Dec day 15; as day 0, Fri 11 Dec. */
	assert_add("2026-11-21", 15, false, "2026-12-11");
	assert_add("2026-11-21", 15, true, "2026-12-11");
	assert_int_equal(calendar_add_workdays(cal, D("2026-11-21"), 15, CALENDAR_DAY1_ALWAYS,
					       &(dl_day){ 0 }, &err), 0);
}

static void test_sub_and_between(void **state)
{
	dl_day out;
	int n;
	struct dl_error err;

	(void)state;
	assert_int_equal(calendar_sub_workdays(cal, D("2025-01-08"), 10, &out, &err), 0);
	assert_int_equal(out, D("2024-12-20"));
	assert_int_equal(calendar_sub_workdays(cal, D("2024-06-02"), 1, &out, &err), 0);
	assert_int_equal(out, D("2024-05-31"));
	assert_int_equal(calendar_workdays_between(cal, D("2024-12-20"), D("2025-01-08"), &n, &err), 0);
	assert_int_equal(n, 10);
	assert_int_equal(calendar_workdays_between(cal, D("2025-01-08"), D("2024-12-20"), &n, &err), 0);
	assert_int_equal(n, -10);
	assert_int_equal(calendar_workdays_between(cal, D("2024-06-01"), D("2024-06-02"), &n, &err), 0);
	assert_int_equal(n, 0);
}

static void test_out_of_range(void **state)
{
	dl_day out;
	struct dl_error err;

	(void)state;
	assert_int_equal(calendar_add_workdays(cal, D("1899-12-31"), 1, false, &out, &err), -1);
	assert_non_null(strstr(err.msg, "outside the calendar"));
	assert_int_equal(calendar_add_workdays(cal, D("2199-12-30"), 10, false, &out, &err), -1);
}

static void test_local_days(void **state)
{
	struct calendar_day_name extra = { 0, "Council foundation day" };
	dl_day closures[3];
	int years[] = { 2028 };
	struct calendar_options opt = {
		.extra_holidays = &extra, .n_extra_holidays = 1,
		.closure_days = closures, .n_closure_days = 3,
		.confirmed_years = years, .n_confirmed_years = 1,
	};
	struct calendar *local;
	struct dl_error err;
	dl_day out;

	(void)state;
	extra.day = D("2025-03-03");
	closures[0] = D("2025-12-29");
	closures[1] = D("2025-12-30");
	closures[2] = D("2025-12-31");
	assert_int_equal(calendar_new(&opt, &local, &err), 0);
	assert_false(calendar_is_working_day(local, D("2025-03-03")));
	assert_string_equal(calendar_day_name(local, D("2025-03-03")), "Council foundation day");
	assert_string_equal(calendar_day_name(local, D("2025-12-30")), "Local closure day");
	assert_int_equal(calendar_add_workdays(local, D("2025-12-24"), 1, false, &out, &err), 0);
	assert_int_equal(out, D("2026-01-02"));
	assert_false(calendar_year_is_derived(local, 2028));
	calendar_free(local);

	opt.division = "scotland";
	assert_int_equal(calendar_new(&opt, &local, &err), -1);
	assert_non_null(strstr(err.msg, "expected england-and-wales"));
}

/* The slow reference: walk day by day. */
static dl_day slow_add(dl_day start, int n, bool day1)
{
	dl_day d = start;

	if (n == 0)
		return start;
	if (day1 && calendar_is_working_day(cal, d))
		n--;
	while (n > 0) {
		d++;
		if (calendar_is_working_day(cal, d))
			n--;
	}
	return d;
}

/* The fast ordinal agrees with the walk for every start 2017-2030, N 0-100. */
static void test_property_against_walk(void **state)
{
	dl_day first = D("2017-01-01"), last = D("2030-12-31"), fast;
	struct dl_error err;
	long checked = 0;

	(void)state;
	for (dl_day s = first; s <= last; s++)
		for (int n = 0; n <= 100; n++)
			for (int day1 = 0; day1 <= 1; day1++) {
				assert_int_equal(calendar_add_workdays(cal, s, n, day1, &fast, &err), 0);
				if (fast != slow_add(s, n, day1)) {
					char a[DATE_BUF];

					fail_msg("%s + %d (day1=%d) differs", date_format(s, a), n, day1);
				}
				checked++;
			}
	assert_true(checked > 1000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_dates),
		cmocka_unit_test(test_one_offs),
		cmocka_unit_test(test_derived_years),
		cmocka_unit_test(test_span_years),
		cmocka_unit_test(test_published_counts),
		cmocka_unit_test(test_count_start_day),
		cmocka_unit_test(test_cin_census_day_one),
		cmocka_unit_test(test_sub_and_between),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_local_days),
		cmocka_unit_test(test_property_against_walk),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
