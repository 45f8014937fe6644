/* calendar.c — working-day arithmetic over a precomputed ordinal.
 *
 * For every day from CALENDAR_FIRST_YEAR to CALENDAR_LAST_YEAR we keep how
 * many working days come strictly before it, and the list of working days
 * in order.  Adding, subtracting and counting working days are then O(1)
 * look-ups instead of day-by-day walks; the tables cost about 0.8 MB.
 */
#include "deadlined/calendar.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "holidays.h"

enum {
	DAY_WEEKEND = 1,
	DAY_BANK_HOLIDAY = 2,
	DAY_EXTRA_HOLIDAY = 4,
	DAY_CLOSURE = 8,
};

/* A day's name and the order it was marked in: bank holidays first, so a
 * bank holiday's name wins over a closure on the same day. */
struct named {
	dl_day day;
	uint32_t rank;
	const char *name;
};

#define NYEARS (CALENDAR_LAST_YEAR - CALENDAR_FIRST_YEAR + 1)

struct calendar {
	dl_day first;            /* day number of CALENDAR_FIRST_YEAR-01-01 */
	int32_t ndays;
	uint8_t *flags;          /* DAY_* per day */
	int32_t *before;         /* [i]: working days before first + i; ndays + 1 */
	dl_day *work;            /* every working day in order */
	int32_t nwork;
	struct named *names;     /* sorted by day, one per day */
	size_t nnames, names_cap;
	char **owned;            /* strings copied from the options */
	size_t nowned;
	bool derived[NYEARS];
	dl_day year_start[NYEARS];  /* day number of each year's 1 January */
};

const char *const calendar_divisions[] = { "england-and-wales", NULL };

static const char CLOSURE_NAME[] = "Local closure day";

/* Anonymous Gregorian algorithm (Meeus/Jones/Butcher). */
static dl_day easter_sunday(int y)
{
	int a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4;
	int f = (b + 8) / 25, g = (b - f + 1) / 3;
	int h = (19 * a + b - d - g + 15) % 30, i = c / 4, k = c % 4;
	int l = (32 + 2 * e + 2 * i - h - k) % 7, m = (a + 11 * h + 22 * l) / 451;
	int month = (h + l - 7 * m + 114) / 31, mday = (h + l - 7 * m + 114) % 31 + 1;
	dl_day out = DATE_NONE;

	date_from_ymd(y, month, mday, &out);
	return out;
}

static dl_day ymd(int y, int m, int d)
{
	dl_day out = DATE_NONE;

	date_from_ymd(y, m, d, &out);
	return out;
}

/* First (n = 1) or last (n = -1) Monday of a month. */
static dl_day monday_of(int y, int m, int n)
{
	dl_day d = n > 0 ? ymd(y, m, 1) : ymd(y, m, date_days_in_month(y, m));

	while (date_weekday(d) != 0)
		d += n > 0 ? 1 : -1;
	return d;
}

static int add_name(struct calendar *cal, dl_day day, const char *name)
{
	if (cal->nnames == cal->names_cap) {
		size_t cap = cal->names_cap ? cal->names_cap * 2 : 4096;
		void *p = realloc(cal->names, cap * sizeof *cal->names);

		if (!p)
			return -1;
		cal->names = p;
		cal->names_cap = cap;
	}
	cal->names[cal->nnames].day = day;
	cal->names[cal->nnames].rank = (uint32_t)cal->nnames;
	cal->names[cal->nnames].name = name;
	cal->nnames++;
	return 0;
}

static int mark(struct calendar *cal, dl_day day, int flag, const char *name)
{
	if (!calendar_covers(cal, day))
		return 0;
	cal->flags[day - cal->first] |= flag;
	return add_name(cal, day, name);
}

/* Holidays the 1971 Act pattern does not give, known before the published
 * table starts: moved or added days by royal proclamation. */
static const struct {
	short year, month, mday, from_month, from_mday;
	const char *name;
} one_offs[] = {
	{ 1995, 5, 8, 5, 1, "Early May bank holiday (VE Day)" },
	{ 1999, 12, 31, 0, 0, "Millennium bank holiday" },
	{ 2002, 6, 4, 5, 27, "Spring bank holiday" },
	{ 2002, 6, 3, 0, 0, "Golden Jubilee bank holiday" },
	{ 2011, 4, 29, 0, 0, "Royal Wedding bank holiday" },
	{ 2012, 6, 4, 5, 28, "Spring bank holiday" },
	{ 2012, 6, 5, 0, 0, "Diamond Jubilee bank holiday" },
};

