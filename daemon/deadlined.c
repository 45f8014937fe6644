/* deadlined — the daemon's main: options, configuration, and the exit
 * status.  Everything else lives in the library modules. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>
#include <time.h>

#include "deadlined/conf.h"
#include "deadlined/evaluate.h"
#include "deadlined/ha.h"
#include "deadlined/log.h"
#include "deadlined/mainloop.h"
#include "deadlined/outbox.h"
#include "deadlined/poll.h"
#include "deadlined/preflight.h"
#include "deadlined/route.h"
#include "deadlined/service.h"
#include "deadlined/state.h"
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
	fprintf(out, "usage: deadlined [-n] [-c FILE] [--db FILE] [--once [--as-of DATE] [--dry-run]]\n"
		"Without --once, runs as a service until SIGTERM; SIGHUP reloads.\n"
		"  -c, --config FILE     configuration file (default %s)\n"
		"  -n, --check-config    validate the configuration and exit\n"
		"      --once            evaluate once, print a summary and exit\n"
		"      --as-of DATE      with --once: as if today were DATE\n"
		"      --dry-run         with --once: list what would be sent; store and send nothing\n"
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

static void print_dry(void *ctx, const char *receiver, const char *recipient,
		      const char *subject)
{
	(void)ctx;
	printf("would send via %s%s%s: %s\n", receiver, recipient ? " to " : "",
	       recipient ? recipient : "", subject);
}

/* A dry run must not create a state database that did not exist: it uses
 * a private, temporary SQLite one instead (SQLite's "", deleted on close:
 * unlike ":memory:" its pages spill to disk, so a big source does not take
 * gigabytes of memory). */
static struct state_conf state_conf(const struct options *opt, const struct conf *conf)
{
	static const struct state_conf scratch = { .driver = "sqlite", .database = "" };

	/* A shared store (PostgreSQL) is not touched by a dry run at all. */
	return opt->dry_run && (strcmp(conf->state.driver, "sqlite") != 0 ||
				!state_exists(&conf->state)) ? scratch : conf->state;
}

/* A store a pair shares is written by its leader only: --once takes the
 * lease for its run (resigning at the end), or refuses while a daemon
 * leads. */
static int lead_once(const struct conf *conf, const struct state_conf *stc, struct state *st,
		     struct ha **ha, struct dl_error *err)
{
	char role[256];

	if (strcmp(stc->driver, conf->state.driver) != 0)
		return 0;            /* a dry run's private store */
	if (ha_open(conf, st, ha, err) < 0)
		return -1;
	if (!*ha)
		return 0;
	ha_tick(*ha, true);
	if (ha_leader(*ha))
		return 0;
	error_set(err, "another daemon leads the pair sharing this store (%s); --once would "
		  "compete with it", ha_describe(*ha, role, sizeof role));
	return -1;
}

/* --once keeps the lease it took while it polls: a poll that outlasts the
 * lease would find its commit fenced. */
static int once_tick(void *ctx)
{
	ha_tick(ctx, false);
	return 0;
}

/* One poll and one round of delivery; with --dry-run, the messages that
 * would be made are listed and nothing is stored or sent. */
