/* test_rules.c — the statutory rule pack, rule by rule, against timelines.
 *
 * Loads the real example configuration (conf/deadlined.conf and the rule
 * pack it @includes from conf/rules/; tests run from the repository root)
 * and runs event timelines through rules_evaluate, comparing every
 * obligation (seq, anchor, due, state, escalation stage, working days
 * overdue) and every data-quality finding.
 *
 * Every expected date was worked out by hand from STATUTORY-RULES.md, the
 * England and Wales bank holidays (shared/reference/bank-holidays-...txt;
 * years before 2017 from the 1971 Act pattern plus the known one-offs) and
 * DESIGN.md's counting: the start day is day 0; "N working days" is the Nth
 * working day after; months keep the day of the month, clamped to the end of
 * a shorter month; care-proceedings counts the day of issue as day 1.  In the
 * comments "(k)" after a day is the working-day count reached on that day and
 * "hol" marks a bank holiday.  The example config also closes the council on
 * 2026-12-29..31.
 *
 * "As of" a date means the end of that day (sec 86399), as the commands do;
 * an "as of" with a time is that moment.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deadlined/conf.h"
#include "deadlined/rules.h"

#define MAXEV 16
#define MAXOB 16
#define MAXFIND 8

static struct conf *conf;

struct ev {
	const char *kind, *when;
};

struct want {
	int seq;
	const char *anchor, *due, *state;
	int stage, days;        /* escalation stage; working days overdue (or late) */
};

struct tcase {
	const char *what;
	const char *now;        /* "as of" */
	const char *dob;        /* NULL: unknown */
	struct ev ev[MAXEV];    /* ends at kind NULL */
	struct want ob[MAXOB];  /* ends at seq 0 */
	const char *finding;    /* NULL: no finding; else a part of the only one */
};

struct got {
	struct obligation ob[MAXOB + 4];
	size_t n;
	char finding[MAXFIND][512];
	size_t nfind;
};

/* Hours count real time in the configured zone (Europe/London). */
static int setup(void **state)
{
	(void)state;
	return test_example_conf(&conf);
}

static int teardown(void **state)
{
	(void)state;
	conf_free(conf);
	return 0;
}



/* A date-only "as of" is the end of that day. */
static struct dl_moment as_of(const char *s)
{
	struct dl_moment m = M(s);

	if (m.sec == DATE_NO_TIME)
		m.sec = 86399;
	return m;
}

static int emit(void *ctx, const struct obligation *ob)
{
	struct got *g = ctx;

	/* The pointer is only valid during the call: copy. */
	if (g->n < sizeof g->ob / sizeof g->ob[0])
		g->ob[g->n] = *ob;
	g->n++;
	return 0;
}

static int finding(void *ctx, const char *case_ref, const char *problem)
{
	struct got *g = ctx;

	assert_string_equal(case_ref, "C1");
	if (g->nfind < MAXFIND)
		snprintf(g->finding[g->nfind], sizeof g->finding[0], "%s", problem);
	g->nfind++;
	return 0;
}

static void dump(const char *rule, const struct tcase *t, const struct got *g)
{
	char a[DATE_MOMENT_BUF], d[DATE_MOMENT_BUF];

	print_error("rule %s, case '%s' as of %s: got %zu obligation(s), %zu finding(s)\n",
		    rule, t->what, t->now, g->n, g->nfind);
	for (size_t i = 0; i < g->n && i < sizeof g->ob / sizeof g->ob[0]; i++) {
		const struct obligation *o = &g->ob[i];

		print_error("  seq %d anchor %s due %s %s stage %d days %d\n", o->seq,
			    date_format_moment(o->anchor, a), date_format_moment(o->due, d),
			    rules_state_name(o->state), o->stage, o->days_overdue);
	}
	for (size_t i = 0; i < g->nfind && i < MAXFIND; i++)
		print_error("  finding: %s\n", g->finding[i]);
}

static void run_case(const char *rule_id, const struct tcase *t)
{
	const struct rule *rule = conf_rule(conf, rule_id);
	struct rules_event events[MAXEV];
	struct rules_case c = { "C1", DATE_NONE, events, 0 };
	struct got g = { .n = 0 };
	size_t nwant = 0;
	char a[DATE_MOMENT_BUF], d[DATE_MOMENT_BUF];

	if (!rule)
		fail_msg("no rule %s in conf/deadlined.conf", rule_id);
	if (t->dob)
		c.date_of_birth = D(t->dob);
	for (; c.nevents < MAXEV && t->ev[c.nevents].kind; c.nevents++) {
		events[c.nevents].kind = t->ev[c.nevents].kind;
		events[c.nevents].when = M(t->ev[c.nevents].when);
		/* Every second case by number, as evaluate.c passes them. */
		events[c.nevents].kind_id =
			c.nevents % 2 ? conf_kind_id(conf, events[c.nevents].kind) : 0;
	}
	while (nwant < MAXOB && t->ob[nwant].seq)
		nwant++;

	rules_evaluate(rule, conf->cal, &c, as_of(t->now), emit, finding, &g);

	if (g.n != nwant) {
		dump(rule_id, t, &g);
		fail_msg("%s '%s': %zu obligations, want %zu", rule_id, t->what, g.n, nwant);
	}
	for (size_t i = 0; i < nwant; i++) {
		const struct obligation *o = &g.ob[i];
		const struct want *w = &t->ob[i];

		date_format_moment(o->anchor, a);
		date_format_moment(o->due, d);
		if (o->rule != rule || o->seq != w->seq || strcmp(a, w->anchor) != 0 ||
		    strcmp(d, w->due) != 0 || strcmp(rules_state_name(o->state), w->state) != 0 ||
		    o->stage != w->stage || o->days_overdue != w->days) {
			dump(rule_id, t, &g);
			fail_msg("%s '%s' obligation %zu: got seq %d anchor %s due %s %s stage %d "
				 "days %d; want seq %d anchor %s due %s %s stage %d days %d",
				 rule_id, t->what, i + 1, o->seq, a, d, rules_state_name(o->state),
				 o->stage, o->days_overdue, w->seq, w->anchor, w->due, w->state,
				 w->stage, w->days);
		}
	}
	if (t->finding ? g.nfind != 1 || !strstr(g.finding[0], t->finding) : g.nfind != 0) {
		dump(rule_id, t, &g);
		fail_msg("%s '%s': %zu finding(s), want %s", rule_id, t->what, g.nfind,
			 t->finding ? t->finding : "none");
	}
}

static void run_cases(const char *rule_id, const struct tcase *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		run_case(rule_id, &t[i]);
}

#define RUN(rule, cases) run_cases(rule, cases, sizeof cases / sizeof cases[0])

/* The pack holds exactly the 19 rules of STATUTORY-RULES.md, in file order. */
static void test_pack_loaded(void **state)
{
	static const char *const ids[] = {
		"referral-decision", "initial-assessment", "core-assessment", "assessment",
		"icpc", "cp-review-conference", "cp-plan-duration", "cla-review", "care-plan",
		"cla-visit", "health-part-a", "initial-health-assessment",
		"review-health-assessment", "pep", "return-home-interview", "care-proceedings",
		"ehc-plan", "observation-oral-feedback", "observation-written-feedback",
	};
	const struct rule *r = conf->rules.v;

	(void)state;
	assert_int_equal(conf->rules.n, 19);
	for (size_t i = 0; i < 19; i++) {
		assert_string_equal(r[i].id, ids[i]);
		assert_ptr_equal(conf_rule(conf, ids[i]), &r[i]);
	}
	assert_null(conf_rule(conf, "no-such-rule"));
}

