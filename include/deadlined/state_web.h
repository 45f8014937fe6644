/* state_web.h — what deadlined-web reads and writes in the state database.
 *
 * The web never opens the case database.  The daemon stores, for each
 * obligation, the team, the worker and the addresses of worker, team
 * manager and service manager as the case database gave them at the last
 * poll, and the directory of teams and workers (directory_teams,
 * directory_workers); who may see what follows from those, from cover (a deputy
 * named for a date range) and from the configured administrators.  The web
 * writes only acknowledgements (through state_ack, exactly as deadlinectl
 * does), cover, calendar tokens and its own audit records.
 *
 * Whichever store state.driver names (state_web_backend.h: a table of
 * operations per backend, as state.h has).  Its own connection to the
 * daemon's store, opened without creating or migrating anything: the schema
 * must be this release's, else state_web_open says which side to upgrade.
 * Every write is one short statement, so it never waits for more than the
 * busy timeout on a poll's transaction.  Addresses compare without case.
 * A handle serves one thread at a time.
 */
#ifndef DEADLINED_STATE_WEB_H
#define DEADLINED_STATE_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deadlined/error.h"

struct state_web;

struct state_conf;

/* Opens the store state.driver names (sqlite or postgresql). */
int state_web_open(const struct state_conf *conf, struct state_web **out,
		   struct dl_error *err);
void state_web_close(struct state_web *sw);

/* Who is looking, and on which local day ("YYYY-MM-DD"). */
struct state_web_viewer {
	const char *email;
	bool admin;          /* sees everything */
	const char *today;
};

/* One obligation as the tray shows it; ack_* are NULL when no ack is in
 * force (at the obligation's present level, until today or later). */
struct state_web_item {
	const char *case_ref, *rule;
	int seq;
	const char *team_ref, *team_name, *worker_name, *worker_email;
	const char *manager_email, *service_manager_email;
	const char *anchor, *due, *closed, *state;
	int stage, days_overdue, level;
	int64_t ack_id;
	const char *ack_until, *ack_reason, *ack_who;
	const char *why;     /* "worker", "manager", "service manager", "deputy", "admin" */
};

/* NULL fields match anything.  A page of the tray: skip the worst offset
 * rows, then give at most max (max <= 0: all, offset ignored). */
struct state_web_filter {
	const char *rule, *state, *team;
	const char *case_ref;    /* a case's obligations, closed ones too; NULL: open */
	long max;
	long offset;
};

/* The viewer's open obligations by state, over the whole set the filter's
 * rule and team choose (its state, case and paging ignored): escalated
 * ones are overdue ones past an escalation stage. */
struct state_web_counts {
	long open, due_soon, overdue, escalated;
	long total;              /* open + due_soon + overdue */
};

typedef int (*state_web_item_fn)(void *ctx, const struct state_web_item *it);
/* The viewer's items, worst first (level, then days overdue, then due). */
int state_web_each_item(struct state_web *sw, const struct state_web_viewer *v,
			const struct state_web_filter *f, state_web_item_fn fn, void *ctx,
			struct dl_error *err);

/* How many of the viewer's open obligations are in each state: one
 * aggregate query, not a walk of the rows. */
int state_web_count_items(struct state_web *sw, const struct state_web_viewer *v,
			  const struct state_web_filter *f, struct state_web_counts *out,
			  struct dl_error *err);

/* Does the viewer appear anywhere (an address on an open obligation or in
 * the directory the last poll read, or a deputy with cover running today
 * for one of those)?  Those who do not get a 403. */
int state_web_known(struct state_web *sw, const struct state_web_viewer *v, bool *known,
		    struct dl_error *err);
/* Does the case exist, and may the viewer see it? */
int state_web_case_access(struct state_web *sw, const struct state_web_viewer *v,
			  const char *case_ref, bool *exists, bool *visible, struct dl_error *err);

/* Has (case_ref, rule) an open obligation? */
int state_web_is_open(struct state_web *sw, const char *case_ref, const char *rule, bool *open,
		      struct dl_error *err);

/* Teams the viewer can see, for the tray's filter (administrators: the
 * directory's). */
typedef int (*state_web_team_fn)(void *ctx, const char *team_ref, const char *team_name);
int state_web_each_team(struct state_web *sw, const struct state_web_viewer *v,
			state_web_team_fn fn, void *ctx, struct dl_error *err);

/* Withdraw the ack with this id if the viewer may see its case; *done says
 * whether one was removed.  What it said stays in the audit records. */
int state_web_withdraw_ack(struct state_web *sw, const struct state_web_viewer *v, int64_t id,
			   bool *done, struct dl_error *err);

/* Cover: while from <= today <= to, deputy sees and acts for manager. */
struct state_web_cover {
	int64_t id;
	const char *manager, *deputy, *from, *to, *who;
	int64_t created;
};
int state_web_add_cover(struct state_web *sw, const struct state_web_cover *c,
			struct dl_error *err);
/* End a cover early (it is kept, ending yesterday); manager NULL: any. */
int state_web_end_cover(struct state_web *sw, int64_t id, const char *manager,
			const char *yesterday, bool *done, struct dl_error *err);
typedef int (*state_web_cover_fn)(void *ctx, const struct state_web_cover *c);
/* Covers not yet over on today, naming person as manager or deputy (NULL: all). */
int state_web_each_cover(struct state_web *sw, const char *person, const char *today,
			 state_web_cover_fn fn, void *ctx, struct dl_error *err);

/* Calendar-feed tokens: only a hash of each is kept.  A person has at most
 * one live token: a new one revokes the old. */
int state_web_new_token(struct state_web *sw, const char *person, const char *hash,
			int64_t now, struct dl_error *err);
/* Revoke person's live token; *done says whether there was one. */
int state_web_revoke_token(struct state_web *sw, const char *person, int64_t now, bool *done,
			   struct dl_error *err);
/* Whose live token has this hash: person filled, or "" when none. */
int state_web_token_person(struct state_web *sw, const char *hash, char *person, size_t size,
			   struct dl_error *err);
/* Does person have a live token, and since when (0: none)? */
int state_web_token_since(struct state_web *sw, const char *person, int64_t *since,
			  struct dl_error *err);

/* Messages in the outbox by receiver and status (pending, sent, dead), for
 * /metrics. */
typedef int (*state_web_count_fn)(void *ctx, const char *receiver, const char *status,
				  long n);
int state_web_each_delivery_count(struct state_web *sw, state_web_count_fn fn, void *ctx,
				  struct dl_error *err);

/* The web's audit trail: who did what, when, from which address. */
int state_web_audit(struct state_web *sw, const char *who, const char *origin,
		    const char *action, const char *detail, int64_t now, struct dl_error *err);
struct state_web_audit_row {
	int64_t at;
	const char *who, *origin, *action, *detail;
};
typedef int (*state_web_audit_fn)(void *ctx, const struct state_web_audit_row *r);
int state_web_each_audit(struct state_web *sw, state_web_audit_fn fn, void *ctx,
			 struct dl_error *err);

#endif
