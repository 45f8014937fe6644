/* notify.c — transitions to messages, outbox to receivers (see notify.h). */
#include "deadlined/notify.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "deadlined/arena.h"
#include "deadlined/evaluate.h"
#include "deadlined/log.h"
#include "deadlined/poll_merge.h"
#include "deadlined/receiver.h"
#include "deadlined/render.h"
#include "deadlined/report.h"
#include "deadlined/service.h"
#include "deadlined/vec.h"

#define MAX_TARGETS 64
#define BATCH 50

struct opened {
	const char *name;
	struct receiver *r;
};

struct notify {
	const struct conf *conf;
	struct state *st;
	struct opened *recv;        /* opened on first use */
	size_t nrecv;
	char host[64];
	char **warned;              /* "role team" pairs already warned of */
	size_t nwarned, capwarned;
};

int notify_open(const struct conf *conf, struct state *st, struct notify **out,
		struct dl_error *err)
{
	struct notify *n = calloc(1, sizeof *n);

	if (!n || !(n->recv = calloc(conf->receivers.n + 1, sizeof *n->recv))) {
		free(n);
		error_set(err, "out of memory");
		return -1;
	}
	n->conf = conf;
	n->st = st;
	if (gethostname(n->host, sizeof n->host) != 0 || !n->host[0])
		snprintf(n->host, sizeof n->host, "localhost");
	n->host[sizeof n->host - 1] = '\0';
	/* A Message-ID's right side must be a plain domain-like word. */
	for (char *p = n->host; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			*p = '-';
	*out = n;
	return 0;
}

void notify_close(struct notify *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nrecv; i++)
		receiver_close(n->recv[i].r);
	free(n->recv);
	for (size_t i = 0; i < n->nwarned; i++)
		free(n->warned[i]);
	free(n->warned);
	free(n);
}

/* Warn once per role and team (until a reload) that nobody can be told:
 * at every poll for every obligation, the warning would flood the log. */
static void warn_no_address(struct notify *n, const struct state_obligation *so,
			    const char *role)
{
	char key[256];

	snprintf(key, sizeof key, "%s %s", role, so->team_ref ? so->team_ref : "");
	for (size_t i = 0; i < n->nwarned; i++)
		if (strcmp(n->warned[i], key) == 0)
			return;
	if (vec_reserve((void **)&n->warned, &n->capwarned, n->nwarned, sizeof *n->warned) == 0 &&
	    (n->warned[n->nwarned] = strdup(key)))
		n->nwarned++;
	log_msg(LOG_WARNING, "no e-mail address for the %s of team %s (first seen on case %s, "
		"rule %s); nobody in that role is told until one is added (warned once until "
		"the next reload)", role, so->team_ref ? so->team_ref : "(none)", so->case_ref,
		so->rule);
}

/* The receiver called name, opened on first use; NULL with err if it is
 * not configured or cannot be opened (a missing secret, say). */
static struct receiver *get_receiver(struct notify *n, const char *name, struct dl_error *err)
{
	const struct receiver_conf *rc;

	for (size_t i = 0; i < n->nrecv; i++)
		if (strcmp(n->recv[i].name, name) == 0)
			return n->recv[i].r;
	if (!(rc = conf_receiver(n->conf, name))) {
		error_set(err, "receiver %s is no longer configured", name);
		return NULL;
	}
	if (receiver_open(rc, &n->recv[n->nrecv].r, err) < 0)
		return NULL;
	n->recv[n->nrecv].name = rc->name;
	return n->recv[n->nrecv++].r;
}

static void make_msg_id(const struct notify *n, char *buf, size_t size)
{
	unsigned char r[16];
	char hex[33];

	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		for (size_t i = 0; i < sizeof r; i++)
			r[i] = (unsigned char)arc4random();
	for (size_t i = 0; i < sizeof r; i++)
		snprintf(hex + 2 * i, 3, "%02x", r[i]);
	snprintf(buf, size, "dl-%s@%s", hex, n->host);
}

/* ---- one poll ------------------------------------------------------- */

struct target {
	const char *receiver;      /* receiver name */
	const char *address;       /* e-mail address, or NULL for a webhook */
	const char *role;          /* the role it came from, or NULL */
	int level;                 /* the highest level that names it */
	char key[320];             /* receiver:address, the dedup key */
};

struct poll {
	struct notify *n;
	struct source_directory dir;
	int64_t id, now_unix;
	struct dl_moment now;
	char today[DATE_BUF];
	bool dry;
	notify_dry_fn dry_fn;
	void *dry_ctx;
	struct notify_poll_result *res;
	struct dl_error *err;
	int failed;
	struct digests *batch;     /* this poll's immediate messages, grouped */
	bool full;                 /* every case, not only some */
	struct poll_merge *merge;  /* a full poll's comparison with the store */
	bool told;                 /* transitions() told or marked something */
	bool seeded;               /* seed is the current case's fingerprint seed */
	uint64_t seed;
};

static int level_of(const struct obligation *ob)
{
	switch (ob->state) {
	case OB_OPEN: return 0;
	case OB_DUE_SOON: return 1;
	case OB_OVERDUE: return 2 + ob->stage;
	default: return -1;
	}
}

