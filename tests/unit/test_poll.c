/* test_poll.c — one poll, in one transaction: obligations stored and
 * compared, each transition told once, a dry run that stores nothing, a
 * failure that leaves nothing half-done, "resolved" after an alert, a
 * poll of some cases only, and each case's own team and worker.  A real
 * case database (conf/schema/native.sql) and real SQLite state files. */
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

#include "deadlined/poll.h"

static char dir[512];
static struct conf *conf;
static sqlite3 *cases;

static int setup(void **unused)
{
	(void)unused;
	if (test_tmpdir(dir, sizeof dir, "test_poll") < 0)
		return -1;
	conf = pipe_conf(dir,
		"timezone = \"Europe/London\";\n"
		"defaults = { due_soon = \"0 days\"; notify_due_soon = [ \"worker\" ];"
		" notify_overdue = [ \"worker\", \"team_manager\" ];"
		" escalation = ( { after = \"5 working days\"; notify = [ \"service_manager\" ]; } );"
		" };\n"
		"rules = { r = { title = \"Decisions\"; start = [ \"referral\" ];"
		" met = [ \"referral_decision\" ]; due = ( \"1 working day\" ); }; };\n"
		"receivers = { box = { type = \"maildir\"; path = \"@DIR@/mail\";"
		" from = \"dl@test.invalid\"; }; };\n"
		"notify = { mail_receiver = \"box\"; resolved = true; };\n");
	cases = pipe_cases(dir);
	pipe_exec(cases, "INSERT INTO deadlined_teams VALUES ('T1', 'Duty', 'tm@test.invalid',"
		  " 'sm@test.invalid');"
		  "INSERT INTO deadlined_workers VALUES ('W1', 'Wendy', 'w@test.invalid', 'T1');"
		  "INSERT INTO deadlined_cases VALUES ('C1', 'K1', NULL, 'T1', 'W1');"
		  "INSERT INTO deadlined_cases VALUES ('C2', 'K2', NULL, 'T1', 'W1');"
		  "INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES"
		  " ('C1', 'referral', '2026-11-02'), ('C2', 'referral', '2026-11-20');");
	return 0;
}

static int teardown(void **unused)
{
	(void)unused;
	sqlite3_close(cases);
	conf_free(conf);
	pipe_rmdir(dir);
	return 0;
}

/* The parts and the poll's view of them. */
struct pipeline {
	struct pipe_parts parts;
	struct poll_env env;
};

static void open_pipeline(struct pipeline *p, const char *name)
{
	p->parts = pipe_open_parts(conf, dir, name);
	p->env = (struct poll_env){ conf, p->parts.st, p->parts.route, p->parts.outbox, NULL,
				    NULL };
}

/* A poll as of a local moment; -1 with err on failure. */
static int poll_at(struct pipeline *p, const char *when, const struct outbox_dry *dry,
		   struct poll_result *res, struct dl_error *err)
{
	struct source *src = pipe_source(dir);
	struct evaluate_summary sum;
	int rc;

	rc = poll_all(&p->env, src, M(when), pipe_moment_unix(when), dry, res, &sum, err);
	evaluate_summary_free(&sum);
	source_close(src);
	return rc;
}

static struct poll_result must_poll(struct pipeline *p, const char *when)
{
	struct poll_result res;
	struct dl_error err;

	if (poll_at(p, when, NULL, &res, &err) < 0)
		fail_msg("poll %s: %s", when, err.msg);
	return res;
}

static struct state_status status(struct state *st)
{
	struct state_status s;
	struct dl_error err;

	if (state_status(st, &s, &err) < 0)
		fail_msg("status: %s", err.msg);
	return s;
}

/* "recipient kind" of each pending message, one a line, by id. */
static int line(void *ctx, const struct state_message *m)
{
	char *buf = ctx;
	size_t len = strlen(buf);

	snprintf(buf + len, 1024 - len, "%s %s\n", m->recipient, m->kind);
	return 0;
}

static void pending(struct state *st, char buf[1024])
{
	struct dl_error err;

	buf[0] = '\0';
	if (state_each_message(st, "pending", line, buf, &err) < 0)
		fail_msg("messages: %s", err.msg);
}

static void test_each_transition_told_once(void **unused)
{
	struct pipeline p;
	struct poll_result res;
	char out[1024];

	(void)unused;
	open_pipeline(&p, "once.db");
	/* C1 was due on 3 November and is past its escalation; C2's clock
	 * started on a Friday and is due on Monday: open. */
	res = must_poll(&p, "2026-11-20T10:00");
	assert_int_equal(res.cases, 2);
	assert_int_equal(res.overdue, 1);
	assert_int_equal(res.escalated, 1);
	assert_int_equal(res.open, 1);
	pending(p.parts.st, out);
	/* The worker and the team manager hear "overdue" (their part), the
	 * service manager "escalation"; each their own message. */
	assert_string_equal(out, "sm@test.invalid escalation\n"
				 "tm@test.invalid overdue\n"
				 "w@test.invalid overdue\n");
	assert_int_equal(res.enqueued, 3);
	assert_int_equal(status(p.parts.st).overdue, 1);
	/* The same again: nothing new to tell. */
	res = must_poll(&p, "2026-11-20T10:05");
	assert_int_equal(res.enqueued, 0);
	/* C2 due on Monday (due_soon 0 days): its worker hears on the day. */
	res = must_poll(&p, "2026-11-23T10:00");
	assert_int_equal(res.due_soon, 1);
	assert_int_equal(res.enqueued, 1);
	pipe_close_parts(&p.parts);
}

