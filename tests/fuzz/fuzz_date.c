/* fuzz_date.c — dates and times as the case database and the command line
 * give them: date_parse, date_parse_moment, evaluate_parse_as_of, and the
 * arithmetic done on what they return.
 *
 * The input is the text.  What parses must format back to text that parses
 * to the same value (for a plain date, to the very same text); month sums
 * clamp to the month's end; the next local HH:MM is after the start and
 * within a day and an hour of it.
 */
#include "fuzz.h"

#include "deadlined/date.h"
#include "deadlined/evaluate.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	return 0;
}

static void check_day(dl_day day)
{
	int y, m, d;
	dl_day back;

	date_to_ymd(day, &y, &m, &d);
	FUZZ_CHECK(date_from_ymd(y, m, d, &back) && back == day);
	FUZZ_CHECK(date_year(day) == y);
	FUZZ_CHECK(date_weekday(day) >= 0 && date_weekday(day) <= 6);
	FUZZ_CHECK(date_weekday(day + 1) == (date_weekday(day) + 1) % 7);
}

/* Same day-of-month n months on, clamped to a shorter month's end. */
static void check_add_months(dl_day day, int months)
{
	int y, m, d, y2, m2, d2;
	dl_day r;

	date_to_ymd(day, &y, &m, &d);
	r = date_add_months(day, months);
	if (r == DATE_NONE)
		return;
	date_to_ymd(r, &y2, &m2, &d2);
	FUZZ_CHECK(y2 * 12 + m2 == y * 12 + m + months);
	FUZZ_CHECK(d2 == d || (d2 < d && d2 == date_days_in_month(y2, m2)));
}

static void check_plain_date(const char *text, const uint8_t *data, size_t size)
{
	struct dl_error err;
	char buf[DATE_BUF];
	dl_day day;

	if (date_parse(text, &day, &err) < 0) {
		FUZZ_CHECK(err.msg[0] != '\0');
		return;
	}
	/* Strict: only the canonical spelling parses. */
	FUZZ_CHECK(strcmp(date_format(day, buf), text) == 0);
	check_day(day);
	check_add_months(day, 1);
	check_add_months(day, -1);
	check_add_months(day, 12);
	check_add_months(day, (int8_t)(size ? data[size - 1] : 0) * 10);
}

/* The next local HH:MM after a moment, given as a unix time. */
static void check_next_local(struct dl_moment mo, int minute)
{
	int64_t t = (int64_t)(mo.day) * 86400 + (mo.sec == DATE_NO_TIME ? 0 : mo.sec);
	int64_t next = date_next_local(t, minute);
	time_t tt = (time_t)next;
	struct tm tm;

	FUZZ_CHECK(next > t);
	FUZZ_CHECK(next - t <= 25 * 3600);
	localtime_r(&tt, &tm);
	FUZZ_CHECK(date_local_day(next) >= date_local_day(t));
	/* The spring clock change skips 01:00-01:59 (EU rules, 1996 on). */
	if (date_year(mo.day) >= 1997 && (minute < 60 || minute >= 120))
		FUZZ_CHECK(tm.tm_hour * 60 + tm.tm_min == minute);
}

static void check_moment(const char *text, const uint8_t *data, size_t size)
{
	struct dl_moment mo, again, as_of;
	struct dl_error err;
	char buf[DATE_MOMENT_BUF];
	dl_day day;

	if (date_parse_moment(text, &mo, &err) < 0) {
		FUZZ_CHECK(err.msg[0] != '\0');
		FUZZ_CHECK(evaluate_parse_as_of(text, &as_of, &err) < 0);
		return;
	}
	FUZZ_CHECK(mo.sec == DATE_NO_TIME || (mo.sec >= 0 && mo.sec < 86400));
	FUZZ_CHECK((mo.sec == DATE_NO_TIME) == (strlen(text) == 10));
	FUZZ_CHECK((date_parse(text, &day, &err) == 0) == (mo.sec == DATE_NO_TIME));
	FUZZ_CHECK(date_parse_moment(date_format_moment(mo, buf), &again, &err) == 0);
	FUZZ_CHECK(date_moment_cmp(mo, again) == 0);
	FUZZ_CHECK(evaluate_parse_as_of(text, &as_of, &err) == 0);
	FUZZ_CHECK(as_of.day == mo.day);
	FUZZ_CHECK(as_of.sec == (mo.sec == DATE_NO_TIME ? 86399 : mo.sec));
	check_day(mo.day);
	if (date_year(mo.day) >= 1902 && date_year(mo.day) <= 2199)
		check_next_local(mo, (int)((size ? data[0] * 7u + size : 0) % 1440));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strdup(data, size);

	check_plain_date(text, data, size);
	check_moment(text, data, size);
	free(text);
	return 0;
}
