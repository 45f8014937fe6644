/* report.h — timeliness (KPI) reports, as councils give them to corporate
 * parenting panels and to Ofsted: "122 of 234 completed in 10 working days
 * (52.1%); target 85.0; England average 75.5".
 *
 * A report covers a period [from, to] (whole days, inclusive).  For each
 * rule it counts the obligations whose clock was met or cancelled in the
 * period: met on time (the numerator), met on time or late (the
 * denominator), cancelled (shown, never in the denominator: a cancelled
 * clock was neither met nor missed); the median and worst lateness of
 * those met late, in working days; those still overdue at the end of the
 * period (open, due before the end, not met or cancelled by then); and the
 * reasons given for lateness (acknowledgements).  Then the same per team,
 * then month by month.  docs/REPORTS.md says what each figure means.
 *
 * The obligations come from the state database (report_load_state), which
 * keeps every closed obligation for ever, or, for a period before the
 * daemon's first poll, from the case database's history evaluated as of
 * the end of the period (report_load_cases); the report names its source.
 */
#ifndef DEADLINED_REPORT_H
#define DEADLINED_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "deadlined/conf.h"
#include "deadlined/date.h"
#include "deadlined/error.h"
#include "deadlined/rules.h"
#include "deadlined/source.h"
#include "deadlined/state.h"

/* One obligation as a report sees it.  Strings are owned by the report. */
struct report_item {
	const char *rule, *case_ref, *team_ref, *team_name;
	const char *reason;              /* the latest acknowledgement's, or NULL */
	int seq;
	struct dl_moment anchor, due;
	dl_day closed;                   /* met or cancelled; DATE_NONE: open */
	enum obligation_state state;     /* OB_MET, OB_LATE, OB_CANCELLED, or open */
	int late_days;                   /* OB_LATE: working days after due */
};

struct report_reason {
	const char *text;
	size_t n;
};

/* The figures of one rule for one period (and team). */
struct report_stats {
	size_t on_time, late, cancelled;     /* closed in the period */
	size_t overdue;                      /* still overdue at its end */
	double median_late;                  /* working days; -1: none late */
	int worst_late;                      /* working days; 0: none late */
	int worst_overdue;                   /* working days overdue at the end */
	struct report_reason *reasons;       /* most given first */
	size_t nreasons;
};

/* The percentage met on time, false when nothing was met (0 of 0). */
bool report_percent(const struct report_stats *s, double *pct);

enum report_rating { RATING_NONE, RATING_RED, RATING_AMBER, RATING_GREEN };

/* Rate an on-time percentage against the rule's target: green when it
 * meets the target; amber when it does not but is at least as good as the
 * median quartile figure; red otherwise (red or green only without
 * quartiles; none without a target).  *shown is the figure compared: the
 * on-time percentage, or the late one when better = "lower". */
enum report_rating report_rate(const struct rule_target *t, double pct_on_time,
			       double *shown);
const char *report_rating_name(enum report_rating r);   /* "green", ... */
/* Which quartile band *shown falls in: 1 (best) to 4, or 0 without
 * quartiles. */
int report_quartile(const struct rule_target *t, double shown);

/* The median of n values (sorted here); the mean of the middle two when
 * n is even; -1 when n is 0. */
double report_median(int *v, size_t n);

/* Figures for the items closed in [from, to] (and overdue at the end of
 * to), of team (NULL: any).  Reasons are counted over the late ones and
 * those still overdue.  cal counts working days overdue.  Returns -1 when
 * memory runs out. */
int report_stats(const struct report_item *items, size_t n, const struct calendar *cal,
		 dl_day from, dl_day to, const char *team, struct report_stats *out);
void report_stats_free(struct report_stats *s);

enum report_format { REPORT_TEXT, REPORT_CSV, REPORT_HTML };
/* "text", "csv" or "html"; -1 otherwise. */
int report_parse_format(const char *text, enum report_format *out);

struct report_team {
	const char *team_ref, *team_name;
	struct report_stats *by_rule;        /* [nrules] */
};

struct report_month {
	dl_day from, to;                     /* the month, clipped to the period */
	struct report_stats *by_rule;        /* [nrules] */
};

struct report {
	const struct conf *conf;
	dl_day from, to;
	const char *team, *rule;             /* filters, or NULL */
	char source[512];                    /* which database, in words */
	struct report_item *items;
	size_t nitems, cap;
	struct arena *arena;                 /* the items' strings */
	const struct rule **rules;           /* reported rules, in config order */
	size_t nrules;
	const struct rule **idle;            /* not in force, no clocks: left out */
	size_t nidle;
	struct report_stats *by_rule;        /* [nrules] */
	struct report_team *teams;           /* by team_ref */
	size_t nteams;
	struct report_month *months;
	size_t nmonths;
};

/* A report of conf's rules (or only rule) for team (NULL: all) over
 * [from, to]; fill it with report_load_* or report_add, then compute. */
int report_init(struct report *r, const struct conf *conf, dl_day from, dl_day to,
		const char *team, const char *rule, struct dl_error *err);
int report_add(struct report *r, const struct report_item *it);
int report_load_state(struct report *r, struct state *st, const char *path,
		      struct dl_error *err);
/* The case database's history, evaluated as of the end of the period. */
int report_load_cases(struct report *r, struct source *src, const char *path,
		      struct dl_error *err);
/* Fill r from the store that covers its period: the state database when
 * the period starts on or after the daemon's first poll (it keeps every
 * obligation it has seen), else the case database's history; choice
 * ("state" or "cases", NULL: that policy) forces one.  r->source says which
 * was used and why.  err names the store that failed ("state: ...",
 * "source: ...", "report: ..."). */
int report_load(struct report *r, const struct state_conf *state,
		const struct source_conf *source, const char *choice, struct dl_error *err);
int report_compute(struct report *r, struct dl_error *err);
int report_write(const struct report *r, enum report_format format, FILE *out);
void report_free(struct report *r);

/* The figures a team manager's digest shows: team_ref's report from the
 * state database for this month so far (the first of today's month to
 * today), computed.  Free it with report_free (done here on failure). */
int report_month_to_date(struct report *r, const struct conf *conf, struct state *st,
			 const char *team_ref, dl_day today, struct dl_error *err);

/* Is the rule's target one where lower is better (a cap on lateness)? */
bool report_lower_is_better(const struct rule_target *t);

#endif
