/* state.h — the daemon's own store (never the case database).
 *
 * Holds the obligations as last seen, the outbox of messages, the log of
 * what was notified to whom (so nothing is sent twice), acknowledgements,
 * per-recipient daily counts, digests sent and poll history.  The schema
 * carries a version and forward migrations run at start-up.  A poll's
 * transitions and the messages they cause are written in one transaction
 * (state_begin/state_commit) before anything is sent.
 *
 * The store is reached through a backend that state.driver names
 * (state_backend.h): the SQLite file (state_sqlite.c, WAL mode) is the
 * first; PostgreSQL (state_pg.c), which an active/standby pair shares, the
 * second.  These functions dispatch to it; each returns 0, or -1 with err.
 */
#ifndef DEADLINED_STATE_H
#define DEADLINED_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deadlined/date.h"
#include "deadlined/error.h"

#define STATE_SCHEMA_VERSION 6
/* The PostgreSQL store counts its own versions (state_pg.c's migrations). */
#define STATE_PG_SCHEMA_VERSION 6

struct state;

/* Where the store is: the settings of the `state` group (deadlined.conf(5)). */
struct state_conf {
	const char *driver;        /* "sqlite" (NULL: "sqlite") or "postgresql" */
	const char *database;      /* sqlite: the file's path ("": a private, temporary one) */
	const char *conninfo;      /* postgresql: libpq keywords or URI, never a password */
	const char *password_file; /* postgresql: the password, or NULL */
	const char *password_credential;  /* ... or a name in $CREDENTIALS_DIRECTORY */
	const char *holder;        /* postgresql: the lease holder this process leads as,
				    * which tags its sessions (pgconn.h); NULL: host:pid,
				    * the daemon's own */
};

/* Is there a backend of this name?  Their names, comma-separated. */
bool state_driver_known(const char *driver);
const char *state_driver_names(void);

/* Has the store been made (by a daemon's first start)?  Commands that only
 * read say so rather than open nothing. */
bool state_exists(const struct state_conf *conf);
/* Where the store is, for people and logs: the SQLite file's path, or the
 * PostgreSQL server and database (never the rest of the conninfo). */
const char *state_describe(const struct state_conf *conf, char *buf, size_t size);

/* Open (creating and migrating) for the daemon and for commands that write
 * (ack, retry). */
int state_open(const struct state_conf *conf, struct state **out, struct dl_error *err);
/* Open for reading only: nothing is made and no migration runs, so a
 * newer deadlinectl never changes the schema under an older daemon. */
int state_open_readonly(const struct state_conf *conf, struct state **out,
			struct dl_error *err);
/* How long a write waits for another writer, 5 s unless set.  The
 * daemon's incremental polls hold the write lock for milliseconds; a full
 * poll holds it only in short transactions (state_stage_apply). */
void state_set_write_wait(struct state *st, int ms);
void state_close(struct state *st);

/* Fence the outbox by a leader lease (lease.h): from now on messages are
 * claimed (state_each_due) only while `epoch` holds `lease` in the shared
 * store, and marked (state_mark_message) only while the epoch that claimed
 * them holds it; otherwise those calls fail with an error that begins
 * STATE_FENCED_PREFIX and change nothing.  A store that no other daemon
 * shares (SQLite) ignores it.  -1 only when out of memory. */
#define STATE_FENCED_PREFIX "fenced: "
int state_set_fence(struct state *st, const char *lease, int64_t epoch);

int state_begin(struct state *st, struct dl_error *err);
int state_commit(struct state *st, struct dl_error *err);
void state_rollback(struct state *st);

/* Obligations: the key is (case_ref, rule, seq). */
struct state_obligation {
	const char *case_ref, *rule;
	int seq;
	const char *child_ref, *team_ref, *team_name, *worker_ref, *worker_name;
	const char *worker_email, *manager_email, *service_manager_email;
	const char *anchor, *due, *closed;   /* closed: NULL while open */
	const char *state;                   /* rules_state_name() */
	int stage, days_overdue;
	int level;          /* 0 open, 1 due-soon, 2 overdue, 2+k stage k; -1 closed */
	int64_t fp;         /* fingerprint of the values above (0: none); written with
			     * them, and compared by a full poll instead of them */
};

struct state_prev {
	bool found;
	int level;           /* as last seen */
	int alerted_level;   /* the highest level alerted (0: none) */
	char last_alert[DATE_BUF];   /* day of the last alert or reminder, or "" */
};

/* Insert or update, returning what was stored before. */
int state_put_obligation(struct state *st, const struct state_obligation *ob,
			 int64_t poll, struct state_prev *prev, struct dl_error *err);