/* Christmas and Boxing Day with the substitute days the Act gives when
 * either falls at a weekend. */
static int mark_christmas(struct calendar *cal, int y)
{
	dl_day xmas = ymd(y, 12, 25), boxing = ymd(y, 12, 26);
	int w = date_weekday(xmas);

	if (w == 5) /* Saturday: both move to Monday and Tuesday */
		return mark(cal, xmas + 2, DAY_BANK_HOLIDAY, "Christmas Day (substitute day)") ||
		       mark(cal, xmas + 3, DAY_BANK_HOLIDAY, "Boxing Day (substitute day)");
	if (w == 6) /* Sunday: Boxing Day stays Monday, Christmas moves to Tuesday */
		return mark(cal, boxing, DAY_BANK_HOLIDAY, "Boxing Day") ||
		       mark(cal, xmas + 2, DAY_BANK_HOLIDAY, "Christmas Day (substitute day)");
	if (w == 4) /* Friday: Boxing Day (Saturday) moves to Monday */
		return mark(cal, xmas, DAY_BANK_HOLIDAY, "Christmas Day") ||
		       mark(cal, xmas + 3, DAY_BANK_HOLIDAY, "Boxing Day (substitute day)");
	return mark(cal, xmas, DAY_BANK_HOLIDAY, "Christmas Day") ||
	       mark(cal, boxing, DAY_BANK_HOLIDAY, "Boxing Day");
}

static bool moved_away(int y, int m, int d)
{
	for (size_t i = 0; i < sizeof one_offs / sizeof one_offs[0]; i++)
		if (one_offs[i].year == y && one_offs[i].from_month == m &&
		    one_offs[i].from_mday == d)
			return true;
	return false;
}

static int mark_if_not_moved(struct calendar *cal, dl_day day, const char *name)
{
	int y, m, d;

	date_to_ymd(day, &y, &m, &d);
	return moved_away(y, m, d) ? 0 : mark(cal, day, DAY_BANK_HOLIDAY, name);
}

/* Banking and Financial Dealings Act 1971, schedule 1, as proclaimed since:
 * early May from 1978; New Year's Day from 1974. */
static int mark_derived_year(struct calendar *cal, int y)
{
	dl_day ny = ymd(y, 1, 1), easter = easter_sunday(y);
	int w = date_weekday(ny);
	int rc = 0;

	if (y >= 1974)
		rc |= mark(cal, w >= 5 ? ny + (7 - w) : ny, DAY_BANK_HOLIDAY,
			   w >= 5 ? "New Year's Day (substitute day)" : "New Year's Day");
	rc |= mark(cal, easter - 2, DAY_BANK_HOLIDAY, "Good Friday");
	rc |= mark(cal, easter + 1, DAY_BANK_HOLIDAY, "Easter Monday");
	if (y >= 1978)
		rc |= mark_if_not_moved(cal, monday_of(y, 5, 1), "Early May bank holiday");
	rc |= mark_if_not_moved(cal, monday_of(y, 5, -1), "Spring bank holiday");
	rc |= mark(cal, monday_of(y, 8, -1), DAY_BANK_HOLIDAY, "Summer bank holiday");
	rc |= mark_christmas(cal, y);
	for (size_t i = 0; i < sizeof one_offs / sizeof one_offs[0]; i++)
		if (one_offs[i].year == y)
			rc |= mark(cal, ymd(y, one_offs[i].month, one_offs[i].mday),
				   DAY_BANK_HOLIDAY, one_offs[i].name);
	return rc;
}

static int mark_bank_holidays(struct calendar *cal)
{
	for (size_t i = 0; i < holidays_ew_count; i++) {
		const struct holiday_entry *h = &holidays_ew[i];

		if (mark(cal, ymd(h->year, h->month, h->mday), DAY_BANK_HOLIDAY, h->name))
			return -1;
	}
	for (int y = CALENDAR_FIRST_YEAR; y <= CALENDAR_LAST_YEAR; y++) {
		if (y >= HOLIDAYS_EW_FIRST_YEAR && y <= HOLIDAYS_EW_LAST_YEAR)
			continue;
		cal->derived[y - CALENDAR_FIRST_YEAR] = true;
		if (mark_derived_year(cal, y))
			return -1;
	}
	return 0;
}

