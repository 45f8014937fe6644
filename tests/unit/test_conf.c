/* test_conf.c — loading and validating the configuration.
 *
 * Broken configurations are written to a temporary folder and loaded; each
 * must fail, and every expected problem must be reported as
 * "FILE:LINE: PATH: message" naming the right file (the @included one when
 * the problem is there), line and setting path, with the message's key
 * words.  Good configurations check what is loaded: the example pack, the
 * built-in defaults, and what a rule inherits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "deadlined/conf.h"
#include "deadlined/conf_files.h"
#include "deadlined/rules.h"

static char dir[512];

/* Files written, removed by teardown (subfolder last). */
static char written[256][512];
static size_t nwritten;

static int setup(void **state)
{
	(void)state;
	setenv("TZ", "Europe/London", 1);
	tzset();
	if (test_tmpdir(dir, sizeof dir, "deadlined-test-conf") < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char sub[600];

	(void)state;
	for (size_t i = 0; i < nwritten; i++)
		unlink(written[i]);
	snprintf(sub, sizeof sub, "%s/rules", dir);
	rmdir(sub);
	rmdir(dir);
	return 0;
}

/* Write dir/name (name may be "rules/x.conf"); returns the full path. */
static const char *write_file(const char *name, const char *text)
{
	static char path[512];
	char sub[600];
	FILE *f;

	snprintf(sub, sizeof sub, "%s/rules", dir);
	if (mkdir(sub, 0700) < 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", sub, strerror(errno));
	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
	if (nwritten < sizeof written / sizeof written[0]) {
		size_t i;

		for (i = 0; i < nwritten && strcmp(written[i], path) != 0; i++)
			;
		if (i == nwritten)
			snprintf(written[nwritten++], sizeof written[0], "%s", path);
	}
	return path;
}

struct want_err {
	const char *file;       /* relative to dir */
	int line;
	const char *path;       /* the setting path, or "syntax error" */
	const char *words[3];   /* further parts of the message */
};

struct bad {
	const char *what;
	const char *name, *text;          /* the file loaded */
	const char *inc_name, *inc_text;  /* an @included file, or NULL */
	struct want_err err[6];           /* every error expected; ends at file NULL */
};

static void dump_errors(const char *what, const struct dl_errors *e)
{
	print_error("'%s': %zu error(s):\n", what, e->n);
	for (size_t i = 0; i < e->n; i++)
		print_error("  %s\n", e->msg[i]);
}

/* Does msg start "DIR/FILE:LINE: PATH: " and hold every word?  A file
 * @included from the main one is named as the @include line names it
 * (libconfig records it so: "rules/bad.conf"), or by its full path. */
static bool matches(const char *msg, const struct want_err *w)
{
	char prefix[700];

	snprintf(prefix, sizeof prefix, "%s/%s:%d: %s: ", dir, w->file, w->line, w->path);
	if (strncmp(msg, prefix, strlen(prefix)) != 0) {
		if (!strchr(w->file, '/'))
			return false;
		snprintf(prefix, sizeof prefix, "%s:%d: %s: ", w->file, w->line, w->path);
		if (strncmp(msg, prefix, strlen(prefix)) != 0)
			return false;
	}
	for (size_t i = 0; i < 3 && w->words[i]; i++)
		if (!strstr(msg + strlen(prefix), w->words[i]))
			return false;
	return true;
}

static void check_bad(const struct bad *b)
{
	struct dl_errors errors = { 0 };
	struct conf *conf = (struct conf *)&errors;   /* must be reset to NULL */
	const char *path;
	bool used[16] = { false };
	size_t nwant = 0;

	if (b->inc_name)
		write_file(b->inc_name, b->inc_text);
	path = write_file(b->name, b->text);
	if (conf_load(path, &conf, &errors) != -1) {
		conf_free(conf);
		fail_msg("'%s' loaded but should fail", b->what);
	}
	assert_null(conf);
	while (nwant < 6 && b->err[nwant].file)
		nwant++;
	if (errors.n != nwant) {
		dump_errors(b->what, &errors);
		fail_msg("'%s': %zu error(s), want %zu", b->what, errors.n, nwant);
	}
	for (size_t i = 0; i < nwant; i++) {
		size_t j;

		for (j = 0; j < errors.n; j++)
			if (!used[j] && matches(errors.msg[j], &b->err[i]))
				break;
		if (j == errors.n) {
			dump_errors(b->what, &errors);
			fail_msg("'%s': no error %s:%d: %s: ... %s", b->what, b->err[i].file,
				 b->err[i].line, b->err[i].path,
				 b->err[i].words[0] ? b->err[i].words[0] : "");
		}
		used[j] = true;
	}
	errors_clear(&errors);
}

#define CHECK_ALL(cases) \
	for (size_t i_ = 0; i_ < sizeof cases / sizeof cases[0]; i_++) \
		check_bad(&cases[i_])

/* A rule's required settings, for cases about something else. */
#define RULE_HEAD "    title = \"X\";\n    start = [ \"referral\" ];\n"

static void test_syntax_and_names(void **state)
{
	static const struct bad cases[] = {
		{ "syntax error", "syntax.conf",
		  "timezone = \"Europe/London\";\n"
		  "calendar = {\n"
		  "  division = ;\n"
		  "};\n", NULL, NULL,
		  { { "syntax.conf", 3, "syntax error" } } },
		{ "unknown top-level setting", "top.conf",
		  "# a comment\n"
		  "timezon = \"Europe/London\";\n", NULL, NULL,
		  { { "top.conf", 2, "timezon", { "unknown setting 'timezon'",
						  "did you mean 'timezone'" } } } },
		{ "misspelt calendar setting", "typo.conf",
		  "timezone = \"Europe/London\";\n"
		  "calendar = {\n"
		  "  divison = \"england-and-wales\";\n"
		  "};\n", NULL, NULL,
		  { { "typo.conf", 3, "calendar.divison", { "unknown setting 'divison'; "
							    "did you mean 'division'" } } } },
		{ "misspelt source setting", "source.conf",
		  "source = {\n"
		  "  database = \"/tmp/cases.db\";\n"
		  "  busy_timout_ms = 100;\n"
		  "};\n", NULL, NULL,
		  { { "source.conf", 3, "source.busy_timout_ms",
		      { "unknown setting 'busy_timout_ms'", "did you mean 'busy_timeout_ms'" } } } },
		{ "misspelt rule setting", "rule.conf",
		  "rules = {\n"
		  "  x = {\n"
		  RULE_HEAD                                  /* lines 3, 4 */
		  "    due = ( \"1 day\" );\n"
		  "    dew_soon = \"1 day\";\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "rule.conf", 6, "rules.x.dew_soon",
		      { "unknown setting 'dew_soon'", "did you mean 'due_soon'" } } } },
		{ "misspelt setting in a step", "step.conf",
		  "rules = {\n"
		  "  x = {\n"
		  RULE_HEAD
		  "    due = (\n"
		  "      { if_age_undr = 5; then = \"6 months\"; else = \"12 months\"; }\n"
		  "    );\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "step.conf", 6, "rules.x.due[1].if_age_undr",
		      { "unknown setting 'if_age_undr'", "did you mean 'if_age_under'" } } } },
		{ "a name far from any: no suggestion", "far.conf",
		  "calendar = {\n"
		  "  holidays = [ \"2026-01-02\" ];\n"
		  "};\n", NULL, NULL,
		  { { "far.conf", 2, "calendar.holidays",
		      { "unknown setting 'holidays'; allowed here: division, extra_holidays" } } } },
	};

	(void)state;
	CHECK_ALL(cases);
}

