/* date.h — civil dates and local times as plain integers.
 *
 * A day is the number of days since 1970-01-01 in the proleptic Gregorian
 * calendar, so date arithmetic is integer arithmetic and comparisons are
 * plain <, >.  A moment is a day plus seconds since local midnight (or -1
 * when the source gave a date without a time).
 */
#ifndef DEADLINED_DATE_H
#define DEADLINED_DATE_H

#include <stdbool.h>
#include <stdint.h>

#include "deadlined/error.h"

typedef int32_t dl_day;

#define DATE_NONE INT32_MIN
#define DATE_NO_TIME (-1)
#define DATE_BUF 11          /* "YYYY-MM-DD" + NUL */
#define DATE_MOMENT_BUF 20   /* "YYYY-MM-DDTHH:MM:SS" + NUL */

struct dl_moment {
	dl_day day;
	int32_t sec;         /* seconds since local midnight, or DATE_NO_TIME */
};

bool date_is_leap(int year);
int date_days_in_month(int year, int month);

/* Day number of a valid y-m-d; false (and *out untouched) when impossible. */
bool date_from_ymd(int year, int month, int mday, dl_day *out);
void date_to_ymd(dl_day day, int *year, int *month, int *mday);
int date_year(dl_day day);

/* 0 = Monday … 6 = Sunday (ISO order, so weekends are 5 and 6). */
int date_weekday(dl_day day);

/* Same day-of-month n months on (n may be negative), clamped to the last
 * day of a shorter month: 2024-01-31 + 1 month = 2024-02-29. */
dl_day date_add_months(dl_day day, int months);

/* Strict "YYYY-MM-DD"; anything else, or an impossible date, is an error. */
int date_parse(const char *text, dl_day *out, struct dl_error *err);

/* "YYYY-MM-DD", "YYYY-MM-DDTHH:MM" or "YYYY-MM-DDTHH:MM:SS" (a space may
 * stand for the T, as SQLite writes it). */
int date_parse_moment(const char *text, struct dl_moment *out,
		      struct dl_error *err);

/* Writes "YYYY-MM-DD" into buf (DATE_BUF bytes); returns buf. */
char *date_format(dl_day day, char *buf);
/* "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM" (seconds only when non-zero). */
char *date_format_moment(struct dl_moment m, char *buf);

/* -1, 0 or 1. A date without a time sorts before any time that day. */
int date_moment_cmp(struct dl_moment a, struct dl_moment b);

/* The unix time of the next local HH:MM (minute of the day) after t,
 * correct across clock changes. */
int64_t date_next_local(int64_t t, int minute);
/* The local day of a unix time. */
dl_day date_local_day(int64_t t);

/* Today (or now) in the process's local time zone. */
dl_day date_today(void);
struct dl_moment date_now(void);

#endif
