/* state_pg.h — the daemon's own store in PostgreSQL, shared by a pair.
 *
 * The same tables as the SQLite store (state.h), in one PostgreSQL
 * database that every daemon of an active/standby pair uses.  The schema
 * carries a version in deadlined_schema; forward migrations run at open
 * under an advisory lock (two daemons starting at once never race), and a
 * database of a newer schema is refused before anything changes it.
 *
 * The outbox is fenced by the leader lease (lease.h): a message is claimed
 * only under an epoch that holds in the database at that moment, and marked
 * sent, retried or dead only while the epoch that claimed it still holds.
 * Each fenced statement reads the lease row FOR SHARE, so no take can slip
 * in between its check and its write.  A leader that was paused or cut off
 * therefore cannot claim again, and whatever it had claimed stays pending
 * for the new leader, which claims it afresh (a message in flight at the
 * failure may so be sent twice, always with its stable msg_id).  A sent
 * message counts towards its recipient's daily cap in the same statement
 * that marks it sent, so a cap is counted once across the pair.
 *
 * Until the state interface is an operations table (issue 13's
 * state_sqlite/state_ops), this is the part of the PostgreSQL store that
 * exists: schema and migrations, the fenced outbox, daily counts.
 */
#ifndef DEADLINED_STATE_PG_H
#define DEADLINED_STATE_PG_H

#include <stdint.h>

#include "deadlined/error.h"
#include "deadlined/pgconn.h"
#include "deadlined/state.h"

#define STATE_PG_SCHEMA_VERSION 1
/* Returned (not -1) when the fencing epoch does not hold: nothing changed. */
#define STATE_PG_FENCED 1

struct state_pg;

/* Connect, refuse a newer schema, migrate an older one.  Settings left 0
 * default to a 10 s connect, a 60 s statement and 15 s keepalives. */
int state_pg_open(const struct pgconn_settings *s, struct state_pg **out,
		  struct dl_error *err);
void state_pg_close(struct state_pg *st);
int state_pg_version(struct state_pg *st, int *version, struct dl_error *err);

/* The lease and epoch the outbox is fenced by; epoch 0 fences everything. */
int state_pg_set_fence(struct state_pg *st, const char *lease_name, int64_t epoch);

int state_pg_enqueue(struct state_pg *st, const struct state_message *m, int64_t *id,
		     struct dl_error *err);
/* Claim pending messages due by now (at most max, escalations first, then
 * oldest) under the fence and walk them.  STATE_PG_FENCED when the epoch
 * does not hold. */
int state_pg_claim_due(struct state_pg *st, int64_t now, int max, state_message_fn fn,
		       void *ctx, struct dl_error *err);
/* Mark a claimed message sent and count it for its recipient on day (local
 * "YYYY-MM-DD"), in one statement; STATE_PG_FENCED (nothing changed) when
 * the epoch that claimed it no longer holds. */
int state_pg_mark_sent(struct state_pg *st, int64_t id, int attempts, int64_t sent_at,
		       const char *detail, const char *day, struct dl_error *err);
/* The same for "pending" (a retry at next_attempt) or "dead". */
int state_pg_mark_message(struct state_pg *st, int64_t id, const char *status, int attempts,
			  int64_t next_attempt, const char *last_error, struct dl_error *err);

int state_pg_count_sent(struct state_pg *st, const char *recipient, const char *day,
			int *count, struct dl_error *err);
/* Dead letters back to pending (id 0: all); returns how many in *count. */
int state_pg_retry_dead(struct state_pg *st, int64_t id, int64_t now, int *count,
			struct dl_error *err);
/* Every message with status (NULL: all), in id order. */
int state_pg_each_message(struct state_pg *st, const char *status, state_message_fn fn,
			  void *ctx, struct dl_error *err);

#endif
