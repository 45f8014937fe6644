/* rules.c — one rule over one case's events: the obligation state machine. */
#include "deadlined/rules.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const rule_roles[] = { "worker", "team_manager", "service_manager", NULL };

static const char *const state_names[OB_NSTATES] = {
	"open", "due-soon", "overdue", "met", "late", "cancelled",
};

const char *rules_state_name(enum obligation_state s)
{
	return (unsigned)s < OB_NSTATES ? state_names[s] : "?";
}

int rules_state_parse(const char *s)
{
	for (int i = 0; i < OB_NSTATES; i++)
		if (strcmp(s, state_names[i]) == 0)
			return i;
	return -1;
}

/* Same-day ties: start, then met, then cancel (DESIGN.md). */
enum phase { PHASE_NONE = -1, PHASE_START, PHASE_MET, PHASE_CANCEL };

static bool in(const struct schema_strings *set, const char *kind)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->v[i], kind) == 0)
			return true;
	return false;
}

static enum phase classify(const struct rule *rule, const char *kind)
{
	if (in(&rule->start, kind))
		return PHASE_START;
	if (in(&rule->met, kind))
		return PHASE_MET;
	if (in(&rule->cancel, kind))
		return PHASE_CANCEL;
	return PHASE_NONE;
}

bool rules_uses_kind(const struct rule *rule, const char *kind)
{
	return classify(rule, kind) != PHASE_NONE;
}

bool rules_passed(struct dl_moment now, struct dl_moment m)
{
	if (now.day != m.day)
		return now.day > m.day;
	return m.sec != DATE_NO_TIME && now.sec != DATE_NO_TIME && now.sec > m.sec;
}

/* Has now reached m (warnings start on the day itself)? */
static bool reached(struct dl_moment now, struct dl_moment m)
{
	return !rules_passed(m, now);
}

struct walk_event {
	const struct rules_event *ev;
	enum phase phase;
};

static int cmp_walk(const struct walk_event *a, const struct walk_event *b)
{
	if (a->ev->when.day != b->ev->when.day)
		return a->ev->when.day < b->ev->when.day ? -1 : 1;
	if (a->phase != b->phase)
		return a->phase < b->phase ? -1 : 1;
	return date_moment_cmp(a->ev->when, b->ev->when);
}

/* Cases have few events per rule: insertion sort, stable, no allocation. */
static void sort_walk(struct walk_event *w, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct walk_event x = w[i];
		size_t j = i;

		while (j > 0 && cmp_walk(&w[j - 1], &x) > 0) {
			w[j] = w[j - 1];
			j--;
		}
		w[j] = x;
	}
}

struct walk {
	const struct rule *rule;
	const struct calendar *cal;
	const struct rules_case *c;
	struct dl_moment now;
	rules_obligation_fn emit;
	rules_finding_fn finding;
	void *ctx;
	struct obligation ob;
	bool open, told_age;
	bool stop;                  /* a callee returned -1 */
	struct dl_moment first_anchor;
	struct obligation closed;       /* the last clock closed (seq 0: none) */
	const struct rules_event *restart; /* a start after it, non-recurring */
};

static void find(struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void find(struct walk *w, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!w->finding)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (w->finding(w->ctx, w->c->case_ref, msg) < 0)
		w->stop = true;
}

/* The version whose effective range holds the start day, or -1. */
static long pick_version(const struct rule *rule, dl_day start)
{
	for (size_t i = 0; i < rule->nall; i++) {
		const struct rule_version *v = &rule->all[i];

		if ((v->effective_from == DATE_NONE || start >= v->effective_from) &&
		    (v->effective_until == DATE_NONE || start <= v->effective_until))
			return (long)i;
	}
	return -1;
}

static int age_at(dl_day dob, dl_day day)
{
	int y1, m1, d1, y2, m2, d2;

	date_to_ymd(dob, &y1, &m1, &d1);
	date_to_ymd(day, &y2, &m2, &d2);
	return y2 - y1 - (m2 < m1 || (m2 == m1 && d2 < d1));
}

static struct duration choose(struct walk *w, const struct rule_step *s)
{
	struct dl_moment limit;
	struct dl_error err;

