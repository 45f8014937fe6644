/* poller.h — what a poll evaluates: everything, or only what changed.
 *
 * The case database stays open from poll to poll.  A poll with nothing to
 * do costs the source's "what changed" (source_changed: for SQLite a stat
 * and a PRAGMA) and a look at the rechecks index.  Else:
 *   - a full evaluation at the first poll, after poller_want_full (a
 *     reload), after a failed poll, every service.reconcile_interval, and
 *     whenever the source answers SOURCE_ALL (SQLite: no change log and
 *     something changed, teams or workers changed, rows pruned unread) or
 *     SOURCE_REOPEN (SQLite: an import renamed over the file, the file
 *     rewritten behind SQLite's back, its schema changed);
 *   - otherwise only the cases the source names as changed since the last
 *     poll's mark, and the cases whose recheck time (state.h) has come: a
 *     clock reaching due-soon or overdue, a day passing for an overdue one,
 *     a future-dated event arriving.
 * Either way the stored result equals a full evaluation's.
 */
#ifndef DEADLINED_POLLER_H
#define DEADLINED_POLLER_H

#include <stdbool.h>
#include <stdint.h>

#include "deadlined/conf.h"
#include "deadlined/poll.h"
#include "deadlined/state.h"

struct poller;

int poller_open(struct poller **out, struct dl_error *err);
void poller_close(struct poller *p);

/* The next poll evaluates every case. */
void poller_want_full(struct poller *p);

struct poller_result {
	struct poll_result poll;
	bool full;              /* every case was evaluated */
	int64_t change_seq;     /* the source's change log read up to here */
	bool source_failed;     /* on failure: the case database was at fault
				   (could not be opened or read), not the
				   state database */
};

/* One poll of the case database as of now: poll_all or poll_cases
 * (poll.h) with env, whichever the changes call for.  The database is the
 * one conf->source names, or the SQLite file db when not NULL (--db). */
int poller_poll(struct poller *p, const struct poll_env *env, const char *db,
		struct dl_moment now, int64_t now_unix, struct poller_result *out,
		struct dl_error *err);

#endif
