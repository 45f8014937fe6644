/* report.c — timeliness reports (see report.h and docs/REPORTS.md). */
#include "deadlined/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadlined/arena.h"
#include "deadlined/evaluate.h"
#include "deadlined/output.h"
#include "deadlined/vec.h"

/* ---- arithmetic --------------------------------------------------------- */

bool report_percent(const struct report_stats *s, double *pct)
{
	size_t met = s->on_time + s->late;

	if (met == 0)
		return false;
	*pct = 100.0 * (double)s->on_time / (double)met;
	return true;
}

bool report_lower_is_better(const struct rule_target *t)
{
	return t->better && strcmp(t->better, "lower") == 0;
}

/* Is a at least as good as b? */
static bool as_good(const struct rule_target *t, double a, double b)
{
	return report_lower_is_better(t) ? a <= b : a >= b;
}

enum report_rating report_rate(const struct rule_target *t, double pct_on_time,
			       double *shown)
{
	*shown = report_lower_is_better(t) ? 100.0 - pct_on_time : pct_on_time;
	if (isnan(t->value))
		return RATING_NONE;
	if (as_good(t, *shown, t->value))
		return RATING_GREEN;
	if (t->quartiles.n == 3 && as_good(t, *shown, t->quartiles.v[1]))
		return RATING_AMBER;
	return RATING_RED;
}

const char *report_rating_name(enum report_rating r)
{
	static const char *const names[] = { "", "red", "amber", "green" };

	return names[r];
}

