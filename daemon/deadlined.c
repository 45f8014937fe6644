/* deadlined — the daemon's main: options, configuration, and the exit
 * status.  Everything else lives in the library modules. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "deadlined/conf.h"
#include "deadlined/version.h"

enum {
	EXIT_OK = 0,
	EXIT_BAD_USAGE = 2,
	EXIT_CONFIG = 78,    /* EX_CONFIG: the configuration is invalid */
};

struct options {
	const char *config;
	int check_only;
};

static void usage(FILE *out)
{
	fprintf(out, "usage: deadlined [-n] [-c FILE]\n"
		"  -c, --config FILE     configuration file (default %s)\n"
		"  -n, --check-config    validate the configuration and exit\n"
		"  -h, --help            this help\n"
		"  -V, --version         the version\n"
		"\nSee deadlined(8) and deadlined.conf(5).\n", conf_default_path());
}

static int parse_options(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:nhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': opt->config = optarg; break;
		case 'n': opt->check_only = 1; break;
		case 'h': usage(stdout); exit(EXIT_OK);
		case 'V': printf("deadlined %s\n", DEADLINED_VERSION); exit(EXIT_OK);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "deadlined: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options opt = { 0 };
	struct dl_errors errors = { 0 };
	const char *path;
	struct conf *conf;

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
	if (opt.check_only)
		printf("deadlined: %s: configuration OK\n", path);
	conf_free(conf);
	return EXIT_OK;
}
