/* fuzz_duration.c — duration_parse, and duration_add / duration_sub of what
 * it accepts from a handful of awkward starts (month ends, a leap day, both
 * clock changes, Christmas, a closure week, the calendar's two ends).
 *
 * Input: "DURATION", or "START|DURATION" to add from one more start of
 * the fuzzer's choosing.  What parses must format back to the same
 * duration; a sum is never before its start and stays in the calendar;
 * taking a day or week span back off gives the start again, and so do
 * working days from a working day and hours from a time that exists.
 */
#include "fuzz.h"

#include "deadlined/duration.h"

#include <stdlib.h>
#include <string.h>

static struct calendar *cal;

static const char *const starts[] = {
	"2024-01-31", "2024-02-29", "2023-02-28T23:30", "2023-03-26T00:30",
	"2023-03-26T01:30", "2023-10-29T01:30", "2023-10-28T12:00", "2023-12-22T17:00",
	"2026-12-24", "1900-01-01", "2199-12-31T23:59", "2199-06-30", "2013-04-12",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static dl_day closed[3];     /* a closure week, as in the example */
	struct calendar_options opt = { .closure_days = closed, .n_closure_days = 3 };
	struct dl_error err;

	(void)argc;
	(void)argv;
	fuzz_init();
	for (int i = 0; i < 3; i++)
		date_from_ymd(2026, 12, 29 + i, &closed[i]);
	if (calendar_new(&opt, &cal, &err) < 0)
		fuzz_fail(__FILE__, __LINE__, err.msg);
	return 0;
}

/* Is the local time of mo one that happens exactly once: not in the hour
 * the spring change skips nor in the autumn hour that happens twice?  Only
 * known for the EU rules (1997 on); earlier years had other dates. */
static int unambiguous(struct dl_moment mo)
{
	int y, m, d, h = mo.sec == DATE_NO_TIME ? 0 : mo.sec / 3600;

	date_to_ymd(mo.day, &y, &m, &d);
	if (y < 1997)
		return 0;
	return h != 1 || (m != 3 && m != 10) || d < 25 || date_weekday(mo.day) != 6;
}

static void check_back(struct dl_moment start, const struct duration *d, bool csd,
		       struct dl_moment out)
{
	struct dl_moment back;
	struct dl_error err;
	int sec = start.sec == DATE_NO_TIME ? 0 : start.sec;

	if (duration_sub(cal, out, d, &back, &err) < 0)
		return;
	FUZZ_CHECK(back.day <= out.day);
	if (csd && d->n > 0)
		return;
	switch (d->unit) {
	case DURATION_DAYS:
	case DURATION_WEEKS:
		FUZZ_CHECK(back.day == start.day);
		break;
	case DURATION_WORKING_DAYS:
		if (calendar_is_working_day(cal, start.day))
			FUZZ_CHECK(back.day == start.day);
		break;
	case DURATION_HOURS:
		if (unambiguous(start) && unambiguous(out))
			FUZZ_CHECK(back.day == start.day && back.sec == sec);
		break;
	default:
		break;
	}
}

static void add_from(struct dl_moment start, const struct duration *d, bool csd)
{
	struct dl_moment out;
	struct dl_error err;

	if (duration_add(cal, start, d, csd, &out, &err) < 0) {
		FUZZ_CHECK(err.msg[0] != '\0');
		return;
	}
	FUZZ_CHECK(calendar_covers(cal, out.day));
	FUZZ_CHECK(out.day >= start.day);
	FUZZ_CHECK((out.sec == DATE_NO_TIME) == (d->unit != DURATION_HOURS));
	if (d->unit == DURATION_HOURS)
		FUZZ_CHECK(out.sec >= 0 && out.sec < 86400);
	if (d->n == 0 && d->unit != DURATION_HOURS)
		FUZZ_CHECK(out.day == start.day);
	check_back(start, d, csd, out);
}

static void add_from_text(const char *text, const struct duration *d)
{
	struct dl_moment start;
	struct dl_error err;

	if (date_parse_moment(text, &start, &err) < 0)
		return;
	add_from(start, d, false);
	add_from(start, d, true);
}

static void check_duration(const char *text, const char *start)
{
	struct duration d, again;
	struct dl_error err;
	char buf[DURATION_BUF];

	if (duration_parse(text, &d, &err) < 0) {
		FUZZ_CHECK(err.msg[0] != '\0');
		return;
	}
	FUZZ_CHECK(d.n >= 0);
	FUZZ_CHECK(strcmp(duration_unit_name(d.unit), "?") != 0);
	FUZZ_CHECK(duration_parse(duration_format(&d, buf, sizeof buf), &again, &err) == 0);
	FUZZ_CHECK(again.unit == d.unit && again.n == d.n);
	for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++)
		add_from_text(starts[i], &d);
	if (start)
		add_from_text(start, &d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strdup(data, size);
	char *bar = strchr(text, '|');

	if (bar) {
		*bar = '\0';
		check_duration(bar + 1, text);
	} else {
		check_duration(text, NULL);
	}
	free(text);
	return 0;
}