int report_quartile(const struct rule_target *t, double shown)
{
	int band = 4;

	if (t->quartiles.n != 3)
		return 0;
	/* Higher is better: at or above the upper quartile is band 1. */
	for (int i = 2; i >= 0; i--)
		if (report_lower_is_better(t) ? shown <= t->quartiles.v[2 - i] : shown >= t->quartiles.v[i])
			return 3 - i;
	return band;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

double report_median(int *v, size_t n)
{
	if (n == 0)
		return -1;
	qsort(v, n, sizeof *v, cmp_int);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static int cmp_reason(const void *a, const void *b)
{
	const struct report_reason *x = a, *y = b;

	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return strcmp(x->text, y->text);
}

static int add_reason(struct report_stats *s, size_t *cap, const char *text)
{
	for (size_t i = 0; i < s->nreasons; i++)
		if (strcmp(s->reasons[i].text, text) == 0) {
			s->reasons[i].n++;
			return 0;
		}
	if (vec_reserve((void **)&s->reasons, cap, s->nreasons, sizeof *s->reasons) < 0)
		return -1;
	s->reasons[s->nreasons++] = (struct report_reason){ text, 1 };
	return 0;
}

static bool closed_in(const struct report_item *it, dl_day from, dl_day to)
{
	return it->closed != DATE_NONE && it->closed >= from && it->closed <= to &&
	       (it->state == OB_MET || it->state == OB_LATE || it->state == OB_CANCELLED);
}

/* Open at the end of day `to` (not met or cancelled by then) and past due. */
static bool overdue_at(const struct report_item *it, dl_day to)
{
	struct dl_moment end = { to, 86399 };

	return it->anchor.day <= to && (it->closed == DATE_NONE || it->closed > to) &&
	       rules_passed(end, it->due);
}

int report_stats(const struct report_item *items, size_t n, const struct calendar *cal,
		 dl_day from, dl_day to, const char *team, struct report_stats *out)
{
	int *late = malloc((n ? n : 1) * sizeof *late);
	size_t nlate = 0, cap = 0;
	int rc = 0;

	memset(out, 0, sizeof *out);
	if (!late)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct report_item *it = &items[i];
		bool counts_reason = false;

		if (team && strcmp(team, it->team_ref) != 0)
			continue;
		if (closed_in(it, from, to)) {
			out->on_time += it->state == OB_MET;
			out->cancelled += it->state == OB_CANCELLED;
			if (it->state == OB_LATE) {
				out->late++;
				late[nlate++] = it->late_days;
				if (it->late_days > out->worst_late)
					out->worst_late = it->late_days;
				counts_reason = true;
			}
		} else if (overdue_at(it, to)) {
			int days = 0;
			struct dl_error err;

			out->overdue++;
			if (calendar_workdays_between(cal, it->due.day, to, &days, &err) == 0 &&
			    days > out->worst_overdue)
				out->worst_overdue = days;
			counts_reason = true;
		}
		if (counts_reason && it->reason)
			rc = add_reason(out, &cap, it->reason);
	}
	out->median_late = report_median(late, nlate);
	free(late);
	if (out->nreasons > 1)
		qsort(out->reasons, out->nreasons, sizeof *out->reasons, cmp_reason);
	return rc;
}

void report_stats_free(struct report_stats *s)
{
	free(s->reasons);
	s->reasons = NULL;
	s->nreasons = 0;
}

int report_parse_format(const char *text, enum report_format *out)
{
	static const char *const names[] = { "text", "csv", "html", NULL };
	int i = output_name_index(names, text);

	if (i < 0)
		return -1;
	*out = (enum report_format)i;
	return 0;
}

/* ---- building ----------------------------------------------------------- */

int report_init(struct report *r, const struct conf *conf, dl_day from, dl_day to,
		const char *team, const char *rule, struct dl_error *err)
{
	const struct rule *rules = conf->rules.v;

	memset(r, 0, sizeof *r);
	r->conf = conf;
	r->from = from;
	r->to = to;
	r->team = team;
	r->rule = rule;
	snprintf(r->source, sizeof r->source, "(none)");
	r->arena = arena_new();
	r->rules = calloc(conf->rules.n + 1, sizeof *r->rules);
	r->idle = calloc(conf->rules.n + 1, sizeof *r->idle);
	if (!r->arena || !r->rules || !r->idle) {
		error_set(err, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < conf->rules.n; i++)
		if (!rule || strcmp(rule, rules[i].id) == 0)
			r->rules[r->nrules++] = &rules[i];
	return 0;
}

/* A database named without its folder: the report goes to a panel, and the
 * server's layout is none of its business. */
static const char *file_name(const char *path)
{
	const char *slash = strchr(path, '=') ? NULL : strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

static const char *keep(struct report *r, const char *s)
{
	return s ? arena_strdup(r->arena, s) : NULL;
}

int report_add(struct report *r, const struct report_item *it)
{
	struct report_item *c;

	if (r->team && (!it->team_ref || strcmp(r->team, it->team_ref) != 0))
		return 0;
	if (r->rule && strcmp(r->rule, it->rule) != 0)
		return 0;
	if (vec_reserve((void **)&r->items, &r->cap, r->nitems, sizeof *r->items) < 0)
		return -1;
	c = &r->items[r->nitems];
	*c = *it;
	c->rule = keep(r, it->rule);
	c->case_ref = keep(r, it->case_ref);
	c->team_ref = keep(r, it->team_ref ? it->team_ref : "(none)");
	c->team_name = keep(r, it->team_name);
	c->reason = keep(r, it->reason);
	if (!c->rule || !c->case_ref || !c->team_ref)
		return -1;
	r->nitems++;
	return 0;
}

struct load {
	struct report *r;
	int failed;
};

static int from_state(void *ctx, const struct state_obligation *ob, const char *reason)
{
	struct load *l = ctx;
	struct report_item it = { .rule = ob->rule, .case_ref = ob->case_ref,
				  .team_ref = ob->team_ref, .team_name = ob->team_name,
				  .reason = reason, .seq = ob->seq, .closed = DATE_NONE };
	struct dl_moment closed;
	struct dl_error err;
	int state = ob->state ? rules_state_parse(ob->state) : -1;

	/* A row the daemon wrote is well formed; anything else is skipped
	 * rather than guessed at. */
	if (state < 0 || !ob->anchor || !ob->due ||
	    date_parse_moment(ob->anchor, &it.anchor, &err) < 0 ||
	    date_parse_moment(ob->due, &it.due, &err) < 0)
		return 0;
	if (ob->closed) {
		if (date_parse_moment(ob->closed, &closed, &err) < 0)
			return 0;
		it.closed = closed.day;
	}
	it.state = (enum obligation_state)state;
	it.late_days = it.state == OB_LATE ? ob->days_overdue : 0;
	return report_add(l->r, &it);
}

int report_load_state(struct report *r, struct state *st, const char *path,
		      struct dl_error *err)
{
	char from[DATE_BUF], to[DATE_BUF];
	struct load l = { r, 0 };
	int rc;

	rc = state_each_for_report(st, date_format(r->from, from), date_format(r->to, to),
				   r->team, r->rule, from_state, &l, err);
	if (rc > 0 || (rc < 0 && !err->msg[0]))
		error_set(err, "out of memory");
	snprintf(r->source, sizeof r->source, "the state database%s%s", path ? " " : "",
		 path ? file_name(path) : "");
	return rc ? -1 : 0;
}

struct eval_load {
	struct report *r;
	struct source_directory *dir;
	int failed;
};

static int from_case(void *ctx, const struct source_case *c, const struct obligation *ob)
{
	struct eval_load *l = ctx;
	const struct source_team *t = c->team_ref ? source_find_team(l->dir, c->team_ref) : NULL;
	struct report_item it = {
		.rule = ob->rule->id, .case_ref = c->case_ref, .team_ref = c->team_ref,
		.team_name = t ? t->name : NULL, .seq = ob->seq, .anchor = ob->anchor,
		.due = ob->due, .closed = ob->close_kind ? ob->closed.day : DATE_NONE,
		.state = ob->state, .late_days = ob->state == OB_LATE ? ob->days_overdue : 0,
	};

	if (report_add(l->r, &it) < 0)
		l->failed = 1;
	return l->failed ? -1 : 0;
}

int report_load_cases(struct report *r, struct source *src, const char *path,
		      struct dl_error *err)
{
	struct source_directory dir = { 0 };
	struct eval_load l = { r, &dir, 0 };
	struct evaluate_hooks hooks = { .obligation = from_case, .ctx = &l };
	struct evaluate_summary sum;
	struct dl_moment end = { r->to, 86399 };
	char to[DATE_BUF];
	int rc;

	if (source_load_directory(src, &dir, err) < 0)
		return -1;
	rc = evaluate_run(r->conf, src, NULL, end, &hooks, &sum, err);
	evaluate_summary_free(&sum);
	source_free_directory(&dir);
	if (l.failed) {
		error_set(err, "out of memory");
		rc = -1;
	}
	snprintf(r->source, sizeof r->source, "the case database's history%s%s, evaluated as "
		 "of the end of %s (no acknowledged reasons)", path ? " " : "",
		 path ? file_name(path) : "",
		 date_format(r->to, to));
	return rc;
}

static int cmp_item(const void *a, const void *b)
{
	const struct report_item *x = a, *y = b;
	int c = strcmp(x->rule, y->rule);

	return c ? c : strcmp(x->team_ref, y->team_ref);
}

/* The items of one rule: a run of the sorted array. */
static const struct report_item *rule_items(const struct report *r, const char *id, size_t *n)
{
	size_t i = 0, j;

	while (i < r->nitems && strcmp(r->items[i].rule, id) != 0)
		i++;
	for (j = i; j < r->nitems && strcmp(r->items[j].rule, id) == 0; j++)
		;
	*n = j - i;
	return r->items + i;
}

static int add_team(struct report *r, const struct report_item *it, size_t *cap)
{
	for (size_t i = 0; i < r->nteams; i++)
		if (strcmp(r->teams[i].team_ref, it->team_ref) == 0) {
			if (!r->teams[i].team_name)
				r->teams[i].team_name = it->team_name;
			return 0;
		}
	if (vec_reserve((void **)&r->teams, cap, r->nteams, sizeof *r->teams) < 0)
		return -1;
	r->teams[r->nteams++] = (struct report_team){ it->team_ref, it->team_name, NULL };
	return 0;
}

static int cmp_team(const void *a, const void *b)
{
	return strcmp(((const struct report_team *)a)->team_ref,
		      ((const struct report_team *)b)->team_ref);
}

static bool stats_empty(const struct report_stats *s)
{
	return !s->on_time && !s->late && !s->cancelled && !s->overdue;
}

/* Figures of every reported rule for [from, to] and team into v[nrules]. */
static int rule_row(const struct report *r, dl_day from, dl_day to, const char *team,
		    struct report_stats **v)
{
	if (!(*v = calloc(r->nrules + 1, sizeof **v)))
		return -1;
	for (size_t k = 0; k < r->nrules; k++) {
		size_t n;
		const struct report_item *it = rule_items(r, r->rules[k]->id, &n);

		if (report_stats(it, n, r->conf->cal, from, to, team, &(*v)[k]) < 0)
			return -1;
	}
	return 0;
}

/* Does a version of rule apply to starts within [from, to]? */
static bool in_force(const struct rule *rule, dl_day from, dl_day to)
{
	for (size_t i = 0; i < rule->nall; i++) {
		const struct rule_version *v = &rule->all[i];

		if ((v->effective_from == DATE_NONE || v->effective_from <= to) &&
		    (v->effective_until == DATE_NONE || v->effective_until >= from))
			return true;
	}
	return rule->nall == 0;
}

/* A rule not in force in the period, with no clock in it, would be a row of
 * zeros that reads as "none on time": it is left out of every table and
 * named once instead.  A rule asked for with --rule stays. */
static void leave_out_idle_rules(struct report *r)
{
	size_t kept = 0;

	for (size_t k = 0; k < r->nrules; k++) {
		if (!r->rule && !in_force(r->rules[k], r->from, r->to) &&
		    stats_empty(&r->by_rule[k])) {
			r->idle[r->nidle++] = r->rules[k];
			report_stats_free(&r->by_rule[k]);
			continue;
		}
		r->by_rule[kept] = r->by_rule[k];
		r->rules[kept++] = r->rules[k];
	}
	r->nrules = kept;
}

static int compute(struct report *r)
{
	size_t cap = 0, kept = 0;
	int y, m, d;

	if (r->nitems > 1)
		qsort(r->items, r->nitems, sizeof *r->items, cmp_item);
	if (rule_row(r, r->from, r->to, NULL, &r->by_rule) < 0)
		return -1;
	leave_out_idle_rules(r);
	/* Teams: every team with something to show, and the one asked for. */
	if (r->team) {
		struct report_item only = { .team_ref = r->team };

		if (add_team(r, &only, &cap) < 0)
			return -1;
	}
	for (size_t i = 0; i < r->nitems; i++)
		if (add_team(r, &r->items[i], &cap) < 0)
			return -1;
	if (r->nteams > 1)
		qsort(r->teams, r->nteams, sizeof *r->teams, cmp_team);
	for (size_t i = 0; i < r->nteams; i++) {
		bool empty = true;

		if (rule_row(r, r->from, r->to, r->teams[i].team_ref, &r->teams[i].by_rule) < 0)
			return -1;
		for (size_t k = 0; k < r->nrules; k++)
			empty &= stats_empty(&r->teams[i].by_rule[k]);
		if (empty && !(r->team && strcmp(r->team, r->teams[i].team_ref) == 0)) {
			for (size_t k = 0; k < r->nrules; k++)
				report_stats_free(&r->teams[i].by_rule[k]);
			free(r->teams[i].by_rule);
			continue;
		}
		r->teams[kept++] = r->teams[i];
	}
	r->nteams = kept;
	/* Months: each calendar month of the period, clipped to it. */
	cap = 0;
	for (dl_day start = r->from; start <= r->to;) {
		struct report_month *mo;
		dl_day next;

		date_to_ymd(start, &y, &m, &d);
		date_from_ymd(y, m, date_days_in_month(y, m), &next);
		if (vec_reserve((void **)&r->months, &cap, r->nmonths, sizeof *r->months) < 0)
			return -1;
		mo = &r->months[r->nmonths++];
		mo->from = start;
		mo->to = next < r->to ? next : r->to;
		mo->by_rule = NULL;
		if (rule_row(r, mo->from, mo->to, NULL, &mo->by_rule) < 0)
			return -1;
		start = next + 1;
	}
	return 0;
}

int report_compute(struct report *r, struct dl_error *err)
{
	if (compute(r) < 0) {
		error_set(err, "out of memory computing the report");
		return -1;
	}
	return 0;
}

static void free_row(struct report_stats *v, size_t n)
{
	for (size_t k = 0; v && k < n; k++)
		report_stats_free(&v[k]);
	free(v);
}

void report_free(struct report *r)
{
	free_row(r->by_rule, r->nrules);
	for (size_t i = 0; i < r->nteams; i++)
		free_row(r->teams[i].by_rule, r->nrules);
	for (size_t i = 0; i < r->nmonths; i++)
		free_row(r->months[i].by_rule, r->nrules);
	free(r->teams);
	free(r->months);
	free(r->items);
	free(r->rules);
	free(r->idle);
	arena_free(r->arena);
	memset(r, 0, sizeof *r);
}

/* ---- words shared by the formats ---------------------------------------- */

/* "122 of 234 (52.1%)", or "0 of 0 (none met)". */
static void on_time_text(const struct report_stats *s, char *buf, size_t size)
{
	double pct;

	if (report_percent(s, &pct))
		snprintf(buf, size, "%zu of %zu (%.1f%%)", s->on_time, s->on_time + s->late, pct);
	else
		snprintf(buf, size, "0 of 0 (none met)");
}

/* "2 (median 1.5, worst 3 working days)" or "0". */
static void late_text(const struct report_stats *s, char *buf, size_t size)
{
	if (s->late)
		snprintf(buf, size, "%zu (median %g, worst %d working day%s)", s->late,
			 s->median_late, s->worst_late, s->worst_late == 1 ? "" : "s");
	else
		snprintf(buf, size, "0");
}

static void overdue_text(const struct report_stats *s, char *buf, size_t size)
{
	if (s->overdue)
		snprintf(buf, size, "%zu (longest %d working day%s)", s->overdue, s->worst_overdue,
			 s->worst_overdue == 1 ? "" : "s");
	else
		snprintf(buf, size, "0");
}

/* Rating and the figure compared, for a rule's result. */
static enum report_rating rate(const struct rule *rule, const struct report_stats *s,
			       double *shown)
{
	double pct;

	*shown = NAN;
	if (!report_percent(s, &pct))
		return RATING_NONE;
	return report_rate(&rule->target, pct, shown);
}

static const char *const QUARTILE_NAMES[] = { "", "top quartile", "second quartile",
					      "third quartile", "bottom quartile" };

static const char *const HTML_DAYS_NOTE =
	"Median, worst and longest are in working days.";

static const char *const COUNTING_NOTE =
	"Counted: clocks met or cancelled in the period. On time = met by the due date; "
	"the percentage is on time / (on time + late). Cancelled clocks are shown but not "
	"counted. Overdue at end = not met or cancelled by the end of the period and past "
	"due. Lateness is in working days.";

/* ---- text --------------------------------------------------------------- */

/* Text from data on one line: its own line breaks and other controls
 * become spaces, so it cannot forge a line of the report. */
static void text_puts(FILE *out, const char *s)
{
	for (; s && *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s, out);
}

static void text_reasons(FILE *out, const struct report_stats *s, const char *indent)
{
	if (!s->nreasons)
		return;
	fprintf(out, "%sReasons given for lateness (acknowledgements):\n", indent);
	for (size_t i = 0; i < s->nreasons; i++) {
		fprintf(out, "%s  %3zu  ", indent, s->reasons[i].n);
		text_puts(out, s->reasons[i].text);
		fputc('\n', out);
	}
}

static void text_target(FILE *out, const struct rule *rule, const struct report_stats *s)
{
	const struct rule_target *t = &rule->target;
	const struct rule_comparator *c = t->comparators.v;
	double shown;
	enum report_rating rating = rate(rule, s, &shown);

	if (!isnan(t->value)) {
		fprintf(out, "  %-16s %g%% %s", "Target", t->value,
			report_lower_is_better(t) ? "or less late" : "or more on time");
		if (rating != RATING_NONE) {
			fprintf(out, ": %s", rating == RATING_GREEN ? "GREEN" :
				rating == RATING_AMBER ? "AMBER" : "RED");
			if (report_quartile(t, shown))
				fprintf(out, ", %s", QUARTILE_NAMES[report_quartile(t, shown)]);
		}
		fputc('\n', out);
	}
	for (size_t i = 0; i < t->comparators.n; i++)
		fprintf(out, "  %-16s %g%%\n", c[i].label, c[i].value);
	if (t->source)
		fprintf(out, "  %-16s %s\n", "Figures from", t->source);
}

static void text_rule(FILE *out, const struct rule *rule, const struct report_stats *s)
{
	char a[96], b[96], c[96];

	on_time_text(s, a, sizeof a);
	late_text(s, b, sizeof b);
	overdue_text(s, c, sizeof c);
	fprintf(out, "\n%s (%s)\n", rule->title, rule->id);
	fprintf(out, "  %-16s %s\n", "On time", a);
	text_target(out, rule, s);
	fprintf(out, "  %-16s %s\n  %-16s %zu\n  %-16s %s\n", "Late", b, "Cancelled",
		s->cancelled, "Overdue at end", c);
	text_reasons(out, s, "  ");
}

#define IDLE_NOTE "Not in force in the period (no clocks): "

static void write_text(const struct report *r, FILE *out)
{
	char from[DATE_BUF], to[DATE_BUF], a[96], b[96], c[96];

	fprintf(out, "Timeliness report, %s to %s\n", date_format(r->from, from),
		date_format(r->to, to));
	fprintf(out, "Source: %s\n", r->source);
	if (r->team)
		fprintf(out, "Team: %s only\n", r->team);
	if (r->nidle) {
		fputs(IDLE_NOTE, out);
		for (size_t k = 0; k < r->nidle; k++) {
			fputs(k ? ", " : "", out);
			text_puts(out, r->idle[k]->title);
			fprintf(out, " (%s)", r->idle[k]->id);
		}
		fputc('\n', out);
	}
	fprintf(out, "%s\n", COUNTING_NOTE);
	fprintf(out, "\nBY RULE\n=======\n");
	if (r->nrules == 0)
		fprintf(out, "\nNo rules.\n");
	for (size_t k = 0; k < r->nrules; k++)
		text_rule(out, r->rules[k], &r->by_rule[k]);
	fprintf(out, "\nBY TEAM\n=======\n");
	if (r->nteams == 0)
		fprintf(out, "\nNo team had a clock met, cancelled or overdue in the period.\n");
	for (size_t i = 0; i < r->nteams; i++) {
		const struct report_team *t = &r->teams[i];

		fputc('\n', out);
		text_puts(out, t->team_ref);
		if (t->team_name) {
			fputs(" (", out);
			text_puts(out, t->team_name);
			fputc(')', out);
		}
		fputc('\n', out);
		for (size_t k = 0; k < r->nrules; k++) {
			const struct report_stats *s = &t->by_rule[k];

			if (stats_empty(s) && r->nrules > 1)
				continue;
			on_time_text(s, a, sizeof a);
			late_text(s, b, sizeof b);
			overdue_text(s, c, sizeof c);
			fprintf(out, "  %s: on time %s\n    late %s; cancelled %zu; overdue at end "
				"%s\n", r->rules[k]->id, a, b, s->cancelled, c);
			text_reasons(out, s, "    ");
		}
	}
	fprintf(out, "\nMONTH BY MONTH\n==============\n");
	for (size_t k = 0; k < r->nrules; k++) {
		fprintf(out, "\n%s (%s)\n", r->rules[k]->title, r->rules[k]->id);
		for (size_t i = 0; i < r->nmonths; i++) {
			const struct report_stats *s = &r->months[i].by_rule[k];

			on_time_text(s, a, sizeof a);
			fprintf(out, "  %.7s  on time %-22s late %zu, cancelled %zu, overdue at "
				"end %zu\n", date_format(r->months[i].from, from), a, s->late,
				s->cancelled, s->overdue);
		}
	}
}

/* ---- CSV ---------------------------------------------------------------- */

static void csv_num(FILE *out, bool have, double v, const char *sep)
{
	if (have)
		fprintf(out, "%.1f", v);
	fputs(sep, out);
}

/* Reasons as one field: "3 x text; 1 x other text". */
static void csv_reasons(FILE *out, const struct report_stats *s)
{
	size_t len = 0;
	char *joined = NULL;
	FILE *m = open_memstream(&joined, &len);

	for (size_t i = 0; m && i < s->nreasons; i++)
		fprintf(m, "%s%zu x %s", i ? "; " : "", s->reasons[i].n, s->reasons[i].text);
	if (m)
		fclose(m);
	output_csv_field(out, joined ? joined : "", "\n");
	free(joined);
}

static void csv_row(FILE *out, const char *section, const struct rule *rule,
		    const char *team_ref, const char *team_name, dl_day from, dl_day to,
		    const struct report_stats *s)
{
	char a[DATE_BUF], b[DATE_BUF];
	double pct = 0, shown;
	bool have = report_percent(s, &pct);
	enum report_rating rating = rate(rule, s, &shown);

	output_csv_field(out, section, ",");
	output_csv_field(out, rule->id, ",");
	output_csv_text(out, rule->title, ",");
	output_csv_text(out, team_ref ? team_ref : "", ",");
	output_csv_text(out, team_name ? team_name : "", ",");
	fprintf(out, "%s,%s,%zu,%zu,", date_format(from, a), date_format(to, b), s->on_time,
		s->on_time + s->late);
	csv_num(out, have, pct, ",");
	fprintf(out, "%zu,%zu,%zu,", s->late, s->cancelled, s->overdue);
	csv_num(out, s->late > 0, s->median_late, ",");
	fprintf(out, "%d,%d,", s->worst_late, s->worst_overdue);
	csv_num(out, !isnan(rule->target.value), rule->target.value, ",");
	fprintf(out, "%s,%s,", isnan(rule->target.value) ? "" : rule->target.better,
		report_rating_name(rating));
	csv_reasons(out, s);
}

static void write_csv(const struct report *r, FILE *out)
{
	fputs("section,rule,title,team_ref,team_name,from,to,on_time,met,percent_on_time,late,"
	      "cancelled,overdue_at_end,median_late_days,worst_late_days,worst_overdue_days,"
	      "target,better,rating,reasons\n", out);
	for (size_t k = 0; k < r->nrules; k++)
		csv_row(out, "rule", r->rules[k], NULL, NULL, r->from, r->to, &r->by_rule[k]);
	for (size_t i = 0; i < r->nteams; i++)
		for (size_t k = 0; k < r->nrules; k++)
			csv_row(out, "team", r->rules[k], r->teams[i].team_ref, r->teams[i].team_name,
				r->from, r->to, &r->teams[i].by_rule[k]);
	for (size_t i = 0; i < r->nmonths; i++)
		for (size_t k = 0; k < r->nrules; k++)
			csv_row(out, "month", r->rules[k], NULL, NULL, r->months[i].from,
				r->months[i].to, &r->months[i].by_rule[k]);
}

/* ---- HTML --------------------------------------------------------------- */

/* Text from data or configuration, escaped; controls become spaces; at
 * most max characters (UTF-8 sequences are not split), then an ellipsis. */
static void html_puts_max(FILE *out, const char *s, size_t max)
{
	size_t chars = 0;

	for (; s && *s; s++) {
		if (((unsigned char)*s & 0xC0) != 0x80 && chars++ == max) {
			fputs("\xE2\x80\xA6", out);
			return;
		}
		switch (*s) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default: fputc((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s, out);
		}
	}
}

static void html_puts(FILE *out, const char *s)
{
	html_puts_max(out, s, (size_t)-1);
}

static const char *const PALETTE[] = { "#0072b2", "#d55e00", "#009e73", "#cc79a7",
				       "#e69f00", "#56b4e9", "#000000", "#8c6d1f" };
#define NPALETTE (sizeof PALETTE / sizeof PALETTE[0])

static const char HTML_STYLE[] =
	"@page { size: A4 portrait; margin: 15mm 12mm; }\n"
	"body { font-family: 'Segoe UI', Roboto, Helvetica, Arial, sans-serif; font-size: 10.5pt;"
	" color: #1b1b1b; background: #ffffff; max-width: 186mm; margin: 0 auto; padding: 8px; }\n"
	"h1 { font-size: 17pt; margin: 0 0 4px; }\n"
	"h2 { font-size: 13pt; margin: 18px 0 6px; border-bottom: 1px solid #b1b4b6;"
	" break-after: avoid; page-break-after: avoid; }\n"
	"h3 { font-size: 11pt; margin: 12px 0 4px; break-after: avoid; page-break-after: avoid; }\n"
	"p.meta { margin: 2px 0; color: #505a5f; }\n"
	"table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; }\n"
	"th, td { border-bottom: 1px solid #d8d8d8; padding: 3px 5px; text-align: left;"
	" vertical-align: top; }\n"
	"th { background: #f3f2f1; font-weight: 600; }\n"
	"td.n { text-align: right; white-space: nowrap; }\n"
	"tr, figure, .reasons { break-inside: avoid; page-break-inside: avoid; }\n"
	"thead { display: table-header-group; }\n"
	"figure { margin: 10px 0; }\n"
	"figcaption { font-size: 9.5pt; color: #505a5f; }\n"
	"svg { width: 100%; height: auto; display: block; }\n"
	".rag { display: inline-block; padding: 0 6px; border-radius: 3px; font-weight: bold;"
	" -webkit-print-color-adjust: exact; print-color-adjust: exact; }\n"
	".green { background: #00703c; color: #ffffff; }\n"
	".amber { background: #ffbf47; color: #000000; }\n"
	".red { background: #d4351c; color: #ffffff; }\n"
	".key span { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 10px;"
	" vertical-align: middle; -webkit-print-color-adjust: exact; print-color-adjust: exact; }\n"
	"@media print { body { max-width: none; padding: 0; } h2 { margin-top: 12px; } }\n";

static void html_rating(FILE *out, enum report_rating rating)
{
	if (rating != RATING_NONE)
		fprintf(out, "<span class=\"rag %s\">%s</span>", report_rating_name(rating),
			rating == RATING_GREEN ? "Green" : rating == RATING_AMBER ? "Amber" : "Red");
}

/* Bars of each rule's figure, with its target as a mark. */
static void html_bars(FILE *out, const struct report *r)
{
	const int label = 230, width = 680, plot = 330, row = 30, top = 26;
	int height = top + row * (int)r->nrules + 10;

	fprintf(out, "<figure>\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
		"role=\"img\" aria-label=\"On-time percentage by rule against target\">\n"
		"<title>On-time percentage by rule against target</title>\n", width, height);
	for (int g = 0; g <= 100; g += 25) {
		int x = label + plot * g / 100;

		fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#d8d8d8\"/>"
			"<text x=\"%d\" y=\"16\" font-size=\"11\" text-anchor=\"middle\" "
			"fill=\"#505a5f\">%d%%</text>\n", x, top - 4, x, height - 6, x, g);
	}
	for (size_t k = 0; k < r->nrules; k++) {
		const struct rule *rule = r->rules[k];
		const struct report_stats *s = &r->by_rule[k];
		int y = top + row * (int)k;
		double pct, shown;
		enum report_rating rating = rate(rule, s, &shown);
		const char *fill = rating == RATING_GREEN ? "#00703c" : rating == RATING_AMBER ?
				   "#ffbf47" : rating == RATING_RED ? "#d4351c" : "#1d70b8";

		/* A long title is cut to fit left of the bars; the tooltip has it all. */
		fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"end\"><title>",
			label - 8, y + 18);
		html_puts(out, rule->title);
		fputs("</title>", out);
		html_puts_max(out, rule->title, 30);
		fputs("</text>\n", out);
		/* The bar, then the target's mark over it, then the words. */
		if (report_percent(s, &pct))
			fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"18\" "
				"fill=\"%s\"/>\n", label, y + 5, plot * pct / 100.0, fill);
		if (!isnan(rule->target.value)) {
			double tv = report_lower_is_better(&rule->target) ? 100 - rule->target.value :
				    rule->target.value;
			double x = label + plot * tv / 100.0;

			fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#0b0c0c\" "
				"stroke-width=\"3\"><title>target</title></line>\n", x, y + 1, x, y + 27);
		}
		if (!report_percent(s, &pct))
			fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#505a5f\">"
				"none met in the period</text>\n", label + 4, y + 18);
		else
			fprintf(out, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\">%.1f%% (%zu of %zu)"
				"</text>\n", label + plot * pct / 100.0 + 4, y + 18, pct, s->on_time,
				s->on_time + s->late);
	}
	fputs("</svg>\n<figcaption>Bars: percentage met on time (green, amber, red: rating "
	      "against the target; blue: no target). Black marks: targets, as an on-time "
	      "percentage.</figcaption>\n</figure>\n", out);
}

