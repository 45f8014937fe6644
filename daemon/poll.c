/* poll.c — one poll (see poll.h).  Read top-down:
 * poll_run, then the evaluation's hooks, then transitions. */
#include "deadlined/poll.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deadlined/digest.h"
#include "deadlined/log.h"
#include "deadlined/poll_merge.h"
#include "deadlined/vec.h"

/* An obligation of the current case, held until the case is done (a full
 * poll by case prints). */
struct held_ob {
	struct obligation ob;
	int64_t fp;
};

struct poll {
	const struct poll_env *env;
	struct source_directory dir;
	int64_t id, now_unix;
	struct dl_moment now;
	char today[DATE_BUF];
	struct poll_result *res;
	struct dl_error *err;
	int failed;
	struct digest *batch;      /* this poll's immediate messages, grouped */
	bool dry;                  /* a dry run: everything rolled back */
	bool full;                 /* every case, not only some */
	bool merging;              /* the store walks and stages (state_can_merge) */
	struct poll_merge *merge;  /* the comparison with the store */
	bool told;                 /* transitions() told or marked something */
	bool seeded;               /* seed, team and worker are the current case's */
	uint64_t seed;
	const struct source_team *team;
	const struct source_worker *worker;
	bool bycase;               /* the merge is by case prints: obligations held */
	struct held_ob *held;      /* the current case's obligations */
	size_t nheld, capheld;
	uint64_t print;            /* their case print so far */
	bool look;                 /* one of them is at level 1 or more */
};

static int on_obligation(void *ctx, const struct source_case *c, const struct obligation *ob);
static int on_case_done(void *ctx, const struct source_case *c, int64_t recheck);
static int on_tick(void *ctx);
static int on_finding(void *ctx, const char *case_ref, const char *problem);

/* Before: the rechecks of the cases in refs go, until the evaluation sets
 * them again.  After: the open obligations of those it gave nothing for
 * (they vanished) are gone. */
static int forget_cases(struct poll *p, const char *const *refs, size_t nrefs, bool closing)
{
	for (size_t i = 0; i < nrefs; i++)
		if ((!closing ? state_set_recheck(p->env->st, refs[i], STATE_NO_RECHECK, p->err) :
		     p->merge ? poll_merge_forget(p->merge, refs[i], p->err) :
		     state_close_unseen_case(p->env->st, refs[i], p->id, p->err)) < 0)
			return -1;
	return 0;
}

/* A store without the walk and the stage (state_can_merge): the whole
 * poll in one transaction (left open), an obligation looked up at a time. */
static int evaluate_in_one(struct poll *p, struct source *src, const char *const *refs,
			   size_t nrefs, const struct evaluate_hooks *hooks,
			   struct evaluate_summary *sum)
{
	struct state *st = p->env->st;
	int rc;

	if (state_begin(st, p->err) < 0)
		return -1;
	rc = state_poll_begin(st, p->now_unix, &p->id, p->err);
	if (rc == 0)
		rc = refs ? forget_cases(p, refs, nrefs, false) : state_clear_rechecks(st, p->err);
	if (rc == 0)
		rc = refs ? evaluate_cases(p->env->conf, src, refs, nrefs, p->now, hooks, sum, p->err)
			  : evaluate_run(p->env->conf, src, NULL, p->now, hooks, sum, p->err);
	p->res->cases = (long)sum->cases;
	if (rc == 0 && p->failed)
		rc = -1;
	if (rc == 0)
		rc = refs ? forget_cases(p, refs, nrefs, true) : state_close_unseen(st, p->id, p->err);
	if (rc < 0)
		state_rollback(st);
	return rc;
}

/* The evaluation of a full poll, staged (state.h): the store is read, not
 * locked, however long it takes; then applied in short transactions, the
 * last of which (left open) takes the alerts and their messages. */
static int evaluate_full(struct poll *p, struct source *src, const struct evaluate_hooks *hooks,
			 struct evaluate_summary *sum)
{
	struct state *st = p->env->st;
	int rc;

	/* A dry run keeps it all in the one transaction it rolls back. */
	if (state_stage_begin(st, !p->dry, p->err) < 0)
		return -1;
	rc = poll_merge_open(st, POLL_MERGE_BY_CASE, &p->merge, p->err);
	p->bycase = rc == 0 && poll_merge_by_case(p->merge);
	if (rc == 0)
		rc = evaluate_run(p->env->conf, src, NULL, p->now, hooks, sum, p->err);
	p->res->cases = (long)sum->cases;
	if (rc == 0 && p->failed)
		rc = -1;
	if (rc == 0)
		rc = poll_merge_finish(p->merge, p->err);
	poll_merge_close(p->merge);
	p->merge = NULL;
	p->bycase = false;
	free(p->held);
	p->held = NULL;
	if (rc < 0) {
		state_stage_abort(st);
		return -1;
	}
	return state_stage_apply(st, &(struct state_tick){ on_tick, p }, p->err);
}

