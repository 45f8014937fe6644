/* bench.h — what the benchmark programs share: the clock, medians, and one
 * row of make bench's table.  Each program defines BENCH_NAME first, for
 * its messages. */
#ifndef DEADLINED_BENCH_H
#define DEADLINED_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts v. */
static inline double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static inline void die(const char *what, const char *msg)
{
	fprintf(stderr, "%s: %s: %s\n", BENCH_NAME, what, msg);
	exit(1);
}

static inline void row(const char *what, const char *value, const char *target,
		       const char *note)
{
	printf("| %-34s | %14s | %-10s | %s\n", what, value, target, note);
	fflush(stdout);
}

#endif