/* One line a rule over the months; a month with nothing met breaks it. */
static void html_trend(FILE *out, const struct report *r)
{
	const int left = 44, width = 680, plot_w = 610, top = 12, plot_h = 200;
	int height = top + plot_h + 40;
	double step = r->nmonths > 1 ? (double)plot_w / (double)(r->nmonths - 1) : 0;
	char m[DATE_BUF];

	fprintf(out, "<figure>\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
		"role=\"img\" aria-label=\"Monthly on-time percentage\">\n"
		"<title>Monthly on-time percentage</title>\n", width, height);
	for (int g = 0; g <= 100; g += 25) {
		int y = top + plot_h - plot_h * g / 100;

		fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#d8d8d8\"/>"
			"<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\" "
			"fill=\"#505a5f\">%d%%</text>\n", left, y, left + plot_w, y, left - 4, y + 4, g);
	}
	for (size_t i = 0; i < r->nmonths; i++) {
		double x = r->nmonths > 1 ? left + step * (double)i : left + plot_w / 2.0;

		/* Label every month while there is room, else every third. */
		if (r->nmonths <= 12 || i % 3 == 0)
			fprintf(out, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" "
				"text-anchor=\"middle\" fill=\"#505a5f\">%.7s</text>\n", x,
				top + plot_h + 16, date_format(r->months[i].from, m));
	}
	for (size_t k = 0; k < r->nrules; k++) {
		const char *colour = PALETTE[k % NPALETTE];
		bool open = false;

		for (size_t i = 0; i < r->nmonths; i++) {
			double pct, x = r->nmonths > 1 ? left + step * (double)i : left + plot_w / 2.0;

			if (!report_percent(&r->months[i].by_rule[k], &pct)) {
				if (open)
					fputs("\"/>\n", out);
				open = false;
				continue;
			}
			double y = top + plot_h - plot_h * pct / 100.0;

			if (!open)
				fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
					"points=\"", colour);
			fprintf(out, "%s%.1f,%.1f", open ? " " : "", x, y);
			open = true;
		}
		if (open)
			fputs("\"/>\n", out);
		for (size_t i = 0; i < r->nmonths; i++) {
			double pct, x = r->nmonths > 1 ? left + step * (double)i : left + plot_w / 2.0;

			if (report_percent(&r->months[i].by_rule[k], &pct))
				fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", x,
					top + plot_h - plot_h * pct / 100.0, colour);
		}
	}
	fputs("</svg>\n<figcaption class=\"key\">", out);
	for (size_t k = 0; k < r->nrules; k++) {
		fprintf(out, "<span style=\"background:%s\"></span>", PALETTE[k % NPALETTE]);
		html_puts(out, r->rules[k]->title);
		fputc(' ', out);
	}
	fputs("<br>Percentage met on time each month; a gap is a month with nothing met."
	      "</figcaption>\n</figure>\n", out);
}

