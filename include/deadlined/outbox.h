/* outbox.h — messages waiting to be sent, and sending them.
 *
 * A poll puts each message in the outbox (outbox_enqueue: rendered and
 * stored in the state database inside the poll's transaction), so a crash
 * loses nothing.  Sending is separate: outbox_drain hands due messages to
 * their receivers in rounds, one batch per receiver, and settles each:
 *   - sent: logged, counted against the recipient's daily cap;
 *   - held: quiet hours, or the recipient's daily cap reached (messages
 *     marked immediate, escalations, are never held); due again when the
 *     quiet hours end or at local midnight;
 *   - retried: exponential backoff from notify.retry_initial, doubled each
 *     attempt up to notify.retry_max, with jitter (half the delay to the
 *     whole), never sooner than a server's Retry-After;
 *   - dead: a permanent failure, or a retry that would fall after
 *     notify.dead_after from the message's creation; `deadlinectl retry`
 *     brings it back.
 * outbox_drain is the one drain loop: the service and `deadlined --once`
 * both use it.  Receivers are opened on first use and kept until
 * outbox_close.
 */
#ifndef DEADLINED_OUTBOX_H
#define DEADLINED_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "deadlined/conf.h"
#include "deadlined/render.h"
#include "deadlined/state.h"

struct delivery_result;
struct outbox;

/* st may be NULL for outbox_test only. */
int outbox_open(const struct conf *conf, struct state *st, struct outbox **out,
		struct dl_error *err);
void outbox_close(struct outbox *o);

/* In an active/standby pair: may_send is asked right before each batch is
 * handed to a receiver; when it says no, the drain stops with an error that
 * begins STATE_FENCED_PREFIX, nothing more is sent, and what was claimed
 * stays pending for the new leader.  NULL: always send. */
void outbox_set_gate(struct outbox *o, bool (*may_send)(void *ctx), void *ctx);

/* ---- putting messages in ------------------------------------------------ */

/* Where one message goes, and what it is about (for the journal). */
struct outbox_entry {
	const char *receiver;           /* receiver name */
	const char *recipient;          /* e-mail address, or NULL (webhook) */
	const char *case_ref, *rule;    /* when it is about one obligation */
	bool immediate;                 /* never held by quiet hours or caps */
};

/* A dry run: each message that would be made is described, none stored. */
typedef void (*outbox_dry_fn)(void *ctx, const char *receiver, const char *recipient,
			      const char *subject);
struct outbox_dry {
	outbox_dry_fn fn;               /* may be NULL: count only */
	void *ctx;
};

/* Render a (its msg_id is made here; a->created is the creation time, and
 * the message is due at once) and store it, or with dry (not NULL) only
 * describe it. */
int outbox_enqueue(struct outbox *o, struct alert *a, const struct outbox_entry *e,
		   const struct outbox_dry *dry, struct dl_error *err);

/* ---- sending ------------------------------------------------------------ */

struct outbox_result {
	long sent, retried, dead, held;
};

/* Between rounds of a drain: nonzero stops it (a stop request, say). */
typedef int (*outbox_tick_fn)(void *ctx);

/* One round: up to max due messages as of now_unix.  res is this round's. */
int outbox_deliver(struct outbox *o, int64_t now_unix, int max, struct outbox_result *res,
		   struct dl_error *err);

/* Rounds of up to max messages as of the time each starts, until a round
 * sends, retries and kills nothing, rounds are done, or tick (may be NULL)
 * returns nonzero.  total sums the rounds. */
int outbox_drain(struct outbox *o, int rounds, int max, outbox_tick_fn tick, void *ctx,
		 struct outbox_result *total, struct dl_error *err);

/* Send one test message through a receiver now, bypassing the outbox. */
int outbox_test(struct outbox *o, const char *receiver, const char *to,
		struct delivery_result *result, struct dl_error *err);

/* ---- the policy, for tests ---------------------------------------------- */

/* The delay before attempt attempts+1: see the contract above. */
int64_t outbox_backoff(const struct conf_notify *cn, int attempts, long retry_after);
/* Is now (unix) inside the quiet hours, which may span midnight? */
bool outbox_quiet(const struct conf_notify *cn, int64_t now);
/* When a message made at `created` becomes a dead letter: dead_after in
 * local civil time (working days count the calendar). */
int64_t outbox_dead_at(const struct conf *conf, int64_t created);

#endif
