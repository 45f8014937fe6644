/* digest.c — grouping alerts into messages; the daily digest (see digest.h). */
#include "deadlined/digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadlined/calendar.h"
#include "deadlined/log.h"
#include "deadlined/render.h"
#include "deadlined/report.h"
#include "deadlined/strset.h"
#include "deadlined/vec.h"

/* An alert waiting to be grouped with others for the same recipient. */
struct entry {
	const char *key, *receiver, *address, *audience;
	const char *team_ref;      /* the team whose manager the recipient is */
	enum alert_kind kind;
	struct alert_item item;
};

/* A first poll over a big source may collect hundreds of thousands of
 * entries: their strings are kept once each in a set, not one malloc
 * each, since most repeat. */
struct digest {
	struct digest_env env;
	struct entry *v;
	size_t n, cap;
	struct strset *strings;
	bool oom;
	struct dl_error *err;      /* during digest_daily's walk */
};

struct digest *digest_new(const struct digest_env *env)
{
	struct digest *d = calloc(1, sizeof *d);

	if (!d)
		return NULL;
	if (!(d->strings = strset_new(true))) {
		free(d);
		return NULL;
	}
	d->env = *env;
	return d;
}

void digest_free(struct digest *d)
{
	if (!d)
		return;
	strset_free(d->strings);
	free(d->v);
	free(d);
}

/* The entry's copy of s, shared with every other entry that has it. */
static const char *keep(struct digest *d, const char *s)
{
	const char *kept = NULL;

	if (s && !d->oom && !strset_add(d->strings, s, &kept))
		d->oom = true;
	return kept;
}

static void fill_item(const struct conf *conf, const struct state_obligation *so,
		      struct alert_item *it)
{
	const struct rule *r = conf_rule(conf, so->rule);

	*it = (struct alert_item){
		.case_ref = so->case_ref, .child_ref = so->child_ref, .rule_id = so->rule,
		.rule_title = r ? r->title : so->rule, .team_ref = so->team_ref,
		.team_name = so->team_name, .worker_ref = so->worker_ref,
		.worker_name = so->worker_name, .state = so->state, .seq = so->seq,
		.stage = so->stage, .days_overdue = so->days_overdue,
	};
	snprintf(it->anchor, sizeof it->anchor, "%s", so->anchor ? so->anchor : "");
	snprintf(it->due, sizeof it->due, "%s", so->due ? so->due : "");
	snprintf(it->closed, sizeof it->closed, "%s", so->closed ? so->closed : "");
}

int digest_add(struct digest *d, const struct route_target *t,
	       const struct state_obligation *so, enum alert_kind kind, bool acked)
{
	struct entry *e;
	const char *aud;
	char covering[600];

	if (vec_reserve((void **)&d->v, &d->cap, d->n, sizeof *d->v) < 0)
		return -1;
	e = &d->v[d->n++];
	memset(e, 0, sizeof *e);
	fill_item(d->env.conf, so, &e->item);
	e->kind = kind;
	e->item.acked = acked;
	aud = t->role && strcmp(t->role, "worker") == 0 && so->worker_name ? so->worker_name :
	      so->team_name ? so->team_name : so->team_ref;
	if (t->covering) {
		snprintf(covering, sizeof covering, "%s (you are covering for %s)",
			 aud ? aud : "a team", t->covering);
		aud = covering;
	}
	e->key = keep(d, t->key);
	e->receiver = keep(d, t->receiver);
	e->address = keep(d, t->address);
	e->audience = keep(d, aud);
	if (t->address && so->manager_email && so->team_ref &&
	    strcmp(t->address, so->manager_email) == 0)
		e->team_ref = keep(d, so->team_ref);
	/* The item points into so, which lives only during the walk. */
	e->item.case_ref = keep(d, so->case_ref);
	e->item.child_ref = keep(d, so->child_ref);
	e->item.rule_id = keep(d, so->rule);
	e->item.team_ref = keep(d, so->team_ref);
	e->item.team_name = keep(d, so->team_name);
	e->item.worker_ref = keep(d, so->worker_ref);
	e->item.worker_name = keep(d, so->worker_name);
	e->item.state = keep(d, so->state);
	return d->oom ? -1 : 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (int)x->kind - (int)y->kind;
}

static bool same_group(const struct entry *a, const struct entry *b)
{
	return strcmp(a->key, b->key) == 0 && a->kind == b->kind;
}

/* A team manager's digest: each rule's timeliness for their team (each
 * of their teams, named, when they manage more than one) this month so
 * far.  A failure costs only these lines, never the digest. */