/* On time, late (median, worst), cancelled, overdue (longest): compact,
 * the working days in small print under the counts. */
static void html_cells(FILE *out, const struct report_stats *s)
{
	char a[96];

	on_time_text(s, a, sizeof a);
	fprintf(out, "<td class=\"n\">%s</td><td class=\"n\">%zu", a, s->late);
	if (s->late)
		fprintf(out, "<br><small>median %g, worst %d</small>", s->median_late,
			s->worst_late);
	fprintf(out, "</td><td class=\"n\">%zu</td><td class=\"n\">%zu", s->cancelled,
		s->overdue);
	if (s->overdue)
		fprintf(out, "<br><small>longest %d</small>", s->worst_overdue);
	fputs("</td>", out);
}

static void html_reasons(FILE *out, const char *title, const struct report_stats *s)
{
	if (!s->nreasons)
		return;
	fputs("<div class=\"reasons\"><h3>", out);
	html_puts(out, title);
	fputs("</h3>\n<table><thead><tr><th>Reason given</th><th>Times</th></tr></thead>"
	      "<tbody>\n", out);
	for (size_t i = 0; i < s->nreasons; i++) {
		fputs("<tr><td>", out);
		html_puts(out, s->reasons[i].text);
		fprintf(out, "</td><td class=\"n\">%zu</td></tr>\n", s->reasons[i].n);
	}
	fputs("</tbody></table></div>\n", out);
}

