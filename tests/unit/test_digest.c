/* test_digest.c — grouping: one message a recipient and kind, escalations
 * immediate, dry runs that store nothing; the daily digest: at the digest
 * time of a working day, once a day, acknowledged items marked, and a team
 * manager's month so far.  Real SQLite state files and a real Maildir
 * receiver (the outbox's). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "testpipe.h"

#include "deadlined/digest.h"

static char dir[512];
static struct conf *conf;

static int setup(void **unused)
{
	(void)unused;
	if (test_tmpdir(dir, sizeof dir, "test_digest") < 0)
		return -1;
	conf = pipe_conf(dir,
		"timezone = \"Europe/London\";\n"
		"defaults = { notify_due_soon = [ \"worker\" ];"
		" notify_overdue = [ \"worker\", \"team_manager\" ]; };\n"
		"rules = { r = { title = \"Decisions\"; start = [ \"referral\" ];"
		" met = [ \"referral_decision\" ]; due = ( \"1 working day\" );"
		" target = { value = 90; }; }; };\n"
		"receivers = { box = { type = \"maildir\"; path = \"@DIR@/mail\";"
		" from = \"dl@test.invalid\"; }; };\n"
		"notify = { mail_receiver = \"box\"; digest_time = \"08:30\";"
		" digest_roles = [ \"worker\", \"team_manager\" ]; };\n");
	return 0;
}

static int teardown(void **unused)
{
	(void)unused;
	conf_free(conf);
	pipe_rmdir(dir);
	return 0;
}

static struct digest_env env_at(const struct pipe_parts *p, const char *when,
				const struct outbox_dry *dry)
{
	return (struct digest_env){ conf, p->st, p->route, p->outbox, dry, M(when),
				    pipe_moment_unix(when) };
}

static struct state_obligation ob(const char *case_ref, const char *state, int level)
{
	return (struct state_obligation){
		.case_ref = case_ref, .rule = "r", .seq = 1, .child_ref = "K1", .team_ref = "T1",
		.team_name = "Duty", .worker_ref = "W1", .worker_name = "Wendy",
		.worker_email = "w@test.invalid", .manager_email = "tm@test.invalid",
		.anchor = "2026-11-02", .due = "2026-11-03", .state = state,
		.days_overdue = level >= 2 ? 10 : 0, .stage = level >= 3 ? level - 2 : 0,
		.level = level,
	};
}

static struct route_target target(const char *address, const char *role)
{
	struct route_target t = { "box", address, role, 2, "" };

	snprintf(t.key, sizeof t.key, "box:%s", address);
	return t;
}

/* The outbox as stored: one line a message, "recipient kind immediate
 * case" in id order, and the text of the last for the recipient asked. */
struct stored {
	char lines[1024];
	char text[8][4096];
	char to[8][64];
	size_t n;
};

static int keep_message(void *ctx, const struct state_message *m)
{
	struct stored *s = ctx;
	size_t len = strlen(s->lines);

	snprintf(s->lines + len, sizeof s->lines - len, "%s %s %d %s\n", m->recipient, m->kind,
		 m->immediate, m->case_ref ? m->case_ref : "-");
	if (s->n < 8) {
		snprintf(s->text[s->n], sizeof s->text[0], "%s", m->text);
		snprintf(s->to[s->n], sizeof s->to[0], "%s", m->recipient);
	}
	s->n++;
	return 0;
}

static struct stored outbox_rows(struct state *st)
{
	struct stored s = { .n = 0 };
	struct dl_error err;

	if (state_each_message(st, "pending", keep_message, &s, &err) < 0)
		fail_msg("messages: %s", err.msg);
	return s;
}

static const char *text_for(const struct stored *s, const char *to)
{
	for (size_t i = 0; i < s->n && i < 8; i++)
		if (strcmp(s->to[i], to) == 0)
			return s->text[i];
	fail_msg("no message to %s", to);
	return NULL;
}

static void test_one_message_a_recipient_and_kind(void **unused)
{
	struct pipe_parts p = pipe_open_parts(conf, dir, "group.db");
	struct digest_env env = env_at(&p, "2026-11-23T10:00", NULL);
	struct digest *d = digest_new(&env);
	struct route_target tm = target("tm@test.invalid", "team_manager");
	struct route_target w = target("w@test.invalid", "worker");
	struct state_obligation so;
	struct dl_error err;
	struct stored s;
	long made = 0;

	(void)unused;
	assert_non_null(d);
	for (const char *c = "ABC"; *c; c++) {
		char ref[8] = { 'C', *c, 0 };

		so = ob(ref, "overdue", 2);
		assert_int_equal(digest_add(d, &tm, &so, ALERT_OVERDUE, false), 0);
	}
	so = ob("CE", "overdue", 3);
	assert_int_equal(digest_add(d, &tm, &so, ALERT_ESCALATION, false), 0);
	so = ob("CW", "overdue", 2);
	assert_int_equal(digest_add(d, &w, &so, ALERT_OVERDUE, false), 0);
	assert_int_equal(digest_send(d, &made, &err), 0);
	assert_int_equal(made, 3);
	s = outbox_rows(p.st);
	/* By recipient, then kind; a group names no single case; only the
	 * escalation skips quiet hours and caps. */
	assert_string_equal(s.lines, "tm@test.invalid overdue 0 -\n"
				     "tm@test.invalid escalation 1 CE\n"
				     "w@test.invalid overdue 0 CW\n");
	assert_non_null(strstr(text_for(&s, "w@test.invalid"), "CW"));
	/* Sent entries are gone: a second send makes nothing. */
	assert_int_equal(digest_send(d, &made, &err), 0);
	assert_int_equal(made, 3);
	digest_free(d);
	pipe_close_parts(&p);
}