static void test_types_and_ranges(void **state)
{
	static const struct bad cases[] = {
		{ "string for an int", "type1.conf",
		  "source = {\n"
		  "  busy_timeout_ms = \"5000\";\n"
		  "};\n", NULL, NULL,
		  { { "type1.conf", 2, "source.busy_timeout_ms",
		      { "expected a whole number", "found a string" } } } },
		{ "unknown source driver", "driver.conf",
		  "source = {\n"
		  "  driver = \"oracle\";\n"
		  "};\n", NULL, NULL,
		  { { "driver.conf", 2, "source.driver",
		      { "unknown backend 'oracle'", "expected sqlite, odbc" } } } },
		{ "unknown state driver", "sdriver.conf",
		  "state = {\n"
		  "  driver = \"postgres\";\n"
		  "};\n", NULL, NULL,
		  { { "sdriver.conf", 2, "state.driver",
		      { "unknown backend 'postgres'", "expected sqlite" } } } },
		{ "int for a string", "type2.conf",
		  "timezone = 5;\n", NULL, NULL,
		  { { "type2.conf", 1, "timezone", { "expected a string", "found a number" } } } },
		{ "group for an array", "type3.conf",
		  "rules = {\n"
		  "  x = {\n"
		  "    title = \"X\";\n"
		  "    start = { kind = \"referral\"; };\n"
		  "    due = ( \"1 day\" );\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "type3.conf", 4, "rules.x.start",
		      { "expected an array of strings", "found a group" } } } },
		{ "string for a bool", "type4.conf",
		  "calendar = {\n"
		  "  count_start_day = \"yes\";\n"
		  "};\n", NULL, NULL,
		  { { "type4.conf", 2, "calendar.count_start_day",
		      { "'yes' is not a choice", "expected true or false", "\"cin-census\"" } } } },
		{ "a rule that is not a group", "type5.conf",
		  "rules = {\n"
		  "  x = \"15 working days\";\n"
		  "};\n", NULL, NULL,
		  { { "type5.conf", 2, "rules.x", { "expected a group", "found a string" } } } },
		{ "too large", "range1.conf",
		  "source = {\n"
		  "  busy_timeout_ms = 600001;\n"
		  "};\n", NULL, NULL,
		  { { "range1.conf", 2, "source.busy_timeout_ms",
		      { "600001 is out of range", "expected 0 to 600000" } } } },
		{ "SQL in a column name", "column1.conf",
		  "source = {\n"
		  "  updated_column = \"updated\\\" > 0; --\";\n"
		  "};\n", NULL, NULL,
		  { { "column1.conf", 2, "source.updated_column",
		      { "expected the name of a column", "letters, digits and _" } } } },
		{ "negative", "range2.conf",
		  "source = { busy_timeout_ms = -1; };\n", NULL, NULL,
		  { { "range2.conf", 1, "source.busy_timeout_ms", { "-1 is out of range" } } } },
		{ "a year out of range", "range3.conf",
		  "calendar = {\n"
		  "  confirmed_years = [ 2028, 1850 ];\n"
		  "};\n", NULL, NULL,
		  { { "range3.conf", 2, "calendar.confirmed_years",
		      { "entry 2", "expected a year from 1900 to 2199" } } } },
		{ "an empty due list", "empty.conf",
		  "rules = {\n"
		  "  x = {\n"
		  RULE_HEAD
		  "    due = ( );\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "empty.conf", 5, "rules.x.due", { "expected a list of 1 to 32 steps",
							"found an empty list" } } } },
		{ "an empty start list", "empty2.conf",
		  "rules = {\n"
		  "  x = {\n"
		  "    title = \"X\";\n"
		  "    start = [ ];\n"
		  "    due = ( \"1 day\" );\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "empty2.conf", 4, "rules.x.start", { "expected 1 to 16 entries, found 0" } } } },
	};

	(void)state;
	CHECK_ALL(cases);
}

static void test_required(void **state)
{
	static const struct bad cases[] = {
		/* A missing setting is reported at the group that lacks it. */
		{ "rule without title", "req1.conf",
		  "rules = {\n"
		  "  x = {\n"
		  "    start = [ \"referral\" ];\n"
		  "    due = ( \"1 day\" );\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "req1.conf", 2, "rules.x.title", { "required setting missing" } } } },
		{ "rule without start", "req2.conf",
		  "rules = {\n"
		  "  a = {\n"
		  RULE_HEAD
		  "    due = ( \"1 day\" );\n"
		  "  };\n"
		  "  x = {\n"
		  "    title = \"X\";\n"
		  "    due = ( \"1 day\" );\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "req2.conf", 7, "rules.x.start", { "required setting missing" } } } },
		{ "rule without due", "req3.conf",
		  "rules = {\n"
		  "  x = {\n"
		  RULE_HEAD
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "req3.conf", 2, "rules.x.due", { "required setting missing" } } } },
		{ "escalation stage without after", "req4.conf",
		  "rules = {\n"
		  "  x = {\n"
		  RULE_HEAD
		  "    due = ( \"1 day\" );\n"
		  "    escalation = (\n"
		  "      { after = \"5 working days\"; notify = [ \"team_manager\" ]; },\n"
		  "      { notify = [ \"service_manager\" ]; }\n"
		  "    );\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "req4.conf", 8, "rules.x.escalation[2].after",
		      { "required setting missing" } } } },
		{ "extra holiday without a name", "req5.conf",
		  "calendar = {\n"
		  "  extra_holidays = (\n"
		  "    { date = \"2028-05-08\"; }\n"
		  "  );\n"
		  "};\n", NULL, NULL,
		  { { "req5.conf", 3, "calendar.extra_holidays[1].name",
		      { "required setting missing" } } } },
	};

	(void)state;
	CHECK_ALL(cases);
}

static void test_durations_and_dates(void **state)
{
	static const struct bad cases[] = {
		{ "10 workdays", "dur1.conf",
		  "rules = {\n"
		  "  x = {\n"
		  RULE_HEAD
		  "    due = ( \"10 workdays\" );\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "dur1.conf", 5, "rules.x.due[1]", { "unknown unit 'workdays'",
						      "working days, days, weeks" } } } },
		{ "3 fortnights", "dur2.conf",
		  "rules = {\n"
		  "  x = {\n"
		  RULE_HEAD
		  "    due = ( \"1 week\",\n"
		  "            \"3 fortnights\" );\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "dur2.conf", 6, "rules.x.due[2]", { "unknown unit 'fortnights'" } } } },
		{ "-1 days", "dur3.conf",
		  "rules = {\n"
		  "  x = {\n"
		  RULE_HEAD
		  "    due = ( \"1 day\" );\n"
		  "    due_soon = \"-1 days\";\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "dur3.conf", 6, "rules.x.due_soon", { "'-1 days' is not a duration" } } } },
		{ "999 months", "dur4.conf",
		  "defaults = {\n"
		  "  due_soon = \"999 months\";\n"
		  "};\n", NULL, NULL,
		  { { "dur4.conf", 2, "defaults.due_soon", { "too long", "at most 120 months" } } } },
		{ "a duration that is a number", "dur5.conf",
		  "rules = {\n"
		  "  x = {\n"
		  RULE_HEAD
		  "    due = ( 10 );\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "dur5.conf", 5, "rules.x.due[1]", { "expected a duration", "found a number" } } } },
		{ "a bad duration inside a step choice", "dur6.conf",
		  "rules = {\n"
		  "  x = {\n"
		  RULE_HEAD
		  "    due = (\n"
		  "      { if_within = \"1 yr\"; then = \"6 weeks\"; else = \"3 months\"; }\n"
		  "    );\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "dur6.conf", 6, "rules.x.due[1].if_within", { "unknown unit 'yr'" } } } },
		{ "2013-02-30", "date1.conf",
		  "rules = {\n"
		  "  x = {\n"
		  RULE_HEAD
		  "    due = ( \"10 working days\" );\n"
		  "    effective_until = \"2013-02-30\";\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "date1.conf", 6, "rules.x.effective_until",
		      { "'2013-02-30' is not a real date" } } } },
		{ "a date in the wrong format", "date2.conf",
		  "rules = {\n"
		  "  x = {\n"
		  RULE_HEAD
		  "    due = ( \"10 working days\" );\n"
		  "    versions = (\n"
		  "      { effective_from = \"15/04/2013\"; due = ( \"45 working days\" ); }\n"
		  "    );\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "date2.conf", 7, "rules.x.versions[1].effective_from",
		      { "not a date", "expected YYYY-MM-DD" } } } },
	};

	(void)state;
	CHECK_ALL(cases);
}