static void month_lines(struct digest *d, const struct entry *e, size_t n,
			char ***lines, size_t *nlines)
{
	size_t teams = 0;

	*lines = NULL;
	*nlines = 0;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			struct dl_error err;
			struct report r;
			bool seen = !e[i].team_ref;

			for (size_t j = 0; !seen && j < i; j++)
				seen = e[j].team_ref && strcmp(e[j].team_ref, e[i].team_ref) == 0;
			if (seen)
				continue;
			if (pass == 0) {
				teams++;
				continue;
			}
			if (report_month_to_date(&r, d->env.conf, d->env.st, e[i].team_ref,
						 d->env.now.day, &err) < 0) {
				log_msg(LOG_WARNING, "digest: team %s: timeliness lines left out: %s",
					e[i].team_ref, err.msg);
				continue;
			}
			if (render_month_lines(&r, teams > 1 ? (e[i].item.team_name ?
					       e[i].item.team_name : e[i].team_ref) : NULL,
					       lines, nlines) < 0)
				log_msg(LOG_WARNING, "digest: team %s: timeliness lines cut short: out "
					"of memory", e[i].team_ref);
			report_free(&r);
		}
}

/* One message for a group of entries of one kind for one recipient; a
 * daily digest only once a recipient and day. */
static int send_group(struct digest *d, struct entry *e, size_t n, long *made,
		      struct dl_error *err)
{
	struct alert_item *items = malloc(n * sizeof *items);
	struct outbox_entry to = { e->receiver, e->address, n == 1 ? e->item.case_ref : NULL,
				   n == 1 ? e->item.rule_id : NULL, e->kind == ALERT_ESCALATION };
	struct alert a = { e->kind, e->audience, NULL, d->env.now_unix, items, n, NULL, NULL, 0,
			   (size_t)d->env.conf->notify.max_items };
	char today[DATE_BUF];
	bool fresh = true;
	char **lines = NULL;
	size_t nlines = 0;
	int rc = -1;

	if (!items)
		return -1;
	for (size_t i = 0; i < n; i++)
		items[i] = e[i].item;
	date_format(d->env.now.day, today);
	if (e->kind != ALERT_DIGEST ||
	    state_digest_mark(d->env.st, e->key, today, &fresh, err) == 0) {
		if (fresh && e->kind == ALERT_DIGEST)
			month_lines(d, e, n, &lines, &nlines);
		a.month_lines = lines;
		a.nmonth_lines = nlines;
		rc = fresh ? outbox_enqueue(d->env.outbox, &a, &to, d->env.dry, err) : 0;
		if (fresh && rc == 0)
			++*made;
	}
	render_lines_free(lines, nlines);
	free(items);
	return rc;
}

int digest_send(struct digest *d, long *made, struct dl_error *err)
{
	int rc = 0;

	if (d->n > 1)
		qsort(d->v, d->n, sizeof *d->v, cmp_entry);
	for (size_t i = 0, j; rc == 0 && i < d->n; i = j) {
		for (j = i + 1; j < d->n && same_group(&d->v[j], &d->v[i]); j++)
			;
		rc = send_group(d, &d->v[i], j - i, made, err);
	}
	d->n = 0;
	return rc;
}

/* Each open obligation, for those of its people who hear of it in the
 * digest. */
static int collect_daily(void *ctx, const struct state_obligation *so,
			 const struct state_prev *prev)
{
	struct digest *d = ctx;
	struct route_target t[ROUTE_MAX_TARGETS];
	char today[DATE_BUF];
	size_t n;
	bool acked;

	(void)prev;
	/* An acknowledged item stays in the digest (it is still overdue) but
	 * says so, so that nobody chases what a manager has accepted. */
	if (state_ack_active(d->env.st, so->case_ref, so->rule, so->seq, so->level,
			     date_format(d->env.now.day, today), &acked, d->err) < 0)
		return -1;
	n = route_targets(d->env.route, so, 1, so->level, ALERT_DIGEST, t);
	for (size_t i = 0; i < n; i++)
		if (route_by_digest(d->env.route, &t[i], ALERT_DIGEST) &&
		    digest_add(d, &t[i], so, ALERT_DIGEST, acked) < 0)
			return -1;
	return 0;
}

int digest_daily(const struct digest_env *env, long *made, struct dl_error *err)
{
	const struct conf_notify *cn = &env->conf->notify;
	struct digest *d;
	int rc;

	if (cn->digest_minute < 0 || !calendar_is_working_day(env->conf->cal, env->now.day) ||
	    env->now.sec / 60 < cn->digest_minute)
		return 0;
	if (!(d = digest_new(env))) {
		error_set(err, "out of memory");
		return -1;
	}
	d->err = err;
	rc = state_each_open(env->st, 1, collect_daily, d, err);
	if (rc == 0)
		rc = digest_send(d, made, err);
	digest_free(d);
	return rc;
}