/* An incremental poll: a few cases, one short transaction (left open). */
static int evaluate_some(struct poll *p, struct source *src, const char *const *refs,
			 size_t nrefs, const struct evaluate_hooks *hooks,
			 struct evaluate_summary *sum)
{
	struct state *st = p->env->st;
	int rc;

	if (state_begin(st, p->err) < 0)
		return -1;
	rc = state_poll_begin(st, p->now_unix, &p->id, p->err);
	if (rc == 0)
		rc = forget_cases(p, refs, nrefs, false);
	if (rc == 0)
		rc = poll_merge_open(st, POLL_MERGE_BY_KEY, &p->merge, p->err);
	if (rc == 0)
		rc = evaluate_cases(p->env->conf, src, refs, nrefs, p->now, hooks, sum, p->err);
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
		state_rollback(st);
	return rc;
}

/* Cover, as the web and deadlinectl record it, on the poll's day. */
static int cover_deputy(void *ctx, const char *manager, char *deputy, size_t size)
{
	struct poll *p = ctx;
	struct dl_error err;

	if (state_cover_deputy(p->env->st, manager, p->today, deputy, size, &err) == 0)
		return 0;
	log_msg(LOG_WARNING, "cover for %s left out: %s", manager, err.msg);
	return -1;
}

/* The directory into the state database, for deadlined-web; a changed
 * team or worker makes the poll full, so only full polls write it. */
static int save_directory(struct poll *p)
{
	struct state *st = p->env->st;
	int rc = state_clear_directory(st, p->err);

	for (size_t i = 0; rc == 0 && i < p->dir.nteams; i++)
		rc = state_put_team(st, p->dir.teams[i].team_ref, p->dir.teams[i].name,
				    p->dir.teams[i].manager_email,
				    p->dir.teams[i].service_manager_email, p->err);
	for (size_t i = 0; rc == 0 && i < p->dir.nworkers; i++)
		rc = state_put_worker(st, p->dir.workers[i].worker_ref, p->dir.workers[i].name,
				      p->dir.workers[i].email, p->dir.workers[i].team_ref, p->err);
	return rc;
}

static int poll_run(const struct poll_env *env, struct source *src, const char *const *refs,
		    size_t nrefs, struct dl_moment now, int64_t now_unix,
		    const struct outbox_dry *dry, struct poll_result *res,
		    struct evaluate_summary *sum, struct dl_error *err)
{
	struct poll p = { .env = env, .now = now, .now_unix = now_unix, .res = res, .err = err,
			  .dry = dry != NULL, .full = refs == NULL,
			  .merging = state_can_merge(env->st), .print = POLL_MERGE_PRINT_START };
	struct evaluate_hooks hooks = { .obligation = on_obligation, .finding = on_finding,
					.ctx = &p, .case_done = on_case_done, .tick = on_tick };
	struct digest_env denv = { env->conf, env->st, env->route, env->outbox, dry, now,
				   now_unix };
	struct state_poll rec;
	int rc;

	memset(res, 0, sizeof *res);
	memset(sum, 0, sizeof *sum);
	date_format(now.day, p.today);
	if (!(p.batch = digest_new(&denv))) {
		error_set(err, "out of memory");
		return -1;
	}
	if (source_load_directory(src, &p.dir, err) < 0) {
		digest_free(p.batch);
		return -1;
	}
	route_set_deputy(env->route, cover_deputy, &p);
	/* Either leaves the poll's write transaction open. */
	if (!p.merging)
		rc = evaluate_in_one(&p, src, refs, nrefs, &hooks, sum);
	else
		rc = refs ? evaluate_some(&p, src, refs, nrefs, &hooks, sum)
			  : evaluate_full(&p, src, &hooks, sum);
	if (rc == 0 && !refs && p.merging)
		rc = state_poll_begin(env->st, now_unix, &p.id, err);
	if (rc == 0 && !refs)
		rc = save_directory(&p);
	if (rc == 0)
		rc = digest_send(p.batch, &res->enqueued, err);
	if (rc == 0)
		rc = digest_daily(&denv, &res->enqueued, err);
	route_set_deputy(env->route, NULL, NULL);
	rec = (struct state_poll){ p.id, now_unix, (int64_t)time(NULL), res->cases, res->open,
				   res->due_soon, res->overdue, res->findings, res->enqueued };
	if (rc == 0)
		rc = state_poll_end(env->st, &rec, err);
	if (rc == 0 && !dry)
		rc = state_commit(env->st, err);
	else
		state_rollback(env->st);   /* harmless when none is open */
	digest_free(p.batch);
	source_free_directory(&p.dir);
	return rc;
}

