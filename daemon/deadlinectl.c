/* deadlinectl — the command-line companion of deadlined.
 *
 * Thin wiring only: parse the command line, load the configuration, call
 * the library, print, and choose the exit status.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stddef.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "deadlined/calendar.h"
#include "deadlined/conf.h"
#include "deadlined/date.h"
#include "deadlined/duration.h"
#include "deadlined/evaluate.h"
#include "deadlined/outbox.h"
#include "deadlined/state.h"
#include "deadlined/state_web.h"
#include "deadlined/output.h"
#include "deadlined/report.h"
#include "deadlined/source.h"
#include "deadlined/ssd.h"
#include "deadlined/version.h"

/* Exit statuses: documented in deadlinectl(1). */
enum {
	EXIT_OK = 0,
	EXIT_FAILURE_RUNTIME = 1,
	EXIT_BAD_INPUT = 2,
	EXIT_CONFIG = 78,    /* EX_CONFIG */
};

struct options {
	const char *config;
	const char *db;            /* overrides source.database */
	const char *as_of, *state, *rule, *team, *format;
	const char *until, *reason, *recipient;
	const char *from, *to, *out, *source;   /* report */
	int count_start_day, all;
	int allow_bad_rows;
};

/* The command options, each with one meaning wherever it is accepted;
 * a command's grammar (struct command) says which it takes.  -c, -h and
 * -V belong to deadlinectl itself and go with any command. */
enum option_id {
	O_DB, O_AS_OF, O_STATE, O_RULE, O_TEAM, O_FORMAT, O_UNTIL, O_REASON, O_RECIPIENT,
	O_ALL, O_FROM, O_TO, O_OUT, O_SOURCE, O_COUNT_START_DAY, O_ALLOW_BAD_ROWS, NOPTIONS
};

#define OPT(id) (1u << (id))

static const struct option_def {
	const char *name;
	const char *arg;           /* the value's name; NULL: a flag (int) */
	size_t offset;             /* where it goes in struct options */
	const char *help;
} option_defs[NOPTIONS] = {
	[O_DB] = { "db", "FILE", offsetof(struct options, db),
		   "case database (instead of source.database)" },
	[O_AS_OF] = { "as-of", "DATE", offsetof(struct options, as_of),
		      "evaluate as if today were DATE (end of that day)" },
	[O_STATE] = { "state", "S", offsetof(struct options, state),
		      "list: open, due-soon, overdue, met, late, cancelled or all;\n"
		      "                           outbox: pending, sent or dead" },
	[O_RULE] = { "rule", "ID", offsetof(struct options, rule), "only this rule" },
	[O_TEAM] = { "team", "REF", offsetof(struct options, team), "only this team" },
	[O_FORMAT] = { "format", "F", offsetof(struct options, format),
		       "table (default), csv or json; report: text, csv or html" },
	[O_UNTIL] = { "until", "DATE", offsetof(struct options, until),
		      "ack: silence reminders until DATE" },
	[O_REASON] = { "reason", "TEXT", offsetof(struct options, reason),
		       "ack: why (recorded with who acknowledged)" },
	[O_RECIPIENT] = { "recipient", "ADDRESS", offsetof(struct options, recipient),
			  "test-notify: the address to mail" },
	[O_ALL] = { "all", NULL, offsetof(struct options, all), "retry: every dead letter" },
	[O_FROM] = { "from", "DATE", offsetof(struct options, from),
		     "report: the first day of the period" },
	[O_TO] = { "to", "DATE", offsetof(struct options, to),
		   "report: the last day of the period" },
	[O_OUT] = { "out", "FILE", offsetof(struct options, out),
		    "report: write to FILE (atomically) instead of stdout" },
	[O_SOURCE] = { "source", "S", offsetof(struct options, source),
		       "report: state or cases (default: state from its first poll)" },
	[O_COUNT_START_DAY] = { "count-start-day", NULL, offsetof(struct options, count_start_day),
				"due: count the start day as day 1" },
	[O_ALLOW_BAD_ROWS] = { "allow-bad-rows", NULL, offsetof(struct options, allow_bad_rows),
			       "import-ssd: import the good rows despite bad ones" },
};

struct command {
	const char *name;
	int nargs;                 /* at least this many arguments */
	const char *usage;
	int (*run)(const struct options *opt, struct conf *conf, char **args);
	int max_args;              /* 0: exactly nargs */
	unsigned accepts;          /* OPT() of each option it takes */
};

static const char *progname = "deadlinectl";

/* "deadlinectl: due: start: '31.9.12' is not a date; expected YYYY-MM-DD" */
static int bad_input(const char *what, const struct dl_error *err)
{
	fprintf(stderr, "%s: %s: %s\n", progname, what, err->msg);
	return EXIT_BAD_INPUT;
}

/* Warn when a result rests on bank holidays the 1971 Act pattern derived
 * rather than published ones, so a stale calendar cannot go unnoticed. */
static void note_derived(const struct calendar *cal, dl_day first, dl_day last)
{
	if (!calendar_span_is_derived(cal, first, last))
		return;
	fprintf(stderr, "%s: note: bank holidays for some of %d-%d are derived from the "
		"Banking and Financial Dealings Act 1971 pattern, not published dates; add "
		"announced ones to calendar.extra_holidays and list the year in "
		"calendar.confirmed_years\n", progname, date_year(first), date_year(last));
}

static int cmd_due(const struct options *opt, struct conf *conf, char **args)
{
	struct dl_moment start, due;
	struct duration d;
	struct dl_error err;
	char buf[DATE_MOMENT_BUF];
	int count_start = opt->count_start_day ? CALENDAR_DAY1_IF_WORKING :
			  conf->calendar.count_start_day;

	if (date_parse_moment(args[0], &start, &err) < 0)
		return bad_input("due: start", &err);
	if (duration_parse(args[1], &d, &err) < 0)
		return bad_input("due: duration", &err);
	if (duration_add(conf->cal, start, &d, count_start, &due, &err) < 0)
		return bad_input("due", &err);
	printf("%s\n", date_format_moment(due, buf));
	note_derived(conf->cal, start.day, due.day);
	return EXIT_OK;
}

static int parse_year(const char *text, int *year)
{
	char *end;
	long y = strtol(text, &end, 10);

	if (*text == '\0' || *end != '\0' || y < CALENDAR_FIRST_YEAR || y > CALENDAR_LAST_YEAR)
		return -1;
	*year = (int)y;
	return 0;
}