/* 1 working day; due-soon "0 days" (the morning of the due day). */
static void test_referral_decision(void **state)
{
	static const struct tcase cases[] = {
		{ "Friday referral, decided Monday", "2025-01-10", NULL,
		  { { "referral", "2024-12-20" }, { "referral_decision", "2024-12-23" } },
		  /* Fri 20 Dec + 1 WD: Sat, Sun, Mon 23 (1). */
		  { { 1, "2024-12-20", "2024-12-23", "met", 0, 0 } }, NULL },
		{ "referral_nfa is a decision too", "2025-01-10", NULL,
		  { { "referral", "2024-12-20" }, { "referral_nfa", "2024-12-23" } },
		  { { 1, "2024-12-20", "2024-12-23", "met", 0, 0 } }, NULL },
		/* Tue 24 Dec + 1 WD: 25, 26 hol, Fri 27 (1).  warn_from = due - 0 days. */
		{ "Christmas Eve referral, the day itself", "2024-12-24", NULL,
		  { { "referral", "2024-12-24" } },
		  { { 1, "2024-12-24", "2024-12-27", "open", 0, 0 } }, NULL },
		{ "Christmas Eve referral, day before due: still open (0-day window)",
		  "2024-12-26", NULL, { { "referral", "2024-12-24" } },
		  { { 1, "2024-12-24", "2024-12-27", "open", 0, 0 } }, NULL },
		{ "Christmas Eve referral, on the due day", "2024-12-27", NULL,
		  { { "referral", "2024-12-24" } },
		  { { 1, "2024-12-24", "2024-12-27", "due-soon", 0, 0 } }, NULL },
		/* Sat 28: past due, but no working day overdue yet. */
		{ "overdue on the Saturday, 0 working days", "2024-12-28", NULL,
		  { { "referral", "2024-12-24" } },
		  { { 1, "2024-12-24", "2024-12-27", "overdue", 0, 0 } }, NULL },
		/* Overdue working days after Fri 27: Mon 30 (1), Tue 31 (2), 1 Jan hol,
		 * Thu 2 (3), Fri 3 (4), Mon 6 (5).  Escalation at due + 5 WD = Mon 6 Jan,
		 * reached only when today > 6 Jan. */
		{ "5 working days overdue: not yet escalated", "2025-01-06", NULL,
		  { { "referral", "2024-12-24" } },
		  { { 1, "2024-12-24", "2024-12-27", "overdue", 0, 5 } }, NULL },
		{ "6 working days overdue: stage 1", "2025-01-07", NULL,
		  { { "referral", "2024-12-24" } },
		  { { 1, "2024-12-24", "2024-12-27", "overdue", 1, 6 } }, NULL },
		/* Decided Tue 31: due Fri 27, late by Mon 30, Tue 31 = 2 WD. */
		{ "decided late across Christmas", "2025-01-10", NULL,
		  { { "referral", "2024-12-24" }, { "referral_decision", "2024-12-31" } },
		  { { 1, "2024-12-24", "2024-12-27", "late", 0, 2 } }, NULL },
		{ "case closed before a decision", "2025-01-10", NULL,
		  { { "referral", "2024-12-24" }, { "case_closed", "2024-12-27" } },
		  { { 1, "2024-12-24", "2024-12-27", "cancelled", 0, 0 } }, NULL },
		/* Ties on one day: start, then met, then cancel, whatever the input order. */
		{ "same-day cancel, met, start given in reverse", "2025-01-10", NULL,
		  { { "case_closed", "2024-12-20" }, { "referral_decision", "2024-12-20" },
		    { "referral", "2024-12-20" } },
		  { { 1, "2024-12-20", "2024-12-23", "met", 0, 0 } }, NULL },
		{ "same-day start and cancel", "2025-01-10", NULL,
		  { { "case_closed", "2024-12-20" }, { "referral", "2024-12-20" } },
		  { { 1, "2024-12-20", "2024-12-23", "cancelled", 0, 0 } }, NULL },
		/* Met events with nothing started: one finding, no obligation. */
		{ "decision with no referral", "2025-01-10", NULL,
		  { { "referral_decision", "2024-12-20" }, { "referral_nfa", "2024-12-23" } },
		  { { 0 } }, "nothing started its clock" },
		{ "only a cancel: nothing to report", "2025-01-10", NULL,
		  { { "case_closed", "2024-12-20" } }, { { 0 } }, NULL },
		/* Events after "as of" have not happened yet. */
		{ "decision dated after now is ignored", "2024-12-20", NULL,
		  { { "referral", "2024-12-20" }, { "referral_decision", "2024-12-23" } },
		  { { 1, "2024-12-20", "2024-12-23", "open", 0, 0 } }, NULL },
		{ "referral dated after now is ignored", "2024-12-19", NULL,
		  { { "referral", "2024-12-20" }, { "referral_decision", "2024-12-23" } },
		  { { 0 } }, NULL },
		/* A decision later the same day as "now" (a moment) has not happened. */
		{ "decision at 15:00, as of 09:00 that day", "2024-12-23T09:00", NULL,
		  { { "referral", "2024-12-20" }, { "referral_decision", "2024-12-23T15:00" } },
		  { { 1, "2024-12-20", "2024-12-23", "due-soon", 0, 0 } }, NULL },
	};

	(void)state;
	RUN("referral-decision", cases);
}

/* 10 working days, for referrals up to 2013-04-14 (years before 2017 are the
 * 1971 pattern: 2013 holidays 1 Jan, 29 Mar, 1 Apr, 6 May, 27 May, ...). */
static void test_initial_assessment(void **state)
{
	static const struct tcase cases[] = {
		/* Mon 25 Mar 2013: 26 (1), 27 (2), 28 (3), 29 Good Friday, 1 Apr Easter
		 * Monday, 2 (4), 3 (5), 4 (6), 5 (7), 8 (8), 9 (9), 10 (10). */
		{ "across Easter 2013, completed late", "2013-05-01", NULL,
		  { { "referral", "2013-03-25" }, { "initial_assessment_completed", "2013-04-12" } },
		  /* late: Thu 11 (1), Fri 12 (2). */
		  { { 1, "2013-03-25", "2013-04-10", "late", 0, 2 } }, NULL },
		/* The last start date of this edition (inclusive): Sun 14 Apr 2013;
		 * Mon 15 (1) .. Fri 19 (5), Mon 22 (6) .. Fri 26 (10). */
		{ "referral on the last day of the edition", "2013-04-16", NULL,
		  { { "referral", "2013-04-14" } },
		  { { 1, "2013-04-14", "2013-04-26", "open", 0, 0 } }, NULL },
		/* From 2013-04-15 the single assessment applies instead. */
		{ "referral on 2013-04-15: no initial assessment", "2013-06-01", NULL,
		  { { "referral", "2013-04-15" }, { "initial_assessment_completed", "2013-04-20" } },
		  { { 0 } }, NULL },
		{ "no further action cancels", "2013-05-01", NULL,
		  { { "referral", "2013-03-25" }, { "referral_nfa", "2013-03-26" } },
		  { { 1, "2013-03-25", "2013-04-10", "cancelled", 0, 0 } }, NULL },
	};

	(void)state;
	RUN("initial-assessment", cases);
}

/* 35 working days from the start of the core assessment, until 2013-04-14. */
static void test_core_assessment(void **state)
{
	/* Mon 3 Dec 2012: Dec 4-7 (4), 10-14 (9), 17-21 (14), Mon 24 (15), 25 and
	 * 26 hol, Thu 27 (16), Fri 28 (17), Mon 31 (18), 1 Jan hol, Jan 2-4 (21),
	 * 7-11 (26), 14-18 (31), Mon 21 (32), 22 (33), 23 (34), Thu 24 (35).
	 * Due-soon from 2 WD before Thu 24: Wed 23 (1), Tue 22 (2). */
	static const struct tcase cases[] = {
		{ "the day before the warning", "2013-01-21", NULL,
		  { { "core_assessment_started", "2012-12-03" } },
		  { { 1, "2012-12-03", "2013-01-24", "open", 0, 0 } }, NULL },
		{ "the first day of the warning", "2013-01-22", NULL,
		  { { "core_assessment_started", "2012-12-03" } },
		  { { 1, "2012-12-03", "2013-01-24", "due-soon", 0, 0 } }, NULL },
		{ "completed on the due day", "2013-02-01", NULL,
		  { { "core_assessment_started", "2012-12-03" },
		    { "core_assessment_completed", "2013-01-24" } },
		  { { 1, "2012-12-03", "2013-01-24", "met", 0, 0 } }, NULL },
		{ "started after the edition ended", "2013-06-01", NULL,
		  { { "core_assessment_started", "2013-04-15" } }, { { 0 } }, NULL },
	};

	(void)state;
	RUN("core-assessment", cases);
}

