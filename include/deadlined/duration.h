/* duration.h — statutory time spans: "10 working days", "3 months",
 * "72 hours", and adding them to (or taking them from) a date. */
#ifndef DEADLINED_DURATION_H
#define DEADLINED_DURATION_H

#include <stdbool.h>
#include <stddef.h>

#include "deadlined/calendar.h"
#include "deadlined/date.h"
#include "deadlined/error.h"

enum duration_unit {
	DURATION_WORKING_DAYS,
	DURATION_DAYS,
	DURATION_WEEKS,
	DURATION_MONTHS,
	DURATION_YEARS,
	DURATION_HOURS,
};

struct duration {
	enum duration_unit unit;
	int n;
};

#define DURATION_BUF 32

/* "N unit" with unit one of: working day(s), day(s), week(s), month(s),
 * year(s), hour(s); case-insensitive; N a whole number within the unit's
 * bound (ten years' worth). */
int duration_parse(const char *text, struct duration *out, struct dl_error *err);

/* "10 working days", "1 month": the canonical spelling. */
char *duration_format(const struct duration *d, char *buf, size_t size);

/* The unit's canonical plural name, e.g. "working days". */
const char *duration_unit_name(enum duration_unit unit);

/* start + d.  The start day is day 0 unless count_start_day (enum
 * calendar_day1), which makes it day 1 ("within 26 weeks beginning with the
 * day of issue").  Hours count
 * real elapsed time from start's time of day in the local time zone (from
 * midnight when start has no time); every other unit gives a date without a
 * time. */
int duration_add(const struct calendar *cal, struct dl_moment start,
		 const struct duration *d, int count_start_day,
		 struct dl_moment *out, struct dl_error *err);

/* day - d, for warning windows: the day d before day. */
int duration_sub(const struct calendar *cal, struct dl_moment day,
		 const struct duration *d, struct dl_moment *out,
		 struct dl_error *err);

#endif
