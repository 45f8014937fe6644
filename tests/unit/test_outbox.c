/* test_outbox.c — the outbox: backoff and its jitter, Retry-After, dead
 * letters (their age across clock changes), quiet hours across midnight,
 * daily caps, and the one drain.  Real SQLite state files and real
 * Maildir receivers; a receiver that cannot open (its folder under a
 * plain file) is a real failure, not a stand-in. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"
#include "testpipe.h"

#include "deadlined/outbox.h"

static char dir[512];
static struct conf *conf;

static int setup(void **unused)
{
	char path[600];
	FILE *f;

	(void)unused;
	if (test_tmpdir(dir, sizeof dir, "test_outbox") < 0)
		return -1;
	/* "broken" is a Maildir whose folder would be under a plain file. */
	snprintf(path, sizeof path, "%s/file", dir);
	if (!(f = fopen(path, "w")))
		return -1;
	fclose(f);
	conf = pipe_conf(dir,
		"timezone = \"Europe/London\";\n"
		"rules = { r = { title = \"R\"; start = [ \"referral\" ];"
		" met = [ \"referral_decision\" ]; due = ( \"1 working day\" ); }; };\n"
		"receivers = {\n"
		"  box = { type = \"maildir\"; path = \"@DIR@/mail\"; from = \"dl@test.invalid\"; };\n"
		"  broken = { type = \"maildir\"; path = \"@DIR@/file/mail\";"
		" from = \"dl@test.invalid\"; };\n"
		"};\n"
		"notify = { mail_receiver = \"box\"; quiet_hours = \"22:00-07:00\"; daily_cap = 2;"
		" retry_initial = 60; retry_max = 3600; dead_after = \"2 days\"; };\n");
	return 0;
}

static int teardown(void **unused)
{
	(void)unused;
	conf_free(conf);
	pipe_rmdir(dir);
	return 0;
}

/* ---- the policy --------------------------------------------------------- */

static void test_backoff_doubles_with_jitter(void **unused)
{
	const struct conf_notify *cn = &conf->notify;

	(void)unused;
	for (int attempts = 1; attempts <= 12; attempts++) {
		int64_t full = 60LL << (attempts - 1), lo = INT64_MAX, hi = 0;

		if (full > 3600)
			full = 3600;
		for (int i = 0; i < 400; i++) {
			int64_t d = outbox_backoff(cn, attempts, 0);

			if (d < full / 2 || d > full)
				fail_msg("attempt %d: %lld s, outside [%lld, %lld]", attempts,
					 (long long)d, (long long)(full / 2), (long long)full);
			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
		}
		/* Jitter spreads the retries over the whole half. */
		assert_true(lo < full / 2 + full / 10);
		assert_true(hi > full - full / 10);
	}
}

static void test_retry_after(void **unused)
{
	const struct conf_notify *cn = &conf->notify;

	(void)unused;
	/* Never sooner than the server asked, with a second to spare. */
	for (int i = 0; i < 100; i++)
		assert_int_equal(outbox_backoff(cn, 1, 600), 601);
	/* A Retry-After shorter than the backoff does not shorten it. */
	for (int i = 0; i < 100; i++) {
		int64_t d = outbox_backoff(cn, 3, 10);

		assert_true(d >= 120 && d <= 240);
	}
}

static void test_quiet_hours_across_midnight(void **unused)
{
	const struct conf_notify *cn = &conf->notify;
	static const struct { const char *when; bool quiet; } t[] = {
		{ "2030-01-15 21:59", false }, { "2030-01-15 22:00", true },
		{ "2030-01-15 23:59", true }, { "2030-01-16 00:00", true },
		{ "2030-01-16 06:59", true }, { "2030-01-16 07:00", false },
		{ "2030-01-16 12:00", false },
		/* Across a clock change too: the hours are local. */
		{ "2030-03-31 06:30", true }, { "2030-03-31 07:00", false },
	};

	(void)unused;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (outbox_quiet(cn, pipe_local(t[i].when)) != t[i].quiet)
			fail_msg("%s: quiet should be %d", t[i].when, t[i].quiet);
}

/* Dead letters are counted from when the message was made, in elapsed
 * days of the calendar: a clock change (BST starting or ending) neither
 * shortens nor stretches the age, and working days skip the weekend. */
