/* route.c — who hears what (see route.h). */
#include "deadlined/route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadlined/log.h"
#include "deadlined/strset.h"

struct route {
	const struct conf *conf;
	struct strset *warned;      /* "role team" pairs already warned of */
	route_deputy_fn deputy;     /* cover, or NULL */
	void *deputy_ctx;
};

void route_set_deputy(struct route *r, route_deputy_fn fn, void *ctx)
{
	r->deputy = fn;
	r->deputy_ctx = ctx;
}

int route_open(const struct conf *conf, struct route **out, struct dl_error *err)
{
	struct route *r = calloc(1, sizeof *r);

	if (!r || !(r->warned = strset_new(true))) {
		free(r);
		error_set(err, "out of memory");
		return -1;
	}
	r->conf = conf;
	*out = r;
	return 0;
}

void route_close(struct route *r)
{
	if (!r)
		return;
	strset_free(r->warned);
	free(r);
}

int route_level(const struct obligation *ob)
{
	switch (ob->state) {
	case OB_OPEN: return 0;
	case OB_DUE_SOON: return 1;
	case OB_OVERDUE: return 2 + ob->stage;
	default: return -1;
	}
}

enum alert_kind route_kind_of_level(int level)
{
	return level == 1 ? ALERT_DUE_SOON : level == 2 ? ALERT_OVERDUE : ALERT_ESCALATION;
}

/* Warn once per role and team (until a reload) that nobody can be told:
 * at every poll for every obligation, the warning would flood the log. */
static void warn_no_address(struct route *r, const struct state_obligation *so,
			    const char *role)
{
	char key[256];

	snprintf(key, sizeof key, "%s %s", role, so->team_ref ? so->team_ref : "");
	if (strset_find(r->warned, key))
		return;
	strset_add(r->warned, key, NULL);
	log_msg(LOG_WARNING, "no e-mail address for the %s of team %s (first seen on case %s, "
		"rule %s); nobody in that role is told until one is added (warned once until "
		"the next reload)", role, so->team_ref ? so->team_ref : "(none)", so->case_ref,
		so->rule);
}

/* Route kinds as written in the config's `routes.on`. */
static const char *route_kind(enum alert_kind k)
{
	static const char *const names[] = { "due-soon", "overdue", "escalation", "reminder",
					     "met-late", "resolved", "digest", "test" };
	return names[k];
}

/* The roles a rule tells at one level. */
static const struct schema_strings *roles_at(const struct rule *r, int level)
{
	const struct rule_stage *st = r->escalation.v;

	if (level == 1)
		return &r->notify_due_soon;
	if (level == 2)
		return &r->notify_overdue;
	if (level >= 3 && (size_t)(level - 3) < r->escalation.n)
		return &st[level - 3].notify;
	return NULL;
}

static const char *role_address(const struct state_obligation *so, const char *role)
{
	if (strcmp(role, "worker") == 0)
		return so->worker_email ? so->worker_email : so->manager_email;
	if (strcmp(role, "team_manager") == 0)
		return so->manager_email;
	return so->service_manager_email;
}

static bool in_strings(const struct schema_strings *s, const char *v)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], v) == 0)
			return true;
	return false;
}

static size_t add_target(struct route_target *t, size_t n, const char *receiver,
			 const char *address, const char *role, int level)
{
	if (n >= ROUTE_MAX_TARGETS)
		return n;
	snprintf(t[n].key, sizeof t[n].key, "%s%s%s", receiver, address ? ":" : "",
		 address ? address : "");
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].key, t[n].key) == 0) {
			t[i].level = level > t[i].level ? level : t[i].level;
			return n;
		}
	t[n].receiver = receiver;
	t[n].address = address;
	t[n].role = role;
	t[n].level = level;
	t[n].covering = NULL;
	return n + 1;
}

/* The deputy covering manager, if any, hears what the manager hears,
 * told whom they cover (digest.c puts it in the audience). */
static size_t add_deputy(struct route *r, const char *manager, const char *role, int level,
			 struct route_target *t, size_t n)
{
	char deputy[256] = "";
	size_t m;

	if (!r->deputy || r->deputy(r->deputy_ctx, manager, deputy, sizeof deputy) != 0 ||
	    !deputy[0] ||
	    (m = add_target(t, n, r->conf->notify.mail_receiver, deputy, role, level)) == n)
		return n;
	snprintf(t[n].own, sizeof t[n].own, "%s", deputy);
	t[n].address = t[n].own;
	t[n].covering = manager;
	return m;
}

/* A notify-list name: a role (e-mail via the mail receiver) or a receiver
 * (its fixed `to` addresses, or the webhook itself). */
static size_t add_name(struct route *r, const struct state_obligation *so, const char *name,
		       int level, struct route_target *t, size_t n)
{
	const struct conf *conf = r->conf;
	const struct receiver_conf *rc = conf_receiver(conf, name);
	const char *addr;

	if (!rc) {
		addr = role_address(so, name);
		if (!conf->notify.mail_receiver)
			return n;
		if (!addr) {
			warn_no_address(r, so, name);
			return n;
		}
		n = add_target(t, n, conf->notify.mail_receiver, addr, name, level);
		return strcmp(name, "worker") == 0 ? n : add_deputy(r, addr, name, level, t, n);
	}
	if (rc->kind == RECEIVER_WEBHOOK)
		return add_target(t, n, rc->name, NULL, NULL, level);
	for (size_t i = 0; i < rc->to.n; i++)
		n = add_target(t, n, rc->name, rc->to.v[i], NULL, level);
	return n;
}

static size_t by_routes(struct route *r, const struct state_obligation *so,
			enum alert_kind kind, int level, struct route_target *t, size_t n)
{
	const struct conf_route *rt = r->conf->routes.v;

	for (size_t i = 0; i < r->conf->routes.n; i++) {
		if ((rt[i].rule && strcmp(rt[i].rule, so->rule) != 0) ||
		    (rt[i].team && (!so->team_ref || strcmp(rt[i].team, so->team_ref) != 0)) ||
		    (rt[i].on.n && !in_strings(&rt[i].on, route_kind(kind))))
			continue;
		for (size_t k = 0; k < rt[i].notify.n; k++)
			n = add_name(r, so, rt[i].notify.v[k], level, t, n);
	}
	return n;
}

/* Each target remembers the highest level that names it, so a worker
 * told of an obligation that jumped straight to an escalation hears
 * "overdue" (their part) while the service manager hears "escalation". */
size_t route_targets(struct route *r, const struct state_obligation *so, int from, int to,
		     enum alert_kind kind, struct route_target *t)
{
	const struct rule *rule = conf_rule(r->conf, so->rule);
	size_t n = 0;

	for (int level = from; rule && level <= to; level++) {
		const struct schema_strings *roles = roles_at(rule, level);

		for (size_t i = 0; roles && i < roles->n; i++)
			n = add_name(r, so, roles->v[i], level, t, n);
	}
	return by_routes(r, so, kind, to, t, n);
}

bool route_by_digest(const struct route *r, const struct route_target *t, enum alert_kind kind)
{
	const struct conf_notify *cn = &r->conf->notify;

	if (cn->digest_minute < 0 || !t->role || !in_strings(&cn->digest_roles, t->role))
		return false;
	/* Digests list what is open; news of a closing must go on its own. */
	if (kind == ALERT_MET_LATE || kind == ALERT_RESOLVED)
		return false;
	return !(kind == ALERT_ESCALATION && cn->immediate_escalations == 1);
}