struct described {
	char subject[256];
	int n;
};

static void describe(void *ctx, const char *receiver, const char *recipient,
		     const char *subject)
{
	struct described *x = ctx;

	assert_string_equal(receiver, "box");
	assert_string_equal(recipient, "w@test.invalid");
	snprintf(x->subject, sizeof x->subject, "%s", subject);
	x->n++;
}

static void test_dry_run_stores_nothing(void **unused)
{
	struct pipe_parts p = pipe_open_parts(conf, dir, "dry.db");
	struct described x = { "", 0 };
	struct outbox_dry dry = { describe, &x };
	struct digest_env env = env_at(&p, "2026-11-23T10:00", &dry);
	struct digest *d = digest_new(&env);
	struct route_target w = target("w@test.invalid", "worker");
	struct state_obligation so = ob("C1", "overdue", 2);
	struct dl_error err;
	long made = 0;

	(void)unused;
	assert_int_equal(digest_add(d, &w, &so, ALERT_OVERDUE, false), 0);
	assert_int_equal(digest_send(d, &made, &err), 0);
	assert_int_equal(made, 1);
	assert_int_equal(x.n, 1);
	assert_non_null(strstr(x.subject, "verdue"));
	assert_int_equal(outbox_rows(p.st).n, 0);
	digest_free(d);
	pipe_close_parts(&p);
}

static void put(struct state *st, const struct state_obligation *so)
{
	struct state_prev prev;
	struct dl_error err;

	if (state_put_obligation(st, so, 1, &prev, &err) < 0)
		fail_msg("put: %s", err.msg);
}

static long daily(const struct pipe_parts *p, const char *when)
{
	struct digest_env env = env_at(p, when, NULL);
	struct dl_error err;
	long made = 0;

	if (digest_daily(&env, &made, &err) < 0)
		fail_msg("digest_daily %s: %s", when, err.msg);
	return made;
}

static void test_daily_digest(void **unused)
{
	struct pipe_parts p = pipe_open_parts(conf, dir, "daily.db");
	struct state_obligation so;
	struct state_ack ack;
	struct dl_error err;
	struct stored s;
	const char *text;

	(void)unused;
	so = ob("C1", "overdue", 2);
	put(p.st, &so);
	so = ob("C2", "due-soon", 1);
	put(p.st, &so);
	so = ob("C3", "open", 0);          /* not yet anyone's business */
	put(p.st, &so);
	so = ob("C4", "met", -1);          /* met on time this month */
	so.closed = "2026-11-03";
	put(p.st, &so);
	if (state_ack(p.st, "C1", "r", "2026-12-31", "court delay", "tm", 0, &ack, &err) < 0)
		fail_msg("ack: %s", err.msg);

	/* Before the digest time, and on a Saturday: nothing. */
	assert_int_equal(daily(&p, "2026-11-23T08:29"), 0);
	assert_int_equal(daily(&p, "2026-11-28T09:00"), 0);
	/* At it: the worker and the team manager, once each. */
	assert_int_equal(daily(&p, "2026-11-23T08:30"), 2);
	assert_int_equal(daily(&p, "2026-11-23T12:00"), 0);
	s = outbox_rows(p.st);
	assert_int_equal(s.n, 2);
	text = text_for(&s, "tm@test.invalid");
	/* Due soon is the worker's business only (notify_due_soon); open,
	 * nobody's yet. */
	assert_non_null(strstr(text, "C1"));
	assert_null(strstr(text, "C2"));
	assert_null(strstr(text, "C3"));
	assert_non_null(strstr(text_for(&s, "w@test.invalid"), "C2"));
	assert_non_null(strstr(text, "(acknowledged)"));
	/* The team manager's month so far: report's figures, render's words. */
	assert_non_null(strstr(text, "This month so far (met on time):\n"
				     "  Decisions: 1 of 1 on time (100.0%), target 90\n"));
	assert_null(strstr(text_for(&s, "w@test.invalid"), "This month so far"));
	/* The next working day, again. */
	assert_int_equal(daily(&p, "2026-11-24T08:30"), 2);
	pipe_close_parts(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_message_a_recipient_and_kind),
		cmocka_unit_test(test_dry_run_stores_nothing),
		cmocka_unit_test(test_daily_digest),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
