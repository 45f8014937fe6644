/* poller.h — what a poll evaluates: everything, or only what changed.
 *
 * The case database stays open from poll to poll.  A poll with nothing to
 * do costs a stat and two PRAGMAs (data_version, only meaningful on the same
 * connection, and schema_version) and a look at the rechecks index.  Else:
 *   - a full evaluation at the first poll, after poller_want_full (a
 *     reload), when the file at the path is another one (an import renamed
 *     over it), when it was rewritten behind SQLite's back or its schema
 *     changed, after a failed poll, when the source has no change log and
 *     changed, when the change log says "everything" (teams or workers
 *     changed, rows pruned unread), and every service.reconcile_interval;
 *   - otherwise only the cases named in deadlined_changes since the last
 *     poll, and the cases whose recheck time (state.h) has come: a clock
 *     reaching due-soon or overdue, a day passing for an overdue one, a
 *     future-dated event arriving.
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
	int64_t change_seq;     /* deadlined_changes read up to here */
};

/* One poll of the case database at path db as of now: poll_all or
 * poll_cases (poll.h) with env, whichever the changes call for. */
int poller_poll(struct poller *p, const struct poll_env *env, const char *db,
		struct dl_moment now, int64_t now_unix, struct poller_result *out,
		struct dl_error *err);

#endif
