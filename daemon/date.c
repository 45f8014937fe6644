/* date.c — civil-date arithmetic (Howard Hinnant's days_from_civil
 * algorithm) and strict parsing of the two formats the contract allows. */
#include "deadlined/date.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

bool date_is_leap(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int date_days_in_month(int year, int month)
{
	static const int len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (month == 2 && date_is_leap(year))
		return 29;
	return len[month - 1];
}

static dl_day days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int era = (y >= 0 ? y : y - 399) / 400;
	int yoe = y - era * 400;
	int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

bool date_from_ymd(int year, int month, int mday, dl_day *out)
{
	/* The bounds keep every later sum far from int32 overflow. */
	if (year < 1 || year > 9999 || month < 1 || month > 12 || mday < 1 ||
	    mday > date_days_in_month(year, month))
		return false;
	*out = days_from_civil(year, month, mday);
	return true;
}

void date_to_ymd(dl_day day, int *year, int *month, int *mday)
{
	int z = day + 719468;
	int era = (z >= 0 ? z : z - 146096) / 146097;
	int doe = z - era * 146097;
	int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int mp = (5 * doy + 2) / 153;
	int d = doy - (153 * mp + 2) / 5 + 1;
	int m = mp + (mp < 10 ? 3 : -9);

	*year = yoe + era * 400 + (m <= 2);
	*month = m;
	*mday = d;
}

int date_year(dl_day day)
{
	int y, m, d;

	date_to_ymd(day, &y, &m, &d);
	return y;
}

int date_weekday(dl_day day)
{
	/* 1970-01-01 was a Thursday (3 in ISO order from Monday = 0). */
	int w = (day + 3) % 7;

	return w < 0 ? w + 7 : w;
}

dl_day date_add_months(dl_day day, int months)
{
	int y, m, d;
	dl_day out;

	date_to_ymd(day, &y, &m, &d);
	int index = y * 12 + (m - 1) + months;
	/* Years 1 to 9999 only, as date_from_ymd: no negative month index. */
	if (index < 12 || index >= 10000 * 12)
		return DATE_NONE;
	y = index / 12;
	m = index % 12 + 1;
	if (d > date_days_in_month(y, m))
		d = date_days_in_month(y, m);
	if (!date_from_ymd(y, m, d, &out))
		return DATE_NONE;
	return out;
}

/* Reads exactly n digits; returns -1 unless all n are digits. */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int parse_ymd(const char *s, dl_day *out)
{
	int y = digits(s, 4), m, d;

	if (y < 0 || s[4] != '-' || (m = digits(s + 5, 2)) < 0 || s[7] != '-' ||
	    (d = digits(s + 8, 2)) < 0)
		return -1;
	return date_from_ymd(y, m, d, out) ? 0 : -2;
}

static int ymd_error(const char *text, int rc, struct dl_error *err)
{
	if (rc == -2)
		error_set(err, "'%s' is not a real date", text);
	else
		error_set(err, "'%s' is not a date; expected YYYY-MM-DD", text);
	return -1;
}

int date_parse(const char *text, dl_day *out, struct dl_error *err)
{
	int rc;

	if (!text || strlen(text) != 10) {
		error_set(err, "'%s' is not a date; expected YYYY-MM-DD",
			  text ? text : "(null)");
		return -1;
	}
	rc = parse_ymd(text, out);
	return rc == 0 ? 0 : ymd_error(text, rc, err);
}

int date_parse_moment(const char *text, struct dl_moment *out,
		      struct dl_error *err)
{
	size_t len = text ? strlen(text) : 0;
	int rc, hh, mm, ss = 0;

	if (len != 10 && len != 16 && len != 19) {
		error_set(err, "'%s' is not a date or time; expected YYYY-MM-DD "
			  "or YYYY-MM-DDTHH:MM[:SS]", text ? text : "(null)");
		return -1;
	}
	rc = parse_ymd(text, &out->day);
	if (rc != 0)
		return ymd_error(text, rc, err);
	out->sec = DATE_NO_TIME;
	if (len == 10)
		return 0;
	if ((text[10] != 'T' && text[10] != ' ') || (hh = digits(text + 11, 2)) < 0 ||
	    text[13] != ':' || (mm = digits(text + 14, 2)) < 0 ||
	    (len == 19 && (text[16] != ':' || (ss = digits(text + 17, 2)) < 0))) {
		error_set(err, "'%s' is not a time; expected YYYY-MM-DDTHH:MM[:SS]", text);
		return -1;
	}
	if (hh > 23 || mm > 59 || ss > 59) {
		error_set(err, "'%s' is not a real time of day", text);
		return -1;
	}
	out->sec = hh * 3600 + mm * 60 + ss;
	return 0;
}

static char *put_digits(char *p, int v, int n)
{
	for (int i = n - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
	return p + n;
}

/* By hand, not snprintf: a full poll formats dates for millions of
 * obligations.  Years outside 0-9999 keep printf's form. */
char *date_format(dl_day day, char *buf)
{
	int y, m, d;
	char *p = buf;

	date_to_ymd(day, &y, &m, &d);
	if (y < 0 || y > 9999) {
		snprintf(buf, DATE_BUF, "%04d-%02d-%02d", y, m, d);
		return buf;
	}
	p = put_digits(p, y, 4);
	*p++ = '-';
	p = put_digits(p, m, 2);
	*p++ = '-';
	p = put_digits(p, d, 2);
	*p = '\0';
	return buf;
}

char *date_format_moment(struct dl_moment mo, char *buf)
{
	char day[DATE_BUF], tmp[64], *p;

	/* Most moments are days: no snprintf for them either. */
	if (mo.sec == DATE_NO_TIME)
		return date_format(mo.day, buf);
	date_format(mo.day, day);
	if (mo.sec == DATE_NO_TIME || mo.sec < 0 || mo.sec >= 86400 || strlen(day) != 10) {
		if (mo.sec == DATE_NO_TIME)
			snprintf(tmp, sizeof tmp, "%s", day);
		else if (mo.sec % 60)
			snprintf(tmp, sizeof tmp, "%sT%02d:%02d:%02d", day, mo.sec / 3600,
				 mo.sec / 60 % 60, mo.sec % 60);
		else
			snprintf(tmp, sizeof tmp, "%sT%02d:%02d", day, mo.sec / 3600,
				 mo.sec / 60 % 60);
		snprintf(buf, DATE_MOMENT_BUF, "%s", tmp);
		return buf;
	}
	memcpy(buf, day, 10);
	p = buf + 10;
	*p++ = 'T';
	p = put_digits(p, mo.sec / 3600, 2);
	*p++ = ':';
	p = put_digits(p, mo.sec / 60 % 60, 2);
	if (mo.sec % 60) {
		*p++ = ':';
		p = put_digits(p, mo.sec % 60, 2);
	}
	*p = '\0';
	return buf;
}

int date_moment_cmp(struct dl_moment a, struct dl_moment b)
{
	if (a.day != b.day)
		return a.day < b.day ? -1 : 1;
	if (a.sec != b.sec)
		return a.sec < b.sec ? -1 : 1;
	return 0;
}

struct dl_moment date_now(void)
{
	time_t t = time(NULL);
	struct tm tm;
	struct dl_moment m = { DATE_NONE, 0 };

	localtime_r(&t, &tm);
	date_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, &m.day);
	m.sec = tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	return m;
}

dl_day date_today(void)
{
	return date_now().day;
}

int64_t date_next_local(int64_t t, int minute)
{
	time_t tt = (time_t)t, at;
	struct tm tm;

	localtime_r(&tt, &tm);
	tm.tm_hour = minute / 60;
	tm.tm_min = minute % 60;
	tm.tm_sec = 0;
	tm.tm_isdst = -1;
	at = mktime(&tm);
	if (at <= tt) {
		/* Tomorrow: mktime normalises the day and finds the offset anew. */
		localtime_r(&tt, &tm);
		tm.tm_mday++;
		tm.tm_hour = minute / 60;
		tm.tm_min = minute % 60;
		tm.tm_sec = 0;
		tm.tm_isdst = -1;
		at = mktime(&tm);
	}
	return (int64_t)at;
}

dl_day date_local_day(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	dl_day d = DATE_NONE;

	localtime_r(&tt, &tm);
	date_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, &d);
	return d;
}