/* 45 working days from the referral, for referrals from 2013-04-15. */
static void test_assessment(void **state)
{
	static const struct tcase cases[] = {
		/* Mon 15 Apr 2013: Apr 16-19 (4), 22-26 (9), 29-30 (11), May 1-3 (14),
		 * 6 May hol, 7-10 (18), 13-17 (23), 20-24 (28), 27 May hol, 28-31 (32),
		 * Jun 3-7 (37), 10-14 (42), 17 (43), 18 (44), Wed 19 (45). */
		{ "first day of the edition", "2013-06-19", NULL,
		  { { "referral", "2013-04-15" } },
		  { { 1, "2013-04-15", "2013-06-19", "due-soon", 0, 0 } }, NULL },
		{ "the last day of the old edition: no single assessment", "2013-06-19", NULL,
		  { { "referral", "2013-04-14" }, { "assessment_completed", "2013-05-01" } },
		  { { 0 } }, NULL },
		/* Fri 1 Mar 2024: Mar 4-8 (5), 11-15 (10), 18-22 (15), 25-28 (19),
		 * 29 Mar Good Friday, 1 Apr Easter Monday, Apr 2-5 (23), 8-12 (28),
		 * 15-19 (33), 22-26 (38), 29-30 (40), May 1-3 (43), 6 May hol,
		 * Tue 7 (44), Wed 8 (45). */
		{ "across Easter 2024, completed on time", "2024-06-01", NULL,
		  { { "referral", "2024-03-01" }, { "assessment_completed", "2024-05-08" } },
		  { { 1, "2024-03-01", "2024-05-08", "met", 0, 0 } }, NULL },
		/* late: Thu 9 (1), Fri 10 (2), Mon 13 (3). */
		{ "completed late", "2024-06-01", NULL,
		  { { "referral", "2024-03-01" }, { "assessment_completed", "2024-05-13" } },
		  { { 1, "2024-03-01", "2024-05-08", "late", 0, 3 } }, NULL },
		{ "no further action", "2024-06-01", NULL,
		  { { "referral", "2024-03-01" }, { "referral_nfa", "2024-03-05" } },
		  { { 1, "2024-03-01", "2024-05-08", "cancelled", 0, 0 } }, NULL },
		{ "assessment_completed with no referral", "2024-06-01", NULL,
		  { { "assessment_completed", "2024-05-08" } }, { { 0 } },
		  "nothing started its clock" },
	};

	(void)state;
	RUN("assessment", cases);
}

/* 15 working days from the strategy discussion or s47, whichever is first. */
static void test_icpc(void **state)
{
	/* Fri 28 Apr 2023: 1 May hol, Tue 2 (1), 3 (2), 4 (3), 5 (4), 8 May
	 * coronation, 9 (5), 10 (6), 11 (7), 12 (8), 15-19 (13), 22 (14),
	 * Tue 23 (15).  From the s47 on Tue 2 May it would be 24 May. */
	static const struct tcase cases[] = {
		{ "s47 while the clock is open is ignored; held on time", "2023-06-30", NULL,
		  { { "strategy_discussion", "2023-04-28" }, { "s47_started", "2023-05-02" },
		    { "icpc", "2023-05-23" } },
		  { { 1, "2023-04-28", "2023-05-23", "met", 0, 0 } }, NULL },
		/* late: Wed 24 (1), 25 (2), 26 (3), 29 May hol, 30 (4), 31 (5), Thu 1 Jun (6). */
		{ "held late, across the spring holiday", "2023-06-30", NULL,
		  { { "strategy_discussion", "2023-04-28" }, { "s47_started", "2023-05-02" },
		    { "icpc", "2023-06-01" } },
		  { { 1, "2023-04-28", "2023-05-23", "late", 0, 6 } }, NULL },
		/* Warn 2 WD before Tue 23: Mon 22 (1), Fri 19 (2); the 18th is open. */
		{ "s47 first, strategy discussion later ignored", "2023-05-18", NULL,
		  { { "s47_started", "2023-04-28" }, { "strategy_discussion", "2023-05-03" } },
		  { { 1, "2023-04-28", "2023-05-23", "open", 0, 0 } }, NULL },
		/* Escalation at due + 5 WD: 24, 25, 26, 30, Wed 31 May. */
		{ "5 working days overdue", "2023-05-31", NULL,
		  { { "strategy_discussion", "2023-04-28" } },
		  { { 1, "2023-04-28", "2023-05-23", "overdue", 0, 5 } }, NULL },
		{ "6 working days overdue: stage 1", "2023-06-01", NULL,
		  { { "strategy_discussion", "2023-04-28" } },
		  { { 1, "2023-04-28", "2023-05-23", "overdue", 1, 6 } }, NULL },
		/* Nothing follows a cancel, not even a later conference. */
		{ "s47 no further action, then a conference anyway", "2023-06-30", NULL,
		  { { "strategy_discussion", "2023-04-28" }, { "s47_nfa", "2023-05-10" },
		    { "icpc", "2023-05-20" } },
		  { { 1, "2023-04-28", "2023-05-23", "cancelled", 0, 0 } }, NULL },
		{ "conference not required", "2023-06-30", NULL,
		  { { "s47_started", "2023-04-28" }, { "icpc_not_required", "2023-05-02" } },
		  { { 1, "2023-04-28", "2023-05-23", "cancelled", 0, 0 } }, NULL },
		/* A start after the clock was cancelled opens a new obligation (as
		 * documented), which nothing closes: counted, and a finding says
		 * why it is there (issue 14).  Wed 3 May + 15 WD (8 May a holiday)
		 * is Thu 25 May; then 26, 30, 31 May and 22 June days: 25 overdue. */
		{ "strategy discussion, conference not required, then s47", "2023-06-30", NULL,
		  { { "strategy_discussion", "2023-04-28" }, { "icpc_not_required", "2023-05-02" },
		    { "s47_started", "2023-05-03" } },
		  { { 1, "2023-04-28", "2023-05-23", "cancelled", 0, 0 },
		    { 2, "2023-05-03", "2023-05-25", "overdue", 1, 25 } },
		  "event 's47_started' on 2023-05-03 started rule icpc again after its clock "
		  "was cancelled by 'icpc_not_required' on 2023-05-02" },
		/* The same after a met clock; closed in turn, it needs no finding. */
		{ "a new start after the conference, itself met", "2023-06-30", NULL,
		  { { "strategy_discussion", "2023-04-28" }, { "icpc", "2023-05-02" },
		    { "s47_started", "2023-05-03" }, { "icpc", "2023-05-10" } },
		  { { 1, "2023-04-28", "2023-05-23", "met", 0, 0 },
		    { 2, "2023-05-03", "2023-05-25", "met", 0, 0 } }, NULL },
		{ "a new start after the conference, still open", "2023-05-10", NULL,
		  { { "strategy_discussion", "2023-04-28" }, { "icpc", "2023-05-02" },
		    { "s47_started", "2023-05-03" } },
		  { { 1, "2023-04-28", "2023-05-23", "met", 0, 0 },
		    { 2, "2023-05-03", "2023-05-25", "open", 0, 0 } },
		  "after its clock was met by 'icpc' on 2023-05-02" },
		/* The same start kind again is a new enquiry: no finding. */
		{ "a new strategy discussion after the conference", "2023-05-10", NULL,
		  { { "strategy_discussion", "2023-04-28" }, { "icpc", "2023-05-02" },
		    { "strategy_discussion", "2023-05-03" } },
		  { { 1, "2023-04-28", "2023-05-23", "met", 0, 0 },
		    { 2, "2023-05-03", "2023-05-25", "open", 0, 0 } }, NULL },
	};

	(void)state;
	RUN("icpc", cases);
}