static int cmd_holidays(const struct options *opt, struct conf *conf, char **args)
{
	struct calendar_day_name days[64];
	char buf[DATE_BUF];
	size_t n;
	int year;

	(void)opt;
	if (parse_year(args[0], &year) < 0) {
		fprintf(stderr, "%s: holidays: '%s' is not a year; expected a year from %d to %d\n",
			progname, args[0], CALENDAR_FIRST_YEAR, CALENDAR_LAST_YEAR);
		return EXIT_BAD_INPUT;
	}
	n = calendar_holidays(conf->cal, year, days, 64);
	for (size_t i = 0; i < n && i < 64; i++)
		printf("%s %s\n", date_format(days[i].day, buf), days[i].name);
	if (calendar_year_is_derived(conf->cal, year))
		fprintf(stderr, "%s: note: %d's bank holidays are derived from the Banking and "
			"Financial Dealings Act 1971 pattern, not published dates\n",
			progname, year);
	return EXIT_OK;
}

static int cmd_workdays(const struct options *opt, struct conf *conf, char **args)
{
	dl_day from, to;
	struct dl_error err;
	int n;

	(void)opt;
	if (date_parse(args[0], &from, &err) < 0)
		return bad_input("workdays: FROM", &err);
	if (date_parse(args[1], &to, &err) < 0)
		return bad_input("workdays: TO", &err);
	if (calendar_workdays_between(conf->cal, from, to, &n, &err) < 0)
		return bad_input("workdays", &err);
	printf("%d\n", n);
	note_derived(conf->cal, from < to ? from : to, from < to ? to : from);
	return EXIT_OK;
}

/* What the evaluation commands share: the moment, the source, the hooks. */
struct run {
	const struct options *opt;
	struct conf *conf;
	struct output_rows rows;
	int want_state;            /* -1: the open ones (open, due-soon, overdue) */
	bool all_states;
	bool oom;
};

static bool wanted(const struct run *run, const struct source_case *c,
		   const struct obligation *ob)
{
	const struct options *opt = run->opt;

	if (opt->rule && strcmp(opt->rule, ob->rule->id) != 0)
		return false;
	if (opt->team && (!c->team_ref || strcmp(opt->team, c->team_ref) != 0))
		return false;
	if (run->all_states)
		return true;
	if (run->want_state >= 0)
		return (int)ob->state == run->want_state;
	return ob->state == OB_OPEN || ob->state == OB_DUE_SOON || ob->state == OB_OVERDUE;
}

static int collect_obligation(void *ctx, const struct source_case *c,
			      const struct obligation *ob)
{
	struct run *run = ctx;

	if (wanted(run, c, ob) && output_add_obligation(&run->rows, c, ob) < 0)
		run->oom = true;
	return run->oom ? -1 : 0;
}

static int collect_finding(void *ctx, const char *case_ref, const char *problem)
{
	struct run *run = ctx;

	if (output_add_finding(&run->rows, case_ref, problem) < 0)
		run->oom = true;
	return run->oom ? -1 : 0;
}

static int runtime_error(const char *what, const struct dl_error *err)
{
	fprintf(stderr, "%s: %s: %s\n", progname, what, err->msg);
	return EXIT_FAILURE_RUNTIME;
}

static int parse_now(const struct options *opt, struct dl_moment *now)
{
	struct dl_error err;

	if (!opt->as_of) {
		*now = date_now();
		return 0;
	}
	if (evaluate_parse_as_of(opt->as_of, now, &err) < 0)
		return bad_input("--as-of", &err);
	return 0;
}

/* The case database as configured, or the SQLite file --db names (db). */
static int open_source(const struct conf *conf, const char *db, struct source **src,
		       struct dl_error *err)
{
	struct source_conf sc = conf->source;

	if (db) {
		sc.driver = "sqlite";
		sc.database = db;
	}
	return source_open(&sc, src, err);
}

/* Evaluate (one case or all) with the given hooks. */
static int evaluate(const struct options *opt, struct conf *conf, const char *case_ref,
		    const struct evaluate_hooks *hooks, struct evaluate_summary *sum)
{
	struct source *src;
	struct dl_moment now;
	struct dl_error err;
	int rc;

	memset(sum, 0, sizeof *sum);
	if ((rc = parse_now(opt, &now)) != 0)
		return rc;
	if (conf->rules.n == 0) {
		fprintf(stderr, "%s: %s has no rules; expected rules = { @include "
			"\"rules/referral.conf\" ... } (see deadlined.conf(5))\n", progname,
			conf->path ? conf->path : "the built-in configuration");
		return EXIT_CONFIG;
	}
	if (open_source(conf, opt->db, &src, &err) < 0)
		return runtime_error("source", &err);
	rc = evaluate_run(conf, src, case_ref, now, hooks, sum, &err);
	source_close(src);
	if (rc < 0)
		return runtime_error("evaluate", &err);
	return EXIT_OK;
}

/* --team names a team of the case database, or it is an error naming the
 * teams there are: a typo must not look like a team with nothing to show.
 * A case database that cannot be read is left to the command to report. */
static int check_team(const struct options *opt, const struct conf *conf, const char *cmd)
{
	const char *db = opt->db ? opt->db : conf->source.database;
	struct source_directory dir = { 0 };
	struct source *src = NULL;
	struct dl_error err;
	char known[400] = "";
	int rc = EXIT_OK;

	if (!opt->team || open_source(conf, db, &src, &err) < 0 ||
	    source_load_directory(src, &dir, &err) < 0) {
		source_close(src);
		return EXIT_OK;
	}
	if (!source_find_team(&dir, opt->team)) {
		for (size_t i = 0, n = 0; i < dir.nteams && n + 40 < sizeof known; i++)
			n += (size_t)snprintf(known + n, sizeof known - n, "%s%s", i ? ", " : "",
					      dir.teams[i].team_ref);
		fprintf(stderr, "%s: %s--team: no team '%s' in the case database; %s%s%s\n",
			progname, cmd, opt->team, dir.nteams ? "its teams are " : "it has no teams",
			known, strlen(known) + 40 >= sizeof known ? ", ..." : "");
		rc = EXIT_BAD_INPUT;
	}
	source_free_directory(&dir);
	source_close(src);
	return rc;
}

