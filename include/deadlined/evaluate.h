/* evaluate.h — one evaluation: case database → rules → obligations.
 *
 * Streams every case from the source, judges its rows (bad dates, unknown
 * kinds, missing teams become data-quality findings naming the case, never
 * a stop), and runs every configured rule over the good events.  What
 * becomes of each obligation is the caller's business: hooks receive them.
 */
#ifndef DEADLINED_EVALUATE_H
#define DEADLINED_EVALUATE_H

#include <stdint.h>

#include "deadlined/conf.h"
#include "deadlined/rules.h"
#include "deadlined/source.h"

/* Every hook may be NULL.  Each returns 0, or -1 to stop the evaluation:
 * evaluate_run then returns -1 with the hook's message in err (or one
 * saying the evaluation was stopped). */
struct evaluate_hooks {
	/* Every obligation of every rule on the case, open or closed. */
	int (*obligation)(void *ctx, const struct source_case *c,
			  const struct obligation *ob);
	/* A data-quality problem; case_ref may be "(none)". */
	int (*finding)(void *ctx, const char *case_ref, const char *problem);
	/* Before the rules run on a case: its valid events up to now, sorted
	 * by time. */
	int (*case_events)(void *ctx, const struct source_case *c,
			   const struct rules_event *events, size_t n);
	void *ctx;
	/* Compare with the case system's own due dates where the database
	 * has deadlined_expected_due: each that differs from the obligation's
	 * due date, or matches no obligation, is a finding with both dates. */
	bool compare_expected;
	/* After the rules ran on a case: the first moment key (see
	 * evaluate_moment_key) at which its result can change with time
	 * alone, or INT64_MAX. */
	int (*case_done)(void *ctx, const struct source_case *c, int64_t recheck);
	/* Every 1024 cases, and before the first: a long evaluation's chance
	 * to show it is alive (systemd's watchdog).  evaluate does no I/O of
	 * its own.  A remote source calls it too, between blocks of rows
	 * (source_set_tick); a negative return stops both. */
	int (*tick)(void *ctx);
};

struct evaluate_summary {
	size_t cases, events, findings;
	size_t (*by_rule)[OB_NSTATES];   /* [conf->rules.n][state] */
	size_t total[OB_NSTATES];
	size_t escalated;                /* overdue with a stage passed */
};

/* Evaluate every case (or only case_ref) as of now.  summary->by_rule is
 * allocated here; free it with evaluate_summary_free. */
int evaluate_run(const struct conf *conf, struct source *src, const char *case_ref,
		 struct dl_moment now, const struct evaluate_hooks *hooks,
		 struct evaluate_summary *summary, struct dl_error *err);
/* The same for the cases named in refs only (each once; a ref with no
 * case and no events yields nothing). */
int evaluate_cases(const struct conf *conf, struct source *src, const char *const *refs,
		   size_t nrefs, struct dl_moment now, const struct evaluate_hooks *hooks,
		   struct evaluate_summary *sum, struct dl_error *err);

/* now as seconds of local time, day * 86400 + second of the day (the end of
 * the day for a date alone): comparable with case_done's recheck. */
int64_t evaluate_moment_key(struct dl_moment now);

void evaluate_summary_free(struct evaluate_summary *summary);

/* "As of" from the command line: a date means the end of that day. */
int evaluate_parse_as_of(const char *text, struct dl_moment *out, struct dl_error *err);

#endif