	switch (s->kind) {
	case STEP_AGE:
		if (w->c->date_of_birth == DATE_NONE) {
			/* Without a birth date, the `then` duration (the shorter in the
			 * rule pack) so a deadline is never later than it should be. */
			if (!w->told_age)
				find(w, "rule %s needs the child's age but the date of birth is "
				     "missing; used the '%s' step", w->rule->id, "then");
			w->told_age = true;
			return s->then;
		}
		return age_at(w->c->date_of_birth, w->ob.anchor.day) < s->age_under
			       ? s->then : s->otherwise;
	case STEP_WITHIN:
		if (duration_add(w->cal, w->first_anchor, &s->within, false, &limit, &err) < 0)
			return s->otherwise;
		/* "Within 1 year of X" includes X + 1 year, as "within 10 working
		 * days" includes the 10th (DESIGN.md, counting). */
		return w->ob.anchor.day <= limit.day ? s->then : s->otherwise;
	case STEP_FIXED:
		break;
	}
	return s->then;
}

/* enum calendar_day1: the version's setting, else the rule's. */
static int counts_start_day(const struct rule *rule, const struct rule_version *v)
{
	return v->count_start_day >= 0 ? v->count_start_day :
	       rule->count_start_day > 0 ? rule->count_start_day : CALENDAR_DAY0;
}

/* Fill due and warn_from for the open obligation; false on a date error. */
static bool set_due(struct walk *w)
{
	const struct rule_version *v = &w->rule->all[w->ob.version];
	const struct rule_step *s = &v->due.v[w->ob.step < v->due.n ? w->ob.step : v->due.n - 1];
	struct dl_error err;
	char a[DATE_BUF];

	w->ob.duration = choose(w, s);
	if (duration_add(w->cal, w->ob.anchor, &w->ob.duration, counts_start_day(w->rule, v),
			 &w->ob.due, &err) < 0 ||
	    duration_sub(w->cal, w->ob.due, &w->rule->due_soon.d, &w->ob.warn_from, &err) < 0) {
		find(w, "rule %s: cannot compute a due date from %s: %s", w->rule->id,
		     date_format(w->ob.anchor.day, a), err.msg);
		return false;
	}
	w->ob.derived = calendar_span_is_derived(w->cal, w->ob.anchor.day, w->ob.due.day);
	return true;
}

static void open_clock(struct walk *w, const struct rules_event *ev, long version)
{
	/* Opening again, by another of the rule's start kinds, after a clock
	 * was met or cancelled is counted, as documented, but is likely a
	 * second record of the same thing (an s47 after its strategy
	 * discussion); remembered so that an obligation it leaves open can say
	 * why it is there.  The same kind again is a new cycle (a new
	 * observation, a new referral), not a finding. */
	w->restart = w->closed.seq && w->rule->repeat != 1 && w->closed.start_kind &&
		     strcmp(w->closed.start_kind, ev->kind) != 0 ? ev : NULL;
	w->ob.seq++;
	w->ob.version = (size_t)version;
	w->ob.step = 0;
	w->ob.anchor = ev->when;
	w->ob.start_kind = ev->kind;
	w->first_anchor = ev->when;
	w->open = set_due(w);
}

static int workdays(struct walk *w, dl_day from, dl_day to)
{
	struct dl_error err;
	int n = 0;

	if (calendar_workdays_between(w->cal, from, to, &n, &err) < 0)
		return 0;
	return n;
}

static void close_clock(struct walk *w, const struct rules_event *ev, enum phase phase)
{
	w->ob.closed = ev->when;
	w->ob.close_kind = ev->kind;
	w->ob.stage = 0;
	if (phase == PHASE_CANCEL) {
		w->ob.state = OB_CANCELLED;
		w->ob.days_overdue = 0;
	} else {
		w->ob.state = rules_passed(ev->when, w->ob.due) ? OB_LATE : OB_MET;
		w->ob.days_overdue = w->ob.state == OB_LATE ?
			workdays(w, w->ob.due.day, ev->when.day) : 0;
	}
	if (w->emit(w->ctx, &w->ob) < 0)
		w->stop = true;
	w->closed = w->ob;
	w->ob.close_kind = NULL;
	w->open = false;
	/* A recurring rule's next obligation is anchored on the met date. */
	if (phase == PHASE_MET && w->rule->repeat == 1) {
		w->ob.seq++;
		w->ob.step++;
		w->ob.anchor = ev->when;
		w->ob.start_kind = ev->kind;
		w->open = set_due(w);
	}
}