static int parse_format(const struct options *opt, enum output_format *format)
{
	if (!opt->format) {
		*format = OUTPUT_TABLE;
		return 0;
	}
	if (output_parse_format(opt->format, format) == 0)
		return 0;
	fprintf(stderr, "%s: --format: '%s' is not a format; expected table, csv or json\n",
		progname, opt->format);
	return EXIT_BAD_INPUT;
}

typedef void (*print_fn)(FILE *out, const struct output_rows *rows,
			 enum output_format format);

/* Evaluate every case into run->rows, then print them worst first. */
static int collect_and_print(struct run *run, const struct evaluate_hooks *hooks,
			     print_fn print, enum output_format format)
{
	struct evaluate_summary sum;
	int rc = evaluate(run->opt, run->conf, NULL, hooks, &sum);

	evaluate_summary_free(&sum);
	if (rc == EXIT_OK && !run->oom) {
		output_sort(&run->rows);
		print(stdout, &run->rows, format);
	}
	output_free(&run->rows);
	return run->oom ? EXIT_FAILURE_RUNTIME : rc;
}

static int cmd_list(const struct options *opt, struct conf *conf, char **args)
{
	struct run run = { .opt = opt, .conf = conf, .want_state = -1 };
	struct evaluate_hooks hooks = { .obligation = collect_obligation, .ctx = &run };
	enum output_format format;
	int rc;

	(void)args;
	if ((rc = parse_format(opt, &format)) != 0)
		return rc;
	if (opt->state && strcmp(opt->state, "all") == 0)
		run.all_states = true;
	else if (opt->state && (run.want_state = rules_state_parse(opt->state)) < 0) {
		fprintf(stderr, "%s: --state: '%s' is not a state; expected open, due-soon, "
			"overdue, met, late, cancelled or all\n", progname, opt->state);
		return EXIT_BAD_INPUT;
	}
	if (opt->rule && !conf_rule(conf, opt->rule)) {
		fprintf(stderr, "%s: --rule: no rule '%s' in the configuration\n", progname, opt->rule);
		return EXIT_BAD_INPUT;
	}
	if ((rc = check_team(opt, conf, "")) != EXIT_OK)
		return rc;
	return collect_and_print(&run, &hooks, output_print_obligations, format);
}

static int cmd_check_data(const struct options *opt, struct conf *conf, char **args)
{
	struct run run = { .opt = opt, .conf = conf };
	struct evaluate_hooks hooks = { .finding = collect_finding, .ctx = &run,
					.compare_expected = true };
	enum output_format format;
	int rc;

	(void)args;
	if ((rc = parse_format(opt, &format)) != 0)
		return rc;
	return collect_and_print(&run, &hooks, output_print_findings, format);
}

struct explain {
	const struct conf *conf;
	const struct rule *last_rule;
	size_t found;
	struct output_rows problems;  /* printed after the rules */
	bool oom;
};

/* Case data for a text line: visible escapes for line feeds, bad bytes
 * (output_visible), "-" for none.  buf holds VIS_BUF bytes. */
#define VIS_BUF 256
static const char *vis(const char *s, char *buf)
{
	return output_visible(s ? s : "-", buf, VIS_BUF);
}

static int explain_events(void *ctx, const struct source_case *c,
			  const struct rules_event *ev, size_t n)
{
	char when[DATE_MOMENT_BUF], v[5][VIS_BUF];

	(void)ctx;
	printf("Case %s: child %s, team %s, worker %s, born %s\n", vis(c->case_ref, v[0]),
	       vis(c->child_ref, v[1]), vis(c->team_ref, v[2]), vis(c->worker_ref, v[3]),
	       vis(c->date_of_birth, v[4]));
	printf("\nEvents up to --as-of (%zu of %zu rows; the rest are later or "
	       "unusable, see Data problems):\n", n, c->nevents);
	for (size_t i = 0; i < n; i++)
		printf("  %-16s %s\n", date_format_moment(ev[i].when, when), vis(ev[i].kind, v[0]));
	return 0;
}

/* The days between anchor and due that did not count, so a manager can
 * check the arithmetic: weekends as a number, holidays by name. */
static void explain_skipped(const struct calendar *cal, dl_day from, dl_day to)
{
	int weekends = 0, listed = 0;
	char day[DATE_BUF];

	for (dl_day d = from + 1; d <= to && d - from < 400; d++) {
		const char *name = calendar_day_name(cal, d);

		if (name) {
			printf("%s %s %s", listed++ ? "," : "       skipped:", date_format(d, day), name);
		} else if (date_weekday(d) >= 5) {
			weekends++;
		}
	}
	if (listed || weekends)
		printf("%s%d weekend day%s\n", listed ? "; " : "       skipped: ", weekends,
		       weekends == 1 ? "" : "s");
}

static int explain_obligation(void *ctx, const struct source_case *c,
			      const struct obligation *ob)
{
	struct explain *x = ctx;
	char a[DATE_MOMENT_BUF], d[DATE_MOMENT_BUF], w[DATE_MOMENT_BUF], dur[DURATION_BUF];

	(void)c;
	x->found++;
	if (ob->rule != x->last_rule) {
		printf("\n%s (%s)\n", ob->rule->id, ob->rule->title);
		x->last_rule = ob->rule;
	}
	printf("  #%d %s (%s) + %s%s = due %s\n", ob->seq, date_format_moment(ob->anchor, a),
	       ob->start_kind, duration_format(&ob->duration, dur, sizeof dur),
	       ob->rule->count_start_day == CALENDAR_DAY1_ALWAYS ?
			" (start day is day 1, even when not a working day)" :
	       ob->rule->count_start_day == CALENDAR_DAY1_IF_WORKING ? " (start day is day 1)" : "",
	       date_format_moment(ob->due, d));
	if (ob->duration.unit == DURATION_WORKING_DAYS)
		explain_skipped(x->conf->cal, ob->anchor.day, ob->due.day);
	printf("     %s", rules_state_name(ob->state));
	if (ob->close_kind)
		printf(" by %s on %s", ob->close_kind, date_format_moment(ob->closed, w));
	if (ob->state == OB_DUE_SOON || ob->state == OB_OPEN)
		printf(" (due-soon from %s)", date_format_moment(ob->warn_from, w));
	if (ob->days_overdue)
		printf(", %d working day%s %s", ob->days_overdue, ob->days_overdue == 1 ? "" : "s",
		       ob->state == OB_LATE ? "late" : "overdue");
	if (ob->stage)
		printf(", escalation stage %d", ob->stage);
	if (ob->derived)
		printf(" [rests on derived bank holidays]");
	putchar('\n');
	return 0;
}

