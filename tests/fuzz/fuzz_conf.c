/* fuzz_conf.c — conf_load on a file: libconfig's parser, the settings
 * tables of schema.c and every cross-setting check of conf.c.
 *
 * The input is the main file.  A line "--- inc.conf ---" splits it: what
 * follows becomes inc.conf beside it, for the main file to @include; the
 * example rule files can be @included too, as "rules/NAME.conf".  Other
 * @include paths are skipped (return early), so an input can never make
 * libconfig read a device or a file outside the fuzz folder.
 *
 * A load either fails with at least one message or gives a configuration
 * whose rules are well formed; each rule is then run over a small case and
 * its obligations checked like the evaluate target's.
 */
#include "fuzz.h"

#include "deadlined/conf.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SPLIT "\n--- inc.conf ---\n"

static char dir[PATH_MAX], main_path[PATH_MAX + 16], inc_path[PATH_MAX + 16];
static char rules_link[PATH_MAX + 16];

static void remove_dir(void)
{
	unlink(main_path);
	unlink(inc_path);
	unlink(rules_link);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char rules[PATH_MAX];

	(void)argc;
	(void)argv;
	fuzz_init();
	snprintf(dir, sizeof dir, "%s/fuzz_conf.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir) || !realpath(FUZZ_CONF_DIR "/rules", rules))
		fuzz_fail(__FILE__, __LINE__, "cannot set up the fuzz folder");
	snprintf(main_path, sizeof main_path, "%s/main.conf", dir);
	snprintf(inc_path, sizeof inc_path, "%s/inc.conf", dir);
	snprintf(rules_link, sizeof rules_link, "%s/rules", dir);
	if (symlink(rules, rules_link) < 0)
		fuzz_fail(__FILE__, __LINE__, "cannot link the example rules");
	atexit(remove_dir);
	return 0;
}

/* May text (the main file when main) @include path? */
static int allowed_include(const char *path, size_t n, int main)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-",
			    path[i]))
			return 0;
	if (memmem(path, n, "..", 2))
		return 0;
	if (main && n == 8 && memcmp(path, "inc.conf", 8) == 0)
		return 1;
	return n > 6 && memcmp(path, "rules/", 6) == 0;
}

/* Does every @include in text name an allowed file? */
static int safe_includes(const char *text, int main)
{
	for (const char *p = strstr(text, "@include"); p; p = strstr(p + 1, "@include")) {
		const char *q = p + 8, *end;

		q += strspn(q, " \t");
		if (*q != '"')
			continue;
		end = strchr(q + 1, '"');
		if (!end || !allowed_include(q + 1, (size_t)(end - q - 1), main))
			return 0;
	}
	return 1;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	size_t n = strlen(text);

	if (!f)
		return -1;
	if (fwrite(text, 1, n, f) != n) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

struct seen {
	const struct rule *rule;
	const struct rules_case *c;
	struct dl_moment now;
	int seq;
};

static int obligation(void *ctx, const struct obligation *ob)
{
	struct seen *s = ctx;

	fuzz_check_obligation(s->rule, s->c, s->now, ob);
	FUZZ_CHECK(ob->seq > s->seq);
	s->seq = ob->seq;
	return 0;
}

static int finding(void *ctx, const char *case_ref, const char *problem)
{
	(void)ctx;
	FUZZ_CHECK(case_ref && problem && *problem);
	return 0;
}

static struct dl_moment moment(const char *text)
{
	struct dl_moment m = { DATE_NONE, DATE_NO_TIME };
	struct dl_error err;

	date_parse_moment(text, &m, &err);
	return m;
}

/* One case that starts, meets, restarts and cancels the rule's clock. */
static void run_rule(const struct conf *conf, const struct rule *r)
{
	const char *met = r->met.n ? r->met.v[0] : r->start.v[0];
	const char *cancel = r->cancel.n ? r->cancel.v[0] : r->start.v[0];
	struct rules_event ev[] = {
		{ r->start.v[0], moment("2013-04-12") }, { met, moment("2013-05-20") },
		{ met, moment("2014-02-28") }, { r->start.v[r->start.n - 1], moment("2024-03-28T16:00") },
		{ met, moment("2024-04-02") }, { met, moment("2024-12-24T09:30") },
		{ cancel, moment("2025-06-01") }, { r->start.v[0], moment("2026-12-24") },
	};
	struct rules_case c = { "FUZZ-1", DATE_NONE, ev, sizeof ev / sizeof ev[0] };
	struct seen s = { r, &c, moment("2027-01-15T12:00"), 0 };

	date_from_ymd(2019, 2, 28, &c.date_of_birth);
	rules_evaluate(r, conf->cal, &c, s.now, obligation, finding, &s);
	s.seq = 0;
	c.date_of_birth = DATE_NONE;
	s.now = moment("2024-04-01");
	rules_evaluate(r, conf->cal, &c, s.now, obligation, finding, &s);
}

static void check_conf(const struct conf *conf)
{
	const struct rule *r = conf->rules.v;

	FUZZ_CHECK(conf->cal != NULL && conf->timezone != NULL);
	for (size_t i = 0; i < conf->rules.n; i++) {
		fuzz_check_rule(&r[i]);
		FUZZ_CHECK(conf_rule(conf, r[i].id) == &r[i]);
		for (size_t k = 0; k < r[i].start.n; k++)
			FUZZ_CHECK(conf_knows_kind(conf, r[i].start.v[k]));
		run_rule(conf, &r[i]);
	}
}

static void load(void)
{
	struct dl_errors errors = { 0 };
	struct conf *conf = NULL;
	int rc = conf_load(main_path, &conf, &errors);

	FUZZ_CHECK((rc == 0) == (conf != NULL));
	FUZZ_CHECK((rc == 0) == (errors.n == 0));
	for (size_t i = 0; i < errors.n; i++)
		FUZZ_CHECK(errors.msg[i] && errors.msg[i][0]);
	if (conf)
		check_conf(conf);
	conf_free(conf);
	errors_clear(&errors);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strdup(data, size);
	char *inc = strstr(text, SPLIT);

	if (inc) {
		*inc = '\0';
		inc += strlen(SPLIT);
	}
	if (safe_includes(text, 1) && (!inc || safe_includes(inc, 0)) &&
	    write_file(main_path, text) == 0 && write_file(inc_path, inc ? inc : "") == 0)
		load();
	free(text);
	return 0;
}