/* 3 months from the plan, then every 6 months while it lasts. */
static void test_cp_review_conference(void **state)
{
	static const struct tcase cases[] = {
		{ "3 m, 6 m, 6 m, 6 m", "2025-08-26", NULL,
		  { { "cp_plan_started", "2023-11-30" },
		    { "cp_review_conference", "2024-02-29" },
		    { "cp_review_conference", "2024-09-02" },
		    { "cp_review_conference", "2025-02-28" } },
		  { /* 30 Nov 2023 + 3 m = 30 Feb, clamped to 29 Feb 2024 (leap). */
		    { 1, "2023-11-30", "2024-02-29", "met", 0, 0 },
		    /* 29 Feb + 6 m = 29 Aug 2024; held Mon 2 Sep: Fri 30 (1), Mon 2 (2). */
		    { 2, "2024-02-29", "2024-08-29", "late", 0, 2 },
		    /* 2 Sep + 6 m = Sun 2 Mar 2025 (calendar units do not move off weekends). */
		    { 3, "2024-09-02", "2025-03-02", "met", 0, 0 },
		    /* 28 Feb + 6 m = Thu 28 Aug 2025; warn 2 WD before: Wed 27, Tue 26. */
		    { 4, "2025-02-28", "2025-08-28", "due-soon", 0, 0 } }, NULL },
		{ "the day before the warning (a bank holiday)", "2025-08-25", NULL,
		  { { "cp_plan_started", "2023-11-30" },
		    { "cp_review_conference", "2024-02-29" },
		    { "cp_review_conference", "2024-09-02" },
		    { "cp_review_conference", "2025-02-28" } },
		  { { 1, "2023-11-30", "2024-02-29", "met", 0, 0 },
		    { 2, "2024-02-29", "2024-08-29", "late", 0, 2 },
		    { 3, "2024-09-02", "2025-03-02", "met", 0, 0 },
		    { 4, "2025-02-28", "2025-08-28", "open", 0, 0 } }, NULL },
		{ "plan ended: the pending review is cancelled", "2025-09-30", NULL,
		  { { "cp_plan_started", "2023-11-30" },
		    { "cp_review_conference", "2024-02-29" },
		    { "cp_plan_ended", "2024-05-01" },
		    { "cp_review_conference", "2024-08-29" } },
		  { { 1, "2023-11-30", "2024-02-29", "met", 0, 0 },
		    { 2, "2024-02-29", "2024-08-29", "cancelled", 0, 0 } }, NULL },
		/* Fri 31 May 2024 + 3 m = Sat 31 Aug; held Fri 30 Aug: + 6 m = 30 Feb,
		 * clamped to Fri 28 Feb 2025; held Mon 3 Mar: late 1 WD. */
		{ "month-end clamp in a common year", "2025-03-10", NULL,
		  { { "cp_plan_started", "2024-05-31" },
		    { "cp_review_conference", "2024-08-30" },
		    { "cp_review_conference", "2025-03-03" } },
		  { { 1, "2024-05-31", "2024-08-31", "met", 0, 0 },
		    { 2, "2024-08-30", "2025-02-28", "late", 0, 1 },
		    /* 3 Mar + 6 m = 3 Sep 2025. */
		    { 3, "2025-03-03", "2025-09-03", "open", 0, 0 } }, NULL },
		/* The pack starts this clock on cp_plan_started only. */
		{ "an ICPC alone starts no review clock", "2024-06-01", NULL,
		  { { "icpc", "2024-01-10" } }, { { 0 } }, NULL },
	};

	(void)state;
	RUN("cp-review-conference", cases);
}

/* A threshold: due at 1 year, escalation (replacing the default) a further
 * year on; no met event; ended by cp_plan_ended. */
static void test_cp_plan_duration(void **state)
{
	/* Wed 1 Jun 2022 + 1 year = Thu 1 Jun 2023.  Warn 2 WD before:
	 * Wed 31 May (1), Tue 30 May (2).  Stage 1 when today > 1 Jun 2024. */
	static const struct tcase cases[] = {
		{ "a year less two days", "2023-05-29", NULL,
		  { { "cp_plan_started", "2022-06-01" } },
		  { { 1, "2022-06-01", "2023-06-01", "open", 0, 0 } }, NULL },
		{ "due-soon", "2023-05-30", NULL, { { "cp_plan_started", "2022-06-01" } },
		  { { 1, "2022-06-01", "2023-06-01", "due-soon", 0, 0 } }, NULL },
		{ "on the anniversary", "2023-06-01", NULL, { { "cp_plan_started", "2022-06-01" } },
		  { { 1, "2022-06-01", "2023-06-01", "due-soon", 0, 0 } }, NULL },
		{ "overdue at one year", "2023-06-02", NULL, { { "cp_plan_started", "2022-06-01" } },
		  { { 1, "2022-06-01", "2023-06-01", "overdue", 0, 1 } }, NULL },
		/* Jun 2 (1), 5-9 (6), 12 (7): past the default 5 WD, but this rule's
		 * only stage is after a year. */
		{ "7 working days overdue: no default escalation", "2023-06-12", NULL,
		  { { "cp_plan_started", "2022-06-01" } },
		  { { 1, "2022-06-01", "2023-06-01", "overdue", 0, 7 } }, NULL },
		/* Working days from Fri 2 Jun 2023 to Fri 31 May 2024: exactly 52 weeks
		 * to Thu 30 May (260 weekdays) + Fri 31 May = 261, less the weekday
		 * bank holidays 28 Aug, 25 and 26 Dec 2023, 1 Jan, 29 Mar, 1 Apr,
		 * 6 May, 27 May 2024 (8) = 253.  Sat 1 Jun adds none. */
		{ "two years: not yet past", "2024-06-01", NULL,
		  { { "cp_plan_started", "2022-06-01" } },
		  { { 1, "2022-06-01", "2023-06-01", "overdue", 0, 253 } }, NULL },
		{ "past two years: stage 1", "2024-06-02", NULL,
		  { { "cp_plan_started", "2022-06-01" } },
		  { { 1, "2022-06-01", "2023-06-01", "overdue", 1, 253 } }, NULL },
		{ "plan ended", "2024-06-02", NULL,
		  { { "cp_plan_started", "2022-06-01" }, { "cp_plan_ended", "2023-03-01" } },
		  { { 1, "2022-06-01", "2023-06-01", "cancelled", 0, 0 } }, NULL },
		{ "plan ended after the year: still cancelled, not met", "2024-06-02", NULL,
		  { { "cp_plan_started", "2022-06-01" }, { "cp_plan_ended", "2023-07-01" } },
		  { { 1, "2022-06-01", "2023-06-01", "cancelled", 0, 0 } }, NULL },
	};

	(void)state;
	RUN("cp-plan-duration", cases);
}

/* 20 WD, then 3 months, then 6 months for ever; 4 weeks first before
 * April 2011. */