int poll_all(const struct poll_env *env, struct source *src, struct dl_moment now,
	     int64_t now_unix, const struct outbox_dry *dry, struct poll_result *res,
	     struct evaluate_summary *sum, struct dl_error *err)
{
	return poll_run(env, src, NULL, 0, now, now_unix, dry, res, sum, err);
}

int poll_cases(const struct poll_env *env, struct source *src, const char *const *refs,
	       size_t nrefs, struct dl_moment now, int64_t now_unix, struct poll_result *res,
	       struct evaluate_summary *sum, struct dl_error *err)
{
	static const char *const none[1];

	return poll_run(env, src, refs ? refs : none, nrefs, now, now_unix, NULL, res, sum, err);
}

/* ---- transitions -------------------------------------------------------- */

/* Tell each target once about `what`: by message now, or (digest roles)
 * in the next daily digest, which lists what is open. */
static int tell(struct poll *p, const struct state_obligation *so, const char *what,
		enum alert_kind kind, int from, int to)
{
	bool by_level = kind == ALERT_DUE_SOON || kind == ALERT_OVERDUE || kind == ALERT_ESCALATION;
	struct route_target t[ROUTE_MAX_TARGETS];
	size_t n = route_targets(p->env->route, so, from, to, kind, t);

	p->told = true;
	for (size_t i = 0; i < n; i++) {
		enum alert_kind k = by_level ? route_kind_of_level(t[i].level) : kind;
		bool fresh;

		if (state_note_sent(p->env->st, so->case_ref, so->rule, so->seq, what, t[i].key,
				    &fresh, p->err) < 0)
			return -1;
		if (!fresh || route_by_digest(p->env->route, &t[i], k))
			continue;
		if (digest_add(p->batch, &t[i], so, k, false) < 0) {
			error_set(p->err, "out of memory");
			return -1;
		}
	}
	return 0;
}

static int reminder_due(struct poll *p, const struct state_obligation *so,
			const struct state_prev *prev, bool *due)
{
	const struct schema_duration *every = &p->env->conf->notify.reminder_interval;
	struct dl_moment last, next;
	struct dl_error derr;
	bool acked;

	*due = false;
	if (every->d.n == 0 || !prev->last_alert[0] ||
	    date_parse(prev->last_alert, &last.day, &derr) < 0)
		return 0;
	last.sec = DATE_NO_TIME;
	if (duration_add(p->env->conf->cal, last, &every->d, false, &next, &derr) < 0 ||
	    p->now.day < next.day)
		return 0;
	if (state_ack_active(p->env->st, so->case_ref, so->rule, so->seq, so->level, p->today,
			     &acked, p->err) < 0)
		return -1;
	*due = !acked;
	return 0;
}

/* What changed since the last poll, and who is to hear of it: a higher
 * level than was told, a reminder while overdue, or a closing after an
 * alert. */