static void html_rule_table(FILE *out, const struct report *r)
{
	fputs("<table>\n<thead><tr><th>Rule</th><th>On time</th><th>Late</th><th>Cancelled</th>"
	      "<th>Overdue at end</th><th>Target</th><th>Compared with</th></tr></thead>\n"
	      "<tbody>\n", out);
	for (size_t k = 0; k < r->nrules; k++) {
		const struct rule *rule = r->rules[k];
		const struct rule_comparator *c = rule->target.comparators.v;
		double shown;
		enum report_rating rating = rate(rule, &r->by_rule[k], &shown);

		fputs("<tr><td>", out);
		html_puts(out, rule->title);
		fputs(" <small>(", out);
		html_puts(out, rule->id);
		fputs(")</small></td>", out);
		html_cells(out, &r->by_rule[k]);
		fputs("<td>", out);
		if (!isnan(rule->target.value)) {
			fprintf(out, "%g%%%s ", rule->target.value,
				report_lower_is_better(&rule->target) ? " late or less" : "");
			html_rating(out, rating);
			if (report_quartile(&rule->target, shown))
				fprintf(out, "<br><small>%s</small>",
					QUARTILE_NAMES[report_quartile(&rule->target, shown)]);
		}
		fputs("</td><td>", out);
		for (size_t i = 0; i < rule->target.comparators.n; i++) {
			html_puts(out, c[i].label);
			fprintf(out, " %g%%<br>", c[i].value);
		}
		if (rule->target.source) {
			fputs("<small>", out);
			html_puts(out, rule->target.source);
			fputs("</small>", out);
		}
		fputs("</td></tr>\n", out);
	}
	fputs("</tbody></table>\n", out);
}