static void test_dead_age_across_clock_change(void **unused)
{
	char sub[600], text[1024];
	struct conf *wd;

	(void)unused;
	/* Saturday before BST starts (29 March 2026), and before it ends
	 * (25 October 2026). */
	assert_int_equal(outbox_dead_at(conf, pipe_local("2026-03-28 12:00")) -
			 pipe_local("2026-03-28 12:00"), 2 * 86400);
	assert_int_equal(outbox_dead_at(conf, pipe_local("2026-10-24 12:00")) -
			 pipe_local("2026-10-24 12:00"), 2 * 86400);
	snprintf(sub, sizeof sub, "%s/wd", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(text, sizeof text, "notify = { dead_after = \"2 working days\"; };\n");
	wd = pipe_conf(sub, text);
	/* Friday noon: Monday, Tuesday. */
	assert_int_equal(outbox_dead_at(wd, pipe_local("2026-03-27 12:00")) -
			 pipe_local("2026-03-27 12:00"), 4 * 86400);
	conf_free(wd);
}

/* ---- through a real state file and real receivers ----------------------- */

struct row {
	int64_t id, next_attempt;
	int attempts;
	char recipient[64], last_error[256];
};

struct rows {
	struct row v[16];
	size_t n;
};

static int collect(void *ctx, const struct state_message *m)
{
	struct rows *r = ctx;

	if (r->n < 16) {
		r->v[r->n] = (struct row){ m->id, m->next_attempt, m->attempts, "", "" };
		snprintf(r->v[r->n].recipient, sizeof r->v[0].recipient, "%s",
			 m->recipient ? m->recipient : "");
		snprintf(r->v[r->n].last_error, sizeof r->v[0].last_error, "%s",
			 m->last_error ? m->last_error : "");
	}
	r->n++;
	return 0;
}

static struct rows messages(struct state *st, const char *status)
{
	struct rows r = { .n = 0 };
	struct dl_error err;

	if (state_each_message(st, status, collect, &r, &err) < 0)
		fail_msg("messages: %s", err.msg);
	return r;
}

static int64_t put(struct outbox *o, const char *receiver, const char *to, bool immediate,
		   int64_t created)
{
	struct alert_item it = { .case_ref = "C1", .rule_id = "r", .rule_title = "R",
				 .team_ref = "T1", .state = "overdue", .seq = 1 };
	struct alert a = { ALERT_OVERDUE, "Team", NULL, created, &it, 1, NULL, NULL, 0, 0 };
	struct outbox_entry e = { receiver, to, "C1", "r", immediate };
	struct dl_error err;

	if (outbox_enqueue(o, &a, &e, NULL, &err) < 0)
		fail_msg("enqueue: %s", err.msg);
	return created;
}

static struct outbox *open_outbox(struct state *st)
{
	struct outbox *o;
	struct dl_error err;

	if (outbox_open(conf, st, &o, &err) < 0)
		fail_msg("outbox_open: %s", err.msg);
	return o;
}

static int new_mail(void)
{
	char path[600];

	snprintf(path, sizeof path, "%s/mail/new", dir);
	return pipe_count_files(path);
}

static void test_quiet_hours_hold_all_but_immediate(void **unused)
{
	struct state *st = pipe_state(dir, "quiet.db");
	struct outbox *o = open_outbox(st);
	int64_t now = pipe_local("2030-01-15 23:30");
	int before = new_mail() < 0 ? 0 : new_mail();
	struct outbox_result res;
	struct dl_error err;
	struct rows held;

	(void)unused;
	put(o, "box", "a@test.invalid", false, now - 60);
	put(o, "box", "b@test.invalid", true, now - 60);
	assert_int_equal(outbox_deliver(o, now, 100, &res, &err), 0);
	assert_int_equal(res.held, 1);
	assert_int_equal(res.sent, 1);
	assert_int_equal(new_mail(), before + 1);
	held = messages(st, "pending");
	assert_int_equal(held.n, 1);
	assert_string_equal(held.v[0].recipient, "a@test.invalid");
	assert_string_equal(held.v[0].last_error, "held: quiet hours");
	/* Due when the quiet hours end, the next morning. */
	assert_int_equal(held.v[0].next_attempt, pipe_local("2030-01-16 07:00"));
	assert_int_equal(held.v[0].attempts, 0);
	outbox_close(o);
	state_close(st);
}

static void test_daily_cap(void **unused)
{
	struct state *st = pipe_state(dir, "cap.db");
	struct outbox *o = open_outbox(st);
	int64_t now = pipe_local("2030-01-15 12:00");
	struct outbox_result res;
	struct dl_error err;
	struct rows held;
	int count;

	(void)unused;
	for (int i = 0; i < 3; i++)
		put(o, "box", "a@test.invalid", false, now - 60);
	put(o, "box", "b@test.invalid", false, now - 60);
	assert_int_equal(outbox_deliver(o, now, 100, &res, &err), 0);
	assert_int_equal(res.sent, 3);
	assert_int_equal(res.held, 1);
	held = messages(st, "pending");
	assert_int_equal(held.n, 1);
	assert_string_equal(held.v[0].recipient, "a@test.invalid");
	assert_string_equal(held.v[0].last_error, "held: daily cap reached");
	assert_int_equal(held.v[0].next_attempt, pipe_local("2030-01-16 00:00"));
	assert_int_equal(state_count_sent(st, "a@test.invalid", "2030-01-15", &count, &err), 0);
	assert_int_equal(count, 2);
	/* The next day it goes. */
	assert_int_equal(outbox_deliver(o, pipe_local("2030-01-16 08:00"), 100, &res, &err), 0);
	assert_int_equal(res.sent, 1);
	assert_int_equal(messages(st, "pending").n, 0);
	outbox_close(o);
	state_close(st);
}

/* Now in whole seconds rounded up, as send_batch schedules retries from. */
static int64_t wall_rounded_up(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec + (ts.tv_nsec > 0);
}

static void test_retry_then_dead_letter(void **unused)
{
	struct state *st = pipe_state(dir, "retry.db");
	struct outbox *o = open_outbox(st);
	int64_t now = (int64_t)time(NULL), after;
	struct outbox_result res;
	struct dl_error err;
	struct rows r;

	(void)unused;
	put(o, "broken", "a@test.invalid", true, now);
	assert_int_equal(outbox_deliver(o, now, 100, &res, &err), 0);
	after = wall_rounded_up();
	assert_int_equal(res.retried, 1);
	assert_int_equal(res.dead, 0);
	r = messages(st, "pending");
	assert_int_equal(r.n, 1);
	assert_int_equal(r.v[0].attempts, 1);
	/* The first retry: 60 s, jittered down to no less than 30. */
	assert_true(r.v[0].next_attempt >= now + 30 && r.v[0].next_attempt <= after + 60);
	assert_true(r.v[0].last_error[0] != '\0');

	/* Made three days ago: the next retry would fall after dead_after. */
	put(o, "broken", "b@test.invalid", true, now - 3 * 86400);
	assert_int_equal(outbox_deliver(o, now, 100, &res, &err), 0);
	assert_int_equal(res.dead, 1);
	r = messages(st, "dead");
	assert_int_equal(r.n, 1);
	assert_string_equal(r.v[0].recipient, "b@test.invalid");
	assert_int_equal(r.v[0].attempts, 1);
	outbox_close(o);
	state_close(st);
}

/* A retry is scheduled from the end of its batch in whole seconds rounded
 * up (send_batch), so that a batch ending late in a second is not due
 * again early.  Its bounds are taken the same way: time(NULL) rounds down
 * (and may read a coarse clock a tick behind), so a bound of time(NULL) +
 * 60 fails whenever the jitter draws its top, 60 s: 1 in 31 runs.  Many
 * retries in one run draw the top of the jitter every time. */
static void test_retry_counts_from_batch_end(void **unused)
{
	struct state *st = pipe_state(dir, "retry-end.db");
	struct outbox *o = open_outbox(st);
	struct outbox_result res;
	struct dl_error err;
	int64_t hi = 0;

	(void)unused;
	for (int round = 0; round < 20; round++) {
		int64_t now = (int64_t)time(NULL), after;
		struct rows r;
		char to[64];

		for (int i = 0; i < 16; i++) {
			snprintf(to, sizeof to, "r%d-%d@test.invalid", round, i);
			put(o, "broken", to, true, now);
		}
		assert_int_equal(outbox_deliver(o, now, 100, &res, &err), 0);
		after = wall_rounded_up();
		assert_int_equal(res.retried, 16);
		r = messages(st, "pending");
		assert_int_equal(r.n, 16);
		for (size_t i = 0; i < r.n; i++) {
			int64_t next = r.v[i].next_attempt;

			if (next < now + 30 || next > after + 60)
				fail_msg("round %d: retry at %lld, outside [%lld + 30, %lld + 60]", round,
					 (long long)next, (long long)now, (long long)after);
			hi = next - after > hi ? next - after : hi;
			/* Out of the way of the next round. */
			assert_int_equal(state_mark_message(st, r.v[i].id, "dead", 1, next, NULL,
							    0, &err), 0);
		}
	}
	/* 320 draws reached the top of the jitter (the case that failed). */
	assert_true(hi >= 59);
	outbox_close(o);
	state_close(st);
}

/* The wall clock stepped back an hour after a message was made: its age
 * is not negative, so it is retried, not buried; stepped forward past
 * dead_after, it is a dead letter at its next failure. */
static void test_dead_age_across_wall_clock_step(void **unused)
{
	struct state *st = pipe_state(dir, "step.db");
	struct outbox *o = open_outbox(st);
	int64_t now = (int64_t)time(NULL), made = now + 3600;
	struct outbox_result res;
	struct dl_error err;
	struct rows r;

	(void)unused;
	put(o, "broken", "a@test.invalid", true, made);
	r = messages(st, "pending");
	assert_int_equal(r.n, 1);
	assert_int_equal(state_mark_message(st, r.v[0].id, "pending", 0, now, NULL, 0, &err), 0);
	assert_int_equal(outbox_deliver(o, now, 100, &res, &err), 0);
	assert_int_equal(res.retried, 1);
	assert_int_equal(res.dead, 0);
	r = messages(st, "pending");
	assert_int_equal(state_mark_message(st, r.v[0].id, "pending", 1, made + 3 * 86400, NULL,
					    0, &err), 0);
	assert_int_equal(outbox_deliver(o, made + 3 * 86400, 100, &res, &err), 0);
	assert_int_equal(res.dead, 1);
	assert_int_equal(messages(st, "dead").n, 1);
	outbox_close(o);
	state_close(st);
}

static int ticks;

static int count_ticks(void *ctx)
{
	ticks++;
	return ctx ? 1 : 0;     /* a context asks the drain to stop */
}

/* The one drain the service and `deadlined --once` share: rounds of at
 * most max until nothing moves; a tick between rounds may stop it. */
static void test_drain(void **unused)
{
	struct state *st = pipe_state(dir, "drain.db");
	struct outbox *o = open_outbox(st);
	int64_t now = (int64_t)time(NULL);
	struct outbox_result total;
	struct dl_error err;
	char to[32];
	int before = new_mail() < 0 ? 0 : new_mail();

	(void)unused;
	for (int i = 0; i < 5; i++) {
		snprintf(to, sizeof to, "d%d@test.invalid", i);
		put(o, "box", to, true, now - 60);
	}
	ticks = 0;
	assert_int_equal(outbox_drain(o, 10, 2, count_ticks, (void *)1, &total, &err), 0);
	assert_int_equal(total.sent, 2);       /* stopped after the first round */
	assert_int_equal(ticks, 1);
	ticks = 0;
	assert_int_equal(outbox_drain(o, 10, 2, count_ticks, NULL, &total, &err), 0);
	assert_int_equal(total.sent, 3);       /* 2, 1, then a round with nothing */
	assert_int_equal(ticks, 3);
	assert_int_equal(new_mail(), before + 5);
	assert_int_equal(messages(st, "sent").n, 5);
	outbox_close(o);
	state_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_doubles_with_jitter),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_quiet_hours_across_midnight),
		cmocka_unit_test(test_dead_age_across_clock_change),
		cmocka_unit_test(test_quiet_hours_hold_all_but_immediate),
		cmocka_unit_test(test_daily_cap),
		cmocka_unit_test(test_retry_then_dead_letter),
		cmocka_unit_test(test_retry_counts_from_batch_end),
		cmocka_unit_test(test_dead_age_across_wall_clock_step),
		cmocka_unit_test(test_drain),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
