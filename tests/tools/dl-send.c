/* dl-send — test driver: send messages through one configured receiver
 * and print what became of each, one line a message:
 *     <index> ok|retry|permanent <retry_after> <detail>
 *
 * usage: dl-send -c CONF RECEIVER [FIELD=VALUE ...] [--next FIELD=VALUE ...]
 * Fields: to, subject, text, html, payload, msg_id, created.  "--next"
 * starts another message of the same batch; unset fields keep defaults.
 * Values may use \n and \r escapes, so tests can try header injection.
 * Exit 0 when every message was delivered, 1 otherwise, 2 on bad usage. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deadlined/conf.h"
#include "deadlined/receiver.h"

#define MAX_MSGS 64

static char *unescape(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	for (; out && *s; s++) {
		if (s[0] == '\\' && (s[1] == 'n' || s[1] == 'r' || s[1] == '\\')) {
			*o++ = s[1] == 'n' ? '\n' : s[1] == 'r' ? '\r' : '\\';
			s++;
		} else {
			*o++ = *s;
		}
	}
	if (out)
		*o = '\0';
	return out;
}

/* The values given, freed at the end (so AddressSanitizer sees no leak). */
static char *values[MAX_MSGS * 8];
static size_t nvalues;

static int set_field(struct message *m, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char *v;

	if (!eq || nvalues == sizeof values / sizeof values[0] || !(v = unescape(eq + 1)))
		return -1;
	values[nvalues++] = v;
	if (!strncmp(arg, "to=", 3)) m->to = v;
	else if (!strncmp(arg, "subject=", 8)) m->subject = v;
	else if (!strncmp(arg, "text=", 5)) m->text = v;
	else if (!strncmp(arg, "html=", 5)) m->html = v;
	else if (!strncmp(arg, "payload=", 8)) m->payload = v;
	else if (!strncmp(arg, "msg_id=", 7)) m->msg_id = v;
	else if (!strncmp(arg, "created=", 8)) m->created = atoll(v);
	else return -1;
	return 0;
}

static void defaults(struct message *m, int i)
{
	static char ids[MAX_MSGS][64];

	snprintf(ids[i], sizeof ids[i], "dl-send-%d-%ld@deadlined.test", i, (long)getpid());
	*m = (struct message){ .id = i + 1, .msg_id = ids[i], .to = "manager@council.example",
		.subject = "Test subject", .text = "Plain text body.\n",
		.html = "<p>HTML body.</p>", .payload = "{\"schema\":\"deadlined.alert/v1\",\"type\":\"test\"}",
		.created = 1767225600 };
}

/* Everything main allocated, on every way out (valgrind and
 * AddressSanitizer see no leak even when a receiver will not open). */
static int done(struct conf *conf, struct receiver *r, int rc)
{
	receiver_close(r);
	conf_free(conf);
	curl_global_cleanup();
	while (nvalues > 0)
		free(values[--nvalues]);
	return rc;
}

int main(int argc, char **argv)
{
	struct message msgs[MAX_MSGS];
	struct delivery_result res[MAX_MSGS];
	struct dl_errors errors = { 0 };
	const struct receiver_conf *rc;
	struct receiver *r = NULL;
	struct dl_error err;
	struct conf *conf;
	size_t n = 1;
	int all_ok = 1;

	if (argc < 4 || strcmp(argv[1], "-c") != 0) {
		fprintf(stderr, "usage: dl-send -c CONF RECEIVER [FIELD=VALUE ...] [--next ...]\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (conf_load(argv[2], &conf, &errors) < 0) {
		for (size_t i = 0; i < errors.n; i++)
			fprintf(stderr, "dl-send: %s\n", errors.msg[i]);
		errors_clear(&errors);
		return done(NULL, NULL, 2);
	}
	if (!(rc = conf_receiver(conf, argv[3]))) {
		fprintf(stderr, "dl-send: no receiver '%s'\n", argv[3]);
		return done(conf, NULL, 2);
	}
	defaults(&msgs[0], 0);
	for (int i = 4; i < argc; i++) {
		if (strcmp(argv[i], "--next") == 0 && n < MAX_MSGS) {
			defaults(&msgs[n], (int)n);
			n++;
		} else if (set_field(&msgs[n - 1], argv[i]) < 0) {
			fprintf(stderr, "dl-send: bad field '%s'\n", argv[i]);
			return done(conf, NULL, 2);
		}
	}
	if (receiver_open(rc, &r, &err) < 0) {
		fprintf(stderr, "dl-send: %s\n", err.msg);
		return done(conf, NULL, 1);
	}
	receiver_send(r, msgs, n, res);
	for (size_t i = 0; i < n; i++) {
		static const char *const st[] = { "ok", "retry", "permanent" };

		printf("%zu %s %ld %s\n", i, st[res[i].status], res[i].retry_after, res[i].detail);
		all_ok &= res[i].status == DELIVERY_OK;
	}
	return done(conf, r, all_ok ? 0 : 1);
}
