/* bench_calendar.c — how many working-day additions a second, against a
 * day-by-day walk measured in the same run (ratios, not absolute targets:
 * these machines are shared). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "deadlined/calendar.h"

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static dl_day walk(const struct calendar *cal, dl_day d, int n)
{
	while (n > 0)
		if (calendar_is_working_day(cal, ++d))
			n--;
	return d;
}

int main(void)
{
	struct calendar *cal;
	struct dl_error err;
	dl_day first, out, sink = 0;
	const long fast_n = 50000000, slow_n = 2000000;
	double t0, fast, slow;

	if (calendar_new(NULL, &cal, &err) < 0 || !date_from_ymd(2017, 1, 1, &first)) {
		fprintf(stderr, "bench_calendar: %s\n", err.msg);
		return 1;
	}
	t0 = seconds();
	for (long i = 0; i < fast_n; i++) {
		calendar_add_workdays(cal, first + (dl_day)(i % 5000), (int)(i % 60), false, &out, &err);
		sink += out;
	}
	fast = fast_n / (seconds() - t0);
	t0 = seconds();
	for (long i = 0; i < slow_n; i++)
		sink += walk(cal, first + (dl_day)(i % 5000), (int)(i % 60));
	slow = slow_n / (seconds() - t0);
	printf("calendar: %.1f million working-day additions/s (target >= 10); "
	       "day-by-day walk %.1f million/s; ratio %.0fx  [%d]\n",
	       fast / 1e6, slow / 1e6, fast / slow, (int)(sink & 1));
	calendar_free(cal);
	return fast >= 10e6 ? 0 : 1;
}