int state_set_alerted(struct state *st, const char *case_ref, const char *rule, int seq,
		      int level, const char *day, struct dl_error *err);
/* Obligations still open that this poll did not see (their case changed
 * or vanished) are closed as "gone". */
int state_close_unseen(struct state *st, int64_t poll, struct dl_error *err);

/* The same, for one case only (an incremental poll re-evaluated it). */
int state_close_unseen_case(struct state *st, const char *case_ref, int64_t poll,
			    struct dl_error *err);

/* A full poll, staged.
 *
 * state_stage_begin opens a read snapshot of the stored state and an empty
 * stage (in SQLite, temporary tables of this connection; it holds no write
 * lock, so acks and retries go on while the poll evaluates).  Until
 * state_stage_apply, state_note_sent, state_set_alerted and
 * state_set_recheck write to the stage, not the store; note_sent's *fresh
 * still counts what the store holds.  The poll adds the obligations that
 * differ from the store (state_stage_obligation; alerts: whether the poll
 * tells anyone about it) and the stored open obligations it did not see
 * (state_stage_gone).  state_stage_abort drops the stage: nothing stored
 * has changed, however far the poll got.
 *
 * state_stage_apply ends the snapshot and applies the stage.  With chunked
 * (given to state_stage_begin),
 * what tells nobody (obligations staged without alerts, gone ones) goes
 * first in short transactions of their own (a few thousand rows each, with
 * a pause between for a waiting writer); a crash there leaves true values
 * that the next full poll finds as they are.  Then it begins the final
 * transaction and writes in it the rechecks (replacing them all), the
 * obligations staged with alerts, the alert marks and the notified log,
 * and returns with that transaction open: the caller adds the messages and
 * commits, so a poll's messages and what they are about are stored
 * together or not at all.  The short transactions are not synced one by
 * one (a crash may lose the last of them; the next full poll writes them
 * again); the final one is, and with it all before it.  Without chunked
 * (a dry run) the evaluation holds no write lock either, and everything
 * is applied in that one final transaction (which a dry run rolls back).
 * On failure nothing is open.  Over an empty store (a first run), the
 * obligations staged without alerts go straight into the store as the
 * poll goes (in chunks when chunked; without, in one write transaction
 * from the start): there is nothing to keep unchanged, and staging
 * millions of rows twice would double the first run.
 *
 * Outside a stage (an incremental poll, in its one transaction),
 * state_stage_obligation and state_stage_gone write to the store at once. */
/* Does the store walk and stage (both stores do; a store without
 * these operations gets every poll in one transaction, a lookup by key an
 * obligation, as before)? */
bool state_can_merge(const struct state *st);
int state_stage_begin(struct state *st, bool chunked, struct dl_error *err);
int state_stage_obligation(struct state *st, const struct state_obligation *ob,
			   bool alerts, struct dl_error *err);
int state_stage_gone(struct state *st, const char *case_ref, const char *rule, int seq,
		     struct dl_error *err);
/* Take back the gone obligations staged for case_ref (a case seen out of
 * key order, after the walk passed it). */
int state_unstage_gone_case(struct state *st, const char *case_ref, struct dl_error *err);
/* Called after each chunk applied (a watchdog to feed); non-zero stops the
 * apply with an error.  May be NULL. */
struct state_tick {
	int (*fn)(void *ctx);
	void *ctx;
};
int state_stage_apply(struct state *st, const struct state_tick *tick, struct dl_error *err);
void state_stage_abort(struct state *st);

/* The stored obligations in key order, inside a stage's snapshot: ordered
 * by case_ref, then rule, as bytes (strcmp; PostgreSQL: COLLATE "C"), then
 * seq, open and closed alike.  A row's strings last until the next call. */
struct state_stored {
	const char *case_ref, *rule;
	int seq;
	int64_t fp;                  /* 0: unknown, so never equal */
	bool open;
	struct state_prev prev;      /* found, level, alerted_level, last_alert */
};
struct state_walk;
int state_walk_begin(struct state *st, struct state_walk **out, struct dl_error *err);
/* 1 with the next row, 0 at the end, -1 on error. */
int state_walk_next(struct state_walk *w, struct state_stored *row, struct dl_error *err);
void state_walk_end(struct state_walk *w);
/* One case's stored obligations in the same order (for a case that comes
 * out of order). */
typedef int (*state_stored_fn)(void *ctx, const struct state_stored *row);
int state_each_stored(struct state *st, const char *case_ref, state_stored_fn fn, void *ctx,
		      struct dl_error *err);