static const char *own(struct calendar *cal, const char *s)
{
	char *copy = strdup(s ? s : "Holiday");

	if (!copy)
		return NULL;
	cal->owned[cal->nowned++] = copy;
	return copy;
}

static int mark_local_days(struct calendar *cal, const struct calendar_options *opt)
{
	cal->owned = calloc(opt->n_extra_holidays + 1, sizeof *cal->owned);
	if (!cal->owned)
		return -1;
	for (size_t i = 0; i < opt->n_extra_holidays; i++) {
		const char *name = own(cal, opt->extra_holidays[i].name);

		if (!name || mark(cal, opt->extra_holidays[i].day, DAY_EXTRA_HOLIDAY, name))
			return -1;
	}
	for (size_t i = 0; i < opt->n_closure_days; i++)
		if (mark(cal, opt->closure_days[i], DAY_CLOSURE, CLOSURE_NAME))
			return -1;
	for (size_t i = 0; i < opt->n_confirmed_years; i++) {
		int y = opt->confirmed_years[i];

		if (y >= CALENDAR_FIRST_YEAR && y <= CALENDAR_LAST_YEAR)
			cal->derived[y - CALENDAR_FIRST_YEAR] = false;
	}
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	const struct named *x = a, *y = b;

	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

/* Sort names and keep the first entry for each day. */
static void index_names(struct calendar *cal)
{
	size_t out = 0;

	qsort(cal->names, cal->nnames, sizeof *cal->names, cmp_names);
	for (size_t i = 0; i < cal->nnames; i++)
		if (out == 0 || cal->names[out - 1].day != cal->names[i].day)
			cal->names[out++] = cal->names[i];
	cal->nnames = out;
}

static int build_ordinal(struct calendar *cal)
{
	cal->before = malloc((cal->ndays + 1) * sizeof *cal->before);
	cal->work = malloc(cal->ndays * sizeof *cal->work);
	if (!cal->before || !cal->work)
		return -1;
	cal->nwork = 0;
	for (int32_t i = 0; i < cal->ndays; i++) {
		cal->before[i] = cal->nwork;
		if (cal->flags[i] == 0)
			cal->work[cal->nwork++] = cal->first + i;
	}
	cal->before[cal->ndays] = cal->nwork;
	return 0;
}

static bool known_division(const char *division)
{
	for (size_t i = 0; calendar_divisions[i]; i++)
		if (strcmp(division, calendar_divisions[i]) == 0)
			return true;
	return false;
}

int calendar_new(const struct calendar_options *opt, struct calendar **out,
		 struct dl_error *err)
{
	static const struct calendar_options none;
	struct calendar *cal;

	if (!opt)
		opt = &none;
	if (opt->division && !known_division(opt->division)) {
		error_set(err, "unknown calendar division '%s'; expected england-and-wales",
			  opt->division);
		return -1;
	}
	cal = calloc(1, sizeof *cal);
	if (!cal)
		goto oom;
	cal->first = ymd(CALENDAR_FIRST_YEAR, 1, 1);
	cal->ndays = ymd(CALENDAR_LAST_YEAR, 12, 31) - cal->first + 1;
	for (int y = CALENDAR_FIRST_YEAR; y <= CALENDAR_LAST_YEAR; y++)
		cal->year_start[y - CALENDAR_FIRST_YEAR] = ymd(y, 1, 1);
	cal->flags = calloc(cal->ndays, 1);
	if (!cal->flags)
		goto oom;
	for (int32_t i = 0; i < cal->ndays; i++)
		if (date_weekday(cal->first + i) >= 5)
			cal->flags[i] = DAY_WEEKEND;
	if (mark_bank_holidays(cal) || mark_local_days(cal, opt) || build_ordinal(cal))
		goto oom;
	index_names(cal);
	*out = cal;
	return 0;
oom:
	calendar_free(cal);
	error_set(err, "out of memory building the calendar");
	return -1;
}

void calendar_free(struct calendar *cal)
{
	if (!cal)
		return;
	for (size_t i = 0; i < cal->nowned; i++)
		free(cal->owned[i]);
	free(cal->owned);
	free(cal->names);
	free(cal->work);
	free(cal->before);
	free(cal->flags);
	free(cal);
}

bool calendar_covers(const struct calendar *cal, dl_day day)
{
	return day >= cal->first && day - cal->first < cal->ndays;
}

bool calendar_is_working_day(const struct calendar *cal, dl_day day)
{
	return calendar_covers(cal, day) && cal->flags[day - cal->first] == 0;
}

const char *calendar_day_name(const struct calendar *cal, dl_day day)
{
	size_t lo = 0, hi = cal->nnames;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cal->names[mid].day < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < cal->nnames && cal->names[lo].day == day ? cal->names[lo].name : NULL;
}

static int range_error(struct dl_error *err)
{
	error_set(err, "date outside the calendar's range %d-01-01 to %d-12-31",
		  CALENDAR_FIRST_YEAR, CALENDAR_LAST_YEAR);
	return -1;
}

int calendar_add_workdays(const struct calendar *cal, dl_day start, int n,
			  int count_start_day, dl_day *out, struct dl_error *err)
{
	int64_t idx;

	if (!calendar_covers(cal, start) || n < 0)
		return range_error(err);
	/* Day 1 always: a start that is not a working day takes the place of
	 * the first working day, so one fewer follows it. */
	if (count_start_day == CALENDAR_DAY1_ALWAYS && !calendar_is_working_day(cal, start))
		n--;
	if (n <= 0) {
		*out = start;
		return 0;
	}
	/* before[start - first + 1] counts working days up to and including
	 * start; counting the start as day 1 counts only those before it. */
	idx = (int64_t)cal->before[start - cal->first + (count_start_day ? 0 : 1)] + n - 1;
	if (idx >= cal->nwork)
		return range_error(err);
	*out = cal->work[idx];
	return 0;
}

int calendar_sub_workdays(const struct calendar *cal, dl_day day, int n,
			  dl_day *out, struct dl_error *err)
{
	int64_t idx;

	if (!calendar_covers(cal, day) || n < 0)
		return range_error(err);
	if (n == 0) {
		*out = day;
		return 0;
	}
	idx = (int64_t)cal->before[day - cal->first] - n;
	if (idx < 0)
		return range_error(err);
	*out = cal->work[idx];
	return 0;
}

int calendar_workdays_between(const struct calendar *cal, dl_day from,
			      dl_day to, int *out, struct dl_error *err)
{
	if (!calendar_covers(cal, from) || !calendar_covers(cal, to))
		return range_error(err);
	*out = cal->before[to - cal->first + 1] - cal->before[from - cal->first + 1];
	return 0;
}

size_t calendar_holidays(const struct calendar *cal, int year,
			 struct calendar_day_name *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < cal->nnames; i++) {
		if (date_year(cal->names[i].day) != year)
			continue;
		if (n < max) {
			out[n].day = cal->names[i].day;
			out[n].name = cal->names[i].name;
		}
		n++;
	}
	return n;
}

bool calendar_year_is_derived(const struct calendar *cal, int year)
{
	if (year < CALENDAR_FIRST_YEAR || year > CALENDAR_LAST_YEAR)
		return true;
	return cal->derived[year - CALENDAR_FIRST_YEAR];
}

/* The year of a day, from the table of the days the years start: each
 * obligation asks for two (calendar_span_is_derived), and date_year's
 * arithmetic, three times, was 3 % of a full poll. */
static int year_of(const struct calendar *cal, dl_day day)
{
	int i;

	if (day < cal->first || day - cal->first >= cal->ndays)
		return date_year(day);
	/* 146097 days in 400 years: the year, or one beside it. */
	i = (int)((int64_t)(day - cal->first) * 400 / 146097);
	while (i > 0 && day < cal->year_start[i])
		i--;
	while (i + 1 < NYEARS && day >= cal->year_start[i + 1])
		i++;
	return CALENDAR_FIRST_YEAR + i;
}

bool calendar_span_is_derived(const struct calendar *cal, dl_day first,
			      dl_day last)
{
	int to = year_of(cal, last);

	for (int y = year_of(cal, first); y <= to; y++)
		if (calendar_year_is_derived(cal, y))
			return true;
	return false;
}