static int explain_finding(void *ctx, const char *case_ref, const char *problem)
{
	struct explain *x = ctx;

	if (output_add_finding(&x->problems, case_ref, problem) < 0)
		x->oom = true;
	return x->oom ? -1 : 0;
}

static int cmd_explain(const struct options *opt, struct conf *conf, char **args)
{
	struct explain x = { .conf = conf };
	struct evaluate_hooks hooks = { explain_obligation, explain_finding, explain_events, &x };
	struct evaluate_summary sum;
	int rc;

	rc = evaluate(opt, conf, args[0], &hooks, &sum);
	if (rc == EXIT_OK && sum.cases == 0) {
		fprintf(stderr, "%s: explain: no case '%s' in the case database\n", progname, args[0]);
		rc = EXIT_BAD_INPUT;
	} else if (rc == EXIT_OK && x.found == 0) {
		printf("\nNo rule has a clock on this case.\n");
	}
	if (rc == EXIT_OK && x.problems.nf) {
		printf("\nData problems:\n");
		for (size_t i = 0; i < x.problems.nf; i++) {
			char problem[1024];

			printf("  %s\n", output_visible(x.problems.f[i].problem, problem,
							sizeof problem));
		}
	}
	output_free(&x.problems);
	evaluate_summary_free(&sum);
	return x.oom ? EXIT_FAILURE_RUNTIME : rc;
}

/* ---- the state database: acks, outbox, status ------------------------ */

#define WRITE_WAIT_MS 120000

static int open_state_as(const struct conf *conf, bool write, struct state **st)
{
	struct dl_error err;

	char where[512];

	if (!state_exists(&conf->state)) {
		fprintf(stderr, "%s: no state database at %s (has deadlined run yet?)\n", progname,
			state_describe(&conf->state, where, sizeof where));
		return EXIT_FAILURE_RUNTIME;
	}
	if ((write ? state_open : state_open_readonly)(&conf->state, st, &err) < 0)
		return runtime_error("state", &err);
	/* An ack or retry waits out a full poll of a big source, rather than
	 * fail after 5 s; reads never wait in WAL mode. */
	if (write)
		state_set_write_wait(*st, WRITE_WAIT_MS);
	return EXIT_OK;
}

/* Commands that only look never migrate the schema under a running daemon. */
static int open_state(const struct conf *conf, struct state **st)
{
	return open_state_as(conf, false, st);
}

/* Who is acknowledging: the login behind sudo, else the invoking user. */
static const char *invoking_user(void)
{
	const char *sudo = getenv("SUDO_USER");
	struct passwd *pw;

	if (sudo && *sudo)
		return sudo;
	pw = getpwuid(getuid());
	return pw ? pw->pw_name : "unknown";
}

static int check_ack_input(const struct options *opt, const struct conf *conf, char **args)
{
	struct dl_error err;
	dl_day until;

	if (!opt->until || !opt->reason) {
		fprintf(stderr, "%s: ack needs --until DATE and --reason TEXT\n", progname);
		return EXIT_BAD_INPUT;
	}
	if (date_parse(opt->until, &until, &err) < 0)
		return bad_input("ack: --until", &err);
	if (until < date_today()) {
		fprintf(stderr, "%s: ack: --until %s is in the past\n", progname, opt->until);
		return EXIT_BAD_INPUT;
	}
	if (strlen(opt->reason) < 3 || strlen(opt->reason) > 1000) {
		fprintf(stderr, "%s: ack: --reason must say why, in 3 to 1000 characters\n", progname);
		return EXIT_BAD_INPUT;
	}
	if (!conf_rule(conf, args[1])) {
		fprintf(stderr, "%s: ack: no rule '%s' in the configuration\n", progname, args[1]);
		return EXIT_BAD_INPUT;
	}
	return EXIT_OK;
}

static int cmd_ack(const struct options *opt, struct conf *conf, char **args)
{
	struct state_ack ack;
	struct state *st;
	struct dl_error err;
	int rc;

	if ((rc = check_ack_input(opt, conf, args)) != EXIT_OK ||
	    (rc = open_state_as(conf, true, &st)))
		return rc;
	rc = state_ack(st, args[0], args[1], opt->until, opt->reason, invoking_user(),
		       (int64_t)time(NULL), &ack, &err);
	state_close(st);
	if (rc < 0) {
		fprintf(stderr, "%s: ack: %s\n", progname, err.msg);
		return EXIT_BAD_INPUT;
	}
	printf("acknowledged %s %s #%d until %s by %s; reminders stop until then or until it "
	       "changes state (what counts as late is unchanged)\n", args[0], args[1], ack.seq,
	       opt->until, ack.who);
	return EXIT_OK;
}

static int print_ack(void *ctx, const struct state_ack *a)
{
	char when[DATE_BUF];

	char ref[VIS_BUF], reason[VIS_BUF];

	(void)ctx;
	printf("%-16s %-20s %3d %-10s %-10s %-10s %s\n", vis(a->case_ref, ref), a->rule, a->seq,
	       date_format(date_local_day(a->created), when), a->until, a->who,
	       vis(a->reason, reason));
	return 0;
}

static int cmd_acks(const struct options *opt, struct conf *conf, char **args)
{
	struct state *st;
	struct dl_error err;
	int rc;

	(void)opt;
	(void)args;
	if ((rc = open_state(conf, &st)) != EXIT_OK)
		return rc;
	printf("%-16s %-20s %3s %-10s %-10s %-10s %s\n", "CASE", "RULE", "SEQ", "ACKED", "UNTIL",
	       "WHO", "REASON");
	rc = state_each_ack(st, print_ack, NULL, &err);
	state_close(st);
	return rc < 0 ? runtime_error("acks", &err) : EXIT_OK;
}

/* Cover: the same rows deadlined-web's cover page writes (state_web.h). */
static int open_state_web(const struct conf *conf, struct state_web **sw)
{
	struct dl_error err;

	if (!state_exists(&conf->state)) {
		fprintf(stderr, "%s: no state database at %s (has deadlined run yet?)\n", progname,
			conf->state.database);
		return EXIT_FAILURE_RUNTIME;
	}
	if (state_web_open(&conf->state, sw, &err) < 0)
		return runtime_error("state", &err);
	return EXIT_OK;
}

