/* poll.h — one poll: evaluate, compare with state, transitions, outbox.
 *
 * A poll runs one evaluation (evaluate.h) and compares it with the store
 * (poll_merge.h: by fingerprint, in key order):
 *   1. every obligation the rules yield that differs from what was stored
 *      is written;
 *   2. each transition (due-soon, overdue, an escalation stage, a reminder
 *      while overdue and not acknowledged, optionally met-late and
 *      resolved) is told to its people (route.h), once per obligation,
 *      stage and recipient, grouped into messages (digest.h) that go to
 *      the outbox (outbox.h);
 *   3. obligations no longer yielded are closed as "gone";
 *   4. at the digest time, the daily digests.
 * An incremental poll (poll_cases) does it all in one short transaction.
 * A full poll (poll_all) stages it while holding only a read snapshot,
 * then writes what tells nobody in short transactions of its own and the
 * rest (the obligations that alert, what was told, the messages) in one
 * final transaction (state.h, "A full poll, staged"), so that acks are
 * never held up for long.  Either way the messages and what they are
 * about are committed together before anything is sent, and a failure
 * before the final commit leaves nothing half-told.  Which cases a poll
 * evaluates (all, or only those changed or due a recheck) is poller.h's
 * business; it calls poll_all or poll_cases.
 */
#ifndef DEADLINED_POLL_H
#define DEADLINED_POLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deadlined/conf.h"
#include "deadlined/evaluate.h"
#include "deadlined/outbox.h"
#include "deadlined/route.h"
#include "deadlined/source.h"
#include "deadlined/state.h"

/* What a poll works with; the caller owns each part. */
struct poll_env {
	const struct conf *conf;
	struct state *st;
	struct route *route;
	struct outbox *outbox;
	/* Called now and then during a long evaluation (systemd's watchdog);
	 * nonzero stops the poll.  May be NULL. */
	int (*tick)(void *ctx);
	void *tick_ctx;
};

struct poll_result {
	long cases, open, due_soon, overdue, escalated, findings, enqueued;
};

/* A poll of every case as of now (local) at unix time now_unix.  With dry
 * (not NULL) the transaction is rolled back: nothing is stored, nothing
 * will be sent, and each message that would have been made is described
 * to it.  sum receives the evaluation's counts (free it with
 * evaluate_summary_free). */
int poll_all(const struct poll_env *env, struct source *src, struct dl_moment now,
	     int64_t now_unix, const struct outbox_dry *dry, struct poll_result *res,
	     struct evaluate_summary *sum, struct dl_error *err);

/* The same for the cases in refs only (distinct; nrefs may be 0).
 * Obligations of those cases that the evaluation no longer yields are
 * closed as "gone", as a full poll closes them; every other obligation is
 * left as it was.  Each case's recheck time (state.h) is stored, so the
 * caller can add the cases whose time has come. */
int poll_cases(const struct poll_env *env, struct source *src, const char *const *refs,
	       size_t nrefs, struct dl_moment now, int64_t now_unix, struct poll_result *res,
	       struct evaluate_summary *sum, struct dl_error *err);

#endif