static void test_roles(void **state)
{
	static const struct bad cases[] = {
		{ "unknown role in a rule's overdue list", "role1.conf",
		  "rules = {\n"
		  "  x = {\n"
		  RULE_HEAD
		  "    due = ( \"1 day\" );\n"
		  "    notify_overdue = [ \"worker\",\n"
		  "                       \"boss\" ];\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "role1.conf", 6, "rules.x.notify_overdue",
		      { "unknown role or receiver 'boss'", "expected worker, team_manager, service_manager or a name from receivers" } } } },
		{ "unknown role in a rule's due-soon list", "role2.conf",
		  "rules = {\n"
		  "  x = {\n"
		  RULE_HEAD
		  "    due = ( \"1 day\" );\n"
		  "    notify_due_soon = [ \"Worker\" ];\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "role2.conf", 6, "rules.x.notify_due_soon", { "unknown role or receiver 'Worker'" } } } },
		{ "unknown role in an escalation stage", "role3.conf",
		  "rules = {\n"
		  "  x = {\n"
		  RULE_HEAD
		  "    due = ( \"1 day\" );\n"
		  "    escalation = (\n"
		  "      { after = \"1 year\"; notify = [ \"service_manager\" ]; },\n"
		  "      { after = \"2 years\"; notify = [ \"director\" ]; }\n"
		  "    );\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "role3.conf", 8, "rules.x.escalation[2].notify", { "unknown role or receiver 'director'" } } } },
		{ "unknown role in the defaults", "role4.conf",
		  "defaults = {\n"
		  "  notify_due_soon = [ \"worker\" ];\n"
		  "  notify_overdue = [ \"worker\", \"teammanager\" ];\n"
		  "};\n", NULL, NULL,
		  { { "role4.conf", 3, "defaults.notify_overdue", { "unknown role or receiver 'teammanager'" } } } },
		{ "unknown role in the default escalation", "role5.conf",
		  "defaults = {\n"
		  "  escalation = (\n"
		  "    { after = \"5 working days\"; notify = [ \"head_of_service\" ]; }\n"
		  "  );\n"
		  "};\n", NULL, NULL,
		  { { "role5.conf", 3, "defaults.escalation[1].notify",
		      { "unknown role or receiver 'head_of_service'" } } } },
	};

	(void)state;
	CHECK_ALL(cases);
}

