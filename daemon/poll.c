/* poll.c — one poll, in one transaction (see poll.h).  Read top-down:
 * poll_run, then the evaluation's hooks, then transitions. */
#include "deadlined/poll.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "deadlined/digest.h"
#include "deadlined/log.h"

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
};

static int on_obligation(void *ctx, const struct source_case *c, const struct obligation *ob);
static int on_case_done(void *ctx, const struct source_case *c, int64_t recheck);
static int on_tick(void *ctx);
static int on_finding(void *ctx, const char *case_ref, const char *problem);

/* Obligations of the cases in refs that this poll did not see are gone;
 * so are their rechecks, until the evaluation sets them again. */
static int forget_cases(struct poll *p, const char *const *refs, size_t nrefs, bool closing)
{
	for (size_t i = 0; i < nrefs; i++)
		if ((closing ? state_close_unseen_case(p->env->st, refs[i], p->id, p->err)
			     : state_set_recheck(p->env->st, refs[i], STATE_NO_RECHECK, p->err)) < 0)
			return -1;
	return 0;
}

/* The evaluation, its obligations stored and compared as they come
 * (on_obligation), then what it no longer yields closed. */
static int evaluate(struct poll *p, struct source *src, const char *const *refs, size_t nrefs,
		    struct evaluate_summary *sum)
{
	const struct poll_env *env = p->env;
	struct evaluate_hooks hooks = { .obligation = on_obligation, .finding = on_finding,
					.ctx = p, .case_done = on_case_done, .tick = on_tick };
	int rc;

	rc = refs ? forget_cases(p, refs, nrefs, false) : state_clear_rechecks(env->st, p->err);
	if (rc == 0)
		rc = refs ? evaluate_cases(env->conf, src, refs, nrefs, p->now, &hooks, sum, p->err)
			  : evaluate_run(env->conf, src, NULL, p->now, &hooks, sum, p->err);
	p->res->cases = (long)sum->cases;
	if (rc == 0 && p->failed)
		rc = -1;
	if (rc == 0)
		rc = refs ? forget_cases(p, refs, nrefs, true)
			  : state_close_unseen(env->st, p->id, p->err);
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
	struct poll p = { .env = env, .now = now, .now_unix = now_unix, .res = res, .err = err };
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
	if (state_begin(env->st, err) < 0) {
		digest_free(p.batch);
		source_free_directory(&p.dir);
		return -1;
	}
	rc = state_poll_begin(env->st, now_unix, &p.id, err);
	if (rc == 0 && !refs)
		rc = save_directory(&p);
	route_set_deputy(env->route, cover_deputy, &p);
	if (rc == 0)
		rc = evaluate(&p, src, refs, nrefs, sum);
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
		state_rollback(env->st);
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

/* Store one obligation, compare it with what was stored, tell of the
 * transition. */
static int on_obligation(void *ctx, const struct source_case *c, const struct obligation *ob)
{
	struct poll *p = ctx;
	const struct source_team *team = c->team_ref ? source_find_team(&p->dir, c->team_ref) : NULL;
	const struct source_worker *w = c->worker_ref ?
		source_find_worker(&p->dir, c->worker_ref) : NULL;
	char anchor[DATE_MOMENT_BUF], due[DATE_MOMENT_BUF], closed[DATE_MOMENT_BUF];
	struct state_obligation so = {
		c->case_ref, ob->rule->id, ob->seq, c->child_ref, c->team_ref,
		team ? team->name : NULL, c->worker_ref, w ? w->name : NULL, w ? w->email : NULL,
		team ? team->manager_email : NULL, team ? team->service_manager_email : NULL,
		date_format_moment(ob->anchor, anchor), date_format_moment(ob->due, due),
		ob->close_kind ? date_format_moment(ob->closed, closed) : NULL,
		rules_state_name(ob->state), ob->stage, ob->days_overdue, route_level(ob),
	};
	struct state_prev prev;

	if (p->failed)
		return -1;
	count(p->res, ob);
	if (state_put_obligation(p->env->st, &so, p->id, &prev, p->err) < 0 ||
	    transitions(p, &so, &prev) < 0)
		p->failed = 1;
	return p->failed ? -1 : 0;
}

static int on_case_done(void *ctx, const struct source_case *c, int64_t recheck)
{
	struct poll *p = ctx;

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
