/* digest.h — grouping alerts into messages, and the daily digest.
 *
 * Alerts are not sent one by one: what a poll decides to tell is added to
 * a digest, and digest_send makes one message per recipient and alert kind
 * ("Escalation ...: worst item (+6 more)"), so a first run after
 * installation, or a bad day, brings a recipient one message a kind, not
 * dozens.  An escalation's message is marked immediate (never held by
 * quiet hours or caps).
 *
 * The daily digest: each working day at notify.digest_time, every open
 * obligation at due-soon or beyond that a digest role (route_by_digest)
 * hears of goes into one message per recipient, once a recipient and day
 * (the state database remembers), acknowledged items marked as such.  A
 * team manager's digest also carries each rule's timeliness for their
 * team this month so far (report figures, render's words); a failure
 * there costs only those lines, never the digest.
 */
#ifndef DEADLINED_DIGEST_H
#define DEADLINED_DIGEST_H

#include <stdbool.h>
#include <stdint.h>

#include "deadlined/conf.h"
#include "deadlined/outbox.h"
#include "deadlined/route.h"
#include "deadlined/state.h"

/* What a digest works with, and when. */
struct digest_env {
	const struct conf *conf;
	struct state *st;
	struct route *route;            /* digest_daily only */
	struct outbox *outbox;
	const struct outbox_dry *dry;   /* NULL: store the messages */
	struct dl_moment now;
	int64_t now_unix;
};

struct digest;

/* NULL when out of memory.  env is copied. */
struct digest *digest_new(const struct digest_env *env);
void digest_free(struct digest *d);

/* Note that t is to hear of so as kind (acked: an acknowledgement covers
 * it).  so's strings are copied. */
int digest_add(struct digest *d, const struct route_target *t,
	       const struct state_obligation *so, enum alert_kind kind, bool acked);

/* One message per recipient and kind of what was added; *made grows by
 * the number of messages. */
int digest_send(struct digest *d, long *made, struct dl_error *err);

/* The daily digest, when env->now is a working day at or after the
 * digest time (else nothing). */
int digest_daily(const struct digest_env *env, long *made, struct dl_error *err);

#endif