static int cmd_cover(const struct options *opt, struct conf *conf, char **args)
{
	struct state_web_cover cv = { 0, args[0], args[1], args[2], args[3], invoking_user(),
				      (int64_t)time(NULL) };
	struct state_web *sw;
	struct dl_error err;
	dl_day from, to;
	int rc;

	(void)opt;
	for (int i = 0; i < 2; i++)
		if (!strchr(args[i], '@') || strpbrk(args[i], " <>\"'")) {
			fprintf(stderr, "%s: cover: '%s' is not an e-mail address; expected cover "
				"MANAGER DEPUTY FROM TO\n", progname, args[i]);
			return EXIT_BAD_INPUT;
		}
	if (date_parse(args[2], &from, &err) < 0 || date_parse(args[3], &to, &err) < 0)
		return bad_input("cover", &err);
	if (to < from || to - from > 366) {
		fprintf(stderr, "%s: cover: %s to %s: expected FROM on or before TO, at most a year "
			"apart\n", progname, args[2], args[3]);
		return EXIT_BAD_INPUT;
	}
	if ((rc = open_state_web(conf, &sw)) != EXIT_OK)
		return rc;
	rc = state_web_add_cover(sw, &cv, &err);
	state_web_close(sw);
	if (rc < 0)
		return runtime_error("cover", &err);
	printf("%s covers %s from %s to %s: the deputy's tray shows the manager's teams\n",
	       args[1], args[0], args[2], args[3]);
	return EXIT_OK;
}

static int print_cover(void *ctx, const struct state_web_cover *c)
{
	(void)ctx;
	printf("%-5lld %-30s %-30s %-10s %-10s %s\n", (long long)c->id, c->manager, c->deputy,
	       c->from, c->to, c->who);
	return 0;
}

static int cmd_covers(const struct options *opt, struct conf *conf, char **args)
{
	struct state_web *sw;
	struct dl_error err;
	char today[DATE_BUF];
	int rc;

	(void)opt;
	(void)args;
	if ((rc = open_state_web(conf, &sw)) != EXIT_OK)
		return rc;
	printf("%-5s %-30s %-30s %-10s %-10s %s\n", "ID", "MANAGER", "DEPUTY", "FROM", "TO", "BY");
	rc = state_web_each_cover(sw, NULL, date_format(date_today(), today), print_cover, NULL,
				  &err);
	state_web_close(sw);
	return rc < 0 ? runtime_error("covers", &err) : EXIT_OK;
}

static int print_message(void *ctx, const struct state_message *m)
{
	char to[VIS_BUF];

	(void)ctx;
	printf("%-6" PRId64 " %-7s %3d %-14.14s %-28.28s %s\n", m->id, m->status, m->attempts,
	       m->receiver, m->recipient ? vis(m->recipient, to) : "(webhook)",
	       m->subject ? m->subject : "");
	if (m->last_error && strcmp(m->status, "sent") != 0)
		printf("       last error: %s\n", m->last_error);
	return 0;
}

static int cmd_outbox(const struct options *opt, struct conf *conf, char **args)
{
	struct state *st;
	struct dl_error err;
	int rc;

	(void)args;
	if (opt->state && strcmp(opt->state, "pending") && strcmp(opt->state, "sent") &&
	    strcmp(opt->state, "dead")) {
		fprintf(stderr, "%s: outbox --state: expected pending, sent or dead\n", progname);
		return EXIT_BAD_INPUT;
	}
	if ((rc = open_state(conf, &st)) != EXIT_OK)
		return rc;
	printf("%-6s %-7s %3s %-14s %-28s %s\n", "ID", "STATUS", "TRY", "RECEIVER", "TO", "SUBJECT");
	rc = state_each_message(st, opt->state, print_message, NULL, &err);
	state_close(st);
	return rc < 0 ? runtime_error("outbox", &err) : EXIT_OK;
}

static int cmd_retry(const struct options *opt, struct conf *conf, char **args)
{
	struct state *st;
	struct dl_error err;
	char *end = NULL;
	long long id = 0;
	int rc, count;

	if (!args[0] == !opt->all) {
		fprintf(stderr, "%s: retry takes a message ID (see 'deadlinectl outbox --state dead') "
			"or --all\n", progname);
		return EXIT_BAD_INPUT;
	}
	if (args[0] && ((id = strtoll(args[0], &end, 10)) <= 0 || *end)) {
		fprintf(stderr, "%s: retry: '%s' is not a message id\n", progname, args[0]);
		return EXIT_BAD_INPUT;
	}
	if ((rc = open_state_as(conf, true, &st)) != EXIT_OK)
		return rc;
	rc = state_retry_dead(st, id, (int64_t)time(NULL), &count, &err);
	state_close(st);
	if (rc < 0)
		return runtime_error("retry", &err);
	printf("%d dead letter%s queued again; the daemon sends %s at its next delivery\n", count,
	       count == 1 ? "" : "s", count == 1 ? "it" : "them");
	return count == 0 && id ? EXIT_BAD_INPUT : EXIT_OK;
}

static void print_time(const char *label, int64_t t)
{
	char buf[32] = "never";
	time_t tt = (time_t)t;
	struct tm tm;

	if (t > 0) {
		localtime_r(&tt, &tm);
		strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
	}
	printf("%-18s %s\n", label, buf);
}

/* Whether the daemon that last wrote the state database still runs.  It
 * clears "pid" when it stops cleanly; after a crash the pid may linger, so
 * ask the kernel (EPERM: alive, but another user's, as under DynamicUser). */
static const char *daemon_liveness(const char *pid)
{
	static char buf[64];
	char *end;
	long p = strtol(pid, &end, 10);

	if (!*pid)
		return "it has stopped since";
	if (p <= 0 || *end || (kill((pid_t)p, 0) != 0 && errno != EPERM))
		snprintf(buf, sizeof buf, "pid %s, not running: it did not stop cleanly", pid);
	else
		snprintf(buf, sizeof buf, "pid %ld, running", p);
	return buf;
}

/* A pair's leader as the shared store says now: who, which epoch, since
 * when, and whether its lease still runs. */
static void print_leader(const struct state_leader *lead)
{
	if (!lead->found) {
		printf("%-18s no daemon has led yet\n", "pair");
		return;
	}
	if (lead->expires_in_ms >= 0)
		printf("%-18s leader %s, epoch %" PRId64 " (lease %s), lease runs %" PRId64
		       " s more\n", "pair", lead->holder, lead->epoch, lead->name,
		       lead->expires_in_ms / 1000);
	else
		printf("%-18s no leader: the lease of %s (epoch %" PRId64 ") ran out %" PRId64
		       " s ago\n", "pair", lead->holder, lead->epoch, -lead->expires_in_ms / 1000);
	print_time("  since", lead->since);
}