static void report_open(struct walk *w)
{
	const struct schema_list *stages = &w->rule->escalation;
	const struct rule_stage *st = stages->v;
	struct dl_moment at;
	struct dl_error err;

	w->ob.stage = 0;
	w->ob.days_overdue = 0;
	if (rules_passed(w->now, w->ob.due)) {
		w->ob.state = OB_OVERDUE;
		w->ob.days_overdue = workdays(w, w->ob.due.day, w->now.day);
		for (size_t i = 0; i < stages->n; i++)
			if (duration_add(w->cal, w->ob.due, &st[i].after.d, false, &at, &err) == 0 &&
			    rules_passed(w->now, at))
				w->ob.stage = (int)i + 1;
	} else {
		w->ob.state = reached(w->now, w->ob.warn_from) ? OB_DUE_SOON : OB_OPEN;
	}
	if (w->emit(w->ctx, &w->ob) < 0)
		w->stop = true;
}

/* A data-quality finding for an obligation still open that a start opened
 * after this non-recurring rule's clock had been met or cancelled, such as
 * strategy_discussion, icpc_not_required, then s47_started: it stays
 * overdue for ever if nothing follows, and the manager should see why. */
static void tell_restart(struct walk *w)
{
	char at[DATE_BUF], was[DATE_BUF];

	find(w, "event '%s' on %s started rule %s again after its clock was %s by '%s' on %s; "
	     "a new obligation is counted (the rule does not recur): check the case record",
	     w->restart->kind, date_format(w->restart->when.day, at), w->rule->id,
	     w->closed.state == OB_CANCELLED ? "cancelled" : "met",
	     w->closed.close_kind ? w->closed.close_kind : "?",
	     date_format(w->closed.closed.day, was));
}

int rules_evaluate(const struct rule *rule, const struct calendar *cal,
		   const struct rules_case *c, struct dl_moment now,
		   rules_obligation_fn emit, rules_finding_fn finding, void *ctx)
{
	struct walk w;
	struct walk_event stack[64], *ev = stack;
	size_t n = 0;
	bool any_start = false;

	if (c->nevents > sizeof stack / sizeof stack[0] &&
	    !(ev = malloc(c->nevents * sizeof *ev)))
		return -1;
	for (size_t i = 0; i < c->nevents; i++) {
		int id = c->events[i].kind_id;
		enum phase p = id > 0 && rule->phase_by_kind ?
			(enum phase)rule->phase_by_kind[id] - 1 : classify(rule, c->events[i].kind);

		/* "As of" a day: later events have not happened yet. */
		if (p == PHASE_NONE || rules_passed(c->events[i].when, now))
			continue;
		ev[n].ev = &c->events[i];
		ev[n++].phase = p;
		any_start |= p == PHASE_START;
	}
	/* Most of a case's rules have none of its events: nothing to walk,
	 * and nothing to clear (the walk is a few hundred bytes, and clearing
	 * it for each rule of each case was a twentieth of a full poll). */
	if (n == 0) {
		if (ev != stack)
			free(ev);
		return 0;
	}
	sort_walk(ev, n);
	w = (struct walk){ rule, cal, c, now, emit, finding, ctx, { .rule = rule }, false, false,
			   false, { DATE_NONE, DATE_NO_TIME } };
	for (size_t i = 0; i < n && !w.stop; i++) {
		long version;

		switch (ev[i].phase) {
		case PHASE_START:
			if (!w.open && (version = pick_version(rule, ev[i].ev->when.day)) >= 0)
				open_clock(&w, ev[i].ev, version);
			break;
		case PHASE_MET:
		case PHASE_CANCEL:
			if (w.open)
				close_clock(&w, ev[i].ev, ev[i].phase);
			else if (ev[i].phase == PHASE_MET && !any_start)
				find(&w, "event '%s' meets rule %s but nothing started its clock",
				     ev[i].ev->kind, rule->id);
			if (!any_start)
				any_start = true;     /* say it once per rule and case */
			break;
		case PHASE_NONE:
			break;
		}
	}
	if (w.open && !w.stop) {
		report_open(&w);
		if (w.restart && !w.stop)
			tell_restart(&w);
	}
	if (ev != stack)
		free(ev);
	return w.stop ? -1 : 0;
}