static void test_rule_logic(void **state)
{
	static const struct bad cases[] = {
		/* Both editions claim 2013-04-15. */
		{ "overlapping versions", "over1.conf",
		  "rules = {\n"
		  "  x = {\n"
		  RULE_HEAD
		  "    due = ( \"10 working days\" );\n"
		  "    effective_until = \"2013-04-15\";\n"
		  "    versions = (\n"
		  "      { effective_from = \"2013-04-15\"; due = ( \"45 working days\" ); }\n"
		  "    );\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "over1.conf", 2, "rules.x", { "overlapping rule versions",
						    "(any)..2013-04-15 (line 2)",
						    "2013-04-15..(any) (line 8)" } } } },
		/* A version and a rule with no dates at all overlap everywhere. */
		{ "open-ended versions", "over2.conf",
		  "rules = {\n"
		  "  x = {\n"
		  RULE_HEAD
		  "    due = ( \"10 working days\" );\n"
		  "    versions = (\n"
		  "      { effective_from = \"2013-04-15\"; due = ( \"45 working days\" ); }\n"
		  "    );\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "over2.conf", 2, "rules.x", { "overlapping rule versions", "(line 7)" } } } },
		{ "effective_from after effective_until", "from.conf",
		  "rules = {\n"
		  "  x = {\n"
		  RULE_HEAD
		  "    due = ( \"10 working days\" );\n"
		  "    effective_from = \"2014-01-01\";\n"
		  "    effective_until = \"2013-12-31\";\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "from.conf", 2, "rules.x", { "effective_from is after effective_until",
						   "2014-01-01..2013-12-31" } } } },
		/* A version's range is reported with the version's own line. */
		{ "a version whose range is reversed", "from2.conf",
		  "rules = {\n"
		  "  x = {\n"
		  RULE_HEAD
		  "    due = ( \"10 working days\" );\n"
		  "    effective_from = \"2020-01-01\";\n"
		  "    versions = (\n"
		  "      { effective_from = \"2019-01-01\";\n"
		  "        effective_until = \"2018-12-31\"; due = ( \"5 working days\" ); }\n"
		  "    );\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "from2.conf", 2, "rules.x", { "version at line 8",
						    "effective_from is after effective_until",
						    "2019-01-01..2018-12-31" } } } },
		{ "a step with both tests", "step1.conf",
		  "rules = {\n"
		  "  x = {\n"
		  RULE_HEAD
		  "    due = ( \"1 week\",\n"
		  "      { if_age_under = 5; if_within = \"1 year\";\n"
		  "        then = \"6 months\"; else = \"12 months\"; }\n"
		  "    );\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "step1.conf", 6, "rules.x.due[2]",
		      { "exactly one of if_age_under or if_within" } } } },
		{ "a step with neither test", "step2.conf",
		  "rules = {\n"
		  "  x = {\n"
		  RULE_HEAD
		  "    due = (\n"
		  "      { then = \"6 months\"; else = \"12 months\"; }\n"
		  "    );\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "step2.conf", 6, "rules.x.due[1]",
		      { "exactly one of if_age_under or if_within" } } } },
		{ "a step without else", "step3.conf",
		  "rules = {\n"
		  "  x = {\n"
		  RULE_HEAD
		  "    due = (\n"
		  "      { if_age_under = 5; then = \"6 months\"; }\n"
		  "    );\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "step3.conf", 6, "rules.x.due[1].else", { "required setting missing" } } } },
		{ "a repeating rule with no met", "repeat.conf",
		  "rules = {\n"
		  "  x = {\n"
		  RULE_HEAD
		  "    due = ( \"6 months\" );\n"
		  "    repeat = true;\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "repeat.conf", 6, "rules.x.repeat", { "a repeating rule needs met events" } } } },
		{ "an event kind with capitals", "kind1.conf",
		  "rules = {\n"
		  "  x = {\n"
		  "    title = \"X\";\n"
		  "    start = [ \"CLA_Started\" ];\n"
		  "    due = ( \"1 day\" );\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "kind1.conf", 4, "rules.x.start",
		      { "'CLA_Started' is not an event kind", "lower-case word" } } } },
		{ "an event kind with a space", "kind2.conf",
		  "rules = {\n"
		  "  x = {\n"
		  RULE_HEAD
		  "    met = [ \"cla review\" ];\n"
		  "    due = ( \"1 day\" );\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "kind2.conf", 5, "rules.x.met", { "'cla review' is not an event kind" } } } },
		{ "a bad kind in event_kinds", "kind3.conf",
		  "event_kinds = [ \"family group conference\" ];\n", NULL, NULL,
		  { { "kind3.conf", 1, "event_kinds",
		      { "'family group conference' is not an event kind" } } } },
		{ "the same kind starts and meets", "kind4.conf",
		  "rules = {\n"
		  "  x = {\n"
		  "    title = \"X\";\n"
		  "    start = [ \"cla_review\" ];\n"
		  "    met = [ \"cla_review\" ];\n"
		  "    due = ( \"6 months\" );\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "kind4.conf", 4, "rules.x.start", { "'cla_review' both starts and ends" } } } },
		{ "the same kind starts and cancels", "kind5.conf",
		  "rules = {\n"
		  "  x = {\n"
		  RULE_HEAD
		  "    cancel = [ \"case_closed\", \"referral\" ];\n"
		  "    due = ( \"6 months\" );\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "kind5.conf", 4, "rules.x.start", { "'referral' both starts and ends" } } } },
		{ "the same kind meets and cancels", "kind6.conf",
		  "rules = {\n"
		  "  x = {\n"
		  "    title = \"X\";\n"
		  "    start = [ \"referral\" ];\n"
		  "    met = [ \"assessment_completed\", \"case_closed\" ];\n"
		  "    cancel = [ \"case_closed\" ];\n"
		  "    due = ( \"6 months\" );\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "kind6.conf", 5, "rules.x.met", { "'case_closed' both meets and cancels" } } } },
	};

	(void)state;
	CHECK_ALL(cases);
}

static void test_calendar_and_zone(void **state)
{
	static const struct bad cases[] = {
		{ "unknown division", "div.conf",
		  "calendar = {\n"
		  "  division = \"scotland\";\n"
		  "};\n", NULL, NULL,
		  { { "div.conf", 2, "calendar.division", { "unknown division 'scotland'",
							    "expected england-and-wales" } } } },
		{ "unknown time zone", "tz1.conf",
		  "timezone = \"Europe/Londn\";\n", NULL, NULL,
		  { { "tz1.conf", 1, "timezone", { "unknown time zone 'Europe/Londn'",
						   "expected e.g. \"Europe/London\"" } } } },
		/* A folder of zones is not a zone: TZ=Europe would silently be UTC. */
		{ "a zone folder", "tz2.conf",
		  "# comment\n"
		  "timezone = \"Europe\";\n", NULL, NULL,
		  { { "tz2.conf", 2, "timezone", { "unknown time zone 'Europe'" } } } },
		{ "a path for a zone", "tz3.conf",
		  "timezone = \"/etc/localtime\";\n", NULL, NULL,
		  { { "tz3.conf", 1, "timezone", { "is not a time zone name" } } } },
		{ "closure range reversed", "closure1.conf",
		  "calendar = {\n"
		  "  closure_days = [ \"2026-12-24\",\n"
		  "                   \"2026-12-31..2026-12-29\" ];\n"
		  "};\n", NULL, NULL,
		  /* Reported at the entry's own line. */
		  { { "closure1.conf", 3, "calendar.closure_days",
		      { "entry 2 '2026-12-31..2026-12-29'", "YYYY-MM-DD..YYYY-MM-DD" } } } },
		{ "closure range over a year", "closure2.conf",
		  "calendar = {\n"
		  "  closure_days = [ \"2026-01-01..2027-12-31\" ];\n"
		  "};\n", NULL, NULL,
		  { { "closure2.conf", 2, "calendar.closure_days",
		      { "entry 1", "of at most a year" } } } },
		{ "closure day not a date", "closure3.conf",
		  "calendar = {\n"
		  "  closure_days = [ \"2026-02-30\" ];\n"
		  "};\n", NULL, NULL,
		  { { "closure3.conf", 2, "calendar.closure_days", { "entry 1 '2026-02-30'" } } } },
		{ "extra holiday with a bad date", "extra.conf",
		  "calendar = {\n"
		  "  extra_holidays = (\n"
		  "    { date = \"2028-13-01\";\n"
		  "      name = \"Example\"; }\n"
		  "  );\n"
		  "};\n", NULL, NULL,
		  { { "extra.conf", 3, "calendar.extra_holidays[1].date",
		      { "'2028-13-01' is not a real date" } } } },
	};

	(void)state;
	CHECK_ALL(cases);
}

static void test_includes(void **state)
{
	static const struct bad cases[] = {
		{ "@include of a missing file", "inc1.conf",
		  "timezone = \"Europe/London\";\n"
		  "rules = {\n"
		  "  @include \"rules/nope.conf\"\n"
		  "};\n", NULL, NULL,
		  { { "inc1.conf", 3, "@include", { "rules/nope.conf", "No such file" } } } },
		/* The problems are in the included file, at its own lines. */
		{ "errors inside an included rule file", "inc2.conf",
		  "timezone = \"Europe/London\";\n"
		  "rules = {\n"
		  "  @include \"rules/bad.conf\"\n"
		  "};\n",
		  "rules/bad.conf",
		  "# bad.conf\n"
		  "x = {\n"
		  "  titel = \"X\";\n"
		  "  start = [ \"referral\" ];\n"
		  "  due = ( \"10 working dayz\" );\n"
		  "};\n",
		  { { "rules/bad.conf", 3, "rules.x.titel", { "unknown setting 'titel'",
							     "did you mean 'title'" } },
		    { "rules/bad.conf", 2, "rules.x.title", { "required setting missing" } },
		    { "rules/bad.conf", 5, "rules.x.due[1]", { "unknown unit 'working dayz'" } } } },
		{ "a role error inside an included rule file", "inc3.conf",
		  "rules = {\n"
		  "  @include \"rules/role.conf\"\n"
		  "};\n",
		  "rules/role.conf",
		  "x = {\n"
		  "  title = \"X\";\n"
		  "  start = [ \"referral\" ];\n"
		  "  due = ( \"1 day\" );\n"
		  "  notify_overdue = [ \"boss\" ];\n"
		  "};\n",
		  { { "rules/role.conf", 5, "rules.x.notify_overdue", { "unknown role or receiver 'boss'" } } } },
		{ "a syntax error inside an included file", "inc4.conf",
		  "rules = {\n"
		  "  @include \"rules/syntax.conf\"\n"
		  "};\n",
		  "rules/syntax.conf",
		  "x = {\n"
		  "  title = \"X\"\n"
		  "  start = [ \"referral\" ;\n"
		  "};\n",
		  { { "rules/syntax.conf", 3, "syntax error" } } },
	};

	(void)state;
	CHECK_ALL(cases);
}

/* Every problem in a file is reported, not just the first. */
static void test_many_errors(void **state)
{
	static const struct bad cases[] = {
		{ "five problems", "many.conf",
		  "timezon = \"Europe/London\";\n"
		  "source = { busy_timeout_ms = -1; };\n"
		  "calendar = {\n"
		  "  count_start_day = \"yes\";\n"
		  "};\n"
		  "rules = {\n"
		  "  x = { title = \"X\"; start = [ \"referral\" ]; due = ( \"3 fortnights\" ); };\n"
		  "  y = {\n"
		  "    start = [ \"referral\" ];\n"
		  "    due = ( \"1 day\" );\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "many.conf", 1, "timezon", { "unknown setting" } },
		    { "many.conf", 2, "source.busy_timeout_ms", { "out of range" } },
		    { "many.conf", 4, "calendar.count_start_day", { "expected true or false" } },
		    { "many.conf", 7, "rules.x.due[1]", { "unknown unit 'fortnights'" } },
		    { "many.conf", 8, "rules.y.title", { "required setting missing" } } } },
		{ "three role and kind problems", "many2.conf",
		  "rules = {\n"
		  "  x = {\n"
		  "    title = \"X\";\n"
		  "    start = [ \"Referral\" ];\n"
		  "    due = ( \"1 day\" );\n"
		  "    notify_overdue = [ \"boss\" ];\n"
		  "  };\n"
		  "  y = {\n"
		  RULE_HEAD
		  "    due = ( \"1 day\" );\n"
		  "    escalation = ( { after = \"1 day\"; notify = [ \"chief\" ]; } );\n"
		  "  };\n"
		  "};\n", NULL, NULL,
		  { { "many2.conf", 4, "rules.x.start", { "'Referral' is not an event kind" } },
		    { "many2.conf", 6, "rules.x.notify_overdue", { "unknown role or receiver 'boss'" } },
		    { "many2.conf", 12, "rules.y.escalation[1].notify", { "unknown role or receiver 'chief'" } } } },
	};

	(void)state;
	CHECK_ALL(cases);
}

static void test_missing_file(void **state)
{
	struct dl_errors errors = { 0 };
	struct conf *conf = NULL;
	char path[600];

	(void)state;
	snprintf(path, sizeof path, "%s/absent.conf", dir);
	assert_int_equal(conf_load(path, &conf, &errors), -1);
	assert_null(conf);
	assert_int_equal(errors.n, 1);
	assert_non_null(strstr(errors.msg[0], "absent.conf: cannot open"));
	errors_clear(&errors);
}

static struct conf *load_good(const char *name, const char *text)
{
	struct dl_errors errors = { 0 };
	struct conf *conf = NULL;
	const char *path = text ? write_file(name, text) : name;

	if (conf_load(path, &conf, &errors) < 0) {
		dump_errors(name, &errors);
		fail_msg("%s did not load", name);
	}
	assert_int_equal(errors.n, 0);
	errors_clear(&errors);
	return conf;
}

static int collect(void *ctx, const struct obligation *ob)
{
	struct { struct obligation ob; int n; } *sink = ctx;

	if (sink->n++ == 0)
		sink->ob = *ob;
	return 0;
}

static bool strings_are(const struct schema_strings *s, const char *a, const char *b)
{
	return s->n == (b ? 2u : a ? 1u : 0u) && (!a || strcmp(s->v[0], a) == 0) &&
	       (!b || strcmp(s->v[1], b) == 0);
}

/* The line of file that starts with text, or 0. */
static int line_of(const char *file, const char *text)
{
	char buf[512];
	int n = 0, found = 0;
	FILE *f = fopen(file, "r");

	if (!f)
		fail_msg("cannot read %s", file);
	while (!found && fgets(buf, sizeof buf, f)) {
		n++;
		if (strncmp(buf, text, strlen(text)) == 0)
			found = n;
	}
	fclose(f);
	return found;
}

static void test_example_loads(void **state)
{
	struct conf *conf = load_good("conf/deadlined.conf", NULL);
	const struct rule *r;
	const struct rule_stage *st;
	char buf[DURATION_BUF];

	(void)state;
	assert_int_equal(conf->rules.n, 19);
	assert_string_equal(conf->path, "conf/deadlined.conf");
	assert_string_equal(conf->timezone, "Europe/London");
	assert_string_equal(conf->source.database, "/var/lib/deadlined/cases.db");
	assert_int_equal(conf->source.busy_timeout_ms, 5000);
	assert_string_equal(conf->calendar.division, "england-and-wales");
	assert_int_equal(conf->calendar.closure_days.n, 3);
	assert_false(calendar_is_working_day(conf->cal, conf->calendar.closure_days.v[0]));
	assert_int_equal(conf->calendar.count_start_day, 0);

	/* Rules keep the file and line they were written at. */
	r = conf_rule(conf, "icpc");
	assert_non_null(r);
	/* Named as the @include line names it, or by its full path. */
	assert_non_null(strstr(r->file, "rules/child-protection.conf"));
	assert_int_equal(r->line, line_of("conf/rules/child-protection.conf", "icpc = {"));
	assert_string_equal(r->title, "Initial child protection conference");
	assert_true(strings_are(&r->start, "strategy_discussion", "s47_started"));
	assert_int_equal(r->cancel.n, 3);
	assert_int_equal(r->repeat, 0);

	/* Versions sorted by effective_from: the 4-week edition first. */
	r = conf_rule(conf, "cla-review");
	assert_int_equal(r->repeat, 1);
	assert_int_equal(r->nall, 2);
	assert_int_equal(r->all[0].effective_from, DATE_NONE);
	assert_string_equal(duration_format(&r->all[0].due.v[0].then, buf, sizeof buf), "4 weeks");
	assert_string_equal(duration_format(&r->all[1].due.v[0].then, buf, sizeof buf),
			    "20 working days");
	assert_int_equal(r->all[1].due.n, 3);

	/* The step choices. */
	r = conf_rule(conf, "review-health-assessment");
	assert_int_equal(r->due.n, 1);
	assert_int_equal(r->due.v[0].kind, STEP_AGE);
	assert_int_equal(r->due.v[0].age_under, 5);
	r = conf_rule(conf, "cla-visit");
	assert_int_equal(r->due.n, 2);
	assert_int_equal(r->due.v[0].kind, STEP_FIXED);
	assert_int_equal(r->due.v[1].kind, STEP_WITHIN);
	assert_string_equal(duration_format(&r->due.v[1].within, buf, sizeof buf), "1 year");

	/* Overrides and inheritance from `defaults`. */
	r = conf_rule(conf, "referral-decision");
	assert_string_equal(duration_format(&r->due_soon.d, buf, sizeof buf), "0 days");
	r = conf_rule(conf, "return-home-interview");
	assert_string_equal(duration_format(&r->due_soon.d, buf, sizeof buf), "24 hours");
	r = conf_rule(conf, "care-plan");
	assert_string_equal(duration_format(&r->due_soon.d, buf, sizeof buf), "2 working days");
	assert_true(strings_are(&r->notify_due_soon, "worker", NULL));
	assert_true(strings_are(&r->notify_overdue, "worker", "team_manager"));
	assert_int_equal(r->escalation.n, 1);
	st = r->escalation.v;
	assert_string_equal(duration_format(&st->after.d, buf, sizeof buf), "5 working days");
	r = conf_rule(conf, "cp-plan-duration");
	assert_int_equal(r->escalation.n, 1);
	st = r->escalation.v;
	assert_string_equal(duration_format(&st->after.d, buf, sizeof buf), "1 year");
	assert_true(strings_are(&st->notify, "service_manager", NULL));
	assert_int_equal(r->met.n, 0);
	assert_int_equal(conf_rule(conf, "care-proceedings")->count_start_day, 1);
	assert_int_equal(conf_rule(conf, "ehc-plan")->count_start_day, 0);

	assert_true(conf_knows_kind(conf, "cla_started"));
	assert_false(conf_knows_kind(conf, "family_group_conference"));
	conf_free(conf);
}

static void test_builtin_defaults(void **state)
{
	struct dl_errors errors = { 0 };
	struct conf *conf = NULL;
	const struct rule_stage *st;
	char buf[DURATION_BUF];

	(void)state;
	assert_int_equal(conf_load(NULL, &conf, &errors), 0);
	assert_int_equal(errors.n, 0);
	assert_null(conf->path);
	assert_int_equal(conf->rules.n, 0);
	assert_string_equal(conf->timezone, "Europe/London");
	assert_string_equal(conf->source.database, "/var/lib/deadlined/cases.db");
	assert_int_equal(conf->source.busy_timeout_ms, 5000);
	assert_string_equal(conf->state.database, "/var/lib/deadlined/state.db");
	assert_string_equal(conf->calendar.division, "england-and-wales");
	assert_int_equal(conf->calendar.count_start_day, 0);
	assert_int_equal(conf->calendar.closure_days.n, 0);
	assert_string_equal(duration_format(&conf->defaults.due_soon.d, buf, sizeof buf),
			    "2 working days");
	assert_true(strings_are(&conf->defaults.notify_due_soon, "worker", NULL));
	assert_true(strings_are(&conf->defaults.notify_overdue, "worker", "team_manager"));
	assert_int_equal(conf->defaults.escalation.n, 1);
	st = conf->defaults.escalation.v;
	assert_string_equal(duration_format(&st->after.d, buf, sizeof buf), "5 working days");
	assert_true(strings_are(&st->notify, "service_manager", NULL));
	assert_non_null(conf->cal);
	assert_true(conf_knows_kind(conf, "return_home_interview"));
	assert_null(conf_rule(conf, "icpc"));
	conf_free(conf);
	conf_free(NULL);
}

/* Evaluate one start event of kind on day start for rule, as of the end of
 * day now; the rule must yield exactly one obligation. */
static struct obligation eval_one(const struct conf *conf, const char *rule,
				  const char *kind, const char *start, const char *now)
{
	struct rules_event ev = { kind, { 0, DATE_NO_TIME } };
	struct rules_case c = { "C1", DATE_NONE, &ev, 1 };
	struct dl_moment at = { 0, 86399 };
	struct dl_error err;
	struct { struct obligation ob; int n; } sink = { .n = 0 };

	assert_int_equal(date_parse(start, &ev.when.day, &err), 0);
	assert_int_equal(date_parse(now, &at.day, &err), 0);
	assert_non_null(conf_rule(conf, rule));
	rules_evaluate(conf_rule(conf, rule), conf->cal, &c, at, collect, NULL, &sink);
	if (sink.n != 1)
		fail_msg("rule %s from %s: %d obligations, want 1", rule, start, sink.n);
	return sink.ob;
}

static bool due_is(const struct obligation *ob, const char *want)
{
	char buf[DATE_BUF];

	if (strcmp(date_format(ob->due.day, buf), want) == 0)
		return true;
	print_error("due %s, want %s\n", buf, want);
	return false;
}

/* A rule that does not say inherits from `defaults`; one that does keeps
 * its own, and an empty list means nobody. */
static void test_inherit_defaults(void **state)
{
	struct conf *conf = load_good("inherit.conf",
		"defaults = {\n"
		"  due_soon = \"3 working days\";\n"
		"  notify_due_soon = [ \"team_manager\" ];\n"
		"  notify_overdue = [ \"service_manager\" ];\n"
		"  escalation = (\n"
		"    { after = \"10 working days\"; notify = [ \"service_manager\" ]; },\n"
		"    { after = \"20 working days\"; notify = [ \"service_manager\" ]; }\n"
		"  );\n"
		"};\n"
		"event_kinds = [ \"family_group_conference\" ];\n"
		"rules = {\n"
		"  a = { title = \"A\"; start = [ \"referral\" ]; due = ( \"10 days\" ); };\n"
		"  b = {\n"
		"    title = \"B\";\n"
		"    start = [ \"team_started\" ];\n"
		"    due = ( \"10 days\" );\n"
		"    due_soon = \"1 day\";\n"
		"    notify_due_soon = [ ];\n"
		"    escalation = ( );\n"
		"  };\n"
		"};\n");
	const struct rule *a = conf_rule(conf, "a"), *b = conf_rule(conf, "b");
	const struct rule_stage *st;
	struct obligation ob;
	char buf[DURATION_BUF], path[600];

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	snprintf(path, sizeof path, "%s/inherit.conf", dir);
	assert_string_equal(a->file, path);
	assert_int_equal(a->line, 12);
	assert_int_equal(b->line, 13);
	assert_string_equal(duration_format(&a->due_soon.d, buf, sizeof buf), "3 working days");
	assert_true(strings_are(&a->notify_due_soon, "team_manager", NULL));
	assert_true(strings_are(&a->notify_overdue, "service_manager", NULL));
	assert_int_equal(a->escalation.n, 2);
	st = a->escalation.v;
	assert_string_equal(duration_format(&st[1].after.d, buf, sizeof buf), "20 working days");
	assert_int_equal(a->repeat, 0);
	assert_int_equal(a->count_start_day, 0);

	assert_string_equal(duration_format(&b->due_soon.d, buf, sizeof buf), "1 day");
	assert_int_equal(b->notify_due_soon.n, 0);
	assert_true(strings_are(&b->notify_overdue, "service_manager", NULL));
	assert_int_equal(b->escalation.n, 0);

	/* Kinds: built in, named by a rule, or listed in event_kinds. */
	assert_true(conf_knows_kind(conf, "referral"));
	assert_true(conf_knows_kind(conf, "team_started"));
	assert_true(conf_knows_kind(conf, "family_group_conference"));
	assert_false(conf_knows_kind(conf, "family_group"));

	/* The inherited settings at work.  Wed 5 Jun 2024 + 10 days = Sat 15 Jun.
	 * 3 WD before: Fri 14 (1), Thu 13 (2), Wed 12 (3); the built-in 2 WD
	 * would start on the 13th. */
	ob = eval_one(conf, "a", "referral", "2024-06-05", "2024-06-11");
	assert_true(due_is(&ob, "2024-06-15"));
	assert_int_equal(ob.state, OB_OPEN);
	ob = eval_one(conf, "a", "referral", "2024-06-05", "2024-06-12");
	assert_int_equal(ob.state, OB_DUE_SOON);
	/* Stages at due + 10 WD: Jun 17-21 (5), 24-28 (10) = Fri 28 Jun; and at
	 * due + 20 WD: Jul 1-5 (15), 8-12 (20) = Fri 12 Jul; each is passed the
	 * day after. */
	ob = eval_one(conf, "a", "referral", "2024-06-05", "2024-06-28");
	assert_int_equal(ob.state, OB_OVERDUE);
	assert_int_equal(ob.stage, 0);
	assert_int_equal(ob.days_overdue, 10);
	ob = eval_one(conf, "a", "referral", "2024-06-05", "2024-07-12");
	assert_int_equal(ob.stage, 1);
	assert_int_equal(ob.days_overdue, 20);
	ob = eval_one(conf, "a", "referral", "2024-06-05", "2024-07-13");
	assert_int_equal(ob.stage, 2);
	assert_int_equal(ob.days_overdue, 20);
	/* b: 1 day before Sat 15 is Fri 14; and no escalation at all. */
	ob = eval_one(conf, "b", "team_started", "2024-06-05", "2024-06-13");
	assert_int_equal(ob.state, OB_OPEN);
	ob = eval_one(conf, "b", "team_started", "2024-06-05", "2024-06-14");
	assert_int_equal(ob.state, OB_DUE_SOON);
	ob = eval_one(conf, "b", "team_started", "2024-06-05", "2024-07-13");
	assert_int_equal(ob.state, OB_OVERDUE);
	assert_int_equal(ob.stage, 0);
	conf_free(conf);
}

/* count_start_day: a rule that does not say takes calendar.count_start_day;
 * a version that does not say takes its rule's. */
static void test_count_start_day_inherits(void **state)
{
	struct conf *conf = load_good("day1.conf",
		"calendar = { count_start_day = true; };\n"
		"rules = {\n"
		"  a = { title = \"A\"; start = [ \"referral\" ]; due = ( \"10 working days\" ); };\n"
		"  b = { title = \"B\"; start = [ \"referral\" ]; due = ( \"10 working days\" );\n"
		"        count_start_day = false; };\n"
		"  c = { title = \"C\"; start = [ \"referral\" ]; due = ( \"10 working days\" );\n"
		"        effective_from = \"2020-01-01\";\n"
		"        versions = (\n"
		"          { effective_from = \"2011-01-01\"; effective_until = \"2019-12-31\";\n"
		"            due = ( \"5 working days\" ); },\n"
		"          { effective_from = \"2010-01-01\"; effective_until = \"2010-12-31\";\n"
		"            due = ( \"1 working day\" ); count_start_day = false; } );\n"
		"  };\n"
		"};\n");
	const struct rule *a = conf_rule(conf, "a"), *b = conf_rule(conf, "b");
	const struct rule *c = conf_rule(conf, "c");
	struct obligation ob;

	(void)state;
	assert_int_equal(conf->calendar.count_start_day, 1);
	assert_int_equal(a->count_start_day, 1);
	assert_int_equal(b->count_start_day, 0);
	assert_int_equal(c->count_start_day, 1);
	/* Versions sorted by effective_from; unset count_start_day stays -1. */
	assert_int_equal(c->nall, 3);
	assert_int_equal(c->all[0].count_start_day, 0);
	assert_int_equal(c->all[1].count_start_day, -1);
	assert_int_equal(c->all[2].count_start_day, -1);

	/* Mon 3 Jun 2024 as day 1: 3 (1), 4, 5, 6, 7 (5), 10 .. 14 (10). */
	ob = eval_one(conf, "a", "referral", "2024-06-03", "2024-06-03");
	assert_true(due_is(&ob, "2024-06-14"));
	/* As day 0: Jun 4 (1) .. Fri 7 (4), 10 .. 14 (9), Mon 17 (10). */
	ob = eval_one(conf, "b", "referral", "2024-06-03", "2024-06-03");
	assert_true(due_is(&ob, "2024-06-17"));
	ob = eval_one(conf, "c", "referral", "2024-06-03", "2024-06-03");
	assert_true(due_is(&ob, "2024-06-14"));
	/* 2019 version, day 1 from the rule: Mon 3 Jun (1) .. Fri 7 Jun (5). */
	ob = eval_one(conf, "c", "referral", "2019-06-03", "2019-06-03");
	assert_true(due_is(&ob, "2019-06-07"));
	/* 2010 version says day 0: Tue 1 Jun 2010 + 1 WD = Wed 2 Jun. */
	ob = eval_one(conf, "c", "referral", "2010-06-01", "2010-06-01");
	assert_true(due_is(&ob, "2010-06-02"));
	conf_free(conf);

	/* Without the calendar setting: day 0. */
	conf = load_good("day0.conf",
		"rules = { a = { title = \"A\"; start = [ \"referral\" ];\n"
		"                due = ( \"10 working days\" ); }; };\n");
	assert_int_equal(conf->calendar.count_start_day, 0);
	assert_int_equal(conf_rule(conf, "a")->count_start_day, 0);
	ob = eval_one(conf, "a", "referral", "2024-06-03", "2024-06-03");
	assert_true(due_is(&ob, "2024-06-17"));
	conf_free(conf);
}

/* The Children in Need census validator flags an ICPC later than 15
 * working days counting the strategy discussion's day as day 1, even on a
 * weekend or holiday.  With count_start_day = "cin-census" a rule is late
 * on exactly the cases the validator would flag; with the default it is
 * not (issue 14; docs/RULES-COUNTING.md's worked example). */
static void test_cin_census_option(void **state)
{
	struct conf *conf = load_good("cin.conf",
		"rules = {\n"
		"  cin = { title = \"ICPC\"; start = [ \"strategy_discussion\" ];\n"
		"          met = [ \"icpc\" ]; due = ( \"15 working days\" );\n"
		"          count_start_day = \"cin-census\"; };\n"
		"  plain = { title = \"ICPC\"; start = [ \"strategy_discussion\" ];\n"
		"          met = [ \"icpc\" ]; due = ( \"15 working days\" ); };\n"
		"};\n");
	size_t flagged = 0, differ = 0;

	(void)state;
	assert_int_equal(conf_rule(conf, "cin")->count_start_day, CALENDAR_DAY1_ALWAYS);
	for (dl_day start = D("2026-11-14"); start <= D("2027-01-10"); start++) {
		/* The validator: day 1 is the start, each working day after it one more. */
		dl_day limit = start;

		for (int counted = 1; counted < 15; )
			counted += calendar_is_working_day(conf->cal, ++limit);
		for (dl_day held = limit - 3; held <= limit + 4; held++) {
			struct rules_event ev[2] = { { "strategy_discussion", { start, DATE_NO_TIME } },
						     { "icpc", { held, DATE_NO_TIME } } };
			struct rules_case c = { "C1", DATE_NONE, ev, 2 };
			struct { struct obligation ob; int n; } cin = { .n = 0 }, plain = { .n = 0 };
			bool validator_flags = held > limit;

			rules_evaluate(conf_rule(conf, "cin"), conf->cal, &c,
				       (struct dl_moment){ D("2027-06-30"), 86399 }, collect, NULL, &cin);
			rules_evaluate(conf_rule(conf, "plain"), conf->cal, &c,
				       (struct dl_moment){ D("2027-06-30"), 86399 }, collect, NULL,
				       &plain);
			assert_int_equal(cin.n, 1);
			if ((cin.ob.state == OB_LATE) != validator_flags) {
				char a[DATE_BUF], b[DATE_BUF];

				fail_msg("start %s, ICPC %s: deadlined says %s, the validator %s",
					 date_format(start, a), date_format(held, b),
					 rules_state_name(cin.ob.state),
					 validator_flags ? "flags it" : "does not");
			}
			flagged += validator_flags;
			differ += (plain.ob.state == OB_LATE) != validator_flags;
		}
	}
	/* The default convention differs on weekend and holiday starts only. */
	assert_true(flagged > 0);
	assert_true(differ > 0);
	conf_free(conf);
}

/* The file the programs read without -c. */
/* Loading must fail with one message naming the file, never block or exit. */
static void check_refused(const char *main_path, const char *names, const char *says)
{
	struct dl_errors errors = { 0 };
	struct conf *conf = NULL;

	if (conf_load(main_path, &conf, &errors) != -1) {
		conf_free(conf);
		fail_msg("%s loaded but should be refused", main_path);
	}
	if (errors.n != 1 || !strstr(errors.msg[0], names) || !strstr(errors.msg[0], says)) {
		dump_errors(main_path, &errors);
		fail_msg("%s: want one error naming %s and saying '%s'", main_path, names, says);
	}
	errors_clear(&errors);
}

/* Anything that is not a regular file -- a directory, a FIFO, a device --
 * named as the main file or @included at any depth is an error naming it.
 * libconfig 1.5 would exit the process on a directory (flex's "input in flex
 * scanner failed") and block for ever on a FIFO; alarm() makes a hang fail. */
static void test_include_not_regular(void **state)
{
	char sub[600], fifo[600], zero[600], mainfifo[600];
	const char *p;

	(void)state;
	alarm(30);
	snprintf(sub, sizeof sub, "%s/rules/adir", dir);
	snprintf(fifo, sizeof fifo, "%s/rules/fifo", dir);
	snprintf(zero, sizeof zero, "%s/rules/zero", dir);
	snprintf(mainfifo, sizeof mainfifo, "%s/main.fifo", dir);
	write_file("rules/ok.conf", "# nothing\n");
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(symlink("/dev/zero", zero), 0);
	assert_int_equal(mkfifo(mainfifo, 0600), 0);

	p = write_file("nr1.conf", "rules = {\n  @include \"rules/adir\"\n};\n");
	check_refused(p, "rules/adir", "directory");
	p = write_file("nr2.conf", "rules = {\n  @include \"rules/fifo\"\n};\n");
	check_refused(p, "rules/fifo", "FIFO");
	/* Two deep: the error names the file and the include line that named it. */
	write_file("rules/mid.conf", "# mid\n@include \"rules/ok.conf\"\n@include \"rules/fifo\"\n");
	p = write_file("nr3.conf", "rules = {\n  @include \"rules/mid.conf\"\n};\n");
	check_refused(p, "rules/fifo", "FIFO");
	check_refused(p, "mid.conf:3", "@include");
	p = write_file("nr4.conf", "rules = {\n  @include \"rules/zero\"\n};\n");
	check_refused(p, "rules/zero", "device");
	check_refused(sub, "rules/adir", "directory");
	check_refused(mainfifo, "main.fifo", "FIFO");
	/* A commented-out include is not followed, as libconfig does not. */
	conf_free(load_good("nr5.conf", "# @include \"rules/fifo\"\n/*\n@include \"rules/adir\"\n*/\n"
			    "// @include \"rules/zero\"\n"));
	/* A missing include names the file it looked for. */
	p = write_file("nr6.conf", "rules = {\n  @include \"rules/nope.conf\"\n};\n");
	check_refused(p, "rules/nope.conf", "No such file");
	alarm(0);
	rmdir(sub);
	unlink(fifo);
	unlink(zero);
	unlink(mainfifo);
}

/* libconfig 1.5 reads 9999999999 as 1410065407 and 99999999999999999999 as
 * -1 without a word; the number as written is reported instead. */
static void test_number_too_big(void **state)
{
	static const struct bad cases[] = {
		{ "a number beyond 32 bits", "big1.conf",
		  "source = {\n  busy_timeout_ms = 9999999999;\n};\n", NULL, NULL,
		  { { "big1.conf", 2, "source.busy_timeout_ms",
		      { "9999999999 is too big", "2147483647" } } } },
		{ "a number beyond 64 bits", "big2.conf",
		  "notify = {\n  daily_cap = 99999999999999999999;\n};\n", NULL, NULL,
		  { { "big2.conf", 2, "notify.daily_cap", { "99999999999999999999 is too big" } } } },
		{ "a negative number beyond 32 bits", "big3.conf",
		  "notify = { retry_max =\n -3000000000; };\n", NULL, NULL,
		  { { "big3.conf", 2, "notify.retry_max", { "-3000000000 is too big" } } } },
	};

	(void)state;
	CHECK_ALL(cases);
}

/* Files and values have a size bound, checked before libconfig reads them
 * (its string scanner is quadratic: a 4 MB string took 11 s). */
static void test_size_bounds(void **state)
{
	size_t big = (size_t)CONF_MAX_FILE_BYTES + 10, val = (size_t)CONF_MAX_VALUE_BYTES + 10;
	char *text = malloc(big + 64);
	const char *p;

	(void)state;
	assert_non_null(text);
	memset(text, '#', big);
	text[big] = '\0';
	p = write_file("huge.conf", text);
	check_refused(p, "huge.conf", "bytes");
	snprintf(text, 64, "timezone = \"");
	memset(text + strlen(text), 'x', val);
	strcpy(text + 12 + val, "\";\n");
	p = write_file("longvalue.conf", text);
	check_refused(p, "longvalue.conf:1", "string");
	/* Adjacent strings are one value to libconfig: the bound is on the sum. */
	strcpy(text, "timezone = ");
	for (size_t i = 0, at = strlen(text); i < 4; i++, at = strlen(text)) {
		text[at] = '"';
		memset(text + at + 1, 'x', val / 3);
		strcpy(text + at + 1 + val / 3, "\"\n ");
	}
	strcat(text, ";\n");
	p = write_file("concat.conf", text);
	check_refused(p, "concat.conf", "string");
	free(text);
}

/* The store's driver, PostgreSQL's connection and the lease's timings. */
static void test_state_and_ha(void **state)
{
	static const struct bad cases[] = {
		{ "unknown driver", "st1.conf",
		  "state = {\n  driver = \"mysql\";\n};\n", NULL, NULL,
		  { { "st1.conf", 2, "state.driver", { "unknown backend 'mysql'", "postgresql" } } } },
		{ "postgresql without conninfo", "st2.conf",
		  "state = {\n  driver = \"postgresql\";\n};\n", NULL, NULL,
		  { { "st2.conf", 1, "state.conninfo", { "needs conninfo" } } } },
		{ "a password in conninfo", "st3.conf",
		  "state = {\n  driver = \"postgresql\";\n"
		  "  conninfo = \"host=db password=hunter2\";\n};\n", NULL, NULL,
		  { { "st3.conf", 3, "state.conninfo", { "must not hold a password" } } } },
		{ "conninfo that does not parse", "st4.conf",
		  "state = {\n  driver = \"postgresql\";\n"
		  "  conninfo = \"host='db\";\n};\n", NULL, NULL,
		  { { "st4.conf", 3, "state.conninfo", { "not a libpq connection string" } } } },
		{ "two sources of the password", "st5.conf",
		  "state = {\n  driver = \"postgresql\";\n  conninfo = \"host=db\";\n"
		  "  password_file = \"/x\";\n  password_credential = \"pg\";\n};\n",
		  NULL, NULL,
		  { { "st5.conf", 5, "state.password_credential", { "one of password_file" } } } },
		{ "renew + margin not below the lease", "st6.conf",
		  "state = {\n  driver = \"postgresql\";\n  conninfo = \"host=db\";\n};\n"
		  "ha = {\n  lease = 5;\n  renew = 4;\n  margin = 1;\n};\n", NULL, NULL,
		  { { "st6.conf", 5, "ha", { "renew + margin", "below the lease" } } } },
	};
	struct dl_errors errors = { 0 };
	struct conf *conf = NULL;
	const char *path;

	(void)state;
	CHECK_ALL(cases);
	/* The secret never reaches a message, even a message about it. */
	path = write_file("st7.conf", "state = {\n  driver = \"postgresql\";\n"
			  "  conninfo = \"password=hunter2 host='db\";\n};\n");
	assert_int_equal(conf_load(path, &conf, &errors), -1);
	for (size_t i = 0; i < errors.n; i++)
		assert_null(strstr(errors.msg[i], "hunter2"));
	errors_clear(&errors);

	assert_int_equal(conf_load(NULL, &conf, &errors), 0);
	assert_string_equal(conf->state.driver, "sqlite");
	assert_string_equal(conf->ha.name, "deadlined");
	assert_true(conf->ha.lease == 15 && conf->ha.renew == 5 && conf->ha.margin == 1);
	conf_free(conf);
	path = write_file("st8.conf", "state = {\n  driver = \"postgresql\";\n"
			  "  conninfo = \"postgresql://deadlined@db.example/deadlined\";\n"
			  "  password_credential = \"pg\";\n};\n"
			  "ha = {\n  lease = 2.5;\n  renew = 0.5;\n  margin = 0.25;\n};\n");
	assert_int_equal(conf_load(path, &conf, &errors), 0);
	assert_string_equal(conf->state.password_credential, "pg");
	assert_true(conf->ha.lease == 2.5 && conf->ha.renew == 0.5 && conf->ha.margin == 0.25);
	conf_free(conf);
}

static void test_default_path(void **state)
{
	(void)state;
	setenv("DEADLINED_CONFIG", "/srv/deadlined.conf", 1);
	assert_string_equal(conf_default_path(), "/srv/deadlined.conf");
	setenv("DEADLINED_CONFIG", "", 1);
	assert_string_equal(conf_default_path(), CONF_DEFAULT_PATH);
	unsetenv("DEADLINED_CONFIG");
	assert_string_equal(conf_default_path(), CONF_DEFAULT_PATH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syntax_and_names),
		cmocka_unit_test(test_types_and_ranges),
		cmocka_unit_test(test_required),
		cmocka_unit_test(test_durations_and_dates),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_rule_logic),
		cmocka_unit_test(test_calendar_and_zone),
		cmocka_unit_test(test_includes),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_example_loads),
		cmocka_unit_test(test_builtin_defaults),
		cmocka_unit_test(test_inherit_defaults),
		cmocka_unit_test(test_count_start_day_inherits),
		cmocka_unit_test(test_cin_census_option),
		cmocka_unit_test(test_default_path),
		cmocka_unit_test(test_include_not_regular),
		cmocka_unit_test(test_number_too_big),
		cmocka_unit_test(test_size_bounds),
		cmocka_unit_test(test_state_and_ha),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
