/* deadlined-web — the web tray for the people who receive alerts.
 *
 * Reads deadlined.conf (its web group, the rules and the calendar; never a
 * receiver's secret), opens the daemon's state database, and serves on the
 * socket systemd passes (deadlined-web.socket) or on --listen.  It never
 * opens the case database.  SIGTERM or SIGINT stops it.
 */
#include "deadlined/conf.h"
#include "deadlined/log.h"
#include "deadlined/web.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_BAD_CONFIG 2
#define EXIT_RUNTIME 3

static void usage(FILE *out)
{
	fprintf(out, "usage: deadlined-web [-c FILE] [--listen HOST:PORT|unix:PATH]\n"
		"Serves the tray on the socket systemd passes, or on --listen.\n"
		"  -c, --config FILE   configuration (default %s)\n"
		"      --listen ADDR   listen here instead of on systemd's socket\n",
		conf_default_path());
}

static int load(const char *path, struct conf **conf)
{
	struct dl_errors errors = { 0 };

	if (conf_load(path, conf, &errors) == 0)
		return 0;
	for (size_t i = 0; i < errors.n; i++)
		fprintf(stderr, "deadlined-web: %s\n", errors.msg[i]);
	errors_clear(&errors);
	return -1;
}

/* web.threads, or one per CPU core. */
static unsigned threads(const struct conf *conf)
{
	long n = conf->web.threads ? conf->web.threads : sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

static int open_stores(struct web_app *app, struct dl_error *err)
{
	const struct state_conf *sc = &app->conf->state;

	if (!state_exists(sc)) {
		error_set(err, "no state database at %s (start deadlined first)", sc->database);
		return -1;
	}
	if (web_pool_open(sc, threads(app->conf), &app->pool, err) < 0)
		return -1;
	if (link_key_load(&app->conf->web, &app->key, err) < 0)
		return -1;
	/* Without a shared key there are no links to check, but forms still
	 * need their tokens: a key of this process's own. */
	return app->key.n ? 0 : link_key_random(&app->key, err);
}

/* Block the stop signals before the server thread starts, so only
 * sigwait here sees them. */
static int serve(struct web_app *app, int fd)
{
	struct web_http *http;
	struct dl_error err;
	sigset_t set;
	int sig = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (web_http_start(fd, threads(app->conf), web_route, app, &http,
			   &err) < 0) {
		fprintf(stderr, "deadlined-web: %s\n", err.msg);
		return EXIT_RUNTIME;
	}
	log_msg(LOG_NOTICE, "deadlined-web: serving with %u threads", threads(app->conf));
	sigwait(&set, &sig);
	log_msg(LOG_NOTICE, "deadlined-web: stopping on signal %d", sig);
	web_http_stop(http);
	return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	const char *path = conf_default_path(), *listen_on = NULL;
	struct web_app app = { 0 };
	struct conf *conf = NULL;
	struct dl_error err;
	int c, fd, rc;

	while ((c = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'l': listen_on = optarg; break;
		case 'h': usage(stdout); return EXIT_SUCCESS;
		case 'V': printf("deadlined-web %s\n", DEADLINED_VERSION); return EXIT_SUCCESS;
		default: usage(stderr); return EXIT_BAD_CONFIG;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EXIT_BAD_CONFIG;
	}
	if (load(path, &conf) < 0)
		return EXIT_BAD_CONFIG;
	app.conf = conf;
	if ((listen_on ? web_http_listen(listen_on, &fd, &err) : web_http_systemd_fd(&fd, &err)) < 0 ||
	    open_stores(&app, &err) < 0) {
		fprintf(stderr, "deadlined-web: %s\n", err.msg);
		rc = EXIT_RUNTIME;
	} else {
		rc = serve(&app, fd);
	}
	web_pool_close(app.pool);
	conf_free(conf);
	return rc;
}