struct described {
	int n;
};

static void describe(void *ctx, const char *receiver, const char *recipient,
		     const char *subject)
{
	struct described *x = ctx;

	(void)recipient;
	assert_string_equal(receiver, "box");
	assert_non_null(strstr(subject, "Decisions"));
	x->n++;
}

static void test_dry_run_stores_nothing(void **unused)
{
	struct pipeline p;
	struct described x = { 0 };
	struct outbox_dry dry = { describe, &x };
	struct poll_result res;
	struct state_status s;
	struct dl_error err;

	(void)unused;
	open_pipeline(&p, "dry.db");
	assert_int_equal(poll_at(&p, "2026-11-20T10:00", &dry, &res, &err), 0);
	assert_int_equal(res.enqueued, 3);
	assert_int_equal(x.n, 3);
	s = status(p.parts.st);
	assert_int_equal(s.overdue + s.open + s.pending, 0);
	assert_int_equal(s.last.id, 0);          /* not even the poll's record */
	pipe_close_parts(&p.parts);
}

static int stop(void *ctx)
{
	(void)ctx;
	return -1;
}

/* A callee that says stop stops the evaluation, and the poll leaves
 * nothing behind: not the obligations already stored, not a message. */
static void test_failure_leaves_nothing(void **unused)
{
	struct pipeline p;
	struct poll_result res;
	struct state_status s;
	struct dl_error err;

	(void)unused;
	open_pipeline(&p, "fail.db");
	p.env.tick = stop;
	assert_int_equal(poll_at(&p, "2026-11-20T10:00", NULL, &res, &err), -1);
	assert_non_null(strstr(err.msg, "stopped"));
	s = status(p.parts.st);
	assert_int_equal(s.overdue + s.open + s.pending, 0);
	p.env.tick = NULL;
	res = must_poll(&p, "2026-11-20T10:00");
	assert_int_equal(res.enqueued, 3);
	pipe_close_parts(&p.parts);
}

/* Met (late) after an alert: everyone who was told hears "resolved". */
static void test_resolved(void **unused)
{
	struct pipeline p;
	struct poll_result res;
	char out[1024];

	(void)unused;
	open_pipeline(&p, "resolved.db");
	must_poll(&p, "2026-11-20T10:00");
	pipe_exec(cases, "INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES"
		  " ('C1', 'referral_decision', '2026-11-20')");
	res = must_poll(&p, "2026-11-20T11:00");
	pipe_exec(cases, "DELETE FROM deadlined_events WHERE kind = 'referral_decision'");
	assert_int_equal(res.overdue, 0);
	assert_int_equal(res.enqueued, 3);
	pending(p.parts.st, out);
	assert_non_null(strstr(out, "sm@test.invalid resolved\n"));
	assert_non_null(strstr(out, "tm@test.invalid resolved\n"));
	assert_non_null(strstr(out, "w@test.invalid resolved\n"));
	pipe_close_parts(&p.parts);
}

/* A poll of the cases in refs as of a local moment. */
static struct poll_result poll_some(struct pipeline *p, const char *const *refs, size_t n,
				    const char *when)
{
	struct evaluate_summary sum;
	struct poll_result res;
	struct source *src = pipe_source(dir);
	struct dl_error err;

	if (poll_cases(&p->env, src, refs, n, M(when), pipe_moment_unix(when), &res, &sum,
		       &err) < 0)
		fail_msg("poll of some cases %s: %s", when, err.msg);
	evaluate_summary_free(&sum);
	source_close(src);
	return res;
}

/* Some cases only: the others' obligations are left as they were. */
static void test_some_cases(void **unused)
{
	static const char *const refs[] = { "C2" };
	struct pipeline p;
	struct poll_result res;

	(void)unused;
	open_pipeline(&p, "some.db");
	res = poll_some(&p, refs, 1, "2026-11-20T10:00");
	assert_int_equal(res.cases, 1);
	assert_int_equal(res.open, 1);
	assert_int_equal(res.enqueued, 0);
	assert_int_equal(status(p.parts.st).open, 1);
	assert_int_equal(status(p.parts.st).overdue, 0);
	pipe_close_parts(&p.parts);
}

/* Each obligation's team and worker, "case|team|worker|worker email|
 * manager|service manager" a line, by case: C1 and C2's, then others. */
