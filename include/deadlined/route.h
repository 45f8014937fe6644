/* route.h — who hears what.
 *
 * An obligation's alert level is 0 open, 1 due soon, 2 overdue, 2 + k
 * escalation stage k.  The people told of a level are the roles and
 * receivers its rule names for it (notify_due_soon, notify_overdue, an
 * escalation stage's notify), plus every `routes` entry whose rule, team
 * and alert kind match.  A role (worker, team_manager,
 * service_manager) is an e-mail address from the case database sent
 * through notify.mail_receiver; a receiver name is that receiver's fixed
 * `to` addresses, or the webhook itself.  A target reached twice is told
 * once, and remembers the highest level that named it.  A role with no
 * address is logged once per role and team until the route is closed.
 *
 * Digest roles (notify.digest_roles) hear of news that is not urgent in
 * their daily digest instead of at once (route_by_digest).
 */
#ifndef DEADLINED_ROUTE_H
#define DEADLINED_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "deadlined/conf.h"
#include "deadlined/render.h"
#include "deadlined/rules.h"
#include "deadlined/state.h"

#define ROUTE_MAX_TARGETS 64

struct route_target {
	const char *receiver;      /* receiver name */
	const char *address;       /* e-mail address, or NULL for a webhook */
	const char *role;          /* the role it came from, or NULL */
	int level;                 /* the highest level that names it */
	char key[320];             /* receiver:address, the dedup key */
	const char *covering;      /* a deputy: the manager covered, else NULL */
	char own[256];             /* a deputy's address (address points here) */
};

struct route;

int route_open(const struct conf *conf, struct route **out, struct dl_error *err);
void route_close(struct route *r);

/* Cover (deadlined-web, deadlinectl cover): while a team or service
 * manager is away, the deputy hears what they hear.  fn fills deputy with
 * who covers manager now, or "" (nonzero: could not tell; nobody is added).
 * A poll sets it for its duration; NULL: no cover. */
typedef int (*route_deputy_fn)(void *ctx, const char *manager, char *deputy, size_t size);
void route_set_deputy(struct route *r, route_deputy_fn fn, void *ctx);

/* The alert level of an obligation (see above); -1 when it is closed. */
int route_level(const struct obligation *ob);
/* The alert kind of a level: due-soon, overdue or escalation. */
enum alert_kind route_kind_of_level(int level);

/* Everyone told of levels from..to of so, and the routes for kind at
 * level `to`: at most ROUTE_MAX_TARGETS into t; returns how many. */
size_t route_targets(struct route *r, const struct state_obligation *so, int from, int to,
		     enum alert_kind kind, struct route_target *t);

/* Does t hear of kind in the daily digest rather than at once? */
bool route_by_digest(const struct route *r, const struct route_target *t, enum alert_kind kind);

#endif