static void test_cla_review(void **state)
{
	static const struct tcase cases[] = {
		{ "20 WD, 3 m, 6 m, 6 m", "2026-04-10", NULL,
		  { { "cla_started", "2024-12-02" }, { "cla_review", "2024-12-31" },
		    { "cla_review", "2025-03-28" }, { "cla_review", "2025-09-26" } },
		  { /* Mon 2 Dec 2024: Dec 3-6 (4), 9-13 (9), 16-20 (14), 23 (15),
		     * 24 (16), 25, 26 hol, 27 (17), 30 (18), 31 (19), 1 Jan hol,
		     * Thu 2 Jan 2025 (20). */
		    { 1, "2024-12-02", "2025-01-02", "met", 0, 0 },
		    /* 31 Dec + 3 m = Mon 31 Mar 2025. */
		    { 2, "2024-12-31", "2025-03-31", "met", 0, 0 },
		    /* 28 Mar + 6 m = Sun 28 Sep 2025. */
		    { 3, "2025-03-28", "2025-09-28", "met", 0, 0 },
		    /* 26 Sep + 6 m = Thu 26 Mar 2026.  Overdue: Fri 27 (1), 30 (2),
		     * 31 (3), 1 Apr (4), 2 (5), 3 Good Friday, 6 Easter Monday, 7 (6),
		     * 8 (7), 9 (8), Fri 10 (9).  Stage 1 after due + 5 WD = Thu 2 Apr. */
		    { 4, "2025-09-26", "2026-03-26", "overdue", 1, 9 } }, NULL },
		/* Reviews dated after "as of" have not happened; the first review's
		 * warning starts 2 WD before Thu 2 Jan: Tue 31 Dec (1), Mon 30 (2). */
		{ "as of the Monday before the first review", "2024-12-30", NULL,
		  { { "cla_started", "2024-12-02" }, { "cla_review", "2024-12-31" },
		    { "cla_review", "2025-03-28" } },
		  { { 1, "2024-12-02", "2025-01-02", "due-soon", 0, 0 } }, NULL },
		{ "as of the Friday before that: open", "2024-12-27", NULL,
		  { { "cla_started", "2024-12-02" } },
		  { { 1, "2024-12-02", "2025-01-02", "open", 0, 0 } }, NULL },
		/* A review on the day the episode starts meets the first; the next
		 * is 3 months on from that day: 2 Mar 2025. */
		{ "start and review on the same day", "2025-01-31", NULL,
		  { { "cla_review", "2024-12-02" }, { "cla_started", "2024-12-02" } },
		  { { 1, "2024-12-02", "2025-01-02", "met", 0, 0 },
		    { 2, "2024-12-02", "2025-03-02", "open", 0, 0 } }, NULL },
		/* Review and end on one day: the review meets seq 1, opens seq 2, and
		 * the end cancels it.  A later review follows nothing. */
		{ "review and episode end on the same day", "2025-06-30", NULL,
		  { { "cla_ended", "2024-12-31" }, { "cla_started", "2024-12-02" },
		    { "cla_review", "2024-12-31" }, { "cla_review", "2025-03-20" } },
		  { { 1, "2024-12-02", "2025-01-02", "met", 0, 0 },
		    { 2, "2024-12-31", "2025-03-31", "cancelled", 0, 0 } }, NULL },
		/* Before April 2011: Thu 31 Mar 2011 + 4 weeks = Thu 28 Apr; then
		 * + 3 m = Thu 28 Jul; warn 2 WD before: Wed 27, Tue 26 Jul. */
		{ "episode from 2011-03-31: 4 weeks first", "2011-07-26", NULL,
		  { { "cla_started", "2011-03-31" }, { "cla_review", "2011-04-28" } },
		  { { 1, "2011-03-31", "2011-04-28", "met", 0, 0 },
		    { 2, "2011-04-28", "2011-07-28", "due-soon", 0, 0 } }, NULL },
		/* Fri 1 Apr 2011: Apr 4-8 (5), 11-15 (10), 18-21 (14), 22 Good Friday,
		 * 25 Easter Monday, 26 (15), 27 (16), 28 (17), 29 royal wedding,
		 * 2 May early May holiday, 3 (18), 4 (19), Thu 5 May (20).  Overdue
		 * Fri 6 May: 1 WD. */
		{ "episode from 2011-04-01: 20 working days", "2011-05-06", NULL,
		  { { "cla_started", "2011-04-01" } },
		  { { 1, "2011-04-01", "2011-05-05", "overdue", 0, 1 } }, NULL },
		{ "a review with no episode", "2025-01-31", NULL,
		  { { "cla_review", "2024-12-02" } }, { { 0 } }, "nothing started its clock" },
	};

	(void)state;
	RUN("cla-review", cases);
}

/* 10 working days from the start of the episode. */
static void test_care_plan(void **state)
{
	/* Fri 27 May 2022: Mon 30 (1), 31 (2), Wed 1 Jun (3), 2 Jun spring
	 * holiday, 3 Jun Platinum Jubilee, 6 (4), 7 (5), 8 (6), 9 (7), 10 (8),
	 * 13 (9), Tue 14 (10). */
	static const struct tcase cases[] = {
		{ "across the Platinum Jubilee, on time", "2022-07-01", NULL,
		  { { "cla_started", "2022-05-27" }, { "care_plan", "2022-06-14" } },
		  { { 1, "2022-05-27", "2022-06-14", "met", 0, 0 } }, NULL },
		/* Overdue: Wed 15 (1), 16 (2), 17 (3), 20 (4), Tue 21 (5); stage at
		 * due + 5 WD = 21 Jun, so not on the 21st, but on the 22nd. */
		{ "overdue 5 WD", "2022-06-21", NULL, { { "cla_started", "2022-05-27" } },
		  { { 1, "2022-05-27", "2022-06-14", "overdue", 0, 5 } }, NULL },
		{ "overdue 6 WD: stage 1", "2022-06-22", NULL, { { "cla_started", "2022-05-27" } },
		  { { 1, "2022-05-27", "2022-06-14", "overdue", 1, 6 } }, NULL },
		/* Warn 2 WD before Tue 14: Mon 13 (1), Fri 10 (2). */
		{ "due-soon from the Friday", "2022-06-10", NULL, { { "cla_started", "2022-05-27" } },
		  { { 1, "2022-05-27", "2022-06-14", "due-soon", 0, 0 } }, NULL },
		{ "open the day before", "2022-06-09", NULL, { { "cla_started", "2022-05-27" } },
		  { { 1, "2022-05-27", "2022-06-14", "open", 0, 0 } }, NULL },
		{ "episode ended", "2022-07-01", NULL,
		  { { "cla_started", "2022-05-27" }, { "cla_ended", "2022-06-01" } },
		  { { 1, "2022-05-27", "2022-06-14", "cancelled", 0, 0 } }, NULL },
	};

	(void)state;
	RUN("care-plan", cases);
}

/* 1 week, then 6 weeks while the anchor (the previous visit) is within a
 * year of the first placement_started, then 3 months. */
static void test_cla_visit(void **state)
{
	static const struct tcase cases[] = {
		{ "a year of 6-weekly visits, then 3-monthly", "2025-04-14", NULL,
		  { { "placement_started", "2024-01-10" }, { "cla_visit", "2024-01-15" },
		    { "cla_visit", "2024-02-26" }, { "cla_visit", "2024-04-08" },
		    { "placement_started", "2024-05-01" },  /* a move: ignored */
		    { "cla_visit", "2024-05-20" }, { "cla_visit", "2024-07-01" },
		    { "cla_visit", "2024-08-12" }, { "cla_visit", "2024-09-23" },
		    { "cla_visit", "2024-11-04" }, { "cla_visit", "2024-12-16" },
		    { "cla_visit", "2025-01-10" }, { "cla_visit", "2025-01-13" } },
		  { /* Wed 10 Jan 2024 + 1 week = Wed 17 Jan. */
		    { 1, "2024-01-10", "2024-01-17", "met", 0, 0 },
		    /* Each Monday + 42 days is the Monday 6 weeks on (2024 is leap):
		     * 15 Jan -> 26 Feb -> 8 Apr -> 20 May -> 1 Jul -> 12 Aug -> 23 Sep
		     * -> 4 Nov -> 16 Dec -> 27 Jan 2025. */
		    { 2, "2024-01-15", "2024-02-26", "met", 0, 0 },
		    { 3, "2024-02-26", "2024-04-08", "met", 0, 0 },
		    { 4, "2024-04-08", "2024-05-20", "met", 0, 0 },
		    { 5, "2024-05-20", "2024-07-01", "met", 0, 0 },
		    { 6, "2024-07-01", "2024-08-12", "met", 0, 0 },
		    { 7, "2024-08-12", "2024-09-23", "met", 0, 0 },
		    { 8, "2024-09-23", "2024-11-04", "met", 0, 0 },
		    { 9, "2024-11-04", "2024-12-16", "met", 0, 0 },
		    { 10, "2024-12-16", "2025-01-27", "met", 0, 0 },
		    /* Visit on Fri 10 Jan 2025, exactly a year after the placement
		     * (10 Jan 2024 + 1 year): "within 1 year of X" includes X + 1 year,
		     * as "within 10 working days" includes the 10th, so still 6 weeks:
		     * 10 Jan + 42 = Fri 21 Feb 2025. */
		    { 11, "2025-01-10", "2025-02-21", "met", 0, 0 },
		    /* Mon 13 Jan 2025 is past the first year: 3 months, Sun 13 Apr;
		     * overdue Mon 14 Apr: 1 WD. */
		    { 12, "2025-01-13", "2025-04-13", "overdue", 0, 1 } }, NULL },
		/* Fri 22 Mar 2024 + 1 week = Fri 29 Mar (Good Friday: calendar units
		 * do not move).  Visit Tue 2 Apr: 1 Apr Easter Monday, Tue 2 (1).
		 * Then 2 Apr + 42 = Tue 14 May; warn 2 WD before: Mon 13, Fri 10. */
		{ "first visit late over Easter", "2024-05-10", NULL,
		  { { "placement_started", "2024-03-22" }, { "cla_visit", "2024-04-02" } },
		  { { 1, "2024-03-22", "2024-03-29", "late", 0, 1 },
		    { 2, "2024-04-02", "2024-05-14", "due-soon", 0, 0 } }, NULL },
		{ "episode ended", "2024-05-10", NULL,
		  { { "placement_started", "2024-03-22" }, { "cla_visit", "2024-03-25" },
		    { "cla_ended", "2024-04-20" } },
		  /* 25 Mar + 6 weeks = 6 May. */
		  { { 1, "2024-03-22", "2024-03-29", "met", 0, 0 },
		    { 2, "2024-03-25", "2024-05-06", "cancelled", 0, 0 } }, NULL },
	};

	(void)state;
	RUN("cla-visit", cases);
}