static int cmd_status(const struct options *opt, struct conf *conf, char **args)
{
	char loaded[64], pid[32], down[64], why[512], where[512];
	struct state_leader lead;
	struct state_status s;
	struct state *st;
	struct dl_error err;
	int rc;

	(void)opt;
	(void)args;
	if ((rc = open_state(conf, &st)) != EXIT_OK)
		return rc;
	rc = state_status(st, &s, &err);
	if (rc == 0)
		rc = state_get_meta(st, "config_loaded", loaded, sizeof loaded, &err);
	if (rc == 0)
		rc = state_get_meta(st, "pid", pid, sizeof pid, &err);
	if (rc == 0)
		rc = state_get_meta(st, "source_down_since", down, sizeof down, &err);
	if (rc == 0)
		rc = state_get_meta(st, "source_down_reason", why, sizeof why, &err);
	if (rc == 0)
		rc = state_leader(st, &lead, &err);
	state_close(st);
	if (rc < 0)
		return runtime_error("status", &err);
	printf("%-18s %s\n", "config", conf->path ? conf->path : "(built-in defaults)");
	if (loaded[0] && lead.shared)
		printf("%-18s %s by the leader\n", "  loaded", loaded);
	else if (loaded[0])
		printf("%-18s %s by the daemon (%s)\n", "  loaded", loaded, daemon_liveness(pid));
	if (lead.shared)
		print_leader(&lead);
	printf("%-18s %s\n", "state database", state_describe(&conf->state, where, sizeof where));
	/* As the daemon last found it: a poll that could not read it changed
	 * nothing, so the figures below are those of the last good poll. */
	if (down[0])
		printf("%-18s unavailable since %s: %s\n", "case database", down, why);
	else
		printf("%-18s available\n", "case database");
	print_time("last poll", s.last.finished);
	if (s.last.id)
		printf("%-18s %" PRId64 " s, %ld cases, %ld findings, %ld messages made\n",
		       "  took", s.last.finished - s.last.started, s.last.cases, s.last.findings,
		       s.last.enqueued);
	printf("%-18s %ld open, %ld due soon, %ld overdue (%ld escalated)\n", "obligations", s.open,
	       s.due_soon, s.overdue, s.escalated);
	printf("%-18s %ld pending, %ld sent, %ld dead letters\n", "outbox", s.pending, s.sent,
	       s.dead);
	if (s.pending)
		print_time("  oldest pending", s.oldest_pending);
	if (conf->notify.digest_time)
		printf("%-18s each working day at %s\n", "digests", conf->notify.digest_time);
	else
		printf("%-18s off (messages as things happen)\n", "digests");
	return s.dead ? EXIT_FAILURE_RUNTIME : EXIT_OK;
}

static int cmd_test_notify(const struct options *opt, struct conf *conf, char **args)
{
	struct delivery_result r = { 0 };
	struct outbox *o = NULL;
	struct dl_error err;
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = outbox_open(conf, NULL, &o, &err);
	if (rc == 0)
		rc = outbox_test(o, args[0], opt->recipient, &r, &err);
	outbox_close(o);
	curl_global_cleanup();
	if (rc < 0) {
		fprintf(stderr, "%s: test-notify: %s\n", progname, err.msg);
		return EXIT_BAD_INPUT;
	}
	printf("%s: %s%s%s\n", args[0], r.status == DELIVERY_OK ? "delivered" :
	       r.status == DELIVERY_RETRY ? "failed (would be retried)" : "failed (permanent)",
	       r.detail[0] ? ": " : "", r.detail);
	return r.status == DELIVERY_OK ? EXIT_OK : EXIT_FAILURE_RUNTIME;
}

/* ---- report --------------------------------------------------------- */

struct report_out {
	const struct report *r;
	enum report_format format;
};

static int fill_report(FILE *f, const void *ctx)
{
	const struct report_out *o = ctx;

	return report_write(o->r, o->format, f);
}

/* To stdout, or atomically to --out so a reader never sees half a report. */
static int write_report(const struct report *r, enum report_format format, const char *out)
{
	struct report_out o = { r, format };
	struct dl_error err;

	if (!out)
		return report_write(r, format, stdout) < 0 || fflush(stdout) != 0 ?
		       EXIT_FAILURE_RUNTIME : EXIT_OK;
	if (output_write_atomic(out, fill_report, &o, &err) < 0) {
		fprintf(stderr, "%s: report: --out %s: %s\n", progname, out, err.msg);
		return EXIT_FAILURE_RUNTIME;
	}
	return EXIT_OK;
}

static int check_report_input(const struct options *opt, const struct conf *conf,
			      dl_day *from, dl_day *to, enum report_format *format)
{
	struct dl_error err;
	char a[DATE_BUF], b[DATE_BUF];

	if (!opt->from || !opt->to) {
		fprintf(stderr, "%s: report needs --from DATE and --to DATE (YYYY-MM-DD)\n",
			progname);
		return EXIT_BAD_INPUT;
	}
	if (date_parse(opt->from, from, &err) < 0)
		return bad_input("report: --from", &err);
	if (date_parse(opt->to, to, &err) < 0)
		return bad_input("report: --to", &err);
	if (*from > *to) {
		fprintf(stderr, "%s: report: --from %s is after --to %s; expected FROM on or "
			"before TO\n", progname, date_format(*from, a), date_format(*to, b));
		return EXIT_BAD_INPUT;
	}
	if (!calendar_covers(conf->cal, *from) || !calendar_covers(conf->cal, *to)) {
		fprintf(stderr, "%s: report: the period must lie within %d to %d\n", progname,
			CALENDAR_FIRST_YEAR, CALENDAR_LAST_YEAR);
		return EXIT_BAD_INPUT;
	}
	if (opt->format && report_parse_format(opt->format, format) < 0) {
		fprintf(stderr, "%s: report: --format: '%s' is not a report format; expected "
			"text, csv or html\n", progname, opt->format);
		return EXIT_BAD_INPUT;
	}
	if (opt->rule && !conf_rule(conf, opt->rule)) {
		fprintf(stderr, "%s: report: --rule: no rule '%s' in the configuration\n", progname,
			opt->rule);
		return EXIT_BAD_INPUT;
	}
	if (opt->source && strcmp(opt->source, "state") && strcmp(opt->source, "cases")) {
		fprintf(stderr, "%s: report: --source: '%s'; expected state or cases\n", progname,
			opt->source);
		return EXIT_BAD_INPUT;
	}
	if (conf->rules.n == 0) {
		fprintf(stderr, "%s: %s has no rules to report on (see deadlined.conf(5))\n",
			progname, conf->path ? conf->path : "the built-in configuration");
		return EXIT_CONFIG;
	}
	return EXIT_OK;
}