static void write_html(const struct report *r, FILE *out)
{
	char from[DATE_BUF], to[DATE_BUF], m[DATE_BUF];

	date_format(r->from, from);
	date_format(r->to, to);
	fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		"<title>Timeliness report %s to %s</title>\n<style>\n%s</style>\n</head>\n<body>\n"
		"<h1>Timeliness report</h1>\n<p class=\"meta\">%s to %s", from, to, HTML_STYLE,
		from, to);
	if (r->team) {
		fputs(", team ", out);
		html_puts(out, r->team);
		fputs(" only", out);
	}
	fputs("</p>\n<p class=\"meta\">Source: ", out);
	html_puts(out, r->source);
	if (r->nidle) {
		fputs("</p>\n<p class=\"meta\">" IDLE_NOTE, out);
		for (size_t k = 0; k < r->nidle; k++) {
			fputs(k ? ", " : "", out);
			html_puts(out, r->idle[k]->title);
			fputs(" (", out);
			html_puts(out, r->idle[k]->id);
			fputs(")", out);
		}
	}
	fprintf(out, "</p>\n<p class=\"meta\">%s %s</p>\n<h2>By rule</h2>\n", COUNTING_NOTE,
		HTML_DAYS_NOTE);
	html_rule_table(out, r);
	if (r->nrules)
		html_bars(out, r);
	for (size_t k = 0; k < r->nrules; k++) {
		char title[300];

		snprintf(title, sizeof title, "Reasons for lateness: %s", r->rules[k]->title);
		html_reasons(out, title, &r->by_rule[k]);
	}
	fputs("<h2>By team</h2>\n", out);
	if (r->nteams == 0)
		fputs("<p>No team had a clock met, cancelled or overdue in the period.</p>\n", out);
	else
		fputs("<table>\n<thead><tr><th>Team</th><th>Rule</th><th>On time</th><th>Late</th>"
		      "<th>Cancelled</th><th>Overdue at end</th></tr></thead>\n<tbody>\n", out);
	for (size_t i = 0; i < r->nteams; i++)
		for (size_t k = 0; k < r->nrules; k++) {
			if (stats_empty(&r->teams[i].by_rule[k]) && r->nrules > 1)
				continue;
			fputs("<tr><td>", out);
			html_puts(out, r->teams[i].team_name ? r->teams[i].team_name :
				  r->teams[i].team_ref);
			fputs(" <small>(", out);
			html_puts(out, r->teams[i].team_ref);
			fputs(")</small></td><td>", out);
			html_puts(out, r->rules[k]->title);
			fputs("</td>", out);
			html_cells(out, &r->teams[i].by_rule[k]);
			fputs("</tr>\n", out);
		}
	if (r->nteams)
		fputs("</tbody></table>\n", out);
	fputs("<h2>Month by month</h2>\n", out);
	if (r->nrules)
		html_trend(out, r);
	fputs("<table>\n<thead><tr><th>Month</th>", out);
	for (size_t k = 0; k < r->nrules; k++) {
		fputs("<th>", out);
		html_puts(out, r->rules[k]->title);
		fputs("</th>", out);
	}
	fputs("</tr></thead>\n<tbody>\n", out);
	for (size_t i = 0; i < r->nmonths; i++) {
		fprintf(out, "<tr><td>%.7s</td>", date_format(r->months[i].from, m));
		for (size_t k = 0; k < r->nrules; k++) {
			char a[96];

			on_time_text(&r->months[i].by_rule[k], a, sizeof a);
			fprintf(out, "<td class=\"n\">%s</td>", a);
		}
		fputs("</tr>\n", out);
	}
	fputs("</tbody></table>\n</body>\n</html>\n", out);
}

