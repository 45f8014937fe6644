/* bench_odbc.c — the ODBC source at scale (make bench; see
 * docs/PERFORMANCE.md).
 *
 *   bench_odbc CONF CONNECTION BASELINE_SECONDS
 *
 * CONNECTION reaches the data set loaded into a database (tests/bench/
 * odbc.sh loads it into PostgreSQL); BASELINE_SECONDS is the time psql took
 * to copy the same statement's rows to /dev/null, measured by the caller
 * in the same run.  Prints the rows of the table: a full evaluation through
 * ODBC (median of RUNS), its ratio to the baseline, the peak RSS, and a
 * poll that finds nothing changed through source.updated_column (median of
 * POLLS).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "deadlined/conf.h"
#include "deadlined/evaluate.h"
#include "deadlined/source.h"

#define BENCH_NAME "bench_odbc"
#include "bench.h"

#define AS_OF "2026-11-23"
#define RUNS 3
#define POLLS 51

/* source.read_ahead: the configuration's (its default), or
 * $BENCH_READ_AHEAD's for a comparison. */
static long read_ahead;

static struct source *open_odbc(const char *connection, const char *column)
{
	struct source_conf sc = { .driver = "odbc", .connection = connection,
				  .updated_column = column, .login_timeout = 10,
				  .query_timeout = 3600, .fetch_rows = 500,
				  .read_ahead = read_ahead };
	struct source *src;
	struct dl_error err;

	if (source_open(&sc, &src, &err) < 0)
		die("open", err.msg);
	return src;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Wall time; *cpu receives this process's CPU time (ours, the driver's
 * and libpq's, not the server's). */
static double evaluate_odbc(const struct conf *conf, const char *connection, size_t *cases,
			    double *cpu)
{
	struct evaluate_hooks hooks = { 0 };
	struct evaluate_summary sum;
	struct source *src = open_odbc(connection, NULL);
	struct dl_moment now;
	struct dl_error err;
	double t0 = seconds(), c0 = cpu_seconds();

	if (evaluate_parse_as_of(AS_OF, &now, &err) < 0 ||
	    evaluate_run(conf, src, NULL, now, &hooks, &sum, &err) < 0)
		die("evaluate", err.msg);
	t0 = seconds() - t0;
	*cpu = cpu_seconds() - c0;
	*cases = sum.cases;
	evaluate_summary_free(&sum);
	source_close(src);
	return t0;
}

static int never(void *ctx, const char *case_ref)
{
	(void)ctx;
	die("no-change poll", case_ref);
	return -1;
}

/* The look-up a poll makes when nothing changed: one query for cases past
 * the mark, on a connection kept open from poll to poll. */
static double no_change_poll(const char *connection)
{
	struct source *src = open_odbc(connection, "updated_at");
	struct source_mark mark = { 0 }, next;
	enum source_change what;
	struct dl_error err;
	double t[POLLS];

	if (source_changed(src, &mark, never, NULL, &next, &what, &err) < 0)
		die("no-change poll", err.msg);
	mark = next;
	for (int i = 0; i < POLLS; i++) {
		double t0 = seconds();

		if (source_changed(src, &mark, never, NULL, &next, &what, &err) < 0)
			die("no-change poll", err.msg);
		t[i] = seconds() - t0;
		if (what != SOURCE_UNCHANGED)
			die("no-change poll", "the source said something changed");
	}
	source_close(src);
	return median(t, POLLS);
}

int main(int argc, char **argv)
{
	struct dl_errors errors = { 0 };
	struct conf *conf;
	struct rusage ru;
	double t[RUNS], cpu[RUNS], t_eval, base, t_poll;
	size_t cases = 0;
	char buf[64], note[200];

	if (argc != 4)
		die("usage", "bench_odbc CONF CONNECTION BASELINE_SECONDS");
	base = strtod(argv[3], NULL);
	setenv("TZ", "Europe/London", 1);
	if (conf_load(argv[1], &conf, &errors) < 0)
		die(argv[1], errors.n ? errors.msg[0] : "invalid");
	read_ahead = getenv("BENCH_READ_AHEAD") ? strtol(getenv("BENCH_READ_AHEAD"), NULL, 10)
						: conf->source.read_ahead;
	for (int i = 0; i < RUNS; i++)
		t[i] = evaluate_odbc(conf, argv[2], &cases, &cpu[i]);
	t_eval = median(t, RUNS);
	getrusage(RUSAGE_SELF, &ru);
	snprintf(buf, sizeof buf, "%.2f s", t_eval);
	snprintf(note, sizeof note, "PostgreSQL 15 via psqlODBC, %zu cases, every rule, read_ahead "
		 "%ld; client CPU %.2f s; peak RSS %.0f MiB", cases, read_ahead, median(cpu, RUNS),
		 ru.ru_maxrss / 1024.0);
	row("full evaluation through ODBC", buf, "", note);
	snprintf(buf, sizeof buf, "%.2fx", t_eval / base);
	snprintf(note, sizeof note, "%s; psql \\copy of the same statement to /dev/null: %.2f s",
		 t_eval / base <= 2 ? "met" : "NOT MET", base);
	row("ratio ODBC evaluation / psql copy", buf, "<= 2x", note);
	t_poll = no_change_poll(argv[2]);
	snprintf(buf, sizeof buf, "%.2f ms", t_poll * 1e3);
	snprintf(note, sizeof note, "%s; source.updated_column past the mark, indexed",
		 t_poll < 0.010 ? "met" : "NOT MET");
	row("no-change poll through ODBC", buf, "< 10 ms", note);
	conf_free(conf);
	return 0;
}
