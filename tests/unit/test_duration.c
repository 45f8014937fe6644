/* test_duration.c — parsing durations and adding them to dates. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deadlined/duration.h"

static struct calendar *cal;

static int setup(void **state)
{
	struct dl_error err;

	(void)state;
	/* Hours count real time in the configured zone; the tests fix it. */
	setenv("TZ", "Europe/London", 1);
	tzset();
	return calendar_new(NULL, &cal, &err);
}

static int teardown(void **state)
{
	(void)state;
	calendar_free(cal);
	return 0;
}


static void assert_due(const char *start, const char *dur, bool day1, const char *want)
{
	struct duration d;
	struct dl_moment out;
	struct dl_error err;
	char buf[DATE_MOMENT_BUF];

	if (duration_parse(dur, &d, &err) < 0)
		fail_msg("%s: %s", dur, err.msg);
	assert_int_equal(duration_add(cal, M(start), &d, day1, &out, &err), 0);
	date_format_moment(out, buf);
	if (strcmp(buf, want) != 0)
		fail_msg("%s + %s%s: got %s, want %s", start, dur, day1 ? " (day 1)" : "", buf, want);
}

static void test_parse_good(void **state)
{
	static const struct { const char *text; enum duration_unit unit; int n; } ok[] = {
		{ "10 working days", DURATION_WORKING_DAYS, 10 },
		{ "1 working day", DURATION_WORKING_DAYS, 1 },
		{ "  28   Days ", DURATION_DAYS, 28 },
		{ "26 weeks", DURATION_WEEKS, 26 },
		{ "3 months", DURATION_MONTHS, 3 },
		{ "1 year", DURATION_YEARS, 1 },
		{ "72 hours", DURATION_HOURS, 72 },
		{ "0 days", DURATION_DAYS, 0 },
	};
	struct duration d;
	struct dl_error err;
	char buf[DURATION_BUF];

	(void)state;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		assert_int_equal(duration_parse(ok[i].text, &d, &err), 0);
		assert_int_equal(d.unit, ok[i].unit);
		assert_int_equal(d.n, ok[i].n);
	}
	duration_parse("1 working days", &d, &err);
	assert_string_equal(duration_format(&d, buf, sizeof buf), "1 working day");
}

static void test_parse_bad(void **state)
{
	static const struct { const char *text, *says; } bad[] = {
		{ "", "not a duration" },
		{ "ten days", "not a duration" },
		{ "-3 days", "not a duration" },
		{ "3 fortnights", "unknown unit 'fortnights'" },
		{ "3", "unknown unit ''" },
		{ "3.5 days", "unknown unit '.5 days'" },
		{ "121 months", "at most 120 months" },
		{ "99999999999999999999 days", "too long" },
		{ "10 working", "unknown unit 'working'" },
	};
	struct duration d;
	struct dl_error err;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(duration_parse(bad[i].text, &d, &err), -1);
		if (!strstr(err.msg, bad[i].says))
			fail_msg("'%s': message '%s' lacks '%s'", bad[i].text, err.msg, bad[i].says);
	}
}

static void test_month_clamping_and_leap_years(void **state)
{
	(void)state;
	assert_due("2024-01-31", "1 month", false, "2024-02-29");
	assert_due("2023-01-31", "1 month", false, "2023-02-28");
	assert_due("2023-08-31", "6 months", false, "2024-02-29");
	assert_due("2024-02-29", "1 year", false, "2025-02-28");
	assert_due("2024-02-29", "4 years", false, "2028-02-29");
	assert_due("2024-10-31", "3 months", false, "2025-01-31");
	assert_due("2024-11-30", "3 months", false, "2025-02-28");
	assert_due("2024-02-28", "28 days", false, "2024-03-27");
	assert_due("2023-02-28", "28 days", false, "2023-03-28");
}

static void test_units(void **state)
{
	(void)state;
	assert_due("2024-12-20", "10 working days", false, "2025-01-08");
	assert_due("2024-06-03", "1 week", false, "2024-06-10");
	assert_due("2024-06-03", "20 weeks", false, "2024-10-21");
	assert_due("2024-06-03T10:30", "72 hours", false, "2024-06-06T10:30");
	assert_due("2024-06-03", "72 hours", false, "2024-06-06T00:00");
	/* Hours are elapsed time: across the spring clock change 24 hours
	 * later is an hour later on the wall clock, across autumn's an hour
	 * earlier. */
	assert_due("2024-03-30T12:00", "24 hours", false, "2024-03-31T13:00");
	assert_due("2024-10-26T12:00", "24 hours", false, "2024-10-27T11:00");
}

/* Care proceedings: "within twenty-six weeks beginning with the day on
 * which the application was issued" — the issue day is day 1. */
static void test_count_start_day(void **state)
{
	(void)state;
	assert_due("2024-01-01", "26 weeks", true, "2024-06-30");
	assert_due("2024-01-01", "26 weeks", false, "2024-07-01");
	assert_due("2024-01-31", "1 month", true, "2024-02-28");
	assert_due("2024-06-03", "10 working days", true, "2024-06-14");
	assert_due("2024-06-03", "0 days", true, "2024-06-03");
}

static void test_sub(void **state)
{
	struct duration d;
	struct dl_moment out;
	struct dl_error err;

	(void)state;
	duration_parse("2 working days", &d, &err);
	assert_int_equal(duration_sub(cal, M("2025-01-02"), &d, &out, &err), 0);
	assert_int_equal(out.day, M("2024-12-30").day);
	duration_parse("1 month", &d, &err);
	assert_int_equal(duration_sub(cal, M("2024-03-31"), &d, &out, &err), 0);
	assert_int_equal(out.day, M("2024-02-29").day);
}

static void test_date_parsing(void **state)
{
	static const char *const bad[] = { "2023-02-30", "31.9.12", "2024-1-01", "2024-13-01",
		"2024-00-10", "20240101", "2024-01-01T25:00", "2024-01-01T10:60", "2024-01-01X10:00",
		"2024-01-01T1:00", "" };
	struct dl_moment m;
	struct dl_error err;
	dl_day d;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (date_parse_moment(bad[i], &m, &err) == 0)
			fail_msg("'%s' was accepted", bad[i]);
	assert_int_equal(date_parse("2024-02-29", &d, &err), 0);
	assert_int_equal(date_parse("2023-02-29", &d, &err), -1);
	assert_non_null(strstr(err.msg, "not a real date"));
	assert_int_equal(date_parse("1900-02-29", &d, &err), -1);
	assert_int_equal(date_parse("2000-02-29", &d, &err), 0);
	assert_int_equal(date_parse_moment("2024-06-03 09:15:30", &m, &err), 0);
	assert_int_equal(m.sec, 9 * 3600 + 15 * 60 + 30);
	assert_int_equal(date_weekday(M("2024-06-03").day), 0);
	assert_int_equal(date_weekday(M("1969-12-28").day), 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_month_clamping_and_leap_years),
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_count_start_day),
		cmocka_unit_test(test_sub),
		cmocka_unit_test(test_date_parsing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