static int transitions(struct poll *p, const struct state_obligation *so,
		       const struct state_prev *prev)
{
	const struct conf_notify *cn = &p->env->conf->notify;
	struct state *st = p->env->st;
	char what[48];
	bool due;

	if (so->level >= 1 && so->level > prev->alerted_level) {
		snprintf(what, sizeof what, "level:%d", so->level);
		if (tell(p, so, what, route_kind_of_level(so->level), prev->alerted_level + 1,
			 so->level) < 0)
			return -1;
		return state_set_alerted(st, so->case_ref, so->rule, so->seq, so->level, p->today,
					 p->err);
	}
	if (so->level >= 2) {
		if (reminder_due(p, so, prev, &due) < 0)
			return -1;
		if (!due)
			return 0;
		snprintf(what, sizeof what, "reminder:%s", p->today);
		if (tell(p, so, what, ALERT_REMINDER, 2, 2) < 0)
			return -1;
		return state_set_alerted(st, so->case_ref, so->rule, so->seq, so->level, p->today,
					 p->err);
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

/* ---- the evaluation's hooks --------------------------------------------- */

static void count(struct poll_result *res, const struct obligation *ob)
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
	if (changed && !p->full && state_stage_obligation(p->env->st, so, false, p->err) < 0)
		return -1;
	p->told = false;
	if (transitions(p, so, &prev) < 0)
		return -1;
	return changed && p->full ? state_stage_obligation(p->env->st, so, p->told, p->err) : 0;
}

/* The obligation as the store holds it (dates left out: format_dates),
 * with the case's team and worker (seed_case). */
static struct state_obligation stored_form(struct poll *p, const struct source_case *c,
					   const struct obligation *ob)
{
	const struct source_team *team = p->team;
	const struct source_worker *w = p->worker;

	return (struct state_obligation){
		c->case_ref, ob->rule->id, ob->seq, c->child_ref, c->team_ref,
		team ? team->name : NULL, c->worker_ref, w ? w->name : NULL, w ? w->email : NULL,
		team ? team->manager_email : NULL, team ? team->service_manager_email : NULL,
		NULL, NULL, NULL, rules_state_name(ob->state), ob->stage, ob->days_overdue,
		route_level(ob), 0,
	};
}

/* By case prints: hold the obligation until its case is done. */
static int hold_obligation(struct poll *p, const struct state_obligation *so,
			   const struct obligation *ob)
{
	if (vec_reserve((void **)&p->held, &p->capheld, p->nheld, sizeof *p->held) < 0) {
		error_set(p->err, "out of memory");
		return -1;
	}
	p->held[p->nheld++] = (struct held_ob){ *ob, so->fp };
	p->print = poll_merge_case_print(p->print, so->rule, so->seq, so->fp);
	p->look |= so->level >= 1;
	return 0;
}

/* By case prints: the case is done; compare it in full only when its
 * print differs or something in it must be looked at. */
static int merge_case(struct poll *p, const struct source_case *c)
{
	int64_t print = poll_merge_print_end(p->print);
	bool skip, told = false;
	int rc = poll_merge_case(p->merge, c->case_ref, print, p->look, &skip, p->err);

	for (size_t i = 0; rc == 0 && !skip && i < p->nheld; i++) {
		struct state_obligation so = stored_form(p, c, &p->held[i].ob);

		so.fp = p->held[i].fp;
		rc = merged_obligation(p, &so, &p->held[i].ob);
		told |= p->told;
	}
	if (rc == 0 && !skip)
		rc = poll_merge_case_end(p->merge, p->look || told ? STATE_PRINT_UNKNOWN : print,
					 p->err);
	p->nheld = 0;
	p->print = POLL_MERGE_PRINT_START;
	p->look = false;
	return rc;
}

/* At a case's first obligation: its team and worker, looked up once for
 * all its obligations (for each, they were a twentieth of a full poll),
 * and the fingerprint seed of the values they give.  on_case_done ends
 * the case. */
static void seed_case(struct poll *p, const struct source_case *c, const struct obligation *ob)
{
	struct state_obligation so;

	p->team = c->team_ref ? source_find_team(&p->dir, c->team_ref) : NULL;
	p->worker = c->worker_ref ? source_find_worker(&p->dir, c->worker_ref) : NULL;
	so = stored_form(p, c, ob);
	p->seed = poll_merge_case_seed(&so);
	p->seeded = true;
}

static int on_obligation(void *ctx, const struct source_case *c, const struct obligation *ob)
{
	struct poll *p = ctx;
	struct state_obligation so;
	struct state_prev prev;
	struct dates d;

	if (p->failed)
		return -1;
	count(p->res, ob);
	if (!p->seeded)
		seed_case(p, c, ob);
	so = stored_form(p, c, ob);
	so.fp = poll_merge_fingerprint(p->seed, &so, ob);
	if (p->bycase) {
		p->failed = hold_obligation(p, &so, ob) < 0;
		return p->failed ? -1 : 0;
	}
	if (p->merging) {
		p->failed = merged_obligation(p, &so, ob) < 0;
		return p->failed ? -1 : 0;
	}
	format_dates(&so, ob, &d);
	p->failed = state_put_obligation(p->env->st, &so, p->id, &prev, p->err) < 0 ||
		    transitions(p, &so, &prev) < 0;
	return p->failed ? -1 : 0;
}

static int on_case_done(void *ctx, const struct source_case *c, int64_t recheck)
{
	struct poll *p = ctx;

	if (!p->failed && p->bycase && merge_case(p, c) < 0)
		p->failed = 1;
	p->seeded = false;
	/* A full poll starts from an empty table, an incremental one has
	 * cleared the case's entry. */
	if (!p->failed && recheck != STATE_NO_RECHECK &&
	    state_set_recheck(p->env->st, c->case_ref, recheck, p->err) < 0)
		p->failed = 1;
	return p->failed ? -1 : 0;
}

static int on_finding(void *ctx, const char *case_ref, const char *problem)
{
	struct poll *p = ctx;

	p->res->findings++;
	log_msg(LOG_DEBUG, "data quality: case %s: %s", case_ref, problem);
	return 0;
}

static int on_tick(void *ctx)
{
	struct poll *p = ctx;

	return p->env->tick ? p->env->tick(p->env->tick_ctx) : 0;
}
