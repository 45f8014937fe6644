/* rules.h — the rule model and the obligation state machine.
 *
 * A rule says which events start a clock, which meet it, which cancel it,
 * and how long each step has (DESIGN.md, "Rule semantics").  One rule on one
 * case yields a sequence of obligations; rules_evaluate walks the case's
 * events once and reports each obligation with its state as of `now`.
 * The rule structs are filled by conf.c from the configuration tables.
 */
#ifndef DEADLINED_RULES_H
#define DEADLINED_RULES_H

#include <stdbool.h>

#include "deadlined/calendar.h"
#include "deadlined/duration.h"
#include "deadlined/schema_values.h"

enum rule_step_kind {
	STEP_FIXED,       /* always `then` */
	STEP_AGE,         /* `then` if the child is under age_under at the anchor */
	STEP_WITHIN,      /* `then` if the anchor is within `within` of the first start */
};

struct rule_step {
	enum rule_step_kind kind;
	struct duration then, otherwise, within;
	int age_under;
};

struct rule_steps {
	struct rule_step *v;
	size_t n;
};

struct rule_version {
	dl_day effective_from, effective_until;  /* DATE_NONE: open-ended */
	struct rule_steps due;
	int count_start_day;                     /* -1: the rule's setting */
	int line;
};

struct rule_stage {
	struct schema_duration after;            /* how long overdue */
	struct schema_strings notify;            /* roles or receiver names */
};

/* A published figure to compare a rule's on-time percentage with, in
 * reports: "England average" 75.5. */
struct rule_comparator {
	const char *label;
	double value;
};

/* A rule's timeliness target for reports (docs/REPORTS.md).  The figure
 * compared is the percentage met on time, or, with better = "lower", the
 * percentage met late. */
struct rule_target {
	double value;                    /* NAN: no target */
	const char *better;              /* "higher" (default) or "lower" */
	struct schema_list comparators;  /* struct rule_comparator */
	struct rule_quartiles {
		size_t n;                /* 0 or 3 */
		double v[3];             /* lower quartile, median, upper quartile */
	} quartiles;
	const char *source;              /* where the figures were published */
};

/* The roles a notify list may name besides receivers. */
extern const char *const rule_roles[];

struct rule {
	const char *id;                  /* the setting's name; first member */
	const char *title;
	struct schema_strings start, met, cancel;
	struct rule_steps due;
	int repeat;
	int count_start_day;             /* -1 until resolved from calendar */
	dl_day effective_from, effective_until;
	struct schema_list versions;     /* struct rule_version, as written */
	struct schema_duration due_soon;
	struct schema_strings notify_due_soon, notify_overdue;
	struct schema_list escalation;   /* struct rule_stage */

	/* Resolved by conf.c after validation: */
	struct rule_version *all;        /* the rule's own version and its
					    versions, by effective_from */
	size_t nall;
	const char *file;
	int line;
	struct rule_target target;       /* reports only; value NAN when none */
	/* By conf_kind_id: 0 none, 1 start, 2 met, 3 cancel; NULL when the
	 * rule was not made by conf_load (kinds are then compared by name). */
	const unsigned char *phase_by_kind;
};

enum obligation_state {
	OB_OPEN,
	OB_DUE_SOON,
	OB_OVERDUE,
	OB_MET,          /* met on time */
	OB_LATE,         /* met late */
	OB_CANCELLED,
};
#define OB_NSTATES 6

const char *rules_state_name(enum obligation_state s);
/* The state named s ("due-soon", "late", ...), or -1. */
int rules_state_parse(const char *s);

struct obligation {
	const struct rule *rule;
	int seq;                         /* 1, 2, ... along the case */
	size_t version;                  /* index into rule->all */
	size_t step;                     /* index into that version's steps */
	struct duration duration;        /* the step's duration chosen */
	struct dl_moment anchor, due, warn_from;
	enum obligation_state state;
	int stage;                       /* escalation stages passed (0: none) */
	struct dl_moment closed;         /* when met or cancelled */
	const char *start_kind, *close_kind;
	int days_overdue;                /* working days: now or met minus due */
	bool derived;                    /* rests on derived bank holidays */
};

struct rules_event {
	const char *kind;
	struct dl_moment when;
	int kind_id;                     /* conf_kind_id, or 0: compare names */
};

struct rules_case {
	const char *case_ref;
	dl_day date_of_birth;            /* DATE_NONE when unknown */
	const struct rules_event *events;  /* valid events, any order */
	size_t nevents;
};

/* Callbacks return 0, or -1 to stop the walk. */
typedef int (*rules_obligation_fn)(void *ctx, const struct obligation *ob);
typedef int (*rules_finding_fn)(void *ctx, const char *case_ref, const char *problem);

/* Walk the case's events for one rule and report every obligation, open or
 * closed, as of now.  Events after now are ignored: "as of" means nothing
 * later has happened yet.  Problems (a met event with no start, an age step
 * without a date of birth, a date outside the calendar) go to finding.  Returns 0; -1 when a callback stopped the walk, or memory
 * ran out. */
int rules_evaluate(const struct rule *rule, const struct calendar *cal,
		   const struct rules_case *c, struct dl_moment now,
		   rules_obligation_fn emit, rules_finding_fn finding, void *ctx);

/* Is kind one of the rule's start, met or cancel kinds? */
bool rules_uses_kind(const struct rule *rule, const char *kind);

/* True when now is past the moment m (a date-only m lasts all day). */
bool rules_passed(struct dl_moment now, struct dl_moment m);

#endif
