/* bench_run.h — what the scale benchmarks share: the baseline scan of the
 * case database, and deadlined run as a child.  Include after bench.h. */
#ifndef DEADLINED_BENCH_RUN_H
#define DEADLINED_BENCH_RUN_H

#include <errno.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deadlined/evaluate.h"
#include "deadlined/poll.h"
#include "deadlined/poller.h"

static volatile size_t sink;    /* keeps the scan's reads */


/* SQLite alone: the two statements the evaluation runs, every column of
 * every row read as text, nothing else. */
static double scan(const char *db, long *rows)
{
	static const char *const sql[] = {
		"SELECT case_ref, child_ref, date_of_birth, team_ref, worker_ref"
		" FROM deadlined_cases ORDER BY case_ref COLLATE BINARY",
		"SELECT case_ref, kind, occurred, event_ref FROM deadlined_events"
		" ORDER BY case_ref COLLATE BINARY, occurred",
	};
	sqlite3 *h;
	sqlite3_stmt *s[2];
	double t0 = seconds();
	size_t bytes = 0;

	*rows = 0;
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		die(db, sqlite3_errmsg(h));
	for (int i = 0; i < 2; i++)
		if (sqlite3_prepare_v2(h, sql[i], -1, &s[i], NULL) != SQLITE_OK)
			die(db, sqlite3_errmsg(h));
	/* Interleaved as the merge in source.c reads them. */
	for (int live = 3; live;) {
		for (int i = 0; i < 2; i++) {
			if (!(live & (1 << i)))
				continue;
			if (sqlite3_step(s[i]) != SQLITE_ROW) {
				live &= ~(1 << i);
				continue;
			}
			for (int c = 0; c < sqlite3_column_count(s[i]); c++) {
				sqlite3_column_text(s[i], c);
				bytes += (size_t)sqlite3_column_bytes(s[i], c);
			}
			++*rows;
		}
	}
	for (int i = 0; i < 2; i++)
		sqlite3_finalize(s[i]);
	sqlite3_close(h);
	sink += bytes;
	return seconds() - t0;
}

/* deadlined as a child: wall time and its peak resident set (KiB). */
static double run_daemon(char *const argv[], long *maxrss_kib)
{
	struct rusage ru;
	double t0 = seconds();
	int status;
	pid_t pid = fork();

	if (pid < 0)
		die("fork", strerror(errno));
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0)
		die("wait4", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "%s: %s exited with status %d\n", BENCH_NAME, argv[0], status);
		exit(1);
	}
	*maxrss_kib = ru.ru_maxrss;
	return seconds() - t0;
}

/* One poll through the service's poller, timed. */
struct bench {
	const struct conf *conf;
	struct state *st;
	struct route *route;
	struct outbox *outbox;
	struct poller *poller;
	const char *db;
	int64_t now_unix;
};

static double poll_at(struct bench *b, const char *when, struct poller_result *res)
{
	struct dl_moment now;
	struct dl_error err;
	double t0;
	struct poll_env env = { b->conf, b->st, b->route, b->outbox, NULL, NULL };

	if (evaluate_parse_as_of(when, &now, &err) < 0)
		die(when, err.msg);
	b->now_unix += 1;      /* never a timed reconciliation */
	t0 = seconds();
	if (poller_poll(b->poller, &env, b->db, now, b->now_unix, res, &err) < 0)
		die("poll", err.msg);
	return seconds() - t0;
}

#endif
