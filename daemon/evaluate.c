/* evaluate.c — one pass over the case database. */
#include "deadlined/evaluate.h"

#include "deadlined/strset.h"
#include "deadlined/vec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pass {
	const struct conf *conf;
	const struct source_directory *dir;
	struct dl_moment now;
	const struct evaluate_hooks *hooks;
	struct evaluate_summary *sum;
	const struct rule *rule;          /* the rule being run */
	const struct source_case *c;
	struct rules_event *events;       /* reused between cases */
	size_t cap;
	/* hooks->compare_expected: the case system's due dates, and the
	 * current case's rows of them and obligations. */
	struct source_expected_list expected;
	const struct source_expected *exp_v;
	size_t exp_n;
	struct obligation *obs;
	size_t nobs, obs_cap;
	bool oom;
	bool stopped;                     /* a hook returned -1 */
	char failed_at[128];              /* the case being evaluated then */
	int64_t recheck;                  /* the case's next change by time */
	uint64_t *rules_of_kind;          /* by kind number: rules_of_kind() */
};

int64_t evaluate_moment_key(struct dl_moment now)
{
	return (int64_t)now.day * 86400 + (now.sec == DATE_NO_TIME ? 86399 : now.sec);
}

/* The first key at which rules_passed(now, m) holds. */
static int64_t passed_key(struct dl_moment m)
{
	return m.sec == DATE_NO_TIME ? ((int64_t)m.day + 1) * 86400
				      : (int64_t)m.day * 86400 + m.sec + 1;
}

/* The first key at which m is no longer after now (reached). */
static int64_t reached_key(struct dl_moment m)
{
	return (int64_t)m.day * 86400 + (m.sec == DATE_NO_TIME ? 0 : m.sec);
}

static void recheck_at(struct pass *p, int64_t key)
{
	if (key < p->recheck)
		p->recheck = key;
}

/* A hook's answer: -1 stops the evaluation. */
static int hooked(struct pass *p, int rc)
{
	if (rc < 0)
		p->stopped = true;
	return rc < 0 ? -1 : 0;
}

static int finding(void *ctx, const char *case_ref, const char *problem)
{
	struct pass *p = ctx;

	p->sum->findings++;
	if (!p->hooks->finding)
		return 0;
	return hooked(p, p->hooks->finding(p->hooks->ctx, case_ref ? case_ref : "(none)",
					   problem));
}