/* 5 working days from the start of the episode. */
static void test_health_part_a(void **state)
{
	/* Wed 14 Sep 2022: Thu 15 (1), Fri 16 (2), 19 Sep state funeral, 20 (3),
	 * 21 (4), Thu 22 (5). */
	static const struct tcase cases[] = {
		{ "across the state funeral, sent a day late", "2022-10-01", NULL,
		  { { "cla_started", "2022-09-14" }, { "health_part_a_sent", "2022-09-23" } },
		  { { 1, "2022-09-14", "2022-09-22", "late", 0, 1 } }, NULL },
		/* Warn 2 WD before Thu 22: Wed 21, Tue 20; Mon 19 is a holiday. */
		{ "open on the funeral holiday", "2022-09-19", NULL,
		  { { "cla_started", "2022-09-14" } },
		  { { 1, "2022-09-14", "2022-09-22", "open", 0, 0 } }, NULL },
		{ "due-soon", "2022-09-20", NULL, { { "cla_started", "2022-09-14" } },
		  { { 1, "2022-09-14", "2022-09-22", "due-soon", 0, 0 } }, NULL },
		{ "sent on the start day", "2022-10-01", NULL,
		  { { "cla_started", "2022-09-14" }, { "health_part_a_sent", "2022-09-14" } },
		  { { 1, "2022-09-14", "2022-09-22", "met", 0, 0 } }, NULL },
	};

	(void)state;
	RUN("health-part-a", cases);
}

/* 28 calendar days. */
static void test_initial_health_assessment(void **state)
{
	/* 1 Feb 2024 + 28 days = Thu 29 Feb (leap year).  Warn 2 WD before:
	 * Wed 28 (1), Tue 27 (2). */
	static const struct tcase cases[] = {
		{ "open", "2024-02-26", NULL, { { "cla_started", "2024-02-01" } },
		  { { 1, "2024-02-01", "2024-02-29", "open", 0, 0 } }, NULL },
		{ "due-soon", "2024-02-27", NULL, { { "cla_started", "2024-02-01" } },
		  { { 1, "2024-02-01", "2024-02-29", "due-soon", 0, 0 } }, NULL },
		{ "a day late", "2024-04-01", NULL,
		  { { "cla_started", "2024-02-01" }, { "initial_health_assessment", "2024-03-01" } },
		  { { 1, "2024-02-01", "2024-02-29", "late", 0, 1 } }, NULL },
		/* 28 days from a Saturday is a Saturday: 23 Dec 2023 -> 20 Jan 2024. */
		{ "from a Saturday", "2024-01-20", NULL, { { "cla_started", "2023-12-23" } },
		  { { 1, "2023-12-23", "2024-01-20", "due-soon", 0, 0 } }, NULL },
		{ "episode ended", "2024-04-01", NULL,
		  { { "cla_started", "2024-02-01" }, { "cla_ended", "2024-02-10" } },
		  { { 1, "2024-02-01", "2024-02-29", "cancelled", 0, 0 } }, NULL },
	};

	(void)state;
	RUN("initial-health-assessment", cases);
}

/* 6 months while under 5 at the anchor, else 12 months; repeating. */
static void test_review_health_assessment(void **state)
{
	static const struct tcase cases[] = {
		{ "turns 5 between assessments", "2024-07-12", "2018-06-01",
		  { { "initial_health_assessment", "2023-01-15" },
		    { "review_health_assessment", "2023-07-10" } },
		  { /* Aged 4 on 15 Jan 2023: 6 m = Sat 15 Jul 2023. */
		    { 1, "2023-01-15", "2023-07-15", "met", 0, 0 },
		    /* Aged 5 on 10 Jul 2023: 12 m = Wed 10 Jul 2024; overdue Thu 11
		     * (1), Fri 12 (2). */
		    { 2, "2023-07-10", "2024-07-10", "overdue", 0, 2 } }, NULL },
		/* The anchor is the 5th birthday: 5, so 12 months. */
		{ "5th birthday on the anchor", "2024-04-01", "2019-03-31",
		  { { "initial_health_assessment", "2024-03-31" } },
		  { { 1, "2024-03-31", "2025-03-31", "open", 0, 0 } }, NULL },
		/* The day before the 5th birthday: 4, so 6 months; 31 Mar + 6 m =
		 * 31 Sep, clamped to 30 Sep 2024. */
		{ "5th birthday the day after the anchor", "2024-04-01", "2019-04-01",
		  { { "initial_health_assessment", "2024-03-31" } },
		  { { 1, "2024-03-31", "2024-09-30", "open", 0, 0 } }, NULL },
		/* Older child: 12 months each time.  15 Jan 2023 + 12 m = 15 Jan 2024;
		 * reviewed 12 Jan 2024 + 12 m = 12 Jan 2025. */
		{ "a 10-year-old", "2024-06-01", "2012-09-01",
		  { { "initial_health_assessment", "2023-01-15" },
		    { "review_health_assessment", "2024-01-12" } },
		  { { 1, "2023-01-15", "2024-01-15", "met", 0, 0 },
		    { 2, "2024-01-12", "2025-01-12", "open", 0, 0 } }, NULL },
		/* No date of birth: a finding (once), and the `then` step, 6 months:
		 * 15 Jan + 6 m = 15 Jul 2023; 14 Jul + 6 m = 14 Jan 2024. */
		{ "no date of birth", "2023-08-01", NULL,
		  { { "initial_health_assessment", "2023-01-15" },
		    { "review_health_assessment", "2023-07-14" } },
		  { { 1, "2023-01-15", "2023-07-15", "met", 0, 0 },
		    { 2, "2023-07-14", "2024-01-14", "open", 0, 0 } }, "date of birth" },
		{ "episode ended", "2023-08-01", "2018-06-01",
		  { { "initial_health_assessment", "2023-01-15" }, { "cla_ended", "2023-03-01" } },
		  { { 1, "2023-01-15", "2023-07-15", "cancelled", 0, 0 } }, NULL },
	};

	(void)state;
	RUN("review-health-assessment", cases);
}

/* 20 working days, then every 4 months. */
static void test_pep(void **state)
{
	static const struct tcase cases[] = {
		{ "20 WD across Christmas 2022, then 4-monthly", "2023-09-13", NULL,
		  { { "cla_started", "2022-12-12" }, { "pep", "2023-01-12" },
		    { "pep", "2023-05-15" } },
		  { /* Mon 12 Dec 2022: Dec 13-16 (4), 19-23 (9), 26 Boxing Day, 27
		     * Christmas substitute, 28 (10), 29 (11), 30 (12), 2 Jan substitute,
		     * 3 (13), 4 (14), 5 (15), 6 (16), 9 (17), 10 (18), 11 (19),
		     * Thu 12 Jan 2023 (20). */
		    { 1, "2022-12-12", "2023-01-12", "met", 0, 0 },
		    /* 12 Jan + 4 m = Fri 12 May; held Mon 15: 1 WD late. */
		    { 2, "2023-01-12", "2023-05-12", "late", 0, 1 },
		    /* 15 May + 4 m = Fri 15 Sep; warn 2 WD before: Thu 14, Wed 13. */
		    { 3, "2023-05-15", "2023-09-15", "due-soon", 0, 0 } }, NULL },
		{ "the day before the warning", "2023-09-12", NULL,
		  { { "cla_started", "2022-12-12" }, { "pep", "2023-01-12" },
		    { "pep", "2023-05-15" } },
		  { { 1, "2022-12-12", "2023-01-12", "met", 0, 0 },
		    { 2, "2023-01-12", "2023-05-12", "late", 0, 1 },
		    { 3, "2023-05-15", "2023-09-15", "open", 0, 0 } }, NULL },
	};

	(void)state;
	RUN("pep", cases);
}

