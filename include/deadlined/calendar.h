/* calendar.h — working days, bank holidays and local closure days.
 *
 * A working day is Monday to Friday and neither a bank holiday of the
 * configured division nor an extra holiday nor a local closure day.  The
 * calendar precomputes, for every day it covers, how many working days
 * precede it, so "the Nth working day after D" is two array look-ups.
 */
#ifndef DEADLINED_CALENDAR_H
#define DEADLINED_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>

#include "deadlined/date.h"
#include "deadlined/error.h"

/* The days the calendar covers; arithmetic outside them is an error. */
#define CALENDAR_FIRST_YEAR 1900
#define CALENDAR_LAST_YEAR 2199

struct calendar;

struct calendar_day_name {
	dl_day day;
	const char *name;
};

struct calendar_options {
	const char *division;                   /* NULL: "england-and-wales" */
	const struct calendar_day_name *extra_holidays;
	size_t n_extra_holidays;
	const dl_day *closure_days;             /* local closure days */
	size_t n_closure_days;
	const int *confirmed_years;             /* derived years an admin checked */
	size_t n_confirmed_years;
};

/* The divisions this build knows, NULL-terminated. */
extern const char *const calendar_divisions[];

int calendar_new(const struct calendar_options *opt, struct calendar **out,
		 struct dl_error *err);
void calendar_free(struct calendar *cal);

bool calendar_covers(const struct calendar *cal, dl_day day);
bool calendar_is_working_day(const struct calendar *cal, dl_day day);

/* The name of the holiday or closure on this day, or NULL. */
const char *calendar_day_name(const struct calendar *cal, dl_day day);

/* How the start day counts (a rule's count_start_day). */
enum calendar_day1 {
	CALENDAR_DAY0 = 0,             /* the start is day 0 */
	CALENDAR_DAY1_IF_WORKING = 1,  /* the start is day 1 if it is a working day */
	CALENDAR_DAY1_ALWAYS = 2,      /* the start is day 1 even when it is not
					  (the Children in Need census validator's
					  convention: "cin-census") */
};

/* The Nth working day after start (n >= 0; n = 0 gives start itself),
 * the start counted as count_start_day (enum calendar_day1) says. */
int calendar_add_workdays(const struct calendar *cal, dl_day start, int n,
			  int count_start_day, dl_day *out, struct dl_error *err);

/* The Nth working day before day (n >= 0; n = 0 gives day itself). */
int calendar_sub_workdays(const struct calendar *cal, dl_day day, int n,
			  dl_day *out, struct dl_error *err);

/* Working days after from, up to and including to; negative when to is
 * before from (then it counts those after to up to and including from). */
int calendar_workdays_between(const struct calendar *cal, dl_day from,
			      dl_day to, int *out, struct dl_error *err);

/* The holidays and closure days of one year in date order; returns how
 * many there are, filling at most max entries. */
size_t calendar_holidays(const struct calendar *cal, int year,
			 struct calendar_day_name *out, size_t max);

/* True when the year's bank holidays come from the 1971 Act pattern rather
 * than published data, and no administrator has confirmed them. */
bool calendar_year_is_derived(const struct calendar *cal, int year);

/* True when any year from first to last (inclusive) is derived. */
bool calendar_span_is_derived(const struct calendar *cal, dl_day first,
			      dl_day last);

#endif
