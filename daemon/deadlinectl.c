/* deadlinectl — the command-line companion of deadlined.
 *
 * Thin wiring only: parse the command line, load the configuration, call
 * the library, print, and choose the exit status.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deadlined/calendar.h"
#include "deadlined/conf.h"
#include "deadlined/date.h"
#include "deadlined/duration.h"
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
	int count_start_day;
};

struct command {
	const char *name;
	int nargs;
	const char *usage;
	int (*run)(const struct options *opt, struct conf *conf, char **args);
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
	bool count_start = opt->count_start_day || conf->calendar.count_start_day == 1;

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

static const struct command commands[] = {
	{ "due", 2, "due DATE DURATION        the due date, e.g. due 2024-12-20 \"10 working days\"",
	  cmd_due },
	{ "holidays", 1, "holidays YEAR            bank holidays and closure days of YEAR",
	  cmd_holidays },
	{ "workdays", 2, "workdays FROM TO         working days after FROM up to and including TO",
	  cmd_workdays },
	{ 0 }
};

static void usage(FILE *out)
{
	fprintf(out, "usage: %s [-c FILE] COMMAND [ARGS]\n\ncommands:\n", progname);
	for (const struct command *c = commands; c->name; c++)
		fprintf(out, "  %s\n", c->usage);
	fprintf(out, "\noptions:\n"
		"  -c, --config FILE    configuration file (default %s)\n"
		"      --count-start-day  count the start day as day 1 (due)\n"
		"  -h, --help           this help\n"
		"  -V, --version        the version\n"
		"\nSee deadlinectl(1).\n", conf_default_path());
}

static int parse_options(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "count-start-day", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	int c;

	/* getopt would take "-3 days" for an option; say what is wrong instead. */
	for (int i = 1; i < argc; i++)
		if (argv[i][0] == '-' && isdigit((unsigned char)argv[i][1])) {
			fprintf(stderr, "%s: '%s': negative numbers are not allowed; expected "
				"a whole number of 0 or more\n", progname, argv[i]);
			return -1;
		}
	opterr = 0;
	while ((c = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': opt->config = optarg; break;
		case 'S': opt->count_start_day = 1; break;
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

int main(int argc, char **argv)
{
	struct options opt = { 0 };
	const struct command *cmd;
	struct conf *conf;
	int rc;

	if (parse_options(argc, argv, &opt) < 0)
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
	if (argc - optind - 1 != cmd->nargs) {
		fprintf(stderr, "%s: %s takes %d argument%s: %s\n", progname, cmd->name,
			cmd->nargs, cmd->nargs == 1 ? "" : "s", cmd->usage);
		return EXIT_BAD_INPUT;
	}
	if (load_conf(&opt, &conf) < 0)
		return EXIT_CONFIG;
	rc = cmd->run(&opt, conf, argv + optind + 1);
	conf_free(conf);
	return rc;
}