static enum alert_kind kind_of_level(int level)
{
	return level == 1 ? ALERT_DUE_SOON : level == 2 ? ALERT_OVERDUE : ALERT_ESCALATION;
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

static size_t add_target(struct target *t, size_t n, const char *receiver,
			 const char *address, const char *role, int level)
{
	if (n >= MAX_TARGETS)
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
	return n + 1;
}

/* A notify-list name: a role (e-mail via the mail receiver) or a receiver
 * (its fixed `to` addresses, or the webhook itself). */
static size_t add_name(struct poll *p, const struct state_obligation *so, const char *name,
		       int level, struct target *t, size_t n)
{
	const struct conf *conf = p->n->conf;
	const struct receiver_conf *rc = conf_receiver(conf, name);
	const char *addr;

	if (!rc) {
		addr = role_address(so, name);
		if (!conf->notify.mail_receiver)
			return n;
		if (!addr) {
			warn_no_address(p->n, so, name);
			return n;
		}
		return add_target(t, n, conf->notify.mail_receiver, addr, name, level);
	}
	if (rc->kind == RECEIVER_WEBHOOK)
		return add_target(t, n, rc->name, NULL, NULL, level);
	for (size_t i = 0; i < rc->to.n; i++)
		n = add_target(t, n, rc->name, rc->to.v[i], NULL, level);
	return n;
}

static size_t route_targets(struct poll *p, const struct state_obligation *so,
			    enum alert_kind kind, int level, struct target *t, size_t n)
{
	const struct conf_route *rt = p->n->conf->routes.v;

	for (size_t i = 0; i < p->n->conf->routes.n; i++) {
		if ((rt[i].rule && strcmp(rt[i].rule, so->rule) != 0) ||
		    (rt[i].team && (!so->team_ref || strcmp(rt[i].team, so->team_ref) != 0)) ||
		    (rt[i].on.n && !in_strings(&rt[i].on, route_kind(kind))))
			continue;
		for (size_t k = 0; k < rt[i].notify.n; k++)
			n = add_name(p, so, rt[i].notify.v[k], level, t, n);
	}
	return n;
}

/* Everyone told of levels from..to of this obligation, plus routes; each
 * target remembers the highest level that names it, so a worker told of an
 * obligation that jumped straight to an escalation hears "overdue" (their
 * part) while the service manager hears "escalation". */
static size_t targets(struct poll *p, const struct state_obligation *so, int from, int to,
		      enum alert_kind kind, struct target *t)
{
	const struct rule *r = conf_rule(p->n->conf, so->rule);
	size_t n = 0;