static void findf(struct pass *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void findf(struct pass *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	finding(p, p->c->case_ref, msg);
}

static int obligation(void *ctx, const struct obligation *ob)
{
	struct pass *p = ctx;
	size_t r = (size_t)(p->rule - (const struct rule *)p->conf->rules.v);

	p->sum->by_rule[r][ob->state]++;
	p->sum->total[ob->state]++;
	if (ob->state == OB_OVERDUE && ob->stage > 0)
		p->sum->escalated++;
	if (ob->state == OB_OPEN)
		recheck_at(p, reached_key(ob->warn_from));
	if (ob->state == OB_OPEN || ob->state == OB_DUE_SOON)
		recheck_at(p, passed_key(ob->due));
	else if (ob->state == OB_OVERDUE)   /* days overdue, stages, reminders */
		recheck_at(p, ((int64_t)p->now.day + 1) * 86400);
	if (p->hooks->obligation &&
	    hooked(p, p->hooks->obligation(p->hooks->ctx, p->c, ob)) < 0)
		return -1;
	if (p->exp_n) {
		if (vec_reserve((void **)&p->obs, &p->obs_cap, p->nobs, sizeof *p->obs) < 0)
			p->oom = true;
		else
			p->obs[p->nobs++] = *ob;
	}
	return 0;
}

/* The case's rows of the case system's due dates: p->exp_v, p->exp_n. */
static void find_expected(struct pass *p, const char *case_ref)
{
	const struct source_expected *v = p->expected.v;
	size_t lo = 0, hi = p->expected.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(v[mid].case_ref, case_ref) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	p->exp_v = v + lo;
	for (p->exp_n = 0; lo + p->exp_n < p->expected.n &&
	     strcmp(v[lo + p->exp_n].case_ref, case_ref) == 0; p->exp_n++)
		;
	p->nobs = 0;
}

static bool is_met_kind(const struct rule *rule, const char *kind)
{
	for (size_t i = 0; i < rule->met.n; i++)
		if (strcmp(rule->met.v[i], kind) == 0)
			return true;
	return false;
}

/* The event named event_ref, when it is one of the rule's met kinds:
 * EV_HELD by now (and its moment), EV_LATER, or EV_NONE. */
enum { EV_NONE, EV_HELD, EV_LATER };

static int meeting_event(struct pass *p, const struct rule *rule, const char *event_ref,
			 struct dl_moment *when)
{
	struct dl_error err;

	for (size_t i = 0; event_ref && i < p->c->nevents; i++) {
		const struct source_event *e = &p->c->events[i];

		if (e->event_ref && e->kind && e->occurred && strcmp(e->event_ref, event_ref) == 0 &&
		    is_met_kind(rule, e->kind) &&
		    date_parse_moment(e->occurred, when, &err) == 0)
			return rules_passed(*when, p->now) ? EV_LATER : EV_HELD;
	}
	return EV_NONE;
}

/* Compare one of the case system's due dates with the obligation it is
 * for: the one its event met, else the open one. */
static void compare_one(struct pass *p, const struct source_expected *e)
{
	const struct rule *rule = e->rule ? conf_rule(p->conf, e->rule) : NULL;
	const struct obligation *match = NULL;
	struct dl_moment due, met;
	struct dl_error err;
	char a[DATE_MOMENT_BUF], b[DATE_MOMENT_BUF], c[DATE_MOMENT_BUF];
	bool held;

	if (!rule) {
		findf(p, "deadlined_expected_due: no rule '%s' in the configuration",
		      e->rule ? e->rule : "(null)");
		return;
	}
	if (!e->due || date_parse_moment(e->due, &due, &err) < 0) {
		findf(p, "deadlined_expected_due: rule %s: due: %s", rule->id,
		      e->due ? err.msg : "NULL");
		return;
	}
	switch (meeting_event(p, rule, e->event_ref, &met)) {
	case EV_LATER:
		return;          /* not yet held as of now: nothing to compare */
	case EV_HELD:
		held = true;
		break;
	default:
		held = false;
	}
	for (size_t i = 0; i < p->nobs && !match; i++) {
		const struct obligation *ob = &p->obs[i];

		if (ob->rule != rule)
			continue;
		if (held ? (ob->state == OB_MET || ob->state == OB_LATE) &&
			   date_moment_cmp(ob->closed, met) == 0
			 : ob->state == OB_OPEN || ob->state == OB_DUE_SOON ||
			   ob->state == OB_OVERDUE)
			match = ob;
	}
	if (!match)
		findf(p, "rule %s: the case system's due date %s (event %s) matches no %s "
		      "obligation of deadlined", rule->id, date_format(due.day, a),
		      e->event_ref ? e->event_ref : "-", held ? "met" : "open");
	else if (match->due.day != due.day)
		findf(p, "rule %s: the case system's due date %s differs from deadlined's %s "
		      "(obligation %d, from %s on %s; event %s)", rule->id,
		      date_format(due.day, a), date_format(match->due.day, b), match->seq,
		      match->start_kind, date_format_moment(match->anchor, c),
		      e->event_ref ? e->event_ref : "-");
}

static void check_people(struct pass *p, const struct source_case *c)
{
	const struct source_team *team = c->team_ref ? source_find_team(p->dir, c->team_ref)
						      : NULL;

	if (!c->team_ref)
		findf(p, "case has no team (team_ref is NULL); alerts cannot reach a manager");
	else if (!team)
		findf(p, "team '%s' is not in deadlined_teams", c->team_ref);
	else if (!team->manager_email || !*team->manager_email)
		findf(p, "team '%s' has no manager e-mail address (deadlined_teams."
		      "manager_email is NULL); its alerts reach no manager", c->team_ref);
	if (c->worker_ref && !source_find_worker(p->dir, c->worker_ref))
		findf(p, "worker '%s' is not in deadlined_workers", c->worker_ref);
}

static dl_day birth_date(struct pass *p, const struct source_case *c)
{
	struct dl_error err;
	dl_day dob = DATE_NONE;

	if (c->date_of_birth && date_parse(c->date_of_birth, &dob, &err) < 0) {
		findf(p, "date_of_birth: %s", err.msg);
		dob = DATE_NONE;
	}
	return dob;
}

/* Keep the events that can be used; report the rest. */
static size_t good_events(struct pass *p, const struct source_case *c, dl_day dob)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nevents; i++) {
		const struct source_event *e = &c->events[i];
		struct dl_moment when;
		struct dl_error err;
		char a[DATE_BUF];
		int id;

		if (!e->kind) {
			findf(p, "event on %s has no kind (NULL)", e->occurred ? e->occurred : "?");
			continue;
		}
		if (!e->occurred || date_parse_moment(e->occurred, &when, &err) < 0) {
			findf(p, "event '%s': %s", e->kind, e->occurred ? err.msg : "occurred is NULL");
			continue;
		}
		if (!(id = conf_kind_id(p->conf, e->kind))) {
			findf(p, "unknown event kind '%s' on %s (add it to event_kinds if it is "
			      "expected)", e->kind, e->occurred);
			continue;
		}
		/* Referrals of unborn children are real, so an event before the
		 * birth date is reported but still counts. */
		if (dob != DATE_NONE && when.day < dob)
			findf(p, "event '%s' on %s is before the date of birth %s (still "
			      "evaluated)", e->kind, e->occurred, date_format(dob, a));
		/* Events after now count from when they are reached. */
		if (rules_passed(when, p->now))
			recheck_at(p, reached_key(when));
		p->events[n].kind = e->kind;
		p->events[n].kind_id = id;
		p->events[n++].when = when;
	}
	return n;
}