int report_write(const struct report *r, enum report_format format, FILE *out)
{
	switch (format) {
	case REPORT_TEXT: write_text(r, out); break;
	case REPORT_CSV: write_csv(r, out); break;
	case REPORT_HTML: write_html(r, out); break;
	}
	return ferror(out) ? -1 : 0;
}

/* ---- a month so far ---------------------------------------------------- */

int report_month_to_date(struct report *r, const struct conf *conf, struct state *st,
			 const char *team_ref, dl_day today, struct dl_error *err)
{
	dl_day first;
	int y, m, d;

	date_to_ymd(today, &y, &m, &d);
	date_from_ymd(y, m, 1, &first);
	if (report_init(r, conf, first, today, team_ref, NULL, err) < 0 ||
	    report_load_state(r, st, NULL, err) < 0 || report_compute(r, err) < 0) {
		report_free(r);
		return -1;
	}
	return 0;
}

/* The state database, when it covers the period (or is chosen): 1 when it
 * does not and the case database's history must do, with why set. */
static int load_from_state(struct report *r, const struct state_conf *conf, bool forced,
			   char *why, size_t size, struct dl_error *err)
{
	char first[DATE_BUF], where[512];
	struct state *st;
	int64_t started = 0;
	int rc;

	state_describe(conf, where, sizeof where);
	if (!forced && !state_exists(conf)) {
		snprintf(why, size, "; there is no state database (%s) yet", file_name(where));
		return 1;
	}
	if (!state_exists(conf)) {
		error_set(err, "no state database at %s (has deadlined run yet?)", where);
		return -1;
	}
	if (state_open_readonly(conf, &st, err) < 0) {
		error_prefix(err, "state");
		return -1;
	}
	if (state_first_poll(st, &started, err) < 0) {
		state_close(st);
		error_prefix(err, "report");
		return -1;
	}
	date_format(date_local_day(started), first);
	if (!forced && (!started || date_local_day(started) > r->from)) {
		snprintf(why, size, "; the period starts before the daemon's first poll (%s)",
			 started ? first : "none yet");
		state_close(st);
		return 1;
	}
	rc = report_load_state(r, st, where, err);
	state_close(st);
	if (rc < 0) {
		error_prefix(err, "report");
		return -1;
	}
	if (started) {
		size_t len = strlen(r->source);

		snprintf(r->source + len, sizeof r->source - len, " (first poll %s)", first);
	}
	return 0;
}

int report_load(struct report *r, const struct state_conf *state,
		const struct source_conf *source, const char *choice, struct dl_error *err)
{
	char why[600] = "";
	struct source *src;
	int rc = 1;

	if (!choice || strcmp(choice, "state") == 0)
		rc = load_from_state(r, state, choice != NULL, why, sizeof why, err);
	if (rc <= 0)
		return rc;
	if (source_open(source, &src, err) < 0) {
		error_prefix(err, "source");
		return -1;
	}
	rc = report_load_cases(r, src, source->database, err);
	source_close(src);
	if (rc < 0) {
		error_prefix(err, "report");
		return -1;
	}
	if (strlen(r->source) + strlen(why) < sizeof r->source)
		strcat(r->source, why);
	return 0;
}
