/* duration.c — parsing statutory durations and adding them to dates. */
#include "deadlined/duration.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Each unit's spellings and the largest N accepted: ten years' worth, far
 * beyond any statutory timescale, so a typo such as "300 months" is caught. */
static const struct {
	enum duration_unit unit;
	const char *singular, *plural;
	int max;
} units[] = {
	{ DURATION_WORKING_DAYS, "working day", "working days", 2600 },
	{ DURATION_DAYS, "day", "days", 3660 },
	{ DURATION_WEEKS, "week", "weeks", 522 },
	{ DURATION_MONTHS, "month", "months", 120 },
	{ DURATION_YEARS, "year", "years", 10 },
	{ DURATION_HOURS, "hour", "hours", 87840 },
};

#define NUNITS (sizeof units / sizeof units[0])
#define UNIT_LIST "working days, days, weeks, months, years or hours"

const char *duration_unit_name(enum duration_unit unit)
{
	for (size_t i = 0; i < NUNITS; i++)
		if (units[i].unit == unit)
			return units[i].plural;
	return "?";
}

/* The unit named by text (already trimmed, single-spaced), or -1. */
static int find_unit(const char *text)
{
	for (size_t i = 0; i < NUNITS; i++)
		if (strcasecmp(text, units[i].singular) == 0 ||
		    strcasecmp(text, units[i].plural) == 0)
			return (int)i;
	return -1;
}

/* Copy the words after the number with runs of blanks folded to one. */
static void fold_blanks(const char *in, char *out, size_t size)
{
	size_t n = 0;
	bool blank = false;

	for (; *in && n + 1 < size; in++) {
		if (isspace((unsigned char)*in)) {
			blank = true;
			continue;
		}
		if (blank && n > 0)
			out[n++] = ' ';
		blank = false;
		if (n + 1 < size)
			out[n++] = *in;
	}
	out[n] = '\0';
}

int duration_parse(const char *text, struct duration *out, struct dl_error *err)
{
	char word[64];
	const char *p = text;
	char *end;
	long n;
	int u;

	if (!text) {
		error_set(err, "missing duration; expected e.g. \"10 working days\"");
		return -1;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (!isdigit((unsigned char)*p)) {
		error_set(err, "'%s' is not a duration; expected a whole number and a unit "
			  "(" UNIT_LIST "), e.g. \"10 working days\"", text);
		return -1;
	}
	errno = 0;
	n = strtol(p, &end, 10);
	fold_blanks(end, word, sizeof word);
	u = find_unit(word);
	if (u < 0) {
		error_set(err, "'%s' has an unknown unit '%s'; expected " UNIT_LIST,
			  text, word);
		return -1;
	}
	if (errno == ERANGE || n > units[u].max) {
		error_set(err, "'%s' is too long; at most %d %s", text, units[u].max,
			  units[u].plural);
		return -1;
	}
	out->unit = units[u].unit;
	out->n = (int)n;
	return 0;
}

char *duration_format(const struct duration *d, char *buf, size_t size)
{
	for (size_t i = 0; i < NUNITS; i++)
		if (units[i].unit == d->unit) {
			snprintf(buf, size, "%d %s", d->n,
				 d->n == 1 ? units[i].singular : units[i].plural);
			return buf;
		}
	snprintf(buf, size, "?");
	return buf;
}

/* Elapsed hours in the local time zone: mktime and localtime_r honour
 * TZ, so 72 hours across a clock change is 72 real hours. */
static int add_hours(struct dl_moment start, int hours, struct dl_moment *out,
		     struct dl_error *err)
{
	int y, m, d;
	struct tm tm = { 0 };
	time_t t;
	int sec = start.sec == DATE_NO_TIME ? 0 : start.sec;

	date_to_ymd(start.day, &y, &m, &d);
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = sec / 3600;
	tm.tm_min = sec / 60 % 60;
	tm.tm_sec = sec % 60;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (t == (time_t)-1) {
		error_set(err, "cannot convert the start time to the local time zone");
		return -1;
	}
	t += (time_t)hours * 3600;
	localtime_r(&t, &tm);
	if (!date_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, &out->day)) {
		error_set(err, "date out of range");
		return -1;
	}
	out->sec = tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	return 0;
}

/* n months on, less `back` days; DATE_NONE (for check_range) past year 9999. */
static dl_day months_on(dl_day day, int n, int back)
{
	dl_day d = date_add_months(day, n);

	return d == DATE_NONE ? DATE_NONE : d - back;
}

static int check_range(const struct calendar *cal, dl_day day, struct dl_error *err)
{
	if (day == DATE_NONE || !calendar_covers(cal, day)) {
		error_set(err, "date outside the calendar's range %d-01-01 to %d-12-31",
			  CALENDAR_FIRST_YEAR, CALENDAR_LAST_YEAR);
		return -1;
	}
	return 0;
}

int duration_add(const struct calendar *cal, struct dl_moment start,
		 const struct duration *d, int count_start_day,
		 struct dl_moment *out, struct dl_error *err)
{
	/* Counting the start as day 1 ends a calendar span one day earlier. */
	int inclusive = count_start_day && d->n > 0 ? 1 : 0;

	if (check_range(cal, start.day, err))
		return -1;
	out->sec = DATE_NO_TIME;
	switch (d->unit) {
	case DURATION_WORKING_DAYS:
		return calendar_add_workdays(cal, start.day, d->n, count_start_day,
					     &out->day, err);
	case DURATION_DAYS:
		out->day = start.day + d->n - inclusive;
		break;
	case DURATION_WEEKS:
		out->day = start.day + 7 * d->n - inclusive;
		break;
	case DURATION_MONTHS:
		out->day = months_on(start.day, d->n, inclusive);
		break;
	case DURATION_YEARS:
		out->day = months_on(start.day, 12 * d->n, inclusive);
		break;
	case DURATION_HOURS:
		if (add_hours(start, d->n, out, err) < 0)
			return -1;
		break;
	}
	return check_range(cal, out->day, err);
}

int duration_sub(const struct calendar *cal, struct dl_moment day,
		 const struct duration *d, struct dl_moment *out,
		 struct dl_error *err)
{
	if (check_range(cal, day.day, err))
		return -1;
	out->sec = day.sec;
	switch (d->unit) {
	case DURATION_WORKING_DAYS:
		return calendar_sub_workdays(cal, day.day, d->n, &out->day, err);
	case DURATION_DAYS:
		out->day = day.day - d->n;
		break;
	case DURATION_WEEKS:
		out->day = day.day - 7 * d->n;
		break;
	case DURATION_MONTHS:
		out->day = months_on(day.day, -d->n, 0);
		break;
	case DURATION_YEARS:
		out->day = months_on(day.day, -12 * d->n, 0);
		break;
	case DURATION_HOURS:
		if (add_hours(day, -d->n, out, err) < 0)
			return -1;
		break;
	}
	return check_range(cal, out->day, err);
}