/* Case prints (optional operations; SQLite has them from schema 6,
 * PostgreSQL from its schema 5).
 *
 * A case print is one integer a full poll computes from all of a case's
 * obligations as it would store them (poll_merge_case_print), stored per
 * case beside the obligations.  The contract, which makes a skipped case
 * safe:
 *   - every case with stored obligations has a print row (it may be
 *     STATE_PRINT_UNKNOWN), so a full poll that walks the prints finds
 *     every case that vanished;
 *   - a stored print other than STATE_PRINT_UNKNOWN means: a poll whose
 *     evaluation gives this print for the case has nothing to write for
 *     it.  Hence every write to a case's obligations, by anyone, that
 *     changes what the print covers (every column but alerted_level,
 *     last_alert, seen_poll, first_seen, updated) makes the case's print
 *     unknown in the same transaction.  Both stores keep this with triggers
 *     on obligations (PostgreSQL's per statement, and on every update).
 * state_case_walk_begin walks the print rows in case_ref byte order
 * inside a stage's snapshot (end it with state_walk_end).
 * state_stage_case_print stages a case's new print; the apply writes the
 * staged prints after the quiet chunks and before the final transaction,
 * so a poll stages a print only for a case whose changes are all quiet
 * (nothing told; nothing at level 1 or more, which is always compared in
 * full).  A crash before the prints leaves them unknown or as they were,
 * and a write to the case since nulled them.  Over an empty store (a
 * first run) SQLite writes the print at once, after the case's rows;
 * PostgreSQL stages it as any other. */
#define STATE_PRINT_UNKNOWN 0
struct state_case_print {
	const char *case_ref;        /* until the next call */
	int64_t print;
};
bool state_can_walk_cases(const struct state *st);
int state_case_walk_begin(struct state *st, struct state_walk **out, struct dl_error *err);
/* 1 with the next row, 0 at the end, -1 on error. */
int state_case_walk_next(struct state_walk *w, struct state_case_print *row,
			 struct dl_error *err);
int state_stage_case_print(struct state *st, const char *case_ref, int64_t print,
			   struct dl_error *err);

/* Rechecks: when a case must be evaluated again although its rows did not
 * change, in seconds of local time (day * 86400 + second of the day).
 * STATE_NO_RECHECK removes the case's entry. */
#define STATE_NO_RECHECK INT64_MAX
int state_set_recheck(struct state *st, const char *case_ref, int64_t at,
		      struct dl_error *err);
int state_clear_rechecks(struct state *st, struct dl_error *err);
/* The cases due by upto, in no order; fn must not write rechecks. */
typedef int (*state_ref_fn)(void *ctx, const char *case_ref);
int state_each_recheck(struct state *st, int64_t upto, state_ref_fn fn, void *ctx,
		       struct dl_error *err);
/* The earliest recheck, or STATE_NO_RECHECK. */
int state_next_recheck(struct state *st, int64_t *at, struct dl_error *err);

/* Walk open obligations at level >= min_level. */
typedef int (*state_obligation_fn)(void *ctx, const struct state_obligation *ob,
				   const struct state_prev *prev);
int state_each_open(struct state *st, int min_level, state_obligation_fn fn, void *ctx,
		    struct dl_error *err);

/* For reports: obligations of rule and team (NULL: any) anchored on or
 * before `to` and not closed before `from` (days, "YYYY-MM-DD"), with the
 * reason of the latest acknowledgement (or NULL).  Closed obligations are
 * never pruned, so this reaches back to the first poll.  Those still open
 * when their case vanished ("gone") have no outcome and are left out. */
typedef int (*state_report_fn)(void *ctx, const struct state_obligation *ob,
			       const char *ack_reason);
int state_each_for_report(struct state *st, const char *from, const char *to,
			  const char *team, const char *rule, state_report_fn fn, void *ctx,
			  struct dl_error *err);
/* When the first poll started (unix seconds), or 0 when none has. */
int state_first_poll(struct state *st, int64_t *when, struct dl_error *err);

/* Record that `what` about an obligation went (or will go, by digest) to
 * recipient; *fresh says whether it was new.  The unique key is what makes
 * "never twice for the same (obligation, stage, recipient)" hold. */
int state_note_sent(struct state *st, const char *case_ref, const char *rule, int seq,
		    const char *what, const char *recipient, bool *fresh, struct dl_error *err);

/* The outbox. */
struct state_message {
	int64_t id;
	const char *msg_id, *receiver, *recipient, *kind, *case_ref, *rule;
	int immediate;       /* escalations: not held by quiet hours */
	const char *subject, *text, *html, *payload;
	int64_t created, next_attempt;
	int attempts;
	const char *status;  /* pending, sent, dead */
	const char *last_error;
};

