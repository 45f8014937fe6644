/* deadlined — the daemon's main: options, configuration, and the exit
 * status.  Everything else lives in the library modules. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "deadlined/conf.h"
#include "deadlined/evaluate.h"
#include "deadlined/source.h"
#include "deadlined/version.h"

enum {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,
	EXIT_BAD_USAGE = 2,
	EXIT_CONFIG = 78,    /* EX_CONFIG: the configuration is invalid */
};

struct options {
	const char *config;
	const char *db;
	const char *as_of;
	int check_only, once, dry_run;
};

static void usage(FILE *out)
{
	fprintf(out, "usage: deadlined [-n] [-c FILE] [--once [--as-of DATE] [--dry-run]]\n"
		"  -c, --config FILE     configuration file (default %s)\n"
		"  -n, --check-config    validate the configuration and exit\n"
		"      --once            evaluate once, print a summary and exit\n"
		"      --as-of DATE      with --once: as if today were DATE\n"
		"      --dry-run         with --once: change no state, send nothing\n"
		"      --db FILE         case database (instead of source.database)\n"
		"  -h, --help            this help\n"
		"  -V, --version         the version\n"
		"\nSee deadlined(8) and deadlined.conf(5).\n", conf_default_path());
}

static int parse_options(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'n' },
		{ "once", no_argument, NULL, 'o' },
		{ "as-of", required_argument, NULL, 'A' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ "db", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:nhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': opt->config = optarg; break;
		case 'n': opt->check_only = 1; break;
		case 'o': opt->once = 1; break;
		case 'A': opt->as_of = optarg; break;
		case 'd': opt->dry_run = 1; break;
		case 'D': opt->db = optarg; break;
		case 'h': usage(stdout); exit(EXIT_OK);
		case 'V': printf("deadlined %s\n", DEADLINED_VERSION); exit(EXIT_OK);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "deadlined: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if ((opt->as_of || opt->dry_run) && !opt->once) {
		fprintf(stderr, "deadlined: --as-of and --dry-run go with --once\n");
		return -1;
	}
	return 0;
}

static void print_summary(const struct conf *conf, const struct evaluate_summary *sum)
{
	const struct rule *r = conf->rules.v;

	printf("%-28s %6s %8s %7s %6s %5s %9s\n", "RULE", "open", "due-soon", "overdue",
	       "met", "late", "cancelled");
	for (size_t i = 0; i < conf->rules.n; i++)
		printf("%-28s %6zu %8zu %7zu %6zu %5zu %9zu\n", r[i].id, sum->by_rule[i][OB_OPEN],
		       sum->by_rule[i][OB_DUE_SOON], sum->by_rule[i][OB_OVERDUE],
		       sum->by_rule[i][OB_MET], sum->by_rule[i][OB_LATE],
		       sum->by_rule[i][OB_CANCELLED]);
	printf("%-28s %6zu %8zu %7zu %6zu %5zu %9zu\n", "total", sum->total[OB_OPEN],
	       sum->total[OB_DUE_SOON], sum->total[OB_OVERDUE], sum->total[OB_MET],
	       sum->total[OB_LATE], sum->total[OB_CANCELLED]);
	printf("%zu cases, %zu events, %zu overdue (%zu escalated), %zu data-quality "
	       "findings (deadlinectl check-data)\n", sum->cases, sum->events,
	       sum->total[OB_OVERDUE], sum->escalated, sum->findings);
}

/* One evaluation.  Until the state database exists every run is a dry run:
 * nothing is written and nothing is sent. */
static int run_once(const struct options *opt, const struct conf *conf)
{
	const char *db = opt->db ? opt->db : conf->source.database;
	struct evaluate_hooks hooks = { 0 };
	struct evaluate_summary sum;
	struct dl_moment now = date_now();
	struct source *src;
	struct dl_error err;
	int rc;

	if (opt->as_of && evaluate_parse_as_of(opt->as_of, &now, &err) < 0) {
		fprintf(stderr, "deadlined: --as-of: %s\n", err.msg);
		return EXIT_BAD_USAGE;
	}
	if (source_open(db, conf->source.busy_timeout_ms, &src, &err) < 0) {
		fprintf(stderr, "deadlined: source: %s\n", err.msg);
		return EXIT_RUNTIME;
	}
	rc = evaluate_run(conf, src, NULL, now, &hooks, &sum, &err);
	source_close(src);
	if (rc < 0)
		fprintf(stderr, "deadlined: evaluate: %s\n", err.msg);
	else
		print_summary(conf, &sum);
	evaluate_summary_free(&sum);
	return rc < 0 ? EXIT_RUNTIME : EXIT_OK;
}

int main(int argc, char **argv)
{
	struct options opt = { 0 };
	struct dl_errors errors = { 0 };
	const char *path;
	struct conf *conf;
	int rc;

	if (parse_options(argc, argv, &opt) < 0)
		return EXIT_BAD_USAGE;
	path = opt.config ? opt.config : conf_default_path();
	if (conf_load(path, &conf, &errors) < 0) {
		for (size_t i = 0; i < errors.n; i++)
			fprintf(stderr, "deadlined: %s\n", errors.msg[i]);
		fprintf(stderr, "deadlined: %s: configuration invalid (%zu error%s)\n", path,
			errors.n, errors.n == 1 ? "" : "s");
		errors_clear(&errors);
		return EXIT_CONFIG;
	}
	setenv("TZ", conf->timezone, 1);
	tzset();
	if (opt.check_only) {
		printf("deadlined: %s: configuration OK (%zu rules)\n", path, conf->rules.n);
		rc = EXIT_OK;
	} else if (opt.once) {
		rc = run_once(&opt, conf);
	} else {
		fprintf(stderr, "deadlined: the long-running service is not built yet; use --once\n");
		rc = EXIT_BAD_USAGE;
	}
	conf_free(conf);
	return rc;
}