static int cmd_report(const struct options *opt, struct conf *conf, char **args)
{
	enum report_format format = REPORT_TEXT;
	struct source_conf sc = conf->source;
	struct report r;
	struct dl_error err;
	dl_day from, to;
	int rc;

	(void)args;
	if ((rc = check_report_input(opt, conf, &from, &to, &format)) != EXIT_OK ||
	    (rc = check_team(opt, conf, "report: ")) != EXIT_OK)
		return rc;
	if (opt->db) {        /* --db: an SQLite file, whatever the driver */
		sc.driver = "sqlite";
		sc.database = opt->db;
	}
	if (report_init(&r, conf, from, to, opt->team, opt->rule, &err) < 0)
		rc = runtime_error("report", &err);
	else if (report_load(&r, &conf->state, &sc, opt->source, &err) < 0) {
		fprintf(stderr, "%s: %s\n", progname, err.msg);
		rc = EXIT_FAILURE_RUNTIME;
	} else {
		if (report_compute(&r, &err) < 0)
			rc = runtime_error("report", &err);
		else
			rc = write_report(&r, format, opt->out);
	}
	report_free(&r);
	return rc;
}

static void print_note(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s: %s\n", progname, msg);
}

static int cmd_import_ssd(const struct options *opt, struct conf *conf, char **args)
{
	const char *db = opt->db ? opt->db : conf->source.database;
	struct ssd_summary sum;
	struct dl_error err;
	int rc = ssd_import(args[0], db, opt->allow_bad_rows, print_note, NULL, &sum, &err);

	if (rc == SSD_BAD_INPUT)
		return bad_input("import-ssd", &err);
	if (rc < 0)
		return runtime_error("import-ssd", &err);
	printf("imported %ld rows from %d files into %s", sum.rows, sum.files, db);
	if (sum.bad_rows)
		printf(" (%ld bad rows left out)", sum.bad_rows);
	printf("\n");
	return EXIT_OK;
}

#define EVALUATES (OPT(O_DB) | OPT(O_AS_OF))

static const struct command commands[] = {
	{ "due", 2, "due DATE DURATION [--count-start-day]\n"
	  "                           the due date, e.g. due 2024-12-20 \"10 working days\"",
	  cmd_due, 0, OPT(O_COUNT_START_DAY) },
	{ "holidays", 1, "holidays YEAR            bank holidays and closure days of YEAR",
	  cmd_holidays },
	{ "workdays", 2, "workdays FROM TO         working days after FROM up to and including TO",
	  cmd_workdays },
	{ "list", 0, "list [--as-of DATE] [--state S] [--rule ID] [--team REF] [--format F]\n"
	  "                           obligations, worst first (default: the open ones)",
	  cmd_list, 0, EVALUATES | OPT(O_STATE) | OPT(O_RULE) | OPT(O_TEAM) | OPT(O_FORMAT) },
	{ "explain", 1, "explain CASE_REF [--as-of DATE]\n"
	  "                           a case's events and how each due date was reached",
	  cmd_explain, 0, EVALUATES },
	{ "check-data", 0, "check-data [--format F]  data-quality findings in the case database",
	  cmd_check_data, 0, EVALUATES | OPT(O_FORMAT) },
	{ "import-ssd", 1, "import-ssd DIR [--db FILE] [--allow-bad-rows]\n"
	  "                           load SSD CSV extracts into the case database",
	  cmd_import_ssd, 0, OPT(O_DB) | OPT(O_ALLOW_BAD_ROWS) },
	{ "ack", 2, "ack CASE_REF RULE --until DATE --reason TEXT\n"
	  "                           silence reminders for an obligation, recording why",
	  cmd_ack, 0, OPT(O_UNTIL) | OPT(O_REASON) },
	{ "acks", 0, "acks                     acknowledgements: who, when, until, why", cmd_acks },
	{ "cover", 4, "cover MANAGER DEPUTY FROM TO  a deputy sees the manager's teams meanwhile",
	  cmd_cover },
	{ "covers", 0, "covers                   cover now and to come", cmd_covers },
	{ "status", 0, "status                   last poll, counts, outbox and dead letters",
	  cmd_status },
	{ "outbox", 0, "outbox [--state pending|sent|dead]  messages and their last errors",
	  cmd_outbox, 0, OPT(O_STATE) },
	{ "retry", 0, "retry ID | --all         send dead letters again", cmd_retry, 1,
	  OPT(O_ALL) },
	{ "test-notify", 1, "test-notify RECEIVER [--recipient ADDRESS]\n"
	  "                           send a test message now",
	  cmd_test_notify, 0, OPT(O_RECIPIENT) },
	{ "report", 0, "report --from DATE --to DATE [--team REF] [--rule ID]\n"
	  "           [--format text|csv|html] [--out FILE] [--source state|cases] [--db FILE]\n"
	  "                           timeliness: met on time, late, cancelled, overdue",
	  cmd_report, 0, OPT(O_DB) | OPT(O_FROM) | OPT(O_TO) | OPT(O_TEAM) | OPT(O_RULE) |
	  OPT(O_FORMAT) | OPT(O_OUT) | OPT(O_SOURCE) },
	{ 0 }
};

static void usage(FILE *out)
{
	char name[64];

	fprintf(out, "usage: %s [-c FILE] COMMAND [ARGS] [OPTIONS]\n\ncommands:\n", progname);
	for (const struct command *c = commands; c->name; c++)
		fprintf(out, "  %s\n", c->usage);
	fprintf(out, "\noptions (each command takes only those its usage shows):\n"
		"  -c, --config FILE        configuration file (default %s)\n", conf_default_path());
	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct option_def *d = &option_defs[i];

		snprintf(name, sizeof name, "--%s%s%s", d->name, d->arg ? " " : "",
			 d->arg ? d->arg : "");
		fprintf(out, "      %-20s %s\n", name, d->help);
	}
	fprintf(out, "  -h, --help               this help\n"
		"  -V, --version            the version\n"
		"\nSee deadlinectl(1).\n");
}

