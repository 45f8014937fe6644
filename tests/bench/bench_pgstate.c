/* bench_pgstate.c — the PostgreSQL state store at scale (make bench; see
 * docs/PERFORMANCE.md, "State in PostgreSQL").
 *
 *   bench_pgstate DEADLINED CONF CASES.DB
 *
 * CONF keeps the state in an empty PostgreSQL database (tests/bench/
 * pgstate.sh starts a throwaway server and writes it); CASES.DB, the
 * cached data set, is only read.  Rows: a first run into the empty
 * database, VACUUM ANALYZE of what it stored (as docs/OPERATIONS.md
 * advises after a first run), then the service's first poll (full,
 * against what that run stored) and no-change polls, each against the
 * scan of the source in the same run.
 */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deadlined/conf.h"
#include "deadlined/log.h"
#include "deadlined/outbox.h"
#include "deadlined/route.h"
#include "deadlined/state.h"

#define BENCH_NAME "bench_pgstate"
#include "bench.h"
#include "bench_run.h"

#define AS_OF "2026-11-23"
#define POLLS 21

/* The ratio to the scan, with a target when most > 0: against scans made
 * just before and just after (the load of a shared machine moves). */
static void ratio_row(const char *what, double t, double around, double most,
		      const char *about)
{
	char buf[32], note[300];

	snprintf(buf, sizeof buf, "%.2fx", t / around);
	snprintf(note, sizeof note, "%s%s, %.1f s against the scan just before and after it "
		 "(%.2f s)", most <= 0 ? "" : t / around <= most ? "met: " : "NOT MET: ", about,
		 t, around);
	row(what, buf, most > 0 ? "<= 3x" : "", note);
}

/* What an administrator does after a first run of millions of cases. */
static double vacuum(const char *conninfo)
{
	double t0 = seconds();
	PGconn *c = PQconnectdb(conninfo);
	PGresult *r = PQexec(c, "VACUUM ANALYZE obligations");

	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		die("VACUUM ANALYZE", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return seconds() - t0;
}

int main(int argc, char **argv)
{
	struct dl_errors errors = { 0 };
	struct conf *conf;
	struct bench b = { 0 };
	struct poller_result res;
	struct dl_error err;
	double t[POLLS], around, t_once;
	long rows = 0, rss = 0;
	char buf[64], note[300];

	if (argc != 4) {
		fprintf(stderr, "usage: bench_pgstate DEADLINED CONF CASES.DB\n");
		return 2;
	}
	log_set_level(LOG_ERR);
	if (conf_load(argv[2], &conf, &errors) < 0)
		die(argv[2], errors.n ? errors.msg[0] : "invalid");
	setenv("TZ", conf->timezone, 1);
	tzset();

	{
		char *once[] = { argv[1], "--once", "--as-of", AS_OF, "-c", argv[2], NULL };

		around = scan(argv[3], &rows);
		t_once = run_daemon(once, &rss);
		around = (around + scan(argv[3], &rows)) / 2;
		snprintf(note, sizeof note, "deadlined --once into an empty database: every "
			 "obligation copied in, every alert rendered and delivered; peak RSS %.0f "
			 "MiB", rss / 1024.0);
		ratio_row("PostgreSQL: first run / scan", t_once, around, 0, note);
	}
	snprintf(buf, sizeof buf, "%.1f s", vacuum(conf->state.conninfo));
	row("PostgreSQL: VACUUM ANALYZE", buf, "", "of obligations after the first run "
	    "(docs/OPERATIONS.md); not ours to speed up");

	b.conf = conf;
	b.db = argv[3];
	b.now_unix = 1795435200;
	if (state_open(&conf->state, &b.st, &err) < 0 || route_open(conf, &b.route, &err) < 0 ||
	    outbox_open(conf, b.st, &b.outbox, &err) < 0 || poller_open(&b.poller, &err) < 0)
		die("open", err.msg);
	around = scan(argv[3], &rows);
	t[0] = poll_at(&b, AS_OF "T09:00", &res);
	around = (around + scan(argv[3], &rows)) / 2;
	if (!res.full)
		die("full poll", "the service's first poll was not full");
	snprintf(note, sizeof note, "the service's first poll, full, %ld cases against what "
		 "the first run stored: walk, merge, stage, apply", res.poll.cases);
	ratio_row("PostgreSQL: full poll / scan", t[0], around, 3, note);

	for (int i = 0; i < POLLS; i++) {
		t[i] = poll_at(&b, AS_OF "T09:05", &res);
		if (res.full || res.poll.cases)
			die("no-change poll", "evaluated cases");
	}
	snprintf(buf, sizeof buf, "%.2f ms", median(t, POLLS) * 1e3);
	snprintf(note, sizeof note, "%s (median of %d; the poll's row committed each time)",
		 median(t, POLLS) < 0.005 ? "met" : "NOT MET", POLLS);
	row("PostgreSQL: no-change poll", buf, "< 5 ms", note);
	poller_close(b.poller);
	outbox_close(b.outbox);
	route_close(b.route);
	state_close(b.st);
	conf_free(conf);
	return 0;
}