static int cmp_events(const void *a, const void *b)
{
	const struct rules_event *x = a, *y = b;

	return date_moment_cmp(x->when, y->when);
}

/* By kind number, the rules (bit r for rule r) that have the kind as a
 * start, met or cancel kind, so that a case walks only the rules its
 * events touch: most of the 19 rules of the pack have none of a case's
 * events, and looking through its events for each of them was a twentieth
 * of a full poll.  NULL (walk every rule) beyond 64 rules, for a rule
 * whose kinds are compared by name, or out of memory. */
static uint64_t *rules_of_kind(const struct conf *conf)
{
	const struct rule *rules = conf->rules.v;
	size_t n = conf->kinds ? strset_count(conf->kinds) : 0;
	uint64_t *m;

	if (!n || conf->rules.n > 64 || !(m = calloc(n + 1, sizeof *m)))
		return NULL;
	for (size_t r = 0; r < conf->rules.n; r++) {
		if (!rules[r].phase_by_kind) {
			free(m);
			return NULL;
		}
		for (size_t id = 1; id <= n; id++)
			if (rules[r].phase_by_kind[id])
				m[id] |= UINT64_C(1) << r;
	}
	return m;
}

/* The rules the case's events touch, as bits. */
static uint64_t rules_touched(const struct pass *p, const struct rules_case *rc)
{
	uint64_t m = 0;

	for (size_t i = 0; i < rc->nevents; i++)
		m |= p->rules_of_kind[rc->events[i].kind_id];
	return m;
}

static int evaluate_case(struct pass *p, const struct source_case *c)
{
	const struct rule *rules = p->conf->rules.v;
	struct rules_case rc;
	uint64_t touched;

	if (p->stopped)                   /* by a finding about an orphan */
		return -1;
	p->c = c;
	p->recheck = INT64_MAX;
	/* A big source takes a while: the caller may want to say it is alive
	 * (and a pair's lease be renewed: a case written to PostgreSQL takes
	 * about a millisecond, so every 64). */
	if ((p->sum->cases++ & 63) == 0 && p->hooks->tick &&
	    hooked(p, p->hooks->tick(p->hooks->ctx)) < 0)
		return -1;
	p->sum->events += c->nevents;
	if (c->nevents > p->cap) {
		size_t cap = c->nevents * 2;
		void *v = realloc(p->events, cap * sizeof *p->events);

		if (!v)
			return -1;
		p->events = v;
		p->cap = cap;
	}
	check_people(p, c);
	if (p->expected.n)
		find_expected(p, c->case_ref);
	rc.case_ref = c->case_ref;
	rc.date_of_birth = birth_date(p, c);
	rc.events = p->events;
	rc.nevents = good_events(p, c, rc.date_of_birth);
	if (p->stopped)
		return -1;
	if (p->hooks->case_events) {
		size_t shown = 0;

		if (rc.nevents > 1)
			qsort(p->events, rc.nevents, sizeof *p->events, cmp_events);
		/* As of now, later events have not happened: do not show them. */
		while (shown < rc.nevents && !rules_passed(p->events[shown].when, p->now))
			shown++;
		if (hooked(p, p->hooks->case_events(p->hooks->ctx, c, p->events, shown)) < 0)
			return -1;
	}
	touched = p->rules_of_kind ? rules_touched(p, &rc) : 0;
	for (size_t r = 0; r < p->conf->rules.n; r++) {
		if (p->rules_of_kind && !(touched >> r & 1))
			continue;
		p->rule = &rules[r];
		if (rules_evaluate(p->rule, p->conf->cal, &rc, p->now, obligation, finding, p) < 0) {
			p->oom |= !p->stopped;
			return -1;
		}
	}
	for (size_t i = 0; i < p->exp_n && !p->stopped; i++)
		compare_one(p, &p->exp_v[i]);
	p->exp_n = 0;
	if (!p->stopped && p->hooks->case_done)
		hooked(p, p->hooks->case_done(p->hooks->ctx, c, p->recheck));
	return p->oom || p->stopped ? -1 : 0;
}