/* getopt_long's table, from option_defs; a command option's val is
 * 256 + its id. */
static void long_options(struct option *lo)
{
	size_t i;

	for (i = 0; i < NOPTIONS; i++)
		lo[i] = (struct option){ option_defs[i].name,
					 option_defs[i].arg ? required_argument : no_argument,
					 NULL, 256 + (int)i };
	lo[i++] = (struct option){ "config", required_argument, NULL, 'c' };
	lo[i++] = (struct option){ "help", no_argument, NULL, 'h' };
	lo[i++] = (struct option){ "version", no_argument, NULL, 'V' };
	lo[i] = (struct option){ 0 };
}

static void set_option(struct options *opt, enum option_id id, const char *value)
{
	char *field = (char *)opt + option_defs[id].offset;

	if (option_defs[id].arg)
		*(const char **)field = value;
	else
		*(int *)field = 1;
}

/* The command options on the line, in their order (each once). */
struct given {
	enum option_id id[NOPTIONS];
	size_t n;
	unsigned set;              /* OPT() of each */
};

/* *given receives the command options on the line. */
static int parse_options(int argc, char **argv, struct options *opt, struct given *given)
{
	struct option longopts[NOPTIONS + 4];
	int c;

	/* getopt would take "-3 days" for an option; say what is wrong instead. */
	for (int i = 1; i < argc; i++)
		if (argv[i][0] == '-' && isdigit((unsigned char)argv[i][1])) {
			fprintf(stderr, "%s: '%s': negative numbers are not allowed; expected "
				"a whole number of 0 or more\n", progname, argv[i]);
			return -1;
		}
	long_options(longopts);
	memset(given, 0, sizeof *given);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
		if (c >= 256 && c < 256 + NOPTIONS) {
			set_option(opt, (enum option_id)(c - 256), optarg);
			if (!(given->set & OPT(c - 256)))
				given->id[given->n++] = (enum option_id)(c - 256);
			given->set |= OPT(c - 256);
			continue;
		}
		switch (c) {
		case 'c': opt->config = optarg; break;
		case 'h': usage(stdout); exit(EXIT_OK);
		case 'V': printf("deadlinectl %s\n", DEADLINED_VERSION); exit(EXIT_OK);
		default:
			fprintf(stderr, "%s: unknown option or missing value in '%s'; try '%s --help'\n",
				progname, argv[optind - 1], progname);
			return -1;
		}
	}
	return 0;
}

/* An option the command does not take is refused (the first such on the
 * line), naming those it does, rather than silently ignored. */
static int check_grammar(const struct command *cmd, const struct given *given)
{
	char takes[256] = "";
	size_t i, len = 0;

	for (i = 0; i < given->n && (cmd->accepts & OPT(given->id[i])); i++)
		;
	if (i == given->n)
		return 0;
	for (size_t k = 0; k < NOPTIONS; k++)
		if (cmd->accepts & OPT(k))
			len += (size_t)snprintf(takes + len, sizeof takes - len, "%s--%s",
						len ? ", " : "", option_defs[k].name);
	fprintf(stderr, "%s: %s does not take --%s; %s%s\n", progname, cmd->name,
		option_defs[given->id[i]].name, len ? "it takes " : "it takes no options", takes);
	return -1;
}

/* -c FILE must exist; without -c the default file is optional, and the
 * built-in defaults apply when it is absent. */
static int load_conf(const struct options *opt, struct conf **conf)
{
	const char *path = opt->config ? opt->config : conf_default_path();
	struct dl_errors errors = { 0 };

	if (!opt->config && access(path, F_OK) != 0)
		path = NULL;
	if (conf_load(path, conf, &errors) < 0) {
		for (size_t i = 0; i < errors.n; i++)
			fprintf(stderr, "%s: %s\n", progname, errors.msg[i]);
		errors_clear(&errors);
		return -1;
	}
	setenv("TZ", (*conf)->timezone, 1);
	tzset();
	return 0;
}

/* Text for people goes through a filter, so that case data cannot send a
 * terminal escape sequences; CSV and JSON are data and pass as they are
 * (JSON escapes control characters itself). */
static int run_safely(const struct command *cmd, const struct options *opt, struct conf *conf,
		      char **args)
{
	bool data = opt->format && (strcmp(opt->format, "csv") == 0 ||
				    strcmp(opt->format, "json") == 0);
	FILE *real = stdout, *safe = data ? NULL : output_terminal_safe(stdout);
	int rc;

	if (safe)
		stdout = safe;
	rc = cmd->run(opt, conf, args);
	if (safe) {
		fclose(safe);
		stdout = real;
	}
	if (fflush(stdout) != 0 && rc == EXIT_OK) {
		fprintf(stderr, "%s: writing the output: %s\n", progname, strerror(errno));
		rc = EXIT_FAILURE_RUNTIME;
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct options opt = { 0 };
	const struct command *cmd;
	struct conf *conf;
	struct given given;
	int rc;

	if (parse_options(argc, argv, &opt, &given) < 0)
		return EXIT_BAD_INPUT;
	if (optind >= argc) {
		usage(stderr);
		return EXIT_BAD_INPUT;
	}
	for (cmd = commands; cmd->name && strcmp(cmd->name, argv[optind]) != 0; cmd++)
		;
	if (!cmd->name) {
		fprintf(stderr, "%s: unknown command '%s'; try '%s --help'\n", progname,
			argv[optind], progname);
		return EXIT_BAD_INPUT;
	}
	if (argc - optind - 1 < cmd->nargs ||
	    argc - optind - 1 > (cmd->max_args ? cmd->max_args : cmd->nargs)) {
		/* One line: the usage's first. */
		fprintf(stderr, "%s: %s takes %d argument%s: %.*s\n", progname, cmd->name,
			cmd->nargs, cmd->nargs == 1 ? "" : "s", (int)strcspn(cmd->usage, "\n"),
			cmd->usage);
		return EXIT_BAD_INPUT;
	}
	if (check_grammar(cmd, &given) < 0)
		return EXIT_BAD_INPUT;
	if (load_conf(&opt, &conf) < 0)
		return EXIT_CONFIG;
	rc = run_safely(cmd, &opt, conf, argv + optind + 1);
	conf_free(conf);
	return rc;
}
