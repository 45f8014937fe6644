/* notify.h — from obligations to messages, and from the outbox to receivers.
 *
 * notify_poll runs one evaluation inside one state transaction: every
 * obligation is stored, each transition (due-soon, overdue, an escalation
 * stage, a reminder, optionally met-late and resolved) becomes messages for
 * its recipients, and digests fall due at the configured time; all of it is
 * committed before anything is sent.  notify_deliver then hands pending
 * messages to the receivers, with quiet hours, daily caps, retries with
 * backoff and jitter, and dead letters.
 */
#ifndef DEADLINED_NOTIFY_H
#define DEADLINED_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "deadlined/conf.h"
#include "deadlined/evaluate.h"
#include "deadlined/source.h"
#include "deadlined/state.h"

struct notify;

int notify_open(const struct conf *conf, struct state *st, struct notify **out,
		struct dl_error *err);
void notify_close(struct notify *n);

/* In an active/standby pair: may_send is asked right before each batch is
 * handed to a receiver; when it says no, the delivery round stops with an
 * error that begins STATE_FENCED_PREFIX, nothing more is sent, and what was
 * claimed stays pending for the new leader.  NULL: always send. */
void notify_set_gate(struct notify *n, bool (*may_send)(void *ctx), void *ctx);

struct notify_poll_result {
	long cases, open, due_soon, overdue, escalated, findings, enqueued;
};

/* One poll as of now (local) at unix time now_unix.  With dry_run the
 * transaction is rolled back: nothing is stored, nothing will be sent, and
 * each message that would have been made is described to `dry` (may be
 * NULL).  sum receives the evaluation's counts (free it with
 * evaluate_summary_free). */
typedef void (*notify_dry_fn)(void *ctx, const char *receiver, const char *recipient,
			      const char *subject);
int notify_poll(struct notify *n, struct source *src, struct dl_moment now, int64_t now_unix,
		bool dry_run, notify_dry_fn dry, void *dry_ctx,
		struct notify_poll_result *res, struct evaluate_summary *sum,
		struct dl_error *err);

/* An incremental poll: the same for the cases in refs only (distinct;
 * nrefs may be 0).  Obligations of those cases that the evaluation no
 * longer yields are closed as "gone", as a full poll closes them; every
 * other obligation is left as it was.  Each case's recheck time (state.h)
 * is stored, so the caller can add the cases whose time has come. */
int notify_poll_cases(struct notify *n, struct source *src, const char *const *refs,
		      size_t nrefs, struct dl_moment now, int64_t now_unix,
		      struct notify_poll_result *res, struct evaluate_summary *sum,
		      struct dl_error *err);

struct notify_deliver_result {
	long sent, retried, dead, held;
};

/* Deliver up to max pending messages that are due. */
int notify_deliver(struct notify *n, int64_t now_unix, int max,
		   struct notify_deliver_result *res, struct dl_error *err);


/* Send one test message through a receiver now, bypassing the outbox. */
int notify_test(struct notify *n, const char *receiver, const char *to,
		struct delivery_result *result, struct dl_error *err);

#endif