	for (int level = from; r && level <= to; level++) {
		const struct schema_strings *roles = roles_at(r, level);

		for (size_t i = 0; roles && i < roles->n; i++)
			n = add_name(p, so, roles->v[i], level, t, n);
	}
	return route_targets(p, so, kind, to, t, n);
}

static void fill_item(const struct notify *n, const struct state_obligation *so,
		      struct alert_item *it)
{
	const struct rule *r = conf_rule(n->conf, so->rule);

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

/* An alert waiting to be grouped with others for the same recipient: the
 * daily digest, or this poll's immediate messages. */
struct digest_entry {
	const char *key, *receiver, *address, *audience;
	const char *team_ref;      /* the team whose manager the recipient is */
	enum alert_kind kind;
	struct alert_item item;
};

/* A first poll over a big source may collect hundreds of thousands of
 * entries: their strings go to one arena, not one malloc each. */
struct digests {
	struct poll *p;
	struct digest_entry *v;
	size_t n, cap;
	struct arena *strings;
	const char **set;          /* the strings kept, hashed: most repeat */
	size_t nset, setcap;
	bool oom;
};

static char *dup0(const char *s)
{
	return s ? strdup(s) : NULL;
}

static size_t str_hash(const char *s)
{
	size_t h = 14695981039346656037u;   /* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211u;
	return h;
}

static const char **set_slot(const char **set, size_t cap, const char *s)
{
	size_t i = str_hash(s) & (cap - 1);

	while (set[i] && strcmp(set[i], s) != 0)
		i = (i + 1) & (cap - 1);
	return &set[i];
}

/* Grow the set to keep it at most half full. */
static int set_grow(struct digests *d)
{
	size_t cap = d->setcap ? d->setcap * 2 : 1024;
	const char **set = calloc(cap, sizeof *set);

	if (!set)
		return -1;
	for (size_t i = 0; i < d->setcap; i++)
		if (d->set[i])
			*set_slot(set, cap, d->set[i]) = d->set[i];
	free(d->set);
	d->set = set;
	d->setcap = cap;
	return 0;
}

/* The entry's copy of s, shared with every other entry that has it. */
static const char *keep(struct digests *d, const char *s)
{
	const char **slot;

	if (!s || d->oom)
		return NULL;
	if ((d->nset + 1) * 2 > d->setcap && set_grow(d) < 0)
		goto oom;
	slot = set_slot(d->set, d->setcap, s);
	if (!*slot) {
		if ((!d->strings && !(d->strings = arena_new())) ||
		    !(*slot = arena_strdup(d->strings, s)))
			goto oom;
		d->nset++;
	}
	return *slot;
oom:
	d->oom = true;
	return NULL;
}

static int add_digest_entry(struct digests *d, const struct target *t,
			    const struct state_obligation *so, enum alert_kind kind)
{
	struct digest_entry *e;
	const char *aud;

	if (vec_reserve((void **)&d->v, &d->cap, d->n, sizeof *d->v) < 0)
		return -1;
	e = &d->v[d->n++];
	memset(e, 0, sizeof *e);
	fill_item(d->p->n, so, &e->item);
	e->kind = kind;
	aud = t->role && strcmp(t->role, "worker") == 0 && so->worker_name ? so->worker_name :
	      so->team_name ? so->team_name : so->team_ref;
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

/* Render and store one message; a dry run only describes it. */
static int enqueue(struct poll *p, const struct target *t, enum alert_kind kind,
		   bool immediate, const char *audience, const struct alert_item *items,
		   size_t nitems, const char *case_ref, const char *rule,
		   char *const *lines, size_t nlines)
{
	char msg_id[128];
	struct alert a = { kind, audience, msg_id, p->now_unix, items, nitems, NULL, lines,
			   nlines, (size_t)p->n->conf->notify.max_items };
	struct rendered out = { 0 };
	struct state_message m;
	int64_t id;
	int rc;

	make_msg_id(p->n, msg_id, sizeof msg_id);
	if (render_alert(&a, &out, p->err) < 0)
		return -1;
	if (p->dry) {
		if (p->dry_fn)
			p->dry_fn(p->dry_ctx, t->receiver, t->address, out.subject);
		render_free(&out);
		p->res->enqueued++;
		return 0;
	}
	m = (struct state_message){
		.msg_id = msg_id, .receiver = t->receiver, .recipient = t->address,
		.kind = render_kind_name(kind), .case_ref = case_ref, .rule = rule,
		.immediate = immediate, .subject = out.subject, .text = out.text,
		.html = out.html, .payload = out.payload, .created = p->now_unix,
		.next_attempt = p->now_unix,
	};
	rc = state_enqueue(p->n->st, &m, &id, p->err);
	render_free(&out);
	if (rc == 0)
		p->res->enqueued++;
	return rc;
}

/* Digest roles hear of non-urgent things in their daily digest. */
static bool by_digest(const struct poll *p, const struct target *t, enum alert_kind kind)
{
	const struct conf_notify *cn = &p->n->conf->notify;

	if (cn->digest_minute < 0 || !t->role || !in_strings(&cn->digest_roles, t->role))
		return false;
	/* Digests list what is open; news of a closing must go on its own. */
	if (kind == ALERT_MET_LATE || kind == ALERT_RESOLVED)
		return false;
	return !(kind == ALERT_ESCALATION && cn->immediate_escalations == 1);
}

/* Tell each target once about `what`: by message now, or (digest roles)
 * by noting it so the next digest carries it. */
static int tell(struct poll *p, const struct state_obligation *so, const char *what,
		enum alert_kind kind, int from, int to)
{
	bool by_level = kind == ALERT_DUE_SOON || kind == ALERT_OVERDUE || kind == ALERT_ESCALATION;
	struct target t[MAX_TARGETS];
	struct alert_item item;
	size_t n = targets(p, so, from, to, kind, t);

	p->told = true;
	fill_item(p->n, so, &item);
	for (size_t i = 0; i < n; i++) {
		enum alert_kind k = by_level ? kind_of_level(t[i].level) : kind;
		bool fresh;

		if (state_note_sent(p->n->st, so->case_ref, so->rule, so->seq, what, t[i].key,
				    &fresh, p->err) < 0)
			return -1;
		if (!fresh || by_digest(p, &t[i], k))
			continue;
		if (add_digest_entry(p->batch, &t[i], so, k) < 0)
			return -1;
	}
	return 0;
}

static int reminder_due(struct poll *p, const struct state_obligation *so,
			const struct state_prev *prev, bool *due)
{
	const struct schema_duration *every = &p->n->conf->notify.reminder_interval;
	struct dl_moment last, next;
	struct dl_error derr;
	bool acked;

	*due = false;
	if (every->d.n == 0 || !prev->last_alert[0] ||
	    date_parse(prev->last_alert, &last.day, &derr) < 0)
		return 0;
	last.sec = DATE_NO_TIME;
	if (duration_add(p->n->conf->cal, last, &every->d, false, &next, &derr) < 0 ||
	    p->now.day < next.day)
		return 0;
	if (state_ack_active(p->n->st, so->case_ref, so->rule, so->seq, so->level, p->today,
			     &acked, p->err) < 0)
		return -1;
	*due = !acked;
	return 0;
}

static int transitions(struct poll *p, const struct state_obligation *so,
		       const struct state_prev *prev)
{
	const struct conf_notify *cn = &p->n->conf->notify;
	char what[48];
	bool due;

	if (so->level >= 1 && so->level > prev->alerted_level) {
		snprintf(what, sizeof what, "level:%d", so->level);
		if (tell(p, so, what, kind_of_level(so->level), prev->alerted_level + 1,
			 so->level) < 0)
			return -1;
		return state_set_alerted(p->n->st, so->case_ref, so->rule, so->seq, so->level,
					 p->today, p->err);
	}
	if (so->level >= 2) {
		if (reminder_due(p, so, prev, &due) < 0)
			return -1;
		if (!due)
			return 0;
		snprintf(what, sizeof what, "reminder:%s", p->today);
		if (tell(p, so, what, ALERT_REMINDER, 2, 2) < 0)
			return -1;
		return state_set_alerted(p->n->st, so->case_ref, so->rule, so->seq, so->level,
					 p->today, p->err);
	}
	/* Closed now, open and alerted before. */
	if (so->level < 0 && prev->found && prev->level >= 0 && prev->alerted_level >= 1) {
		if (cn->met_late == 1 && strcmp(so->state, "late") == 0 &&
		    tell(p, so, "met-late", ALERT_MET_LATE, 2, 2) < 0)
			return -1;
		if (cn->resolved == 1 && tell(p, so, "resolved", ALERT_RESOLVED, 1,
					      prev->alerted_level) < 0)
			return -1;
	}
	return 0;
}

static void count(struct notify_poll_result *res, const struct obligation *ob)
{
	res->open += ob->state == OB_OPEN;
	res->due_soon += ob->state == OB_DUE_SOON;
	res->overdue += ob->state == OB_OVERDUE;
	res->escalated += ob->state == OB_OVERDUE && ob->stage > 0;
}

/* The dates as text, only for what is written or told: formatting three
 * dates for each of millions of unchanged obligations cost a full poll a
 * tenth of its time. */
struct dates {
	char anchor[DATE_MOMENT_BUF], due[DATE_MOMENT_BUF], closed[DATE_MOMENT_BUF];
};

static void format_dates(struct state_obligation *so, const struct obligation *ob,
			 struct dates *d)
{
	so->anchor = date_format_moment(ob->anchor, d->anchor);
	so->due = date_format_moment(ob->due, d->due);
	so->closed = ob->close_kind ? date_format_moment(ob->closed, d->closed) : NULL;
}

/* Compare with the stored row the merge found and write what differs: in
 * a full poll to the stage, where the obligations that tell someone go
 * with the messages. */
static int merged_obligation(struct poll *p, struct state_obligation *so,
			     const struct obligation *ob)
{
	const struct state_stored *old;
	struct state_prev prev = { 0 };
	struct dates d;
	bool changed;

	if (poll_merge_find(p->merge, so->case_ref, so->rule, so->seq, &old, p->err) < 0)
		return -1;
	if (old)
		prev = old->prev;
	changed = !old || old->fp != so->fp;
	if (changed || so->level >= 1 || (so->level < 0 && prev.found && prev.level >= 0))
		format_dates(so, ob, &d);
	/* Outside a stage the row is written at once, before its alert marks. */
	if (changed && !p->full && state_stage_obligation(p->n->st, so, false, p->err) < 0)
		return -1;
	p->told = false;
	if (transitions(p, so, &prev) < 0)
		return -1;
	return changed && p->full ? state_stage_obligation(p->n->st, so, p->told, p->err) : 0;
}

static void on_obligation(void *ctx, const struct source_case *c, const struct obligation *ob)
{
	struct poll *p = ctx;
	const struct source_team *team = c->team_ref ? source_find_team(&p->dir, c->team_ref) : NULL;
	const struct source_worker *w = c->worker_ref ?
		source_find_worker(&p->dir, c->worker_ref) : NULL;
	struct state_obligation so = {
		c->case_ref, ob->rule->id, ob->seq, c->child_ref, c->team_ref,
		team ? team->name : NULL, c->worker_ref, w ? w->name : NULL, w ? w->email : NULL,
		team ? team->manager_email : NULL, team ? team->service_manager_email : NULL,
		NULL, NULL, NULL, rules_state_name(ob->state), ob->stage, ob->days_overdue,
		level_of(ob), 0,
	};

	if (p->failed)
		return;
	count(p->res, ob);
	if (!p->seeded)
		p->seed = poll_merge_case_seed(&so);
	p->seeded = true;
	so.fp = poll_merge_fingerprint(p->seed, &so, ob);
	p->failed = merged_obligation(p, &so, ob) < 0;
}

static void on_case_done(void *ctx, const struct source_case *c, int64_t recheck)
{
	struct poll *p = ctx;

	p->seeded = false;
	/* A full poll starts from an empty table, an incremental one has
	 * cleared the case's entry. */
	if (!p->failed && recheck != STATE_NO_RECHECK &&
	    state_set_recheck(p->n->st, c->case_ref, recheck, p->err) < 0)
		p->failed = 1;
}

static void on_finding(void *ctx, const char *case_ref, const char *problem)
{
	struct poll *p = ctx;

	p->res->findings++;
	log_msg(LOG_DEBUG, "data quality: case %s: %s", case_ref, problem);
}

/* ---- digests -------------------------------------------------------- */

static int collect_digest(void *ctx, const struct state_obligation *so,
			  const struct state_prev *prev)
{
	struct digests *d = ctx;
	struct target t[MAX_TARGETS];
	size_t n;

	bool acked;

	(void)prev;
	/* An acknowledged item stays in the digest (it is still overdue) but
	 * says so, so that nobody chases what a manager has accepted. */
	if (state_ack_active(d->p->n->st, so->case_ref, so->rule, so->seq, so->level,
			     d->p->today, &acked, d->p->err) < 0)
		return -1;
	n = targets(d->p, so, 1, so->level, ALERT_DIGEST, t);
	for (size_t i = 0; i < n; i++) {
		if (!by_digest(d->p, &t[i], ALERT_DIGEST))
			continue;
		if (add_digest_entry(d, &t[i], so, ALERT_DIGEST) < 0)
			return -1;
		d->v[d->n - 1].item.acked = acked;
	}
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct digest_entry *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (int)x->kind - (int)y->kind;
}

static bool same_group(const struct digest_entry *a, const struct digest_entry *b)
{
	return strcmp(a->key, b->key) == 0 && a->kind == b->kind;
}

/* A team manager's digest: each rule's timeliness for their team (each
 * of their teams, named, when they manage more than one) this month so
 * far.  A failure costs only these lines, never the digest. */
static void month_lines(struct poll *p, const struct digest_entry *e, size_t n,
			char ***lines, size_t *nlines)
{
	size_t cap = 0, teams = 0;
	struct dl_error err;

	*lines = NULL;
	*nlines = 0;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			bool seen = !e[i].team_ref;
			char **l;
			size_t k;

			for (size_t j = 0; !seen && j < i; j++)
				seen = e[j].team_ref && strcmp(e[j].team_ref, e[i].team_ref) == 0;
			if (seen)
				continue;
			if (pass == 0) {
				teams++;
				continue;
			}
			if (report_digest_lines(p->n->conf, p->n->st, e[i].team_ref, p->now.day, &l,
						&k, &err) < 0) {
				log_msg(LOG_WARNING, "digest: team %s: timeliness lines left out: %s",
					e[i].team_ref, err.msg);
				continue;
			}
			for (size_t j = 0; j < k; j++) {
				char *line = l[j];

				if (teams > 1 && asprintf(&line, "%s: %s", e[i].item.team_name ?
							  e[i].item.team_name : e[i].team_ref, l[j]) < 0)
					line = NULL;
				if (line && vec_reserve((void **)lines, &cap, *nlines,
							sizeof **lines) == 0)
					(*lines)[(*nlines)++] = line == l[j] ? strdup(line) : line;
				else if (line != l[j])
					free(line);
			}
			report_lines_free(l, k);
		}
}

/* One message for a group of entries of one kind for one recipient: a
 * first run after installation, or a bad day, brings one message a
 * recipient and kind ("Escalation ...: worst item (+6 more)"), not dozens. */
static int send_group(struct poll *p, struct digest_entry *e, size_t n)
{
	struct alert_item *items = malloc(n * sizeof *items);
	struct target t = { e->receiver, e->address, NULL, 0, "" };
	enum alert_kind kind = e->kind;
	bool fresh = true;
	char **lines = NULL;
	size_t nlines = 0;
	int rc = -1;

	if (!items)
		return -1;
	for (size_t i = 0; i < n; i++)
		items[i] = e[i].item;
	if (e->kind != ALERT_DIGEST ||
	    state_digest_mark(p->n->st, e->key, p->today, &fresh, p->err) == 0) {
		if (fresh && e->kind == ALERT_DIGEST)
			month_lines(p, e, n, &lines, &nlines);
		rc = fresh ? enqueue(p, &t, kind, e->kind == ALERT_ESCALATION, e->audience, items,
				     n, n == 1 ? e->item.case_ref : NULL,
				     n == 1 ? e->item.rule_id : NULL, lines, nlines) : 0;
	}
	report_lines_free(lines, nlines);
	free(items);
	return rc;
}

static int send_groups(struct poll *p, struct digests *d)
{
	int rc = 0;

	if (d->n > 1)
		qsort(d->v, d->n, sizeof *d->v, cmp_entry);
	for (size_t i = 0, j; rc == 0 && i < d->n; i = j) {
		for (j = i + 1; j < d->n && same_group(&d->v[j], &d->v[i]); j++)
			;
		rc = send_group(p, &d->v[i], j - i);
	}
	return rc;
}

static void free_digests(struct digests *d)
{
	arena_free(d->strings);
	free(d->set);
	free(d->v);
}

/* Each working day at digest_time: one message per digest recipient. */
static int digests(struct poll *p)
{
	const struct conf_notify *cn = &p->n->conf->notify;
	struct digests d = { .p = p };
	int rc;

	if (cn->digest_minute < 0 || !calendar_is_working_day(p->n->conf->cal, p->now.day) ||
	    p->now.sec / 60 < cn->digest_minute)
		return 0;
	rc = state_each_open(p->n->st, 1, collect_digest, &d, p->err);
	if (rc == 0)
		rc = send_groups(p, &d);
	free_digests(&d);
	return rc;
}

/* Before: the rechecks of the cases in refs go, until the evaluation sets
 * them again.  After: the open obligations of those it gave nothing for
 * (they vanished) are gone. */
static int forget_cases(struct poll *p, const char *const *refs, size_t nrefs, bool closing)
{
	for (size_t i = 0; i < nrefs; i++)
		if ((closing ? poll_merge_forget(p->merge, refs[i], p->err)
			     : state_set_recheck(p->n->st, refs[i], STATE_NO_RECHECK, p->err)) < 0)
			return -1;
	return 0;
}

/* Applying millions of changed rows takes a while: keep systemd's
 * watchdog fed, as the evaluation does. */
static int keepalive(void *ctx)
{
	(void)ctx;
	service_keepalive();
	return 0;
}

/* The evaluation of a full poll, staged (state.h): the store is read,
 * not locked, however long it takes. */
static int stage_full(struct poll *p, struct source *src, const struct evaluate_hooks *hooks,
		      struct evaluate_summary *sum)
{
	struct state *st = p->n->st;
	int rc;

	/* A dry run keeps it all in the one transaction it rolls back. */
	if (state_stage_begin(st, !p->dry, p->err) < 0)
		return -1;
	rc = poll_merge_open(st, true, &p->merge, p->err);
	if (rc == 0)
		rc = evaluate_run(p->n->conf, src, NULL, p->now, hooks, sum, p->err);
	p->res->cases = (long)sum->cases;
	if (rc == 0 && p->failed)
		rc = -1;
	if (rc == 0)
		rc = poll_merge_finish(p->merge, p->err);
	poll_merge_close(p->merge);
	p->merge = NULL;
	if (rc < 0) {
		state_stage_abort(st);
		return -1;
	}
	return state_stage_apply(st, &(struct state_tick){ keepalive, NULL }, p->err);
}

/* An incremental poll: a few cases, one short transaction. */
static int run_cases(struct poll *p, struct source *src, const char *const *refs,
		     size_t nrefs, const struct evaluate_hooks *hooks,
		     struct evaluate_summary *sum)
{
	int rc;

	if (state_begin(p->n->st, p->err) < 0)
		return -1;
	rc = state_poll_begin(p->n->st, p->now_unix, &p->id, p->err);
	if (rc == 0)
		rc = forget_cases(p, refs, nrefs, false);
	if (rc == 0)
		rc = poll_merge_open(p->n->st, false, &p->merge, p->err);
	if (rc == 0)
		rc = evaluate_cases(p->n->conf, src, refs, nrefs, p->now, hooks, sum, p->err);
	p->res->cases = (long)sum->cases;
	if (rc == 0 && p->failed)
		rc = -1;
	if (rc == 0)
		rc = poll_merge_finish(p->merge, p->err);
	if (rc == 0)
		rc = forget_cases(p, refs, nrefs, true);
	poll_merge_close(p->merge);
	p->merge = NULL;
	if (rc < 0)
		state_rollback(p->n->st);
	return rc;
}

static int poll_run(struct notify *n, struct source *src, const char *const *refs,
		    size_t nrefs, struct dl_moment now, int64_t now_unix, bool dry_run,
		    notify_dry_fn dry, void *dry_ctx, struct notify_poll_result *res,
		    struct evaluate_summary *sum, struct dl_error *err)
{
	struct poll p = { .n = n, .now = now, .now_unix = now_unix, .dry = dry_run,
			  .dry_fn = dry, .dry_ctx = dry_ctx, .res = res, .err = err,
			  .full = refs == NULL };
	struct digests batch = { .p = &p };
	struct evaluate_hooks hooks = { .obligation = on_obligation, .finding = on_finding,
					.ctx = &p, .case_done = on_case_done };
	struct state_poll rec;
	int rc;

	memset(res, 0, sizeof *res);
	memset(sum, 0, sizeof *sum);
	p.batch = &batch;
	date_format(now.day, p.today);
	if (source_load_directory(src, &p.dir, err) < 0)
		return -1;
	/* Either leaves the poll's write transaction open. */
	rc = p.full ? stage_full(&p, src, &hooks, sum) : run_cases(&p, src, refs, nrefs, &hooks, sum);
	if (rc == 0 && p.full)
		rc = state_poll_begin(n->st, now_unix, &p.id, err);
	if (rc == 0)
		rc = send_groups(&p, &batch);
	if (rc == 0)
		rc = digests(&p);
	rec = (struct state_poll){ p.id, now_unix, (int64_t)time(NULL), res->cases, res->open,
				   res->due_soon, res->overdue, res->findings, res->enqueued };
	if (rc == 0)
		rc = state_poll_end(n->st, &rec, err);
	if (rc == 0 && !dry_run)
		rc = state_commit(n->st, err);
	else
		state_rollback(n->st);     /* harmless when none is open */
	free_digests(&batch);
	source_free_directory(&p.dir);
	return rc;
}

int notify_poll(struct notify *n, struct source *src, struct dl_moment now, int64_t now_unix,
		bool dry_run, notify_dry_fn dry, void *dry_ctx,
		struct notify_poll_result *res, struct evaluate_summary *sum,
		struct dl_error *err)
{
	return poll_run(n, src, NULL, 0, now, now_unix, dry_run, dry, dry_ctx, res, sum, err);
}

int notify_poll_cases(struct notify *n, struct source *src, const char *const *refs,
		      size_t nrefs, struct dl_moment now, int64_t now_unix,
		      struct notify_poll_result *res, struct evaluate_summary *sum,
		      struct dl_error *err)
{
	static const char *const none[1];

	return poll_run(n, src, refs ? refs : none, nrefs, now, now_unix, false, NULL, NULL,
			res, sum, err);
}

/* ---- delivery ------------------------------------------------------- */

struct pending {
	struct state_message m;
	char *strings[11];
	bool taken;                /* already in a batch */
};

struct due {
	struct pending *v;
	size_t n, cap;
};

static int collect_due(void *ctx, const struct state_message *m)
{
	struct due *d = ctx;
	struct pending *p;

	if (vec_reserve((void **)&d->v, &d->cap, d->n, sizeof *d->v) < 0)
		return -1;
	p = &d->v[d->n++];
	memset(p, 0, sizeof *p);
	p->m = *m;
	/* The row's text is valid only during the walk: keep copies. */
	p->m.msg_id = p->strings[0] = dup0(m->msg_id);
	p->m.receiver = p->strings[1] = dup0(m->receiver);
	p->m.recipient = p->strings[2] = dup0(m->recipient);
	p->m.kind = p->strings[3] = dup0(m->kind);
	p->m.case_ref = p->strings[4] = dup0(m->case_ref);
	p->m.rule = p->strings[5] = dup0(m->rule);
	p->m.subject = p->strings[6] = dup0(m->subject);
	p->m.text = p->strings[7] = dup0(m->text);
	p->m.html = p->strings[8] = dup0(m->html);
	p->m.payload = p->strings[9] = dup0(m->payload);
	p->m.status = NULL;
	p->m.last_error = p->strings[10] = dup0(m->last_error);
	return 0;
}

static void free_due(struct due *d)
{
	for (size_t i = 0; i < d->n; i++)
		for (size_t k = 0; k < 11; k++)
			free(d->v[i].strings[k]);
	free(d->v);
}

static void local_tm(int64_t t, struct tm *tm)
{
	time_t tt = (time_t)t;

	localtime_r(&tt, tm);
}

static bool in_quiet_hours(const struct conf_notify *cn, int64_t now)
{
	struct tm tm;
	int m;

	if (cn->quiet_from < 0)
		return false;
	local_tm(now, &tm);
	m = tm.tm_hour * 60 + tm.tm_min;
	if (cn->quiet_from < cn->quiet_until)
		return m >= cn->quiet_from && m < cn->quiet_until;
	return m >= cn->quiet_from || m < cn->quiet_until;
}

/* When a message made at `created` becomes a dead letter. */
static int64_t dead_at(const struct notify *n, int64_t created)
{
	const struct duration *d = &n->conf->notify.dead_after.d;
	struct dl_moment start, end;
	struct dl_error err;
	struct tm tm;

	local_tm(created, &tm);
	if (!date_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, &start.day))
		return created;
	start.sec = tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	if (duration_add(n->conf->cal, start, d, false, &end, &err) < 0)
		return created;
	if (end.sec == DATE_NO_TIME)      /* whole days: same time of day */
		end.sec = start.sec;
	return created + (int64_t)(end.day - start.day) * 86400 + (end.sec - start.sec);
}

/* Exponential backoff with jitter, capped, and never sooner than the
 * server asked (Retry-After). */
static int64_t backoff(const struct conf_notify *cn, int attempts, long retry_after)
{
	int64_t delay = cn->retry_initial;

	for (int i = 1; i < attempts && delay < cn->retry_max; i++)
		delay *= 2;
	if (delay > cn->retry_max)
		delay = cn->retry_max;
	delay = delay / 2 + (int64_t)arc4random_uniform((uint32_t)(delay / 2 + 1));
	if (delay < 1)
		delay = 1;
	/* The schedule is in whole seconds and "now" was rounded down, so a
	 * server's Retry-After gets one second more to be sure of it. */
	return retry_after > 0 && delay <= retry_after ? retry_after + 1 : delay;
}

/* Hold a message for quiet hours or its recipient's daily cap; true when
 * held (its next_attempt moved on). */
static int hold(struct notify *n, const struct state_message *m, struct pending **batch,
		size_t count, int64_t now, bool *held, struct dl_error *err)
{
	const struct conf_notify *cn = &n->conf->notify;
	char day[DATE_BUF];
	int sent = 0;
	int64_t until = 0;

	/* Those already in this batch count against the cap too. */
	for (size_t i = 0; m->recipient && i < count; i++)
		sent += batch[i]->m.recipient && strcmp(batch[i]->m.recipient, m->recipient) == 0;
	*held = false;
	if (m->immediate)
		return 0;
	if (in_quiet_hours(cn, now)) {
		until = date_next_local(now, cn->quiet_until);
	} else if (m->recipient) {
		date_format(date_local_day(now), day);
		int before;

		if (state_count_sent(n->st, m->recipient, day, &before, err) < 0)
			return -1;
		if (sent + before >= cn->daily_cap)
			until = date_next_local(now, 0);
	}
	if (!until)
		return 0;
	*held = true;
	return state_mark_message(n->st, m->id, "pending", m->attempts, until,
				  in_quiet_hours(cn, now) ? "held: quiet hours" :
				  "held: daily cap reached", 0, err);
}

/* A line about one outbox message, with its journal fields. */
static void log_outbox(int priority, const struct state_message *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void log_outbox(int priority, const struct state_message *m, const char *fmt, ...)
{
	char id[48], recv[160], kase[160], rule[160], msg[768];
	const char *fields[] = { id, recv, kase, rule, NULL };
	va_list ap;

	snprintf(id, sizeof id, "DEADLINED_OUTBOX_ID=%" PRId64, m->id);
	snprintf(recv, sizeof recv, "DEADLINED_RECEIVER=%s", m->receiver);
	snprintf(kase, sizeof kase, "DEADLINED_CASE=%s", m->case_ref ? m->case_ref : "");
	snprintf(rule, sizeof rule, "DEADLINED_RULE=%s", m->rule ? m->rule : "");
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_fields(priority, fields, "%s", msg);
}

static int settle(struct notify *n, const struct state_message *m,
		  const struct delivery_result *r, int64_t now, struct notify_deliver_result *res,
		  struct dl_error *err)
{
	int attempts = m->attempts + 1;
	int64_t next;
	char day[DATE_BUF];

	if (r->status == DELIVERY_OK) {
		res->sent++;
		log_outbox(LOG_INFO, m, "sent %s %s via %s to %s", m->kind, m->msg_id, m->receiver,
			   m->recipient ? m->recipient : "(webhook)");
		date_format(date_local_day(now), day);
		if (m->recipient && state_add_sent(n->st, m->recipient, day, err) < 0)
			return -1;
		return state_mark_message(n->st, m->id, "sent", attempts, now, r->detail, now, err);
	}
	next = now + backoff(&n->conf->notify, attempts, r->retry_after);
	if (r->status == DELIVERY_PERMANENT || next > dead_at(n, m->created)) {
		res->dead++;
		log_outbox(LOG_ERR, m, "dead letter %" PRId64 " (%s via %s): %s; retry with "
			   "'deadlinectl retry %" PRId64 "'", m->id, m->kind, m->receiver, r->detail,
			   m->id);
		return state_mark_message(n->st, m->id, "dead", attempts, next, r->detail, 0, err);
	}
	res->retried++;
	log_outbox(LOG_WARNING, m, "message %" PRId64 " via %s will be retried in %" PRId64
		   " s: %s", m->id, m->receiver, next - now, r->detail);
	return state_mark_message(n->st, m->id, "pending", attempts, next, r->detail, 0, err);
}

/* Send one receiver's messages from v (those not held) as one batch. */
static int send_batch(struct notify *n, struct pending **v, size_t count, int64_t now,
		      struct notify_deliver_result *res, struct dl_error *err)
{
	struct message msgs[BATCH];
	struct delivery_result results[BATCH];
	struct dl_error rerr;
	struct receiver *r = get_receiver(n, v[0]->m.receiver, &rerr);

	for (size_t i = 0; i < count; i++) {
		const struct state_message *m = &v[i]->m;

		msgs[i] = (struct message){ m->id, m->msg_id, m->recipient, m->subject, m->text,
					    m->html, m->payload, m->created };
		if (!r) {
			results[i] = (struct delivery_result){ DELIVERY_RETRY, 0, "" };
			snprintf(results[i].detail, sizeof results[i].detail, "%s", rerr.msg);
		}
	}
	if (r)
		receiver_send(r, msgs, count, results);
	/* Retries count from when the batch ended: a batch that timed out
	 * must not be due again at once. */
	if ((int64_t)time(NULL) > now)
		now = (int64_t)time(NULL);
	for (size_t i = 0; i < count; i++)
		if (settle(n, &v[i]->m, &results[i], now, res, err) < 0)
			return -1;
	return 0;
}

int notify_deliver(struct notify *n, int64_t now_unix, int max,
		   struct notify_deliver_result *res, struct dl_error *err)
{
	struct due d = { 0 };
	struct pending *batch[BATCH];
	int rc;

	memset(res, 0, sizeof *res);
	rc = state_each_due(n->st, now_unix, max, collect_due, &d, err);
	/* One batch per receiver, in outbox order within it. */
	for (size_t i = 0; rc == 0 && i < d.n; i++) {
		size_t count = 0;

		for (size_t j = i; rc == 0 && j < d.n && count < BATCH; j++) {
			bool held;

			if (d.v[j].taken || strcmp(d.v[j].m.receiver, d.v[i].m.receiver) != 0)
				continue;
			d.v[j].taken = true;
			rc = hold(n, &d.v[j].m, batch, count, now_unix, &held, err);
			res->held += held;
			if (!held)
				batch[count++] = &d.v[j];
		}
		if (rc == 0 && count)
			rc = send_batch(n, batch, count, now_unix, res, err);
	}
	free_due(&d);
	return rc;
}

int notify_test(struct notify *n, const char *receiver, const char *to,
		struct delivery_result *result, struct dl_error *err)
{
	const struct receiver_conf *rc = conf_receiver(n->conf, receiver);
	struct receiver *r;
	char msg_id[128], line[160];
	struct alert a = { ALERT_TEST, receiver, msg_id, (int64_t)time(NULL), NULL, 0, line };
	struct rendered out = { 0 };
	struct message m;

	if (!rc) {
		error_set(err, "no receiver '%s' in the configuration", receiver);
		return -1;
	}
	if (rc->kind != RECEIVER_WEBHOOK && !to && rc->to.n == 0) {
		error_set(err, "receiver %s has no fixed 'to' address; give --to ADDRESS", receiver);
		return -1;
	}
	if (!(r = get_receiver(n, receiver, err)))
		return -1;
	make_msg_id(n, msg_id, sizeof msg_id);
	snprintf(line, sizeof line, "This is a test message from deadlined on %s, sent to check "
		 "the receiver '%s'. No action is needed.", n->host, receiver);
	if (render_alert(&a, &out, err) < 0)
		return -1;
	m = (struct message){ 0, msg_id, rc->kind == RECEIVER_WEBHOOK ? NULL : to ? to : rc->to.v[0],
			      out.subject, out.text, out.html, out.payload, a.created };
	receiver_send(r, &m, 1, result);
	render_free(&out);
	return 0;
}