/* The case's row memory lasts only the call: a failure names the case
 * from a copy. */
static int one_case(void *ctx, const struct source_case *c)
{
	struct pass *p = ctx;
	int rc = evaluate_case(p, c);

	if (rc < 0)
		snprintf(p->failed_at, sizeof p->failed_at, "%s", c->case_ref ? c->case_ref : "?");
	return rc;
}

static void orphan(void *ctx, const char *case_ref, size_t nevents)
{
	char msg[256];

	if (nevents == 0)
		snprintf(msg, sizeof msg, "case row ignored: its case_ref is NULL or repeats "
			 "an earlier row of deadlined_cases");
	else
		snprintf(msg, sizeof msg, "%zu event%s for a case that is not in deadlined_cases",
			 nevents, nevents == 1 ? "" : "s");
	finding(ctx, case_ref, msg);
}

static int run(const struct conf *conf, struct source *src, const char *const *refs,
	       size_t nrefs, struct dl_moment now, const struct evaluate_hooks *hooks,
	       struct evaluate_summary *sum, struct dl_error *err)
{
	struct source_directory dir = { 0 };
	struct pass p = { .conf = conf, .dir = &dir, .now = now, .hooks = hooks, .sum = sum };
	int rc;

	memset(sum, 0, sizeof *sum);
	err->msg[0] = '\0';
	sum->by_rule = calloc(conf->rules.n + 1, sizeof *sum->by_rule);
	if (!sum->by_rule) {
		error_set(err, "out of memory");
		return -1;
	}
	if (source_load_directory(src, &dir, err) < 0)
		return -1;
	if (hooks->compare_expected) {
		bool present;

		if (source_load_expected(src, &p.expected, &present, err) < 0) {
			source_free_directory(&dir);
			return -1;
		}
	}
	p.rules_of_kind = rules_of_kind(conf);
	rc = 0;
	/* The reading of a remote source is fed by the same hook. */
	source_set_tick(src, hooks->tick, hooks->ctx);
	if (!refs)
		rc = source_each_case(src, NULL, one_case, orphan, &p, err);
	for (size_t i = 0; refs && rc == 0 && i < nrefs; i++)
		rc = source_each_case(src, refs[i], one_case, orphan, &p, err);
	source_set_tick(src, NULL, NULL);
	if (rc == 0 && p.stopped)
		rc = -1;
	if (rc > 0 || (rc < 0 && !err->msg[0])) {
		if (p.stopped)
			error_set(err, "evaluation stopped at case %s",
				  p.failed_at[0] ? p.failed_at : "?");
		else
			error_set(err, "out of memory evaluating case %s",
				  p.failed_at[0] ? p.failed_at : "?");
		rc = -1;
	}
	free(p.events);
	free(p.rules_of_kind);
	free(p.obs);
	source_free_expected(&p.expected);
	source_free_directory(&dir);
	return rc;
}

int evaluate_run(const struct conf *conf, struct source *src, const char *case_ref,
		 struct dl_moment now, const struct evaluate_hooks *hooks,
		 struct evaluate_summary *sum, struct dl_error *err)
{
	return run(conf, src, case_ref ? &case_ref : NULL, 1, now, hooks, sum, err);
}

int evaluate_cases(const struct conf *conf, struct source *src, const char *const *refs,
		   size_t nrefs, struct dl_moment now, const struct evaluate_hooks *hooks,
		   struct evaluate_summary *sum, struct dl_error *err)
{
	return run(conf, src, refs, nrefs, now, hooks, sum, err);
}

void evaluate_summary_free(struct evaluate_summary *sum)
{
	free(sum->by_rule);
	sum->by_rule = NULL;
}

int evaluate_parse_as_of(const char *text, struct dl_moment *out, struct dl_error *err)
{
	if (date_parse_moment(text, out, err) < 0)
		return -1;
	if (out->sec == DATE_NO_TIME)
		out->sec = 86399;
	return 0;
}