static int run_once(const struct options *opt, const struct conf *conf)
{
	struct evaluate_summary sum = { 0 };
	struct poll_result res;
	struct outbox_result out = { 0 };
	struct outbox_dry dry = { print_dry, NULL };
	struct dl_moment now = date_now();
	struct source *src = NULL;
	struct state *st = NULL;
	struct route *route = NULL;
	struct outbox *outbox = NULL;
	struct ha *ha = NULL;
	struct dl_error err;
	int rc = -1;

	if (opt->as_of && evaluate_parse_as_of(opt->as_of, &now, &err) < 0) {
		fprintf(stderr, "deadlined: --as-of: %s\n", err.msg);
		return EXIT_BAD_USAGE;
	}
	struct source_conf sc = conf->source;
	struct state_conf stc = state_conf(opt, conf);

	if (opt->db) {         /* --db: an SQLite file, whatever the driver */
		sc.driver = "sqlite";
		sc.database = opt->db;
	}
	if (source_open(&sc, &src, &err) == 0 && state_open(&stc, &st, &err) == 0 &&
	    route_open(conf, &route, &err) == 0 && outbox_open(conf, st, &outbox, &err) == 0 &&
	    lead_once(conf, &stc, st, &ha, &err) == 0) {
		struct poll_env env = { conf, st, route, outbox, once_tick, ha };

		rc = poll_all(&env, src, now, (int64_t)time(NULL), opt->dry_run ? &dry : NULL,
			      &res, &sum, &err);
	}
	source_close(src);
	if (rc == 0) {
		print_summary(conf, &sum);
		printf("%ld message%s %s\n", res.enqueued, res.enqueued == 1 ? "" : "s",
		       opt->dry_run ? "would be made (dry run: nothing stored or sent)" : "made");
	}
	/* Deliver what is due until nothing more is (bounded rounds). */
	if (rc == 0 && !opt->dry_run &&
	    (rc = outbox_drain(outbox, 50, 500, NULL, NULL, &out, &err)) == 0)
		printf("delivery: %ld sent, %ld to retry, %ld dead letters, %ld held (quiet hours "
		       "or daily cap)\n", out.sent, out.retried, out.dead, out.held);
	if (rc < 0)
		fprintf(stderr, "deadlined: %s\n", err.msg);
	evaluate_summary_free(&sum);
	ha_close(ha);
	outbox_close(outbox);
	route_close(route);
	state_close(st);
	return rc < 0 ? EXIT_RUNTIME : EXIT_OK;
}

/* -n: the configuration loaded; now what it points at (preflight.h). */
static int check_config(const char *path, const struct conf *conf)
{
	struct dl_errors errors = { 0 }, warnings = { 0 };
	int rc = EXIT_OK;

	conf_warnings(conf, &warnings);
	preflight_check(conf, &errors, &warnings);
	for (size_t i = 0; i < warnings.n; i++)
		fprintf(stderr, "deadlined: warning: %s\n", warnings.msg[i]);
	for (size_t i = 0; i < errors.n; i++)
		fprintf(stderr, "deadlined: %s\n", errors.msg[i]);
	if (errors.n) {
		fprintf(stderr, "deadlined: %s: configuration invalid (%zu error%s)\n", path,
			errors.n, errors.n == 1 ? "" : "s");
		rc = EXIT_CONFIG;
	} else {
		printf("deadlined: %s: configuration OK (%zu rule%s%s)\n", path, conf->rules.n,
		       conf->rules.n == 1 ? "" : "s", warnings.n ? ", with warnings" : "");
	}
	errors_clear(&errors);
	errors_clear(&warnings);
	return rc;
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
	/* The service takes a stop from now on; --once and -n keep the
	 * default actions, so that Ctrl-C ends them at once. */
	if (!opt.once && !opt.check_only && service_hold_signals() < 0) {
		fprintf(stderr, "deadlined: cannot block signals: %s\n", strerror(errno));
		return EXIT_RUNTIME;
	}
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
	log_init();
	log_set_level(conf->service.log_priority);
	if (opt.check_only) {
		rc = check_config(path, conf);
	} else if (opt.once) {
		/* As the service does (service_init): a file-size limit is a write
		 * that fails with EFBIG and a message, not a signal that kills. */
		signal(SIGXFSZ, SIG_IGN);
		curl_global_init(CURL_GLOBAL_DEFAULT);
		rc = run_once(&opt, conf);
		curl_global_cleanup();
	} else {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		rc = mainloop_run(path, &conf, opt.db) < 0 ? EXIT_RUNTIME : EXIT_OK;
		curl_global_cleanup();
	}
	conf_free(conf);
	return rc;
}