static void assert_people(const char *name, const char *others)
{
	char path[600], out[1024], want[1024];
	sqlite3 *db;
	sqlite3_stmt *s;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	out[0] = '\0';
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT case_ref, team_name, worker_name,"
					    " worker_email, manager_email, service_manager_email"
					    " FROM obligations ORDER BY case_ref", -1, &s, NULL),
			 SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW)
		for (int c = 0; c < 6; c++) {
			const unsigned char *v = sqlite3_column_text(s, c);
			size_t len = strlen(out);

			snprintf(out + len, sizeof out - len, "%s%c", v ? (const char *)v : "NULL",
				 c < 5 ? '|' : '\n');
		}
	sqlite3_finalize(s);
	sqlite3_close(db);
	snprintf(want, sizeof want, "%s%s",
		 "C1|Duty|Wendy|w@test.invalid|tm@test.invalid|sm@test.invalid\n"
		 "C2|Duty|Wendy|w@test.invalid|tm@test.invalid|sm@test.invalid\n", others);
	assert_string_equal(out, want);
}

/* Cases one after another with other teams and workers, or none: each
 * obligation stores its own case's, in a first run, a full poll that
 * compares and a poll of some cases. */
static void test_people_of_each_case(void **unused)
{
	static const char *const some[] = { "C5", "C6" };
	struct pipeline p;

	(void)unused;
	pipe_exec(cases, "INSERT INTO deadlined_teams VALUES ('T2', 'Assessment',"
		  " 'tm2@test.invalid', 'sm2@test.invalid');"
		  "INSERT INTO deadlined_workers VALUES ('W2', 'Walt', 'w2@test.invalid', 'T2');"
		  "INSERT INTO deadlined_cases VALUES ('C3', 'K3', NULL, 'T2', 'W2'),"
		  " ('C4', 'K4', NULL, 'T1', NULL), ('C5', 'K5', NULL, 'T2', 'W9'),"
		  " ('C6', 'K6', NULL, NULL, 'W1');"
		  "INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES"
		  " ('C3', 'referral', '2026-11-20'), ('C4', 'referral', '2026-11-20'),"
		  " ('C5', 'referral', '2026-11-20'), ('C6', 'referral', '2026-11-20');");
	open_pipeline(&p, "people.db");
	must_poll(&p, "2026-11-20T10:00");
	assert_people("people.db",
		      "C3|Assessment|Walt|w2@test.invalid|tm2@test.invalid|sm2@test.invalid\n"
		      "C4|Duty|NULL|NULL|tm@test.invalid|sm@test.invalid\n"
		      "C5|Assessment|NULL|NULL|tm2@test.invalid|sm2@test.invalid\n"
		      "C6|NULL|Wendy|w@test.invalid|NULL|NULL\n");
	/* C3 and C4 change hands: a full poll finds them by their prints. */
	pipe_exec(cases, "UPDATE deadlined_cases SET worker_ref = 'W1' WHERE case_ref = 'C3';"
		  "UPDATE deadlined_cases SET worker_ref = 'W2' WHERE case_ref = 'C4';");
	must_poll(&p, "2026-11-20T10:05");
	assert_people("people.db",
		      "C3|Assessment|Wendy|w@test.invalid|tm2@test.invalid|sm2@test.invalid\n"
		      "C4|Duty|Walt|w2@test.invalid|tm@test.invalid|sm@test.invalid\n"
		      "C5|Assessment|NULL|NULL|tm2@test.invalid|sm2@test.invalid\n"
		      "C6|NULL|Wendy|w@test.invalid|NULL|NULL\n");
	/* C5 and C6 swap teams, polled as some cases. */
	pipe_exec(cases, "UPDATE deadlined_cases SET team_ref = NULL, worker_ref = 'W2'"
		  " WHERE case_ref = 'C5';"
		  "UPDATE deadlined_cases SET team_ref = 'T2' WHERE case_ref = 'C6';");
	poll_some(&p, some, 2, "2026-11-20T10:10");
	assert_people("people.db",
		      "C3|Assessment|Wendy|w@test.invalid|tm2@test.invalid|sm2@test.invalid\n"
		      "C4|Duty|Walt|w2@test.invalid|tm@test.invalid|sm@test.invalid\n"
		      "C5|NULL|Walt|w2@test.invalid|NULL|NULL\n"
		      "C6|Assessment|Wendy|w@test.invalid|tm2@test.invalid|sm2@test.invalid\n");
	pipe_close_parts(&p.parts);
	pipe_exec(cases, "DELETE FROM deadlined_events WHERE case_ref > 'C2';"
		  "DELETE FROM deadlined_cases WHERE case_ref > 'C2';"
		  "DELETE FROM deadlined_workers WHERE worker_ref = 'W2';"
		  "DELETE FROM deadlined_teams WHERE team_ref = 'T2';");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_transition_told_once),
		cmocka_unit_test(test_dry_run_stores_nothing),
		cmocka_unit_test(test_failure_leaves_nothing),
		cmocka_unit_test(test_resolved),
		cmocka_unit_test(test_some_cases),
		cmocka_unit_test(test_people_of_each_case),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