/* 72 hours from the time of return; due-soon 24 hours before. */
static void test_return_home_interview(void **state)
{
	/* Fri 29 Mar 2024 10:00 GMT (= 10:00 UTC); clocks go forward at 01:00
	 * UTC on Sun 31 Mar.  + 72 real hours = Mon 1 Apr 10:00 UTC = 11:00 BST.
	 * Warn: due - 24 hours = Sun 31 Mar 10:00 UTC = 11:00 BST. */
	static const struct tcase cases[] = {
		{ "a minute before the warning", "2024-03-31T10:59", NULL,
		  { { "missing_returned", "2024-03-29T10:00" } },
		  { { 1, "2024-03-29T10:00", "2024-04-01T11:00", "open", 0, 0 } }, NULL },
		{ "the warning starts", "2024-03-31T11:00", NULL,
		  { { "missing_returned", "2024-03-29T10:00" } },
		  { { 1, "2024-03-29T10:00", "2024-04-01T11:00", "due-soon", 0, 0 } }, NULL },
		{ "at the deadline", "2024-04-01T11:00", NULL,
		  { { "missing_returned", "2024-03-29T10:00" } },
		  { { 1, "2024-03-29T10:00", "2024-04-01T11:00", "due-soon", 0, 0 } }, NULL },
		/* Past the deadline the same day: overdue, 0 working days. */
		{ "a minute past the deadline", "2024-04-01T11:01", NULL,
		  { { "missing_returned", "2024-03-29T10:00" } },
		  { { 1, "2024-03-29T10:00", "2024-04-01T11:00", "overdue", 0, 0 } }, NULL },
		{ "interviewed at the deadline", "2024-04-05", NULL,
		  { { "missing_returned", "2024-03-29T10:00" },
		    { "return_home_interview", "2024-04-01T11:00" } },
		  { { 1, "2024-03-29T10:00", "2024-04-01T11:00", "met", 0, 0 } }, NULL },
		{ "interviewed half an hour late", "2024-04-05", NULL,
		  { { "missing_returned", "2024-03-29T10:00" },
		    { "return_home_interview", "2024-04-01T11:30" } },
		  { { 1, "2024-03-29T10:00", "2024-04-01T11:00", "late", 0, 0 } }, NULL },
		/* Escalation: due + 5 WD = Apr 2, 3, 4, 5, Mon 8; stage when past it.
		 * Overdue Apr 2 (1) .. 5 (4), 8 (5), Tue 9 (6). */
		{ "a week later: stage 1", "2024-04-09", NULL,
		  { { "missing_returned", "2024-03-29T10:00" } },
		  { { 1, "2024-03-29T10:00", "2024-04-01T11:00", "overdue", 1, 6 } }, NULL },
		/* A second return while the interview is outstanding is ignored. */
		{ "second return ignored", "2024-04-02", NULL,
		  { { "missing_returned", "2024-03-29T10:00" },
		    { "missing_returned", "2024-03-31T20:00" } },
		  { { 1, "2024-03-29T10:00", "2024-04-01T11:00", "overdue", 0, 1 } }, NULL },
		/* Autumn: Fri 25 Oct 2024 18:00 BST = 17:00 UTC; clocks go back at
		 * 01:00 UTC on Sun 27 Oct.  + 72 h = Mon 28 Oct 17:00 UTC = 17:00 GMT. */
		{ "across the autumn change", "2024-10-27T17:00", NULL,
		  { { "missing_returned", "2024-10-25T18:00" } },
		  { { 1, "2024-10-25T18:00", "2024-10-28T17:00", "due-soon", 0, 0 } }, NULL },
		/* Warn = Sun 27 Oct 17:00 GMT, so 16:59 is still open. */
		{ "autumn: a minute before the warning", "2024-10-27T16:59", NULL,
		  { { "missing_returned", "2024-10-25T18:00" } },
		  { { 1, "2024-10-25T18:00", "2024-10-28T17:00", "open", 0, 0 } }, NULL },
		{ "case closed", "2024-04-05", NULL,
		  { { "missing_returned", "2024-03-29T10:00" }, { "case_closed", "2024-03-30" } },
		  { { 1, "2024-03-29T10:00", "2024-04-01T11:00", "cancelled", 0, 0 } }, NULL },
	};

	(void)state;
	RUN("return-home-interview", cases);
}

/* 26 weeks beginning with the day of issue (day 1). */
static void test_care_proceedings(void **state)
{
	/* Issued Wed 10 Jan 2024 = day 1; day 182 (26 x 7) = 10 Jan + 181 days
	 * = Tue 9 Jul 2024 (10 Jan + 182 = Wed 10 Jul).  Warn 2 WD before Tue 9:
	 * Mon 8 (1), Fri 5 (2). */
	static const struct tcase cases[] = {
		{ "concluded on day 182", "2024-08-01", NULL,
		  { { "proceedings_issued", "2024-01-10" }, { "proceedings_concluded", "2024-07-09" } },
		  { { 1, "2024-01-10", "2024-07-09", "met", 0, 0 } }, NULL },
		{ "concluded on day 183", "2024-08-01", NULL,
		  { { "proceedings_issued", "2024-01-10" }, { "proceedings_concluded", "2024-07-10" } },
		  { { 1, "2024-01-10", "2024-07-09", "late", 0, 1 } }, NULL },
		{ "open the Thursday before", "2024-07-04", NULL,
		  { { "proceedings_issued", "2024-01-10" } },
		  { { 1, "2024-01-10", "2024-07-09", "open", 0, 0 } }, NULL },
		{ "due-soon from the Friday", "2024-07-05", NULL,
		  { { "proceedings_issued", "2024-01-10" } },
		  { { 1, "2024-01-10", "2024-07-09", "due-soon", 0, 0 } }, NULL },
		{ "case closed", "2024-08-01", NULL,
		  { { "proceedings_issued", "2024-01-10" }, { "case_closed", "2024-03-01" } },
		  { { 1, "2024-01-10", "2024-07-09", "cancelled", 0, 0 } }, NULL },
	};

	(void)state;
	RUN("care-proceedings", cases);
}

/* 20 weeks from the request. */
static void test_ehc_plan(void **state)
{
	/* Fri 22 Dec 2023 + 140 days: to 22 Jan (31), 22 Feb (62), 22 Mar (91,
	 * 2024 is leap), 22 Apr (122), then 18 more = Fri 10 May 2024. */
	static const struct tcase cases[] = {
		{ "issued on the due day", "2024-06-01", NULL,
		  { { "ehc_request", "2023-12-22" }, { "ehc_plan_issued", "2024-05-10" } },
		  { { 1, "2023-12-22", "2024-05-10", "met", 0, 0 } }, NULL },
		/* Overdue May 13-17 (5), Mon 20 (6); stage after due + 5 WD = Fri 17. */
		{ "overdue with stage 1", "2024-05-20", NULL, { { "ehc_request", "2023-12-22" } },
		  { { 1, "2023-12-22", "2024-05-10", "overdue", 1, 6 } }, NULL },
		/* Sat 18, Sun 19 are past due + 5 WD (Fri 17): stage 1 with 5 WD. */
		{ "the weekend after due + 5 WD", "2024-05-18", NULL,
		  { { "ehc_request", "2023-12-22" } },
		  { { 1, "2023-12-22", "2024-05-10", "overdue", 1, 5 } }, NULL },
		{ "case closed", "2024-06-01", NULL,
		  { { "ehc_request", "2023-12-22" }, { "case_closed", "2024-02-01" } },
		  { { 1, "2023-12-22", "2024-05-10", "cancelled", 0, 0 } }, NULL },
	};

	(void)state;
	RUN("ehc-plan", cases);
}