int state_enqueue(struct state *st, const struct state_message *m, int64_t *id,
		  struct dl_error *err);
/* Pending messages due by now, oldest first, at most max. */
typedef int (*state_message_fn)(void *ctx, const struct state_message *m);
int state_each_due(struct state *st, int64_t now, int max, state_message_fn fn, void *ctx,
		   struct dl_error *err);
int state_mark_message(struct state *st, int64_t id, const char *status, int attempts,
		       int64_t next_attempt, const char *last_error, int64_t sent_at,
		       struct dl_error *err);
/* Dead letters back to pending (id 0: all); returns how many. */
int state_retry_dead(struct state *st, int64_t id, int64_t now, int *count,
		     struct dl_error *err);
int state_each_message(struct state *st, const char *status, state_message_fn fn, void *ctx,
		       struct dl_error *err);

/* Messages sent to a recipient on a local day, for daily caps. */
int state_count_sent(struct state *st, const char *recipient, const char *day, int *count,
		     struct dl_error *err);
int state_add_sent(struct state *st, const char *recipient, const char *day,
		   struct dl_error *err);

/* Digests: one a recipient a working day. */
int state_digest_mark(struct state *st, const char *recipient, const char *day,
		      bool *fresh, struct dl_error *err);

/* Acknowledgements. */
struct state_ack {
	const char *case_ref, *rule;
	int seq;
	const char *until, *reason, *who;
	int level;           /* the obligation's level when acknowledged */
	int64_t created;
};
/* Acknowledge the latest open obligation of (case_ref, rule). */
int state_ack(struct state *st, const char *case_ref, const char *rule, const char *until,
	      const char *reason, const char *who, int64_t now, struct state_ack *out,
	      struct dl_error *err);
/* Is there an ack for this obligation at this level, valid on day? */
int state_ack_active(struct state *st, const char *case_ref, const char *rule, int seq,
		     int level, const char *day, bool *active, struct dl_error *err);
typedef int (*state_ack_fn)(void *ctx, const struct state_ack *a);
int state_each_ack(struct state *st, state_ack_fn fn, void *ctx, struct dl_error *err);

/* Polls, for status. */
struct state_poll {
	int64_t id, started, finished;
	long cases, open, due_soon, overdue, findings, enqueued;
};
int state_poll_begin(struct state *st, int64_t started, int64_t *id, struct dl_error *err);
int state_poll_end(struct state *st, const struct state_poll *p, struct dl_error *err);

struct state_status {
	struct state_poll last;      /* id 0 when none */
	long open, due_soon, overdue, escalated;
	long pending, sent, dead;
	int64_t oldest_pending;
};
int state_status(struct state *st, struct state_status *out, struct dl_error *err);

/* What the running daemon says about itself (config, pid, next poll ...). */
int state_set_meta(struct state *st, const char *key, const char *value,
		   struct dl_error *err);
int state_get_meta(struct state *st, const char *key, char *buf, size_t size,
		   struct dl_error *err);

/* Who leads a pair sharing this store (lease.h), as the store says now. */
struct state_leader {
	bool shared;                 /* false: a store no pair shares (SQLite) */
	bool found;                  /* a lease was ever taken */
	char name[128], holder[192];
	int64_t epoch;
	int64_t since;               /* unix seconds the epoch began */
	int64_t expires_in_ms;       /* < 0: it ran out that long ago */
};
int state_leader(struct state *st, struct state_leader *out, struct dl_error *err);

/* The earliest next_attempt of a pending message, or 0 when none. */
int state_next_attempt(struct state *st, int64_t *when, struct dl_error *err);

/* Cover (written by deadlined-web and deadlinectl cover, state_web.h): the
 * deputy covering manager on day ("YYYY-MM-DD"), or "" when none; the
 * latest named wins. */
int state_cover_deputy(struct state *st, const char *manager, const char *day, char *deputy,
		       size_t size, struct dl_error *err);

/* The directory (teams and workers) as this poll read it, replacing the
 * last poll's, so that deadlined-web knows a manager whose team has nothing
 * open.  Inside the poll's transaction. */
int state_clear_directory(struct state *st, struct dl_error *err);
int state_put_team(struct state *st, const char *ref, const char *name, const char *manager,
		   const char *service_manager, struct dl_error *err);
int state_put_worker(struct state *st, const char *ref, const char *name, const char *email,
		     const char *team_ref, struct dl_error *err);

#endif