/* By the end of the next working day; due-soon "0 days". */
static void test_observation_oral_feedback(void **state)
{
	static const struct tcase cases[] = {
		/* Wed 1 Jun 2022: 2 and 3 Jun holidays, Mon 6 (1). */
		{ "Platinum Jubilee: open on the Friday", "2022-06-03", NULL,
		  { { "observation", "2022-06-01" } },
		  { { 1, "2022-06-01", "2022-06-06", "open", 0, 0 } }, NULL },
		{ "due-soon on the due day", "2022-06-06", NULL,
		  { { "observation", "2022-06-01" } },
		  { { 1, "2022-06-01", "2022-06-06", "due-soon", 0, 0 } }, NULL },
		{ "overdue the next day", "2022-06-07", NULL, { { "observation", "2022-06-01" } },
		  { { 1, "2022-06-01", "2022-06-06", "overdue", 0, 1 } }, NULL },
		/* Fri 5 May 2023: 8 May coronation, Tue 9 (1). */
		{ "coronation weekend", "2023-05-31", NULL,
		  { { "observation", "2023-05-05" }, { "oral_feedback", "2023-05-09" } },
		  { { 1, "2023-05-05", "2023-05-09", "met", 0, 0 } }, NULL },
		/* A second observation while feedback is outstanding is ignored. */
		{ "second observation ignored", "2023-05-31", NULL,
		  { { "observation", "2023-05-05" }, { "observation", "2023-05-09" },
		    { "oral_feedback", "2023-05-10" } },
		  { { 1, "2023-05-05", "2023-05-09", "late", 0, 1 } }, NULL },
	};

	(void)state;
	RUN("observation-oral-feedback", cases);
}

/* 5 working days. */
static void test_observation_written_feedback(void **state)
{
	static const struct tcase cases[] = {
		/* Thu 15 Sep 2022: Fri 16 (1), 19 state funeral, 20 (2), 21 (3), 22 (4),
		 * Fri 23 (5). */
		{ "across the state funeral", "2022-10-01", NULL,
		  { { "observation", "2022-09-15" }, { "written_feedback", "2022-09-23" } },
		  { { 1, "2022-09-15", "2022-09-23", "met", 0, 0 } }, NULL },
		/* Tue 22 Dec 2026: Wed 23 (1), Thu 24 (2), 25 Christmas, 28 Boxing Day
		 * substitute, 29-31 local closure (conf/deadlined.conf), 1 Jan 2027 New
		 * Year, Mon 4 (3), Tue 5 (4), Wed 6 (5).  Warn 2 WD before: Tue 5,
		 * Mon 4. */
		{ "Christmas 2026 with the council's closure days", "2027-01-04", NULL,
		  { { "observation", "2026-12-22" } },
		  { { 1, "2026-12-22", "2027-01-06", "due-soon", 0, 0 } }, NULL },
		{ "... and still open on the last closure day", "2026-12-31", NULL,
		  { { "observation", "2026-12-22" } },
		  { { 1, "2026-12-22", "2027-01-06", "open", 0, 0 } }, NULL },
		{ "case closed", "2022-10-01", NULL,
		  { { "observation", "2022-09-15" }, { "case_closed", "2022-09-16" } },
		  { { 1, "2022-09-15", "2022-09-23", "cancelled", 0, 0 } }, NULL },
	};

	(void)state;
	RUN("observation-written-feedback", cases);
}

/* Obligations resting on years derived from the 1971 pattern are flagged. */
static void test_derived_flag(void **state)
{
	struct rules_event ev = { "referral", { 0, DATE_NO_TIME } };
	struct rules_case c = { "C1", DATE_NONE, &ev, 1 };
	struct got g = { .n = 0 };

	(void)state;
	ev.when.day = D("2013-04-15");
	rules_evaluate(conf_rule(conf, "assessment"), conf->cal, &c, as_of("2013-05-01"),
		       emit, finding, &g);
	assert_int_equal(g.n, 1);
	assert_true(g.ob[0].derived);
	assert_string_equal(g.ob[0].start_kind, "referral");
	assert_null(g.ob[0].close_kind);

	g.n = 0;
	ev.when.day = D("2024-03-01");
	rules_evaluate(conf_rule(conf, "assessment"), conf->cal, &c, as_of("2024-03-05"),
		       emit, finding, &g);
	assert_int_equal(g.n, 1);
	assert_false(g.ob[0].derived);
	assert_int_equal(g.nfind, 0);
}

/* The obligation records which event kinds opened and closed it, and the
 * step's duration. */
static void test_obligation_details(void **state)
{
	struct rules_event ev[3];
	struct rules_case c = { "C1", DATE_NONE, ev, 3 };
	struct got g = { .n = 0 };
	char buf[DURATION_BUF];

	(void)state;
	ev[0] = (struct rules_event){ "cla_started", M("2024-12-02") };
	ev[1] = (struct rules_event){ "cla_review", M("2024-12-31") };
	ev[2] = (struct rules_event){ "cla_review", M("2025-03-28") };
	rules_evaluate(conf_rule(conf, "cla-review"), conf->cal, &c, as_of("2025-04-01"),
		       emit, finding, &g);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.ob[0].start_kind, "cla_started");
	assert_string_equal(g.ob[0].close_kind, "cla_review");
	assert_int_equal(g.ob[0].closed.day, D("2024-12-31"));
	assert_string_equal(duration_format(&g.ob[0].duration, buf, sizeof buf), "20 working days");
	assert_string_equal(g.ob[1].start_kind, "cla_review");
	assert_string_equal(duration_format(&g.ob[1].duration, buf, sizeof buf), "3 months");
	assert_string_equal(duration_format(&g.ob[2].duration, buf, sizeof buf), "6 months");
	assert_int_equal(g.ob[2].step, 2);
	assert_null(g.ob[2].close_kind);
	/* Warning window of the open one: 2 WD before Sun 28 Sep 2025 = Thu 25. */
	assert_int_equal(g.ob[2].warn_from.day, D("2025-09-25"));
}

/* More events than rules_evaluate keeps on its stack: 1 referral, 99
 * events of other rules, and the decision last. */
static void test_many_events(void **state)
{
	struct rules_event ev[101];
	struct rules_case c = { "C1", DATE_NONE, ev, 101 };
	struct got g = { .n = 0 };

	(void)state;
	ev[0] = (struct rules_event){ "referral", M("2024-12-24") };
	for (int i = 1; i < 100; i++)
		ev[i] = (struct rules_event){ "cla_visit", M("2024-12-25") };
	ev[100] = (struct rules_event){ "referral_decision", M("2024-12-30") };
	rules_evaluate(conf_rule(conf, "referral-decision"), conf->cal, &c, as_of("2025-01-10"),
		       emit, finding, &g);
	assert_int_equal(g.n, 1);
	/* Due Fri 27 Dec (see test_referral_decision); decided Mon 30: 1 WD late. */
	assert_int_equal(g.ob[0].due.day, D("2024-12-27"));
	assert_int_equal(g.ob[0].state, OB_LATE);
	assert_int_equal(g.ob[0].days_overdue, 1);
	assert_int_equal(g.nfind, 0);
}

static void test_state_names(void **state)
{
	static const char *const names[] = { "open", "due-soon", "overdue", "met", "late",
					       "cancelled" };

	(void)state;
	for (int i = 0; i < OB_NSTATES; i++) {
		assert_string_equal(rules_state_name((enum obligation_state)i), names[i]);
		assert_int_equal(rules_state_parse(names[i]), i);
	}
	assert_int_equal(rules_state_parse("due_soon"), -1);
	assert_true(rules_uses_kind(conf_rule(conf, "icpc"), "s47_nfa"));
	assert_false(rules_uses_kind(conf_rule(conf, "icpc"), "cla_started"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pack_loaded),
		cmocka_unit_test(test_referral_decision),
		cmocka_unit_test(test_initial_assessment),
		cmocka_unit_test(test_core_assessment),
		cmocka_unit_test(test_assessment),
		cmocka_unit_test(test_icpc),
		cmocka_unit_test(test_cp_review_conference),
		cmocka_unit_test(test_cp_plan_duration),
		cmocka_unit_test(test_cla_review),
		cmocka_unit_test(test_care_plan),
		cmocka_unit_test(test_cla_visit),
		cmocka_unit_test(test_health_part_a),
		cmocka_unit_test(test_initial_health_assessment),
		cmocka_unit_test(test_review_health_assessment),
		cmocka_unit_test(test_pep),
		cmocka_unit_test(test_return_home_interview),
		cmocka_unit_test(test_care_proceedings),
		cmocka_unit_test(test_ehc_plan),
		cmocka_unit_test(test_observation_oral_feedback),
		cmocka_unit_test(test_observation_written_feedback),
		cmocka_unit_test(test_derived_flag),
		cmocka_unit_test(test_obligation_details),
		cmocka_unit_test(test_many_events),
		cmocka_unit_test(test_state_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
